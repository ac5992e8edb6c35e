//! One real-browser journey: headless Chromium driven through chromedriver
//! (fantoccini without TLS), against the application served in-process.
//!
//! Skipped with a message when chromedriver or Chromium is missing, unless
//! `QUITTANCE_REQUIRE_BROWSER=1`, in which case it fails.

mod common;

use std::io::Write;
use std::path::Path;

use common::browser::{Browser, Step, check, screenshot_dir, text_of, wait_for_page};
use fantoccini::{Client, Locator};
use quittance_store::Actor;
use quittance_store::audit::AuditFilter;

async fn session_cookie_present(c: &Client) -> Step<bool> {
    let cookies = c.get_all_cookies().await.map_err(|e| format!("cookies: {e}"))?;
    Ok(cookies.iter().any(|k| k.name() == common::SESSION_COOKIE))
}

/// The journey; any failed step returns an error so the caller can close the session first.
async fn journey(c: &Client, base: &str, screenshot: &Path) -> Step<()> {
    // 1. The dashboard needs a login: the browser lands on the login page.
    c.goto(&format!("{base}/")).await.map_err(|e| format!("goto /: {e}"))?;
    wait_for_page(c, "/login", "#username").await?;
    check(c.title().await.map_err(|e| e.to_string())?.contains("Connexion"), "login page title")?;
    let lang = c
        .find(Locator::Css("html"))
        .await
        .map_err(|e| e.to_string())?
        .attr("lang")
        .await
        .map_err(|e| e.to_string())?;
    check(lang.as_deref() == Some("fr"), format!("page language {lang:?}"))?;

    // 2. Type the credentials and submit.
    let user = c.find(Locator::Id("username")).await.map_err(|e| format!("username field: {e}"))?;
    user.send_keys("technicien").await.map_err(|e| format!("type username: {e}"))?;
    let pass = c.find(Locator::Id("password")).await.map_err(|e| format!("password field: {e}"))?;
    pass.send_keys(common::PASSWORD).await.map_err(|e| format!("type password: {e}"))?;
    c.find(Locator::Id("se-connecter"))
        .await
        .map_err(|e| format!("login button: {e}"))?
        .click()
        .await
        .map_err(|e| format!("click login: {e}"))?;

    // 3. The dashboard.
    wait_for_page(c, "/", "#deconnexion").await?;
    let h1 = text_of(c, "main h1").await?;
    check(h1 == "Tableau de bord", format!("dashboard heading {h1:?}"))?;
    let who = text_of(c, "[data-testid=utilisateur]").await?;
    check(who == "Thomas Martin", format!("logged-in user shown as {who:?}"))?;
    let main = text_of(c, "main").await?;
    check(main.contains("Technicien de facturation"), format!("role listed on the dashboard: {main:?}"))?;
    check(session_cookie_present(c).await?, "the browser keeps the __Host- session cookie on localhost")?;

    // 4. Screenshot.
    let png = c.screenshot().await.map_err(|e| format!("screenshot: {e}"))?;
    check(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG")?;
    std::fs::create_dir_all(screenshot.parent().expect("parent")).map_err(|e| format!("create screenshot folder: {e}"))?;
    std::fs::write(screenshot, &png).map_err(|e| format!("write {}: {e}", screenshot.display()))?;

    // 5. Log out: back on the login page, without a session cookie.
    c.find(Locator::Id("deconnexion"))
        .await
        .map_err(|e| format!("logout button: {e}"))?
        .click()
        .await
        .map_err(|e| format!("click logout: {e}"))?;
    wait_for_page(c, "/login", "#username").await?;
    check(!session_cookie_present(c).await?, "the session cookie is gone after logout")?;

    // 6. The dashboard is closed again.
    c.goto(&format!("{base}/")).await.map_err(|e| format!("goto / after logout: {e}"))?;
    wait_for_page(c, "/login", "#username").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn technicien_logs_in_sees_the_dashboard_and_logs_out() {
    // The application, served on a real socket, and the browser.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::seeded_db(dir.path()).await;
    let Some(browser) = Browser::start(&db).await else { return };
    let screenshot = screenshot_dir().join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let outcome = journey(&browser.client, &browser.base.clone(), &screenshot).await;
    browser.finish(outcome).await;

    // What the browser did is in the audit trail.
    let rows = quittance_store::audit::search(
        &db,
        &Actor::system("t"),
        &AuditFilter { actor: Some("technicien".into()), entity: Some("session".into()), ..Default::default() },
        100,
        0,
    )
    .await
    .expect("audit")
    .0;
    assert!(rows.iter().any(|r| r.action == "login" && r.outcome == "ok"), "{rows:?}");
    assert!(rows.iter().any(|r| r.action == "logout" && r.outcome == "ok"), "{rows:?}");
    assert!(
        rows.iter().all(|r| r.request_id.is_some()),
        "browser requests carry a request id into the audit trail: {rows:?}"
    );
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert!(png.len() > 10_000, "a real screenshot, not an empty image ({} bytes)", png.len());
    let _ = writeln!(std::io::stderr(), "screenshot: {}", screenshot.canonicalize().unwrap_or(screenshot).display());
}
