//! The patient administrative file (store use cases): every test runs on SQLite
//! and, when `QUITTANCE_TEST_POSTGRES_URL` is set, on PostgreSQL.

mod common;

use std::collections::BTreeSet;

use common::TestDb;
use common::check::{count, audit_head, audit_rows, sites_of, invalid, fields, set};
use common::fixtures::{self, at_site, op, person, seed_demo};
use quittance_domain::identity::nir_key;
use quittance_domain::patients::search::{self as patient_search, SearchCriteria};
use quittance_store::audit::AuditFilter;
use quittance_store::patients::{self, DebtorInput, Patient, PatientInput, PatientSummary};
use quittance_store::{Actor, Db, Error, args};

contract!(
    create_requires_the_strict_traits_and_writes_nothing,
    nir_key_is_checked,
    ipp_is_sequential_and_unique_per_establishment,
    incomplete_birth_date_is_accepted_and_flagged,
    same_traits_need_confirmation_and_are_flagged,
    identity_status_needs_its_evidence,
    strict_trait_change_needs_a_reason_and_is_in_the_history,
    stale_version_is_a_conflict,
    every_demo_file_round_trips_unchanged,
    every_view_is_audited,
    search_by_name_ignores_case_accents_hyphens_apostrophes,
    search_by_birth_date_letters_and_numbers,
    search_only_returns_the_actors_sites,
    non_disclosure_files_are_hidden_from_the_secretary,
    search_pages_with_limit_offset_and_more,
    debtors_default_and_relationship,
    import_reports_bad_rows_and_dry_run_writes_nothing,
);

contract!(
    import_reports_a_site_of_another_establishment_on_its_line,
    used_first_name_error_names_the_used_first_name,
    stale_version_is_a_conflict_before_the_reason_check,
);

const DEMO_PASSWORD: &str = "formation-2026";
const STRICT: [&str; 5] = ["birth_name", "birth_first_names", "birth_date", "sex", "birth_place_code"];

/// An establishment with two sites.
struct Place {
    est: i64,
    sites: Vec<i64>,
}

async fn establishment(db: &Db, code: &str) -> Place {
    let (e, sites) = fixtures::hospital_with_two_sites(db, code).await;
    Place { est: e, sites: sites.to_vec() }
}

/// A NIR with its right key.
fn nir(body13: &str) -> String {
    format!("{body13}{:02}", nir_key(body13).expect("13-character body"))
}

/// The same NIR with a wrong key.
fn nir_wrong_key(body13: &str) -> String {
    let k = nir_key(body13).expect("13-character body");
    format!("{body13}{:02}", if k == 97 { 1 } else { k + 1 })
}

async fn patient_count(db: &Db) -> i64 {
    count(db, "SELECT COUNT(*) FROM patients").await
}

fn patient_rows(id: i64, action: &str) -> AuditFilter {
    AuditFilter { entity: Some("patient".into()), entity_id: Some(id.to_string()), action: Some(action.into()), ..Default::default() }
}

async fn create(db: &Db, actor: &Actor, est_id: i64, p: PatientInput) -> Patient {
    let what = format!("{} {}", p.birth_name, p.birth_first_names);
    common::typed::create(db, actor, est_id, &p).await.unwrap_or_else(|e| panic!("create {what}: {e:?}"))
}

/// Searches what the box `q` and the field `naissance` mean, 100 results at most.
async fn find(db: &Db, actor: &Actor, est_id: i64, q: &str, naissance: &str) -> Vec<PatientSummary> {
    let c = patient_search::parse(q, naissance).unwrap_or_else(|m| panic!("parse {q:?} {naissance:?}: {m}"));
    patients::search(db, actor, est_id, &c, 100, 0).await.unwrap_or_else(|e| panic!("search {q:?}: {e:?}")).items
}

fn ids(v: &[PatientSummary]) -> Vec<i64> {
    v.iter().map(|s| s.id).collect()
}

fn id_set(v: &[PatientSummary]) -> BTreeSet<i64> {
    v.iter().map(|s| s.id).collect()
}

// ---------------------------------------------------------------- creation

async fn create_requires_the_strict_traits_and_writes_nothing(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let head = audit_head(db).await;

    // Everything missing (blank counts as missing): one error per strict trait, nothing else.
    let blank = PatientInput { birth_name: "  ".into(), birth_first_names: " ".into(), ..Default::default() };
    let e = invalid(common::typed::create(db, &op(), h.est, &blank).await);
    assert_eq!(fields(&e), set(&STRICT), "{e:?}");
    assert_eq!(e.get("birth_name"), Some("Le nom de naissance est obligatoire."));
    assert_eq!(e.get("birth_first_names"), Some("Au moins un prénom de naissance est obligatoire."));
    assert!(e.get("birth_date").is_some_and(|m| m.contains("obligatoire")), "{e:?}");
    assert!(e.get("sex").is_some_and(|m| m.contains("obligatoire")), "{e:?}");
    assert!(e.get("birth_place_code").is_some_and(|m| m.contains("obligatoire")), "{e:?}");

    // Each trait missing alone is reported alone.
    let valid = person("Kerbrat", "Yann", "14/07/1988", "M");
    for field in STRICT {
        let mut p = valid.clone();
        match field {
            "birth_name" => p.birth_name.clear(),
            "birth_first_names" => p.birth_first_names.clear(),
            "birth_date" => p.birth_date.clear(),
            "sex" => p.sex.clear(),
            _ => p.birth_place_code.clear(),
        }
        let e = invalid(common::typed::create(db, &op(), h.est, &p).await);
        assert_eq!(fields(&e), set(&[field]), "only {field} is missing: {e:?}");
    }
    // Malformed values are refused on their field too.
    let mut p = valid.clone();
    p.sex = "X".into();
    p.birth_place_code = "99100".into();
    p.birth_date = "31/02/1988".into();
    let e = invalid(common::typed::create(db, &op(), h.est, &p).await);
    assert_eq!(fields(&e), set(&["sex", "birth_place_code", "birth_date"]), "{e:?}");

    assert_eq!(patient_count(db).await, 0, "no patient row written");
    assert_eq!(count(db, "SELECT COUNT(*) FROM patient_sites").await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) FROM number_counters WHERE series_code = 'IPP'").await, 0, "no IPP allocated");
    assert_eq!(audit_head(db).await, head, "the audit chain did not move");

    // The valid input is accepted (so the refusals above came from the missing traits).
    let p = create(db, &op(), h.est, valid).await;
    assert_eq!((p.birth_name.as_str(), p.first_name.as_str(), p.sex.code()), ("KERBRAT", "YANN", "M"));
    assert_eq!(p.birth_date, "1988-07-14");
    assert_eq!(p.identity_status.code(), "provisoire", "default status");
    assert_eq!(patient_count(db).await, 1);
    assert_eq!(audit_head(db).await, head + 1, "one create row");
}

