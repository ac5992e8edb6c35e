//! Contract of the billing engine's dated tariffs and parameters, on SQLite and (when
//! `QUITTANCE_TEST_POSTGRES_URL` is set) PostgreSQL: a new establishment starts with its
//! territory's set; a version closes the earlier one and never changes a day already priced;
//! the database refuses to change or delete a row; two writers on one version: one wins.

mod common;
mod flow;

use common::TestDb;
use common::fixtures::{self, op};
use jiff::civil::date;
use quittance_domain::access::{Grant, Grants, Role};
use quittance_domain::billing::parameters::{ParameterKey, ParameterSet};
use quittance_domain::billing::tariffs::{self as domain_tariffs, TariffCategory};
use quittance_domain::money::{BasisPoints, Currency, Money};
use quittance_store::billing::tariffs::{self, TariffCsvRow, TariffFilter};
use quittance_store::billing::{ParameterInput, TariffInput, parameters};
use quittance_store::establishments::{self, EstablishmentInput};
use quittance_store::shared::imports::Batches;
use quittance_store::{Actor, Db, Error, args};

contract!(
    a_new_establishment_starts_with_its_territory_set,
    a_version_closes_the_earlier_one_and_keeps_earlier_days,
    the_database_refuses_to_change_or_delete_a_row,
    only_the_tariff_managers_set_tariffs,
    two_closings_on_one_version_one_wins,
    two_writers_on_one_parameter_version_one_wins,
    two_additions_of_one_version_one_wins,
    tariffs_import_reports_each_refused_line,
    a_stay_is_valued_by_the_tariff_of_each_day_and_the_view_is_audited,
    two_servers_starting_at_once_seed_an_older_establishment_once,
    psychiatry_bears_the_psychiatric_fj_and_seances_none,
    a_stay_with_movements_is_valued_and_split,
    two_writers_on_one_stay_one_movement_lands,
    the_discharge_closes_the_stays_subscriptions,
    a_cms_act_is_split_between_cafat_the_aid_and_the_patient,
    a_pec_answer_bounds_the_mutuelle,
);

async fn nc(db: &Db) -> i64 {
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
    let parsed = establishments::parse_establishment(&input).unwrap_or_else(|e| panic!("{e:?}"));
    establishments::create(db, &op(), &parsed).await.expect("create").id
}

fn tariff(code: &str, category: &str, price: &str, from: &str) -> TariffInput {
    TariffInput { code: code.into(), label: format!("Tarif {code}"), category: category.into(), price: price.into(), valid_from: from.into(), ..Default::default() }
}

async fn lines(db: &Db, e: i64) -> Vec<domain_tariffs::TariffLine> {
    tariffs::list(db, &op(), e, &TariffFilter::default()).await.expect("list").into_iter().map(|t| t.line).collect()
}

async fn a_new_establishment_starts_with_its_territory_set(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let l = lines(db, h).await;
    let fj = |d| domain_tariffs::find(&l, "FJ", None, "", d).map(|t| t.price);
    assert_eq!(fj(date(2026, 2, 28)), Some(Money::new(2000, Currency::Eur)));
    assert_eq!(fj(date(2026, 3, 1)), Some(Money::new(2300, Currency::Eur)));
    assert_eq!(fj(date(2017, 12, 31)), Some(Money::new(1800, Currency::Eur)));
    let psy = domain_tariffs::find(&l, "FJPSY", None, "", date(2026, 3, 1)).expect("FJ psychiatrie");
    assert_eq!((psy.price.minor, psy.category), (1700, TariffCategory::ForfaitJournalierPsy));
    assert!(psy.source.contains("R174-5-1"), "{}", psy.source);
    let p = parameters::list(db, &op(), h, None).await.expect("parameters");
    let rows: Vec<_> = p.into_iter().map(|p| p.parameter).collect();
    let set = ParameterSet(&rows);
    assert_eq!(set.rate(ParameterKey::TauxTm, date(2026, 3, 1)), Ok(BasisPoints(2000)));
    assert_eq!(set.count(ParameterKey::FinTmJour, date(2026, 3, 1)), Ok(31));
    assert_eq!(set.amount(ParameterKey::MontantPf, date(2026, 3, 1)), Ok(Money::new(2400, Currency::Eur)));
    assert!(set.effects(quittance_domain::care::coverage::Exemption::Ald, date(2026, 3, 1)).iter().all(|e| e.code() != "fj"), "ALD: FJ still due");
    assert!(rows.iter().all(|r| !r.source.is_empty()));

    let n = nc(db).await;
    let l = lines(db, n).await;
    let fh = domain_tariffs::find(&l, "FH", None, "", date(2026, 3, 1)).expect("forfait d'hébergement");
    assert_eq!(fh.price, Money::new(1800, Currency::Xpf));
    assert!(domain_tariffs::find(&l, "FJ", None, "", date(2026, 3, 1)).is_none(), "no French FJ in New Caledonia");
    let p: Vec<_> = parameters::list(db, &op(), n, None).await.unwrap().into_iter().map(|p| p.parameter).collect();
    let set = ParameterSet(&p);
    assert_eq!(set.rate(ParameterKey::TauxTm, date(2026, 3, 1)), Ok(BasisPoints(3000)));
    assert_eq!(set.rate(ParameterKey::PartCarteA, date(2024, 7, 31)), Ok(BasisPoints(1000)));
    assert_eq!(set.rate(ParameterKey::PartCarteA, date(2024, 8, 1)), Ok(BasisPoints(2000)));
    // Seeding again at start-up finds nothing to seed.
    assert_eq!(quittance_store::billing::territory::seed_missing(db).await.unwrap(), 0);
}

