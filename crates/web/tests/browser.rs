//! One real-browser journey: headless Chromium driven through chromedriver
//! (fantoccini without TLS), against the application served in-process.
//!
//! Skipped with a message when chromedriver or Chromium is missing, unless
//! `QUITTANCE_REQUIRE_BROWSER=1`, in which case it fails.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use quittance_store::audit::AuditFilter;
use quittance_store::Actor;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

type Step<T> = Result<T, String>;

fn browser_required() -> bool {
    std::env::var("QUITTANCE_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// `<workspace>/target/screenshots`.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("target").join("screenshots")
}

/// A free local port (bound then released; chromedriver takes it right after).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

async fn wait_for_port(port: u16, timeout: Duration) -> Step<()> {
    let start = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(format!("chromedriver is not listening on port {port} after {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn capabilities(profile: &Path) -> serde_json::Map<String, serde_json::Value> {
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", format!("--user-data-dir={}", profile.display()), "--window-size=1280,800"
            ]
        }
    });
    match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("a JSON object"),
    }
}

/// Polls until the page path is `path` and `css` is present, or fails with what was seen.
async fn wait_for_page(c: &Client, path: &str, css: &str) -> Step<()> {
    let start = Instant::now();
    loop {
        let url = c.current_url().await.map_err(|e| format!("current_url: {e}"))?;
        if url.path() == path && c.find(Locator::Css(css)).await.is_ok() {
            return Ok(());
        }
        if start.elapsed() > STEP_TIMEOUT {
            let title = c.title().await.unwrap_or_default();
            return Err(format!("expected {path} with {css:?}; still on {url} ({title:?}) after {STEP_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> Step<String> {
    let el = c.find(Locator::Css(css)).await.map_err(|e| format!("find {css:?}: {e}"))?;
    el.text().await.map_err(|e| format!("text of {css:?}: {e}"))
}

fn check(cond: bool, what: impl Into<String>) -> Step<()> {
    if cond { Ok(()) } else { Err(what.into()) }
}

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
    let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM].into_iter().filter(|p| !Path::new(p).exists()).collect();
    if !missing.is_empty() {
        let msg = format!("browser test skipped: missing {}", missing.join(", "));
        if browser_required() {
            panic!("{msg} (QUITTANCE_REQUIRE_BROWSER=1)");
        }
        let _ = writeln!(std::io::stderr(), "{msg}; set QUITTANCE_REQUIRE_BROWSER=1 to make this a failure");
        return;
    }

    // The application, served on a real socket.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::seeded_db(dir.path()).await;
    let router = common::app_router(&db);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind app");
    let app_port = listener.local_addr().expect("app addr").port();
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await
    });

    // chromedriver, killed when dropped.
    let driver_port = free_port();
    let mut driver = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={driver_port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    if let Err(e) = wait_for_port(driver_port, Duration::from_secs(10)).await {
        let _ = driver.kill().await;
        panic!("{e}");
    }

    let profile = tempfile::tempdir().expect("profile dir");
    let client = match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities(profile.path()))
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
    {
        Ok(c) => c,
        Err(e) => {
            let _ = driver.kill().await;
            panic!("could not open a Chromium session: {e}");
        }
    };

    let screenshot = screenshot_dir().join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let outcome = journey(&client, &format!("http://localhost:{app_port}"), &screenshot).await;
    // Always close the browser before reporting a failure.
    let closed = client.close().await;
    let _ = driver.kill().await;
    server.abort();
    if let Err(e) = outcome {
        panic!("browser journey failed: {e}");
    }
    closed.expect("close the WebDriver session");

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
