//! The durable queue behind non-blocking triggers.
//!
//! Accepting an event commits a job (and its first attempt's invocation row,
//! QUEUED) before the platform gets its 202; accepts arriving together are
//! committed in one transaction. Workers claim due jobs with a lease, run
//! them through the dispatcher, and either finish them or schedule a retry
//! with exponential backoff and jitter; after the last attempt a job stays
//! FAILED until re-driven. A lease that runs out (the host died mid-run)
//! makes the job claimable again: delivery is at least once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use super::{Attempt, Dispatcher};
use crate::engine::InvocationStatus;
use crate::store::{now_millis, Store, StoreError, StoreResult};

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Jobs of one application accepted but not finished; past it, 429.
    pub max_pending_per_application: i64,
    /// Jobs running at once on this host.
    pub concurrency: usize,
    /// Jobs of one application claimed per round, so a flood cannot crowd out others.
    pub claim_per_application: i64,
    /// How long a claimed job is this host's before another may take it.
    pub lease: Duration,
    /// How often the store is asked for due jobs when nothing wakes the workers.
    pub poll: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            max_pending_per_application: 10_000,
            concurrency: 16,
            claim_per_application: 4,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(250),
        }
    }
}

pub enum Accepted {
    /// The invocation ids of the accepted (or, for a repeated idempotency key, earlier) events.
    Ids(Vec<i64>),
    /// The application's queue is full.
    Full { retry_after_secs: u64 },
}

struct EnqueueRequest {
    application_id: i64,
    function_id: i64,
    version_id: i64,
    version_number: i64,
    trigger_type: String,
    event: Arc<str>,
    idempotency_key: Option<String>,
    reply: oneshot::Sender<StoreResult<(i64, bool)>>,
}

#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    dispatcher: Dispatcher,
    config: QueueConfig,
    enqueue: mpsc::UnboundedSender<EnqueueRequest>,
    wake: Notify,
    /// application → jobs accepted and not finished (this host's view).
    pending: Mutex<HashMap<i64, i64>>,
}

impl Queue {
    /// Starts the workers. On an SQLite store (one host by definition) jobs
    /// a previous process left RUNNING are queued again at once.
    pub async fn start(store: Store, dispatcher: Dispatcher, config: QueueConfig) -> StoreResult<Queue> {
        if store.backend() == crate::store::Backend::Sqlite {
            let recovered = sqlx::query("UPDATE jobs SET status = 'QUEUED', locked_until = NULL WHERE status = 'RUNNING'")
                .execute(store.pool())
                .await?
                .rows_affected();
            if recovered > 0 {
                tracing::warn!(recovered, "re-queued jobs interrupted by the previous shutdown");
            }
        }
        let (enqueue, inbox) = mpsc::unbounded_channel();
        let queue = Queue {
            inner: Arc::new(Inner { store, dispatcher, config, enqueue, wake: Notify::new(), pending: Mutex::default() }),
        };
        tokio::spawn(commit_accepts(queue.inner.store.clone(), queue.inner.dispatcher.clone(), inbox));
        tokio::spawn(queue.clone().work());
        Ok(queue)
    }

    /// Stores the event for the application's function; returns once committed.
    pub async fn accept(
        &self,
        application_id: i64,
        function: &super::ReadyFunction,
        event: Arc<str>,
        idempotency_key: Option<String>,
    ) -> StoreResult<Accepted> {
        let pending = self.pending(application_id).await?;
        if pending >= self.inner.config.max_pending_per_application {
            return Ok(Accepted::Full { retry_after_secs: 1 });
        }
        let (reply, done) = oneshot::channel();
        let _ = self.inner.enqueue.send(EnqueueRequest {
            application_id,
            function_id: function.function_id,
            version_id: function.version_id,
            version_number: function.version_number,
            trigger_type: function.spec.trigger_type.to_string(),
            event,
            idempotency_key,
            reply,
        });
        let (invocation_id, duplicate) =
            done.await.map_err(|_| StoreError::Conflict("the queue is shutting down".into()))??;
        if !duplicate {
            *self.inner.pending.lock().entry(application_id).or_insert(0) += 1;
            self.inner.wake.notify_one();
        }
        Ok(Accepted::Ids(vec![invocation_id]))
    }

    async fn pending(&self, application_id: i64) -> StoreResult<i64> {
        if let Some(n) = self.inner.pending.lock().get(&application_id) {
            return Ok(*n);
        }
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE application_id = $1 AND status IN ('QUEUED', 'RUNNING')")
            .bind(application_id)
            .fetch_one(self.inner.store.pool())
            .await?
            .try_get("n")?;
        Ok(*self.inner.pending.lock().entry(application_id).or_insert(n))
    }

