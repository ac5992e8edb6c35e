//! `quittance import patients|payers … --batch-size N`: one transaction and one printed line
//! per batch, and running the same file again imports nothing twice (it resumes after the
//! last committed batch).

mod common;

use std::path::Path;

use common::{Base, Run, quittance};
use quittance_store::{Db, args};

impl Base {
    /// A migrated database with one establishment (HSM).
    fn new() -> Base {
        Base::with_hospitals(&["HSM"])
    }

    fn import(&self, what: &str, file: &Path, extra: &[&str]) -> Run {
        let mut a = vec!["--database", self.db(), "import", what, file.to_str().unwrap(), "--establishment", "HSM"];
        a.extend_from_slice(extra);
        quittance(&a)
    }

    fn count(&self, sql: &str) -> i64 {
        self.rt.block_on(async {
            let db = Db::open(self.db(), Default::default()).await.unwrap();
            let mut tx = db.read().await.unwrap();
            let n = tx.int(sql, &[]).await.unwrap();
            tx.rollback().await.unwrap();
            db.close().await;
            n
        })
    }

    /// As if a run of the file had stopped after committing its first `rows` rows.
    fn interrupted_after(&self, file: &Path, kind: &str, rows: i64, total: i64) {
        let text = std::fs::read_to_string(file).unwrap();
        let sha = quittance_store::shared::imports::sha256_hex(text.as_bytes());
        self.rt.block_on(async {
            let db = Db::open(self.db(), Default::default()).await.unwrap();
            let mut tx = db.begin().await.unwrap();
            tx.exec(
                "INSERT INTO import_runs (establishment_id, kind, source_sha256, rows_done, rows_total, imported, started_at, updated_at) \
                 SELECT id, $1, $2, $3, $4, $3, 'x', 'x' FROM establishments WHERE code = 'HSM'",
                &args![kind, sha, rows, total],
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            db.close().await;
        });
    }
}

/// Letters only (names accept no digits): 0 → A, 25 → Z, 26 → BA…
fn letters(mut n: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

/// `n` valid patient rows named after `tag`, the row at `bad` (from 0) with an impossible date.
fn patients_csv(tag: &str, n: usize, bad: Option<usize>) -> String {
    let mut s = String::from("birth_name;birth_first_names;birth_date;sex;birth_place_code\n");
    for i in 0..n {
        let date = if Some(i) == bad { "31/02/1980".to_string() } else { format!("{:02}/{:02}/{}", 1 + i % 28, 1 + i % 12, 1940 + i % 60) };
        s.push_str(&format!("{tag}{};Jean {};{date};{};69123\n", letters(i), letters(i * 7), if i % 2 == 0 { "F" } else { "M" }));
    }
    s
}

fn batch_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("lot ")).collect()
}

#[test]
fn patients_are_imported_in_batches_and_a_rerun_imports_nothing_new() {
    let b = Base::new();
    let f = b.file("patients.csv", &patients_csv("Lot", 2500, Some(1499)));
    let r = b.import("patients", &f, &["--batch-size", "1000"]);
    assert!(!r.ok, "the refused row makes the command fail: {}", r.out);
    assert_eq!(
        batch_lines(&r.out),
        [
            "lot 1 : 1000/2500 ligne(s) traitée(s), 1000 dossier(s) importé(s), 0 ligne(s) refusée(s)",
            "lot 2 : 2000/2500 ligne(s) traitée(s), 999 dossier(s) importé(s), 1 ligne(s) refusée(s)",
            "lot 3 : 2500/2500 ligne(s) traitée(s), 500 dossier(s) importé(s), 0 ligne(s) refusée(s)",
        ],
        "{}",
        r.out
    );
    // The per-line report is as before: the refused row's file line (header = line 1).
    assert!(r.out.lines().any(|l| l.starts_with("ligne 1501 ; champ birth_date ; ")), "{}", r.out);
    assert!(r.out.trim_end().ends_with("2500 ligne(s) lue(s) : 2499 dossier(s) importé(s), 1 ligne(s) refusée(s) (corrigez-les et importez-les à nouveau)."), "{}", r.out);
    assert_eq!(b.count("SELECT COUNT(*) FROM patients"), 2499);
    assert_eq!(b.count("SELECT COUNT(*) FROM audit_log WHERE entity = 'patient' AND action = 'create'"), 2499, "each creation audited");

    // The same file again: nothing new, no batch.
    let r = b.import("patients", &f, &["--batch-size", "1000"]);
    assert!(r.ok, "{} {}", r.out, r.err);
    assert!(batch_lines(&r.out).is_empty(), "{}", r.out);
    assert!(r.out.contains("Ce fichier a déjà été importé en entier (2500 ligne(s)) : rien de nouveau à importer."), "{}", r.out);
    assert_eq!(b.count("SELECT COUNT(*) FROM patients"), 2499);

    // A file whose run stopped after two batches resumes with the third.
    let g = b.file("suite.csv", &patients_csv("Suite", 30, None));
    b.interrupted_after(&g, "patients", 20, 30);
    let r = b.import("patients", &g, &["--batch-size", "10"]);
    assert!(r.ok, "{} {}", r.out, r.err);
    assert!(r.out.contains("Reprise : 20 ligne(s) déjà traitée(s)"), "{}", r.out);
    assert_eq!(batch_lines(&r.out), ["lot 1 : 30/30 ligne(s) traitée(s), 10 dossier(s) importé(s), 0 ligne(s) refusée(s)"], "{}", r.out);
    assert_eq!(b.count("SELECT COUNT(*) FROM patients WHERE birth_name LIKE 'SUITE%'"), 10, "only the rows after the committed ones");
}

