-- What a blocking trigger answers when its function times out.
ALTER TABLE applications ADD COLUMN blocking_timeout_policy TEXT NOT NULL DEFAULT 'FAIL_CLOSED';
