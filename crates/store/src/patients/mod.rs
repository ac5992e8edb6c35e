//! The patient administrative file: RNIV identity, identifiers, contact, debtors,
//! search, history. Every view and every change is audited.

use quittance_domain::access::{Permission, Scope};
use quittance_domain::care::coverage::Category;
use quittance_domain::identity::{self, BirthDate, DocumentType, IdentityAttribute, IdentityStatus, Sex};
use quittance_domain::patients::debtors::DebtorKind;
use quittance_domain::patients::input::parse_patient;
use quittance_domain::patients::search::{SearchCriteria, prefix_upper};
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

pub use quittance_domain::patients::debtors::{DEBTOR_KINDS, GUARANTEES};
pub use quittance_domain::patients::input::{
    DebtorData, DebtorInput, IdentifierInput, NewIdentifier, ParsedPatient, PatientData, PatientInput, parse_debtor, parse_identifier,
};

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, AuditEvent, AuditRow, diff};
use crate::db::{Db, Tx, V, now_text};
use crate::error::Error;
use crate::shared::imports::{self, BatchDone, Batches};
use crate::shared::rows::{codes_text, decode, decode_list};

/// A stored patient file: sex, identity status, identity document and RNIV attributes
/// decoded as their enums (serialized as their codes, the attributes as the stored
/// comma-separated text, so the audit trail reads as before).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Patient {
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
    pub sex: Sex,
    pub birth_place_code: Option<String>,
    pub birth_place_label: Option<String>,
    pub identity_status: IdentityStatus,
    pub doc_type: Option<DocumentType>,
    pub doc_number: Option<String>,
    pub doc_expiry: Option<String>,
    pub insi_checked: bool,
    /// RNIV attributes, in the stored order (sorted by code when written).
    #[serde(with = "crate::shared::rows::code_list")]
    pub attributes: Vec<IdentityAttribute>,
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
    pub version: i64,
}

/// The columns of `patients` as the database holds them (decoded by [`Patient`]'s `FromRow`).
#[derive(sqlx::FromRow)]
struct PatientRow {
    id: i64,
    establishment_id: i64,
    ipp: String,
    birth_name: String,
    used_name: Option<String>,
    birth_first_names: String,
    first_name: String,
    used_first_name: Option<String>,
    birth_date: String,
    birth_date_incomplete: bool,
    sex: String,
    birth_place_code: Option<String>,
    birth_place_label: Option<String>,
    identity_status: String,
    doc_type: Option<String>,
    doc_number: Option<String>,
    doc_expiry: Option<String>,
    insi_checked: bool,
    attributes: String,
    nir: Option<String>,
    cafat_number: Option<String>,
    address_line1: Option<String>,
    address_line2: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    language: Option<String>,
    legal_rep_name: Option<String>,
    legal_rep_relation: Option<String>,
    legal_rep_phone: Option<String>,
    date_of_death: Option<String>,
    non_disclosure: bool,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Patient
where
    PatientRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = PatientRow::from_row(row)?;
        Ok(Patient {
            id: r.id,
            establishment_id: r.establishment_id,
            ipp: r.ipp,
            birth_name: r.birth_name,
            used_name: r.used_name,
            birth_first_names: r.birth_first_names,
            first_name: r.first_name,
            used_first_name: r.used_first_name,
            birth_date: r.birth_date,
            birth_date_incomplete: r.birth_date_incomplete,
            sex: decode(r.sex)?,
            birth_place_code: r.birth_place_code,
            birth_place_label: r.birth_place_label,
            identity_status: decode(r.identity_status)?,
            doc_type: r.doc_type.map(decode).transpose()?,
            doc_number: r.doc_number,
            doc_expiry: r.doc_expiry,
            insi_checked: r.insi_checked,
            attributes: decode_list(r.attributes)?,
            nir: r.nir,
            cafat_number: r.cafat_number,
            address_line1: r.address_line1,
            address_line2: r.address_line2,
            postcode: r.postcode,
            city: r.city,
            country: r.country,
            phone: r.phone,
            mobile: r.mobile,
            email: r.email,
            language: r.language,
            legal_rep_name: r.legal_rep_name,
            legal_rep_relation: r.legal_rep_relation,
            legal_rep_phone: r.legal_rep_phone,
            date_of_death: r.date_of_death,
            non_disclosure: r.non_disclosure,
            version: r.version,
        })
    }
}

const COLS: &str = "id, establishment_id, ipp, birth_name, used_name, birth_first_names, first_name, used_first_name, birth_date, \
    birth_date_incomplete, sex, birth_place_code, birth_place_label, identity_status, doc_type, doc_number, doc_expiry, insi_checked, \
    attributes, nir, cafat_number, address_line1, address_line2, postcode, city, country, phone, mobile, email, language, \
    legal_rep_name, legal_rep_relation, legal_rep_phone, date_of_death, non_disclosure, version";

/// The form of a file, filled with what is stored (for the edit page).
pub fn patient_input(p: &Patient) -> PatientInput {
    {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        let fr_day = |o: &Option<String>| {
            o.as_deref().and_then(|d| d.parse::<jiff::civil::Date>().ok()).map(quittance_domain::fr::format_date_fr).unwrap_or_default()
        };
        PatientInput {
            birth_name: p.birth_name.clone(),
            used_name: s(&p.used_name),
            birth_first_names: p.birth_first_names.clone(),
            used_first_name: s(&p.used_first_name),
            birth_date: BirthDate::from_storage(&p.birth_date).map(|b| b.format_fr()).unwrap_or_default(),
            sex: p.sex.code().to_string(),
            birth_place_code: s(&p.birth_place_code),
            birth_place_label: s(&p.birth_place_label),
            identity_status: p.identity_status.code().to_string(),
            doc_type: p.doc_type.map(|d| d.code().to_string()).unwrap_or_default(),
            doc_number: s(&p.doc_number),
            doc_expiry: fr_day(&p.doc_expiry),
            insi_checked: p.insi_checked,
            attributes: codes_text(&p.attributes),
            nir: s(&p.nir),
            cafat_number: s(&p.cafat_number),
            address_line1: s(&p.address_line1),
            address_line2: s(&p.address_line2),
            postcode: s(&p.postcode),
            city: s(&p.city),
            country: s(&p.country),
            phone: s(&p.phone),
            mobile: s(&p.mobile),
            email: s(&p.email),
            language: s(&p.language),
            legal_rep_name: s(&p.legal_rep_name),
            legal_rep_relation: s(&p.legal_rep_relation),
            legal_rep_phone: s(&p.legal_rep_phone),
            date_of_death: fr_day(&p.date_of_death),
            non_disclosure: p.non_disclosure,
            site_id: String::new(),
            reason: String::new(),
            confirm_duplicate: false,
        }
    }
}

/// The fields of a parsed file as JSON (for the audit trail's before/after).
fn data_json(d: &PatientData) -> serde_json::Value {
    {
        serde_json::json!({
            "birth_name": d.birth_name, "used_name": d.used_name,
            "birth_first_names": d.birth_first_names.join(" "), "used_first_name": d.used_first_name,
            "birth_date": d.birth_date.to_storage(), "sex": d.sex.code(),
            "birth_place_code": d.birth_place_code, "birth_place_label": d.birth_place_label,
            "identity_status": d.identity_status.code(), "doc_type": d.doc_type.map(|d| d.code()),
            "doc_number": d.doc_number, "doc_expiry": d.doc_expiry, "insi_checked": d.insi_checked,
            "attributes": d.attributes.join(","), "nir": d.nir, "cafat_number": d.cafat_number,
            "address_line1": d.address_line1, "address_line2": d.address_line2, "postcode": d.postcode,
            "city": d.city, "country": d.country, "phone": d.phone, "mobile": d.mobile, "email": d.email,
            "language": d.language, "legal_rep_name": d.legal_rep_name, "legal_rep_relation": d.legal_rep_relation,
            "legal_rep_phone": d.legal_rep_phone, "date_of_death": d.date_of_death, "non_disclosure": d.non_disclosure,
        })
    }
}

