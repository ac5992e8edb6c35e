//! The API's extractors: `Json`, `Query` and `Path` that answer a malformed request with an
//! `application/problem+json` document in French naming the field, instead of axum's English
//! `text/plain` rejections. Use these (not axum's) in every API handler.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::api::{ProblemField, problem};

/// A JSON body. Syntax errors: 400; a missing, unknown or mistyped field: 422 naming it; another
/// media type than `application/json`: 415.
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string parameters: a missing or malformed one is a 400 naming it.
pub struct Query<T>(pub T);

/// Path parameters: a malformed one (`/patients/abc`) is a 400 naming it.
pub struct Path<T>(pub T);

/// A multipart body (document uploads): a malformed one is a 400 problem.
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = Response;

    async fn from_request(req: Request, s: &S) -> Result<Self, Response> {
        axum::extract::Multipart::from_request(req, s).await.map(Multipart).map_err(|_| {
            problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Type de contenu refusé",
                "Envoyez le document en « multipart/form-data » avec une limite (boundary) valide.",
                vec![],
            )
        })
    }
}

/// The largest JSON body the API reads (documents go through multipart, not JSON).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;

/// French sentence for a serde error message, and whether it is about one field.
pub(crate) fn french(msg: &str) -> String {
    if msg.starts_with("missing field") {
        "Ce champ est obligatoire.".into()
    } else if msg.starts_with("unknown field") {
        "Champ inconnu.".into()
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        let expected = msg.rsplit("expected ").next().unwrap_or("");
        let what = if expected.contains("i64") || expected.contains("integer") || expected.contains("u64") || expected.contains("i32") {
            "un nombre entier"
        } else if expected.contains("string") {
            "un texte"
        } else if expected.contains("bool") {
            "true ou false"
        } else if expected.contains("sequence") {
            "une liste"
        } else {
            "une valeur d'un autre type"
        };
        format!("Valeur attendue : {what}.")
    } else if msg.starts_with("unknown variant") {
        "Valeur inconnue.".into()
    } else if msg.contains("number too large") || msg.contains("out of range") {
        "Nombre hors limites.".into()
    } else {
        "Valeur invalide.".into()
    }
}

/// The field a serde error is about: the path, or the name quoted in « missing field `x` ».
pub(crate) fn field_of(path: &str, msg: &str) -> String {
    let quoted = msg.split('`').nth(1).filter(|_| msg.starts_with("missing field") || msg.starts_with("unknown field"));
    match (path, quoted) {
        ("." | "", Some(q)) => q.to_string(),
        (p, Some(q)) => format!("{p}.{q}"),
        (p, None) if p != "." && !p.is_empty() => p.to_string(),
        _ => String::new(),
    }
}

fn field_problem(status: StatusCode, kind: &str, title: &str, field: String, message: String) -> Response {
    let detail = if field.is_empty() { message.clone() } else { format!("« {field} » : {message}") };
    let errors = if field.is_empty() { vec![] } else { vec![ProblemField { field, message }] };
    problem(status, kind, title, &detail, errors)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Response> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().eq_ignore_ascii_case("application/json") || v.trim().ends_with("+json"))
            .unwrap_or(false);
        if !is_json {
            return Err(problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Type de contenu refusé",
                "Envoyez un corps JSON avec l'en-tête « Content-Type: application/json ».",
                vec![],
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BYTES).await.map_err(|_| {
            problem(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Corps trop volumineux", "Le corps JSON dépasse 1 Mio.", vec![])
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de);
        let trailing = value.is_ok().then(|| de.end().err()).flatten();
        if let Some(inner) = trailing {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                "bad-json",
                "JSON invalide",
                &format!("Le corps n'est pas un JSON valide (ligne {}, colonne {}).", inner.line(), inner.column()),
                vec![],
            ));
        }
        match value {
            Ok(v) => Ok(Json(v)),
            Err(e) => {
                let inner = e.inner();
                if inner.is_syntax() || inner.is_eof() {
                    Err(problem(
                        StatusCode::BAD_REQUEST,
                        "bad-json",
                        "JSON invalide",
                        &format!("Le corps n'est pas un JSON valide (ligne {}, colonne {}).", inner.line(), inner.column()),
                        vec![],
                    ))
                } else {
                    let msg = inner.to_string();
                    let field = field_of(&e.path().to_string(), &msg);
                    Err(field_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation", "Saisie invalide", field, french(&msg)))
                }
            }
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        match serde_path_to_error::deserialize(de) {
            Ok(v) => Ok(Query(v)),
            Err(e) => {
                let msg = e.inner().to_string();
                let field = field_of(&e.path().to_string(), &msg);
                let message = if msg.contains("invalid digit") || msg.contains("number") {
                    "Valeur attendue : un nombre entier.".to_string()
                } else {
                    french(&msg)
                };
                Err(field_problem(StatusCode::BAD_REQUEST, "bad-query", "Paramètre invalide", field, message))
            }
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Response> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, s).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
                    ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "id".to_string(),
                };
                Err(field_problem(StatusCode::BAD_REQUEST, "bad-path", "Adresse invalide", field, "Identifiant attendu : un nombre entier.".into()))
            }
            Err(_) => Err(problem(StatusCode::BAD_REQUEST, "bad-path", "Adresse invalide", "Paramètre d'adresse manquant.", vec![])),
        }
    }
}

