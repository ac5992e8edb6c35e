//! Payers with dated default rates, stays, coverage rights and billing readiness
//! (store use cases): every test runs on SQLite and, when
//! `QUITTANCE_TEST_POSTGRES_URL` is set, on PostgreSQL.

mod common;
mod flow;

use std::collections::BTreeSet;

use common::TestDb;
use common::check::{count, audit_head, audit_rows, changes, sites_of, invalid, forbidden, fields, set};
use common::fixtures::{self, at_site, coverage_input, debtor_input, hospital_input, op, payer_id, payer_input, person, seed_demo, stay_input, validated};
use jiff::civil::{Date, date};
use quittance_domain::identity::IdentityStatus;
use quittance_domain::readiness::{CONTROLS, Rules};
use quittance_store::audit::AuditFilter;
use flow::coverages;
use flow::establishments as est;
use quittance_store::patients::{self, Patient, PatientInput};
use flow::payers::{self, PayerInput};
use quittance_store::readiness;
use flow::stays::{self, StayInput};
use quittance_store::{Actor, Db, Error, args};

contract!(
    payer_field_errors_write_nothing,
    payer_code_is_unique_per_establishment,
    payer_update_is_audited,
    dated_rates_close_the_previous_one_and_refuse_earlier_starts,
    payer_import_reports_lines_and_dry_run_writes_nothing,
    payer_permissions_by_role,
    coverage_blank_rates_take_the_default_valid_at_the_start,
    coverage_refusals_write_nothing,
    coverage_flags_overlap_gap_expired_expiring,
    coverage_add_and_update_are_audited_with_before_after,
    stay_refusals_write_nothing,
    stay_version_conflict,
    opening_a_stay_attaches_the_file_to_the_site,
    each_readiness_control_fails_alone_and_is_fixed,
    queue_lists_not_ready_open_stays_of_the_actors_sites,
    queue_matches_the_checklist_on_the_demo_data,
    readiness_rules_change_the_outcome_and_are_admin_only,
);

contract!(queue_hides_non_disclosure_files_from_the_secretary);

const DEMO_PASSWORD: &str = "formation-2026";
const TODAY: Date = date(2026, 11, 22);

// ---------------------------------------------------------------- helpers

/// An establishment with two sites and two payers with dated default rates.
struct Place {
    est: i64,
    urg: i64,
    cons: i64,
    /// CPAM (obligatoire): séjour 80 %, actes 70 % from 01/01/2020.
    cpam: i64,
    /// MGEN (complémentaire): séjour 20 %, actes 30 %, forfait journalier 100 % from 01/01/2020.
    mgen: i64,
}

async fn place(db: &Db, code: &str) -> Place {
    let (e, sites) = fixtures::hospital_with_two_sites(db, code).await;
    let cpam = payers::create(db, &op(), e, &payer_input("CPAM", "obligatoire", "CPAM du Rhône")).await.expect("create CPAM");
    for (cat, rate) in [("sejour", "80"), ("actes", "70")] {
        payers::add_rate(db, &op(), cpam.id, pv(db, cpam.id).await, cat, rate, "01/01/2020").await.expect("CPAM rate");
    }
    let mgen = payers::create(db, &op(), e, &payer_input("MGEN", "complementaire", "MGEN")).await.expect("create MGEN");
    for (cat, rate) in [("sejour", "20"), ("actes", "30"), ("forfait_journalier", "100")] {
        payers::add_rate(db, &op(), mgen.id, pv(db, mgen.id).await, cat, rate, "01/01/2020").await.expect("MGEN rate");
    }
    without_pec(db, e).await;
    Place { est: e, urg: sites[0], cons: sites[1], cpam: cpam.id, mgen: mgen.id }
}

/// The default rules without the prise-en-charge control (another feature, tested
/// elsewhere): the checklist here is about identity, debtor and coverage.
fn base_rules() -> Rules {
    Rules { pec_required: false, ..Rules::default() }
}

async fn without_pec(db: &Db, est_id: i64) {
    readiness::save_rules(db, &op(), est_id, &base_rules()).await.expect("save the readiness rules");
}

async fn create(db: &Db, est_id: i64, p: PatientInput) -> Patient {
    let what = format!("{} {}", p.birth_name, p.birth_first_names);
    common::typed::create(db, &op(), est_id, &p).await.unwrap_or_else(|e| panic!("create {what}: {e:?}"))
}

/// The payer's current version (what its page or edit form carries).
async fn pv(db: &Db, payer_id: i64) -> i64 {
    payers::get(db, &op(), payer_id).await.expect("payer").version
}

fn rows_of(entity: &str, id: i64, action: &str) -> AuditFilter {
    AuditFilter { entity: Some(entity.into()), entity_id: Some(id.to_string()), action: Some(action.into()), ..Default::default() }
}

/// The failing control codes of the checklist entry of `stay` (or of the file alone).
async fn failing(db: &Db, patient_id: i64, stay: Option<i64>, today: Date) -> Vec<String> {
    let list = readiness::checklist(db, &op(), patient_id, today).await.expect("checklist");
    let c = list.iter().find(|c| c.stay_id == stay).unwrap_or_else(|| panic!("checklist entry for {stay:?} in {list:?}"));
    assert_eq!(c.ready, c.failures.is_empty(), "ready iff nothing fails: {c:?}");
    c.failures.iter().map(|f| f.0.clone()).collect()
}

/// The reasons the queue gives for `stay`, or `None` when it is not listed.
async fn queued(db: &Db, actor: &Actor, est_id: i64, stay: i64) -> Option<Vec<String>> {
    let q = readiness::queue(db, actor, est_id, TODAY).await.expect("queue");
    q.into_iter().find(|p| p.stay_id == Some(stay)).map(|p| p.reasons)
}

// ---------------------------------------------------------------- payers

async fn payer_field_errors_write_nothing(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    let head = audit_head(db).await;
    let bad = PayerInput {
        code: "MUT-1".into(),
        kind: "mutuelle".into(),
        name: "Mutuelle de test".into(),
        email: "contact.mutuelle.fr".into(),
        accounting_account: "41A2".into(),
        payment_terms_days: "400".into(),
        statement_deadline_days: "-1".into(),
        ..Default::default()
    };
    let errs = invalid(payers::create(db, &op(), e.id, &bad).await);
    assert_eq!(fields(&errs), set(&["kind", "email", "accounting_account", "payment_terms_days", "statement_deadline_days"]), "{errs:?}");
    assert_eq!(errs.get("kind"), Some("Type d'organisme inconnu."));
    assert_eq!(errs.get("email"), Some("Adresse électronique invalide."));
    assert!(errs.get("accounting_account").is_some_and(|m| m.contains("chiffres")), "{errs:?}");
    assert_eq!(errs.get("payment_terms_days"), Some("Nombre de jours entre 0 et 365."));

    // Each mistake alone is reported alone.
    let good = PayerInput { code: "mut-1".into(), kind: "complementaire".into(), name: "Mutuelle de test".into(), ..Default::default() };
    for (field, f) in [
        ("kind", &(|p: &mut PayerInput| p.kind = "assureur".into()) as &dyn Fn(&mut PayerInput)),
        ("email", &|p: &mut PayerInput| p.email = "contact@".into()),
        ("email", &|p: &mut PayerInput| p.email = "@mutuelle.fr".into()),
        ("accounting_account", &|p: &mut PayerInput| p.accounting_account = "411-2".into()),
        ("payment_terms_days", &|p: &mut PayerInput| p.payment_terms_days = "366".into()),
        ("payment_terms_days", &|p: &mut PayerInput| p.payment_terms_days = "trente".into()),
        ("statement_deadline_days", &|p: &mut PayerInput| p.statement_deadline_days = "-5".into()),
        ("statement_period", &|p: &mut PayerInput| p.statement_period = "annuel".into()),
        ("channel", &|p: &mut PayerInput| p.channel = "pigeon".into()),
        ("code", &|p: &mut PayerInput| p.code = "MUT 1".into()),
        ("name", &|p: &mut PayerInput| p.name = "  ".into()),
    ] {
        let mut p = good.clone();
        f(&mut p);
        let errs = invalid(payers::create(db, &op(), e.id, &p).await);
        assert_eq!(fields(&errs), set(&[field]), "only {field}: {errs:?}");
    }
    assert_eq!(count(db, "SELECT COUNT(*) FROM payers").await, 0, "no payer written");
    assert_eq!(audit_head(db).await, head, "the audit chain did not move");

    // The valid input is accepted, with the documented defaults.
    let p = payers::create(db, &op(), e.id, &good).await.unwrap();
    assert_eq!((p.code.as_str(), p.kind.code()), ("MUT-1", "complementaire"), "code upper-cased");
    assert_eq!((p.payment_terms_days, p.statement_period.code(), p.statement_deadline_days, p.channel.code()), (30, "mensuel", 15, "papier"));
    assert!(p.active);
    assert_eq!(p.email, None);
    // Bounds are inclusive.
    let mut edge = good.clone();
    edge.code = "EDGE".into();
    edge.payment_terms_days = "365".into();
    edge.statement_deadline_days = "0".into();
    edge.accounting_account = "4112".into();
    edge.email = "factures@mutuelle.fr".into();
    let p = payers::create(db, &op(), e.id, &edge).await.unwrap();
    assert_eq!((p.payment_terms_days, p.statement_deadline_days), (365, 0));
    assert_eq!(count(db, "SELECT COUNT(*) FROM payers").await, 2);
    assert_eq!(audit_rows(db, rows_of("payer", p.id, "create")).await.len(), 1, "the creation is audited");
}

