//! The SQLite writer: a thread that owns its connection and commits each
//! round in one transaction (`BEGIN IMMEDIATE`: it is the store's main
//! writer and must not fail on a lock it could have waited for).
//! Statements are prepared once and cached, one row at a time: in-process,
//! a row costs microseconds, and SQLite looks parameters up by a linear
//! scan, which makes wide multi-row statements cost more, not less.
//! Durability: a round with accepted events (whose 202 promises the event
//! is on disk) commits with `synchronous = FULL`, an fsync; a round of
//! records only (which nobody waits for) commits with `NORMAL`, into the
//! OS's cache: a crash of chatfn loses none of it, and the disk has it
//! within `SYNC_LAG` (the next synced round, or a checkpoint when the
//! writer goes idle or stops), as with PostgreSQL's asynchronous commit.
//! On this machine an fsync cost more CPU than the round it ended.

use std::path::Path;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ToSql, Transaction, TransactionBehavior};

use super::ids::IdSource;
use super::{describe, one_by_one, records_only, sql, Claim, ClaimedJob, Enqueue, Round, Stored, Write, MAX_ROUND};
use crate::store::now_millis;

/// The multi-row statements' one-row forms, built once: plain `VALUES`
/// rows, for which SQLite keeps no statement journal (an `INSERT ...
/// SELECT` copies every page it changes into one first).
static INSERT_JOB: LazyLock<String> = LazyLock::new(sql::insert_job_row);
static INSERT_CLAIMED_JOB: LazyLock<String> = LazyLock::new(sql::insert_claimed_job_row);
static UPSERT_COMPLETE: LazyLock<String> = LazyLock::new(sql::upsert_complete_row);
static UPSERT_RUNNING: LazyLock<String> = LazyLock::new(sql::upsert_running_row);

/// How long a round of records gathers before it commits.
const GATHER: Duration = Duration::from_millis(1);

/// How long a committed record may wait for an fsync.
const SYNC_LAG: Duration = Duration::from_millis(100);

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.execute_batch(crate::store::SQLITE_PRAGMAS)?;
    connection.set_prepared_statement_cache_capacity(32);
    Ok(connection)
}

/// Whether each commit is fsynced, and since when one is not.
struct Syncing {
    full: bool,
    /// The first commit since the last fsync.
    unsynced_since: Option<Instant>,
}

impl Syncing {
    /// What the connection was opened with (`SQLITE_PRAGMAS`).
    fn new() -> Syncing {
        Syncing { full: true, unsynced_since: None }
    }

    /// Sets the connection up for the next round's commit.
    fn before(&mut self, connection: &Connection, round: &Round, now: Instant) -> rusqlite::Result<()> {
        let full = must_sync(round, self.unsynced_since, now);
        if full != self.full {
            connection.pragma_update(None, "synchronous", if full { "FULL" } else { "NORMAL" })?;
            self.full = full;
        }
        Ok(())
    }

    /// After a round that committed something.
    fn after(&mut self, now: Instant) {
        if self.full {
            self.unsynced_since = None;
        } else {
            self.unsynced_since.get_or_insert(now);
        }
    }

    /// How long the writer may wait for its next write before the disk is owed an fsync.
    fn wait(&self, now: Instant) -> Option<Duration> {
        self.unsynced_since.map(|since| (since + SYNC_LAG).saturating_duration_since(now))
    }

    /// The writer is idle and owes an fsync: a checkpoint syncs the WAL
    /// first (any connection's; `NORMAL` still syncs checkpoints).
    /// On failure it is tried again `SYNC_LAG` later, not at once.
    fn sync_now(&mut self, connection: &Connection) -> rusqlite::Result<()> {
        let synced = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        self.unsynced_since = synced.is_err().then(Instant::now);
        synced
    }

    /// The writer stops: what it committed without an fsync gets one.
    fn sync_if_owed(&mut self, connection: &Connection) {
        if self.unsynced_since.is_some() {
            if let Err(e) = self.sync_now(connection) {
                tracing::error!(error = %e, "syncing the recorded invocations to disk failed");
            }
        }
    }
}

