//! A patient's coverage rights (droits): payer, role, member number, insured or
//! dependant, validity, rates by category, exemptions, priority; and their flags.

use quittance_domain::care::coverage::{self, Beneficiary, Category, CoverageRole, Exemption, Flag, PayerKind, Span};
use quittance_domain::care::input::codes_text;
use quittance_domain::money::BasisPoints;
use quittance_domain::validation::FieldErrors;
use serde::Serialize;

pub use quittance_domain::care::input::{CoverageInput, ParsedCoverage, parse_coverage};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::care::{decode, decode_bp, payers};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;

/// A coverage as stored: role and beneficiary decoded as their enums, rates as
/// [`BasisPoints`], exemptions as [`Exemption`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub id: i64,
    pub patient_id: i64,
    pub payer_id: i64,
    pub role: CoverageRole,
    pub member_number: Option<String>,
    pub beneficiary: Beneficiary,
    pub insured_patient_id: Option<i64>,
    pub insured_name: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub rate_sejour_bp: BasisPoints,
    pub rate_actes_bp: BasisPoints,
    pub rate_fj_bp: BasisPoints,
    pub rate_cp_bp: BasisPoints,
    pub rate_annexes_bp: BasisPoints,
    /// Sorted by code; recorded (and audited) as comma-separated codes.
    #[serde(serialize_with = "exemptions_text")]
    pub exemptions: Vec<Exemption>,
    pub priority: i64,
    pub active: bool,
    /// Bumped by every change; a write names the version it read (stale → 409).
    pub version: i64,
}

fn exemptions_text<S: serde::Serializer>(v: &[Exemption], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&codes_text(v))
}

impl Coverage {
    /// The rates in the order of [`Category::ALL`].
    pub fn rates(&self) -> [BasisPoints; 5] {
        [self.rate_sejour_bp, self.rate_actes_bp, self.rate_fj_bp, self.rate_cp_bp, self.rate_annexes_bp]
    }
}

/// The columns as the database holds them.
#[derive(sqlx::FromRow)]
struct CoverageRow {
    id: i64,
    patient_id: i64,
    payer_id: i64,
    role: String,
    member_number: Option<String>,
    beneficiary: String,
    insured_patient_id: Option<i64>,
    insured_name: Option<String>,
    valid_from: String,
    valid_to: Option<String>,
    rate_sejour_bp: i64,
    rate_actes_bp: i64,
    rate_fj_bp: i64,
    rate_cp_bp: i64,
    rate_annexes_bp: i64,
    exemptions: String,
    priority: i64,
    active: bool,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Coverage
where
    CoverageRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = CoverageRow::from_row(row)?;
        let exemptions = r.exemptions.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| decode(x.to_string())).collect::<Result<Vec<Exemption>, _>>()?;
        Ok(Coverage {
            id: r.id,
            patient_id: r.patient_id,
            payer_id: r.payer_id,
            role: decode(r.role)?,
            member_number: r.member_number,
            beneficiary: decode(r.beneficiary)?,
            insured_patient_id: r.insured_patient_id,
            insured_name: r.insured_name,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
            rate_sejour_bp: decode_bp(r.rate_sejour_bp)?,
            rate_actes_bp: decode_bp(r.rate_actes_bp)?,
            rate_fj_bp: decode_bp(r.rate_fj_bp)?,
            rate_cp_bp: decode_bp(r.rate_cp_bp)?,
            rate_annexes_bp: decode_bp(r.rate_annexes_bp)?,
            exemptions,
            priority: r.priority,
            active: r.active,
            version: r.version,
        })
    }
}

const COLS: &str = "id, patient_id, payer_id, role, member_number, beneficiary, insured_patient_id, insured_name, valid_from, valid_to, \
    rate_sejour_bp, rate_actes_bp, rate_fj_bp, rate_cp_bp, rate_annexes_bp, exemptions, priority, active, version";

/// The form of a coverage as stored (to edit it).
pub fn as_input(c: &Coverage) -> CoverageInput {
    let r = |bp: BasisPoints| bp.format_fr_plain();
    let day = |d: &str| d.parse::<jiff::civil::Date>().map(quittance_domain::fr::format_date_fr).unwrap_or_default();
    CoverageInput {
        payer_id: c.payer_id.to_string(),
        role: c.role.code().to_string(),
        member_number: c.member_number.clone().unwrap_or_default(),
        beneficiary: c.beneficiary.code().to_string(),
        insured_patient_id: c.insured_patient_id.map(|i| i.to_string()).unwrap_or_default(),
        insured_name: c.insured_name.clone().unwrap_or_default(),
        valid_from: day(&c.valid_from),
        valid_to: c.valid_to.as_deref().map(day).unwrap_or_default(),
        rate_sejour: r(c.rate_sejour_bp),
        rate_actes: r(c.rate_actes_bp),
        rate_fj: r(c.rate_fj_bp),
        rate_cp: r(c.rate_cp_bp),
        rate_annexes: r(c.rate_annexes_bp),
        exemptions: codes_text(&c.exemptions),
        priority: c.priority.to_string(),
    }
}

