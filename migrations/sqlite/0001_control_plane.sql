-- Applications (tenants), their credentials and access tokens.
CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT NOT NULL,
    guest_users TEXT NOT NULL DEFAULT 'ENABLED',
    user_created_channels TEXT NOT NULL DEFAULT 'DISABLED',
    created_at INTEGER NOT NULL
);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);

-- One NodeJS chat runtime per application.
CREATE TABLE runtimes (
    application_id INTEGER PRIMARY KEY REFERENCES applications(id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    revision INTEGER NOT NULL,
    dependencies TEXT NOT NULL,
    environment_variables TEXT NOT NULL,
    initialization_script TEXT NOT NULL,
    initialization_code TEXT,
    initialization_source_map TEXT,
    initialization_evaluation TEXT,
    updated_at INTEGER NOT NULL
);

CREATE TABLE functions (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    initialize_asynchronously INTEGER NOT NULL DEFAULT 0,
    timeout_ms INTEGER,
    current_version_id INTEGER,
    next_version_number INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    UNIQUE (application_id, type)
);

CREATE TABLE function_versions (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    function_id INTEGER NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    version_number INTEGER NOT NULL,
    handler_script TEXT NOT NULL,
    compiled_code TEXT NOT NULL,
    source_map TEXT NOT NULL,
    evaluation TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (function_id, version_number)
);

CREATE TABLE invocations (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    function_id INTEGER NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    version_id INTEGER NOT NULL,
    version_number INTEGER NOT NULL,
    trigger_type TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    error TEXT,
    logs TEXT,
    attempt INTEGER NOT NULL DEFAULT 1,
    duration_ms REAL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX invocations_by_function ON invocations(function_id, id);
