//! Typed rows: the codes a patient file, a debtor, a class of the plan, a document, the
//! readiness checks' rows (identity status, care mode, coverage role, agreement status, the
//! rules), a PEC's items and a user's roles hold are read back as the domain's enums, every
//! value of each on both backends, and a code the domain does not know, written into the
//! database behind the application's back, reads as a decoding error (`sqlx::Error::Decode`),
//! never a panic, a blank or a default. Also the unique indexes on a user's roles (migration
//! 0010). Every test runs on SQLite and, when `QUITTANCE_TEST_POSTGRES_URL` is set, on PostgreSQL.

mod common;
mod flow;

use common::TestDb;
use common::fixtures::{self, at_site, debtor_input, op, patient_input, person};
use jiff::civil::{Date, date};
use quittance_domain::access::{Grant, Role};
use quittance_domain::care::coverage::Category;
use quittance_domain::care::stay::CareMode;
use quittance_domain::pec::Item;
use quittance_domain::readiness::Rules;
use quittance_domain::documents::{Confidentiality, ContentStore, RequiredFor, Target};
use quittance_domain::identity::{DocumentType, IdentityAttribute, IdentityStatus, Sex};
use quittance_domain::patients::debtors::DebtorKind;
use quittance_store::documents::{self as docs, Document, Storage, UploadInput};
use quittance_store::patients::{self, Debtor, Patient, PatientInput};
use quittance_store::pec::{self, AnswerInput, PecInput};
use quittance_store::{Db, Error, V, access, args, readiness};

contract!(
    patient_codes_round_trip,
    debtor_codes_round_trip,
    class_and_document_codes_round_trip,
    unknown_codes_are_decoding_errors,
    readiness_codes_round_trip,
    readiness_unknown_codes_are_decoding_errors,
    pec_items_round_trip,
    pec_unknown_items_are_decoding_errors,
    roles_round_trip,
    an_unknown_role_is_a_decoding_error,
    a_role_is_held_once_per_scope,
    migration_0010_keeps_one_row_per_scope,
);

const TODAY: Date = date(2026, 11, 22);

/// Runs one write statement in its own transaction (what a hand edit of the database does).
async fn write(db: &Db, sql: &str, a: &[V]) {
    let mut tx = db.begin().await.unwrap();
    tx.exec(sql, a).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    tx.commit().await.unwrap();
}

/// An establishment (its default plan seeded) and a file in it, created by the use case.
async fn file(db: &Db) -> (i64, Patient) {
    let est = fixtures::hospital(db, "HTR").await;
    let p = common::typed::create(db, &op(), est, &patient_input("Typee", "Rose")).await.unwrap();
    (est, p)
}

async fn read_patient(db: &Db, id: i64) -> Result<Patient, Error> {
    patients::get(db, &op(), id).await.map(|f| f.patient)
}

async fn read_debtor(db: &Db, patient_id: i64) -> Result<Debtor, Error> {
    patients::get(db, &op(), patient_id).await.map(|f| f.debtors.into_iter().next().expect("one debtor"))
}

/// A PDF filed on the file (database storage), with the first class of the plan.
async fn document(db: &Db, est: i64, patient_id: i64) -> Document {
    let class = docs::classes(db, &op(), est).await.unwrap().into_iter().next().expect("the default plan");
    let input = UploadInput { target: "patient".into(), class_id: class.id.to_string(), ..Default::default() };
    let bytes = quittance_store::demo::care::demo_pdf("Typée");
    docs::parse_and_upload(db, &op(), &Storage::default(), patient_id, &input, "typee.pdf", &bytes, TODAY).await.unwrap()
}

/// The error of a read that met an unknown code: a decoding error naming the code.
fn decode_error<T: std::fmt::Debug>(r: Result<T, Error>, code: &str) {
    match r {
        Err(Error::Db(sqlx::Error::Decode(m))) => assert!(m.to_string().contains(code), "the message names « {code} »: {m}"),
        other => panic!("expected a decoding error for « {code} », got {other:?}"),
    }
}

// ---------------------------------------------------------------- round trips

