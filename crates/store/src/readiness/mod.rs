//! Billing readiness: the checklist of a file and its stays, and the « Dossiers en
//! attente » queue computed in one pass over the open stays of an establishment.

use std::collections::HashMap;

use quittance_domain::access::{Permission, Scope};
use quittance_domain::care::coverage::{CoverageRole, Span};
use quittance_domain::care::stay::CareMode;
use quittance_domain::identity::IdentityStatus;
use quittance_domain::pec::Status;
use quittance_domain::readiness::{self, Facts, Failure, Rules};
use serde::Serialize;

use crate::actor::Actor;
use crate::args;
use crate::audit::AuditEvent;
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::shared::rows::{codes_text, decode, decode_list};

#[derive(sqlx::FromRow)]
struct RulesRow {
    min_identity_status: Option<String>,
    birth_place_required: bool,
    debtor_required: bool,
    debtor_address_required: bool,
    compulsory_coverage_required: bool,
    complementary_care_modes: String,
    pec_required: bool,
    pec_answer_days: i64,
    documents_required: bool,
}

pub async fn rules(tx: &mut Tx, establishment_id: i64) -> Result<Rules, Error> {
    let r: Option<RulesRow> = tx
        .opt(
            "SELECT min_identity_status, birth_place_required, debtor_required, debtor_address_required, compulsory_coverage_required, complementary_care_modes, \
             pec_required, pec_answer_days, documents_required \
             FROM readiness_rules WHERE establishment_id = $1",
            &args![establishment_id],
        )
        .await?;
    // An unknown code is a decoding error (it does not switch a rule off).
    Ok(match r {
        None => Rules::default(),
        Some(r) => Rules {
            min_identity_status: r.min_identity_status.map(decode).transpose()?,
            birth_place_required: r.birth_place_required,
            debtor_required: r.debtor_required,
            debtor_address_required: r.debtor_address_required,
            compulsory_coverage_required: r.compulsory_coverage_required,
            complementary_for_care_modes: decode_list(r.complementary_care_modes)?,
            pec_required: r.pec_required,
            pec_answer_days: r.pec_answer_days,
            documents_required: r.documents_required,
        },
    })
}

/// The rules in force for an establishment (defaults when none were saved).
pub async fn current_rules(db: &Db, establishment_id: i64) -> Result<Rules, Error> {
    let mut tx = db.read().await?;
    let r = rules(&mut tx, establishment_id).await;
    tx.rollback().await?;
    r
}

/// The version of an establishment's saved rules (0 while none are saved: the defaults apply).
pub async fn rules_version(db: &Db, establishment_id: i64) -> Result<i64, Error> {
    let mut tx = db.read().await?;
    let v: Option<(i64,)> = tx.opt("SELECT version FROM readiness_rules WHERE establishment_id = $1", &args![establishment_id]).await?;
    tx.rollback().await?;
    Ok(v.map_or(0, |v| v.0))
}

/// Saves an establishment's rules over whatever is saved (the command line and tests);
/// forms use [`save_rules_at`] with the version they showed.
pub async fn save_rules(db: &Db, actor: &Actor, establishment_id: i64, r: &Rules) -> Result<(), Error> {
    let version = rules_version(db, establishment_id).await?;
    save_rules_at(db, actor, establishment_id, version, r).await
}

const STALE_RULES: &str = "Ces règles";

