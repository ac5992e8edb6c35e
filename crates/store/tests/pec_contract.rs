//! Prises en charge on both backends: lifecycle, answers, alerts, and their effect
//! on billing readiness.

mod common;
mod flow;

use common::TestDb;
use common::fixtures::{self, at_site, op, person};
use flow::coverages::{self, CoverageInput};
use quittance_store::patients::{DebtorInput, PatientInput};
use quittance_store::pec::{self, AnswerInput, PecInput};
use flow::stays::{self, StayInput};
use quittance_store::{Actor, Error, demo, readiness};
use flow::establishments as est;
use flow::payers;

contract!(pec_lifecycle_and_readiness, pec_validation_and_refused_transitions);

/// Parses, then creates (as the pages and the API do).
async fn create(db: &quittance_store::Db, actor: &Actor, patient: i64, raw: &PecInput) -> Result<pec::Pec, Error> {
    let new = pec::parse_new(db, patient, raw).await?;
    pec::create(db, actor, patient, &new).await
}

/// Parses, then records the answer.
async fn answer_raw(db: &quittance_store::Db, actor: &Actor, id: i64, version: i64, raw: &AnswerInput) -> Result<pec::Pec, Error> {
    let a = pec::parse_answer(db, id, raw).await?;
    pec::answer(db, actor, id, version, &a).await
}

/// A validated patient with a debtor, a current stay, compulsory and complementary coverage.
async fn ready_but_for_pec(db: &quittance_store::Db) -> (i64, i64, i64, i64) {
    let hsm = fixtures::seed_demo(db).await.hsm;
    let site = est::list_sites(db, &op(), hsm).await.unwrap()[0].id;
    let p = common::typed::create(
        db,
        &op(),
        hsm,
        &PatientInput {
            identity_status: "validee".into(),
            doc_type: "passeport".into(),
            doc_number: "12AB34567".into(),
            birth_place_code: "29019".into(),
            birth_place_label: String::new(),
            ..at_site(person("Quéméner", "Anne", "12/05/1961", "F"), site)
        },
    )
    .await
    .unwrap();
    common::typed::save_debtor(
        db,
        &op(),
        p.id,
        None,
        &DebtorInput { kind: "patient".into(), address_line1: "3 rue de Siam".into(), postcode: "29200".into(), city: "Brest".into(), guarantees: "sejour".into(), ..Default::default() },
    )
    .await
    .unwrap();
    let stay = stays::save(
        db,
        &op(),
        p.id,
        None,
        0,
        &StayInput { site_id: site.to_string(), care_mode: "hospitalisation_complete".into(), admission_date: "10/11/2026".into(), planned_discharge_date: "30/11/2026".into(), ..Default::default() },
    )
    .await
    .unwrap();
    let list = payers::list(db, &op(), hsm).await.unwrap();
    let cpam = list.iter().find(|x| x.code == "CPAM69").unwrap().id;
    let mgen = list.iter().find(|x| x.code == "MGEN").unwrap().id;
    for (payer, role) in [(cpam, "obligatoire"), (mgen, "complementaire")] {
        coverages::save(db, &op(), p.id, None, 0, &CoverageInput { payer_id: payer.to_string(), role: role.into(), valid_from: "01/01/2026".into(), ..Default::default() })
            .await
            .unwrap();
    }
    (hsm, p.id, stay.id, mgen)
}

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 11, 22)
}

async fn codes(db: &quittance_store::Db, patient: i64) -> Vec<String> {
    readiness::checklist(db, &op(), patient, today()).await.unwrap()[0].failures.iter().map(|f| f.0.clone()).collect()
}