async fn nir_key_is_checked(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let head = audit_head(db).await;
    let body = "1880769123045";
    let mut p = person("Kerbrat", "Yann", "14/07/1988", "M");
    p.nir = nir_wrong_key(body);
    let e = invalid(common::typed::create(db, &op(), h.est, &p).await);
    assert_eq!(e.get("nir"), Some("Clé NIR invalide"), "{e:?}");
    assert_eq!(fields(&e), set(&["nir"]));
    assert_eq!(patient_count(db).await, 0);
    assert_eq!(audit_head(db).await, head);

    // A female NIR on a male patient is refused on the NIR.
    p.nir = nir("2880769123045");
    let e = invalid(common::typed::create(db, &op(), h.est, &p).await);
    assert!(e.get("nir").is_some_and(|m| m.contains("sexe")), "{e:?}");

    // The right key, typed in groups, is accepted and stored compact.
    let good = nir(body);
    p.nir = format!("{} {} {} {} {} {} {}", &good[0..1], &good[1..3], &good[3..5], &good[5..7], &good[7..10], &good[10..13], &good[13..]);
    let created = create(db, &op(), h.est, p).await;
    assert_eq!(created.nir.as_deref(), Some(good.as_str()));
}

async fn ipp_is_sequential_and_unique_per_establishment(t: TestDb) {
    let db = &t.db;
    let a = establishment(db, "HSA").await;
    let b = establishment(db, "HSB").await;
    let mut got_a = Vec::new();
    let mut got_b = Vec::new();
    for (i, first) in ["Anne", "Berthe", "Cecile"].into_iter().enumerate() {
        got_a.push(create(db, &op(), a.est, person("Alpha", first, "01/01/1980", "F")).await.ipp);
        if i < 2 {
            got_b.push(create(db, &op(), b.est, person("Beta", first, "01/01/1980", "F")).await.ipp);
        }
    }
    assert_eq!(got_a, ["00000001", "00000002", "00000003"]);
    assert_eq!(got_b, ["00000001", "00000002"], "each establishment has its own sequence");

    // A creation refused after the IPP was drawn (site of another establishment)
    // rolls the number back with the row.
    let wrong = at_site(person("Alpha", "Denise", "01/01/1980", "F"), b.sites[0]);
    let e = invalid(common::typed::create(db, &op(), a.est, &wrong).await);
    assert!(e.get("site_id").is_some(), "{e:?}");
    assert_eq!(count(db, &format!("SELECT COUNT(*) FROM patients WHERE establishment_id = {}", a.est)).await, 3);
    assert_eq!(create(db, &op(), a.est, person("Alpha", "Edith", "01/01/1980", "F")).await.ipp, "00000004");

    // Concurrent creations get distinct, consecutive numbers.
    let mut tasks = Vec::new();
    for first in ["Fanny", "Gisele", "Helene", "Irene", "Julie", "Karine"] {
        let db = db.clone();
        let est_id = a.est;
        tasks.push(tokio::spawn(async move {
            common::typed::create(&db, &op(), est_id, &person("Alpha", first, "01/01/1980", "F")).await.expect("concurrent create").ipp
        }));
    }
    let mut concurrent = BTreeSet::new();
    for t in tasks {
        concurrent.insert(t.await.unwrap());
    }
    let expected: BTreeSet<String> = (5..=10).map(|n| format!("{n:08}")).collect();
    assert_eq!(concurrent, expected);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM (SELECT establishment_id, ipp FROM patients GROUP BY establishment_id, ipp HAVING COUNT(*) > 1) d").await,
        0,
        "no IPP twice in an establishment"
    );
}

async fn incomplete_birth_date_is_accepted_and_flagged(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let year_only = create(db, &op(), h.est, person("Inconnu", "Louis", "00/00/1950", "M")).await;
    assert_eq!(year_only.birth_date, "1950-00-00");
    assert!(year_only.birth_date_incomplete);
    let month = create(db, &op(), h.est, person("Inconnu", "Marc", "00/03/1950", "M")).await;
    assert_eq!(month.birth_date, "1950-03-00");
    assert!(month.birth_date_incomplete);
    let full = create(db, &op(), h.est, person("Inconnu", "Noel", "15/03/1950", "M")).await;
    assert_eq!(full.birth_date, "1950-03-15");
    assert!(!full.birth_date_incomplete);
    // A known day with an unknown month is not a date.
    let e = invalid(common::typed::create(db, &op(), h.est, &person("Inconnu", "Olivier", "15/00/1950", "M")).await);
    assert_eq!(fields(&e), set(&["birth_date"]));
    // Stored flag as read back, and found by the incomplete date.
    assert!(patients::get(db, &op(), year_only.id).await.unwrap().patient.birth_date_incomplete);
    assert_eq!(ids(&find(db, &op(), h.est, "", "00/00/1950").await), [year_only.id]);
}

