//! The PostgreSQL writer: a task writing each round of records through the
//! pool, in multi-row statements (each statement is a round trip to the
//! server), and the lanes that store accepted events and claim jobs.
//! Claims take rows only if they are still due when updated, so hosts
//! sharing the store never run one job twice at once.

use std::collections::HashMap;
use std::sync::Arc;

use super::ids::IdSource;
use super::sql::{self, values};
use super::{describe, one_by_one, records_only, Claim, ClaimedJob, Enqueue, Round, Stored, Write, MAX_ROUND};
use crate::store::{now_millis, Store};

/// Rounds of accepted events and claims written at once, each on a
/// connection of its own from the pool.
const LANES: usize = 4;

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
    /// The next message; idle for a moment, the connection is given back
    /// first (the store cannot close while it is held).
    async fn next<T>(&mut self, inbox: &flume::Receiver<T>) -> Result<T, flume::RecvError> {
        match tokio::time::timeout(IDLE_RELEASE, inbox.recv_async()).await {
            Ok(next) => next,
            Err(_idle) => {
                self.held = None;
                inbox.recv_async().await
            }
        }
    }

    /// Runs `write` on the connection (taken from the pool if need be);
    /// after a failure it may be broken, and the next write takes a fresh one.
    async fn run<T>(
        &mut self,
        write: impl AsyncFnOnce(&mut sqlx::AnyConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        if self.held.is_none() {
            self.held = Some(self.store.pool().acquire().await?);
        }
        let done = write(&mut **self.held.as_mut().expect("acquired above")).await;
        if done.is_err() {
            self.held = None;
        }
        done
    }
}

pub async fn write_rounds(store: Store, inbox: flume::Receiver<Write>, metrics: crate::observe::Metrics) {
    let mut conn = Connection { store, held: None };
    loop {
        let first = conn.next(&inbox).await;
        let Ok(first) = first else { break };
        let mut round = Round::new(std::iter::once(first).chain(inbox.try_iter().take(MAX_ROUND - 1)));
        let spans = round.write_spans();
        let (started, writes) = (std::time::Instant::now(), round.writes());
        // The recorder hands accepted events and claims to the `Lanes`.
        debug_assert!(round.enqueues.is_empty() && round.claims.is_empty());
        for (job_id, until) in std::mem::take(&mut round.extends) {
            let _ = conn.run(async |c| sqlx::query(sql::EXTEND_LEASE).bind(until).bind(job_id).execute(c).await).await;
        }
        if round.has_records() {
            match keep_committing(&mut conn, &round).await {
                Ok(()) => {}
                Err(e) if breaks_a_constraint(&e) => {
                    tracing::error!(error = %e, "a round of records breaks a constraint; writing them one at a time");
                    for record in one_by_one(records_only(&mut round)) {
                        if let Err(e) = keep_committing(&mut conn, &record).await {
                            tracing::error!(error = %e, record = describe(&record), "dropped a record that cannot be written");
                            metrics.record_dropped();
                        }
                    }
                }
                Err(_closed) => tracing::error!(
                    records = round.complete.len() + round.running.len() + round.ended.len(),
                    "the store closed before these records were written"
                ),
            }
        }
        if writes > 0 {
            metrics.recorder_round(writes, started.elapsed());
        }
        drop(spans);
        if let Some(close) = round.done() {
            let _ = close.send(());
            break;
        }
    }
}

/// The writes someone waits on, accepted events and claims, written beside
/// the writer of records: on PostgreSQL each commit waits for the server's
/// fsync, and a writer that stored events and claimed jobs between its
/// rounds of records (9 ms each under load) accepted a quarter of what it
/// accepted with the queue idle. `LANES` tasks take what has queued up as
/// one round each, on connections of their own. Neither needs the records'
/// order: an event's records come after it is answered, and a claim takes
/// only rows still due (`SKIP LOCKED`).
#[derive(Clone)]
pub(super) struct Lanes {
    to: flume::Sender<Lane>,
    /// Events handed over and not yet answered, and a notice when that
    /// falls to none.
    unanswered: Arc<(std::sync::atomic::AtomicUsize, tokio::sync::Notify)>,
}

enum Lane {
    Enqueue(Enqueue),
    Claim(Claim),
    /// Stops a lane (`close`).
    Stop,
}

impl Lanes {
    pub(super) fn start(store: &Store, ids: &Arc<IdSource>, metrics: &crate::observe::Metrics) -> Lanes {
        let (to, inbox) = flume::unbounded();
        let lanes = Lanes { to, unanswered: Arc::default() };
        for _ in 0..LANES {
            tokio::spawn(lanes.clone().run(store.clone(), inbox.clone(), ids.clone(), metrics.clone()));
        }
        lanes
    }

