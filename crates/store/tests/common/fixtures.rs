//! One builder per entity, for the store tests (and the web and app tests, which reach
//! this file by `#[path]`). Each `*_input` builder returns the as-typed input with
//! sensible defaults, so that a test overrides only what it is about:
//! `PatientInput { birth_date: "31/12/1999".into(), ..fixtures::patient_input("DUPONT", "Marie") }`.
//! The async builders write through the domain parsers, as the pages and the API do.
#![allow(dead_code)]

use quittance_domain::access::Grant;
use quittance_store::access::NewUser;
use quittance_store::care::coverages::CoverageInput;
use quittance_store::care::payers::PayerInput;
use quittance_store::care::stays::StayInput;
use quittance_store::establishments::{self, EstablishmentInput, SiteInput};
use quittance_store::patients::{DebtorInput, PatientInput};
use quittance_store::{Actor, Db};

/// The system actor the tests write with (`cli:test`).
pub fn op() -> Actor {
    Actor::system("test")
}

// ---------------------------------------------------------------- users

/// The password [`user_input`] gives.
pub const USER_PASSWORD: &str = "une-phrase-de-passe";

/// A user named after its login, with [`USER_PASSWORD`] and `grants`.
pub fn user_input(username: &str, grants: Vec<Grant>) -> NewUser {
    NewUser { username: username.into(), display_name: username.into(), password: Some(USER_PASSWORD.into()), grants, ..Default::default() }
}

// ---------------------------------------------------------------- establishments and sites

/// A hospital in Lyon named « Hôpital `code` », billing in euros.
pub fn hospital_input(code: &str) -> EstablishmentInput {
    EstablishmentInput {
        code: code.into(),
        name: format!("Hôpital {code}"),
        kind: "hopital".into(),
        currency: "EUR".into(),
        timezone: "Europe/Paris".into(),
        siret: "26690123400010".into(),
        postcode: "69003".into(),
        city: "Lyon".into(),
        ..Default::default()
    }
}

/// Creates [`hospital_input`]`(code)` and returns its id.
pub async fn hospital(db: &Db, code: &str) -> i64 {
    let parsed = establishments::parse_establishment(&hospital_input(code)).expect("a valid establishment");
    establishments::create(db, &op(), &parsed).await.unwrap_or_else(|e| panic!("create establishment {code}: {e:?}")).id
}

/// A care service in Lyon.
pub fn site_input(code: &str, name: &str) -> SiteInput {
    SiteInput { code: code.into(), name: name.into(), kind: "service".into(), postcode: "69003".into(), city: "Lyon".into(), ..Default::default() }
}

/// Creates [`site_input`]`(code, name)` in `establishment_id` and returns its id.
pub async fn site(db: &Db, establishment_id: i64, code: &str, name: &str) -> i64 {
    let parsed = establishments::parse_site(&site_input(code, name)).expect("a valid site");
    establishments::create_site(db, &op(), establishment_id, &parsed).await.unwrap_or_else(|e| panic!("create site {code}: {e:?}")).id
}

/// Creates [`hospital`]`(code)` with two sites, URG and CONS (« Site URG de `code` », …):
/// (establishment id, [URG id, CONS id]).
pub async fn hospital_with_two_sites(db: &Db, code: &str) -> (i64, [i64; 2]) {
    let e = hospital(db, code).await;
    let urg = site(db, e, "URG", &format!("Site URG de {code}")).await;
    let cons = site(db, e, "CONS", &format!("Site CONS de {code}")).await;
    (e, [urg, cons])
}

// ---------------------------------------------------------------- payers and coverages

/// A payer (`kind`: obligatoire, complementaire, …) with the default terms.
pub fn payer_input(code: &str, kind: &str, name: &str) -> PayerInput {
    PayerInput { code: code.into(), kind: kind.into(), name: name.into(), ..Default::default() }
}