async fn payer_code_is_unique_per_establishment(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSA").await;
    let b = place(db, "HSB").await;
    let n = count(db, "SELECT COUNT(*) FROM payers").await;
    let head = audit_head(db).await;
    // Same code in another case: refused on the code.
    let errs = invalid(payers::create(db, &op(), a.est, &payer_input("cpam", "obligatoire", "Autre CPAM")).await);
    assert_eq!(fields(&errs), set(&["code"]));
    assert_eq!(errs.get("code"), Some("Ce code d'organisme existe déjà."));
    assert_eq!(count(db, "SELECT COUNT(*) FROM payers").await, n);
    assert_eq!(audit_head(db).await, head);
    // Another establishment may use it.
    let other = payers::create(db, &op(), b.est, &payer_input("MSA", "obligatoire", "MSA")).await.unwrap();
    assert_eq!(other.establishment_id, b.est);
    // Renaming a payer to the code of another one of the same establishment: refused.
    let mgen = payers::get(db, &op(), a.mgen).await.unwrap();
    let mut i = payers::as_input(&mgen);
    i.code = "CPAM".into();
    assert_eq!(fields(&invalid(payers::update(db, &op(), a.mgen, pv(db, a.mgen).await, &i).await)), set(&["code"]));
    assert_eq!(payers::get(db, &op(), a.mgen).await.unwrap().code, "MGEN", "unchanged");
    // Keeping its own code is fine.
    i.code = "MGEN".into();
    i.name = "MGEN Rhône".into();
    assert_eq!(payers::update(db, &op(), a.mgen, pv(db, a.mgen).await, &i).await.unwrap().name, "MGEN Rhône");
}

async fn payer_update_is_audited(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSM").await;
    let before = payers::get(db, &op(), a.mgen).await.unwrap();
    let mut i = payers::as_input(&before);
    i.name = "MGEN Lyon".into();
    i.payment_terms_days = "45".into();
    i.channel = "courriel".into();
    i.email = "tiers-payant@mgen.fr".into();
    i.active = "false".into();
    let u = payers::update(db, &op(), a.mgen, pv(db, a.mgen).await, &i).await.unwrap();
    let got = payers::get(db, &op(), a.mgen).await.unwrap();
    assert_eq!((got.name.as_str(), got.payment_terms_days, got.channel.code()), ("MGEN Lyon", 45, "courriel"));
    assert_eq!(got.email.as_deref(), Some("tiers-payant@mgen.fr"));
    assert!(!got.active);
    assert_eq!((u.id, u.establishment_id), (a.mgen, a.est));
    let rows = audit_rows(db, rows_of("payer", a.mgen, "update")).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let ch = changes(&rows[0]);
    assert_eq!(ch["name"], serde_json::json!(["MGEN", "MGEN Lyon"]), "{ch}");
    assert_eq!(ch["payment_terms_days"], serde_json::json!([30, 45]), "{ch}");
    assert_eq!(ch["active"], serde_json::json!([true, false]), "{ch}");
    assert!(ch.get("code").is_none() && ch.get("kind").is_none(), "only what changed: {ch}");
    // An invalid update changes nothing.
    i.kind = "inconnu".into();
    assert_eq!(fields(&invalid(payers::update(db, &op(), a.mgen, pv(db, a.mgen).await, &i).await)), set(&["kind"]));
    assert_eq!(payers::get(db, &op(), a.mgen).await.unwrap().kind.code(), "complementaire");
    // An unknown payer (the input is parsed first: a valid one).
    i.kind = "complementaire".into();
    assert!(matches!(payers::update(db, &op(), 999_999, 1, &i).await, Err(Error::NotFound(_))));
}

async fn dated_rates_close_the_previous_one_and_refuse_earlier_starts(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    let p = payers::create(db, &op(), e.id, &payer_input("CPAM", "obligatoire", "CPAM")).await.unwrap();
    let r1 = payers::add_rate(db, &op(), p.id, pv(db, p.id).await, "sejour", "80 %", "01/01/2024").await.unwrap();
    assert_eq!((r1.rate_bp.0, r1.valid_from.as_str(), r1.valid_to.as_deref()), (8000, "2024-01-01", None));
    payers::add_rate(db, &op(), p.id, pv(db, p.id).await, "actes", "70", "01/01/2024").await.unwrap();
    let r2 = payers::add_rate(db, &op(), p.id, pv(db, p.id).await, "sejour", "85,5 %", "01/07/2025").await.unwrap();
    assert_eq!(r2.rate_bp.0, 8550);

    let list = payers::rates(db, &op(), p.id).await.unwrap();
    let view: Vec<(&str, i64, &str, Option<&str>)> =
        list.iter().map(|r| (r.category.code(), i64::from(r.rate_bp.0), r.valid_from.as_str(), r.valid_to.as_deref())).collect();
    assert_eq!(
        view,
        [("actes", 7000, "2024-01-01", None), ("sejour", 8000, "2024-01-01", Some("2025-06-30")), ("sejour", 8550, "2025-07-01", None)],
        "the previous séjour rate closes the day before; the actes rate is untouched"
    );

    // A start at or before an existing start of the category is refused, writing nothing.
    let head = audit_head(db).await;
    for day in ["01/07/2025", "30/06/2025", "01/01/2024", "31/12/2019"] {
        let errs = invalid(payers::add_rate(db, &op(), p.id, pv(db, p.id).await, "sejour", "90", day).await);
        assert_eq!(fields(&errs), set(&["valid_from"]), "{day}: {errs:?}");
    }
    // Bad category, rate or date are refused on their fields.
    let errs = invalid(payers::add_rate(db, &op(), p.id, pv(db, p.id).await, "pharmacie", "120 %", "31/02/2026").await);
    assert_eq!(fields(&errs), set(&["category", "rate", "valid_from"]), "{errs:?}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM payer_rates").await, 3);
    assert_eq!(payers::rates(db, &op(), p.id).await.unwrap().iter().filter(|r| r.valid_to.is_none()).count(), 2);
    assert_eq!(audit_head(db).await, head);

    // The rate valid on a day.
    let on = |d: Date| {
        let db = db.clone();
        async move {
            let mut tx = db.read().await.unwrap();
            let mut v: Vec<(String, i64)> =
                payers::rates_on(&mut tx, p.id, d).await.unwrap().into_iter().map(|(c, r)| (c.code().to_string(), i64::from(r.0))).collect();
            tx.rollback().await.unwrap();
            v.sort();
            v
        }
    };
    let s = |c: &str, r: i64| (c.to_string(), r);
    assert_eq!(on(date(2023, 12, 31)).await, vec![], "nothing before the first rate");
    assert_eq!(on(date(2024, 1, 1)).await, vec![s("actes", 7000), s("sejour", 8000)]);
    assert_eq!(on(date(2025, 6, 30)).await, vec![s("actes", 7000), s("sejour", 8000)], "the closing day still has the old rate");
    assert_eq!(on(date(2025, 7, 1)).await, vec![s("actes", 7000), s("sejour", 8550)]);
    assert_eq!(on(date(2030, 1, 1)).await, vec![s("actes", 7000), s("sejour", 8550)]);

    // A later start is accepted and closes the open rate.
    payers::add_rate(db, &op(), p.id, pv(db, p.id).await, "sejour", "90", "01/01/2026").await.unwrap();
    assert_eq!(on(date(2025, 12, 31)).await, vec![s("actes", 7000), s("sejour", 8550)]);
    assert_eq!(on(date(2026, 1, 1)).await, vec![s("actes", 7000), s("sejour", 9000)]);
    let rows = audit_rows(db, rows_of("payer", p.id, "add_rate")).await;
    assert_eq!(rows.len(), 4, "each rate added is audited");
}

