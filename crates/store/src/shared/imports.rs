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

/// What an import in batches did: rows skipped (committed by an earlier run), rows created,
/// and each refused row's `(line, field, message)`.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub skipped: usize,
    pub imported: usize,
    pub errors: Vec<(usize, String, String)>,
}

/// The one batch loop of every import: resumes after what earlier runs of the same file
/// committed, runs `import_row` on each row inside its batch's transaction (`Ok(None)`: created;
/// `Ok(Some(errors))`: refused and reported; `Err`: the whole import stops), records the progress
/// and commits per batch — or, for a dry run, keeps one transaction and rolls it back at the end —
/// and reports each batch to `on_batch`.
pub(crate) async fn run<R>(
    db: &Db,
    establishment_id: i64,
    kind: &str,
    rows: Vec<(usize, R)>,
    opts: &Batches,
    on_batch: &mut dyn FnMut(&BatchDone),
    mut import_row: impl AsyncFnMut(&mut Tx, &R) -> Result<Option<quittance_domain::validation::FieldErrors>, Error>,
) -> Result<Outcome, Error> {
    let total = rows.len();
    let source = opts.source_sha256.as_deref();
    let start = resume_point(db, establishment_id, kind, source).await?.min(total);
    let mut out = Outcome { skipped: start, ..Default::default() };
    let mut rows = rows.into_iter().skip(start).peekable();
    let mut done = start;
    // A dry run checks every batch in one transaction (so that it sees what earlier rows would
    // have written), rolled back at the end.
    let mut dry_tx: Option<Tx> = None;
    let mut number = 0;
    while rows.peek().is_some() {
        let batch: Vec<(usize, R)> = rows.by_ref().take(opts.size.max(1)).collect();
        let mut tx = match dry_tx.take() {
            Some(tx) => tx,
            None => db.begin().await?,
        };
        let (imported_before, errors_before) = (out.imported, out.errors.len());
        for (line, row) in &batch {
            match import_row(&mut tx, row).await? {
                None => out.imported += 1,
                Some(e) => out.errors.extend(e.0.into_iter().map(|f| (*line, f.field, f.message))),
            }
        }
        done += batch.len();
        number += 1;
        let imported = out.imported - imported_before;
        if opts.dry_run {
            dry_tx = Some(tx);
        } else {
            record(&mut tx, establishment_id, kind, source, done, total, imported).await?;
            tx.commit().await?;
            if rows.peek().is_some() {
                let_others_in(db).await;
            }
        }
        let mut refused: Vec<usize> = out.errors[errors_before..].iter().map(|e| e.0).collect();
        refused.dedup();
        on_batch(&BatchDone { number, rows_done: done, rows_total: total, imported, refused: refused.len() });
    }
    if let Some(tx) = dry_tx {
        tx.rollback().await?;
    }
    Ok(out)
}
