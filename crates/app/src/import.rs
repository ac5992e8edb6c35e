//! `quittance import patients FILE`: CSV or JSON, valid rows imported, each
//! invalid row reported with its line, field and message; `--dry-run` writes nothing.
//! Rows are committed in batches (`--batch-size`, one line printed per batch); running the
//! same file again resumes after the last committed batch (see `quittance_store::shared::imports`).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use quittance_store::patients::{self, PatientInput};
use quittance_store::shared::imports::{BatchDone, Batches, DEFAULT_BATCH_SIZE, sha256_hex};
use quittance_store::{Actor, Db, establishments};

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Patients from a CSV (header = field names, `;` or `,`) or JSON (array of objects) file.
    Patients {
        file: PathBuf,
        /// Establishment code (e.g. HSM).
        #[arg(long)]
        establishment: String,
        /// Check every row and report, but import nothing.
        #[arg(long)]
        dry_run: bool,
        /// Rows per transaction (each batch is committed on its own).
        #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, value_parser = batch_size)]
        batch_size: usize,
    },
    /// Tariffs from a CSV file (header = field names of docs/billing.md, `;` or `,`): each row a
    /// dated version of a tariff code (a later version closes the earlier one the day before).
    Tariffs {
        file: PathBuf,
        #[arg(long)]
        establishment: String,
        #[arg(long)]
        dry_run: bool,
        /// Rows per transaction (each batch is committed on its own).
        #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, value_parser = batch_size)]
        batch_size: usize,
    },
    /// CMS acts and call units (a `kind` column: acte, unites) from a CSV (`;`, header) or JSON
    /// file (docs/billing-activity.md); idempotent by external id.
    Activity(crate::import_activity::ActivityArgs),
    /// Payers from a CSV file (header = field names of docs/payers.md, `;` or `,`).
    Payers {
        file: PathBuf,
        #[arg(long)]
        establishment: String,
        #[arg(long)]
        dry_run: bool,
        /// Rows per transaction (each batch is committed on its own).
        #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, value_parser = batch_size)]
        batch_size: usize,
    },
}

pub(crate) fn batch_size(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("un nombre de lignes d'au moins 1 est attendu".into()),
    }
}

pub(crate) fn batches(text: &str, dry_run: bool, size: usize) -> Batches {
    Batches { size, dry_run, source_sha256: Some(sha256_hex(text.as_bytes())) }
}

/// The line printed after each batch.
pub(crate) fn batch_line(b: &BatchDone, dry_run: bool, what: &str) -> String {
    if dry_run {
        format!("lot {} : {}/{} ligne(s) vérifiée(s), {} {what} valide(s), {} ligne(s) refusée(s)", b.number, b.rows_done, b.rows_total, b.imported, b.refused)
    } else {
        format!("lot {} : {}/{} ligne(s) traitée(s), {} {what} importé(s), {} ligne(s) refusée(s)", b.number, b.rows_done, b.rows_total, b.imported, b.refused)
    }
}

/// Said before the batches when an earlier run of the same file committed some of them.
pub(crate) fn resume_line(skipped: usize, total: usize) -> Option<String> {
    if skipped == 0 {
        None
    } else if skipped >= total {
        Some(format!("Ce fichier a déjà été importé en entier ({total} ligne(s)) : rien de nouveau à importer."))
    } else {
        Some(format!("Reprise : {skipped} ligne(s) déjà traitée(s) par une exécution précédente de ce fichier, import à partir de la suivante."))
    }
}

/// The establishment of a code (any case), among those the operator sees.
pub(crate) async fn establishment_of(db: &Db, op: &Actor, code: &str) -> Result<establishments::Establishment, String> {
    establishments::list(db, op)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|e| e.code.eq_ignore_ascii_case(code))
        .ok_or(format!("établissement « {code} » inconnu"))
}

/// Prints each refused row `(line, field, message)` and the summary of a payers or tariffs
/// import; refused rows make the command fail.
pub(crate) fn rows_report(n: usize, imported: usize, errors: &[(usize, String, String)], dry_run: bool, what: &str) -> Result<(), String> {
    let mut refused: Vec<usize> = errors.iter().map(|x| x.0).collect();
    refused.dedup();
    for (line, field, message) in errors {
        println!("ligne {line} ; champ {field} ; {message}");
    }
    println!(
        "{n} ligne(s) lue(s) : {imported} {what} {}, {} ligne(s) refusée(s).",
        if dry_run { "valide(s) (rien n'est importé : --dry-run)" } else { "importé(s)" },
        refused.len()
    );
    if refused.is_empty() { Ok(()) } else { Err(format!("{} ligne(s) refusée(s)", refused.len())) }
}

