//! Shared helpers for the web tests: a seeded application per test (its own SQLite
//! file in a temporary folder or, with `QUITTANCE_TEST_BACKEND=postgres`, its own schema on
//! the PostgreSQL server of `QUITTANCE_TEST_POSTGRES_URL`, dropped at the end of the test),
//! requests through `tower::ServiceExt::oneshot`, login, CSRF extraction and audit queries.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use quittance_store::audit::{AuditFilter, AuditRow};
use quittance_store::{Actor, Db, DbOptions};
use quittance_web::{AppState, WebConfig};
use tower::ServiceExt;

pub mod browser;
/// The store tests' builders, one per entity (`fixtures::patient_input`, `fixtures::demo_ids`, …).
#[path = "../../../store/tests/common/fixtures.rs"]
pub mod fixtures;
#[path = "../../../store/tests/common/pg_schema.rs"]
pub mod pg_schema;

/// The one password of every demo account.
pub const PASSWORD: &str = "formation-2026";
/// Session cookie name with secure cookies on.
pub const SESSION_COOKIE: &str = "__Host-quittance_session";
/// Login form CSRF cookie name.
pub const LOGIN_CSRF_COOKIE: &str = "quittance_login_csrf";

/// A seeded application on a fresh database.
pub struct TestApp {
    pub db: Db,
    pub router: Router,
    // Keeps the database folder alive for the whole test (SQLite).
    _dir: Option<tempfile::TempDir>,
    // Declared last: dropped after `db` and `router`, it drops the PostgreSQL schema.
    _pg: Option<pg_schema::TestSchema>,
}

/// The backend of the HTTP suites: PostgreSQL when `QUITTANCE_TEST_BACKEND=postgres`
/// (then `QUITTANCE_TEST_POSTGRES_URL` is required), SQLite otherwise.
pub fn postgres_url() -> Option<String> {
    match std::env::var("QUITTANCE_TEST_BACKEND").as_deref() {
        Ok("postgres") => Some(
            std::env::var("QUITTANCE_TEST_POSTGRES_URL")
                .expect("QUITTANCE_TEST_BACKEND=postgres demande QUITTANCE_TEST_POSTGRES_URL"),
        ),
        Ok("sqlite") | Ok("") | Err(_) => None,
        Ok(other) => panic!("QUITTANCE_TEST_BACKEND « {other} » inconnu (sqlite ou postgres)"),
    }
}

/// An answered request, body already read.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }

    pub fn location(&self) -> Option<String> {
        self.header("location")
    }

    /// Every `Set-Cookie` header, whole.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }

    /// The whole `Set-Cookie` header for the cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value set for cookie `name` (empty when the cookie is cleared).
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookie(name).map(|c| cookie_pair_value(&c).to_string())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// Is this a redirect (302/303) to `to` (compared without the query string
    /// unless `to` has one)?
    pub fn is_redirect_to(&self, to: &str) -> bool {
        let Some(loc) = self.location() else { return false };
        let loc = if to.contains('?') { loc.as_str() } else { loc.split('?').next().unwrap_or("") };
        matches!(self.status, StatusCode::SEE_OTHER | StatusCode::FOUND) && loc == to
    }
}

/// The value of the first `name=value` pair of a `Set-Cookie` header.
fn cookie_pair_value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().and_then(|kv| kv.split_once('=')).map_or("", |(_, v)| v.trim())
}

/// The attributes of a `Set-Cookie` header, lower-cased and trimmed (`secure`, `path=/`…).
pub fn cookie_attributes(set_cookie: &str) -> Vec<String> {
    set_cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect()
}

/// The value of the first `name="_csrf" value="…"` of a page.
pub fn csrf_from_html(html: &str) -> Option<String> {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

/// Reads a whole response body.
pub async fn body_bytes(body: Body) -> Vec<u8> {
    body.collect().await.expect("readable body").to_bytes().to_vec()
}

/// Reads a whole response body as text.
pub async fn body_string(body: Body) -> String {
    String::from_utf8_lossy(&body_bytes(body).await).into_owned()
}

/// URL-encodes form pairs.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("encodable form")
}

/// Opens a fresh SQLite database in `dir`, migrated and seeded with the demo data.
pub async fn seeded_db(dir: &std::path::Path) -> Db {
    let path = dir.join("quittance.db");
    let db = Db::open(path.to_str().expect("utf-8 temp path"), DbOptions::default()).await.expect("open SQLite");
    quittance_store::migrate::migrate(&db).await.expect("migrate");
    quittance_store::demo::seed(&db).await.expect("seed demo data");
    db
}

