//! `quittance audit anchor` and `audit verify --anchors`, run as an operator would,
//! against the attack of a database administrator who re-chains the trail.

mod common;

use std::path::Path;

use quittance_store::audit::{self, AuditEvent, AuditRow};
use quittance_store::{Actor, Db, DbOptions, args, migrate};

const KEY: &str = "cli-test-key-0123456789abcdef0123456789";

fn quittance(args: &[&str], key: Option<&str>) -> (bool, String, String) {
    let mut c = common::command(args);
    c.env_remove("QUITTANCE_AUDIT_KEY").env_remove("QUITTANCE_AUDIT_ANCHORS");
    if let Some(k) = key {
        c.env("QUITTANCE_AUDIT_KEY", k);
    }
    common::run(c).parts()
}

async fn open(path: &Path) -> Db {
    let db = Db::open(&path.to_string_lossy(), DbOptions::default()).await.unwrap();
    migrate::migrate(&db).await.unwrap();
    db
}

async fn rows(path: &Path, n: usize) {
    let db = open(path).await;
    let evs = (0..n).map(|i| AuditEvent::new("patient", "view").id(i)).collect();
    audit::append(&db, &Actor::system("test"), evs).await.unwrap();
    db.close().await;
}

/// Drops the triggers, changes row 2's actor and recomputes every later hash and the head.
async fn rechain(path: &Path) {
    let db = open(path).await;
    db.raw("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_head_forward_only;").await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let all: Vec<AuditRow> = tx
        .all(
            "SELECT seq, at, user_id, actor, establishment_id, site_id, entity, entity_id, action, outcome, changes, request_id, prev_hash, hash FROM audit_log ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    let mut prev = all[0].hash.clone();
    for mut r in all.into_iter().skip(1) {
        if r.seq == 2 {
            r.actor = "autre".into();
        }
        let h = r.record().chain_hash(&prev);
        tx.exec("UPDATE audit_log SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4", &args![r.actor.clone(), prev.clone(), h.clone(), r.seq]).await.unwrap();
        prev = h;
    }
    tx.exec("UPDATE audit_head SET hash = $1 WHERE id = 1", &args![prev]).await.unwrap();
    tx.commit().await.unwrap();
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchors_detect_a_rechained_trail() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let d = db.to_str().unwrap();
    let anchors = dir.path().join("ancres");
    let a = anchors.to_str().unwrap();
    rows(&db, 6).await;

    // Anchoring and checking need the key.
    let (ok, _, err) = quittance(&["--database", d, "audit", "anchor", "--to", a], None);
    assert!(!ok && err.contains("clé d'audit absente"), "{err}");
    let (ok, out, err) = quittance(&["--database", d, "audit", "anchor", "--to", a], Some(KEY));
    assert!(ok, "{err}");
    assert!(out.contains("Ancre écrite") && out.contains("ligne 6"), "{out}");
    let file = std::fs::read_dir(&anchors).unwrap().next().unwrap().unwrap().file_name().into_string().unwrap();
    rows(&db, 3).await;

    let (ok, out, err) = quittance(&["--database", d, "audit", "verify", "--anchors", a], Some(KEY));
    assert!(ok, "{err}");
    assert!(out.contains("Ancres concordantes : 1 ancre(s)"), "{out}");
    let (ok, _, err) = quittance(&["--database", d, "audit", "verify", "--anchors", a], None);
    assert!(!ok && err.contains("clé d'audit absente"), "{err}");
    let (ok, _, err) = quittance(&["--database", d, "audit", "verify", "--anchors", a], Some("une autre clé, assez longue pour être acceptée"));
    assert!(!ok && err.contains("signature invalide"), "{err}");

    rechain(&db).await;
    // The plain check still passes: this is the attack the anchors are for.
    let (ok, out, err) = quittance(&["--database", d, "audit", "verify"], None);
    assert!(ok, "{err}");
    assert!(out.contains("Piste d'audit intègre : 9 ligne(s)"), "{out}");
    let (ok, _, err) = quittance(&["--database", d, "audit", "verify", "--anchors", a], Some(KEY));
    assert!(!ok, "re-chained trail accepted");
    assert!(err.contains(&file) && err.contains("réécrite"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn anchors_from_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let anchors = dir.path().join("ancres");
    let cfg = dir.path().join("q.toml");
    std::fs::write(&cfg, format!("database = \"{}\"\naudit_key = \"{KEY}\"\naudit_anchors = \"{}\"\n", db.display(), anchors.display())).unwrap();
    let c = cfg.to_str().unwrap();
    let (ok, _, err) = quittance(&["--config", c, "migrate"], None);
    assert!(ok, "{err}");
    let (ok, out, err) = quittance(&["--config", c, "audit", "anchor"], None);
    assert!(ok, "{err}");
    assert!(out.contains("Ancre écrite"), "{out}");
    let (ok, out, err) = quittance(&["--config", c, "audit", "verify"], None);
    assert!(ok, "{err}");
    assert!(out.contains("Ancres concordantes"), "{out}");
    std::fs::write(&cfg, format!("database = \"{}\"\naudit_key = \"court\"\n", db.display())).unwrap();
    let (ok, _, err) = quittance(&["--config", c, "audit", "anchor", "--to", anchors.to_str().unwrap()], None);
    assert!(!ok && err.contains("trop courte"), "{err}");
}
