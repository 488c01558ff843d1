//! The store: applications, runtimes, functions, versions, invocations and
//! the embedded chat platform's users, channels and messages.
//!
//! One implementation serves SQLite (the embedded default) and PostgreSQL
//! (several hosts sharing one store): queries use `$n` placeholders and
//! portable SQL through sqlx's `Any` driver; integers are BIGINT, JSON is
//! TEXT and times are milliseconds since the epoch. Each backend has its own
//! migration folder. Every query that touches tenant data names the
//! application, so one application can never reach another's rows.

mod applications;
mod changes;
mod channel_roles;
mod chat;
mod functions;
pub mod jobs;
mod local_read;
pub use changes::{ChangeListener, Heard};
pub use jobs::Retention;
mod notifications;
mod page;
mod runtimes;
mod states;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use applications::{Application, TimeoutPolicy, Toggle};
pub use channel_roles::UserSince;
pub use chat::{
    Channel, ChannelFilter, ChannelPatch, ChannelType, ChatMessage, ChatUser, ChatUserPatch, MessageFilter, NewChannel,
    NewChatMessage, NewChatUser,
};
pub use functions::{FunctionPatch, FunctionRecord, InvocationFilter, InvocationRecord, NewFunction, VersionRecord};
pub use notifications::{
    Cursor, Fanout, NewJob, NewNotification, Notification, Recipient, Sent, SessionState, UserSession,
};
pub use page::PageRequest;
use page::{Listing, Param};
pub use runtimes::{RuntimeChange, RuntimeRecord};
pub use states::{InvocationState, JobState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    /// The store cannot take the write now (shutting down, or failing).
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL {url:?}: {reason}")]
    Url { url: String, reason: String },
}

impl StoreError {
    /// Unique-constraint violations become conflicts with a stable message.
    fn from_write(e: sqlx::Error, conflict: impl FnOnce() -> String) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(conflict()),
            _ => StoreError::Database(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The database file of an SQLite store.
    sqlite_file: Option<std::path::PathBuf>,
    /// A PostgreSQL store's URL: change announcements are listened for on
    /// a connection of their own.
    postgres_url: Option<String>,
    /// Users by name, for the login path (`chat.rs`).
    users_by_name: std::sync::Arc<chat::UsersByName>,
}

/// Every SQLite connection's settings, the pool's and the recorder's: WAL,
/// and `synchronous = FULL` so that a commit is on disk before it is
/// answered (the recorder relaxes it for rounds nobody waits on:
/// `jobs/sqlite.rs`).
pub(crate) const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

/// SQLite counts every allocation it makes under a process-wide mutex, for
/// statistics chatfn never reads; the recorder's thread took that lock for
/// most of its mallocs. Turned off once, before the library's first use
/// (later, SQLite refuses the change and keeps counting, which is harmless).
fn untracked_sqlite_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a documented configuration call with its one int argument;
        // SQLite itself refuses it (SQLITE_MISUSE) once initialized.
        unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
    });
}

/// The file an `sqlite:` URL names. An in-memory database is refused: the
/// recorder writes through a connection of its own, which needs a file.
fn sqlite_file(url: &str) -> StoreResult<std::path::PathBuf> {
    let invalid = |reason: String| StoreError::Url { url: url.into(), reason };
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
    let file = options.get_filename();
    if url.contains(":memory:") || url.contains("mode=memory") || file.as_os_str().is_empty() {
        return Err(invalid("chatfn keeps its SQLite store in a file: use sqlite://FILE".into()));
    }
    Ok(file.to_path_buf())
}

pub fn now_millis() -> i64 {
    // Not through chrono, which works out the calendar date first.
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    since_epoch.as_millis() as i64
}

impl Store {
    /// Opens (creating if needed) the database at `url` and migrates it.
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    /// One round trip to the database.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn connect(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        untracked_sqlite_memory();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url {
                url: url.into(),
                reason: "use sqlite://FILE or postgres://USER@HOST/DB".into(),
            });
        };
        let sqlite_file = match backend {
            Backend::Sqlite => Some(sqlite_file(url)?),
            Backend::Postgres => None,
        };
        let url = match backend {
            // Create the file on first start.
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Url { url: url.clone(), reason: e.to_string() })?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        let postgres_url = (backend == Backend::Postgres).then(|| url.clone());
        let users_by_name = std::sync::Arc::new(chat::UsersByName::new(backend));
        Ok(Store { pool, backend, sqlite_file, postgres_url, users_by_name })
    }

    /// The database file of an SQLite store (its recorder opens it too).
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.sqlite_file.as_deref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and then
    /// writes fails at once with SQLITE_BUSY, without waiting, when another
    /// connection (the recorder's) committed in between.
    pub(crate) async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
