//! Resolution of a runtime's dependencies into a lockfile: every range is
//! matched with npm's rules against the registry's versions (the highest
//! match wins; a dist-tag names its version), dependencies are followed
//! transitively (not dev ones; peers as npm 7+ does, one copy shared with
//! the package that wants the peer), optional ones are skipped when they
//! fail or do not fit this platform, and every tarball is fetched, verified
//! and extracted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use deno_semver::{Version, VersionReq};

use super::registry::{Packument, Registry, VersionInfo};
use super::Dependency;
use super::{package_key, InstallProgress, LockedPackage, Lockfile, NpmError, PackageCache};

/// Chooses the version of `name` a range asks for.
fn choose(packument: &Packument, name: &str, range: &str) -> Result<String, NpmError> {
    let req = VersionReq::parse_from_npm(range)
        .map_err(|e| NpmError::NotFound(format!("{name}@{range:?}: not an npm version, range or tag ({e})")))?;
    if let Some(tag) = req.tag() {
        return packument
            .dist_tags
            .get(tag)
            .cloned()
            .ok_or_else(|| NpmError::NotFound(format!("{name} has no dist-tag {tag:?}")));
    }
    let best = packument
        .versions
        .keys()
        .filter_map(|v| Version::parse_from_npm(v).ok().map(|parsed| (parsed, v)))
        .filter(|(parsed, _)| req.matches(parsed))
        .max_by(|a, b| a.0.cmp(&b.0));
    best.map(|(_, v)| v.clone()).ok_or_else(|| {
        NpmError::NotFound(format!("no version of {name} matches {range:?} (the registry has {})", describe(packument)))
    })
}

fn describe(packument: &Packument) -> String {
    let versions: Vec<&String> = packument.versions.keys().collect();
    match versions.len() {
        0 => "no versions".into(),
        n if n <= 8 => versions.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
        n => format!("{n} versions"),
    }
}

/// Specs that are not registry versions (`git+…`, `file:`, URLs, aliases).
fn unsupported_spec(range: &str) -> bool {
    range.contains(':') || range.contains('/') && !range.starts_with('@')
}

struct Want {
    name: String,
    range: String,
    optional: bool,
    /// `name@version` of the package that wants it; `None` for the runtime.
    parent: Option<String>,
    /// For a peer dependency: the package whose peer it is. The peer is
    /// resolved as a dependency of `parent`, so both see one copy (npm 7+).
    peer_of: Option<String>,
}

/// Packuments fetched at once while resolving.
const PACKUMENT_CONCURRENCY: usize = 16;

