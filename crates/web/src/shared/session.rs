//! Login, sessions, CSRF and the extractors that give handlers an authenticated actor.

use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use quittance_store::access::{self as store_auth, Session};
use quittance_store::{Actor, Error};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::net::IpAddr;

use crate::render::{Chrome, PageError, error_page, flash_text};
use crate::{AppState, RequestId};

pub(crate) const LOGIN_CSRF_COOKIE: &str = "quittance_login_csrf";

pub(crate) fn session_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies { "__Host-quittance_session" } else { "quittance_session" }
}

/// A `Set-Cookie` value for the session cookie (`Secure` and the `__Host-` prefix unless turned off);
/// an empty `value` clears it.
pub(crate) fn session_set_cookie(state: &AppState, value: &str) -> Option<HeaderValue> {
    let mut c = cookie::Cookie::build((session_cookie_name(state), value.to_string()))
        .path("/")
        .secure(state.config.secure_cookies)
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .build();
    if value.is_empty() {
        c.set_max_age(cookie::time::Duration::ZERO);
    }
    HeaderValue::from_str(&c.to_string()).ok()
}

/// A `Set-Cookie` value for the login form's CSRF cookie (path `/login`); an empty `value` clears it.
pub(crate) fn login_csrf_set_cookie(state: &AppState, value: &str) -> Option<HeaderValue> {
    let mut c = cookie::Cookie::build((LOGIN_CSRF_COOKIE, value.to_string()))
        .path("/login")
        .secure(state.config.secure_cookies)
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .build();
    if value.is_empty() {
        c.set_max_age(cookie::time::Duration::ZERO);
    }
    HeaderValue::from_str(&c.to_string()).ok()
}

/// The value of the request cookie `name` (parsed by the `cookie` crate).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// An address or a network (`10.0.0.0/8`, `::1`, `2001:db8::/32`): a trusted reverse proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    /// A comma-separated list (`--trusted-proxies`); the error names the bad entry in French.
    pub fn parse_list(s: &str) -> Result<Vec<IpNet>, String> {
        s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::parse).collect()
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<IpNet, String> {
        let bad = || format!("« {s} » n'est ni une adresse IP ni un réseau (ex. 10.0.0.0/8, 192.168.1.10, ::1)");
        let (a, p) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
        };
        Ok(IpNet { addr, prefix })
    }
}

/// The client's address: the socket peer, unless the peer is a trusted proxy; then the rightmost address
/// of `X-Forwarded-For` that is not a trusted proxy (each proxy appends the address it received from).
pub(crate) fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer?;
    if !is_trusted(client) {
        return Some(client);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // An unreadable entry was written by whoever the last trusted hop received it from.
            Err(_) => break,
        }
    }
    Some(client)
}

/// The client address used for login throttling (see `client_addr`), « inconnue » without a socket.
pub(crate) fn client_ip(parts: &Parts, state: &AppState) -> String {
    let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    client_addr(peer, &parts.headers, &state.config.trusted_proxies).map_or_else(|| "inconnue".into(), |ip| ip.to_string())
}

/// Constant-time comparison of two tokens (`subtle`).
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
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

/// Characters kept as they are in a query value (paths keep their `/`).
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// Percent-encodes a query-string value (`percent-encoding`).
pub fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
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
        // Linear in the body's size, at most `form::MAX_FIELDS` fields, strict UTF-8.
        let pairs = crate::form::pairs(&bytes).map_err(|e| e.page())?;
        let sent = pairs.iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        check_csrf(&ctx, sent).await?;
        // Several checkboxes share one name: their values are joined with commas.
        let value: T = crate::form::into_value(&crate::form::merge(pairs)).map_err(|e| e.page())?;
        Ok(CsrfForm(ctx, value))
    }
}


/// A form with no field but its CSRF token (a button).
#[derive(Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for x in v {
            h.append("x-forwarded-for", HeaderValue::from_str(x).unwrap());
        }
        h
    }

    #[test]
    fn networks_parse_and_match() {
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains("10.200.3.4".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        let one: IpNet = "192.168.1.10".parse().unwrap();
        assert!(one.contains("192.168.1.10".parse().unwrap()) && !one.contains("192.168.1.11".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()) && !v6.contains("2001:db9::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err() && "proxy".parse::<IpNet>().is_err());
        assert_eq!(IpNet::parse_list(" 10.0.0.0/8, ::1 ,").unwrap().len(), 2);
        assert!(IpNet::parse_list("10.0.0.0/8,x").unwrap_err().contains("« x »"));
    }

    #[test]
    fn forwarded_for_is_read_only_behind_a_trusted_proxy() {
        let trusted = IpNet::parse_list("10.0.0.0/8").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let h = xff(&["198.51.100.9, 203.0.113.7", "10.0.0.4"]);
        // Untrusted peer: the header is ignored.
        assert_eq!(client_addr(Some(ip("192.0.2.1")), &h, &trusted), Some(ip("192.0.2.1")));
        // No trusted proxy configured: the header is ignored.
        assert_eq!(client_addr(Some(ip("10.0.0.5")), &h, &[]), Some(ip("10.0.0.5")));
        // Trusted peer: the rightmost untrusted hop (the spoofable left part is skipped).
        assert_eq!(client_addr(Some(ip("10.0.0.5")), &h, &trusted), Some(ip("203.0.113.7")));
        // Only trusted hops: the leftmost of them.
        assert_eq!(client_addr(Some(ip("10.0.0.5")), &xff(&["10.9.9.9"]), &trusted), Some(ip("10.9.9.9")));
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(client_addr(Some(ip("10.0.0.5")), &xff(&["203.0.113.7, nonsense"]), &trusted), Some(ip("10.0.0.5")));
    }

    #[test]
    fn cookies_tokens_and_url_encoding() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; quittance_session=abc; b=2"));
        h.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookie(&h, "quittance_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c").as_deref(), Some("3"));
        assert_eq!(cookie(&h, "session"), None);
        assert!(same_token("abcd", "abcd") && !same_token("abcd", "abce") && !same_token("abc", "abcd"));
        assert_eq!(url_encode("/patients?q=é t&x"), "/patients%3Fq%3D%C3%A9%20t%26x");
    }
}
