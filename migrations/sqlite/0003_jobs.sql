-- Accepted non-blocking events waiting to run (one job per event and
-- function); each attempt is an invocation row.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    function_id INTEGER NOT NULL,
    trigger_type TEXT NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at INTEGER NOT NULL,
    locked_until INTEGER,
    invocation_id INTEGER NOT NULL,
    idempotency_key TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);
CREATE UNIQUE INDEX jobs_idempotency ON jobs(application_id, idempotency_key);
CREATE INDEX jobs_by_invocation ON jobs(invocation_id);
ALTER TABLE invocations ADD COLUMN job_id INTEGER;
