//! Filed documents on both backends: the classification plan, uploads kept in the
//! database or in a folder, confidentiality, site scoping, withdrawal, the
//! « justificatifs » readiness control and the retention report. Every test runs on
//! SQLite and, when `QUITTANCE_TEST_POSTGRES_URL` is set, on PostgreSQL.

mod common;
mod flow;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::TestDb;
use common::check::{count, audit_head, audit_rows, changes, invalid, forbidden, fields, set};
use common::fixtures::{self, coverage_input, debtor_input, hospital_input, op, patient_input, payer_input, stay_input, validated};
use jiff::civil::{Date, date};
use quittance_domain::access::{Grant, Role};
use quittance_domain::readiness::Rules;
use quittance_store::audit::AuditFilter;
use quittance_store::access::{self as auth, NewUser};
use flow::coverages;
use quittance_store::documents::{self as docs, ClassInput, DEFAULT_PLAN, DocClass, Document, Storage, StorageMode, UploadInput};
use flow::establishments as est;
use quittance_store::patients::{self, PatientInput};
use flow::payers;
use quittance_store::pec::{self, AnswerInput, PecInput};
use flow::stays::{self, StayInput};
use quittance_store::{Actor, Db, Error, V, readiness};
use sha2::{Digest, Sha256};

contract!(
    default_plan_is_seeded_on_creation_and_installed_once,
    class_refusals_name_the_field_and_write_nothing,
    plan_changes_are_admin_only_and_audited,
    database_upload_keeps_the_exact_bytes_with_checksum_and_retention,
    upload_refusals_name_the_field_and_write_nothing,
    folder_storage_is_content_addressed_and_checked,
    confidential_documents_are_masked_and_refused_without_the_permission,
    documents_follow_the_sites_of_the_file,
    withdrawal_needs_a_reason_and_the_current_version,
    agreed_pec_needs_its_agreement_on_file,
    plan_requirements_drive_the_control,
    documents_rule_off_keeps_the_missing_report,
    retention_report_lists_expired_documents_oldest_first,
    confidential_permission_follows_the_sites_of_the_file,
);

const TODAY: Date = date(2026, 11, 22);
const PASSWORD: &str = "formation-2026";

// ---------------------------------------------------------------- places and people

/// An establishment with two sites, a compulsory and a complementary payer.
struct Place {
    est: i64,
    a: i64,
    b: i64,
    cpam: i64,
    mgen: i64,
}

async fn place(db: &Db, code: &str) -> Place {
    let (e, sites) = fixtures::hospital_with_two_sites(db, code).await;
    let cpam = payers::create(db, &op(), e, &payer_input("CPAM", "obligatoire", "CPAM")).await.expect("create CPAM").id;
    let mgen = payers::create(db, &op(), e, &payer_input("MGEN", "complementaire", "MGEN")).await.expect("create MGEN").id;
    Place { est: e, a: sites[0], b: sites[1], cpam, mgen }
}

/// A validated file (identity, birth place) attached to `site`.
async fn patient(db: &Db, pl: &Place, site: i64, name: &str, first: &str) -> i64 {
    let input = fixtures::at_site(validated(patient_input(name, first)), site);
    common::typed::create(db, &op(), pl.est, &input).await.unwrap_or_else(|e| panic!("create {name} {first}: {e:?}")).id
}

/// A file ready to bill on [`TODAY`] but for its documents: default debtor, a current
/// full-hospitalisation stay at `site`, compulsory and complementary coverages, and a
/// prise en charge agreed by the complementary payer for the stay.
struct Ready {
    patient: i64,
    stay: i64,
    compulsory: i64,
    complementary: i64,
    pec: i64,
}

async fn ready_file(db: &Db, pl: &Place, site: i64, first: &str) -> Ready {
    let p = patient(db, pl, site, "Prete", first).await;
    common::typed::save_debtor(db, &op(), p, None, &debtor_input()).await.expect("debtor");
    let s = StayInput { planned_discharge_date: "30/11/2026".into(), ..stay_input(site, "01/11/2026") };
    let stay = stays::save(db, &op(), p, None, 0, &s).await.expect("stay").id;
    let compulsory = coverages::save(db, &op(), p, None, 0, &coverage_input(pl.cpam, "obligatoire", "01/01/2026", "")).await.expect("compulsory").id;
    let complementary = coverages::save(db, &op(), p, None, 0, &coverage_input(pl.mgen, "complementaire", "01/01/2026", "31/12/2026")).await.expect("complementary").id;
    let pec = pec_request(db, pl, p, stay).await;
    let sent = pec::send(db, &op(), pec.id, pec.version).await.expect("send PEC");
    let answer = AnswerInput {
        status: "acceptee".into(),
        agreement_number: format!("ACC-{first}"),
        agreed_items: "forfait_journalier".into(),
        valid_from: "01/11/2026".into(),
        valid_to: "31/12/2026".into(),
        ..Default::default()
    };
    let pec = pec::answer(db, &op(), pec.id, sent.version, &pec::parse_answer(db, pec.id, &answer).await.unwrap()).await.expect("agree PEC").id;
    Ready { patient: p, stay, compulsory, complementary, pec }
}

/// A PEC request (draft) to the complementary payer for the stay.
async fn pec_request(db: &Db, pl: &Place, patient: i64, stay: i64) -> pec::Pec {
    let input = PecInput { payer_id: pl.mgen.to_string(), stay_id: stay.to_string(), requested_items: "forfait_journalier".into(), requested_days: "30".into(), ..Default::default() };
    let new = pec::parse_new(db, patient, &input).await.expect("parse PEC");
    pec::create(db, &op(), patient, &new).await.expect("create PEC")
}

/// A user holding `grants`, logged in.
async fn user(db: &Db, username: &str, grants: Vec<Grant>) -> Actor {
    let new = NewUser { password: Some(PASSWORD.into()), ..fixtures::user_input(username, grants) };
    auth::create_user(db, &op(), &new).await.unwrap_or_else(|e| panic!("create user {username}: {e:?}"));
    common::login_actor(db, username, PASSWORD).await
}

fn wide(role: Role, establishment_id: i64) -> Grant {
    Grant { role, establishment_id, site_id: None }
}

fn at_site(role: Role, establishment_id: i64, site: i64) -> Grant {
    Grant { role, establishment_id, site_id: Some(site) }
}

// ---------------------------------------------------------------- plan

async fn class_id(db: &Db, est_id: i64, code: &str) -> i64 {
    class(db, est_id, code).await.id
}

async fn class(db: &Db, est_id: i64, code: &str) -> DocClass {
    docs::classes(db, &op(), est_id).await.unwrap().into_iter().find(|c| c.code == code).unwrap_or_else(|| panic!("class {code} in {est_id}"))
}

fn class_input(code: &str) -> ClassInput {
    ClassInput {
        code: code.into(),
        label: "Relevé de la CAF".into(),
        retention_years: "5".into(),
        confidentiality: "normal".into(),
        required_for: String::new(),
        position: String::new(),
        active: "on".into(),
    }
}

fn input_of(c: &DocClass) -> ClassInput {
    docs::class_input(c)
}

// ---------------------------------------------------------------- files to upload

fn pdf(text: &str) -> Vec<u8> {
    quittance_store::demo::care::demo_pdf(text)
}

/// The smallest JPEG `sniff` recognises: SOI, a JFIF APP0 segment, EOI.
fn jpeg() -> Vec<u8> {
    vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9]
}

/// A 1×1 PNG header: signature, IHDR chunk and IEND chunk.
fn png() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(&[0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE]);
    v.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]);
    v
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn doc(target: &str, class_id: i64) -> UploadInput {
    UploadInput { target: target.into(), class_id: class_id.to_string(), ..Default::default() }
}

fn dated(target: &str, class_id: i64, document_date: &str) -> UploadInput {
    UploadInput { document_date: document_date.into(), ..doc(target, class_id) }
}

async fn upload(db: &Db, actor: &Actor, storage: &Storage, patient: i64, input: &UploadInput, name: &str, bytes: &[u8]) -> Result<Document, Error> {
    docs::parse_and_upload(db, actor, storage, patient, input, name, bytes, TODAY).await
}

/// Parses what was typed, then saves (an edit with the class's current version).
async fn save_class(db: &Db, actor: &Actor, est: i64, id: Option<i64>, input: &ClassInput) -> Result<DocClass, Error> {
    let parsed = quittance_domain::documents::input::parse_class(input)?;
    let edit = match id {
        Some(id) => {
            let mut tx = db.read().await?;
            let v: Option<(i64,)> = tx.opt("SELECT version FROM document_classes WHERE id = $1", &quittance_store::args![id]).await?;
            tx.rollback().await?;
            Some(docs::ClassEdit { id, version: v.map_or(0, |v| v.0) })
        }
        None => None,
    };
    docs::save_class(db, actor, est, edit, &parsed).await
}

