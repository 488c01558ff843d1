//! The embedded chat platform's data: users, channels, channel members and
//! messages. Every query names the application, so a function (or an API
//! client) of one application never reaches another's rows.

use std::time::Instant;

use sqlx::Row;

use super::page::{contains, contains_pattern, Conditions};
use super::{now_millis, Listing, PageRequest, Param, Store, StoreError, StoreResult};

#[derive(Debug, Clone)]
pub struct ChatUser {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub is_guest: bool,
    /// JSON object text.
    pub properties: String,
    pub created_at: i64,
}

/// Users by name, as the login path reads them: every login asks, and on
/// SQLite a read transaction's file locks cost more than the lookup, on
/// PostgreSQL a round trip (which had cut the login trigger's rate to a
/// quarter). Misses are kept too (a name with no user); emptied when full.
/// A read that raced a write is not kept (`generation`).
/// - SQLite: exact, kept as long as it is true. This process is the
///   store's one writer, and each write of a user here drops its
///   application's entries.
/// - PostgreSQL: other hosts write users too. Each write is announced to
///   every host in its own transaction (a trigger, migration 0018), and
///   hearing it drops the application's entries. Entries are kept only
///   while this host hears the announcements (`hear_for`), and at most the
///   dispatcher's cache time, the fallback should one be missed.
pub(super) struct UsersByName {
    names: parking_lot::Mutex<Names>,
}

struct Names {
    /// Moves on with every write: a read begun before it is not kept.
    generation: u64,
    entries: usize,
    keep: Keep,
    by_application: std::collections::HashMap<i64, std::collections::HashMap<Box<str>, (Option<ChatUser>, Instant)>>,
}

/// How long a read is kept.
#[derive(Clone, Copy)]
enum Keep {
    /// Until a write here drops it (SQLite).
    UntilWritten,
    /// Until a write is heard, at most this long (PostgreSQL, while heard).
    For(std::time::Duration),
    /// Not at all (PostgreSQL before this host hears the other hosts).
    Never,
}

const MAX_NAMES: usize = 50_000;

impl UsersByName {
    pub(super) fn new(backend: super::Backend) -> UsersByName {
        let keep = match backend {
            super::Backend::Sqlite => Keep::UntilWritten,
            super::Backend::Postgres => Keep::Never,
        };
        let names = Names { generation: 0, entries: 0, keep, by_application: Default::default() };
        UsersByName { names: parking_lot::Mutex::new(names) }
    }

    /// The user (or that there is none), or the generation to `keep` a read under.
    fn get(&self, application_id: i64, name: &str) -> Result<Option<ChatUser>, u64> {
        let names = self.names.lock();
        let fresh = |kept: &Instant| match names.keep {
            Keep::UntilWritten => true,
            Keep::For(limit) => kept.elapsed() < limit,
            Keep::Never => false,
        };
        match names.by_application.get(&application_id).and_then(|users| users.get(name)) {
            Some((found, kept)) if fresh(kept) => Ok(found.clone()),
            _ => Err(names.generation),
        }
    }

    fn keep(&self, generation: u64, application_id: i64, name: &str, user: Option<ChatUser>) {
        let mut names = self.names.lock();
        if names.generation != generation || matches!(names.keep, Keep::Never) {
            return;
        }
        if names.entries >= MAX_NAMES {
            names.by_application.clear();
            names.entries = 0;
        }
        if names.by_application.entry(application_id).or_default().insert(name.into(), (user, Instant::now())).is_none()
        {
            names.entries += 1;
        }
    }

    /// A user of the application was written (after its commit), here or,
    /// as heard, on another host.
    fn changed(&self, application_id: i64) {
        let mut names = self.names.lock();
        names.generation += 1;
        if let Some(gone) = names.by_application.remove(&application_id) {
            names.entries -= gone.len();
        }
    }

    /// Announcements may have been missed: nothing kept is trusted.
    fn changed_all(&self) {
        let mut names = self.names.lock();
        names.generation += 1;
        names.by_application.clear();
        names.entries = 0;
    }