async fn payer_import_reports_lines_and_dry_run_writes_nothing(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap();
    let rows = || {
        let mut bad_contact = payer_input("MUTB", "complementaire", "Mutuelle B");
        bad_contact.email = "mutuelle-b".into();
        bad_contact.accounting_account = "41l2".into();
        let mut b = payer_input("MUTA2", "complementaire", "Mutuelle A bis");
        b.payment_terms_days = "45".into();
        vec![
            (2, payer_input("CPAM38", "obligatoire", "CPAM de l'Isère")),
            (3, payer_input("MUTX", "mutuelle", "Mutuelle X")),
            (4, b),
            (5, bad_contact),
            (6, payer_input("cpam38", "obligatoire", "CPAM en double")),
        ]
    };
    let errs = |r: &payers::ImportReport| r.errors.iter().map(|(l, f, _)| (*l, f.clone())).collect::<Vec<_>>();
    let expected = vec![(3, "kind".to_string()), (5, "email".to_string()), (5, "accounting_account".to_string()), (6, "code".to_string())];
    let head = audit_head(db).await;

    let dry = payers::import(db, &op(), e.id, rows(), true).await.unwrap();
    assert_eq!(dry.imported, 2);
    assert_eq!(errs(&dry), expected);
    assert_eq!(dry.errors[0].2, "Type d'organisme inconnu.");
    assert_eq!(dry.errors[3].2, "Ce code d'organisme existe déjà.", "a duplicate within the file is caught");
    assert_eq!(count(db, "SELECT COUNT(*) FROM payers").await, 0, "a dry run writes nothing");
    assert_eq!(audit_head(db).await, head);

    let real = payers::import(db, &op(), e.id, rows(), false).await.unwrap();
    assert_eq!(real.imported, 2);
    assert_eq!(errs(&real), expected);
    let codes: Vec<String> = payers::list(db, &op(), e.id).await.unwrap().into_iter().map(|p| p.code).collect();
    assert_eq!(codes.into_iter().collect::<BTreeSet<_>>(), set(&["CPAM38", "MUTA2"]));
    assert_eq!(audit_head(db).await, head + 2, "two creations audited");
    // Importing again reports every row as already there.
    let again = payers::import(db, &op(), e.id, rows(), false).await.unwrap();
    assert_eq!(again.imported, 0);
    assert!(again.errors.iter().any(|(l, f, _)| *l == 2 && f == "code"), "{:?}", again.errors);
}

async fn payer_permissions_by_role(t: TestDb) {
    let db = &t.db;
    let d = seed_demo(db).await;
    let cpam = payer_id(db, d.hsm, "CPAM69").await;
    let compta = common::login_actor(db, "comptable", DEMO_PASSWORD).await;
    let tech = common::login_actor(db, "technicien", DEMO_PASSWORD).await;
    let sec = common::login_actor(db, "secretaire", DEMO_PASSWORD).await;
    let aud = common::login_actor(db, "auditeur", DEMO_PASSWORD).await;
    let admin = common::login_actor(db, "admin", DEMO_PASSWORD).await;
    let n = count(db, "SELECT COUNT(*) FROM payers").await;
    let rates = count(db, "SELECT COUNT(*) FROM payer_rates").await;

    // Every role reads the list; the comptable writes nothing.
    assert!(payers::list(db, &compta, d.hsm).await.unwrap().iter().any(|p| p.code == "CPAM69"));
    forbidden(payers::create(db, &compta, d.hsm, &payer_input("CPTA", "autre", "Employeur")).await);
    let mut i = payers::as_input(&payers::get(db, &compta, cpam).await.unwrap());
    i.name = "Changé par le comptable".into();
    forbidden(payers::update(db, &compta, cpam, pv(db, cpam).await, &i).await);
    forbidden(payers::add_rate(db, &compta, cpam, pv(db, cpam).await, "sejour", "50", "01/01/2030").await);
    forbidden(payers::import(db, &compta, d.hsm, vec![(2, payer_input("IMP", "autre", "Importé"))], false).await);
    let refused = audit_rows(db, AuditFilter { actor: Some("comptable".into()), entity: Some("payer".into()), outcome: Some("refused".into()), ..Default::default() }).await;
    let actions: BTreeSet<String> = refused.iter().map(|r| r.action.clone()).collect();
    assert_eq!(actions, set(&["create", "update", "add_rate", "import"]), "every refusal is audited: {refused:?}");
    assert!(refused.iter().all(|r| r.establishment_id == Some(d.hsm)), "{refused:?}");
    // Auditor and secretary neither; the secretary has no grant at the HSM at all.
    forbidden(payers::update(db, &aud, cpam, pv(db, cpam).await, &i).await);
    forbidden(payers::create(db, &sec, d.dpass, &payer_input("SEC", "autre", "Employeur")).await);
    forbidden(payers::list(db, &sec, d.hsm).await);
    assert_eq!(count(db, "SELECT COUNT(*) FROM payers").await, n);
    assert_eq!(count(db, "SELECT COUNT(*) FROM payer_rates").await, rates);
    assert_eq!(payers::get(db, &op(), cpam).await.unwrap().name, "CPAM du Rhône");

    // The technicien manages the HSM payers, not those of the DPASS.
    let p = payers::create(db, &tech, d.hsm, &payer_input("EMPL", "autre", "Employeur")).await.unwrap();
    payers::add_rate(db, &tech, p.id, pv(db, p.id).await, "sejour", "100", "01/01/2026").await.unwrap();
    i.name = "CPAM du Rhône (Lyon)".into();
    assert_eq!(payers::update(db, &tech, cpam, pv(db, cpam).await, &i).await.unwrap().name, "CPAM du Rhône (Lyon)");
    forbidden(payers::create(db, &tech, d.dpass, &payer_input("EMPL", "autre", "Employeur")).await);
    // The administrator too.
    payers::create(db, &admin, d.dpass, &payer_input("AMB", "autre", "Ambassade")).await.unwrap();
    let created = audit_rows(db, AuditFilter { actor: Some("technicien".into()), entity: Some("payer".into()), outcome: Some("ok".into()), ..Default::default() }).await;
    assert_eq!(created.iter().map(|r| r.action.as_str()).collect::<BTreeSet<_>>(), ["add_rate", "create", "update"].into_iter().collect());
}

// ---------------------------------------------------------------- coverages