/// Uploads a PDF as the operator with database storage, expecting success.
async fn file_pdf(db: &Db, patient: i64, input: &UploadInput, text: &str) -> Document {
    upload(db, &op(), &Storage::default(), patient, input, "scan.pdf", &pdf(text)).await.unwrap_or_else(|e| panic!("upload {text}: {e:?}"))
}

// ---------------------------------------------------------------- database probes

/// Rows of `documents` and of `document_contents`.
async fn stored(db: &Db) -> (i64, i64) {
    (count(db, "SELECT COUNT(*) FROM documents").await, count(db, "SELECT COUNT(*) FROM document_contents").await)
}

fn filter(actor: Option<&str>, entity: &str, action: Option<&str>, outcome: &str) -> AuditFilter {
    AuditFilter {
        actor: actor.map(str::to_string),
        entity: Some(entity.into()),
        action: action.map(str::to_string),
        outcome: Some(outcome.into()),
        ..Default::default()
    }
}

fn integrity<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Integrity(m)) => m,
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

/// The failing control codes of the checklist entry of `stay`.
async fn failing(db: &Db, patient: i64, stay: i64) -> Vec<String> {
    checklist_entry(db, patient, stay).await.failures.iter().map(|f| f.0.clone()).collect()
}

async fn checklist_entry(db: &Db, patient: i64, stay: i64) -> readiness::Checklist {
    let list = readiness::checklist(db, &op(), patient, TODAY).await.expect("checklist");
    let c = list.into_iter().find(|c| c.stay_id == Some(stay)).unwrap_or_else(|| panic!("checklist entry of stay {stay}"));
    assert_eq!(c.ready, c.failures.is_empty(), "ready iff nothing fails: {c:?}");
    c
}

/// The reasons the missing-documents report gives for `stay`, or `None` when not listed.
async fn reported(db: &Db, actor: &Actor, est_id: i64, stay: i64) -> Option<Vec<String>> {
    let r = readiness::missing_documents_report(db, actor, est_id, TODAY).await.expect("missing documents report");
    r.into_iter().find(|p| p.stay_id == Some(stay)).map(|p| p.reasons)
}

async fn queued(db: &Db, est_id: i64, stay: i64) -> Option<Vec<String>> {
    let q = readiness::queue(db, &op(), est_id, TODAY).await.expect("queue");
    q.into_iter().find(|p| p.stay_id == Some(stay)).map(|p| p.reasons)
}

async fn expired_ids(db: &Db, actor: &Actor, est_id: i64, today: Date) -> Vec<i64> {
    docs::past_retention(db, actor, est_id, today).await.expect("retention report").into_iter().map(|x| x.document.id).collect()
}

// ---------------------------------------------------------------- plan

