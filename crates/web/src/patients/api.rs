//! API: patient files, debtors, identifiers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::{Actor, Error};
use quittance_domain::patients::input::bool_like;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Json, Path, Query};
use crate::api::{EstablishmentParam, Problem, VersionParam, problem_from, reply};
use quittance_store::patients;

/// A patient file as the API shows it (codes as text, dates `AAAA-MM-JJ`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Patient)]
pub struct PatientDto {
    pub id: i64,
    pub establishment_id: i64,
    pub ipp: String,
    pub birth_name: String,
    pub used_name: Option<String>,
    pub birth_first_names: String,
    pub first_name: String,
    pub used_first_name: Option<String>,
    pub birth_date: String,
    pub birth_date_incomplete: bool,
    pub sex: String,
    pub birth_place_code: Option<String>,
    pub birth_place_label: Option<String>,
    pub identity_status: String,
    pub doc_type: Option<String>,
    pub doc_number: Option<String>,
    pub doc_expiry: Option<String>,
    pub insi_checked: bool,
    pub attributes: String,
    pub nir: Option<String>,
    pub cafat_number: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub legal_rep_name: Option<String>,
    pub legal_rep_relation: Option<String>,
    pub legal_rep_phone: Option<String>,
    pub date_of_death: Option<String>,
    pub non_disclosure: bool,
    /// Pass it back as `?version=` to change the file.
    pub version: i64,
}

impl From<&patients::Patient> for PatientDto {
    fn from(x: &patients::Patient) -> PatientDto {
        PatientDto {
            id: x.id,
            establishment_id: x.establishment_id,
            ipp: x.ipp.clone(),
            birth_name: x.birth_name.clone(),
            used_name: x.used_name.clone(),
            birth_first_names: x.birth_first_names.clone(),
            first_name: x.first_name.clone(),
            used_first_name: x.used_first_name.clone(),
            birth_date: x.birth_date.clone(),
            birth_date_incomplete: x.birth_date_incomplete,
            sex: x.sex.code().to_string(),
            birth_place_code: x.birth_place_code.clone(),
            birth_place_label: x.birth_place_label.clone(),
            identity_status: x.identity_status.code().to_string(),
            doc_type: x.doc_type.map(|d| d.code().to_string()),
            doc_number: x.doc_number.clone(),
            doc_expiry: x.doc_expiry.clone(),
            insi_checked: x.insi_checked,
            attributes: quittance_store::shared::rows::codes_text(&x.attributes),
            nir: x.nir.clone(),
            cafat_number: x.cafat_number.clone(),
            address_line1: x.address_line1.clone(),
            address_line2: x.address_line2.clone(),
            postcode: x.postcode.clone(),
            city: x.city.clone(),
            country: x.country.clone(),
            phone: x.phone.clone(),
            mobile: x.mobile.clone(),
            email: x.email.clone(),
            language: x.language.clone(),
            legal_rep_name: x.legal_rep_name.clone(),
            legal_rep_relation: x.legal_rep_relation.clone(),
            legal_rep_phone: x.legal_rep_phone.clone(),
            date_of_death: x.date_of_death.clone(),
            non_disclosure: x.non_disclosure,
            version: x.version,
        }
    }
}
/// An external identifier of a file, with its issuer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Identifier)]
pub struct IdentifierDto {
    pub id: i64,
    pub patient_id: i64,
    pub issuer: String,
    pub value: String,
}

impl From<&patients::Identifier> for IdentifierDto {
    fn from(x: &patients::Identifier) -> IdentifierDto {
        IdentifierDto {
            id: x.id,
            patient_id: x.patient_id,
            issuer: x.issuer.clone(),
            value: x.value.clone(),
        }
    }
}
/// A debtor of a file.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Debtor)]
pub struct DebtorDto {
    pub id: i64,
    pub patient_id: i64,
    pub kind: String,
    pub name: String,
    pub relationship: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Comma-separated kinds of charges guaranteed.
    pub guarantees: String,
    pub is_default: bool,
    pub active: bool,
    /// Changes with every write; an edit sends the version it read.
    pub version: i64,
}

