//! The activity pages in a real browser (headless Chromium through chromedriver): the DPASS's
//! medical secretary opens a patient's activity, values November, records an act from the
//! keyboard, sees a bad date's error next to « Date de l'acte », then saves it; the technicien
//! reads the hospital's offers. Screenshots: `target/screenshots/activite.png`,
//! `acte-erreur.png`, `activite-acte.png`, `prestations-annexes.png`.
//!
//! Skipped with a message when chromedriver or Chromium is missing, unless
//! `QUITTANCE_REQUIRE_BROWSER=1`, in which case it fails.

mod common;

use common::browser::{Browser, Step, check, choose, click, screenshot, screenshot_dir, text_of, type_into, wait_for_page};
use fantoccini::Client;
use fantoccini::key::Key;
use quittance_store::args;

async fn journey(c: &Client, base: &str, patient: i64, rs: i64) -> Step<()> {
    let dir = screenshot_dir();
    common::browser::login(c, base, "secretaire").await?;
    let page = format!("/patients/{patient}/activite");
    c.goto(&format!("{base}{page}?du=01%2F11%2F2026&au=30%2F11%2F2026")).await.map_err(|e| format!("goto {page}: {e}"))?;
    wait_for_page(c, &page, "table.charges").await?;
    let charges = text_of(c, "table.charges").await?;
    check(charges.contains("AMI 2 × 380 XPF, le 12/11/2026") && charges.contains("3\u{202f}500 XPF"), format!("the charges in French: {charges}"))?;
    screenshot(c, &dir.join("activite.png")).await?;

    click(c, "a[href$='/actes/nouveau']", "Nouvel acte").await?;
    wait_for_page(c, &format!("/patients/{patient}/actes/nouveau"), "#f-act_date").await?;
    choose(c, "#f-site_id", &rs.to_string()).await?;
    choose(c, "#f-code", "AMI").await?;
    type_into(c, "#f-act_date", "31/02/2026").await?;
    type_into(c, "#f-practitioner", "IDE Tein").await?;
    type_into(c, "#f-coefficient", "3").await?;
    // Sent from the keyboard: Enter in the last field.
    let el = c.find(fantoccini::Locator::Css("#f-coefficient")).await.map_err(|e| format!("find: {e}"))?;
    el.send_keys(&Key::Enter.to_string()).await.map_err(|e| format!("enter: {e}"))?;
    wait_for_page(c, &format!("/patients/{patient}/actes/nouveau"), ".error-summary").await?;
    let err = text_of(c, "#e-act_date").await?;
    check(err.contains("n'existe pas"), format!("the error next to the date: {err}"))?;
    screenshot(c, &dir.join("acte-erreur.png")).await?;

    type_into(c, "#f-act_date", "26/11/2026").await?;
    click(c, "form.form button[type=submit]", "Enregistrer l'acte").await?;
    wait_for_page(c, &page, "table.acts").await?;
    let acts = text_of(c, "table.acts").await?;
    check(acts.contains("26/11/2026") && acts.contains("IDE Tein"), format!("the act is listed: {acts}"))?;
    screenshot(c, &dir.join("activite-acte.png")).await?;

    click(c, "#deconnexion", "Se déconnecter").await?;
    wait_for_page(c, "/login", "#username").await?;
    type_into(c, "#username", "technicien").await?;
    type_into(c, "#password", common::PASSWORD).await?;
    click(c, "#se-connecter", "the login button").await?;
    wait_for_page(c, "/", "#deconnexion").await?;
    c.goto(&format!("{base}/prestations-annexes")).await.map_err(|e| format!("goto offers: {e}"))?;
    wait_for_page(c, "/prestations-annexes", "table.offers").await?;
    let offers = text_of(c, "table.offers").await?;
    check(offers.contains("Médecine interne") && offers.contains("TEL-U"), format!("the offers: {offers}"))?;
    screenshot(c, &dir.join("prestations-annexes.png")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secretary_records_an_act_with_the_keyboard() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::seeded_db(dir.path()).await;
    let ids = common::fixtures::demo_ids(&db).await;
    let (patient,): (i64,) = {
        let mut tx = db.read().await.unwrap();
        let r = tx.one("SELECT MIN(patient_id) FROM cms_acts WHERE establishment_id = $1", &args![ids.dpass]).await.unwrap();
        tx.rollback().await.unwrap();
        r
    };
    let Some(browser) = Browser::start(&db).await else { return };
    let outcome = journey(&browser.client, &browser.base.clone(), patient, ids.rs).await;
    browser.finish(outcome).await;
}
