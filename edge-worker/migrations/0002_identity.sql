-- Identity resolution: one profile per person, the identifiers that point
-- to it, its traits and the audit of every merge.

-- Profiles merged into another keep their row (merged_into set) so that old
-- ids still resolve and merges can be undone. `version` changes with every
-- structural change (identifiers, merges): writers guard on it.
CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 0,
    merged_into TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Each identifier (normalized) belongs to exactly one profile.
CREATE TABLE identifiers (
    type       TEXT NOT NULL,
    value      TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (type, value)
) WITHOUT ROWID;
CREATE INDEX identifiers_by_profile ON identifiers (profile_id);

-- Traits by event time: the latest `set` and the earliest `once` ($set_once)
-- per key; ties in time go to the larger JSON text.
CREATE TABLE profile_traits (
    profile_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('set', 'once')),
    value      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (profile_id, key, kind)
) WITHOUT ROWID;

-- Every merge: which profile joined which, the identifiers of the event that
-- connected them (via), what the joining profile had (for undo), and the event.
CREATE TABLE merges (
    id           TEXT PRIMARY KEY,
    into_profile TEXT NOT NULL,
    from_profile TEXT NOT NULL,
    via          TEXT NOT NULL,
    identifiers  TEXT NOT NULL,
    traits       TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    at           INTEGER NOT NULL,
    undone_at    INTEGER
);
CREATE INDEX merges_by_into ON merges (into_profile);
CREATE INDEX merges_by_from ON merges (from_profile);

-- Events point at the profile they were resolved to.
ALTER TABLE events ADD COLUMN profile_id TEXT;
CREATE INDEX events_by_profile ON events (profile_id, timestamp) WHERE profile_id IS NOT NULL;

-- Optimistic concurrency: a write batch inserts a row here whose value is 1
-- only if the profile versions it read are unchanged; anything else fails
-- the CHECK and rolls the whole batch back. The batch deletes its rows last.
CREATE TABLE write_guard (ok INTEGER NOT NULL CHECK (ok = 1));