/// A round commits with an fsync when someone waits on its being on disk
/// (accepted events) or when earlier commits have waited `SYNC_LAG`.
fn must_sync(round: &Round, unsynced_since: Option<Instant>, now: Instant) -> bool {
    !round.enqueues.is_empty() || unsynced_since.is_some_and(|since| now.duration_since(since) >= SYNC_LAG)
}

pub fn write_rounds(
    mut connection: Connection,
    inbox: flume::Receiver<Write>,
    ids: &IdSource,
    metrics: &crate::observe::Metrics,
) {
    let mut writes = Vec::with_capacity(MAX_ROUND);
    let mut syncing = Syncing::new();
    // Whether the last round answered someone waiting (accepted events,
    // claims): then their next write is likely to come soon.
    let mut answered = false;
    // Who asked the writer to stop (`Write::Close`), told once all is on disk.
    let mut closing = None;
    // Ends when every sender is gone, or on Close.
    loop {
        let soon = if answered {
            crate::spin::soon(|| inbox.try_recv().map_err(|e| e == flume::TryRecvError::Disconnected))
        } else {
            None
        };
        let first = match (soon, syncing.wait(Instant::now())) {
            (Some(first), _) => first,
            (None, None) => match inbox.recv() {
                Ok(first) => first,
                Err(_) => break,
            },
            (None, Some(wait)) => match inbox.recv_timeout(wait) {
                Ok(first) => first,
                Err(flume::RecvTimeoutError::Timeout) => {
                    if let Err(e) = syncing.sync_now(&connection) {
                        tracing::error!(error = %e, "syncing the recorded invocations to disk failed; trying again shortly");
                    }
                    continue;
                }
                Err(flume::RecvTimeoutError::Disconnected) => break,
            },
        };
        // Group commit: a round that starts with records (which nobody
        // waits for) gathers for a moment before it commits, so that a busy
        // host writes a few large rounds a millisecond instead of one small
        // round per invocation; and the thread sleeps meanwhile rather than
        // being woken by each sender. A write someone waits on (an accepted
        // event, a claim) unparks it (`Recorder::hurry`) to commit at once:
        // gathering had halved the rate of accepts. (An unpark left over
        // from a write already taken only makes one round commit early.)
        let gather = matches!(first, Write::Started(_) | Write::Finished(_) | Write::JobDone(_));
        writes.push(first);
        if gather && inbox.len() < MAX_ROUND {
            std::thread::park_timeout(GATHER);
        }
        writes.extend(inbox.try_iter().take(MAX_ROUND - 1));
        let mut round = Round::new(writes.drain(..));
        let spans = round.write_spans();
        let (started, writes, commits) = (Instant::now(), round.writes(), !round.writes_nothing());
        answered = !(round.enqueues.is_empty() && round.claims.is_empty());
        if let Err(e) = syncing.before(&connection, &round, started) {
            // Then this round commits as the last did.
            tracing::error!(error = %e, "setting the recorder's sync mode failed");
        }
        if let Err(e) = write_round(&mut connection, &mut round, ids) {
            write_what_can_be(&mut connection, &mut round, ids, metrics, e);
        }
        if commits {
            syncing.after(Instant::now());
        }
        if writes > 0 {
            metrics.recorder_round(writes, started.elapsed());
        }
        drop(spans);
        if let Some(close) = round.done() {
            closing = Some(close);
            break;
        }
    }
    syncing.sync_if_owed(&connection);
    if let Some(close) = closing {
        let _ = close.send(());
    }
}

/// After a round failed with `e`: its events are refused (or, when the
/// round broke a constraint, stored one at a time, so that only the one at
/// fault is refused), its claims refused, and its records written, one at
/// a time if need be (a record that breaks a constraint is dropped).
fn write_what_can_be(
    connection: &mut Connection,
    round: &mut Round,
    ids: &IdSource,
    metrics: &crate::observe::Metrics,
    e: rusqlite::Error,
) {
    tracing::error!(error = %e, "a recorder round failed; its events are refused and its records retried");
    if breaks_a_constraint(&e) {
        // One event at fault (its function deleted meanwhile) must
        // not refuse the others: each on its own.
        for enqueue in std::mem::take(&mut round.enqueues) {
            let mut alone = Round { enqueues: vec![enqueue], ..Round::default() };
            if let Err(e) = write_round(connection, &mut alone, ids) {
                alone.refuse(&e.to_string());
            }
        }
    }
    round.refuse(&e.to_string());
    let mut records = records_only(round);
    match keep_writing(connection, &mut records, ids) {
        Ok(()) => {}
        Err(e) => {
            tracing::error!(error = %e, "a round of records breaks a constraint; writing them one at a time");
            for mut record in one_by_one(records) {
                if let Err(e) = keep_writing(connection, &mut record, ids) {
                    tracing::error!(error = %e, record = describe(&record), "dropped a record that cannot be written");
                    metrics.record_dropped();
                }
            }
        }
    }
}

