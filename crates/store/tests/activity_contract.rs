//! Contract of activity (CMS acts, TV and telephone), on SQLite and (when
//! `QUITTANCE_TEST_POSTGRES_URL` is set) PostgreSQL: acts priced by the tariff of their day,
//! idempotent by external id, cancelled never deleted; subscriptions valued per day, activation
//! once, units × price; closed at a stay's discharge; two writers on one subscription: one wins;
//! who may do what, every view audited; the import reports each refused line.

mod common;
mod flow;

use common::TestDb;
use common::fixtures::{self, op};
use jiff::civil::date;
use quittance_domain::access::{Grant, Grants, Role};
use quittance_domain::billing::tariffs::TariffCategory;
use quittance_store::activity::import::{ActivityRow, import_in_batches};
use quittance_store::activity::{self, ActInput, OfferInput, SubscriptionInput, UnitsInput, acts, services, valuation};
use quittance_store::audit::AuditFilter;
use quittance_store::billing::TariffInput;
use quittance_store::billing::tariffs;
use quittance_store::establishments::{self, EstablishmentInput};
use quittance_store::shared::imports::Batches;
use quittance_store::{Actor, Db, Error, args};

contract!(
    acts_are_priced_by_the_tariff_of_their_day_and_a_reimport_is_idempotent,
    a_cancelled_act_stays_and_is_not_billed,
    a_secretary_records_acts_a_reader_may_not_and_offers_need_the_tariff_managers,
    a_subscription_bears_each_day_once_the_activation_once_and_its_units,
    the_discharge_closes_the_stays_open_subscriptions_and_warns,
    two_closings_of_one_subscription_one_wins,
    the_import_reports_each_refused_line_and_is_idempotent,
    the_demo_has_cms_acts_and_a_tv_and_telephone_subscription,
);

/// The DPASS (XPF) with a CMS site, the acts' tariffs and a patient of that site.
struct Nc {
    est: i64,
    site: i64,
    patient: i64,
}

async fn add_tariff(db: &Db, est: i64, t: TariffInput) {
    let parsed = tariffs::parse_for(db, est, &t).await.unwrap_or_else(|e| panic!("{e:?}"));
    tariffs::add(db, &op(), est, &parsed).await.unwrap_or_else(|e| panic!("{e:?}"));
}

fn tariff(code: &str, label: &str, category: &str, price: &str, from: &str) -> TariffInput {
    TariffInput { code: code.into(), label: label.into(), category: category.into(), price: price.into(), valid_from: from.into(), ..Default::default() }
}

async fn nc(db: &Db) -> Nc {
    let input = EstablishmentInput {
        code: "DPASS".into(),
        name: "Direction provinciale".into(),
        kind: "direction_sante".into(),
        currency: "XPF".into(),
        timezone: "Pacific/Noumea".into(),
        ridet: "0123456".into(),
        city: "Nouméa".into(),
        country: "Nouvelle-Calédonie".into(),
        ..Default::default()
    };
    let est = establishments::create(db, &op(), &establishments::parse_establishment(&input).unwrap()).await.unwrap().id;
    let site = fixtures::site(db, est, "CMS-RS", "CMS de la Rivière-Salée").await;
    add_tariff(db, est, tariff("C", "Consultation", "acte_cms", "3 500", "01/01/2026")).await;
    add_tariff(db, est, tariff("AMI", "Acte infirmier (par coefficient)", "acte_cms", "380", "01/01/2026")).await;
    add_tariff(db, est, tariff("AMI", "Acte infirmier (par coefficient)", "acte_cms", "400", "01/12/2026")).await;
    add_tariff(db, est, tariff("TV", "Télévision", "television", "500", "01/01/2026")).await;
    let p = fixtures::at_site(fixtures::person("WAMYTAN", "Lise", "03/04/1990", "F"), site);
    let patient = common::typed::create(db, &op(), est, &p).await.expect("patient").id;
    Nc { est, site, patient }
}