/// Saves an establishment's rules (administrators) if they are still at `version`
/// (0: none saved yet); otherwise a 409 conflict.
pub async fn save_rules_at(db: &Db, actor: &Actor, establishment_id: i64, version: i64, r: &Rules) -> Result<(), Error> {
    actor.require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "readiness_rules", "save").await?;
    let mut tx = db.begin().await?;
    let current: Option<(i64,)> = tx.lock("SELECT version FROM readiness_rules WHERE establishment_id = $1", &args![establishment_id]).await?;
    if current.map_or(0, |c| c.0) != version {
        return Err(Error::stale(STALE_RULES));
    }
    let before = rules(&mut tx, establishment_id).await?;
    let stale = Error::stale(STALE_RULES).to_string();
    let values = args![
        r.min_identity_status.map(|s| s.code()),
        r.birth_place_required,
        r.debtor_required,
        r.debtor_address_required,
        r.compulsory_coverage_required,
        codes_text(&r.complementary_for_care_modes),
        r.pec_required,
        r.pec_answer_days,
        r.documents_required,
        now_text(),
        establishment_id,
        version
    ];
    if current.is_some() {
        tx.exec_one(
            "UPDATE readiness_rules SET min_identity_status = $1, birth_place_required = $2, debtor_required = $3, debtor_address_required = $4, \
             compulsory_coverage_required = $5, complementary_care_modes = $6, pec_required = $7, pec_answer_days = $8, documents_required = $9, updated_at = $10, \
             version = version + 1 WHERE establishment_id = $11 AND version = $12",
            &values,
            &stale,
        )
        .await?;
    } else {
        // A concurrent first save hits the primary key: the same conflict.
        let inserted = tx
            .exec(
                "INSERT INTO readiness_rules (min_identity_status, birth_place_required, debtor_required, debtor_address_required, \
                 compulsory_coverage_required, complementary_care_modes, pec_required, pec_answer_days, documents_required, updated_at, establishment_id, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 + 1)",
                &values,
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => return Err(Error::Conflict(stale)),
            Err(e) => return Err(e),
        }
    }
    tx.audit(
        actor,
        AuditEvent::new("readiness_rules", "save").id(establishment_id).at(Some(establishment_id), None).changes(serde_json::json!({
            "avant": format!("{before:?}"), "apres": format!("{r:?}")
        })),
    );
    crate::establishments::bump_config(&mut tx, establishment_id).await?;
    tx.commit().await?;
    Ok(())
}

/// One candidate: a stay (or a file without stay) with what the rules need.
struct Candidate {
    patient_id: i64,
    ipp: String,
    birth_name: String,
    first_name: String,
    identity_status: IdentityStatus,
    birth_place_code: Option<String>,
    stay_id: Option<i64>,
    site_id: Option<i64>,
    admission_at: Option<String>,
    discharge_at: Option<String>,
    care_mode: Option<CareMode>,
    debtor_count: i64,
    debtor_line1: Option<String>,
    debtor_postcode: Option<String>,
    debtor_city: Option<String>,
}

/// The columns of a [`Candidate`] as the database holds them.
#[derive(sqlx::FromRow)]
struct CandidateRow {
    patient_id: i64,
    ipp: String,
    birth_name: String,
    first_name: String,
    /// Decoded by [`Candidate`]'s `FromRow` (sqlx's `try_from` attribute needs its `macros` feature).
    identity_status: String,
    birth_place_code: Option<String>,
    stay_id: Option<i64>,
    site_id: Option<i64>,
    admission_at: Option<String>,
    discharge_at: Option<String>,
    care_mode: Option<String>,
    debtor_count: i64,
    debtor_line1: Option<String>,
    debtor_postcode: Option<String>,
    debtor_city: Option<String>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Candidate
where
    CandidateRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = CandidateRow::from_row(row)?;
        Ok(Candidate {
            patient_id: r.patient_id,
            ipp: r.ipp,
            birth_name: r.birth_name,
            first_name: r.first_name,
            identity_status: decode(r.identity_status)?,
            birth_place_code: r.birth_place_code,
            stay_id: r.stay_id,
            site_id: r.site_id,
            admission_at: r.admission_at,
            discharge_at: r.discharge_at,
            care_mode: r.care_mode.map(decode).transpose()?,
            debtor_count: r.debtor_count,
            debtor_line1: r.debtor_line1,
            debtor_postcode: r.debtor_postcode,
            debtor_city: r.debtor_city,
        })
    }
}