async fn patient_codes_round_trip(t: TestDb) {
    let db = &t.db;
    let (_, created) = file(db).await;
    let id = created.id;
    // What the use case wrote reads back as it returned it.
    let read = read_patient(db, id).await.unwrap();
    assert_eq!((read.sex, read.identity_status, read.doc_type, read.attributes.clone()), (Sex::Female, IdentityStatus::Provisoire, None, vec![]));
    assert_eq!(serde_json::to_value(&read).unwrap(), serde_json::to_value(&created).unwrap());

    for &s in &Sex::ALL {
        write(db, "UPDATE patients SET sex = $1 WHERE id = $2", &args![s.code(), id]).await;
        assert_eq!(read_patient(db, id).await.unwrap().sex, s);
    }
    for &s in &IdentityStatus::ALL {
        write(db, "UPDATE patients SET identity_status = $1 WHERE id = $2", &args![s.code(), id]).await;
        assert_eq!(read_patient(db, id).await.unwrap().identity_status, s);
    }
    for &d in &DocumentType::ALL {
        write(db, "UPDATE patients SET doc_type = $1 WHERE id = $2", &args![d.code(), id]).await;
        assert_eq!(read_patient(db, id).await.unwrap().doc_type, Some(d));
    }
    write(db, "UPDATE patients SET doc_type = NULL WHERE id = $1", &args![id]).await;
    assert_eq!(read_patient(db, id).await.unwrap().doc_type, None);

    // Every attribute at once, as the use case writes them (sorted codes, comma-separated);
    // serialized back as that same text (the audit trail's and the API's form).
    let all = IdentityAttribute::ALL.iter().map(|a| a.code()).collect::<Vec<_>>().join(",");
    write(db, "UPDATE patients SET attributes = $1 WHERE id = $2", &args![all.clone(), id]).await;
    let p = read_patient(db, id).await.unwrap();
    assert_eq!(p.attributes, IdentityAttribute::ALL);
    assert_eq!(serde_json::to_value(&p).unwrap()["attributes"], serde_json::json!(all));
    for &a in IdentityAttribute::ALL {
        write(db, "UPDATE patients SET attributes = $1 WHERE id = $2", &args![a.code(), id]).await;
        assert_eq!(read_patient(db, id).await.unwrap().attributes, [a]);
    }

    // The search line decodes the same codes.
    write(db, "UPDATE patients SET sex = 'M', identity_status = 'qualifiee' WHERE id = $1", &args![id]).await;
    let est = created.establishment_id;
    let c = quittance_domain::patients::search::parse("typee", "").unwrap();
    let line = patients::search(db, &op(), est, &c, 10, 0).await.unwrap().items.into_iter().next().expect("the file");
    assert_eq!((line.id, line.sex, line.identity_status), (id, Sex::Male, IdentityStatus::Qualifiee));

    // And a change through the use case keeps the typed values the form sent.
    let mut change: PatientInput = patients::patient_input(&read_patient(db, id).await.unwrap());
    assert_eq!((change.sex.as_str(), change.identity_status.as_str(), change.attributes.as_str()), ("M", "qualifiee", "usurpation"));
    change.identity_status = "provisoire".into();
    change.attributes = "homonyme,douteuse".into();
    change.reason = "Vérification".into();
    let v = read_patient(db, id).await.unwrap().version;
    let after = common::typed::update(db, &op(), id, v, &change).await.unwrap();
    assert_eq!((after.identity_status, after.attributes.clone()), (IdentityStatus::Provisoire, vec![IdentityAttribute::Douteuse, IdentityAttribute::Homonyme]));
    assert_eq!(read_patient(db, id).await.unwrap().attributes, after.attributes);
}

async fn debtor_codes_round_trip(t: TestDb) {
    let db = &t.db;
    let (_, p) = file(db).await;
    let every = Category::ALL.iter().map(|c| c.code()).collect::<Vec<_>>().join(",");
    let saved = common::typed::save_debtor(db, &op(), p.id, None, &patients::DebtorInput { guarantees: every, ..debtor_input() }).await.unwrap();
    let read = read_debtor(db, p.id).await.unwrap();
    assert_eq!(read.kind, DebtorKind::Patient);
    // Stored sorted by code, read in that order.
    let mut sorted = Category::ALL.to_vec();
    sorted.sort_by_key(|c| c.code());
    assert_eq!((saved.guarantees.clone(), read.guarantees.clone()), (sorted.clone(), sorted));
    assert_eq!(serde_json::to_value(&read).unwrap(), serde_json::to_value(&saved).unwrap());

    for &k in DebtorKind::ALL {
        write(db, "UPDATE debtors SET kind = $1 WHERE patient_id = $2", &args![k.code(), p.id]).await;
        assert_eq!(read_debtor(db, p.id).await.unwrap().kind, k);
    }
    for &c in Category::ALL {
        write(db, "UPDATE debtors SET guarantees = $1 WHERE patient_id = $2", &args![c.code(), p.id]).await;
        let d = read_debtor(db, p.id).await.unwrap();
        assert_eq!(d.guarantees, [c]);
        assert_eq!(patients::debtor_input(&d).guarantees, c.code());
    }
}

