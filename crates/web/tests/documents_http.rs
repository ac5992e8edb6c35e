//! Filed documents over HTTP: the multipart upload form and its limits, opening
//! with the checksum header, withdrawal, site scoping and confidentiality, the
//! reports (missing documents, retention) with their exports, the classification
//! plan and readiness-rules admin pages, the PEC letter PDF and the JSON API,
//! driven through the router without a socket (one seeded SQLite per test).

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::fixtures::{self, op};
use common::{Resp, TestApp, csrf_from_html, field, field_error, filter, form_fields, fr, html_tags, html_unescape, plain, refs, scalar, section, set_field, xlsx_text};
use quittance_store::documents::{Storage, StorageMode};
use quittance_store::{V, args, readiness};
use quittance_web::{AppState, WebConfig};
use serde_json::json;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- helpers

async fn pairs(app: &TestApp, sql: &str, a: Vec<V>) -> Vec<(i64, i64)> {
    let mut tx = app.db.read().await.unwrap();
    let v: Vec<(i64, i64)> = tx.all(sql, &a).await.unwrap();
    tx.rollback().await.unwrap();
    v
}

async fn text_of(app: &TestApp, sql: &str, a: Vec<V>) -> String {
    let mut tx = app.db.read().await.unwrap();
    let v: Option<(String,)> = tx.opt(sql, &a).await.unwrap();
    tx.rollback().await.unwrap();
    v.unwrap_or_else(|| panic!("no row for {sql}")).0
}

async fn opt_text(app: &TestApp, sql: &str, a: Vec<V>) -> Option<String> {
    let mut tx = app.db.read().await.unwrap();
    let v: Option<(Option<String>,)> = tx.opt(sql, &a).await.unwrap();
    tx.rollback().await.unwrap();
    v.and_then(|r| r.0)
}

async fn exec(app: &TestApp, sql: &str, a: Vec<V>) {
    let mut tx = app.db.begin().await.unwrap();
    tx.exec(sql, &a).await.unwrap();
    tx.commit().await.unwrap();
}

async fn count_documents(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM documents", Vec::new()).await
}

async fn count_contents(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM document_contents", Vec::new()).await
}

async fn count_classes(app: &TestApp, est_id: i64) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM document_classes WHERE establishment_id = $1", args![est_id]).await
}

async fn class_id(app: &TestApp, est_id: i64, code: &str) -> i64 {
    scalar(app, "SELECT id FROM document_classes WHERE establishment_id = $1 AND code = $2", args![est_id, code]).await
}

/// Agreed demo prises en charge (with a stay) whose answer document is not filed: (pec, patient).
async fn pecs_missing_answer(app: &TestApp, est_id: i64) -> Vec<(i64, i64)> {
    pairs(
        app,
        "SELECT pa.id, pa.patient_id FROM cover_authorizations pa WHERE pa.establishment_id = $1 AND pa.status IN ('acceptee', 'partielle') \
         AND pa.stay_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM documents d JOIN document_classes c ON c.id = d.class_id \
         WHERE d.target_kind = 'pec' AND d.target_id = pa.id AND c.code = 'accord_pec' AND d.withdrawn_at IS NULL) ORDER BY pa.id",
        args![est_id],
    )
    .await
}

/// Filed answer documents of the demo: (document, patient).
async fn filed_answers(app: &TestApp, est_id: i64) -> Vec<(i64, i64)> {
    pairs(
        app,
        "SELECT d.id, d.patient_id FROM documents d JOIN document_classes c ON c.id = d.class_id \
         WHERE d.establishment_id = $1 AND c.code = 'accord_pec' AND d.withdrawn_at IS NULL ORDER BY d.id",
        args![est_id],
    )
    .await
}

/// A visible (no non-disclosure) file attached to `site`.
async fn file_at_site(app: &TestApp, site: i64) -> i64 {
    scalar(
        app,
        "SELECT MIN(p.id) FROM patients p JOIN patient_sites ps ON ps.patient_id = p.id WHERE ps.site_id = $1 AND p.non_disclosure = FALSE AND p.date_of_death IS NULL",
        args![site],
    )
    .await
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn pdf(text: &str) -> Vec<u8> {
    quittance_store::demo::care::demo_pdf(text)
}

/// A valid small PDF padded (with a trailing comment and a second end marker) to exactly `len` bytes.
fn sized_pdf(len: usize) -> Vec<u8> {
    let mut out = pdf("Piece jointe de test");
    assert!(len >= out.len() + 8, "{len} is too small for a PDF");
    let filler = len - out.len() - 8;
    out.push(b'%');
    out.extend(std::iter::repeat_n(b'x', filler));
    out.extend_from_slice(b"\n%%EOF\n");
    assert_eq!(out.len(), len);
    out
}

const BOUNDARY: &str = "----quittance-test-boundary-7d1f0c";

/// A multipart form as a browser sends it: `_csrf` first, then the file, then the fields.
#[derive(Clone, Default)]
struct Upload {
    csrf: Option<String>,
    /// (field name, file name, content type, bytes)
    file: Option<(String, String, String, Vec<u8>)>,
    fields: Vec<(String, String)>,
}

impl Upload {
    fn new(csrf: Option<&str>, target: &str, class_id: i64) -> Upload {
        Upload {
            csrf: csrf.map(str::to_string),
            file: None,
            fields: vec![("target".into(), target.into()), ("class_id".into(), class_id.to_string())],
        }
    }

    fn file(mut self, file_name: &str, content_type: &str, bytes: Vec<u8>) -> Upload {
        self.file = Some(("file".into(), file_name.into(), content_type.into(), bytes));
        self
    }

    fn set(mut self, name: &str, value: &str) -> Upload {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.into(), value.into()));
        self
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let text = |out: &mut Vec<u8>, name: &str, value: &str| {
            out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
        };
        if let Some(c) = &self.csrf {
            text(&mut out, "_csrf", c);
        }
        if let Some((name, file_name, ctype, bytes)) = &self.file {
            out.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {ctype}\r\n\r\n").as_bytes(),
            );
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        for (k, v) in &self.fields {
            text(&mut out, k, v);
        }
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        out
    }
}

/// POSTs a multipart upload with a session cookie and/or a bearer key.
async fn post_multipart(app: &TestApp, path: &str, cookie: Option<&str>, key: Option<&str>, u: &Upload) -> Resp {
    let mut b = Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"));
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    if let Some(k) = key {
        b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    app.send(b.body(Body::from(u.body())).expect("request")).await
}

async fn upload_page(app: &TestApp, cookie: &str, patient: i64, u: &Upload) -> Resp {
    post_multipart(app, &format!("/patients/{patient}/documents"), Some(cookie), None, u).await
}

async fn upload_api(app: &TestApp, key: &str, patient: i64, u: &Upload) -> Resp {
    post_multipart(app, &format!("/api/v1/patients/{patient}/documents"), None, Some(key), u).await
}

/// Swaps the app's router for one whose upload limit is `max_bytes` (same database).
fn with_limit(app: &mut TestApp, max_bytes: usize) {
    app.router = quittance_web::router(AppState::new(
        app.db.clone(),
        WebConfig { documents: Storage { mode: StorageMode::Database, max_bytes }, ..WebConfig::default() },
    ));
}


fn paris_today() -> jiff::civil::Date {
    quittance_store::patients::today_in("Europe/Paris")
}

/// `AAAA-MM-JJ…` → `JJ/MM/AAAA`.
fn fr_of(stored: &str) -> String {
    fr(stored[..10].parse().expect("a stored date"))
}

/// The `href`s of the links of an HTML fragment.
fn links(html: &str) -> Vec<String> {
    html_tags(html).into_iter().filter(|(t, _)| t == "a").filter_map(|(_, a)| a.get("href").cloned()).collect()
}

/// The page's CSRF token and the upload form of a file (as the technician's browser sees it).
async fn upload_csrf(app: &TestApp, cookie: &str, patient: i64) -> String {
    let r = app.get(&format!("/patients/{patient}/documents/nouveau"), Some(cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "upload form: {}", r.text());
    let form = form_fields(&r.text(), &format!("/patients/{patient}/documents"));
    field(&form, "_csrf").expect("a _csrf field").to_string()
}

/// The text of a PDF through `pdftotext - -` (whitespace collapsed), or `None` with a
/// notice when the tool is absent (a failure when `QUITTANCE_REQUIRE_PDFTOTEXT=1`).
fn pdf_text(bytes: &[u8]) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("pdftotext").args(["-", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(std::env::var("QUITTANCE_REQUIRE_PDFTOTEXT").as_deref() != Ok("1"), "pdftotext is required (QUITTANCE_REQUIRE_PDFTOTEXT=1) but absent");
            eprintln!("notice: pdftotext is not installed; the PDF text checks are skipped");
            return None;
        }
        Err(e) => panic!("pdftotext: {e}"),
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("pdftotext runs");
    writer.join().expect("writer thread").expect("bytes written to pdftotext");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" "))
}

fn is_denied(status: StatusCode) -> bool {
    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
}