async fn coverage_blank_rates_take_the_default_valid_at_the_start(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSM").await;
    // The CPAM's séjour rate becomes 90 % on 01/01/2026.
    payers::add_rate(db, &op(), a.cpam, pv(db, a.cpam).await, "sejour", "90", "01/01/2026").await.unwrap();
    let p = create(db, a.est, person("Durand", "Paul", "01/02/1960", "M")).await;

    let old = coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "obligatoire", "15/06/2025", "31/12/2025")).await.unwrap();
    assert_eq!(
        [old.rate_sejour_bp.0, old.rate_actes_bp.0, old.rate_fj_bp.0, old.rate_cp_bp.0, old.rate_annexes_bp.0],
        [8000, 7000, 0, 0, 0],
        "rates valid on 15/06/2025; categories without a default are 0"
    );
    let new = coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "obligatoire", "01/01/2026", "")).await.unwrap();
    assert_eq!([new.rate_sejour_bp.0, new.rate_actes_bp.0], [9000, 7000], "rates valid on 01/01/2026");
    assert_eq!((new.valid_from.as_str(), new.valid_to.as_deref()), ("2026-01-01", None));

    // Explicit rates, as typed in French, win over the defaults.
    let mut c = coverage_input(a.mgen, "complementaire", "01/01/2026", "31/12/2026");
    c.rate_sejour = "12,5 %".into();
    c.rate_actes = "12.34%".into();
    c.rate_cp = "100".into();
    c.exemptions = "maternite, ald,ald".into();
    let m = coverages::save(db, &op(), p.id, None, 0, &c).await.unwrap();
    assert_eq!([m.rate_sejour_bp.0, m.rate_actes_bp.0, m.rate_fj_bp.0, m.rate_cp_bp.0, m.rate_annexes_bp.0], [1250, 1234, 10000, 10000, 0]);
    assert_eq!(coverages::as_input(&m).exemptions, "ald,maternite", "sorted, deduplicated");
    // Priorities follow in order when left blank.
    assert_eq!([old.priority, new.priority, m.priority], [1, 2, 3]);
    // Stored as returned.
    let summary = coverages::list(db, &op(), p.id, TODAY).await.unwrap();
    let stored = summary.lines.iter().find(|l| l.coverage.id == m.id).unwrap();
    assert_eq!((stored.coverage.rate_sejour_bp.0, stored.payer_name.as_str(), stored.payer_kind.code()), (1250, "MGEN", "complementaire"));
    // The edit form shows them back and they round-trip.
    let back = coverages::as_input(&stored.coverage);
    assert_eq!(back.rate_sejour, "12,5 %");
    assert_eq!(back.valid_from, "01/01/2026");
    let again = coverages::save(db, &op(), p.id, Some(m.id), m.version, &back).await.unwrap();
    assert_eq!([again.rate_sejour_bp.0, again.rate_actes_bp.0, again.rate_cp_bp.0], [1250, 1234, 10000]);
    // Bad rates are refused on their field.
    let mut bad = coverage_input(a.mgen, "complementaire", "01/01/2026", "");
    bad.rate_actes = "cent".into();
    bad.rate_fj = "101 %".into();
    assert_eq!(fields(&invalid(coverages::save(db, &op(), p.id, None, 0, &bad).await)), set(&["rate_actes", "rate_fj"]));
}

async fn coverage_refusals_write_nothing(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSA").await;
    let b = place(db, "HSB").await;
    let p = create(db, a.est, person("Martin", "Julie", "03/03/1983", "F")).await;
    let elsewhere = create(db, b.est, person("Martin", "Jean", "04/04/1980", "M")).await;
    let n = count(db, "SELECT COUNT(*) FROM coverages").await;
    let head = audit_head(db).await;

    // A complementary role on a compulsory payer, and the reverse.
    let errs = invalid(coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "complementaire", "01/01/2026", "")).await);
    assert_eq!(fields(&errs), set(&["role"]));
    assert!(errs.get("role").unwrap().contains("Assurance obligatoire"), "{errs:?}");
    assert_eq!(fields(&invalid(coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.mgen, "obligatoire", "01/01/2026", "")).await)), set(&["role"]));
    assert_eq!(fields(&invalid(coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "aide", "01/01/2026", "")).await)), set(&["role"]));
    // A payer of another establishment, or none.
    let errs = invalid(coverages::save(db, &op(), p.id, None, 0, &coverage_input(b.cpam, "obligatoire", "01/01/2026", "")).await);
    assert_eq!(fields(&errs), set(&["payer_id"]));
    assert_eq!(errs.get("payer_id"), Some("Organisme inconnu dans cet établissement."));
    let mut none = coverage_input(a.cpam, "obligatoire", "01/01/2026", "");
    none.payer_id.clear();
    assert_eq!(fields(&invalid(coverages::save(db, &op(), p.id, None, 0, &none).await)), set(&["payer_id"]));
    // Dates.
    let errs = invalid(coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "obligatoire", "01/06/2026", "31/05/2026")).await);
    assert_eq!(fields(&errs), set(&["valid_to"]));
    assert_eq!(errs.get("valid_to"), Some("La fin des droits précède leur début."));
    assert_eq!(fields(&invalid(coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "obligatoire", "", "")).await)), set(&["valid_from"]));
    // A dependant needs the insured member (name or file of this establishment).
    let mut dep = coverage_input(a.cpam, "obligatoire", "01/01/2026", "");
    dep.beneficiary = "ayant_droit".into();
    let errs = invalid(coverages::save(db, &op(), p.id, None, 0, &dep).await);
    assert_eq!(fields(&errs), set(&["insured_name"]));
    assert_eq!(errs.get("insured_name"), Some("Indiquez l'assuré ouvrant droit (nom ou dossier)."));
    dep.insured_name = "Martin Jean".into();
    dep.insured_patient_id = p.id.to_string();
    assert_eq!(fields(&invalid(coverages::save(db, &op(), p.id, None, 0, &dep).await)), set(&["insured_patient_id"]), "not her own insured");
    dep.insured_patient_id = elsewhere.id.to_string();
    assert_eq!(fields(&invalid(coverages::save(db, &op(), p.id, None, 0, &dep).await)), set(&["insured_patient_id"]), "file of another establishment");
    // Unknown codes.
    let mut odd = coverage_input(a.cpam, "obligatoire", "01/01/2026", "");
    odd.exemptions = "ald,vip".into();
    odd.priority = "10".into();
    odd.beneficiary = "conjoint".into();
    assert_eq!(fields(&invalid(coverages::save(db, &op(), p.id, None, 0, &odd).await)), set(&["exemptions", "priority", "beneficiary"]));
    assert_eq!(count(db, "SELECT COUNT(*) FROM coverages").await, n, "nothing written");
    assert_eq!(audit_head(db).await, head, "nothing audited");

    // The dependant with the insured member's name is accepted.
    dep.insured_patient_id.clear();
    let c = coverages::save(db, &op(), p.id, None, 0, &dep).await.unwrap();
    assert_eq!((c.beneficiary.code(), c.insured_name.as_deref()), ("ayant_droit", Some("Martin Jean")));
    // Changing a coverage through another patient's file: not found, nothing changed.
    let other = create(db, a.est, person("Martin", "Luc", "05/05/1985", "M")).await;
    let mut moved = dep.clone();
    moved.member_number = "999".into();
    assert!(matches!(coverages::save(db, &op(), other.id, Some(c.id), c.version, &moved).await, Err(Error::NotFound(_))));
    assert_eq!(count(db, "SELECT COUNT(*) FROM coverages WHERE member_number = '999'").await, 0);
}