async fn default_plan_is_seeded_on_creation_and_installed_once(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap().id;
    let plan = docs::classes(db, &op(), e).await.unwrap();
    let got: Vec<(&str, &str, i64, &str, &str)> =
        plan.iter().map(|c| (c.code.as_str(), c.label.as_str(), c.retention_years, c.confidentiality.code(), c.required_for.code())).collect();
    assert_eq!(got, DEFAULT_PLAN.to_vec(), "the default plan, in its order");
    assert_eq!(plan.iter().map(|c| c.position).collect::<Vec<_>>(), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    assert!(plan.iter().all(|c| c.active && c.establishment_id == e), "{plan:?}");
    let accord = class(db, e, "accord_pec").await;
    assert_eq!((accord.label.as_str(), accord.retention_years, accord.required_for.code()), ("Accord de prise en charge", 10, "pec_accordee"));
    assert_eq!(class(db, e, "courrier").await.retention_years, 6);
    assert_eq!(class(db, e, "mesure_protection").await.confidentiality.code(), "confidentiel");

    // Installing over an existing plan changes nothing.
    assert_eq!(docs::install_default_plan(db, &op(), e).await.unwrap(), 0);
    let again = docs::classes(db, &op(), e).await.unwrap();
    assert_eq!(again.iter().map(|c| c.id).collect::<Vec<_>>(), plan.iter().map(|c| c.id).collect::<Vec<_>>());
    assert_eq!(count(db, "SELECT COUNT(*) FROM document_classes").await, 10);
    // A plan with one class of its own is a plan too.
    let mine = save_class(db, &op(), e, None, &class_input("releve_caf")).await.unwrap();
    assert_eq!(docs::install_default_plan(db, &op(), e).await.unwrap(), 0);
    assert_eq!(docs::classes(db, &op(), e).await.unwrap().len(), 11);
    assert_eq!(mine.establishment_id, e);

    // Each establishment gets its own plan.
    let f = est::create(db, &op(), &hospital_input("HSN")).await.unwrap().id;
    let other = docs::classes(db, &op(), f).await.unwrap();
    assert_eq!(other.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(), DEFAULT_PLAN.iter().map(|c| c.0).collect::<Vec<_>>());
    let ids: BTreeSet<i64> = plan.iter().map(|c| c.id).collect();
    assert!(other.iter().all(|c| !ids.contains(&c.id) && c.establishment_id == f));

    // An establishment left without a plan gets the default one installed, audited.
    let mut tx = db.begin().await.unwrap();
    tx.exec("DELETE FROM document_classes WHERE establishment_id = $1", &[V::I(f)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(docs::install_default_plan(db, &op(), f).await.unwrap(), DEFAULT_PLAN.len());
    let installed = docs::classes(db, &op(), f).await.unwrap();
    assert_eq!(installed.iter().map(|c| (c.code.as_str(), c.retention_years)).collect::<Vec<_>>(), DEFAULT_PLAN.iter().map(|c| (c.0, c.2)).collect::<Vec<_>>());
    let seeded = audit_rows(db, AuditFilter { establishment_id: Some(f), ..filter(None, "document_class", Some("seed"), "ok") }).await;
    assert_eq!(seeded.len(), 1, "{seeded:?}");
    assert_eq!(changes(&seeded[0])["classes"], serde_json::json!(10));
}

async fn class_refusals_name_the_field_and_write_nothing(t: TestDb) {
    let db = &t.db;
    let e = est::create(db, &op(), &hospital_input("HSM")).await.unwrap().id;
    let n = count(db, "SELECT COUNT(*) FROM document_classes").await;
    let head = audit_head(db).await;

    let cases: Vec<(&str, ClassInput)> = vec![
        ("code", ClassInput { code: "Releve".into(), ..class_input("") }),
        ("code", class_input("releve caf")),
        ("code", class_input("relevé")),
        ("code", class_input("releve-caf")),
        ("code", class_input("  ")),
        ("code", class_input(&"x".repeat(41))),
        ("label", ClassInput { label: " ".into(), ..class_input("releve_caf") }),
        ("retention_years", ClassInput { retention_years: "0".into(), ..class_input("releve_caf") }),
        ("retention_years", ClassInput { retention_years: "101".into(), ..class_input("releve_caf") }),
        ("retention_years", ClassInput { retention_years: "dix".into(), ..class_input("releve_caf") }),
        ("retention_years", ClassInput { retention_years: String::new(), ..class_input("releve_caf") }),
        ("confidentiality", ClassInput { confidentiality: "secret".into(), ..class_input("releve_caf") }),
        ("confidentiality", ClassInput { confidentiality: String::new(), ..class_input("releve_caf") }),
        ("required_for", ClassInput { required_for: "facture".into(), ..class_input("releve_caf") }),
        ("position", ClassInput { position: "premier".into(), ..class_input("releve_caf") }),
    ];
    for (field, input) in cases {
        let errs = invalid(save_class(db, &op(), e, None, &input).await);
        assert_eq!(fields(&errs), set(&[field]), "only {field} for {input:?}: {errs:?}");
    }
    let errs = invalid(save_class(db, &op(), e, None, &class_input("Releve")).await);
    assert_eq!(errs.get("code"), Some("Minuscules sans accent, chiffres et « _ » seulement."));
    let errs = invalid(save_class(db, &op(), e, None, &ClassInput { retention_years: "0".into(), ..class_input("releve_caf") }).await);
    assert_eq!(errs.get("retention_years"), Some("Durée de conservation en années, de 1 à 100."));

    // A code already in the plan of this establishment.
    let errs = invalid(save_class(db, &op(), e, None, &class_input("courrier")).await);
    assert_eq!(fields(&errs), set(&["code"]));
    assert_eq!(errs.get("code"), Some("Ce code est déjà utilisé dans le plan."));
    // Several mistakes at once are all reported.
    let all_wrong = ClassInput {
        code: "courrier".into(),
        label: String::new(),
        retention_years: "200".into(),
        confidentiality: "x".into(),
        required_for: "x".into(),
        position: "x".into(),
        active: "on".into(),
    };
    // (The duplicate code is the unique constraint's answer, once the rest parses.)
    let errs = invalid(save_class(db, &op(), e, None, &all_wrong).await);
    assert_eq!(fields(&errs), set(&["label", "retention_years", "confidentiality", "required_for", "position"]), "{errs:?}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM document_classes").await, n, "no class written");
    assert_eq!(audit_head(db).await, head, "nothing audited");

    // The bounds are accepted; blanks take their defaults.
    let one = save_class(db, &op(), e, None, &ClassInput { retention_years: "1".into(), ..class_input("releve_caf") }).await.unwrap();
    assert_eq!((one.code.as_str(), one.label.as_str(), one.retention_years, one.confidentiality.code(), one.required_for.code()), ("releve_caf", "Relevé de la CAF", 1, "normal", ""));
    assert_eq!((one.position, one.active), (1000, true));
    let hundred = ClassInput {
        retention_years: "100".into(),
        confidentiality: "confidentiel".into(),
        required_for: "sejour".into(),
        position: "5".into(),
        active: String::new(),
        ..class_input("archives_2")
    };
    let h = save_class(db, &op(), e, None, &hundred).await.unwrap();
    assert_eq!((h.retention_years, h.confidentiality.code(), h.required_for.code(), h.position, h.active), (100, "confidentiel", "sejour", 5, false));
    assert_eq!(docs::classes(db, &op(), e).await.unwrap()[0].id, h.id, "ordered by position");
    assert_eq!(count(db, "SELECT COUNT(*) FROM document_classes").await, n + 2);

    // Another establishment may use the same code.
    let f = est::create(db, &op(), &hospital_input("HSN")).await.unwrap().id;
    let there = save_class(db, &op(), f, None, &class_input("releve_caf")).await.unwrap();
    assert_eq!(there.establishment_id, f);

    // Changing a class: its own code is kept, another class's code is refused.
    let renamed = save_class(db, &op(), e, Some(one.id), &ClassInput { label: "Relevé CAF".into(), ..input_of(&one) }).await.unwrap();
    assert_eq!((renamed.id, renamed.label.as_str()), (one.id, "Relevé CAF"));
    let errs = invalid(save_class(db, &op(), e, Some(one.id), &ClassInput { code: "courrier".into(), ..input_of(&renamed) }).await);
    assert_eq!(fields(&errs), set(&["code"]));
    assert_eq!(class(db, e, "releve_caf").await.label, "Relevé CAF", "unchanged by the refused update");
    let updates = audit_rows(db, AuditFilter { entity_id: Some(one.id.to_string()), ..filter(None, "document_class", Some("update"), "ok") }).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(changes(&updates[0])["label"], serde_json::json!(["Relevé de la CAF", "Relevé CAF"]));
    // A class of another establishment cannot be changed through this one.
    let moved = ClassInput { code: "autre_code".into(), ..input_of(&there) };
    assert!(matches!(save_class(db, &op(), e, Some(there.id), &moved).await, Err(Error::NotFound(_))));
    assert_eq!(class(db, f, "releve_caf").await.label, "Relevé de la CAF");
}

async fn plan_changes_are_admin_only_and_audited(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let other = place(db, "HSN").await;
    let tech = user(db, "tech", vec![wide(Role::TechnicienFacturation, pl.est)]).await;
    let admin = user(db, "admin.hsm", vec![wide(Role::Administrateur, pl.est)]).await;
    let n = count(db, "SELECT COUNT(*) FROM document_classes").await;

    // The technicien reads the plan but may not change it.
    assert_eq!(docs::classes(db, &tech, pl.est).await.unwrap().len(), 10);
    forbidden(save_class(db, &tech, pl.est, None, &class_input("releve_caf")).await);
    let courrier = class(db, pl.est, "courrier").await;
    forbidden(save_class(db, &tech, pl.est, Some(courrier.id), &ClassInput { retention_years: "1".into(), ..input_of(&courrier) }).await);
    forbidden(docs::install_default_plan(db, &tech, pl.est).await);
    assert_eq!(count(db, "SELECT COUNT(*) FROM document_classes").await, n);
    assert_eq!(class(db, pl.est, "courrier").await.retention_years, 6);
    let refused = audit_rows(db, filter(Some("tech"), "document_class", None, "refused")).await;
    let mut actions: Vec<&str> = refused.iter().map(|r| r.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["save", "save", "seed"], "every refusal is audited: {refused:?}");
    assert!(refused.iter().all(|r| r.establishment_id == Some(pl.est)), "{refused:?}");

    // The administrator may, in his establishment only.
    let c = save_class(db, &admin, pl.est, None, &class_input("releve_caf")).await.unwrap();
    forbidden(save_class(db, &admin, other.est, None, &class_input("releve_caf")).await);
    let created = audit_rows(db, filter(Some("admin.hsm"), "document_class", Some("create"), "ok")).await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!((created[0].entity_id.as_deref(), created[0].establishment_id), (Some(c.id.to_string().as_str()), Some(pl.est)));
    let ch = changes(&created[0]);
    assert_eq!(ch["code"], serde_json::json!([null, "releve_caf"]), "{ch}");
    assert_eq!(ch["retention_years"], serde_json::json!([null, 5]), "{ch}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM document_classes").await, n + 1);
}

// ---------------------------------------------------------------- uploads

async fn database_upload_keeps_the_exact_bytes_with_checksum_and_retention(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let r = ready_file(db, &pl, pl.a, "Alice").await;
    let courrier = class_id(db, pl.est, "courrier").await;
    let storage = Storage::default();
    let a4 = pdf("Reponse de la mutuelle");

    let files: [(&str, Vec<u8>, &str, &str); 4] = [
        ("C:\\scans\\Réponse mutuelle (1).PDF", a4.clone(), "application/pdf", "reponse_mutuelle__1.pdf"),
        ("Photo-carte_2026.jpeg", jpeg(), "image/jpeg", "photo-carte_2026.jpg"),
        ("../../etc/passwd.png", png(), "image/png", "passwd.png"),
        // The type comes from the content, never from the name.
        ("carte.pdf", png(), "image/png", "carte.png"),
    ];
    let mut ids = Vec::new();
    for (name, bytes, mime, safe) in &files {
        let d = upload(db, &op(), &storage, r.patient, &dated("patient", courrier, "15/03/2024"), name, bytes).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!((d.mime.as_str(), d.file_name.as_str()), (*mime, *safe), "{name}");
        assert_eq!(d.sha256, sha_hex(bytes), "{name}");
        assert_eq!(d.size_bytes, bytes.len() as i64);
        assert_eq!((d.document_date.as_str(), d.retention_until.as_deref()), ("2024-03-15", Some("2030-03-15")), "date + 6 years");
        assert_eq!((d.target_kind.code(), d.target_id, d.class_id, d.class_label.as_str()), ("patient", r.patient, courrier, "Courrier"));
        assert_eq!((d.title.as_str(), d.confidentiality.code(), d.storage.code()), ("Courrier", "normal", "base"), "blank title: the class label");
        assert_eq!((d.establishment_id, d.patient_id, d.version, d.uploaded_by.as_str()), (pl.est, r.patient, 1, "cli:test"));
        assert!(d.withdrawn_at.is_none() && d.withdrawn_reason.is_none());
        let (meta, back) = docs::content(db, &op(), &storage, d.id).await.unwrap();
        assert_eq!(&back, bytes, "byte-identical: {name}");
        assert_eq!(meta.id, d.id);
        ids.push(d.id);
    }
    assert_eq!(stored(db).await, (4, 4));
    // Same content, same checksum; other content, another one.
    assert_eq!(docs::get(db, &op(), ids[2]).await.unwrap().sha256, docs::get(db, &op(), ids[3]).await.unwrap().sha256);
    assert_ne!(sha_hex(&a4), sha_hex(&pdf("Autre courrier")));
    assert_eq!(sha_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "the test's own SHA-256");

    // Other targets of the file; a blank date is today; a title of its own.
    let accord = class_id(db, pl.est, "accord_pec").await;
    let attestation = class_id(db, pl.est, "attestation_droits").await;
    let bulletin = class_id(db, pl.est, "bulletin_admission").await;
    let on_pec = upload(db, &op(), &storage, r.patient, &UploadInput { title: "Accord MGEN n° 12".into(), ..doc(&format!("pec:{}", r.pec), accord) }, "accord.pdf", &a4).await.unwrap();
    assert_eq!((on_pec.target_kind.code(), on_pec.target_id, on_pec.title.as_str()), ("pec", r.pec, "Accord MGEN n° 12"));
    assert_eq!((on_pec.document_date.as_str(), on_pec.retention_until.as_deref()), ("2026-11-22", Some("2036-11-22")), "today + 10 years");
    let on_cov = file_pdf(db, r.patient, &doc(&format!("droit:{}", r.compulsory), attestation), "Attestation").await;
    assert_eq!((on_cov.target_kind.code(), on_cov.target_id), ("droit", r.compulsory));
    let on_stay = file_pdf(db, r.patient, &doc(&format!("sejour:{}", r.stay), bulletin), "Bulletin").await;
    assert_eq!((on_stay.target_kind.code(), on_stay.target_id), ("sejour", r.stay));
    let blank = file_pdf(db, r.patient, &doc("", courrier), "Sans rattachement").await;
    assert_eq!((blank.target_kind.code(), blank.target_id), ("patient", r.patient), "blank target: the file");

    // A file of exactly the limit is accepted.
    let exact = Storage { mode: StorageMode::Database, max_bytes: a4.len() };
    upload(db, &op(), &exact, r.patient, &doc("patient", courrier), "limite.pdf", &a4).await.expect("a file of exactly max_bytes");
    // Retention counts whole years: from 29 February to 28 February.
    let leap = file_pdf(db, r.patient, &dated("patient", courrier, "29/02/2024"), "Bissextile").await;
    assert_eq!((leap.document_date.as_str(), leap.retention_until.as_deref()), ("2024-02-29", Some("2030-02-28")));

    // Listed newest first, each upload audited with its checksum.
    let list = docs::list(db, &op(), r.patient).await.unwrap();
    assert_eq!(list.len(), 10);
    assert!(list.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(stored(db).await, (10, 10));
    let uploads = audit_rows(db, AuditFilter { entity_id: Some(r.patient.to_string()), ..filter(None, "patient", Some("document_upload"), "ok") }).await;
    assert_eq!(uploads.len(), 10);
    let first = uploads.iter().find(|u| changes(u)["document"] == serde_json::json!([null, ids[0]])).expect("audit row of the first upload");
    assert_eq!(changes(first)["sha256"], serde_json::json!([null, sha_hex(&a4)]));
    assert_eq!((first.establishment_id, first.site_id), (Some(pl.est), Some(pl.a)));
    // Each opening above was audited once.
    let views = audit_rows(db, filter(None, "patient", Some("document_view"), "ok")).await;
    assert_eq!(views.len(), 4);
    assert_eq!(views.iter().map(|v| changes(v)["document"].as_i64().unwrap()).collect::<BTreeSet<_>>(), ids.iter().copied().collect());
}

async fn upload_refusals_name_the_field_and_write_nothing(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let elsewhere = place(db, "HSN").await;
    let r = ready_file(db, &pl, pl.a, "Alice").await;
    let q = ready_file(db, &pl, pl.a, "Bruno").await;
    let courrier = class_id(db, pl.est, "courrier").await;
    let foreign_class = class_id(db, elsewhere.est, "courrier").await;
    let old = save_class(db, &op(), pl.est, None, &ClassInput { active: String::new(), ..class_input("ancien_plan") }).await.unwrap();
    assert!(!old.active);
    let storage = Storage::default();
    let good_pdf = pdf("Courrier");
    let head = audit_head(db).await;

    let base = || doc("patient", courrier);
    let mut truncated = good_pdf.clone();
    truncated.truncate(good_pdf.len() - 8);
    let cases: Vec<(&str, UploadInput, &str, Vec<u8>)> = vec![
        ("file", base(), "vide.pdf", Vec::new()),
        ("file", base(), "page.pdf", b"<html><body><script>alert(1)</script></body></html>".to_vec()),
        ("file", base(), "archive.pdf", b"PK\x03\x04\x14\x00\x06\x00word/document.xml".to_vec()),
        ("file", base(), "programme.pdf", b"MZ\x90\x00\x03\x00\x00\x00".to_vec()),
        ("file", base(), "tronque.pdf", truncated),
        ("file", base(), "signature.png", png()[..8].to_vec()),
        ("class_id", doc("patient", 0), "a.pdf", good_pdf.clone()),
        ("class_id", UploadInput { class_id: String::new(), ..base() }, "a.pdf", good_pdf.clone()),
        ("class_id", UploadInput { class_id: "courrier".into(), ..base() }, "a.pdf", good_pdf.clone()),
        ("class_id", doc("patient", 999_999), "a.pdf", good_pdf.clone()),
        ("class_id", doc("patient", old.id), "a.pdf", good_pdf.clone()),
        ("class_id", doc("patient", foreign_class), "a.pdf", good_pdf.clone()),
        ("confidentiality", UploadInput { confidentiality: "secret".into(), ..base() }, "a.pdf", good_pdf.clone()),
        ("target", doc(&format!("droit:{}", q.compulsory), courrier), "a.pdf", good_pdf.clone()),
        ("target", doc(&format!("sejour:{}", q.stay), courrier), "a.pdf", good_pdf.clone()),
        ("target", doc(&format!("pec:{}", q.pec), courrier), "a.pdf", good_pdf.clone()),
        ("target", doc("droit:999999", courrier), "a.pdf", good_pdf.clone()),
        ("target", doc("facture:1", courrier), "a.pdf", good_pdf.clone()),
        ("target", doc("pec:abc", courrier), "a.pdf", good_pdf.clone()),
        ("target", doc("sejour", courrier), "a.pdf", good_pdf.clone()),
        ("document_date", dated("patient", courrier, "23/11/2026"), "a.pdf", good_pdf.clone()),
        ("document_date", dated("patient", courrier, "31/02/2026"), "a.pdf", good_pdf.clone()),
        ("title", UploadInput { title: "t".repeat(201), ..base() }, "a.pdf", good_pdf.clone()),
    ];
    for (field, input, name, bytes) in &cases {
        let errs = invalid(upload(db, &op(), &storage, r.patient, input, name, bytes).await);
        assert_eq!(fields(&errs), set(&[field]), "only {field} for {input:?} / {name}: {errs:?}");
    }
    // The messages say what is wrong.
    let msg = |input: UploadInput, name: &'static str, bytes: Vec<u8>, field: &'static str| {
        let db = db.clone();
        let storage = storage.clone();
        let patient = r.patient;
        async move { invalid(upload(&db, &op(), &storage, patient, &input, name, &bytes).await).get(field).map(str::to_string) }
    };
    assert_eq!(msg(base(), "vide.pdf", Vec::new(), "file").await.as_deref(), Some("Choisissez le fichier à classer."));
    assert_eq!(msg(base(), "page.pdf", b"<html></html>".to_vec(), "file").await.as_deref(), Some(quittance_domain::documents::WRONG_TYPE));
    assert_eq!(
        msg(doc(&format!("pec:{}", q.pec), courrier), "a.pdf", good_pdf.clone(), "target").await.as_deref(),
        Some("Cet élément n'appartient pas au dossier du patient.")
    );
    assert_eq!(msg(dated("patient", courrier, "23/11/2026"), "a.pdf", good_pdf.clone(), "document_date").await.as_deref(), Some("La date du document ne peut pas être dans le futur."));
    // Over the size limit (one byte more than allowed).
    let small = Storage { mode: StorageMode::Database, max_bytes: good_pdf.len() - 1 };
    let errs = invalid(upload(db, &op(), &small, r.patient, &base(), "gros.pdf", &good_pdf).await);
    assert_eq!(fields(&errs), set(&["file"]));
    let expected = format!("Fichier trop volumineux ({} octets) : {} octets au plus.", good_pdf.len(), good_pdf.len() - 1);
    assert_eq!(errs.get("file"), Some(expected.as_str()));
    // Several mistakes at once.
    let errs = invalid(upload(db, &op(), &storage, r.patient, &dated(&format!("sejour:{}", q.stay), old.id, "01/01/2030"), "x.pdf", b"<html>").await);
    assert_eq!(fields(&errs), set(&["file", "class_id", "target", "document_date"]), "{errs:?}");

    assert_eq!(stored(db).await, (0, 0), "nothing written");
    assert_eq!(audit_head(db).await, head, "nothing audited");
    // An unknown file.
    assert!(matches!(upload(db, &op(), &storage, 999_999, &base(), "a.pdf", &good_pdf).await, Err(Error::NotFound(_))));
    // The other patient's own elements are accepted on his file.
    let ok = upload(db, &op(), &storage, q.patient, &doc(&format!("pec:{}", q.pec), courrier), "a.pdf", &good_pdf).await.unwrap();
    assert_eq!((ok.patient_id, ok.target_kind.code(), ok.target_id), (q.patient, "pec", q.pec));
    assert_eq!(stored(db).await, (1, 1));
}

async fn folder_storage_is_content_addressed_and_checked(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let p = patient(db, &pl, pl.a, "Dossier", "Fanny").await;
    let courrier = class_id(db, pl.est, "courrier").await;
    let dir = tempfile::tempdir().unwrap();
    let folder = Storage { mode: StorageMode::Folder(dir.path().to_path_buf()), max_bytes: 1024 * 1024 };
    let path_of = |d: &Document, ext: &str| -> PathBuf { dir.path().join(pl.est.to_string()).join(&d.sha256[..2]).join(format!("{}.{ext}", d.sha256)) };

    let letter = pdf("Courrier range dans le dossier");
    let d = upload(db, &op(), &folder, p, &doc("patient", courrier), "lettre.pdf", &letter).await.unwrap();
    assert_eq!((d.storage.code(), d.sha256.as_str()), ("dossier", sha_hex(&letter).as_str()));
    let path = path_of(&d, "pdf");
    assert_eq!(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())), letter, "the file is the content");
    assert_eq!(stored(db).await, (1, 0), "no content row in the database");
    assert_eq!(docs::content(db, &op(), &folder, d.id).await.unwrap().1, letter);
    // Images get their own extension.
    let img = upload(db, &op(), &folder, p, &doc("patient", courrier), "carte.pdf", &jpeg()).await.unwrap();
    assert!(path_of(&img, "jpg").is_file());
    let pic = upload(db, &op(), &folder, p, &doc("patient", courrier), "carte", &png()).await.unwrap();
    assert!(path_of(&pic, "png").is_file());
    // The same content twice is one file, read by both documents.
    let twin = upload(db, &op(), &folder, p, &doc("patient", courrier), "copie.pdf", &letter).await.unwrap();
    assert_eq!(twin.sha256, d.sha256);
    assert_eq!(docs::content(db, &op(), &folder, twin.id).await.unwrap().1, letter);
    assert_eq!(files_under(dir.path()).len(), 3, "{:?}", files_under(dir.path()));
    // A refused upload writes no file.
    invalid(upload(db, &op(), &folder, p, &doc("patient", courrier), "page.pdf", b"<html></html>").await);
    invalid(upload(db, &op(), &folder, p, &doc("patient", 0), "lettre2.pdf", &pdf("Autre")).await);
    assert_eq!(files_under(dir.path()).len(), 3);
    assert_eq!(stored(db).await, (4, 0));
    // A folder that cannot be written to: refused, nothing recorded.
    let not_a_dir = dir.path().join("fichier");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let broken = Storage { mode: StorageMode::Folder(not_a_dir), max_bytes: 1024 * 1024 };
    let r = upload(db, &op(), &broken, p, &doc("patient", courrier), "lettre3.pdf", &pdf("Perdu")).await;
    assert!(matches!(r, Err(Error::Config(_))), "{r:?}");
    assert_eq!(stored(db).await, (4, 0));

    // Without the folder, a folder document cannot be read.
    assert!(matches!(docs::content(db, &op(), &Storage::default(), d.id).await, Err(Error::Config(_))));
    let empty = tempfile::tempdir().unwrap();
    integrity(docs::content(db, &op(), &Storage { mode: StorageMode::Folder(empty.path().to_path_buf()), max_bytes: 1024 }, d.id).await);

    // A file changed on disk is detected.
    let mut tampered = letter.clone();
    let last = tampered.len() - 20;
    tampered[last] ^= 0x01;
    std::fs::write(&path, &tampered).unwrap();
    let m = integrity(docs::content(db, &op(), &folder, d.id).await);
    assert!(m.contains("SHA-256"), "{m}");
    std::fs::write(&path, &letter).unwrap();
    assert_eq!(docs::content(db, &op(), &folder, d.id).await.unwrap().1, letter, "restored");
    // A deleted file too.
    std::fs::remove_file(&path).unwrap();
    integrity(docs::content(db, &op(), &folder, d.id).await);
    integrity(docs::content(db, &op(), &folder, twin.id).await);
    assert_eq!(docs::content(db, &op(), &folder, img.id).await.unwrap().1, jpeg(), "other files are unaffected");
    // Only the successful openings are audited.
    let views = audit_rows(db, filter(None, "patient", Some("document_view"), "ok")).await;
    assert_eq!(views.len(), 4, "{views:?}");
}

