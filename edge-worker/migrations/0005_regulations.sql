-- Privacy regulations: deletion, suppression and access requests, with their
-- status and a receipt of what was done (counts only, no personal data).
CREATE TABLE regulations (
    id            TEXT PRIMARY KEY,
    type          TEXT NOT NULL,
    subject_type  TEXT NOT NULL,
    subject_count INTEGER NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    receipt       TEXT NOT NULL DEFAULT '{}'
);

-- Suppressed identifiers, as HMAC-SHA256 of "type:value" under PII_SALT.
CREATE TABLE suppressions (
    hash          TEXT PRIMARY KEY,
    regulation_id TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX suppressions_by_regulation ON suppressions (regulation_id);

CREATE INDEX profiles_by_merged_into ON profiles (merged_into) WHERE merged_into IS NOT NULL;
