//! Invocation records and queued jobs, written in batches off the hot path.
//!
//! A dispatcher hands the recorder "started" and "finished" events and moves
//! on; accepted events, claims of due jobs and lease extensions go through
//! the same writer, which takes whatever has queued up as one round (a start
//! and finish of the same invocation in one round become one row). Ids are
//! made here, not by the database, so callers know an invocation's id before
//! it is written.
//!
//! Two writers share this interface. On SQLite (one host) a thread owns its
//! own connection and commits each round in one transaction, with nothing
//! handed between threads per statement. On PostgreSQL (hosts sharing the
//! store) a task writes each round through the pool in multi-row statements.

mod postgres;
mod sqlite;

use crate::store::{InvocationState, JobState};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::store::{now_millis, Backend, Store, StoreError, StoreResult};

/// The error recorded on an attempt whose host stopped before it finished
/// (a crash, `kill -9`, a lapsed lease); a queued event runs again.
pub(crate) const INTERRUPTED: &str =
    r#"{"name":"InterruptedError","message":"the host running this invocation stopped before it finished"}"#;

/// Largest round written at once.
const MAX_ROUND: usize = 512;

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
    pub status: InvocationState,
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
    pub status: JobState,
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

/// A due job this host claimed (its lease runs until the claim's `lease_until`).
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub application_id: i64,
    pub trigger_type: String,
    pub event: Arc<str>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub max_attempts: i64,
    /// The first attempt's invocation (written QUEUED when accepted).
    pub invocation_id: i64,
}

/// Claim due jobs (a write: it goes through the writer like every other).
pub struct Claim {
    /// Applications to give a share first (those with pending work).
    pub applications: Vec<i64>,
    pub limit: i64,
    pub per_application: i64,
    pub lease_until: i64,
    pub reply: oneshot::Sender<Result<Vec<ClaimedJob>, String>>,
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
    /// Write what came before, then stop.
    Close(oneshot::Sender<()>),
}

/// What one round writes, grouped by kind, in the order it is applied:
/// accepted events, lease extensions, claims, then records and job states.
#[derive(Default)]
struct Round {
    enqueues: Vec<Enqueue>,
    extends: Vec<(i64, i64)>,
    claims: Vec<Claim>,
    /// Started and finished within the round: one row each.
    complete: Vec<(Started, Finished)>,
    /// Started, still running.
    running: Vec<Started>,
    /// Finished, started in an earlier round.
    ended: Vec<Finished>,
    jobs: Vec<JobDone>,
    flushes: Vec<oneshot::Sender<()>>,
    close: Option<oneshot::Sender<()>>,
}

impl Round {
    fn new(writes: impl IntoIterator<Item = Write>) -> Round {
        let mut round = Round::default();
        let mut started = Vec::new();
        let mut finished: HashMap<i64, Finished> = HashMap::new();
        for write in writes {
            match write {
                Write::Claim(c) => round.claims.push(c),
                Write::Extend { job_id, until } => round.extends.push((job_id, until)),
                Write::Started(s) => started.push(s),
                Write::Finished(f) => {
                    finished.insert(f.id, f);
                }
                Write::JobDone(j) => round.jobs.push(j),
                Write::Enqueue(e) => round.enqueues.push(e),
                Write::Flush(done) => round.flushes.push(done),
                Write::Close(done) => round.close = Some(done),
            }
        }
        for s in started {
            match finished.remove(&s.id) {
                Some(end) => round.complete.push((s, end)),
                None => round.running.push(s),
            }
        }
        round.ended = finished.into_values().collect();
        round
    }

    fn has_records(&self) -> bool {
        !(self.complete.is_empty() && self.running.is_empty() && self.ended.is_empty() && self.jobs.is_empty())
    }

    /// Refuses what waits for an answer (the platform retries an event).
    fn refuse(&mut self, why: &str) {
        for e in self.enqueues.drain(..) {
            let _ = e.reply.send(Err(format!("the event could not be stored: {why}")));
        }
        for c in self.claims.drain(..) {
            let _ = c.reply.send(Err(why.to_string()));
        }
    }

