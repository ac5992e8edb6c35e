//! Login, sessions, CSRF and the extractors that give handlers an authenticated actor.

use askama::Template;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use quittance_domain::validation::FieldErrors;
use quittance_store::access::{self as store_auth, Session};
use quittance_store::{Actor, Error};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::render::{Chrome, Field, FormPage, PageError, error_page, flash_text, html, see_other, with_errors};
use crate::{AppState, RequestId};

const LOGIN_CSRF_COOKIE: &str = "quittance_login_csrf";

fn session_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies { "__Host-quittance_session" } else { "quittance_session" }
}

fn cookie_attrs(state: &AppState) -> &'static str {
    if state.config.secure_cookies { "Path=/; Secure; HttpOnly; SameSite=Strict" } else { "Path=/; HttpOnly; SameSite=Strict" }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "inconnue".into())
}

/// Constant-time comparison of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An authenticated page request.
pub struct Ctx {
    pub state: AppState,
    pub session: Session,
    pub token: String,
    pub flash: Option<String>,
    pub path: String,
}

impl Ctx {
    pub fn actor(&self) -> &Actor {
        &self.session.actor
    }
    pub async fn chrome(&self, title: &str) -> Chrome {
        Chrome::new(self, title, &self.path).await
    }

    /// The establishment chosen in the switcher, or the first one the actor holds a role in.
    pub async fn establishment(&self) -> Result<quittance_store::establishments::Establishment, Error> {
        let a = self.actor();
        let list = quittance_store::establishments::list(&self.state.db, a).await?;
        a.establishment_id
            .and_then(|id| list.iter().find(|e| e.id == id))
            .or(list.first())
            .cloned()
            .ok_or(Error::NotFound("Établissement"))
    }
}

impl<S> FromRequestParts<S> for Ctx
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(s);
        let path = parts.uri.path().to_string();
        let to_login = || {
            if parts.method == Method::GET && path != "/" {
                let next: String = url_encode(parts.uri.path_and_query().map_or("/", |p| p.as_str()));
                Redirect::to(&format!("/login?next={next}")).into_response()
            } else {
                Redirect::to("/login").into_response()
            }
        };
        let Some(token) = cookie(&parts.headers, session_cookie_name(&state)) else {
            return Err(to_login());
        };
        let mut session = match store_auth::session(&state.db, &token).await {
            Ok(s) => s,
            Err(Error::Unauthenticated) => return Err(to_login()),
            Err(e) => return Err(PageError(e).into_response()),
        };
        session.actor.request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
        if session.user.must_change_password && path != "/mot-de-passe" && path != "/logout" {
            return Err(Redirect::to("/mot-de-passe").into_response());
        }
        let flash = Query::<FlashQuery>::from_request_parts(parts, s).await.ok().and_then(|q| q.0.msg).and_then(|m| flash_text(&m));
        Ok(Ctx { state, session, token, flash, path })
    }
}

#[derive(Deserialize)]
struct FlashQuery {
    msg: Option<String>,
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a form's `_csrf` value against the session's token; a mismatch is
/// audited and answered with a French « Formulaire expiré » page (403).
pub async fn check_csrf(ctx: &Ctx, sent: &str) -> Result<(), Response> {
    if same_token(sent, &ctx.session.csrf) {
        return Ok(());
    }
    let mut tx = ctx.state.db.begin().await.map_err(|e| PageError(e).into_response())?;
    tx.audit(
        ctx.actor(),
        quittance_store::audit::AuditEvent::new("session", "csrf").outcome("refused").changes(serde_json::json!({ "chemin": ctx.path })),
    );
    tx.commit().await.map_err(|e| PageError(e).into_response())?;
    Err(error_page(
        StatusCode::FORBIDDEN,
        "Formulaire expiré",
        "Le jeton de sécurité du formulaire est absent ou invalide. Rechargez la page et recommencez.",
    ))
}

/// A POSTed form whose `_csrf` field matches the session's token; a mismatch is
/// refused (403) and audited.
pub struct CsrfForm<T>(pub Ctx, pub T);

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, s).await?;
        let bytes = axum::body::to_bytes(body, 1024 * 1024)
            .await
            .map_err(|_| error_page(StatusCode::PAYLOAD_TOO_LARGE, "Formulaire trop volumineux", "Le formulaire dépasse 1 Mio."))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let sent = pairs.iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        check_csrf(&ctx, sent).await?;
        // Several checkboxes share one name: their values are joined with commas.
        let mut merged: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs {
            match merged.iter_mut().find(|(mk, _)| *mk == k) {
                Some((_, mv)) => {
                    mv.push(',');
                    mv.push_str(&v);
                }
                None => merged.push((k, v)),
            }
        }
        let encoded = serde_urlencoded::to_string(&merged).unwrap_or_default();
        let value: T = serde_urlencoded::from_str(&encoded)
            .map_err(|e| error_page(StatusCode::BAD_REQUEST, "Formulaire invalide", &format!("Champ manquant ou mal formé : {e}")))?;
        Ok(CsrfForm(ctx, value))
    }
}