#[test]
fn a_dry_run_reports_per_batch_and_records_nothing() {
    let b = Base::new();
    let f = b.file("patients.csv", &patients_csv("Essai", 25, Some(3)));
    let r = b.import("patients", &f, &["--dry-run", "--batch-size", "10"]);
    assert!(!r.ok);
    assert_eq!(
        batch_lines(&r.out),
        [
            "lot 1 : 10/25 ligne(s) vérifiée(s), 9 dossier(s) valide(s), 1 ligne(s) refusée(s)",
            "lot 2 : 20/25 ligne(s) vérifiée(s), 10 dossier(s) valide(s), 0 ligne(s) refusée(s)",
            "lot 3 : 25/25 ligne(s) vérifiée(s), 5 dossier(s) valide(s), 0 ligne(s) refusée(s)",
        ],
        "{}",
        r.out
    );
    assert!(r.out.lines().any(|l| l.starts_with("ligne 5 ; champ birth_date ; ")), "{}", r.out);
    assert_eq!(b.count("SELECT COUNT(*) FROM patients"), 0);
    assert_eq!(b.count("SELECT COUNT(*) FROM import_runs"), 0, "a dry run is not a run to resume");
    // The real import then imports the file from its first row.
    let r = b.import("patients", &f, &["--batch-size", "10"]);
    assert_eq!(batch_lines(&r.out).len(), 3, "{}", r.out);
    assert_eq!(b.count("SELECT COUNT(*) FROM patients"), 24);
}

#[test]
fn payers_are_imported_in_batches_and_a_rerun_imports_nothing_new() {
    let b = Base::new();
    let mut csv = String::from("code;kind;name\n");
    for i in 0..25 {
        csv.push_str(&format!("M{i:03};complementaire;Mutuelle {}\n", letters(i)));
    }
    let f = b.file("organismes.csv", &csv);
    let r = b.import("payers", &f, &["--batch-size", "10"]);
    assert!(r.ok, "{} {}", r.out, r.err);
    assert_eq!(
        batch_lines(&r.out),
        [
            "lot 1 : 10/25 ligne(s) traitée(s), 10 organisme(s) importé(s), 0 ligne(s) refusée(s)",
            "lot 2 : 20/25 ligne(s) traitée(s), 10 organisme(s) importé(s), 0 ligne(s) refusée(s)",
            "lot 3 : 25/25 ligne(s) traitée(s), 5 organisme(s) importé(s), 0 ligne(s) refusée(s)",
        ],
        "{}",
        r.out
    );
    let r = b.import("payers", &f, &["--batch-size", "10"]);
    assert!(r.ok, "a rerun refuses no row as a duplicate: {} {}", r.out, r.err);
    assert!(batch_lines(&r.out).is_empty(), "{}", r.out);
    assert_eq!(b.count("SELECT COUNT(*) FROM payers"), 25);
    let r = b.import("payers", &f, &["--batch-size", "0"]);
    assert!(!r.ok);
    assert!(r.err.contains("au moins 1"), "{}", r.err);
}
