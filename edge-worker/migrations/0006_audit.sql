-- Every admin API request: who (whether the token was valid), what, and the
-- outcome. Paths hold ids, never request bodies.
CREATE TABLE admin_audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    status     INTEGER NOT NULL,
    authorized INTEGER NOT NULL,
    ip         TEXT
);