/// A coverage by `payer` as `role`, valid from `from` to `to` (typed dates, `""` for open).
pub fn coverage_input(payer: i64, role: &str, from: &str, to: &str) -> CoverageInput {
    CoverageInput { payer_id: payer.to_string(), role: role.into(), valid_from: from.into(), valid_to: to.into(), ..Default::default() }
}

// ---------------------------------------------------------------- patients and debtors

/// A woman born 02/02/1972 in Lyon (INSEE 69123), identity not validated, no site.
pub fn patient_input(name: &str, first_names: &str) -> PatientInput {
    PatientInput {
        birth_name: name.into(),
        birth_first_names: first_names.into(),
        birth_date: "02/02/1972".into(),
        sex: "F".into(),
        birth_place_code: "69123".into(),
        birth_place_label: "Lyon".into(),
        ..Default::default()
    }
}

/// [`patient_input`] born on `born` (typed) with `sex`.
pub fn person(name: &str, first_names: &str, born: &str, sex: &str) -> PatientInput {
    PatientInput { birth_date: born.into(), sex: sex.into(), ..patient_input(name, first_names) }
}

/// The identity validated on an identity card.
pub fn validated(p: PatientInput) -> PatientInput {
    PatientInput { identity_status: "validee".into(), doc_type: "carte_identite".into(), doc_number: "123456789012".into(), ..p }
}

/// The file attached to `site`.
pub fn at_site(p: PatientInput, site: i64) -> PatientInput {
    PatientInput { site_id: site.to_string(), ..p }
}

/// The patient as default debtor at a full address in Lyon, guaranteeing the stay, the
/// acts and the daily fee.
pub fn debtor_input() -> DebtorInput {
    DebtorInput {
        kind: "patient".into(),
        address_line1: "3 rue Victor-Hugo".into(),
        postcode: "69003".into(),
        city: "Lyon".into(),
        guarantees: "sejour,actes,forfait_journalier".into(),
        is_default: true,
        ..Default::default()
    }
}

// ---------------------------------------------------------------- stays

/// A full hospitalisation at `site` admitted on `admission` (typed) at 08:30, not discharged.
pub fn stay_input(site: i64, admission: &str) -> StayInput {
    StayInput {
        site_id: site.to_string(),
        admission_date: admission.into(),
        admission_time: "08:30".into(),
        care_mode: "hospitalisation_complete".into(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------- the demo data set

/// The demo data set's establishments (HSM, DPASS-PS) and sites (MED, CMS-RS, CMS-MD).
pub struct Demo {
    pub hsm: i64,
    pub dpass: i64,
    pub med: i64,
    pub rs: i64,
    pub md: i64,
}

/// Seeds the demo data set and returns its ids.
pub async fn seed_demo(db: &Db) -> Demo {
    quittance_store::demo::seed(db).await.expect("seed the demo data");
    demo_ids(db).await
}

/// The ids of the demo data set, seeded already.
pub async fn demo_ids(db: &Db) -> Demo {
    let list = establishments::list(db, &op()).await.unwrap();
    let id_of = |code: &str| list.iter().find(|e| e.code == code).unwrap_or_else(|| panic!("establishment {code}")).id;
    let (hsm, dpass) = (id_of("HSM"), id_of("DPASS-PS"));
    let mut sites = establishments::list_sites(db, &op(), hsm).await.unwrap();
    sites.extend(establishments::list_sites(db, &op(), dpass).await.unwrap());
    let site = |code: &str| sites.iter().find(|s| s.code == code).unwrap_or_else(|| panic!("site {code}")).id;
    Demo { hsm, dpass, med: site("MED"), rs: site("CMS-RS"), md: site("CMS-MD") }
}

/// The id of the payer `code` of `establishment_id`.
pub async fn payer_id(db: &Db, establishment_id: i64, code: &str) -> i64 {
    let list = quittance_store::care::payers::list(db, &op(), establishment_id).await.unwrap();
    list.into_iter().find(|p| p.code == code).unwrap_or_else(|| panic!("payer {code}")).id
}