/// The router of a seeded app (secure cookies, as in production).
pub fn app_router(db: &Db) -> Router {
    quittance_web::router(AppState::new(db.clone(), WebConfig::default()))
}

impl TestApp {
    pub async fn new() -> TestApp {
        if let Some(url) = postgres_url() {
            let schema = pg_schema::TestSchema::create(&url).await;
            let opts = DbOptions { pg_schema: Some(schema.name.clone()), max_connections: 10, ..Default::default() };
            let db = Db::open(&url, opts).await.expect("open PostgreSQL");
            quittance_store::migrate::migrate(&db).await.expect("migrate");
            quittance_store::demo::seed(&db).await.expect("seed demo data");
            let router = app_router(&db);
            return TestApp { db, router, _dir: None, _pg: Some(schema) };
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let db = seeded_db(dir.path()).await;
        let router = app_router(&db);
        TestApp { db, router, _dir: Some(dir), _pg: None }
    }

    /// Sends one request through the router (no socket).
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.expect("the router never fails");
        let (parts, body) = res.into_parts();
        Resp { status: parts.status, headers: parts.headers, body: body_bytes(body).await }
    }

    /// GET with an optional `Cookie` header.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        let mut b = Request::builder().method(Method::GET).uri(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).expect("request")).await
    }

    /// GET with `Authorization: Bearer <key>`.
    pub async fn get_api(&self, path: &str, key: &str) -> Resp {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    /// POST of a JSON body with an optional bearer key.
    pub async fn post_json(&self, path: &str, key: Option<&str>, json: &serde_json::Value) -> Resp {
        let mut b = Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(k) = key {
            b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        self.send(b.body(Body::from(json.to_string())).expect("request")).await
    }

    /// POST of an URL-encoded form with an optional `Cookie` header.
    pub async fn post_form(&self, path: &str, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::from(form_body(pairs))).expect("request")).await
    }

    /// Fetches the login page and returns (login CSRF cookie value, hidden field value).
    pub async fn login_csrf(&self) -> (String, String) {
        let page = self.get("/login", None).await;
        assert_eq!(page.status, StatusCode::OK, "GET /login");
        let cookie = page.cookie_value(LOGIN_CSRF_COOKIE).expect("GET /login sets the login CSRF cookie");
        let field = csrf_from_html(&page.text()).expect("the login form has a _csrf field");
        (cookie, field)
    }

    /// Submits the login form as a browser would (cookie and field from GET /login).
    pub async fn login_attempt(&self, username: &str, password: &str) -> Resp {
        let (cookie, field) = self.login_csrf().await;
        self.post_form(
            "/login",
            Some(&format!("{LOGIN_CSRF_COOKIE}={cookie}")),
            &[("username", username), ("password", password), ("next", "/"), ("_csrf", &field)],
        )
        .await
    }

    /// Logs in and returns the `Cookie` header value (`__Host-quittance_session=<token>`).
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self.login_attempt(username, password).await;
        assert!(
            matches!(r.status, StatusCode::SEE_OTHER | StatusCode::FOUND),
            "login of {username} should redirect, got {}: {}",
            r.status,
            r.text()
        );
        let token = r.cookie_value(SESSION_COOKIE).expect("a session cookie after login");
        assert!(!token.is_empty(), "session token is not empty");
        format!("{SESSION_COOKIE}={token}")
    }

    /// Logs in a demo user with the demo password.
    pub async fn login_demo(&self, username: &str) -> String {
        self.login(username, PASSWORD).await
    }

    /// The session's CSRF token, read from a logged-in page.
    pub async fn session_csrf(&self, cookie: &str, page: &str) -> String {
        let r = self.get(page, Some(cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "GET {page}: {}", r.text());
        csrf_from_html(&r.text()).unwrap_or_else(|| panic!("{page} carries a _csrf field"))
    }

    pub async fn user_id(&self, username: &str) -> i64 {
        quittance_store::access::find_user(&self.db, username).await.expect("find user").expect("user exists").id
    }

    /// Creates an API key for `username` and returns its secret.
    pub async fn api_key(&self, username: &str) -> String {
        self.api_key_with_id(username).await.1
    }

    pub async fn api_key_with_id(&self, username: &str) -> (i64, String) {
        let uid = self.user_id(username).await;
        quittance_store::access::create_api_key(&self.db, &Actor::system("test"), uid, &format!("clé de test {username}"))
            .await
            .expect("create API key")
    }

    /// Audit rows matching the filter (read as the local operator).
    pub async fn audit(&self, filter: AuditFilter) -> Vec<AuditRow> {
        quittance_store::audit::search(&self.db, &Actor::system("t"), &filter, 1000, 0).await.expect("audit search").0
    }

    /// Establishments in the database (as the local operator).
    pub async fn establishments(&self) -> Vec<quittance_store::establishments::Establishment> {
        quittance_store::establishments::list(&self.db, &Actor::system("t")).await.expect("list establishments")
    }
}