async fn class_and_document_codes_round_trip(t: TestDb) {
    let db = &t.db;
    let (est, p) = file(db).await;
    let filed = document(db, est, p.id).await;
    assert_eq!((filed.target_kind, filed.confidentiality, filed.storage), (Target::Patient, Confidentiality::Normal, ContentStore::Base));
    // Read back as filed (`openable` is the reader's, not a column).
    let read = docs::get(db, &op(), filed.id).await.unwrap();
    assert_eq!(serde_json::to_value(&read).unwrap(), serde_json::to_value(&Document { openable: read.openable, ..filed.clone() }).unwrap());

    for &k in Target::ALL {
        write(db, "UPDATE documents SET target_kind = $1 WHERE id = $2", &args![k.code(), filed.id]).await;
        assert_eq!(docs::get(db, &op(), filed.id).await.unwrap().target_kind, k);
    }
    for &c in Confidentiality::ALL {
        write(db, "UPDATE documents SET confidentiality = $1 WHERE id = $2", &args![c.code(), filed.id]).await;
        assert_eq!(docs::get(db, &op(), filed.id).await.unwrap().confidentiality, c);
    }
    for &s in ContentStore::ALL {
        write(db, "UPDATE documents SET storage = $1 WHERE id = $2", &args![s.code(), filed.id]).await;
        assert_eq!(docs::get(db, &op(), filed.id).await.unwrap().storage, s);
    }

    let class = filed.class_id;
    for &c in Confidentiality::ALL {
        write(db, "UPDATE document_classes SET confidentiality = $1 WHERE id = $2", &args![c.code(), class]).await;
        let got = docs::classes(db, &op(), est).await.unwrap().into_iter().find(|x| x.id == class).unwrap();
        assert_eq!(got.confidentiality, c);
    }
    for &r in RequiredFor::ALL {
        write(db, "UPDATE document_classes SET required_for = $1 WHERE id = $2", &args![r.code(), class]).await;
        let got = docs::classes(db, &op(), est).await.unwrap().into_iter().find(|x| x.id == class).unwrap();
        assert_eq!(got.required_for, r);
        assert_eq!(docs::class_input(&got).required_for, r.code());
    }
    // The default plan: « never required » is the empty code.
    let plan = docs::classes(db, &op(), est).await.unwrap();
    assert!(plan.iter().any(|c| c.required_for == RequiredFor::Jamais && c.id != class));
    assert!(plan.iter().any(|c| c.required_for == RequiredFor::PecAccordee));
    assert!(plan.iter().any(|c| c.confidentiality == Confidentiality::Confidentiel));
}

// ---------------------------------------------------------------- unknown codes

async fn unknown_codes_are_decoding_errors(t: TestDb) {
    let db = &t.db;
    let (est, p) = file(db).await;
    common::typed::save_debtor(db, &op(), p.id, None, &debtor_input()).await.unwrap();
    let d = document(db, est, p.id).await;

    // Each column alone, then put back: the read fails on that code, and only while it is there.
    let patient_cols: [(&str, &str, &str); 4] = [("sex", "X", "F"), ("identity_status", "certifiee", "provisoire"), ("doc_type", "permis", "passeport"), ("attributes", "homonyme,inconnu", "")];
    for (col, bad, good) in patient_cols {
        write(db, &format!("UPDATE patients SET {col} = $1 WHERE id = $2"), &args![bad, p.id]).await;
        decode_error(read_patient(db, p.id).await, bad.rsplit(',').next().unwrap());
        write(db, &format!("UPDATE patients SET {col} = $1 WHERE id = $2"), &args![good, p.id]).await;
        read_patient(db, p.id).await.unwrap();
    }
    // The search line too.
    write(db, "UPDATE patients SET identity_status = 'certifiee' WHERE id = $1", &args![p.id]).await;
    let c = quittance_domain::patients::search::parse("typee", "").unwrap();
    decode_error(patients::search(db, &op(), est, &c, 10, 0).await, "certifiee");
    write(db, "UPDATE patients SET identity_status = 'provisoire' WHERE id = $1", &args![p.id]).await;

    for (col, bad, good) in [("kind", "martien", "patient"), ("guarantees", "sejour,tout", "sejour")] {
        write(db, &format!("UPDATE debtors SET {col} = $1 WHERE patient_id = $2"), &args![bad, p.id]).await;
        decode_error(patients::get(db, &op(), p.id).await, bad.rsplit(',').next().unwrap());
        write(db, &format!("UPDATE debtors SET {col} = $1 WHERE patient_id = $2"), &args![good, p.id]).await;
    }

    for (col, bad, good) in [("target_kind", "lit", "patient"), ("confidentiality", "secret", "normal"), ("storage", "nuage", "base")] {
        write(db, &format!("UPDATE documents SET {col} = $1 WHERE id = $2"), &args![bad, d.id]).await;
        decode_error(docs::get(db, &op(), d.id).await, bad);
        write(db, &format!("UPDATE documents SET {col} = $1 WHERE id = $2"), &args![good, d.id]).await;
        docs::get(db, &op(), d.id).await.unwrap();
    }

    for (col, bad, good) in [("confidentiality", "secret", "normal"), ("required_for", "toujours", "")] {
        write(db, &format!("UPDATE document_classes SET {col} = $1 WHERE id = $2"), &args![bad, d.class_id]).await;
        decode_error(docs::classes(db, &op(), est).await, bad);
        write(db, &format!("UPDATE document_classes SET {col} = $1 WHERE id = $2"), &args![good, d.class_id]).await;
    }
    docs::classes(db, &op(), est).await.unwrap();
    patients::get(db, &op(), p.id).await.unwrap();
}