impl From<&patients::Debtor> for DebtorDto {
    fn from(x: &patients::Debtor) -> DebtorDto {
        DebtorDto {
            id: x.id,
            patient_id: x.patient_id,
            kind: x.kind.code().to_string(),
            name: x.name.clone(),
            relationship: x.relationship.clone(),
            address_line1: x.address_line1.clone(),
            address_line2: x.address_line2.clone(),
            postcode: x.postcode.clone(),
            city: x.city.clone(),
            country: x.country.clone(),
            phone: x.phone.clone(),
            email: x.email.clone(),
            guarantees: quittance_store::shared::rows::codes_text(&x.guarantees),
            is_default: x.is_default,
            active: x.active,
            version: x.version,
        }
    }
}
/// One line of a search result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PatientSummary)]
pub struct PatientSummaryDto {
    pub id: i64,
    pub ipp: String,
    pub birth_name: String,
    pub used_name: Option<String>,
    pub first_name: String,
    pub used_first_name: Option<String>,
    pub birth_date: String,
    pub sex: String,
    pub identity_status: String,
    pub nir: Option<String>,
    pub cafat_number: Option<String>,
    pub city: Option<String>,
    pub date_of_death: Option<String>,
    pub non_disclosure: bool,
}

impl From<&patients::PatientSummary> for PatientSummaryDto {
    fn from(x: &patients::PatientSummary) -> PatientSummaryDto {
        PatientSummaryDto {
            id: x.id,
            ipp: x.ipp.clone(),
            birth_name: x.birth_name.clone(),
            used_name: x.used_name.clone(),
            first_name: x.first_name.clone(),
            used_first_name: x.used_first_name.clone(),
            birth_date: x.birth_date.clone(),
            sex: x.sex.code().to_string(),
            identity_status: x.identity_status.code().to_string(),
            nir: x.nir.clone(),
            cafat_number: x.cafat_number.clone(),
            city: x.city.clone(),
            date_of_death: x.date_of_death.clone(),
            non_disclosure: x.non_disclosure,
        }
    }
}
/// What a client sends to open or change a file (every field is text, parsed by the server).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = PatientInput)]
pub struct PatientBody {
    pub birth_name: String,
    pub used_name: String,
    /// Birth first names, in order, separated by spaces.
    pub birth_first_names: String,
    pub used_first_name: String,
    /// `JJ/MM/AAAA` (00 for an unknown day or month) or `AAAA-MM-JJ`.
    pub birth_date: String,
    /// `F`, `M` or `I`.
    pub sex: String,
    /// INSEE code of the commune of birth (NC: 988xx) or `99xxx` for a country abroad.
    pub birth_place_code: String,
    pub birth_place_label: String,
    /// provisoire, recuperee, validee, qualifiee.
    pub identity_status: String,
    pub doc_type: String,
    pub doc_number: String,
    pub doc_expiry: String,
    #[serde(deserialize_with = "bool_like")]
    pub insi_checked: bool,
    /// Comma-separated RNIV attributes (doublon_potentiel, homonyme, douteuse, fictive…).
    pub attributes: String,
    pub nir: String,
    pub cafat_number: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub mobile: String,
    pub email: String,
    pub language: String,
    pub legal_rep_name: String,
    pub legal_rep_relation: String,
    pub legal_rep_phone: String,
    pub date_of_death: String,
    #[serde(deserialize_with = "bool_like")]
    pub non_disclosure: bool,
    /// Site the file is opened at (required for site-level users).
    pub site_id: String,
    /// Why a status or a strict trait changes (required then).
    pub reason: String,
    /// Create even though a file with the same traits exists (it is then flagged).
    #[serde(deserialize_with = "bool_like")]
    pub confirm_duplicate: bool,
}

impl From<PatientBody> for patients::PatientInput {
    fn from(b: PatientBody) -> patients::PatientInput {
        patients::PatientInput {
            birth_name: b.birth_name,
            used_name: b.used_name,
            birth_first_names: b.birth_first_names,
            used_first_name: b.used_first_name,
            birth_date: b.birth_date,
            sex: b.sex,
            birth_place_code: b.birth_place_code,
            birth_place_label: b.birth_place_label,
            identity_status: b.identity_status,
            doc_type: b.doc_type,
            doc_number: b.doc_number,
            doc_expiry: b.doc_expiry,
            insi_checked: b.insi_checked,
            attributes: b.attributes,
            nir: b.nir,
            cafat_number: b.cafat_number,
            address_line1: b.address_line1,
            address_line2: b.address_line2,
            postcode: b.postcode,
            city: b.city,
            country: b.country,
            phone: b.phone,
            mobile: b.mobile,
            email: b.email,
            language: b.language,
            legal_rep_name: b.legal_rep_name,
            legal_rep_relation: b.legal_rep_relation,
            legal_rep_phone: b.legal_rep_phone,
            date_of_death: b.date_of_death,
            non_disclosure: b.non_disclosure,
            site_id: b.site_id,
            reason: b.reason,
            confirm_duplicate: b.confirm_duplicate,
        }
    }
}
/// What a client sends to add or change a debtor.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = DebtorInput)]
pub struct DebtorBody {
    pub kind: String,
    pub name: String,
    pub relationship: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    /// Comma-separated: sejour, actes, forfait_journalier, chambre_particuliere, prestations_annexes.
    pub guarantees: String,
    #[serde(deserialize_with = "bool_like")]
    pub is_default: bool,
}

