-- An accepted event is one job row: its first attempt's invocation row is
-- written when it starts, not QUEUED at once and updated later. Until then
-- the invocation log shows it from the job, which carries the version.
ALTER TABLE jobs ADD COLUMN version_id BIGINT;
ALTER TABLE jobs ADD COLUMN version_number BIGINT;

-- What operators read: every recorded attempt, and the first attempts of
-- accepted events not started yet (QUEUED, or claimed and not begun). One
-- arm per job state, so each reads its partial index of active jobs.
CREATE VIEW invocation_log AS
SELECT id, application_id, function_id, version_id, version_number, trigger_type, args, status, result, error,
       logs, attempt, duration_ms, created_at, finished_at, job_id, test
FROM invocations
UNION ALL
SELECT j.invocation_id, j.application_id, j.function_id, j.version_id, j.version_number, j.trigger_type, j.event,
       'QUEUED', NULL, NULL, NULL, 1, NULL, j.created_at, NULL, j.id, 0
FROM jobs j
WHERE j.status = 'QUEUED' AND j.version_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM invocations i WHERE i.id = j.invocation_id)
  AND EXISTS (SELECT 1 FROM functions f WHERE f.id = j.function_id)
UNION ALL
SELECT j.invocation_id, j.application_id, j.function_id, j.version_id, j.version_number, j.trigger_type, j.event,
       'QUEUED', NULL, NULL, NULL, 1, NULL, j.created_at, NULL, j.id, 0
FROM jobs j
WHERE j.status = 'RUNNING' AND j.version_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM invocations i WHERE i.id = j.invocation_id)
  AND EXISTS (SELECT 1 FROM functions f WHERE f.id = j.function_id);