/// Bind values of a parsed file in the order of [`DATA_COLS`].
fn data_values(d: &PatientData) -> Vec<V> {
    {
        args![
            d.birth_name.clone(),
            d.used_name.clone(),
            d.birth_first_names.join(" "),
            d.first_name(),
            d.used_first_name.clone(),
            d.birth_date.to_storage(),
            !d.birth_date.is_complete(),
            d.sex.code(),
            d.birth_place_code.clone(),
            d.birth_place_label.clone(),
            d.identity_status.code(),
            d.doc_type.map(|d| d.code()),
            d.doc_number.clone(),
            d.doc_expiry.clone(),
            d.insi_checked,
            d.attributes.join(","),
            d.nir.clone(),
            d.cafat_number.clone(),
            d.address_line1.clone(),
            d.address_line2.clone(),
            d.postcode.clone(),
            d.city.clone(),
            d.country.clone(),
            d.phone.clone(),
            d.mobile.clone(),
            d.email.clone(),
            d.language.clone(),
            d.legal_rep_name.clone(),
            d.legal_rep_relation.clone(),
            d.legal_rep_phone.clone(),
            d.date_of_death.clone(),
            d.non_disclosure,
            identity::search_key(&d.birth_name),
            d.used_name.as_deref().map(identity::search_key),
            identity::search_key(&d.first_name()),
        ]
    }
}

const DATA_COLS: [&str; 35] = [
    "birth_name", "used_name", "birth_first_names", "first_name", "used_first_name", "birth_date", "birth_date_incomplete", "sex",
    "birth_place_code", "birth_place_label", "identity_status", "doc_type", "doc_number", "doc_expiry", "insi_checked", "attributes",
    "nir", "cafat_number", "address_line1", "address_line2", "postcode", "city", "country", "phone", "mobile", "email", "language",
    "legal_rep_name", "legal_rep_relation", "legal_rep_phone", "date_of_death", "non_disclosure", "birth_name_key", "used_name_key",
    "first_name_key",
];

fn patient_json(p: &Patient) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "establishment_id", "ipp", "version", "first_name", "birth_date_incomplete"] {
            o.remove(k);
        }
    }
    v
}

/// The strict traits of the RNIV: changing one needs a reason.
const STRICT: [&str; 5] = ["birth_name", "birth_first_names", "birth_date", "sex", "birth_place_code"];

// ---------------------------------------------------------------- access

/// What the actor may see of an establishment's patients.
#[derive(Debug, Clone)]
pub struct Visibility {
    /// `None`: every site; `Some(list)`: only files attached to these sites.
    pub sites: Option<Vec<i64>>,
    pub confidential: bool,
}

/// SQL condition (` AND …`) keeping the rows whose patient (`col`) is attached to one
/// of `sites`; `None` keeps every row, an empty list none.
pub(crate) fn sites_clause(sites: Option<&[i64]>, col: &str) -> String {
    match sites {
        None => String::new(),
        Some([]) => " AND 1 = 0".into(),
        Some(l) => format!(" AND {col} IN (SELECT patient_id FROM patient_sites WHERE site_id IN ({}))", l.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// SQL condition (` AND …`) keeping the rows whose patient (`col`) the actor may see:
/// on the actor's sites, and not under non-disclosure unless the actor may see those.
pub(crate) fn visible_clause(actor: &Actor, establishment_id: i64, col: &str) -> String {
    let v = visibility(actor, establishment_id);
    let mut f = sites_clause(v.sites.as_deref(), col);
    if !v.confidential {
        f.push_str(&format!(" AND {col} IN (SELECT id FROM patients WHERE non_disclosure = FALSE)"));
    }
    f
}

pub fn visibility(actor: &Actor, establishment_id: i64) -> Visibility {
    if actor.system {
        return Visibility { sites: None, confidential: true };
    }
    let sites = actor.grants.sites_for(Permission::ReadPatients, establishment_id);
    let confidential = match actor.grants.sites_for(Permission::ReadConfidentialPatients, establishment_id) {
        None => true,
        Some(v) => !v.is_empty(),
    };
    Visibility { sites, confidential }
}

async fn patient_sites(tx: &mut Tx, id: i64) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> = tx.all("SELECT site_id FROM patient_sites WHERE patient_id = $1 ORDER BY site_id", &args![id]).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

async fn load(tx: &mut Tx, id: i64) -> Result<Patient, Error> {
    tx.opt(&format!("SELECT {COLS} FROM patients WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Dossier patient"))
}

/// A file with one of its sites (`LEFT JOIN`: none for a file on no site).
#[derive(sqlx::FromRow)]
struct PatientOnSite {
    #[sqlx(flatten)]
    patient: Patient,
    file_site_id: Option<i64>,
}

/// The file and its sites in one statement (every access check begins here).
async fn load_with_sites(tx: &mut Tx, id: i64) -> Result<Option<(Patient, Vec<i64>)>, Error> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let cols = COLS.split(", ").map(|c| format!("p.{}", c.trim())).collect::<Vec<_>>().join(", ");
        format!("SELECT {cols}, ps.site_id AS file_site_id FROM patients p LEFT JOIN patient_sites ps ON ps.patient_id = p.id WHERE p.id = $1 ORDER BY ps.site_id")
    });
    let rows: Vec<PatientOnSite> = tx.all(&SQL, &args![id]).await?;
    let sites = rows.iter().filter_map(|r| r.file_site_id).collect();
    Ok(rows.into_iter().next().map(|r| (r.patient, sites)))
}

/// What an access check found.
enum Seen {
    Visible(Patient, Vec<i64>),
    Missing,
    /// Not on the actor's sites (or not in their establishments).
    Refused(Permission, i64),
    /// Under non-disclosure, and the actor may not see those: "not found" to them.
    Hidden(i64),
}

/// Loads the file and decides, inside the caller's (read) transaction; writes nothing.
async fn see(tx: &mut Tx, actor: &Actor, id: i64, permission: Permission) -> Result<Seen, Error> {
    let Some((p, sites)) = load_with_sites(tx, id).await? else {
        return Ok(Seen::Missing);
    };
    let est = p.establishment_id;
    let allowed_sites = if actor.system { None } else { actor.grants.sites_for(permission, est) };
    let site_ok = match &allowed_sites {
        None => actor.system || actor.allows(permission, Scope::Establishment(est)),
        Some(list) => sites.iter().any(|s| list.contains(s)),
    };
    if !site_ok {
        return Ok(Seen::Refused(permission, est));
    }
    if p.non_disclosure && !visibility(actor, est).confidential {
        return Ok(Seen::Hidden(est));
    }
    Ok(Seen::Visible(p, sites))
}

