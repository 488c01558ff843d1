-- Jobs are looked up only while QUEUED or RUNNING: index just those rows,
-- so a job's every change of state touches fewer indexes and finished jobs
-- leave them.
DROP INDEX jobs_due;
DROP INDEX jobs_app_due;
DROP INDEX jobs_leases;
-- Never used: a job is found from its invocation through invocations.job_id.
DROP INDEX jobs_by_invocation;
DROP INDEX jobs_idempotency;
CREATE INDEX jobs_queued ON jobs(run_at) WHERE status = 'QUEUED';
CREATE INDEX jobs_app_queued ON jobs(application_id, run_at) WHERE status = 'QUEUED';
CREATE INDEX jobs_running ON jobs(locked_until) WHERE status = 'RUNNING';
CREATE UNIQUE INDEX jobs_idempotency ON jobs(application_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