    /// Everything up to here is written: tell those waiting.
    fn done(self) -> Option<oneshot::Sender<()>> {
        for done in self.flushes {
            let _ = done.send(());
        }
        self.close
    }
}

/// The records of a round that failed, kept to be written again (records
/// may not be lost; accepted events and claims are refused instead).
fn records_only(round: &mut Round) -> Round {
    Round {
        complete: std::mem::take(&mut round.complete),
        running: std::mem::take(&mut round.running),
        ended: std::mem::take(&mut round.ended),
        jobs: std::mem::take(&mut round.jobs),
        ..Round::default()
    }
}

#[derive(Clone)]
pub struct Recorder {
    writes: flume::Sender<Write>,
    ids: Arc<IdSource>,
    /// PostgreSQL: the session holding this host's id tag (see `IdSource`),
    /// until the recorder closes.
    host_tag: HostTagSession,
}

/// Milliseconds of ids count from 2024-01-01.
const ID_EPOCH_MS: i64 = 1_704_067_200_000;
const SEQUENCE_BITS: u32 = 7;
const TAG_BITS: u32 = 5;

/// Invocation and job ids: ordered by time, and below 2^53 so that a
/// JavaScript number (ChatKitty's SDK, a browser) holds them exactly. 41
/// bits of milliseconds (69 years), 7 of sequence (a burst of more than 128
/// in a millisecond borrows the next one) and 5 naming the host, so hosts
/// sharing a store never make the same id. A store written by an earlier
/// chatfn, whose ids were larger, keeps counting up from its largest.
struct IdSource {
    tag: u64,
    /// Time and sequence of the last id.
    last: AtomicU64,
}

impl IdSource {
    fn new(tag: u64, largest_stored: i64) -> IdSource {
        IdSource { tag, last: AtomicU64::new(largest_stored.max(0) as u64 >> TAG_BITS) }
    }

    fn next(&self) -> i64 {
        let now = ((now_millis() - ID_EPOCH_MS).max(0) as u64) << SEQUENCE_BITS;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = if now > last { now } else { last + 1 };
            match self.last.compare_exchange_weak(last, candidate, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return (candidate << TAG_BITS | self.tag) as i64,
                Err(seen) => last = seen,
            }
        }
    }
}

type HostTagSession = Arc<parking_lot::Mutex<Option<sqlx::AnyConnection>>>;

/// This host's id tag. On SQLite there is one host: 0. On PostgreSQL the
/// first of 32 advisory locks this session gets; it is held as long as the
/// session lives and freed when the host dies.
async fn host_tag(store: &Store) -> StoreResult<(u64, HostTagSession)> {
    use sqlx::Row;
    if store.backend() == Backend::Sqlite {
        return Ok((0, HostTagSession::default()));
    }
    // "chatfn" in ASCII, then the tag.
    const LOCK_BASE: i64 = 0x6368_6174_666e_0000;
    let mut session = store.pool().acquire().await?.detach();
    for tag in 0..(1u64 << TAG_BITS) {
        let taken: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS taken")
            .bind(LOCK_BASE + tag as i64)
            .fetch_one(&mut session)
            .await?
            .try_get("taken")?;
        if taken {
            // Invocations a previous host with this tag left RUNNING outside
            // any job (blocking calls) were cut short: no live host has the tag.
            // Queued jobs' attempts are failed when their lapsed jobs are claimed.
            let failed = sqlx::query(
                "UPDATE invocations SET status = 'FAILED', error = $1, finished_at = $2 \
                 WHERE status = 'RUNNING' AND job_id IS NULL AND id % $3 = $4",
            )
            .bind(INTERRUPTED)
            .bind(now_millis())
            .bind(1i64 << TAG_BITS)
            .bind(tag as i64)
            .execute(&mut session)
            .await?
            .rows_affected();
            if failed > 0 {
                tracing::warn!(failed, tag, "failed blocking invocations a previous host with this tag left running");
            }
            return Ok((tag, Arc::new(parking_lot::Mutex::new(Some(session)))));
        }
    }
    Err(StoreError::Unavailable(format!("at most {} hosts can share one store", 1u64 << TAG_BITS)))
}

