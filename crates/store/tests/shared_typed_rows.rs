//! Typed rows: the codes a patient file, a debtor, a class of the plan and a document hold
//! are read back as the domain's enums, every value of each on both backends, and a code the
//! domain does not know, written into the database behind the application's back, reads as
//! a decoding error (`sqlx::Error::Decode`), never a panic or a blank. Also the unique
//! indexes on a user's roles (migration 0010). Every test runs on SQLite and, when
//! `QUITTANCE_TEST_POSTGRES_URL` is set, on PostgreSQL.

mod common;

use common::TestDb;
use common::fixtures::{self, debtor_input, op, patient_input};
use jiff::civil::{Date, date};
use quittance_domain::access::{Grant, Role};
use quittance_domain::care::coverage::Category;
use quittance_domain::documents::{Confidentiality, ContentStore, RequiredFor, Target};
use quittance_domain::identity::{DocumentType, IdentityAttribute, IdentityStatus, Sex};
use quittance_domain::patients::debtors::DebtorKind;
use quittance_store::documents::{self as docs, Document, Storage, UploadInput};
use quittance_store::patients::{self, Debtor, Patient, PatientInput};
use quittance_store::{Db, Error, V, args};

contract!(
    patient_codes_round_trip,
    debtor_codes_round_trip,
    class_and_document_codes_round_trip,
    unknown_codes_are_decoding_errors,
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