// ---------------------------------------------------------------- roles

async fn a_role_is_held_once_per_scope(t: TestDb) {
    let db = &t.db;
    let (est, [site, _]) = fixtures::hospital_with_two_sites(db, "HRO").await;
    let wide = Grant { role: Role::SecretaireMedicale, establishment_id: est, site_id: None };
    let local = Grant { role: Role::SecretaireMedicale, establishment_id: est, site_id: Some(site) };
    let (user, _) = quittance_store::access::create_user(db, &op(), &fixtures::user_input("roles", vec![wide.clone(), local.clone()])).await.unwrap();
    let rows = async || common::check::count(db, &format!("SELECT COUNT(*) FROM user_roles WHERE user_id = {user}")).await;
    assert_eq!(rows().await, 2, "the role establishment-wide and on one site are two scopes");

    // Granting a role already held changes nothing (as before the indexes).
    let version = async || common::check::count(db, &format!("SELECT version FROM users WHERE id = {user}")).await;
    for g in [&wide, &local] {
        quittance_store::access::grant_role(db, &op(), user, version().await, g).await.unwrap();
    }
    assert_eq!(rows().await, 2);

    // Written behind the use case's back, a second row of the same scope is refused by the
    // database, under the indexes' names: establishment-wide (NULL site) as well as per site.
    let insert = "INSERT INTO user_roles (user_id, role, establishment_id, site_id, created_at) VALUES ($1, $2, $3, $4, '2026-11-22T00:00:00.000000Z')";
    for (g, name) in [(&wide, "user_roles_user_id_role_establishment_id_key"), (&local, "user_roles_user_id_role_establishment_id_site_id_key")] {
        let mut tx = db.begin().await.unwrap();
        let e = tx.exec(insert, &args![user, g.role.code(), g.establishment_id, g.site_id]).await.expect_err("a duplicate role");
        assert!(e.is_unique_violation(), "{e:?}");
        assert_eq!(e.constraint().as_deref(), Some(name), "{e:?}");
        tx.rollback().await.unwrap();
    }
    assert_eq!(rows().await, 2);
    // Another role on the same scope is a new row.
    let other = Grant { role: Role::Administrateur, ..wide };
    quittance_store::access::grant_role(db, &op(), user, version().await, &other).await.unwrap();
    assert_eq!(rows().await, 3);
}

/// A database of before migration 0010 that holds duplicate roles: the migration keeps the
/// oldest row of each user, role and scope, then creates the indexes.
async fn migration_0010_keeps_one_row_per_scope(t: TestDb) {
    let db = &t.db;
    let (est, [site, other_site]) = fixtures::hospital_with_two_sites(db, "HMG").await;
    let (user, _) = quittance_store::access::create_user(db, &op(), &fixtures::user_input("doublons", vec![])).await.unwrap();
    // Back to version 9: no indexes, migration 10 not recorded.
    db.raw("DROP INDEX user_roles_user_id_role_establishment_id_site_id_key").await.unwrap();
    db.raw("DROP INDEX user_roles_user_id_role_establishment_id_key").await.unwrap();
    write(db, "DELETE FROM schema_migrations WHERE version = 10", &[]).await;
    let insert = "INSERT INTO user_roles (user_id, role, establishment_id, site_id, created_at) VALUES ($1, $2, $3, $4, '2026-11-22T00:00:00.000000Z')";
    let rows: [(&str, Option<i64>); 7] = [
        ("secretaire_medicale", None),
        ("secretaire_medicale", None),
        ("secretaire_medicale", Some(site)),
        ("secretaire_medicale", Some(site)),
        ("secretaire_medicale", Some(other_site)),
        ("comptable", None),
        ("secretaire_medicale", None),
    ];
    for (role, s) in rows {
        write(db, insert, &args![user, role, est, s]).await;
    }
    let kept = "SELECT COUNT(*) FROM user_roles WHERE user_id = ";
    assert_eq!(common::check::count(db, &format!("{kept}{user}")).await, 7);
    let first_ids: Vec<(i64,)> = {
        let mut tx = db.read().await.unwrap();
        let v = tx
            .all(
                "SELECT MIN(id) FROM user_roles WHERE user_id = $1 GROUP BY role, COALESCE(site_id, 0) ORDER BY 1",
                &args![user],
            )
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        v
    };

    assert_eq!(quittance_store::migrate::migrate(db).await.unwrap(), [10]);
    let after: Vec<(i64,)> = {
        let mut tx = db.read().await.unwrap();
        let v = tx.all("SELECT id FROM user_roles WHERE user_id = $1 ORDER BY id", &args![user]).await.unwrap();
        tx.rollback().await.unwrap();
        v
    };
    assert_eq!(after, first_ids, "the oldest row of each scope is kept");
    assert_eq!(after.len(), 4);
    let grants = quittance_store::access::list_users(db, &op()).await.unwrap().into_iter().find(|(u, _)| u.id == user).unwrap().1;
    assert_eq!(grants.0.len(), 4);
    // The indexes are back.
    let mut tx = db.begin().await.unwrap();
    assert!(tx.exec(insert, &args![user, "comptable", est, None::<i64>]).await.unwrap_err().is_unique_violation());
    tx.rollback().await.unwrap();
}

