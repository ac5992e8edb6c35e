//! Two writers on the same version of a prise en charge, at once, on both backends:
//! exactly one wins, the row holds the winner's values and the audit trail names the winner.

mod common;

use common::TestDb;
use common::fixtures::{self, at_site, op, person};
use quittance_domain::money::Currency;
use quittance_store::pec::{self, Answer, AnswerInput, Pec, PecInput};
use quittance_store::patients::PatientInput;
use quittance_store::{Actor, Db, Error, args, establishments as est};

contract!(concurrent_answers_one_wins, concurrent_sends_one_wins, concurrent_expiries_one_wins);

/// Rounds per test: a race that slips through once in a while still fails the test.
const ROUNDS: usize = 6;

/// A patient of HSM and its complementary payer.
async fn fixture(db: &Db) -> (i64, i64) {
    let hsm = fixtures::seed_demo(db).await.hsm;
    let site = est::list_sites(db, &op(), hsm).await.unwrap()[0].id;
    let p = common::typed::create(
        db,
        &op(),
        hsm,
        &PatientInput {
            birth_place_code: "29019".into(),
            birth_place_label: String::new(),
            ..at_site(person("Kerouac", "Jeanne", "02/03/1970", "F"), site)
        },
    )
    .await
    .unwrap();
    let mgen = fixtures::payer_id(db, hsm, "MGEN").await;
    (p.id, mgen)
}

async fn draft(db: &Db, patient: i64, payer: i64) -> Pec {
    let req = PecInput {
        payer_id: payer.to_string(),
        planned_admission_date: "10/12/2026".into(),
        requested_items: "forfait_journalier,chambre_particuliere".into(),
        requested_days: "10".into(),
        estimate: "680,00".into(),
        ..Default::default()
    };
    let new = pec::parse_new(db, patient, &req).await.unwrap();
    pec::create(db, &op(), patient, &new).await.unwrap()
}

/// A full agreement, parsed (HSM bills in euros).
fn acceptance(number: &str) -> Answer {
    let raw = AnswerInput {
        status: "acceptee".into(),
        agreement_number: number.into(),
        agreed_items: "forfait_journalier,chambre_particuliere".into(),
        cap_per_day: "65,00".into(),
        max_days: "10".into(),
        valid_from: "01/12/2026".into(),
        valid_to: "31/12/2026".into(),
        ..Default::default()
    };
    quittance_domain::pec::input::parse_answer(&raw, Currency::Eur).unwrap()
}

