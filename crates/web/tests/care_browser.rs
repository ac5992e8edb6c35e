//! The billing-readiness journey in a real browser: headless Chromium driven
//! through chromedriver (fantoccini without TLS), against the application served
//! in-process. The technicien finds an incomplete file in « Dossiers en attente »,
//! adds its compulsory and complementary coverage rights through the forms and
//! watches the checklist turn to « prêt à facturer ».
//!
//! Skipped with a message when chromedriver or Chromium is missing, unless
//! `QUITTANCE_REQUIRE_BROWSER=1`, in which case it fails.

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;

use std::io::Write;
use std::path::Path;

use common::{fixtures, fr};
use common::browser::{Browser, JourneyFile, journey_file, Step, check, choose, click, screenshot, screenshot_dir, text_of, type_into, wait_for_page};
use fantoccini::{Client, Locator};
use quittance_domain::readiness::Rules;
use quittance_store::audit::AuditFilter;
use quittance_store::{Actor, Db, readiness};
use flow::coverages;

/// The file the journey works on, made through the store before the browser starts.
struct Setup {
    patient: i64,
    ipp: String,
    stay: i64,
    cpam: i64,
    mgen: i64,
}

/// A validated HSM file with a debtor at a full address and a current full
/// hospitalisation in Médecine interne, but no coverage right.
async fn setup(db: &Db) -> Setup {
    let op = fixtures::op();
    let ids = fixtures::demo_ids(db).await;
    let hsm = ids.hsm;
    let payer = |code: &'static str| fixtures::payer_id(db, hsm, code);
    // The prise-en-charge control is a feature of its own: this journey is about coverage.
    readiness::save_rules(db, &op, hsm, &Rules { pec_required: false, ..Rules::default() }).await.expect("rules");
    let file = JourneyFile {
        name: "Lambertin",
        first_names: "Chloé Marie",
        born: "21/03/1984",
        doc_number: "840321123456",
        address: "8 rue de la République",
        admitted_days_ago: 3,
        admission_time: "10:20",
        leaves_in_days: 7,
    };
    let (p, stay) = journey_file(db, &file).await;
    Setup { patient: p.id, ipp: p.ipp, stay, cpam: payer("CPAM69").await, mgen: payer("MGEN").await }
}

/// The checklist block's text.
async fn checklist(c: &Client) -> Step<String> {
    text_of(c, "section[aria-labelledby='h-controle']").await
}

