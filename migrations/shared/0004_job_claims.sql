-- Claims look jobs up per application, oldest due first.
CREATE INDEX jobs_app_due ON jobs(application_id, status, run_at);
CREATE INDEX jobs_leases ON jobs(status, locked_until);
