//! NPM dependencies of a chat runtime: resolve the ranges against a
//! registry (npm's range grammar, through `deno_semver`), fetch and verify
//! every tarball of the tree, extract it into a content-addressed cache on
//! disk shared by all applications, and record the result as a lockfile.
//!
//! The tree is not hoisted: each package records the exact version of each
//! of its dependencies, and `require` follows those edges (so two versions
//! of one package coexist, and cycles are plain edges).

mod cache;
mod registry;
mod resolve;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use cache::PackageCache;
pub use registry::Registry;

use std::sync::Arc;

use crate::engine::{InstalledPackage, Packages};

/// Where packages come from and the bounds of an install.
#[derive(Debug, Clone)]
pub struct NpmConfig {
    /// e.g. `https://registry.npmjs.org`.
    pub registry_url: String,
    /// Only the cache (and `mirror_dir`) are used; the registry is never asked.
    pub offline: bool,
    /// A directory of `<name>/<version>.tgz` (scoped: `@scope/name/...`) and
    /// `<name>.json` packuments, tried before the registry.
    pub mirror_dir: Option<PathBuf>,
    /// The content-addressed cache of extracted packages.
    pub cache_dir: PathBuf,
    pub request_timeout: Duration,
    /// Attempts of one registry request (timeouts and 5xx are retried).
    pub attempts: u32,
    /// Largest unpacked package.
    pub max_package_bytes: u64,
    /// Largest unpacked dependency tree of one runtime.
    pub max_runtime_bytes: u64,
    /// Packages in one runtime's tree.
    pub max_packages: usize,
}

impl NpmConfig {
    pub const DEFAULT_REGISTRY: &'static str = "https://registry.npmjs.org";

    pub fn new(registry_url: &str, cache_dir: PathBuf) -> NpmConfig {
        NpmConfig {
            registry_url: registry_url.trim_end_matches('/').to_string(),
            offline: false,
            mirror_dir: None,
            cache_dir,
            request_timeout: Duration::from_secs(30),
            attempts: 3,
            max_package_bytes: 64 * 1024 * 1024,
            max_runtime_bytes: 256 * 1024 * 1024,
            max_packages: 1_000,
        }
    }
}

/// A dependency of a chat runtime as ChatKitty lists it: a package name and
/// anything npm accepts as its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[schema(max_length = 214, pattern = r"^(@[a-z0-9\-._~]+/)?[a-z0-9\-~][a-z0-9\-._~]*$")]
    pub name: String,
    pub version: String,
    #[serde(default, alias = "default_dependency")]
    pub default_dependency: bool,
}

/// One package of a resolved tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    /// `sha512-…` (or `sha1-…` when the registry published only a shasum).
    pub integrity: String,
    /// The tarball's URL, for a host whose cache lacks it.
    pub resolved: String,
    /// Exact versions of its dependencies, by name.
    #[serde(default)]
    pub dependencies: BTreeMap<String, String>,
    /// Unpacked size in bytes.
    pub size: u64,
}

impl LockedPackage {
    pub fn key(&self) -> String {
        package_key(&self.name, &self.version)
    }
}

pub fn package_key(name: &str, version: &str) -> String {
    format!("{name}@{version}")
}

/// The resolved dependency tree of a runtime: what every host loads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lockfile {
    /// The runtime's own dependencies: name → exact version.
    pub dependencies: BTreeMap<String, String>,
    /// Every package of the tree, by `name@version`.
    pub packages: BTreeMap<String, LockedPackage>,
}

impl Lockfile {
    pub fn is_empty(&self) -> bool {
        self.dependencies.is_empty()
    }
}

