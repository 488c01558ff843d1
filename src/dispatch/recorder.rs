//! Invocation records, written in batches off the hot path.
//!
//! A dispatcher hands the recorder "started" and "finished" events and moves
//! on; one task commits whatever has queued up in a single transaction (a
//! start and finish of the same invocation in one batch become one row
//! insert). Ids are made here, not by the database, so callers know an
//! invocation's id before it is written.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::{now_millis, Store};

/// Largest batch committed at once.
const MAX_BATCH: usize = 512;

#[derive(Debug, Clone)]
pub struct Started {
    pub id: i64,
    pub application_id: i64,
    pub function_id: i64,
    pub version_id: i64,
    pub version_number: i64,
    pub trigger_type: Arc<str>,
    pub args: Arc<str>,
    pub attempt: i64,
    pub created_at: i64,
    /// The queued job this attempt belongs to (non-blocking triggers).
    pub job_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub id: i64,
    pub application_id: i64,
    pub status: &'static str,
    pub result: Option<String>,
    pub error: Option<String>,
    pub logs: String,
    pub duration_ms: f64,
    pub finished_at: i64,
}

enum Write {
    Started(Started),
    Finished(Finished),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Recorder {
    writes: mpsc::UnboundedSender<Write>,
    ids: Arc<IdSource>,
}

/// Time-ordered 63-bit ids: milliseconds, a random per-process tag (so
/// hosts sharing a store do not collide), and a counter.
struct IdSource {
    tag: u64,
    last: AtomicU64,
}

impl IdSource {
    fn next(&self) -> i64 {
        let now = (now_millis() as u64) << 22 | self.tag << 14;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = if now > last { now } else { last + 1 };
            match self.last.compare_exchange_weak(last, candidate, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return candidate as i64,
                Err(seen) => last = seen,
            }
        }
    }
}

impl Recorder {
    pub fn start(store: Store) -> Recorder {
        let (writes, inbox) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store, inbox));
        Recorder { writes, ids: Arc::new(IdSource { tag: rand::random::<u64>() & 0xFF, last: AtomicU64::new(0) }) }
    }

    pub fn next_id(&self) -> i64 {
        self.ids.next()
    }

    pub fn started(&self, started: Started) {
        let _ = self.writes.send(Write::Started(started));
    }

    pub fn finished(&self, finished: Finished) {
        let _ = self.writes.send(Write::Finished(finished));
    }

    /// Waits until everything handed over so far is committed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.writes.send(Write::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_batches(store: Store, mut inbox: mpsc::UnboundedReceiver<Write>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut flushes = Vec::new();
        let mut started: Vec<Started> = Vec::new();
        let mut finished: HashMap<i64, Finished> = HashMap::new();
        for write in batch.drain(..) {
            match write {
                Write::Started(s) => started.push(s),
                Write::Finished(f) => {
                    finished.insert(f.id, f);
                }
                Write::Flush(done) => flushes.push(done),
            }
        }
        // Committing may fail (store down): retry, keeping the order.
        let mut delay = std::time::Duration::from_millis(50);
        loop {
            match commit(&store, &started, &mut finished.clone()).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(error = %e, "recording invocations failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(5));
                }
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn commit(store: &Store, started: &[Started], finished: &mut HashMap<i64, Finished>) -> Result<(), sqlx::Error> {
    if started.is_empty() && finished.is_empty() {
        return Ok(());
    }
    let mut tx = store.pool().begin().await?;
    for s in started {
        match finished.remove(&s.id) {
            Some(end) => {
                // A queued job's first attempt was written (QUEUED) when the
                // event was accepted: the attempt takes that row over.
                sqlx::query(
                    "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, trigger_type, args, \
                     status, result, error, logs, attempt, duration_ms, created_at, finished_at, job_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                     ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id, version_number = excluded.version_number, \
                     status = excluded.status, result = excluded.result, error = excluded.error, logs = excluded.logs, \
                     attempt = excluded.attempt, duration_ms = excluded.duration_ms, created_at = excluded.created_at, \
                     finished_at = excluded.finished_at",
                )
                .bind(s.id)
                .bind(s.application_id)
                .bind(s.function_id)
                .bind(s.version_id)
                .bind(s.version_number)
                .bind(&*s.trigger_type)
                .bind(&*s.args)
                .bind(end.status)
                .bind(end.result)
                .bind(end.error)
                .bind(end.logs)
                .bind(s.attempt)
                .bind(end.duration_ms)
                .bind(s.created_at)
                .bind(end.finished_at)
                .bind(s.job_id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, trigger_type, args, \
                     status, attempt, created_at, job_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 'RUNNING', $8, $9, $10) \
                     ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id, version_number = excluded.version_number, \
                     status = excluded.status, attempt = excluded.attempt, created_at = excluded.created_at",
                )
                .bind(s.id)
                .bind(s.application_id)
                .bind(s.function_id)
                .bind(s.version_id)
                .bind(s.version_number)
                .bind(&*s.trigger_type)
                .bind(&*s.args)
                .bind(s.attempt)
                .bind(s.created_at)
                .bind(s.job_id)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    for f in finished.values() {
        sqlx::query(
            "UPDATE invocations SET status = $1, result = $2, error = $3, logs = $4, duration_ms = $5, finished_at = $6 \
             WHERE id = $7 AND application_id = $8",
        )
        .bind(f.status)
        .bind(f.result.clone())
        .bind(f.error.clone())
        .bind(f.logs.clone())
        .bind(f.duration_ms)
        .bind(f.finished_at)
        .bind(f.id)
        .bind(f.application_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
