-- Privacy at ingest: the consent category of every stored event, proof of
-- consent per profile, and what each source's PII policy and tracking plan
-- found (counted, never the values themselves).
ALTER TABLE events ADD COLUMN category TEXT;

-- Each change of a person's consent, with when, which source and which event
-- carried it: the proof of consent.
CREATE TABLE consent_changes (
    profile_id TEXT NOT NULL,
    categories TEXT NOT NULL,
    at         INTEGER NOT NULL,
    source_id  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (profile_id, at, message_id)
) WITHOUT ROWID;

-- Which fields of a source's events carry which kind of personal data, and
-- what the policy did.
CREATE TABLE pii_findings (
    source_id  TEXT NOT NULL,
    path       TEXT NOT NULL,
    class      TEXT NOT NULL,
    action     TEXT NOT NULL,
    count      INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (source_id, path, class, action)
) WITHOUT ROWID;

-- Tracking plan violations per source, event name, code and property path.
CREATE TABLE plan_violations (
    source_id TEXT NOT NULL,
    event     TEXT NOT NULL,
    code      TEXT NOT NULL,
    path      TEXT NOT NULL,
    count     INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (source_id, event, code, path)
) WITHOUT ROWID;