/// A filter on entity, action and outcome.
pub fn filter(entity: &str, action: &str, outcome: &str) -> AuditFilter {
    AuditFilter {
        entity: Some(entity.into()),
        action: Some(action.into()),
        outcome: Some(outcome.into()),
        ..Default::default()
    }
}

impl TestApp {
    /// Any method with an optional JSON body and an optional bearer key.
    pub async fn send_json(&self, method: Method, path: &str, key: Option<&str>, json: Option<&serde_json::Value>) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        let body = match json {
            Some(j) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(j.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).expect("request")).await
    }
}

/// Decodes the character references askama writes (`&amp;`, `&#39;`, `&#x27;`…).
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The tags of an HTML text: (lower-case name, attributes, HTML-unescaped). Closing
/// tags are named `/name`; comments and doctypes are skipped.
pub fn html_tags(html: &str) -> Vec<(String, std::collections::BTreeMap<String, String>)> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        i += off + 1;
        if html[i..].starts_with('!') {
            i += html[i..].find('>').map_or(html.len() - i, |e| e + 1);
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'/') {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        let mut attrs = std::collections::BTreeMap::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                i += 1;
                break;
            }
            let a = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
                i += 1;
            }
            let attr = html[a..i].to_ascii_lowercase();
            let mut value = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                    let q = b[i] as char;
                    let v0 = i + 1;
                    let len = html[v0..].find(q).unwrap_or(html.len() - v0);
                    value = html_unescape(&html[v0..v0 + len]);
                    i = (v0 + len + 1).min(b.len());
                } else {
                    let v0 = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = html_unescape(&html[v0..i]);
                }
            }
            attrs.insert(attr, value);
        }
        if !name.is_empty() {
            out.push((name, attrs));
        }
    }
    out
}

/// What a browser would submit for the form whose `action` is `action`: text and
/// hidden inputs, checked checkboxes (repeated names kept), selected options.
pub fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let marker = format!("action=\"{action}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no form with {marker}"));
    let start = html[..at].rfind("<form").expect("a <form> tag");
    let end = at + html[at..].find("</form>").expect("a closing </form>");
    let mut out = Vec::new();
    // (name, selected value, first value) of the open <select>.
    let mut select: Option<(String, Option<String>, Option<String>)> = None;
    for (tag, a) in html_tags(&html[start..end]) {
        match tag.as_str() {
            "input" => {
                let Some(name) = a.get("name") else { continue };
                let kind = a.get("type").map_or("text".to_string(), |t| t.to_ascii_lowercase());
                let value = a.get("value").cloned();
                match kind.as_str() {
                    "checkbox" | "radio" => {
                        if a.contains_key("checked") {
                            out.push((name.clone(), value.unwrap_or_else(|| "on".into())));
                        }
                    }
                    "submit" | "button" | "reset" | "image" | "file" => {}
                    _ => out.push((name.clone(), value.unwrap_or_default())),
                }
            }
            "select" => select = a.get("name").map(|n| (n.clone(), None, None)),
            "option" => {
                if let Some((_, selected, first)) = select.as_mut() {
                    let v = a.get("value").cloned().unwrap_or_default();
                    if first.is_none() {
                        *first = Some(v.clone());
                    }
                    if a.contains_key("selected") {
                        *selected = Some(v);
                    }
                }
            }
            "/select" => {
                if let Some((name, selected, first)) = select.take() {
                    out.push((name, selected.or(first).unwrap_or_default()));
                }
            }
            _ => {}
        }
    }
    out
}

/// The first value of `name` in form pairs.
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Replaces (or adds) the single value of `name` in form pairs.
pub fn set_field(pairs: &mut Vec<(String, String)>, name: &str, value: &str) {
    pairs.retain(|(k, _)| k != name);
    pairs.push((name.to_string(), value.to_string()));
}

// ---------------------------------------------------------------- ZIP (XLSX) reading

/// Reads a DEFLATE stream (RFC 1951) bit by bit, least significant bit first.
struct DeflateBits<'a> {
    data: &'a [u8],
    byte: usize,
    bit: u8,
}