/// An active coverage's period, for the rules.
struct Cov {
    patient_id: i64,
    id: i64,
    role: CoverageRole,
    valid_from: String,
    valid_to: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CovRow {
    patient_id: i64,
    id: i64,
    role: String,
    valid_from: String,
    valid_to: Option<String>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Cov
where
    CovRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = CovRow::from_row(row)?;
        Ok(Cov { patient_id: r.patient_id, id: r.id, role: decode(r.role)?, valid_from: r.valid_from, valid_to: r.valid_to })
    }
}

/// A file (and stay) that is not ready to bill.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub patient_id: i64,
    pub ipp: String,
    pub name: String,
    pub stay_id: Option<i64>,
    pub site_id: Option<i64>,
    pub admission_at: Option<String>,
    /// Codes of the failing controls (see `readiness::CONTROLS`).
    pub reasons: Vec<String>,
    /// The French messages, in the same order.
    pub messages: Vec<String>,
}

fn day_of(t: &str) -> Option<jiff::civil::Date> {
    t.get(..10).and_then(|d| d.parse().ok())
}

const CANDIDATES: &str = "SELECT p.id AS patient_id, p.ipp, p.birth_name, p.first_name, p.identity_status, p.birth_place_code, \
    s.id AS stay_id, s.site_id, s.admission_at, s.discharge_at, s.care_mode, \
    CAST(CASE WHEN dd.id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS debtor_count, \
    dd.address_line1 AS debtor_line1, dd.postcode AS debtor_postcode, dd.city AS debtor_city \
    FROM stays s JOIN patients p ON p.id = s.patient_id \
    LEFT JOIN debtors dd ON dd.patient_id = p.id AND dd.is_default = TRUE AND dd.active = TRUE";

/// An agreed (accepted or partial) prise en charge of a stay.
struct Agreement {
    id: i64,
    stay_id: i64,
    status: Status,
    valid_from: Option<String>,
    valid_to: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AgreementRow {
    id: i64,
    stay_id: i64,
    status: String,
    valid_from: Option<String>,
    valid_to: Option<String>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Agreement
where
    AgreementRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = AgreementRow::from_row(row)?;
        Ok(Agreement { id: r.id, stay_id: r.stay_id, status: decode(r.status)?, valid_from: r.valid_from, valid_to: r.valid_to })
    }
}

fn agreed(c: &Candidate, agreements: &[Agreement], today: jiff::civil::Date) -> bool {
    let (Some(stay), Some(from)) = (c.stay_id, c.admission_at.as_deref().and_then(day_of)) else { return false };
    let to = c.discharge_at.as_deref().and_then(day_of).unwrap_or(today).max(from);
    agreements
        .iter()
        .filter(|a| a.stay_id == stay)
        .any(|a| quittance_domain::pec::covers(a.status, a.valid_from.as_deref().and_then(day_of), a.valid_to.as_deref().and_then(day_of), from, to))
}

/// The required documents a candidate lacks: for the coverages in use over its service
/// dates and the agreed prises en charge of its stay.
fn missing_documents(c: &Candidate, covs: &[Span], agreements: &[Agreement], docs: &Docs, today: jiff::civil::Date) -> Vec<String> {
    if docs.reqs.is_empty() {
        return Vec::new();
    }
    let from = c.admission_at.as_deref().and_then(day_of);
    let to = c.discharge_at.as_deref().and_then(day_of).unwrap_or(today);
    let in_use = |role: CoverageRole| -> Vec<i64> {
        covs.iter()
            .filter(|s| s.role == role && from.is_some_and(|f| s.from <= to.max(f) && s.to.is_none_or(|t| t >= f)))
            .map(|s| s.id)
            .collect()
    };
    let subject = quittance_domain::documents::Subject {
        patient_id: c.patient_id,
        stay_id: c.stay_id,
        compulsory: in_use(CoverageRole::Obligatoire),
        complementary: in_use(CoverageRole::Complementaire),
        agreed_pecs: agreements.iter().filter(|a| Some(a.stay_id) == c.stay_id).map(|a| a.id).collect(),
    };
    quittance_domain::documents::missing(&docs.reqs, &subject, &docs.on_file)
}