/// The file, or the error for the refusal, which is audited with the file's id (after the
/// read transaction is over).
async fn seen(db: &Db, actor: &Actor, id: i64, seen: Seen, action: &str) -> Result<(Patient, Vec<i64>), Error> {
    match seen {
        Seen::Visible(p, sites) => Ok((p, sites)),
        Seen::Missing => Err(Error::NotFound("Dossier patient")),
        Seen::Refused(permission, est) => Err(audit::refused(db, actor, permission, est, "patient", id, action).await),
        Seen::Hidden(est) => {
            let e = audit::refused(db, actor, Permission::ReadConfidentialPatients, est, "patient", id, action).await;
            Err(if matches!(e, Error::Forbidden) { Error::NotFound("Dossier patient") } else { e })
        }
    }
}

/// Loads a file the actor may see with `permission`; a refusal is audited (naming the file).
/// A file under non-disclosure is "not found" for those who may not see it.
async fn load_visible(db: &Db, actor: &Actor, id: i64, permission: Permission, action: &str) -> Result<(Patient, Vec<i64>), Error> {
    let mut tx = db.read().await?;
    let s = see(&mut tx, actor, id, permission).await?;
    tx.rollback().await?;
    seen(db, actor, id, s, action).await
}

/// A file the actor was allowed to read, checked once in this request, whose view is
/// audited. Pass it to the section readers (`stays::list_checked`, `coverages::list_checked`,
/// `pec::list_checked`, `documents::list_checked`, `readiness::checklist_checked`,
/// [`history_checked`]) instead of having each re-check the access. Only audited readers
/// ([`view`]) hand one out.
#[derive(Debug, Clone)]
pub struct Checked {
    patient: Patient,
    sites: Vec<i64>,
}

impl Checked {
    pub fn patient(&self) -> &Patient {
        &self.patient
    }
    pub fn id(&self) -> i64 {
        self.patient.id
    }
    pub fn establishment_id(&self) -> i64 {
        self.patient.establishment_id
    }
    /// The sites the file is attached to.
    pub fn sites(&self) -> &[i64] {
        &self.sites
    }
}

/// Checks that the actor may read the file (a refusal is audited, naming it) for a section
/// reader, which then reads and commits its view row with [`audit_view`]. Not public: a
/// `Checked` from here has no view row yet.
pub(crate) async fn checked(db: &Db, actor: &Actor, id: i64, action: &str) -> Result<Checked, Error> {
    let (patient, sites) = load_visible(db, actor, id, Permission::ReadPatients, action).await?;
    Ok(Checked { patient, sites })
}

/// Commits the view row of a section of the file (`entity` patient, `entity_id` the file,
/// `action` e.g. `view_stays`) before the section is returned.
pub(crate) async fn audit_view(db: &Db, actor: &Actor, file: &Checked, action: &str, changes: serde_json::Value) -> Result<(), Error> {
    let ev = AuditEvent::new("patient", action)
        .id(file.id())
        .at(Some(file.establishment_id()), actor.site_id.filter(|s| file.sites.contains(s)).or(file.sites.first().copied()))
        .changes(changes);
    audit::append(db, actor, vec![ev]).await
}

// ---------------------------------------------------------------- create / read / update

/// Today's date in an establishment's time zone (UTC date if the zone is unknown).
pub fn today_in(tz: &str) -> jiff::civil::Date {
    jiff::tz::TimeZone::get(tz).map(|z| jiff::Timestamp::now().to_zoned(z).date()).unwrap_or_else(|_| jiff::Zoned::now().date())
}

async fn establishment_tz(tx: &mut Tx, establishment_id: i64) -> Result<String, Error> {
    let r: Option<(String,)> = tx.opt("SELECT timezone FROM establishments WHERE id = $1", &args![establishment_id]).await?;
    r.map(|r| r.0).ok_or(Error::NotFound("Établissement"))
}

/// Which site a new file is attached to (the one chosen, or the actor's), checked against the actor's grants.
fn creation_site(actor: &Actor, establishment_id: i64, chosen: Option<i64>) -> Result<Option<i64>, FieldErrors> {
    if actor.system {
        return Ok(chosen.or(actor.site_id));
    }
    match actor.grants.sites_for(Permission::WritePatients, establishment_id) {
        None => Ok(chosen.or(actor.site_id)),
        Some(list) => match chosen {
            Some(s) if list.contains(&s) => Ok(Some(s)),
            Some(_) => Err(FieldErrors::single("site_id", "Vous ne pouvez pas ouvrir de dossier sur ce site.")),
            None => match actor.site_id.filter(|s| list.contains(s)) {
                Some(s) => Ok(Some(s)),
                None if list.len() == 1 => Ok(Some(list[0])),
                None => Err(FieldErrors::single("site_id", "Choisissez un de vos sites pour ouvrir le dossier.")),
            },
        },
    }
}

/// Parses a new file as typed, on the day of the establishment's time zone (see
/// [`quittance_domain::patients::input::parse_patient`]). [`create`] takes what this returns.
/// An unknown establishment is parsed on the UTC day (the use case then refuses it, as it
/// refuses an establishment the actor may not write to).
pub async fn parse_new(db: &Db, establishment_id: i64, raw: &PatientInput) -> Result<ParsedPatient, Error> {
    let tz: Option<(String,)> = {
        let mut tx = db.read().await?;
        let tz = tx.opt("SELECT timezone FROM establishments WHERE id = $1", &args![establishment_id]).await;
        tx.rollback().await?;
        tz?
    };
    Ok(parse_patient(raw, today_in(tz.as_ref().map_or("UTC", |t| t.0.as_str())))?)
}

/// Parses a change of the file `patient_id` as typed, on the day of its establishment's time
/// zone. [`update`] takes what this returns. An unknown file is parsed on the UTC day (the
/// use case then answers « not found », as it does for a file the actor may not see).
pub async fn parse_change(db: &Db, patient_id: i64, raw: &PatientInput) -> Result<ParsedPatient, Error> {
    let tz: Option<(String,)> = {
        let mut tx = db.read().await?;
        let tz = tx.opt("SELECT e.timezone FROM patients p JOIN establishments e ON e.id = p.establishment_id WHERE p.id = $1", &args![patient_id]).await;
        tx.rollback().await?;
        tz?
    };
    Ok(parse_patient(raw, today_in(tz.as_ref().map_or("UTC", |t| t.0.as_str())))?)
}

async fn next_ipp(tx: &mut Tx, establishment_id: i64) -> Result<String, Error> {
    let n = tx
        .int(
            "INSERT INTO number_counters (establishment_id, series_code, year, last_number) VALUES ($1, 'IPP', 0, 1) \
             ON CONFLICT (establishment_id, series_code, year) DO UPDATE SET last_number = number_counters.last_number + 1 \
             RETURNING last_number",
            &args![establishment_id],
        )
        .await?;
    Ok(format!("{n:08}"))
}