/// Every file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------- who sees what

async fn confidential_documents_are_masked_and_refused_without_the_permission(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let p = patient(db, &pl, pl.a, "Secret", "Gaelle").await;
    let sec = user(db, "sec.a", vec![at_site(Role::SecretaireMedicale, pl.est, pl.a)]).await;
    let tech = user(db, "tech", vec![wide(Role::TechnicienFacturation, pl.est)]).await;
    let courrier = class_id(db, pl.est, "courrier").await;
    let tutelle = class_id(db, pl.est, "mesure_protection").await;

    // By the class's default level, and by the level chosen at upload.
    let judgement = file_pdf(db, p, &dated("patient", tutelle, "01/01/2010"), "Jugement").await;
    assert_eq!((judgement.confidentiality.code(), judgement.title.as_str()), ("confidentiel", "Jugement de tutelle ou de curatelle"));
    let letter = file_pdf(db, p, &UploadInput { confidentiality: "confidentiel".into(), title: "Lettre du juge".into(), ..dated("patient", courrier, "01/01/2015") }, "Lettre").await;
    assert_eq!(letter.confidentiality.code(), "confidentiel");
    let plain = file_pdf(db, p, &UploadInput { title: "Courrier de la CPAM".into(), ..doc("patient", courrier) }, "CPAM").await;
    let lowered = file_pdf(db, p, &UploadInput { confidentiality: "normal".into(), ..doc("patient", tutelle) }, "Copie").await;
    assert_eq!(lowered.confidentiality.code(), "normal", "the level chosen at upload wins over the class's");
    let uploads = audit_rows(db, AuditFilter { entity_id: Some(p.to_string()), ..filter(None, "patient", Some("document_upload"), "ok") }).await;
    assert_eq!(uploads.len(), 4);

    // The secretary sees that they exist, not what they are.
    let titles = |l: &[Document]| l.iter().map(|d| (d.id, d.title.clone(), d.file_name.clone())).collect::<Vec<_>>();
    let hers = docs::list(db, &sec, p).await.unwrap();
    let masked = |id: i64| (id, "Document confidentiel".to_string(), "confidentiel".to_string());
    assert_eq!(
        titles(&hers),
        [
            (lowered.id, "Jugement de tutelle ou de curatelle".to_string(), "scan.pdf".to_string()),
            (plain.id, "Courrier de la CPAM".to_string(), "scan.pdf".to_string()),
            masked(letter.id),
            masked(judgement.id)
        ]
    );
    assert!(!hers[2].openable && hers[1].openable);
    assert_eq!(docs::get(db, &sec, letter.id).await.unwrap().title, "Document confidentiel");
    let expired = docs::past_retention(db, &sec, pl.est, TODAY).await.unwrap();
    assert_eq!(expired.iter().map(|x| (x.document.id, x.document.title.as_str())).collect::<Vec<_>>(), [(judgement.id, "Document confidentiel"), (letter.id, "Document confidentiel")]);
    // She may not open them; each refusal is audited.
    forbidden(docs::content(db, &sec, &Storage::default(), judgement.id).await);
    forbidden(docs::content(db, &sec, &Storage::default(), letter.id).await);
    let refused = audit_rows(db, filter(Some("sec.a"), "document", Some("open"), "refused")).await;
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|r| r.establishment_id == Some(pl.est) && changes(r)["permission"] == "read_confidential_documents"), "{refused:?}");
    // She opens the normal ones.
    assert_eq!(docs::content(db, &sec, &Storage::default(), plain.id).await.unwrap().1, pdf("CPAM"));
    assert_eq!(docs::content(db, &sec, &Storage::default(), lowered.id).await.unwrap().1, pdf("Copie"));

    // The technicien sees and opens everything.
    let his = docs::list(db, &tech, p).await.unwrap();
    assert_eq!(his.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(), ["Jugement de tutelle ou de curatelle", "Courrier de la CPAM", "Lettre du juge", "Jugement de tutelle ou de curatelle"]);
    assert!(his.iter().all(|d| d.openable));
    assert_eq!(docs::content(db, &tech, &Storage::default(), judgement.id).await.unwrap().1, pdf("Jugement"));
    assert_eq!(docs::content(db, &tech, &Storage::default(), letter.id).await.unwrap().1, pdf("Lettre"));

    // One document_view per successful opening, naming the document.
    let viewed = |who: &'static str| {
        let db = db.clone();
        async move {
            let mut v: Vec<i64> =
                audit_rows(&db, filter(Some(who), "patient", Some("document_view"), "ok")).await.iter().map(|r| changes(r)["document"].as_i64().unwrap()).collect();
            v.sort_unstable();
            v
        }
    };
    let mut sec_expected = vec![plain.id, lowered.id];
    sec_expected.sort_unstable();
    let mut tech_expected = vec![judgement.id, letter.id];
    tech_expected.sort_unstable();
    assert_eq!(viewed("sec.a").await, sec_expected);
    assert_eq!(viewed("tech").await, tech_expected);
    let rows = audit_rows(db, filter(Some("tech"), "patient", Some("document_view"), "ok")).await;
    assert!(rows.iter().all(|r| r.entity_id.as_deref() == Some(p.to_string().as_str()) && r.establishment_id == Some(pl.est)));
}

