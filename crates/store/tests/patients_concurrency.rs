//! Concurrency contract of the patient, debtor, establishment, site, series and user
//! writes: two writers holding the same version at once, on SQLite and PostgreSQL.
//! Exactly one wins, the row holds the winner's values and the audit row names the winner.

mod common;
mod flow;

use common::TestDb;
use common::fixtures::{hospital_input, op, person, site_input, user_input};
use quittance_store::audit::{self, AuditFilter, AuditRow};
use flow::establishments::{self as est, EstablishmentInput, SiteInput};
use quittance_domain::access::{Grant, Role};
use quittance_store::access::{self as auth, NewUser};
use quittance_store::patients::{self, DebtorEdit, DebtorInput};
use quittance_store::{Actor, Db, Error};

contract!(
    two_patient_writers_one_wins,
    two_debtor_writers_one_wins,
    two_establishment_writers_one_wins,
    two_site_writers_one_wins,
    two_series_writers_one_wins,
    two_user_writers_one_wins,
    two_role_changes_on_one_version_one_wins,
    duplicate_codes_are_field_errors,
);

async fn audit_rows(db: &Db, entity: &str, id: i64, action: &str) -> Vec<AuditRow> {
    let f = AuditFilter {
        entity: Some(entity.into()),
        entity_id: Some(id.to_string()),
        action: Some(action.into()),
        outcome: Some("ok".into()),
        ..Default::default()
    };
    audit::search(db, &op(), &f, 1000, 0).await.unwrap().0
}

/// Two actors with different names: `cli:alice` and `cli:bruno`.
fn writers() -> (Actor, Actor) {
    (Actor::system("alice"), Actor::system("bruno"))
}

/// Exactly one `Ok` and one `Err(Conflict)`; returns the winner's index (0 or 1).
fn one_winner<T: std::fmt::Debug>(a: &Result<T, Error>, b: &Result<T, Error>) -> usize {
    match (a, b) {
        (Ok(_), Err(Error::Conflict(m))) | (Err(Error::Conflict(m)), Ok(_)) => {
            assert!(m.contains("modifié"), "French stale message: {m}");
            if a.is_ok() { 0 } else { 1 }
        }
        other => panic!("expected exactly one winner and one 409 conflict, got {other:?}"),
    }
}

fn winner_name(i: usize) -> &'static str {
    ["cli:alice", "cli:bruno"][i]
}

async fn patient(db: &Db) -> (i64, patients::Patient) {
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    let p = common::typed::create(
        db,
        &op(),
        e.id,
        &person("Martin", "Paul", "01/02/1960", "M"),
    )
    .await
    .unwrap();
    (e.id, p)
}

async fn two_patient_writers_one_wins(t: TestDb) {
    let db = &t.db;
    let (_, p) = patient(db).await;
    let (alice, bruno) = writers();
    let mut ia = patients::patient_input(&p);
    ia.city = "Bron".into();
    let mut ib = patients::patient_input(&p);
    ib.city = "Vénissieux".into();
    let (ra, rb) = tokio::join!(common::typed::update(db, &alice, p.id, p.version, &ia), common::typed::update(db, &bruno, p.id, p.version, &ib));
    let w = one_winner(&ra, &rb);
    let now = patients::get(db, &op(), p.id).await.unwrap().patient;
    assert_eq!(now.city.as_deref(), Some(["Bron", "Vénissieux"][w]));
    assert_eq!(now.version, p.version + 1);
    let rows = audit_rows(db, "patient", p.id, "update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].actor, winner_name(w));
    assert!(rows[0].changes.contains(["Bron", "Vénissieux"][w]), "{}", rows[0].changes);
}

async fn two_debtor_writers_one_wins(t: TestDb) {
    let db = &t.db;
    let (_, p) = patient(db).await;
    let first = DebtorInput { kind: "patient".into(), guarantees: "sejour".into(), ..Default::default() };
    let d = common::typed::save_debtor(db, &op(), p.id, None, &first).await.unwrap();
    assert_eq!(d.version, 1);
    let (alice, bruno) = writers();
    let edit = Some(DebtorEdit { id: d.id, version: d.version });
    let ia = DebtorInput { city: "Bron".into(), ..patients::debtor_input(&d) };
    let ib = DebtorInput { city: "Vénissieux".into(), ..patients::debtor_input(&d) };
    let (ra, rb) = tokio::join!(common::typed::save_debtor(db, &alice, p.id, edit, &ia), common::typed::save_debtor(db, &bruno, p.id, edit, &ib));
    let w = one_winner(&ra, &rb);
    let now = patients::get(db, &op(), p.id).await.unwrap().debtors;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].city.as_deref(), Some(["Bron", "Vénissieux"][w]));
    assert_eq!(now[0].version, 2);
    let rows = audit_rows(db, "patient", p.id, "update_debtor").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].actor, winner_name(w));
    assert!(rows[0].changes.contains(["Bron", "Vénissieux"][w]), "{}", rows[0].changes);
    // A form still holding version 1 is refused, even alone.
    match common::typed::save_debtor(db, &op(), p.id, edit, &ia).await {
        Err(Error::Conflict(_)) => {}
        other => panic!("stale debtor form: {other:?}"),
    }
}

