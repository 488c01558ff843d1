//! Invocations and jobs: every statement that writes them, and the queue's
//! queries. One home, so that the two backends share their SQL (`sql.rs`).
//!
//! Records are written in batches off the hot path.
//! A dispatcher hands the recorder "started" and "finished" events and moves
//! on; accepted events, claims of due jobs and lease extensions go through
//! the same writer, which takes whatever has queued up as one round (on SQLite a
//! round of records first gathers for a millisecond; a start and finish of
//! the same invocation in one round become one row). Ids are
//! minted by the host (`ids.rs`).
//!
//! Two writers share this interface. On SQLite (one host) a thread owns its
//! own connection and commits each round in one transaction, with nothing
//! handed between threads per statement. On PostgreSQL (hosts sharing the
//! store) a task writes each round through the pool in multi-row statements,
//! and accepted events and claims, which someone waits on, go instead to
//! lanes of their own beside it (`postgres::Lanes`).

mod ids;
mod postgres;
mod queue;

pub use queue::Retention;
pub(super) mod sql;
mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::store::{Backend, InvocationState, JobState, Store, StoreError, StoreResult};
use ids::{HostTagSession, IdSource};

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
    /// A test run (hidden from the log unless asked for).
    pub test: bool,
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
    /// The invocation's span: the write is traced under it.
    pub span: tracing::Span,
}

/// A job's state after an attempt.
#[derive(Debug, Clone)]
pub struct JobDone {
    pub job_id: i64,
    pub status: JobState,
    pub run_at: i64,
    pub last_error: Option<String>,
}

/// A non-blocking event to store as a job (its first attempt QUEUED in the
/// invocation log until it starts).
pub struct Enqueue {
    pub application_id: i64,
    pub function_id: i64,
    pub version_id: i64,
    pub version_number: i64,
    pub trigger_type: String,
    pub event: Arc<str>,
    pub idempotency_key: Option<String>,
    pub max_attempts: i64,
    /// Set when this host runs the event at once: the job is stored as
    /// claimed (RUNNING, its first attempt under way, leased until then),
    /// with no claim of its own to write and wait for later.
    pub lease_until: Option<i64>,
    /// Sent once committed.
    pub reply: oneshot::Sender<Result<Stored, String>>,
}

/// What storing an accepted event gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub job_id: i64,
    /// The first attempt's invocation.
    pub invocation_id: i64,
    /// The idempotency key was seen before: these are the earlier event's
    /// ids, and nothing new was stored (nor claimed).
    pub duplicate: bool,
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
    /// The first attempt's invocation (recorded when it starts).
    pub invocation_id: i64,
}

