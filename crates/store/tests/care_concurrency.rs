//! Concurrency contract of care's versioned entities (coverages, stays, payers and the
//! payer's dated rates): two writers that read the same version write at once; exactly one
//! wins, the other gets a 409 conflict, the row holds the winner's values and the audit row
//! of the change names the winner. On SQLite and, when `QUITTANCE_TEST_POSTGRES_URL` is set,
//! on PostgreSQL.

mod common;
mod flow;

use common::TestDb;
use common::fixtures::{self, at_site, op, payer_input, person};
use quittance_store::audit::{self, AuditFilter, AuditRow};
use flow::coverages::{self, CoverageInput};
use flow::payers::{self, PayerInput};
use flow::stays::{self, StayInput};
use quittance_store::{Actor, Db, Error};

contract!(
    two_coverage_edits_on_one_version_one_wins,
    two_stay_edits_on_one_version_one_wins,
    two_payer_edits_on_one_version_one_wins,
    two_rate_additions_on_one_payer_version_one_wins,
);

struct Place {
    est: i64,
    site: i64,
    payer: i64,
    patient: i64,
}

async fn place(db: &Db) -> Place {
    let e = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, e, "MED", "Médecine").await;
    let payer = payers::create(db, &op(), e, &payer_input("CPAM", "obligatoire", "CPAM du Rhône")).await.expect("create payer").id;
    let p = at_site(person("MARTIN", "Claire", "12/03/1980", "F"), site);
    let patient = common::typed::create(db, &op(), e, &p).await.expect("create patient").id;
    Place { est: e, site, payer, patient }
}

/// Exactly one `Ok` and one `Err(Conflict)`; returns the index of the winner (0 or 1).
fn one_winner<T: std::fmt::Debug>(a: &Result<T, Error>, b: &Result<T, Error>) -> usize {
    match (a, b) {
        (Ok(_), Err(Error::Conflict(m))) | (Err(Error::Conflict(m)), Ok(_)) => {
            assert!(m.contains("modifié"), "French stale message: {m}");
            if a.is_ok() { 0 } else { 1 }
        }
        other => panic!("expected exactly one Ok and one Conflict, got {other:?}"),
    }
}

async fn rows(db: &Db, entity: &str, id: i64, action: &str) -> Vec<AuditRow> {
    let f = AuditFilter { entity: Some(entity.into()), entity_id: Some(id.to_string()), action: Some(action.into()), ..Default::default() };
    audit::search(db, &op(), &f, 100, 0).await.expect("audit search").0
}

fn actors() -> [Actor; 2] {
    [Actor::system("alice"), Actor::system("bruno")]
}

async fn two_coverage_edits_on_one_version_one_wins(t: TestDb) {
    let db = &t.db;
    let p = place(db).await;
    let first = CoverageInput { payer_id: p.payer.to_string(), role: "obligatoire".into(), valid_from: "01/01/2026".into(), ..Default::default() };
    let c = coverages::save(db, &op(), p.patient, None, 0, &first).await.expect("add coverage");
    assert_eq!(c.version, 1);
    let [alice, bruno] = actors();
    let edit = |member: &str| CoverageInput { member_number: member.into(), ..first.clone() };
    let (ea, eb) = (edit("111"), edit("222"));
    let (a, b) = tokio::join!(
        coverages::save(db, &alice, p.patient, Some(c.id), c.version, &ea),
        coverages::save(db, &bruno, p.patient, Some(c.id), c.version, &eb),
    );
    let w = one_winner(&a, &b);
    let (winner, number) = [(&alice, "111"), (&bruno, "222")][w];
    let now = coverages::list(db, &op(), p.patient, jiff::civil::date(2026, 6, 1)).await.expect("list");
    let row = &now.lines.iter().find(|l| l.coverage.id == c.id).expect("the coverage").coverage;
    assert_eq!(row.member_number.as_deref(), Some(number));
    assert_eq!(row.version, 2);
    let audit = rows(db, "patient", p.patient, "update_coverage").await;
    assert_eq!(audit.len(), 1, "one change, one audit row: {audit:?}");
    assert_eq!(audit[0].actor, winner.username);
    assert!(audit[0].changes.contains(number), "the audit row holds the winner's values: {}", audit[0].changes);
    // A third writer on the old version is refused too.
    let late = coverages::save(db, &op(), p.patient, Some(c.id), c.version, &edit("333")).await;
    assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
}

