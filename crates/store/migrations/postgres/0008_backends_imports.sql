-- sessions.token_hash is already NOT NULL here (the SQLite script rebuilds its table).

-- Imports in batches: how far each import file (by SHA-256 of its content) got, updated in
-- the transaction of each batch, so that running the same file again resumes after the last
-- committed batch.
CREATE TABLE import_runs (
    establishment_id BIGINT NOT NULL REFERENCES establishments(id),
    kind TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    rows_done BIGINT NOT NULL,
    rows_total BIGINT NOT NULL,
    imported BIGINT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (establishment_id, kind, source_sha256)
);
