//! What sending a message leaves behind on the embedded platform, in the
//! message's own transaction: a notification per other member of the
//! channel and the jobs of the functions that run for it (no message
//! without its events, no event without its message). And user sessions,
//! which tell whether a recipient is online.

use sqlx::Row;

use super::chat::{message, user, MESSAGE_COLUMNS};
use super::jobs::sql;
use super::{now_millis, ChatMessage, ChatUser, Listing, NewChatMessage, PageRequest, Param, Store, StoreResult};

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub channel_id: Option<i64>,
    pub title: String,
    pub body: String,
    /// JSON text: `{type, message, channelId}`.
    pub data: String,
    pub muted: bool,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

pub struct NewNotification {
    pub title: String,
    pub body: String,
    pub data: String,
}

/// A job accepted with the message that caused it (ids minted by the host).
pub struct NewJob {
    pub job_id: i64,
    pub invocation_id: i64,
    pub function_id: i64,
    pub version_id: i64,
    pub version_number: i64,
    pub trigger_type: &'static str,
    pub event: String,
    pub max_attempts: i64,
}

/// A member of the channel other than the sender, as the message reaches them.
pub struct Recipient {
    pub user: ChatUser,
    pub has_active_session: bool,
    pub notification: Notification,
}

/// What a send leaves behind, decided by the caller once the message (and
/// who it reaches) is known, inside the transaction.
pub trait Fanout: Sync {
    fn notification(&self, message: &ChatMessage, recipient: &ChatUser) -> NewNotification;
    fn jobs(&self, message: &ChatMessage, recipients: &[Recipient]) -> Vec<NewJob>;
}

/// What a send stored.
pub struct Sent {
    pub message: ChatMessage,
    pub recipients: Vec<Recipient>,
    pub jobs: usize,
}

#[derive(Debug, Clone)]
pub struct UserSession {
    pub id: i64,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

impl UserSession {
    pub fn is_active(&self, now: i64) -> bool {
        self.ended_at.is_none() && self.expires_at > now
    }
}

/// Where a page of notifications starts (they are listed newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Newest,
    /// Older than this id (the next page).
    Before(i64),
    /// This id and older (the same page again).
    AtOrBefore(i64),
    /// Newer than this id (the previous page).
    After(i64),
}

/// Which sessions a listing answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Active,
    Ended,
}

const NOTIFICATION_COLUMNS: &str = "id, user_id, channel_id, title, body, data, muted, created_at, read_at";
const SESSION_COLUMNS: &str = "id, user_id, created_at, expires_at, ended_at";

fn notification(row: &sqlx::any::AnyRow) -> StoreResult<Notification> {
    Ok(Notification {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        channel_id: row.try_get("channel_id")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        data: row.try_get("data")?,
        muted: row.try_get::<i64, _>("muted")? != 0,
        created_at: row.try_get("created_at")?,
        read_at: row.try_get("read_at")?,
    })
}

fn session(row: &sqlx::any::AnyRow) -> StoreResult<UserSession> {
    Ok(UserSession {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        ended_at: row.try_get("ended_at")?,
    })
}

