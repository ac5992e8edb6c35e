//! The audit rows of one commit are inserted many per statement (64, 16, 4, 1 rows): a batch
//! of 85 rows takes every size, and the chain stays whole, in order, on both backends. An
//! autocommit connection (`Db::autocommit`) reads, but refuses to commit audit rows.

mod common;

use common::TestDb;
use common::fixtures::op;
use quittance_store::audit::{self, AuditEvent};
use quittance_store::{Error, args};

contract!(a_batch_of_every_size_keeps_the_chain, autocommit_connections_refuse_audit_rows);

async fn count(t: &TestDb, sql: &str) -> i64 {
    let mut tx = t.db.read().await.unwrap();
    let n = tx.int(sql, &[]).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

async fn a_batch_of_every_size_keeps_the_chain(t: TestDb) {
    let db = &t.db;
    let before = count(&t, "SELECT COUNT(*) FROM audit_log").await;
    let mut tx = db.begin().await.unwrap();
    for i in 0..85 {
        tx.audit(&op(), AuditEvent::new("essai", "lot").id(i));
    }
    tx.commit().await.unwrap();
    assert_eq!(count(&t, "SELECT COUNT(*) FROM audit_log").await, before + 85);
    let mut tx = db.read().await.unwrap();
    let ids: Vec<(Option<String>,)> = tx.all("SELECT entity_id FROM audit_log WHERE entity = 'essai' ORDER BY seq", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    let ids: Vec<String> = ids.into_iter().filter_map(|r| r.0).collect();
    assert_eq!(ids, (0..85).map(|i| i.to_string()).collect::<Vec<_>>(), "in the order pushed");
    let v = audit::verify(db).await.unwrap();
    assert_eq!(v.first_break, None);
    assert_eq!(v.head_seq, count(&t, "SELECT MAX(seq) FROM audit_log").await);
}

async fn autocommit_connections_refuse_audit_rows(t: TestDb) {
    let db = &t.db;
    let before = count(&t, "SELECT COUNT(*) FROM audit_log").await;
    let mut c = db.autocommit().await.unwrap();
    assert_eq!(c.int("SELECT COUNT(*) FROM audit_log", &args![]).await.unwrap(), before, "it reads");
    c.audit(&op(), AuditEvent::new("essai", "hors_transaction"));
    assert!(matches!(c.commit().await, Err(Error::Integrity(_))));
    assert_eq!(count(&t, "SELECT COUNT(*) FROM audit_log").await, before, "nothing written");
    // Without audit rows, commit and rollback of such a connection are no-ops.
    db.autocommit().await.unwrap().commit().await.unwrap();
    db.autocommit().await.unwrap().rollback().await.unwrap();
}