async fn coverage_flags_overlap_gap_expired_expiring(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSM").await;
    let p = create(db, a.est, person("Bernard", "Anne", "06/06/1966", "F")).await;
    coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "obligatoire", "01/01/2025", "31/03/2026")).await.unwrap();
    coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "obligatoire", "10/04/2026", "")).await.unwrap();
    coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.mgen, "complementaire", "01/01/2026", "10/12/2026")).await.unwrap();
    let flags = |today: Date| {
        let db = db.clone();
        async move { coverages::list(&db, &op(), p.id, today).await.unwrap().flags }
    };
    const GAP: &str = "Aucun droit obligatoire du 01/04/2026 au 09/04/2026.";

    assert_eq!(flags(date(2026, 1, 15)).await, [GAP], "only the gap in January");
    assert_eq!(flags(date(2026, 3, 10)).await, [GAP, "Droit expirant le 31/03/2026."], "within 30 days of its end");
    assert_eq!(flags(date(2026, 4, 1)).await, [GAP, "Droit expiré le 31/03/2026."], "the day after its end");
    assert_eq!(flags(date(2026, 11, 9)).await, [GAP, "Droit expiré le 31/03/2026."], "10/12 is 31 days away");
    assert_eq!(flags(date(2026, 11, 10)).await, [GAP, "Droit expiré le 31/03/2026.", "Droit expirant le 10/12/2026."]);

    // An overlapping complementary coverage.
    coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.mgen, "complementaire", "01/12/2026", "")).await.unwrap();
    let f = flags(TODAY).await;
    assert_eq!(
        f,
        ["Deux droits de même rang se chevauchent.", GAP, "Droit expiré le 31/03/2026.", "Droit expirant le 10/12/2026."],
        "{f:?}"
    );

    // A file without coverage, or with one continuous coverage, has no flag.
    let q = create(db, a.est, person("Bernard", "Paul", "07/07/1967", "M")).await;
    assert!(coverages::list(db, &op(), q.id, TODAY).await.unwrap().flags.is_empty());
    coverages::save(db, &op(), q.id, None, 0, &coverage_input(a.cpam, "obligatoire", "01/01/2025", "31/03/2026")).await.unwrap();
    coverages::save(db, &op(), q.id, None, 0, &coverage_input(a.cpam, "obligatoire", "01/04/2026", "")).await.unwrap();
    assert_eq!(coverages::list(db, &op(), q.id, date(2026, 1, 1)).await.unwrap().flags, Vec::<String>::new(), "adjacent periods: no gap");
}

async fn coverage_add_and_update_are_audited_with_before_after(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSM").await;
    let p = create(db, a.est, at_site(person("Petit", "Louis", "08/08/1978", "M"), a.urg)).await;
    let mut c = coverage_input(a.cpam, "obligatoire", "01/01/2026", "");
    c.member_number = "123456789".into();
    let saved = coverages::save(db, &op(), p.id, None, 0, &c).await.unwrap();

    let added = audit_rows(db, rows_of("patient", p.id, "add_coverage")).await;
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!((added[0].establishment_id, added[0].site_id), (Some(a.est), Some(a.urg)));
    let ch = changes(&added[0]);
    assert_eq!(ch["payer_id"], serde_json::json!([null, a.cpam]), "{ch}");
    assert_eq!(ch["role"], serde_json::json!([null, "obligatoire"]), "{ch}");
    assert_eq!(ch["member_number"], serde_json::json!([null, "123456789"]), "{ch}");
    assert_eq!(ch["rate_sejour_bp"], serde_json::json!([null, 8000]), "{ch}");
    assert_eq!(ch["valid_from"], serde_json::json!([null, "2026-01-01"]), "{ch}");

    let mut u = coverages::as_input(&saved);
    u.valid_to = "31/12/2026".into();
    u.member_number = "987654321".into();
    let updated = coverages::save(db, &op(), p.id, Some(saved.id), saved.version, &u).await.unwrap();
    assert_eq!(updated.id, saved.id);
    let rows = audit_rows(db, rows_of("patient", p.id, "update_coverage")).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let ch = changes(&rows[0]);
    let keys: BTreeSet<String> = ch.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, set(&["member_number", "valid_to"]), "only what changed: {ch}");
    assert_eq!(ch["member_number"], serde_json::json!(["123456789", "987654321"]));
    assert_eq!(ch["valid_to"], serde_json::json!([null, "2026-12-31"]));
    // Both are in the file's history.
    let hist: Vec<String> = patients::history(db, &op(), p.id).await.unwrap().into_iter().map(|h| h.action).collect();
    assert_eq!(&hist[..2], ["update_coverage", "add_coverage"], "{hist:?}");
    let summary = coverages::list(db, &op(), p.id, TODAY).await.unwrap();
    assert_eq!(summary.lines.len(), 1, "updated in place");
    assert_eq!(summary.lines[0].coverage.valid_to.as_deref(), Some("2026-12-31"));
}

// ---------------------------------------------------------------- stays

async fn stay_refusals_write_nothing(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSA").await;
    let b = place(db, "HSB").await;
    let p = create(db, a.est, at_site(person("Roux", "Marc", "09/09/1979", "M"), a.urg)).await;
    let head = audit_head(db).await;
    let (pid, cons) = (p.id, a.cons);
    let check = |mutate: &dyn Fn(&mut StayInput), expected: &[&str]| {
        let mut s = stay_input(cons, "10/11/2026");
        mutate(&mut s);
        let db = db.clone();
        let expected = set(expected);
        async move {
            let errs = invalid(stays::save(&db, &op(), pid, None, 0, &s).await);
            assert_eq!(fields(&errs), expected, "{s:?}: {errs:?}");
            errs
        }
    };
    let e = check(
        &|s| {
            s.discharge_date = "09/11/2026".into();
            s.discharge_mode = "domicile".into();
        },
        &["discharge_date"],
    )
    .await;
    assert_eq!(e.get("discharge_date"), Some("La sortie précède l'admission."));
    // Same day, earlier hour.
    check(
        &|s| {
            s.discharge_date = "10/11/2026".into();
            s.discharge_time = "07:00".into();
            s.discharge_mode = "domicile".into();
        },
        &["discharge_date"],
    )
    .await;
    let e = check(&|s| s.discharge_date = "12/11/2026".into(), &["discharge_mode"]).await;
    assert_eq!(e.get("discharge_mode"), Some("Indiquez le mode de sortie."));
    check(&|s| s.discharge_mode = "domicile".into(), &["discharge_date"]).await;
    check(
        &|s| {
            s.discharge_date = "12/11/2026".into();
            s.discharge_mode = "evasion".into();
        },
        &["discharge_mode"],
    )
    .await;
    let e = check(&|s| s.site_id = b.urg.to_string(), &["site_id"]).await;
    assert_eq!(e.get("site_id"), Some("Ce site n'appartient pas à l'établissement."));
    check(&|s| s.site_id = "".into(), &["site_id"]).await;
    // A site of another establishment and a bad input: every error at once (`stays::parse`).
    let e = check(
        &|s| {
            s.site_id = b.urg.to_string();
            s.care_mode = "thalasso".into();
        },
        &["site_id", "care_mode"],
    )
    .await;
    assert_eq!(e.get("site_id"), Some("Ce site n'appartient pas à l'établissement."));
    check(&|s| s.admission_date = "".into(), &["admission_date"]).await;
    check(&|s| s.admission_time = "25:00".into(), &["admission_time"]).await;
    check(&|s| s.care_mode = "thalasso".into(), &["care_mode"]).await;
    check(&|s| s.planned_discharge_date = "01/11/2026".into(), &["planned_discharge_date"]).await;
    assert_eq!(count(db, "SELECT COUNT(*) FROM stays").await, 0, "nothing written");
    assert_eq!(sites_of(db, p.id).await, [a.urg], "the file was not attached to the site");
    assert_eq!(audit_head(db).await, head);

    // The same stay discharged properly is accepted.
    let mut ok = stay_input(a.cons, "10/11/2026");
    ok.discharge_date = "12/11/2026".into();
    ok.discharge_time = "14h15".into();
    ok.discharge_mode = "domicile".into();
    let s = stays::save(db, &op(), p.id, None, 0, &ok).await.unwrap();
    assert_eq!((s.admission_at.as_str(), s.discharge_at.as_deref(), s.version), ("2026-11-10T08:30", Some("2026-11-12T14:15"), 1));
}