/// Files with the same birth name, first first name and birth date.
async fn same_traits(tx: &mut Tx, establishment_id: i64, d: &PatientData, except: Option<i64>) -> Result<Vec<String>, Error> {
    let rows: Vec<(String,)> = tx
        .all(
            "SELECT ipp FROM patients WHERE establishment_id = $1 AND birth_name_key = $2 AND first_name_key = $3 AND birth_date = $4 AND id <> $5 ORDER BY ipp LIMIT 5",
            &args![
                establishment_id,
                identity::search_key(&d.birth_name),
                identity::search_key(&d.first_name()),
                d.birth_date.to_storage(),
                except.unwrap_or(0)
            ],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Inserts a validated file inside `tx` (used by `create` and by the import).
pub async fn insert(tx: &mut Tx, actor: &Actor, establishment_id: i64, site: Option<i64>, d: &PatientData) -> Result<Patient, Error> {
    if let Some(s) = site
        && tx.int("SELECT COUNT(*) FROM sites WHERE id = $1 AND establishment_id = $2", &args![s, establishment_id]).await? == 0 {
            return Err(Error::invalid("site_id", "Ce site n'appartient pas à l'établissement."));
        }
    let ipp = next_ipp(tx, establishment_id).await?;
    let now = now_text();
    let mut values = args![establishment_id, ipp.clone()];
    values.extend(data_values(d));
    values.push(V::T(now.clone()));
    let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO patients (establishment_id, ipp, {}, created_at, updated_at, version) VALUES ({}, ${}, 1) RETURNING id",
        DATA_COLS.join(", "),
        placeholders.join(", "),
        values.len()
    );
    let id = tx.int(&sql, &values).await?;
    if let Some(s) = site {
        tx.exec("INSERT INTO patient_sites (patient_id, site_id) VALUES ($1, $2)", &args![id, s]).await?;
    }
    let p = load(tx, id).await?;
    tx.audit(
        actor,
        AuditEvent::new("patient", "create")
            .id(id)
            .at(Some(establishment_id), site)
            .changes(diff(&serde_json::json!({}), &patient_json(&p))),
    );
    Ok(p)
}

/// Opens a new file. A file with the same birth name, first name and birth date is
/// reported (field `birth_name`) unless `confirm_duplicate` is set, in which case
/// the new file is flagged `doublon_potentiel` for the identity-vigilance cell.
pub async fn create(db: &Db, actor: &Actor, establishment_id: i64, input: &ParsedPatient) -> Result<Patient, Error> {
    actor.require(db, Permission::WritePatients, Scope::Establishment(establishment_id), "patient", "create").await?;
    let site = creation_site(actor, establishment_id, input.site_id)?;
    if let Some(s) = site {
        actor.require(db, Permission::WritePatients, Scope::Site { establishment_id, site_id: s }, "patient", "create").await?;
    }
    let mut d = input.data.clone();
    let mut tx = db.begin().await?;
    let twins = same_traits(&mut tx, establishment_id, &d, None).await?;
    if !twins.is_empty() {
        if !input.confirm_duplicate {
            return Err(Error::invalid(
                "birth_name",
                format!(
                    "Un dossier aux mêmes nom, prénom et date de naissance existe déjà (IPP {}). Vérifiez-le ; sinon cochez « Créer quand même ».",
                    twins.join(", ")
                ),
            ));
        }
        if !d.attributes.iter().any(|a| a == "doublon_potentiel") {
            d.attributes.push("doublon_potentiel".into());
            d.attributes.sort();
        }
    }
    let p = insert(&mut tx, actor, establishment_id, site, &d).await?;
    tx.commit().await?;
    Ok(p)
}

/// A file with its identifiers, debtors and sites. Viewing it is audited.
#[derive(Debug, Clone, Serialize)]
pub struct PatientFile {
    pub patient: Patient,
    pub sites: Vec<i64>,
    pub identifiers: Vec<Identifier>,
    pub debtors: Vec<Debtor>,
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<PatientFile, Error> {
    view(db, actor, id).await.map(|(f, _)| f)
}

/// Opens a file: reads it in one read transaction, then commits its `view` row (shared
/// with concurrent views, see [`audit::append`]) before returning it, with the checked
/// access for the page's other sections.
pub async fn view(db: &Db, actor: &Actor, id: i64) -> Result<(PatientFile, Checked), Error> {
    let opened = open(db, actor, id).await?;
    let checked = opened.checked.clone();
    Ok((opened.finish(db, actor).await?, checked))
}

/// A file opened for one page: the access checked once, and one read transaction that every
/// section of the page reads in (`stays::list_checked(&mut o.tx, &o.checked)`, …) — one
/// snapshot and one connection for the whole page instead of a transaction per section.
/// The file itself is handed out by [`Opened::finish`], which first commits the view row:
/// nothing of the file can be rendered before its audit row is written.
pub struct Opened {
    pub tx: Tx,
    pub checked: Checked,
    file: PatientFile,
}

impl Opened {
    /// The transaction, the check and the debtors at once (to read more while using them).
    pub fn parts(&mut self) -> (&mut Tx, &Checked, &[Debtor]) {
        (&mut self.tx, &self.checked, &self.file.debtors)
    }

    /// Ends the read (the connection goes back to the pool before the audit write waits for
    /// the appender), commits the `view` row, and hands out the file.
    pub async fn finish(self, db: &Db, actor: &Actor) -> Result<PatientFile, Error> {
        self.tx.rollback().await?;
        let p = &self.file;
        let ev = AuditEvent::new("patient", "view").id(p.patient.id).at(Some(p.patient.establishment_id), actor.site_id.or(p.sites.first().copied()));
        audit::append(db, actor, vec![ev]).await?;
        Ok(self.file)
    }
}

/// Starts [`view`]ing a file: checks the access (a refusal is audited, naming the file) and
/// reads the file in a read transaction left open for the page's sections.
pub async fn open(db: &Db, actor: &Actor, id: i64) -> Result<Opened, Error> {
    let mut tx = db.read().await?;
    let (patient, sites) = match see(&mut tx, actor, id, Permission::ReadPatients).await? {
        Seen::Visible(p, sites) => (p, sites),
        other => {
            tx.rollback().await?;
            return Err(seen(db, actor, id, other, "view").await.err().unwrap_or(Error::Forbidden));
        }
    };
    let identifiers = tx
        .all("SELECT id, patient_id, issuer, value FROM patient_identifiers WHERE patient_id = $1 ORDER BY issuer, value", &args![id])
        .await?;
    let debtors = tx.all(&format!("SELECT {DEBTOR_COLS} FROM debtors WHERE patient_id = $1 ORDER BY is_default DESC, id"), &args![id]).await?;
    let checked = Checked { patient: patient.clone(), sites: sites.clone() };
    Ok(Opened { tx, checked, file: PatientFile { patient, sites, identifiers, debtors } })
}

/// Changes a file. `version` must be the one read (a concurrent change is a conflict).
/// Changing the identity status or a strict trait requires `input.reason`.
///
/// The write path: input parsed by the caller ([`parse_change`]) → permission (refusal
/// audited) → one transaction that locks
/// the row, checks the version and the actor's access on the locked row, compares, writes
/// `WHERE version = $n` (0 rows → 409) and audits.
pub async fn update(db: &Db, actor: &Actor, id: i64, version: i64, input: &ParsedPatient) -> Result<Patient, Error> {
    load_visible(db, actor, id, Permission::WritePatients, "update").await?;
    let mut tx = db.begin().await?;
    let before = lock(&mut tx, id).await?;
    if before.version != version {
        return Err(stale());
    }
    let sites = patient_sites(&mut tx, id).await?;
    if !may_write(actor, &before, &sites) {
        return Err(Error::Forbidden);
    }
    let d = &input.data;
    let after_json = data_json(d);
    let before_json = patient_json(&before);
    let mut changes = diff(&before_json, &after_json);
    let strict_changed: Vec<&str> = STRICT.iter().copied().filter(|k| changes.get(*k).is_some()).collect();
    let status_changed = changes.get("identity_status").is_some();
    let reason = input.reason.as_deref().unwrap_or("");
    if (status_changed || !strict_changed.is_empty()) && reason.is_empty() {
        return Err(Error::invalid(
            "reason",
            "Indiquez le motif : le statut d'identité ou un trait strict (nom de naissance, prénoms de naissance, date et lieu de naissance, sexe) change.",
        ));
    }
    if changes.as_object().is_some_and(|o| o.is_empty()) {
        tx.rollback().await?;
        return Ok(before);
    }
    let sets: Vec<String> = DATA_COLS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
    let mut values = data_values(d);
    let n = values.len();
    values.push(V::T(now_text()));
    values.push(V::I(id));
    values.push(V::I(version));
    let sql = format!(
        "UPDATE patients SET {}, updated_at = ${}, version = version + 1 WHERE id = ${} AND version = ${}",
        sets.join(", "),
        n + 1,
        n + 2,
        n + 3
    );
    tx.exec_one(&sql, &values, STALE_FILE).await?;
    if !reason.is_empty()
        && let Some(o) = changes.as_object_mut() {
            o.insert("motif".into(), serde_json::json!(reason));
        }
    let action = if status_changed { "status_change" } else if strict_changed.is_empty() { "update" } else { "identity_change" };
    tx.audit(actor, AuditEvent::new("patient", action).id(id).at(Some(before.establishment_id), sites.first().copied()).changes(changes));
    let p = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(p)
}

/// Loads a file to change, locked until the transaction ends.
async fn lock(tx: &mut Tx, id: i64) -> Result<Patient, Error> {
    tx.lock(&format!("SELECT {COLS} FROM patients WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Dossier patient"))
}

/// Whether the actor may still change the file as locked (its sites, its non-disclosure):
/// the decision [`load_visible`] took before the transaction, taken again on the locked row.
fn may_write(actor: &Actor, p: &Patient, sites: &[i64]) -> bool {
    if actor.system {
        return true;
    }
    let est = p.establishment_id;
    let site_ok = match actor.grants.sites_for(Permission::WritePatients, est) {
        None => actor.allows(Permission::WritePatients, Scope::Establishment(est)),
        Some(list) => sites.iter().any(|s| list.contains(s)),
    };
    site_ok && (!p.non_disclosure || visibility(actor, est).confidential)
}

const STALE_FILE: &str = "Ce dossier a été modifié par quelqu'un d'autre depuis son ouverture : rechargez-le et refaites la modification.";

fn stale() -> Error {
    Error::Conflict(STALE_FILE.into())
}

/// Checks that the actor may read the file (no audit row: the caller shows part of a file already viewed).
pub async fn check_read(db: &Db, actor: &Actor, id: i64) -> Result<Patient, Error> {
    load_visible(db, actor, id, Permission::ReadPatients, "read").await.map(|(p, _)| p)
}

/// The file and its sites, when the actor may read it.
pub async fn read_access(db: &Db, actor: &Actor, id: i64) -> Result<(Patient, Vec<i64>), Error> {
    load_visible(db, actor, id, Permission::ReadPatients, "read").await
}

/// Checks that the actor may change the file (used by the edit pages before showing a form).
pub async fn check_write(db: &Db, actor: &Actor, id: i64) -> Result<(), Error> {
    write_access(db, actor, id).await.map(|_| ())
}

/// The file and its sites, when the actor may change it.
pub async fn write_access(db: &Db, actor: &Actor, id: i64) -> Result<(Patient, Vec<i64>), Error> {
    load_visible(db, actor, id, Permission::WritePatients, "edit").await
}

/// The file's changes from the audit trail (views excluded), newest first.
pub async fn history(db: &Db, actor: &Actor, id: i64) -> Result<Vec<AuditRow>, Error> {
    let file = checked(db, actor, id, "history").await?;
    let mut tx = db.read().await?;
    let rows = history_checked(&mut tx, &file).await?;
    tx.rollback().await?;
    audit_view(db, actor, &file, "view_history", serde_json::json!({})).await?;
    Ok(rows)
}

/// [`history`] of a file already checked and viewed in this request (no second check, no row).
pub async fn history_checked(tx: &mut Tx, file: &Checked) -> Result<Vec<AuditRow>, Error> {
    tx.all(HISTORY_SQL, &args![file.id().to_string()]).await
}

/// A file's history: its changes (not its views), newest first. Its predicate is the partial
/// index `audit_log_history`'s (migration 11) word for word, so that neither backend walks the
/// file's view rows; a test checks that both planners use the index.
pub const HISTORY_SQL: &str = "SELECT seq, at, user_id, actor, establishment_id, site_id, entity, entity_id, action, outcome, changes, request_id, prev_hash, hash \
     FROM audit_log WHERE entity = 'patient' AND entity_id = $1 AND action NOT LIKE 'view%' AND action <> 'document_view' AND outcome = 'ok' ORDER BY seq DESC LIMIT 200";

// ---------------------------------------------------------------- identifiers

/// A unique constraint the database refused, as the field error of the form field it is about
/// (by constraint name: no COUNT beforehand, which races on PostgreSQL). Other errors pass.
fn unique_field(e: Error) -> Error {
    match e.constraint().as_deref() {
        Some("patient_identifiers_patient_id_issuer_value_key") => {
            Error::invalid("value", "Cet identifiant est déjà enregistré pour ce patient.")
        }
        Some("patients_establishment_id_ipp_key") => Error::invalid("ipp", "Cet IPP est déjà attribué dans l'établissement."),
        _ => e,
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub struct Identifier {
    pub id: i64,
    pub patient_id: i64,
    pub issuer: String,
    pub value: String,
}

/// Adds an external identifier (e.g. the id in a CMS patient software) with its issuer.
pub async fn add_identifier(db: &Db, actor: &Actor, patient_id: i64, input: &NewIdentifier) -> Result<Identifier, Error> {
    let (p, sites) = load_visible(db, actor, patient_id, Permission::WritePatients, "add_identifier").await?;
    let (issuer, value) = (input.issuer.clone(), input.value.clone());
    let mut tx = db.begin().await?;
    let id = tx
        .int(
            "INSERT INTO patient_identifiers (patient_id, issuer, value, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &args![patient_id, issuer.clone(), value.clone(), now_text()],
        )
        .await
        .map_err(unique_field)?;
    tx.audit(
        actor,
        AuditEvent::new("patient", "add_identifier")
            .id(patient_id)
            .at(Some(p.establishment_id), sites.first().copied())
            .changes(serde_json::json!({ "identifiant": [null, format!("{issuer} : {value}")] })),
    );
    tx.commit().await?;
    Ok(Identifier { id, patient_id, issuer, value })
}

// ---------------------------------------------------------------- debtors

/// A debtor of a file: its kind decoded as [`DebtorKind`], the charges it guarantees as
/// [`Category`] (serialized as the stored comma-separated codes, for the audit trail).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Debtor {
    pub id: i64,
    pub patient_id: i64,
    pub kind: DebtorKind,
    pub name: String,
    pub relationship: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The kinds of charges guaranteed, in the stored order (sorted by code when written).
    #[serde(with = "crate::shared::rows::code_list")]
    pub guarantees: Vec<Category>,
    pub is_default: bool,
    pub active: bool,
    /// Changes with every write; an edit sends the version it read.
    pub version: i64,
}

/// The columns of `debtors` as the database holds them.
#[derive(sqlx::FromRow)]
struct DebtorRow {
    id: i64,
    patient_id: i64,
    kind: String,
    name: String,
    relationship: Option<String>,
    address_line1: Option<String>,
    address_line2: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    guarantees: String,
    is_default: bool,
    active: bool,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Debtor
where
    DebtorRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = DebtorRow::from_row(row)?;
        Ok(Debtor {
            id: r.id,
            patient_id: r.patient_id,
            kind: decode(r.kind)?,
            name: r.name,
            relationship: r.relationship,
            address_line1: r.address_line1,
            address_line2: r.address_line2,
            postcode: r.postcode,
            city: r.city,
            country: r.country,
            phone: r.phone,
            email: r.email,
            guarantees: decode_list(r.guarantees)?,
            is_default: r.is_default,
            active: r.active,
            version: r.version,
        })
    }
}

const DEBTOR_COLS: &str =
    "id, patient_id, kind, name, relationship, address_line1, address_line2, postcode, city, country, phone, email, guarantees, is_default, active, version";

/// Which debtor an edit changes, and the version the form or the request read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebtorEdit {
    pub id: i64,
    pub version: i64,
}

/// The stored row of a parsed debtor of `patient` (id and version set by the write). A
/// guarantee that is not a category of charge is the field error [`parse_debtor`] gives.
fn debtor_row(patient: &Patient, d: &DebtorData) -> Result<Debtor, Error> {
    let name = d.name.clone().unwrap_or_else(|| format!("{} {}", patient.used_name.clone().unwrap_or_else(|| patient.birth_name.clone()), patient.first_name));
    let guarantees = d
        .guarantees
        .iter()
        .map(|g| Category::from_code(g).ok_or_else(|| Error::invalid("guarantees", "Nature de charge inconnue.")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Debtor {
        id: 0,
        patient_id: patient.id,
        kind: d.kind,
        name,
        relationship: d.relationship.clone(),
        address_line1: d.address_line1.clone(),
        address_line2: d.address_line2.clone(),
        postcode: d.postcode.clone(),
        city: d.city.clone(),
        country: d.country.clone(),
        phone: d.phone.clone(),
        email: d.email.clone(),
        guarantees,
        is_default: d.is_default,
        active: true,
        version: 0,
    })
}

/// The form of a debtor, filled with what is stored (for the edit page).
pub fn debtor_input(d: &Debtor) -> DebtorInput {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    DebtorInput {
        kind: d.kind.code().to_string(),
        name: d.name.clone(),
        relationship: s(&d.relationship),
        address_line1: s(&d.address_line1),
        address_line2: s(&d.address_line2),
        postcode: s(&d.postcode),
        city: s(&d.city),
        country: s(&d.country),
        phone: s(&d.phone),
        email: s(&d.email),
        guarantees: codes_text(&d.guarantees),
        is_default: d.is_default,
    }
}

/// Adds (`edit = None`) or changes a debtor (`edit`: its id and the version read; a
/// concurrent change is a 409). The first debtor, or one marked default, becomes the
/// default debtor (only one per patient). The patient's row is locked, so two writers on
/// the same patient's debtors take turns.
pub async fn save_debtor(db: &Db, actor: &Actor, patient_id: i64, edit: Option<DebtorEdit>, input: &DebtorData) -> Result<Debtor, Error> {
    load_visible(db, actor, patient_id, Permission::WritePatients, "save_debtor").await?;
    let mut tx = db.begin().await?;
    let p = lock(&mut tx, patient_id).await?;
    // A « patient » debtor typed without a name takes the file's name, as locked.
    let mut d = debtor_row(&p, input)?;
    let sites = patient_sites(&mut tx, patient_id).await?;
    if !may_write(actor, &p, &sites) {
        return Err(Error::Forbidden);
    }
    let before = match edit {
        None => None,
        Some(e) => {
            let b: Debtor = tx
                .lock(&format!("SELECT {DEBTOR_COLS} FROM debtors WHERE id = $1 AND patient_id = $2"), &args![e.id, patient_id])
                .await?
                .ok_or(Error::NotFound("Débiteur"))?;
            if b.version != e.version {
                return Err(Error::stale("Ce débiteur"));
            }
            Some(b)
        }
    };
    let existing = tx.int("SELECT COUNT(*) FROM debtors WHERE patient_id = $1 AND active = $2", &args![patient_id, true]).await?;
    if existing == 0 {
        d.is_default = true;
    }
    let keep = edit.map_or(0, |e| e.id);
    if d.is_default {
        tx.exec(
            "UPDATE debtors SET is_default = $1, version = version + 1 WHERE patient_id = $2 AND is_default = $3 AND id <> $4",
            &args![false, patient_id, true, keep],
        )
        .await?;
    }
    let now = now_text();
    let vals = args![
        d.kind.code(), d.name.clone(), d.relationship.clone(), d.address_line1.clone(), d.address_line2.clone(), d.postcode.clone(),
        d.city.clone(), d.country.clone(), d.phone.clone(), d.email.clone(), codes_text(&d.guarantees), d.is_default, now
    ];
    let (action, before) = match (edit, before) {
        (Some(e), Some(before)) => {
            let mut v = vals.clone();
            v.push(V::I(e.id));
            v.push(V::I(e.version));
            tx.exec_one(
                "UPDATE debtors SET kind = $1, name = $2, relationship = $3, address_line1 = $4, address_line2 = $5, postcode = $6, city = $7, \
                 country = $8, phone = $9, email = $10, guarantees = $11, is_default = $12, updated_at = $13, version = version + 1 \
                 WHERE id = $14 AND version = $15",
                &v,
                &stale_message("Ce débiteur"),
            )
            .await?;
            d.id = e.id;
            d.active = before.active;
            d.version = e.version + 1;
            ("update_debtor", debtor_json(&before))
        }
        _ => {
            let mut v = vals.clone();
            v.push(V::I(patient_id));
            d.id = tx
                .int(
                    "INSERT INTO debtors (kind, name, relationship, address_line1, address_line2, postcode, city, country, phone, email, guarantees, is_default, created_at, updated_at, patient_id, active, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, TRUE, 1) RETURNING id",
                    &v,
                )
                .await?;
            d.version = 1;
            ("add_debtor", serde_json::json!({}))
        }
    };
    // A patient with debtors always has a default one.
    if tx.int("SELECT COUNT(*) FROM debtors WHERE patient_id = $1 AND active = $2 AND is_default = $2", &args![patient_id, true]).await? == 0 {
        tx.exec("UPDATE debtors SET is_default = $1, version = version + 1 WHERE id = $2", &args![true, d.id]).await?;
        d.is_default = true;
        d.version += 1;
    }
    tx.audit(
        actor,
        AuditEvent::new("patient", action)
            .id(patient_id)
            .at(Some(p.establishment_id), sites.first().copied())
            .changes(diff(&before, &debtor_json(&d))),
    );
    tx.commit().await?;
    Ok(d)
}

/// A debtor as the audit trail shows it (without its version, which every write changes).
fn debtor_json(d: &Debtor) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("version");
    }
    v
}