// ---------------------------------------------------------------- readiness

/// A validated patient of the demo's HSM with a default debtor, a current full
/// hospitalisation, compulsory (CPAM) and complementary (MGEN) coverages: ready but for the
/// PEC. `(establishment, patient, stay, MGEN)`.
async fn ready_but_for_pec(db: &Db) -> (i64, i64, i64, i64) {
    let hsm = fixtures::seed_demo(db).await.hsm;
    let site = flow::establishments::list_sites(db, &op(), hsm).await.unwrap()[0].id;
    let raw = PatientInput {
        identity_status: "validee".into(),
        doc_type: "passeport".into(),
        doc_number: "12AB34567".into(),
        birth_place_code: "29019".into(),
        birth_place_label: String::new(),
        ..at_site(person("Typee", "Prête", "12/05/1961", "F"), site)
    };
    let p = common::typed::create(db, &op(), hsm, &raw).await.unwrap();
    common::typed::save_debtor(db, &op(), p.id, None, &debtor_input()).await.unwrap();
    let stay = flow::stays::save(db, &op(), p.id, None, 0, &fixtures::stay_input(site, "10/11/2026")).await.unwrap();
    let list = flow::payers::list(db, &op(), hsm).await.unwrap();
    let payer = |code: &str| list.iter().find(|x| x.code == code).unwrap().id;
    let mgen = payer("MGEN");
    for (payer, role) in [(payer("CPAM69"), "obligatoire"), (mgen, "complementaire")] {
        flow::coverages::save(db, &op(), p.id, None, 0, &fixtures::coverage_input(payer, role, "01/01/2026", "")).await.unwrap();
    }
    (hsm, p.id, stay.id, mgen)
}

/// The failing controls of the file's checklist (its one stay) and of its line in the queue
/// (none when it is ready): both read the candidate, coverage and agreement rows.
async fn failing(db: &Db, est: i64, patient_id: i64) -> (Vec<String>, Vec<String>) {
    let check = readiness::checklist(db, &op(), patient_id, TODAY).await.unwrap();
    assert_eq!(check.len(), 1, "one stay");
    let queue = readiness::queue(db, &op(), est, TODAY).await.unwrap();
    let line = queue.into_iter().find(|l| l.patient_id == patient_id).map(|l| l.reasons).unwrap_or_default();
    (check[0].failures.iter().map(|f| f.0.clone()).collect(), line)
}

/// Saves the rules with only the complementary care modes changed, and reads them back.
async fn with_modes(db: &Db, est: i64, modes: Vec<CareMode>) {
    let rules = Rules { complementary_for_care_modes: modes, ..Rules::default() };
    readiness::save_rules(db, &op(), est, &rules).await.unwrap();
    assert_eq!(readiness::current_rules(db, est).await.unwrap(), rules);
}

