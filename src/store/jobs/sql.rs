//! The statements both writers run, written once. Placeholders are `$n`,
//! which sqlx passes to PostgreSQL and SQLite alike and which SQLite (and so
//! rusqlite) numbers in order of first use; a test checks that each
//! statement here uses them in order, so binding by position is right.
//! Multi-row variants (PostgreSQL) are built from the same column lists.

/// The error recorded on an attempt whose host stopped before it finished
/// (a crash, `kill -9`, a lapsed lease); a queued event runs again.
pub(crate) const INTERRUPTED: &str =
    r#"{"name":"InterruptedError","message":"the host running this invocation stopped before it finished"}"#;

/// Ends invocations cut short as FAILED with `INTERRUPTED` ($1) at $2;
/// each recovery adds which ones.
macro_rules! fail_interrupted {
    ($where:literal) => {
        concat!("UPDATE invocations SET status = 'FAILED', error = $1, finished_at = $2 WHERE ", $where)
    };
}

/// After a restart on SQLite (one host): everything left running.
pub(crate) const FAIL_ALL_RUNNING: &str = fail_interrupted!("status = 'RUNNING'");
/// After a restart on SQLite: first attempts of jobs claimed but never
/// started, as earlier versions of chatfn wrote them (QUEUED rows).
pub(crate) const FAIL_QUEUED_OF_RUNNING_JOBS: &str =
    fail_interrupted!("status = 'QUEUED' AND id IN (SELECT invocation_id FROM jobs WHERE status = 'RUNNING')");
/// On PostgreSQL, a host taking tag $4 of $3: the blocking calls a dead
/// host with that tag left running (no live host has it).
pub(crate) const FAIL_UNFINISHED_BLOCKING_OF_TAG: &str =
    fail_interrupted!("status = 'RUNNING' AND job_id IS NULL AND id % $3 = $4");
/// A job claimed again after its lease lapsed: the attempt its host was
/// running ($3 = job id) is over. (Two statements, not an OR, so that each
/// is an index lookup.)
pub(crate) const FAIL_CUT_SHORT_OF_JOB: &str = fail_interrupted!("status = 'RUNNING' AND job_id = $3");
/// ... and its first attempt ($3 = invocation id), if an earlier version of
/// chatfn wrote it QUEUED when the event was accepted and it never started.
pub(crate) const FAIL_NEVER_STARTED: &str = fail_interrupted!("id = $3 AND status = 'QUEUED'");

/// Records as FAILED with `INTERRUPTED` ($1) at $2 the first attempts of
/// the jobs chosen by `$where` (over `jobs j`) that were claimed but never
/// started: an attempt has no row until it starts, and the attempt a host
/// was given and cut short must show. Not for a function deleted meanwhile
/// (its invocations went with it).
macro_rules! record_never_started {
    ($where:literal) => {
        concat!(
            "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, trigger_type, \
             args, status, error, attempt, created_at, finished_at, job_id) \
             SELECT j.invocation_id, j.application_id, j.function_id, j.version_id, j.version_number, \
             j.trigger_type, j.event, 'FAILED', $1, 1, j.created_at, $2, j.id FROM jobs j WHERE ",
            $where,
            " AND j.version_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM invocations i WHERE i.id = j.invocation_id) \
             AND EXISTS (SELECT 1 FROM functions f WHERE f.id = j.function_id)"
        )
    };
}
/// A job ($3) claimed again after its lease lapsed.
pub(crate) const RECORD_NEVER_STARTED_OF_JOB: &str = record_never_started!("j.id = $3");
/// After a restart on SQLite: every job left claimed.
pub(crate) const RECORD_NEVER_STARTED_OF_RUNNING_JOBS: &str = record_never_started!("j.status = 'RUNNING'");

pub(crate) const REQUEUE_RUNNING_JOBS: &str =
    "UPDATE jobs SET status = 'QUEUED', locked_until = NULL WHERE status = 'RUNNING'";

pub(crate) const EXTEND_LEASE: &str = "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND status = 'RUNNING'";

/// The job (id, first attempt's invocation id) of the first delivery of
/// key $3 for trigger type $2 of application $1.
pub(crate) const SEEN_IDEMPOTENCY_KEY: &str =
    "SELECT id, invocation_id FROM jobs WHERE application_id = $1 AND trigger_type = $2 AND idempotency_key = $3";

