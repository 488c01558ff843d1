//! The durable queue behind non-blocking triggers.
//!
//! Accepting an event commits a job (its first attempt shows QUEUED in the
//! invocation log, and gets its own row when it starts) before the platform
//! gets its 202; accepts arriving together are committed in one
//! transaction. An event that finds a worker's slot free (and no backlog)
//! is claimed in that same commit and runs at once; otherwise workers
//! claim due jobs with a lease, run
//! them through the dispatcher, and either finish them or schedule a retry
//! with exponential backoff and jitter; after the last attempt a job stays
//! FAILED until re-driven. A lease that runs out (the host died mid-run)
//! makes the job claimable again: delivery is at least once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};

use super::{Attempt, Dispatcher};
use crate::engine::InvocationStatus;
use crate::store::jobs::{ClaimedJob, Enqueue, JobDone, Stored};
use crate::store::{now_millis, JobState, Store, StoreError, StoreResult};

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
            concurrency: 32,
            claim_per_application: 16,
            // Kept alive by a heartbeat every third of it: a dead host's
            // jobs are taken over within 10 s.
            lease: Duration::from_secs(9),
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

#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    dispatcher: Dispatcher,
    config: QueueConfig,
    wake: Notify,
    /// application → jobs accepted and not finished (this host's view).
    pending: Mutex<HashMap<i64, i64>>,
    /// Claim rounds so far (whose turn it is to be first).
    round: std::sync::atomic::AtomicUsize,
    stopped: std::sync::atomic::AtomicBool,
    /// One permit per job that may run at once on this host.
    slots: Arc<Semaphore>,
    /// Where jobs run (an accept may come from any serving thread).
    runtime: tokio::runtime::Handle,
    /// Whether events stored QUEUED may still wait in the store.
    backlog: Backlog,
    /// Jobs running on this host, whose leases the heartbeat extends.
    running: Mutex<std::collections::HashSet<i64>>,
}

impl Queue {
    /// Starts the workers, once what a previous process left running on an
    /// SQLite store is recovered (`Store::recover_interrupted`).
    pub async fn start(store: Store, dispatcher: Dispatcher, config: QueueConfig) -> StoreResult<Queue> {
        let config_concurrency = config.concurrency;
        let recovered = store.recover_interrupted().await?;
        if recovered != Default::default() {
            tracing::warn!(
                requeued = recovered.requeued,
                failed = recovered.failed,
                "re-queued jobs and failed invocations interrupted by the previous shutdown"
            );
        }
        let queue = Queue {
            inner: Arc::new(Inner {
                store,
                dispatcher,
                config,
                wake: Notify::new(),
                pending: Mutex::default(),
                round: Default::default(),
                stopped: Default::default(),
                slots: Arc::new(Semaphore::new(config_concurrency)),
                runtime: tokio::runtime::Handle::current(),
                backlog: Backlog::new(),
                running: Mutex::default(),
            }),
        };
        tokio::spawn(queue.clone().work());
        tokio::spawn(heartbeat(Arc::downgrade(&queue.inner), queue.inner.config.lease));
        Ok(queue)
    }

