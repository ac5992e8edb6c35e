//! Imports in batches (patients, payers): each batch of rows is its own write transaction,
//! so that a long import never holds SQLite's write lock for more than one batch, and each
//! committed batch records in `import_runs` how far the file got. Running the same file
//! (same SHA-256 of its content) again for the same establishment resumes after the last
//! committed batch: rows already imported are not imported twice. A file that was edited is
//! a new import. A dry run checks every row in one transaction that it rolls back, and
//! records nothing.

use sha2::{Digest, Sha256};

use crate::args;
use crate::db::{Backend, Db, Tx, now_text};
use crate::error::Error;

/// How to run an import.
#[derive(Debug, Clone)]
pub struct Batches {
    /// Rows per transaction (at least 1).
    pub size: usize,
    /// Check and report every row, write nothing.
    pub dry_run: bool,
    /// SHA-256 (hex) of the imported file, to resume it; `None`: no journal (always from the start).
    pub source_sha256: Option<String>,
}

impl Batches {
    /// Everything in one transaction, no journal (a single call from code or a test).
    pub fn single(dry_run: bool) -> Batches {
        Batches { size: usize::MAX, dry_run, source_sha256: None }
    }
}

/// Default rows per batch of the command line.
pub const DEFAULT_BATCH_SIZE: usize = 1000;

/// Reported after each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchDone {
    /// From 1, in this run.
    pub number: usize,
    /// Rows of the file handled so far (including the ones of earlier runs), of `rows_total`.
    pub rows_done: usize,
    pub rows_total: usize,
    /// Created in this batch.
    pub imported: usize,
    /// Rows refused in this batch.
    pub refused: usize,
}

/// SHA-256 (hex) of an import file's content.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// How many leading rows of `source` earlier runs committed (0 without a source).
pub(crate) async fn resume_point(db: &Db, establishment_id: i64, kind: &str, source: Option<&str>) -> Result<usize, Error> {
    let Some(source) = source else { return Ok(0) };
    let mut tx = db.read().await?;
    let done: Option<(i64,)> = tx
        .opt(
            "SELECT rows_done FROM import_runs WHERE establishment_id = $1 AND kind = $2 AND source_sha256 = $3",
            &args![establishment_id, kind, source],
        )
        .await?;
    tx.rollback().await?;
    Ok(done.map_or(0, |d| d.0.max(0) as usize))
}

/// Records, in the batch's transaction, that the first `rows_done` rows of `source` are handled.
pub(crate) async fn record(
    tx: &mut Tx,
    establishment_id: i64,
    kind: &str,
    source: Option<&str>,
    rows_done: usize,
    rows_total: usize,
    imported: usize,
) -> Result<(), Error> {
    let Some(source) = source else { return Ok(()) };
    let now = now_text();
    tx.exec(
        "INSERT INTO import_runs (establishment_id, kind, source_sha256, rows_done, rows_total, imported, started_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (establishment_id, kind, source_sha256) DO UPDATE SET rows_done = excluded.rows_done, \
         rows_total = excluded.rows_total, imported = import_runs.imported + excluded.imported, updated_at = excluded.updated_at",
        &args![establishment_id, kind, source, rows_done as i64, rows_total as i64, imported as i64, now],
    )
    .await?;
    Ok(())
}

/// Rows of the file described by `opts` that earlier runs committed (what a run will skip).
pub async fn already_done(db: &Db, establishment_id: i64, kind: &str, opts: &Batches) -> Result<usize, Error> {
    resume_point(db, establishment_id, kind, opts.source_sha256.as_deref()).await
}

/// Between two batches on SQLite, leaves the write lock free for a moment: a writer waiting
/// for it (an audited page view) retries every 100 ms at most (SQLite's busy handler) and
/// would otherwise keep missing the instant between one batch's commit and the next one's
/// `BEGIN IMMEDIATE`. PostgreSQL queues lock waiters in order: no pause.
pub(crate) async fn let_others_in(db: &Db) {
    if db.backend() == Backend::Sqlite {
        tokio::time::sleep(std::time::Duration::from_millis(PAUSE_MS)).await;
    }
}

/// The pause of [`let_others_in`], longer than SQLite's longest busy-handler sleep.
const PAUSE_MS: u64 = 150;