    pub(super) fn enqueue(&self, enqueue: Enqueue) {
        self.unanswered.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if let Err(flume::SendError(Lane::Enqueue(e))) = self.to.send(Lane::Enqueue(enqueue)) {
            self.answered(1);
            let _ = e.reply.send(Err("the server is shutting down".into()));
        }
    }

    /// Once stopped, a claim's reply is dropped: its caller takes that as
    /// nothing claimed.
    pub(super) fn claim(&self, claim: Claim) {
        let _ = self.to.send(Lane::Claim(claim));
    }

    fn answered(&self, events: usize) {
        if self.unanswered.0.fetch_sub(events, std::sync::atomic::Ordering::AcqRel) == events {
            self.unanswered.1.notify_waiters();
        }
    }

    /// Waits until every event handed over so far is answered (and any
    /// handed over meanwhile).
    pub(super) async fn settled(&self) {
        loop {
            let settled = self.unanswered.1.notified();
            if self.unanswered.0.load(std::sync::atomic::Ordering::Acquire) == 0 {
                return;
            }
            settled.await;
        }
    }

    /// Once settled: the lanes stop, giving their connections back; later
    /// events are refused.
    pub(super) async fn close(&self) {
        self.settled().await;
        for _ in 0..LANES {
            let _ = self.to.send(Lane::Stop);
        }
    }

    async fn run(
        self,
        store: Store,
        inbox: flume::Receiver<Lane>,
        ids: Arc<IdSource>,
        metrics: crate::observe::Metrics,
    ) {
        let mut conn = Connection { store, held: None };
        loop {
            let first = match conn.next(&inbox).await {
                Ok(Lane::Stop) | Err(_) => break,
                Ok(first) => first,
            };
            // A stop taken here belongs to another lane: passed on.
            let (mut enqueues, mut claims, mut stops) = (Vec::new(), Vec::new(), 0);
            for next in std::iter::once(first).chain(inbox.try_iter().take(MAX_ROUND - 1)) {
                match next {
                    Lane::Enqueue(e) => enqueues.push(e),
                    Lane::Claim(c) => claims.push(c),
                    Lane::Stop => stops += 1,
                }
            }
            if !enqueues.is_empty() {
                let (events, started) = (enqueues.len(), std::time::Instant::now());
                accept(&mut conn, enqueues, &ids).await;
                metrics.recorder_round(events, started.elapsed());
                self.answered(events);
            }
            for c in claims {
                claim_and_answer(&mut conn, c).await;
            }
            for _ in 0..stops {
                let _ = self.to.send(Lane::Stop);
            }
        }
    }
}

/// Stores one event. A keyed event that meets its key at the unique index
/// was stored by another lane meanwhile, committed once this fails: the
/// next try finds it and answers with it (a second lane's event with the
/// key may have been in flight too, hence a few tries).
async fn store_alone(conn: &mut Connection, e: &Enqueue, ids: &IdSource) -> Result<Stored, sqlx::Error> {
    let mut tries = 0;
    loop {
        match conn.run(async |c| commit_enqueues(c, std::slice::from_ref(e), ids).await).await {
            Err(err)
                if (breaks_a_constraint(&err) && e.idempotency_key.is_some() || lost_to_another_lane(&err))
                    && tries < LANES =>
            {
                tries += 1
            }
            answer => return answer.map(|mut results| results.remove(0)),
        }
    }
}

/// Two lanes storing keyed events in opposite orders wait on each other at
/// the unique index, and the server aborts one (`deadlock_detected`): its
/// events are stored again, one at a time, which cannot deadlock.
fn lost_to_another_lane(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("40P01"))
}

async fn claim_and_answer(conn: &mut Connection, c: Claim) {
    let jobs = conn.run(async |connection| claim(connection, &c).await).await;
    let _ = c.reply.send(jobs.map_err(|e| e.to_string()));
}

