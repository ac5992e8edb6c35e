//! API: coverage rights, stays, payers. Responses and request bodies are this module's
//! DTOs (not the store's rows); updates take `?version=N` and answer 409 when stale.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::Actor;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Json, Path, Query};
use crate::api::{EstablishmentParam, Problem, VersionParam, reply};
use quittance_store::care::{coverages, payers, stays};

// ---------------------------------------------------------------- DTOs

/// A coverage right of a patient.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageDto {
    pub id: i64,
    pub patient_id: i64,
    pub payer_id: i64,
    /// obligatoire, complementaire, aide.
    pub role: String,
    pub member_number: Option<String>,
    /// assure, ayant_droit.
    pub beneficiary: String,
    pub insured_patient_id: Option<i64>,
    pub insured_name: Option<String>,
    /// YYYY-MM-DD
    pub valid_from: String,
    /// YYYY-MM-DD, absent = open-ended.
    pub valid_to: Option<String>,
    /// Rates in basis points (8000 = 80 %).
    pub rate_sejour_bp: i64,
    pub rate_actes_bp: i64,
    pub rate_fj_bp: i64,
    pub rate_cp_bp: i64,
    pub rate_annexes_bp: i64,
    /// Comma-separated exemption codes.
    pub exemptions: String,
    pub priority: i64,
    pub active: bool,
    /// Send it back as `?version=` to change the coverage.
    pub version: i64,
}

impl From<&coverages::Coverage> for CoverageDto {
    fn from(c: &coverages::Coverage) -> Self {
        CoverageDto {
            id: c.id,
            patient_id: c.patient_id,
            payer_id: c.payer_id,
            role: c.role.code().to_string(),
            member_number: c.member_number.clone(),
            beneficiary: c.beneficiary.code().to_string(),
            insured_patient_id: c.insured_patient_id,
            insured_name: c.insured_name.clone(),
            valid_from: c.valid_from.clone(),
            valid_to: c.valid_to.clone(),
            rate_sejour_bp: i64::from(c.rate_sejour_bp.0),
            rate_actes_bp: i64::from(c.rate_actes_bp.0),
            rate_fj_bp: i64::from(c.rate_fj_bp.0),
            rate_cp_bp: i64::from(c.rate_cp_bp.0),
            rate_annexes_bp: i64::from(c.rate_annexes_bp.0),
            exemptions: quittance_domain::care::input::codes_text(&c.exemptions),
            priority: c.priority,
            active: c.active,
            version: c.version,
        }
    }
}

/// A coverage with its payer's name, for display.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageLineDto {
    pub coverage: CoverageDto,
    pub payer_name: String,
    pub payer_kind: String,
}

/// The patient's coverages (by priority) and the flags on their periods.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageSummaryDto {
    pub lines: Vec<CoverageLineDto>,
    /// French messages: overlaps, gaps, expiries (on the establishment's date).
    pub flags: Vec<String>,
}

impl From<&coverages::CoverageSummary> for CoverageSummaryDto {
    fn from(s: &coverages::CoverageSummary) -> Self {
        CoverageSummaryDto {
            lines: s
                .lines
                .iter()
                .map(|l| CoverageLineDto { coverage: (&l.coverage).into(), payer_name: l.payer_name.clone(), payer_kind: l.payer_kind.code().to_string() })
                .collect(),
            flags: s.flags.clone(),
        }
    }
}

/// A coverage as a client sends it (all fields text, French formats). Blank rates take the
/// payer's default rate valid on `valid_from`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CoverageBody {
    pub payer_id: String,
    /// obligatoire, complementaire, aide.
    pub role: String,
    pub member_number: String,
    /// assure, ayant_droit.
    pub beneficiary: String,
    /// The insured member's file, when known (for a dependant).
    pub insured_patient_id: String,
    pub insured_name: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
    /// JJ/MM/AAAA, blank = open-ended.
    pub valid_to: String,
    /// Rates as « 80 % », « 80 » or « 12,5 % ».
    pub rate_sejour: String,
    pub rate_actes: String,
    pub rate_fj: String,
    pub rate_cp: String,
    pub rate_annexes: String,
    /// Comma-separated: ald, maternite, at_mp, c2s, ame, longue_maladie, carte_a, carte_b, carte_m…
    pub exemptions: String,
    /// 1 = first payer asked; blank = after the others.
    pub priority: String,
}