impl From<DebtorBody> for patients::DebtorInput {
    fn from(b: DebtorBody) -> patients::DebtorInput {
        patients::DebtorInput {
            kind: b.kind,
            name: b.name,
            relationship: b.relationship,
            address_line1: b.address_line1,
            address_line2: b.address_line2,
            postcode: b.postcode,
            city: b.city,
            country: b.country,
            phone: b.phone,
            email: b.email,
            guarantees: b.guarantees,
            is_default: b.is_default,
        }
    }
}
/// A file with its identifiers, debtors and sites.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PatientFile)]
pub struct PatientFileDto {
    pub patient: PatientDto,
    pub sites: Vec<i64>,
    pub identifiers: Vec<IdentifierDto>,
    pub debtors: Vec<DebtorDto>,
}

impl From<&patients::PatientFile> for PatientFileDto {
    fn from(f: &patients::PatientFile) -> PatientFileDto {
        PatientFileDto {
            patient: PatientDto::from(&f.patient),
            sites: f.sites.clone(),
            identifiers: f.identifiers.iter().map(IdentifierDto::from).collect(),
            debtors: f.debtors.iter().map(DebtorDto::from).collect(),
        }
    }
}

/// Search results and whether more exist beyond the page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SearchPage)]
pub struct SearchPageDto {
    pub items: Vec<PatientSummaryDto>,
    pub more: bool,
    /// When `more`: pass it as `after` to read the next page (keyset pagination).
    pub next: Option<String>,
}

impl From<&patients::SearchPage> for SearchPageDto {
    fn from(p: &patients::SearchPage) -> SearchPageDto {
        SearchPageDto { items: p.items.iter().map(PatientSummaryDto::from).collect(), more: p.more, next: p.next.as_ref().map(|c| c.token()) }
    }
}

fn dto<T, D: for<'a> From<&'a T>>(r: Result<T, Error>) -> Result<D, Error> {
    r.map(|x| D::from(&x))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientSearchParams {
    /// Establishment searched.
    establishment_id: i64,
    /// Free text: name prefixes, birth date `JJ/MM/AAAA`, IPP, NIR or CAFAT number.
    q: Option<String>,
    /// Birth date, `JJ/MM/AAAA` (00 for unknown parts) or `AAAA-MM-JJ`.
    birth_date: Option<String>,
    limit: Option<i64>,
    /// Rows to skip (at most 100 000); prefer `after`.
    offset: Option<i64>,
    /// The `next` of the previous page: the page after it, read from the index (any depth).
    after: Option<String>,
}

/// Searches patient files (only those the key's roles and sites reach).
#[utoipa::path(get, path = "/patients", params(PatientSearchParams), responses((status = 200, body = SearchPageDto), (status = 422, body = Problem)))]
pub async fn search_patients(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(p): Query<PatientSearchParams>) -> Response {
    let mut errs = quittance_domain::validation::FieldErrors::new();
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        errs.add("limit", "Entre 1 et 500.");
    }
    let offset = crate::extract::api_offset(p.offset, &mut errs);
    let after = match p.after.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let c = patients::Cursor::parse(t);
            if c.is_none() {
                errs.add("after", "Curseur de page inconnu : reprenez la valeur « next » d'une réponse précédente.");
            }
            if offset != 0 {
                errs.add("offset", "Donnez « after » ou « offset », pas les deux.");
            }
            c
        }
    };
    let c = match quittance_domain::patients::search::parse(p.q.as_deref().unwrap_or(""), p.birth_date.as_deref().unwrap_or("")) {
        Ok(c) if c.is_empty() => {
            errs.add("q", "Donnez au moins un critère (nom, date de naissance, IPP, NIR ou n° CAFAT).");
            c
        }
        Ok(c) => c,
        Err(m) => {
            errs.add("birth_date", m);
            Default::default()
        }
    };
    if !errs.is_empty() {
        return problem_from(Error::Invalid(errs));
    }
    let page = match &after {
        Some(cur) => patients::search_after(&s.db, &a, p.establishment_id, &c, limit, Some(cur)).await,
        None => patients::search(&s.db, &a, p.establishment_id, &c, limit, offset).await,
    };
    reply(StatusCode::OK, dto::<_, SearchPageDto>(page))
}