fn json(c: &Coverage) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("version");
    }
    v
}

/// A coverage joined with its payer (`py`).
#[derive(sqlx::FromRow)]
struct LineRow {
    #[sqlx(flatten)]
    coverage: Coverage,
    payer_name: String,
    payer_kind: String,
}

/// A coverage with its payer's name, for display.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageLine {
    pub coverage: Coverage,
    pub payer_name: String,
    pub payer_kind: PayerKind,
}

/// The patient's coverages (by priority) and the flags on their periods.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageSummary {
    pub lines: Vec<CoverageLine>,
    /// French messages: overlaps, gaps, expiries.
    pub flags: Vec<String>,
}

pub fn spans(list: &[Coverage]) -> Vec<Span> {
    list.iter()
        .filter(|c| c.active)
        .filter_map(|c| {
            Some(Span {
                id: c.id,
                role: c.role,
                from: c.valid_from.parse().ok()?,
                to: c.valid_to.as_deref().and_then(|d| d.parse().ok()),
            })
        })
        .collect()
}

/// Lists a patient's coverages with overlaps, gaps and expiries (30-day horizon).
/// The view is audited (`view_coverages`).
pub async fn list(db: &Db, actor: &Actor, patient_id: i64, today: jiff::civil::Date) -> Result<CoverageSummary, Error> {
    let file = patients::checked(db, actor, patient_id, "view_coverages").await?;
    let mut tx = db.read().await?;
    let v = list_checked(&mut tx, &file, today).await?;
    tx.rollback().await?;
    patients::audit_view(db, actor, &file, "view_coverages", serde_json::json!({})).await?;
    Ok(v)
}

/// [`list`] for a file already checked and viewed in this request (no second check, no row).
pub async fn list_checked(tx: &mut Tx, file: &patients::Checked, today: jiff::civil::Date) -> Result<CoverageSummary, Error> {
    let lines = lines_in(tx, file.id()).await?;
    let list: Vec<Coverage> = lines.iter().map(|l| l.coverage.clone()).collect();
    let flags = coverage::flags(&spans(&list), today, 30).iter().map(Flag::message_fr).collect();
    Ok(CoverageSummary { lines, flags })
}

/// The coverages of a file with their payers, in one statement (active first, by priority).
pub(crate) async fn lines_in(tx: &mut Tx, patient_id: i64) -> Result<Vec<CoverageLine>, Error> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| lines_sql("WHERE c.patient_id = $1"));
    lines_of(tx, &SQL, patient_id).await
}

/// The coverages of every file of an establishment with their payers (a billing run, its benchmark).
pub(crate) async fn lines_in_establishment(tx: &mut Tx, establishment_id: i64) -> Result<Vec<CoverageLine>, Error> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| lines_sql("JOIN patients pa ON pa.id = c.patient_id WHERE pa.establishment_id = $1"));
    lines_of(tx, &SQL, establishment_id).await
}

fn lines_sql(filter: &str) -> String {
    let cols = COLS.split(',').map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ");
    format!("SELECT {cols}, py.name AS payer_name, py.kind AS payer_kind FROM coverages c JOIN payers py ON py.id = c.payer_id {filter} ORDER BY c.patient_id, c.active DESC, c.priority, c.valid_from")
}

async fn lines_of(tx: &mut Tx, sql: &str, id: i64) -> Result<Vec<CoverageLine>, Error> {
    let rows: Vec<LineRow> = tx.all(sql, &args![id]).await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let payer_kind = PayerKind::try_from(r.payer_kind).map_err(Error::Integrity)?;
        lines.push(CoverageLine { coverage: r.coverage, payer_name: r.payer_name, payer_kind });
    }
    Ok(lines)
}

/// One coverage of the file (e.g. to re-show an edit form with its current version).
pub async fn get(db: &Db, actor: &Actor, patient_id: i64, coverage_id: i64) -> Result<Coverage, Error> {
    patients::check_read(db, actor, patient_id).await?;
    let mut tx = db.read().await?;
    let c: Option<Coverage> =
        tx.opt(&format!("SELECT {COLS} FROM coverages WHERE id = $1 AND patient_id = $2"), &args![coverage_id, patient_id]).await?;
    tx.rollback().await?;
    c.ok_or(Error::NotFound("Droit"))
}