impl From<CoverageBody> for coverages::CoverageInput {
    fn from(b: CoverageBody) -> Self {
        coverages::CoverageInput {
            payer_id: b.payer_id,
            role: b.role,
            member_number: b.member_number,
            beneficiary: b.beneficiary,
            insured_patient_id: b.insured_patient_id,
            insured_name: b.insured_name,
            valid_from: b.valid_from,
            valid_to: b.valid_to,
            rate_sejour: b.rate_sejour,
            rate_actes: b.rate_actes,
            rate_fj: b.rate_fj,
            rate_cp: b.rate_cp,
            rate_annexes: b.rate_annexes,
            exemptions: b.exemptions,
            priority: b.priority,
        }
    }
}

/// Who owes a share, and how much.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShareDto {
    /// `payer` or `patient` (the patient, or the file's designated debtor).
    pub party: String,
    pub payer_id: Option<i64>,
    pub coverage_id: Option<i64>,
    /// For a payer: `obligatoire`, `complementaire` or `aide`.
    pub role: Option<String>,
    /// For the patient's share: the designated debtor's id, when the file has one.
    pub debtor_id: Option<i64>,
    /// The payer's, the debtor's or the patient's name.
    pub name: String,
    /// French, e.g. « 1 200,00 € ».
    pub amount: String,
    pub amount_minor: i64,
    /// For people, with the rule it applies.
    pub explanation: String,
}

/// One charge of a stay's valuation, with its shares (they sum to the charge).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChargeDto {
    pub tariff_id: i64,
    pub code: String,
    pub label: String,
    /// A tariff category code (`forfait_journalier`, `tjp`…).
    pub category: String,
    /// The days it covers (AAAA-MM-JJ), each once.
    pub days: Vec<String>,
    pub day_count: usize,
    /// How many units it bills (its days for a daily charge).
    pub quantity: i64,
    /// French, e.g. « 23,00 € ».
    pub unit_price: String,
    pub unit_price_minor: i64,
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The rule that produced it.
    pub rule: String,
    /// For people, with the text it applies.
    pub explanation: String,
    pub shares: Vec<ShareDto>,
}

/// A line that is not a tariff (the imputation of the forfait journalier on the ticket
/// modérateur: a negative amount), with its shares.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdjustmentDto {
    pub code: String,
    pub label: String,
    pub amount: String,
    pub amount_minor: i64,
    pub rule: String,
    pub explanation: String,
    pub shares: Vec<ShareDto>,
}

/// What a stay would bill: its charges split between payers, what is not billed and why, and
/// what each party owes in all.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ValuationDto {
    pub stay_id: i64,
    /// The day the open part of the stay is valued to (AAAA-MM-JJ).
    pub until: String,
    pub currency: String,
    pub charges: Vec<ChargeDto>,
    pub adjustments: Vec<AdjustmentDto>,
    /// One per party: the sum of its shares.
    pub totals: Vec<ShareDto>,
    pub total: String,
    pub total_minor: i64,
    pub notes: Vec<String>,
    /// Whether the stay can be billed today (billing readiness).
    pub billable: bool,
    /// If not, why (French messages).
    pub not_billable_because: Vec<String>,
}

pub(crate) fn share_dto(p: &quittance_domain::billing::split::Party, amount: quittance_domain::money::Money, explanation: String, debtor: &Option<(i64, String)>) -> ShareDto {
    use quittance_domain::billing::split::Party;
    let (party, payer_id, coverage_id, role, debtor_id, name) = match p {
        Party::Payer { payer_id, coverage_id, role, name } => ("payer", Some(*payer_id), Some(*coverage_id), Some(role.code().to_string()), None, name.clone()),
        Party::Patient => ("patient", None, None, None, debtor.as_ref().map(|d| d.0), debtor.as_ref().map(|d| d.1.clone()).unwrap_or_else(|| "Patient".into())),
    };
    ShareDto { party: party.into(), payer_id, coverage_id, role, debtor_id, name, amount: amount.format_fr_plain(), amount_minor: amount.minor, explanation }
}