async fn stay_version_conflict(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSM").await;
    let p = create(db, a.est, at_site(person("Moreau", "Lucie", "10/10/1990", "F"), a.urg)).await;
    let s1 = stays::save(db, &op(), p.id, None, 0, &stay_input(a.urg, "01/11/2026")).await.unwrap();
    assert_eq!(s1.version, 1);
    let mut edit = stays::as_input(&s1);
    assert_eq!((edit.admission_date.as_str(), edit.admission_time.as_str()), ("01/11/2026", "08:30"), "the form shows the stay");
    edit.planned_discharge_date = "15/11/2026".into();
    let s2 = stays::save(db, &op(), p.id, Some(s1.id), s1.version, &edit).await.unwrap();
    assert_eq!((s2.id, s2.version), (s1.id, 2));
    let head = audit_head(db).await;

    // Someone still holding version 1 saves another change.
    let mut stale = stays::as_input(&s1);
    stale.care_mode = "hospitalisation_jour".into();
    match stays::save(db, &op(), p.id, Some(s1.id), s1.version, &stale).await {
        Err(Error::Conflict(m)) => assert!(m.contains("modifié par quelqu'un d'autre"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(audit_head(db).await, head, "a refused save is not audited");
    let now = stays::get(db, &op(), s1.id).await.unwrap();
    assert_eq!((now.version, now.care_mode.code(), now.planned_discharge_date.as_deref()), (2, "hospitalisation_complete", Some("2026-11-15")));
    // With the current version it goes through.
    let s3 = stays::save(db, &op(), p.id, Some(s1.id), 2, &stale).await.unwrap();
    assert_eq!((s3.version, s3.care_mode.code()), (3, "hospitalisation_jour"));
    let hist: Vec<String> = patients::history(db, &op(), p.id).await.unwrap().into_iter().map(|h| h.action).collect();
    assert_eq!(&hist[..3], ["update_stay", "update_stay", "add_stay"], "{hist:?}");
    // A stay of another patient cannot be changed through this file.
    let q = create(db, a.est, at_site(person("Moreau", "Paul", "11/11/1991", "M"), a.urg)).await;
    assert!(matches!(stays::save(db, &op(), q.id, Some(s1.id), 3, &stale).await, Err(Error::NotFound(_))));
}

async fn opening_a_stay_attaches_the_file_to_the_site(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSM").await;
    let p = create(db, a.est, at_site(person("Fournier", "Léa", "12/12/1992", "F"), a.urg)).await;
    assert_eq!(sites_of(db, p.id).await, [a.urg]);
    let s = stays::save(db, &op(), p.id, None, 0, &stay_input(a.cons, "05/11/2026")).await.unwrap();
    assert_eq!((s.site_id, s.establishment_id), (a.cons, a.est));
    let mut both = vec![a.urg, a.cons];
    both.sort();
    assert_eq!(sites_of(db, p.id).await, both, "attached to the stay's site too");
    stays::save(db, &op(), p.id, None, 0, &stay_input(a.cons, "15/11/2026")).await.unwrap();
    assert_eq!(sites_of(db, p.id).await, both, "attached once");
    // A file without any site gets the stay's site.
    let q = create(db, a.est, person("Fournier", "Noé", "01/01/2001", "M")).await;
    assert!(sites_of(db, q.id).await.is_empty());
    stays::save(db, &op(), q.id, None, 0, &stay_input(a.urg, "05/11/2026")).await.unwrap();
    assert_eq!(sites_of(db, q.id).await, [a.urg]);
    let added = audit_rows(db, rows_of("patient", q.id, "add_stay")).await;
    assert_eq!((added.len(), added[0].site_id), (1, Some(a.urg)));
    // Newest first.
    let list = stays::list(db, &op(), p.id).await.unwrap();
    assert_eq!(list.iter().map(|s| s.admission_at.as_str()).collect::<Vec<_>>(), ["2026-11-15T08:30", "2026-11-05T08:30"]);
}

// ---------------------------------------------------------------- readiness

/// What to leave out of (or get wrong in) an otherwise ready file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Break {
    Nothing,
    Identity,
    BirthPlace,
    Debtor,
    DebtorAddress,
    Compulsory,
    Complementary,
}

struct File {
    patient: i64,
    stay: i64,
    debtor: Option<i64>,
}

/// A file with a current stay (admitted 01/11/2026, full hospitalisation), ready to
/// bill on 22/11/2026 except for `b`.
async fn file(db: &Db, a: &Place, site: i64, first: &str, b: Break) -> File {
    let mut input = at_site(person("Prete", first, "02/02/1972", "F"), site);
    if b != Break::Identity {
        input = validated(input);
    }
    let p = create(db, a.est, input).await;
    if b == Break::BirthPlace {
        let mut tx = db.begin().await.unwrap();
        tx.exec("UPDATE patients SET birth_place_code = NULL WHERE id = $1", &args![p.id]).await.unwrap();
        tx.commit().await.unwrap();
    }
    let debtor = match b {
        Break::Debtor => None,
        Break::DebtorAddress => {
            let mut d = debtor_input();
            d.postcode.clear();
            Some(common::typed::save_debtor(db, &op(), p.id, None, &d).await.unwrap().id)
        }
        _ => Some(common::typed::save_debtor(db, &op(), p.id, None, &debtor_input()).await.unwrap().id),
    };
    let mut s = stay_input(site, "01/11/2026");
    s.planned_discharge_date = "30/11/2026".into();
    let stay = stays::save(db, &op(), p.id, None, 0, &s).await.unwrap().id;
    let from = if b == Break::Compulsory { "05/11/2026" } else { "01/01/2026" };
    coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.cpam, "obligatoire", from, "")).await.unwrap();
    if b != Break::Complementary {
        coverages::save(db, &op(), p.id, None, 0, &coverage_input(a.mgen, "complementaire", "01/01/2026", "31/12/2026")).await.unwrap();
    }
    File { patient: p.id, stay, debtor }
}

async fn fix(db: &Db, a: &Place, f: &File, b: Break) {
    match b {
        Break::Nothing => {}
        Break::Identity | Break::BirthPlace => {
            let cur = patients::get(db, &op(), f.patient).await.unwrap().patient;
            let mut i = validated(patients::patient_input(&cur));
            i.birth_place_code = "69123".into();
            i.reason = "Carte d'identité présentée à l'accueil".into();
            common::typed::update(db, &op(), f.patient, cur.version, &i).await.unwrap();
        }
        Break::Debtor => {
            common::typed::save_debtor(db, &op(), f.patient, None, &debtor_input()).await.unwrap();
        }
        Break::DebtorAddress => {
            let debtors = patients::get(db, &op(), f.patient).await.unwrap().debtors;
            let edit = f.debtor.and_then(|id| debtors.iter().find(|d| d.id == id)).map(|d| patients::DebtorEdit { id: d.id, version: d.version });
            common::typed::save_debtor(db, &op(), f.patient, edit, &debtor_input()).await.unwrap();
        }
        Break::Compulsory => {
            coverages::save(db, &op(), f.patient, None, 0, &coverage_input(a.cpam, "obligatoire", "01/01/2026", "04/11/2026")).await.unwrap();
        }
        Break::Complementary => {
            coverages::save(db, &op(), f.patient, None, 0, &coverage_input(a.mgen, "complementaire", "01/10/2026", "")).await.unwrap();
        }
    }
}