impl Store {
    /// Stores a message, a notification for each other member of its
    /// channel and the jobs `fanout` asks for, in one transaction.
    pub async fn send_chat_message(
        &self,
        application_id: i64,
        new: NewChatMessage,
        fanout: &dyn Fanout,
    ) -> StoreResult<Sent> {
        let now = now_millis();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO chat_messages (application_id, channel_id, user_id, type, body, properties, created_at, \
             parent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(application_id)
        .bind(new.channel_id)
        .bind(new.user_id)
        .bind(if new.user_id.is_some() { "TEXT" } else { "SYSTEM_TEXT" })
        .bind(&new.body)
        .bind(&new.properties)
        .bind(now)
        .bind(new.parent_id)
        .fetch_one(&mut *tx)
        .await?;
        let message = message(&row)?;
        // Members at this moment: one who left gets nothing.
        let members = sqlx::query(
            "SELECT u.id, u.name, u.display_name, u.is_guest, u.properties, u.created_at, \
                    EXISTS (SELECT 1 FROM chat_user_sessions s WHERE s.user_id = u.id AND s.ended_at IS NULL \
                            AND s.expires_at > $3) AS online \
             FROM chat_channel_members m JOIN chat_users u ON u.id = m.user_id \
             WHERE m.channel_id = $1 AND m.application_id = $2 ORDER BY u.id",
        )
        .bind(message.channel_id)
        .bind(application_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut recipients = Vec::with_capacity(members.len());
        for row in &members {
            let member = user(row)?;
            let online = is_true(row, "online")?;
            if Some(member.id) == message.user_id {
                continue;
            }
            let new = fanout.notification(&message, &member);
            let row = sqlx::query(&format!(
                "INSERT INTO chat_notifications (application_id, user_id, channel_id, title, body, data, muted, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING {NOTIFICATION_COLUMNS}"
            ))
            .bind(application_id)
            .bind(member.id)
            .bind(message.channel_id)
            .bind(&new.title)
            .bind(&new.body)
            .bind(&new.data)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            recipients.push(Recipient { user: member, has_active_session: online, notification: notification(&row)? });
        }
        let jobs = fanout.jobs(&message, &recipients);
        insert_jobs(&mut tx, application_id, &jobs, now).await?;
        tx.commit().await?;
        Ok(Sent { message, recipients, jobs: jobs.len() })
    }

    /// Up to `size` of a user's notifications, newest first, from `cursor`;
    /// and whether there are more beyond them (in the cursor's direction).
    pub async fn list_notifications(
        &self,
        application_id: i64,
        user_id: i64,
        size: i64,
        cursor: Cursor,
    ) -> StoreResult<(Vec<Notification>, bool)> {
        let (condition, order, bound) = match cursor {
            Cursor::Newest => ("", "DESC", None),
            Cursor::Before(id) => ("AND id < $3", "DESC", Some(id)),
            Cursor::AtOrBefore(id) => ("AND id <= $3", "DESC", Some(id)),
            Cursor::After(id) => ("AND id > $3", "ASC", Some(id)),
        };
        let limit = if bound.is_some() { "$4" } else { "$3" };
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM chat_notifications WHERE user_id = $1 AND application_id = $2 \
             {condition} ORDER BY id {order} LIMIT {limit}"
        );
        let mut query = sqlx::query(&sql).bind(user_id).bind(application_id);
        if let Some(id) = bound {
            query = query.bind(id);
        }
        let rows = query.bind(size + 1).fetch_all(&self.pool).await?;
        let more = rows.len() as i64 > size;
        let mut found = rows.iter().take(size as usize).map(notification).collect::<StoreResult<Vec<_>>>()?;
        if matches!(cursor, Cursor::After(_)) {
            found.reverse();
        }
        Ok((found, more))
    }

    /// Marks a user's notification read (once: a second read keeps the first time).
    pub async fn read_notification(
        &self,
        application_id: i64,
        user_id: i64,
        id: i64,
    ) -> StoreResult<Option<Notification>> {
        let row = sqlx::query(&format!(
            "UPDATE chat_notifications SET read_at = COALESCE(read_at, $1) \
             WHERE id = $2 AND user_id = $3 AND application_id = $4 RETURNING {NOTIFICATION_COLUMNS}"
        ))
        .bind(now_millis())
        .bind(id)
        .bind(user_id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(notification).transpose()
    }

    /// Marks every unread notification of a user read; how many were.
    pub async fn read_all_notifications(&self, application_id: i64, user_id: i64) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE chat_notifications SET read_at = $1 \
             WHERE user_id = $2 AND application_id = $3 AND read_at IS NULL",
        )
        .bind(now_millis())
        .bind(user_id)
        .bind(application_id)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    // -- sessions -----------------------------------------------------------------

    pub async fn start_user_session(
        &self,
        application_id: i64,
        user_id: i64,
        ttl: std::time::Duration,
    ) -> StoreResult<UserSession> {
        let now = now_millis();
        let row = sqlx::query(&format!(
            "INSERT INTO chat_user_sessions (application_id, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4) RETURNING {SESSION_COLUMNS}"
        ))
        .bind(application_id)
        .bind(user_id)
        .bind(now)
        .bind(now + ttl.as_millis() as i64)
        .fetch_one(&self.pool)
        .await?;
        session(&row)
    }

    /// Ends a session (an ended one stays as it was).
    pub async fn end_user_session(&self, application_id: i64, id: i64) -> StoreResult<Option<UserSession>> {
        let row = sqlx::query(&format!(
            "UPDATE chat_user_sessions SET ended_at = COALESCE(ended_at, $1) \
             WHERE id = $2 AND application_id = $3 RETURNING {SESSION_COLUMNS}"
        ))
        .bind(now_millis())
        .bind(id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session).transpose()
    }

    pub async fn has_active_session(&self, application_id: i64, user_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM chat_user_sessions \
             WHERE user_id = $1 AND application_id = $2 AND ended_at IS NULL AND expires_at > $3 LIMIT 1",
        )
        .bind(user_id)
        .bind(application_id)
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    pub async fn list_user_sessions(
        &self,
        application_id: i64,
        state: Option<SessionState>,
        page: PageRequest,
    ) -> StoreResult<(Vec<UserSession>, i64)> {
        let mut params = vec![Param::Int(application_id)];
        let from_where = match state {
            None => "chat_user_sessions WHERE application_id = $1",
            Some(SessionState::Active) => {
                params.push(Param::Int(now_millis()));
                "chat_user_sessions WHERE application_id = $1 AND ended_at IS NULL AND expires_at > $2"
            }
            Some(SessionState::Ended) => {
                params.push(Param::Int(now_millis()));
                "chat_user_sessions WHERE application_id = $1 AND (ended_at IS NOT NULL OR expires_at <= $2)"
            }
        };
        let listing = Listing { columns: SESSION_COLUMNS, from_where, order_by: "id", params };
        let (rows, total) = self.page(listing, page).await?;
        Ok((rows.iter().map(session).collect::<StoreResult<_>>()?, total))
    }
}

/// A boolean column: PostgreSQL answers a boolean, SQLite an integer.
fn is_true(row: &sqlx::any::AnyRow, column: &str) -> StoreResult<bool> {
    match row.try_get::<bool, _>(column) {
        Ok(flag) => Ok(flag),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// Jobs (their first attempts QUEUED in the invocation log), accepted with
/// what caused them.
async fn insert_jobs(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    application_id: i64,
    jobs: &[NewJob],
    now: i64,
) -> StoreResult<()> {
    let insert_job = sql::insert_jobs(1);
    for job in jobs {
        sqlx::query(&insert_job)
            .bind(job.job_id)
            .bind(application_id)
            .bind(job.function_id)
            .bind(job.trigger_type)
            .bind(&job.event)
            .bind(job.max_attempts)
            .bind(now)
            .bind(job.invocation_id)
            .bind(None::<String>)
            .bind(now)
            .bind(job.version_id)
            .bind(job.version_number)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
