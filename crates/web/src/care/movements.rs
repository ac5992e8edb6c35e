//! A stay's movements and costly acts, from the stay's valuation: list, record, cancel with a
//! reason. Each write carries the stay's version (two agents on the same stay page cannot both
//! write unseen: the second sees the page again with a notice).

use crate::extract::PagePath as Path;
use axum::http::StatusCode;
use quittance_domain::care::movement::MovementKind;
use quittance_domain::fr::format_date_fr;
use quittance_domain::validation::FieldErrors;
use quittance_store::Error;
use quittance_store::care::movements::{self, MovementInput, StayActInput};
use serde::Deserialize;

use crate::render::{Field, FormPage, PageError, PageResult, see_other, with_errors};
use crate::session::{Ctx, CsrfForm};

struct Row {
    id: i64,
    what: String,
    period: String,
    detail: String,
    cancelled: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "care/movements.html")]
struct MovementsPage {
    chrome: crate::render::Chrome,
    patient_id: i64,
    stay_id: i64,
    version: i64,
    patient_name: String,
    admission: String,
    movements: Vec<Row>,
    acts: Vec<Row>,
    notice: Option<String>,
}

fn at_fr(t: jiff::civil::DateTime) -> String {
    format!("{} à {:02}:{:02}", format_date_fr(t.date()), t.hour(), t.minute())
}

async fn page(ctx: &Ctx, id: i64, sid: i64, notice: Option<String>, status: StatusCode) -> PageResult {
    let a = movements::activity(&ctx.state.db, ctx.actor(), sid).await?;
    if a.stay.patient_id != id {
        return Err(PageError(Error::NotFound("Séjour")));
    }
    let p = &a.patient;
    let name = format!("{} {}", p.used_name.clone().unwrap_or_else(|| p.birth_name.clone()), p.first_name);
    let movements = a
        .movements
        .iter()
        .map(|m| {
            let mv = &m.movement;
            let period = match (mv.kind.is_period(), mv.end) {
                (false, _) => at_fr(mv.start),
                (true, Some(e)) => format!("du {} au {}", at_fr(mv.start), at_fr(e)),
                (true, None) => format!("depuis le {}", at_fr(mv.start)),
            };
            let mut detail = Vec::new();
            if !mv.service.is_empty() {
                detail.push(format!("service {}", mv.service));
            }
            if !mv.unit.is_empty() {
                detail.push(format!("unité {}", mv.unit));
            }
            if mv.kind == MovementKind::ChambreParticuliere {
                detail.push(if mv.written_request { "demande écrite du patient au dossier".into() } else { "sans demande écrite : non facturée".into() });
            }
            Row { id: mv.id, what: mv.kind.label().into(), period, detail: detail.join(", "), cancelled: m.cancelled.as_ref().map(|(_, r)| r.clone()) }
        })
        .collect();
    let acts = a
        .acts
        .iter()
        .map(|x| Row {
            id: x.act.id,
            what: if x.act.label.is_empty() { x.act.code.clone() } else { format!("{} — {}", x.act.code, x.act.label) },
            period: format_date_fr(x.act.performed_on),
            detail: match x.act.coefficient {
                Some(c) => format!("{}, coefficient {}", x.act.amount.format_fr(), c.format_fr()),
                None => x.act.amount.format_fr(),
            },
            cancelled: x.cancelled.as_ref().map(|(_, r)| r.clone()),
        })
        .collect();
    let page = MovementsPage {
        chrome: ctx.chrome(&format!("Mouvements du séjour — {name}")).await,
        patient_id: id,
        stay_id: sid,
        version: a.stay.version,
        patient_name: name,
        admission: a.stay.admission_at.split('T').next().and_then(|d| d.parse().ok()).map(format_date_fr).unwrap_or_default(),
        movements,
        acts,
        notice,
    };
    Ok(crate::render::html(status, askama::Template::render(&page)))
}

