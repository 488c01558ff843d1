-- Invocations still RUNNING: those a host that stopped left behind are
-- found without reading the whole log.
CREATE INDEX invocations_running ON invocations(id) WHERE status = 'RUNNING';