async fn a_version_closes_the_earlier_one_and_keeps_earlier_days(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, h, "MATER", "Maternité").await;
    let mut first = tariff("CP", "chambre_particuliere", "55,00", "01/01/2026");
    first.site_id = site.to_string();
    let a = tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &first).await.unwrap()).await.expect("first");
    let before = lines(db, h).await;
    let price_on = |l: &[domain_tariffs::TariffLine], d| domain_tariffs::find(l, "CP", Some(site), "", d).map(|t| t.price.minor);
    assert_eq!(price_on(&before, date(2026, 6, 30)), Some(5500));
    let second = TariffInput { price: "60,00".into(), valid_from: "01/07/2026".into(), ..first.clone() };
    tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &second).await.unwrap()).await.expect("second");
    let after = lines(db, h).await;
    for d in [date(2026, 1, 1), date(2026, 3, 15), date(2026, 6, 30)] {
        assert_eq!(price_on(&after, d), price_on(&before, d), "an earlier day keeps its price ({d})");
    }
    assert_eq!(price_on(&after, date(2026, 7, 1)), Some(6000));
    let closed = tariffs::get(db, &op(), h, a.id).await.unwrap();
    assert_eq!(closed.line.period.to, Some(date(2026, 6, 30)));
    assert_eq!(closed.version, a.version + 1);
    // Another site is not priced by this one; an earlier or equal start is refused on its field.
    assert_eq!(price_on(&after, date(2026, 7, 1)).is_some(), domain_tariffs::find(&after, "CP", Some(site + 1000), "", date(2026, 7, 1)).is_none());
    let late = TariffInput { valid_from: "01/05/2026".into(), ..second.clone() };
    match tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &late).await.unwrap()).await {
        Err(Error::Invalid(e)) => assert!(e.get("valid_from").unwrap().contains("01/07/2026"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    // A code keeps its category.
    let other = TariffInput { category: "television".into(), valid_from: "01/09/2026".into(), ..second };
    assert!(matches!(tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &other).await.unwrap()).await, Err(Error::Invalid(e)) if e.get("category").is_some()));
    // A parameter likewise.
    let tm = ParameterInput { key: "taux_tm".into(), value: "25 %".into(), valid_from: "01/01/2027".into(), source: "test".into(), ..Default::default() };
    parameters::add(db, &op(), h, &parameters::parse_for(db, h, &tm).await.unwrap()).await.expect("new TM rate");
    let p: Vec<_> = parameters::list(db, &op(), h, None).await.unwrap().into_iter().map(|p| p.parameter).collect();
    assert_eq!(ParameterSet(&p).rate(ParameterKey::TauxTm, date(2026, 12, 31)), Ok(BasisPoints(2000)));
    assert_eq!(ParameterSet(&p).rate(ParameterKey::TauxTm, date(2027, 1, 1)), Ok(BasisPoints(2500)));
    let audit = quittance_store::audit::search(
        db,
        &op(),
        &quittance_store::audit::AuditFilter { entity: Some("tariff".into()), action: Some("add".into()), ..Default::default() },
        100,
        0,
    )
    .await
    .unwrap()
    .0;
    assert!(audit.iter().any(|r| r.changes.contains("60,00") && r.changes.contains("version_close")), "{audit:?}");
}

async fn the_database_refuses_to_change_or_delete_a_row(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let id: i64 = {
        let mut tx = db.read().await.unwrap();
        let n = tx.int("SELECT MIN(id) FROM tariffs WHERE establishment_id = $1", &args![h]).await.unwrap();
        tx.rollback().await.unwrap();
        n
    };
    for sql in [
        "UPDATE tariffs SET price_minor = 1 WHERE id = $1",
        "UPDATE tariffs SET valid_from = '2000-01-01' WHERE id = $1",
        "DELETE FROM tariffs WHERE id = $1",
        "UPDATE billing_parameters SET value = '1' WHERE establishment_id = $1",
        "DELETE FROM billing_parameters WHERE establishment_id = $1",
    ] {
        let mut tx = db.begin().await.unwrap();
        let arg = if sql.contains("billing_parameters") { h } else { id };
        let r = tx.exec(sql, &args![arg]).await;
        assert!(r.is_err(), "{sql} must be refused");
        drop(tx);
    }
    // Closing (valid_to, version) is what may change.
    let mut tx = db.begin().await.unwrap();
    assert_eq!(tx.exec("UPDATE tariffs SET version = version + 1 WHERE id = $1", &args![id]).await.unwrap(), 1);
    drop(tx);
}

fn technicien(e: i64) -> Actor {
    Actor {
        user_id: None,
        username: "tech".into(),
        grants: Grants(vec![Grant { role: Role::TechnicienFacturation, establishment_id: e, site_id: None }]),
        system: false,
        request_id: None,
        establishment_id: Some(e),
        site_id: None,
    }
}