// ---------------------------------------------------------------- login

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control) => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn login_response(state: &AppState, status: StatusCode, username: &str, next: &str, error: Option<String>) -> Response {
    let csrf = store_auth::random_hex(16);
    let page = LoginPage { csrf: csrf.clone(), username: username.into(), next: next.into(), error };
    let mut res = html(status, page.render());
    let attrs = if state.config.secure_cookies { "; Secure" } else { "" };
    if let Ok(v) = HeaderValue::from_str(&format!("{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict{attrs}")) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    login_response(&state, StatusCode::OK, "", &safe_next(q.next.as_deref()), None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    _csrf: String,
}

/// The one message for any failed login.
pub const LOGIN_FAILED: &str = "Identifiant ou mot de passe incorrect, ou compte temporairement bloqué.";

pub async fn login_submit(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ip = client_ip(&parts);
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return error_page(StatusCode::PAYLOAD_TOO_LARGE, "Formulaire trop volumineux", "");
    };
    let form: LoginForm = match serde_urlencoded::from_bytes(&bytes) {
        Ok(f) => f,
        Err(_) => return login_response(&state, StatusCode::BAD_REQUEST, "", "/", Some(LOGIN_FAILED.into())),
    };
    let next = safe_next(Some(&form.next));
    let cookie_token = cookie(&parts.headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if cookie_token.is_empty() || !same_token(&cookie_token, &form._csrf) {
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            &form.username,
            &next,
            Some("Le formulaire a expiré : veuillez vous reconnecter.".into()),
        );
    }
    match store_auth::login(&state.db, &form.username, &form.password, &ip, request_id).await {
        Ok(s) => {
            state.metrics.logins_ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let to = if s.must_change_password { "/mot-de-passe".to_string() } else { next };
            let mut res = Redirect::to(&to).into_response();
            let c = format!("{}={}; {}", session_cookie_name(&state), s.token, cookie_attrs(&state));
            if let Ok(v) = HeaderValue::from_str(&c) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("{LOGIN_CSRF_COOKIE}=; Path=/login; Max-Age=0")) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(Error::Unauthenticated) | Err(Error::Throttled) => {
            state.metrics.logins_failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            login_response(&state, StatusCode::UNAUTHORIZED, &form.username, &next, Some(LOGIN_FAILED.into()))
        }
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(CsrfForm(ctx, _): CsrfForm<Empty>) -> Response {
    if let Err(e) = store_auth::logout(&ctx.state.db, &ctx.token, ctx.actor()).await {
        return PageError(e).into_response();
    }
    let mut res = Redirect::to("/login").into_response();
    let c = format!("{}=; {}; Max-Age=0", session_cookie_name(&ctx.state), cookie_attrs(&ctx.state));
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------- password

fn password_fields(errors: &FieldErrors) -> Vec<Field> {
    with_errors(
        vec![
            Field::text("current", "Mot de passe actuel", "").required().password("current-password"),
            Field::text("new", "Nouveau mot de passe", "")
                .required()
                .password("new-password")
                .hint("12 caractères au moins ; une phrase de passe est idéale."),
            Field::text("confirm", "Confirmation du nouveau mot de passe", "").required().password("new-password"),
        ],
        errors,
    )
}

async fn password_form(ctx: &Ctx, errors: &FieldErrors, status: StatusCode) -> Response {
    let forced = ctx.session.user.must_change_password;
    FormPage {
        chrome: ctx.chrome("Changer de mot de passe").await,
        heading: "Changer de mot de passe".into(),
        intro: forced.then(|| "Première connexion ou mot de passe réinitialisé : choisissez votre mot de passe personnel pour continuer.".into()),
        action: "/mot-de-passe".into(),
        fields: password_fields(errors),
        submit: "Enregistrer le mot de passe".into(),
        cancel: (!forced).then(|| "/".into()),
        error_count: errors.0.len(),
    }
    .response(status)
}

pub async fn password_page(ctx: Ctx) -> Response {
    password_form(&ctx, &FieldErrors::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn password_submit(CsrfForm(mut ctx, f): CsrfForm<PasswordForm>) -> Response {
    match store_auth::change_password(&ctx.state.db, ctx.actor(), &f.current, &f.new, &f.confirm).await {
        Ok(()) => see_other("/", "mdp"),
        Err(Error::Invalid(e)) => {
            ctx.flash = None;
            password_form(&ctx, &e, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ContextForm {
    establishment_id: i64,
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    back: String,
}

pub async fn switch_context(CsrfForm(ctx, f): CsrfForm<ContextForm>) -> Response {
    let site = f.site_id.trim().parse::<i64>().ok();
    // A site of another establishment is dropped (the switcher changes one select at a time).
    let site = match site {
        Some(s) => quittance_store::establishments::get_site(&ctx.state.db, ctx.actor(), f.establishment_id, s).await.ok().map(|s| s.id),
        None => None,
    };
    match store_auth::switch_context(&ctx.state.db, &ctx.token, ctx.actor(), f.establishment_id, site).await {
        Ok(()) => see_other(&safe_next(Some(&f.back)), "contexte"),
        Err(e) => PageError(e).into_response(),
    }
}