fn act(site: i64, day: &str, code: &str, coefficient: &str) -> ActInput {
    ActInput { site_id: site.to_string(), act_date: day.into(), practitioner: "IDE Kasarhérou".into(), code: code.into(), coefficient: coefficient.into(), ..Default::default() }
}

async fn record(db: &Db, actor: &Actor, patient: i64, a: &ActInput) -> Result<(acts::StoredAct, bool), Error> {
    let parsed = activity::parse_act(a).map_err(Error::Invalid)?;
    acts::record(db, actor, patient, &parsed).await
}

fn someone(role: Role, est: i64) -> Actor {
    Actor {
        user_id: None,
        username: format!("{role:?}").to_lowercase(),
        grants: Grants(vec![Grant { role, establishment_id: est, site_id: None }]),
        system: false,
        request_id: None,
        establishment_id: Some(est),
        site_id: None,
    }
}

async fn audit(db: &Db, f: AuditFilter) -> Vec<quittance_store::audit::AuditRow> {
    common::check::audit_rows(db, f).await
}

async fn acts_are_priced_by_the_tariff_of_their_day_and_a_reimport_is_idempotent(t: TestDb) {
    let db = &t.db;
    let n = nc(db).await;
    let (a, created) = record(db, &op(), n.patient, &ActInput { external_id: "CMS-1".into(), ..act(n.site, "12/11/2026", "ami", "2") }).await.expect("act");
    assert!(created);
    assert_eq!((a.code.as_str(), a.quantity, a.date), ("AMI", 1, date(2026, 11, 12)));
    // The same external id again: the same act, nothing written.
    let (again, created) = record(db, &op(), n.patient, &ActInput { external_id: "CMS-1".into(), ..act(n.site, "13/11/2026", "C", "") }).await.unwrap();
    assert_eq!((again.id, created), (a.id, false));
    assert_eq!(common::check::count(db, "SELECT COUNT(*) FROM cms_acts").await, 1);
    // Of another patient: refused on its field.
    let other = common::typed::create(db, &op(), n.est, &fixtures::at_site(fixtures::person("GOPE", "Paul", "01/01/1970", "M"), n.site)).await.unwrap().id;
    let e = common::check::invalid(record(db, &op(), other, &ActInput { external_id: "CMS-1".into(), ..act(n.site, "12/11/2026", "C", "") }).await);
    assert!(e.get("external_id").is_some(), "{e:?}");
    // A code without a tariff that day, or not an act: refused on `code`.
    let e = common::check::invalid(record(db, &op(), n.patient, &act(n.site, "31/12/2025", "C", "")).await);
    assert_eq!(e.get("code"), Some("Aucun tarif « C » en vigueur le 31/12/2025 pour ce site."));
    let e = common::check::invalid(record(db, &op(), n.patient, &act(n.site, "12/11/2026", "TV", "")).await);
    assert!(e.get("code").unwrap().contains("n'est pas un acte"), "{e:?}");
    // Another establishment's site: refused on `site_id`.
    let h = fixtures::hospital(db, "HSM").await;
    let foreign = fixtures::site(db, h, "MED", "Médecine").await;
    assert!(common::check::invalid(record(db, &op(), n.patient, &act(foreign, "12/11/2026", "C", "")).await).get("site_id").is_some());

    record(db, &op(), n.patient, &ActInput { quantity: "2".into(), ..act(n.site, "02/12/2026", "AMI", "1,5") }).await.unwrap();
    record(db, &op(), n.patient, &act(n.site, "20/11/2026", "C", "")).await.unwrap();
    let v = valuation::patient(db, &op(), n.patient, date(2026, 11, 1), date(2026, 12, 31)).await.expect("valuation");
    let got: Vec<(&str, i64, i64)> = v.charges.iter().map(|c| (c.code.as_str(), c.unit_price.minor, c.amount.minor)).collect();
    assert_eq!(got, vec![("AMI", 380, 760), ("C", 3500, 3500), ("AMI", 400, 1200)], "the price of each act's day; 400 × 1,5 × 2");
    assert_eq!(v.charges[0].explanation, "Acte infirmier (par coefficient) AMI 2 × 380\u{a0}XPF, le 12/11/2026");
    assert!(v.charges.iter().all(|c| c.category == TariffCategory::ActeCms));
    // The period is inclusive and bounds what is valued.
    let v = valuation::patient(db, &op(), n.patient, date(2026, 11, 12), date(2026, 11, 12)).await.unwrap();
    assert_eq!(v.charges.len(), 1);
    assert!(common::check::invalid(valuation::patient(db, &op(), n.patient, date(2026, 11, 12), date(2026, 11, 11)).await).get("to").is_some());
    // Views are audited; the recording too.
    let f = AuditFilter { entity: Some("patient".into()), entity_id: Some(n.patient.to_string()), ..Default::default() };
    assert_eq!(audit(db, AuditFilter { action: Some("view_activity_valuation".into()), ..f.clone() }).await.len(), 2);
    assert_eq!(audit(db, AuditFilter { action: Some("add_act".into()), ..f.clone() }).await.len(), 3);
    acts::list(db, &op(), n.patient).await.unwrap();
    assert_eq!(audit(db, AuditFilter { action: Some("view_acts".into()), ..f }).await.len(), 1);
}