async fn only_the_tariff_managers_set_tariffs(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let tech = technicien(h);
    let parsed = tariffs::parse_for(db, h, &tariff("TV", "television", "4,50", "01/01/2026")).await.unwrap();
    assert!(matches!(tariffs::add(db, &tech, h, &parsed).await, Err(Error::Forbidden)));
    // They read them (every role of the establishment does).
    assert!(!tariffs::list(db, &tech, h, &TariffFilter::default()).await.unwrap().is_empty());
    let ctrl = Actor { grants: Grants(vec![Grant { role: Role::ControleurFinancier, establishment_id: h, site_id: None }]), ..tech.clone() };
    tariffs::add(db, &ctrl, h, &parsed).await.expect("the finance controller sets tariffs");
    let refused = quittance_store::audit::search(
        db,
        &op(),
        &quittance_store::audit::AuditFilter { entity: Some("tariff".into()), outcome: Some("refused".into()), ..Default::default() },
        10,
        0,
    )
    .await
    .unwrap()
    .0;
    assert_eq!(refused.len(), 1, "the refusal is audited");
}

async fn two_closings_on_one_version_one_wins(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let tv = tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &tariff("TV", "television", "4,50", "01/01/2026")).await.unwrap()).await.unwrap();
    let (alice, bruno) = (Actor::system("alice"), Actor::system("bruno"));
    let (a, b) = tokio::join!(
        tariffs::close(db, &alice, h, tv.id, tv.version, date(2026, 6, 30)),
        tariffs::close(db, &bruno, h, tv.id, tv.version, date(2026, 9, 30)),
    );
    let w = match (&a, &b) {
        (Ok(_), Err(Error::Conflict(_))) => 0,
        (Err(Error::Conflict(_)), Ok(_)) => 1,
        other => panic!("expected one Ok and one Conflict: {other:?}"),
    };
    let (winner, last) = [(&alice, date(2026, 6, 30)), (&bruno, date(2026, 9, 30))][w];
    assert_eq!(tariffs::get(db, &op(), h, tv.id).await.unwrap().line.period.to, Some(last));
    let f = quittance_store::audit::AuditFilter { entity: Some("tariff".into()), entity_id: Some(tv.id.to_string()), action: Some("close".into()), ..Default::default() };
    let rows = quittance_store::audit::search(db, &op(), &f, 10, 0).await.unwrap().0;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor, winner.username);
    assert!(rows[0].changes.contains(&last.to_string()));
}

async fn two_additions_of_one_version_one_wins(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let (alice, bruno) = (Actor::system("alice"), Actor::system("bruno"));
    let pa = tariffs::parse_for(db, h, &tariff("FJ", "forfait_journalier", "24,00", "01/01/2027")).await.unwrap();
    let pb = tariffs::parse_for(db, h, &tariff("FJ", "forfait_journalier", "25,00", "01/01/2027")).await.unwrap();
    let (a, b) = tokio::join!(tariffs::add(db, &alice, h, &pa), tariffs::add(db, &bruno, h, &pb));
    let w = match (&a, &b) {
        (Ok(_), Err(Error::Invalid(e))) | (Err(Error::Invalid(e)), Ok(_)) => {
            assert!(e.get("valid_from").is_some(), "{e:?}");
            if a.is_ok() { 0 } else { 1 }
        }
        other => panic!("expected one Ok and one refusal: {other:?}"),
    };
    let l = lines(db, h).await;
    let on = |d| domain_tariffs::find(&l, "FJ", None, "", d).map(|t| t.price.minor);
    assert_eq!(on(date(2027, 1, 1)), Some([2400, 2500][w]));
    assert_eq!(on(date(2026, 12, 31)), Some(2300), "the 2026 price ends the day before");
    let fj: Vec<_> = l.iter().filter(|t| t.code == "FJ").collect();
    for (i, a) in fj.iter().enumerate() {
        for b in &fj[i + 1..] {
            assert!(!a.period.overlaps(&b.period), "{a:?} / {b:?}");
        }
    }
}

async fn tariffs_import_reports_each_refused_line(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    fixtures::site(db, h, "MATER", "Maternité").await;
    let row = |code: &str, cat: &str, price: &str, site: &str, from: &str| TariffCsvRow {
        code: code.into(),
        label: format!("Tarif {code}"),
        category: cat.into(),
        price: price.into(),
        site: site.into(),
        valid_from: from.into(),
        source: "Délibération tarifaire".into(),
        ..Default::default()
    };
    let rows = vec![
        (2, row("TJP-MED", "tjp", "1 150,00", "", "01/01/2026")),
        (3, row("CP-MAT", "chambre_particuliere", "60,00", "MATER", "01/01/2026")),
        (4, row("CP-X", "chambre_particuliere", "60,00", "NULLE-PART", "01/01/2026")),
        (5, row("TEL-U", "telephone_unite", "abc", "", "01/01/2026")),
        (6, row("TJP-MED", "tjp", "1 200,00", "", "01/01/2025")),
    ];
    let parsed = tariffs::parse_rows(db, h, rows.clone()).await.unwrap();
    let dry = tariffs::import_in_batches(db, &op(), h, parsed.clone(), &Batches::single(true), &mut |_| {}).await.unwrap();
    assert_eq!(dry.imported, 2);
    assert_eq!(lines(db, h).await.iter().filter(|l| l.code == "TJP-MED").count(), 0, "a dry run writes nothing");
    let r = tariffs::import_in_batches(db, &op(), h, parsed, &Batches { size: 2, dry_run: false, source_sha256: Some("f".into()) }, &mut |_| {}).await.unwrap();
    assert_eq!(r.imported, 2);
    let refused: Vec<(usize, &str)> = r.errors.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
    assert_eq!(refused, vec![(4, "site"), (5, "price"), (6, "valid_from")], "{:?}", r.errors);
    let l = lines(db, h).await;
    assert_eq!(domain_tariffs::find(&l, "TJP-MED", None, "", date(2026, 3, 1)).map(|t| t.price.minor), Some(115_000));
}

