//! Anchors outside the database: a database administrator who drops the triggers,
//! rewrites a row and recomputes every later hash passes the plain chain check, but not
//! the check against the anchors; nor does one who cuts the trail's end.

mod common;

use common::TestDb;
use quittance_store::audit::anchor::{self, AuditKey};
use quittance_store::audit::{self, AuditEvent, AuditRow};
use quittance_store::{Actor, Backend, Db, args};

const KEY: &str = "0123456789abcdef0123456789abcdef-test-key";

async fn events(db: &Db, n: usize, what: &str) {
    let a = Actor::system("test");
    let evs = (0..n).map(|i| AuditEvent::new("patient", "view").id(format!("{what}{i}"))).collect();
    audit::append(db, &a, evs).await.expect("append");
}

async fn drop_triggers(db: &Db) {
    match db.backend() {
        Backend::Sqlite => db
            .raw("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_head_no_delete; DROP TRIGGER audit_head_forward_only;")
            .await
            .expect("drop sqlite triggers"),
        Backend::Postgres => db
            .raw("DROP TRIGGER audit_log_no_update ON audit_log; DROP TRIGGER audit_log_no_truncate ON audit_log; DROP TRIGGER audit_head_guard ON audit_head;")
            .await
            .expect("drop postgres triggers"),
    }
}

/// The attack of the issue: change row `seq`'s actor, then recompute every later hash and the head.
async fn rewrite_and_rechain(db: &Db, seq: i64) {
    let mut tx = db.begin().await.unwrap();
    let rows: Vec<AuditRow> = tx
        .all(
            "SELECT seq, at, user_id, actor, establishment_id, site_id, entity, entity_id, action, outcome, changes, request_id, prev_hash, hash \
             FROM audit_log WHERE seq >= $1 ORDER BY seq",
            &args![seq - 1],
        )
        .await
        .unwrap();
    let mut prev = rows[0].hash.clone();
    for mut r in rows.into_iter().skip(1) {
        if r.seq == seq {
            r.actor = "quelqu'un d'autre".into();
        }
        let hash = r.record().chain_hash(&prev);
        tx.exec("UPDATE audit_log SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4", &args![r.actor.clone(), prev.clone(), hash.clone(), r.seq])
            .await
            .unwrap();
        prev = hash;
    }
    tx.exec("UPDATE audit_head SET hash = $1 WHERE id = 1", &args![prev]).await.unwrap();
    tx.commit().await.unwrap();
}

async fn truncate_after(db: &Db, seq: i64) {
    let mut tx = db.begin().await.unwrap();
    let hash: (String,) = tx.one("SELECT hash FROM audit_log WHERE seq = $1", &args![seq]).await.unwrap();
    tx.exec("DELETE FROM audit_log WHERE seq > $1", &args![seq]).await.unwrap();
    tx.exec("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", &args![seq, hash.0]).await.unwrap();
    tx.commit().await.unwrap();
}

async fn a_rechained_trail_fails_against_its_anchors(t: TestDb) {
    let db = &t.db;
    let dir = tempfile::tempdir().unwrap();
    let key = AuditKey::new(KEY).unwrap();
    events(db, 10, "a").await;
    let (first, a1) = anchor::write(db, &key, dir.path()).await.expect("anchor");
    events(db, 10, "b").await;
    let (_, a2) = anchor::write(db, &key, dir.path()).await.expect("anchor");
    assert!(a2.seq > a1.seq);
    // Unchanged head: the periodic anchoring writes nothing new.
    assert!(anchor::write_if_moved(db, &key, dir.path()).await.unwrap().is_none());
    events(db, 5, "c").await;

    let ok = anchor::verify(db, &key, dir.path()).await.unwrap();
    assert_eq!((ok.checked, ok.failure.clone()), (2, None), "{ok:?}");
    // Another key does not sign these anchors.
    let other = AuditKey::new("another key, also long enough to be accepted").unwrap();
    let bad = anchor::verify(db, &other, dir.path()).await.unwrap();
    assert!(bad.failure.as_deref().is_some_and(|f| f.contains("signature invalide")), "{bad:?}");

    drop_triggers(db).await;
    rewrite_and_rechain(db, 3).await;
    // The hash chain alone does not see it…
    assert_eq!(audit::verify(db).await.unwrap().first_break, None);
    // …the anchors do, and name the first one contradicted.
    let r = anchor::verify(db, &key, dir.path()).await.unwrap();
    let f = r.failure.expect("re-chained trail detected");
    let name = first.file_name().unwrap().to_str().unwrap();
    assert!(f.contains(name) && f.contains("réécrite"), "{f}");
    assert_eq!(r.checked, 0);
}

async fn a_cut_trail_fails_against_its_anchors(t: TestDb) {
    let db = &t.db;
    let dir = tempfile::tempdir().unwrap();
    let key = AuditKey::new(KEY).unwrap();
    events(db, 8, "a").await;
    anchor::write(db, &key, dir.path()).await.unwrap();
    events(db, 8, "b").await;
    let (last, a) = anchor::write(db, &key, dir.path()).await.unwrap();
    drop_triggers(db).await;
    truncate_after(db, a.seq - 3).await;
    assert_eq!(audit::verify(db).await.unwrap().first_break, None);
    let r = anchor::verify(db, &key, dir.path()).await.unwrap();
    let f = r.failure.expect("truncation detected");
    assert!(f.contains(last.file_name().unwrap().to_str().unwrap()) && f.contains("supprimées"), "{f}");
    assert_eq!(r.checked, 1);

    // An anchor forged without the key is refused.
    let forged = anchor::Anchor::sign(&AuditKey::new("a forger's key, long enough for the check").unwrap(), 1, "00", "2026-01-01T00:00:00.000000Z");
    std::fs::write(dir.path().join("ancre-000000000000-forged.json"), serde_json::to_string(&forged).unwrap()).unwrap();
    let r = anchor::verify(db, &key, dir.path()).await.unwrap();
    assert!(r.failure.as_deref().is_some_and(|f| f.contains("forged") && f.contains("signature invalide")), "{r:?}");
}

#[test]
fn short_keys_are_refused() {
    assert!(AuditKey::new("court").is_err());
    assert!(AuditKey::new(KEY).is_ok());
}

contract!(a_rechained_trail_fails_against_its_anchors, a_cut_trail_fails_against_its_anchors);
