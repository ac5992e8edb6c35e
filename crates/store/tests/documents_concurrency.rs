//! Two writers withdrawing the same document version at once, on both backends:
//! exactly one wins, the row holds the winner's reason and the audit names the winner.

mod common;

use common::TestDb;
use quittance_store::{Actor, Error, args, demo, documents};

contract!(concurrent_withdrawals_one_wins);

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
