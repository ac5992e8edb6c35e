//! A headless Chromium driven through chromedriver (fantoccini without TLS), for
//! journeys against the application served in-process on a real socket.
//!
//! `Browser::start` returns `None` (with a note) when chromedriver or Chromium is
//! missing, unless `QUITTANCE_REQUIRE_BROWSER=1`, in which case it panics.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use quittance_store::Db;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);

pub type Step<T> = Result<T, String>;

/// `<workspace>/target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("target").join("screenshots")
}

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
                "--no-first-run", format!("--user-data-dir={}", profile.display()), "--window-size=1280,900"
            ]
        }
    });
    match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("a JSON object"),
    }
}

/// The application on a socket, chromedriver and one browser session.
pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: tokio::process::Child,
    server: tokio::task::JoinHandle<Result<(), std::io::Error>>,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start(db: &Db) -> Option<Browser> {
        let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM].into_iter().filter(|p| !Path::new(p).exists()).collect();
        if !missing.is_empty() {
            let msg = format!("browser test skipped: missing {}", missing.join(", "));
            if std::env::var("QUITTANCE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("{msg} (QUITTANCE_REQUIRE_BROWSER=1)");
            }
            let _ = writeln!(std::io::stderr(), "{msg}; set QUITTANCE_REQUIRE_BROWSER=1 to make this a failure");
            return None;
        }
        let router = super::app_router(db);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind app");
        let app_port = listener.local_addr().expect("app addr").port();
        let server = tokio::spawn(async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await });
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
        Some(Browser { client, base: format!("http://localhost:{app_port}"), driver, server, _profile: profile })
    }

    /// Closes the browser, then reports the journey's outcome (what it learnt, or a panic).
    pub async fn finish<T>(mut self, outcome: Step<T>) -> T {
        let closed = self.client.close().await;
        let _ = self.driver.kill().await;
        self.server.abort();
        let value = match outcome {
            Ok(v) => v,
            Err(e) => panic!("browser journey failed: {e}"),
        };
        closed.expect("close the WebDriver session");
        value
    }
}

/// Polls until the page path is `path` and `css` is present.
pub async fn wait_for_page(c: &Client, path: &str, css: &str) -> Step<()> {
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

/// Polls until the text of `css` is `expected` (a form posted to the page it is on: the old
/// page matches [`wait_for_page`] until the new one has loaded).
pub async fn wait_for_text(c: &Client, css: &str, expected: &str) -> Step<()> {
    let start = Instant::now();
    loop {
        let now = match c.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if now == expected {
            return Ok(());
        }
        if start.elapsed() > STEP_TIMEOUT {
            return Err(format!("expected {css:?} to read {expected:?}; still {now:?} after {STEP_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn text_of(c: &Client, css: &str) -> Step<String> {
    let el = c.find(Locator::Css(css)).await.map_err(|e| format!("find {css:?}: {e}"))?;
    el.text().await.map_err(|e| format!("text of {css:?}: {e}"))
}

pub async fn click(c: &Client, css: &str, what: &str) -> Step<()> {
    c.find(Locator::Css(css)).await.map_err(|e| format!("find {what} ({css}): {e}"))?.click().await.map_err(|e| format!("click {what}: {e}"))
}

pub async fn type_into(c: &Client, css: &str, text: &str) -> Step<()> {
    let el = c.find(Locator::Css(css)).await.map_err(|e| format!("find {css:?}: {e}"))?;
    el.clear().await.map_err(|e| format!("clear {css:?}: {e}"))?;
    el.send_keys(text).await.map_err(|e| format!("type into {css:?}: {e}"))
}

pub async fn choose(c: &Client, css: &str, value: &str) -> Step<()> {
    c.find(Locator::Css(css))
        .await
        .map_err(|e| format!("find {css:?}: {e}"))?
        .select_by_value(value)
        .await
        .map_err(|e| format!("choose {value:?} in {css:?}: {e}"))
}

pub fn check(cond: bool, what: impl Into<String>) -> Step<()> {
    if cond { Ok(()) } else { Err(what.into()) }
}

/// Logs in through the login form and waits for the dashboard.
pub async fn login(c: &Client, base: &str, username: &str) -> Step<()> {
    c.goto(&format!("{base}/")).await.map_err(|e| format!("goto /: {e}"))?;
    wait_for_page(c, "/login", "#username").await?;
    type_into(c, "#username", username).await?;
    type_into(c, "#password", super::PASSWORD).await?;
    click(c, "#se-connecter", "the login button").await?;
    wait_for_page(c, "/", "#deconnexion").await
}

/// Writes a PNG screenshot of the current page.
pub async fn screenshot(c: &Client, to: &Path) -> Step<()> {
    c.execute("window.scrollTo(0, 0); return true;", vec![]).await.map_err(|e| format!("scroll: {e}"))?;
    let png = c.screenshot().await.map_err(|e| format!("screenshot: {e}"))?;
    check(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG")?;
    std::fs::create_dir_all(to.parent().expect("parent")).map_err(|e| format!("create screenshot folder: {e}"))?;
    std::fs::write(to, &png).map_err(|e| format!("write {}: {e}", to.display()))
}

/// The file a journey starts from, at HSM in Médecine interne.
pub struct JourneyFile<'a> {
    pub name: &'a str,
    pub first_names: &'a str,
    pub born: &'a str,
    pub doc_number: &'a str,
    /// The street of the file and of its debtor, in 69002 Lyon.
    pub address: &'a str,
    pub admitted_days_ago: i64,
    pub admission_time: &'a str,
    pub leaves_in_days: i64,
}

/// A validated HSM file (a woman) at `address`, the patient as default debtor at the same
/// address for every guarantee, and a current full hospitalisation in Médecine interne
/// (admitted `admitted_days_ago` days ago, planned to leave in `leaves_in_days`):
/// (the file, the stay id).
pub async fn journey_file(db: &Db, f: &JourneyFile<'_>) -> (quittance_store::patients::Patient, i64) {
    use super::fixtures;
    use quittance_store::care::stays::{self, StayInput};
    use quittance_store::patients::{DebtorInput, PatientInput};
    let op = fixtures::op();
    let ids = fixtures::demo_ids(db).await;
    let input = PatientInput {
        doc_number: f.doc_number.into(),
        address_line1: f.address.into(),
        postcode: "69002".into(),
        city: "Lyon".into(),
        ..fixtures::at_site(fixtures::validated(fixtures::person(f.name, f.first_names, f.born, "F")), ids.med)
    };
    let p = super::typed::create(db, &op, ids.hsm, &input).await.expect("create the file");
    let debtor = DebtorInput {
        address_line1: f.address.into(),
        postcode: "69002".into(),
        guarantees: "sejour,actes,forfait_journalier,chambre_particuliere,prestations_annexes".into(),
        ..fixtures::debtor_input()
    };
    super::typed::save_debtor(db, &op, p.id, None, &debtor).await.expect("debtor");
    let today = jiff::Zoned::now().date();
    let stay = StayInput {
        admission_time: f.admission_time.into(),
        planned_discharge_date: super::fr(today.checked_add(jiff::Span::new().days(f.leaves_in_days)).unwrap()),
        ..fixtures::stay_input(ids.med, &super::fr(today.checked_sub(jiff::Span::new().days(f.admitted_days_ago)).unwrap()))
    };
    let parsed = stays::parse(db, &op, p.id, &stay).await.expect("a valid stay");
    let s = stays::save(db, &op, p.id, None, 0, &parsed).await.expect("stay");
    (p, s.id)
}