async fn a_cancelled_act_stays_and_is_not_billed(t: TestDb) {
    let db = &t.db;
    let n = nc(db).await;
    let (a, _) = record(db, &op(), n.patient, &act(n.site, "12/11/2026", "C", "")).await.unwrap();
    assert!(common::check::invalid(acts::cancel(db, &op(), n.patient, a.id, a.version, "  ").await).get("reason").is_some());
    assert!(matches!(acts::cancel(db, &op(), n.patient, a.id, a.version + 1, "doublon").await, Err(Error::Conflict(_))), "a stale version");
    let c = acts::cancel(db, &op(), n.patient, a.id, a.version, "Saisi deux fois").await.expect("cancel");
    assert_eq!((c.cancel_reason.as_deref(), c.version), (Some("Saisi deux fois"), a.version + 1));
    assert!(common::check::invalid(acts::cancel(db, &op(), n.patient, a.id, c.version, "encore").await).get("reason").is_some());
    let v = valuation::patient(db, &op(), n.patient, date(2026, 11, 1), date(2026, 11, 30)).await.unwrap();
    assert!(v.charges.is_empty());
    assert_eq!(v.notes, vec!["Acte C du 12/11/2026 annulé, non facturé : Saisi deux fois."]);
    // The database refuses to delete an act or to change a cancelled one.
    let mut tx = db.begin().await.unwrap();
    assert!(tx.exec("DELETE FROM cms_acts WHERE id = $1", &args![a.id]).await.is_err());
    drop(tx);
    let mut tx = db.begin().await.unwrap();
    assert!(tx.exec("UPDATE cms_acts SET cancelled_at = NULL, cancel_reason = NULL WHERE id = $1", &args![a.id]).await.is_err());
    drop(tx);
}