async fn a_stay_is_valued_by_the_tariff_of_each_day_and_the_view_is_audited(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, h, "MED", "Médecine").await;
    let tjp = TariffInput { site_id: site.to_string(), ..tariff("TJP", "tjp", "1 150,00", "01/01/2026") };
    tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &tjp).await.unwrap()).await.unwrap();
    let p = fixtures::at_site(fixtures::person("MARTIN", "Claire", "12/03/1980", "F"), site);
    let patient = common::typed::create(db, &op(), h, &p).await.expect("patient").id;
    let input = quittance_store::care::stays::StayInput {
        discharge_date: "02/03/2026".into(),
        discharge_time: "14:00".into(),
        discharge_mode: "deces".into(),
        ..fixtures::stay_input(site, "26/02/2026")
    };
    let stay = flow::stays::save(db, &op(), patient, None, 0, &input).await.expect("stay");
    let v = quittance_store::billing::valuation::stay(db, &op(), stay.id, Some(date(2026, 12, 1))).await.expect("valuation");
    let fj: Vec<_> = v.charges().into_iter().filter(|c| c.code == "FJ").collect();
    assert_eq!(fj.len(), 2, "20 € until 28/02, 23 € from 01/03: {:?}", v.charges());
    assert_eq!((fj[0].days.len(), fj[0].amount.minor, fj[1].days.len(), fj[1].amount.minor), (3, 6000, 1, 2300), "death: exit day left out");
    assert!(v.notes.iter().any(|n| n.contains("02/03/2026") && n.contains("décès")), "{:?}", v.notes);
    let tjp: Vec<_> = v.charges().into_iter().filter(|c| c.code == "TJP").collect();
    assert_eq!((tjp[0].days.len(), tjp[0].amount.minor), (4, 460_000), "four nights");
    let f = quittance_store::audit::AuditFilter { entity: Some("patient".into()), entity_id: Some(patient.to_string()), action: Some("view_valuation".into()), ..Default::default() };
    assert_eq!(quittance_store::audit::search(db, &op(), &f, 10, 0).await.unwrap().0.len(), 1, "the valuation is a view of the file");
    let f = quittance_store::audit::AuditFilter { action: Some("view_stay".into()), ..f };
    assert!(quittance_store::audit::search(db, &op(), &f, 10, 0).await.unwrap().0.is_empty(), "one view row, not a second one for the stay");
    assert_eq!(v.patient.id, patient);
}

async fn two_servers_starting_at_once_seed_an_older_establishment_once(t: TestDb) {
    let db = &t.db;
    // An establishment created before the billing engine: no tariff, no parameter.
    let mut tx = db.begin().await.unwrap();
    let id = tx
        .int(
            "INSERT INTO establishments (code, name, kind, currency, timezone, country, active, created_at, updated_at) \
             VALUES ('OLD', 'Ancien', 'hopital', 'EUR', 'Europe/Paris', 'France', TRUE, '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z') RETURNING id",
            &[],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let other = Db::open(&t.url, quittance_store::DbOptions { pg_schema: t.schema.clone(), ..Default::default() }).await.expect("a second pool");
    let (a, b) = tokio::join!(quittance_store::billing::territory::seed_missing(db), quittance_store::billing::territory::seed_missing(&other));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "seeded once");
    let fj = lines(db, id).await.into_iter().filter(|l| l.code == "FJ").count();
    assert_eq!(fj, 3, "the three dated FJ versions, once");
    assert_eq!(quittance_store::billing::territory::seed_missing(db).await.unwrap(), 0);
}