/// The plan's requirements and what is attached, loaded once per pass.
struct Docs {
    reqs: Vec<quittance_domain::documents::Requirement>,
    on_file: quittance_domain::documents::OnFile,
}

fn facts(c: &Candidate, covs: &[Span], agreements: &[Agreement], docs: &Docs, today: jiff::civil::Date) -> Facts {
    let from = c.admission_at.as_deref().and_then(day_of);
    let to = c.discharge_at.as_deref().and_then(day_of).unwrap_or(today);
    Facts {
        missing_documents: missing_documents(c, covs, agreements, docs, today),
        identity_status: c.identity_status,
        birth_place_known: c.birth_place_code.is_some(),
        has_debtor: c.debtor_count > 0,
        debtor_address_complete: c.debtor_line1.is_some() && c.debtor_postcode.is_some() && c.debtor_city.is_some(),
        coverages: covs.to_vec(),
        service: from.map(|f| (f, to.max(f))),
        care_mode: c.care_mode,
        pec_agreed: agreed(c, agreements, today),
    }
}

fn span(r: &Cov) -> Option<Span> {
    Some(Span { id: r.id, role: r.role, from: r.valid_from.parse().ok()?, to: r.valid_to.as_deref().and_then(|d| d.parse().ok()) })
}

/// The open stays of an establishment that are not ready, computed in one pass:
/// one query for the stays with their file and default debtor, one for the coverages.
/// Open = present, or discharged less than `recent_days` ago.
/// `confidential`: whether files under non-disclosure of presence may be listed.
pub async fn queue_in(
    tx: &mut Tx,
    establishment_id: i64,
    sites: Option<&[i64]>,
    confidential: bool,
    today: jiff::civil::Date,
    recent_days: i64,
) -> Result<Vec<Pending>, Error> {
    let rules = rules(tx, establishment_id).await?;
    evaluate(tx, establishment_id, sites, confidential, today, recent_days, &rules).await
}