async fn a_secretary_records_acts_a_reader_may_not_and_offers_need_the_tariff_managers(t: TestDb) {
    let db = &t.db;
    let n = nc(db).await;
    let secretary = someone(Role::SecretaireMedicale, n.est);
    record(db, &secretary, n.patient, &act(n.site, "12/11/2026", "C", "")).await.expect("a medical secretary records acts");
    let reader = someone(Role::Auditeur, n.est);
    assert!(matches!(record(db, &reader, n.patient, &act(n.site, "12/11/2026", "C", "")).await, Err(Error::Forbidden)));
    assert_eq!(acts::list(db, &reader, n.patient).await.unwrap().len(), 1, "a reader reads them");
    let offer = activity::parse_offer(&OfferInput { site_id: n.site.to_string(), tv_code: "TV".into(), active: "on".into(), ..Default::default() }).unwrap();
    assert!(matches!(services::save_offer(db, &secretary, n.est, None, &offer).await, Err(Error::Forbidden)));
    let ctrl = someone(Role::ControleurFinancier, n.est);
    let o = services::save_offer(db, &ctrl, n.est, None, &offer).await.expect("the finance controller sets the offer");
    assert!(common::check::invalid(services::save_offer(db, &ctrl, n.est, None, &offer).await).get("site_id").is_some(), "one offer per site");
    // A code of the wrong category, or unknown: on its field.
    let bad = activity::parse_offer(&OfferInput { site_id: n.site.to_string(), tv_code: "C".into(), phone_activation_code: "X".into(), phone_unit_code: "Y".into(), active: "on".into() }).unwrap();
    let e = common::check::invalid(services::save_offer(db, &ctrl, n.est, Some((o.id, o.version)), &bad).await);
    assert_eq!(common::check::fields(&e), common::check::set(&["tv_code", "phone_activation_code", "phone_unit_code"]));
    let off = activity::parse_offer(&OfferInput { active: String::new(), ..OfferInput { site_id: n.site.to_string(), tv_code: "TV".into(), ..Default::default() } }).unwrap();
    let o2 = services::save_offer(db, &ctrl, n.est, Some((o.id, o.version)), &off).await.unwrap();
    assert!(!o2.active && o2.version == o.version + 1);
    assert!(matches!(services::save_offer(db, &ctrl, n.est, Some((o.id, o.version)), &off).await, Err(Error::Conflict(_))));
    let refused = audit(db, AuditFilter { outcome: Some("refused".into()), ..Default::default() }).await;
    assert_eq!(refused.len(), 2, "both refusals audited: {refused:?}");
}

/// A hospital (EUR) site with TV and telephone tariffs and its offer, a patient in a stay.
struct Hsm {
    est: i64,
    site: i64,
    patient: i64,
    stay: i64,
}

async fn hsm(db: &Db) -> Hsm {
    let est = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, est, "MED", "Médecine").await;
    add_tariff(db, est, tariff("TV", "Télévision", "television", "4,50", "01/01/2026")).await;
    add_tariff(db, est, tariff("TV", "Télévision", "television", "5,00", "01/12/2026")).await;
    add_tariff(db, est, tariff("TEL-MES", "Téléphone : mise en service", "telephone_activation", "3,00", "01/01/2026")).await;
    add_tariff(db, est, tariff("TEL-U", "Unité téléphonique", "telephone_unite", "0,15", "01/01/2026")).await;
    let o = OfferInput { site_id: site.to_string(), tv_code: "tv".into(), phone_activation_code: "TEL-MES".into(), phone_unit_code: "TEL-U".into(), active: "on".into() };
    services::save_offer(db, &op(), est, None, &activity::parse_offer(&o).unwrap()).await.expect("offer");
    let patient = common::typed::create(db, &op(), est, &fixtures::at_site(fixtures::person("MARTIN", "Claire", "12/03/1980", "F"), site)).await.unwrap().id;
    let stay = flow::stays::save(db, &op(), patient, None, 0, &fixtures::stay_input(site, "27/11/2026")).await.expect("stay").id;
    Hsm { est, site, patient, stay }
}

fn subscription(h: &Hsm, kind: &str, opened: &str) -> SubscriptionInput {
    SubscriptionInput { site_id: h.site.to_string(), stay_id: h.stay.to_string(), kind: kind.into(), line_number: "4211".into(), opened_on: opened.into(), ..Default::default() }
}

async fn open(db: &Db, patient: i64, s: &SubscriptionInput) -> Result<services::StoredSubscription, Error> {
    services::open(db, &op(), patient, &activity::parse_subscription(s).map_err(Error::Invalid)?).await
}