/// Today in the time zone of the file's establishment: the date the coverage flags
/// (expired, expiring, gaps) are computed on, whoever looks (Nouméa is a day ahead of
/// Paris in the evening). Needs only the right to read the file.
pub async fn today_of_patient(db: &Db, actor: &Actor, patient_id: i64) -> Result<jiff::civil::Date, Error> {
    let p = patients::check_read(db, actor, patient_id).await?;
    let mut tx = db.read().await?;
    let tz: Option<(String,)> = tx.opt("SELECT timezone FROM establishments WHERE id = $1", &args![p.establishment_id]).await?;
    tx.rollback().await?;
    let tz = tz.ok_or(Error::NotFound("Établissement"))?.0;
    Ok(patients::today_in(&tz))
}

/// What the database says of a coverage's payer (in the establishment, may hold the rank)
/// and of the insured member's file; `Some` payer when it is the establishment's.
async fn fact_errors(
    tx: &mut Tx,
    est: i64,
    patient_id: i64,
    payer_id: i64,
    role: CoverageRole,
    insured_patient_id: Option<i64>,
    e: &mut FieldErrors,
) -> Result<Option<payers::Payer>, Error> {
    let payer = match payers::load(tx, payer_id).await {
        Ok(p) if p.establishment_id == est => Some(p),
        Ok(_) | Err(Error::NotFound(_)) => {
            e.add("payer_id", "Organisme inconnu dans cet établissement.");
            None
        }
        Err(other) => return Err(other),
    };
    if let Some(p) = &payer
        && !p.kind.allows_role(role)
    {
        e.add("role", format!("Un organisme « {} » ne peut pas porter ce rang.", p.kind.label()));
    }
    if let Some(i) = insured_patient_id {
        if i == patient_id {
            e.add("insured_patient_id", "Un ayant droit ne peut pas être son propre assuré.");
        } else if tx.int("SELECT COUNT(*) FROM patients WHERE id = $1 AND establishment_id = $2", &args![i, est]).await? == 0 {
            e.add("insured_patient_id", "Dossier de l'assuré introuvable dans l'établissement.");
        }
    }
    Ok(payer)
}

/// Parses a coverage of the patient (with [`parse_coverage`]). When the input does not parse,
/// the facts the database knows (payer, rank, insured member) are checked too, so that every
/// error comes back at once; [`save`] checks them again inside its transaction.
pub async fn parse(db: &Db, patient_id: i64, raw: &CoverageInput) -> Result<ParsedCoverage, Error> {
    match parse_coverage(raw) {
        Ok(c) => Ok(c),
        Err(mut e) => {
            let (payer, role) = (raw.payer_id.trim().parse::<i64>().ok(), CoverageRole::from_code(raw.role.trim()));
            let insured = raw.insured_patient_id.trim().parse::<i64>().ok();
            let mut tx = db.read().await?;
            let est: Option<(i64,)> = tx.opt("SELECT establishment_id FROM patients WHERE id = $1", &args![patient_id]).await?;
            let mut facts = FieldErrors::new();
            if let (Some((est,)), Some(payer)) = (est, payer) {
                fact_errors(&mut tx, est, patient_id, payer, role.unwrap_or(CoverageRole::Obligatoire), insured, &mut facts).await?;
                if role.is_none() {
                    facts.0.retain(|f| f.field != "role");
                }
            }
            tx.rollback().await?;
            for f in facts.0 {
                if e.get(&f.field).is_none() {
                    e.0.push(f);
                }
            }
            Err(Error::Invalid(e))
        }
    }
}

