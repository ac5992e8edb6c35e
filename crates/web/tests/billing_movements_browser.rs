//! The billing technician's journey through a stay, in a real browser (headless Chromium):
//! admit a demo patient, record a private room at her written request and an intensive-care
//! period, discharge her, open the valuation and read the explanations and who pays what.
//! Screenshots: `target/screenshots/sejour-mouvements.png`, `sejour-valorisation.png`.
//!
//! Skipped with a message when chromedriver or Chromium is missing, unless
//! `QUITTANCE_REQUIRE_BROWSER=1`, in which case it fails.

mod common;

use common::browser::{Browser, Step, check, choose, click, screenshot, screenshot_dir, text_of, type_into, wait_for_page};
use fantoccini::Client;
use quittance_store::{Db, args};

async fn newest_stay(db: &Db, patient: i64) -> Step<i64> {
    let mut tx = db.read().await.map_err(|e| e.to_string())?;
    let r: Option<(i64,)> = tx.opt("SELECT id FROM stays WHERE patient_id = $1 ORDER BY id DESC", &args![patient]).await.map_err(|e| e.to_string())?;
    tx.rollback().await.ok();
    r.map(|r| r.0).ok_or_else(|| "no stay was created".into())
}

async fn movement(c: &Client, page: &str, kind: &str, start: (&str, &str), end: Option<(&str, &str)>, written: bool) -> Step<()> {
    click(c, "a[href$='/mouvements/nouveau']", "Ajouter un mouvement").await?;
    wait_for_page(c, &format!("{page}/nouveau"), "#f-kind").await?;
    choose(c, "#f-kind", kind).await?;
    type_into(c, "#f-start_date", start.0).await?;
    type_into(c, "#f-start_time", start.1).await?;
    if let Some((d, t)) = end {
        type_into(c, "#f-end_date", d).await?;
        type_into(c, "#f-end_time", t).await?;
    }
    if written {
        click(c, "#f-written_request", "Demande écrite").await?;
    }
    click(c, "form.form button[type=submit]", "Enregistrer le mouvement").await?;
    wait_for_page(c, page, "table#mouvements").await
}

async fn journey(c: &Client, base: &str, db: &Db, patient: i64, med: i64) -> Step<()> {
    let dir = screenshot_dir();
    common::browser::login(c, base, "technicien").await?;
    // Admission.
    c.goto(&format!("{base}/patients/{patient}/sejours/nouveau")).await.map_err(|e| format!("goto: {e}"))?;
    wait_for_page(c, &format!("/patients/{patient}/sejours/nouveau"), "#f-admission_date").await?;
    choose(c, "#f-site_id", &med.to_string()).await?;
    choose(c, "#f-care_mode", "hospitalisation_complete").await?;
    type_into(c, "#f-admission_date", "02/11/2026").await?;
    type_into(c, "#f-admission_time", "09:00").await?;
    click(c, "form.form button[type=submit]", "Enregistrer le séjour").await?;
    wait_for_page(c, &format!("/patients/{patient}"), "main").await?;
    let sid = newest_stay(db, patient).await?;
    // Movements: the private room asked for in writing, then intensive care 03–04/11.
    let page = format!("/patients/{patient}/sejours/{sid}/mouvements");
    c.goto(&format!("{base}{page}")).await.map_err(|e| format!("goto: {e}"))?;
    wait_for_page(c, &page, "h1").await?;
    movement(c, &page, "chambre_particuliere", ("02/11/2026", "09:00"), None, true).await?;
    movement(c, &page, "soins_intensifs", ("03/11/2026", "08:00"), Some(("04/11/2026", "20:00")), false).await?;
    let table = text_of(c, "table#mouvements").await?;
    check(table.contains("Soins intensifs") && table.contains("demande écrite du patient au dossier"), format!("both movements listed: {table}"))?;
    screenshot(c, &dir.join("sejour-mouvements.png")).await?;
    // Discharge on 06/11 at home.
    c.goto(&format!("{base}/patients/{patient}/sejours/{sid}/modifier")).await.map_err(|e| format!("goto: {e}"))?;
    wait_for_page(c, &format!("/patients/{patient}/sejours/{sid}/modifier"), "#f-discharge_date").await?;
    type_into(c, "#f-discharge_date", "06/11/2026").await?;
    type_into(c, "#f-discharge_time", "11:00").await?;
    choose(c, "#f-discharge_mode", "domicile").await?;
    click(c, "form.form button[type=submit]", "Enregistrer le séjour").await?;
    wait_for_page(c, &format!("/patients/{patient}"), "main").await?;
    // The preview.
    c.goto(&format!("{base}/patients/{patient}/sejours/{sid}/valorisation")).await.map_err(|e| format!("goto: {e}"))?;
    wait_for_page(c, &format!("/patients/{patient}/sejours/{sid}/valorisation"), "table#charges").await?;
    let charges = text_of(c, "table#charges").await?;
    check(charges.contains("Forfait journalier") && charges.contains("× 5 jours"), format!("the FJ, 02/11 → 06/11: {charges}"))?;
    check(charges.contains("Chambre particulière") && charges.contains("à la demande écrite du patient"), format!("the private room: {charges}"))?;
    let notes = text_of(c, "#notes").await?;
    check(notes.contains("Chambre particulière non facturée le 03/11/2026 : soins intensifs (art. R162-27 CSS)."), format!("the ICU days explained: {notes}"))?;
    let totals = text_of(c, "#totaux").await?;
    check(totals.contains("Total du séjour") && totals.contains("CPAM") && totals.contains("MGEN"), format!("who pays what: {totals}"))?;
    screenshot(c, &dir.join("sejour-valorisation.png")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_records_a_stay_and_reads_its_valuation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::seeded_db(dir.path()).await;
    let ids = common::fixtures::demo_ids(&db).await;
    let op = common::fixtures::op();
    let input = common::fixtures::at_site(common::fixtures::validated(common::fixtures::person("PARCOURS", "Hélène", "14/05/1958", "F")), ids.med);
    let patient = common::typed::create(&db, &op, ids.hsm, &input).await.expect("file").id;
    // The CPAM and a mutuelle, as the admissions office recorded them.
    use quittance_store::care::coverages::{self, CoverageInput};
    for (code, role) in [("CPAM69", "obligatoire"), ("MGEN", "complementaire")] {
        let payer = common::fixtures::payer_id(&db, ids.hsm, code).await;
        let c = CoverageInput { member_number: "2580569123045".into(), ..common::fixtures::coverage_input(payer, role, "01/01/2026", "") };
        let parsed = coverages::parse(&db, patient, &c).await.expect("a valid coverage");
        coverages::save(&db, &op, patient, None, 0, &parsed).await.expect("coverage");
    }
    let Some(browser) = Browser::start(&db).await else { return };
    let outcome = journey(&browser.client, &browser.base.clone(), &db, patient, ids.med).await;
    browser.finish(outcome).await;
    let sid = newest_stay(&db, patient).await.expect("stay");
    let v = quittance_store::billing::valuation::stay(&db, &op, sid, None).await.expect("valuation");
    let cp: Vec<_> = v.charges().into_iter().filter(|c| c.category == quittance_domain::billing::tariffs::TariffCategory::ChambreParticuliere).map(|c| c.days.len()).collect();
    assert_eq!(cp.iter().sum::<usize>(), 3, "02, 05 and 06/11: not the two intensive-care days");
}
