//! The npm registry protocol: packuments (`GET /<name>`, abbreviated form)
//! and tarballs, with time limits and retries; or a mirror directory laid
//! out like the registry (`<name>/index.json`, `<name>/-/<file>.tgz`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{NpmConfig, NpmError};

/// A package's registry document, read leniently: a field of an unexpected
/// shape (npm has published `"dependencies": []`, numbers as ranges, and
/// versions with no `dist`) is ignored rather than failing the install, as
/// npm itself does.
#[derive(Debug, Clone)]
pub struct Packument {
    pub name: String,
    pub dist_tags: BTreeMap<String, String>,
    pub versions: BTreeMap<String, VersionInfo>,
}

#[derive(Debug, Clone, Default)]
pub struct VersionInfo {
    pub dependencies: BTreeMap<String, String>,
    pub optional_dependencies: BTreeMap<String, String>,
    pub peer_dependencies: BTreeMap<String, String>,
    /// Peers marked `{"optional": true}` in `peerDependenciesMeta`.
    pub optional_peers: Vec<String>,
    /// `os` and `cpu` as published (`["linux", "!win32"]`); empty: any.
    pub os: Vec<String>,
    pub cpu: Vec<String>,
    pub dist: Dist,
}

#[derive(Debug, Clone, Default)]
pub struct Dist {
    pub tarball: String,
    pub integrity: Option<String>,
    pub shasum: Option<String>,
}

impl Packument {
    /// Parses a packument; only a document that is not a JSON object, or
    /// names no package, is refused.
    pub fn parse(bytes: &[u8], fallback_name: &str) -> Result<Packument, String> {
        let document: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let Value::Object(document) = document else {
            return Err("it is not a JSON object".into());
        };
        let name = document.get("name").and_then(Value::as_str).unwrap_or(fallback_name).to_string();
        let versions = match document.get("versions") {
            Some(Value::Object(versions)) => {
                versions.iter().filter_map(|(v, info)| Some((v.clone(), VersionInfo::parse(info)?))).collect()
            }
            _ => BTreeMap::new(),
        };
        Ok(Packument { name, dist_tags: string_map(document.get("dist-tags")), versions })
    }
}

impl VersionInfo {
    /// `None` for a version with no tarball (nothing to install).
    pub fn parse(info: &Value) -> Option<VersionInfo> {
        let dist = info.get("dist")?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let dist = Dist {
            tarball: text(dist.get("tarball"))?,
            integrity: text(dist.get("integrity")),
            shasum: text(dist.get("shasum")),
        };
        let optional_peers = match info.get("peerDependenciesMeta") {
            Some(Value::Object(meta)) => meta
                .iter()
                .filter(|(_, m)| m.get("optional").and_then(Value::as_bool) == Some(true))
                .map(|(name, _)| name.clone())
                .collect(),
            _ => Vec::new(),
        };
        Some(VersionInfo {
            dependencies: string_map(info.get("dependencies")),
            optional_dependencies: string_map(info.get("optionalDependencies")),
            peer_dependencies: string_map(info.get("peerDependencies")),
            optional_peers,
            os: string_list(info.get("os")),
            cpu: string_list(info.get("cpu")),
            dist,
        })
    }

    /// Whether `os`/`cpu` admit this host (npm's rules: a list of allowed
    /// values, or of `!excluded` ones).
    pub fn fits_host(&self) -> bool {
        fn admits(list: &[String], here: &str) -> bool {
            if list.is_empty() || list.iter().any(|v| v == "any") {
                return true;
            }
            if list.iter().any(|v| v.strip_prefix('!') == Some(here)) {
                return false;
            }
            list.iter().all(|v| v.starts_with('!')) || list.iter().any(|v| v == here)
        }
        admits(&self.os, HOST_OS) && admits(&self.cpu, HOST_CPU)
    }
}

/// The platform chat functions see (`process.platform`, `process.arch`).
pub const HOST_OS: &str = "linux";
pub const HOST_CPU: &str = "x64";

/// A map of strings; entries of another type (and a field of another shape)
/// are dropped.
fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    match value {
        Some(Value::Object(map)) => {
            map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.trim().to_string()))).collect()
        }
        _ => BTreeMap::new(),
    }
}

/// A list of strings; a lone string counts as a list of one.
fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
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
                return Packument::parse(&bytes, name)
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
        Packument::parse(&bytes, name)
            .map_err(|e| NpmError::Registry(format!("the registry's packument of {name} is not valid: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packuments_of_unexpected_shapes_are_read_leniently() {
        let packument = Packument::parse(
            br#"{"name": "mime", "dist-tags": {"latest": "1.0.0", "odd": 3}, "versions": {
                "1.0.0": {"dependencies": [], "optionalDependencies": {"a": "^1", "b": 2}, "os": "linux",
                          "peerDependencies": {"p": "*"}, "peerDependenciesMeta": {"p": {"optional": true}},
                          "dist": {"tarball": "http://r/mime-1.0.0.tgz", "integrity": "sha512-x", "shasum": 5}},
                "0.9.0": {"dist": {}},
                "0.8.0": "not an object"}}"#,
            "mime",
        )
        .unwrap();
        assert_eq!(packument.dist_tags.len(), 1);
        assert_eq!(packument.versions.keys().collect::<Vec<_>>(), ["1.0.0"], "versions with no tarball are dropped");
        let v = &packument.versions["1.0.0"];
        assert!(v.dependencies.is_empty());
        assert_eq!(v.optional_dependencies.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(v.optional_peers, ["p"]);
        assert_eq!(v.os, ["linux"]);
        assert_eq!(v.dist.shasum, None);
        assert!(v.fits_host());
        assert!(Packument::parse(b"[1, 2]", "x").is_err());
        assert!(Packument::parse(b"not json", "x").is_err());
    }

    #[test]
    fn platform_fields_follow_npm() {
        let with = |os: &[&str], cpu: &[&str]| VersionInfo {
            os: os.iter().map(|s| s.to_string()).collect(),
            cpu: cpu.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert!(with(&[], &[]).fits_host());
        assert!(with(&["linux", "darwin"], &["x64"]).fits_host());
        assert!(!with(&["win32"], &[]).fits_host());
        assert!(!with(&["!linux"], &[]).fits_host());
        assert!(with(&["!win32"], &[]).fits_host());
        assert!(!with(&[], &["arm64"]).fits_host());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Any bytes, and any JSON of a packument's shape with odd values,
        /// parse or are refused; never a panic.
        #[test]
        fn any_packument_bytes_parse_or_are_refused(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = Packument::parse(&bytes, "fuzz");
        }

        #[test]
        fn packuments_with_odd_values_never_panic(
            version in "\\PC{0,12}",
            tag in "\\PC{0,8}",
            dep in "\\PC{0,10}",
            range in "\\PC{0,10}",
            number in proptest::prelude::any::<i64>(),
        ) {
            let doc = serde_json::json!({
                "name": "fuzz",
                "dist-tags": { tag.clone(): version.clone(), "n": number },
                "versions": {
                    version.clone(): {
                        "dependencies": { dep.clone(): range.clone(), "x": number },
                        "peerDependencies": [dep.clone()],
                        "os": [range.clone()], "cpu": number,
                        "dist": { "tarball": format!("http://r/{dep}.tgz"), "integrity": range, "shasum": number }
                    },
                    tag: number
                }
            });
            let _ = Packument::parse(doc.to_string().as_bytes(), "fuzz");
        }
    }
}
