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

/// How long, and how many, finished invocation records are kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Older ones are deleted.
    pub max_age: std::time::Duration,
    /// Per application, beyond the newest this many.
    pub max_per_application: i64,
    /// How often the log is pruned.
    pub every: std::time::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: std::time::Duration::from_secs(30 * 24 * 3600),
            max_per_application: 100_000,
            every: std::time::Duration::from_secs(60),
        }
    }
}

/// Rows deleted per statement, so that pruning never holds the store long.
const PRUNE_BATCH: i64 = 5_000;

impl Store {
    /// Deletes finished invocations past the retention (never one whose
    /// job may still run), and finished jobs whose first attempt is gone;
    /// how many invocations were deleted.
    pub async fn prune_invocations(&self, retention: &Retention) -> StoreResult<u64> {
        let finished = "status IN ('SUCCEEDED', 'FAILED') \
             AND (job_id IS NULL OR job_id NOT IN (SELECT id FROM jobs WHERE status IN ('QUEUED', 'RUNNING')))";
        let cutoff = now_millis() - retention.max_age.as_millis() as i64;
        let mut deleted = 0;
        loop {
            let done = sqlx::query(&format!(
                "DELETE FROM invocations WHERE id IN (SELECT id FROM invocations WHERE created_at < $1 AND {finished} LIMIT $2)"
            ))
            .bind(cutoff)
            .bind(PRUNE_BATCH)
            .execute(self.pool())
            .await?
            .rows_affected();
            deleted += done;
            if done < PRUNE_BATCH as u64 {
                break;
            }
        }
        let applications: Vec<i64> = sqlx::query("SELECT id FROM applications")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
        for application_id in applications {
            // The id of the newest one past the cap, if there are that many.
            let Some(row) =
                sqlx::query("SELECT id FROM invocations WHERE application_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2")
                    .bind(application_id)
                    .bind(retention.max_per_application)
                    .fetch_optional(self.pool())
                    .await?
            else {
                continue;
            };
            let newest_dropped: i64 = row.try_get("id")?;
            loop {
                let done = sqlx::query(&format!(
                    "DELETE FROM invocations WHERE id IN (SELECT id FROM invocations \
                     WHERE application_id = $1 AND id <= $2 AND {finished} LIMIT $3)"
                ))
                .bind(application_id)
                .bind(newest_dropped)
                .bind(PRUNE_BATCH)
                .execute(self.pool())
                .await?
                .rows_affected();
                deleted += done;
                if done < PRUNE_BATCH as u64 {
                    break;
                }
            }
        }
        if deleted > 0 {
            sqlx::query(
                "DELETE FROM jobs WHERE status IN ('SUCCEEDED', 'FAILED') \
                 AND invocation_id NOT IN (SELECT id FROM invocations)",
            )
            .execute(self.pool())
            .await?;
        }
        Ok(deleted)
    }

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
        // Claimed, but its first attempt never started: recorded as cut short
        // (and the QUEUED rows earlier versions wrote ended so).
        sqlx::query(sql::RECORD_NEVER_STARTED_OF_RUNNING_JOBS)
            .bind(sql::INTERRUPTED)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::FAIL_QUEUED_OF_RUNNING_JOBS).bind(sql::INTERRUPTED).bind(now).execute(&mut *tx).await?;
        let requeued = sqlx::query(sql::REQUEUE_RUNNING_JOBS).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(Recovered { requeued, failed })
    }

    /// How many jobs there are in each state, across applications.
    pub async fn job_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").fetch_all(self.pool()).await?;
        let mut counts: Vec<(String, i64)> =
            ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"].iter().map(|s| (s.to_string(), 0)).collect();
        for row in rows {
            let (status, n): (String, i64) = (row.try_get("status")?, row.try_get("n")?);
            if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == status) {
                entry.1 = n;
            }
        }
        Ok(counts)
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
