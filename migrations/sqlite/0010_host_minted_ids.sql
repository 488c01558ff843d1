-- Invocation and job ids are minted by the host. On SQLite an INTEGER
-- PRIMARY KEY is the row id itself, with no sequence to drop: nothing to do.
SELECT 1;