async fn same_traits_need_confirmation_and_are_flagged(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let first = create(db, &op(), h.est, person("Dupont", "Jean Pierre", "15/03/1950", "M")).await;
    assert!(first.attributes.is_empty());
    let head = audit_head(db).await;

    // Same birth name (other case and accents), same first first name, same date.
    let again = person("DUPONT", "jean", "15/03/1950", "M");
    let e = invalid(common::typed::create(db, &op(), h.est, &again).await);
    assert_eq!(fields(&e), set(&["birth_name"]), "{e:?}");
    assert!(e.get("birth_name").unwrap().contains(&format!("IPP {}", first.ipp)), "{e:?}");
    assert_eq!(patient_count(db).await, 1);
    assert_eq!(audit_head(db).await, head);

    let mut confirmed = again.clone();
    confirmed.confirm_duplicate = true;
    let second = create(db, &op(), h.est, confirmed).await;
    assert_ne!(second.ipp, first.ipp);
    assert!(second.attributes.contains(&quittance_domain::identity::IdentityAttribute::DoublonPotentiel), "{:?}", second.attributes);
    assert!(patients::get(db, &op(), first.id).await.unwrap().patient.attributes.is_empty(), "the first file is unchanged");

    // A third time: both files are named.
    let e = invalid(common::typed::create(db, &op(), h.est, &again).await);
    let m = e.get("birth_name").unwrap();
    assert!(m.contains(&first.ipp) && m.contains(&second.ipp), "{m}");
    // Another birth date is not a duplicate.
    let other = create(db, &op(), h.est, person("Dupont", "Jean", "16/03/1950", "M")).await;
    assert!(other.attributes.is_empty());
}

async fn used_first_name_error_names_the_used_first_name(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let mut p = person("Kerbrat", "Yann", "14/07/1988", "M");
    p.used_first_name = "J3an".into();
    let e = invalid(common::typed::create(db, &op(), h.est, &p).await);
    assert_eq!(fields(&e), set(&["used_first_name"]));
    let m = e.get("used_first_name").unwrap();
    assert!(m.starts_with("Prénom utilisé"), "the message names the used first name: {m}");
}

async fn identity_status_needs_its_evidence(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let mut p = person("Kerbrat", "Yann", "14/07/1988", "M");
    p.identity_status = "qualifiee".into();
    let e = invalid(common::typed::create(db, &op(), h.est, &p).await);
    assert_eq!(fields(&e), set(&["identity_status"]), "{e:?}");
    // A high-trust document alone is not enough for « qualifiée ».
    p.doc_type = "passeport".into();
    p.doc_number = "18AB12345".into();
    assert!(invalid(common::typed::create(db, &op(), h.est, &p).await).get("identity_status").is_some());
    // INSi alone neither.
    let mut q = p.clone();
    q.doc_type.clear();
    q.doc_number.clear();
    q.insi_checked = true;
    assert!(invalid(common::typed::create(db, &op(), h.est, &q).await).get("identity_status").is_some());
    // « validée » with a Carte Vitale (not a high-trust document) is refused.
    let mut v = person("Kerbrat", "Yann", "14/07/1988", "M");
    v.identity_status = "validee".into();
    v.doc_type = "carte_vitale".into();
    v.doc_number = "123".into();
    assert!(invalid(common::typed::create(db, &op(), h.est, &v).await).get("identity_status").is_some());
    assert_eq!(patient_count(db).await, 0);
    // Both pieces of evidence: accepted.
    p.insi_checked = true;
    let ok = create(db, &op(), h.est, p).await;
    assert_eq!(ok.identity_status.code(), "qualifiee");
    assert!(ok.insi_checked);
}

// ---------------------------------------------------------------- update, history, audit