impl From<&quittance_store::billing::valuation::StayValuation> for ValuationDto {
    fn from(v: &quittance_store::billing::valuation::StayValuation) -> Self {
        let plain = |m: &quittance_domain::money::Money| m.format_fr_plain();
        let shares = |list: &[quittance_domain::billing::split::Share]| list.iter().map(|s| share_dto(&s.party, s.amount, s.explanation.clone(), &v.debtor)).collect::<Vec<_>>();
        let total = v.split.total();
        ValuationDto {
            stay_id: v.stay.id,
            until: v.until.to_string(),
            currency: v.split.currency.code().into(),
            charges: v
                .split
                .lines
                .iter()
                .map(|l| {
                    let c = &l.charge;
                    ChargeDto {
                        tariff_id: c.tariff_id,
                        code: c.code.clone(),
                        label: c.label.clone(),
                        category: c.category.code().into(),
                        days: c.days.iter().map(|d| d.to_string()).collect(),
                        day_count: c.days.len(),
                        quantity: c.quantity,
                        unit_price: plain(&c.unit_price),
                        unit_price_minor: c.unit_price.minor,
                        amount: plain(&c.amount),
                        amount_minor: c.amount.minor,
                        currency: c.amount.currency.code().into(),
                        rule: c.rule.into(),
                        explanation: c.explanation.clone(),
                        shares: shares(&l.shares),
                    }
                })
                .collect(),
            adjustments: v
                .split
                .adjustments
                .iter()
                .map(|a| AdjustmentDto { code: a.code.into(), label: a.label.into(), amount: plain(&a.amount), amount_minor: a.amount.minor, rule: a.rule.into(), explanation: a.explanation.clone(), shares: shares(&a.shares) })
                .collect(),
            totals: v.split.totals().into_iter().map(|(p, m)| share_dto(&p, m, String::new(), &v.debtor)).collect(),
            total: plain(&total),
            total_minor: total.minor,
            notes: v.notes.clone(),
            billable: v.ready,
            not_billable_because: v.not_ready_because.iter().map(|(m, _)| m.clone()).collect(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValuationParams {
    /// AAAA-MM-JJ: the day to value an open stay to (default: today in the establishment's time zone).
    pub date: Option<String>,
}

/// A stay of a patient.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StayDto {
    pub id: i64,
    pub patient_id: i64,
    pub establishment_id: i64,
    pub site_id: i64,
    /// Local date and time `YYYY-MM-DDTHH:MM` in the establishment's zone.
    pub admission_at: String,
    pub planned_discharge_date: Option<String>,
    pub discharge_at: Option<String>,
    pub discharge_mode: Option<String>,
    pub care_mode: String,
    /// Send it back as `?version=` to change the stay.
    pub version: i64,
    /// After a change that discharges the stay: what became of its TV and telephone
    /// subscriptions (closed on the discharge day, or left open and why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl From<&stays::Stay> for StayDto {
    fn from(s: &stays::Stay) -> Self {
        StayDto {
            id: s.id,
            patient_id: s.patient_id,
            establishment_id: s.establishment_id,
            site_id: s.site_id,
            admission_at: s.admission_at.clone(),
            planned_discharge_date: s.planned_discharge_date.clone(),
            discharge_at: s.discharge_at.clone(),
            discharge_mode: s.discharge_mode.map(|m| m.code().to_string()),
            care_mode: s.care_mode.code().to_string(),
            version: s.version,
            warnings: Vec::new(),
        }
    }
}

/// A stay as a client sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StayBody {
    pub site_id: String,
    /// JJ/MM/AAAA
    pub admission_date: String,
    /// HH:MM
    pub admission_time: String,
    pub planned_discharge_date: String,
    pub discharge_date: String,
    pub discharge_time: String,
    pub discharge_mode: String,
    pub care_mode: String,
    /// The sending system's id of the stay: sent again, the stay already opened is answered
    /// (200) and nothing is written.
    pub external_id: String,
}

impl From<StayBody> for stays::StayInput {
    fn from(b: StayBody) -> Self {
        stays::StayInput {
            site_id: b.site_id,
            admission_date: b.admission_date,
            admission_time: b.admission_time,
            planned_discharge_date: b.planned_discharge_date,
            discharge_date: b.discharge_date,
            discharge_time: b.discharge_time,
            discharge_mode: b.discharge_mode,
            care_mode: b.care_mode,
        }
    }
}

/// A payer (organisme payeur) of an establishment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayerDto {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub identifier: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub contact_name: Option<String>,
    pub payment_terms_days: i64,
    pub statement_period: String,
    pub statement_deadline_days: i64,
    pub channel: String,
    pub accounting_account: Option<String>,
    pub active: bool,
    /// Send it back as `?version=` to change the payer.
    pub version: i64,
}

impl From<&payers::Payer> for PayerDto {
    fn from(p: &payers::Payer) -> Self {
        PayerDto {
            id: p.id,
            establishment_id: p.establishment_id,
            code: p.code.clone(),
            kind: p.kind.code().to_string(),
            name: p.name.clone(),
            identifier: p.identifier.clone(),
            address_line1: p.address_line1.clone(),
            address_line2: p.address_line2.clone(),
            postcode: p.postcode.clone(),
            city: p.city.clone(),
            country: p.country.clone(),
            phone: p.phone.clone(),
            email: p.email.clone(),
            contact_name: p.contact_name.clone(),
            payment_terms_days: p.payment_terms_days,
            statement_period: p.statement_period.code().to_string(),
            statement_deadline_days: p.statement_deadline_days,
            channel: p.channel.code().to_string(),
            accounting_account: p.accounting_account.clone(),
            active: p.active,
            version: p.version,
        }
    }
}

/// A payer as a client sends it (also the columns of `quittance import payers`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PayerBody {
    pub code: String,
    /// obligatoire, complementaire, aide_medicale, public, autre.
    pub kind: String,
    pub name: String,
    /// Identifying code (organisme code, AMC number, RIDET…).
    pub identifier: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub contact_name: String,
    /// Days allowed to pay.
    pub payment_terms_days: String,
    /// aucun, hebdomadaire, mensuel, trimestriel.
    pub statement_period: String,
    /// Days after the period end to send the statement.
    pub statement_deadline_days: String,
    /// papier, courriel, portail, b2_noemie, edi.
    pub channel: String,
    pub accounting_account: String,
    /// `true`/`false` (default true).
    pub active: String,
}

