//! A hermetic npm registry on loopback, speaking the registry's protocol
//! (packument JSON at `/<name>`, tarballs at `/<name>/-/<file>.tgz`) for the
//! packages in `fixtures/npm/<name>/<version>/`. Tarballs are packed here
//! with their sha512 integrity; a version holding a `.corrupt` file gets a
//! published integrity that its tarball does not match; one holding a
//! `.slow` file has its tarball served after a second.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest as _;

use super::support::repo_path;

pub struct TestRegistry {
    pub addr: SocketAddr,
    /// Requests served so far (packuments and tarballs).
    pub requests: AtomicUsize,
    packuments: BTreeMap<String, Value>,
    tarballs: BTreeMap<String, Vec<u8>>,
    /// Tarballs served after a delay (a `.slow` file in the fixture).
    slow: Vec<String>,
}

/// The registry every test server uses (started once per test process).
pub fn registry() -> &'static TestRegistry {
    static REGISTRY: OnceLock<&'static TestRegistry> = OnceLock::new();
    REGISTRY.get_or_init(start)
}

/// A registry of its own, for a test that counts requests.
pub fn start() -> &'static TestRegistry {
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let registry: &'static TestRegistry = Box::leak(Box::new(build(addr)));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                listener.set_nonblocking(true).unwrap();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
                    if registry.slow.iter().any(|file| uri.path().ends_with(file.as_str())) {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    serve(registry, uri.path())
                });
                axum::serve(listener, app).await.unwrap();
            });
        });
        registry
    }
}

/// Server configuration for tests: this registry, a cache shared by the
/// test process (content-addressed, so sharing is safe).
pub fn config() -> chatfn::npm::NpmConfig {
    config_for(registry())
}

pub fn config_for(registry: &TestRegistry) -> chatfn::npm::NpmConfig {
    let cache = std::env::temp_dir().join(format!("chatfn-test-packages-{}", std::process::id()));
    chatfn::npm::NpmConfig::new(&format!("http://{}", registry.addr), cache)
}

impl TestRegistry {
    /// Writes the named packages as an offline mirror: `<name>/index.json`
    /// and `<name>/-/<file>.tgz`, as `--npm-mirror-dir` reads them.
    pub fn write_mirror(&self, dir: &Path, names: &[&str]) {
        for name in names {
            let packument = &self.packuments[*name];
            std::fs::create_dir_all(dir.join(name).join("-")).unwrap();
            std::fs::write(dir.join(name).join("index.json"), packument.to_string()).unwrap();
            for (file, bytes) in self.tarballs.iter().filter(|(file, _)| file.starts_with(&format!("{name}/-/"))) {
                std::fs::write(dir.join(file), bytes).unwrap();
            }
        }
    }
}

fn serve(registry: &TestRegistry, path: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    registry.requests.fetch_add(1, Ordering::SeqCst);
    let path = path.trim_start_matches('/').replace("%2f", "/").replace("%2F", "/");
    if path.contains("/-/") {
        return match registry.tarballs.get(&path) {
            Some(bytes) => ([("content-type", "application/octet-stream")], bytes.clone()).into_response(),
            None => (axum::http::StatusCode::NOT_FOUND, "no such tarball").into_response(),
        };
    }
    match registry.packuments.get(&path) {
        Some(packument) => axum::Json(packument.clone()).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, axum::Json(json!({"error": "Not found"}))).into_response(),
    }
}

/// `fixtures/npm/<name>/<version>` and `fixtures/npm/@scope/<name>/<version>`.
fn package_dirs(root: &Path) -> Vec<(String, String, PathBuf)> {
    let mut found = Vec::new();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('@') {
            for inner in std::fs::read_dir(&path).unwrap() {
                let inner = inner.unwrap().path();
                names.push((format!("{name}/{}", inner.file_name().unwrap().to_string_lossy()), inner));
            }
        } else {
            names.push((name, path));
        }
    }
    for (name, dir) in names {
        for version in std::fs::read_dir(&dir).unwrap() {
            let version = version.unwrap().path();
            found.push((name.clone(), version.file_name().unwrap().to_string_lossy().into_owned(), version));
        }
    }
    found
}

fn pack(dir: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    for file in files {
        let relative = file.strip_prefix(dir).unwrap();
        builder.append_path_with_name(&file, Path::new("package").join(relative)).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn build(addr: SocketAddr) -> TestRegistry {
    let mut packuments: BTreeMap<String, Value> = BTreeMap::new();
    let mut tarballs = BTreeMap::new();
    let mut slow = Vec::new();
    for (name, version, dir) in package_dirs(&repo_path("fixtures/npm")) {
        let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("package.json")).unwrap()).unwrap();
        let bytes = pack(&dir);
        let published =
            if dir.join(".corrupt").exists() { [bytes.as_slice(), b"tampered"].concat() } else { bytes.clone() };
        let integrity =
            format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&published)));
        let file = format!("{name}/-/{}-{version}.tgz", name.rsplit('/').next().unwrap());
        tarballs.insert(file.clone(), bytes);
        if dir.join(".slow").exists() {
            slow.push(file.clone());
        }
        let packument =
            packuments.entry(name.clone()).or_insert_with(|| json!({"name": name, "dist-tags": {}, "versions": {}}));
        let mut entry = manifest.clone();
        entry["dist"] = json!({"tarball": format!("http://{addr}/{file}"), "integrity": integrity});
        packument["versions"][&version] = entry;
    }
    for packument in packuments.values_mut() {
        let latest = packument["versions"]
            .as_object()
            .unwrap()
            .keys()
            .max_by_key(|v| deno_semver::Version::parse_standard(v).unwrap())
            .unwrap()
            .clone();
        packument["dist-tags"]["latest"] = json!(latest);
    }
    TestRegistry { addr, requests: AtomicUsize::new(0), packuments, tarballs, slow }
}