/// The French message of a stale write on `what` (as [`Error::stale`]).
fn stale_message(what: &str) -> String {
    Error::stale(what).to_string()
}

// ---------------------------------------------------------------- search

/// One line of a search result (sex and identity status decoded as their enums).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatientSummary {
    pub id: i64,
    pub ipp: String,
    pub birth_name: String,
    pub used_name: Option<String>,
    pub first_name: String,
    pub used_first_name: Option<String>,
    pub birth_date: String,
    pub sex: Sex,
    pub identity_status: IdentityStatus,
    pub nir: Option<String>,
    pub cafat_number: Option<String>,
    pub city: Option<String>,
    pub date_of_death: Option<String>,
    pub non_disclosure: bool,
}

/// The columns of a search line as the database holds them.
#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    ipp: String,
    birth_name: String,
    used_name: Option<String>,
    first_name: String,
    used_first_name: Option<String>,
    birth_date: String,
    sex: String,
    identity_status: String,
    nir: Option<String>,
    cafat_number: Option<String>,
    city: Option<String>,
    date_of_death: Option<String>,
    non_disclosure: bool,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for PatientSummary
where
    SummaryRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = SummaryRow::from_row(row)?;
        Ok(PatientSummary {
            id: r.id,
            ipp: r.ipp,
            birth_name: r.birth_name,
            used_name: r.used_name,
            first_name: r.first_name,
            used_first_name: r.used_first_name,
            birth_date: r.birth_date,
            sex: decode(r.sex)?,
            identity_status: decode(r.identity_status)?,
            nir: r.nir,
            cafat_number: r.cafat_number,
            city: r.city,
            date_of_death: r.date_of_death,
            non_disclosure: r.non_disclosure,
        })
    }
}

