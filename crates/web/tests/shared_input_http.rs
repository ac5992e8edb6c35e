//! Hostile and malformed input over HTTP, across capabilities: form bodies (size, field count, UTF-8),
//! CSV/XLSX exports that must not carry live formulas, the client address behind trusted proxies, API
//! keys of users who must change a temporary password, pagination bounds and malformed page addresses.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::{LOGIN_CSRF_COOKIE, TestApp, csrf_from_html, plain};
use quittance_store::{Actor, args};
use quittance_web::session::IpNet;
use quittance_web::{AppState, WebConfig};
use serde_json::json;

async fn post_raw(app: &TestApp, path: &str, cookie: &str, body: Vec<u8>) -> common::Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .expect("request");
    app.send(req).await
}

async fn count(app: &TestApp, sql: &str, a: &[quittance_store::V]) -> i64 {
    let mut tx = app.db.read().await.unwrap();
    let n = tx.int(sql, a).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

// ---------------------------------------------------------------- forms

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_of_ninety_thousand_keys_is_refused() {
    let app = TestApp::new().await;
    // Any logged-in user, even the read-only auditor, may post a form.
    let cookie = app.login_demo("auditeur").await;
    let csrf = app.session_csrf(&cookie, "/mot-de-passe").await;
    let mut body = format!("_csrf={csrf}");
    for i in 0..90_000 {
        body.push_str(&format!("&k{i}=v"));
    }
    assert!(body.len() > 700 * 1024 && body.len() < 1024 * 1024, "{}", body.len());
    let r = post_raw(&app, "/mot-de-passe", &cookie, body.into_bytes()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(r.content_type().starts_with("text/html"), "{}", r.content_type());
    let text = plain(&r.text());
    assert!(text.contains("Formulaire trop volumineux") && text.contains("plus de 1") && text.contains("000 champs"), "{text}");

    // A form of the same user within the limits is still read (here: a wrong current password).
    let r = app
        .post_form("/mot-de-passe", Some(&cookie), &[("_csrf", &csrf), ("current", "faux"), ("new", "x"), ("confirm", "y")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = app.get("/healthz", None).await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_with_invalid_utf8_is_refused_naming_the_field() {
    let app = TestApp::new().await;
    let cookie = app.login_demo("admin").await;
    let uid = app.user_id("technicien").await;
    let before = quittance_store::access::find_user(&app.db, "technicien").await.unwrap().unwrap();
    // The user-creation form with a display name that is not UTF-8 once decoded (%FF%FE).
    let csrf = app.session_csrf(&cookie, "/admin/utilisateurs/nouveau").await;
    let body = format!("_csrf={csrf}&username=nouveau&display_name=Ren%FF%FE&email=");
    let r = post_raw(&app, "/admin/utilisateurs/nouveau", &cookie, body.into_bytes()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let text = plain(&r.text());
    assert!(text.contains("« display_name »") && text.contains("UTF-8"), "{text}");
    assert!(quittance_store::access::find_user(&app.db, "nouveau").await.unwrap().is_none(), "nothing stored");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users WHERE display_name LIKE $1", &args!["%\u{fffd}%"]).await, 0);

    // A bad key is refused too, and a mistyped number is named in French.
    let r = post_raw(&app, "/contexte", &cookie, format!("_csrf={csrf}&%FF=1").into_bytes()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = post_raw(&app, "/contexte", &cookie, format!("_csrf={csrf}&establishment_id=abc").into_bytes()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let text = plain(&r.text());
    assert!(text.contains("« establishment_id »") && text.contains("nombre entier"), "{text}");
    let after = quittance_store::access::find_user(&app.db, "technicien").await.unwrap().unwrap();
    assert_eq!((after.id, after.display_name), (uid, before.display_name));
}

// ---------------------------------------------------------------- exports

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_exports_neutralise_formulas_and_xlsx_cells_are_text() {
    let app = TestApp::new().await;
    let hsm = app.establishments().await.iter().find(|e| e.code == "HSM").expect("HSM").id;
    let key = app.api_key("technicien").await;
    for (first, city) in [("Alice", "=HYPERLINK(\"http://x\")"), ("Bruno", "-2+3"), ("Chloé", "@SUM(A1)"), ("Denis", "-12,50")] {
        let input = json!({
            "birth_name": "Formulette", "birth_first_names": first, "birth_date": "01/02/1990", "sex": "F",
            "birth_place_code": "98818", "birth_place_label": "Nouméa", "city": city
        });
        let r = app.post_json(&format!("/api/v1/patients?establishment_id={hsm}"), Some(&key), &input).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let cookie = app.login_demo("technicien").await;
    let r = app.get("/patients/export.csv?q=formulette&naissance=", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = r.text();
    // Column 10 is the city; the store may upper-case it, so compare without case.
    let mut cities: Vec<String> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| {
            let mut rd = csv::ReaderBuilder::new().delimiter(b';').has_headers(false).from_reader(l.as_bytes());
            rd.records().next().unwrap().unwrap()[9].to_uppercase()
        })
        .collect();
    cities.sort();
    let mut expected: Vec<String> =
        ["'=HYPERLINK(\"HTTP://X\")", "'-2+3", "'@SUM(A1)", "-12,50"].iter().map(|c| c.to_string()).collect();
    expected.sort();
    assert_eq!(cities, expected, "formulas prefixed, a French negative number kept: {text}");
    assert!(!text.lines().any(|l| l.split(';').any(|c| c.starts_with('=') || c.starts_with('@'))), "{text}");

    // The workbook holds the same values as text cells: shared strings, no formula element.
    let r = app.get("/patients/export.xlsx?q=formulette&naissance=", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let xml = common::xlsx_text(&r.body);
    assert!(xml.to_uppercase().contains(">=HYPERLINK("), "the value is kept as text, without a prefix");
    assert!(!xml.contains("'=") && !xml.contains("&apos;="), "no apostrophe in the workbook");
    assert!(!xml.contains("<f>") && !xml.contains("<f "), "no formula in the workbook");
}

// ---------------------------------------------------------------- client address

async fn attempts_of(app: &TestApp, key: &str) -> i64 {
    count(app, "SELECT COUNT(*) FROM login_attempts WHERE key = $1", &args![key]).await
}

/// One failed login sent from `peer` with an `X-Forwarded-For` header.
async fn failed_login(router: &axum::Router, peer: &str, forwarded: &str) {
    use tower::ServiceExt;
    let peer: SocketAddr = peer.parse().unwrap();
    let mut req = Request::builder().uri("/login").body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let page = router.clone().oneshot(req).await.unwrap();
    let set = page.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    let csrf_cookie = set.iter().find(|c| c.starts_with(LOGIN_CSRF_COOKIE)).expect("login CSRF cookie");
    let csrf_cookie = csrf_cookie.split(';').next().unwrap().to_string();
    let html = common::body_string(page.into_body()).await;
    let field = csrf_from_html(&html).unwrap();
    let body = common::form_body(&[("username", "admin"), ("password", "pas-le-bon"), ("next", "/"), ("_csrf", &field)]);
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, csrf_cookie)
        .header("x-forwarded-for", forwarded)
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let r = router.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_uses_forwarded_for_only_behind_a_trusted_proxy() {
    let app = TestApp::new().await;

    // No trusted proxy configured: the socket peer is the client, whatever the header says.
    failed_login(&app.router, "10.0.0.5:4000", "203.0.113.7").await;
    assert_eq!(attempts_of(&app, "a:10.0.0.5").await, 1);
    assert_eq!(attempts_of(&app, "a:203.0.113.7").await, 0);

    let config = WebConfig { trusted_proxies: IpNet::parse_list("10.0.0.0/8, ::1").unwrap(), ..WebConfig::default() };
    let behind = quittance_web::router(AppState::new(app.db.clone(), config));
    // Behind the trusted proxy: the rightmost untrusted address (a forged left part is ignored).
    failed_login(&behind, "10.0.0.5:4000", "198.51.100.66, 203.0.113.7, 10.0.0.9").await;
    assert_eq!(attempts_of(&app, "a:203.0.113.7").await, 1);
    assert_eq!(attempts_of(&app, "a:198.51.100.66").await, 0);
    assert_eq!(attempts_of(&app, "a:10.0.0.5").await, 1, "unchanged");
    // A peer that is not a trusted proxy is the client even on the configured server.
    failed_login(&behind, "192.0.2.44:4000", "203.0.113.7").await;
    assert_eq!(attempts_of(&app, "a:192.0.2.44").await, 1);
    assert_eq!(attempts_of(&app, "a:203.0.113.7").await, 1, "the header of an untrusted peer is ignored");
}

// ---------------------------------------------------------------- API keys

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_is_refused_while_its_user_must_change_a_temporary_password() {
    let app = TestApp::new().await;
    let key = app.api_key("technicien").await;
    assert_eq!(app.get_api("/api/v1/me", &key).await.status, StatusCode::OK);
    let u = quittance_store::access::find_user(&app.db, "technicien").await.unwrap().expect("technicien");
    quittance_store::access::reset_password(&app.db, &Actor::system("t"), u.id, u.version, None).await.unwrap();
    let r = app.get_api("/api/v1/me", &key).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.content_type().starts_with("application/problem+json"), "{}", r.content_type());
    let j = r.json();
    assert!(j["type"].as_str().unwrap().ends_with("/password-change-required"), "{j}");
    assert!(j["detail"].as_str().unwrap().contains("mot de passe provisoire"), "{j}");
}

// ---------------------------------------------------------------- pagination and addresses

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_is_bounded_and_bad_page_addresses_answer_french_pages() {
    let app = TestApp::new().await;
    let hsm = app.establishments().await.iter().find(|e| e.code == "HSM").expect("HSM").id;
    let key = app.api_key("technicien").await;
    let admin_key = app.api_key("admin").await;
    let r = app.get_api(&format!("/api/v1/patients?establishment_id={hsm}&q=martin&offset=100001"), &key).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["field"], "offset");
    let r = app.get_api(&format!("/api/v1/patients?establishment_id={hsm}&q=martin&offset=100000"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app.get_api("/api/v1/audit?offset=9223372036854775807", &admin_key).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());

    let cookie = app.login_demo("technicien").await;
    let admin = app.login_demo("admin").await;
    for (path, who) in [
        (format!("/patients?q=martin&page={}", i64::MAX), &cookie),
        ("/patients?q=martin&page=-3".into(), &cookie),
        (format!("/admin/audit?page={}", i64::MAX), &admin),
    ] {
        let r = app.get(&path, Some(who)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    }
    let r = app.get("/patients?q=martin&page=abc", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.content_type().starts_with("text/html"));
    assert!(plain(&r.text()).contains("Le paramètre « page »"), "{}", r.text());

    for (path, who) in [("/patients/abc", &cookie), ("/patients/99999999999999999999/modifier", &cookie), ("/admin/utilisateurs/abc", &admin)] {
        let r = app.get(path, Some(who)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.content_type().starts_with("text/html"), "{path}: {}", r.content_type());
        assert!(plain(&r.text()).contains("Page introuvable"), "{path}: {}", r.text());
    }
}
