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

/// A job's state after an attempt.
#[derive(Debug, Clone)]
pub struct JobDone {
    pub job_id: i64,
    /// SUCCEEDED, QUEUED (to retry at `run_at`) or FAILED.
    pub status: &'static str,
    pub run_at: i64,
    pub last_error: Option<String>,
}

/// A non-blocking event to store as a job with its first (QUEUED) attempt.
pub struct Enqueue {
    pub application_id: i64,
    pub function_id: i64,
    pub version_id: i64,
    pub version_number: i64,
    pub trigger_type: String,
    pub event: Arc<str>,
    pub idempotency_key: Option<String>,
    pub max_attempts: i64,
    /// The first attempt's invocation id, and whether the key was seen before;
    /// sent once committed.
    pub reply: oneshot::Sender<Result<(i64, bool), String>>,
}

/// Claim due jobs (a write: it goes through the writer like every other).
pub struct Claim {
    /// Applications to give a share first (those with pending work).
    pub applications: Vec<i64>,
    pub limit: i64,
    pub per_application: i64,
    pub lease_until: i64,
    pub reply: oneshot::Sender<Result<Vec<sqlx::any::AnyRow>, sqlx::Error>>,
}

enum Write {
    Claim(Claim),
    /// Extend a running job's lease.
    Extend {
        job_id: i64,
        until: i64,
    },
    Started(Started),
    Finished(Finished),
    JobDone(JobDone),
    Enqueue(Enqueue),
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
        let ids = Arc::new(IdSource { tag: rand::random::<u64>() & 0xFF, last: AtomicU64::new(0) });
        tokio::spawn(write_batches(store, inbox, ids.clone()));
        Recorder { writes, ids }
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

    pub async fn claim(
        &self,
        applications: Vec<i64>,
        limit: i64,
        per_application: i64,
        lease_until: i64,
    ) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
        let (reply, rows) = oneshot::channel();
        if self.writes.send(Write::Claim(Claim { applications, limit, per_application, lease_until, reply })).is_err() {
            return Ok(Vec::new());
        }
        rows.await.unwrap_or_else(|_| Ok(Vec::new()))
    }

    pub fn extend_lease(&self, job_id: i64, until: i64) {
        let _ = self.writes.send(Write::Extend { job_id, until });
    }

    pub fn job_done(&self, done: JobDone) {
        let _ = self.writes.send(Write::JobDone(done));
    }

    /// Hands over an event to store; its `reply` answers after the commit.
    pub fn enqueue(&self, enqueue: Enqueue) {
        if let Err(mpsc::error::SendError(Write::Enqueue(e))) = self.writes.send(Write::Enqueue(enqueue)) {
            let _ = e.reply.send(Err("the server is shutting down".into()));
        }
    }

    /// Waits until everything handed over so far is committed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.writes.send(Write::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// The one task that writes invocations and jobs: on SQLite, a single
/// writer never waits on another for the write lock.
/// How long the writer keeps its connection with nothing to write.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_millis(100);

/// The writer's own connection, kept from round to round while there is work
/// so its prepared statements stay cached (the pool would hand out any of
/// its connections), and given back when idle so that the store can close.
struct Connection {
    store: Store,
    held: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
}

impl Connection {
    async fn get(&mut self) -> Result<&mut sqlx::AnyConnection, sqlx::Error> {
        if self.held.is_none() {
            self.held = Some(self.store.pool().acquire().await?);
        }
        Ok(&mut **self.held.as_mut().expect("acquired above"))
    }

    /// After a failure the connection may be broken: take a fresh one next time.
    fn reset_on<T>(&mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if result.is_err() {
            self.held = None;
        }
        result
    }
}