async fn documents_follow_the_sites_of_the_file(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let other = place(db, "HSN").await;
    let mine = patient(db, &pl, pl.a, "Ici", "Hugo").await;
    let theirs = patient(db, &pl, pl.b, "Labas", "Ines").await;
    let hidden = {
        let input = PatientInput {
            birth_name: "Discret".into(),
            birth_first_names: "Jules".into(),
            birth_date: "03/03/1983".into(),
            sex: "M".into(),
            birth_place_code: "69123".into(),
            non_disclosure: true,
            site_id: pl.a.to_string(),
            ..Default::default()
        };
        common::typed::create(db, &op(), pl.est, &input).await.unwrap().id
    };
    let sec = user(db, "sec.a", vec![at_site(Role::SecretaireMedicale, pl.est, pl.a)]).await;
    let outsider = user(db, "tech.hsn", vec![wide(Role::TechnicienFacturation, other.est)]).await;
    let courrier = class_id(db, pl.est, "courrier").await;
    let old = |target: &str| dated(target, courrier, "01/01/2015");
    let d_mine = file_pdf(db, mine, &old("patient"), "Ici").await;
    let d_theirs = file_pdf(db, theirs, &old("patient"), "Labas").await;
    let d_hidden = file_pdf(db, hidden, &old("patient"), "Discret").await;
    let storage = Storage::default();

    // Her site's file: everything.
    assert_eq!(docs::list(db, &sec, mine).await.unwrap().iter().map(|d| d.id).collect::<Vec<_>>(), [d_mine.id]);
    assert_eq!(docs::content(db, &sec, &storage, d_mine.id).await.unwrap().1, pdf("Ici"));
    let hers = upload(db, &sec, &storage, mine, &doc("patient", courrier), "accueil.pdf", &pdf("Accueil")).await.unwrap();
    assert_eq!(hers.uploaded_by, "sec.a");
    let up = audit_rows(db, filter(Some("sec.a"), "patient", Some("document_upload"), "ok")).await;
    assert_eq!((up.len(), up[0].site_id), (1, Some(pl.a)));

    // A file of the other site: refused, and each refusal audited.
    let (n, contents) = stored(db).await;
    let refused_before = audit_rows(db, filter(Some("sec.a"), "patient", None, "refused")).await.len();
    forbidden(docs::list(db, &sec, theirs).await);
    forbidden(docs::get(db, &sec, d_theirs.id).await);
    forbidden(docs::content(db, &sec, &storage, d_theirs.id).await);
    forbidden(upload(db, &sec, &storage, theirs, &doc("patient", courrier), "a.pdf", &pdf("Intrus")).await);
    forbidden(docs::withdraw(db, &sec, d_theirs.id, 1, "Erreur de dossier").await);
    assert_eq!(stored(db).await, (n, contents), "nothing written");
    assert!(docs::get(db, &op(), d_theirs.id).await.unwrap().withdrawn_at.is_none());
    let refused = audit_rows(db, filter(Some("sec.a"), "patient", None, "refused")).await;
    assert_eq!(refused.len() - refused_before, 5, "{refused:?}");
    // A file under non-disclosure does not exist for her.
    assert!(matches!(docs::list(db, &sec, hidden).await, Err(Error::NotFound(_))));
    assert!(matches!(docs::content(db, &sec, &storage, d_hidden.id).await, Err(Error::NotFound(_))));

    // The retention report keeps to her files.
    assert_eq!(expired_ids(db, &sec, pl.est, TODAY).await, [d_mine.id], "only her site's visible files");
    let all: BTreeSet<i64> = expired_ids(db, &op(), pl.est, TODAY).await.into_iter().collect();
    assert_eq!(all, [d_mine.id, d_theirs.id, d_hidden.id].into_iter().collect());
    // Someone of another establishment sees nothing of it.
    forbidden(docs::past_retention(db, &outsider, pl.est, TODAY).await);
    forbidden(docs::content(db, &outsider, &storage, d_mine.id).await);
    forbidden(docs::list(db, &outsider, mine).await);
    assert!(expired_ids(db, &outsider, other.est, TODAY).await.is_empty());

    // A read-only role opens documents but files and withdraws none; a role without
    // access to patient files sees nothing.
    let auditor = user(db, "audit", vec![wide(Role::Auditeur, pl.est)]).await;
    let compta = user(db, "compta", vec![wide(Role::Comptable, pl.est)]).await;
    assert_eq!(docs::content(db, &auditor, &storage, d_theirs.id).await.unwrap().1, pdf("Labas"));
    forbidden(upload(db, &auditor, &storage, theirs, &doc("patient", courrier), "a.pdf", &pdf("Audit")).await);
    forbidden(docs::withdraw(db, &auditor, d_theirs.id, 1, "Erreur").await);
    forbidden(docs::list(db, &compta, mine).await);
    forbidden(docs::content(db, &compta, &storage, d_mine.id).await);
    forbidden(docs::past_retention(db, &compta, pl.est, TODAY).await);
    forbidden(readiness::missing_documents_report(db, &compta, pl.est, TODAY).await);
    assert_eq!(stored(db).await, (n, contents));
    assert!(docs::get(db, &op(), d_theirs.id).await.unwrap().withdrawn_at.is_none());
}

