//! Applications (tenants), their settings and access tokens.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{now_millis, Store, StoreError, StoreResult};
use crate::engine::EgressPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Toggle {
    Enabled,
    Disabled,
}

impl Toggle {
    fn as_str(self) -> &'static str {
        match self {
            Toggle::Enabled => "ENABLED",
            Toggle::Disabled => "DISABLED",
        }
    }
    fn parse(s: &str) -> Toggle {
        if s == "ENABLED" {
            Toggle::Enabled
        } else {
            Toggle::Disabled
        }
    }
}

#[derive(Debug, Clone)]
pub struct Application {
    pub id: i64,
    pub name: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub guest_users: Toggle,
    pub user_created_channels: Toggle,
    /// FAIL_CLOSED (deny) or FAIL_OPEN (allow) when a blocking function times out.
    pub blocking_timeout_policy: TimeoutPolicy,
    /// What its functions' `fetch` may reach.
    pub egress_policy: EgressPolicy,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeoutPolicy {
    FailClosed,
    FailOpen,
}

impl TimeoutPolicy {
    fn as_str(self) -> &'static str {
        match self {
            TimeoutPolicy::FailClosed => "FAIL_CLOSED",
            TimeoutPolicy::FailOpen => "FAIL_OPEN",
        }
    }
}

const COLUMNS: &str = "id, name, client_id, client_secret_hash, guest_users, user_created_channels, \
    blocking_timeout_policy, egress_policy, created_at";

fn application(row: &sqlx::any::AnyRow) -> StoreResult<Application> {
    Ok(Application {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        client_id: row.try_get("client_id")?,
        client_secret_hash: row.try_get("client_secret_hash")?,
        guest_users: Toggle::parse(&row.try_get::<String, _>("guest_users")?),
        user_created_channels: Toggle::parse(&row.try_get::<String, _>("user_created_channels")?),
        blocking_timeout_policy: if row.try_get::<String, _>("blocking_timeout_policy")? == "FAIL_OPEN" {
            TimeoutPolicy::FailOpen
        } else {
            TimeoutPolicy::FailClosed
        },
        // Written only from a validated policy; an unreadable one allows nothing.
        egress_policy: row
            .try_get::<Option<String>, _>("egress_policy")?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default(),
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Creates an application with its (empty) chat runtime.
    pub async fn create_application(
        &self,
        name: &str,
        client_id: &str,
        client_secret_hash: &str,
    ) -> StoreResult<Application> {
        let mut tx = self.begin_write().await?;
        let now = now_millis();
        let row = sqlx::query(&format!(
            "INSERT INTO applications (name, client_id, client_secret_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(client_id)
        .bind(client_secret_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::from_write(e, || format!("an application with client id {client_id:?} exists")))?;
        let app = application(&row)?;
        sqlx::query(
            "INSERT INTO runtimes (application_id, version, revision, dependencies, environment_variables, initialization_script, updated_at) \
             VALUES ($1, '1.0.0', 1, '[]', '{}', '', $2)",
        )
        .bind(app.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(app)
    }

    pub async fn application(&self, id: i64) -> StoreResult<Option<Application>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM applications WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(application).transpose()
    }

    pub async fn application_by_client_id(&self, client_id: &str) -> StoreResult<Option<Application>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM applications WHERE client_id = $1"))
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(application).transpose()
    }

    pub async fn count_applications(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM applications").fetch_one(&self.pool).await?.try_get("n")?)
    }

    pub async fn update_settings(
        &self,
        id: i64,
        guest_users: Toggle,
        user_created_channels: Toggle,
        policy: Option<TimeoutPolicy>,
    ) -> StoreResult<Option<Application>> {
        let row = sqlx::query(&format!(
            "UPDATE applications SET guest_users = $1, user_created_channels = $2, \
             blocking_timeout_policy = COALESCE($3, blocking_timeout_policy) WHERE id = $4 RETURNING {COLUMNS}"
        ))
        .bind(guest_users.as_str())
        .bind(user_created_channels.as_str())
        .bind(policy.map(|p| p.as_str()))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(application).transpose()
    }

    pub async fn update_egress_policy(&self, id: i64, policy: &EgressPolicy) -> StoreResult<Option<Application>> {
        let row = sqlx::query(&format!("UPDATE applications SET egress_policy = $1 WHERE id = $2 RETURNING {COLUMNS}"))
            .bind(serde_json::to_string(policy).expect("a policy serialises"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(application).transpose()
    }

    pub async fn insert_token(&self, token_hash: &str, application_id: i64, expires_at: i64) -> StoreResult<()> {
        // Expired tokens are swept as new ones are issued.
        sqlx::query("DELETE FROM access_tokens WHERE expires_at < $1").bind(now_millis()).execute(&self.pool).await?;
        sqlx::query("INSERT INTO access_tokens (token_hash, application_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(application_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The application and expiry of an unexpired token.
    pub async fn token(&self, token_hash: &str) -> StoreResult<Option<(i64, i64)>> {
        let row = sqlx::query(
            "SELECT application_id, expires_at FROM access_tokens WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => Some((row.try_get("application_id")?, row.try_get("expires_at")?)),
            None => None,
        })
    }
}