impl From<PayerBody> for payers::PayerInput {
    fn from(b: PayerBody) -> Self {
        payers::PayerInput {
            code: b.code,
            kind: b.kind,
            name: b.name,
            identifier: b.identifier,
            address_line1: b.address_line1,
            address_line2: b.address_line2,
            postcode: b.postcode,
            city: b.city,
            country: b.country,
            phone: b.phone,
            email: b.email,
            contact_name: b.contact_name,
            payment_terms_days: b.payment_terms_days,
            statement_period: b.statement_period,
            statement_deadline_days: b.statement_deadline_days,
            channel: b.channel,
            accounting_account: b.accounting_account,
            active: b.active,
        }
    }
}

fn map<T, D>(r: Result<T, quittance_store::Error>, f: impl FnOnce(&T) -> D) -> Result<D, quittance_store::Error> {
    r.map(|v| f(&v))
}

// ---------------------------------------------------------------- handlers

/// The patient's coverage rights with their flags (overlaps, gaps, expiries on the
/// establishment's date).
#[utoipa::path(get, path = "/patients/{id}/coverages", params(("id" = i64, Path)), responses((status = 200, body = CoverageSummaryDto)))]
pub async fn list_coverages(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    let r = match coverages::today_of_patient(&s.db, &a, id).await {
        Ok(today) => coverages::list(&s.db, &a, id, today).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::OK, map(r, |x| CoverageSummaryDto::from(x)))
}

/// Adds a coverage right (blank rates take the payer's dated defaults).
#[utoipa::path(post, path = "/patients/{id}/coverages", params(("id" = i64, Path)), request_body = CoverageBody,
    responses((status = 201, body = CoverageDto), (status = 422, body = Problem)))]
pub async fn add_coverage(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<CoverageBody>) -> Response {
    let saved = match coverages::parse(&s.db, id, &body.into()).await {
        Ok(c) => coverages::save(&s.db, &a, id, None, 0, &c).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::CREATED, map(saved, |x| CoverageDto::from(x)))
}

/// Changes a coverage right; `version` is the one read (a concurrent change answers 409).
#[utoipa::path(put, path = "/patients/{id}/coverages/{cid}", params(("id" = i64, Path), ("cid" = i64, Path), VersionParam), request_body = CoverageBody,
    responses((status = 200, body = CoverageDto), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_coverage(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, cid)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<CoverageBody>,
) -> Response {
    let saved = match coverages::parse(&s.db, id, &body.into()).await {
        Ok(c) => coverages::save(&s.db, &a, id, Some(cid), v.version, &c).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::OK, map(saved, |x| CoverageDto::from(x)))
}

/// The patient's stays, newest first.
#[utoipa::path(get, path = "/patients/{id}/stays", params(("id" = i64, Path)), responses((status = 200, body = Vec<StayDto>)))]
pub async fn list_stays(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, map(stays::list(&s.db, &a, id).await, |v| v.iter().map(StayDto::from).collect::<Vec<_>>()))
}

/// Opens a stay.
#[utoipa::path(post, path = "/patients/{id}/stays", params(("id" = i64, Path)), request_body = StayBody,
    responses((status = 201, body = StayDto), (status = 200, body = StayDto, description = "Already opened under this external_id"), (status = 422, body = Problem)))]
