//! Login, sessions, CSRF and the extractors that give handlers an authenticated actor.

use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use quittance_store::access::{self as store_auth, Session};
use quittance_store::{Actor, Error};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::render::{Chrome, PageError, error_page, flash_text};
use crate::{AppState, RequestId};

pub(crate) const LOGIN_CSRF_COOKIE: &str = "quittance_login_csrf";

pub(crate) fn session_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies { "__Host-quittance_session" } else { "quittance_session" }
}

pub(crate) fn cookie_attrs(state: &AppState) -> &'static str {
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

pub(crate) fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "inconnue".into())
}

/// Constant-time comparison of two tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
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


/// A form with no field but its CSRF token (a button).
#[derive(Deserialize)]
pub struct Empty {}