/// The audit rows of `action` on the patient's file after `after_seq`: (actor, changes).
async fn audit_rows(db: &Db, patient: i64, action: &str, after_seq: i64) -> Vec<(String, String)> {
    let mut tx = db.read().await.unwrap();
    let rows: Vec<(String, String)> = tx
        .all(
            "SELECT actor, changes FROM audit_log WHERE entity = 'patient' AND entity_id = $1 AND action = $2 AND outcome = 'ok' AND seq > $3 ORDER BY seq",
            &args![patient.to_string(), action, after_seq],
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    rows
}

async fn last_seq(db: &Db) -> i64 {
    let mut tx = db.read().await.unwrap();
    let n = tx.int("SELECT COALESCE(MAX(seq), 0) FROM audit_log", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

async fn reload(db: &Db, id: i64) -> Pec {
    pec::get(db, &op(), id).await.unwrap()
}

/// Runs `a` and `b` on two tasks at once; returns which one won (`true` = `a`) after
/// asserting that exactly one succeeded and the other got a conflict.
async fn race<F>(a: F, b: F) -> bool
where
    F: std::future::Future<Output = Result<Pec, Error>> + Send + 'static,
{
    let (ra, rb) = tokio::join!(tokio::spawn(a), tokio::spawn(b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    match (&ra, &rb) {
        (Ok(_), Err(Error::Conflict(_))) => true,
        (Err(Error::Conflict(_)), Ok(_)) => false,
        _ => panic!("exactly one writer must win and the other get a conflict: {ra:?} / {rb:?}"),
    }
}

async fn concurrent_answers_one_wins(t: TestDb) {
    let db = &t.db;
    let (patient, mgen) = fixture(db).await;
    for round in 0..ROUNDS {
        let d = draft(db, patient, mgen).await;
        let sent = pec::send(db, &op(), d.id, d.version).await.unwrap();
        let seq = last_seq(db).await;
        let (alice, bob) = (Actor::system("alice"), Actor::system("bob"));
        let (db_a, db_b) = (db.clone(), db.clone());
        let (id, v) = (sent.id, sent.version);
        let fa = Box::pin(async move { pec::answer(&db_a, &alice, id, v, &acceptance("ACC-ALICE")).await });
        let fb = Box::pin(async move { pec::answer(&db_b, &bob, id, v, &acceptance("ACC-BOB")).await });
        let a_won = race::<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>>(fa, fb).await;
        let (winner, number) = if a_won { ("cli:alice", "ACC-ALICE") } else { ("cli:bob", "ACC-BOB") };
        let row = reload(db, id).await;
        assert_eq!(row.agreement_number.as_deref(), Some(number), "round {round}: the row holds the winner's answer");
        assert_eq!(row.version, v + 1, "round {round}: one change, one version");
        let audit = audit_rows(db, patient, "pec_answer", seq).await;
        assert_eq!(audit.len(), 1, "round {round}: one audited answer: {audit:?}");
        assert_eq!(audit[0].0, winner, "round {round}: the audit names the winner");
        assert!(audit[0].1.contains(number), "round {round}: the audit records the winner's values: {}", audit[0].1);
    }
}

async fn concurrent_sends_one_wins(t: TestDb) {
    let db = &t.db;
    let (patient, mgen) = fixture(db).await;
    for round in 0..ROUNDS {
        let d = draft(db, patient, mgen).await;
        let seq = last_seq(db).await;
        let (alice, bob) = (Actor::system("alice"), Actor::system("bob"));
        let (db_a, db_b) = (db.clone(), db.clone());
        let (id, v) = (d.id, d.version);
        let fa = Box::pin(async move { pec::send(&db_a, &alice, id, v).await });
        let fb = Box::pin(async move { pec::send(&db_b, &bob, id, v).await });
        let a_won = race::<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>>(fa, fb).await;
        let row = reload(db, id).await;
        assert_eq!(row.version, v + 1, "round {round}: one change, one version");
        let audit = audit_rows(db, patient, "pec_send", seq).await;
        assert_eq!(audit.len(), 1, "round {round}: one audited send: {audit:?}");
        assert_eq!(audit[0].0, if a_won { "cli:alice" } else { "cli:bob" }, "round {round}: the audit names the winner");
    }
}

async fn concurrent_expiries_one_wins(t: TestDb) {
    let db = &t.db;
    let (patient, mgen) = fixture(db).await;
    for round in 0..ROUNDS {
        let d = draft(db, patient, mgen).await;
        let sent = pec::send(db, &op(), d.id, d.version).await.unwrap();
        let ok = pec::answer(db, &op(), d.id, sent.version, &acceptance("ACC-1")).await.unwrap();
        let seq = last_seq(db).await;
        let (alice, bob) = (Actor::system("alice"), Actor::system("bob"));
        let (db_a, db_b) = (db.clone(), db.clone());
        let (id, v) = (ok.id, ok.version);
        let fa = Box::pin(async move { pec::expire(&db_a, &alice, id, v).await });
        let fb = Box::pin(async move { pec::expire(&db_b, &bob, id, v).await });
        let a_won = race::<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>>(fa, fb).await;
        let row = reload(db, id).await;
        assert_eq!(row.version, v + 1, "round {round}: one change, one version");
        let audit = audit_rows(db, patient, "pec_expire", seq).await;
        assert_eq!(audit.len(), 1, "round {round}: one audited expiry: {audit:?}");
        assert_eq!(audit[0].0, if a_won { "cli:alice" } else { "cli:bob" }, "round {round}: the audit names the winner");
    }
}