/// A user who is technicien (ReadConfidentialDocuments) at site A and only secretary at
/// site B must not open the confidential documents of a file attached to site B alone:
/// there she acts as a secretary (the permission must be held on one of the file's sites).
async fn confidential_permission_follows_the_sites_of_the_file(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let mixed = user(db, "mixte", vec![at_site(Role::TechnicienFacturation, pl.est, pl.a), at_site(Role::SecretaireMedicale, pl.est, pl.b)]).await;
    let at_a = patient(db, &pl, pl.a, "Site", "Anna").await;
    let at_b = patient(db, &pl, pl.b, "Site", "Berthe").await;
    let tutelle = class_id(db, pl.est, "mesure_protection").await;
    let on_a = file_pdf(db, at_a, &doc("patient", tutelle), "A").await;
    let on_b = file_pdf(db, at_b, &doc("patient", tutelle), "B").await;
    // Technicien at site A: she opens it.
    assert_eq!(docs::content(db, &mixed, &Storage::default(), on_a.id).await.unwrap().1, pdf("A"));
    assert_eq!(docs::list(db, &mixed, at_a).await.unwrap()[0].title, "Jugement de tutelle ou de curatelle");
    // Secretary at site B: masked and refused.
    assert_eq!(docs::list(db, &mixed, at_b).await.unwrap()[0].title, "Document confidentiel", "title of a confidential document of a site-B file");
    forbidden(docs::content(db, &mixed, &Storage::default(), on_b.id).await);
}

// ---------------------------------------------------------------- withdrawal