/// Jobs as accepted, `rows` of them; `run_at` is also their `created_at`.
/// A job's first attempt gets its invocation row when it starts (until
/// then `invocation_log` shows it QUEUED from the job): one row written per
/// accepted event, not a job and a QUEUED invocation to update later.
pub(crate) fn insert_jobs(rows: usize) -> String {
    format!("{JOB_INSERT}, status) SELECT *, 'QUEUED' FROM (VALUES {}) AS v", values(rows, JOB_COLUMNS))
}
/// `insert_jobs` of one row, for SQLite (see `upsert_complete_row`).
pub(crate) fn insert_job_row() -> String {
    format!("{JOB_INSERT}, status) VALUES ({}, 'QUEUED')", params(JOB_COLUMNS))
}
/// Jobs as accepted and claimed by the accepting host at once: RUNNING,
/// their first attempt counted, leased until the last column.
pub(crate) fn insert_claimed_jobs(rows: usize) -> String {
    format!(
        "{JOB_INSERT}, locked_until, status, attempts) SELECT *, 'RUNNING', 1 FROM (VALUES {}) AS v",
        values(rows, JOB_COLUMNS + 1)
    )
}
/// `insert_claimed_jobs` of one row, for SQLite.
pub(crate) fn insert_claimed_job_row() -> String {
    format!("{JOB_INSERT}, locked_until, status, attempts) VALUES ({}, 'RUNNING', 1)", params(JOB_COLUMNS + 1))
}
/// The columns every accepted job binds (`JOB_COLUMNS`), the list left open
/// for the columns that say whether it was claimed.
const JOB_INSERT: &str = "INSERT INTO jobs (id, application_id, function_id, trigger_type, event, max_attempts, \
     run_at, invocation_id, idempotency_key, created_at, version_id, version_number";
pub(crate) const JOB_COLUMNS: usize = 12;

/// Keeps the rows (of a `VALUES` list named `v`, function id third) whose
/// function still exists: a function deleted while it ran takes its
/// invocations with it, so a record that comes later is dropped, not an
/// error that holds up every record after it.
macro_rules! of_existing_functions {
    () => {
        "WHERE EXISTS (SELECT 1 FROM functions f WHERE f.id = v.column3)"
    };
}

/// Invocations started and finished within one round: one row each. (An
/// upsert: earlier versions of chatfn wrote a job's first attempt QUEUED
/// when its event was accepted, and the attempt takes that row over.)
pub(crate) fn upsert_complete(rows: usize) -> String {
    format!(
        "{COMPLETE_INSERT} SELECT * FROM (VALUES {}) AS v {} {COMPLETE_UPDATE}",
        values(rows, COMPLETE_COLUMNS),
        of_existing_functions!()
    )
}

/// `upsert_complete` of one row, for SQLite: a plain `VALUES` row (no
/// statement journal; see the SQLite writer). It does not skip a deleted
/// function's records: the writer asks `FUNCTION_EXISTS` first, once per
/// function in a round.
pub(crate) fn upsert_complete_row() -> String {
    format!("{COMPLETE_INSERT} VALUES {} {COMPLETE_UPDATE}", values(1, COMPLETE_COLUMNS))
}

const COMPLETE_INSERT: &str = "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, \
     trigger_type, args, status, result, error, logs, attempt, duration_ms, created_at, finished_at, job_id, test)";
const COMPLETE_UPDATE: &str = "ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id, \
     version_number = excluded.version_number, status = excluded.status, result = excluded.result, \
     error = excluded.error, logs = excluded.logs, attempt = excluded.attempt, duration_ms = excluded.duration_ms, \
     created_at = excluded.created_at, finished_at = excluded.finished_at";
pub(crate) const COMPLETE_COLUMNS: usize = 17;

pub(crate) const FUNCTION_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM functions WHERE id = $1)";

/// Invocations started and still running at the end of a round. None of
/// the end columns is bound (sqlx's Any driver cannot bind a NULL DOUBLE
/// for PostgreSQL). (An upsert from a SELECT needs its WHERE for SQLite to
/// parse it.)
pub(crate) fn upsert_running(rows: usize) -> String {
    format!(
        "{RUNNING_INSERT} SELECT *, 'RUNNING' FROM (VALUES {}) AS v {} {RUNNING_UPDATE}",
        values(rows, RUNNING_COLUMNS),
        of_existing_functions!()
    )
}
/// `upsert_running` of one row, for SQLite (see `upsert_complete_row`).
pub(crate) fn upsert_running_row() -> String {
    format!("{RUNNING_INSERT} VALUES ({}, 'RUNNING') {RUNNING_UPDATE}", params(RUNNING_COLUMNS))
}
const RUNNING_INSERT: &str = "INSERT INTO invocations (id, application_id, function_id, version_id, version_number, \
     trigger_type, args, attempt, created_at, job_id, test, status)";
const RUNNING_UPDATE: &str = "ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id, \
     version_number = excluded.version_number, status = excluded.status, attempt = excluded.attempt, \
     created_at = excluded.created_at";
pub(crate) const RUNNING_COLUMNS: usize = 11;

/// What a claim answers, in `ClaimedJob`'s order.
macro_rules! claimed {
    () => {
        "RETURNING id, application_id, trigger_type, event, attempts, max_attempts, invocation_id"
    };
}