async fn two_establishment_writers_one_wins(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    assert_eq!(e.version, 1);
    let (alice, bruno) = writers();
    let ia = EstablishmentInput { city: "Bron".into(), postcode: "69500".into(), ..est::as_input(&e) };
    let ib = EstablishmentInput { city: "Vénissieux".into(), postcode: "69200".into(), ..est::as_input(&e) };
    let (ra, rb) = tokio::join!(est::update(db, &alice, e.id, e.version, &ia), est::update(db, &bruno, e.id, e.version, &ib));
    let w = one_winner(&ra, &rb);
    let now = est::get(db, &op(), e.id).await.unwrap();
    assert_eq!(now.city.as_deref(), Some(["Bron", "Vénissieux"][w]));
    assert_eq!(now.version, 2);
    let rows = audit_rows(db, "establishment", e.id, "update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].actor, winner_name(w));
    assert!(rows[0].changes.contains(["Bron", "Vénissieux"][w]), "{}", rows[0].changes);
}

async fn two_site_writers_one_wins(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    let s = est::create_site(db, &op(), e.id, &site_input("URG", "Site URG")).await.unwrap();
    assert_eq!(s.version, 1);
    let (alice, bruno) = writers();
    let ia = SiteInput { name: "Urgences adultes".into(), ..est::site_as_input(&s) };
    let ib = SiteInput { name: "Urgences pédiatriques".into(), ..est::site_as_input(&s) };
    let (ra, rb) =
        tokio::join!(est::update_site(db, &alice, e.id, s.id, s.version, &ia), est::update_site(db, &bruno, e.id, s.id, s.version, &ib));
    let w = one_winner(&ra, &rb);
    let now = est::get_site(db, &op(), e.id, s.id).await.unwrap();
    assert_eq!(now.name, ["Urgences adultes", "Urgences pédiatriques"][w]);
    assert_eq!(now.version, 2);
    let rows = audit_rows(db, "site", s.id, "update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].actor, winner_name(w));
}

async fn two_series_writers_one_wins(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    let s = est::save_series(db, &op(), e.id, None, "FAC", "Factures", "FAC-{YYYY}-{N:6}").await.unwrap();
    assert_eq!(s.version, 1);
    let (alice, bruno) = writers();
    let (ra, rb) = tokio::join!(
        est::save_series(db, &alice, e.id, Some(s.version), "FAC", "Factures A", "FA-{YYYY}-{N:6}"),
        est::save_series(db, &bruno, e.id, Some(s.version), "FAC", "Factures B", "FB-{YYYY}-{N:6}"),
    );
    let w = one_winner(&ra, &rb);
    let now = est::list_series(db, &op(), e.id).await.unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].label, ["Factures A", "Factures B"][w]);
    assert_eq!(now[0].version, 2);
    let rows = audit_rows(db, "series", s.id, "update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].actor, winner_name(w));
    // Two creations of the same code at once: one series, the other a field error on `code`.
    let (ra, rb) = tokio::join!(
        est::save_series(db, &alice, e.id, None, "REC", "Reçus A", "RA{YY}{N:5}"),
        est::save_series(db, &bruno, e.id, None, "REC", "Reçus B", "RB{YY}{N:5}"),
    );
    match (&ra, &rb) {
        (Ok(_), Err(Error::Invalid(f))) | (Err(Error::Invalid(f)), Ok(_)) => assert_eq!(f.0[0].field, "code", "{f:?}"),
        other => panic!("one creation and one field error expected: {other:?}"),
    }
}

async fn user(db: &Db, username: &str, est_id: i64) -> auth::User {
    let g = Grant { role: Role::SecretaireMedicale, establishment_id: est_id, site_id: None };
    let (id, _) = auth::create_user(
        db,
        &op(),
        &user_input(username, vec![g]),
    )
    .await
    .unwrap();
    auth::get_user(db, &op(), id).await.unwrap().0
}

async fn two_user_writers_one_wins(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    let u = user(db, "claire", e.id).await;
    assert_eq!(u.version, 1);
    let (alice, bruno) = writers();
    // One disables the account, the other (same page, same version) renames it.
    let (ra, rb) = tokio::join!(
        auth::set_disabled(db, &alice, u.id, u.version, true),
        auth::update_user(db, &bruno, u.id, u.version, "Claire B.", ""),
    );
    let w = one_winner(&ra, &rb);
    let now = auth::get_user(db, &op(), u.id).await.unwrap().0;
    assert_eq!(now.version, 2);
    assert_eq!((now.disabled, now.display_name == "Claire B."), [(true, false), (false, true)][w]);
    let rows = audit_rows(db, "user", u.id, ["disable", "update"][w]).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].actor, winner_name(w));
    assert!(audit_rows(db, "user", u.id, ["update", "disable"][w]).await.is_empty());
    // A password reset from a page showing the old version: refused, password unchanged.
    match auth::reset_password(db, &op(), u.id, u.version, None).await {
        Err(Error::Conflict(_)) => {}
        other => panic!("stale reset: {other:?}"),
    }
    assert!(audit_rows(db, "user", u.id, "reset_password").await.is_empty());
}

