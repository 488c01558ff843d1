//! The content-addressed package cache: `<root>/<algorithm>-<hex digest>/`
//! holds one verified, extracted tarball, shared by every application that
//! depends on those exact bytes. A directory appears only complete (it is
//! extracted beside and renamed into place).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use sha1::Digest as _;

use super::NpmError;

/// Files in one package.
const MAX_FILES: usize = 20_000;
/// Written after extraction: the unpacked size, in bytes.
const COMPLETE_MARKER: &str = ".chatfn-complete";

#[derive(Debug, Clone)]
pub struct PackageCache {
    root: PathBuf,
}

/// A verified digest: the algorithm and its bytes.
struct Digest {
    algorithm: &'static str,
    bytes: Vec<u8>,
}

impl Digest {
    fn dir_name(&self) -> String {
        format!("{}-{}", self.algorithm, hex::encode(&self.bytes))
    }
}

/// The strongest digest an SRI string (`sha512-… sha1-…`) or a hex
/// `shasum` names.
fn expected_digest(integrity: Option<&str>, shasum: Option<&str>) -> Option<Digest> {
    let rank = |algorithm: &str| match algorithm {
        "sha512" => 3,
        "sha256" => 2,
        "sha1" => 1,
        _ => 0,
    };
    let best = integrity.into_iter().flat_map(str::split_whitespace).filter_map(|entry| {
        let (algorithm, b64) = entry.split_once('-')?;
        let algorithm = match algorithm {
            "sha512" => "sha512",
            "sha256" => "sha256",
            "sha1" => "sha1",
            _ => return None,
        };
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64.split('?').next()?).ok()?;
        Some(Digest { algorithm, bytes })
    });
    let best = best.max_by_key(|d| rank(d.algorithm));
    best.or_else(|| Some(Digest { algorithm: "sha1", bytes: hex::decode(shasum?).ok()? }))
}

fn digest(algorithm: &str, data: &[u8]) -> Vec<u8> {
    match algorithm {
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        _ => sha1::Sha1::digest(data).to_vec(),
    }
}

/// The SRI string of a digest, as recorded in lockfiles.
fn sri(d: &Digest) -> String {
    format!("{}-{}", d.algorithm, base64::engine::general_purpose::STANDARD.encode(&d.bytes))
}