async fn units(db: &Db, patient: i64, sub: i64, day: &str, n: &str) -> Result<(services::StoredUnits, bool), Error> {
    let u = activity::parse_units(&UnitsInput { used_on: day.into(), units: n.into(), ..Default::default() }).map_err(Error::Invalid)?;
    services::add_units(db, &op(), patient, sub, &u).await
}

async fn a_subscription_bears_each_day_once_the_activation_once_and_its_units(t: TestDb) {
    let db = &t.db;
    let h = hsm(db).await;
    let s = open(db, h.patient, &SubscriptionInput { debtor: "autre".into(), debtor_name: "M. Martin (époux)".into(), ..subscription(&h, "tv_telephone", "28/11/2026") }).await.expect("open");
    assert_eq!(s.debtor, quittance_domain::activity::Debtor::Person("M. Martin (époux)".into()));
    assert_eq!((s.sub.tv_code.as_str(), s.sub.phone_unit_code.as_str()), ("TV", "TEL-U"), "the offer's codes copied");
    units(db, h.patient, s.id, "29/11/2026", "12").await.unwrap();
    units(db, h.patient, s.id, "01/12/2026", "30").await.unwrap();
    assert!(common::check::invalid(units(db, h.patient, s.id, "27/11/2026", "3").await).get("used_on").is_some(), "before the opening");
    // Closing before the last units is refused; on the day after them, closed.
    assert!(common::check::invalid(services::close(db, &op(), h.patient, s.id, s.version, date(2026, 11, 30)).await).get("closed_on").is_some());
    let c = services::close(db, &op(), h.patient, s.id, s.version, date(2026, 12, 2)).await.expect("close");
    assert_eq!(c.sub.closed_on, Some(date(2026, 12, 2)));
    assert!(common::check::invalid(units(db, h.patient, s.id, "03/12/2026", "3").await).get("used_on").is_some(), "after the closing");
    let v = valuation::patient(db, &op(), h.patient, date(2026, 11, 1), date(2026, 12, 31)).await.unwrap();
    let got: Vec<(&str, i64, i64)> = v.charges.iter().map(|c| (c.code.as_str(), c.quantity, c.amount.minor)).collect();
    assert_eq!(got, vec![("TV", 3, 1350), ("TV", 2, 1000), ("TEL-MES", 1, 300), ("TEL-U", 42, 630)], "28/11–02/12 inclusive, the price of each day");
    assert!(v.notes.is_empty(), "{:?}", v.notes);
    // Cut in two periods: no day counted twice, the activation once.
    let a = valuation::patient(db, &op(), h.patient, date(2026, 11, 1), date(2026, 11, 30)).await.unwrap();
    let b = valuation::patient(db, &op(), h.patient, date(2026, 12, 1), date(2026, 12, 31)).await.unwrap();
    let total = |v: &valuation::ActivityValuation| v.charges.iter().map(|c| c.amount.minor).sum::<i64>();
    assert_eq!(total(&a) + total(&b), 1350 + 1000 + 300 + 630);
    // An offer that does not propose the kind, a stay of another patient, a debtor not of the file.
    let o = services::list_offers(db, &op(), h.est).await.unwrap().remove(0);
    let tv_only = activity::parse_offer(&OfferInput { site_id: h.site.to_string(), tv_code: "TV".into(), active: "on".into(), ..Default::default() }).unwrap();
    services::save_offer(db, &op(), h.est, Some((o.id, o.version)), &tv_only).await.unwrap();
    let e = common::check::invalid(open(db, h.patient, &SubscriptionInput { debtor: "999".into(), ..subscription(&h, "telephone", "03/12/2026") }).await);
    assert_eq!(common::check::fields(&e), common::check::set(&["kind", "debtor"]));
    // An open subscription is valued to the end of the period, and says so.
    let s2 = open(db, h.patient, &subscription(&h, "tv", "10/12/2026")).await.unwrap();
    let v = valuation::patient(db, &op(), h.patient, date(2026, 12, 10), date(2026, 12, 12)).await.unwrap();
    assert_eq!(v.charges.iter().filter(|c| c.tariff_id > 0 && c.code == "TV").map(|c| c.quantity).sum::<i64>(), 3);
    assert!(v.notes.iter().any(|n| n.contains(&format!("n° {}", s2.id)) && n.contains("12/12/2026")), "{:?}", v.notes);
    assert_eq!(services::list(db, &op(), h.patient).await.unwrap().len(), 2);
}