impl DeflateBits<'_> {
    fn bit(&mut self) -> u32 {
        let b = self.data.get(self.byte).copied().expect("deflate stream ends early");
        let v = u32::from((b >> self.bit) & 1);
        self.bit += 1;
        if self.bit == 8 {
            self.bit = 0;
            self.byte += 1;
        }
        v
    }

    fn bits(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |acc, i| acc | (self.bit() << i))
    }

    fn align(&mut self) {
        if self.bit != 0 {
            self.bit = 0;
            self.byte += 1;
        }
    }
}

/// A canonical Huffman code given by its code lengths.
struct DeflateTree {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl DeflateTree {
    fn new(lengths: &[u8]) -> DeflateTree {
        let mut counts = [0u16; 16];
        for &l in lengths.iter().filter(|l| **l > 0) {
            counts[usize::from(l)] += 1;
        }
        let mut symbols: Vec<(u8, u16)> = lengths.iter().enumerate().filter(|(_, l)| **l > 0).map(|(s, l)| (*l, s as u16)).collect();
        symbols.sort_unstable();
        DeflateTree { counts, symbols: symbols.into_iter().map(|(_, s)| s).collect() }
    }

    fn decode(&self, b: &mut DeflateBits) -> u16 {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= b.bit() as i32;
            let count = i32::from(self.counts[len]);
            if code - first < count {
                return self.symbols[(index + code - first) as usize];
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        panic!("invalid Huffman code in the deflate stream")
    }
}

/// (base, extra bits) of the 29 length codes and of the 30 distance codes.
fn deflate_tables() -> (Vec<(u16, u32)>, Vec<(u16, u32)>) {
    let mut lengths = Vec::new();
    let mut base = 3u16;
    for i in 0..29u32 {
        let extra = if i < 8 || i == 28 { 0 } else { (i - 4) / 4 };
        lengths.push((if i == 28 { 258 } else { base }, extra));
        base += 1 << extra;
    }
    let mut distances = Vec::new();
    let mut base = 1u16;
    for i in 0..30u32 {
        let extra = if i < 4 { 0 } else { (i - 2) / 2 };
        distances.push((base, extra));
        base = base.wrapping_add(1 << extra);
    }
    (lengths, distances)
}

/// Inflates a raw DEFLATE stream.
pub fn inflate_raw(data: &[u8]) -> Vec<u8> {
    let (len_table, dist_table) = deflate_tables();
    let mut b = DeflateBits { data, byte: 0, bit: 0 };
    let mut out: Vec<u8> = Vec::new();
    loop {
        let last = b.bit() == 1;
        match b.bits(2) {
            0 => {
                b.align();
                let len = usize::from(u16::from_le_bytes([data[b.byte], data[b.byte + 1]]));
                b.byte += 4;
                out.extend_from_slice(&data[b.byte..b.byte + len]);
                b.byte += len;
            }
            kind @ (1 | 2) => {
                let (lit, dist) = if kind == 1 {
                    let l: Vec<u8> = (0..288).map(|i| match i {
                        0..=143 => 8,
                        144..=255 => 9,
                        256..=279 => 7,
                        _ => 8,
                    }).collect();
                    (DeflateTree::new(&l), DeflateTree::new(&[5u8; 30]))
                } else {
                    let nlit = b.bits(5) as usize + 257;
                    let ndist = b.bits(5) as usize + 1;
                    let ncode = b.bits(4) as usize + 4;
                    const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
                    let mut cl = [0u8; 19];
                    for &o in &ORDER[..ncode] {
                        cl[o] = b.bits(3) as u8;
                    }
                    let clt = DeflateTree::new(&cl);
                    let mut lengths: Vec<u8> = Vec::new();
                    while lengths.len() < nlit + ndist {
                        match clt.decode(&mut b) {
                            s @ 0..=15 => lengths.push(s as u8),
                            16 => {
                                let prev = *lengths.last().expect("a length to repeat");
                                let n = 3 + b.bits(2) as usize;
                                lengths.extend(std::iter::repeat_n(prev, n));
                            }
                            17 => {
                                let n = 3 + b.bits(3) as usize;
                                lengths.extend(std::iter::repeat_n(0, n));
                            }
                            _ => {
                                let n = 11 + b.bits(7) as usize;
                                lengths.extend(std::iter::repeat_n(0, n));
                            }
                        }
                    }
                    (DeflateTree::new(&lengths[..nlit]), DeflateTree::new(&lengths[nlit..]))
                };
                loop {
                    let sym = lit.decode(&mut b);
                    match sym {
                        0..=255 => out.push(sym as u8),
                        256 => break,
                        _ => {
                            let (base, extra) = len_table[usize::from(sym - 257)];
                            let len = usize::from(base) + b.bits(extra) as usize;
                            let (dbase, dextra) = dist_table[usize::from(dist.decode(&mut b))];
                            let back = usize::from(dbase) + b.bits(dextra) as usize;
                            let from = out.len() - back;
                            for k in 0..len {
                                out.push(out[from + k]);
                            }
                        }
                    }
                }
            }
            _ => panic!("invalid deflate block type"),
        }
        if last {
            return out;
        }
    }
}

/// The entries of a ZIP archive (an XLSX workbook): (name, uncompressed content).
pub fn zip_entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let le16 = |i: usize| usize::from(u16::from_le_bytes([zip[i], zip[i + 1]]));
    let le32 = |i: usize| u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]) as usize;
    let end = (0..zip.len().saturating_sub(21)).rev().find(|&i| zip[i..i + 4] == *b"PK\x05\x06").expect("end of central directory");
    let mut at = le32(end + 16);
    let mut out = Vec::new();
    for _ in 0..le16(end + 10) {
        assert_eq!(&zip[at..at + 4], b"PK\x01\x02", "central directory entry");
        let (method, csize, size) = (le16(at + 10), le32(at + 20), le32(at + 24));
        let (n, e, c) = (le16(at + 28), le16(at + 30), le16(at + 32));
        let local = le32(at + 42);
        let name = String::from_utf8_lossy(&zip[at + 46..at + 46 + n]).into_owned();
        let start = local + 30 + le16(local + 26) + le16(local + 28);
        let raw = &zip[start..start + csize];
        let content = match method {
            0 => raw.to_vec(),
            8 => inflate_raw(raw),
            m => panic!("compression method {m} of {name}"),
        };
        assert_eq!(content.len(), size, "size of {name}");
        out.push((name, content));
        at += 46 + n + e + c;
    }
    out
}