pub async fn list(ctx: Ctx, Path((id, sid)): Path<(i64, i64)>) -> PageResult {
    page(&ctx, id, sid, None, StatusCode::OK).await
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    std::iter::once(("", "— choisir —")).chain(MovementKind::ALL.iter().map(|k| (k.code(), k.label()))).collect()
}

fn movement_form(ctx_chrome: crate::render::Chrome, id: i64, sid: i64, version: &str, i: &MovementInput, errors: &FieldErrors, notice: Option<String>) -> axum::response::Response {
    let fields = vec![
        Field::hidden("version", version),
        Field::text("kind", "Type", &i.kind).required().select(&kinds()),
        Field::text("start_date", "Début le", &i.start_date).required().hint("JJ/MM/AAAA"),
        Field::text("start_time", "à", &i.start_time).hint("HH:MM"),
        Field::text("end_date", "Fin le", &i.end_date).hint("JJ/MM/AAAA ; vide : en cours (une mutation n'a pas de fin)"),
        Field::text("end_time", "à", &i.end_time).hint("HH:MM"),
        Field::text("service", "Service d'accueil (mutation)", &i.service),
        Field::text("unit", "Unité", &i.unit),
        Field::checkbox("written_request", "Demande écrite du patient au dossier (chambre particulière)", !i.written_request.is_empty()),
    ];
    let status = if notice.is_some() { StatusCode::CONFLICT } else if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    FormPage {
        chrome: ctx_chrome,
        heading: "Nouveau mouvement du séjour".into(),
        intro: notice,
        action: format!("/patients/{id}/sejours/{sid}/mouvements/nouveau"),
        fields: with_errors(fields, errors),
        submit: "Enregistrer le mouvement".into(),
        cancel: Some(format!("/patients/{id}/sejours/{sid}/mouvements")),
        error_count: errors.0.len(),
    }
    .response(status)
}

fn act_form(ctx_chrome: crate::render::Chrome, id: i64, sid: i64, version: &str, i: &StayActInput, errors: &FieldErrors, notice: Option<String>) -> axum::response::Response {
    let fields = vec![
        Field::hidden("version", version),
        Field::text("performed_on", "Fait le", &i.performed_on).required().hint("JJ/MM/AAAA"),
        Field::text("code", "Code CCAM ou NGAP", &i.code).required(),
        Field::text("label", "Libellé", &i.label),
        Field::text("amount", "Tarif de l'acte", &i.amount).required().hint("ex. 152,40 — décide de la participation forfaitaire"),
        Field::text("coefficient", "Coefficient", &i.coefficient).hint("NGAP, ex. 60"),
    ];
    let status = if notice.is_some() { StatusCode::CONFLICT } else if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    FormPage {
        chrome: ctx_chrome,
        heading: "Nouvel acte coûteux du séjour".into(),
        intro: notice,
        action: format!("/patients/{id}/sejours/{sid}/actes/nouveau"),
        fields: with_errors(fields, errors),
        submit: "Enregistrer l'acte".into(),
        cancel: Some(format!("/patients/{id}/sejours/{sid}/mouvements")),
        error_count: errors.0.len(),
    }
    .response(status)
}

async fn current_version(ctx: &Ctx, id: i64, sid: i64) -> Result<i64, PageError> {
    quittance_store::patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let s = quittance_store::care::stays::get(&ctx.state.db, ctx.actor(), sid).await?;
    if s.patient_id != id {
        return Err(PageError(Error::NotFound("Séjour")));
    }
    Ok(s.version)
}

pub async fn movement_new(ctx: Ctx, Path((id, sid)): Path<(i64, i64)>) -> PageResult {
    let v = current_version(&ctx, id, sid).await?;
    Ok(movement_form(ctx.chrome("Nouveau mouvement").await, id, sid, &v.to_string(), &MovementInput::default(), &FieldErrors::new(), None))
}

#[derive(Deserialize)]
pub struct MovementForm {
    #[serde(flatten)]
    input: MovementInput,
    #[serde(default)]
    version: String,
}

