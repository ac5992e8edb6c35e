//! The tariff pages in a real browser (headless Chromium through chromedriver): the
//! administrator reads the hospital's tariffs, filters them on a day with the keyboard,
//! opens a new version of the forfait journalier, types a bad price and sees the error next
//! to « Prix », then saves it. Screenshots: `target/screenshots/tarifs.png`,
//! `tarifs-filtre.png`, `parametres-facturation.png`, `tarif-erreur.png`, and the New
//! Caledonian establishment's `tarifs-nc.png`.
//!
//! Skipped with a message when chromedriver or Chromium is missing, unless
//! `QUITTANCE_REQUIRE_BROWSER=1`, in which case it fails.

mod common;

use common::browser::{Browser, Step, check, click, screenshot, screenshot_dir, text_of, type_into, wait_for_page};
use fantoccini::Client;
use fantoccini::key::Key;
use quittance_store::billing::tariffs::{self, TariffFilter};

async fn journey(c: &Client, base: &str, fj: i64, dpass: i64) -> Step<()> {
    let dir = screenshot_dir();
    common::browser::login(c, base, "admin").await?;
    c.goto(&format!("{base}/tarifs")).await.map_err(|e| format!("goto /tarifs: {e}"))?;
    wait_for_page(c, "/tarifs", "table.tariffs").await?;
    let table = text_of(c, "table.tariffs").await?;
    check(table.contains("23,00 €") && table.contains("28/02/2026"), format!("the FJ versions are listed: {table}"))?;
    screenshot(c, &dir.join("tarifs.png")).await?;

    // The filter is sent by the keyboard (Enter in the field), not on change.
    type_into(c, "#le", "15/02/2026").await?;
    let el = c.find(fantoccini::Locator::Css("#le")).await.map_err(|e| format!("find #le: {e}"))?;
    el.send_keys(&Key::Enter.to_string()).await.map_err(|e| format!("enter: {e}"))?;
    let started = std::time::Instant::now();
    let table = loop {
        let url = c.current_url().await.map_err(|e| format!("current_url: {e}"))?;
        let t = text_of(c, "table.tariffs").await.unwrap_or_default();
        if url.query().is_some_and(|q| q.contains("le=15")) && !t.is_empty() {
            break t;
        }
        if started.elapsed() > common::browser::STEP_TIMEOUT {
            return Err(format!("the filtered list did not load: {url}"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    check(table.contains("20,00 €") && !table.contains("23,00 €"), format!("only the versions valid on 15/02/2026: {table}"))?;
    screenshot(c, &dir.join("tarifs-filtre.png")).await?;

    c.goto(&format!("{base}/parametres-facturation")).await.map_err(|e| format!("goto /parametres-facturation: {e}"))?;
    wait_for_page(c, "/parametres-facturation", "table.parameters").await?;
    let table = text_of(c, "table.parameters").await?;
    check(table.contains("Taux du ticket modérateur 20 %"), format!("the parameters: {table}"))?;
    screenshot(c, &dir.join("parametres-facturation.png")).await?;

    c.goto(&format!("{base}/tarifs/nouveau?depuis={fj}")).await.map_err(|e| format!("goto the form: {e}"))?;
    wait_for_page(c, "/tarifs/nouveau", "#f-price").await?;
    type_into(c, "#f-price", "vingt-cinq").await?;
    type_into(c, "#f-valid_from", "01/01/2027").await?;
    click(c, "form.form button[type=submit]", "Enregistrer").await?;
    wait_for_page(c, "/tarifs/nouveau", ".error-summary").await?;
    let err = text_of(c, "#e-price").await?;
    check(!err.is_empty(), "the error next to « Prix »")?;
    screenshot(c, &dir.join("tarif-erreur.png")).await?;

    type_into(c, "#f-price", "25,00").await?;
    type_into(c, "#f-source", "Arrêté de test").await?;
    click(c, "form.form button[type=submit]", "Enregistrer").await?;
    wait_for_page(c, "/tarifs", "table.tariffs").await?;
    let flash = text_of(c, "main").await?;
    check(flash.contains("Tarif enregistré."), format!("the flash: {flash}"))?;

    // The New Caledonian establishment: amounts in XPF, acts with their coefficient.
    common::browser::choose(c, "#ctx-est", &dpass.to_string()).await?;
    let started = std::time::Instant::now();
    loop {
        c.goto(&format!("{base}/tarifs")).await.map_err(|e| format!("goto /tarifs: {e}"))?;
        wait_for_page(c, "/tarifs", "table.tariffs").await?;
        if text_of(c, "h1").await?.contains("DPASS") {
            break;
        }
        if started.elapsed() > common::browser::STEP_TIMEOUT {
            return Err("the switcher did not change the establishment".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let table = text_of(c, "table.tariffs").await?;
    check(table.contains("800 XPF") && table.contains("3\u{202f}500 XPF"), format!("the forfait in XPF, thousands grouped: {table}"))?;
    screenshot(c, &dir.join("tarifs-nc.png")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrator_reads_filters_and_adds_a_tariff_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::seeded_db(dir.path()).await;
    let ids = common::fixtures::demo_ids(&db).await;
    let op = common::fixtures::op();
    let fj = tariffs::list(&db, &op, ids.hsm, &TariffFilter { code: Some("FJ".into()), ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.line.code == "FJ" && t.line.period.to.is_none())
        .expect("the open FJ line")
        .id;
    let Some(browser) = Browser::start(&db).await else { return };
    let outcome = journey(&browser.client, &browser.base.clone(), fj, ids.dpass).await;
    browser.finish(outcome).await;
    let open = tariffs::list(&db, &op, ids.hsm, &TariffFilter { code: Some("FJ".into()), on: Some(jiff::civil::date(2027, 1, 1)), ..Default::default() })
        .await
        .unwrap();
    assert!(open.iter().any(|t| t.line.code == "FJ" && t.line.price.minor == 2500), "the version the browser saved");
}