async fn psychiatry_bears_the_psychiatric_fj_and_seances_none(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, h, "PSY", "Psychiatrie adulte").await;
    // The discipline's daily tariff, under a code of its own.
    let tjp = TariffInput { site_id: site.to_string(), ..tariff("TJP-PSY", "tjp", "650,00", "01/01/2026") };
    tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &tjp).await.unwrap()).await.unwrap();
    let p = fixtures::at_site(fixtures::person("DURAND", "Paul", "02/02/1975", "M"), site);
    let patient = common::typed::create(db, &op(), h, &p).await.expect("patient").id;
    let stay = |mode: &str, from: &str, to: &str| quittance_store::care::stays::StayInput {
        discharge_date: to.into(),
        discharge_time: "10:00".into(),
        discharge_mode: "domicile".into(),
        care_mode: mode.into(),
        ..fixtures::stay_input(site, from)
    };
    let psy = flow::stays::save(db, &op(), patient, None, 0, &stay("psychiatrie", "02/03/2026", "05/03/2026")).await.expect("psychiatry stay");
    let v = quittance_store::billing::valuation::stay(db, &op(), psy.id, Some(date(2026, 12, 1))).await.expect("valuation");
    let fj: Vec<_> = v.charges().into_iter().filter(|c| c.category == TariffCategory::ForfaitJournalierPsy).collect();
    assert_eq!((fj.len(), fj[0].code.as_str(), fj[0].days.len(), fj[0].amount.minor), (1, "FJPSY", 4, 6800), "4 days × 17 € (art. R174-5-1 CSS): {:?}", v.charges());
    let tjp: Vec<_> = v.charges().into_iter().filter(|c| c.category == TariffCategory::Tjp).collect();
    assert_eq!((tjp.len(), tjp[0].code.as_str(), tjp[0].amount.minor), (1, "TJP-PSY", 3 * 65_000), "the site's daily tariff, whatever its code");
    let ssr = flow::stays::save(db, &op(), patient, None, 0, &stay("ssr", "10/03/2026", "12/03/2026")).await.expect("SSR stay");
    let v = quittance_store::billing::valuation::stay(db, &op(), ssr.id, Some(date(2026, 12, 1))).await.unwrap();
    assert_eq!(v.charges().into_iter().filter(|c| c.code == "FJ").map(|c| c.amount.minor).sum::<i64>(), 6900, "SSR: the general FJ, 3 × 23 €");
    let seances = flow::stays::save(db, &op(), patient, None, 0, &stay("seances", "20/03/2026", "20/03/2026")).await.expect("séance");
    let v = quittance_store::billing::valuation::stay(db, &op(), seances.id, Some(date(2026, 12, 1))).await.unwrap();
    assert!(v.charges().into_iter().all(|c| c.code != "FJ"), "{:?}", v.charges());
    assert!(v.notes.iter().any(|n| n.contains("Séances")), "{:?}", v.notes);
}

async fn two_writers_on_one_parameter_version_one_wins(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let tm = parameters::list(db, &op(), h, None).await.unwrap().into_iter().find(|p| p.parameter.key == ParameterKey::TauxTm).expect("taux_tm");
    let (alice, bruno) = (Actor::system("alice"), Actor::system("bruno"));
    let (a, b) = tokio::join!(
        parameters::close(db, &alice, h, tm.parameter.id, tm.version, date(2026, 6, 30)),
        parameters::close(db, &bruno, h, tm.parameter.id, tm.version, date(2026, 9, 30)),
    );
    let w = match (&a, &b) {
        (Ok(_), Err(Error::Conflict(_))) => 0,
        (Err(Error::Conflict(_)), Ok(_)) => 1,
        other => panic!("expected one Ok and one Conflict: {other:?}"),
    };
    let (winner, last) = [(&alice, date(2026, 6, 30)), (&bruno, date(2026, 9, 30))][w];
    assert_eq!(parameters::get(db, &op(), h, tm.parameter.id).await.unwrap().parameter.period.to, Some(last));
    let f = quittance_store::audit::AuditFilter {
        entity: Some("billing_parameter".into()),
        entity_id: Some(tm.parameter.id.to_string()),
        action: Some("close".into()),
        ..Default::default()
    };
    let rows = quittance_store::audit::search(db, &op(), &f, 10, 0).await.unwrap().0;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor, winner.username);
    // Two new versions from the same day: one is added, the other refused on its field.
    let v = |value: &str| ParameterInput { key: "taux_tm".into(), value: value.into(), valid_from: "01/01/2027".into(), source: "test".into(), ..Default::default() };
    let (pa, pb) = (parameters::parse_for(db, h, &v("25 %")).await.unwrap(), parameters::parse_for(db, h, &v("15 %")).await.unwrap());
    let (a, b) = tokio::join!(parameters::add(db, &alice, h, &pa), parameters::add(db, &bruno, h, &pb));
    assert!(matches!((&a, &b), (Ok(_), Err(Error::Invalid(_))) | (Err(Error::Invalid(_)), Ok(_))), "{a:?} / {b:?}");
}

