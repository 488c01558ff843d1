-- The embedded platform's notifications (one per recipient of a message)
-- and user sessions (started by an allowed user.attempted.start_session).
CREATE TABLE chat_notifications (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES chat_users(id) ON DELETE CASCADE,
    channel_id INTEGER REFERENCES chat_channels(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- JSON: {type, message, channelId}.
    data TEXT NOT NULL,
    muted INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX chat_notifications_by_user ON chat_notifications(user_id, id);

CREATE TABLE chat_user_sessions (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES chat_users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    -- Active until ended or until it expires.
    expires_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX chat_user_sessions_by_user ON chat_user_sessions(user_id, expires_at);
CREATE INDEX chat_user_sessions_by_application ON chat_user_sessions(application_id, id);