async fn pec_lifecycle_and_readiness(t: TestDb) {
    let db = &t.db;
    let (est_id, patient, stay, mgen) = ready_but_for_pec(db).await;
    assert_eq!(codes(db, patient).await, ["pec"], "only the PEC is missing");

    let req = PecInput {
        payer_id: mgen.to_string(),
        stay_id: stay.to_string(),
        requested_items: "forfait_journalier,chambre_particuliere".into(),
        requested_days: "20".into(),
        estimate: "1 360,00".into(),
        ..Default::default()
    };
    let p = create(db, &op(), patient, &req).await.unwrap();
    assert_eq!(p.status.code(), "brouillon");
    assert!(p.number.starts_with(&format!("PEC-{}-", jiff::Zoned::now().year())), "{}", p.number);
    assert_eq!(p.estimate.minor, 136_000);
    let p2 = create(db, &op(), patient, &req).await.unwrap();
    let n1: u64 = p.number.rsplit('-').next().unwrap().parse().unwrap();
    let n2: u64 = p2.number.rsplit('-').next().unwrap().parse().unwrap();
    assert_eq!(n2, n1 + 1, "gapless numbering");

    // A draft cannot be answered; a stale version is a conflict.
    let accept = AnswerInput {
        status: "acceptee".into(),
        agreement_number: "ACC-77".into(),
        agreed_items: "forfait_journalier,chambre_particuliere".into(),
        cap_per_day: "65,00".into(),
        max_days: "20".into(),
        valid_from: "01/11/2026".into(),
        valid_to: "31/12/2026".into(),
        ..Default::default()
    };
    assert!(matches!(answer_raw(db, &op(), p.id, p.version, &accept).await, Err(Error::Invalid(_))));
    let sent = pec::send(db, &op(), p.id, p.version).await.unwrap();
    assert_eq!(sent.status.code(), "envoyee");
    assert!(sent.sent_at.is_some());
    assert!(matches!(pec::send(db, &op(), p.id, p.version).await, Err(Error::Conflict(_))));
    assert!(matches!(pec::send(db, &op(), p.id, sent.version).await, Err(Error::Invalid(_))), "only a draft is sent");
    assert_eq!(codes(db, patient).await, ["pec"], "a sent request is not an agreement");

    // Answered: the checklist turns complete.
    let ok = answer_raw(db, &op(), p.id, sent.version, &accept).await.unwrap();
    assert_eq!(ok.status.code(), "acceptee");
    assert_eq!(ok.cap_per_day.map(|m| m.minor), Some(6_500));
    // The plan requires the payer's answer to be filed for an agreed PEC.
    assert_eq!(codes(db, patient).await, ["justificatifs"], "the agreement's answer is not filed yet");
    let class: (i64,) = {
        let mut tx = db.read().await.unwrap();
        let c = tx.one("SELECT id FROM document_classes WHERE establishment_id = $1 AND code = 'accord_pec'", &quittance_store::args![est_id]).await.unwrap();
        tx.rollback().await.unwrap();
        c
    };
    let answer = quittance_store::documents::UploadInput { target: format!("pec:{}", ok.id), class_id: class.0.to_string(), ..Default::default() };
    quittance_store::documents::parse_and_upload(db, &op(), &quittance_store::documents::Storage::default(), patient, &answer, "accord.pdf", &quittance_store::demo::care::demo_pdf("ACC-77"), today())
        .await
        .unwrap();
    assert!(codes(db, patient).await.is_empty(), "ready to bill");
    let q = readiness::queue(db, &op(), est_id, today()).await.unwrap();
    assert!(!q.iter().any(|x| x.patient_id == patient));

    // An agreement ending during the stay raises an alert; expiring it brings the control back.
    let sent2 = pec::send(db, &op(), p2.id, p2.version).await.unwrap();
    let short = AnswerInput { valid_to: "25/11/2026".into(), agreement_number: "ACC-78".into(), ..accept.clone() };
    answer_raw(db, &op(), p2.id, sent2.version, &short).await.unwrap();
    let answer2 = quittance_store::documents::UploadInput { target: format!("pec:{}", p2.id), class_id: class.0.to_string(), ..Default::default() };
    quittance_store::documents::parse_and_upload(db, &op(), &quittance_store::documents::Storage::default(), patient, &answer2, "accord.pdf", &quittance_store::demo::care::demo_pdf("ACC-78"), today())
        .await
        .unwrap();
    let alerts = pec::alerts(db, &op(), est_id, today()).await.unwrap();
    assert!(alerts.iter().any(|a| a.pec_id == p2.id && a.message.contains("25/11/2026")), "{alerts:?}");
    let expired = pec::expire(db, &op(), ok.id, ok.version).await.unwrap();
    assert_eq!(expired.status.code(), "expiree");
    // Service dates run to today while the patient is present: the short agreement
    // covers them until 25/11, not after.
    assert!(codes(db, patient).await.is_empty(), "covered up to today (22/11)");
    let on_27 = readiness::checklist(db, &op(), patient, jiff::civil::date(2026, 11, 27)).await.unwrap();
    assert_eq!(on_27[0].failures.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["pec"], "not covered once the agreement has ended");

    // Overdue answers: a request sent today is not overdue, 16 days later it is.
    let p3 = create(db, &op(), patient, &req).await.unwrap();
    pec::send(db, &op(), p3.id, p3.version).await.unwrap();
    let later = today().checked_add(jiff::Span::new().days(40)).unwrap();
    assert!(!pec::alerts(db, &op(), est_id, today()).await.unwrap().iter().any(|a| a.pec_id == p3.id && a.message.contains("Sans réponse")));
    assert!(pec::alerts(db, &op(), est_id, later).await.unwrap().iter().any(|a| a.pec_id == p3.id && a.message.contains("Sans réponse")));
}