async fn withdrawal_needs_a_reason_and_the_current_version(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let r = ready_file(db, &pl, pl.a, "Alice").await;
    let accord = class_id(db, pl.est, "accord_pec").await;
    let d = file_pdf(db, r.patient, &doc(&format!("pec:{}", r.pec), accord), "Accord").await;
    assert_eq!(failing(db, r.patient, r.stay).await, Vec::<String>::new(), "the agreement is on file");
    let head = audit_head(db).await;

    // A reason is required (and not too long); a stale version is a conflict.
    let errs = invalid(docs::withdraw(db, &op(), d.id, d.version, "   ").await);
    assert_eq!(fields(&errs), set(&["reason"]));
    assert_eq!(errs.get("reason"), Some("Ce champ est obligatoire."));
    assert_eq!(fields(&invalid(docs::withdraw(db, &op(), d.id, d.version, &"m".repeat(301)).await)), set(&["reason"]));
    assert!(matches!(docs::withdraw(db, &op(), d.id, d.version + 1, "Mauvais dossier").await, Err(Error::Conflict(_))));
    assert!(matches!(docs::withdraw(db, &op(), d.id, 0, "Mauvais dossier").await, Err(Error::Conflict(_))));
    assert!(matches!(docs::withdraw(db, &op(), 999_999, 1, "Mauvais dossier").await, Err(Error::NotFound(_))));
    assert_eq!(audit_head(db).await, head, "nothing audited");
    let still = docs::get(db, &op(), d.id).await.unwrap();
    assert_eq!((still.version, still.withdrawn_at.clone(), still.withdrawn_reason.clone()), (1, None, None), "unchanged");

    // Withdrawn: still listed with its reason, content kept.
    let w = docs::withdraw(db, &op(), d.id, d.version, "  Classé dans le mauvais dossier ").await.unwrap();
    assert_eq!((w.version, w.withdrawn_reason.as_deref()), (2, Some("Classé dans le mauvais dossier")));
    assert!(w.withdrawn_at.is_some());
    let listed = docs::list(db, &op(), r.patient).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].withdrawn_at.clone(), listed[0].withdrawn_reason.as_deref()), (d.id, w.withdrawn_at.clone(), Some("Classé dans le mauvais dossier")));
    assert_eq!(docs::content(db, &op(), &Storage::default(), d.id).await.unwrap().1, pdf("Accord"));
    assert_eq!(stored(db).await, (1, 1), "nothing deleted");
    let rows = audit_rows(db, AuditFilter { entity_id: Some(r.patient.to_string()), ..filter(None, "patient", Some("document_withdraw"), "ok") }).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(changes(&rows[0])["motif"], serde_json::json!([null, "Classé dans le mauvais dossier"]));

    // Not twice, whatever the version.
    for v in [w.version, d.version] {
        let errs = invalid(docs::withdraw(db, &op(), d.id, v, "Encore").await);
        assert_eq!(errs.get("reason"), Some("Ce document est déjà retiré."), "version {v}");
    }
    assert_eq!(docs::get(db, &op(), d.id).await.unwrap().withdrawn_reason.as_deref(), Some("Classé dans le mauvais dossier"));

    // A withdrawn document no longer satisfies the requirement.
    assert_eq!(failing(db, r.patient, r.stay).await, ["justificatifs"]);
    assert_eq!(reported(db, &op(), pl.est, r.stay).await, Some(vec!["justificatifs".to_string()]));
    // Filing it again makes the file ready again.
    file_pdf(db, r.patient, &doc(&format!("pec:{}", r.pec), accord), "Accord").await;
    assert_eq!(failing(db, r.patient, r.stay).await, Vec::<String>::new());
}

// ---------------------------------------------------------------- readiness

async fn agreed_pec_needs_its_agreement_on_file(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let r = ready_file(db, &pl, pl.a, "Alice").await;
    let q = ready_file(db, &pl, pl.a, "Bruno").await;
    let accord = class_id(db, pl.est, "accord_pec").await;
    let demande = class_id(db, pl.est, "demande_pec").await;

    let c = checklist_entry(db, r.patient, r.stay).await;
    assert_eq!(c.failures.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["justificatifs"], "only the document is missing: {c:?}");
    assert_eq!(c.failures[0].1, "Justificatif manquant : Accord de prise en charge.");
    assert!(c.failures[0].1.contains("Accord de prise en charge"));
    assert_eq!(c.failures[0].2, "documents");
    assert_eq!(queued(db, pl.est, r.stay).await, Some(vec!["justificatifs".to_string()]));
    assert_eq!(reported(db, &op(), pl.est, r.stay).await, Some(vec!["justificatifs".to_string()]));
    let report = readiness::missing_documents_report(db, &op(), pl.est, TODAY).await.unwrap();
    let line = report.iter().find(|x| x.stay_id == Some(r.stay)).unwrap();
    assert_eq!((line.patient_id, line.messages.clone()), (r.patient, vec!["Justificatif manquant : Accord de prise en charge.".to_string()]));

    // Documents that do not count: another class on the PEC, the agreement on another
    // target of the file, on a PEC of the same stay not agreed.
    let pending = pec_request(db, &pl, r.patient, r.stay).await;
    let wrong = [
        (format!("pec:{}", r.pec), demande),
        (format!("sejour:{}", r.stay), accord),
        ("patient".to_string(), accord),
        (format!("droit:{}", r.complementary), accord),
        (format!("droit:{}", r.compulsory), accord),
        (format!("pec:{}", pending.id), accord),
    ];
    for (target, class) in wrong {
        file_pdf(db, r.patient, &doc(&target, class), "Piece").await;
        assert_eq!(failing(db, r.patient, r.stay).await, ["justificatifs"], "{target} / class {class} does not count");
    }
    // Another file's agreement does not count for this one.
    file_pdf(db, q.patient, &doc(&format!("pec:{}", q.pec), accord), "Accord de Bruno").await;
    assert_eq!(failing(db, q.patient, q.stay).await, Vec::<String>::new(), "Bruno's file is ready");
    assert_eq!(failing(db, r.patient, r.stay).await, ["justificatifs"]);
    assert_eq!(reported(db, &op(), pl.est, q.stay).await, None);

    // The agreement on its PEC: ready, out of the queue and of the report.
    let d = file_pdf(db, r.patient, &doc(&format!("pec:{}", r.pec), accord), "Accord MGEN").await;
    assert_eq!(d.class_id, accord);
    let c = checklist_entry(db, r.patient, r.stay).await;
    assert!(c.ready, "{c:?}");
    assert_eq!(queued(db, pl.est, r.stay).await, None);
    assert_eq!(reported(db, &op(), pl.est, r.stay).await, None);

    // Agreeing the second request asks for its agreement too.
    let sent = pec::send(db, &op(), pending.id, pending.version).await.unwrap();
    let answer = AnswerInput {
        status: "partielle".into(),
        agreement_number: "ACC-2".into(),
        agreed_items: "forfait_journalier".into(),
        valid_from: "01/11/2026".into(),
        valid_to: "31/12/2026".into(),
        ..Default::default()
    };
    pec::answer(db, &op(), pending.id, sent.version, &pec::parse_answer(db, pending.id, &answer).await.unwrap()).await.unwrap();
    assert_eq!(failing(db, r.patient, r.stay).await, Vec::<String>::new(), "the agreement filed on it before it was agreed counts");
    let third = pec_request(db, &pl, r.patient, r.stay).await;
    let sent = pec::send(db, &op(), third.id, third.version).await.unwrap();
    pec::answer(db, &op(), third.id, sent.version, &pec::parse_answer(db, third.id, &AnswerInput { agreement_number: "ACC-3".into(), ..answer.clone() }).await.unwrap()).await.unwrap();
    assert_eq!(failing(db, r.patient, r.stay).await, ["justificatifs"], "a third agreement without its document");
    assert_eq!(reported(db, &op(), pl.est, r.stay).await, Some(vec!["justificatifs".to_string()]));
}

async fn plan_requirements_drive_the_control(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let r = ready_file(db, &pl, pl.a, "Alice").await;
    let accord = class(db, pl.est, "accord_pec").await;
    let bulletin = class(db, pl.est, "bulletin_admission").await;
    let attestation = class(db, pl.est, "attestation_droits").await;
    let piece = class(db, pl.est, "piece_identite").await;
    let message = |who: i64, stay: i64| {
        let db = db.clone();
        async move { checklist_entry(&db, who, stay).await.failures.iter().find(|f| f.0 == "justificatifs").map(|f| f.1.clone()) }
    };

    // More requirements: listed once each, in plan order.
    for (c, req) in [(&bulletin, "sejour"), (&attestation, "droit_obligatoire"), (&piece, "patient")] {
        save_class(db, &op(), pl.est, Some(c.id), &ClassInput { required_for: req.into(), ..input_of(c) }).await.unwrap();
    }
    assert_eq!(
        message(r.patient, r.stay).await.as_deref(),
        Some("Justificatif manquant : Pièce d'identité, Attestation de droits (assurance obligatoire), Accord de prise en charge, Bulletin d'admission.")
    );
    file_pdf(db, r.patient, &doc("patient", piece.id), "CNI").await;
    file_pdf(db, r.patient, &doc(&format!("droit:{}", r.compulsory), attestation.id), "Attestation").await;
    file_pdf(db, r.patient, &doc(&format!("sejour:{}", r.stay), bulletin.id), "Bulletin").await;
    assert_eq!(message(r.patient, r.stay).await.as_deref(), Some("Justificatif manquant : Accord de prise en charge."));

    // A deactivated class is no longer required.
    save_class(db, &op(), pl.est, Some(accord.id), &ClassInput { active: String::new(), ..input_of(&accord) }).await.unwrap();
    assert_eq!(failing(db, r.patient, r.stay).await, Vec::<String>::new());
    assert_eq!(reported(db, &op(), pl.est, r.stay).await, None);
    // Nor one whose requirement is removed.
    save_class(db, &op(), pl.est, Some(accord.id), &input_of(&accord)).await.unwrap();
    assert_eq!(failing(db, r.patient, r.stay).await, ["justificatifs"]);
    save_class(db, &op(), pl.est, Some(accord.id), &ClassInput { required_for: String::new(), ..input_of(&accord) }).await.unwrap();
    assert_eq!(failing(db, r.patient, r.stay).await, Vec::<String>::new());
}