async fn readiness_codes_round_trip(t: TestDb) {
    let db = &t.db;
    let (est, p, stay, mgen) = ready_but_for_pec(db).await;
    let pec_only = (vec!["pec".to_string()], vec!["pec".to_string()]);
    assert_eq!(failing(db, est, p).await, pec_only);

    // Every identity status: below the rules' minimum it fails, named by its label (it is no
    // longer read as « provisoire » when unknown: see the next test).
    let min = Rules::default().min_identity_status.unwrap();
    for &s in &IdentityStatus::ALL {
        write(db, "UPDATE patients SET identity_status = $1 WHERE id = $2", &args![s.code(), p]).await;
        let (check, queue) = failing(db, est, p).await;
        let low = s.rank() < min.rank();
        assert_eq!((check.contains(&"identite".to_string()), queue.contains(&"identite".to_string())), (low, low), "{s:?}");
        let message = readiness::checklist(db, &op(), p, TODAY).await.unwrap()[0].failures.iter().find(|f| f.0 == "identite").map(|f| f.1.clone());
        assert_eq!(message.is_some_and(|m| m.contains(&format!("« {} »", s.label()))), low, "{s:?}");
    }
    write(db, "UPDATE patients SET identity_status = 'validee' WHERE id = $1", &args![p]).await;

    // Every care mode of the stay, and the rules' list of care modes (every one, then each
    // alone): the PEC is needed exactly for the listed modes.
    with_modes(db, est, CareMode::ALL.to_vec()).await;
    with_modes(db, est, vec![]).await;
    for &m in CareMode::ALL {
        write(db, "UPDATE stays SET care_mode = $1 WHERE id = $2", &args![m.code(), stay]).await;
        with_modes(db, est, vec![m]).await;
        assert_eq!(failing(db, est, p).await, pec_only, "{m:?} listed");
        with_modes(db, est, CareMode::ALL.iter().copied().filter(|x| *x != m).collect()).await;
        assert_eq!(failing(db, est, p).await, (vec![], vec![]), "{m:?} not listed");
    }
    write(db, "UPDATE stays SET care_mode = 'hospitalisation_complete' WHERE id = $1", &args![stay]).await;
    with_modes(db, est, vec![CareMode::HospitalisationComplete]).await;
    // The minimum identity status of the rules, each one and none.
    for min in IdentityStatus::ALL.iter().copied().map(Some).chain([None]) {
        let rules = Rules { min_identity_status: min, ..Rules::default() };
        readiness::save_rules(db, &op(), est, &rules).await.unwrap();
        assert_eq!(readiness::current_rules(db, est).await.unwrap(), rules);
    }
    readiness::save_rules(db, &op(), est, &Rules::default()).await.unwrap();

    // Every coverage role: the complementary as an aid (no PEC then), as a second compulsory
    // one (no complementary then), and back.
    let role = async |r: &str| write(db, "UPDATE coverages SET role = $1 WHERE patient_id = $2 AND payer_id = $3", &args![r, p, mgen]).await;
    role("aide").await;
    assert_eq!(failing(db, est, p).await, (vec![], vec![]));
    role("obligatoire").await;
    let amc = vec!["droits_complementaires".to_string()];
    assert_eq!(failing(db, est, p).await, (amc.clone(), amc));
    role("complementaire").await;
    assert_eq!(failing(db, est, p).await, pec_only);

    // The agreements' statuses: accepted and partial agreements count, the others not (the
    // agreement's document the plan then requires is not the point here).
    readiness::save_rules(db, &op(), est, &Rules { documents_required: false, ..Rules::default() }).await.unwrap();
    let new = pec::parse_new(db, p, &PecInput { payer_id: mgen.to_string(), stay_id: stay.to_string(), requested_items: "forfait_journalier".into(), requested_days: "30".into(), ..Default::default() })
        .await
        .unwrap();
    let r = pec::create(db, &op(), p, &new).await.unwrap();
    let r = pec::send(db, &op(), r.id, r.version).await.unwrap();
    let a = pec::parse_answer(db, r.id, &AnswerInput { status: "acceptee".into(), agreement_number: "ACC-T".into(), agreed_items: "forfait_journalier".into(), valid_from: "01/11/2026".into(), valid_to: "31/12/2026".into(), ..Default::default() }).await.unwrap();
    let r = pec::answer(db, &op(), r.id, r.version, &a).await.unwrap();
    assert_eq!(failing(db, est, p).await, (vec![], vec![]));
    for s in quittance_domain::pec::Status::ALL {
        write(db, "UPDATE cover_authorizations SET status = $1 WHERE id = $2", &args![s.code(), r.id]).await;
        let agreed = matches!(s, quittance_domain::pec::Status::Acceptee | quittance_domain::pec::Status::Partielle);
        assert_eq!(failing(db, est, p).await, if agreed { (vec![], vec![]) } else { pec_only.clone() }, "{s:?}");
    }
}

async fn readiness_unknown_codes_are_decoding_errors(t: TestDb) {
    let db = &t.db;
    let (est, p, stay, _) = ready_but_for_pec(db).await;
    let queue = async || readiness::queue(db, &op(), est, TODAY).await;
    let check = async || readiness::checklist(db, &op(), p, TODAY).await;

    // The queue reads the identity status with the candidates (the checklist, through the file).
    write(db, "UPDATE patients SET identity_status = 'certifiee' WHERE id = $1", &args![p]).await;
    decode_error(queue().await, "certifiee");
    decode_error(check().await, "certifiee");
    write(db, "UPDATE patients SET identity_status = 'validee' WHERE id = $1", &args![p]).await;

    for (sql, bad, good) in [
        ("UPDATE stays SET care_mode = $1 WHERE id = $2", "thalasso", "hospitalisation_complete"),
        ("UPDATE coverages SET role = $1 WHERE patient_id = $2 AND role = 'complementaire'", "quatrieme", "complementaire"),
    ] {
        let id = if sql.starts_with("UPDATE stays") { stay } else { p };
        write(db, sql, &args![bad, id]).await;
        decode_error(queue().await, bad);
        decode_error(check().await, bad);
        let back = sql.replace("AND role = 'complementaire'", "AND role = 'quatrieme'");
        write(db, &back, &args![good, id]).await;
        queue().await.unwrap();
        check().await.unwrap();
    }

    // The rules: an unknown minimum status does not switch the control off, an unknown care
    // mode is not ignored.
    readiness::save_rules(db, &op(), est, &Rules::default()).await.unwrap();
    for (col, bad, good) in [("min_identity_status", "certifiee", "validee"), ("complementary_care_modes", "hospitalisation_complete,thalasso", "hospitalisation_complete")] {
        write(db, &format!("UPDATE readiness_rules SET {col} = $1 WHERE establishment_id = $2"), &args![bad, est]).await;
        let bad = bad.rsplit(',').next().unwrap();
        decode_error(readiness::current_rules(db, est).await, bad);
        decode_error(queue().await, bad);
        decode_error(check().await, bad);
        write(db, &format!("UPDATE readiness_rules SET {col} = $1 WHERE establishment_id = $2"), &args![good, est]).await;
        assert_eq!(readiness::current_rules(db, est).await.unwrap(), Rules::default());
    }
    // An agreement's status is read only among the agreed ones (`status IN ('acceptee',
    // 'partielle')`): an unknown one never reaches that row; the file's requests read it (see
    // `pec_unknown_items_are_decoding_errors`).
    check().await.unwrap();
}