async fn strict_trait_change_needs_a_reason_and_is_in_the_history(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let mut start = person("Martin", "Paul", "01/02/1960", "M");
    start.city = "Lyon".into();
    let p = create(db, &op(), h.est, start).await;

    let mut input = patients::patient_input(&p);
    input.birth_name = "Martins".into();
    let e = invalid(common::typed::update(db, &op(), p.id, p.version, &input).await);
    assert_eq!(fields(&e), set(&["reason"]), "{e:?}");
    let still = patients::get(db, &op(), p.id).await.unwrap().patient;
    assert_eq!((still.birth_name.as_str(), still.version), ("MARTIN", 1), "nothing changed");

    let reason = "Erreur de saisie corrigée sur présentation du passeport";
    input.reason = reason.into();
    let u = common::typed::update(db, &op(), p.id, p.version, &input).await.unwrap();
    assert_eq!(u.birth_name, "MARTINS");
    assert_eq!(u.version, 2);

    // Views are not history; the change and the creation are, newest first.
    patients::get(db, &op(), p.id).await.unwrap();
    let hist = patients::history(db, &op(), p.id).await.unwrap();
    let actions: Vec<&str> = hist.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["identity_change", "create"]);
    let ch: serde_json::Value = serde_json::from_str(&hist[0].changes).unwrap();
    assert_eq!(ch["birth_name"], serde_json::json!(["MARTIN", "MARTINS"]), "{ch}");
    assert_eq!(ch["motif"], serde_json::json!(reason), "{ch}");
    assert!(ch.get("city").is_none(), "only what changed: {ch}");

    // Every other strict trait needs a reason too.
    for field in ["birth_first_names", "birth_date", "sex", "birth_place_code"] {
        let mut i = patients::patient_input(&u);
        match field {
            "birth_first_names" => i.birth_first_names = "Paul Henri".into(),
            "birth_date" => i.birth_date = "02/02/1960".into(),
            "sex" => i.sex = "I".into(),
            _ => i.birth_place_code = "75056".into(),
        }
        let e = invalid(common::typed::update(db, &op(), p.id, u.version, &i).await);
        assert_eq!(fields(&e), set(&["reason"]), "{field}: {e:?}");
    }

    // A non-strict change needs none and is a plain update.
    let mut i = patients::patient_input(&u);
    i.city = "Bron".into();
    let u2 = common::typed::update(db, &op(), p.id, u.version, &i).await.unwrap();
    assert_eq!((u2.city.as_deref(), u2.version), (Some("Bron"), 3));
    let hist = patients::history(db, &op(), p.id).await.unwrap();
    assert_eq!(hist[0].action, "update");
    let ch: serde_json::Value = serde_json::from_str(&hist[0].changes).unwrap();
    assert_eq!(ch["city"], serde_json::json!(["Lyon", "Bron"]));
    assert!(ch.get("motif").is_none(), "{ch}");

    // A status change needs a reason and is recorded as such.
    let mut i = patients::patient_input(&u2);
    i.identity_status = "validee".into();
    i.doc_type = "carte_identite".into();
    i.doc_number = "123456789012".into();
    assert_eq!(fields(&invalid(common::typed::update(db, &op(), p.id, u2.version, &i).await)), set(&["reason"]));
    i.reason = "Carte d'identité présentée à l'accueil".into();
    common::typed::update(db, &op(), p.id, u2.version, &i).await.unwrap();
    let hist = patients::history(db, &op(), p.id).await.unwrap();
    assert_eq!(hist[0].action, "status_change");
    let ch: serde_json::Value = serde_json::from_str(&hist[0].changes).unwrap();
    assert_eq!(ch["identity_status"], serde_json::json!(["provisoire", "validee"]));
    assert_eq!(ch["motif"], serde_json::json!("Carte d'identité présentée à l'accueil"));
}

async fn stale_version_is_a_conflict(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let p = create(db, &op(), h.est, person("Martin", "Paul", "01/02/1960", "M")).await;
    let mut i = patients::patient_input(&p);
    i.city = "Bron".into();
    let u = common::typed::update(db, &op(), p.id, p.version, &i).await.unwrap();
    assert_eq!(u.version, p.version + 1);
    let head = audit_head(db).await;

    // Someone still holding version 1 saves another change.
    i.city = "Vénissieux".into();
    match common::typed::update(db, &op(), p.id, p.version, &i).await {
        Err(Error::Conflict(m)) => assert!(m.contains("modifié"), "{m}"),
        other => panic!("a stale version must be a conflict: {other:?}"),
    }
    let now = patients::get(db, &op(), p.id).await.unwrap().patient;
    assert_eq!((now.city.as_deref(), now.version), (Some("Bron"), 2));
    assert_eq!(audit_head(db).await, head + 1, "only the view above was audited");
    // With the current version it goes through.
    assert_eq!(common::typed::update(db, &op(), p.id, now.version, &i).await.unwrap().city.as_deref(), Some("Vénissieux"));
}

async fn stale_version_is_a_conflict_before_the_reason_check(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let p = create(db, &op(), h.est, person("Martin", "Paul", "01/02/1960", "M")).await;
    let mut i = patients::patient_input(&p);
    i.birth_name = "Martins".into();
    i.reason = "Erreur de saisie".into();
    common::typed::update(db, &op(), p.id, p.version, &i).await.unwrap();
    // A colleague still holding version 1 only changes the city; her form still
    // carries the old birth name, so it is a conflict, not a missing reason.
    let mut stale = patients::patient_input(&p);
    stale.city = "Bron".into();
    match common::typed::update(db, &op(), p.id, p.version, &stale).await {
        Err(Error::Conflict(_)) => {}
        other => panic!("a stale version must be a conflict: {other:?}"),
    }
}

async fn every_demo_file_round_trips_unchanged(t: TestDb) {
    let db = &t.db;
    seed_demo(db).await;
    let mut tx = db.read().await.unwrap();
    let all: Vec<(i64,)> = tx.all("SELECT id FROM patients ORDER BY id", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(all.len() >= 300, "{} demo patients", all.len());
    let head = audit_head(db).await;
    let mut incomplete = 0;
    for (id,) in all {
        let p = patients::get(db, &op(), id).await.unwrap().patient;
        incomplete += usize::from(p.birth_date_incomplete);
        // What the edit form shows, sent back untouched: valid, and no change.
        let back = common::typed::update(db, &op(), id, p.version, &patients::patient_input(&p))
            .await
            .unwrap_or_else(|e| panic!("{} {} ({}) does not round-trip: {e:?}", p.birth_name, p.first_name, p.birth_date));
        assert_eq!(back.version, p.version, "{} {} changed by a round trip", p.birth_name, p.first_name);
    }
    assert!(incomplete > 0, "the demo has incomplete birth dates");
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'patient' AND action IN ('update', 'identity_change', 'status_change')").await,
        0,
        "an unchanged round trip writes no change"
    );
    assert!(audit_head(db).await > head);
}

