-- Group membership (`group` calls): which accounts or companies a person
-- belongs to, with the group's traits from the latest call by event time.
CREATE TABLE profile_groups (
    profile_id TEXT NOT NULL,
    group_id   TEXT NOT NULL,
    traits     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (profile_id, group_id)
) WITHOUT ROWID;