/// Claims up to $4 due jobs of application $2 at $3, leased until $1. Rows
/// are taken only if still due when updated, so hosts sharing the store
/// never run one job twice at once. `$lock` locks the chosen rows.
macro_rules! claim_share {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET status = 'RUNNING', attempts = attempts + 1, locked_until = $1 \
             WHERE id IN (SELECT id FROM jobs WHERE application_id = $2 AND status = 'QUEUED' AND run_at <= $3 \
                          ORDER BY run_at LIMIT $4",
            $lock,
            ") AND status = 'QUEUED' ",
            claimed!()
        )
    };
}
pub(crate) const CLAIM_SHARE: &str = claim_share!("");
/// PostgreSQL: rows another host is claiming are skipped, not waited for.
pub(crate) const CLAIM_SHARE_SKIP_LOCKED: &str = claim_share!(" FOR UPDATE SKIP LOCKED");

/// Claims up to $3 jobs due anywhere at $2 (retries, lapsed leases, events
/// another host accepted), leased until $1.
macro_rules! claim_due {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET status = 'RUNNING', attempts = attempts + 1, locked_until = $1 \
             WHERE (id IN (SELECT id FROM jobs WHERE status = 'QUEUED' AND run_at <= $2 ORDER BY run_at LIMIT $3",
            $lock,
            ") OR id IN (SELECT id FROM jobs WHERE status = 'RUNNING' AND locked_until < $2 LIMIT $3",
            $lock,
            ")) AND ((status = 'QUEUED' AND run_at <= $2) OR (status = 'RUNNING' AND locked_until < $2)) ",
            claimed!()
        )
    };
}
pub(crate) const CLAIM_DUE: &str = claim_due!("");
pub(crate) const CLAIM_DUE_SKIP_LOCKED: &str = claim_due!(" FOR UPDATE SKIP LOCKED");

/// The end of an invocation started in an earlier round, and a job's state
/// after an attempt, a row at a time (SQLite; PostgreSQL updates a round's
/// rows at once from a VALUES list).
pub(crate) const UPDATE_ENDED: &str = "UPDATE invocations SET status = $1, result = $2, error = $3, logs = $4, \
     duration_ms = $5, finished_at = $6 WHERE id = $7 AND application_id = $8";
pub(crate) const UPDATE_JOB: &str =
    "UPDATE jobs SET status = $1, run_at = $2, locked_until = NULL, last_error = $3 WHERE id = $4";

/// Jobs of application $1 accepted and not finished: two counts, each over
/// a partial index of active jobs.
pub(crate) const COUNT_PENDING: &str = "SELECT (SELECT COUNT(*) FROM jobs WHERE application_id = $1 AND \
     status = 'QUEUED') + (SELECT COUNT(*) FROM jobs WHERE application_id = $1 AND status = 'RUNNING') AS n";

/// `($1, $2, ...), (...)` for `rows` rows of `columns` parameters.
pub(crate) fn values(rows: usize, columns: usize) -> String {
    (0..rows).map(|r| format!("({})", numbered(r * columns + 1..=(r + 1) * columns))).collect::<Vec<_>>().join(", ")
}

/// `$1, $2, ..., $columns`: one row's parameters.
fn params(columns: usize) -> String {
    numbered(1..=columns)
}

fn numbered(range: std::ops::RangeInclusive<usize>) -> String {
    range.map(|c| format!("${c}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every statement above, as run on SQLite.
    fn statements() -> Vec<String> {
        vec![
            FAIL_ALL_RUNNING.into(),
            FAIL_QUEUED_OF_RUNNING_JOBS.into(),
            FAIL_UNFINISHED_BLOCKING_OF_TAG.into(),
            FAIL_CUT_SHORT_OF_JOB.into(),
            FAIL_NEVER_STARTED.into(),
            RECORD_NEVER_STARTED_OF_JOB.into(),
            RECORD_NEVER_STARTED_OF_RUNNING_JOBS.into(),
            REQUEUE_RUNNING_JOBS.into(),
            EXTEND_LEASE.into(),
            SEEN_IDEMPOTENCY_KEY.into(),
            insert_jobs(1),
            insert_job_row(),
            insert_claimed_jobs(2),
            insert_claimed_job_row(),
            upsert_complete(1),
            upsert_complete_row(),
            FUNCTION_EXISTS.into(),
            upsert_running(1),
            upsert_running_row(),
            insert_jobs(3),
            upsert_complete(2),
            CLAIM_SHARE.into(),
            CLAIM_DUE.into(),
            UPDATE_ENDED.into(),
            UPDATE_JOB.into(),
            COUNT_PENDING.into(),
        ]
    }

    #[test]
    fn each_statement_numbers_its_parameters_in_order_on_sqlite() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for migration in sqlx::migrate!("./migrations/sqlite").iter() {
            db.execute_batch(&migration.sql).unwrap();
        }
        for sql in statements() {
            let statement = db.prepare(&sql).unwrap_or_else(|e| panic!("{e}: {sql}"));
            for i in 1..=statement.parameter_count() {
                assert_eq!(statement.parameter_name(i), Some(format!("${i}").as_str()), "{sql}");
            }
        }
    }
}