async fn each_readiness_control_fails_alone_and_is_fixed(t: TestDb) {
    let db = &t.db;
    let a = place(db, "HSM").await;
    let ready = file(db, &a, a.urg, "Zero", Break::Nothing).await;
    assert_eq!(failing(db, ready.patient, Some(ready.stay), TODAY).await, Vec::<String>::new());
    assert_eq!(queued(db, &op(), a.est, ready.stay).await, None, "a ready stay is not in the queue");

    let cases = [
        ("identite", Break::Identity),
        ("lieu_naissance", Break::BirthPlace),
        ("debiteur", Break::Debtor),
        ("adresse_debiteur", Break::DebtorAddress),
        ("droits_obligatoires", Break::Compulsory),
        ("droits_complementaires", Break::Complementary),
    ];
    let codes: BTreeSet<&str> = CONTROLS.iter().map(|(c, _)| *c).collect();
    for (c, _) in &cases {
        assert!(codes.contains(c), "{c} is a control: {codes:?}");
    }

    let firsts = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"];
    for ((code, b), first) in cases.into_iter().zip(firsts) {
        let f = file(db, &a, a.urg, first, b).await;
        assert_eq!(failing(db, f.patient, Some(f.stay), TODAY).await, [code], "{b:?} fails alone");
        let list = readiness::checklist(db, &op(), f.patient, TODAY).await.unwrap();
        let where_ = &list[0].failures[0].2;
        let expected_fix = match b {
            Break::Identity | Break::BirthPlace => "identity",
            Break::Debtor | Break::DebtorAddress => "debtors",
            _ => "coverage",
        };
        assert_eq!(where_, expected_fix, "{b:?}");
        assert_eq!(queued(db, &op(), a.est, f.stay).await, Some(vec![code.to_string()]), "{b:?} in the queue with its reason");
        fix(db, &a, &f, b).await;
        assert_eq!(failing(db, f.patient, Some(f.stay), TODAY).await, Vec::<String>::new(), "{b:?} fixed");
        assert_eq!(queued(db, &op(), a.est, f.stay).await, None, "{b:?} left the queue");
    }

    // A message names the dates for the compulsory coverage.
    let f = file(db, &a, a.urg, "Golf", Break::Compulsory).await;
    let list = readiness::checklist(db, &op(), f.patient, TODAY).await.unwrap();
    assert_eq!(list[0].failures[0].1, "Pas de droit obligatoire valide sur chaque jour du 01/11/2026 au 22/11/2026.");
    // Outpatient care needs no complementary coverage.
    let f = file(db, &a, a.urg, "Hotel", Break::Complementary).await;
    let mut s = stays::as_input(&stays::get(db, &op(), f.stay).await.unwrap());
    s.care_mode = "consultation".into();
    stays::save(db, &op(), f.patient, Some(f.stay), 1, &s).await.unwrap();
    assert_eq!(failing(db, f.patient, Some(f.stay), TODAY).await, Vec::<String>::new());

    // A file without a stay is only checked on identity and debtor.
    let p = create(db, a.est, validated(person("Sansjour", "Ines", "03/03/1973", "F"))).await;
    assert_eq!(failing(db, p.id, None, TODAY).await, ["debiteur"]);
    common::typed::save_debtor(db, &op(), p.id, None, &debtor_input()).await.unwrap();
    let list = readiness::checklist(db, &op(), p.id, TODAY).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].ready && list[0].stay_id.is_none(), "{list:?}");
}

async fn queue_lists_not_ready_open_stays_of_the_actors_sites(t: TestDb) {
    let db = &t.db;
    let d = seed_demo(db).await;
    let sec = common::login_actor(db, "secretaire", DEMO_PASSWORD).await;
    let tech = common::login_actor(db, "technicien", DEMO_PASSWORD).await;
    let compta = common::login_actor(db, "comptable", DEMO_PASSWORD).await;
    let cafat = payer_id(db, d.dpass, "CAFAT").await;
    let mdf = payer_id(db, d.dpass, "MDF").await;
    let nc = Place { est: d.dpass, urg: d.rs, cons: d.md, cpam: cafat, mgen: mdf };
    without_pec(db, d.dpass).await;

    // Not ready (no complementary) at Rivière-Salée, at Mont-Dore, and a stay at
    // Mont-Dore of a file attached to Rivière-Salée too.
    let here = file(db, &nc, d.rs, "Riviere", Break::Complementary).await;
    let there = file(db, &nc, d.md, "Montdore", Break::Complementary).await;
    let both = file(db, &nc, d.rs, "Lesdeux", Break::Complementary).await;
    let mut s = stay_input(d.md, "02/11/2026");
    s.planned_discharge_date = "30/11/2026".into();
    let both_md = stays::save(db, &op(), both.patient, None, 0, &s).await.unwrap().id;
    assert!(sites_of(db, both.patient).await.contains(&d.rs));
    // Ready at Rivière-Salée; not ready but discharged long ago; not ready, discharged recently.
    let ready = file(db, &nc, d.rs, "Prete", Break::Nothing).await;
    let old = create(db, d.dpass, at_site(person("Ancien", "Paul", "01/01/1950", "M"), d.rs)).await;
    let mut s = stay_input(d.rs, "01/06/2026");
    s.discharge_date = "10/06/2026".into();
    s.discharge_mode = "domicile".into();
    let old_stay = stays::save(db, &op(), old.id, None, 0, &s).await.unwrap().id;
    s.admission_date = "01/10/2026".into();
    s.discharge_date = "10/10/2026".into();
    let recent_stay = stays::save(db, &op(), old.id, None, 0, &s).await.unwrap().id;

    let all = readiness::queue(db, &op(), d.dpass, TODAY).await.unwrap();
    let stay_ids: BTreeSet<i64> = all.iter().filter_map(|p| p.stay_id).collect();
    for (what, id) in [("here", here.stay), ("there", there.stay), ("both at RS", both.stay), ("both at MD", both_md), ("recent", recent_stay)] {
        assert!(stay_ids.contains(&id), "{what} is listed: {all:?}");
    }
    assert!(!stay_ids.contains(&ready.stay), "the ready stay is not listed");
    assert!(!stay_ids.contains(&old_stay), "a stay discharged more than 60 days ago is not listed");
    let recent = all.iter().find(|p| p.stay_id == Some(recent_stay)).unwrap();
    assert_eq!(recent.reasons, ["identite", "debiteur", "droits_obligatoires", "droits_complementaires"]);
    assert_eq!(recent.messages.len(), 4);
    assert!(all.iter().all(|p| !p.reasons.is_empty() && p.reasons.len() == p.messages.len()));

    // The secretary sees only the stays at her site.
    let mine = readiness::queue(db, &sec, d.dpass, TODAY).await.unwrap();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|p| p.site_id == Some(d.rs)), "only Rivière-Salée: {mine:?}");
    let mine_ids: BTreeSet<i64> = mine.iter().filter_map(|p| p.stay_id).collect();
    assert!(mine_ids.contains(&here.stay) && mine_ids.contains(&both.stay) && mine_ids.contains(&recent_stay), "{mine:?}");
    assert!(!mine_ids.contains(&there.stay), "a stay of another site");
    assert!(!mine_ids.contains(&both_md), "a stay at another site of a file she can open");
    let expected: BTreeSet<i64> = all.iter().filter(|p| p.site_id == Some(d.rs)).filter_map(|p| p.stay_id).collect();
    assert_eq!(mine_ids, expected, "exactly the Rivière-Salée part of the whole queue");

    // Other establishments and roles without patient access are refused (and audited).
    forbidden(readiness::queue(db, &sec, d.hsm, TODAY).await);
    forbidden(readiness::queue(db, &tech, d.dpass, TODAY).await);
    forbidden(readiness::queue(db, &compta, d.hsm, TODAY).await);
    let refused = audit_rows(db, AuditFilter { actor: Some("comptable".into()), entity: Some("readiness".into()), outcome: Some("refused".into()), ..Default::default() }).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    // The technicien's HSM queue holds only HSM stays; and the queue is audited.
    let hsm = readiness::queue(db, &tech, d.hsm, TODAY).await.unwrap();
    assert!(!hsm.is_empty(), "the demo has incomplete HSM stays");
    let hsm_sites: BTreeSet<i64> = est::list_sites(db, &op(), d.hsm).await.unwrap().into_iter().map(|s| s.id).collect();
    assert!(hsm.iter().all(|p| p.site_id.is_some_and(|s| hsm_sites.contains(&s))));
    assert!(hsm.iter().any(|p| p.site_id == Some(d.med)));
    let viewed = audit_rows(db, AuditFilter { actor: Some("secretaire".into()), entity: Some("readiness".into()), action: Some("queue".into()), outcome: Some("ok".into()), ..Default::default() }).await;
    assert_eq!(viewed.len(), 1);
    assert_eq!(changes(&viewed[0])["dossiers"], serde_json::json!(mine.len()));

    // She may open a stay for a file of her site, only at her site.
    let n = count(db, "SELECT COUNT(*) FROM stays").await;
    let errs = invalid(stays::save(db, &sec, here.patient, None, 0, &stay_input(d.md, "20/11/2026")).await);
    assert_eq!(fields(&errs), set(&["site_id"]));
    assert_eq!(errs.get("site_id"), Some("Vous ne pouvez pas ouvrir de séjour sur ce site."));
    assert_eq!(count(db, "SELECT COUNT(*) FROM stays").await, n);
    forbidden(stays::save(db, &sec, there.patient, None, 0, &stay_input(d.md, "20/11/2026")).await);
    let own = stays::save(db, &sec, here.patient, None, 0, &stay_input(d.rs, "20/11/2026")).await.unwrap();
    assert_eq!(own.site_id, d.rs);
}

