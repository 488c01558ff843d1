//! The queue's reads and its writes outside the recorder's rounds.

use sqlx::Row;

use super::sql;
use crate::store::{now_millis, Backend, Store, StoreError, StoreResult};

/// What a restart found left over by the previous process.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs that were running, queued again.
    pub requeued: u64,
    /// Invocations that were running, recorded as FAILED.
    pub failed: u64,
}

impl Store {
    /// On an SQLite store (one host by definition) whatever a previous
    /// process left running was interrupted: those invocations are recorded
    /// as FAILED and their jobs queued again. (PostgreSQL hosts recover by
    /// host tag and lapsed leases instead.)
    pub async fn recover_interrupted(&self) -> StoreResult<Recovered> {
        if self.backend() != Backend::Sqlite {
            return Ok(Recovered::default());
        }
        let now = now_millis();
        let mut tx = self.begin_write().await?;
        let failed = sqlx::query(sql::FAIL_ALL_RUNNING)
            .bind(sql::INTERRUPTED)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Claimed, but its first attempt never recorded as started.
        sqlx::query(sql::FAIL_QUEUED_OF_RUNNING_JOBS).bind(sql::INTERRUPTED).bind(now).execute(&mut *tx).await?;
        let requeued = sqlx::query(sql::REQUEUE_RUNNING_JOBS).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(Recovered { requeued, failed })
    }

    /// Jobs of an application accepted and not finished.
    pub async fn count_pending_jobs(&self, application_id: i64) -> StoreResult<i64> {
        Ok(sqlx::query(sql::COUNT_PENDING).bind(application_id).fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// Re-drives the failed job an invocation belongs to: one more attempt,
    /// now. `Ok(None)` when there is no such job; a conflict when the job is
    /// not failed.
    pub async fn retry_failed_job(&self, application_id: i64, invocation_id: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT j.id, j.status FROM jobs j JOIN invocations i ON i.job_id = j.id \
             WHERE i.id = $1 AND i.application_id = $2 AND j.application_id = $2",
        )
        .bind(invocation_id)
        .bind(application_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let job_id: i64 = row.try_get("id")?;
        let updated = sqlx::query(
            "UPDATE jobs SET status = 'QUEUED', run_at = $1, max_attempts = attempts + 1, locked_until = NULL \
             WHERE id = $2 AND status = 'FAILED'",
        )
        .bind(now_millis())
        .bind(job_id)
        .execute(self.pool())
        .await?;
        if updated.rows_affected() == 0 {
            let status: String = row.try_get("status")?;
            return Err(StoreError::Conflict(format!(
                "the invocation's job is {status}, not FAILED: nothing to retry"
            )));
        }
        Ok(Some(job_id))
    }
}