async fn two_role_changes_on_one_version_one_wins(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    let u = user(db, "claire", e.id).await;
    let (alice, bruno) = writers();
    let add = Grant { role: Role::TechnicienFacturation, establishment_id: e.id, site_id: None };
    let remove = Grant { role: Role::SecretaireMedicale, establishment_id: e.id, site_id: None };
    let (ra, rb) = tokio::join!(auth::grant_role(db, &alice, u.id, u.version, &add), auth::revoke_role(db, &bruno, u.id, u.version, &remove));
    let w = one_winner(&ra, &rb);
    let (now, grants) = auth::get_user(db, &op(), u.id).await.unwrap();
    assert_eq!(now.version, 2);
    let roles: Vec<Role> = grants.0.iter().map(|g| g.role).collect();
    assert_eq!(roles, [vec![Role::SecretaireMedicale, Role::TechnicienFacturation], vec![]][w]);
    let rows = audit_rows(db, "user", u.id, ["grant_role", "revoke_role"][w]).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].actor, winner_name(w));
}

async fn duplicate_codes_are_field_errors(t: TestDb) {
    let db = &t.db;
    let (est_id, p) = patient(db).await;
    let field = |r: Result<_, Error>| match r {
        Err(Error::Invalid(f)) => f.0.iter().map(|e| e.field.clone()).collect::<Vec<_>>(),
        other => panic!("expected a field error, got {other:?}"),
    };
    // Establishment code (at creation and when changed to another's code).
    assert_eq!(field(est::create(db, &op(), &hospital_input("HSM")).await.map(|_| ())), ["code"]);
    let other = est::create(db, &op(), &hospital_input("HCL")).await.unwrap();
    let i = EstablishmentInput { code: "HSM".into(), ..est::as_input(&other) };
    assert_eq!(field(est::update(db, &op(), other.id, other.version, &i).await.map(|_| ())), ["code"]);
    // Site code within the establishment.
    let s = est::create_site(db, &op(), est_id, &site_input("URG", "Site URG")).await.unwrap();
    assert_eq!(field(est::create_site(db, &op(), est_id, &site_input("URG", "Site URG")).await.map(|_| ())), ["code"]);
    let s2 = est::create_site(db, &op(), est_id, &site_input("CONS", "Site CONS")).await.unwrap();
    let i = SiteInput { code: s.code.clone(), ..est::site_as_input(&s2) };
    assert_eq!(field(est::update_site(db, &op(), est_id, s2.id, s2.version, &i).await.map(|_| ())), ["code"]);
    // Username.
    user(db, "claire", est_id).await;
    let again = auth::create_user(
        db,
        &op(),
        &NewUser { username: "Claire".into(), display_name: "Autre".into(), password: Some("une-phrase-de-passe".into()), ..Default::default() },
    )
    .await;
    assert_eq!(field(again.map(|_| ())), ["username"]);
    // A patient's external identifier.
    common::typed::add_identifier(db, &op(), p.id, "CMS", "12345").await.unwrap();
    assert_eq!(field(common::typed::add_identifier(db, &op(), p.id, "CMS", "12345").await.map(|_| ())), ["value"]);
}