async fn every_view_is_audited(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let p = create(db, &op(), h.est, at_site(person("Martin", "Paul", "01/02/1960", "M"), h.sites[1])).await;
    assert!(audit_rows(db, patient_rows(p.id, "view")).await.is_empty());
    for n in 1..=3 {
        let f = patients::get(db, &op(), p.id).await.unwrap();
        assert_eq!(f.patient.id, p.id);
        assert_eq!(f.sites, [h.sites[1]]);
        let rows = audit_rows(db, patient_rows(p.id, "view")).await;
        assert_eq!(rows.len(), n, "one view row per read");
        let r = &rows[0];
        assert_eq!((r.actor.as_str(), r.outcome.as_str()), ("cli:test", "ok"));
        assert_eq!(r.establishment_id, Some(h.est));
        assert_eq!(r.site_id, Some(h.sites[1]), "the site of the file");
    }
    // A missing file is not found, and nothing is written.
    let head = audit_head(db).await;
    assert!(matches!(patients::get(db, &op(), p.id + 1000).await, Err(Error::NotFound(_))));
    assert_eq!(audit_head(db).await, head);
}

// ---------------------------------------------------------------- search

async fn search_by_name_ignores_case_accents_hyphens_apostrophes(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let le_gall = create(db, &op(), h.est, person("Le Gall", "Hélène", "02/02/1970", "F")).await;
    let legall = create(db, &op(), h.est, person("Legall", "Yves", "03/03/1971", "M")).await;
    let leroy = create(db, &op(), h.est, person("Leroy", "Gallien", "04/04/1972", "M")).await;
    let ndiaye = create(db, &op(), h.est, person("N'Diaye", "Aïssatou", "05/05/1980", "F")).await;
    let mut married = person("Petit", "Marie", "06/06/1965", "F");
    married.used_name = "Lefort".into();
    let lefort = create(db, &op(), h.est, married).await;
    let both = BTreeSet::from([le_gall.id, legall.id]);

    for q in ["legall", "LEGALL", "LE-GALL", "Le’Gall", "le'gall", "légall", "LÉ-GALL", "leg"] {
        assert_eq!(id_set(&find(db, &op(), h.est, q, "").await), both, "{q:?}");
    }
    // Two words are a name prefix then a first-name prefix.
    let c = patient_search::parse("le gall", "").unwrap();
    assert_eq!((c.name_prefix.as_deref(), c.first_name_prefix.as_deref()), (Some("le"), Some("gall")));
    assert_eq!(ids(&find(db, &op(), h.est, "le gall", "").await), [leroy.id], "LEROY Gallien, not LE GALL Hélène");
    assert_eq!(ids(&find(db, &op(), h.est, "le hel", "").await), [le_gall.id]);
    assert_eq!(ids(&find(db, &op(), h.est, "LE-GALL hélè", "").await), [le_gall.id]);
    assert_eq!(ids(&find(db, &op(), h.est, "legall y", "").await), [legall.id]);
    for q in ["ndiaye", "N'DIAYE", "n’diaye", "Ndiaye aïss", "NDIAYE AISS"] {
        assert_eq!(ids(&find(db, &op(), h.est, q, "").await), [ndiaye.id], "{q:?}");
    }
    // The used name is searched too; results are ordered by the matching name.
    assert_eq!(ids(&find(db, &op(), h.est, "lefort", "").await), [lefort.id]);
    assert_eq!(ids(&find(db, &op(), h.est, "le", "").await), [lefort.id, le_gall.id, legall.id, leroy.id]);
    assert!(find(db, &op(), h.est, "lez", "").await.is_empty());
    let hit = &find(db, &op(), h.est, "n'dia", "").await[0];
    assert_eq!((hit.birth_name.as_str(), hit.first_name.as_str(), hit.ipp.as_str()), ("N'DIAYE", "AISSATOU", ndiaye.ipp.as_str()));
}