/// Reads CSV rows into `T` (whose serde fields name the allowed columns), with their file line.
pub(crate) fn read_csv<T: serde::de::DeserializeOwned + serde::Serialize + Default>(text: &str) -> Result<Vec<(usize, T)>, String> {
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.matches(';').count() >= header.matches(',').count() { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("en-tête CSV illisible : {e}"))?.clone();
    let known = serde_json::to_value(T::default()).unwrap_or_default();
    for h in headers.iter() {
        if known.get(h).is_none() {
            return Err(format!("colonne inconnue « {h} » (voir la documentation du format dans docs/)"));
        }
    }
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| format!("CSV invalide : {e}"))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let mut obj = serde_json::Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            obj.insert(h.to_string(), serde_json::Value::String(v.to_string()));
        }
        let input: T = serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| format!("ligne {line} : {e}"))?;
        rows.push((line, input));
    }
    Ok(rows)
}

pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("fichier « {} » illisible : {e}", path.display()))?;
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// Reads the rows with their line numbers (CSV: file line; JSON: position in the array, from 1).
fn rows_of(path: &Path, text: &str) -> Result<Vec<(usize, PatientInput)>, String> {
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) || text.trim_start().starts_with('[');
    if is_json {
        let values: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(|e| format!("JSON invalide (ligne {}, colonne {}) : {e}", e.line(), e.column()))?;
        return values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value::<PatientInput>(v).map(|p| (i + 1, p)).map_err(|e| format!("élément {} : {e}", i + 1))
            })
            .collect();
    }
    read_csv(text)
}

pub async fn run(cmd: ImportCmd, db: &Db, op: &Actor) -> Result<(), String> {
    match cmd {
        ImportCmd::Patients { file, establishment, dry_run, batch_size } => {
            let ests = establishments::list(db, op).await.map_err(|e| e.to_string())?;
            let e = ests
                .iter()
                .find(|e| e.code.eq_ignore_ascii_case(&establishment))
                .ok_or(format!("établissement « {establishment} » inconnu"))?;
            let text = read_text(&file)?;
            let rows = rows_of(&file, &text)?;
            let n = rows.len();
            let opts = batches(&text, dry_run, batch_size);
            let skipped = quittance_store::shared::imports::already_done(db, e.id, "patients", &opts).await.map_err(|e| e.to_string())?;
            if let Some(l) = resume_line(skipped, n) {
                println!("{l}");
            }
            let mut print = |b: &BatchDone| println!("{}", batch_line(b, dry_run, "dossier(s)"));
            let report = patients::import_in_batches(db, op, e.id, rows, &opts, &mut print).await.map_err(|e| e.to_string())?;
            let mut refused: Vec<usize> = report.errors.iter().map(|x| x.line).collect();
            refused.dedup();
            for err in &report.errors {
                println!("ligne {} ; champ {} ; {}", err.line, err.field, err.message);
            }
            println!(
                "{} ligne(s) lue(s) : {} dossier(s) {}, {} ligne(s) refusée(s){}.",
                n,
                report.imported,
                if dry_run { "valide(s) (rien n'est importé : --dry-run)" } else { "importé(s)" },
                refused.len(),
                if dry_run { "" } else { " (corrigez-les et importez-les à nouveau)" }
            );
            if refused.is_empty() { Ok(()) } else { Err(format!("{} ligne(s) refusée(s)", refused.len())) }
        }
        ImportCmd::Payers { file, establishment, dry_run, batch_size } => {
            let e = &establishment_of(db, op, &establishment).await?;
            let text = read_text(&file)?;
            let rows: Vec<(usize, quittance_store::care::payers::PayerInput)> = read_csv(&text)?;
            let n = rows.len();
            let opts = batches(&text, dry_run, batch_size);
            let skipped = quittance_store::shared::imports::already_done(db, e.id, "payers", &opts).await.map_err(|e| e.to_string())?;
            if let Some(l) = resume_line(skipped, n) {
                println!("{l}");
            }
            let mut print = |b: &BatchDone| println!("{}", batch_line(b, dry_run, "organisme(s)"));
            let report =
                quittance_store::care::payers::import_in_batches(db, op, e.id, quittance_store::care::payers::parse_rows(rows), &opts, &mut print).await.map_err(|e| e.to_string())?;
            rows_report(n, report.imported, &report.errors, dry_run, "organisme(s)")
        }
        ImportCmd::Activity(a) => crate::import_activity::run(a, db, op).await,
        ImportCmd::Tariffs { file, establishment, dry_run, batch_size } => {
            use quittance_store::billing::tariffs;
            let e = &establishment_of(db, op, &establishment).await?;
            let text = read_text(&file)?;
            let rows: Vec<(usize, tariffs::TariffCsvRow)> = read_csv(&text)?;
            let n = rows.len();
            let opts = batches(&text, dry_run, batch_size);
            let skipped = quittance_store::shared::imports::already_done(db, e.id, "tariffs", &opts).await.map_err(|e| e.to_string())?;
            if let Some(l) = resume_line(skipped, n) {
                println!("{l}");
            }
            let mut print = |b: &BatchDone| println!("{}", batch_line(b, dry_run, "tarif(s)"));
            let parsed = tariffs::parse_rows(db, e.id, rows).await.map_err(|e| e.to_string())?;
            let report = tariffs::import_in_batches(db, op, e.id, parsed, &opts, &mut print).await.map_err(|e| e.to_string())?;
            rows_report(n, report.imported, &report.errors, dry_run, "tarif(s)")
        }
    }
}
