//! `node:fs`, read-only over the runtime's installed packages (see
//! `js-runtime/node/fs.js`): the virtual tree is `/`, `/node_modules`, its
//! scope directories and each package's own files at
//! `/node_modules/<name>@<version>/...`. Nothing else exists; writes are
//! refused in JavaScript before reaching here.

use std::time::UNIX_EPOCH;

use deno_core::{op2, OpState, ToJsBuffer};
use serde::Serialize;

use super::modules::{normalize, ModuleBinding, Packages};

/// Largest file read at once (a package is at most 64 MiB unpacked).
const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FsStat {
    is_file: bool,
    size: u64,
    mtime_ms: f64,
    ino: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FsEntry {
    name: String,
    is_file: bool,
}

/// A failure as Node names it (`ENOENT`, `EISDIR`, ...), in the error's
/// `code`; fs.js builds Node's error object from it.
type FsError = super::errors::CodedError;

fn code(code: &'static str) -> FsError {
    FsError::new(code, code)
}

enum Node {
    /// `/` and `/node_modules`, and a scope directory (`/node_modules/@x`).
    Virtual(Vec<FsEntry>),
    Real(std::path::PathBuf),
}

fn lookup(packages: &Packages, path: &str) -> Result<Node, FsError> {
    let path = normalize(path).ok_or_else(|| code("ENOENT"))?;
    let dir = |name: &str| FsEntry { name: name.to_string(), is_file: false };
    match path.as_str() {
        "/" => return Ok(Node::Virtual(vec![dir("node_modules")])),
        "/node_modules" => {
            let mut names: Vec<String> = packages
                .packages
                .keys()
                .map(|key| match key.strip_prefix('@') {
                    Some(_) => key.split('/').next().unwrap_or(key).to_string(),
                    None => key.clone(),
                })
                .collect();
            names.sort();
            names.dedup();
            return Ok(Node::Virtual(names.iter().map(|n| dir(n)).collect()));
        }
        _ => {}
    }
    let rest = path.strip_prefix("/node_modules/").ok_or_else(|| code("ENOENT"))?;
    if rest.starts_with('@') && !rest.contains('/') {
        let prefix = format!("{rest}/");
        let mut names: Vec<FsEntry> =
            packages.packages.keys().filter_map(|k| k.strip_prefix(&prefix)).map(dir).collect();
        if names.is_empty() {
            return Err(code("ENOENT"));
        }
        names.sort_by(|a, b| a.name.cmp(&b.name));
        return Ok(Node::Virtual(names));
    }
    packages.real_path(&path).map(Node::Real).ok_or_else(|| code("ENOENT"))
}

fn packages(state: &OpState) -> std::sync::Arc<Packages> {
    state.borrow::<ModuleBinding>().0.clone().unwrap_or_default()
}

fn io_code(e: &std::io::Error) -> FsError {
    code(match e.kind() {
        std::io::ErrorKind::NotFound => "ENOENT",
        std::io::ErrorKind::PermissionDenied => "EACCES",
        _ if e.raw_os_error() == Some(libc::EISDIR) => "EISDIR",
        _ if e.raw_os_error() == Some(libc::ENOTDIR) => "ENOTDIR",
        _ => "EIO",
    })
}

#[op2]
#[serde]
pub fn op_chatfn_fs_stat(state: &mut OpState, #[string] path: &str) -> Result<FsStat, FsError> {
    match lookup(&packages(state), path)? {
        Node::Virtual(_) => Ok(FsStat { is_file: false, size: 4096, mtime_ms: 0.0, ino: 0 }),
        Node::Real(real) => {
            // Links are never extracted, so metadata is the entry itself.
            let meta = std::fs::symlink_metadata(&real).map_err(|e| io_code(&e))?;
            let mtime_ms = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as f64)
                .unwrap_or(0.0);
            use std::os::unix::fs::MetadataExt;
            Ok(FsStat { is_file: meta.is_file(), size: meta.len(), mtime_ms, ino: meta.ino() })
        }
    }
}

#[op2]
#[serde]
pub fn op_chatfn_fs_readdir(state: &mut OpState, #[string] path: &str) -> Result<Vec<FsEntry>, FsError> {
    match lookup(&packages(state), path)? {
        Node::Virtual(entries) => Ok(entries),
        Node::Real(real) => {
            if real.is_file() {
                return Err(code("ENOTDIR"));
            }
            let mut entries = Vec::new();
            for entry in std::fs::read_dir(&real).map_err(|e| io_code(&e))? {
                let entry = entry.map_err(|e| io_code(&e))?;
                let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
                entries.push(FsEntry { name: entry.file_name().to_string_lossy().into_owned(), is_file });
            }
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(entries)
        }
    }
}

#[op2]
#[serde]
pub fn op_chatfn_fs_read(state: &mut OpState, #[string] path: &str) -> Result<ToJsBuffer, FsError> {
    match lookup(&packages(state), path)? {
        Node::Virtual(_) => Err(code("EISDIR")),
        Node::Real(real) => {
            let meta = std::fs::metadata(&real).map_err(|e| io_code(&e))?;
            if meta.is_dir() {
                return Err(code("EISDIR"));
            }
            if meta.len() > MAX_READ_BYTES {
                return Err(code("EFBIG"));
            }
            Ok(std::fs::read(&real).map_err(|e| io_code(&e))?.into())
        }
    }
}

deno_core::extension!(chatfn_fs, ops = [op_chatfn_fs_stat, op_chatfn_fs_readdir, op_chatfn_fs_read]);

/// The capability: its ops (the JavaScript over them is among the built-ins
/// in `js-runtime/node/`, compiled when first required).
pub(super) fn extension() -> deno_core::Extension {
    chatfn_fs::init()
}