/// Every text of an XLSX workbook's XML parts, concatenated (shared strings and sheets).
pub fn xlsx_text(xlsx: &[u8]) -> String {
    zip_entries(xlsx).into_iter().filter(|(n, _)| n.ends_with(".xml")).map(|(_, c)| String::from_utf8_lossy(&c).into_owned()).collect()
}

/// Text of an HTML fragment without its tags, unescaped, spaces collapsed.
pub fn plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    html_unescape(&out).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The inner HTML of the `<section … aria-labelledby="{id}">` block.
pub fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let tag = html.find(&format!("aria-labelledby=\"{id}\"")).unwrap_or_else(|| panic!("section {id}"));
    let start = tag + html[tag..].find('>').expect("end of the section tag") + 1;
    let end = start + html[start..].find("</section>").expect("end of section");
    &html[start..end]
}

/// The patient use cases from what was typed: parsed first (on the establishment's day), as
/// the pages and the API do, then the use case on the parsed values.
// ---------------------------------------------------------------- forms and pages

/// One integer from `sql` on a read transaction (a count, an id).
pub async fn scalar(app: &TestApp, sql: &str, a: impl AsRef<[quittance_store::V]>) -> i64 {
    let mut tx = app.db.read().await.unwrap();
    let n = tx.int(sql, a.as_ref()).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

/// Borrowed pairs of form fields, for [`TestApp::post_form`].
pub fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The text of the `<p class="error" id="e-{name}">` next to a field, unescaped.
pub fn field_error(html: &str, name: &str) -> Option<String> {
    let marker = format!("<p class=\"error\" id=\"e-{name}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find("</p>")?;
    Some(html_unescape(&html[start..start + end]))
}

/// The id in a `Location: {prefix}{id}?…` redirect.
pub fn id_after(r: &Resp, prefix: &str) -> i64 {
    let loc = r.location().unwrap_or_else(|| panic!("a redirect, got {}: {}", r.status, r.text()));
    loc.strip_prefix(prefix).and_then(|rest| rest.split(['?', '/']).next()).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("location {loc}"))
}

/// A date as the forms type it (`22/11/2026`).
pub fn fr(d: jiff::civil::Date) -> String {
    quittance_domain::fr::format_date_fr(d)
}

/// The OpenAPI document the application serves (answered 200).
pub async fn openapi(app: &TestApp) -> serde_json::Value {
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

/// Asserts that the OpenAPI document `paths` describes each path with each of its methods.
pub fn assert_documented(paths: &serde_json::Value, expected: &[(&str, &[&str])]) {
    for (path, methods) in expected {
        for m in *methods {
            assert!(paths[path][m].is_object(), "{m} {path} documented");
        }
    }
}

/// The patient use cases from what was typed, as the pages and the API call them.
#[path = "../../../store/tests/common/typed.rs"]
pub mod typed;
