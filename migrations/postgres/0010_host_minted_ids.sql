-- Invocation and job ids are minted by the host (time, sequence, host tag),
-- never by the database: their identity sequences are unused.
ALTER TABLE invocations ALTER COLUMN id DROP IDENTITY IF EXISTS;
ALTER TABLE jobs ALTER COLUMN id DROP IDENTITY IF EXISTS;
