-- Test runs (a draft or a chosen version, run without deploying it) are
-- recorded like any invocation and hidden from the log unless asked for.
ALTER TABLE invocations ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