impl PackageCache {
    pub fn new(root: PathBuf) -> PackageCache {
        PackageCache { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of an extracted package, by the integrity recorded in a lockfile.
    pub fn dir(&self, integrity: &str) -> Option<PathBuf> {
        let d = expected_digest(Some(integrity), None)?;
        Some(self.root.join(d.dir_name()))
    }

    /// Size of the package already in the cache, if it is.
    pub fn cached(&self, integrity: Option<&str>, shasum: Option<&str>) -> Option<(String, u64)> {
        let d = expected_digest(integrity, shasum)?;
        let marker = std::fs::read_to_string(self.root.join(d.dir_name()).join(COMPLETE_MARKER)).ok()?;
        Some((sri(&d), marker.trim().parse().ok()?))
    }

    /// Verifies `tarball` against the published integrity (or shasum) and
    /// extracts it; returns the integrity to record and the unpacked size.
    pub fn store(
        &self,
        package: &str,
        integrity: Option<&str>,
        shasum: Option<&str>,
        tarball: &[u8],
        max_bytes: u64,
    ) -> Result<(String, u64), NpmError> {
        let expected = expected_digest(integrity, shasum).ok_or_else(|| {
            NpmError::Integrity(format!("{package} publishes no usable integrity (sha512/sha256/sha1) to check it by"))
        })?;
        let actual = digest(expected.algorithm, tarball);
        if actual != expected.bytes {
            return Err(NpmError::Integrity(format!(
                "integrity check failed for {package}: expected {}, got {}-{}",
                sri(&expected),
                expected.algorithm,
                base64::engine::general_purpose::STANDARD.encode(&actual)
            )));
        }
        let target = self.root.join(expected.dir_name());
        if let Ok(marker) = std::fs::read_to_string(target.join(COMPLETE_MARKER)) {
            if let Ok(size) = marker.trim().parse() {
                return Ok((sri(&expected), size));
            }
        }
        std::fs::create_dir_all(&self.root)?;
        let staging = self.root.join(format!(".staging-{}", hex::encode(rand::random::<[u8; 8]>())));
        let extracted = extract(package, tarball, &staging, max_bytes);
        let size = match extracted {
            Ok(size) => size,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        std::fs::write(staging.join(COMPLETE_MARKER), size.to_string())?;
        if std::fs::rename(&staging, &target).is_err() {
            // Another install put the same bytes there first.
            let _ = std::fs::remove_dir_all(&staging);
        }
        Ok((sri(&expected), size))
    }
}

/// Unpacks a gzipped tarball into `into`: the first path component
/// (`package/`) is dropped, absolute and `..` paths are refused, only
/// regular files and directories are written (links are skipped), and
/// the unpacked bytes are capped.
fn extract(package: &str, tarball: &[u8], into: &Path, max_bytes: u64) -> Result<u64, NpmError> {
    let bad = |why: String| NpmError::BadPackage(format!("the tarball of {package} cannot be unpacked: {why}"));
    std::fs::create_dir_all(into)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    let mut total: u64 = 0;
    let mut files = 0usize;
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue;
        }
        let path = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let mut parts = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => parts.push(part),
                Component::CurDir => {}
                _ => return Err(bad(format!("unsafe path {}", path.display()))),
            }
        }
        let relative: PathBuf = parts.iter().skip(1).collect();
        if relative.as_os_str().is_empty() {
            continue;
        }
        let destination = into.join(&relative);
        if kind.is_dir() {
            std::fs::create_dir_all(&destination)?;
            continue;
        }
        files += 1;
        if files > MAX_FILES {
            return Err(NpmError::TooLarge(format!("{package} has more than {MAX_FILES} files")));
        }
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&destination)?;
        // A read that fails is the tarball's fault (cut short, corrupt); a
        // write that fails is the cache's.
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let read = entry.read(&mut chunk).map_err(|e| bad(e.to_string()))?;
            if read == 0 {
                break;
            }
            total += read as u64;
            if total > max_bytes {
                return Err(NpmError::TooLarge(format!(
                    "{package} unpacks to more than the limit of {max_bytes} bytes"
                )));
            }
            std::io::Write::write_all(&mut out, &chunk[..read])?;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_prefers_the_strongest_digest() {
        let data = b"hello";
        let sha512 = base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(data));
        let sha1_hex = hex::encode(sha1::Sha1::digest(data));
        let d = expected_digest(Some(&format!("sha1-AAAA sha512-{sha512}")), None).unwrap();
        assert_eq!(d.algorithm, "sha512");
        let d = expected_digest(None, Some(&sha1_hex)).unwrap();
        assert_eq!((d.algorithm, d.bytes), ("sha1", sha1::Sha1::digest(data).to_vec()));
        assert!(expected_digest(Some("md5-xyz"), None).is_none());
    }

    /// A small real tarball: `package/index.js` and `package/package.json`.
    fn tarball() -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (path, body) in [("package/package.json", "{\"name\":\"f\"}"), ("package/index.js", "module.exports = 1")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, body.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn a_real_tarball_unpacks() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = extract("f", &tarball(), dir.path(), 1 << 20).unwrap();
        assert_eq!(bytes, 30, "the two files, whole");
        assert_eq!(std::fs::read_to_string(dir.path().join("index.js")).unwrap(), "module.exports = 1");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Random bytes, and a real tarball with bytes flipped or cut, unpack
        /// or are refused as a bad package; never a panic, never a file
        /// outside the directory.
        #[test]
        fn broken_tarballs_are_refused_not_panicked_on(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..4096,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let into = dir.path().join("pkg");
            match extract("f", &noise, &into, 1 << 20) {
                Ok(_) | Err(NpmError::BadPackage(_)) => {}
                Err(other) => proptest::prop_assert!(false, "{other}"),
            }
            let mut bytes = tarball();
            for (at, value) in flips {
                let len = bytes.len();
                bytes[at % len] ^= value;
            }
            bytes.truncate(cut.max(1).min(bytes.len()));
            match extract("f", &bytes, &into, 1 << 20) {
                Ok(_) | Err(NpmError::BadPackage(_)) => {}
                Err(other) => proptest::prop_assert!(false, "{other}"),
            }
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                proptest::prop_assert_eq!(entry.unwrap().file_name(), "pkg");
            }
        }
    }
}