async fn two_stay_edits_on_one_version_one_wins(t: TestDb) {
    let db = &t.db;
    let p = place(db).await;
    let input = StayInput {
        site_id: p.site.to_string(),
        admission_date: "02/03/2026".into(),
        admission_time: "08:30".into(),
        care_mode: "hospitalisation_complete".into(),
        ..Default::default()
    };
    let s = stays::save(db, &op(), p.patient, None, 0, &input).await.expect("open stay");
    let [alice, bruno] = actors();
    let edit = |d: &str| StayInput { planned_discharge_date: d.into(), ..input.clone() };
    let (ea, eb) = (edit("10/03/2026"), edit("20/03/2026"));
    let (a, b) = tokio::join!(
        stays::save(db, &alice, p.patient, Some(s.id), s.version, &ea),
        stays::save(db, &bruno, p.patient, Some(s.id), s.version, &eb),
    );
    let w = one_winner(&a, &b);
    let (winner, day) = [(&alice, "2026-03-10"), (&bruno, "2026-03-20")][w];
    let now = stays::get(db, &op(), s.id).await.expect("stay");
    assert_eq!(now.planned_discharge_date.as_deref(), Some(day));
    assert_eq!(now.version, s.version + 1);
    let audit = rows(db, "patient", p.patient, "update_stay").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].actor, winner.username);
    assert!(audit[0].changes.contains(day), "{}", audit[0].changes);
}

async fn two_payer_edits_on_one_version_one_wins(t: TestDb) {
    let db = &t.db;
    let p = place(db).await;
    let before = payers::get(db, &op(), p.payer).await.expect("payer");
    let input = payers::as_input(&before);
    let [alice, bruno] = actors();
    let edit = |name: &str| PayerInput { name: name.into(), ..input.clone() };
    let (ea, eb) = (edit("CPAM de Lyon"), edit("Caisse du Rhône"));
    let (a, b) = tokio::join!(
        payers::update(db, &alice, p.payer, before.version, &ea),
        payers::update(db, &bruno, p.payer, before.version, &eb),
    );
    let w = one_winner(&a, &b);
    let (winner, name) = [(&alice, "CPAM de Lyon"), (&bruno, "Caisse du Rhône")][w];
    let now = payers::get(db, &op(), p.payer).await.expect("payer");
    assert_eq!(now.name, name);
    assert_eq!(now.version, before.version + 1);
    assert_eq!(now.establishment_id, p.est);
    let audit = rows(db, "payer", p.payer, "update").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].actor, winner.username);
    assert!(audit[0].changes.contains(name), "{}", audit[0].changes);
}

/// Dated rates are append-only rows (a new rate closes the open one): they are versioned
/// through their payer, so two additions made from the same page cannot both land.
async fn two_rate_additions_on_one_payer_version_one_wins(t: TestDb) {
    let db = &t.db;
    let p = place(db).await;
    let v = payers::get(db, &op(), p.payer).await.expect("payer").version;
    let [alice, bruno] = actors();
    let (a, b) = tokio::join!(
        payers::add_rate(db, &alice, p.payer, v, "sejour", "80", "01/01/2026"),
        payers::add_rate(db, &bruno, p.payer, v, "sejour", "75", "01/02/2026"),
    );
    let w = one_winner(&a, &b);
    let (winner, bp) = [(&alice, 8000), (&bruno, 7500)][w];
    let list = payers::rates(db, &op(), p.payer).await.expect("rates");
    assert_eq!(list.len(), 1, "only the winner's rate: {list:?}");
    assert_eq!(list[0].rate_bp.0, bp);
    assert_eq!(list[0].valid_to, None);
    assert_eq!(payers::get(db, &op(), p.payer).await.expect("payer").version, v + 1);
    let audit = rows(db, "payer", p.payer, "add_rate").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].actor, winner.username);
}