pub async fn add_stay(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<StayBody>) -> Response {
    let external = body.external_id.trim().to_string();
    let parsed = stays::parse(&s.db, &a, id, &body.into()).await;
    if !external.is_empty() {
        let r = match parsed {
            Ok(p) => stays::open_external(&s.db, &a, id, &external, &p).await,
            Err(e) => Err(e),
        };
        return match r {
            Ok((x, created)) => reply(if created { StatusCode::CREATED } else { StatusCode::OK }, Ok::<_, quittance_store::Error>(StayDto::from(&x))),
            Err(e) => reply(StatusCode::CREATED, Err::<StayDto, _>(e)),
        };
    }
    let saved = match parsed {
        Ok(p) => stays::save(&s.db, &a, id, None, 0, &p).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::CREATED, map(saved, |x| StayDto::from(x)))
}

/// What the stay would bill on a day: its forfait journalier and daily-tariff charges, each
/// with its days, price and explanation, and the days not billed and why. Audited as a view of
/// the file (`view_valuation`).
#[utoipa::path(get, path = "/stays/{id}/valuation", params(("id" = i64, Path), ValuationParams),
    responses((status = 200, body = ValuationDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn stay_valuation(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(q): Query<ValuationParams>) -> Response {
    let day = match q.date.as_deref().map(|d| d.trim().parse::<jiff::civil::Date>()) {
        None => Ok(None),
        Some(Ok(d)) => Ok(Some(d)),
        Some(Err(_)) => Err(quittance_store::Error::invalid("date", "Date invalide : attendu AAAA-MM-JJ.")),
    };
    let v = match day {
        Ok(day) => quittance_store::billing::valuation::stay(&s.db, &a, id, day).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::OK, map(v, |x| ValuationDto::from(x)))
}

/// Changes a stay; `version` is the one read (a concurrent change answers 409).
#[utoipa::path(put, path = "/patients/{id}/stays/{sid}", params(("id" = i64, Path), ("sid" = i64, Path), VersionParam), request_body = StayBody,
    responses((status = 200, body = StayDto), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_stay(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, sid)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<StayBody>,
) -> Response {
    let saved = match stays::parse(&s.db, &a, id, &body.into()).await {
        Ok(p) => stays::save_noting(&s.db, &a, id, Some(sid), v.version, &p).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::OK, map(saved, |(x, notes)| StayDto { warnings: notes.clone(), ..StayDto::from(x) }))
}

/// Payers of an establishment.
#[utoipa::path(get, path = "/payers", params(EstablishmentParam), responses((status = 200, body = Vec<PayerDto>)))]
pub async fn list_payers(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    reply(StatusCode::OK, map(payers::list(&s.db, &a, q.establishment_id).await, |v| v.iter().map(PayerDto::from).collect::<Vec<_>>()))
}

/// Creates a payer.
#[utoipa::path(post, path = "/payers", params(EstablishmentParam), request_body = PayerBody,
    responses((status = 201, body = PayerDto), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_payer(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, Json(body): Json<PayerBody>) -> Response {
    let created = match payers::parse_payer(&body.into()) {
        Ok(p) => payers::create(&s.db, &a, q.establishment_id, &p).await,
        Err(e) => Err(quittance_store::Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, map(created, |x| PayerDto::from(x)))
}

/// One payer.
#[utoipa::path(get, path = "/payers/{id}", params(("id" = i64, Path)), responses((status = 200, body = PayerDto), (status = 404, body = Problem)))]
pub async fn get_payer(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, map(payers::get(&s.db, &a, id).await, |x| PayerDto::from(x)))
}

/// Changes a payer; `version` is the one read (a concurrent change answers 409).
#[utoipa::path(put, path = "/payers/{id}", params(("id" = i64, Path), VersionParam), request_body = PayerBody,
    responses((status = 200, body = PayerDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_payer(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path(id): Path<i64>,
    Query(v): Query<VersionParam>,
    Json(body): Json<PayerBody>,
) -> Response {
    let updated = match payers::parse_payer(&body.into()) {
        Ok(p) => payers::update(&s.db, &a, id, v.version, &p).await,
        Err(e) => Err(quittance_store::Error::Invalid(e)),
    };
    reply(StatusCode::OK, map(updated, |x| PayerDto::from(x)))
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_coverages, add_coverage))
        .routes(routes!(update_coverage))
        .routes(routes!(list_stays, add_stay))
        .routes(routes!(update_stay))
        .routes(routes!(stay_valuation))
        .routes(routes!(super::movements_api::list, super::movements_api::add_movement))
        .routes(routes!(super::movements_api::cancel_movement))
        .routes(routes!(super::movements_api::add_act))
        .routes(routes!(super::movements_api::cancel_act))
        .routes(routes!(list_payers, create_payer))
        .routes(routes!(get_payer, update_payer))
}