const SUMMARY_COLS: &str = "p.id, p.ipp, p.birth_name, p.used_name, p.first_name, p.used_first_name, p.birth_date, p.sex, p.identity_status, \
    p.nir, p.cafat_number, p.city, p.date_of_death, p.non_disclosure";

/// Results and whether more exist beyond the page.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub items: Vec<PatientSummary>,
    pub more: bool,
    /// Where the next page starts ([`search_after`]), when there is one.
    #[serde(skip)]
    pub next: Option<Cursor>,
}

/// A place in the search order (name key, first-name key, IPP): the next page is read from
/// the index after it (keyset pagination), however deep, instead of counting rows to skip.
/// Travels in links as an opaque token ([`Cursor::token`], [`Cursor::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    key: String,
    first_key: String,
    ipp: String,
}

impl Cursor {
    /// `key|first_key|ipp` — the keys are search keys (letters and digits), the IPP comes last.
    pub fn token(&self) -> String {
        format!("{}|{}|{}", self.key, self.first_key, self.ipp)
    }

    /// A token from a link; `None` when it was not made by [`Cursor::token`].
    pub fn parse(token: &str) -> Option<Cursor> {
        let mut it = token.splitn(3, '|');
        let (key, first_key, ipp) = (it.next()?, it.next()?, it.next()?);
        let is_key = |k: &str| k.len() <= 200 && quittance_domain::identity::search_key(k) == k;
        (is_key(key) && is_key(first_key) && !ipp.is_empty() && ipp.len() <= 40)
            .then(|| Cursor { key: key.into(), first_key: first_key.into(), ipp: ipp.into() })
    }