    /// This host hears the other hosts' writes (PostgreSQL): reads are
    /// kept, at most `limit`.
    fn hear_for(&self, limit: std::time::Duration) {
        let mut names = self.names.lock();
        if !matches!(names.keep, Keep::UntilWritten) {
            names.keep = Keep::For(limit);
        }
    }
}

pub struct NewChatUser {
    pub name: String,
    pub display_name: String,
    pub is_guest: bool,
    pub properties: String,
}

/// Fields a merge patch may change; `None` leaves a field as it is.
#[derive(Default)]
pub struct ChatUserPatch {
    pub display_name: Option<String>,
    pub is_guest: Option<bool>,
    pub properties: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelType {
    Direct,
    Public,
    Private,
}

impl ChannelType {
    pub const ALL: [ChannelType; 3] = [ChannelType::Direct, ChannelType::Public, ChannelType::Private];

    pub fn parse(s: &str) -> Option<ChannelType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Direct => "DIRECT",
            ChannelType::Public => "PUBLIC",
            ChannelType::Private => "PRIVATE",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: i64,
    pub channel_type: ChannelType,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub creator_id: Option<i64>,
    pub properties: String,
    pub created_at: i64,
}

pub struct NewChannel {
    pub channel_type: ChannelType,
    /// PUBLIC and PRIVATE channels only.
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub creator_id: Option<i64>,
    /// Users made members as the channel is created (with the creator).
    pub member_ids: Vec<i64>,
    pub properties: String,
}

#[derive(Default)]
pub struct ChannelPatch {
    pub display_name: Option<String>,
    pub properties: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChatMessage {
    pub id: i64,
    pub channel_id: i64,
    pub user_id: Option<i64>,
    /// The message this one replies to (its reply thread), if any.
    pub parent_id: Option<i64>,
    /// `TEXT` (sent on behalf of a user) or `SYSTEM_TEXT`.
    pub message_type: String,
    pub body: String,
    pub properties: String,
    pub created_at: i64,
}

/// Which channels a listing answers (every condition given holds).
#[derive(Debug, Default)]
pub struct ChannelFilter {
    pub channel_type: Option<ChannelType>,
    /// Channels this user is a member of.
    pub member_id: Option<i64>,
    /// Channels all these users (by name) are members of.
    pub member_names: Vec<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

/// Which messages a listing answers.
#[derive(Debug, Default)]
pub struct MessageFilter {
    pub channel_id: Option<i64>,
    /// Only the replies to this message (its thread).
    pub thread_of: Option<i64>,
    /// Only messages that reply to none (a channel's main thread).
    pub top_level: bool,
    pub sender_id: Option<i64>,
    pub sender_name: Option<String>,
    /// Text in the body, matched literally and case-insensitively.
    pub query: Option<String>,
}

pub struct NewChatMessage {
    pub channel_id: i64,
    pub user_id: Option<i64>,
    /// A reply in the thread of this message (of the same channel).
    pub parent_id: Option<i64>,
    pub body: String,
    pub properties: String,
}

const USER_COLUMNS: &str = "id, name, display_name, is_guest, properties, created_at";
/// `USER_COLUMNS` of a query joining `chat_users u`.
pub(super) const USER_COLUMNS_OF_U: &str = "u.id, u.name, u.display_name, u.is_guest, u.properties, u.created_at";
const CHANNEL_COLUMNS: &str = "id, type, name, display_name, creator_id, properties, created_at";
pub(super) const MESSAGE_COLUMNS: &str = "id, channel_id, user_id, type, body, properties, created_at, parent_id";

pub(super) fn user(row: &sqlx::any::AnyRow) -> StoreResult<ChatUser> {
    Ok(ChatUser {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        is_guest: row.try_get::<i64, _>("is_guest")? != 0,
        properties: row.try_get("properties")?,
        created_at: row.try_get("created_at")?,
    })
}

fn channel(row: &sqlx::any::AnyRow) -> StoreResult<Channel> {
    let kind: String = row.try_get("type")?;
    Ok(Channel {
        id: row.try_get("id")?,
        channel_type: ChannelType::parse(&kind).unwrap_or(ChannelType::Public),
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        creator_id: row.try_get("creator_id")?,
        properties: row.try_get("properties")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn message(row: &sqlx::any::AnyRow) -> StoreResult<ChatMessage> {
    Ok(ChatMessage {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        user_id: row.try_get("user_id")?,
        parent_id: row.try_get("parent_id")?,
        message_type: row.try_get("type")?,
        body: row.try_get("body")?,
        properties: row.try_get("properties")?,
        created_at: row.try_get("created_at")?,
    })
}

/// `$first, $first+1, ...`: `count` placeholders.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// One page of an application's rows of `table` (by id), optionally
    /// where `column = value`, and how many such rows there are.
    async fn page_of(
        &self,
        table: &str,
        columns: &str,
        application_id: i64,
        filter: Option<(&str, Param)>,
        page: PageRequest,
    ) -> StoreResult<(Vec<sqlx::any::AnyRow>, i64)> {
        let mut params = vec![Param::Int(application_id)];
        let mut from_where = format!("{table} WHERE application_id = $1");
        if let Some((column, value)) = filter {
            from_where.push_str(&format!(" AND {column} = $2"));
            params.push(value);
        }
        self.page(Listing { columns, from_where: &from_where, order_by: "id", params }, page).await
    }

    // -- users ----------------------------------------------------------------

    pub async fn create_chat_user(&self, application_id: i64, new: NewChatUser) -> StoreResult<ChatUser> {
        let row = sqlx::query(&format!(
            "INSERT INTO chat_users (application_id, name, display_name, is_guest, properties, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
        ))
        .bind(application_id)
        .bind(&new.name)
        .bind(&new.display_name)
        .bind(new.is_guest as i64)
        .bind(&new.properties)
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await;
        self.users_by_name.changed(application_id);
        let row =
            row.map_err(|e| StoreError::from_write(e, || format!("a user named {:?} already exists", new.name)))?;
        user(&row)
    }

    pub async fn chat_user(&self, application_id: i64, id: i64) -> StoreResult<Option<ChatUser>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM chat_users WHERE id = $1 AND application_id = $2"))
            .bind(id)
            .bind(application_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user).transpose()
    }

    /// Kept in memory (`UsersByName`): this is on every login's path. On
    /// SQLite read on the calling thread.
    pub async fn chat_user_by_name(&self, application_id: i64, name: &str) -> StoreResult<Option<ChatUser>> {
        let generation = match self.users_by_name.get(application_id, name) {
            Ok(known) => return Ok(known),
            Err(generation) => generation,
        };
        let found = match self.sqlite_file() {
            Some(file) => {
                static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                    format!("SELECT {USER_COLUMNS} FROM chat_users WHERE name = ?1 AND application_id = ?2")
                });
                super::local_read::with_reader(file, |db| {
                    let mut statement = db.prepare_cached(&SQL)?;
                    let mut rows = statement.query(rusqlite::params![name, application_id])?;
                    let Some(row) = rows.next()? else { return Ok(None) };
                    Ok(Some(ChatUser {
                        id: row.get("id")?,
                        name: row.get("name")?,
                        display_name: row.get("display_name")?,
                        is_guest: row.get::<_, i64>("is_guest")? != 0,
                        properties: row.get("properties")?,
                        created_at: row.get("created_at")?,
                    }))
                })?
            }
            None => {
                let row = sqlx::query(&format!(
                    "SELECT {USER_COLUMNS} FROM chat_users WHERE name = $1 AND application_id = $2"
                ))
                .bind(name)
                .bind(application_id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(user).transpose()?
            }
        };
        self.users_by_name.keep(generation, application_id, name, found.clone());
        Ok(found)
    }

    /// Another host wrote a user of the application (PostgreSQL).
    pub fn heard_users_changed(&self, application_id: i64) {
        self.users_by_name.changed(application_id);
    }

    /// Other hosts' writes may have been missed (PostgreSQL).
    pub fn heard_nothing_for_a_while(&self) {
        self.users_by_name.changed_all();
    }

    /// This host hears other hosts' writes of users from now on
    /// (PostgreSQL): users by name are kept, at most `limit`.
    pub fn hear_users_for(&self, limit: std::time::Duration) {
        self.users_by_name.hear_for(limit);
    }

    /// The application's users among `ids`, by id (one query, for a page
    /// of messages or channels that name them).
    pub async fn chat_users_by_id(
        &self,
        application_id: i64,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, ChatUser>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM chat_users WHERE application_id = $1 AND id IN ({})",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query(&sql).bind(application_id);
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(|row| user(row).map(|u| (u.id, u))).collect()
    }

    /// The application's channels among `ids`, in id order.
    pub async fn channels_by_id(&self, application_id: i64, ids: &[i64]) -> StoreResult<Vec<Channel>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE application_id = $1 AND id IN ({}) ORDER BY id",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query(&sql).bind(application_id);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&self.pool).await?.iter().map(channel).collect()
    }

