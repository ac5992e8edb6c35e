//! API: prises en charge.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::pec::{self, AnswerInput, Pec, PecInput};
use quittance_store::{Actor, Error};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{Problem, VersionParam, problem_from, reply};
use crate::extract::{Json, Path, Query};

/// A prise en charge request as the API shows it (amounts in minor units of `currency`, codes as text).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PecDto {
    pub id: i64,
    pub establishment_id: i64,
    pub patient_id: i64,
    pub stay_id: Option<i64>,
    /// AAAA-MM-JJ
    pub planned_admission_date: Option<String>,
    pub payer_id: i64,
    pub number: String,
    /// brouillon, envoyee, acceptee, partielle, refusee, expiree.
    pub status: String,
    /// Comma-separated item codes.
    pub requested_items: String,
    pub requested_days: i64,
    /// Minor units of `currency`.
    pub estimate_minor: i64,
    /// EUR or XPF.
    pub currency: String,
    pub sent_at: Option<String>,
    pub answered_at: Option<String>,
    pub agreement_number: Option<String>,
    pub agreed_items: Option<String>,
    pub cap_per_day_minor: Option<i64>,
    pub max_days: Option<i64>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub answer_note: Option<String>,
    /// Pass it back as `?version=` to change the request.
    pub version: i64,
}

impl From<&Pec> for PecDto {
    fn from(p: &Pec) -> PecDto {
        PecDto {
            id: p.id,
            establishment_id: p.establishment_id,
            patient_id: p.patient_id,
            stay_id: p.stay_id,
            planned_admission_date: p.planned_admission_date.clone(),
            payer_id: p.payer_id,
            number: p.number.clone(),
            status: p.status.code().to_string(),
            requested_items: quittance_store::shared::rows::codes_text(&p.requested_items),
            requested_days: p.requested_days,
            estimate_minor: p.estimate.minor,
            currency: p.currency().code().to_string(),
            sent_at: p.sent_at.clone(),
            answered_at: p.answered_at.clone(),
            agreement_number: p.agreement_number.clone(),
            agreed_items: p.agreed_items.as_deref().map(quittance_store::shared::rows::codes_text),
            cap_per_day_minor: p.cap_per_day.map(|m| m.minor),
            max_days: p.max_days,
            valid_from: p.valid_from.clone(),
            valid_to: p.valid_to.clone(),
            answer_note: p.answer_note.clone(),
            version: p.version,
        }
    }
}

/// A new request (brouillon).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PecBody {
    pub payer_id: String,
    /// The stay, or blank with a planned admission date.
    pub stay_id: String,
    /// JJ/MM/AAAA, for a planned stay.
    pub planned_admission_date: String,
    /// Comma-separated: forfait_journalier, chambre_particuliere, ticket_moderateur, prestations_annexes.
    pub requested_items: String,
    pub requested_days: String,
    /// French amount (`880,00` EUR, `12 500` XPF).
    pub estimate: String,
}

impl From<PecBody> for PecInput {
    fn from(b: PecBody) -> PecInput {
        PecInput {
            payer_id: b.payer_id,
            stay_id: b.stay_id,
            planned_admission_date: b.planned_admission_date,
            requested_items: b.requested_items,
            requested_days: b.requested_days,
            estimate: b.estimate,
        }
    }
}

/// The payer's answer.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AnswerBody {
    /// acceptee, partielle, refusee.
    pub status: String,
    pub agreement_number: String,
    /// Comma-separated items agreed.
    pub agreed_items: String,
    /// French amount per day (blank = no cap).
    pub cap_per_day: String,
    pub max_days: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
    pub valid_to: String,
    pub note: String,
}

impl From<AnswerBody> for AnswerInput {
    fn from(b: AnswerBody) -> AnswerInput {
        AnswerInput {
            status: b.status,
            agreement_number: b.agreement_number,
            agreed_items: b.agreed_items,
            cap_per_day: b.cap_per_day,
            max_days: b.max_days,
            valid_from: b.valid_from,
            valid_to: b.valid_to,
            note: b.note,
        }
    }
}

fn dto(r: Result<Pec, Error>) -> Result<PecDto, Error> {
    r.map(|p| PecDto::from(&p))
}

/// The patient's PEC requests.
#[utoipa::path(get, path = "/patients/{id}/pec", params(("id" = i64, Path)), responses((status = 200, body = Vec<PecDto>)))]
pub async fn list_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, pec::list(&s.db, &a, id).await.map(|v| v.iter().map(PecDto::from).collect::<Vec<_>>()))
}

/// Creates a PEC request (brouillon).
#[utoipa::path(post, path = "/patients/{id}/pec", params(("id" = i64, Path)), request_body = PecBody,
    responses((status = 201, body = PecDto), (status = 422, body = Problem)))]
pub async fn create_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<PecBody>) -> Response {
    let new = match pec::parse_new(&s.db, id, &body.into()).await {
        Ok(n) => n,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::CREATED, dto(pec::create(&s.db, &a, id, &new).await))
}

/// One PEC request.
#[utoipa::path(get, path = "/pec/{id}", params(("id" = i64, Path)), responses((status = 200, body = PecDto), (status = 404, body = Problem)))]
pub async fn get_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, dto(pec::get(&s.db, &a, id).await))
}

/// Marks a draft as sent.
#[utoipa::path(post, path = "/pec/{id}/send", params(("id" = i64, Path), VersionParam), responses((status = 200, body = PecDto), (status = 422, body = Problem), (status = 409, body = Problem)))]
pub async fn send_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>) -> Response {
    let sent = match pec::send(&s.db, &a, id, v.version).await {
        Ok(p) => p,
        Err(e) => return problem_from(e),
    };
    crate::pec::pages::file_sent_letter(&s.db, &a, &s.config.documents, &sent).await;
    reply(StatusCode::OK, Ok::<_, Error>(PecDto::from(&sent)))
}

/// Records the payer's answer.
#[utoipa::path(post, path = "/pec/{id}/answer", params(("id" = i64, Path), VersionParam), request_body = AnswerBody,
    responses((status = 200, body = PecDto), (status = 422, body = Problem), (status = 409, body = Problem)))]
pub async fn answer_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, Json(body): Json<AnswerBody>) -> Response {
    let answer = match pec::parse_answer(&s.db, id, &body.into()).await {
        Ok(x) => x,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::OK, dto(pec::answer(&s.db, &a, id, v.version, &answer).await))
}

/// Declares an agreement expired.
#[utoipa::path(post, path = "/pec/{id}/expire", params(("id" = i64, Path), VersionParam), responses((status = 200, body = PecDto), (status = 422, body = Problem), (status = 409, body = Problem)))]
pub async fn expire_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>) -> Response {
    reply(StatusCode::OK, dto(pec::expire(&s.db, &a, id, v.version).await))
}

/// The request letter of a prise en charge, as PDF.
#[utoipa::path(get, path = "/pec/{id}/letter", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn pec_letter(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    match crate::pec::pages::letter_pdf(&s.db, &a, id).await {
        Ok(bytes) => crate::pec::pages::pdf_response(&format!("pec-{id}"), bytes),
        Err(e) => problem_from(e),
    }
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pec, create_pec))
        .routes(routes!(get_pec))
        .routes(routes!(send_pec))
        .routes(routes!(answer_pec))
        .routes(routes!(expire_pec))
        .routes(routes!(pec_letter))
}