async fn the_discharge_closes_the_stays_open_subscriptions_and_warns(t: TestDb) {
    let db = &t.db;
    let h = hsm(db).await;
    let tv = open(db, h.patient, &subscription(&h, "tv", "27/11/2026")).await.unwrap();
    let phone = open(db, h.patient, &SubscriptionInput { line_number: "4212".into(), ..subscription(&h, "tv_telephone", "28/11/2026") }).await.unwrap();
    units(db, h.patient, phone.id, "05/12/2026", "7").await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let warnings = activity::close_open_for_stay(&mut tx, &op(), h.stay, date(2026, 12, 3)).await.expect("close at discharge");
    tx.commit().await.unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0], format!("Abonnement n° {} (télévision, ligne 4211) clos le 03/12/2026 avec la sortie du séjour.", tv.id));
    assert!(warnings[1].contains("laissé ouvert") && warnings[1].contains("05/12/2026"), "{}", warnings[1]);
    let list = services::list(db, &op(), h.patient).await.unwrap();
    let closed_on = |id| list.iter().find(|s| s.subscription.id == id).unwrap().subscription.sub.closed_on;
    assert_eq!((closed_on(tv.id), closed_on(phone.id)), (Some(date(2026, 12, 3)), None));
    let rows = audit(db, AuditFilter { action: Some("close_subscription_discharge".into()), ..Default::default() }).await;
    assert_eq!(rows.len(), 1);
    // Nothing left to close: no sentence for the closed one.
    let mut tx = db.begin().await.unwrap();
    let again = activity::close_open_for_stay(&mut tx, &op(), h.stay, date(2026, 12, 3)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(again.len(), 1);
}

async fn two_closings_of_one_subscription_one_wins(t: TestDb) {
    let db = &t.db;
    let h = hsm(db).await;
    let s = open(db, h.patient, &subscription(&h, "tv", "27/11/2026")).await.unwrap();
    let (alice, bruno) = (Actor::system("alice"), Actor::system("bruno"));
    let (a, b) = tokio::join!(
        services::close(db, &alice, h.patient, s.id, s.version, date(2026, 12, 1)),
        services::close(db, &bruno, h.patient, s.id, s.version, date(2026, 12, 5)),
    );
    let (winner, day) = match (&a, &b) {
        (Ok(_), Err(Error::Conflict(_))) => ("cli:alice", date(2026, 12, 1)),
        (Err(Error::Conflict(_)), Ok(_)) => ("cli:bruno", date(2026, 12, 5)),
        other => panic!("expected one Ok and one Conflict: {other:?}"),
    };
    let rows = audit(db, AuditFilter { action: Some("close_subscription".into()), ..Default::default() }).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor, winner, "the audit names the winner");
    let now = services::list(db, &op(), h.patient).await.unwrap().remove(0).subscription;
    assert_eq!((now.sub.closed_on, now.version), (Some(day), s.version + 1));
}

fn row(kind: &str, external_id: &str, ipp: &str, date: &str, code: &str) -> ActivityRow {
    ActivityRow {
        kind: kind.into(),
        external_id: external_id.into(),
        ipp: ipp.into(),
        site: "cms-rs".into(),
        date: date.into(),
        practitioner: "Dr Néa".into(),
        code: code.into(),
        ..Default::default()
    }
}