/// Writes a round of records, retrying while the store fails (records may
/// not be lost); gives up only on a constraint the round breaks, which
/// retrying cannot mend.
fn keep_writing(connection: &mut Connection, records: &mut Round, ids: &IdSource) -> rusqlite::Result<()> {
    let mut delay = Duration::from_millis(50);
    loop {
        match write_round(connection, records, ids) {
            Ok(()) => return Ok(()),
            Err(e) if breaks_a_constraint(&e) => return Err(e),
            Err(e) => {
                tracing::error!(error = %e, "recording invocations failed; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn breaks_a_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
}

/// Writes a round in one transaction; answers the accepted events and the
/// claims once it is committed.
fn write_round(connection: &mut Connection, round: &mut Round, ids: &IdSource) -> rusqlite::Result<()> {
    if round.writes_nothing() {
        return Ok(());
    }
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let kept = existing_functions(&tx, round)?;
    let accepted = enqueue(&tx, &round.enqueues, &kept, ids)?;
    {
        let mut extend = tx.prepare_cached(sql::EXTEND_LEASE)?;
        for (job_id, until) in &round.extends {
            extend.execute(params![until, job_id])?;
        }
    }
    let claimed = round.claims.iter().map(|c| claim(&tx, c)).collect::<rusqlite::Result<Vec<_>>>()?;
    record(&tx, round, &kept)?;
    tx.commit()?;
    for (e, result) in round.enqueues.drain(..).zip(accepted) {
        let _ = e.reply.send(Ok(result));
    }
    for (c, jobs) in round.claims.drain(..).zip(claimed) {
        let _ = c.reply.send(Ok(jobs));
    }
    Ok(())
}

/// Stores each event as a job (its first attempt QUEUED in the invocation
/// log); a repeated idempotency key answers the earlier event's invocation
/// instead.
/// `kept`: which of the round's functions exist.
fn enqueue(tx: &Transaction, requests: &[Enqueue], kept: &[i64], ids: &IdSource) -> rusqlite::Result<Vec<Stored>> {
    let mut seen = tx.prepare_cached(sql::SEEN_IDEMPOTENCY_KEY)?;
    let mut insert_queued = tx.prepare_cached(&INSERT_JOB)?;
    let mut insert_claimed = tx.prepare_cached(&INSERT_CLAIMED_JOB)?;
    let now = now_millis();
    let mut results = Vec::with_capacity(requests.len());
    for r in requests {
        if let Some(key) = &r.idempotency_key {
            // Earlier in this round too: the insert below is visible here.
            let earlier = seen
                .query_row(params![r.application_id, r.trigger_type, key], |row| {
                    Ok(Stored { job_id: row.get(0)?, invocation_id: row.get(1)?, duplicate: true })
                })
                .optional()?;
            if let Some(earlier) = earlier {
                results.push(earlier);
                continue;
            }
        }
        // An event for a function deleted meanwhile is refused (a trigger on
        // each row had cost the writer about a microsecond per event), as a
        // constraint error: the round's other events are then stored one at
        // a time, and only this one refused.
        if !kept.contains(&r.function_id) {
            return Err(no_such_function(r.function_id));
        }
        let (job_id, invocation_id, event) = (ids.next(), ids.next(), &*r.event);
        let columns: [&dyn ToSql; sql::JOB_COLUMNS] = [
            &job_id,
            &r.application_id,
            &r.function_id,
            &r.trigger_type,
            &event,
            &r.max_attempts,
            &now,
            &invocation_id,
            &r.idempotency_key,
            &now,
            &r.version_id,
            &r.version_number,
        ];
        match &r.lease_until {
            None => insert_queued.execute(params_from_iter(columns))?,
            Some(until) => {
                insert_claimed.execute(params_from_iter(columns.into_iter().chain([until as &dyn ToSql])))?
            }
        };
        results.push(Stored { job_id, invocation_id, duplicate: false });
    }
    Ok(results)
}

fn no_such_function(function_id: i64) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
        Some(format!("the event's function {function_id} no longer exists")),
    )
}

fn claimed_job(row: &rusqlite::Row) -> rusqlite::Result<ClaimedJob> {
    Ok(ClaimedJob {
        id: row.get(0)?,
        application_id: row.get(1)?,
        trigger_type: row.get(2)?,
        event: row.get::<_, String>(3)?.into(),
        attempts: row.get(4)?,
        max_attempts: row.get(5)?,
        invocation_id: row.get(6)?,
    })
}

fn claim(tx: &Transaction, c: &Claim) -> rusqlite::Result<Vec<ClaimedJob>> {
    let now = now_millis();
    let mut jobs = Vec::new();
    // First a share for each application known to have pending work, so a
    // flood cannot crowd the others out; every lookup is an index range.
    let mut share = tx.prepare_cached(sql::CLAIM_SHARE)?;
    for &application_id in &c.applications {
        let room = c.limit - jobs.len() as i64;
        if room <= 0 {
            break;
        }
        let rows =
            share.query_map(params![c.lease_until, application_id, now, room.min(c.per_application)], claimed_job)?;
        for job in rows {
            jobs.push(job?);
        }
    }
    // Then whatever is due anywhere: retries and jobs whose lease lapsed.
    let room = c.limit - jobs.len() as i64;
    if room > 0 {
        let mut due = tx.prepare_cached(sql::CLAIM_DUE)?;
        let rows = due.query_map(params![c.lease_until, now, room], claimed_job)?;
        for job in rows {
            jobs.push(job?);
        }
    }
    // A job claimed again after a lapsed lease: the attempt its host cut
    // short is over, not RUNNING (nor, if it never started, QUEUED).
    let mut cut_short = tx.prepare_cached(sql::FAIL_CUT_SHORT_OF_JOB)?;
    let mut never_started = tx.prepare_cached(sql::RECORD_NEVER_STARTED_OF_JOB)?;
    let mut never_started_earlier = tx.prepare_cached(sql::FAIL_NEVER_STARTED)?;
    for job in jobs.iter().filter(|j| j.attempts > 1) {
        cut_short.execute(params![sql::INTERRUPTED, now, job.id])?;
        never_started.execute(params![sql::INTERRUPTED, now, job.id])?;
        never_started_earlier.execute(params![sql::INTERRUPTED, now, job.invocation_id])?;
    }
    Ok(jobs)
}

/// The columns every invocation row starts with (the first seven of
/// `sql::upsert_complete` and `sql::upsert_running`).
fn started(s: &super::Started) -> [&dyn ToSql; 7] {
    [&s.id, &s.application_id, &s.function_id, &s.version_id, &s.version_number, &s.trigger_type, &s.args]
}

/// Invocation records and job states; `kept`: which of the round's
/// functions exist.
fn record(tx: &Transaction, round: &Round, kept: &[i64]) -> rusqlite::Result<()> {
    let mut complete = tx.prepare_cached(&UPSERT_COMPLETE)?;
    for (s, end) in round.complete.iter().filter(|(s, _)| kept.contains(&s.function_id)) {
        let (status, test) = (end.status.as_str(), s.test as i64);
        let end_columns: [&dyn ToSql; 10] = [
            &status,
            &end.result,
            &end.error,
            &end.logs,
            &s.attempt,
            &end.duration_ms,
            &s.created_at,
            &end.finished_at,
            &s.job_id,
            &test,
        ];
        complete.execute(params_from_iter(started(s).into_iter().chain(end_columns)))?;
    }
    let mut running = tx.prepare_cached(&UPSERT_RUNNING)?;
    for s in round.running.iter().filter(|s| kept.contains(&s.function_id)) {
        let test = s.test as i64;
        let rest: [&dyn ToSql; 4] = [&s.attempt, &s.created_at, &s.job_id, &test];
        running.execute(params_from_iter(started(s).into_iter().chain(rest)))?;
    }
    let mut ended = tx.prepare_cached(sql::UPDATE_ENDED)?;
    for f in &round.ended {
        ended.execute(params![
            f.status.as_str(),
            f.result,
            f.error,
            f.logs,
            f.duration_ms,
            f.finished_at,
            f.id,
            f.application_id
        ])?;
    }
    let mut job = tx.prepare_cached(sql::UPDATE_JOB)?;
    for j in &round.jobs {
        job.execute(params![j.status.as_str(), j.run_at, j.last_error, j.job_id])?;
    }
    Ok(())
}

/// Which of the round's functions (of its events and its records) still
/// exist: one deleted while it ran took its invocations with it, and their
/// records are skipped; an event for one is refused. A round has a few
/// functions, so this is a lookup or two per round.
fn existing_functions(tx: &Transaction, round: &Round) -> rusqlite::Result<Vec<i64>> {
    let starts = round.complete.iter().map(|(s, _)| s).chain(&round.running);
    let functions = round.enqueues.iter().map(|e| e.function_id).chain(starts.map(|s| s.function_id));
    let mut functions: Vec<i64> = functions.collect();
    functions.sort_unstable();
    functions.dedup();
    let mut exists = tx.prepare_cached(sql::FUNCTION_EXISTS)?;
    let mut kept = Vec::with_capacity(functions.len());
    for function_id in functions {
        if exists.query_row([function_id], |row| row.get::<_, bool>(0))? {
            kept.push(function_id);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(connection: &Connection) -> i64 {
        connection.query_row("PRAGMA synchronous", [], |row| row.get(0)).unwrap()
    }

    fn enqueue_round() -> Round {
        let (reply, _) = tokio::sync::oneshot::channel();
        let enqueue = Enqueue {
            application_id: 1,
            function_id: 1,
            version_id: 1,
            version_number: 1,
            trigger_type: "user.sent.message".into(),
            event: "{}".into(),
            idempotency_key: None,
            max_attempts: 3,
            lease_until: None,
            reply,
        };
        Round { enqueues: vec![enqueue], ..Round::default() }
    }

    /// Rounds of records commit into the OS's cache until one is owed an
    /// fsync; a round with accepted events is always synced.
    #[test]
    fn only_accepted_events_and_records_past_the_lag_wait_for_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let connection = open(&dir.path().join("store.db")).unwrap();
        const FULL: i64 = 2;
        const NORMAL: i64 = 1;
        assert_eq!(synchronous(&connection), FULL);
        let mut syncing = Syncing::new();
        let t0 = Instant::now();
        let records = Round::default();

        syncing.before(&connection, &records, t0).unwrap();
        assert_eq!(synchronous(&connection), NORMAL);
        syncing.after(t0);
        assert_eq!(syncing.wait(t0 + Duration::from_millis(40)), Some(SYNC_LAG - Duration::from_millis(40)));

        // Later records are owed their sync from the first unsynced commit.
        let t1 = t0 + SYNC_LAG / 2;
        syncing.before(&connection, &records, t1).unwrap();
        assert_eq!(synchronous(&connection), NORMAL);
        syncing.after(t1);
        let t2 = t0 + SYNC_LAG;
        assert_eq!(syncing.wait(t2), Some(Duration::ZERO));
        syncing.before(&connection, &records, t2).unwrap();
        assert_eq!(synchronous(&connection), FULL);
        syncing.after(t2);
        assert_eq!(syncing.wait(t2), None);

        // Accepted events are on disk before their 202, whatever the lag.
        syncing.before(&connection, &records, t2).unwrap();
        syncing.after(t2);
        assert_eq!(synchronous(&connection), NORMAL);
        syncing.before(&connection, &enqueue_round(), t2).unwrap();
        assert_eq!(synchronous(&connection), FULL);
        syncing.after(t2);
        assert_eq!(syncing.wait(t2), None);

        // Idle with a commit unsynced: a checkpoint syncs it.
        syncing.before(&connection, &records, t2).unwrap();
        syncing.after(t2);
        syncing.sync_now(&connection).unwrap();
        assert_eq!(syncing.wait(t2), None);
    }
}
