//! Two administrators saving an establishment's readiness rules from the same version at
//! once, on both backends: exactly one wins, its rules are kept and the audit names it.

mod common;

use common::TestDb;
use quittance_domain::readiness::Rules;
use quittance_store::{Actor, Error, args, demo, establishments as est, readiness};

contract!(concurrent_rule_saves_one_wins);

async fn concurrent_rule_saves_one_wins(t: TestDb) {
    let db = &t.db;
    demo::seed(db).await.unwrap();
    let hsm = est::list(db, &Actor::system("test")).await.unwrap().into_iter().find(|e| e.code == "HSM").unwrap().id;
    for (round, days) in [(0, (11, 12)), (1, (21, 22)), (2, (31, 32))] {
        let version = readiness::rules_version(db, hsm).await.unwrap();
        let seq = {
            let mut tx = db.read().await.unwrap();
            let n = tx.int("SELECT COALESCE(MAX(seq), 0) FROM audit_log", &[]).await.unwrap();
            tx.rollback().await.unwrap();
            n
        };
        let (da, dbb) = (db.clone(), db.clone());
        let a = tokio::spawn(async move {
            readiness::save_rules_at(&da, &Actor::system("alice"), hsm, version, &Rules { pec_answer_days: days.0, ..Rules::default() }).await
        });
        let b = tokio::spawn(async move {
            readiness::save_rules_at(&dbb, &Actor::system("bob"), hsm, version, &Rules { pec_answer_days: days.1, ..Rules::default() }).await
        });
        let (ra, rb) = (a.await.unwrap(), b.await.unwrap());
        let a_won = match (&ra, &rb) {
            (Ok(()), Err(Error::Conflict(_))) => true,
            (Err(Error::Conflict(_)), Ok(())) => false,
            _ => panic!("round {round}: exactly one winner and one conflict: {ra:?} / {rb:?}"),
        };
        let (winner, kept) = if a_won { ("cli:alice", days.0) } else { ("cli:bob", days.1) };
        assert_eq!(readiness::current_rules(db, hsm).await.unwrap().pec_answer_days, kept, "round {round}");
        assert_eq!(readiness::rules_version(db, hsm).await.unwrap(), version + 1, "round {round}");
        let mut tx = db.read().await.unwrap();
        let audit: Vec<(String,)> = tx
            .all("SELECT actor FROM audit_log WHERE entity = 'readiness_rules' AND action = 'save' AND outcome = 'ok' AND seq > $1", &args![seq])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(audit, vec![(winner.to_string(),)], "round {round}: the audit names the winner");
    }
}
