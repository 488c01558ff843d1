//! Reads on the request path of an SQLite store, on the calling thread.
//!
//! sqlx runs each SQLite connection on a worker thread of its own, so every
//! query is two hand-offs between threads; for a read that SQLite answers
//! in tens of microseconds from its page cache (the user a login names),
//! the hand-offs cost more than the read (a fifth of all CPU under load).
//! These reads use a read-only connection that each thread keeps for the
//! store's file. Under WAL a reader never waits for the writer.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use super::{StoreError, StoreResult};

/// Connections a thread keeps (one per store file it read; a process
/// normally has one store, tests have many).
const PER_THREAD: usize = 4;

thread_local! {
    static CONNECTIONS: RefCell<Vec<(PathBuf, rusqlite::Connection)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `read` with this thread's read-only connection to `file`.
pub(super) fn with_reader<T>(
    file: &Path,
    read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> StoreResult<T> {
    let failed = |e: rusqlite::Error| StoreError::Unavailable(format!("reading {}: {e}", file.display()));
    CONNECTIONS.with(|connections| {
        let mut connections = connections.borrow_mut();
        let at = match connections.iter().position(|(path, _)| path == file) {
            Some(at) => at,
            None => {
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let connection = rusqlite::Connection::open_with_flags(file, flags).map_err(failed)?;
                connection.busy_timeout(std::time::Duration::from_secs(5)).map_err(failed)?;
                if connections.len() == PER_THREAD {
                    connections.remove(0);
                }
                connections.push((file.to_path_buf(), connection));
                connections.len() - 1
            }
        };
        read(&connections[at].1).map_err(failed)
    })
}