async fn the_import_reports_each_refused_line_and_is_idempotent(t: TestDb) {
    let db = &t.db;
    let n = nc(db).await;
    let ipp: (String,) = {
        let mut tx = db.read().await.unwrap();
        let r = tx.one("SELECT ipp FROM patients WHERE id = $1", &args![n.patient]).await.unwrap();
        tx.rollback().await.unwrap();
        r
    };
    let ipp = ipp.0;
    let rows = vec![
        (2, row("acte", "A1", &ipp, "12/11/2026", "C")),
        (3, ActivityRow { coefficient: "2".into(), ..row("acte", "A2", &ipp, "13/11/2026", "AMI") }),
        (4, row("acte", "A3", "INCONNU", "12/11/2026", "C")),
        (5, row("acte", "A4", &ipp, "31/02/2026", "C")),
        (6, row("radio", "A5", &ipp, "12/11/2026", "C")),
        (7, ActivityRow { line_number: "99".into(), units: "4".into(), ..row("unites", "U1", "", "12/11/2026", "") }),
    ];
    let mut batches = 0;
    let report = import_in_batches(db, &op(), n.est, rows.clone(), &Batches { size: 2, dry_run: false, source_sha256: None }, &mut |_| batches += 1).await.unwrap();
    assert_eq!((report.imported, report.already, batches), (2, 0, 3));
    let refused: Vec<(usize, &str)> = report.errors.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
    assert_eq!(refused, vec![(4, "ipp"), (5, "date"), (6, "kind"), (7, "line_number")], "{:?}", report.errors);
    assert!(report.errors[1].2.contains("31/02/2026"), "{:?}", report.errors[1]);
    // The same acts again (another file): not imported twice.
    let report = import_in_batches(db, &op(), n.est, rows[..2].to_vec(), &Batches::single(false), &mut |_| {}).await.unwrap();
    assert_eq!((report.imported, report.already), (0, 2));
    assert_eq!(common::check::count(db, "SELECT COUNT(*) FROM cms_acts").await, 2);
    let v = valuation::patient(db, &op(), n.patient, date(2026, 11, 1), date(2026, 11, 30)).await.unwrap();
    assert_eq!(v.charges.iter().map(|c| c.amount.minor).sum::<i64>(), 3500 + 760);
}

async fn the_demo_has_cms_acts_and_a_tv_and_telephone_subscription(t: TestDb) {
    let db = &t.db;
    let d = fixtures::seed_demo(db).await;
    let patients: Vec<(i64,)> = {
        let mut tx = db.read().await.unwrap();
        let v = tx.all("SELECT DISTINCT patient_id FROM cms_acts WHERE establishment_id = $1 ORDER BY patient_id", &args![d.dpass]).await.unwrap();
        tx.rollback().await.unwrap();
        v
    };
    assert_eq!(patients.len(), 3, "acts for three DPASS patients");
    let v = valuation::patient(db, &op(), patients[0].0, date(2026, 11, 1), date(2026, 11, 30)).await.expect("valued");
    let got: Vec<(&str, i64)> = v.charges.iter().map(|c| (c.code.as_str(), c.amount.minor)).collect();
    assert_eq!(got, vec![("C", 3500), ("AMI", 760), ("SF", 3100), ("AMI", 570)], "{:?}", v.notes);
    assert_eq!(v.notes.len(), 1, "the cancelled act: {:?}", v.notes);
    let subs: Vec<(i64, i64)> = {
        let mut tx = db.read().await.unwrap();
        let v = tx.all("SELECT id, patient_id FROM service_subscriptions WHERE establishment_id = $1", &args![d.hsm]).await.unwrap();
        tx.rollback().await.unwrap();
        v
    };
    assert_eq!(subs.len(), 1);
    let v = valuation::patient(db, &op(), subs[0].1, date(2026, 11, 1), date(2026, 11, 30)).await.expect("valued");
    let codes: Vec<&str> = v.charges.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, vec!["TV", "TEL-MES", "TEL-U"]);
    assert_eq!(v.charges[2].quantity, 19);
}
