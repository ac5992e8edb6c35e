//! API: filed documents and the classification plan.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::{Actor, Error};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Json, Path, Query};
use crate::api::{EstablishmentParam, Problem, ProblemField, VersionParam, problem, problem_from, reply, today_of};
use quittance_store::{documents, patients, readiness};

/// A multipart upload: the file and the fields of `UploadInput`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// PDF, JPEG or PNG (recognised from the content), within the size limit.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
    /// `patient`, `droit:<id>`, `pec:<id>` or `sejour:<id>`.
    target: String,
    class_id: i64,
    /// normal or confidentiel; blank: the class's level.
    confidentiality: Option<String>,
    title: Option<String>,
    /// JJ/MM/AAAA; blank: today.
    document_date: Option<String>,
}

/// The documents of a patient's file (titles of confidential ones masked without the permission).
#[utoipa::path(get, path = "/patients/{id}/documents", params(("id" = i64, Path)), responses((status = 200, body = Vec<documents::Document>)))]
pub async fn list_documents(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, documents::list(&s.db, &a, id).await)
}

/// Files a document (multipart/form-data). 413 over the size limit, 415 when the content is not PDF/JPEG/PNG.
#[utoipa::path(post, path = "/patients/{id}/documents", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", content = UploadForm),
    responses((status = 201, body = documents::Document), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_document(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, crate::extract::Multipart(mp): crate::extract::Multipart) -> Response {
    let storage = s.config.documents.clone();
    let u = match crate::documents::pages::read_upload(mp, storage.max_bytes).await {
        Ok(u) => u,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "multipart", "Envoi illisible", &m, vec![]),
    };
    if u.too_large {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Fichier trop volumineux",
            &format!("Le fichier dépasse la taille maximale ({}).", storage.max_label()),
            vec![ProblemField { field: "file".into(), message: format!("{} au plus.", storage.max_label()) }],
        );
    }
    let today = match patients::check_read(&s.db, &a, id).await {
        Ok(p) => today_of(&s, &a, p.establishment_id).await,
        Err(e) => return problem_from(e),
    };
    match documents::upload(&s.db, &a, &storage, id, &u.input, &u.file_name, &u.bytes, today).await {
        Err(Error::Invalid(errs)) if errs.get("file").is_some_and(|m| m.starts_with("Type")) => problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-type",
            "Type de fichier refusé",
            quittance_domain::documents::WRONG_TYPE,
            vec![ProblemField { field: "file".into(), message: quittance_domain::documents::WRONG_TYPE.into() }],
        ),
        r => reply(StatusCode::CREATED, r),
    }
}

/// One document's metadata.
#[utoipa::path(get, path = "/documents/{id}", params(("id" = i64, Path)), responses((status = 200, body = documents::Document), (status = 404, body = Problem)))]
pub async fn get_document(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, documents::get(&s.db, &a, id).await)
}

/// The content, checked against its SHA-256 (also sent in `X-Content-Sha256`). Audited.
#[utoipa::path(get, path = "/documents/{id}/content", params(("id" = i64, Path)),
    responses((status = 200, description = "Le contenu, dans son type (PDF, JPEG ou PNG)", content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn document_content(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    match documents::content(&s.db, &a, &s.config.documents, id).await {
        Ok((d, bytes)) => crate::documents::pages::content_response(&d, bytes),
        Err(e) => problem_from(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct WithdrawBody {
    /// Why the document is withdrawn (required).
    reason: String,
}

/// Withdraws a document filed by mistake (kept, no longer counted).
#[utoipa::path(post, path = "/documents/{id}/withdraw", params(("id" = i64, Path), VersionParam), request_body = WithdrawBody,
    responses((status = 200, body = documents::Document), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn withdraw_document(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, Json(body): Json<WithdrawBody>) -> Response {
    let b = body;
    reply(StatusCode::OK, documents::withdraw(&s.db, &a, id, v.version, &b.reason).await)
}

/// Documents whose retention period is over.
#[utoipa::path(get, path = "/documents/past-retention", params(EstablishmentParam), responses((status = 200, body = Vec<documents::Expired>)))]
pub async fn documents_past_retention(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, documents::past_retention(&s.db, &a, q.establishment_id, today).await)
}

/// Open stays missing a document the classification plan requires.
#[utoipa::path(get, path = "/documents/missing", params(EstablishmentParam), responses((status = 200, body = Vec<crate::readiness::api::PendingDto>)))]
pub async fn documents_missing(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, crate::readiness::api::dtos::<_, crate::readiness::api::PendingDto>(readiness::missing_documents_report(&s.db, &a, q.establishment_id, today).await))
}

/// The classification plan of an establishment.
#[utoipa::path(get, path = "/document-classes", params(EstablishmentParam), responses((status = 200, body = Vec<documents::DocClass>)))]
pub async fn list_document_classes(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    reply(StatusCode::OK, documents::classes(&s.db, &a, q.establishment_id).await)
}

/// Adds a class to the plan (administrators).
#[utoipa::path(post, path = "/document-classes", params(EstablishmentParam), request_body = documents::ClassInput,
    responses((status = 201, body = documents::DocClass), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_document_class(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, Json(body): Json<documents::ClassInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, documents::save_class(&s.db, &a, q.establishment_id, None, &i).await)
}

/// Changes a class of the plan (administrators).
#[utoipa::path(put, path = "/document-classes/{id}", params(("id" = i64, Path), EstablishmentParam), request_body = documents::ClassInput,
    responses((status = 200, body = documents::DocClass), (status = 422, body = Problem), (status = 404, body = Problem)))]
pub async fn update_document_class(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(q): Query<EstablishmentParam>, Json(body): Json<documents::ClassInput>) -> Response {
    let i = body;
    reply(StatusCode::OK, documents::save_class(&s.db, &a, q.establishment_id, Some(id), &i).await)
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api(state: &AppState) -> OpenApiRouter<AppState> {
    use utoipa_axum::router::UtoipaMethodRouterExt;
    let upload_limit = axum::extract::DefaultBodyLimit::max(state.config.documents.max_bytes + 256 * 1024);
    OpenApiRouter::new()
        .routes(routes!(list_documents, upload_document).layer(upload_limit))
        .routes(routes!(get_document))
        .routes(routes!(document_content))
        .routes(routes!(withdraw_document))
        .routes(routes!(documents_past_retention))
        .routes(routes!(documents_missing))
        .routes(routes!(list_document_classes, create_document_class))
        .routes(routes!(update_document_class))
}
