-- sessions.token_hash: NOT NULL as on PostgreSQL (on SQLite a primary key other than
-- INTEGER PRIMARY KEY accepts NULL unless declared NOT NULL). SQLite cannot change a
-- column's constraints in place: the table is rebuilt with the same columns.
CREATE TABLE sessions_rebuilt (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    establishment_id INTEGER,
    site_id INTEGER,
    ip TEXT
);
INSERT INTO sessions_rebuilt (token_hash, user_id, csrf_token, created_at, last_seen_at, establishment_id, site_id, ip)
    SELECT token_hash, user_id, csrf_token, created_at, last_seen_at, establishment_id, site_id, ip FROM sessions WHERE token_hash IS NOT NULL;
DROP TABLE sessions;
ALTER TABLE sessions_rebuilt RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);

-- Imports in batches: how far each import file (by SHA-256 of its content) got, updated in
-- the transaction of each batch, so that running the same file again resumes after the last
-- committed batch.
CREATE TABLE import_runs (
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    kind TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    rows_done INTEGER NOT NULL,
    rows_total INTEGER NOT NULL,
    imported INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (establishment_id, kind, source_sha256)
);
