//! What the store tests read back and assert with: counts, the audit trail, refusals.
#![allow(dead_code)]

use std::collections::BTreeSet;

use quittance_domain::validation::FieldErrors;
use quittance_store::audit::{self, AuditFilter, AuditRow};
use quittance_store::{Db, Error, args};

/// One integer from `sql` on a read transaction.
pub async fn count(db: &Db, sql: &str) -> i64 {
    let mut tx = db.read().await.unwrap();
    let n = tx.int(sql, &[]).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

/// The sequence number of the last audit row.
pub async fn audit_head(db: &Db) -> i64 {
    count(db, "SELECT seq FROM audit_head").await
}

/// The audit rows matching `f` (1000 at most), as the system actor sees them.
pub async fn audit_rows(db: &Db, f: AuditFilter) -> Vec<AuditRow> {
    audit::search(db, &super::fixtures::op(), &f, 1000, 0).await.unwrap().0
}

/// The `changes` of an audit row, as JSON.
pub fn changes(r: &AuditRow) -> serde_json::Value {
    serde_json::from_str(&r.changes).unwrap_or_else(|e| panic!("changes of row {} are JSON: {e}", r.seq))
}

/// The sites a patient file is attached to, in id order.
pub async fn sites_of(db: &Db, patient_id: i64) -> Vec<i64> {
    let mut tx = db.read().await.unwrap();
    let rows: Vec<(i64,)> = tx.all("SELECT site_id FROM patient_sites WHERE patient_id = $1 ORDER BY site_id", &args![patient_id]).await.unwrap();
    tx.rollback().await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

/// The field errors of a refused write (panics on anything else).
pub fn invalid<T: std::fmt::Debug>(r: Result<T, Error>) -> FieldErrors {
    match r {
        Err(Error::Invalid(e)) => e,
        other => panic!("expected field errors, got {other:?}"),
    }
}

/// Asserts a write was refused as forbidden.
pub fn forbidden<T: std::fmt::Debug>(r: Result<T, Error>) {
    assert!(matches!(r, Err(Error::Forbidden)), "expected Forbidden, got {r:?}");
}

/// The names of the fields in error.
pub fn fields(e: &FieldErrors) -> BTreeSet<String> {
    e.0.iter().map(|f| f.field.clone()).collect()
}

/// A set of field names, to compare with [`fields`].
pub fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}