/// Adds (`coverage_id = None`) or changes a coverage (parsed with [`parse`]). A change names
/// the `version` the client read: the row is locked and checked in the write transaction,
/// and a stale version is a [`Error::Conflict`] (nothing written). Blank rates take the
/// payer's default rate valid on `valid_from`.
pub async fn save(db: &Db, actor: &Actor, patient_id: i64, coverage_id: Option<i64>, version: i64, input: &ParsedCoverage) -> Result<Coverage, Error> {
    let (patient, sites) = patients::write_access(db, actor, patient_id).await?;
    let mut e = FieldErrors::new();
    let mut tx = db.begin().await?;
    // The row this use case changes, locked until commit, checked against the version read.
    let before = match coverage_id {
        None => None,
        Some(cid) => {
            let b: Coverage = tx
                .lock(&format!("SELECT {COLS} FROM coverages WHERE id = $1 AND patient_id = $2"), &args![cid, patient_id])
                .await?
                .ok_or(Error::NotFound("Droit"))?;
            if b.version != version {
                return Err(crate::care::stale("Ce droit"));
            }
            Some(b)
        }
    };
    let payer = fact_errors(&mut tx, patient.establishment_id, patient_id, input.payer_id, input.role, input.insured_patient_id, &mut e).await?;
    if let Err(errs) = e.into_result() {
        tx.rollback().await?;
        return Err(Error::Invalid(errs));
    }
    // Rates: given, or the payer's default valid at the start of the rights.
    let defaults = match &payer {
        Some(p) => payers::rates_on(&mut tx, p.id, input.valid_from).await?,
        None => vec![],
    };
    let rates: Vec<BasisPoints> = Category::ALL
        .iter()
        .map(|cat| input.rate(*cat).unwrap_or_else(|| defaults.iter().find(|(c, _)| c == cat).map_or(BasisPoints::ZERO, |(_, r)| *r)))
        .collect();
    let rate = |k: usize| rates.get(k).copied().unwrap_or(BasisPoints::ZERO);
    let priority = match (input.priority, &before) {
        (Some(p), _) => p,
        (None, Some(b)) => b.priority,
        (None, None) => tx.int("SELECT COALESCE(MAX(priority), 0) + 1 FROM coverages WHERE patient_id = $1 AND active = $2", &args![patient_id, true]).await?.min(9),
    };
    let mut c = Coverage {
        id: coverage_id.unwrap_or(0),
        patient_id,
        payer_id: input.payer_id,
        role: input.role,
        member_number: input.member_number.clone(),
        beneficiary: input.beneficiary,
        insured_patient_id: input.insured_patient_id,
        insured_name: input.insured_name.clone(),
        valid_from: input.valid_from.to_string(),
        valid_to: input.valid_to.map(|d| d.to_string()),
        rate_sejour_bp: rate(0),
        rate_actes_bp: rate(1),
        rate_fj_bp: rate(2),
        rate_cp_bp: rate(3),
        rate_annexes_bp: rate(4),
        exemptions: input.exemptions.clone(),
        priority,
        active: before.as_ref().is_none_or(|b| b.active),
        version: before.as_ref().map_or(1, |b| b.version + 1),
    };
    let now = now_text();
    let bp = |b: BasisPoints| i64::from(b.0);
    let values = args![
        c.payer_id, c.role.code(), c.member_number.clone(), c.beneficiary.code(), c.insured_patient_id, c.insured_name.clone(),
        c.valid_from.clone(), c.valid_to.clone(), bp(c.rate_sejour_bp), bp(c.rate_actes_bp), bp(c.rate_fj_bp), bp(c.rate_cp_bp), bp(c.rate_annexes_bp),
        codes_text(&c.exemptions), c.priority, now
    ];
    let (action, before) = match &before {
        None => {
            let mut v = values;
            v.push(crate::V::I(patient_id));
            c.id = tx
                .int(
                    "INSERT INTO coverages (payer_id, role, member_number, beneficiary, insured_patient_id, insured_name, valid_from, valid_to, \
                     rate_sejour_bp, rate_actes_bp, rate_fj_bp, rate_cp_bp, rate_annexes_bp, exemptions, priority, created_at, updated_at, patient_id, active, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, TRUE, 1) RETURNING id",
                    &v,
                )
                .await?;
            ("add_coverage", serde_json::json!({}))
        }
        Some(b) => {
            let mut v = values;
            v.push(crate::V::I(b.id));
            v.push(crate::V::I(version));
            tx.exec_one(
                "UPDATE coverages SET payer_id = $1, role = $2, member_number = $3, beneficiary = $4, insured_patient_id = $5, insured_name = $6, \
                 valid_from = $7, valid_to = $8, rate_sejour_bp = $9, rate_actes_bp = $10, rate_fj_bp = $11, rate_cp_bp = $12, rate_annexes_bp = $13, \
                 exemptions = $14, priority = $15, updated_at = $16, version = version + 1 WHERE id = $17 AND version = $18",
                &v,
                &crate::care::stale("Ce droit").to_string(),
            )
            .await?;
            ("update_coverage", json(b))
        }
    };
    tx.audit(
        actor,
        AuditEvent::new("patient", action).id(patient_id).at(Some(patient.establishment_id), sites.first().copied()).changes(diff(&before, &json(&c))),
    );
    tx.commit().await?;
    Ok(c)
}
