-- An Idempotency-Key names one delivery of one trigger type: the same key
-- on another trigger type is another event.
DROP INDEX jobs_idempotency;
CREATE UNIQUE INDEX jobs_idempotency ON jobs(application_id, trigger_type, idempotency_key) WHERE idempotency_key IS NOT NULL;
