//! API: a stay's movements and costly acts. Writes take the stay's `?version=N` (a concurrent
//! change to the stay answers 409); nothing is deleted, a mistaken line is cancelled with a reason.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use quittance_store::Actor;
use quittance_store::care::movements::{self, MovementInput, StayActInput, StoredAct, StoredMovement, Written};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::{Problem, VersionParam, reply};
use crate::extract::{Json, Path, Query};

/// A movement or period of a stay.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MovementDto {
    pub id: i64,
    /// transfert, permission, chambre_particuliere, chambre_medicale, reanimation, soins_intensifs, surveillance_continue.
    pub kind: String,
    /// AAAA-MM-JJTHH:MM, local time of the establishment.
    pub start: String,
    pub end: Option<String>,
    pub service: String,
    pub unit: String,
    pub written_request: bool,
    pub external_id: Option<String>,
    /// The reason, when it was cancelled (it no longer counts).
    pub cancelled_reason: Option<String>,
}

/// A costly act of a stay.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StayActDto {
    pub id: i64,
    /// AAAA-MM-JJ
    pub performed_on: String,
    pub code: String,
    pub label: String,
    pub amount: String,
    pub amount_minor: i64,
    /// In hundredths (6000 = 60).
    pub coefficient_centi: Option<i64>,
    pub external_id: Option<String>,
    pub cancelled_reason: Option<String>,
}

/// A stay's movements and acts, with the stay's version (to send with a write).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StayActivityDto {
    pub stay_id: i64,
    pub version: i64,
    pub movements: Vec<MovementDto>,
    pub acts: Vec<StayActDto>,
}

fn text(t: jiff::civil::DateTime) -> String {
    quittance_domain::care::input::local_text(t)
}

impl From<&StoredMovement> for MovementDto {
    fn from(m: &StoredMovement) -> Self {
        let v = &m.movement;
        MovementDto {
            id: v.id,
            kind: quittance_domain::codes::CodeEnum::code(v.kind).into(),
            start: text(v.start),
            end: v.end.map(text),
            service: v.service.clone(),
            unit: v.unit.clone(),
            written_request: v.written_request,
            external_id: m.external_id.clone(),
            cancelled_reason: m.cancelled.as_ref().map(|c| c.1.clone()),
        }
    }
}

impl From<&StoredAct> for StayActDto {
    fn from(a: &StoredAct) -> Self {
        StayActDto {
            id: a.act.id,
            performed_on: a.act.performed_on.to_string(),
            code: a.act.code.clone(),
            label: a.act.label.clone(),
            amount: a.act.amount.format_fr_plain(),
            amount_minor: a.act.amount.minor,
            coefficient_centi: a.act.coefficient.map(|c| i64::from(c.0)),
            external_id: a.external_id.clone(),
            cancelled_reason: a.cancelled.as_ref().map(|c| c.1.clone()),
        }
    }
}

/// A movement as sent (French formats, as the form takes them).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MovementBody {
    /// transfert, permission, chambre_particuliere, chambre_medicale, reanimation, soins_intensifs, surveillance_continue.
    pub kind: String,
    /// JJ/MM/AAAA
    pub start_date: String,
    /// HH:MM
    pub start_time: String,
    pub end_date: String,
    pub end_time: String,
    pub service: String,
    pub unit: String,
    /// `oui` when the patient's written request for a private room is filed.
    pub written_request: String,
    pub external_id: String,
}

impl From<MovementBody> for MovementInput {
    fn from(b: MovementBody) -> Self {
        MovementInput {
            kind: b.kind,
            start_date: b.start_date,
            start_time: b.start_time,
            end_date: b.end_date,
            end_time: b.end_time,
            service: b.service,
            unit: b.unit,
            written_request: b.written_request,
            external_id: b.external_id,
        }
    }
}