// ---------------------------------------------------------------- PEC items

/// A sent request for the file's stay, with its two items.
async fn request(db: &Db) -> (i64, pec::Pec) {
    let (_, p, stay, mgen) = ready_but_for_pec(db).await;
    let raw = PecInput {
        payer_id: mgen.to_string(),
        stay_id: stay.to_string(),
        requested_items: "forfait_journalier,chambre_particuliere".into(),
        requested_days: "30".into(),
        ..Default::default()
    };
    let new = pec::parse_new(db, p, &raw).await.unwrap();
    (p, pec::create(db, &op(), p, &new).await.unwrap())
}

async fn pec_items_round_trip(t: TestDb) {
    let db = &t.db;
    let (patient, created) = request(db).await;
    assert_eq!((created.requested_items.clone(), created.agreed_items.clone()), (vec![Item::ChambreParticuliere, Item::ForfaitJournalier], None));
    assert_eq!(pec::get(db, &op(), created.id).await.unwrap(), created);
    // The audit trail keeps the codes as text.
    let filter = quittance_store::audit::AuditFilter { entity: Some("patient".into()), action: Some("pec_create".into()), ..Default::default() };
    let row = common::check::audit_rows(db, filter).await.into_iter().find(|r| r.entity_id.as_deref() == Some(&*patient.to_string())).expect("the create row");
    let changes = common::check::changes(&row);
    assert_eq!((&changes["requested_items"], &changes.get("agreed_items")), (&serde_json::json!([null, "chambre_particuliere,forfait_journalier"]), &None));

    let id = created.id;
    let all = Item::ALL.iter().map(|i| i.code()).collect::<Vec<_>>().join(",");
    for col in ["requested_items", "agreed_items"] {
        write(db, &format!("UPDATE cover_authorizations SET {col} = $1 WHERE id = $2"), &args![all.clone(), id]).await;
        let r = pec::get(db, &op(), id).await.unwrap();
        let got = if col == "requested_items" { Some(r.requested_items) } else { r.agreed_items };
        assert_eq!(got.as_deref(), Some(Item::ALL), "{col}: in the stored order");
        for &i in Item::ALL {
            write(db, &format!("UPDATE cover_authorizations SET {col} = $1 WHERE id = $2"), &args![i.code(), id]).await;
            let r = pec::get(db, &op(), id).await.unwrap();
            let got = if col == "requested_items" { Some(r.requested_items) } else { r.agreed_items };
            assert_eq!(got, Some(vec![i]), "{col}");
        }
    }
    write(db, "UPDATE cover_authorizations SET agreed_items = '' WHERE id = $1", &args![id]).await;
    assert_eq!(pec::get(db, &op(), id).await.unwrap().agreed_items, Some(vec![]));
    write(db, "UPDATE cover_authorizations SET agreed_items = NULL, requested_items = 'chambre_particuliere,forfait_journalier' WHERE id = $1", &args![id]).await;
    assert_eq!(pec::get(db, &op(), id).await.unwrap(), created);

    // An answer through the use case: the agreed items read back typed, audited as text.
    let sent = pec::send(db, &op(), id, created.version).await.unwrap();
    let a = pec::parse_answer(db, id, &AnswerInput { status: "acceptee".into(), agreement_number: "ACC-I".into(), agreed_items: "forfait_journalier".into(), valid_from: "01/11/2026".into(), valid_to: "31/12/2026".into(), ..Default::default() }).await.unwrap();
    let answered = pec::answer(db, &op(), id, sent.version, &a).await.unwrap();
    assert_eq!(answered.agreed_items, Some(vec![Item::ForfaitJournalier]));
    assert_eq!(pec::list(db, &op(), patient).await.unwrap().into_iter().find(|x| x.id == id).unwrap(), answered);
    let filter = quittance_store::audit::AuditFilter { entity: Some("patient".into()), action: Some("pec_answer".into()), ..Default::default() };
    let rows = common::check::audit_rows(db, filter).await;
    let row = rows.into_iter().find(|r| r.entity_id.as_deref() == Some(&*patient.to_string())).expect("the answer row");
    assert_eq!(common::check::changes(&row)["agreed_items"], serde_json::json!([null, "forfait_journalier"]));
}