impl Recorder {
    pub async fn start(store: Store) -> StoreResult<Recorder> {
        let (writes, inbox) = flume::unbounded();
        let largest: i64 = {
            use sqlx::Row;
            sqlx::query(
                "SELECT COALESCE((SELECT MAX(id) FROM invocations), 0) AS i, COALESCE((SELECT MAX(id) FROM jobs), 0) AS j",
            )
            .fetch_one(store.pool())
            .await
            .and_then(|row| Ok(row.try_get::<i64, _>("i")?.max(row.try_get::<i64, _>("j")?)))?
        };
        let (tag, host_tag_session) = host_tag(&store).await?;
        let ids = Arc::new(IdSource::new(tag, largest));
        match store.backend() {
            Backend::Sqlite => {
                let path = store.sqlite_file().expect("an SQLite store has a file").to_path_buf();
                let connection = sqlite::open(&path).map_err(|e| {
                    StoreError::Unavailable(format!("the recorder cannot open {}: {e}", path.display()))
                })?;
                let ids = ids.clone();
                std::thread::Builder::new()
                    .name("chatfn-recorder".into())
                    .spawn(move || sqlite::write_rounds(connection, inbox, &ids))
                    .map_err(|e| StoreError::Unavailable(format!("the recorder thread cannot start: {e}")))?;
            }
            Backend::Postgres => {
                tokio::spawn(postgres::write_rounds(store, inbox, ids.clone()));
            }
        }
        Ok(Recorder { writes, ids, host_tag: host_tag_session })
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
    ) -> StoreResult<Vec<ClaimedJob>> {
        let (reply, rows) = oneshot::channel();
        if self.writes.send(Write::Claim(Claim { applications, limit, per_application, lease_until, reply })).is_err() {
            return Ok(Vec::new());
        }
        rows.await.unwrap_or_else(|_| Ok(Vec::new())).map_err(StoreError::Unavailable)
    }

    pub fn extend_lease(&self, job_id: i64, until: i64) {
        let _ = self.writes.send(Write::Extend { job_id, until });
    }

    pub fn job_done(&self, done: JobDone) {
        let _ = self.writes.send(Write::JobDone(done));
    }

    /// Hands over an event to store; its `reply` answers after the commit.
    pub fn enqueue(&self, enqueue: Enqueue) {
        if let Err(flume::SendError(Write::Enqueue(e))) = self.writes.send(Write::Enqueue(enqueue)) {
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

    /// Writes everything handed over so far and stops the writer (before
    /// the store closes); later writes are refused.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.writes.send(Write::Close(done)).is_ok() {
            let _ = wait.await;
        }
        // Give the host's id tag back (the session ends with the connection).
        drop(self.host_tag.lock().take());
    }
}

#[cfg(test)]
mod tests {
    use super::IdSource;

    const JS_SAFE: i64 = (1 << 53) - 1;

    #[test]
    fn ids_grow_name_their_host_and_fit_a_javascript_number() {
        let (a, b) = (IdSource::new(3, 0), IdSource::new(4, 0));
        let ids: Vec<i64> = (0..1_000).map(|_| a.next()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing, bursts included");
        assert!(ids.iter().all(|&id| id > 0 && id <= JS_SAFE && id & 31 == 3));
        let other = b.next();
        assert_eq!(other & 31, 4);
        assert!(!ids.contains(&other), "another host never makes the same id");
    }

    #[test]
    fn a_store_with_larger_ids_keeps_counting_up() {
        let earlier = 7_530_738_194_474_893_312;
        let ids = IdSource::new(0, earlier);
        let (first, second) = (ids.next(), ids.next());
        assert!(earlier < first && first < second, "{earlier} {first} {second}");
    }
}
