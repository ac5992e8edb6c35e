//! Two writers withdrawing the same document version, or changing the same class of the
//! plan, at once, on both backends: exactly one wins, the row holds the winner's values and
//! the audit names the winner. Two writers adding the same class code: one class, and a field
//! error (the unique constraint) for the other.

mod common;

use common::TestDb;
use common::fixtures;
use quittance_domain::documents::input::{ClassInput, parse_class};
use quittance_store::documents::{ClassEdit, DocClass};
use quittance_store::{Actor, Db, Error, args, demo, documents};

contract!(concurrent_withdrawals_one_wins, two_class_writers_one_wins, two_class_creators_one_code);

fn class(code: &str, label: &str) -> ClassInput {
    ClassInput { code: code.into(), label: label.into(), retention_years: "6".into(), confidentiality: "normal".into(), active: "on".into(), ..Default::default() }
}

async fn class_audit(db: &Db, id: i64, action: &str) -> Vec<String> {
    let mut tx = db.read().await.unwrap();
    let rows: Vec<(String,)> = tx
        .all("SELECT actor FROM audit_log WHERE entity = 'document_class' AND entity_id = $1 AND action = $2 AND outcome = 'ok'", &args![id.to_string(), action])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

async fn two_class_writers_one_wins(t: TestDb) {
    let db = &t.db;
    let e = fixtures::hospital(db, "HSM").await;
    let plan = documents::classes(db, &Actor::system("test"), e).await.unwrap();
    let c: DocClass = plan.into_iter().find(|c| c.code == "courrier").expect("default plan");
    let edit = ClassEdit { id: c.id, version: c.version };
    let (ia, ib) = (parse_class(&class("courrier", "Courrier (alice)")).unwrap(), parse_class(&class("courrier", "Courrier (bruno)")).unwrap());
    let (alice, bruno) = (Actor::system("alice"), Actor::system("bruno"));
    let (ra, rb) = tokio::join!(documents::save_class(db, &alice, e, Some(edit), &ia), documents::save_class(db, &bruno, e, Some(edit), &ib));
    let winner = match (&ra, &rb) {
        (Ok(_), Err(Error::Conflict(m))) | (Err(Error::Conflict(m)), Ok(_)) => {
            assert!(m.contains("modifié"), "French stale message: {m}");
            if ra.is_ok() { 0 } else { 1 }
        }
        other => panic!("expected exactly one winner and one 409 conflict, got {other:?}"),
    };
    let now = documents::classes(db, &Actor::system("test"), e).await.unwrap().into_iter().find(|x| x.id == c.id).unwrap();
    assert_eq!(now.label, ["Courrier (alice)", "Courrier (bruno)"][winner], "the winner's values are kept");
    assert_eq!(now.version, c.version + 1);
    assert_eq!(class_audit(db, c.id, "update").await, [["cli:alice", "cli:bruno"][winner]], "one audit row, naming the winner");
    // The loser's stale version is refused again, even alone.
    let again = documents::save_class(db, &Actor::system("bruno"), e, Some(edit), &ib).await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
}

async fn two_class_creators_one_code(t: TestDb) {
    let db = &t.db;
    let e = fixtures::hospital(db, "HSM").await;
    let (ia, ib) = (parse_class(&class("releve_caf", "Relevé (alice)")).unwrap(), parse_class(&class("releve_caf", "Relevé (bruno)")).unwrap());
    let (alice, bruno) = (Actor::system("alice"), Actor::system("bruno"));
    let (ra, rb) = tokio::join!(documents::save_class(db, &alice, e, None, &ia), documents::save_class(db, &bruno, e, None, &ib));
    let (won, lost) = match (ra, rb) {
        (Ok(c), Err(l)) | (Err(l), Ok(c)) => (c, l),
        other => panic!("expected one class and one refusal, got {other:?}"),
    };
    match lost {
        Error::Invalid(f) => assert_eq!(f.get("code"), Some("Ce code est déjà utilisé dans le plan."), "{f:?}"),
        other => panic!("the unique constraint is a field error, got {other:?}"),
    }
    let same: Vec<DocClass> = documents::classes(db, &Actor::system("test"), e).await.unwrap().into_iter().filter(|c| c.code == "releve_caf").collect();
    assert_eq!(same.len(), 1);
    assert_eq!(class_audit(db, won.id, "create").await.len(), 1);
}

const ROUNDS: usize = 4;

async fn concurrent_withdrawals_one_wins(t: TestDb) {
    let db = &t.db;
    demo::seed(db).await.unwrap();
    let mut tx = db.read().await.unwrap();
    let docs: Vec<(i64, i64, i64)> =
        tx.all("SELECT id, patient_id, version FROM documents WHERE withdrawn_at IS NULL ORDER BY id LIMIT 4", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(docs.len(), ROUNDS, "the demo files documents");
    for (round, (id, patient, version)) in docs.into_iter().enumerate() {
        let seq = {
            let mut tx = db.read().await.unwrap();
            let n = tx.int("SELECT COALESCE(MAX(seq), 0) FROM audit_log", &[]).await.unwrap();
            tx.rollback().await.unwrap();
            n
        };
        let (alice, bob) = (Actor::system("alice"), Actor::system("bob"));
        let (da, dbb) = (db.clone(), db.clone());
        let a = tokio::spawn(async move { documents::withdraw(&da, &alice, id, version, "Erreur de patient (alice)").await });
        let b = tokio::spawn(async move { documents::withdraw(&dbb, &bob, id, version, "Mauvaise classe (bob)").await });
        let (ra, rb) = (a.await.unwrap(), b.await.unwrap());
        // The loser is told the document changed: a conflict, or (the contract of
        // `withdrawal_needs_a_reason_and_the_current_version`) that it is already withdrawn.
        let lost = |r: &Result<documents::Document, Error>| match r {
            Err(Error::Conflict(_)) => true,
            Err(Error::Invalid(e)) => e.get("reason") == Some("Ce document est déjà retiré."),
            _ => false,
        };
        let a_won = match (&ra, &rb) {
            (Ok(_), r) if lost(r) => true,
            (r, Ok(_)) if lost(r) => false,
            _ => panic!("round {round}: exactly one winner and one conflict: {ra:?} / {rb:?}"),
        };
        let (winner, reason) = if a_won { ("cli:alice", "Erreur de patient (alice)") } else { ("cli:bob", "Mauvaise classe (bob)") };
        let d = documents::get(db, &Actor::system("test"), id).await.unwrap();
        assert_eq!(d.withdrawn_reason.as_deref(), Some(reason), "round {round}: the winner's reason is kept");
        assert_eq!(d.version, version + 1);
        let mut tx = db.read().await.unwrap();
        let audit: Vec<(String, String)> = tx
            .all(
                "SELECT actor, changes FROM audit_log WHERE entity = 'patient' AND entity_id = $1 AND action = 'document_withdraw' AND outcome = 'ok' AND seq > $2",
                &args![patient.to_string(), seq],
            )
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(audit.len(), 1, "round {round}: {audit:?}");
        assert_eq!(audit[0].0, winner, "round {round}: the audit names the winner");
        assert!(audit[0].1.contains(reason), "round {round}: {}", audit[0].1);
    }
}