/// A stay with a private room requested in writing, an intensive-care period, a costly act and
/// a CPAM + mutuelle coverage: valued, split (shares sum to each charge), and the movements'
/// writes follow the one write path (version of the stay, audit, never deleted).
async fn a_stay_with_movements_is_valued_and_split(t: TestDb) {
    use quittance_store::care::movements::{self, MovementInput, StayActInput};
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, h, "MED", "Médecine").await;
    for i in [
        TariffInput { site_id: site.to_string(), ..tariff("TJP", "tjp", "1 200,00", "01/01/2026") },
        TariffInput { site_id: site.to_string(), ..tariff("CP", "chambre_particuliere", "45,00", "01/01/2026") },
    ] {
        tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &i).await.unwrap()).await.unwrap();
    }
    let p = fixtures::at_site(fixtures::person("MARTIN", "Claire", "12/03/1980", "F"), site);
    let patient = common::typed::create(db, &op(), h, &p).await.expect("patient").id;
    let input = quittance_store::care::stays::StayInput { discharge_date: "07/03/2026".into(), discharge_time: "11:00".into(), discharge_mode: "domicile".into(), ..fixtures::stay_input(site, "02/03/2026") };
    let stay = flow::stays::save(db, &op(), patient, None, 0, &input).await.expect("stay");
    let mv = |kind: &str, sd: &str, ed: &str| MovementInput { kind: kind.into(), start_date: sd.into(), start_time: "09:00".into(), end_date: ed.into(), end_time: if ed.is_empty() { String::new() } else { "20:00".into() }, written_request: "oui".into(), ..Default::default() };
    let w = movements::add_movement(db, &op(), stay.id, stay.version, &movements::parse_movement(&mv("chambre_particuliere", "02/03/2026", "")).unwrap()).await.expect("room");
    // The stay's version moved: a write from the page read before is refused.
    let late = movements::add_movement(db, &op(), stay.id, stay.version, &movements::parse_movement(&mv("soins_intensifs", "03/03/2026", "04/03/2026")).unwrap()).await;
    assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
    movements::add_movement(db, &op(), stay.id, stay.version + 1, &movements::parse_movement(&mv("soins_intensifs", "03/03/2026", "04/03/2026")).unwrap()).await.expect("ICU");
    // Outside the stay: an error on the field.
    let out = movements::add_movement(db, &op(), stay.id, stay.version + 2, &movements::parse_movement(&mv("reanimation", "01/03/2026", "")).unwrap()).await;
    assert!(matches!(&out, Err(Error::Invalid(e)) if e.get("start_date").is_some()), "{out:?}");
    let act = movements::parse_stay_act(&StayActInput { performed_on: "03/03/2026".into(), code: "ZZQK002".into(), amount: "152,40".into(), ..Default::default() }, Currency::Eur).unwrap();
    let a = movements::add_act(db, &op(), stay.id, stay.version + 2, &act).await.expect("act");
    let v = quittance_store::billing::valuation::stay(db, &op(), stay.id, Some(date(2026, 12, 1))).await.expect("valuation");
    let cp: i64 = v.charges().iter().filter(|c| c.code == "CP").map(|c| c.amount.minor).sum();
    assert_eq!(cp, 4 * 4500, "6 days less 03/03 and 04/03 in intensive care");
    assert!(v.notes.iter().any(|n| n.contains("04/03/2026") && n.contains("soins intensifs")), "{:?}", v.notes);
    for l in &v.split.lines {
        assert_eq!(l.shares.iter().map(|s| s.amount.minor).sum::<i64>(), l.charge.amount.minor);
    }
    let patient_owes: i64 = v.split.totals().iter().filter(|(p, _)| *p == quittance_domain::billing::split::Party::Patient).map(|(_, m)| m.minor).sum();
    assert_eq!(patient_owes, 600_000 + 6 * 2300 + 4 * 4500, "no coverage open: the patient owes the whole base, the FJ and the room");
    assert_eq!(v.split.total().minor, patient_owes);
    // Cancelling the act: kept, with its reason, and no longer counted.
    let now = quittance_store::care::stays::get(db, &op(), stay.id).await.unwrap().version;
    movements::cancel_act(db, &op(), stay.id, now, a.id(), "saisi par erreur").await.expect("cancel");
    let act_rows = movements::activity(db, &op(), stay.id).await.unwrap().acts;
    assert_eq!(act_rows[0].cancelled.as_ref().map(|c| c.1.as_str()), Some("saisi par erreur"));
    let mut tx = db.begin().await.unwrap();
    assert!(tx.exec("DELETE FROM stay_movements WHERE id = $1", &args![w.id()]).await.is_err(), "a movement is never deleted");
    tx.rollback().await.ok();
    let f = quittance_store::audit::AuditFilter { entity: Some("patient".into()), entity_id: Some(patient.to_string()), action: Some("add_movement".into()), ..Default::default() };
    assert_eq!(quittance_store::audit::search(db, &op(), &f, 10, 0).await.unwrap().0.len(), 2);
}

/// Two agents add a movement to the same stay from the same page: one lands, the other is told.
async fn two_writers_on_one_stay_one_movement_lands(t: TestDb) {
    use quittance_store::care::movements::{self, MovementInput};
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, h, "MED", "Médecine").await;
    let p = fixtures::at_site(fixtures::person("MARTIN", "Claire", "12/03/1980", "F"), site);
    let patient = common::typed::create(db, &op(), h, &p).await.expect("patient").id;
    let stay = flow::stays::save(db, &op(), patient, None, 0, &fixtures::stay_input(site, "02/03/2026")).await.expect("stay");
    let m = |kind: &str| movements::parse_movement(&MovementInput { kind: kind.into(), start_date: "03/03/2026".into(), start_time: "10:00".into(), ..Default::default() }).unwrap();
    let (alice, bruno) = (Actor::system("alice"), Actor::system("bruno"));
    let (ma, mb) = (m("soins_intensifs"), m("reanimation"));
    let (a, b) = tokio::join!(movements::add_movement(db, &alice, stay.id, stay.version, &ma), movements::add_movement(db, &bruno, stay.id, stay.version, &mb));
    match (&a, &b) {
        (Ok(_), Err(Error::Conflict(_))) | (Err(Error::Conflict(_)), Ok(_)) => {}
        other => panic!("expected one Ok and one Conflict: {other:?}"),
    }
    let live = movements::live(&movements::activity(db, &op(), stay.id).await.unwrap().movements);
    assert_eq!(live.len(), 1);
    assert_eq!(quittance_store::care::stays::get(db, &op(), stay.id).await.unwrap().version, stay.version + 1);
}

