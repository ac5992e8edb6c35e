//! The patient-file journey in a real browser: headless Chromium driven through
//! chromedriver (fantoccini without TLS), against the application served in-process.
//! The technicien opens a file, then finds it again with search-as-you-type.
//!
//! Skipped with a message when chromedriver or Chromium is missing, unless
//! `QUITTANCE_REQUIRE_BROWSER=1`, in which case it fails.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::{Browser, STEP_TIMEOUT, Step, check, screenshot_dir, text_of};
use fantoccini::{Client, Locator};
use quittance_store::Actor;
use quittance_store::audit::AuditFilter;

const NAME: &str = "Kerbrat-Ouvrard";
const FIRST_NAMES: &str = "Yann Erwan";
const BIRTH_DATE: &str = "14/07/1988";

/// Polls until the page path satisfies `path_ok` and `css` is present.
async fn wait_until(c: &Client, what: &str, path_ok: impl Fn(&str) -> bool, css: &str) -> Step<String> {
    let start = Instant::now();
    loop {
        let url = c.current_url().await.map_err(|e| format!("current_url: {e}"))?;
        if path_ok(url.path()) && c.find(Locator::Css(css)).await.is_ok() {
            return Ok(url.path().to_string());
        }
        if start.elapsed() > STEP_TIMEOUT {
            let title = c.title().await.unwrap_or_default();
            return Err(format!("expected {what} with {css:?}; still on {url} ({title:?}) after {STEP_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_page(c: &Client, path: &str, css: &str) -> Step<()> {
    wait_until(c, path, |p| p == path, css).await.map(|_| ())
}

async fn click(c: &Client, loc: Locator<'_>, what: &str) -> Step<()> {
    c.find(loc).await.map_err(|e| format!("find {what}: {e}"))?.click().await.map_err(|e| format!("click {what}: {e}"))
}

async fn type_into(c: &Client, css: &str, text: &str) -> Step<()> {
    let el = c.find(Locator::Css(css)).await.map_err(|e| format!("find {css:?}: {e}"))?;
    el.send_keys(text).await.map_err(|e| format!("type into {css:?}: {e}"))
}

/// What the journey learnt: the new file's id and IPP.
struct Seen {
    id: i64,
    ipp: String,
}

async fn journey(c: &Client, base: &str, screenshot: &Path) -> Step<Seen> {
    // 1. Log in as the technicien.
    c.goto(&format!("{base}/")).await.map_err(|e| format!("goto /: {e}"))?;
    wait_for_page(c, "/login", "#username").await?;
    type_into(c, "#username", "technicien").await?;
    type_into(c, "#password", common::PASSWORD).await?;
    click(c, Locator::Id("se-connecter"), "the login button").await?;
    wait_for_page(c, "/", "#deconnexion").await?;

    // 2. « Patients » in the navigation, then « Nouveau dossier ».
    click(c, Locator::Css("nav.main-nav a[href='/patients']"), "« Patients »").await?;
    wait_for_page(c, "/patients", "#q").await?;
    check(text_of(c, "main h1").await? == "Patients", "search page heading")?;
    click(c, Locator::LinkText("Nouveau dossier"), "« Nouveau dossier »").await?;
    wait_for_page(c, "/patients/nouveau", "#f-birth_name").await?;

    // 3. The strict traits, then submit.
    type_into(c, "#f-birth_name", NAME).await?;
    type_into(c, "#f-birth_first_names", FIRST_NAMES).await?;
    type_into(c, "#f-birth_date", BIRTH_DATE).await?;
    c.find(Locator::Css("#f-sex"))
        .await
        .map_err(|e| format!("sex field: {e}"))?
        .select_by_value("M")
        .await
        .map_err(|e| format!("choose the sex: {e}"))?;
    type_into(c, "#f-birth_place_code", "69123").await?;
    type_into(c, "#f-birth_place_label", "Lyon").await?;
    click(c, Locator::Css("main form.form button[type=submit]"), "« Créer le dossier »").await?;

    // 4. The new file: its name and IPP.
    let is_file = |p: &str| p.strip_prefix("/patients/").is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    let path = wait_until(c, "/patients/{id}", is_file, "main h1 small").await?;
    let id: i64 = path.trim_start_matches("/patients/").parse().map_err(|e| format!("id in {path}: {e}"))?;
    let flash = text_of(c, "main .flash").await?;
    check(flash == "Enregistrement créé.", format!("flash {flash:?}"))?;
    let h1 = text_of(c, "main h1").await?;
    check(h1.contains("KERBRAT-OUVRARD YANN"), format!("file heading {h1:?}"))?;
    let small = text_of(c, "main h1 small").await?;
    let ipp = small.strip_prefix("IPP ").ok_or_else(|| format!("IPP label {small:?}"))?.to_string();
    check(ipp.len() == 8 && ipp.bytes().all(|b| b.is_ascii_digit()), format!("IPP {ipp:?}"))?;

    // 5. Back to the search page; type the birth date and three letters, without submitting.
    click(c, Locator::Css("nav.main-nav a[href='/patients']"), "« Patients »").await?;
    wait_for_page(c, "/patients", "#naissance").await?;
    c.execute("window.quittanceSansRechargement = true; return true;", vec![]).await.map_err(|e| format!("mark the page: {e}"))?;
    check(c.find(Locator::Css("#resultats table")).await.is_err(), "no results before typing")?;
    type_into(c, "#naissance", BIRTH_DATE).await?;
    type_into(c, "#q", &NAME[..3]).await?;

    // 6. The results block updates by itself (fetch after ~250 ms).
    let link = format!("#resultats a[href='/patients/{id}']");
    let start = Instant::now();
    loop {
        if c.find(Locator::Css(&link)).await.is_ok() {
            break;
        }
        if start.elapsed() > STEP_TIMEOUT {
            let block = text_of(c, "#resultats").await.unwrap_or_default();
            return Err(format!("search-as-you-type never listed the new file; #resultats: {block:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let same_page = c
        .execute("return window.quittanceSansRechargement === true;", vec![])
        .await
        .map_err(|e| format!("read the mark: {e}"))?;
    check(same_page == serde_json::json!(true), "the results came without reloading the page")?;
    let url = c.current_url().await.map_err(|e| e.to_string())?;
    check(url.path() == "/patients", format!("still on the search page: {url}"))?;
    let query: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    check(
        query.contains(&("q".into(), "Ker".into())) && query.contains(&("naissance".into(), BIRTH_DATE.into())),
        format!("the address reflects the search: {url}"),
    )?;
    let rows = text_of(c, "#resultats tbody").await?;
    check(rows.contains(&ipp) && rows.contains("KERBRAT-OUVRARD") && rows.contains(BIRTH_DATE), format!("result row {rows:?}"))?;

    // 7. Open it: the file with its name and IPP.
    click(c, Locator::Css(&link), "the result").await?;
    wait_for_page(c, &format!("/patients/{id}"), "main h1 small").await?;
    let h1 = text_of(c, "main h1").await?;
    check(h1.contains("KERBRAT-OUVRARD YANN") && h1.contains(&format!("IPP {ipp}")), format!("file heading {h1:?}"))?;
    let facts = text_of(c, "main").await?;
    check(facts.contains("YANN ERWAN") && facts.contains(BIRTH_DATE) && facts.contains("Lyon (69123)"), format!("file content {facts:?}"))?;

    // 8. Screenshot.
    let png = c.screenshot().await.map_err(|e| format!("screenshot: {e}"))?;
    check(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG")?;
    std::fs::create_dir_all(screenshot.parent().expect("parent")).map_err(|e| format!("create screenshot folder: {e}"))?;
    std::fs::write(screenshot, &png).map_err(|e| format!("write {}: {e}", screenshot.display()))?;
    Ok(Seen { id, ipp })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn technicien_opens_a_file_and_finds_it_by_search_as_you_type() {
    // The application, served on a real socket, and the browser.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::seeded_db(dir.path()).await;
    let Some(browser) = Browser::start(&db).await else { return };
    let screenshot = screenshot_dir().join("patient.png");
    let _ = std::fs::remove_file(&screenshot);
    let outcome = journey(&browser.client, &browser.base.clone(), &screenshot).await;
    let seen = browser.finish(outcome).await;

    // The file exists as typed, and what the browser did is in the audit trail.
    let file = quittance_store::patients::get(&db, &Actor::system("t"), seen.id).await.expect("the new file");
    assert_eq!(file.patient.ipp, seen.ipp);
    assert_eq!((file.patient.birth_name.as_str(), file.patient.birth_first_names.as_str()), ("KERBRAT-OUVRARD", "YANN ERWAN"));
    assert_eq!((file.patient.birth_date.as_str(), file.patient.sex.code()), ("1988-07-14", "M"));
    let rows = quittance_store::audit::search(
        &db,
        &Actor::system("t"),
        &AuditFilter { actor: Some("technicien".into()), entity: Some("patient".into()), ..Default::default() },
        1000,
        0,
    )
    .await
    .expect("audit")
    .0;
    let id = seen.id.to_string();
    assert!(rows.iter().any(|r| r.action == "create" && r.entity_id.as_deref() == Some(id.as_str())), "{rows:?}");
    assert!(
        rows.iter().any(|r| r.action == "search" && r.changes.contains("1988-07-14") && r.changes.contains("\"ker\"") && r.request_id.is_some()),
        "the live search ran on the server: {rows:?}"
    );
    assert!(rows.iter().filter(|r| r.action == "view" && r.entity_id.as_deref() == Some(id.as_str())).count() >= 2, "both openings audited");
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert!(png.len() > 10_000, "a real screenshot, not an empty image ({} bytes)", png.len());
    let _ = writeln!(std::io::stderr(), "screenshot: {}", screenshot.canonicalize().unwrap_or(screenshot).display());
}