async fn queue_hides_non_disclosure_files_from_the_secretary(t: TestDb) {
    let db = &t.db;
    let d = seed_demo(db).await;
    let sec = common::login_actor(db, "secretaire", DEMO_PASSWORD).await;
    let mut p = at_site(person("Discret", "Anne", "03/03/1983", "F"), d.rs);
    p.non_disclosure = true;
    let hidden = create(db, d.dpass, p).await;
    let stay = stays::save(db, &op(), hidden.id, None, 0, &stay_input(d.rs, "10/11/2026")).await.unwrap().id;
    // The file does not exist for her…
    assert!(matches!(patients::get(db, &sec, hidden.id).await, Err(Error::NotFound(_))));
    // …so the queue must not name it either (the operator sees it).
    assert!(queued(db, &op(), d.dpass, stay).await.is_some());
    let mine = readiness::queue(db, &sec, d.dpass, TODAY).await.unwrap();
    assert!(
        mine.iter().all(|p| p.patient_id != hidden.id),
        "the non-disclosure file {} ({}) is shown to the secretary in the queue",
        hidden.ipp,
        hidden.birth_name
    );
}

async fn queue_matches_the_checklist_on_the_demo_data(t: TestDb) {
    let db = &t.db;
    let d = seed_demo(db).await;
    let q = readiness::queue(db, &op(), d.hsm, TODAY).await.unwrap();
    let stays_total = count(db, &format!("SELECT COUNT(*) FROM stays WHERE establishment_id = {}", d.hsm)).await;
    assert!(stays_total >= 20 && !q.is_empty() && (q.len() as i64) < stays_total, "{} pending of {stays_total} stays", q.len());
    // Every reason of the queue is the checklist's, for the same stay and day.
    for p in q.iter().take(12) {
        let codes = failing(db, p.patient_id, p.stay_id, TODAY).await;
        assert_eq!(codes, p.reasons, "patient {} stay {:?}", p.ipp, p.stay_id);
    }
    // And the stays the queue leaves out are ready.
    let mut tx = db.read().await.unwrap();
    let open: Vec<(i64, i64)> = tx
        .all("SELECT id, patient_id FROM stays WHERE establishment_id = $1 AND (discharge_at IS NULL OR discharge_at >= $2) ORDER BY id", &args![d.hsm, "2026-09-23"])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let listed: BTreeSet<i64> = q.iter().filter_map(|p| p.stay_id).collect();
    let mut ready = 0;
    for (sid, pid) in open.iter().filter(|(s, _)| !listed.contains(s)) {
        assert!(failing(db, *pid, Some(*sid), TODAY).await.is_empty(), "stay {sid} left out but not ready");
        ready += 1;
    }
    assert!(ready > 0, "the demo has ready stays too");
}

async fn readiness_rules_change_the_outcome_and_are_admin_only(t: TestDb) {
    let db = &t.db;
    let d = seed_demo(db).await;
    let admin = common::login_actor(db, "admin", DEMO_PASSWORD).await;
    let tech = common::login_actor(db, "technicien", DEMO_PASSWORD).await;
    let cpam = payer_id(db, d.hsm, "CPAM69").await;
    let mgen = payer_id(db, d.hsm, "MGEN").await;
    let h = Place { est: d.hsm, urg: d.med, cons: d.med, cpam, mgen };
    // An identity « récupérée » (INSi only), no complementary coverage.
    let f = file(db, &h, d.med, "Recup", Break::Complementary).await;
    let cur = patients::get(db, &op(), f.patient).await.unwrap().patient;
    let mut i = patients::patient_input(&cur);
    i.identity_status = "recuperee".into();
    i.doc_type.clear();
    i.doc_number.clear();
    i.insi_checked = true;
    i.reason = "Identité récupérée par le téléservice INSi".into();
    common::typed::update(db, &op(), f.patient, cur.version, &i).await.unwrap();
    assert_eq!(failing(db, f.patient, Some(f.stay), TODAY).await, ["identite", "droits_complementaires"]);
    let msg = readiness::checklist(db, &op(), f.patient, TODAY).await.unwrap()[0].failures[0].1.clone();
    assert_eq!(msg, "Statut d'identité « Identité récupérée » : au moins « Identité validée » est requis.");

    // The technicien may not change the rules (refusal audited); nothing changes.
    let relaxed = Rules { min_identity_status: Some(IdentityStatus::Recuperee), complementary_for_care_modes: vec![], ..base_rules() };
    forbidden(readiness::save_rules(db, &tech, d.hsm, &relaxed).await);
    let refused = audit_rows(db, AuditFilter { actor: Some("technicien".into()), entity: Some("readiness_rules".into()), outcome: Some("refused".into()), ..Default::default() }).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(failing(db, f.patient, Some(f.stay), TODAY).await, ["identite", "droits_complementaires"]);
    // Nor the secretary.
    let sec = common::login_actor(db, "secretaire", DEMO_PASSWORD).await;
    forbidden(readiness::save_rules(db, &sec, d.dpass, &relaxed).await);

    // The administrator relaxes them: the file becomes ready, in the queue too.
    readiness::save_rules(db, &admin, d.hsm, &relaxed).await.unwrap();
    let mut tx = db.read().await.unwrap();
    let stored = readiness::rules(&mut tx, d.hsm).await.unwrap();
    let dpass_rules = readiness::rules(&mut tx, d.dpass).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(stored, relaxed, "the rules round-trip");
    assert_eq!(dpass_rules, Rules::default(), "other establishments keep the defaults");
    assert_eq!(failing(db, f.patient, Some(f.stay), TODAY).await, Vec::<String>::new());
    assert_eq!(queued(db, &tech, d.hsm, f.stay).await, None);
    let saved = audit_rows(db, AuditFilter { actor: Some("admin".into()), entity: Some("readiness_rules".into()), action: Some("save".into()), ..Default::default() }).await;
    assert_eq!((saved.len(), saved[0].outcome.as_str()), (1, "ok"));

    // Stricter: « qualifiée » needed, and the complementary coverage again.
    let strict = Rules { min_identity_status: Some(IdentityStatus::Qualifiee), ..base_rules() };
    readiness::save_rules(db, &admin, d.hsm, &strict).await.unwrap();
    assert_eq!(queued(db, &tech, d.hsm, f.stay).await, Some(vec!["identite".to_string(), "droits_complementaires".to_string()]));
    let g = file(db, &h, d.med, "Valide", Break::Nothing).await;
    assert_eq!(failing(db, g.patient, Some(g.stay), TODAY).await, ["identite"], "« validée » is no longer enough");
    // No identity rule, no debtor rule.
    let none = Rules { min_identity_status: None, debtor_required: false, debtor_address_required: false, ..base_rules() };
    readiness::save_rules(db, &admin, d.hsm, &none).await.unwrap();
    assert_eq!(failing(db, f.patient, Some(f.stay), TODAY).await, ["droits_complementaires"]);
    let mut tx = db.read().await.unwrap();
    assert_eq!(readiness::rules(&mut tx, d.hsm).await.unwrap(), none);
    tx.rollback().await.unwrap();
}