/// Discharging a stay closes its open TV subscription on the discharge day, in the same
/// transaction, and says so (item 4 of the billing engine).
async fn the_discharge_closes_the_stays_subscriptions(t: TestDb) {
    use quittance_store::activity::{self, OfferInput, SubscriptionInput, services};
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, h, "MED", "Médecine").await;
    tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &tariff("TV", "television", "4,50", "01/01/2026")).await.unwrap()).await.unwrap();
    let o = OfferInput { site_id: site.to_string(), tv_code: "TV".into(), active: "on".into(), ..Default::default() };
    services::save_offer(db, &op(), h, None, &activity::parse_offer(&o).unwrap()).await.expect("offer");
    let p = fixtures::at_site(fixtures::person("MARTIN", "Claire", "12/03/1980", "F"), site);
    let patient = common::typed::create(db, &op(), h, &p).await.expect("patient").id;
    let stay = flow::stays::save(db, &op(), patient, None, 0, &fixtures::stay_input(site, "27/11/2026")).await.expect("stay");
    let sub = SubscriptionInput { site_id: site.to_string(), stay_id: stay.id.to_string(), kind: "tv".into(), line_number: "4211".into(), opened_on: "27/11/2026".into(), ..Default::default() };
    let sub = services::open(db, &op(), patient, &activity::parse_subscription(&sub).unwrap()).await.expect("subscription");
    let out = quittance_store::care::stays::StayInput { discharge_date: "03/12/2026".into(), discharge_time: "11:00".into(), discharge_mode: "domicile".into(), ..fixtures::stay_input(site, "27/11/2026") };
    let parsed = quittance_store::care::stays::parse(db, &op(), patient, &out).await.unwrap();
    let (_, notes) = quittance_store::care::stays::save_noting(db, &op(), patient, Some(stay.id), stay.version, &parsed).await.expect("discharge");
    assert_eq!(notes, vec![format!("Abonnement n° {} (télévision, ligne 4211) clos le 03/12/2026 avec la sortie du séjour.", sub.id)]);
    let list = services::list(db, &op(), patient).await.unwrap();
    assert_eq!(list[0].subscription.sub.closed_on, Some(date(2026, 12, 3)));
}

/// A CMS act of a New Caledonian patient with CAFAT and an aide médicale card B: CAFAT 70 %,
/// the card leaves the patient 20 % of the act, the aid pays the rest (domain-rules §6.2–6.3);
/// read through the patient's valuation, which is audited.
async fn a_cms_act_is_split_between_cafat_the_aid_and_the_patient(t: TestDb) {
    use quittance_domain::billing::split::Party;
    use quittance_store::activity::{self, ActInput, acts, valuation};
    let db = &t.db;
    let e = nc(db).await;
    let site = fixtures::site(db, e, "CMS-RS", "CMS de Rivière-Salée").await;
    tariffs::add(db, &op(), e, &tariffs::parse_for(db, e, &tariff("C", "acte_cms", "3 500", "01/01/2026")).await.unwrap()).await.unwrap();
    let cafat = flow::payers::create(db, &op(), e, &fixtures::payer_input("CAFAT", "obligatoire", "CAFAT")).await.unwrap().id;
    let aid = flow::payers::create(db, &op(), e, &fixtures::payer_input("AMSUD", "aide_medicale", "Aide médicale Sud")).await.unwrap().id;
    let p = fixtures::at_site(fixtures::person("WAMYTAN", "Lise", "03/04/1990", "F"), site);
    let patient = common::typed::create(db, &op(), e, &p).await.expect("patient").id;
    for c in [
        quittance_store::care::coverages::CoverageInput { rate_sejour: "70 %".into(), rate_actes: "70 %".into(), ..fixtures::coverage_input(cafat, "obligatoire", "01/01/2026", "") },
        quittance_store::care::coverages::CoverageInput { rate_actes: "80 %".into(), exemptions: "carte_b".into(), priority: "3".into(), ..fixtures::coverage_input(aid, "aide", "01/01/2026", "") },
    ] {
        let parsed = quittance_store::care::coverages::parse(db, patient, &c).await.expect("coverage");
        quittance_store::care::coverages::save(db, &op(), patient, None, 0, &parsed).await.expect("save");
    }
    let a = ActInput { site_id: site.to_string(), act_date: "12/11/2026".into(), practitioner: "Dr Wakolo".into(), code: "C".into(), ..Default::default() };
    acts::record(db, &op(), patient, &activity::parse_act(&a).unwrap()).await.expect("act");
    let v = valuation::patient(db, &op(), patient, date(2026, 11, 1), date(2026, 11, 30)).await.expect("valuation");
    let owed = |who: &dyn Fn(&Party) -> bool| v.split.totals().iter().filter(|(p, _)| who(p)).map(|(_, m)| m.minor).sum::<i64>();
    let payer = |id: i64| move |p: &Party| matches!(p, Party::Payer { payer_id, .. } if *payer_id == id);
    assert_eq!((owed(&payer(cafat)), owed(&payer(aid)), owed(&|p: &Party| *p == Party::Patient)), (2450, 350, 700), "{:?}", v.split);
    assert!(v.split.lines[0].shares.iter().any(|s| s.explanation.contains("carte B")), "{:?}", v.split.lines[0].shares);
}