/// Claim due jobs (a write: on SQLite it goes through the writer like every other).
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

    /// One `recorder.write` span per finished invocation in the round,
    /// under that invocation's span: open while the round is written.
    fn write_spans(&self) -> Vec<tracing::Span> {
        let finished = self.complete.iter().map(|(_, f)| f).chain(&self.ended);
        finished.map(|f| tracing::info_span!(parent: &f.span, "recorder.write", invocation_id = f.id)).collect()
    }

    /// Writes in the round, as counted in the metrics.
    fn writes(&self) -> usize {
        self.complete.len() + self.running.len() + self.ended.len() + self.jobs.len() + self.enqueues.len()
    }

    /// Nothing to commit (flushes only).
    fn writes_nothing(&self) -> bool {
        self.enqueues.is_empty() && self.claims.is_empty() && self.extends.is_empty() && !self.has_records()
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

/// A round's records, each as a round of its own, in order: after a round
/// broke a constraint (which retrying cannot mend), they are written one at
/// a time, so that the record at fault is dropped and the others are kept.
fn one_by_one(round: Round) -> Vec<Round> {
    let complete = round.complete.into_iter().map(|c| Round { complete: vec![c], ..Round::default() });
    let running = round.running.into_iter().map(|s| Round { running: vec![s], ..Round::default() });
    let ended = round.ended.into_iter().map(|f| Round { ended: vec![f], ..Round::default() });
    let jobs = round.jobs.into_iter().map(|j| Round { jobs: vec![j], ..Round::default() });
    complete.chain(running).chain(ended).chain(jobs).collect()
}

/// What a round of one record writes, for the log line that drops it.
fn describe(round: &Round) -> String {
    let invocation = round.complete.first().map(|(s, _)| s.id).or(round.running.first().map(|s| s.id));
    match (invocation.or(round.ended.first().map(|f| f.id)), round.jobs.first()) {
        (Some(id), _) => format!("invocation {id}"),
        (None, Some(job)) => format!("job {}", job.job_id),
        (None, None) => "nothing".into(),
    }
}

#[derive(Clone)]
pub struct Recorder {
    writes: flume::Sender<Write>,
    /// The SQLite writer's thread, unparked by a write that someone waits
    /// on, so that a round gathering records commits now.
    hurry: Option<std::thread::Thread>,
    /// PostgreSQL: where accepted events are stored and jobs claimed,
    /// beside the writer of records.
    lanes: Option<postgres::Lanes>,
    ids: Arc<IdSource>,
    /// PostgreSQL: the session holding this host's id tag (see `IdSource`),
    /// until the recorder closes.
    host_tag: HostTagSession,
}

impl Recorder {
    /// Starts the writer; each committed round is counted in `metrics`.
    pub async fn start(store: Store, metrics: crate::observe::Metrics) -> StoreResult<Recorder> {
        let (writes, inbox) = flume::unbounded();
        let (ids, host_tag_session) = ids::start(&store).await?;
        let lanes = (store.backend() == Backend::Postgres).then(|| postgres::Lanes::start(&store, &ids, &metrics));
        let hurry = match store.backend() {
            Backend::Sqlite => {
                let path = store.sqlite_file().expect("an SQLite store has a file").to_path_buf();
                let connection = sqlite::open(&path).map_err(|e| {
                    StoreError::Unavailable(format!("the recorder cannot open {}: {e}", path.display()))
                })?;
                let ids = ids.clone();
                let writer = std::thread::Builder::new()
                    .name("chatfn-recorder".into())
                    .spawn(move || sqlite::write_rounds(connection, inbox, &ids, &metrics))
                    .map_err(|e| StoreError::Unavailable(format!("the recorder thread cannot start: {e}")))?;
                Some(writer.thread().clone())
            }
            Backend::Postgres => {
                tokio::spawn(postgres::write_rounds(store, inbox, metrics));
                None
            }
        };
        Ok(Recorder { writes, hurry, lanes, ids, host_tag: host_tag_session })
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
        let claim = Claim { applications, limit, per_application, lease_until, reply };
        match &self.lanes {
            Some(lanes) => lanes.claim(claim),
            None => {
                if self.writes.send(Write::Claim(claim)).is_err() {
                    return Ok(Vec::new());
                }
                self.hurry();
            }
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
        if let Some(lanes) = &self.lanes {
            return lanes.enqueue(enqueue);
        }
        if let Err(flume::SendError(Write::Enqueue(e))) = self.writes.send(Write::Enqueue(enqueue)) {
            let _ = e.reply.send(Err("the server is shutting down".into()));
        }
        self.hurry();
    }

    /// Someone waits on the write just sent (an accepted event, a claim).
    fn hurry(&self) {
        if let Some(writer) = &self.hurry {
            writer.unpark();
        }
    }

    /// Waits until everything handed over so far is committed.
    pub async fn flush(&self) {
        if let Some(lanes) = &self.lanes {
            lanes.settled().await;
        }
        let (done, wait) = oneshot::channel();
        if self.writes.send(Write::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Writes everything handed over so far and stops the writer (before
    /// the store closes); later writes are refused.
    pub async fn close(&self) {
        if let Some(lanes) = &self.lanes {
            lanes.close().await;
        }
        let (done, wait) = oneshot::channel();
        if self.writes.send(Write::Close(done)).is_ok() {
            let _ = wait.await;
        }
        // Give the host's id tag back (the session ends with the connection).
        drop(self.host_tag.lock().take());
    }
}
