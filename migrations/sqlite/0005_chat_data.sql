-- The embedded chat platform: the data chat functions act on through their
-- context APIs (ChatKitty's users, channels, members and messages).
CREATE TABLE chat_users (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    is_guest INTEGER NOT NULL DEFAULT 0,
    properties TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (application_id, name)
);

CREATE TABLE chat_channels (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    -- Unique per application for PUBLIC and PRIVATE channels; NULL for DIRECT.
    name TEXT,
    display_name TEXT,
    creator_id INTEGER REFERENCES chat_users(id) ON DELETE SET NULL,
    -- DIRECT only: the sorted member ids, so one set of users has one channel.
    direct_key TEXT,
    properties TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (application_id, name),
    UNIQUE (application_id, direct_key)
);

CREATE TABLE chat_channel_members (
    channel_id INTEGER NOT NULL REFERENCES chat_channels(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES chat_users(id) ON DELETE CASCADE,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX chat_channel_members_by_user ON chat_channel_members(user_id);

CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES chat_channels(id) ON DELETE CASCADE,
    -- The sender of a user message; NULL for a system message.
    user_id INTEGER REFERENCES chat_users(id) ON DELETE SET NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    properties TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX chat_messages_by_channel ON chat_messages(channel_id, id);
CREATE INDEX chat_messages_by_application ON chat_messages(application_id, id);
