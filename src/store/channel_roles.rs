//! Who is what in a channel beyond membership: moderators, invitations
//! and who read which message.

use sqlx::Row;

use super::chat::{user, USER_COLUMNS_OF_U};
use super::{now_millis, ChatUser, Listing, PageRequest, Param, Store, StoreError, StoreResult};

/// A membership, an invite or a read receipt: a user, and since when.
#[derive(Debug, Clone)]
pub struct UserSince {
    pub id: Option<i64>,
    pub user: ChatUser,
    pub created_at: i64,
}

fn user_since(row: &sqlx::any::AnyRow, with_id: bool) -> StoreResult<UserSince> {
    Ok(UserSince {
        id: if with_id { Some(row.try_get("entry_id")?) } else { None },
        user: user(row)?,
        created_at: row.try_get("since")?,
    })
}

impl Store {
    /// A page of a table's users (joined on `user_id`) for one `key`.
    async fn users_of(
        &self,
        table: &str,
        key_column: &str,
        key: i64,
        application_id: i64,
        with_id: bool,
        page: PageRequest,
    ) -> StoreResult<(Vec<UserSince>, i64)> {
        let columns =
            format!("{USER_COLUMNS_OF_U}, t.created_at AS since{}", if with_id { ", t.id AS entry_id" } else { "" });
        let from_where = format!(
            "{table} t JOIN chat_users u ON u.id = t.user_id WHERE t.{key_column} = $1 AND t.application_id = $2"
        );
        let listing = Listing {
            columns: &columns,
            from_where: &from_where,
            order_by: "u.id",
            params: vec![Param::Int(key), Param::Int(application_id)],
        };
        let (rows, total) = self.page(listing, page).await?;
        Ok((rows.iter().map(|row| user_since(row, with_id)).collect::<StoreResult<_>>()?, total))
    }

    /// A channel's memberships: its members and when they joined.
    pub async fn list_memberships(
        &self,
        application_id: i64,
        channel_id: i64,
        page: PageRequest,
    ) -> StoreResult<(Vec<UserSince>, i64)> {
        self.users_of("chat_channel_members", "channel_id", channel_id, application_id, false, page).await
    }

    pub async fn list_moderators(
        &self,
        application_id: i64,
        channel_id: i64,
        page: PageRequest,
    ) -> StoreResult<(Vec<UserSince>, i64)> {
        self.users_of("chat_channel_moderators", "channel_id", channel_id, application_id, false, page).await
    }

    /// Makes a user a channel's moderator (again: nothing changes).
    pub async fn add_moderator(&self, application_id: i64, channel_id: i64, user_id: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO chat_channel_moderators (channel_id, user_id, application_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id, user_id) DO NOTHING",
        )
        .bind(channel_id)
        .bind(user_id)
        .bind(application_id)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the user was a moderator of the channel.
    pub async fn remove_moderator(&self, application_id: i64, channel_id: i64, user_id: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM chat_channel_moderators WHERE channel_id = $1 AND user_id = $2 AND application_id = $3",
        )
        .bind(channel_id)
        .bind(user_id)
        .bind(application_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn list_invites(
        &self,
        application_id: i64,
        channel_id: i64,
        page: PageRequest,
    ) -> StoreResult<(Vec<UserSince>, i64)> {
        self.users_of("chat_channel_invites", "channel_id", channel_id, application_id, true, page).await
    }

    /// Invites a user to a channel; `true` when the invite is new.
    pub async fn invite(&self, application_id: i64, channel_id: i64, user_id: i64) -> StoreResult<(i64, i64, bool)> {
        let inserted = sqlx::query(
            "INSERT INTO chat_channel_invites (application_id, channel_id, user_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id, user_id) DO NOTHING",
        )
        .bind(application_id)
        .bind(channel_id)
        .bind(user_id)
        .bind(now_millis())
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0;
        let row = sqlx::query(
            "SELECT id, created_at FROM chat_channel_invites WHERE channel_id = $1 AND user_id = $2 AND application_id = $3",
        )
        .bind(channel_id)
        .bind(user_id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::Conflict("the invite was removed as it was made".into()))?;
        Ok((row.try_get("id")?, row.try_get("created_at")?, inserted))
    }

    pub async fn list_read_receipts(
        &self,
        application_id: i64,
        message_id: i64,
        page: PageRequest,
    ) -> StoreResult<(Vec<UserSince>, i64)> {
        self.users_of("chat_read_receipts", "message_id", message_id, application_id, false, page).await
    }

    /// Records that a user read a message (once: the first time stays).
    pub async fn read_message(&self, application_id: i64, message_id: i64, user_id: i64) -> StoreResult<i64> {
        sqlx::query(
            "INSERT INTO chat_read_receipts (message_id, user_id, application_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (message_id, user_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(user_id)
        .bind(application_id)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT created_at FROM chat_read_receipts WHERE message_id = $1 AND user_id = $2 AND application_id = $3",
        )
        .bind(message_id)
        .bind(user_id)
        .bind(application_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("created_at")?)
    }
}
