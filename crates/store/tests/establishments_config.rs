//! The configuration every patient page reads (sites, readiness rules, required document
//! classes) is kept per pool at the establishment's configuration version: the same version
//! is served from memory, and every change of it (a site, the rules, a class, a tariff)
//! bumps the version so that the next page reads it again. Both backends.

mod common;

use common::TestDb;
use common::fixtures::{self, op};
use quittance_domain::documents::input::{ClassInput, parse_class};
use quittance_store::billing::{TariffInput, tariffs};
use quittance_store::establishments::{self, Establishment, EstablishmentConfig};
use quittance_store::{Db, documents, readiness};
use std::sync::Arc;

contract!(each_change_of_the_configuration_is_read_by_the_next_page);

async fn read(db: &Db, id: i64) -> (Establishment, Arc<EstablishmentConfig>) {
    let mut tx = db.read().await.unwrap();
    let e = establishments::get_in(&mut tx, id).await.unwrap();
    let c = establishments::config_in(db, &mut tx, &e).await.unwrap();
    tx.rollback().await.unwrap();
    (e, c)
}

async fn each_change_of_the_configuration_is_read_by_the_next_page(t: TestDb) {
    let db = &t.db;
    let h = fixtures::hospital(db, "HSM").await;
    let (e1, c1) = read(db, h).await;
    let (_, again) = read(db, h).await;
    assert!(Arc::ptr_eq(&c1, &again), "the same version is served from memory");
    assert_eq!(c1.config_version, e1.config_version);

    // A site.
    let site = fixtures::site(db, h, "MED", "Médecine").await;
    let (e2, c2) = read(db, h).await;
    assert!(e2.config_version > e1.config_version);
    assert!(c2.sites.iter().any(|s| s.id == site), "the new site is read");

    // The readiness rules.
    let mut rules = c2.rules.clone();
    rules.pec_answer_days += 7;
    readiness::save_rules(db, &op(), h, &rules).await.expect("save rules");
    let (_, c3) = read(db, h).await;
    assert_eq!(c3.rules.pec_answer_days, rules.pec_answer_days);

    // A required document class.
    let class = parse_class(&ClassInput {
        code: "attestation_test".into(),
        label: "Attestation de test".into(),
        retention_years: "5".into(),
        confidentiality: "normal".into(),
        required_for: "patient".into(),
        position: "99".into(),
        active: "on".into(),
    })
    .expect("class");
    documents::save_class(db, &op(), h, None, &class).await.expect("save class");
    let (_, c4) = read(db, h).await;
    assert!(c4.requirements.iter().any(|r| r.label == "Attestation de test"), "{:?}", c4.requirements);

    // A tariff (the valuation will read them the same way).
    let before = read(db, h).await.0.config_version;
    let tv = TariffInput { code: "TV".into(), label: "Télévision".into(), category: "television".into(), price: "4,50".into(), valid_from: "01/01/2026".into(), ..Default::default() };
    tariffs::add(db, &op(), h, &tariffs::parse_for(db, h, &tv).await.unwrap()).await.unwrap();
    assert!(read(db, h).await.0.config_version > before);

    // An establishment's entry is its own.
    let other = fixtures::hospital(db, "HSB").await;
    let (_, o) = read(db, other).await;
    assert!(o.sites.is_empty());
    let (_, c5) = read(db, h).await;
    assert!(c5.sites.iter().any(|s| s.id == site));
}
