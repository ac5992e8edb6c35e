//! The prise-en-charge journey in a real browser (headless Chromium through
//! chromedriver): the technicien adds the complementary coverage of a patient in
//! hospital, asks the mutuelle for cover, records its agreement, files the
//! mutuelle's answer (a PDF chosen in the file picker) and watches the checklist
//! turn to « prêt à facturer ».

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;

use std::io::Write;

use common::{fixtures, fr};
use common::browser::{Browser, JourneyFile, journey_file, Step, check, choose, click, login, screenshot, screenshot_dir, text_of, type_into, wait_for_page, wait_for_text};
use fantoccini::{Client, Locator};
use flow::coverages::{self, CoverageInput};
use quittance_store::{Actor, Db, documents, pec, readiness};

struct Setup {
    patient: i64,
    stay: i64,
    mgen: i64,
}

/// A validated HSM file with a debtor, a current full hospitalisation in Médecine
/// interne and its compulsory coverage (CPAM), but no complementary.
async fn setup(db: &Db) -> Setup {
    let op = fixtures::op();
    let ids = fixtures::demo_ids(db).await;
    let hsm = ids.hsm;
    let payer = |code: &'static str| fixtures::payer_id(db, hsm, code);
    let file = JourneyFile {
        name: "Vasseur",
        first_names: "Élodie Anne",
        born: "14/07/1979",
        doc_number: "790714123456",
        address: "3 quai Saint-Antoine",
        admitted_days_ago: 2,
        admission_time: "09:40",
        leaves_in_days: 6,
    };
    let (p, stay) = journey_file(db, &file).await;
    let cpam = CoverageInput { member_number: "2790769123045".into(), ..fixtures::coverage_input(payer("CPAM69").await, "obligatoire", "01/01/2026", "") };
    coverages::save(db, &op, p.id, None, 0, &cpam).await.expect("compulsory coverage");
    Setup { patient: p.id, stay, mgen: payer("MGEN").await }
}

async fn checklist(c: &Client) -> Step<String> {
    text_of(c, "section[aria-labelledby='h-controle']").await
}

