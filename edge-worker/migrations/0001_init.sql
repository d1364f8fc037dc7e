-- Sources: where events come from, each with its own write key.
CREATE TABLE sources (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    write_key       TEXT NOT NULL UNIQUE,
    -- JSON array of origins allowed to send from a browser (CORS).
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    -- JSON object of per-source settings (IP handling, ...).
    settings        TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL
);

-- Every accepted message, as normalized JSON plus the columns we filter on.
-- The unique key makes a retried request idempotent: a message id is stored
-- once per source.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id    TEXT NOT NULL REFERENCES sources(id),
    message_id   TEXT NOT NULL,
    type         TEXT NOT NULL,
    event        TEXT,
    user_id      TEXT,
    anonymous_id TEXT,
    timestamp    INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    payload      TEXT NOT NULL,
    UNIQUE (source_id, message_id)
);
CREATE INDEX events_by_user ON events (user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX events_by_anonymous ON events (anonymous_id, seq) WHERE anonymous_id IS NOT NULL;