/// A mutuelle's PEC answer bounds what it pays for the private room (cap per day, maximum
/// days) and a refusal pays nothing: read from the database through the stay's valuation.
async fn a_pec_answer_bounds_the_mutuelle(t: TestDb) {
    use quittance_domain::billing::split::Party;
    use quittance_store::care::movements::{self, MovementInput};
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let site = fixtures::site(db, h, "MED", "Médecine").await;
    for i in [TariffInput { site_id: site.to_string(), ..tariff("TJP", "tjp", "1 000,00", "01/01/2026") }, TariffInput { site_id: site.to_string(), ..tariff("CP", "chambre_particuliere", "60,00", "01/01/2026") }] {
        tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &i).await.unwrap()).await.unwrap();
    }
    let cpam = flow::payers::create(db, &op(), h, &fixtures::payer_input("CPAM", "obligatoire", "CPAM")).await.unwrap().id;
    let mgen = flow::payers::create(db, &op(), h, &fixtures::payer_input("MGEN", "complementaire", "MGEN")).await.unwrap().id;
    let p = fixtures::at_site(fixtures::person("MARTIN", "Claire", "12/03/1980", "F"), site);
    let patient = common::typed::create(db, &op(), h, &p).await.expect("patient").id;
    for c in [
        quittance_store::care::coverages::CoverageInput { rate_sejour: "80 %".into(), ..fixtures::coverage_input(cpam, "obligatoire", "01/01/2026", "") },
        quittance_store::care::coverages::CoverageInput { rate_sejour: "20 %".into(), rate_fj: "100 %".into(), rate_cp: "100 %".into(), priority: "2".into(), ..fixtures::coverage_input(mgen, "complementaire", "01/01/2026", "") },
    ] {
        let parsed = quittance_store::care::coverages::parse(db, patient, &c).await.expect("coverage");
        quittance_store::care::coverages::save(db, &op(), patient, None, 0, &parsed).await.expect("save");
    }
    let input = quittance_store::care::stays::StayInput { discharge_date: "07/03/2026".into(), discharge_time: "11:00".into(), discharge_mode: "domicile".into(), ..fixtures::stay_input(site, "02/03/2026") };
    let stay = flow::stays::save(db, &op(), patient, None, 0, &input).await.expect("stay");
    let room = MovementInput { kind: "chambre_particuliere".into(), start_date: "02/03/2026".into(), start_time: "09:00".into(), written_request: "oui".into(), ..Default::default() };
    movements::add_movement(db, &op(), stay.id, stay.version, &movements::parse_movement(&room).unwrap()).await.expect("room");
    let answer = |status: &str, number: &str| {
        format!(
            "INSERT INTO cover_authorizations (establishment_id, patient_id, stay_id, payer_id, number, status, requested_items, requested_days, estimate_minor, currency, \
             agreement_number, agreed_items, cap_per_day_minor, max_days, valid_from, valid_to, created_at, updated_at, version) VALUES \
             ({h}, {patient}, {}, {mgen}, '{number}', '{status}', 'chambre_particuliere', 10, 0, 'EUR', 'ACC-{number}', 'chambre_particuliere,forfait_journalier,ticket_moderateur', 4500, 4, '2026-03-01', '2026-03-31', 'x', 'x', 1)",
            stay.id
        )
    };
    let mut tx = db.begin().await.unwrap();
    tx.exec(&answer("acceptee", "P1"), &[]).await.unwrap();
    tx.commit().await.unwrap();
    let v = quittance_store::billing::valuation::stay(db, &op(), stay.id, None).await.expect("valuation");
    let cp = v.split.lines.iter().find(|l| l.charge.code == "CP").expect("room charge");
    let of = |who: &dyn Fn(&Party) -> bool| cp.shares.iter().filter(|s| who(&s.party)).map(|s| s.amount.minor).sum::<i64>();
    assert_eq!(cp.charge.amount.minor, 6 * 6000);
    assert_eq!(of(&|p| matches!(p, Party::Payer { payer_id, .. } if *payer_id == mgen)), 4 * 4500, "4 days at most, 45 € a day: {:?}", cp.shares);
    assert!(cp.shares.iter().any(|s| s.explanation.contains("ACC-P1")), "{:?}", cp.shares);
    // The same answer recorded as a refusal: the mutuelle pays nothing for the stay.
    let mut tx = db.begin().await.unwrap();
    tx.exec("UPDATE cover_authorizations SET status = 'refusee' WHERE number = 'P1'", &[]).await.unwrap();
    tx.commit().await.unwrap();
    let v = quittance_store::billing::valuation::stay(db, &op(), stay.id, None).await.expect("valuation");
    let mgen_total: i64 = v.split.totals().iter().filter(|(p, _)| matches!(p, Party::Payer { payer_id, .. } if *payer_id == mgen)).map(|(_, m)| m.minor).sum();
    assert_eq!(mgen_total, 0, "a refused PEC: the mutuelle pays nothing for the stay");
}