async fn journey(c: &Client, base: &str, s: &Setup, shot: &Path) -> Step<()> {
    let file = format!("/patients/{}", s.patient);
    let new_coverage = format!("/patients/{}/droits/nouveau", s.patient);
    let today = jiff::Zoned::now().date();

    // 1. Log in as the technicien.
    c.goto(&format!("{base}/")).await.map_err(|e| format!("goto /: {e}"))?;
    wait_for_page(c, "/login", "#username").await?;
    type_into(c, "#username", "technicien").await?;
    type_into(c, "#password", common::PASSWORD).await?;
    click(c, "#se-connecter", "the login button").await?;
    wait_for_page(c, "/", "#deconnexion").await?;

    // 2. « Dossiers en attente » lists the file; open it.
    click(c, "nav.main-nav a[href='/dossiers-en-attente']", "« Dossiers en attente »").await?;
    wait_for_page(c, "/dossiers-en-attente", "main h1").await?;
    let row = text_of(c, &format!("main table tbody a[href='{file}']")).await?;
    check(row == s.ipp, format!("the queue links the file by its IPP: {row:?}"))?;
    click(c, &format!("main table tbody a[href='{file}']"), "the file in the queue").await?;
    wait_for_page(c, &file, "#h-controle").await?;

    // 3. The checklist: incomplete, only because of coverage.
    let list = checklist(c).await?;
    check(list.contains("incomplet"), format!("« incomplet » shown: {list:?}"))?;
    check(c.find(Locator::Css("[data-testid='pret']")).await.is_err(), "not ready yet")?;
    let failures = c.find_all(Locator::Css("section[aria-labelledby='h-controle'] li.ko")).await.map_err(|e| e.to_string())?;
    check(failures.len() == 2, format!("two failing controls, got {}: {list:?}", failures.len()))?;
    check(list.contains("Pas de droit obligatoire valide") && list.contains("Pas de complémentaire"), format!("coverage only: {list:?}"))?;

    // 4. « Ajouter un droit »: the compulsory coverage, CPAM du Rhône.
    click(c, &format!("section[aria-labelledby='h-droits'] a.button[href='{new_coverage}']"), "« Ajouter un droit »").await?;
    wait_for_page(c, &new_coverage, "#f-payer_id").await?;
    choose(c, "#f-payer_id", &s.cpam.to_string()).await?;
    choose(c, "#f-role", "obligatoire").await?;
    type_into(c, "#f-member_number", "2840369123045").await?;
    type_into(c, "#f-valid_from", "01/01/2026").await?;
    click(c, "main form.form button[type=submit]", "« Enregistrer le droit »").await?;
    wait_for_page(c, &file, "#h-controle").await?;
    let flash = text_of(c, "main .flash").await?;
    check(flash == "Enregistrement créé.", format!("flash {flash:?}"))?;
    let rights = text_of(c, "section[aria-labelledby='h-droits'] table").await?;
    check(rights.contains("CPAM du Rhône") && rights.contains("Obligatoire"), format!("the new right is listed: {rights:?}"))?;
    let list = checklist(c).await?;
    check(list.contains("incomplet") && !list.contains("Pas de droit obligatoire") && list.contains("Pas de complémentaire"), format!("only the complementary is missing: {list:?}"))?;

    // 5. « Corriger » next to the missing complementary: MGEN.
    click(c, &format!("section[aria-labelledby='h-controle'] li.ko a[href='{new_coverage}']"), "« Corriger »").await?;
    wait_for_page(c, &new_coverage, "#f-payer_id").await?;
    choose(c, "#f-payer_id", &s.mgen.to_string()).await?;
    choose(c, "#f-role", "complementaire").await?;
    type_into(c, "#f-member_number", "A0012345").await?;
    type_into(c, "#f-valid_from", "01/01/2026").await?;
    type_into(c, "#f-valid_to", &fr(today.checked_add(jiff::Span::new().days(90)).unwrap())).await?;
    click(c, "main form.form button[type=submit]", "« Enregistrer le droit »").await?;
    wait_for_page(c, &file, "#h-controle").await?;

    // 6. Ready to bill.
    let badge = text_of(c, "[data-testid='pret']").await?;
    check(badge == "prêt à facturer", format!("badge {badge:?}"))?;
    let list = checklist(c).await?;
    check(list.contains("Tous les contrôles sont satisfaits.") && !list.contains("incomplet"), format!("checklist {list:?}"))?;
    let rights = text_of(c, "section[aria-labelledby='h-droits'] table").await?;
    check(rights.contains("MGEN") && rights.contains("Complémentaire"), format!("both rights listed: {rights:?}"))?;

    // 7. Screenshot of the file with its checklist.
    screenshot(c, shot).await?;

    // 8. The file left the queue.
    click(c, "nav.main-nav a[href='/dossiers-en-attente']", "« Dossiers en attente »").await?;
    wait_for_page(c, "/dossiers-en-attente", "main h1").await?;
    check(c.find(Locator::Css(&format!("main table tbody a[href='{file}']"))).await.is_err(), "the ready file is no longer pending")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn technicien_completes_the_coverage_and_the_file_becomes_ready_to_bill() {
    // The application with the prepared file, served on a real socket, and the browser.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::seeded_db(dir.path()).await;
    let s = setup(&db).await;
    let Some(browser) = Browser::start(&db).await else { return };
    let screenshot = screenshot_dir().join("readiness.png");
    let _ = std::fs::remove_file(&screenshot);
    let outcome = journey(&browser.client, &browser.base.clone(), &s, &screenshot).await;
    browser.finish(outcome).await;

    // What the browser did is stored and audited.
    let op = Actor::system("t");
    let today = jiff::Zoned::now().date();
    let summary = coverages::list(&db, &op, s.patient, today).await.expect("coverages");
    let mut got: Vec<(i64, &str, i64, Option<&str>)> =
        summary.lines.iter().map(|l| (l.coverage.payer_id, l.coverage.role.code(), i64::from(l.coverage.rate_sejour_bp.0), l.coverage.member_number.as_deref())).collect();
    got.sort();
    let mut want = vec![(s.cpam, "obligatoire", 8000, Some("2840369123045")), (s.mgen, "complementaire", 2000, Some("A0012345"))];
    want.sort();
    assert_eq!(got, want, "the two rights, with the payers' default rates");
    let list = readiness::checklist(&db, &op, s.patient, today).await.expect("checklist");
    let entry = list.iter().find(|c| c.stay_id == Some(s.stay)).expect("the stay's checklist");
    assert!(entry.ready, "{entry:?}");
    let rows = quittance_store::audit::search(
        &db,
        &op,
        &AuditFilter { actor: Some("technicien".into()), entity: Some("patient".into()), entity_id: Some(s.patient.to_string()), ..Default::default() },
        1000,
        0,
    )
    .await
    .expect("audit")
    .0;
    assert_eq!(rows.iter().filter(|r| r.action == "add_coverage" && r.request_id.is_some()).count(), 2, "{rows:?}");
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert!(png.len() > 10_000, "a real screenshot, not an empty image ({} bytes)", png.len());
    let _ = writeln!(std::io::stderr(), "screenshot: {}", screenshot.canonicalize().unwrap_or(screenshot).display());
}