// ---------------------------------------------------------------- pages

/// Path parameters of a page: a malformed one (`/patients/abc`) answers the French « Page introuvable »
/// page (404) instead of axum's English text. Page handlers import it as `Path`.
pub struct PagePath<T>(pub T);

/// Query parameters of a page: a malformed one (`?page=abc`) answers a French 400 page naming it.
/// Page handlers import it as `Query`.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PagePath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, s).await {
            Ok(axum::extract::Path(v)) => Ok(PagePath(v)),
            Err(_) => Err(crate::render::error_page(
                StatusCode::NOT_FOUND,
                "Page introuvable",
                "L'adresse demandée n'existe pas : un numéro y est attendu. Revenez à la page précédente ou à l'accueil.",
            )),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => Ok(PageQuery(v)),
            Err(e) => {
                let field = field_of(&e.path().to_string(), &e.inner().to_string());
                let what = if field.is_empty() { "Un paramètre de l'adresse".to_string() } else { format!("Le paramètre « {field} »") };
                Err(crate::render::error_page(
                    StatusCode::BAD_REQUEST,
                    "Adresse invalide",
                    &format!("{what} est mal formé ou hors limites. Revenez à la page précédente et recommencez."),
                ))
            }
        }
    }
}

// ---------------------------------------------------------------- pagination

/// The largest offset a list accepts (pages and API): deeper pages are refused or capped, so that no
/// page number overflows and no query skips millions of rows.
pub const MAX_OFFSET: i64 = 100_000;

/// The page number (1 and up, capped so that its offset stays within [`MAX_OFFSET`]) and its offset.
pub fn page_offset(page: Option<i64>, size: i64) -> (i64, i64) {
    let size = size.max(1);
    let last = MAX_OFFSET / size + 1;
    let page = page.unwrap_or(1).clamp(1, last);
    (page, (page - 1) * size)
}

/// An API `offset`: absent is 0; negative or above [`MAX_OFFSET`] is a field error.
pub fn api_offset(offset: Option<i64>, errs: &mut quittance_domain::validation::FieldErrors) -> i64 {
    let o = offset.unwrap_or(0);
    if !(0..=MAX_OFFSET).contains(&o) {
        errs.add("offset", "Entre 0 et 100 000 ; affinez la recherche pour aller plus loin.");
        return 0;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_french_and_name_the_field() {
        assert_eq!(field_of(".", "missing field `version`"), "version");
        assert_eq!(field_of("stay_id", "invalid type: string \"x\", expected i64"), "stay_id");
        assert_eq!(french("invalid type: string \"x\", expected i64"), "Valeur attendue : un nombre entier.");
        assert_eq!(french("missing field `x`"), "Ce champ est obligatoire.");
    }

    #[test]
    fn pages_and_offsets_cannot_overflow() {
        assert_eq!(page_offset(None, 25), (1, 0));
        assert_eq!(page_offset(Some(-5), 25), (1, 0));
        assert_eq!(page_offset(Some(3), 25), (3, 50));
        assert_eq!(page_offset(Some(i64::MAX), 25), (4001, 100_000));
        assert_eq!(page_offset(Some(i64::MAX), 0), (100_001, 100_000));
        let mut e = quittance_domain::validation::FieldErrors::new();
        assert_eq!(api_offset(Some(100_000), &mut e), 100_000);
        assert!(e.is_empty());
        api_offset(Some(100_001), &mut e);
        api_offset(Some(-1), &mut e);
        assert_eq!(e.0.len(), 2);
        assert!(e.get("offset").is_some());
    }
}