/// A costly act as sent.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StayActBody {
    /// JJ/MM/AAAA
    pub performed_on: String,
    pub code: String,
    pub label: String,
    /// e.g. « 152,40 »
    pub amount: String,
    pub coefficient: String,
    pub external_id: String,
}

impl From<StayActBody> for StayActInput {
    fn from(b: StayActBody) -> Self {
        StayActInput { performed_on: b.performed_on, code: b.code, label: b.label, amount: b.amount, coefficient: b.coefficient, external_id: b.external_id }
    }
}

/// Why a line is cancelled.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CancelBody {
    pub reason: String,
}

/// The id written, and whether it was already there (same `external_id`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WrittenDto {
    pub id: i64,
    pub already_there: bool,
}

fn written(w: &Written) -> WrittenDto {
    WrittenDto { id: w.id(), already_there: matches!(w, Written::AlreadyThere(_)) }
}

/// A stay's movements and costly acts (cancelled ones included). Audited as a view of the file.
#[utoipa::path(get, path = "/stays/{id}/movements", params(("id" = i64, Path)), responses((status = 200, body = StayActivityDto), (status = 404, body = Problem)))]
pub async fn list(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    let r = movements::activity(&s.db, &a, id).await.map(|x| StayActivityDto {
        stay_id: x.stay.id,
        version: x.stay.version,
        movements: x.movements.iter().map(MovementDto::from).collect(),
        acts: x.acts.iter().map(StayActDto::from).collect(),
    });
    reply(StatusCode::OK, r)
}

/// Records a movement; `version` is the stay's.
#[utoipa::path(post, path = "/stays/{id}/movements", params(("id" = i64, Path), VersionParam), request_body = MovementBody,
    responses((status = 201, body = WrittenDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_movement(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, Json(body): Json<MovementBody>) -> Response {
    let r = match movements::parse_movement(&body.into()) {
        Ok(m) => movements::add_movement(&s.db, &a, id, v.version, &m).await,
        Err(e) => Err(quittance_store::Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, r.map(|w| written(&w)))
}

/// Cancels a movement with a reason; `version` is the stay's.
#[utoipa::path(post, path = "/stays/{id}/movements/{mid}/cancel", params(("id" = i64, Path), ("mid" = i64, Path), VersionParam), request_body = CancelBody,
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel_movement(State(s): State<AppState>, Extension(a): Extension<Actor>, Path((id, mid)): Path<(i64, i64)>, Query(v): Query<VersionParam>, Json(body): Json<CancelBody>) -> Response {
    reply(StatusCode::NO_CONTENT, movements::cancel_movement(&s.db, &a, id, v.version, mid, &body.reason).await)
}

/// Records a costly act; `version` is the stay's.
#[utoipa::path(post, path = "/stays/{id}/acts", params(("id" = i64, Path), VersionParam), request_body = StayActBody,
    responses((status = 201, body = WrittenDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_act(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, Json(body): Json<StayActBody>) -> Response {
    let r = match quittance_store::care::movements::stay_currency(&s.db, id).await {
        Ok(cur) => match movements::parse_stay_act(&body.into(), cur) {
            Ok(x) => movements::add_act(&s.db, &a, id, v.version, &x).await,
            Err(e) => Err(quittance_store::Error::Invalid(e)),
        },
        Err(e) => Err(e),
    };
    reply(StatusCode::CREATED, r.map(|w| written(&w)))
}

/// Cancels a costly act with a reason; `version` is the stay's.
#[utoipa::path(post, path = "/stays/{id}/acts/{aid}/cancel", params(("id" = i64, Path), ("aid" = i64, Path), VersionParam), request_body = CancelBody,
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel_act(State(s): State<AppState>, Extension(a): Extension<Actor>, Path((id, aid)): Path<(i64, i64)>, Query(v): Query<VersionParam>, Json(body): Json<CancelBody>) -> Response {
    reply(StatusCode::NO_CONTENT, movements::cancel_act(&s.db, &a, id, v.version, aid, &body.reason).await)
}