/// The queue under the given rules (the document report runs it with only the
/// document rule switched on).
async fn evaluate(
    tx: &mut Tx,
    establishment_id: i64,
    sites: Option<&[i64]>,
    confidential: bool,
    today: jiff::civil::Date,
    recent_days: i64,
    rules: &Rules,
) -> Result<Vec<Pending>, Error> {
    let reqs = if rules.documents_required { crate::documents::requirements(tx, establishment_id).await? } else { Vec::new() };
    let docs = Docs { on_file: crate::documents::on_file(tx, establishment_id, None, &reqs).await?, reqs };
    // Compared with `discharge_at` (`YYYY-MM-DDTHH:MM`) at the same width: the start of the day.
    let since = format!("{}T00:00", today.checked_sub(jiff::Span::new().days(recent_days)).unwrap_or(today));
    let mut site_filter = match sites {
        None => String::new(),
        Some([]) => " AND 1 = 0".into(),
        Some(list) => format!(" AND s.site_id IN ({})", list.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")),
    };
    if !confidential {
        site_filter.push_str(" AND p.non_disclosure = FALSE");
    }
    let cands: Vec<Candidate> = tx
        .all(
            &format!("{CANDIDATES} WHERE s.establishment_id = $1 AND (s.discharge_at IS NULL OR s.discharge_at >= $2){site_filter} ORDER BY p.birth_name, p.first_name, s.admission_at"),
            &args![establishment_id, since.clone()],
        )
        .await?;
    let covs: Vec<Cov> = tx
        .all(
            "SELECT c.patient_id, c.id, c.role, c.valid_from, c.valid_to FROM coverages c \
             WHERE c.active = TRUE AND c.patient_id IN (SELECT s.patient_id FROM stays s WHERE s.establishment_id = $1 AND (s.discharge_at IS NULL OR s.discharge_at >= $2))",
            &args![establishment_id, since],
        )
        .await?;
    let agreements: Vec<Agreement> = tx
        .all(
            "SELECT id, stay_id, status, valid_from, valid_to FROM cover_authorizations WHERE establishment_id = $1 AND status IN ('acceptee', 'partielle') AND stay_id IS NOT NULL",
            &args![establishment_id],
        )
        .await?;
    let mut by_stay: HashMap<i64, Vec<Agreement>> = HashMap::new();
    for a in agreements {
        by_stay.entry(a.stay_id).or_default().push(a);
    }
    let mut by_patient: HashMap<i64, Vec<Span>> = HashMap::new();
    for r in &covs {
        if let Some(s) = span(r) {
            by_patient.entry(r.patient_id).or_default().push(s);
        }
    }
    let empty = Vec::new();
    Ok(cands
        .iter()
        .filter_map(|c| {
            let no_agreement = Vec::new();
            let agreements = c.stay_id.and_then(|s| by_stay.get(&s)).unwrap_or(&no_agreement);
            let failures: Vec<Failure> = readiness::check(rules, &facts(c, by_patient.get(&c.patient_id).unwrap_or(&empty), agreements, &docs, today));
            (!failures.is_empty()).then(|| Pending {
                patient_id: c.patient_id,
                ipp: c.ipp.clone(),
                name: format!("{} {}", c.birth_name, c.first_name),
                stay_id: c.stay_id,
                site_id: c.site_id,
                admission_at: c.admission_at.clone(),
                reasons: failures.iter().map(|f| f.code.to_string()).collect(),
                messages: failures.into_iter().map(|f| f.message).collect(),
            })
        })
        .collect())
}

/// Files (open stays) missing a document the classification plan requires, whatever
/// the establishment's readiness rules say about documents.
pub async fn missing_documents_report(db: &Db, actor: &Actor, establishment_id: i64, today: jiff::civil::Date) -> Result<Vec<Pending>, Error> {
    actor.require(db, Permission::ReadPatients, Scope::Establishment(establishment_id), "document", "missing_report").await?;
    let sites = if actor.system { None } else { actor.grants.sites_for(Permission::ReadPatients, establishment_id) };
    let confidential = crate::patients::visibility(actor, establishment_id).confidential;
    let only_documents = Rules {
        min_identity_status: None,
        birth_place_required: false,
        debtor_address_required: false,
        compulsory_coverage_required: false,
        complementary_for_care_modes: Vec::new(),
        debtor_required: false,
        pec_required: false,
        pec_answer_days: 0,
        documents_required: true,
    };
    let mut tx = db.read().await?;
    let q = evaluate(&mut tx, establishment_id, sites.as_deref(), confidential, today, 60, &only_documents).await?;
    tx.rollback().await?;
    let ev = AuditEvent::new("document", "missing_report").at(Some(establishment_id), actor.site_id).changes(serde_json::json!({ "dossiers": q.len() }));
    crate::audit::append(db, actor, vec![ev]).await?;
    Ok(q)
}

/// The « Dossiers en attente » queue for the actor's sites.
pub async fn queue(db: &Db, actor: &Actor, establishment_id: i64, today: jiff::civil::Date) -> Result<Vec<Pending>, Error> {
    actor.require(db, Permission::ReadPatients, Scope::Establishment(establishment_id), "readiness", "queue").await?;
    let sites = if actor.system { None } else { actor.grants.sites_for(Permission::ReadPatients, establishment_id) };
    let mut tx = db.read().await?;
    let confidential = crate::patients::visibility(actor, establishment_id).confidential;
    let q = queue_in(&mut tx, establishment_id, sites.as_deref(), confidential, today, 60).await?;
    tx.rollback().await?;
    let ev = AuditEvent::new("readiness", "queue").at(Some(establishment_id), actor.site_id).changes(serde_json::json!({ "dossiers": q.len() }));
    crate::audit::append(db, actor, vec![ev]).await?;
    Ok(q)
}

/// The checklist of one file: for each of its stays (newest first), or for the file alone.
#[derive(Debug, Clone, Serialize)]
pub struct Checklist {
    pub stay_id: Option<i64>,
    pub admission_at: Option<String>,
    pub ready: bool,
    /// `(code, message, where to fix: identity | debtors | coverage)`.
    pub failures: Vec<(String, String, String)>,
}

/// The view is audited (`view_readiness`).
pub async fn checklist(db: &Db, actor: &Actor, patient_id: i64, today: jiff::civil::Date) -> Result<Vec<Checklist>, Error> {
    let file = crate::patients::checked(db, actor, patient_id, "view_readiness").await?;
    let mut tx = db.read().await?;
    let v = checklist_checked(&mut tx, &file, today).await?;
    tx.rollback().await?;
    crate::patients::audit_view(db, actor, &file, "view_readiness", serde_json::json!({})).await?;
    Ok(v)
}

/// The candidates that [`CANDIDATES`] (or, for a file without a stay, the query after it)
/// selects for one file, from the rows a page has read.
fn candidates_given(p: &crate::patients::Patient, g: &Given<'_>) -> Vec<Candidate> {
    let default = g.debtors.iter().find(|d| d.is_default && d.active);
    let cand = |stay: Option<&crate::care::stays::Stay>, debtor_count: i64| Candidate {
        patient_id: p.id,
        ipp: p.ipp.clone(),
        birth_name: p.birth_name.clone(),
        first_name: p.first_name.clone(),
        identity_status: p.identity_status,
        birth_place_code: p.birth_place_code.clone(),
        stay_id: stay.map(|s| s.id),
        site_id: stay.map(|s| s.site_id),
        admission_at: stay.map(|s| s.admission_at.clone()),
        discharge_at: stay.and_then(|s| s.discharge_at.clone()),
        care_mode: stay.map(|s| s.care_mode),
        debtor_count,
        debtor_line1: default.and_then(|d| d.address_line1.clone()),
        debtor_postcode: default.and_then(|d| d.postcode.clone()),
        debtor_city: default.and_then(|d| d.city.clone()),
    };
    if g.stays.is_empty() {
        return vec![cand(None, g.debtors.iter().filter(|d| d.active).count() as i64)];
    }
    let mut stays: Vec<&crate::care::stays::Stay> = g.stays.iter().collect();
    stays.sort_by(|a, b| b.admission_at.cmp(&a.admission_at));
    stays.into_iter().map(|s| cand(Some(s), i64::from(default.is_some()))).collect()
}

/// What a page has read of the file already, so that its checklist does not read it again.
/// `stays` and `debtors` are all of the file's (as the page lists them).
pub struct Given<'a> {
    /// The establishment's rules and required classes, when the page has them (else read).
    pub config: Option<&'a crate::establishments::EstablishmentConfig>,
    pub stays: &'a [crate::care::stays::Stay],
    pub debtors: &'a [crate::patients::Debtor],
    pub coverages: &'a [crate::care::coverages::CoverageLine],
    pub pecs: &'a [crate::pec::Pec],
    pub documents: &'a [crate::documents::Document],
}