async fn documents_rule_off_keeps_the_missing_report(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let r = ready_file(db, &pl, pl.a, "Alice").await;
    let tech = user(db, "tech", vec![wide(Role::TechnicienFacturation, pl.est)]).await;
    assert_eq!(failing(db, r.patient, r.stay).await, ["justificatifs"]);

    let off = Rules { documents_required: false, ..Rules::default() };
    forbidden(readiness::save_rules(db, &tech, pl.est, &off).await);
    assert!(readiness::current_rules(db, pl.est).await.unwrap().documents_required, "unchanged by the refusal");
    readiness::save_rules(db, &op(), pl.est, &off).await.unwrap();
    assert_eq!(readiness::current_rules(db, pl.est).await.unwrap(), off, "the rule round-trips");
    assert_eq!(failing(db, r.patient, r.stay).await, Vec::<String>::new(), "documents are not checked");
    assert_eq!(queued(db, pl.est, r.stay).await, None);
    // The report of missing documents still lists the stay, for whoever reads the files.
    assert_eq!(reported(db, &op(), pl.est, r.stay).await, Some(vec!["justificatifs".to_string()]));
    assert_eq!(reported(db, &tech, pl.est, r.stay).await, Some(vec!["justificatifs".to_string()]));
    // A secretary's report keeps to the stays of her site.
    let there = ready_file(db, &pl, pl.b, "Bruno").await;
    let sec = user(db, "sec.a", vec![at_site(Role::SecretaireMedicale, pl.est, pl.a)]).await;
    assert_eq!(reported(db, &op(), pl.est, there.stay).await, Some(vec!["justificatifs".to_string()]));
    assert_eq!(reported(db, &sec, pl.est, r.stay).await, Some(vec!["justificatifs".to_string()]));
    assert_eq!(reported(db, &sec, pl.est, there.stay).await, None, "a stay of another site");
    let viewed = audit_rows(db, filter(Some("tech"), "document", Some("missing_report"), "ok")).await;
    assert_eq!(viewed.len(), 1);
    // Switched back on, the control comes back.
    readiness::save_rules(db, &op(), pl.est, &Rules::default()).await.unwrap();
    assert_eq!(failing(db, r.patient, r.stay).await, ["justificatifs"]);
}

// ---------------------------------------------------------------- retention

async fn retention_report_lists_expired_documents_oldest_first(t: TestDb) {
    let db = &t.db;
    let pl = place(db, "HSM").await;
    let other = place(db, "HSN").await;
    let p = patient(db, &pl, pl.a, "Ancien", "Louis").await;
    let q = patient(db, &pl, pl.b, "Archive", "Marie").await;
    let x = patient(db, &other, other.a, "Ailleurs", "Nina").await;
    let class_of = |e: i64, code: &'static str| class_id(db, e, code);
    let (courrier, domicile, accord) = (class_of(pl.est, "courrier").await, class_of(pl.est, "justificatif_domicile").await, class_of(pl.est, "accord_pec").await);

    let letter_2015 = file_pdf(db, p, &dated("patient", courrier, "01/01/2015"), "2015").await;
    assert_eq!(letter_2015.retention_until.as_deref(), Some("2021-01-01"));
    let accord_2012 = file_pdf(db, q, &dated("patient", accord, "01/06/2012"), "2012").await;
    assert_eq!(accord_2012.retention_until.as_deref(), Some("2022-06-01"));
    let home_2010 = file_pdf(db, p, &dated("patient", domicile, "15/03/2010"), "2010").await;
    assert_eq!(home_2010.retention_until.as_deref(), Some("2016-03-15"));
    let recent = file_pdf(db, p, &dated("patient", courrier, "01/01/2024"), "2024").await;
    assert_eq!(recent.retention_until.as_deref(), Some("2030-01-01"));
    let ends_today = file_pdf(db, q, &dated("patient", courrier, "22/11/2020"), "fin").await;
    assert_eq!(ends_today.retention_until.as_deref(), Some("2026-11-22"));
    let withdrawn = file_pdf(db, p, &dated("patient", courrier, "01/01/2016"), "retire").await;
    docs::withdraw(db, &op(), withdrawn.id, withdrawn.version, "Doublon").await.unwrap();
    let foreign = file_pdf(db, x, &dated("patient", class_of(other.est, "courrier").await, "01/01/2015"), "ailleurs").await;

    let report = docs::past_retention(db, &op(), pl.est, TODAY).await.unwrap();
    assert_eq!(report.iter().map(|x| x.document.id).collect::<Vec<_>>(), [home_2010.id, letter_2015.id, accord_2012.id], "by retention date");
    assert_eq!(
        report.iter().map(|x| x.document.retention_until.as_deref().unwrap()).collect::<Vec<_>>(),
        ["2016-03-15", "2021-01-01", "2022-06-01"]
    );
    let pf = patients::get(db, &op(), p).await.unwrap().patient;
    assert_eq!((report[0].ipp.as_str(), report[0].patient_name.clone()), (pf.ipp.as_str(), format!("{} {}", pf.birth_name, pf.first_name)));
    assert!(report[0].patient_name.to_lowercase().contains("louis"), "{}", report[0].patient_name);
    let qf = patients::get(db, &op(), q).await.unwrap().patient;
    assert_eq!(report[2].ipp, qf.ipp);
    // Its last day of retention is not past yet; the next day it is.
    let tomorrow = date(2026, 11, 23);
    assert_eq!(expired_ids(db, &op(), pl.est, tomorrow).await, [home_2010.id, letter_2015.id, accord_2012.id, ends_today.id]);
    // Far in the future everything but the withdrawn one.
    let later = expired_ids(db, &op(), pl.est, date(2040, 1, 1)).await;
    assert_eq!(later, [home_2010.id, letter_2015.id, accord_2012.id, ends_today.id, recent.id]);
    // Each establishment its own report; the report is audited.
    assert_eq!(expired_ids(db, &op(), other.est, TODAY).await, [foreign.id]);
    let rows = audit_rows(db, AuditFilter { establishment_id: Some(pl.est), ..filter(None, "document", Some("retention_report"), "ok") }).await;
    assert_eq!(rows.len(), 3);
    let counts: BTreeSet<i64> = rows.iter().map(|r| changes(r)["documents"].as_i64().unwrap()).collect();
    assert_eq!(counts, [3, 4, 5].into_iter().collect());
}

// ---------------------------------------------------------------- several servers

/// Two application servers share one PostgreSQL database (two pools, as two
/// processes would have): a document filed through one is listed, opened and checked
/// through the other, and its withdrawal through the second is seen by the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_documents_are_shared_between_servers() {
    let Some(t) = common::postgres().await else { return };
    let server_a = &t.db;
    let server_b = Db::open(&t.url, quittance_store::DbOptions { pg_schema: t.schema.clone(), max_connections: 4, ..Default::default() })
        .await
        .expect("second server's pool");
    let pl = place(server_a, "HSM").await;
    let p = patient(server_a, &pl, pl.a, "Partage", "Paule").await;
    let class = class_id(server_a, pl.est, "piece_identite").await;
    let d = file_pdf(server_a, p, &doc("patient", class), "Carte d'identité").await;
    let listed = docs::list(&server_b, &op(), p).await.expect("list on server B");
    assert_eq!(listed.iter().map(|x| (x.id, x.sha256.clone())).collect::<Vec<_>>(), vec![(d.id, d.sha256.clone())]);
    let (_, bytes) = docs::content(&server_b, &op(), &Storage::default(), d.id).await.expect("content on server B");
    assert_eq!(bytes, pdf("Carte d'identité"));
    docs::withdraw(&server_b, &op(), d.id, d.version, "Mauvais patient").await.expect("withdraw on server B");
    let seen = docs::get(server_a, &op(), d.id).await.expect("get on server A");
    assert_eq!(seen.withdrawn_reason.as_deref(), Some("Mauvais patient"));
    server_b.close().await;
}