async fn search_by_birth_date_letters_and_numbers(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let dupont = create(db, &op(), h.est, person("Dupont", "Jean", "15/03/1950", "M")).await;
    let mut p = person("Dupuis", "Marc", "16/03/1950", "M");
    p.cafat_number = "123456".into();
    let dupuis = create(db, &op(), h.est, p).await;
    let durand_nir = nir("1500369123001");
    let mut p = person("Durand", "Luc", "15/03/1950", "M");
    p.nir = durand_nir.clone();
    let durand = create(db, &op(), h.est, p).await;
    let dupre = create(db, &op(), h.est, person("Dupré", "Anne", "15/03/1950", "F")).await;
    common::typed::add_identifier(db, &op(), dupre.id, "Logiciel du CMS", "4455667788").await.unwrap();
    common::typed::add_identifier(db, &op(), dupont.id, "Dossier papier", "CMS-4521").await.unwrap();

    // RNIV: birth date then three letters, in the box or in the date field.
    let expected = BTreeSet::from([dupont.id, dupre.id]);
    assert_eq!(id_set(&find(db, &op(), h.est, "15/03/1950 dup", "").await), expected);
    assert_eq!(id_set(&find(db, &op(), h.est, "dup", "15/03/1950").await), expected);
    assert_eq!(id_set(&find(db, &op(), h.est, "1950-03-15 DUP", "").await), expected);
    assert_eq!(id_set(&find(db, &op(), h.est, "", "15/03/1950").await), BTreeSet::from([dupont.id, durand.id, dupre.id]));
    assert_eq!(ids(&find(db, &op(), h.est, "dup", "16/03/1950").await), [dupuis.id]);
    assert!(patient_search::parse("dup", "1950").is_err(), "a malformed date field is an error");

    // Numbers: IPP, NIR (typed with spaces), CAFAT number, external identifier.
    assert_eq!(ids(&find(db, &op(), h.est, &dupont.ipp, "").await), [dupont.id]);
    let spaced = format!("{} {} {} {} {} {} {}", &durand_nir[0..1], &durand_nir[1..3], &durand_nir[3..5], &durand_nir[5..7], &durand_nir[7..10], &durand_nir[10..13], &durand_nir[13..]);
    assert_eq!(ids(&find(db, &op(), h.est, &spaced, "").await), [durand.id]);
    assert_eq!(ids(&find(db, &op(), h.est, "123456", "").await), [dupuis.id]);
    assert_eq!(ids(&find(db, &op(), h.est, "4455667788", "").await), [dupre.id]);
    // A non-numeric identifier is found through the criterion itself.
    let c = SearchCriteria { number: Some("CMS-4521".into()), ..Default::default() };
    assert_eq!(ids(&patients::search(db, &op(), h.est, &c, 10, 0).await.unwrap().items), [dupont.id]);
    assert!(find(db, &op(), h.est, "99999999", "").await.is_empty());
    // Criteria add up: the IPP of a file with another birth date finds nothing.
    assert!(find(db, &op(), h.est, &format!("{} 16/03/1950", dupont.ipp), "").await.is_empty());
    // No criterion, no result (and no full listing).
    assert!(patients::search(db, &op(), h.est, &SearchCriteria::default(), 100, 0).await.unwrap().items.is_empty());
    // Searches are audited with their criteria.
    let rows = audit_rows(db, AuditFilter { entity: Some("patient".into()), action: Some("search".into()), ..Default::default() }).await;
    assert!(rows.iter().any(|r| r.changes.contains("1950-03-15") && r.changes.contains("\"dup\"")), "{rows:?}");
}

async fn search_only_returns_the_actors_sites(t: TestDb) {
    let db = &t.db;
    let d = seed_demo(db).await;
    let sec = common::login_actor(db, "secretaire", DEMO_PASSWORD).await;
    let here = create(db, &op(), d.dpass, at_site(person("Qoparandi", "Lea", "01/01/1990", "F"), d.rs)).await;
    let there = create(db, &op(), d.dpass, at_site(person("Qoparandi", "Marc", "02/02/1991", "M"), d.md)).await;
    let nowhere = create(db, &op(), d.dpass, person("Qoparandi", "Zoe", "03/03/1992", "F")).await;
    let hsm = create(db, &op(), d.hsm, at_site(person("Qoparandi", "Paul", "04/04/1993", "M"), d.med)).await;

    assert_eq!(id_set(&find(db, &op(), d.dpass, "qoparandi", "").await), BTreeSet::from([here.id, there.id, nowhere.id]));
    assert_eq!(ids(&find(db, &sec, d.dpass, "qoparandi", "").await), [here.id], "only the file of her site");
    assert!(find(db, &sec, d.dpass, &there.ipp, "").await.is_empty());
    assert!(find(db, &sec, d.dpass, "", "02/02/1991").await.iter().all(|s| s.id != there.id));
    assert!(matches!(
        patients::search(db, &sec, d.hsm, &patient_search::parse("qoparandi", "").unwrap(), 10, 0).await,
        Err(Error::Forbidden)
    ));

    // Broad searches (every initial): every result is attached to her site, and the
    // files of the other sites were left out.
    let (mut mine, mut all) = (Vec::new(), Vec::new());
    for letter in 'a'..='z' {
        let c = patient_search::parse(&letter.to_string(), "").unwrap();
        mine.extend(patients::search(db, &sec, d.dpass, &c, 500, 0).await.unwrap().items);
        all.extend(patients::search(db, &op(), d.dpass, &c, 500, 0).await.unwrap().items);
    }
    assert!(mine.len() >= 20 && mine.len() * 2 < all.len(), "{} of {}", mine.len(), all.len());
    for s in &mine {
        assert!(sites_of(db, s.id).await.contains(&d.rs), "{} is not attached to CMS de Rivière-Salée", s.ipp);
    }

    // Opening a file of another site or establishment is refused, and the refusal audited.
    assert_eq!(patients::get(db, &sec, here.id).await.unwrap().patient.id, here.id);
    for other in [&there, &nowhere, &hsm] {
        assert!(matches!(patients::get(db, &sec, other.id).await, Err(Error::Forbidden)), "{}", other.birth_first_names);
    }
    let refused = audit_rows(
        db,
        AuditFilter { actor: Some("secretaire".into()), entity: Some("patient".into()), outcome: Some("refused".into()), ..Default::default() },
    )
    .await;
    assert!(refused.iter().filter(|r| r.action == "view").count() >= 3, "{refused:?}");
    assert!(refused.iter().any(|r| r.action == "search" && r.establishment_id == Some(d.hsm)), "{refused:?}");

    // Her new files are attached to her site; naming a site she does not hold is refused.
    let own = create(db, &sec, d.dpass, person("Qoparandi", "Noa", "05/05/1994", "F")).await;
    assert_eq!(sites_of(db, own.id).await, [d.rs]);
    let before = count(db, "SELECT COUNT(*) FROM patients").await;
    let e = invalid(common::typed::create(db, &sec, d.dpass, &at_site(person("Qoparandi", "Ulla", "06/06/1995", "F"), d.md)).await);
    assert_eq!(fields(&e), set(&["site_id"]));
    assert_eq!(count(db, "SELECT COUNT(*) FROM patients").await, before, "nothing written");
}

