//! Imports in batches on both backends: one transaction and one report per batch, a
//! journal per file that makes a re-run resume after the last committed batch.

mod common;

use common::TestDb;
use common::check::{count};
use common::fixtures::{self, op};
use quittance_store::patients::{self, PatientInput};
use quittance_store::shared::imports::{BatchDone, Batches};

contract!(patients_import_in_batches_and_resume);

fn rows(n: usize, bad: usize) -> Vec<(usize, PatientInput)> {
    (0..n)
        .map(|i| {
            let p = PatientInput {
                birth_name: format!("Lot{}", (b'A' + (i % 26) as u8) as char),
                birth_first_names: format!("Jean{}", (b'A' + (i / 26) as u8) as char),
                birth_date: if i == bad { "31/02/1980".into() } else { format!("{:02}/01/1970", 1 + i % 28) },
                sex: "F".into(),
                birth_place_code: "69123".into(),
                ..Default::default()
            };
            (i + 2, p)
        })
        .collect()
}

async fn patients_import_in_batches_and_resume(t: TestDb) {
    let db = &t.db;
    let e = fixtures::hospital(db, "HSM").await;
    let opts = Batches { size: 10, dry_run: false, source_sha256: Some("a".repeat(64)) };
    let mut seen = Vec::new();
    let r = patients::import_in_batches(db, &op(), e, rows(25, 12), &opts, &mut |b: &BatchDone| seen.push(b.clone())).await.unwrap();
    assert_eq!((r.imported, r.skipped, r.errors.len()), (24, 0, 1));
    assert_eq!(r.errors[0].line, 14);
    let done: Vec<(usize, usize, usize, usize)> = seen.iter().map(|b| (b.number, b.rows_done, b.imported, b.refused)).collect();
    assert_eq!(done, [(1, 10, 10, 0), (2, 20, 9, 1), (3, 25, 5, 0)]);
    assert!(seen.iter().all(|b| b.rows_total == 25));
    assert_eq!(count(db, "SELECT COUNT(*) FROM patients").await, 24);
    assert_eq!(count(db, "SELECT rows_done FROM import_runs WHERE kind = 'patients'").await, 25);
    assert_eq!(count(db, "SELECT imported FROM import_runs WHERE kind = 'patients'").await, 24);

    // The same file again: everything is skipped, nothing written, no batch.
    let mut seen = Vec::new();
    let r = patients::import_in_batches(db, &op(), e, rows(25, 12), &opts, &mut |b: &BatchDone| seen.push(b.clone())).await.unwrap();
    assert_eq!((r.imported, r.skipped), (0, 25));
    assert!(seen.is_empty());
    assert_eq!(count(db, "SELECT COUNT(*) FROM patients").await, 24);

    // Another file (another checksum) starts from its first row; a longer run of the first
    // file (as if it had grown) resumes after row 25.
    let other = Batches { source_sha256: Some("b".repeat(64)), ..opts.clone() };
    let r = patients::import_in_batches(db, &op(), e, rows(3, 99), &other, &mut |_| {}).await.unwrap();
    assert_eq!((r.imported, r.skipped), (3, 0));
    let r = patients::import_in_batches(db, &op(), e, rows(28, 12), &opts, &mut |_| {}).await.unwrap();
    assert_eq!((r.imported, r.skipped), (3, 25));
    assert_eq!(count(db, "SELECT COUNT(*) FROM patients").await, 30);
    assert_eq!(count(db, "SELECT imported FROM import_runs WHERE source_sha256 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'").await, 27);

    // A dry run reports its batches and writes nothing, journal included.
    let dry = Batches { size: 2, dry_run: true, source_sha256: Some("c".repeat(64)) };
    let mut n = 0;
    let r = patients::import_in_batches(db, &op(), e, rows(5, 99), &dry, &mut |_| n += 1).await.unwrap();
    assert_eq!((r.imported, n), (5, 3));
    assert_eq!(count(db, "SELECT COUNT(*) FROM patients").await, 30);
    assert_eq!(count(db, "SELECT COUNT(*) FROM import_runs").await, 2);
}