    /// Re-drives the failed job an invocation belongs to: one more attempt,
    /// now. `Ok(None)` when there is no such job; a conflict when the job is
    /// not failed.
    pub async fn retry(&self, application_id: i64, invocation_id: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT j.id, j.status FROM jobs j JOIN invocations i ON i.job_id = j.id \
             WHERE i.id = $1 AND i.application_id = $2 AND j.application_id = $2",
        )
        .bind(invocation_id)
        .bind(application_id)
        .fetch_optional(self.inner.store.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let job_id: i64 = row.try_get("id")?;
        let updated = sqlx::query(
            "UPDATE jobs SET status = 'QUEUED', run_at = $1, max_attempts = attempts + 1, locked_until = NULL \
             WHERE id = $2 AND status = 'FAILED'",
        )
        .bind(now_millis())
        .bind(job_id)
        .execute(self.inner.store.pool())
        .await?;
        if updated.rows_affected() == 0 {
            let status: String = row.try_get("status")?;
            return Err(StoreError::Conflict(format!("the invocation's job is {status}, not FAILED: nothing to retry")));
        }
        *self.inner.pending.lock().entry(application_id).or_insert(0) += 1;
        self.inner.wake.notify_one();
        Ok(Some(job_id))
    }

    async fn work(self) {
        let slots = Arc::new(Semaphore::new(self.inner.config.concurrency));
        loop {
            let free = slots.available_permits();
            let claimed = if free == 0 { Vec::new() } else { self.claim(free as i64).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "claiming jobs failed");
                Vec::new()
            }) };
            if claimed.is_empty() {
                tokio::select! {
                    _ = self.inner.wake.notified() => {}
                    _ = tokio::time::sleep(self.inner.config.poll) => {}
                    _ = slots.clone().acquire_owned(), if free == 0 => {}
                }
                continue;
            }
            for job in claimed {
                let permit = slots.clone().acquire_owned().await.expect("never closed");
                let queue = self.clone();
                tokio::spawn(async move {
                    queue.run(job).await;
                    drop(permit);
                });
            }
        }
    }

    async fn claim(&self, limit: i64) -> StoreResult<Vec<Job>> {
        let now = now_millis();
        let lease_until = now + self.inner.config.lease.as_millis() as i64;
        // Due jobs, at most a few per application per round; the outer WHERE
        // re-checks under the row lock, so two hosts never both win a job.
        let rows = sqlx::query(
            "UPDATE jobs SET status = 'RUNNING', attempts = attempts + 1, locked_until = $1 \
             WHERE id IN (SELECT id FROM (SELECT id, run_at, ROW_NUMBER() OVER (PARTITION BY application_id ORDER BY run_at, id) AS rn \
                                          FROM jobs WHERE (status = 'QUEUED' AND run_at <= $2) OR (status = 'RUNNING' AND locked_until < $2)) due \
                          WHERE rn <= $3 ORDER BY run_at LIMIT $4) \
             AND ((status = 'QUEUED' AND run_at <= $2) OR (status = 'RUNNING' AND locked_until < $2)) \
             RETURNING id, application_id, function_id, trigger_type, event, attempts, max_attempts, invocation_id",
        )
        .bind(lease_until)
        .bind(now)
        .bind(self.inner.config.claim_per_application)
        .bind(limit)
        .fetch_all(self.inner.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Job {
                    id: r.try_get("id")?,
                    application_id: r.try_get("application_id")?,
                    trigger_type: r.try_get("trigger_type")?,
                    event: Arc::from(r.try_get::<String, _>("event")?),
                    attempts: r.try_get("attempts")?,
                    max_attempts: r.try_get("max_attempts")?,
                    first_invocation_id: r.try_get("invocation_id")?,
                })
            })
            .collect()
    }

    async fn run(&self, job: Job) {
        // Keep the lease while the job runs, so a short lease is safe.
        let heartbeat = {
            let store = self.inner.store.clone();
            let lease = self.inner.config.lease;
            let job_id = job.id;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    let _ = sqlx::query("UPDATE jobs SET locked_until = $1 WHERE id = $2 AND status = 'RUNNING'")
                        .bind(now_millis() + lease.as_millis() as i64)
                        .bind(job_id)
                        .execute(store.pool())
                        .await;
                }
            })
        };
        let _stop_heartbeat = AbortOnDrop(heartbeat);
        let dispatcher = &self.inner.dispatcher;
        let outcome = match dispatcher.resolve(job.application_id, &job.trigger_type).await {
            Ok(resolved) => match resolved.function {
                Some(function) => {
                    let attempt = Attempt {
                        number: job.attempts,
                        invocation_id: (job.attempts == 1).then_some(job.first_invocation_id),
                        job_id: Some(job.id),
                    };
                    let ran = dispatcher.run(job.application_id, &function, job.event.clone(), attempt, false).await;
                    match ran.outcome.status {
                        InvocationStatus::Succeeded => Ok(()),
                        InvocationStatus::Failed => Err(ran
                            .outcome
                            .error
                            .map(|e| format!("{}: {}", e.name, e.message))
                            .unwrap_or_else(|| "failed".into())),
                    }
                }
                None => Err("no enabled function for the trigger type any more".to_string()),
            },
            Err(e) => {
                tracing::error!(error = %e, job = job.id, "resolving a job failed; it will be retried");
                Err(format!("store error: {e}"))
            }
        };
        let now = now_millis();
        let (status, run_at, error) = match outcome {
            Ok(()) => ("SUCCEEDED", now, None),
            Err(e) if job.attempts < job.max_attempts => ("QUEUED", now + self.backoff(job.attempts), Some(e)),
            Err(e) => ("FAILED", now, Some(e)),
        };
        let result = sqlx::query(
            "UPDATE jobs SET status = $1, run_at = $2, locked_until = NULL, last_error = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(run_at)
        .bind(error)
        .bind(job.id)
        .execute(self.inner.store.pool())
        .await;
        if let Err(e) = result {
            // The lease runs out and another claim runs the job again.
            tracing::error!(error = %e, job = job.id, "recording a job's state failed");
        }
        if status != "QUEUED" {
            if let Some(n) = self.inner.pending.lock().get_mut(&job.application_id) {
                *n = (*n - 1).max(0);
            }
        }
    }

    /// base × 2^(attempt-1), capped, ±20% jitter.
    fn backoff(&self, attempt: i64) -> i64 {
        let base = self.inner.config.backoff_base.as_millis() as f64 * 2f64.powi((attempt - 1).clamp(0, 30) as i32);
        let capped = base.min(self.inner.config.backoff_max.as_millis() as f64);
        (capped * (0.8 + rand::random::<f64>() * 0.4)) as i64
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Job {
    id: i64,
    application_id: i64,
    trigger_type: String,
    event: Arc<str>,
    attempts: i64,
    max_attempts: i64,
    first_invocation_id: i64,
}

/// Group commit of accepted events.
async fn commit_accepts(store: Store, dispatcher: Dispatcher, mut inbox: mpsc::UnboundedReceiver<EnqueueRequest>) {
    let mut batch = Vec::with_capacity(256);
    while inbox.recv_many(&mut batch, 256).await > 0 {
        let requests: Vec<EnqueueRequest> = batch.drain(..).collect();
        let max_attempts = dispatcher.config().max_attempts;
        match commit_batch(&store, &dispatcher, &requests, max_attempts).await {
            Ok(results) => {
                for (request, result) in requests.into_iter().zip(results) {
                    let _ = request.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "accepting events failed");
                for request in requests {
                    let _ = request.reply.send(Err(StoreError::Conflict(format!("the event could not be stored: {e}"))));
                }
            }
        }
    }
}

async fn commit_batch(
    store: &Store,
    dispatcher: &Dispatcher,
    requests: &[EnqueueRequest],
    max_attempts: i64,
) -> Result<Vec<(i64, bool)>, sqlx::Error> {
    let mut tx = store.pool().begin().await?;
    let mut results = Vec::with_capacity(requests.len());
    let now = now_millis();
    for r in requests {
        if let Some(key) = &r.idempotency_key {
            let existing = sqlx::query("SELECT invocation_id FROM jobs WHERE application_id = $1 AND idempotency_key = $2")
                .bind(r.application_id)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = existing {
                results.push((row.try_get("invocation_id")?, true));
                continue;
            }
        }
        let invocation_id = dispatcher.recorder().next_id();
        let job = sqlx::query(
            "INSERT INTO jobs (application_id, function_id, trigger_type, event, status, max_attempts, run_at, invocation_id, \
             idempotency_key, created_at) VALUES ($1, $2, $3, $4, 'QUEUED', $5, $6, $7, $8, $6) RETURNING id",
        )
        .bind(r.application_id)
        .bind(r.function_id)
        .bind(&r.trigger_type)
        .bind(&*r.event)
        .bind(max_attempts)
        .bind(now)
        .bind(invocation_id)
        .bind(r.idempotency_key.clone())
        .fetch_one(&mut *tx)
        .await?;
        let job_id: i64 = job.try_get("id")?;
        sqlx::query(
            "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, trigger_type, args, status, \
             attempt, created_at, job_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 'QUEUED', 1, $8, $9)",
        )
        .bind(invocation_id)
        .bind(r.application_id)
        .bind(r.function_id)
        .bind(r.version_id)
        .bind(r.version_number)
        .bind(&r.trigger_type)
        .bind(&*r.event)
        .bind(now)
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
        results.push((invocation_id, false));
    }
    tx.commit().await?;
    Ok(results)
}