    fn of(r: &Keyed) -> Cursor {
        Cursor { key: r.k.clone(), first_key: r.fk.clone(), ipp: r.s.ipp.clone() }
    }

    fn before(&self, r: &Keyed) -> bool {
        (self.key.as_str(), self.first_key.as_str(), self.ipp.as_str()) < (r.k.as_str(), r.fk.as_str(), r.s.ipp.as_str())
    }
}

/// Searches the establishment's files visible to the actor. At least one criterion
/// is required; results are ordered by name, first name and IPP. The search is audited.
pub async fn search(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    c: &SearchCriteria,
    limit: i64,
    offset: i64,
) -> Result<SearchPage, Error> {
    search_from(db, actor, establishment_id, c, limit, offset, None).await
}

/// [`search`], the page that starts after `after` (keyset pagination: as fast on page 1 000
/// as on page 1). `None` is the first page.
pub async fn search_after(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    c: &SearchCriteria,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<SearchPage, Error> {
    search_from(db, actor, establishment_id, c, limit, 0, after).await
}

async fn search_from(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    c: &SearchCriteria,
    limit: i64,
    offset: i64,
    after: Option<&Cursor>,
) -> Result<SearchPage, Error> {
    actor.require(db, Permission::ReadPatients, Scope::Establishment(establishment_id), "patient", "search").await?;
    if c.is_empty() {
        return Ok(SearchPage { items: vec![], more: false, next: None });
    }
    let vis = visibility(actor, establishment_id);
    let mut tx = db.read().await?;
    let rows = keyed_search(&mut tx, establishment_id, &vis, c, limit + 1, offset, after).await?;
    tx.rollback().await?;
    let ev = AuditEvent::new("patient", "search").at(Some(establishment_id), actor.site_id).changes(serde_json::json!({
        "nom": c.name_prefix, "prenom": c.first_name_prefix, "naissance": c.birth_date, "numero": c.number,
        "resultats": rows.len().min(limit as usize)
    }));
    audit::append(db, actor, vec![ev]).await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<Keyed> = rows.into_iter().take(limit as usize).collect();
    let next = if more { rows.last().map(Cursor::of) } else { None };
    Ok(SearchPage { items: rows.into_iter().map(|r| r.s).collect(), more, next })
}

/// The query itself (no permission check, no audit): used by `search` and the benchmark.
pub async fn run_search(
    tx: &mut Tx,
    establishment_id: i64,
    vis: &Visibility,
    c: &SearchCriteria,
    limit: i64,
    offset: i64,
) -> Result<Vec<PatientSummary>, Error> {
    Ok(keyed_search(tx, establishment_id, vis, c, limit, offset, None).await?.into_iter().map(|r| r.s).collect())
}

/// The search in its order, each row with its place in it (for the next page's [`Cursor`]).
///
/// With a name prefix, a file whose birth name and used name both match stands once, at the
/// smaller of its two keys (the birth name on a tie): each of the two index scans leaves out
/// the files the other one places earlier, so a page boundary never shows a file twice.
async fn keyed_search(
    tx: &mut Tx,
    establishment_id: i64,
    vis: &Visibility,
    c: &SearchCriteria,
    limit: i64,
    offset: i64,
    after: Option<&Cursor>,
) -> Result<Vec<Keyed>, Error> {
    let mut conds: Vec<String> = vec!["p.establishment_id = $1".into()];
    let mut from = "patients p".to_string();
    let mut a: Vec<V> = vec![V::I(establishment_id)];
    let bind = |a: &mut Vec<V>, v: V| {
        a.push(v);
        format!("${}", a.len())
    };
    if let Some(d) = &c.birth_date {
        let p = bind(&mut a, V::T(d.clone()));
        conds.push(format!("p.birth_date = {p}"));
    }
    if let Some(f) = &c.first_name_prefix {
        let lo = bind(&mut a, V::T(f.clone()));
        let hi = bind(&mut a, V::T(prefix_upper(f)));
        conds.push(format!("p.first_name_key >= {lo} AND p.first_name_key < {hi}"));
    }
    if let Some(n) = &c.number {
        let v = bind(&mut a, V::T(n.clone()));
        // One indexed lookup per identifier kind, then the rows by primary key: no scan.
        from = format!(
            "(SELECT id FROM patients WHERE establishment_id = $1 AND ipp = {v} UNION SELECT id FROM patients WHERE nir = {v} \
             UNION SELECT id FROM patients WHERE cafat_number = {v} UNION SELECT patient_id FROM patient_identifiers WHERE value = {v}) ids \
             JOIN patients p ON p.id = ids.id"
        );
    }
    if !vis.confidential {
        conds.push("p.non_disclosure = FALSE".into());
    }
    if let Some(sites) = &vis.sites {
        let list = if sites.is_empty() { "0".to_string() } else { sites.iter().map(i64::to_string).collect::<Vec<_>>().join(", ") };
        conds.push(format!("EXISTS (SELECT 1 FROM patient_sites ps WHERE ps.patient_id = p.id AND ps.site_id IN ({list}))"));
    }
    let base = conds.join(" AND ");
    let lim = bind(&mut a, V::I(limit + offset));
    // After the cursor, in the scan's own key: `key >= c1` bounds the index range, the rest
    // breaks ties on the first name and the IPP.
    let after_sql = |a: &mut Vec<V>, key: &str| match after {
        None => String::new(),
        Some(cur) => {
            let c1 = bind(a, V::T(cur.key.clone()));
            let c2 = bind(a, V::T(cur.first_key.clone()));
            let c3 = bind(a, V::T(cur.ipp.clone()));
            format!(" AND {key} >= {c1} AND ({key} > {c1} OR p.first_name_key > {c2} OR (p.first_name_key = {c2} AND p.ipp > {c3}))")
        }
    };
    let in_order = |x: &Keyed, y: &Keyed| (&x.k, &x.fk, &x.s.ipp).cmp(&(&y.k, &y.fk, &y.s.ipp));
    match &c.name_prefix {
        None if c.number.is_some() => {
            // A handful of rows at most: let the database start from the identifier
            // indexes (an ORDER BY could tempt it into walking the name index) and sort here.
            let sql = format!("SELECT {SUMMARY_COLS}, p.birth_name_key AS k, p.first_name_key AS fk FROM {from} WHERE {base}");
            let mut rows: Vec<Keyed> = tx.all(&sql, &a[..a.len() - 1]).await?;
            rows.sort_by(in_order);
            Ok(rows.into_iter().filter(|r| after.is_none_or(|c| c.before(r))).skip(offset as usize).take(limit as usize).collect())
        }
        None => {
            let cur = after_sql(&mut a, "p.birth_name_key");
            let sql = format!(
                "SELECT {SUMMARY_COLS}, p.birth_name_key AS k, p.first_name_key AS fk FROM patients p WHERE {base}{cur} \
                 ORDER BY p.birth_name_key, p.first_name_key, p.ipp LIMIT {lim}"
            );
            let rows: Vec<Keyed> = tx.all(&sql, &a).await?;
            Ok(rows.into_iter().skip(offset as usize).collect())
        }
        Some(n) => {
            // Two index range scans (birth name, used name), each in index order, merged here;
            // each leaves out the files the other places earlier (see above).
            let lo = bind(&mut a, V::T(n.clone()));
            let hi = bind(&mut a, V::T(prefix_upper(n)));
            let mut args_used = a.clone();
            let cur_birth = after_sql(&mut a, "p.birth_name_key");
            let cur_used = after_sql(&mut args_used, "p.used_name_key");
            let by_birth = format!(
                "SELECT {SUMMARY_COLS}, p.birth_name_key AS k, p.first_name_key AS fk FROM patients p WHERE {base} AND p.birth_name_key >= {lo} AND p.birth_name_key < {hi} \
                 AND NOT (COALESCE(p.used_name_key, '') >= {lo} AND COALESCE(p.used_name_key, '') < {hi} AND COALESCE(p.used_name_key, '') < p.birth_name_key){cur_birth} \
                 ORDER BY p.birth_name_key, p.first_name_key, p.ipp LIMIT {lim}"
            );
            let by_used = format!(
                "SELECT {SUMMARY_COLS}, p.used_name_key AS k, p.first_name_key AS fk FROM patients p WHERE {base} AND p.used_name_key >= {lo} AND p.used_name_key < {hi} \
                 AND NOT (p.birth_name_key >= {lo} AND p.birth_name_key < {hi} AND p.birth_name_key <= p.used_name_key){cur_used} \
                 ORDER BY p.used_name_key, p.first_name_key, p.ipp LIMIT {lim}"
            );
            let mut rows: Vec<Keyed> = tx.all(&by_birth, &a).await?;
            let used: Vec<Keyed> = tx.all(&by_used, &args_used).await?;
            rows.extend(used);
            rows.sort_by(in_order);
            Ok(rows.into_iter().skip(offset as usize).take(limit as usize).collect())
        }
    }
}

#[derive(sqlx::FromRow)]
struct Keyed {
    #[sqlx(flatten)]
    s: PatientSummary,
    k: String,
    fk: String,
}

/// Exact IPP lookup (the benchmark's baseline).
pub async fn by_ipp(tx: &mut Tx, establishment_id: i64, ipp: &str) -> Result<Option<PatientSummary>, Error> {
    tx.opt(&format!("SELECT {SUMMARY_COLS} FROM patients p WHERE p.establishment_id = $1 AND p.ipp = $2"), &args![establishment_id, ipp]).await
}

// ---------------------------------------------------------------- import

/// One refused row of an import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    pub errors: Vec<ImportError>,
    pub dry_run: bool,
    /// Leading rows skipped because an earlier run of the same file committed them.
    pub skipped: usize,
}