async fn write_batches(store: Store, mut inbox: mpsc::UnboundedReceiver<Write>, ids: Arc<IdSource>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut conn = Connection { store, held: None };
    loop {
        // Idle for a moment: give the connection back (the store cannot
        // close while it is held).
        let received = match tokio::time::timeout(IDLE_RELEASE, inbox.recv_many(&mut batch, MAX_BATCH)).await {
            Ok(n) => n,
            Err(_idle) => {
                conn.held = None;
                inbox.recv_many(&mut batch, MAX_BATCH).await
            }
        };
        if received == 0 {
            break;
        }
        let mut flushes = Vec::new();
        let mut started: Vec<Started> = Vec::new();
        let mut finished: HashMap<i64, Finished> = HashMap::new();
        let mut jobs: Vec<JobDone> = Vec::new();
        let mut enqueues: Vec<Enqueue> = Vec::new();
        let mut claims: Vec<Claim> = Vec::new();
        let mut extends: Vec<(i64, i64)> = Vec::new();
        for write in batch.drain(..) {
            match write {
                Write::Claim(c) => claims.push(c),
                Write::Extend { job_id, until } => extends.push((job_id, until)),
                Write::Started(s) => started.push(s),
                Write::Finished(f) => {
                    finished.insert(f.id, f);
                }
                Write::JobDone(j) => jobs.push(j),
                Write::Enqueue(e) => enqueues.push(e),
                Write::Flush(done) => flushes.push(done),
            }
        }
        // Accepted events are answered only once committed; if that fails
        // they are refused (the platform retries), not held.
        if !enqueues.is_empty() {
            let committed = match conn.get().await {
                Ok(c) => commit_enqueues(c, &enqueues, &ids).await,
                Err(e) => Err(e),
            };
            match conn.reset_on(committed) {
                Ok(results) => {
                    for (e, result) in enqueues.into_iter().zip(results) {
                        let _ = e.reply.send(Ok(result));
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "storing accepted events failed");
                    for e in enqueues {
                        let _ = e.reply.send(Err(format!("the event could not be stored: {err}")));
                    }
                }
            }
        }
        for (job_id, until) in extends {
            let extended = match conn.get().await {
                Ok(c) => sqlx::query("UPDATE jobs SET locked_until = $1 WHERE id = $2 AND status = 'RUNNING'")
                    .bind(until)
                    .bind(job_id)
                    .execute(c)
                    .await
                    .map(drop),
                Err(e) => Err(e),
            };
            let _ = conn.reset_on(extended);
        }
        for c in claims {
            let rows = match conn.get().await {
                Ok(connection) => claim(connection, &c).await,
                Err(e) => Err(e),
            };
            let _ = c.reply.send(conn.reset_on(rows));
        }
        // Records may not be lost: retry (store down), keeping the order.
        let mut delay = std::time::Duration::from_millis(50);
        loop {
            let committed = match conn.get().await {
                Ok(c) => commit(c, &started, &mut finished.clone(), &jobs).await,
                Err(e) => Err(e),
            };
            match conn.reset_on(committed) {
                Ok(()) => break,
                Err(sqlx::Error::PoolClosed) => {
                    tracing::error!(
                        records = started.len() + finished.len(),
                        "the store closed before these records were written"
                    );
                    break;
                }
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

const CLAIM_RETURNING: &str =
    "RETURNING id, application_id, function_id, trigger_type, event, attempts, max_attempts, invocation_id";

async fn claim(conn: &mut sqlx::AnyConnection, c: &Claim) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    let now = now_millis();
    let mut rows = Vec::new();
    // First a share for each application known to have pending work, so a
    // flood cannot crowd the others out; every lookup is an index range.
    for &application_id in &c.applications {
        let room = c.limit - rows.len() as i64;
        if room <= 0 {
            break;
        }
        let claimed = sqlx::query(&format!(
            "UPDATE jobs SET status = 'RUNNING', attempts = attempts + 1, locked_until = $1 \
             WHERE id IN (SELECT id FROM jobs WHERE application_id = $2 AND status = 'QUEUED' AND run_at <= $3 \
                          ORDER BY run_at LIMIT $4) AND status = 'QUEUED' {CLAIM_RETURNING}"
        ))
        .bind(c.lease_until)
        .bind(application_id)
        .bind(now)
        .bind(room.min(c.per_application))
        .fetch_all(&mut *conn)
        .await?;
        rows.extend(claimed);
    }
    // Then whatever is due anywhere: retries, lapsed leases, events another
    // host accepted.
    let room = c.limit - rows.len() as i64;
    if room > 0 {
        let claimed = sqlx::query(&format!(
            "UPDATE jobs SET status = 'RUNNING', attempts = attempts + 1, locked_until = $1 \
             WHERE (id IN (SELECT id FROM jobs WHERE status = 'QUEUED' AND run_at <= $2 ORDER BY run_at LIMIT $3) \
                    OR id IN (SELECT id FROM jobs WHERE status = 'RUNNING' AND locked_until < $2 LIMIT $3)) \
             AND ((status = 'QUEUED' AND run_at <= $2) OR (status = 'RUNNING' AND locked_until < $2)) {CLAIM_RETURNING}"
        ))
        .bind(c.lease_until)
        .bind(now)
        .bind(room)
        .fetch_all(&mut *conn)
        .await?;
        rows.extend(claimed);
    }
    Ok(rows)
}

/// Rows per multi-row statement, largest first: powers of two, so a batch
/// of any size takes few statements of few shapes (at most seven per kind
/// of write), which stay in the connection's prepared-statement cache
/// instead of being prepared anew. 64 rows of 16 columns are well inside
/// SQLite's and PostgreSQL's parameter limits.
const STATEMENT_ROWS: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// Splits `items` into slices of `STATEMENT_ROWS` sizes.
fn statement_chunks<T>(items: &[T]) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let size = STATEMENT_ROWS.into_iter().find(|&n| n <= rest.len()).expect("1 always fits");
        let (chunk, tail) = rest.split_at(size);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

/// `($1, $2, ...), (...)` for `rows` rows of `columns` parameters.
fn values(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=columns).map(|c| format!("${}", r * columns + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn commit_enqueues(
    conn: &mut sqlx::AnyConnection,
    requests: &[Enqueue],
    ids: &IdSource,
) -> Result<Vec<(i64, bool)>, sqlx::Error> {
    use sqlx::Row;
    let mut tx = sqlx::Connection::begin(conn).await?;
    let mut results = Vec::with_capacity(requests.len());
    // (job id, invocation id, request) of the events to insert.
    let mut fresh: Vec<(i64, i64, &Enqueue)> = Vec::with_capacity(requests.len());
    let mut keys_in_batch: HashMap<(i64, &str), i64> = HashMap::new();
    let now = now_millis();
    for r in requests {
        if let Some(key) = &r.idempotency_key {
            if let Some(&invocation_id) = keys_in_batch.get(&(r.application_id, key.as_str())) {
                results.push((invocation_id, true));
                continue;
            }
            let existing =
                sqlx::query("SELECT invocation_id FROM jobs WHERE application_id = $1 AND idempotency_key = $2")
                    .bind(r.application_id)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(row) = existing {
                results.push((row.try_get("invocation_id")?, true));
                continue;
            }
        }
        let (job_id, invocation_id) = (ids.next(), ids.next());
        if let Some(key) = &r.idempotency_key {
            keys_in_batch.insert((r.application_id, key.as_str()), invocation_id);
        }
        fresh.push((job_id, invocation_id, r));
        results.push((invocation_id, false));
    }
    for chunk in statement_chunks(&fresh) {
        let sql = format!(
            "INSERT INTO jobs (id, application_id, function_id, trigger_type, event, max_attempts, run_at, \
             invocation_id, idempotency_key, created_at, status) SELECT *, 'QUEUED' FROM (VALUES {}) AS v",
            values(chunk.len(), 10)
        );
        let mut q = sqlx::query(&sql);
        for (job_id, invocation_id, r) in chunk {
            q = q
                .bind(*job_id)
                .bind(r.application_id)
                .bind(r.function_id)
                .bind(&r.trigger_type)
                .bind(&*r.event)
                .bind(r.max_attempts)
                .bind(now)
                .bind(*invocation_id)
                .bind(r.idempotency_key.clone())
                .bind(now);
        }
        q.execute(&mut *tx).await?;
        let sql = format!(
            "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, trigger_type, args, \
             created_at, job_id, status, attempt) SELECT *, 'QUEUED', 1 FROM (VALUES {}) AS v",
            values(chunk.len(), 9)
        );
        let mut q = sqlx::query(&sql);
        for (job_id, invocation_id, r) in chunk {
            q = q
                .bind(*invocation_id)
                .bind(r.application_id)
                .bind(r.function_id)
                .bind(r.version_id)
                .bind(r.version_number)
                .bind(&r.trigger_type)
                .bind(&*r.event)
                .bind(now)
                .bind(*job_id);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(results)
}

async fn commit(
    conn: &mut sqlx::AnyConnection,
    started: &[Started],
    finished: &mut HashMap<i64, Finished>,
    jobs: &[JobDone],
) -> Result<(), sqlx::Error> {
    if started.is_empty() && finished.is_empty() && jobs.is_empty() {
        return Ok(());
    }
    // Each kind of write is one multi-row statement per chunk: row-at-a-time
    // statements were a third of the CPU under load.
    let (mut complete, mut running) = (Vec::new(), Vec::new());
    for s in started {
        match finished.remove(&s.id) {
            Some(end) => complete.push((s, end)),
            None => running.push(s),
        }
    }
    let ended: Vec<&Finished> = finished.values().collect();
    let mut tx = sqlx::Connection::begin(conn).await?;
    // A queued job's first attempt was written (QUEUED) when the event was
    // accepted: the attempt takes that row over.
    for chunk in statement_chunks(&complete) {
        let sql = format!(
            "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, trigger_type, args, \
             status, result, error, logs, attempt, duration_ms, created_at, finished_at, job_id) VALUES {} \
             ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id, version_number = excluded.version_number, \
             status = excluded.status, result = excluded.result, error = excluded.error, logs = excluded.logs, \
             attempt = excluded.attempt, duration_ms = excluded.duration_ms, created_at = excluded.created_at, \
             finished_at = excluded.finished_at",
            values(chunk.len(), 16)
        );
        let mut q = sqlx::query(&sql);
        for (s, end) in chunk {
            q = q
                .bind(s.id)
                .bind(s.application_id)
                .bind(s.function_id)
                .bind(s.version_id)
                .bind(s.version_number)
                .bind(&*s.trigger_type)
                .bind(&*s.args)
                .bind(end.status)
                .bind(end.result.as_deref())
                .bind(end.error.as_deref())
                .bind(end.logs.as_str())
                .bind(s.attempt)
                .bind(end.duration_ms)
                .bind(s.created_at)
                .bind(end.finished_at)
                .bind(s.job_id);
        }
        q.execute(&mut *tx).await?;
    }
    // Still running: bind none of the end columns (sqlx's Any driver cannot
    // bind a NULL DOUBLE for PostgreSQL).
    for chunk in statement_chunks(&running) {
        let sql = format!(
            "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, trigger_type, args, \
             attempt, created_at, job_id, status) SELECT *, 'RUNNING' FROM (VALUES {}) AS v WHERE true \
             ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id, version_number = excluded.version_number, \
             status = excluded.status, attempt = excluded.attempt, created_at = excluded.created_at",
            values(chunk.len(), 10)
        );
        let mut q = sqlx::query(&sql);
        for s in chunk {
            q = q
                .bind(s.id)
                .bind(s.application_id)
                .bind(s.function_id)
                .bind(s.version_id)
                .bind(s.version_number)
                .bind(&*s.trigger_type)
                .bind(&*s.args)
                .bind(s.attempt)
                .bind(s.created_at)
                .bind(s.job_id);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in statement_chunks(&ended) {
        let sql = format!(
            "WITH v (id, application_id, status, result, error, logs, duration_ms, finished_at) AS (VALUES {}) \
             UPDATE invocations SET status = v.status, result = v.result, error = v.error, logs = v.logs, \
             duration_ms = v.duration_ms, finished_at = v.finished_at \
             FROM v WHERE invocations.id = v.id AND invocations.application_id = v.application_id",
            values(chunk.len(), 8)
        );
        let mut q = sqlx::query(&sql);
        for f in chunk {
            q = q
                .bind(f.id)
                .bind(f.application_id)
                .bind(f.status)
                .bind(f.result.as_deref())
                .bind(f.error.as_deref())
                .bind(f.logs.as_str())
                .bind(f.duration_ms)
                .bind(f.finished_at);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in statement_chunks(jobs) {
        let sql = format!(
            "WITH v (id, status, run_at, last_error) AS (VALUES {}) \
             UPDATE jobs SET status = v.status, run_at = v.run_at, locked_until = NULL, last_error = v.last_error \
             FROM v WHERE jobs.id = v.id",
            values(chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for j in chunk {
            q = q.bind(j.job_id).bind(j.status).bind(j.run_at).bind(j.last_error.as_deref());
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::statement_chunks;

    #[test]
    fn batches_split_into_few_statement_shapes() {
        let rows: Vec<u32> = (0..100).collect();
        let sizes: Vec<usize> = statement_chunks(&rows).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [64, 32, 4]);
        let sizes: Vec<usize> = statement_chunks(&rows[..31]).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [16, 8, 4, 2, 1]);
        assert_eq!(statement_chunks(&rows).concat(), rows, "every row once, in order");
        assert!(statement_chunks::<u32>(&[]).is_empty());
    }
}