/// Resolves, fetches, verifies and extracts the whole tree of `dependencies`.
pub async fn install(
    registry: &Registry,
    cache: &PackageCache,
    dependencies: &[Dependency],
    progress: &InstallProgress,
) -> Result<Lockfile, NpmError> {
    use std::sync::atomic::Ordering::Relaxed;
    let config = registry.config().clone();
    let mut packuments: HashMap<String, Result<Arc<Packument>, Arc<NpmError>>> = HashMap::new();
    let mut chosen: HashMap<(String, String), String> = HashMap::new();
    let mut lock = Lockfile::default();
    let mut infos: BTreeMap<String, VersionInfo> = BTreeMap::new();
    let mut wave: Vec<Want> = dependencies
        .iter()
        .map(|d| Want { name: d.name.clone(), range: d.version.clone(), optional: false, parent: None, peer_of: None })
        .collect();

    // Breadth first, a level at a time, with the level's packuments fetched
    // concurrently.
    while !wave.is_empty() {
        prefetch(registry, &mut packuments, &wave).await;
        let mut next = Vec::new();
        for want in wave {
            let edges = match &want.parent {
                None => Some(&lock.dependencies),
                Some(parent) => lock.packages.get(parent).map(|p| &p.dependencies),
            };
            let already = edges.and_then(|edges| edges.get(&want.name)).cloned();
            let version = match (&want.peer_of, already) {
                // A peer the dependent already has: share that copy.
                (Some(_), Some(version)) => version,
                (Some(_), None) if want.optional => continue,
                _ => {
                    let resolved = resolve_one(&packuments, &mut chosen, &want).and_then(|(version, info)| {
                        if info.fits_host() {
                            Ok((version, info))
                        } else {
                            Err(NpmError::NotFound(format!(
                                "{}@{version} does not run on {}/{} (os {:?}, cpu {:?})",
                                want.name,
                                super::registry::HOST_OS,
                                super::registry::HOST_CPU,
                                info.os,
                                info.cpu
                            )))
                        }
                    });
                    let (version, info) = match resolved {
                        Ok(found) => found,
                        Err(_) if want.optional => continue,
                        Err(e) => return Err(e),
                    };
                    let key = package_key(&want.name, &version);
                    if !lock.packages.contains_key(&key) {
                        if lock.packages.len() >= config.max_packages {
                            return Err(NpmError::TooLarge(format!(
                                "the dependency tree has more than {} packages",
                                config.max_packages
                            )));
                        }
                        progress.resolved.fetch_add(1, Relaxed);
                        lock.packages.insert(
                            key.clone(),
                            LockedPackage {
                                name: want.name.clone(),
                                version: version.clone(),
                                integrity: String::new(),
                                resolved: info.dist.tarball.clone(),
                                dependencies: BTreeMap::new(),
                                size: 0,
                            },
                        );
                        next.extend(children(&key, &info, want.parent.as_ref()));
                        infos.insert(key, info);
                    }
                    version
                }
            };
            let mut link = |from: Option<&String>| match from {
                None => {
                    lock.dependencies.insert(want.name.clone(), version.clone());
                }
                Some(from) => {
                    if let Some(p) = lock.packages.get_mut(from) {
                        p.dependencies.insert(want.name.clone(), version.clone());
                    }
                }
            };
            link(want.parent.as_ref());
            if let Some(peer_of) = &want.peer_of {
                link(Some(peer_of));
            }
        }
        wave = next;
    }

    // Fetch and unpack what the cache lacks, eight at a time.
    let mut total: u64 = 0;
    let keys: Vec<String> = lock.packages.keys().cloned().collect();
    progress.total.store(keys.len(), Relaxed);
    for batch in keys.chunks(8) {
        let fetches = batch.iter().map(|key| {
            let info = &infos[key];
            let package = &lock.packages[key];
            fetch_package(registry, cache, &package.name, &package.version, info, config.max_package_bytes)
        });
        for (key, stored) in batch.iter().zip(futures::future::join_all(fetches).await) {
            let (integrity, size) = stored?;
            total += size;
            if total > config.max_runtime_bytes {
                return Err(NpmError::TooLarge(format!(
                    "the dependency tree unpacks to more than the limit of {} bytes",
                    config.max_runtime_bytes
                )));
            }
            let package = lock.packages.get_mut(key).expect("listed above");
            package.integrity = integrity;
            package.size = size;
            progress.fetched.fetch_add(1, Relaxed);
            progress.bytes.fetch_add(size, Relaxed);
        }
    }
    Ok(lock)
}

/// The package's verified integrity and unpacked size, from the cache or
/// fetched and extracted into it.
async fn fetch_package(
    registry: &Registry,
    cache: &PackageCache,
    name: &str,
    version: &str,
    info: &VersionInfo,
    max_bytes: u64,
) -> Result<(String, u64), NpmError> {
    let (integrity, shasum) = (info.dist.integrity.clone(), info.dist.shasum.clone());
    if let Some(found) = cache.cached(integrity.as_deref(), shasum.as_deref()) {
        return Ok(found);
    }
    let bytes = registry.tarball(name, version, &info.dist.tarball).await?;
    let (label, cache) = (package_key(name, version), cache.clone());
    tokio::task::spawn_blocking(move || cache.store(&label, integrity.as_deref(), shasum.as_deref(), &bytes, max_bytes))
        .await
        .map_err(|e| NpmError::BadPackage(format!("unpacking {name}@{version} failed: {e}")))?
}

