//! Saved profiles: a server and an application's client credentials under
//! a name, in the user's config directory, so that `chatfn deploy` and the
//! other developer commands need no flags after `chatfn login`.
//!
//! The file is `profiles.toml` in `$CHATFN_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/chatfn`, else `~/.config/chatfn`; it holds secrets, so
//! it is written with mode 0600 (replaced whole, never half-written).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

pub const DEFAULT_PROFILE: &str = "default";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    pub server: String,
    pub client_id: String,
    #[serde(deserialize_with = "secret")]
    pub client_secret: Secret,
}

fn secret<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    String::deserialize(deserializer).map(Secret::from)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

pub fn path() -> Result<PathBuf, String> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var("CHATFN_CONFIG_DIR")
        .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("chatfn")))
        .or_else(|| var("HOME").map(|d| d.join(".config").join("chatfn")))
        .ok_or("no config directory: set CHATFN_CONFIG_DIR or HOME")?;
    Ok(dir.join("profiles.toml"))
}

fn read() -> Result<File, String> {
    let path = path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn write(file: &File) -> Result<PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = path()?;
    let dir = path.parent().expect("a file name under a directory");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let text = toml::to_string(file).map_err(|e| format!("profiles: {e}"))?;
    let partial = path.with_extension("toml.partial");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&partial, &path));
    written.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The profile saved as `name`, if any.
pub fn load(name: &str) -> Result<Option<Profile>, String> {
    Ok(read()?.profiles.remove(name))
}

/// Saves (or replaces) `name`; answers the file's path.
pub fn save(name: &str, profile: Profile) -> Result<PathBuf, String> {
    let mut file = read()?;
    file.profiles.insert(name.to_string(), profile);
    write(&file)
}

/// Forgets `name`; `false` when there was no such profile.
pub fn remove(name: &str) -> Result<bool, String> {
    let mut file = read()?;
    if file.profiles.remove(name).is_none() {
        return Ok(false);
    }
    write(&file)?;
    Ok(true)
}

/// Every saved profile's name and server.
pub fn list() -> Result<Vec<(String, String)>, String> {
    Ok(read()?.profiles.into_iter().map(|(name, p)| (name, p.server)).collect())
}