/// Imports rows `(line, input)` in one transaction: valid rows are created, each invalid
/// row is reported with its line, field and message. `dry_run` writes nothing.
pub async fn import(db: &Db, actor: &Actor, establishment_id: i64, rows: Vec<(usize, PatientInput)>, dry_run: bool) -> Result<ImportReport, Error> {
    import_in_batches(db, actor, establishment_id, rows, &Batches::single(dry_run), &mut |_| {}).await
}

/// [`import`] in batches of `opts.size` rows, each its own transaction (see
/// [`crate::shared::imports`]): `on_batch` is called after each; rows an earlier run of the
/// same file (`opts.source_sha256`) committed are skipped.
pub async fn import_in_batches(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    rows: Vec<(usize, PatientInput)>,
    opts: &Batches,
    on_batch: &mut dyn FnMut(&BatchDone),
) -> Result<ImportReport, Error> {
    actor.require(db, Permission::WritePatients, Scope::Establishment(establishment_id), "patient", "import").await?;
    let tz = {
        let mut tx = db.read().await?;
        let tz = establishment_tz(&mut tx, establishment_id).await;
        tx.rollback().await?;
        tz?
    };
    let today = today_in(&tz);
    let out = imports::run(db, establishment_id, "patients", rows, opts, on_batch, async |tx: &mut Tx, input: &PatientInput| {
        let parsed = match parse_patient(input, today) {
            Ok(p) => p,
            Err(e) => return Ok(Some(e)),
        };
        let site = match creation_site(actor, establishment_id, parsed.site_id) {
            Ok(s) => s,
            Err(e) => return Ok(Some(e)),
        };
        {
            match insert(tx, actor, establishment_id, site, &parsed.data).await {
                Ok(_) => Ok(None),
                Err(Error::Invalid(e)) => Ok(Some(e)),
                Err(e) => Err(e),
            }
        }
    })
    .await?;
    Ok(ImportReport {
        imported: out.imported,
        errors: out.errors.into_iter().map(|(line, field, message)| ImportError { line, field, message }).collect(),
        dry_run: opts.dry_run,
        skipped: out.skipped,
    })
}