    /// Stores the event for the application's function; returns once
    /// committed. With a slot free and no backlog, the event is claimed as
    /// it is stored and starts once committed: no claim to write, nor a
    /// wake-up of the claiming loop. (A crash before it ends leaves the job
    /// RUNNING under its lease, as any claimed job, and it runs again.)
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
        let slot = self.slot_at_once();
        let lease_until = slot.is_some().then(|| now_millis() + self.inner.config.lease.as_millis() as i64);
        let max_attempts = self.inner.dispatcher.config().max_attempts;
        let trigger_type = function.spec.trigger_type.to_string();
        let (reply, done) = oneshot::channel();
        self.inner.dispatcher.recorder().enqueue(Enqueue {
            application_id,
            function_id: function.function_id,
            version_id: function.version_id,
            version_number: function.version_number,
            trigger_type: trigger_type.clone(),
            event: event.clone(),
            idempotency_key,
            max_attempts,
            lease_until,
            reply,
        });
        // What follows the commit happens even if the caller hangs up
        // meanwhile: a job stored as claimed must run.
        let queue = self.clone();
        let stored = async move {
            let stored = done
                .await
                .map_err(|_| StoreError::Unavailable("the server is shutting down".into()))?
                .map_err(StoreError::Unavailable)?;
            if stored.duplicate {
                return Ok(stored);
            }
            *queue.inner.pending.lock().entry(application_id).or_insert(0) += 1;
            match slot {
                Some(slot) => {
                    let job = ClaimedJob {
                        id: stored.job_id,
                        application_id,
                        trigger_type,
                        event,
                        attempts: 1,
                        max_attempts,
                        invocation_id: stored.invocation_id,
                    };
                    queue.spawn_run(job, slot);
                }
                None => queue.queued_one(),
            }
            Ok(stored)
        };
        let stored: StoreResult<Stored> = super::ToTheEnd { work: Some(Box::pin(stored)) }.await;
        Ok(Accepted::Ids(vec![stored?.invocation_id]))
    }

    /// A slot for an event to run as soon as it is stored: one must be free,
    /// with no backlog to go ahead of and the queue not stopping.
    fn slot_at_once(&self) -> Option<OwnedSemaphorePermit> {
        let inner = &self.inner;
        if inner.stopped.load(Ordering::Acquire) || !inner.backlog.is_clear() {
            return None;
        }
        inner.slots.clone().try_acquire_owned().ok()
    }

    /// An event was stored QUEUED: a claim is to find it.
    fn queued_one(&self) {
        self.inner.backlog.queued_one();
        self.inner.wake.notify_one();
    }

    /// Whether the application's queue takes more events now.
    pub async fn has_room(&self, application_id: i64) -> StoreResult<bool> {
        Ok(self.pending(application_id).await? < self.inner.config.max_pending_per_application)
    }

    /// Jobs committed by the store with what caused them (a message's
    /// events): counted as pending, and the workers woken.
    pub fn accepted_elsewhere(&self, application_id: i64, jobs: usize) {
        if jobs > 0 {
            *self.inner.pending.lock().entry(application_id).or_insert(0) += jobs as i64;
            self.queued_one();
        }
    }

    async fn pending(&self, application_id: i64) -> StoreResult<i64> {
        if let Some(n) = self.inner.pending.lock().get(&application_id) {
            return Ok(*n);
        }
        let n = self.inner.store.count_pending_jobs(application_id).await?;
        Ok(*self.inner.pending.lock().entry(application_id).or_insert(n))
    }

    /// Re-drives the failed job an invocation belongs to: one more attempt,
    /// now. `Ok(None)` when there is no such job; a conflict when the job is
    /// not failed.
    pub async fn retry(&self, application_id: i64, invocation_id: i64) -> StoreResult<Option<i64>> {
        let Some(job_id) = self.inner.store.retry_failed_job(application_id, invocation_id).await? else {
            return Ok(None);
        };
        *self.inner.pending.lock().entry(application_id).or_insert(0) += 1;
        self.queued_one();
        Ok(Some(job_id))
    }

    /// Claims no more jobs and waits (up to `grace`) for the running ones;
    /// any still running then are re-run after their lease lapses.
    pub async fn stop(&self, grace: Duration) {
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.wake.notify_waiters();
        let all = self.inner.config.concurrency as u32;
        let _ = tokio::time::timeout(grace, self.inner.slots.acquire_many(all)).await;
    }

    async fn work(self) {
        let slots = self.inner.slots.clone();
        while !self.inner.stopped.load(Ordering::Acquire) {
            let free = slots.available_permits();
            let claimed = if free == 0 {
                Vec::new()
            } else {
                let began = self.inner.backlog.claim_begins();
                let claimed = self.claim(free as i64).await;
                // Fewer than asked for: nothing more was due when it ran.
                let short = claimed.as_ref().is_ok_and(|jobs| jobs.len() < free);
                if short {
                    self.inner.backlog.claimed_all(began);
                }
                claimed.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "claiming jobs failed");
                    Vec::new()
                })
            };
            if claimed.is_empty() {
                if free == 0 {
                    // Only a finished job makes room: an accepted event
                    // would wake this loop just to find none (a wake-up
                    // per accept, on another thread).
                    let _ = slots.acquire().await;
                    continue;
                }
                tokio::select! {
                    _ = self.inner.wake.notified() => {}
                    _ = tokio::time::sleep(self.inner.config.poll) => {}
                }
                continue;
            }
            for job in claimed {
                let permit = slots.clone().acquire_owned().await.expect("never closed");
                self.spawn_run(job, permit);
            }
        }
    }

    /// Runs a claimed job in a task of its own, holding its slot.
    fn spawn_run(&self, job: ClaimedJob, slot: OwnedSemaphorePermit) {
        let queue = self.clone();
        self.inner.runtime.spawn(async move {
            queue.run(job).await;
            drop(slot);
        });
    }

    async fn claim(&self, limit: i64) -> StoreResult<Vec<ClaimedJob>> {
        let lease_until = now_millis() + self.inner.config.lease.as_millis() as i64;
        // Applications with pending work, starting at a different one each
        // round so none is always first.
        let mut applications: Vec<i64> =
            self.inner.pending.lock().iter().filter(|(_, n)| **n > 0).map(|(app, _)| *app).collect();
        applications.sort_unstable();
        if !applications.is_empty() {
            let turn = self.inner.round.fetch_add(1, Ordering::Relaxed) % applications.len();
            applications.rotate_left(turn);
        }
        self.inner
            .dispatcher
            .recorder()
            .claim(applications, limit, self.inner.config.claim_per_application, lease_until)
            .await
    }

    async fn run(&self, job: ClaimedJob) {
        // Its lease is kept while it runs (`heartbeat`), so a short lease is safe.
        let _running = Running::new(&self.inner, job.id);
        let dispatcher = &self.inner.dispatcher;
        let outcome = match dispatcher.resolve(job.application_id, &job.trigger_type).await {
            Ok(resolved) => match resolved.function {
                Some(function) => {
                    let attempt = Attempt {
                        number: job.attempts,
                        invocation_id: (job.attempts == 1).then_some(job.invocation_id),
                        job_id: Some(job.id),
                        test: false,
                    };
                    let ran =
                        dispatcher.run_inline(job.application_id, &function, job.event.clone(), attempt, false).await;
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
                Err(e.to_string())
            }
        };
        let now = now_millis();
        let (status, run_at, error) = match outcome {
            Ok(()) => (JobState::Succeeded, now, None),
            Err(e) if job.attempts < job.max_attempts => (JobState::Queued, now + self.backoff(job.attempts), Some(e)),
            Err(e) => (JobState::Failed, now, Some(e)),
        };
        // Written with the attempt's record, in the writer's next batch; if
        // the host dies first, the lease runs out and the job runs again.
        self.inner.dispatcher.recorder().job_done(JobDone { job_id: job.id, status, run_at, last_error: error });
        if status != JobState::Queued {
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

/// Whether events stored QUEUED may still wait in the store, so that a new
/// event must not run ahead of them. Events queued are counted; a claim
/// that comes back short (nothing more was due) clears the events counted
/// before it began, not those queued while it ran.
struct Backlog {
    queued: AtomicU64,
    caught_up: AtomicU64,
}

/// How many events had been queued when a claim began.
#[derive(Debug, Clone, Copy)]
struct ClaimBegan(u64);

impl Backlog {
    /// A backlog until the first claim: what a previous process left.
    fn new() -> Backlog {
        Backlog { queued: AtomicU64::new(1), caught_up: AtomicU64::new(0) }
    }

    fn queued_one(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
    }

    fn claim_begins(&self) -> ClaimBegan {
        ClaimBegan(self.queued.load(Ordering::Acquire))
    }

    /// The claim that began at `began` found nothing more due.
    fn claimed_all(&self, began: ClaimBegan) {
        self.caught_up.fetch_max(began.0, Ordering::AcqRel);
    }

    fn is_clear(&self) -> bool {
        self.queued.load(Ordering::Acquire) == self.caught_up.load(Ordering::Acquire)
    }
}

/// A job running on this host, in `Inner::running` until it ends.
struct Running<'a> {
    inner: &'a Inner,
    job_id: i64,
}

impl<'a> Running<'a> {
    fn new(inner: &'a Inner, job_id: i64) -> Running<'a> {
        inner.running.lock().insert(job_id);
        Running { inner, job_id }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.inner.running.lock().remove(&self.job_id);
    }
}

/// Every third of a lease, extends the lease of each job running on this
/// host: one loop for all of them, not a timer per job. Ends with the queue.
async fn heartbeat(queue: std::sync::Weak<Inner>, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        let Some(inner) = queue.upgrade() else { return };
        let until = now_millis() + lease.as_millis() as i64;
        let running: Vec<i64> = inner.running.lock().iter().copied().collect();
        for job_id in running {
            inner.dispatcher.recorder().extend_lease(job_id, until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Backlog;

    #[test]
    fn a_backlog_clears_only_for_the_events_queued_before_a_claim_that_found_all() {
        let backlog = Backlog::new();
        assert!(!backlog.is_clear(), "what a previous process left may wait");
        let first = backlog.claim_begins();
        backlog.claimed_all(first);
        assert!(backlog.is_clear());

        // An event queued while a claim runs may have been committed after
        // the claim's query: that claim coming back short does not clear it.
        backlog.queued_one();
        let during = backlog.claim_begins();
        backlog.queued_one();
        backlog.claimed_all(during);
        assert!(!backlog.is_clear());
        // A claim that comes back full (more may be due) clears nothing.
        let _full = backlog.claim_begins();
        assert!(!backlog.is_clear());
        let after = backlog.claim_begins();
        backlog.claimed_all(after);
        assert!(backlog.is_clear());

        // An older claim finishing late does not undo a newer one's word.
        let older = backlog.claim_begins();
        backlog.queued_one();
        let newer = backlog.claim_begins();
        backlog.claimed_all(newer);
        backlog.claimed_all(older);
        assert!(backlog.is_clear());
    }
}
