//! The npm registry protocol: packuments (`GET /<name>`, abbreviated form)
//! and tarballs, with time limits and retries; or a mirror directory laid
//! out like the registry (`<name>/index.json`, `<name>/-/<file>.tgz`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{NpmConfig, NpmError};

#[derive(Debug, Clone, Deserialize)]
pub struct Packument {
    pub name: String,
    #[serde(rename = "dist-tags", default)]
    pub dist_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub versions: BTreeMap<String, VersionInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VersionInfo {
    #[serde(default)]
    pub dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "optionalDependencies")]
    pub optional_dependencies: BTreeMap<String, String>,
    pub dist: Dist,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dist {
    pub tarball: String,
    #[serde(default)]
    pub integrity: Option<String>,
    #[serde(default)]
    pub shasum: Option<String>,
}

pub struct Registry {
    config: NpmConfig,
    http: reqwest::Client,
}

/// `@scope/name` is `@scope%2fname` in a registry path.
fn encoded_name(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

impl Registry {
    pub fn new(config: NpmConfig) -> Result<Registry, NpmError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("chatfn/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NpmError::Registry(format!("could not create an HTTP client: {e}")))?;
        Ok(Registry { config, http })
    }

    pub fn config(&self) -> &NpmConfig {
        &self.config
    }

    fn mirror_path(&self, relative: &str) -> Option<PathBuf> {
        let mirror = self.config.mirror_dir.as_ref()?;
        let relative = relative.trim_start_matches('/');
        if relative.split('/').any(|part| part == ".." || part.is_empty()) {
            return None;
        }
        Some(mirror.join(relative))
    }

    pub async fn packument(&self, name: &str) -> Result<Packument, NpmError> {
        if let Some(path) = self.mirror_path(&format!("{name}/index.json")) {
            if let Ok(bytes) = tokio::fs::read(&path).await {
                return serde_json::from_slice(&bytes)
                    .map_err(|e| NpmError::Registry(format!("the mirror's packument of {name} is not valid: {e}")));
            }
        }
        if self.config.offline {
            return Err(NpmError::Offline(format!(
                "package {name} is not in the offline mirror, and the registry may not be asked (offline mode)"
            )));
        }
        let url = format!("{}/{}", self.config.registry_url, encoded_name(name));
        let accept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8";
        let bytes = self.get(&url, accept, MAX_PACKUMENT_BYTES).await.map_err(|e| match e {
            Fetch::NotFound => NpmError::NotFound(format!("package {name} was not found in the registry {url}")),
            Fetch::TooLarge(limit) => {
                NpmError::TooLarge(format!("the packument of {name} is larger than the limit of {limit} bytes"))
            }
            Fetch::Failed(reason) => NpmError::Registry(format!("the registry failed for package {name}: {reason}")),
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| NpmError::Registry(format!("the registry's packument of {name} is not valid JSON: {e}")))
    }

    /// A tarball's bytes (unverified: the cache checks them).
    pub async fn tarball(&self, name: &str, version: &str, url: &str) -> Result<Vec<u8>, NpmError> {
        let file = url.rsplit('/').next().unwrap_or_default();
        if let Some(path) = self.mirror_path(&format!("{name}/-/{file}")) {
            if let Ok(bytes) = tokio::fs::read(&path).await {
                return Ok(bytes);
            }
        }
        if self.config.offline {
            return Err(NpmError::Offline(format!(
                "{name}@{version} is not in the package cache or the offline mirror (offline mode)"
            )));
        }
        self.get(url, "application/octet-stream", self.config.max_package_bytes).await.map_err(|e| match e {
            Fetch::NotFound => NpmError::NotFound(format!("the tarball of {name}@{version} was not found at {url}")),
            Fetch::TooLarge(limit) => {
                NpmError::TooLarge(format!("the tarball of {name}@{version} is larger than the limit of {limit} bytes"))
            }
            Fetch::Failed(reason) => {
                NpmError::Registry(format!("the tarball of {name}@{version} could not be fetched: {reason}"))
            }
        })
    }

    /// GET with retries on time-outs, connection failures and 5xx.
    async fn get(&self, url: &str, accept: &str, limit: u64) -> Result<Vec<u8>, Fetch> {
        let mut delay = Duration::from_millis(200);
        let mut last = String::new();
        for attempt in 1..=self.config.attempts.max(1) {
            match self.http.get(url).header("Accept", accept).send().await {
                Ok(response) if response.status().is_success() => {
                    if response.content_length().is_some_and(|n| n > limit) {
                        return Err(Fetch::TooLarge(limit));
                    }
                    match response.bytes().await {
                        Ok(bytes) if bytes.len() as u64 > limit => return Err(Fetch::TooLarge(limit)),
                        Ok(bytes) => return Ok(bytes.to_vec()),
                        Err(e) => last = format!("reading {url} failed: {e}"),
                    }
                }
                Ok(response) if response.status() == reqwest::StatusCode::NOT_FOUND => return Err(Fetch::NotFound),
                Ok(response) if response.status().is_server_error() => {
                    last = format!("{url} answered {}", response.status());
                }
                Ok(response) => return Err(Fetch::Failed(format!("{url} answered {}", response.status()))),
                Err(e) => last = format!("{url} could not be reached: {e}"),
            }
            if attempt < self.config.attempts {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Err(Fetch::Failed(last))
    }
}

enum Fetch {
    NotFound,
    TooLarge(u64),
    Failed(String),
}

/// Largest packument read (abbreviated ones of popular packages are a few MB).
const MAX_PACKUMENT_BYTES: u64 = 64 * 1024 * 1024;