/// What `key` wants in turn: its dependencies, optional dependencies and
/// (resolved beside it, under the package that wants it) its peers.
fn children(key: &str, info: &VersionInfo, parent: Option<&String>) -> Vec<Want> {
    let mut wants = Vec::new();
    for (deps, optional) in [(&info.dependencies, false), (&info.optional_dependencies, true)] {
        for (name, range) in deps {
            wants.push(Want {
                name: name.clone(),
                range: range.clone(),
                optional,
                parent: Some(key.to_string()),
                peer_of: None,
            });
        }
    }
    for (name, range) in &info.peer_dependencies {
        // A package that also lists its peer as a dependency gets it as one.
        if info.dependencies.contains_key(name) || info.optional_dependencies.contains_key(name) {
            continue;
        }
        wants.push(Want {
            name: name.clone(),
            range: range.clone(),
            optional: info.optional_peers.contains(name),
            parent: parent.cloned(),
            peer_of: Some(key.to_string()),
        });
    }
    wants
}

/// Fetches the packuments a wave needs and does not have yet, several at once.
async fn prefetch(
    registry: &Registry,
    packuments: &mut HashMap<String, Result<Arc<Packument>, Arc<NpmError>>>,
    wave: &[Want],
) {
    let mut missing: Vec<String> = wave
        .iter()
        .filter(|w| !unsupported_spec(&w.range) && !packuments.contains_key(&w.name))
        .map(|w| w.name.clone())
        .collect();
    missing.sort_unstable();
    missing.dedup();
    for batch in missing.chunks(PACKUMENT_CONCURRENCY) {
        let fetched = futures::future::join_all(batch.iter().map(|name| registry.packument(name))).await;
        for (name, packument) in batch.iter().zip(fetched) {
            packuments.insert(name.clone(), packument.map(Arc::new).map_err(Arc::new));
        }
    }
}

fn resolve_one(
    packuments: &HashMap<String, Result<Arc<Packument>, Arc<NpmError>>>,
    chosen: &mut HashMap<(String, String), String>,
    want: &Want,
) -> Result<(String, VersionInfo), NpmError> {
    if unsupported_spec(&want.range) {
        return Err(NpmError::NotFound(format!(
            "{}@{:?}: only registry versions, ranges and tags are supported",
            want.name, want.range
        )));
    }
    let packument = match packuments.get(&want.name) {
        Some(Ok(p)) => p.clone(),
        Some(Err(e)) => return Err(e.duplicate()),
        None => return Err(NpmError::Registry(format!("the packument of {} was not fetched", want.name))),
    };
    let cache_key = (want.name.clone(), want.range.clone());
    let version = match chosen.get(&cache_key) {
        Some(v) => v.clone(),
        None => {
            let v = choose(&packument, &want.name, &want.range)?;
            chosen.insert(cache_key, v.clone());
            v
        }
    };
    let info = packument
        .versions
        .get(&version)
        .cloned()
        .ok_or_else(|| NpmError::NotFound(format!("{}@{version} is listed but has no metadata", want.name)))?;
    Ok((version, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packument(versions: &[&str], latest: &str) -> Packument {
        let versions = versions
            .iter()
            .map(|v| {
                (
                    v.to_string(),
                    VersionInfo::parse(&serde_json::json!({"dist": {"tarball": format!("http://x/{v}.tgz")}})).unwrap(),
                )
            })
            .collect();
        Packument {
            name: "p".into(),
            dist_tags: [("latest".to_string(), latest.to_string())].into_iter().collect(),
            versions,
        }
    }

    #[test]
    fn npm_ranges_pick_the_highest_match() {
        let p = packument(&["1.0.0", "1.2.3", "1.9.0", "2.0.0", "2.1.0-beta.1", "3.0.0", "4.1.0"], "4.1.0");
        let pick = |range: &str| choose(&p, "p", range).unwrap();
        assert_eq!(pick("^1.2.0"), "1.9.0");
        assert_eq!(pick("~1.2.0"), "1.2.3");
        assert_eq!(pick("1.x"), "1.9.0");
        assert_eq!(pick(">=1 <3 || 4"), "4.1.0");
        assert_eq!(pick(">=1 <3"), "2.0.0");
        assert_eq!(pick("1.0.0 - 1.5.0"), "1.2.3");
        assert_eq!(pick("latest"), "4.1.0");
        assert_eq!(pick("*"), "4.1.0");
        assert_eq!(pick("2.1.0-beta.1"), "2.1.0-beta.1");
        let err = choose(&p, "p", "^9").unwrap_err().to_string();
        assert!(err.contains("no version of p matches \"^9\""), "{err}");
        assert!(choose(&p, "p", "next").is_err());
    }
}
