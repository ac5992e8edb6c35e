//! `quittance import activity FILE --establishment CODE`: CMS acts and call units of patients
//! from a CSV (`;` or `,`, first line = column names) or JSON (array of objects) file, one row
//! per act or per day of units, its `kind` column saying which (`acte`, `unites`; stays and
//! movements will join the same file). Valid rows are committed in batches, each refused row
//! reported as `ligne N ; champ F ; message`; a row whose external id was already imported is
//! not imported twice (another file with the same rows imports nothing new). Format:
//! docs/billing-activity.md.

use std::path::{Path, PathBuf};

use clap::Args;
use quittance_store::activity::import::{ActivityRow, import_in_batches};
use quittance_store::shared::imports::{BatchDone, DEFAULT_BATCH_SIZE};
use quittance_store::{Actor, Db};

use crate::import::{batch_line, batches, establishment_of, read_csv, read_text, resume_line, rows_report};

#[derive(Args)]
pub struct ActivityArgs {
    file: PathBuf,
    /// Establishment code (e.g. DPASS-PS).
    #[arg(long)]
    establishment: String,
    /// Check every row and report, but import nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rows per transaction (each batch is committed on its own).
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, value_parser = crate::import::batch_size)]
    batch_size: usize,
}

/// The rows of a JSON array, numbered from 1; an unknown key stops the import before anything
/// is read, as an unknown CSV column does.
fn json_rows(text: &str) -> Result<Vec<(usize, ActivityRow)>, String> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| format!("JSON invalide (ligne {}, colonne {}) : {e}", e.line(), e.column()))?;
    let known = serde_json::to_value(ActivityRow::default()).unwrap_or_default();
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if let Some(o) = v.as_object()
                && let Some(k) = o.keys().find(|k| known.get(k.as_str()).is_none())
            {
                return Err(format!("élément {} : clé inconnue « {k} » (voir docs/billing-activity.md)", i + 1));
            }
            // Numbers are accepted where text is expected (`"units": 12`).
            let v = match v {
                serde_json::Value::Object(o) => serde_json::Value::Object(
                    o.into_iter().map(|(k, x)| (k, if let serde_json::Value::Number(n) = x { serde_json::Value::String(n.to_string()) } else { x })).collect(),
                ),
                other => other,
            };
            serde_json::from_value::<ActivityRow>(v).map(|r| (i + 1, r)).map_err(|e| format!("élément {} : {e}", i + 1))
        })
        .collect()
}

fn rows_of(path: &Path, text: &str) -> Result<Vec<(usize, ActivityRow)>, String> {
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) || text.trim_start().starts_with('[');
    if is_json { json_rows(text) } else { read_csv(text) }
}

pub async fn run(a: ActivityArgs, db: &Db, op: &Actor) -> Result<(), String> {
    let e = establishment_of(db, op, &a.establishment).await?;
    let text = read_text(&a.file)?;
    let rows = rows_of(&a.file, &text)?;
    let n = rows.len();
    let opts = batches(&text, a.dry_run, a.batch_size);
    let skipped = quittance_store::shared::imports::already_done(db, e.id, "activity", &opts).await.map_err(|e| e.to_string())?;
    if let Some(l) = resume_line(skipped, n) {
        println!("{l}");
    }
    let dry_run = a.dry_run;
    let mut print = |b: &BatchDone| println!("{}", batch_line(b, dry_run, "ligne(s) d'activité"));
    let report = import_in_batches(db, op, e.id, rows, &opts, &mut print).await.map_err(|e| e.to_string())?;
    if report.already > 0 {
        println!("{} ligne(s) déjà importée(s) (même identifiant externe) : rien de nouveau pour elles.", report.already);
    }
    rows_report(n, report.imported, &report.errors, dry_run, "ligne(s) d'activité")
}