/// Stores a round's accepted events and answers them once committed; if
/// that fails they are refused (the platform retries), not held.
async fn accept(conn: &mut Connection, mut enqueues: Vec<Enqueue>, ids: &IdSource) {
    match conn.run(async |c| commit_enqueues(c, &enqueues, ids).await).await {
        Ok(results) => {
            for (e, result) in enqueues.drain(..).zip(results) {
                let _ = e.reply.send(Ok(result));
            }
        }
        // One event at fault (its function deleted meanwhile, or its
        // idempotency key stored by another lane at the same moment) must
        // not refuse the others: each on its own, which then finds the
        // other lane's event by its key. So too after a deadlock with
        // another lane.
        Err(err) if breaks_a_constraint(&err) || lost_to_another_lane(&err) => {
            tracing::error!(error = %err, "storing accepted events failed; storing them one at a time");
            for e in enqueues {
                let answer = store_alone(conn, &e, ids).await;
                let _ = e.reply.send(answer.map_err(|err| format!("the event could not be stored: {err}")));
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

/// Commits a round of records, retrying while the store fails (records may
/// not be lost), keeping the order; gives up only when the store closes or
/// on a constraint the round breaks, which retrying cannot mend.
async fn keep_committing(conn: &mut Connection, round: &Round) -> Result<(), sqlx::Error> {
    let mut delay = std::time::Duration::from_millis(50);
    loop {
        match conn.run(async |c| commit(c, round).await).await {
            Ok(()) => return Ok(()),
            Err(e) if breaks_a_constraint(&e) || matches!(e, sqlx::Error::PoolClosed) => return Err(e),
            Err(e) => {
                tracing::error!(error = %e, "recording invocations failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}

fn breaks_a_constraint(e: &sqlx::Error) -> bool {
    use sqlx::error::ErrorKind;
    matches!(e, sqlx::Error::Database(db) if matches!(db.kind(),
        ErrorKind::UniqueViolation | ErrorKind::ForeignKeyViolation | ErrorKind::NotNullViolation | ErrorKind::CheckViolation))
}

async fn claim(conn: &mut sqlx::AnyConnection, c: &Claim) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    let now = now_millis();
    let mut rows = Vec::new();
    // First a share for each application known to have pending work, so a
    // flood cannot crowd the others out; every lookup is an index range.
    for &application_id in &c.applications {
        let room = c.limit - rows.len() as i64;
        if room <= 0 {
            break;
        }
        let claimed = sqlx::query(sql::CLAIM_SHARE_SKIP_LOCKED)
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
        let claimed = sqlx::query(sql::CLAIM_DUE_SKIP_LOCKED)
            .bind(c.lease_until)
            .bind(now)
            .bind(room)
            .fetch_all(&mut *conn)
            .await?;
        rows.extend(claimed);
    }
    let jobs = rows
        .iter()
        .map(|r| {
            use sqlx::Row;
            Ok(ClaimedJob {
                id: r.try_get("id")?,
                application_id: r.try_get("application_id")?,
                trigger_type: r.try_get("trigger_type")?,
                event: Arc::from(r.try_get::<String, _>("event")?),
                attempts: r.try_get("attempts")?,
                max_attempts: r.try_get("max_attempts")?,
                invocation_id: r.try_get("invocation_id")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // A job claimed again after a lapsed lease: the attempt its host cut
    // short is over, not RUNNING (nor, if it never started, QUEUED).
    for job in jobs.iter().filter(|j| j.attempts > 1) {
        sqlx::query(sql::FAIL_CUT_SHORT_OF_JOB)
            .bind(sql::INTERRUPTED)
            .bind(now)
            .bind(job.id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(sql::RECORD_NEVER_STARTED_OF_JOB)
            .bind(sql::INTERRUPTED)
            .bind(now)
            .bind(job.id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(sql::FAIL_NEVER_STARTED)
            .bind(sql::INTERRUPTED)
            .bind(now)
            .bind(job.invocation_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(jobs)
}

/// Rows per multi-row statement, largest first: powers of two, so a batch
/// of any size takes few statements of few shapes (at most seven per kind
/// of write), which stay in the connection's prepared-statement cache
/// instead of being prepared anew. 64 rows of 16 columns (1,024
/// parameters) are far inside PostgreSQL's limit of 65,535.
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

async fn commit_enqueues(
    conn: &mut sqlx::AnyConnection,
    requests: &[Enqueue],
    ids: &IdSource,
) -> Result<Vec<Stored>, sqlx::Error> {
    use sqlx::Row;
    let mut tx = sqlx::Connection::begin(conn).await?;
    let mut results = Vec::with_capacity(requests.len());
    // (job id, invocation id, request) of the events to insert.
    let mut fresh: Vec<(i64, i64, &Enqueue)> = Vec::with_capacity(requests.len());
    let mut keys_in_batch: HashMap<(i64, &str, &str), Stored> = HashMap::new();
    let now = now_millis();
    for r in requests {
        if let Some(key) = &r.idempotency_key {
            if let Some(&earlier) = keys_in_batch.get(&(r.application_id, r.trigger_type.as_str(), key.as_str())) {
                results.push(Stored { duplicate: true, ..earlier });
                continue;
            }
            let existing = sqlx::query(sql::SEEN_IDEMPOTENCY_KEY)
                .bind(r.application_id)
                .bind(&r.trigger_type)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = existing {
                results.push(Stored {
                    job_id: row.try_get("id")?,
                    invocation_id: row.try_get("invocation_id")?,
                    duplicate: true,
                });
                continue;
            }
        }
        let (job_id, invocation_id) = (ids.next(), ids.next());
        let stored = Stored { job_id, invocation_id, duplicate: false };
        if let Some(key) = &r.idempotency_key {
            keys_in_batch.insert((r.application_id, r.trigger_type.as_str(), key.as_str()), stored);
        }
        fresh.push((job_id, invocation_id, r));
        results.push(stored);
    }
    // Jobs the host claimed as it accepted them, and jobs left for a claim.
    let (claimed, queued): (Vec<_>, Vec<_>) = fresh.iter().partition(|(_, _, r)| r.lease_until.is_some());
    for (jobs, lease) in [(queued, false), (claimed, true)] {
        for chunk in statement_chunks(&jobs) {
            let statement = if lease { sql::insert_claimed_jobs(chunk.len()) } else { sql::insert_jobs(chunk.len()) };
            let mut q = sqlx::query(&statement);
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
                    .bind(now)
                    .bind(r.version_id)
                    .bind(r.version_number);
                if let Some(until) = r.lease_until {
                    q = q.bind(until);
                }
            }
            q.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(results)
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The columns every invocation row starts with (the first seven of
/// `sql::upsert_complete` and `sql::upsert_running`).
fn bind_started<'q>(q: AnyQuery<'q>, s: &'q super::Started) -> AnyQuery<'q> {
    q.bind(s.id)
        .bind(s.application_id)
        .bind(s.function_id)
        .bind(s.version_id)
        .bind(s.version_number)
        .bind(&*s.trigger_type)
        .bind(&*s.args)
}

async fn commit(conn: &mut sqlx::AnyConnection, round: &Round) -> Result<(), sqlx::Error> {
    // Each kind of write is one multi-row statement per chunk: row-at-a-time
    // statements were a third of the CPU under load.
    let (complete, running, ended, jobs) = (&round.complete, &round.running, &round.ended, &round.jobs);
    let mut tx = sqlx::Connection::begin(conn).await?;
    for chunk in statement_chunks(complete) {
        let statement = sql::upsert_complete(chunk.len());
        let mut q = sqlx::query(&statement);
        for (s, end) in chunk {
            q = bind_started(q, s)
                .bind(end.status.as_str())
                .bind(end.result.as_deref())
                .bind(end.error.as_deref())
                .bind(end.logs.as_str())
                .bind(s.attempt)
                .bind(end.duration_ms)
                .bind(s.created_at)
                .bind(end.finished_at)
                .bind(s.job_id)
                .bind(s.test as i64);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in statement_chunks(running) {
        let statement = sql::upsert_running(chunk.len());
        let mut q = sqlx::query(&statement);
        for s in chunk {
            q = bind_started(q, s).bind(s.attempt).bind(s.created_at).bind(s.job_id).bind(s.test as i64);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in statement_chunks(ended) {
        let statement = format!(
            "WITH v (id, application_id, status, result, error, logs, duration_ms, finished_at) AS (VALUES {}) \
             UPDATE invocations SET status = v.status, result = v.result, error = v.error, logs = v.logs, \
             duration_ms = v.duration_ms, finished_at = v.finished_at \
             FROM v WHERE invocations.id = v.id AND invocations.application_id = v.application_id",
            values(chunk.len(), 8)
        );
        let mut q = sqlx::query(&statement);
        for f in chunk {
            q = q
                .bind(f.id)
                .bind(f.application_id)
                .bind(f.status.as_str())
                .bind(f.result.as_deref())
                .bind(f.error.as_deref())
                .bind(f.logs.as_str())
                .bind(f.duration_ms)
                .bind(f.finished_at);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in statement_chunks(jobs) {
        let statement = format!(
            "WITH v (id, status, run_at, last_error) AS (VALUES {}) \
             UPDATE jobs SET status = v.status, run_at = v.run_at, locked_until = NULL, last_error = v.last_error \
             FROM v WHERE jobs.id = v.id",
            values(chunk.len(), 4)
        );
        let mut q = sqlx::query(&statement);
        for j in chunk {
            q = q.bind(j.job_id).bind(j.status.as_str()).bind(j.run_at).bind(j.last_error.as_deref());
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