    /// The members of each of `channel_ids`, by channel, in id order.
    pub async fn members_of_channels(
        &self,
        application_id: i64,
        channel_ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, Vec<ChatUser>>> {
        let mut members: std::collections::HashMap<i64, Vec<ChatUser>> = Default::default();
        if channel_ids.is_empty() {
            return Ok(members);
        }
        let sql = format!(
            "SELECT m.channel_id, u.id, u.name, u.display_name, u.is_guest, u.properties, u.created_at \
             FROM chat_channel_members m JOIN chat_users u ON u.id = m.user_id \
             WHERE m.application_id = $1 AND m.channel_id IN ({}) ORDER BY u.id",
            placeholders(2, channel_ids.len())
        );
        let mut query = sqlx::query(&sql).bind(application_id);
        for id in channel_ids {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&self.pool).await? {
            members.entry(row.try_get("channel_id")?).or_default().push(user(&row)?);
        }
        Ok(members)
    }

    /// A page of users, optionally only the one with `name`.
    pub async fn list_chat_users(
        &self,
        application_id: i64,
        page: PageRequest,
        name: Option<&str>,
    ) -> StoreResult<(Vec<ChatUser>, i64)> {
        let filter = name.map(|n| ("name", Param::Text(n.to_string())));
        let (rows, total) = self.page_of("chat_users", USER_COLUMNS, application_id, filter, page).await?;
        Ok((rows.iter().map(user).collect::<StoreResult<_>>()?, total))
    }

    pub async fn update_chat_user(
        &self,
        application_id: i64,
        id: i64,
        patch: ChatUserPatch,
    ) -> StoreResult<Option<ChatUser>> {
        let Some(current) = self.chat_user(application_id, id).await? else { return Ok(None) };
        let row = sqlx::query(&format!(
            "UPDATE chat_users SET display_name = $1, is_guest = $2, properties = $3 \
             WHERE id = $4 AND application_id = $5 RETURNING {USER_COLUMNS}"
        ))
        .bind(patch.display_name.unwrap_or(current.display_name))
        .bind(patch.is_guest.unwrap_or(current.is_guest) as i64)
        .bind(patch.properties.unwrap_or(current.properties))
        .bind(id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await;
        self.users_by_name.changed(application_id);
        row?.as_ref().map(user).transpose()
    }

    /// Deletes a user with their memberships; their messages stay, without a sender.
    pub async fn delete_chat_user(&self, application_id: i64, id: i64) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM chat_users WHERE id = $1 AND application_id = $2")
            .bind(id)
            .bind(application_id)
            .execute(&self.pool)
            .await;
        self.users_by_name.changed(application_id);
        Ok(done?.rows_affected() > 0)
    }

    // -- channels -------------------------------------------------------------

    /// Creates a channel, or returns the equivalent one that exists: the
    /// PUBLIC/PRIVATE channel of that name, or the DIRECT channel of that set
    /// of users. The flag says whether it was created.
    pub async fn create_channel(&self, application_id: i64, new: NewChannel) -> StoreResult<(Channel, bool)> {
        let mut members = new.member_ids.clone();
        members.extend(new.creator_id);
        members.sort_unstable();
        members.dedup();
        let direct_key = (new.channel_type == ChannelType::Direct)
            .then(|| members.iter().map(i64::to_string).collect::<Vec<_>>().join(","));

        let mut tx = self.begin_write().await?;
        let existing = match (&new.name, &direct_key) {
            (_, Some(key)) => {
                sqlx::query(&format!(
                    "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE application_id = $1 AND direct_key = $2"
                ))
                .bind(application_id)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
            }
            (Some(name), None) => {
                sqlx::query(&format!(
                    "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE application_id = $1 AND name = $2"
                ))
                .bind(application_id)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
            }
            (None, None) => None,
        };
        if let Some(row) = existing {
            let found = channel(&row)?;
            if found.channel_type != new.channel_type {
                return Err(StoreError::Conflict(format!(
                    "a {} channel named {:?} already exists",
                    found.channel_type.as_str(),
                    found.name.unwrap_or_default()
                )));
            }
            return Ok((found, false));
        }
        let created_at = now_millis();
        let row = sqlx::query(&format!(
            "INSERT INTO chat_channels (application_id, type, name, display_name, creator_id, direct_key, properties, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(application_id)
        .bind(new.channel_type.as_str())
        .bind(new.name.clone())
        .bind(new.display_name.clone())
        .bind(new.creator_id)
        .bind(direct_key)
        .bind(&new.properties)
        .bind(created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::from_write(e, || {
                format!("a channel named {:?} already exists", new.name.clone().unwrap_or_default())
            })
        })?;
        let created = channel(&row)?;
        for user_id in members {
            sqlx::query(
                "INSERT INTO chat_channel_members (channel_id, user_id, application_id, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(created.id)
            .bind(user_id)
            .bind(application_id)
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((created, true))
    }

    pub async fn channel(&self, application_id: i64, id: i64) -> StoreResult<Option<Channel>> {
        let row =
            sqlx::query(&format!("SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE id = $1 AND application_id = $2"))
                .bind(id)
                .bind(application_id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(channel).transpose()
    }

    pub async fn list_channels(
        &self,
        application_id: i64,
        page: PageRequest,
        filter: &ChannelFilter,
    ) -> StoreResult<(Vec<Channel>, i64)> {
        let mut conditions = Conditions::new("application_id = $1", vec![Param::Int(application_id)]);
        if let Some(t) = filter.channel_type {
            conditions.and(|p| format!("type = {p}"), Param::Text(t.as_str().to_string()));
        }
        if let Some(user_id) = filter.member_id {
            conditions.and(
                |p| format!("id IN (SELECT channel_id FROM chat_channel_members WHERE user_id = {p})"),
                Param::Int(user_id),
            );
        }
        // Channels every one of these users is a member of.
        for name in &filter.member_names {
            conditions.and(
                |p| {
                    format!(
                        "id IN (SELECT m.channel_id FROM chat_channel_members m JOIN chat_users u ON u.id = m.user_id \
                         WHERE u.name = {p} AND u.application_id = $1)"
                    )
                },
                Param::Text(name.clone()),
            );
        }
        if let Some(t) = filter.start_time {
            conditions.and(|p| format!("created_at >= {p}"), Param::Int(t));
        }
        if let Some(t) = filter.end_time {
            conditions.and(|p| format!("created_at <= {p}"), Param::Int(t));
        }
        let from_where = format!("chat_channels WHERE {}", conditions.sql());
        let listing =
            Listing { columns: CHANNEL_COLUMNS, from_where: &from_where, order_by: "id", params: conditions.params };
        let (rows, total) = self.page(listing, page).await?;
        Ok((rows.iter().map(channel).collect::<StoreResult<_>>()?, total))
    }

    pub async fn update_channel(
        &self,
        application_id: i64,
        id: i64,
        patch: ChannelPatch,
    ) -> StoreResult<Option<Channel>> {
        let Some(current) = self.channel(application_id, id).await? else { return Ok(None) };
        let row = sqlx::query(&format!(
            "UPDATE chat_channels SET display_name = $1, properties = $2 \
             WHERE id = $3 AND application_id = $4 RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(patch.display_name.or(current.display_name))
        .bind(patch.properties.unwrap_or(current.properties))
        .bind(id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(channel).transpose()
    }

    /// Deletes a channel with its members and messages.
    pub async fn delete_channel(&self, application_id: i64, id: i64) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM chat_channels WHERE id = $1 AND application_id = $2")
            .bind(id)
            .bind(application_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // -- members --------------------------------------------------------------

    /// Makes a user a member; `false` when they already were.
    pub async fn add_channel_member(&self, application_id: i64, channel_id: i64, user_id: i64) -> StoreResult<bool> {
        // Both rows are the application's: the caller looked them up by tenant.
        let done = sqlx::query(
            "INSERT INTO chat_channel_members (channel_id, user_id, application_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id, user_id) DO NOTHING",
        )
        .bind(channel_id)
        .bind(user_id)
        .bind(application_id)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn remove_channel_member(&self, application_id: i64, channel_id: i64, user_id: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM chat_channel_members WHERE channel_id = $1 AND user_id = $2 AND application_id = $3",
        )
        .bind(channel_id)
        .bind(user_id)
        .bind(application_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A page of a channel's members (by id).
    pub async fn list_channel_members(
        &self,
        application_id: i64,
        channel_id: i64,
        page: PageRequest,
    ) -> StoreResult<(Vec<ChatUser>, i64)> {
        let (memberships, total) = self.list_memberships(application_id, channel_id, page).await?;
        Ok((memberships.into_iter().map(|m| m.user).collect(), total))
    }

    pub async fn is_channel_member(&self, application_id: i64, channel_id: i64, user_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM chat_channel_members WHERE channel_id = $1 AND user_id = $2 AND application_id = $3",
        )
        .bind(channel_id)
        .bind(user_id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    // -- messages -------------------------------------------------------------

    pub async fn chat_message(&self, application_id: i64, id: i64) -> StoreResult<Option<ChatMessage>> {
        let row =
            sqlx::query(&format!("SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id = $1 AND application_id = $2"))
                .bind(id)
                .bind(application_id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(message).transpose()
    }

    /// A page of messages: of one channel or all, optionally of one
    /// sender and containing some text.
    pub async fn list_chat_messages(
        &self,
        application_id: i64,
        filter: &MessageFilter,
        page: PageRequest,
    ) -> StoreResult<(Vec<ChatMessage>, i64)> {
        let mut conditions = Conditions::new("application_id = $1", vec![Param::Int(application_id)]);
        if let Some(id) = filter.channel_id {
            conditions.and(|p| format!("channel_id = {p}"), Param::Int(id));
        }
        if let Some(id) = filter.thread_of {
            conditions.and(|p| format!("parent_id = {p}"), Param::Int(id));
        }
        if filter.top_level {
            conditions.and_sql("parent_id IS NULL");
        }
        if let Some(id) = filter.sender_id {
            conditions.and(|p| format!("user_id = {p}"), Param::Int(id));
        }
        if let Some(name) = &filter.sender_name {
            conditions.and(
                |p| format!("user_id IN (SELECT id FROM chat_users WHERE name = {p} AND application_id = $1)"),
                Param::Text(name.clone()),
            );
        }
        if let Some(text) = &filter.query {
            conditions.and(|p| contains("body", p), Param::Text(contains_pattern(text)));
        }
        let from_where = format!("chat_messages WHERE {}", conditions.sql());
        let listing =
            Listing { columns: MESSAGE_COLUMNS, from_where: &from_where, order_by: "id", params: conditions.params };
        let (rows, total) = self.page(listing, page).await?;
        Ok((rows.iter().map(message).collect::<StoreResult<_>>()?, total))
    }

    /// Deletes every message of the application; how many there were.
    pub async fn delete_all_chat_messages(&self, application_id: i64) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM chat_messages WHERE application_id = $1")
            .bind(application_id)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Changes a message's body and/or properties.
    pub async fn update_chat_message(
        &self,
        application_id: i64,
        id: i64,
        body: Option<&str>,
        properties: Option<&str>,
    ) -> StoreResult<Option<ChatMessage>> {
        let row = sqlx::query(&format!(
            "UPDATE chat_messages SET body = COALESCE($1, body), properties = COALESCE($2, properties) \
             WHERE id = $3 AND application_id = $4 RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(body)
        .bind(properties)
        .bind(id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message).transpose()
    }

    /// A page of a channel's members with an active session.
    pub async fn list_channel_participants(
        &self,
        application_id: i64,
        channel_id: i64,
        page: PageRequest,
    ) -> StoreResult<(Vec<ChatUser>, i64)> {
        let listing = Listing {
            columns: USER_COLUMNS_OF_U,
            from_where: "chat_channel_members m JOIN chat_users u ON u.id = m.user_id \
                         WHERE m.channel_id = $1 AND m.application_id = $2 AND EXISTS (SELECT 1 FROM \
                         chat_user_sessions s WHERE s.user_id = u.id AND s.ended_at IS NULL AND s.expires_at > $3)",
            order_by: "u.id",
            params: vec![Param::Int(channel_id), Param::Int(application_id), Param::Int(now_millis())],
        };
        let (rows, total) = self.page(listing, page).await?;
        Ok((rows.iter().map(user).collect::<StoreResult<_>>()?, total))
    }

    pub async fn delete_chat_message(&self, application_id: i64, id: i64) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM chat_messages WHERE id = $1 AND application_id = $2")
            .bind(id)
            .bind(application_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::{ChatUser, UsersByName};
    use crate::store::Backend;

    fn ann() -> Option<ChatUser> {
        Some(ChatUser {
            id: 7,
            name: "ann".into(),
            display_name: "Ann".into(),
            is_guest: false,
            properties: "{}".into(),
            created_at: 0,
        })
    }

    /// Reads `name` through the cache as the login path does: `Some` when
    /// the cache answered.
    fn cached(users: &UsersByName, application_id: i64, name: &str) -> Option<Option<i64>> {
        users.get(application_id, name).ok().map(|found| found.map(|u| u.id))
    }

    #[test]
    fn a_postgresql_host_keeps_users_only_while_it_hears_the_other_hosts() {
        let users = UsersByName::new(Backend::Postgres);
        let generation = users.get(1, "ann").unwrap_err();
        users.keep(generation, 1, "ann", ann());
        assert_eq!(cached(&users, 1, "ann"), None, "not kept before the host listens");

        users.hear_for(std::time::Duration::from_secs(60));
        let generation = users.get(1, "ann").unwrap_err();
        users.keep(generation, 1, "ann", ann());
        users.keep(generation, 1, "bob", None);
        assert_eq!(cached(&users, 1, "ann"), Some(Some(7)));
        assert_eq!(cached(&users, 1, "bob"), Some(None), "a name with no user is kept too");
        assert_eq!(cached(&users, 2, "ann"), None, "another application's ann is its own");

        // Heard: a user of application 1 was written on another host.
        users.changed(1);
        assert_eq!(cached(&users, 1, "ann"), None);
        // A read begun before that write is not kept.
        users.keep(generation, 1, "ann", ann());
        assert_eq!(cached(&users, 1, "ann"), None);

        let generation = users.get(1, "ann").unwrap_err();
        users.keep(generation, 1, "ann", ann());
        users.changed_all();
        assert_eq!(cached(&users, 1, "ann"), None, "a lost connection forgets everything");

        // The cache time is the fallback: nothing outlives it.
        users.hear_for(std::time::Duration::ZERO);
        let generation = users.get(1, "ann").unwrap_err();
        users.keep(generation, 1, "ann", ann());
        assert_eq!(cached(&users, 1, "ann"), None);
    }

    #[test]
    fn an_sqlite_store_keeps_users_until_it_writes_them() {
        let users = UsersByName::new(Backend::Sqlite);
        // No time limit: this process is the store's one writer.
        users.hear_for(std::time::Duration::ZERO);
        let generation = users.get(1, "ann").unwrap_err();
        users.keep(generation, 1, "ann", ann());
        assert_eq!(cached(&users, 1, "ann"), Some(Some(7)));
        users.changed(1);
        assert_eq!(cached(&users, 1, "ann"), None);
    }
}
