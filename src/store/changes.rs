//! Changes to an application (its functions, versions, runtime, settings
//! or policies) announced to every host sharing a PostgreSQL store, with
//! LISTEN/NOTIFY, so that no host serves a stale version from its cache;
//! and writes of its chat users, announced by the database itself (a
//! trigger, migration 0018: `users:<application id>`), so that no host
//! answers a login from a stale user. SQLite has one host: nothing to
//! announce.

use sqlx::postgres::PgListener;

use super::{Backend, Store, StoreError, StoreResult};

const CHANNEL: &str = "chatfn_changes";
/// How migration 0018's trigger begins its announcements.
const USERS: &str = "users:";

/// A host's subscription to the announcements.
pub struct ChangeListener(PgListener);

/// What a listener heard.
pub enum Heard {
    /// This application changed.
    Changed(i64),
    /// A user of this application was written.
    UsersChanged(i64),
    /// The connection was lost and is being made again: announcements may
    /// have been missed, so every cached application is suspect.
    Lost,
}

impl ChangeListener {
    pub async fn next(&mut self) -> StoreResult<Heard> {
        match self.0.try_recv().await.map_err(|e| StoreError::Unavailable(format!("change announcements: {e}")))? {
            Some(notification) => {
                let payload = notification.payload();
                let heard = match payload.strip_prefix(USERS) {
                    Some(application_id) => application_id.parse().map(Heard::UsersChanged),
                    None => payload.parse().map(Heard::Changed),
                };
                // Not ours: treat it as news of everything.
                Ok(heard.unwrap_or(Heard::Lost))
            }
            None => Ok(Heard::Lost),
        }
    }
}

impl Store {
    /// Tells the other hosts that `application_id` changed (after the
    /// change is committed).
    pub async fn announce_change(&self, application_id: i64) -> StoreResult<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(application_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Subscribes to the other hosts' announcements; `None` on SQLite.
    pub async fn listen_for_changes(&self) -> StoreResult<Option<ChangeListener>> {
        let Some(url) = &self.postgres_url else { return Ok(None) };
        let mut listener = PgListener::connect(url)
            .await
            .map_err(|e| StoreError::Unavailable(format!("change announcements: {e}")))?;
        listener.listen(CHANNEL).await.map_err(|e| StoreError::Unavailable(format!("change announcements: {e}")))?;
        Ok(Some(ChangeListener(listener)))
    }
}
