//! API: filed documents and the classification plan.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::{Actor, Error};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Json, Path, Query};
use crate::api::{EstablishmentParam, Problem, ProblemField, VersionParam, problem, problem_from, reply, today_of};
use quittance_store::{documents, patients, readiness};

/// A filed document as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Document)]
pub struct DocumentDto {
    pub id: i64,
    pub establishment_id: i64,
    pub patient_id: i64,
    /// patient, droit, pec, sejour.
    pub target_kind: String,
    pub target_id: i64,
    pub class_id: i64,
    pub class_label: String,
    /// normal, confidentiel.
    pub confidentiality: String,
    pub title: String,
    pub file_name: String,
    pub mime: String,
    pub size_bytes: i64,
    /// Hexadecimal SHA-256 of the content.
    pub sha256: String,
    /// base (database) or dossier (folder).
    pub storage: String,
    /// AAAA-MM-JJ: date of the document (start of the retention period).
    pub document_date: String,
    /// AAAA-MM-JJ: last day it must be kept.
    pub retention_until: Option<String>,
    pub uploaded_by: String,
    pub created_at: String,
    pub withdrawn_at: Option<String>,
    pub withdrawn_reason: Option<String>,
    /// Pass it back as `?version=` to withdraw the document.
    pub version: i64,
    /// Whether the key's roles may open the content (the title is masked otherwise).
    pub openable: bool,
}

impl From<&documents::Document> for DocumentDto {
    fn from(d: &documents::Document) -> DocumentDto {
        DocumentDto {
            id: d.id,
            establishment_id: d.establishment_id,
            patient_id: d.patient_id,
            target_kind: d.target_kind.code().to_string(),
            target_id: d.target_id,
            class_id: d.class_id,
            class_label: d.class_label.clone(),
            confidentiality: d.confidentiality.code().to_string(),
            title: d.title.clone(),
            file_name: d.file_name.clone(),
            mime: d.mime.clone(),
            size_bytes: d.size_bytes,
            sha256: d.sha256.clone(),
            storage: d.storage.code().to_string(),
            document_date: d.document_date.clone(),
            retention_until: d.retention_until.clone(),
            uploaded_by: d.uploaded_by.clone(),
            created_at: d.created_at.clone(),
            withdrawn_at: d.withdrawn_at.clone(),
            withdrawn_reason: d.withdrawn_reason.clone(),
            version: d.version,
            openable: d.openable,
        }
    }
}

/// A document past its retention period, with its file.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Expired)]
pub struct ExpiredDto {
    pub document: DocumentDto,
    pub ipp: String,
    pub patient_name: String,
}

impl From<&documents::Expired> for ExpiredDto {
    fn from(x: &documents::Expired) -> ExpiredDto {
        ExpiredDto { document: DocumentDto::from(&x.document), ipp: x.ipp.clone(), patient_name: x.patient_name.clone() }
    }
}

/// A class of the classification plan.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DocClass)]
pub struct DocClassDto {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub label: String,
    pub retention_years: i64,
    /// normal, confidentiel (the default level of the class's documents).
    pub confidentiality: String,
    /// Empty, or what the class is required for (patient, sejour, droit_obligatoire,
    /// droit_complementaire, pec_accordee).
    pub required_for: String,
    pub position: i64,
    pub active: bool,
    /// Pass it back as `?version=` to change the class.
    pub version: i64,
}

impl From<&documents::DocClass> for DocClassDto {
    fn from(c: &documents::DocClass) -> DocClassDto {
        DocClassDto {
            id: c.id,
            establishment_id: c.establishment_id,
            code: c.code.clone(),
            label: c.label.clone(),
            retention_years: c.retention_years,
            confidentiality: c.confidentiality.code().to_string(),
            required_for: c.required_for.code().to_string(),
            position: c.position,
            active: c.active,
            version: c.version,
        }
    }
}

/// A class as sent to add or change it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = ClassInput)]
pub struct ClassBody {
    /// Lowercase letters without accents, digits and `_`.
    pub code: String,
    pub label: String,
    /// 1 to 100.
    pub retention_years: String,
    /// normal, confidentiel.
    pub confidentiality: String,
    /// Blank, patient, sejour, droit_obligatoire, droit_complementaire, pec_accordee.
    pub required_for: String,
    pub position: String,
    /// `on` or `true` keeps the class usable for new documents.
    pub active: String,
}

impl From<ClassBody> for documents::ClassInput {
    fn from(b: ClassBody) -> documents::ClassInput {
        documents::ClassInput {
            code: b.code,
            label: b.label,
            retention_years: b.retention_years,
            confidentiality: b.confidentiality,
            required_for: b.required_for,
            position: b.position,
            active: b.active,
        }
    }
}