async fn pec_validation_and_refused_transitions(t: TestDb) {
    let db = &t.db;
    let (_, patient, stay, mgen) = ready_but_for_pec(db).await;
    let hsm = est::list(db, &op()).await.unwrap().into_iter().find(|e| e.code == "HSM").unwrap();
    let cpam = payers::list(db, &op(), hsm.id).await.unwrap().into_iter().find(|x| x.code == "CPAM69").unwrap().id;
    match create(db, &op(), patient, &PecInput { payer_id: cpam.to_string(), requested_days: "0".into(), estimate: "12,345".into(), ..Default::default() }).await {
        Err(Error::Invalid(e)) => {
            for f in ["payer_id", "requested_items", "requested_days", "stay_id", "estimate"] {
                assert!(e.get(f).is_some(), "{f}: {e:?}");
            }
        }
        other => panic!("{other:?}"),
    }
    let p = create(
        db,
        &op(),
        patient,
        &PecInput { payer_id: mgen.to_string(), stay_id: stay.to_string(), requested_items: "forfait_journalier".into(), requested_days: "5".into(), ..Default::default() },
    )
    .await
    .unwrap();
    let sent = pec::send(db, &op(), p.id, p.version).await.unwrap();
    // An agreement needs its number and period; items must have been requested.
    match answer_raw(db, &op(), p.id, sent.version, &AnswerInput { status: "acceptee".into(), agreed_items: "chambre_particuliere".into(), ..Default::default() }).await {
        Err(Error::Invalid(e)) => {
            for f in ["agreement_number", "agreed_items", "valid_to"] {
                assert!(e.get(f).is_some(), "{f}: {e:?}");
            }
        }
        other => panic!("{other:?}"),
    }
    // A refusal needs none of it, and cannot expire.
    let refused = answer_raw(db, &op(), p.id, sent.version, &AnswerInput { status: "refusee".into(), note: "Hors garanties".into(), ..Default::default() }).await.unwrap();
    assert_eq!(refused.status.code(), "refusee");
    assert!(matches!(pec::expire(db, &op(), p.id, refused.version).await, Err(Error::Invalid(_))));
    // A comptable may not create requests (no access to patient files), and the refusal is audited.
    let s = quittance_store::access::login(db, "comptable", demo::DEMO_PASSWORD, "10.9.0.1", None).await.unwrap();
    let comptable = quittance_store::access::session(db, &s.token).await.unwrap().actor;
    let valid = PecInput { payer_id: mgen.to_string(), stay_id: stay.to_string(), requested_items: "forfait_journalier".into(), requested_days: "5".into(), ..Default::default() };
    assert!(matches!(create(db, &comptable, patient, &valid).await, Err(Error::Forbidden)));
}