async fn journey(c: &Client, base: &str, s: &Setup, answer_pdf: &std::path::Path, shot: &std::path::Path) -> Step<()> {
    let file = format!("/patients/{}", s.patient);
    let today = jiff::Zoned::now().date();
    login(c, base, "technicien").await?;
    c.goto(&format!("{base}{file}")).await.map_err(|e| format!("goto file: {e}"))?;
    wait_for_page(c, &file, "#h-controle").await?;
    let list = checklist(c).await?;
    check(list.contains("incomplet") && list.contains("Pas de complémentaire"), format!("complementary missing: {list:?}"))?;

    // 1. The complementary coverage (MGEN) through the coverage form.
    let new_coverage = format!("/patients/{}/droits/nouveau", s.patient);
    click(c, &format!("section[aria-labelledby='h-droits'] a.button[href='{new_coverage}']"), "« Ajouter un droit »").await?;
    wait_for_page(c, &new_coverage, "#f-payer_id").await?;
    choose(c, "#f-payer_id", &s.mgen.to_string()).await?;
    choose(c, "#f-role", "complementaire").await?;
    type_into(c, "#f-member_number", "M7788990").await?;
    type_into(c, "#f-valid_from", "01/01/2026").await?;
    click(c, "main form.form button[type=submit]", "« Enregistrer le droit »").await?;
    wait_for_page(c, &file, "#h-controle").await?;
    let list = checklist(c).await?;
    check(list.contains("Aucune prise en charge accordée") && !list.contains("Pas de complémentaire"), format!("now the PEC is missing: {list:?}"))?;

    // 2. The request: « Nouvelle demande », sent, then the mutuelle's agreement.
    let new_pec = format!("/patients/{}/pec/nouvelle", s.patient);
    click(c, &format!("section[aria-labelledby='h-pec'] a.button[href='{new_pec}']"), "« Nouvelle demande »").await?;
    wait_for_page(c, &new_pec, "#f-payer_id").await?;
    choose(c, "#f-payer_id", &s.mgen.to_string()).await?;
    choose(c, "#f-stay_id", &s.stay.to_string()).await?;
    type_into(c, "#f-requested_days", "8").await?;
    type_into(c, "#f-estimate", "720,00").await?;
    click(c, "main form.form button[type=submit]", "« Créer la demande »").await?;
    let start = std::time::Instant::now();
    let pec_path = loop {
        let url = c.current_url().await.map_err(|e| e.to_string())?;
        if url.path().starts_with(&format!("/patients/{}/pec/", s.patient)) && !url.path().ends_with("/nouvelle") {
            break url.path().to_string();
        }
        check(start.elapsed() < common::browser::STEP_TIMEOUT, format!("no PEC page after creating the request (on {url})"))?;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    wait_for_page(c, &pec_path, "[data-testid='statut-pec']").await?;
    check(text_of(c, "[data-testid='statut-pec']").await? == "Brouillon", "a new request is a draft")?;
    click(c, &format!("form[action='{pec_path}/envoyer'] button"), "« Marquer comme envoyée »").await?;
    wait_for_page(c, &pec_path, "#f-agreement_number").await?;
    choose(c, "#f-status", "acceptee").await?;
    type_into(c, "#f-agreement_number", "MGEN-2026-55120").await?;
    type_into(c, "#f-cap_per_day", "60,00").await?;
    type_into(c, "#f-max_days", "10").await?;
    type_into(c, "#f-valid_from", &fr(today.checked_sub(jiff::Span::new().days(5)).unwrap())).await?;
    type_into(c, "#f-valid_to", &fr(today.checked_add(jiff::Span::new().days(30)).unwrap())).await?;
    click(c, &format!("form[action='{pec_path}/reponse'] button[type=submit]"), "« Enregistrer la réponse »").await?;
    wait_for_page(c, &pec_path, "#h-pec-docs").await?;
    // The answer is posted from the page it redirects back to: wait for the new status.
    wait_for_text(c, "[data-testid='statut-pec']", "Acceptée").await.map_err(|e| format!("agreement recorded: {e}"))?;

    // 3. Back on the file, only the answer document is missing.
    c.goto(&format!("{base}{file}")).await.map_err(|e| format!("goto file: {e}"))?;
    wait_for_page(c, &file, "#h-controle").await?;
    let list = checklist(c).await?;
    let failures = c.find_all(Locator::Css("section[aria-labelledby='h-controle'] li.ko")).await.map_err(|e| e.to_string())?;
    check(failures.len() == 1 && list.contains("Justificatif manquant : Accord de prise en charge"), format!("only the answer is missing: {list:?}"))?;

    // 4. File the mutuelle's answer from the PEC page: target and class come preselected.
    c.goto(&format!("{base}{pec_path}")).await.map_err(|e| format!("goto PEC: {e}"))?;
    wait_for_page(c, &pec_path, "#h-pec-docs").await?;
    click(c, "section[aria-labelledby='h-pec-docs'] a.button", "« Joindre la réponse de l'organisme »").await?;
    let upload = format!("/patients/{}/documents/nouveau", s.patient);
    wait_for_page(c, &upload, "#f-file").await?;
    let target = c.find(Locator::Css("#f-target option:checked")).await.map_err(|e| e.to_string())?.text().await.map_err(|e| e.to_string())?;
    check(target.starts_with("Prise en charge PEC-"), format!("the PEC is preselected: {target:?}"))?;
    let class = c.find(Locator::Css("#f-class_id option:checked")).await.map_err(|e| e.to_string())?.text().await.map_err(|e| e.to_string())?;
    check(class.starts_with("Accord de prise en charge"), format!("the class is preselected: {class:?}"))?;
    c.find(Locator::Css("#f-file")).await.map_err(|e| e.to_string())?.send_keys(&answer_pdf.display().to_string()).await.map_err(|e| format!("choose the file: {e}"))?;
    type_into(c, "#f-title", "Accord MGEN du séjour").await?;
    click(c, "main form.form button[type=submit]", "« Classer le document »").await?;
    wait_for_page(c, &pec_path, "#h-pec-docs").await?;
    let flash = text_of(c, "main .flash").await?;
    check(flash == "Document classé.", format!("flash {flash:?}"))?;
    let docs = text_of(c, "section[aria-labelledby='h-pec-docs']").await?;
    check(docs.contains("Accord MGEN du séjour") && docs.contains("Accord de prise en charge"), format!("the answer is listed: {docs:?}"))?;
    check(docs.contains("Lettre de demande PEC-"), format!("the letter as sent is filed too: {docs:?}"))?;

    // 5. The checklist is complete.
    c.goto(&format!("{base}{file}")).await.map_err(|e| format!("goto file: {e}"))?;
    wait_for_page(c, &file, "[data-testid='pret']").await?;
    let badge = text_of(c, "[data-testid='pret']").await?;
    check(badge == "prêt à facturer", format!("badge {badge:?}"))?;
    let list = checklist(c).await?;
    check(list.contains("Tous les contrôles sont satisfaits."), format!("checklist {list:?}"))?;
    let docs = text_of(c, "[data-testid='documents']").await?;
    check(docs.contains("Accord MGEN du séjour"), format!("the file lists the document: {docs:?}"))?;
    screenshot(c, shot).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn technicien_files_the_mutuelle_answer_and_the_file_becomes_ready_to_bill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::seeded_db(dir.path()).await;
    let s = setup(&db).await;
    let Some(browser) = Browser::start(&db).await else { return };
    let answer = dir.path().join("reponse-mgen.pdf");
    let bytes = quittance_store::demo::care::demo_pdf("Accord MGEN-2026-55120");
    std::fs::write(&answer, &bytes).expect("write the answer PDF");
    let shot = screenshot_dir().join("documents.png");
    let _ = std::fs::remove_file(&shot);
    let outcome = journey(&browser.client, &browser.base.clone(), &s, &answer, &shot).await;
    browser.finish(outcome).await;

    // What the browser did is stored: the agreed PEC and its answer, byte for byte.
    let op = Actor::system("t");
    let pecs = pec::list(&db, &op, s.patient).await.expect("pecs");
    assert_eq!(pecs.len(), 1);
    assert_eq!((pecs[0].status.code(), pecs[0].agreement_number.as_deref(), pecs[0].stay_id), ("acceptee", Some("MGEN-2026-55120"), Some(s.stay)));
    let docs = documents::list(&db, &op, s.patient).await.expect("documents");
    assert_eq!(docs.len(), 2, "the letter filed when sent, and the answer: {docs:?}");
    let letter = docs.iter().find(|d| d.title.starts_with("Lettre de demande PEC-")).expect("the letter as sent");
    assert_eq!((letter.target_kind.code(), letter.target_id, letter.mime.as_str()), ("pec", pecs[0].id, "application/pdf"));
    let d = docs.iter().find(|d| d.title == "Accord MGEN du séjour").expect("the answer");
    assert_eq!((d.target_kind.code(), d.target_id, d.title.as_str(), d.mime.as_str()), ("pec", pecs[0].id, "Accord MGEN du séjour", "application/pdf"));
    assert_eq!(d.file_name, "reponse-mgen.pdf");
    let (_, content) = documents::content(&db, &op, &documents::Storage::default(), d.id).await.expect("content");
    assert_eq!(content, bytes, "the stored content is the chosen file");
    let list = readiness::checklist(&db, &op, s.patient, jiff::Zoned::now().date()).await.expect("checklist");
    assert!(list.iter().any(|c| c.stay_id == Some(s.stay) && c.ready), "{list:?}");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.len() > 10_000, "a real screenshot ({} bytes)", png.len());
    let _ = writeln!(std::io::stderr(), "screenshot: {}", shot.display());
}