// ---------------------------------------------------------------- 1. page upload happy path

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_upload_to_a_pec_is_listed_opened_with_its_checksum_and_audited() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let missing = pecs_missing_answer(&app, ids.hsm).await;
    assert!(!missing.is_empty(), "the demo leaves agreed PECs without their answer document");
    let (pec_id, pid) = missing[0];
    let pec_number = text_of(&app, "SELECT number FROM cover_authorizations WHERE id = $1", args![pec_id]).await;
    let accord = class_id(&app, ids.hsm, "accord_pec").await;
    let cookie = app.login_demo("technicien").await;

    // The form: a file input, multipart, the PEC and the class preselected.
    let r = app.get(&format!("/patients/{pid}/documents/nouveau?cible=pec:{pec_id}&classe=accord_pec"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    let action = format!("/patients/{pid}/documents");
    let tags = html_tags(&html);
    let form_tag = tags.iter().find(|(t, a)| t == "form" && a.get("action") == Some(&action)).expect("the upload form");
    assert_eq!(form_tag.1.get("enctype").map(String::as_str), Some("multipart/form-data"));
    assert_eq!(form_tag.1.get("method").map(String::as_str), Some("post"));
    assert!(
        tags.iter().any(|(t, a)| t == "input" && a.get("type").map(String::as_str) == Some("file") && a.get("name").map(String::as_str) == Some("file")),
        "a file input named file"
    );
    assert!(html_unescape(&html).contains("PDF, JPEG ou PNG, 10 Mio au plus."), "the default limit is told");
    let form = form_fields(&html, &action);
    assert_eq!(field(&form, "target"), Some(format!("pec:{pec_id}").as_str()), "the PEC is preselected");
    assert_eq!(field(&form, "class_id"), Some(accord.to_string().as_str()), "the accord_pec class is preselected");
    assert_eq!(field(&form, "confidentiality"), Some(""), "the class's level by default");
    let csrf = field(&form, "_csrf").expect("_csrf").to_string();

    let bytes = sized_pdf(1200);
    let before = count_documents(&app).await;
    let u = Upload::new(Some(&csrf), &format!("pec:{pec_id}"), accord)
        .set("confidentiality", "")
        .set("title", "Réponse de la mutuelle")
        .set("document_date", "20/11/2026")
        .file("C:\\scans\\Réponse MGEN.pdf", "application/pdf", bytes.clone());
    let r = upload_page(&app, &cookie, pid, &u).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(r.is_redirect_to(&format!("/patients/{pid}/pec/{pec_id}")), "back to the PEC page: {:?}", r.location());
    assert!(r.location().unwrap().contains("msg=document"), "{:?}", r.location());
    assert_eq!(count_documents(&app).await, before + 1, "one document filed");
    let doc = scalar(&app, "SELECT MAX(id) FROM documents WHERE patient_id = $1", args![pid]).await;
    assert_eq!(text_of(&app, "SELECT sha256 FROM documents WHERE id = $1", args![doc]).await, sha_hex(&bytes));
    assert_eq!(text_of(&app, "SELECT retention_until FROM documents WHERE id = $1", args![doc]).await, "2036-11-20");

    // The patient page lists it: class, title, size in French, dates, the PEC.
    let r = app.get(&format!("/patients/{pid}"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    let docs = section(&html, "h-documents");
    let row_start = docs.find(&format!("href=\"/documents/{doc}\"")).expect("a link to open the new document");
    let row = &docs[docs[..row_start].rfind("<tr").unwrap()..row_start + docs[row_start..].find("</tr>").unwrap()];
    let row = plain(row);
    assert!(row.starts_with("20/11/2026 Accord de prise en charge Réponse de la mutuelle"), "{row}");
    assert!(row.contains(&pec_number), "attached to the PEC: {row}");
    assert!(row.contains("1 Kio 20/11/2036"), "size in French and kept until: {row}");
    // And the PEC page shows it among its documents.
    let r = app.get(&format!("/patients/{pid}/pec/{pec_id}"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let pec_page = plain(&r.text());
    assert!(pec_page.contains("Réponse de la mutuelle — Accord de prise en charge, 20/11/2026, 1 Kio"), "{pec_page}");

    // Opening returns the exact bytes with the checksum header.
    let r = app.get(&format!("/documents/{doc}"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.body, bytes, "the exact bytes");
    assert_eq!(r.content_type(), "application/pdf");
    let sha = r.header("x-content-sha256").expect("x-content-sha256");
    assert_eq!(sha.len(), 64);
    assert!(sha.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{sha}");
    assert_eq!(sha, sha_hex(&bytes));
    assert_eq!(r.header("content-disposition").as_deref(), Some("inline; filename=\"reponse_mgen.pdf\""), "a safe file name");
    assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"), "patient documents are never cached");

    // Upload and opening are audited (without the content).
    let views = app.audit(filter("patient", "document_view", "ok")).await;
    let view = views.iter().find(|a| a.actor == "technicien" && a.entity_id.as_deref() == Some(pid.to_string().as_str())).expect("a document_view row");
    let changes: serde_json::Value = serde_json::from_str(&view.changes).unwrap();
    assert_eq!(changes["document"], json!(doc), "{changes}");
    assert_eq!(view.establishment_id, Some(ids.hsm));
    assert!(view.request_id.is_some());
    let uploads = app.audit(filter("patient", "document_upload", "ok")).await;
    let up = uploads.iter().find(|a| a.actor == "technicien").expect("a document_upload row");
    assert!(up.changes.contains(&sha_hex(&bytes)), "the checksum is in the trail: {}", up.changes);
    assert!(!up.changes.contains("%PDF"), "never the content");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_upload_to_the_file_itself_returns_to_the_documents_section() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let pid = file_at_site(&app, ids.med).await;
    let cookie = app.login_demo("technicien").await;
    let csrf = upload_csrf(&app, &cookie, pid).await;
    let identity = class_id(&app, ids.hsm, "piece_identite").await;
    // A PNG, recognised from its content; title left blank (the class's label).
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE];
    png.extend_from_slice(&[0; 16]);
    let u = Upload::new(Some(&csrf), "patient", identity).file("carte.png", "image/png", png.clone());
    let r = upload_page(&app, &cookie, pid, &u).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let loc = r.location().unwrap();
    assert!(loc.starts_with(&format!("/patients/{pid}")) && loc.contains("h-documents"), "{loc}");
    let doc = scalar(&app, "SELECT MAX(id) FROM documents WHERE patient_id = $1", args![pid]).await;
    let row = plain(section(&app.get(&format!("/patients/{pid}"), Some(&cookie)).await.text(), "h-documents"));
    assert!(row.contains(&format!("{} Pièce d'identité Pièce d'identité Dossier du patient 49 octets", fr(paris_today()))), "{row}");
    let r = app.get(&format!("/documents/{doc}"), Some(&cookie)).await;
    assert_eq!((r.status, r.content_type()), (StatusCode::OK, "image/png".to_string()));
    assert_eq!(r.body, png);
}

/// The file's history names document actions in French and leaves out openings
/// (they are views, in the audit trail but not changes of the file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_shows_filing_in_french_and_not_the_openings() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let pid = file_at_site(&app, ids.med).await;
    let cookie = app.login_demo("technicien").await;
    let csrf = upload_csrf(&app, &cookie, pid).await;
    let u = Upload::new(Some(&csrf), "patient", class_id(&app, ids.hsm, "courrier").await).file("lettre.pdf", "application/pdf", pdf("Lettre"));
    assert_eq!(upload_page(&app, &cookie, pid, &u).await.status, StatusCode::SEE_OTHER);
    let doc = scalar(&app, "SELECT MAX(id) FROM documents WHERE patient_id = $1", args![pid]).await;
    assert_eq!(app.get(&format!("/documents/{doc}"), Some(&cookie)).await.status, StatusCode::OK);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'document_view' AND entity_id = $1", args![pid.to_string()]).await, 1);
    let history = plain(section(&app.get(&format!("/patients/{pid}"), Some(&cookie)).await.text(), "h-hist"));
    assert!(history.contains("Document classé"), "{history}");
    assert!(!history.contains("document_view") && !history.contains("document_upload"), "{history}");
}

/// Each coverage right shows whether its proof is filed, with a « Joindre » link that
/// preselects the right and the class matching its rank.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_rows_show_their_proof_and_link_to_file_it() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let pid = file_at_site(&app, ids.med).await;
    let input = flow::coverages::CoverageInput {
        payer_id: scalar(&app, "SELECT id FROM payers WHERE establishment_id = $1 AND code = 'CPAM69'", args![ids.hsm]).await.to_string(),
        role: "obligatoire".into(),
        valid_from: "01/01/2026".into(),
        ..Default::default()
    };
    let cov = flow::coverages::save(&app.db, &op(), pid, None, 0, &input).await.expect("coverage");
    let cookie = app.login_demo("technicien").await;
    let html = app.get(&format!("/patients/{pid}"), Some(&cookie)).await.text();
    let link = format!("/patients/{pid}/documents/nouveau?cible=droit:{}&amp;classe=attestation_droits", cov.id);
    assert!(html.contains(&link), "no proof link {link}");
    let rights = plain(section(&html, "h-droits"));
    let none_before = rights.matches("aucun").count();
    assert!(none_before >= 1 && !rights.contains("classé"), "{rights}");
    // The form opened by the link has the right and the class selected.
    let form = app.get(&link.replace("&amp;", "&"), Some(&cookie)).await.text();
    let attestation = class_id(&app, ids.hsm, "attestation_droits").await;
    assert!(form.contains(&format!("<option value=\"droit:{}\" selected>", cov.id)), "right preselected");
    assert!(form.contains(&format!("<option value=\"{attestation}\" selected>")), "class preselected");
    let csrf = csrf_from_html(&form).expect("csrf");
    let u = Upload::new(Some(&csrf), &format!("droit:{}", cov.id), attestation).file("attestation.pdf", "application/pdf", pdf("Attestation"));
    assert_eq!(upload_page(&app, &cookie, pid, &u).await.status, StatusCode::SEE_OTHER);
    let rights = plain(section(&app.get(&format!("/patients/{pid}"), Some(&cookie)).await.text(), "h-droits"));
    assert!(rights.contains("1 classé") && rights.matches("aucun").count() == none_before - 1, "{rights}");
}

/// After a successful upload or withdrawal the page shows its confirmation
/// (« Document classé. », « Document retiré. »): the `?msg=` query must come before
/// the `#h-documents` fragment, which browsers never send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_and_withdrawal_confirmations_reach_the_patient_page() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let pid = file_at_site(&app, ids.med).await;
    let cookie = app.login_demo("technicien").await;
    let csrf = upload_csrf(&app, &cookie, pid).await;
    let u = Upload::new(Some(&csrf), "patient", class_id(&app, ids.hsm, "courrier").await).file("lettre.pdf", "application/pdf", pdf("Lettre"));
    let r = upload_page(&app, &cookie, pid, &u).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = r.location().unwrap();
    // What a browser requests: the location without its fragment.
    let requested = loc.split('#').next().unwrap().to_string();
    assert_eq!(requested, format!("/patients/{pid}?msg=document"), "location {loc}");
    assert!(plain(&app.get(&requested, Some(&cookie)).await.text()).contains("Document classé."));

    let doc = scalar(&app, "SELECT MAX(id) FROM documents WHERE patient_id = $1", args![pid]).await;
    let r = app.post_form(&format!("/documents/{doc}/retirer"), Some(&cookie), &[("_csrf", &csrf), ("version", "1"), ("reason", "Doublon")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = r.location().unwrap();
    let requested = loc.split('#').next().unwrap().to_string();
    assert_eq!(requested, format!("/patients/{pid}?msg=retire"), "location {loc}");
    assert!(plain(&app.get(&requested, Some(&cookie)).await.text()).contains("Document retiré."));
}

// ---------------------------------------------------------------- 2. limits and types (pages)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_upload_refuses_too_large_files_with_the_limit_and_writes_nothing() {
    let mut app = TestApp::new().await;
    with_limit(&mut app, 64 * 1024);
    let ids = fixtures::demo_ids(&app.db).await;
    let pid = file_at_site(&app, ids.med).await;
    let cookie = app.login_demo("technicien").await;
    let r = app.get(&format!("/patients/{pid}/documents/nouveau"), Some(&cookie)).await;
    assert!(html_unescape(&r.text()).contains("PDF, JPEG ou PNG, 64 Kio au plus."), "the configured limit is told");
    let csrf = upload_csrf(&app, &cookie, pid).await;
    let courrier = class_id(&app, ids.hsm, "courrier").await;
    let (docs, contents) = (count_documents(&app).await, count_contents(&app).await);

    // One byte over the limit, then far over it (beyond the body limit too).
    for len in [64 * 1024 + 1, 2 * 1024 * 1024] {
        let u = Upload::new(Some(&csrf), "patient", courrier).set("title", "Gros scan").file("scan.pdf", "application/pdf", sized_pdf(len));
        let r = upload_page(&app, &cookie, pid, &u).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{len} bytes: {}", r.text());
        let html = r.text();
        assert!(r.content_type().starts_with("text/html"), "{}", r.content_type());
        assert_eq!(field_error(&html, "file").as_deref(), Some("Fichier trop volumineux : 64 Kio au plus."), "{len} bytes");
        assert!(html.contains("enctype=\"multipart/form-data\""), "the form is shown again");
        assert_eq!(count_documents(&app).await, docs, "nothing written ({len} bytes)");
        assert_eq!(count_contents(&app).await, contents, "no content written ({len} bytes)");
    }

    // Exactly the limit is accepted (« au plus »).
    let u = Upload::new(Some(&csrf), "patient", courrier).file("scan.pdf", "application/pdf", sized_pdf(64 * 1024));
    let r = upload_page(&app, &cookie, pid, &u).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "a file of exactly the limit: {}", r.text());
    assert_eq!(count_documents(&app).await, docs + 1);
    assert_eq!(scalar(&app, "SELECT size_bytes FROM documents WHERE id = (SELECT MAX(id) FROM documents)", Vec::new()).await, 64 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_upload_refuses_other_types_missing_files_and_forged_forms() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let pid = file_at_site(&app, ids.med).await;
    let cookie = app.login_demo("technicien").await;
    let csrf = upload_csrf(&app, &cookie, pid).await;
    let courrier = class_id(&app, ids.hsm, "courrier").await;
    let before = count_documents(&app).await;

    // HTML or ZIP content named scan.pdf and sent as PDF: refused from the content.
    let payloads: [(&str, Vec<u8>); 3] = [
        ("html", b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>".to_vec()),
        ("zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00word/document.xml".to_vec()),
        ("truncated pdf", b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n".to_vec()),
    ];
    for (what, bytes) in payloads {
        let u = Upload::new(Some(&csrf), "patient", courrier).set("title", "Scan du courrier").file("scan.pdf", "application/pdf", bytes);
        let r = upload_page(&app, &cookie, pid, &u).await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{what}: {}", r.text());
        let html = r.text();
        let err = field_error(&html, "file").unwrap_or_default();
        assert!(err.starts_with("Type de fichier refusé"), "{what}: {err}");
        let form = form_fields(&html, &format!("/patients/{pid}/documents"));
        assert_eq!(field(&form, "title"), Some("Scan du courrier"), "what was typed is kept");
        assert_eq!(field(&form, "class_id"), Some(courrier.to_string().as_str()));
    }

    // No file: an empty file part (what a browser sends), or no part at all.
    let u = Upload::new(Some(&csrf), "patient", courrier).file("", "application/octet-stream", Vec::new());
    let r = upload_page(&app, &cookie, pid, &u).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(field_error(&r.text(), "file").as_deref(), Some("Choisissez le fichier à classer."));
    let r = upload_page(&app, &cookie, pid, &Upload::new(Some(&csrf), "patient", courrier)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(html_unescape(&r.text()).contains("Choisissez le fichier"));

    // Other fields are checked too: unknown class, a future date, a target of another file.
    let other = scalar(&app, "SELECT MIN(id) FROM cover_authorizations WHERE patient_id <> $1", args![pid]).await;
    let u = Upload::new(Some(&csrf), &format!("pec:{other}"), 999_999).set("document_date", "01/01/2099").file("a.pdf", "application/pdf", pdf("A"));
    let r = upload_page(&app, &cookie, pid, &u).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    assert_eq!(field_error(&html, "class_id").as_deref(), Some("Choisissez la classe du document dans le plan de classement."));
    assert_eq!(field_error(&html, "document_date").as_deref(), Some("La date du document ne peut pas être dans le futur."));
    assert_eq!(field_error(&html, "target").as_deref(), Some("Cet élément n'appartient pas au dossier du patient."));
    assert!(html_unescape(&html).contains("3 erreurs empêchent l'enregistrement"));

    // Forged forms: a wrong or absent token is refused (403) and nothing is written.
    for token in [Some("0123456789abcdef0123456789abcdef"), None] {
        let u = Upload::new(token, "patient", courrier).file("scan.pdf", "application/pdf", pdf("Courrier"));
        let r = upload_page(&app, &cookie, pid, &u).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "token {token:?}: {}", r.text());
        assert!(html_unescape(&r.text()).contains("Formulaire expiré"), "{}", r.text());
    }
    let refused = app.audit(filter("session", "csrf", "refused")).await;
    assert!(refused.iter().filter(|a| a.actor == "technicien").count() >= 2, "{refused:?}");
    // Without a session: to the login page, nothing written.
    let u = Upload::new(Some(&csrf), "patient", courrier).file("scan.pdf", "application/pdf", pdf("Courrier"));
    let r = post_multipart(&app, &format!("/patients/{pid}/documents"), None, None, &u).await;
    assert!(r.is_redirect_to("/login"), "{} {:?}", r.status, r.location());
    assert_eq!(count_documents(&app).await, before, "nothing written by any refused upload");
}

// ---------------------------------------------------------------- 3. the API

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_upload_returns_the_document_and_problems_naming_the_field() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let (pec_id, pid) = pecs_missing_answer(&app, ids.hsm).await[0];
    let accord = class_id(&app, ids.hsm, "accord_pec").await;
    let key = app.api_key("technicien").await;
    let bytes = pdf("Accord de la mutuelle");

    let u = Upload::new(None, &format!("pec:{pec_id}"), accord).set("document_date", "05/11/2026").set("title", "Accord reçu").file("accord.pdf", "application/pdf", bytes.clone());
    let r = upload_api(&app, &key, pid, &u).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.content_type().starts_with("application/json"));
    let d = r.json();
    assert_eq!(d["sha256"], json!(sha_hex(&bytes)));
    assert_eq!(d["mime"], "application/pdf");
    assert_eq!(d["retention_until"], "2036-11-05", "ten years for accord_pec");
    assert_eq!(d["document_date"], "2026-11-05");
    assert_eq!(d["size_bytes"], json!(bytes.len()));
    assert_eq!(d["target_kind"], "pec");
    assert_eq!(d["target_id"], json!(pec_id));
    assert_eq!(d["class_id"], json!(accord));
    assert_eq!(d["class_label"], "Accord de prise en charge");
    assert_eq!(d["title"], "Accord reçu");
    assert_eq!(d["file_name"], "accord.pdf");
    assert_eq!(d["confidentiality"], "normal");
    assert!(d["uploaded_by"].as_str().unwrap().starts_with("technicien"), "{d}");
    assert_eq!(d["version"], 1);
    assert!(d["withdrawn_at"].is_null());
    let doc = d["id"].as_i64().expect("an id");

    // Metadata, list, content.
    let r = app.get_api(&format!("/api/v1/documents/{doc}"), &key).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["sha256"], json!(sha_hex(&bytes)));
    let r = app.get_api(&format!("/api/v1/patients/{pid}/documents"), &key).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json().as_array().unwrap().iter().any(|x| x["id"] == json!(doc)));
    let r = app.get_api(&format!("/api/v1/documents/{doc}/content"), &key).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, bytes);
    assert_eq!(r.content_type(), "application/pdf");
    assert_eq!(r.header("x-content-sha256"), Some(sha_hex(&bytes)));

    let before = count_documents(&app).await;
    // 415: not a PDF/JPEG/PNG whatever the name.
    let u = Upload::new(None, "patient", accord).file("scan.pdf", "application/pdf", b"<html><body>not a pdf</body></html>".to_vec());
    let r = upload_api(&app, &key, pid, &u).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
    assert_eq!(r.content_type(), "application/problem+json");
    let p = r.json();
    assert_eq!(p["status"], 415);
    assert_eq!(p["errors"][0]["field"], "file");
    assert!(p["errors"][0]["message"].as_str().unwrap().starts_with("Type de fichier refusé"), "{p}");

    // 422: unknown class, class of another establishment, target of another file.
    let dpass_class = class_id(&app, ids.dpass, "accord_pec").await;
    for (class, what) in [(999_999, "unknown"), (dpass_class, "other establishment")] {
        let u = Upload::new(None, "patient", class).file("a.pdf", "application/pdf", pdf("A"));
        let r = upload_api(&app, &key, pid, &u).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", r.text());
        assert_eq!(r.content_type(), "application/problem+json");
        let fields: Vec<String> = r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
        assert_eq!(fields, ["class_id"], "{what}");
    }
    let u = Upload::new(None, "patient", accord).file("", "application/octet-stream", Vec::new());
    let r = upload_api(&app, &key, pid, &u).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "file");
    assert_eq!(count_documents(&app).await, before, "nothing written by refused uploads");

    // Roles without write permission: 403, nothing written. No key: 401.
    let auditor = app.api_key("auditeur").await;
    let u = Upload::new(None, "patient", accord).file("a.pdf", "application/pdf", pdf("A"));
    let r = upload_api(&app, &auditor, pid, &u).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "auditor: {}", r.text());
    assert_eq!(r.content_type(), "application/problem+json");
    let rs_file = file_at_site(&app, ids.rs).await;
    let regisseur = app.api_key("regisseur").await;
    assert_eq!(app.get_api(&format!("/api/v1/patients/{rs_file}/documents"), &regisseur).await.status, StatusCode::OK, "the régisseur reads the file");
    let u = Upload::new(None, "patient", class_id(&app, ids.dpass, "courrier").await).file("a.pdf", "application/pdf", pdf("A"));
    let r = upload_api(&app, &regisseur, rs_file, &u).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "régisseur: {}", r.text());
    let r = post_multipart(&app, &format!("/api/v1/patients/{pid}/documents"), None, None, &u).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A session cookie is no API credential.
    let cookie = app.login_demo("technicien").await;
    let r = post_multipart(&app, &format!("/api/v1/patients/{pid}/documents"), Some(&cookie), None, &u).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count_documents(&app).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_upload_over_the_limit_is_a_413_problem_naming_the_file() {
    let mut app = TestApp::new().await;
    with_limit(&mut app, 64 * 1024);
    let ids = fixtures::demo_ids(&app.db).await;
    let pid = file_at_site(&app, ids.med).await;
    let courrier = class_id(&app, ids.hsm, "courrier").await;
    let key = app.api_key("technicien").await;
    let before = count_documents(&app).await;
    for len in [64 * 1024 + 1, 1024 * 1024] {
        let u = Upload::new(None, "patient", courrier).file("scan.pdf", "application/pdf", sized_pdf(len));
        let r = upload_api(&app, &key, pid, &u).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{len}: {}", r.text());
        assert_eq!(r.content_type(), "application/problem+json");
        let p = r.json();
        assert_eq!(p["status"], 413);
        assert_eq!(p["errors"][0]["field"], "file");
        assert_eq!(p["errors"][0]["message"], "64 Kio au plus.");
        assert!(p["detail"].as_str().unwrap().contains("64 Kio"), "{p}");
    }
    assert_eq!(count_documents(&app).await, before);
    let u = Upload::new(None, "patient", courrier).file("scan.pdf", "application/pdf", sized_pdf(64 * 1024));
    assert_eq!(upload_api(&app, &key, pid, &u).await.status, StatusCode::CREATED, "exactly the limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_withdrawal_with_version_and_reason() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let answers = filed_answers(&app, ids.hsm).await;
    let ((doc, pid), (doc2, _)) = (answers[0], answers[1]);
    let key = app.api_key("technicien").await;
    let missing_before = app.get_api(&format!("/api/v1/documents/missing?establishment_id={}", ids.hsm), &key).await.json().as_array().unwrap().len();

    let r = app.post_json(&format!("/api/v1/documents/{doc}/withdraw?version=1"), Some(&key), &json!({ "reason": "  " })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "reason");
    let r = app.post_json(&format!("/api/v1/documents/{doc}/withdraw?version=7"), Some(&key), &json!({ "reason": "Doublon" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "stale version: {}", r.text());
    let r = app.post_json(&format!("/api/v1/documents/{doc}/withdraw?version=1"), Some(&key), &json!({ "reason": "Doublon" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let d = r.json();
    assert_eq!((d["withdrawn_reason"].as_str(), d["version"].as_i64()), (Some("Doublon"), Some(2)));
    assert!(d["withdrawn_at"].is_string());
    let r = app.post_json(&format!("/api/v1/documents/{doc}/withdraw?version=2"), Some(&key), &json!({ "reason": "Encore" })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "already withdrawn: {}", r.text());
    // A read-only key may not withdraw.
    let auditor = app.api_key("auditeur").await;
    let r = app.post_json(&format!("/api/v1/documents/{doc2}/withdraw?version=1"), Some(&auditor), &json!({ "reason": "Doublon" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(opt_text(&app, "SELECT withdrawn_at FROM documents WHERE id = $1", args![doc2]).await.is_none());
    // The withdrawn answer no longer counts: its file is now missing it.
    let missing = app.get_api(&format!("/api/v1/documents/missing?establishment_id={}", ids.hsm), &key).await.json();
    assert_eq!(missing.as_array().unwrap().len(), missing_before + 1);
    assert!(missing.as_array().unwrap().iter().any(|m| m["patient_id"] == json!(pid)));
}

// ---------------------------------------------------------------- 4. scoping and confidentiality

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_of_another_establishment_or_site_are_out_of_reach() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let (hsm_doc, hsm_file) = filed_answers(&app, ids.hsm).await[0];
    let before = count_documents(&app).await;

    // The DPASS secretary: no HSM document, no HSM upload (page, form, API).
    let sec = app.login_demo("secretaire").await;
    let r = app.get(&format!("/documents/{hsm_doc}"), Some(&sec)).await;
    assert!(is_denied(r.status), "{}", r.status);
    assert!(!r.body.starts_with(b"%PDF"));
    let r = app.get(&format!("/patients/{hsm_file}/documents/nouveau"), Some(&sec)).await;
    assert!(is_denied(r.status), "upload form: {}", r.status);
    let rs_file = file_at_site(&app, ids.rs).await;
    let csrf = upload_csrf(&app, &sec, rs_file).await;
    let u = Upload::new(Some(&csrf), "patient", class_id(&app, ids.hsm, "courrier").await).file("a.pdf", "application/pdf", pdf("Intrus"));
    let r = upload_page(&app, &sec, hsm_file, &u).await;
    assert!(is_denied(r.status), "upload to an HSM file: {} {}", r.status, r.text());
    let sec_key = app.api_key("secretaire").await;
    let r = app.get_api(&format!("/api/v1/documents/{hsm_doc}/content"), &sec_key).await;
    assert!(is_denied(r.status), "{}", r.status);
    assert_eq!(r.content_type(), "application/problem+json");
    let r = app.get_api(&format!("/api/v1/documents/{hsm_doc}"), &sec_key).await;
    assert!(is_denied(r.status), "metadata: {}", r.status);
    let r = upload_api(&app, &sec_key, hsm_file, &u).await;
    assert!(is_denied(r.status), "API upload: {}", r.status);
    // Another DPASS site than hers.
    let md_file = scalar(
        &app,
        "SELECT MIN(p.id) FROM patients p JOIN patient_sites ps ON ps.patient_id = p.id WHERE ps.site_id = $1 AND p.non_disclosure = FALSE \
         AND NOT EXISTS (SELECT 1 FROM patient_sites x WHERE x.patient_id = p.id AND x.site_id = $2)",
        args![ids.md, ids.rs],
    )
    .await;
    let u = Upload::new(Some(&csrf), "patient", class_id(&app, ids.dpass, "courrier").await).file("a.pdf", "application/pdf", pdf("Intrus"));
    let r = upload_page(&app, &sec, md_file, &u).await;
    assert!(is_denied(r.status), "upload to a file of another site: {}", r.status);
    assert_eq!(count_documents(&app).await, before, "nothing written");
    let refused = app.audit(filter("patient", "edit", "refused")).await;
    assert!(refused.iter().any(|a| a.actor == "secretaire"), "refusals are audited: {refused:?}");

    // The mandataire (Médecine interne only): a document of a file of another site.
    let other_doc = scalar(
        &app,
        "SELECT MIN(d.id) FROM documents d WHERE d.establishment_id = $1 AND NOT EXISTS (SELECT 1 FROM patient_sites ps WHERE ps.patient_id = d.patient_id AND ps.site_id = $2)",
        args![ids.hsm, ids.med],
    )
    .await;
    let mand = app.login_demo("mandataire").await;
    let r = app.get(&format!("/documents/{other_doc}"), Some(&mand)).await;
    assert!(is_denied(r.status), "{}", r.status);
    // …while a document of a file of his site opens.
    let med_doc = scalar(
        &app,
        "SELECT MIN(d.id) FROM documents d JOIN patients p ON p.id = d.patient_id WHERE p.non_disclosure = FALSE AND d.confidentiality = 'normal' \
         AND EXISTS (SELECT 1 FROM patient_sites ps WHERE ps.patient_id = d.patient_id AND ps.site_id = $1)",
        args![ids.med],
    )
    .await;
    let r = app.get(&format!("/documents/{med_doc}"), Some(&mand)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.body.starts_with(b"%PDF-"));
    // The mandataire reads but may not file.
    let med_file = file_at_site(&app, ids.med).await;
    let r = app.get(&format!("/patients/{med_file}/documents/nouveau"), Some(&mand)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let page = app.get(&format!("/patients/{med_file}"), Some(&mand)).await.text();
    assert!(!page.contains(&format!("/patients/{med_file}/documents/nouveau")), "no upload link for a read-only role");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_documents_open_only_with_the_permission() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;

    // HSM: the technician files a confidential letter; he opens it, the mandataire may not.
    let med_file = file_at_site(&app, ids.med).await;
    let tech = app.login_demo("technicien").await;
    let csrf = upload_csrf(&app, &tech, med_file).await;
    let bytes = pdf("Jugement de curatelle");
    let u = Upload::new(Some(&csrf), "patient", class_id(&app, ids.hsm, "courrier").await)
        .set("confidentiality", "confidentiel")
        .set("title", "Jugement de curatelle renforcée")
        .file("jugement.pdf", "application/pdf", bytes.clone());
    let r = upload_page(&app, &tech, med_file, &u).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let doc = scalar(&app, "SELECT MAX(id) FROM documents WHERE patient_id = $1", args![med_file]).await;
    assert_eq!(text_of(&app, "SELECT confidentiality FROM documents WHERE id = $1", args![doc]).await, "confidentiel");
    let r = app.get(&format!("/documents/{doc}"), Some(&tech)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, bytes);
    let tech_row = plain(section(&app.get(&format!("/patients/{med_file}"), Some(&tech)).await.text(), "h-documents"));
    assert!(tech_row.contains("Courrier confidentiel Jugement de curatelle renforcée"), "{tech_row}");

    let mand = app.login_demo("mandataire").await;
    let r = app.get(&format!("/documents/{doc}"), Some(&mand)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(!r.body.starts_with(b"%PDF"));
    let refused = app.audit(filter("document", "open", "refused")).await;
    assert!(refused.iter().any(|a| a.actor == "mandataire" && a.changes.contains("read_confidential_documents")), "{refused:?}");
    let html = app.get(&format!("/patients/{med_file}"), Some(&mand)).await.text();
    let docs = section(&html, "h-documents");
    assert!(plain(docs).contains("Document confidentiel"), "the title is masked: {}", plain(docs));
    assert!(!html.contains("Jugement de curatelle renforcée"), "the title never reaches the page");
    assert!(!links(docs).contains(&format!("/documents/{doc}")), "no link to open it");
    let mand_key = app.api_key("mandataire").await;
    let r = app.get_api(&format!("/api/v1/documents/{doc}"), &mand_key).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!((r.json()["title"].as_str(), r.json()["file_name"].as_str()), (Some("Document confidentiel"), Some("confidentiel")));
    assert_eq!(app.get_api(&format!("/api/v1/documents/{doc}/content"), &mand_key).await.status, StatusCode::FORBIDDEN);

    // DPASS: the secretary files a confidential document but may not open it; the controller may.
    let rs_file = file_at_site(&app, ids.rs).await;
    let sec = app.login_demo("secretaire").await;
    let csrf = upload_csrf(&app, &sec, rs_file).await;
    let u = Upload::new(Some(&csrf), "patient", class_id(&app, ids.dpass, "mesure_protection").await).file("tutelle.pdf", "application/pdf", pdf("Tutelle"));
    let r = upload_page(&app, &sec, rs_file, &u).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let doc = scalar(&app, "SELECT MAX(id) FROM documents WHERE patient_id = $1", args![rs_file]).await;
    assert_eq!(text_of(&app, "SELECT confidentiality FROM documents WHERE id = $1", args![doc]).await, "confidentiel", "the class's level");
    let r = app.get(&format!("/documents/{doc}"), Some(&sec)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the secretary may not open it");
    let ctl = app.login_demo("controleur").await;
    let r = app.get(&format!("/documents/{doc}"), Some(&ctl)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.body.starts_with(b"%PDF-"));
}

// ---------------------------------------------------------------- 5. withdrawal (page)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_form_needs_a_reason_and_marks_the_document() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let (doc, pid) = filed_answers(&app, ids.hsm).await[0];
    let cookie = app.login_demo("technicien").await;
    let html = app.get(&format!("/patients/{pid}"), Some(&cookie)).await.text();
    let action = format!("/documents/{doc}/retirer");
    let mut form = form_fields(&html, &action);
    assert_eq!(field(&form, "version"), Some("1"));
    assert_eq!(field(&form, "reason"), Some(""));

    // No reason: refused, nothing changes.
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(html_unescape(&r.text()).contains("Ce champ est obligatoire."), "{}", r.text());
    assert!(opt_text(&app, "SELECT withdrawn_at FROM documents WHERE id = $1", args![doc]).await.is_none());
    // Not a dead end: the withdrawal form again (same action, the version read) and a way back to the file.
    let again = form_fields(&r.text(), &action);
    assert_eq!(field(&again, "version"), Some("1"));
    assert!(links(&r.text()).contains(&format!("/patients/{pid}#h-documents")), "{}", r.text());

    // A forged form: refused.
    let mut forged = form.clone();
    set_field(&mut forged, "_csrf", "forged");
    set_field(&mut forged, "reason", "Doublon");
    assert_eq!(app.post_form(&action, Some(&cookie), &refs(&forged)).await.status, StatusCode::FORBIDDEN);

    // With a reason: withdrawn, shown with its date and reason, no longer openable from the page.
    let reason = "Classé dans le mauvais dossier";
    set_field(&mut form, "reason", reason);
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(r.location().unwrap().starts_with(&format!("/patients/{pid}")), "{:?}", r.location());
    let at = opt_text(&app, "SELECT withdrawn_at FROM documents WHERE id = $1", args![doc]).await.expect("withdrawn");
    assert_eq!(text_of(&app, "SELECT withdrawn_reason FROM documents WHERE id = $1", args![doc]).await, reason);
    assert_eq!(scalar(&app, "SELECT version FROM documents WHERE id = $1", args![doc]).await, 2);
    let html = app.get(&format!("/patients/{pid}"), Some(&cookie)).await.text();
    let docs = section(&html, "h-documents");
    assert!(plain(docs).contains(&format!("Retiré le {} : {reason}", fr_of(&at))), "{}", plain(docs));
    assert!(!links(docs).contains(&format!("/documents/{doc}")), "no opening link for a withdrawn document");
    assert!(!docs.contains(&format!("action=\"{action}\"")), "no second withdrawal form");
    let rows = app.audit(filter("patient", "document_withdraw", "ok")).await;
    assert!(rows.iter().any(|a| a.actor == "technicien" && a.entity_id.as_deref() == Some(pid.to_string().as_str()) && a.changes.contains(reason)), "{rows:?}");

    // Again (stale form): refused, the first reason stays.
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert!(matches!(r.status, StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT), "{}", r.status);
    assert!(html_unescape(&r.text()).contains("déjà retiré"), "{}", r.text());
    // A read-only role may not withdraw.
    let (doc2, _) = filed_answers(&app, ids.hsm).await[0];
    let aud = app.login_demo("auditeur").await;
    let csrf = common::csrf_from_html(&app.get("/", Some(&aud)).await.text()).expect("a csrf token on the dashboard");
    let r = app.post_form(&format!("/documents/{doc2}/retirer"), Some(&aud), &[("_csrf", &csrf), ("version", "1"), ("reason", "Doublon")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(opt_text(&app, "SELECT withdrawn_at FROM documents WHERE id = $1", args![doc2]).await.is_none());
}

/// A withdrawal posted with a version that is no longer the document's: 409, the withdrawal
/// form again with the reason typed, the current version and a link back to the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_withdrawal_reshows_the_form_with_a_way_back() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let (doc, pid) = filed_answers(&app, ids.hsm).await[0];
    let cookie = app.login_demo("technicien").await;
    let html = app.get(&format!("/patients/{pid}"), Some(&cookie)).await.text();
    let action = format!("/documents/{doc}/retirer");
    let mut form = form_fields(&html, &action);
    set_field(&mut form, "version", "7");
    set_field(&mut form, "reason", "Mauvais patient");
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let html = r.text();
    assert!(html_unescape(&html).contains("Ce document a été modifié(e) par quelqu'un d'autre"), "{html}");
    let again = form_fields(&html, &action);
    assert_eq!((field(&again, "version"), field(&again, "reason")), (Some("1"), Some("Mauvais patient")));
    assert!(links(&html).contains(&format!("/patients/{pid}#h-documents")), "{html}");
    assert!(opt_text(&app, "SELECT withdrawn_at FROM documents WHERE id = $1", args![doc]).await.is_none());
    let r = app.post_form(&action, Some(&cookie), &refs(&again)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(text_of(&app, "SELECT withdrawn_reason FROM documents WHERE id = $1", args![doc]).await, "Mauvais patient");
}

/// The refusal of a withdrawal without reason is shown to a French-speaking user: it
/// should name the field as the form does (« Motif du retrait »), not `reason`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_refusal_names_the_reason_field_in_french() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let (doc, pid) = filed_answers(&app, ids.hsm).await[0];
    let cookie = app.login_demo("technicien").await;
    let html = app.get(&format!("/patients/{pid}"), Some(&cookie)).await.text();
    let action = format!("/documents/{doc}/retirer");
    let form = form_fields(&html, &action);
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = plain(&r.text());
    assert!(text.contains("Motif du retrait"), "{text}");
    assert!(!text.contains("reason :"), "{text}");
}

// ---------------------------------------------------------------- 6. reports

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_list_missing_answers_and_expired_mail_with_exports_matching_the_api() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let missing = pecs_missing_answer(&app, ids.hsm).await;
    assert_eq!(missing.len(), 2, "the demo leaves two agreed PECs without their answer");
    let expired: Vec<(i64, i64)> = pairs(
        &app,
        "SELECT d.id, d.patient_id FROM documents d WHERE d.establishment_id = $1 AND d.retention_until < $2 AND d.withdrawn_at IS NULL ORDER BY d.retention_until",
        args![ids.hsm, paris_today().to_string()],
    )
    .await;
    assert_eq!(expired.len(), 2, "the two old letters");
    let ipp = |pid: i64| {
        let app = &app;
        async move { text_of(app, "SELECT ipp FROM patients WHERE id = $1", args![pid]).await }
    };
    let cookie = app.login_demo("technicien").await;

    let r = app.get("/documents", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html.contains("<h1>Documents — Hôpital Sainte-Marie</h1>"), "{html}");
    let manquants = section(&html, "h-manquants");
    assert!(plain(manquants).starts_with("Dossiers sans justificatif exigé (2)"), "{}", plain(manquants));
    for (_, pid) in &missing {
        assert!(links(manquants).contains(&format!("/patients/{pid}#h-documents")), "file {pid} listed");
        assert!(plain(manquants).contains(&ipp(*pid).await));
    }
    assert_eq!(plain(manquants).matches("Accord de prise en charge").count(), 2, "{}", plain(manquants));
    let echus = plain(section(&html, "h-echus"));
    assert!(echus.starts_with("Documents dont la durée de conservation est échue (2)"), "{echus}");
    assert!(echus.contains("Courrier Courrier de relance 1 11/03/2018 11/03/2024"), "{echus}");
    assert!(echus.contains("Courrier Courrier de relance 4 14/03/2018 14/03/2024"), "{echus}");
    assert!(echus.find("relance 1").unwrap() < echus.find("relance 4").unwrap(), "oldest first");

    // CSV: BOM, « ; », French header, the same rows.
    let r = app.get("/documents/conservation-echue.csv", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/csv"), "{}", r.content_type());
    assert!(r.body.starts_with(&[0xEF, 0xBB, 0xBF]), "a BOM");
    assert!(r.header("content-disposition").unwrap_or_default().contains("documents-conservation-echue.csv"));
    let text = r.text();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "IPP;Patient;Classe;Intitulé;Date du document;Conservation jusqu'au");
    assert_eq!(lines.len(), 3, "{text}");
    let first_name = text_of(&app, "SELECT birth_name || ' ' || first_name FROM patients WHERE id = $1", args![expired[0].1]).await;
    assert_eq!(lines[1], format!("{};{first_name};Courrier;Courrier de relance 1;11/03/2018;11/03/2024", ipp(expired[0].1).await));
    assert!(lines[2].ends_with(";Courrier;Courrier de relance 4;14/03/2018;14/03/2024"), "{}", lines[2]);

    let r = app.get("/documents/manquants.csv", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with(&[0xEF, 0xBB, 0xBF]), "a BOM");
    let text = r.text();
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["IPP", "Patient", "Séjour du", "Justificatifs manquants"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    for (_, pid) in &missing {
        let i = ipp(*pid).await;
        let row = rows.iter().find(|r| r[0] == *i).unwrap_or_else(|| panic!("{i} in {text}"));
        assert_eq!(&row[3], "Accord de prise en charge");
        assert!(row[2].ends_with("/11/2026"), "the stay's admission date: {:?}", &row[2]);
    }

    // XLSX: workbooks with the same contents.
    for (path, needles) in [
        ("/documents/conservation-echue.xlsx", vec!["Conservation jusqu'au".to_string(), "Courrier de relance 1".into(), "Courrier de relance 4".into()]),
        ("/documents/manquants.xlsx", vec!["Justificatifs manquants".to_string(), "Accord de prise en charge".into(), ipp(missing[0].1).await, ipp(missing[1].1).await]),
    ] {
        let r = app.get(path, Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.content_type().contains("spreadsheetml"), "{path}: {}", r.content_type());
        assert!(r.body.starts_with(b"PK"), "{path}");
        let xml = html_unescape(&xlsx_text(&r.body));
        for n in needles {
            assert!(xml.contains(&n), "{path} has {n}");
        }
    }

    // The API says the same.
    let key = app.api_key("technicien").await;
    let r = app.get_api(&format!("/api/v1/documents/past-retention?establishment_id={}", ids.hsm), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let api_expired = r.json();
    let api_expired = api_expired.as_array().unwrap();
    assert_eq!(api_expired.len(), 2);
    assert_eq!(api_expired[0]["document"]["title"], "Courrier de relance 1");
    assert_eq!(api_expired[0]["document"]["retention_until"], "2024-03-11");
    assert_eq!(api_expired[0]["ipp"], json!(ipp(expired[0].1).await));
    let r = app.get_api(&format!("/api/v1/documents/missing?establishment_id={}", ids.hsm), &key).await;
    assert_eq!(r.status, StatusCode::OK);
    let api_missing = r.json();
    let api_missing = api_missing.as_array().unwrap();
    assert_eq!(api_missing.len(), 2);
    for m in api_missing {
        assert_eq!(m["reasons"], json!(["justificatifs"]));
        assert_eq!(m["messages"], json!(["Justificatif manquant : Accord de prise en charge."]));
    }
    // The reports are audited.
    assert!(!app.audit(filter("document", "retention_report", "ok")).await.is_empty());
    assert!(!app.audit(filter("document", "missing_report", "ok")).await.is_empty());

    // Filing one answer takes its file off the report.
    let (pec_id, pid) = missing[0];
    let u = Upload::new(None, &format!("pec:{pec_id}"), class_id(&app, ids.hsm, "accord_pec").await).file("accord.pdf", "application/pdf", pdf("Accord"));
    assert_eq!(upload_api(&app, &key, pid, &u).await.status, StatusCode::CREATED);
    let html = app.get("/documents", Some(&cookie)).await.text();
    assert!(plain(section(&html, "h-manquants")).starts_with("Dossiers sans justificatif exigé (1)"));
    assert!(!links(section(&html, "h-manquants")).contains(&format!("/patients/{pid}#h-documents")));
    let n = app.get_api(&format!("/api/v1/documents/missing?establishment_id={}", ids.hsm), &key).await.json().as_array().unwrap().len();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_scoped_to_the_users_establishment_and_roles() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    // The DPASS secretary sees her establishment's (empty) reports, nothing of the hospital.
    let sec = app.login_demo("secretaire").await;
    let r = app.get("/documents", Some(&sec)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html.contains("<h1>Documents — DPASS Province Sud</h1>"), "{html}");
    assert!(plain(section(&html, "h-manquants")).starts_with("Dossiers sans justificatif exigé (0)"));
    assert!(plain(section(&html, "h-echus")).starts_with("Documents dont la durée de conservation est échue (0)"));
    assert!(!html.contains("Courrier de relance"));
    let lines = app.get("/documents/conservation-echue.csv", Some(&sec)).await.text().lines().count();
    assert_eq!(lines, 1, "only the header");
    let key = app.api_key("secretaire").await;
    let r = app.get_api(&format!("/api/v1/documents/past-retention?establishment_id={}", ids.hsm), &key).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another establishment: {}", r.text());
    let r = app.get_api(&format!("/api/v1/documents/missing?establishment_id={}", ids.hsm), &key).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The comptable does not read files.
    let cpt = app.login_demo("comptable").await;
    assert_eq!(app.get("/documents", Some(&cpt)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/documents/manquants.csv", Some(&cpt)).await.status, StatusCode::FORBIDDEN);
    // Without a session: to the login page.
    let r = app.get("/documents/manquants.csv", None).await;
    assert!(r.location().unwrap_or_default().starts_with("/login"), "{:?}", r.location());
}

// ---------------------------------------------------------------- 7. classification plan

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_admin_pages_list_create_refuse_duplicates_and_deactivate() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let admin = app.login_demo("admin").await;
    let plan = format!("/admin/etablissements/{}/plan-de-classement", ids.hsm);

    let r = app.get(&plan, Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html_unescape(&html).contains("Plan de classement — Hôpital Sainte-Marie"));
    let table = plain(&html[html.find("<table").expect("the plan table")..]);
    for (code, label, years, _, _) in quittance_store::documents::DEFAULT_PLAN {
        assert!(table.contains(&format!("{code} {label} {years} ans")), "{code} in {table}");
    }
    assert!(table.contains("accord_pec Accord de prise en charge 10 ans Normal Chaque prise en charge accordée (réponse de l'organisme) Utilisable"), "{table}");
    assert!(table.contains("mesure_protection Jugement de tutelle ou de curatelle 10 ans Confidentiel — Utilisable"), "{table}");
    assert!(table.contains("courrier Courrier 6 ans Normal"), "{table}");

    // A new class.
    let new = format!("{plan}/nouvelle");
    let r = app.get(&new, Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut form = form_fields(&r.text(), &new);
    assert_eq!(field(&form, "retention_years"), Some("10"));
    assert_eq!(field(&form, "active"), Some("on"));
    for (k, v) in [("code", "consentement_soins"), ("label", "Consentement aux soins"), ("retention_years", "20"), ("confidentiality", "confidentiel"), ("position", "5")] {
        set_field(&mut form, k, v);
    }
    let before = scalar(&app, "SELECT COUNT(*) FROM document_classes WHERE establishment_id = $1", args![ids.hsm]).await;
    let r = app.post_form(&new, Some(&admin), &refs(&form)).await;
    assert!(r.is_redirect_to(&plan), "{} {:?} {}", r.status, r.location(), r.text());
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cid = class_id(&app, ids.hsm, "consentement_soins").await;
    let table = plain(&app.get(&plan, Some(&admin)).await.text());
    assert!(table.contains("consentement_soins Consentement aux soins 20 ans Confidentiel — Utilisable"), "{table}");
    assert!(table.find("consentement_soins").unwrap() < table.find("piece_identite").unwrap(), "ordered by position");
    let rows = app.audit(filter("document_class", "create", "ok")).await;
    assert!(rows.iter().any(|a| a.actor == "admin" && a.entity_id.as_deref() == Some(cid.to_string().as_str())), "{rows:?}");

    // A duplicate code and a malformed one: 422 naming « Code », nothing added.
    for (code, msg) in [("accord_pec", "Code : Ce code est déjà utilisé dans le plan."), ("Accord PEC", "Code : Minuscules sans accent, chiffres et « _ » seulement.")] {
        set_field(&mut form, "code", code);
        let r = app.post_form(&new, Some(&admin), &refs(&form)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        let html = html_unescape(&r.text());
        assert!(html.contains(msg), "{code}: {html}");
    }
    set_field(&mut form, "code", "x_ok");
    set_field(&mut form, "retention_years", "0");
    let r = app.post_form(&new, Some(&admin), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&r.text(), "retention_years").as_deref(), Some("Durée de conservation en années, de 1 à 100."));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM document_classes WHERE establishment_id = $1", args![ids.hsm]).await, before + 1);

    // Edit: deactivate; the class is marked « Retirée » and no longer offered on upload.
    let edit = format!("{plan}/{cid}");
    let r = app.get(&edit, Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut form = form_fields(&r.text(), &edit);
    assert_eq!(field(&form, "code"), Some("consentement_soins"));
    assert_eq!(field(&form, "confidentiality"), Some("confidentiel"));
    form.retain(|(k, _)| k != "active");
    let r = app.post_form(&edit, Some(&admin), &refs(&form)).await;
    assert!(r.is_redirect_to(&plan), "{} {}", r.status, r.text());
    assert!(plain(&app.get(&plan, Some(&admin)).await.text()).contains("consentement_soins Consentement aux soins 20 ans Confidentiel — Retirée"));
    let tech = app.login_demo("technicien").await;
    let pid = file_at_site(&app, ids.med).await;
    let upload_form = app.get(&format!("/patients/{pid}/documents/nouveau"), Some(&tech)).await.text();
    assert!(!upload_form.contains("Consentement aux soins"), "an inactive class is not offered");
    assert!(upload_form.contains("Accord de prise en charge (conservation 10 ans)"));

    // The technician may not manage the plan.
    assert_eq!(app.get(&plan, Some(&tech)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&new, Some(&tech)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&edit, Some(&tech)).await.status, StatusCode::FORBIDDEN);
    let csrf = upload_csrf(&app, &tech, pid).await;
    let r = app
        .post_form(&new, Some(&tech), &[("_csrf", &csrf), ("code", "intrus"), ("label", "Intrus"), ("retention_years", "5"), ("confidentiality", "normal"), ("required_for", ""), ("active", "on")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM document_classes WHERE code = 'intrus'", Vec::new()).await, 0);
}

/// Two administrators edit one class: the second submit is stale (409) and re-shows the form
/// with what was typed, the current version and a French message; saving again then works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_class_form_is_reshown_with_what_was_typed() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let admin = app.login_demo("admin").await;
    let cid = class_id(&app, ids.hsm, "courrier").await;
    let edit = format!("/admin/etablissements/{}/plan-de-classement/{cid}", ids.hsm);
    let html = app.get(&edit, Some(&admin)).await.text();
    let (mut first, mut second) = (form_fields(&html, &edit), form_fields(&html, &edit));
    assert_eq!(field(&first, "version"), Some("1"));
    set_field(&mut first, "label", "Courrier reçu");
    let r = app.post_form(&edit, Some(&admin), &refs(&first)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(scalar(&app, "SELECT version FROM document_classes WHERE id = $1", args![cid]).await, 2);

    set_field(&mut second, "label", "Courrier envoyé");
    let r = app.post_form(&edit, Some(&admin), &refs(&second)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let html = r.text();
    assert!(html_unescape(&html).contains("Cette classe de documents a été modifié(e) par quelqu'un d'autre"), "{html}");
    let again = form_fields(&html, &edit);
    assert_eq!(field(&again, "label"), Some("Courrier envoyé"), "what was typed is kept");
    assert_eq!(field(&again, "version"), Some("2"), "the current version, so saving again is a choice");
    assert_eq!(text_of(&app, "SELECT label FROM document_classes WHERE id = $1", args![cid]).await, "Courrier reçu");
    let r = app.post_form(&edit, Some(&admin), &refs(&again)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(text_of(&app, "SELECT label FROM document_classes WHERE id = $1", args![cid]).await, "Courrier envoyé");

    // A code already in the plan: 422 on « Code », from the unique constraint.
    let html = app.get(&edit, Some(&admin)).await.text();
    let mut clash = form_fields(&html, &edit);
    set_field(&mut clash, "code", "accord_pec");
    let r = app.post_form(&edit, Some(&admin), &refs(&clash)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(field_error(&r.text(), "code").as_deref(), Some("Ce code est déjà utilisé dans le plan."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_default_is_offered_to_an_establishment_without_classes() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    assert_eq!(count_classes(&app, ids.dpass).await, quittance_store::documents::DEFAULT_PLAN.len() as i64, "seeded with the establishment");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM documents WHERE establishment_id = $1", args![ids.dpass]).await, 0, "the demo files nothing at DPASS");
    exec(&app, "DELETE FROM document_classes WHERE establishment_id = $1", args![ids.dpass]).await;
    let admin = app.login_demo("admin").await;
    let plan = format!("/admin/etablissements/{}/plan-de-classement", ids.dpass);
    let html = app.get(&plan, Some(&admin)).await.text();
    assert!(html.contains("Aucune classe.") && html.contains("Installer le plan proposé"), "{html}");
    let f = form_fields(&html, &format!("{plan}/defaut"));
    let r = app.post_form(&format!("{plan}/defaut"), Some(&admin), &refs(&f)).await;
    assert!(r.is_redirect_to(&plan), "{} {}", r.status, r.text());
    assert_eq!(count_classes(&app, ids.dpass).await, quittance_store::documents::DEFAULT_PLAN.len() as i64);
    let html = app.get(&plan, Some(&admin)).await.text();
    assert!(plain(&html).contains("accord_pec Accord de prise en charge 10 ans"), "{html}");
    assert!(!app.audit(filter("document_class", "seed", "ok")).await.is_empty());
    // Installing again adds nothing; the technician of the other establishment may not.
    let r = app.post_form(&format!("{plan}/defaut"), Some(&admin), &refs(&f)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(count_classes(&app, ids.dpass).await, quittance_store::documents::DEFAULT_PLAN.len() as i64);
    let tech = app.login_demo("technicien").await;
    let csrf = common::csrf_from_html(&app.get("/", Some(&tech)).await.text()).expect("a csrf token");
    assert_eq!(app.post_form(&format!("{plan}/defaut"), Some(&tech), &[("_csrf", &csrf)]).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_document_classes_list_create_update() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let key = app.api_key("admin").await;
    let path = format!("/api/v1/document-classes?establishment_id={}", ids.hsm);

    let r = app.get_api(&path, &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let list = r.json();
    let codes: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    let expected: Vec<&str> = quittance_store::documents::DEFAULT_PLAN.iter().map(|c| c.0).collect();
    assert_eq!(codes, expected, "the default plan, in order");
    let accord = list.as_array().unwrap().iter().find(|c| c["code"] == "accord_pec").unwrap();
    assert_eq!((accord["retention_years"].as_i64(), accord["required_for"].as_str(), accord["active"].as_bool()), (Some(10), Some("pec_accordee"), Some(true)));

    let body = json!({ "code": "devis", "label": "Devis signé", "retention_years": "6", "confidentiality": "normal", "required_for": "", "position": "300", "active": "true" });
    let r = app.post_json(&path, Some(&key), &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let c = r.json();
    assert_eq!((c["code"].as_str(), c["label"].as_str(), c["retention_years"].as_i64(), c["active"].as_bool()), (Some("devis"), Some("Devis signé"), Some(6), Some(true)));
    assert_eq!(c["establishment_id"], json!(ids.hsm));
    let cid = c["id"].as_i64().unwrap();
    assert_eq!(app.get_api(&path, &key).await.json().as_array().unwrap().len(), expected.len() + 1);

    // Duplicate: 422 naming the code.
    let r = app.post_json(&path, Some(&key), &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.json()["errors"][0]["field"], "code");

    // Update.
    assert_eq!(c["version"], 1);
    let put = format!("/api/v1/document-classes/{cid}?establishment_id={}&version=1", ids.hsm);
    let mut changed = body.clone();
    changed["label"] = json!("Devis signé par le patient");
    changed["required_for"] = json!("sejour");
    let r = app.send_json(Method::PUT, &put, Some(&key), Some(&changed)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!((r.json()["label"].as_str(), r.json()["required_for"].as_str(), r.json()["version"].as_i64()), (Some("Devis signé par le patient"), Some("sejour"), Some(2)));
    // The version read is now stale: 409, nothing changed.
    let mut stale = changed.clone();
    stale["label"] = json!("Écrasé");
    let r = app.send_json(Method::PUT, &put, Some(&key), Some(&stale)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.content_type(), "application/problem+json");
    // Renaming onto a code already in the plan: 422 naming the code (the unique constraint).
    let mut clash = changed.clone();
    clash["code"] = json!("courrier");
    let r = app.send_json(Method::PUT, &format!("/api/v1/document-classes/{cid}?establishment_id={}&version=2", ids.hsm), Some(&key), Some(&clash)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["field"], "code");
    let r = app.send_json(Method::PUT, &put, Some(&key), Some(&json!({ "code": "devis", "label": "", "retention_years": "x", "confidentiality": "secret", "required_for": "tout" }))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields: Vec<String> = r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    fields.sort();
    assert_eq!(fields, ["confidentiality", "label", "required_for", "retention_years"]);
    // A class of the hospital is not found under the other establishment.
    let r = app.send_json(Method::PUT, &format!("/api/v1/document-classes/{cid}?establishment_id={}&version=2", ids.dpass), Some(&key), Some(&json!({ "code": "devis_nc", "label": "Devis", "retention_years": "6", "confidentiality": "normal", "required_for": "", "active": "true" }))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(text_of(&app, "SELECT label FROM document_classes WHERE id = $1", args![cid]).await, "Devis signé par le patient");

    // The technician reads the plan but may not change it.
    let tech = app.api_key("technicien").await;
    assert_eq!(app.get_api(&path, &tech).await.status, StatusCode::OK);
    let r = app.post_json(&path, Some(&tech), &json!({ "code": "intrus", "label": "Intrus", "retention_years": "5", "confidentiality": "normal" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = app.send_json(Method::PUT, &put, Some(&tech), Some(&changed)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM document_classes WHERE code = 'intrus'", Vec::new()).await, 0);
}

// ---------------------------------------------------------------- 8. readiness rules

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_admin_validates_and_unticking_documents_drops_the_missing_document_failure() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let (_, pid) = pecs_missing_answer(&app, ids.hsm).await[0];
    let file_ipp = text_of(&app, "SELECT ipp FROM patients WHERE id = $1", args![pid]).await;
    let tech = app.login_demo("technicien").await;
    let tech_key = app.api_key("technicien").await;

    // Before: the file lacks the answer document everywhere.
    let check = plain(section(&app.get(&format!("/patients/{pid}"), Some(&tech)).await.text(), "h-controle"));
    assert!(check.contains("Justificatif manquant : Accord de prise en charge."), "{check}");
    let r = app.get_api(&format!("/api/v1/patients/{pid}/readiness"), &tech_key).await;
    assert!(r.text().contains("\"justificatifs\""), "{}", r.text());
    let csv = app.get("/dossiers-en-attente.csv", Some(&tech)).await.text();
    let row = csv.lines().find(|l| l.starts_with(&format!("{file_ipp};"))).unwrap_or_else(|| panic!("{file_ipp} pending in {csv}"));
    assert!(row.contains("Justificatif manquant"), "{row}");

    let admin = app.login_demo("admin").await;
    let page = format!("/admin/etablissements/{}/regles-facturation", ids.hsm);
    let r = app.get(&page, Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html_unescape(&html).contains("Justificatifs exigés par le plan de classement"));
    let mut form = form_fields(&html, &page);
    assert_eq!(field(&form, "documents_required"), Some("on"), "ticked by default");
    assert_eq!(field(&form, "pec_answer_days"), Some("15"));
    assert_eq!(field(&form, "min_identity_status"), Some("validee"));
    let before = readiness::current_rules(&app.db, ids.hsm).await.unwrap();

    // pec_answer_days = 0: 422 with the French message on that field, nothing saved.
    set_field(&mut form, "pec_answer_days", "0");
    let r = app.post_form(&page, Some(&admin), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(field_error(&r.text(), "pec_answer_days").as_deref(), Some("Un nombre de jours entre 1 et 365."));
    assert_eq!(readiness::current_rules(&app.db, ids.hsm).await.unwrap(), before);

    // Valid, with « Justificatifs » unticked: saved, everything else kept.
    set_field(&mut form, "pec_answer_days", "20");
    form.retain(|(k, _)| k != "documents_required");
    let r = app.post_form(&page, Some(&admin), &refs(&form)).await;
    assert!(r.is_redirect_to(&page), "{} {:?} {}", r.status, r.location(), r.text());
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let after = readiness::current_rules(&app.db, ids.hsm).await.unwrap();
    assert!(!after.documents_required);
    assert_eq!(after.pec_answer_days, 20);
    assert_eq!(after.complementary_for_care_modes, before.complementary_for_care_modes, "the checkbox list is kept");
    assert_eq!((after.pec_required, after.min_identity_status), (before.pec_required, before.min_identity_status));
    let form = form_fields(&app.get(&page, Some(&admin)).await.text(), &page);
    assert_eq!(field(&form, "documents_required"), None, "shown unticked");

    // After: no « Justificatif manquant » in the checklist, the API or the queue.
    let check = plain(section(&app.get(&format!("/patients/{pid}"), Some(&tech)).await.text(), "h-controle"));
    assert!(!check.contains("Justificatif manquant"), "{check}");
    let r = app.get_api(&format!("/api/v1/patients/{pid}/readiness"), &tech_key).await;
    assert!(!r.text().contains("justificatifs"), "{}", r.text());
    let csv = app.get("/dossiers-en-attente.csv", Some(&tech)).await.text();
    assert!(!csv.contains("Justificatif manquant"), "{csv}");
    let q = app.get_api(&format!("/api/v1/readiness?establishment_id={}", ids.hsm), &tech_key).await.json();
    assert!(q.as_array().unwrap().iter().all(|p| !p["reasons"].as_array().unwrap().contains(&json!("justificatifs"))), "{q}");
    // The documents report still lists it (it ignores the rules).
    let html = app.get("/documents", Some(&tech)).await.text();
    assert!(links(section(&html, "h-manquants")).contains(&format!("/patients/{pid}#h-documents")));

    // The technician may not change the rules.
    assert_eq!(app.get(&page, Some(&tech)).await.status, StatusCode::FORBIDDEN);
}

// ---------------------------------------------------------------- 9. PEC letter

/// An agreed demo PEC of a file without a used name: (pec, patient).
async fn pec_of_plain_file(app: &TestApp, est_id: i64) -> (i64, i64) {
    pairs(
        app,
        "SELECT pa.id, pa.patient_id FROM cover_authorizations pa JOIN patients p ON p.id = pa.patient_id \
         WHERE pa.establishment_id = $1 AND (p.used_name IS NULL OR p.used_name = p.birth_name) ORDER BY pa.id LIMIT 1",
        args![est_id],
    )
    .await[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pec_letter_pdf_from_the_page_and_the_api() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let (pec_id, pid) = pec_of_plain_file(&app, ids.hsm).await;
    let number = text_of(&app, "SELECT number FROM cover_authorizations WHERE id = $1", args![pec_id]).await;
    let birth_name = text_of(&app, "SELECT birth_name FROM patients WHERE id = $1", args![pid]).await;
    let cookie = app.login_demo("technicien").await;

    let r = app.get(&format!("/patients/{pid}/pec/{pec_id}/lettre.pdf"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.content_type(), "application/pdf");
    assert!(r.body.starts_with(b"%PDF-"), "a PDF");
    assert_eq!(r.header("content-disposition"), Some(format!("inline; filename=\"{number}.pdf\"")));
    let page_pdf = r.body.clone();
    let key = app.api_key("technicien").await;
    let r = app.get_api(&format!("/api/v1/pec/{pec_id}/letter"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.content_type(), "application/pdf");
    assert!(r.body.starts_with(b"%PDF-"));

    for (what, bytes) in [("page", &page_pdf), ("api", &r.body)] {
        if let Some(text) = pdf_text(bytes) {
            assert!(text.contains(&birth_name), "{what}: birth name {birth_name} in {text}");
            assert!(text.contains(&number), "{what}: number {number} in {text}");
            assert!(text.contains("Objet : demande de prise en charge"), "{what}: {text}");
            assert!(text.contains("Hôpital Sainte-Marie"), "{what}: {text}");
        }
    }

    // The PEC under another file's URL, an unknown PEC, another establishment's user.
    let other = scalar(&app, "SELECT MIN(id) FROM patients WHERE id <> $1 AND establishment_id = $2", args![pid, ids.hsm]).await;
    assert_eq!(app.get(&format!("/patients/{other}/pec/{pec_id}/lettre.pdf"), Some(&cookie)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get_api("/api/v1/pec/999999/letter", &key).await.status, StatusCode::NOT_FOUND);
    let sec = app.login_demo("secretaire").await;
    let r = app.get(&format!("/patients/{pid}/pec/{pec_id}/lettre.pdf"), Some(&sec)).await;
    assert!(is_denied(r.status), "{}", r.status);
    assert!(!r.body.starts_with(b"%PDF"));
    let sec_key = app.api_key("secretaire").await;
    assert!(is_denied(app.get_api(&format!("/api/v1/pec/{pec_id}/letter"), &sec_key).await.status));
}

/// Identity vigilance (RNIV): a letter sent outside must carry the birth name, even
/// when the patient uses another name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pec_letter_carries_the_birth_name_when_a_used_name_exists() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let (pec_id, pid) = pec_of_plain_file(&app, ids.hsm).await;
    let birth_name = text_of(&app, "SELECT birth_name FROM patients WHERE id = $1", args![pid]).await;
    exec(&app, "UPDATE patients SET used_name = 'EPOUSENOM' WHERE id = $1", args![pid]).await;
    let key = app.api_key("technicien").await;
    let r = app.get_api(&format!("/api/v1/pec/{pec_id}/letter"), &key).await;
    assert_eq!(r.status, StatusCode::OK);
    if let Some(text) = pdf_text(&r.body) {
        assert!(text.contains("EPOUSENOM"), "{text}");
        assert!(text.contains(&birth_name), "birth name {birth_name} in {text}");
    }
}

// ---------------------------------------------------------------- 10. OpenAPI

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_the_document_class_and_letter_endpoints() {
    let app = TestApp::new().await;
    let doc = common::openapi(&app).await;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/api/v1/patients/{id}/documents", &["get", "post"][..]),
        ("/api/v1/documents/{id}", &["get"][..]),
        ("/api/v1/documents/{id}/content", &["get"][..]),
        ("/api/v1/documents/{id}/withdraw", &["post"][..]),
        ("/api/v1/documents/past-retention", &["get"][..]),
        ("/api/v1/documents/missing", &["get"][..]),
        ("/api/v1/document-classes", &["get", "post"][..]),
        ("/api/v1/document-classes/{id}", &["put"][..]),
        ("/api/v1/pec/{id}/letter", &["get"][..]),
    ] {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} in the OpenAPI document"));
        for m in methods {
            assert!(item.get(*m).is_some(), "{m} {path}");
        }
    }
    let upload = &paths["/api/v1/patients/{id}/documents"]["post"];
    assert!(upload["requestBody"]["content"].get("multipart/form-data").is_some(), "{upload}");
    for status in ["201", "413", "415", "422"] {
        assert!(upload["responses"].get(status).is_some(), "upload answers {status}");
    }
    assert!(paths["/api/v1/pec/{id}/letter"]["get"]["responses"]["200"]["content"].get("application/pdf").is_some());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in ["Document", "DocClass", "ClassInput", "Expired"] {
        assert!(schemas.contains_key(s), "schema {s}");
    }
    assert!(schemas["Document"]["properties"].get("sha256").is_some());
}

// ---------------------------------------------------------------- folder storage

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_storage_keeps_content_addressed_files_and_detects_tampering() {
    let mut app = TestApp::new().await;
    let root = tempfile::tempdir().unwrap();
    app.router = quittance_web::router(AppState::new(
        app.db.clone(),
        WebConfig { documents: Storage { mode: StorageMode::Folder(root.path().to_path_buf()), max_bytes: 1024 * 1024 }, ..WebConfig::default() },
    ));
    let ids = fixtures::demo_ids(&app.db).await;
    let pid = file_at_site(&app, ids.med).await;
    let key = app.api_key("technicien").await;
    let bytes = pdf("Rangé dans un dossier");
    let contents = count_contents(&app).await;
    let u = Upload::new(None, "patient", class_id(&app, ids.hsm, "courrier").await).file("lettre.pdf", "application/pdf", bytes.clone());
    let r = upload_api(&app, &key, pid, &u).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let d = r.json();
    assert_eq!(d["storage"], "dossier");
    let doc = d["id"].as_i64().unwrap();
    let sha = sha_hex(&bytes);
    let path = root.path().join(ids.hsm.to_string()).join(&sha[..2]).join(format!("{sha}.pdf"));
    assert_eq!(std::fs::read(&path).expect("the content-addressed file"), bytes);
    assert_eq!(count_contents(&app).await, contents, "not in the database");
    let r = app.get_api(&format!("/api/v1/documents/{doc}/content"), &key).await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &bytes));

    // A changed file is detected, never served.
    let mut tampered = bytes.clone();
    tampered[20] ^= 1;
    std::fs::write(&path, &tampered).unwrap();
    let r = app.get_api(&format!("/api/v1/documents/{doc}/content"), &key).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
    assert!(!r.body.starts_with(b"%PDF"));
    let cookie = app.login_demo("technicien").await;
    let r = app.get(&format!("/documents/{doc}"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.body.starts_with(b"%PDF"));
}