/// Opens a patient file; the IPP is allocated.
#[utoipa::path(post, path = "/patients", params(EstablishmentParam), request_body = PatientBody,
    responses((status = 201, body = PatientDto), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, Json(body): Json<PatientBody>) -> Response {
    let parsed = match patients::parse_new(&s.db, q.establishment_id, &body.into()).await {
        Ok(p) => p,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::CREATED, dto::<_, PatientDto>(patients::create(&s.db, &a, q.establishment_id, &parsed).await))
}

/// One patient file with identifiers and debtors (the view is audited).
#[utoipa::path(get, path = "/patients/{id}", params(("id" = i64, Path)), responses((status = 200, body = PatientFileDto), (status = 404, body = Problem)))]
pub async fn get_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, dto::<_, PatientFileDto>(patients::get(&s.db, &a, id).await))
}

/// Replaces a file's content. A change of identity status or strict trait needs `reason`.
#[utoipa::path(put, path = "/patients/{id}", params(("id" = i64, Path), VersionParam), request_body = PatientBody,
    responses((status = 200, body = PatientDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, Json(body): Json<PatientBody>) -> Response {
    let parsed = match patients::parse_change(&s.db, id, &body.into()).await {
        Ok(p) => p,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::OK, dto::<_, PatientDto>(patients::update(&s.db, &a, id, v.version, &parsed).await))
}

/// Adds a debtor.
#[utoipa::path(post, path = "/patients/{id}/debtors", params(("id" = i64, Path)), request_body = DebtorBody,
    responses((status = 201, body = DebtorDto), (status = 422, body = Problem)))]
pub async fn add_debtor(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<DebtorBody>) -> Response {
    let parsed = match patients::parse_debtor(&body.into()) {
        Ok(d) => d,
        Err(e) => return problem_from(Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, dto::<_, DebtorDto>(patients::save_debtor(&s.db, &a, id, None, &parsed).await))
}

/// Changes a debtor; `version` is the debtor's version read (a concurrent change answers 409).
#[utoipa::path(put, path = "/patients/{id}/debtors/{debtor_id}", params(("id" = i64, Path), ("debtor_id" = i64, Path), VersionParam),
    request_body = DebtorBody,
    responses((status = 200, body = DebtorDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_debtor(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, debtor_id)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<DebtorBody>,
) -> Response {
    let parsed = match patients::parse_debtor(&body.into()) {
        Ok(d) => d,
        Err(e) => return problem_from(Error::Invalid(e)),
    };
    let edit = patients::DebtorEdit { id: debtor_id, version: v.version };
    reply(StatusCode::OK, dto::<_, DebtorDto>(patients::save_debtor(&s.db, &a, id, Some(edit), &parsed).await))
}

/// An external identifier as sent.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = IdentifierInput)]
pub struct IdentifierBody {
    pub issuer: String,
    pub value: String,
}

/// Adds an external identifier with its issuer.
#[utoipa::path(post, path = "/patients/{id}/identifiers", params(("id" = i64, Path)), request_body = IdentifierBody,
    responses((status = 201, body = IdentifierDto), (status = 422, body = Problem)))]
pub async fn add_identifier(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<IdentifierBody>) -> Response {
    let parsed = match patients::parse_identifier(&patients::IdentifierInput { issuer: body.issuer, value: body.value }) {
        Ok(i) => i,
        Err(e) => return problem_from(Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, dto::<_, IdentifierDto>(patients::add_identifier(&s.db, &a, id, &parsed).await))
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_patients, create_patient))
        .routes(routes!(get_patient, update_patient))
        .routes(routes!(add_debtor))
        .routes(routes!(update_debtor))
        .routes(routes!(add_identifier))
}