async fn non_disclosure_files_are_hidden_from_the_secretary(t: TestDb) {
    let db = &t.db;
    let d = seed_demo(db).await;
    let sec = common::login_actor(db, "secretaire", DEMO_PASSWORD).await;
    let tech = common::login_actor(db, "technicien", DEMO_PASSWORD).await;
    let aud = common::login_actor(db, "auditeur", DEMO_PASSWORD).await;
    let mut p = at_site(person("Xolotlan", "Anne", "03/03/1983", "F"), d.rs);
    p.non_disclosure = true;
    let hidden = create(db, &op(), d.dpass, p).await;
    let shown = create(db, &op(), d.dpass, at_site(person("Xolotlan", "Marie", "04/04/1984", "F"), d.rs)).await;
    let mut p = at_site(person("Xolotlan", "Paul", "05/05/1985", "M"), d.med);
    p.non_disclosure = true;
    let hsm_hidden = create(db, &op(), d.hsm, p).await;

    // The secretary: same site, but the file does not exist for her.
    assert_eq!(ids(&find(db, &sec, d.dpass, "xolotlan", "").await), [shown.id]);
    assert!(find(db, &sec, d.dpass, "xolotlan anne", "03/03/1983").await.is_empty());
    assert!(find(db, &sec, d.dpass, &hidden.ipp, "").await.is_empty());
    assert!(matches!(patients::get(db, &sec, hidden.id).await, Err(Error::NotFound(_))));
    let refused = audit_rows(
        db,
        AuditFilter { actor: Some("secretaire".into()), entity: Some("patient".into()), outcome: Some("refused".into()), ..Default::default() },
    )
    .await;
    assert!(refused.iter().any(|r| r.changes.contains("read_confidential_patients")), "the refusal is audited: {refused:?}");
    // Neither do the demo's non-disclosure files of her site.
    let mut tx = db.read().await.unwrap();
    let demo_hidden: Vec<(String,)> = tx
        .all(
            "SELECT p.ipp FROM patients p JOIN patient_sites s ON s.patient_id = p.id WHERE p.non_disclosure = $1 AND s.site_id = $2 AND p.id <> $3",
            &args![true, d.rs, hidden.id],
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(!demo_hidden.is_empty(), "the demo has a non-disclosure file at Rivière-Salée");
    for (ipp,) in &demo_hidden {
        assert!(find(db, &op(), d.dpass, ipp, "").await.len() == 1);
        assert!(find(db, &sec, d.dpass, ipp, "").await.is_empty(), "{ipp} shown to the secretary");
    }

    // The technicien (and the auditor) see them.
    let found = find(db, &tech, d.hsm, "xolotlan", "").await;
    assert_eq!(ids(&found), [hsm_hidden.id]);
    assert!(found[0].non_disclosure);
    assert_eq!(patients::get(db, &tech, hsm_hidden.id).await.unwrap().patient.id, hsm_hidden.id);
    assert_eq!(id_set(&find(db, &aud, d.dpass, "xolotlan", "").await), BTreeSet::from([hidden.id, shown.id]));
}

async fn search_pages_with_limit_offset_and_more(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let mut expected = Vec::new();
    // Sorted first by the used name "Paginat" (before "pagination").
    let mut p = person("Zorglub", "Hugo", "10/10/1990", "M");
    p.used_name = "Paginat".into();
    expected.push(create(db, &op(), h.est, p).await.id);
    for first in ["Alice", "Berthe", "Chloe", "Denise", "Edith", "Fanny", "Gisele"] {
        expected.push(create(db, &op(), h.est, person("Pagination", first, "10/10/1990", "F")).await.id);
    }
    // Birth and used names both match: listed once.
    let mut p = person("Pagination", "Ines", "10/10/1990", "F");
    p.used_name = "Paginations".into();
    let twice = create(db, &op(), h.est, p).await.id;
    // Order: "paginat" < "pagination" (alice … ines).
    expected.push(twice);

    for (q, naissance) in [("pagin", ""), ("", "10/10/1990")] {
        let c = patient_search::parse(q, naissance).unwrap();
        let all = patients::search(db, &op(), h.est, &c, 100, 0).await.unwrap();
        assert!(!all.more);
        assert_eq!(all.items.len(), 9, "{q:?} {naissance:?}");
        if !q.is_empty() {
            assert_eq!(ids(&all.items), expected, "name order, used name merged");
        }
        let mut pages = Vec::new();
        for (offset, len, more) in [(0, 4, true), (4, 4, true), (8, 1, false)] {
            let page = patients::search(db, &op(), h.est, &c, 4, offset).await.unwrap();
            assert_eq!((page.items.len(), page.more), (len, more), "{q:?} offset {offset}");
            pages.extend(ids(&page.items));
        }
        assert_eq!(pages, ids(&all.items), "the pages put together are the whole list");
        let exact = patients::search(db, &op(), h.est, &c, 9, 0).await.unwrap();
        assert_eq!((exact.items.len(), exact.more), (9, false), "exactly a page: no more");
        let beyond = patients::search(db, &op(), h.est, &c, 4, 9).await.unwrap();
        assert!(beyond.items.is_empty() && !beyond.more);
    }
}

// ---------------------------------------------------------------- debtors

async fn debtors_default_and_relationship(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let p = create(db, &op(), h.est, person("Dupont", "Jean", "15/03/1950", "M")).await;
    let me = DebtorInput { kind: "patient".into(), guarantees: "sejour,actes".into(), is_default: false, ..Default::default() };
    let first = common::typed::save_debtor(db, &op(), p.id, None, &me).await.unwrap();
    assert!(first.is_default, "the first debtor becomes the default one");
    assert_eq!(first.name, "DUPONT JEAN", "the patient's name when left blank");
    assert_eq!(quittance_store::shared::rows::codes_text(&first.guarantees), "actes,sejour");

    let parent = DebtorInput {
        kind: "assure".into(),
        name: "Marie Dupont".into(),
        relationship: "épouse".into(),
        guarantees: "sejour,forfait_journalier".into(),
        is_default: true,
        ..Default::default()
    };
    let second = common::typed::save_debtor(db, &op(), p.id, None, &parent).await.unwrap();
    assert!(second.is_default);
    let third = common::typed::save_debtor(
        db,
        &op(),
        p.id,
        None,
        &DebtorInput { kind: "employeur".into(), name: "Usine Martin".into(), guarantees: "actes".into(), ..Default::default() },
    )
    .await
    .unwrap();
    assert!(!third.is_default, "a later debtor not marked default stays so");
    let file = patients::get(db, &op(), p.id).await.unwrap();
    let defaults: Vec<i64> = file.debtors.iter().filter(|d| d.is_default).map(|d| d.id).collect();
    assert_eq!(defaults, [second.id], "only one default debtor: {:?}", file.debtors);
    assert_eq!(file.debtors.len(), 3);

    // A relative without relationship, or no guarantee, or an unknown one: refused.
    let n = count(db, "SELECT COUNT(*) FROM debtors").await;
    let e = invalid(
        common::typed::save_debtor(db, &op(), p.id, None, &DebtorInput { kind: "proche".into(), name: "Paul Dupont".into(), guarantees: "sejour".into(), ..Default::default() })
            .await,
    );
    assert_eq!(fields(&e), set(&["relationship"]), "{e:?}");
    let e = invalid(common::typed::save_debtor(db, &op(), p.id, None, &DebtorInput { kind: "patient".into(), ..Default::default() }).await);
    assert_eq!(fields(&e), set(&["guarantees"]));
    let e = invalid(
        common::typed::save_debtor(db, &op(), p.id, None, &DebtorInput { kind: "martien".into(), name: "X".into(), guarantees: "tout".into(), ..Default::default() })
            .await,
    );
    assert_eq!(fields(&e), set(&["kind", "guarantees"]));
    assert_eq!(count(db, "SELECT COUNT(*) FROM debtors").await, n, "nothing written");
    // The changes are in the history.
    let hist = patients::history(db, &op(), p.id).await.unwrap();
    assert_eq!(hist.iter().filter(|r| r.action == "add_debtor").count(), 3);
}

// ---------------------------------------------------------------- import

async fn import_reports_bad_rows_and_dry_run_writes_nothing(t: TestDb) {
    let db = &t.db;
    let h = establishment(db, "HSM").await;
    let rows = || {
        let mut no_date = person("Import", "Bob", "", "M");
        no_date.city = "Lyon".into();
        let mut bad_nir = person("Import", "Dan", "03/03/1983", "M");
        bad_nir.nir = nir_wrong_key("1830369123001");
        vec![
            (2, person("Import", "Alice", "01/01/1980", "F")),
            (3, no_date),
            (4, at_site(person("Import", "Carl", "02/02/1982", "M"), h.sites[0])),
            (5, bad_nir),
        ]
    };
    let errors = |r: &patients::ImportReport| r.errors.iter().map(|e| (e.line, e.field.clone())).collect::<Vec<_>>();
    let head = audit_head(db).await;

    let dry = patients::import(db, &op(), h.est, rows(), true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.imported, 2);
    assert_eq!(errors(&dry), [(3, "birth_date".to_string()), (5, "nir".to_string())]);
    assert_eq!(dry.errors[1].message, "Clé NIR invalide");
    assert_eq!(patient_count(db).await, 0, "a dry run writes nothing");
    assert_eq!(audit_head(db).await, head);

    let real = patients::import(db, &op(), h.est, rows(), false).await.unwrap();
    assert!(!real.dry_run);
    assert_eq!(real.imported, 2);
    assert_eq!(errors(&real), errors(&dry));
    assert_eq!(patient_count(db).await, 2);
    let found = find(db, &op(), h.est, "import", "").await;
    let names: Vec<(&str, &str)> = found.iter().map(|s| (s.first_name.as_str(), s.ipp.as_str())).collect();
    assert_eq!(names, [("ALICE", "00000001"), ("CARL", "00000002")], "the dry run did not use up IPPs");
    assert_eq!(sites_of(db, found[1].id).await, [h.sites[0]]);
    assert_eq!(audit_head(db).await, head + 2 + 1, "two creations (and the search above)");
}

async fn import_reports_a_site_of_another_establishment_on_its_line(t: TestDb) {
    let db = &t.db;
    let a = establishment(db, "HSA").await;
    let b = establishment(db, "HSB").await;
    let rows = vec![
        (2, person("Import", "Alice", "01/01/1980", "F")),
        (3, at_site(person("Import", "Bruno", "02/02/1982", "M"), b.sites[0])),
    ];
    let report = patients::import(db, &op(), a.est, rows, false).await;
    let report = report.unwrap_or_else(|e| panic!("one bad row must not fail the whole import: {e:?}"));
    assert_eq!(report.imported, 1);
    assert_eq!(report.errors.iter().map(|e| (e.line, e.field.as_str())).collect::<Vec<_>>(), [(3, "site_id")]);
    assert_eq!(patient_count(db).await, 1);
}