/// Why an install failed; the message names the package.
#[derive(Debug, thiserror::Error)]
pub enum NpmError {
    /// The registry has no such package, or no version matches.
    #[error("{0}")]
    NotFound(String),
    /// A tarball's bytes do not match the integrity the registry published.
    #[error("{0}")]
    Integrity(String),
    /// A package or the tree is over a limit.
    #[error("{0}")]
    TooLarge(String),
    /// The registry could not be reached or answered badly.
    #[error("{0}")]
    Registry(String),
    /// Offline and not in the cache or mirror.
    #[error("{0}")]
    Offline(String),
    /// A tarball that cannot be unpacked safely.
    #[error("{0}")]
    BadPackage(String),
    #[error("the package cache failed: {0}")]
    Cache(#[from] std::io::Error),
}

impl NpmError {
    /// The same error again (one failed packument can fail several wants).
    pub(crate) fn duplicate(&self) -> NpmError {
        let message = self.to_string();
        match self {
            NpmError::NotFound(_) => NpmError::NotFound(message),
            NpmError::Integrity(_) => NpmError::Integrity(message),
            NpmError::TooLarge(_) => NpmError::TooLarge(message),
            NpmError::Registry(_) | NpmError::Cache(_) => NpmError::Registry(message),
            NpmError::Offline(_) => NpmError::Offline(message),
            NpmError::BadPackage(_) => NpmError::BadPackage(message),
        }
    }
}

/// How far an install has come; read by `GET /v1/runtimes/nodejs/dependencies/install`.
#[derive(Debug, Default)]
pub struct InstallProgress {
    /// Packages resolved so far.
    pub resolved: std::sync::atomic::AtomicUsize,
    /// Packages in the tree, once resolution is done (0 before).
    pub total: std::sync::atomic::AtomicUsize,
    /// Packages in the cache (found there or fetched and verified).
    pub fetched: std::sync::atomic::AtomicUsize,
    /// Bytes unpacked so far.
    pub bytes: std::sync::atomic::AtomicU64,
}

/// Installs dependency trees and loads installed ones.
pub struct Npm {
    registry: Registry,
    cache: PackageCache,
}

impl Npm {
    pub fn new(config: NpmConfig) -> Result<Arc<Npm>, NpmError> {
        let cache = PackageCache::new(config.cache_dir.clone());
        Ok(Arc::new(Npm { registry: Registry::new(config)?, cache }))
    }

    pub fn config(&self) -> &NpmConfig {
        self.registry.config()
    }

    /// Resolves `dependencies` and puts their whole tree in the cache,
    /// reporting as it goes.
    pub async fn install(&self, dependencies: &[Dependency], progress: &InstallProgress) -> Result<Lockfile, NpmError> {
        resolve::install(&self.registry, &self.cache, dependencies, progress).await
    }

    /// The packages of a recorded tree, for `require`. A package this
    /// host's cache lacks is fetched from its recorded URL and checked
    /// against its recorded integrity; nothing is resolved again.
    pub async fn packages(&self, lock: &Lockfile) -> Result<Packages, NpmError> {
        let mut packages = std::collections::HashMap::new();
        for (key, locked) in &lock.packages {
            if self.cache.cached(Some(&locked.integrity), None).is_none() {
                let bytes = self.registry.tarball(&locked.name, &locked.version, &locked.resolved).await?;
                let (cache, integrity, label) = (self.cache.clone(), locked.integrity.clone(), key.clone());
                let max = self.config().max_package_bytes;
                tokio::task::spawn_blocking(move || cache.store(&label, Some(&integrity), None, &bytes, max))
                    .await
                    .map_err(|e| NpmError::BadPackage(format!("unpacking {key} failed: {e}")))??;
            }
            let dir = self
                .cache
                .dir(&locked.integrity)
                .ok_or_else(|| NpmError::Integrity(format!("{key} has no usable integrity in the lockfile")))?;
            packages.insert(
                key.clone(),
                InstalledPackage {
                    name: locked.name.clone(),
                    version: locked.version.clone(),
                    dependencies: locked.dependencies.clone(),
                    dir,
                },
            );
        }
        Ok(Packages::new(lock.dependencies.clone(), packages))
    }
}