fn stale() -> String {
    crate::care::pages::stale_notice("Ce séjour")
}

pub async fn movement_create(Path((id, sid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<MovementForm>) -> PageResult {
    let version: i64 = f.version.trim().parse().unwrap_or(0);
    let r = match movements::parse_movement(&f.input) {
        Ok(m) => movements::add_movement(&ctx.state.db, ctx.actor(), sid, version, &m).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match r {
        Ok(_) => Ok(see_other(&format!("/patients/{id}/sejours/{sid}/mouvements"), "mouvement")),
        Err(Error::Invalid(e)) => Ok(movement_form(ctx.chrome("Nouveau mouvement").await, id, sid, &f.version, &f.input, &e, None)),
        Err(Error::Conflict(_)) => {
            let v = current_version(&ctx, id, sid).await?;
            Ok(movement_form(ctx.chrome("Nouveau mouvement").await, id, sid, &v.to_string(), &f.input, &FieldErrors::new(), Some(stale())))
        }
        Err(e) => Err(PageError(e)),
    }
}

pub async fn act_new(ctx: Ctx, Path((id, sid)): Path<(i64, i64)>) -> PageResult {
    let v = current_version(&ctx, id, sid).await?;
    Ok(act_form(ctx.chrome("Nouvel acte").await, id, sid, &v.to_string(), &StayActInput::default(), &FieldErrors::new(), None))
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(flatten)]
    input: StayActInput,
    #[serde(default)]
    version: String,
}

pub async fn act_create(Path((id, sid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<ActForm>) -> PageResult {
    let version: i64 = f.version.trim().parse().unwrap_or(0);
    let currency = quittance_store::pec::patient_currency(&ctx.state.db, id).await?;
    let r = match movements::parse_stay_act(&f.input, currency) {
        Ok(a) => movements::add_act(&ctx.state.db, ctx.actor(), sid, version, &a).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match r {
        Ok(_) => Ok(see_other(&format!("/patients/{id}/sejours/{sid}/mouvements"), "acte")),
        Err(Error::Invalid(e)) => Ok(act_form(ctx.chrome("Nouvel acte").await, id, sid, &f.version, &f.input, &e, None)),
        Err(Error::Conflict(_)) => {
            let v = current_version(&ctx, id, sid).await?;
            Ok(act_form(ctx.chrome("Nouvel acte").await, id, sid, &v.to_string(), &f.input, &FieldErrors::new(), Some(stale())))
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
}

async fn cancelled(ctx: Ctx, id: i64, sid: i64, r: Result<(), Error>) -> PageResult {
    match r {
        Ok(()) => Ok(see_other(&format!("/patients/{id}/sejours/{sid}/mouvements"), "annule")),
        Err(Error::Invalid(e)) => page(&ctx, id, sid, e.0.first().map(|x| x.message.clone()), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(Error::Conflict(_)) => page(&ctx, id, sid, Some("Ce séjour a été modifié par quelqu'un d'autre : rien n'a été annulé. Vérifiez la liste ci-dessous puis recommencez.".into()), StatusCode::CONFLICT).await,
        Err(e) => Err(PageError(e)),
    }
}

pub async fn movement_cancel(Path((id, sid, mid)): Path<(i64, i64, i64)>, CsrfForm(ctx, f): CsrfForm<CancelForm>) -> PageResult {
    let r = movements::cancel_movement(&ctx.state.db, ctx.actor(), sid, f.version.trim().parse().unwrap_or(0), mid, &f.reason).await;
    cancelled(ctx, id, sid, r).await
}

pub async fn act_cancel(Path((id, sid, aid)): Path<(i64, i64, i64)>, CsrfForm(ctx, f): CsrfForm<CancelForm>) -> PageResult {
    let r = movements::cancel_act(&ctx.state.db, ctx.actor(), sid, f.version.trim().parse().unwrap_or(0), aid, &f.reason).await;
    cancelled(ctx, id, sid, r).await
}