fn dtos<T, D: for<'a> From<&'a T>>(r: Result<Vec<T>, Error>) -> Result<Vec<D>, Error> {
    r.map(|v| v.iter().map(D::from).collect())
}

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
#[utoipa::path(get, path = "/patients/{id}/documents", params(("id" = i64, Path)), responses((status = 200, body = Vec<DocumentDto>)))]
pub async fn list_documents(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, dtos::<_, DocumentDto>(documents::list(&s.db, &a, id).await))
}

/// Files a document (multipart/form-data). 413 over the size limit, 415 when the content is not PDF/JPEG/PNG.
#[utoipa::path(post, path = "/patients/{id}/documents", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", content = UploadForm),
    responses((status = 201, body = DocumentDto), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
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
    let parsed = documents::parse_upload(&s.db, &storage, id, &u.input, &u.bytes, today).await;
    match parsed {
        Ok(d) => reply(StatusCode::CREATED, documents::upload(&s.db, &a, &storage, id, &d, &u.file_name, &u.bytes).await.map(|d| DocumentDto::from(&d))),
        Err(Error::Invalid(errs)) if errs.get("file").is_some_and(|m| m.starts_with("Type")) => problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-type",
            "Type de fichier refusé",
            quittance_domain::documents::WRONG_TYPE,
            vec![ProblemField { field: "file".into(), message: quittance_domain::documents::WRONG_TYPE.into() }],
        ),
        Err(e) => problem_from(e),
    }
}

/// One document's metadata.
#[utoipa::path(get, path = "/documents/{id}", params(("id" = i64, Path)), responses((status = 200, body = DocumentDto), (status = 404, body = Problem)))]
pub async fn get_document(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, documents::get(&s.db, &a, id).await.map(|d| DocumentDto::from(&d)))
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
    responses((status = 200, body = DocumentDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn withdraw_document(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, Json(body): Json<WithdrawBody>) -> Response {
    let b = body;
    reply(StatusCode::OK, documents::withdraw(&s.db, &a, id, v.version, &b.reason).await.map(|d| DocumentDto::from(&d)))
}

/// Documents whose retention period is over.
#[utoipa::path(get, path = "/documents/past-retention", params(EstablishmentParam), responses((status = 200, body = Vec<ExpiredDto>)))]
pub async fn documents_past_retention(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, dtos::<_, ExpiredDto>(documents::past_retention(&s.db, &a, q.establishment_id, today).await))
}

/// Open stays missing a document the classification plan requires.
#[utoipa::path(get, path = "/documents/missing", params(EstablishmentParam), responses((status = 200, body = Vec<crate::readiness::api::PendingDto>)))]
pub async fn documents_missing(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, crate::readiness::api::dtos::<_, crate::readiness::api::PendingDto>(readiness::missing_documents_report(&s.db, &a, q.establishment_id, today).await))
}

/// The classification plan of an establishment.
#[utoipa::path(get, path = "/document-classes", params(EstablishmentParam), responses((status = 200, body = Vec<DocClassDto>)))]
pub async fn list_document_classes(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    reply(StatusCode::OK, dtos::<_, DocClassDto>(documents::classes(&s.db, &a, q.establishment_id).await))
}

/// Adds a class to the plan (administrators). A code already in the plan answers 422.
#[utoipa::path(post, path = "/document-classes", params(EstablishmentParam), request_body = ClassBody,
    responses((status = 201, body = DocClassDto), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_document_class(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, Json(body): Json<ClassBody>) -> Response {
    let parsed = match quittance_domain::documents::input::parse_class(&body.into()) {
        Ok(c) => c,
        Err(e) => return problem_from(Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, documents::save_class(&s.db, &a, q.establishment_id, None, &parsed).await.map(|c| DocClassDto::from(&c)))
}

/// Changes a class of the plan (administrators); `version` is the class's version read (a
/// concurrent change answers 409).
#[utoipa::path(put, path = "/document-classes/{id}", params(("id" = i64, Path), EstablishmentParam, VersionParam), request_body = ClassBody,
    responses((status = 200, body = DocClassDto), (status = 409, body = Problem), (status = 422, body = Problem), (status = 404, body = Problem)))]
pub async fn update_document_class(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path(id): Path<i64>,
    Query(q): Query<EstablishmentParam>,
    Query(v): Query<VersionParam>,
    Json(body): Json<ClassBody>,
) -> Response {
    let parsed = match quittance_domain::documents::input::parse_class(&body.into()) {
        Ok(c) => c,
        Err(e) => return problem_from(Error::Invalid(e)),
    };
    let edit = documents::ClassEdit { id, version: v.version };
    reply(StatusCode::OK, documents::save_class(&s.db, &a, q.establishment_id, Some(edit), &parsed).await.map(|c| DocClassDto::from(&c)))
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