/// [`checklist`] for a file already checked and viewed in this request (no second check, no row).
pub async fn checklist_checked(tx: &mut Tx, file: &crate::patients::Checked, today: jiff::civil::Date) -> Result<Vec<Checklist>, Error> {
    checklist_of(tx, file, today, None).await
}

/// [`checklist_checked`] from the coverages, requests and documents the page has read in the
/// same transaction: the rules, the candidates and the plan's requirements are the only reads.
pub async fn checklist_given(tx: &mut Tx, file: &crate::patients::Checked, today: jiff::civil::Date, given: Given<'_>) -> Result<Vec<Checklist>, Error> {
    checklist_of(tx, file, today, Some(given)).await
}

async fn checklist_of(tx: &mut Tx, file: &crate::patients::Checked, today: jiff::civil::Date, given: Option<Given<'_>>) -> Result<Vec<Checklist>, Error> {
    let p = file.patient();
    let patient_id = p.id;
    let rules = match given.as_ref().and_then(|g| g.config) {
        Some(c) => c.rules.clone(),
        None => rules(tx, p.establishment_id).await?,
    };
    let mut cands: Vec<Candidate> = match &given {
        Some(g) => candidates_given(p, g),
        None => tx.all(&format!("{CANDIDATES} WHERE p.id = $1 ORDER BY s.admission_at DESC"), &args![patient_id]).await?,
    };
    if cands.is_empty() && given.is_none() {
        cands = tx
            .all(
                "SELECT p.id AS patient_id, p.ipp, p.birth_name, p.first_name, p.identity_status, p.birth_place_code, \
                 NULL AS stay_id, NULL AS site_id, NULL AS admission_at, NULL AS discharge_at, NULL AS care_mode, \
                 (SELECT COUNT(*) FROM debtors d WHERE d.patient_id = p.id AND d.active = TRUE) AS debtor_count, \
                 dd.address_line1 AS debtor_line1, dd.postcode AS debtor_postcode, dd.city AS debtor_city \
                 FROM patients p LEFT JOIN debtors dd ON dd.patient_id = p.id AND dd.is_default = TRUE AND dd.active = TRUE WHERE p.id = $1",
                &args![patient_id],
            )
            .await?;
    }
    let (covs, agreements): (Vec<Cov>, Vec<Agreement>) = match &given {
        // The same rows as the queries below select, from what the page read.
        Some(g) => (
            g.coverages
                .iter()
                .map(|l| &l.coverage)
                .filter(|c| c.active)
                .map(|c| Cov { patient_id: c.patient_id, id: c.id, role: c.role, valid_from: c.valid_from.clone(), valid_to: c.valid_to.clone() })
                .collect(),
            g.pecs
                .iter()
                .filter(|x| matches!(x.status, Status::Acceptee | Status::Partielle))
                .filter_map(|x| {
                    x.stay_id.map(|stay_id| Agreement {
                        id: x.id,
                        stay_id,
                        status: x.status,
                        valid_from: x.valid_from.clone(),
                        valid_to: x.valid_to.clone(),
                    })
                })
                .collect(),
        ),
        None => (
            tx.all("SELECT patient_id, id, role, valid_from, valid_to FROM coverages WHERE patient_id = $1 AND active = TRUE", &args![patient_id]).await?,
            tx.all(
                "SELECT id, stay_id, status, valid_from, valid_to FROM cover_authorizations WHERE patient_id = $1 AND status IN ('acceptee', 'partielle') AND stay_id IS NOT NULL",
                &args![patient_id],
            )
            .await?,
        ),
    };
    let reqs = match (rules.documents_required, given.as_ref().and_then(|g| g.config)) {
        (false, _) => Vec::new(),
        (true, Some(c)) => c.requirements.clone(),
        (true, None) => crate::documents::requirements(tx, p.establishment_id).await?,
    };
    let on_file = match &given {
        Some(g) => crate::documents::on_file_of(g.documents, &reqs),
        None => crate::documents::on_file(tx, p.establishment_id, Some(patient_id), &reqs).await?,
    };
    let docs = Docs { on_file, reqs };
    let spans: Vec<Span> = covs.iter().filter_map(span).collect();
    Ok(cands
        .iter()
        .map(|c| {
            let failures = readiness::check(&rules, &facts(c, &spans, &agreements, &docs, today));
            Checklist {
                stay_id: c.stay_id,
                admission_at: c.admission_at.clone(),
                ready: failures.is_empty(),
                failures: failures
                    .into_iter()
                    .map(|f| {
                        let fix = match f.fix {
                            readiness::Fix::Identity => "identity",
                            readiness::Fix::Debtors => "debtors",
                            readiness::Fix::Coverage => "coverage",
                            readiness::Fix::Pec => "pec",
                            readiness::Fix::Documents => "documents",
                        };
                        (f.code.to_string(), f.message, fix.to_string())
                    })
                    .collect(),
            }
        })
        .collect())
}