async fn pec_unknown_items_are_decoding_errors(t: TestDb) {
    let db = &t.db;
    let (patient, r) = request(db).await;
    for (col, bad, good) in [("requested_items", "forfait_journalier,lit", "forfait_journalier"), ("agreed_items", "lit", "forfait_journalier"), ("status", "perdue", "envoyee")] {
        write(db, &format!("UPDATE cover_authorizations SET {col} = $1 WHERE id = $2"), &args![bad, r.id]).await;
        let bad = bad.rsplit(',').next().unwrap();
        decode_error(pec::get(db, &op(), r.id).await, bad);
        decode_error(pec::list(db, &op(), patient).await, bad);
        write(db, &format!("UPDATE cover_authorizations SET {col} = $1 WHERE id = $2"), &args![good, r.id]).await;
        pec::get(db, &op(), r.id).await.unwrap();
    }
    // The alerts read the status of the requests waiting or agreed (an unknown one is not among them).
    pec::alerts(db, &op(), r.establishment_id, TODAY).await.unwrap();
}

// ---------------------------------------------------------------- user roles

/// A user holding one role on an establishment, logged in (a session token) and with an API
/// key (usable: no password to change). `(establishment, user, token, secret)`.
async fn user_with_a_role(db: &Db) -> (i64, i64, String, String) {
    let est = fixtures::hospital(db, "HRR").await;
    let g = Grant { role: Role::Comptable, establishment_id: est, site_id: None };
    let (user, _) = access::create_user(db, &op(), &fixtures::user_input("typee", vec![g])).await.unwrap();
    write(db, "UPDATE users SET must_change_password = FALSE WHERE id = $1", &args![user]).await;
    let token = access::login(db, "typee", fixtures::USER_PASSWORD, "10.0.0.9", None).await.unwrap().token;
    let (_, secret) = access::create_api_key(db, &op(), user, "typee").await.unwrap();
    (est, user, token, secret)
}

/// The user's grants as the session lookup, the API key lookup and the users' list read them.
async fn grants_read(db: &Db, user: i64, token: &str, secret: &str) -> [Result<Vec<Grant>, Error>; 3] {
    [
        access::session(db, token).await.map(|s| s.actor.grants.0),
        access::api_actor(db, secret).await.map(|a| a.grants.0),
        access::list_users(db, &op()).await.map(|l| l.into_iter().find(|(u, _)| u.id == user).unwrap().1.0),
    ]
}

async fn roles_round_trip(t: TestDb) {
    let db = &t.db;
    let (est, user, token, secret) = user_with_a_role(db).await;
    for &r in Role::ALL {
        write(db, "UPDATE user_roles SET role = $1 WHERE user_id = $2", &args![r.code(), user]).await;
        let want = vec![Grant { role: r, establishment_id: est, site_id: None }];
        for got in grants_read(db, user, &token, &secret).await {
            assert_eq!(got.unwrap(), want, "{r:?}");
        }
    }
    // No role: the LEFT JOIN's row without one reads as no grant.
    write(db, "DELETE FROM user_roles WHERE user_id = $1", &args![user]).await;
    for got in grants_read(db, user, &token, &secret).await {
        assert_eq!(got.unwrap(), vec![]);
    }
}

async fn an_unknown_role_is_a_decoding_error(t: TestDb) {
    let db = &t.db;
    let (est, user, token, secret) = user_with_a_role(db).await;
    // A second role, unknown: the lookups fail rather than drop it (or keep only the first).
    write(db, "INSERT INTO user_roles (user_id, role, establishment_id, site_id, created_at) VALUES ($1, 'sorcier', $2, NULL, '2026-11-22T00:00:00.000000Z')", &args![user, est]).await;
    for got in grants_read(db, user, &token, &secret).await {
        decode_error(got, "sorcier");
    }
    decode_error(access::login(db, "typee", fixtures::USER_PASSWORD, "10.0.0.9", None).await, "sorcier");
    write(db, "DELETE FROM user_roles WHERE user_id = $1 AND role = 'sorcier'", &args![user]).await;
    for got in grants_read(db, user, &token, &secret).await {
        assert_eq!(got.unwrap(), vec![Grant { role: Role::Comptable, establishment_id: est, site_id: None }]);
    }
}
