//! Filed documents: the classification plan of an establishment, uploads attached to
//! a file, a coverage, a prise en charge or a stay, their content (in the database or
//! in a configured folder, always with a SHA-256 checksum), withdrawal with a reason,
//! and the reports of documents past retention and of files missing a required document.

use std::path::{Path, PathBuf};

use quittance_domain::access::{Permission, Scope};
use quittance_domain::documents::{self as dd, Confidentiality, ContentStore, Kind, RequiredFor, Requirement, Target};
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

pub use quittance_domain::documents::input::{ClassInput, DocClassData, NewDocument, TargetRef, UploadInput};
use sha2::{Digest, Sha256};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;
use crate::shared::rows::decode;

/// Where document contents are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageMode {
    /// In the table `document_contents`: works with any number of application
    /// servers, and backups of the database include the documents.
    Database,
    /// In a folder (content-addressed files). With several application servers the
    /// folder must be shared (NFS, SMB…) and backed up with the database.
    Folder(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub mode: StorageMode,
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
}

impl Default for Storage {
    fn default() -> Self {
        Storage { mode: StorageMode::Database, max_bytes: 10 * 1024 * 1024 }
    }
}

impl Storage {
    /// `1,5 Mio`-style size for French messages.
    pub fn max_label(&self) -> String {
        size_fr(self.max_bytes as i64)
    }
}

pub use quittance_domain::documents::size_fr;

// ------------------------------------------------------------------ plan

/// A class of the plan: its levels decoded as their enums (serialized as their codes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocClass {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub label: String,
    pub retention_years: i64,
    /// The default level of the class's documents.
    pub confidentiality: Confidentiality,
    /// What the class is required for ([`RequiredFor::Jamais`], stored as the empty code:
    /// never required).
    pub required_for: RequiredFor,
    pub position: i64,
    pub active: bool,
    /// Changes with every write; an edit sends the version it read.
    pub version: i64,
}

/// The columns of `document_classes` as the database holds them.
#[derive(sqlx::FromRow)]
struct DocClassRow {
    id: i64,
    establishment_id: i64,
    code: String,
    label: String,
    retention_years: i64,
    confidentiality: String,
    required_for: String,
    position: i64,
    active: bool,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for DocClass
where
    DocClassRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = DocClassRow::from_row(row)?;
        Ok(DocClass {
            id: r.id,
            establishment_id: r.establishment_id,
            code: r.code,
            label: r.label,
            retention_years: r.retention_years,
            confidentiality: decode(r.confidentiality)?,
            required_for: decode(r.required_for)?,
            position: r.position,
            active: r.active,
            version: r.version,
        })
    }
}

const CLASS_COLS: &str = "id, establishment_id, code, label, retention_years, confidentiality, required_for, position, active, version";

/// Which class an edit changes, and the version the form or the request read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassEdit {
    pub id: i64,
    pub version: i64,
}

/// The form of a class, filled with what is stored (for the edit page).
pub fn class_input(c: &DocClass) -> ClassInput {
    ClassInput {
        code: c.code.clone(),
        label: c.label.clone(),
        retention_years: c.retention_years.to_string(),
        confidentiality: c.confidentiality.code().to_string(),
        required_for: c.required_for.code().to_string(),
        position: c.position.to_string(),
        active: if c.active { "on".into() } else { String::new() },
    }
}

/// The plan proposed to a new establishment; every line can be changed afterwards.
/// Ten years for billing proofs (art. L123-22 Code de commerce), six for mail (art. L102 B LPF).
pub const DEFAULT_PLAN: &[(&str, &str, i64, &str, &str)] = &[
    ("piece_identite", "Pièce d'identité", 10, "normal", ""),
    ("attestation_droits", "Attestation de droits (assurance obligatoire)", 10, "normal", ""),
    ("carte_complementaire", "Carte de mutuelle ou de complémentaire", 10, "normal", ""),
    ("aide_medicale", "Décision d'aide médicale (AME, C2S, carte A/B/M)", 10, "normal", ""),
    ("demande_pec", "Demande de prise en charge", 10, "normal", ""),
    ("accord_pec", "Accord de prise en charge", 10, "normal", "pec_accordee"),
    ("bulletin_admission", "Bulletin d'admission", 10, "normal", ""),
    ("justificatif_domicile", "Justificatif de domicile", 6, "normal", ""),
    ("mesure_protection", "Jugement de tutelle ou de curatelle", 10, "confidentiel", ""),
    ("courrier", "Courrier", 6, "normal", ""),
];

/// Inserts the default plan for an establishment that has none.
pub async fn seed_default_plan(tx: &mut Tx, establishment_id: i64) -> Result<usize, Error> {
    if tx.int("SELECT COUNT(*) FROM document_classes WHERE establishment_id = $1", &args![establishment_id]).await? > 0 {
        return Ok(0);
    }
    let now = now_text();
    for (i, (code, label, years, conf, req)) in DEFAULT_PLAN.iter().enumerate() {
        tx.exec(
            "INSERT INTO document_classes (establishment_id, code, label, retention_years, confidentiality, required_for, position, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $8)",
            &args![establishment_id, *code, *label, *years, *conf, *req, (i as i64 + 1) * 10, now.clone()],
        )
        .await?;
    }
    Ok(DEFAULT_PLAN.len())
}

/// Installs the default plan from the plan page (administrators).
pub async fn install_default_plan(db: &Db, actor: &Actor, establishment_id: i64) -> Result<usize, Error> {
    actor.require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "document_class", "seed").await?;
    let mut tx = db.begin().await?;
    let n = seed_default_plan(&mut tx, establishment_id).await?;
    tx.audit(actor, AuditEvent::new("document_class", "seed").at(Some(establishment_id), None).changes(serde_json::json!({ "classes": n })));
    tx.commit().await?;
    Ok(n)
}

pub(crate) async fn classes_in(tx: &mut Tx, establishment_id: i64) -> Result<Vec<DocClass>, Error> {
    tx.all(&format!("SELECT {CLASS_COLS} FROM document_classes WHERE establishment_id = $1 ORDER BY position, id"), &args![establishment_id]).await
}

/// The classification plan of an establishment.
pub async fn classes(db: &Db, actor: &Actor, establishment_id: i64) -> Result<Vec<DocClass>, Error> {
    actor.require(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), "document_class", "list").await?;
    let mut tx = db.read().await?;
    let v = classes_in(&mut tx, establishment_id).await;
    tx.rollback().await?;
    v
}

/// The message of a stale write on a class.
const STALE_CLASS: &str = "Cette classe de documents";

/// A unique constraint the database refused, as the field error of the form field (no COUNT
/// beforehand, which races on PostgreSQL). Other errors pass.
fn class_unique(e: Error) -> Error {
    match e.constraint().as_deref() {
        Some("document_classes_establishment_id_code_key") => Error::invalid("code", "Ce code est déjà utilisé dans le plan."),
        _ => e,
    }
}

/// What the audit trail records of a class (without its version, which every write changes).
fn class_json(c: &DocClass) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("version");
    }
    v
}

/// Creates (`edit` = None) or changes a class of the plan (`edit`: its id and the version
/// read; a concurrent change is a 409). A class is never deleted (documents refer to it):
/// it is deactivated. A code already in the plan is a field error (the unique constraint).
pub async fn save_class(db: &Db, actor: &Actor, establishment_id: i64, edit: Option<ClassEdit>, input: &DocClassData) -> Result<DocClass, Error> {
    actor.require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "document_class", "save").await?;
    let now = now_text();
    let (conf, req) = (input.confidentiality.code(), input.required_for.code());
    let mut tx = db.begin().await?;
    let (before, id) = match edit {
        Some(ed) => {
            let before: DocClass = tx
                .lock(&format!("SELECT {CLASS_COLS} FROM document_classes WHERE id = $1 AND establishment_id = $2"), &args![ed.id, establishment_id])
                .await?
                .ok_or(Error::NotFound("Classe de documents"))?;
            if before.version != ed.version {
                return Err(Error::stale(STALE_CLASS));
            }
            tx.exec_one(
                "UPDATE document_classes SET code = $1, label = $2, retention_years = $3, confidentiality = $4, required_for = $5, position = $6, active = $7, \
                 updated_at = $8, version = version + 1 WHERE id = $9 AND version = $10",
                &args![input.code.clone(), input.label.clone(), input.retention_years, conf, req, input.position, input.active, now, ed.id, ed.version],
                &Error::stale(STALE_CLASS).to_string(),
            )
            .await
            .map_err(class_unique)?;
            (class_json(&before), ed.id)
        }
        None => {
            let id = tx
                .int(
                    "INSERT INTO document_classes (establishment_id, code, label, retention_years, confidentiality, required_for, position, active, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1) RETURNING id",
                    &args![establishment_id, input.code.clone(), input.label.clone(), input.retention_years, conf, req, input.position, input.active, now],
                )
                .await
                .map_err(class_unique)?;
            (serde_json::json!({}), id)
        }
    };
    let after: DocClass = tx.one(&format!("SELECT {CLASS_COLS} FROM document_classes WHERE id = $1"), &args![id]).await?;
    tx.audit(
        actor,
        AuditEvent::new("document_class", if edit.is_some() { "update" } else { "create" })
            .id(id)
            .at(Some(establishment_id), None)
            .changes(diff(&before, &class_json(&after))),
    );
    crate::establishments::bump_config(&mut tx, establishment_id).await?;
    tx.commit().await?;
    Ok(after)
}

/// The classes that are required somewhere, for the readiness checks.
pub(crate) async fn requirements(tx: &mut Tx, establishment_id: i64) -> Result<Vec<Requirement>, Error> {
    let rows: Vec<(i64, String, String)> = tx
        .all(
            "SELECT id, label, required_for FROM document_classes WHERE establishment_id = $1 AND active = TRUE AND required_for <> '' ORDER BY position, id",
            &args![establishment_id],
        )
        .await?;
    Ok(rows.into_iter().map(|(class_id, label, required_for)| Requirement { class_id, label, required_for }).collect())
}

/// What is attached to the files of an establishment (or one file), for the required classes.
pub(crate) async fn on_file(tx: &mut Tx, establishment_id: i64, patient_id: Option<i64>, reqs: &[Requirement]) -> Result<dd::OnFile, Error> {
    if reqs.is_empty() {
        return Ok(dd::OnFile::new());
    }
    let classes = reqs.iter().map(|r| r.class_id.to_string()).collect::<Vec<_>>().join(", ");
    let rows: Vec<(String, i64, i64)> = match patient_id {
        Some(p) => {
            tx.all(
                &format!("SELECT target_kind, target_id, class_id FROM documents WHERE patient_id = $1 AND withdrawn_at IS NULL AND class_id IN ({classes})"),
                &args![p],
            )
            .await?
        }
        None => {
            tx.all(
                &format!("SELECT target_kind, target_id, class_id FROM documents WHERE establishment_id = $1 AND withdrawn_at IS NULL AND class_id IN ({classes})"),
                &args![establishment_id],
            )
            .await?
        }
    };
    Ok(rows.into_iter().collect())
}

/// [`on_file`] of one file from its documents, already read ([`list_checked`]).
pub(crate) fn on_file_of(documents: &[Document], reqs: &[Requirement]) -> dd::OnFile {
    documents
        .iter()
        .filter(|d| d.withdrawn_at.is_none() && reqs.iter().any(|r| r.class_id == d.class_id))
        .map(|d| (d.target_kind.code().to_string(), d.target_id, d.class_id))
        .collect()
}

// ------------------------------------------------------------------ documents

/// A filed document: what it is attached to, its level and where its content is kept
/// decoded as their enums (serialized as their codes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    pub id: i64,
    pub establishment_id: i64,
    pub patient_id: i64,
    pub target_kind: Target,
    pub target_id: i64,
    pub class_id: i64,
    pub class_label: String,
    pub confidentiality: Confidentiality,
    pub title: String,
    pub file_name: String,
    pub mime: String,
    pub size_bytes: i64,
    /// Hexadecimal SHA-256 of the content.
    pub sha256: String,
    /// In the database (`base`) or in the documents folder (`dossier`).
    pub storage: ContentStore,
    /// AAAA-MM-JJ: date of the document (start of the retention period).
    pub document_date: String,
    /// AAAA-MM-JJ: last day it must be kept.
    pub retention_until: Option<String>,
    pub uploaded_by: String,
    pub created_at: String,
    pub withdrawn_at: Option<String>,
    pub withdrawn_reason: Option<String>,
    pub version: i64,
    /// Whether the requesting user may open the content (a confidential document
    /// needs the permission on one of the file's sites); the title is masked otherwise.
    /// Not a column: `false` as read, set by the readers that mask.
    #[serde(default)]
    pub openable: bool,
}

/// The columns of a document (with its class's label) as the database holds them.
#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: i64,
    establishment_id: i64,
    patient_id: i64,
    target_kind: String,
    target_id: i64,
    class_id: i64,
    class_label: String,
    confidentiality: String,
    title: String,
    file_name: String,
    mime: String,
    size_bytes: i64,
    sha256: String,
    storage: String,
    document_date: String,
    retention_until: Option<String>,
    uploaded_by: String,
    created_at: String,
    withdrawn_at: Option<String>,
    withdrawn_reason: Option<String>,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Document
where
    DocumentRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = DocumentRow::from_row(row)?;
        Ok(Document {
            id: r.id,
            establishment_id: r.establishment_id,
            patient_id: r.patient_id,
            target_kind: decode(r.target_kind)?,
            target_id: r.target_id,
            class_id: r.class_id,
            class_label: r.class_label,
            confidentiality: decode(r.confidentiality)?,
            title: r.title,
            file_name: r.file_name,
            mime: r.mime,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            storage: decode(r.storage)?,
            document_date: r.document_date,
            retention_until: r.retention_until,
            uploaded_by: r.uploaded_by,
            created_at: r.created_at,
            withdrawn_at: r.withdrawn_at,
            withdrawn_reason: r.withdrawn_reason,
            version: r.version,
            openable: false,
        })
    }
}

const DOC_COLS: &str = "d.id, d.establishment_id, d.patient_id, d.target_kind, d.target_id, d.class_id, c.label AS class_label, d.confidentiality, d.title, \
    d.file_name, d.mime, d.size_bytes, d.sha256, d.storage, d.document_date, d.retention_until, d.uploaded_by, d.created_at, d.withdrawn_at, d.withdrawn_reason, d.version";
const DOC_FROM: &str = "FROM documents d JOIN document_classes c ON c.id = d.class_id";

/// Whether the actor holds the confidential-documents permission for the whole
/// establishment or on one of the file's sites.
fn may_open_confidential(actor: &Actor, establishment_id: i64, file_sites: &[i64]) -> bool {
    actor.system
        || match actor.grants.sites_for(Permission::ReadConfidentialDocuments, establishment_id) {
            None => true,
            Some(v) => file_sites.iter().any(|s| v.contains(s)),
        }
}

/// Whether the actor may open a document of this level, on a file attached to these sites.
pub fn may_open(actor: &Actor, d: &Document, file_sites: &[i64]) -> bool {
    d.confidentiality != Confidentiality::Confidentiel || may_open_confidential(actor, d.establishment_id, file_sites)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn folder_path(root: &Path, establishment_id: i64, sha: &str, kind: &str) -> PathBuf {
    let ext = Kind::from_mime(kind).map_or("bin", Kind::extension);
    root.join(establishment_id.to_string()).join(&sha[..2]).join(format!("{sha}.{ext}"))
}

/// Writes a content-addressed file atomically (temporary file, then rename).
fn write_folder(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Ok(existing) = std::fs::read(path)
        && existing == bytes {
            return Ok(());
        }
    let dir = path.parent().ok_or_else(|| std::io::Error::other("chemin sans dossier"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", crate::access::random_hex(8)));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Checks that a parsed target belongs to this patient: `(kind code, id)` as stored.
async fn target(tx: &mut Tx, patient_id: i64, t: TargetRef) -> Result<Result<(String, i64), String>, Error> {
    let (table, id) = match (t.kind, t.id) {
        (Target::Patient, _) | (_, None) => return Ok(Ok((Target::Patient.code().into(), patient_id))),
        (Target::Droit, Some(id)) => ("coverages", id),
        (Target::Pec, Some(id)) => ("cover_authorizations", id),
        (Target::Sejour, Some(id)) => ("stays", id),
    };
    let n = tx.int(&format!("SELECT COUNT(*) FROM {table} WHERE id = $1 AND patient_id = $2"), &args![id, patient_id]).await?;
    if n == 0 {
        return Ok(Err("Cet élément n'appartient pas au dossier du patient.".into()));
    }
    Ok(Ok((t.kind.code().to_string(), id)))
}

/// The usable class of the establishment, or the field error.
async fn usable_class(tx: &mut Tx, establishment_id: i64, class_id: i64) -> Result<Option<DocClass>, Error> {
    tx.opt(&format!("SELECT {CLASS_COLS} FROM document_classes WHERE id = $1 AND establishment_id = $2 AND active = TRUE"), &args![class_id, establishment_id]).await
}

const NO_CLASS: &str = "Choisissez la classe du document dans le plan de classement.";

/// Parses an upload (see [`quittance_domain::documents::input::parse_upload`]) in the
/// establishment's day of the patient's file. When the input does not parse, the facts the
/// database knows (the class, the target) are checked too, so that every error comes back at
/// once; [`upload`] checks them again inside its transaction. Call it once the actor is known
/// to read the file (`patients::check_read`, as the page and the API do): the facts it reports
/// are the file's.
pub async fn parse_upload(db: &Db, storage: &Storage, patient_id: i64, raw: &UploadInput, bytes: &[u8], today: jiff::civil::Date) -> Result<NewDocument, Error> {
    match quittance_domain::documents::input::parse_upload(raw, bytes, storage.max_bytes, today) {
        Ok(d) => Ok(d),
        Err(mut e) => {
            let mut tx = db.read().await?;
            let est: Option<(i64,)> = tx.opt("SELECT establishment_id FROM patients WHERE id = $1", &args![patient_id]).await?;
            if let Some((est,)) = est {
                if let (None, Ok(c)) = (e.get("class_id"), raw.class_id.trim().parse::<i64>())
                    && usable_class(&mut tx, est, c).await?.is_none()
                {
                    e.add("class_id", NO_CLASS);
                }
                if let (None, Ok(t)) = (e.get("target"), quittance_domain::documents::input::parse_target(&raw.target))
                    && let Err(m) = target(&mut tx, patient_id, t).await?
                {
                    e.add("target", m);
                }
            }
            tx.rollback().await?;
            Err(Error::Invalid(e))
        }
    }
}

/// Files a parsed document in a patient's file (`bytes` the content it was parsed from). The
/// checksum is recorded; the class and the target are checked in the transaction; the upload
/// is audited (without content).
pub async fn upload(
    db: &Db,
    actor: &Actor,
    storage: &Storage,
    patient_id: i64,
    input: &NewDocument,
    original_name: &str,
    bytes: &[u8],
) -> Result<Document, Error> {
    let (patient, sites) = patients::write_access(db, actor, patient_id).await?;
    let est = patient.establishment_id;
    // The parsed facts must be those of these bytes (a caller cannot pass other content).
    if bytes.len() != input.size_bytes || bytes.len() > storage.max_bytes || dd::sniff(bytes) != Some(input.kind) {
        return Err(Error::invalid("file", dd::WRONG_TYPE));
    }
    let kind = input.kind;
    let mut e = FieldErrors::new();
    let mut tx = db.begin().await?;
    let class = usable_class(&mut tx, est, input.class_id).await?;
    if class.is_none() {
        e.add("class_id", NO_CLASS);
    }
    let target = match target(&mut tx, patient_id, input.target).await? {
        Ok(t) => Some(t),
        Err(m) => {
            e.add("target", m);
            None
        }
    };
    if let Err(errs) = e.into_result() {
        tx.rollback().await?;
        return Err(Error::Invalid(errs));
    }
    let (Some(class), Some((target_kind, target_id))) = (class, target) else {
        return Err(Error::invalid("class_id", NO_CLASS));
    };
    let confidentiality = input.confidentiality.unwrap_or(class.confidentiality).code();
    let document_date = input.document_date;
    let sha = sha256_hex(bytes);
    let until = dd::retention_until(document_date, class.retention_years);
    let file_name = dd::safe_file_name(original_name, kind);
    let stored = match &storage.mode {
        StorageMode::Database => ContentStore::Base,
        StorageMode::Folder(root) => {
            let path = folder_path(root, est, &sha, kind.mime());
            let data = bytes.to_vec();
            tokio::task::spawn_blocking(move || write_folder(&path, &data))
                .await
                .map_err(|e| Error::Integrity(e.to_string()))?
                .map_err(|e| Error::Config(format!("dossier des documents inaccessible en écriture : {e}")))?;
            ContentStore::Dossier
        }
    };
    let now = now_text();
    let id = tx
        .int(
            "INSERT INTO documents (establishment_id, patient_id, target_kind, target_id, class_id, confidentiality, title, file_name, mime, size_bytes, sha256, storage, \
             document_date, retention_until, uploaded_by, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1) RETURNING id",
            &args![
                est, patient_id, target_kind, target_id, class.id, confidentiality, input.title.clone().unwrap_or_else(|| class.label.clone()), file_name, kind.mime(),
                bytes.len() as i64, sha.clone(), stored.code(), document_date.to_string(), until.map(|d| d.to_string()), actor.username.clone(), now
            ],
        )
        .await?;
    if stored == ContentStore::Base {
        tx.exec("INSERT INTO document_contents (document_id, content) VALUES ($1, $2)", &args![id, bytes.to_vec()]).await?;
    }
    let d = load(&mut tx, id).await?;
    tx.audit(actor, AuditEvent::new("patient", "document_upload").id(patient_id).at(Some(est), sites.first().copied()).changes(diff(&serde_json::json!({}), &json(&d))));
    tx.commit().await?;
    Ok(d)
}

/// [`parse_upload`] then [`upload`], for callers that hold what was typed and nothing to
/// re-show (the demo data, the PEC letter, tests).
#[allow(clippy::too_many_arguments)]
pub async fn parse_and_upload(
    db: &Db,
    actor: &Actor,
    storage: &Storage,
    patient_id: i64,
    raw: &UploadInput,
    original_name: &str,
    bytes: &[u8],
    today: jiff::civil::Date,
) -> Result<Document, Error> {
    let parsed = parse_upload(db, storage, patient_id, raw, bytes, today).await?;
    upload(db, actor, storage, patient_id, &parsed, original_name, bytes).await
}

fn json(d: &Document) -> serde_json::Value {
    serde_json::json!({
        "document": d.id, "rattachement": format!("{}:{}", d.target_kind.code(), d.target_id), "classe": d.class_label, "confidentialite": d.confidentiality,
        "taille": d.size_bytes, "sha256": d.sha256, "date": d.document_date, "conservation": d.retention_until,
        "retrait": d.withdrawn_at, "motif": d.withdrawn_reason,
    })
}

async fn load(tx: &mut Tx, id: i64) -> Result<Document, Error> {
    tx.opt(&format!("SELECT {DOC_COLS} {DOC_FROM} WHERE d.id = $1"), &args![id]).await?.ok_or(Error::NotFound("Document"))
}

/// The documents of a patient's file, newest first (withdrawn ones included, marked).
/// Titles of confidential documents are masked for actors who may not open them.
/// The view is audited (`view_documents`).
pub async fn list(db: &Db, actor: &Actor, patient_id: i64) -> Result<Vec<Document>, Error> {
    let file = patients::checked(db, actor, patient_id, "view_documents").await?;
    let mut tx = db.read().await?;
    let v = list_checked(&mut tx, actor, &file).await?;
    tx.rollback().await?;
    patients::audit_view(db, actor, &file, "view_documents", serde_json::json!({})).await?;
    Ok(v)
}

/// [`list`] for a file already checked and viewed in this request (no second check, no row).
pub async fn list_checked(tx: &mut Tx, actor: &Actor, file: &patients::Checked) -> Result<Vec<Document>, Error> {
    let v: Vec<Document> = tx.all(&format!("SELECT {DOC_COLS} {DOC_FROM} WHERE d.patient_id = $1 ORDER BY d.id DESC"), &args![file.id()]).await?;
    Ok(v.into_iter().map(|d| mask(actor, d, file.sites())).collect())
}

fn mask(actor: &Actor, mut d: Document, file_sites: &[i64]) -> Document {
    d.openable = may_open(actor, &d, file_sites);
    if !d.openable {
        d.title = "Document confidentiel".into();
        d.file_name = "confidentiel".into();
    }
    d
}

/// One document's metadata. The view is audited (`view_document`, the document in `changes`).
pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Document, Error> {
    let mut tx = db.read().await?;
    let d = load(&mut tx, id).await;
    tx.rollback().await?;
    let d = d?;
    let file = patients::checked(db, actor, d.patient_id, "view_document").await?;
    patients::audit_view(db, actor, &file, "view_document", serde_json::json!({ "document": id })).await?;
    Ok(mask(actor, d, file.sites()))
}

/// The content of a document, checked against its checksum. Every opening is audited;
/// a confidential document needs the matching permission (a refusal is audited too).
pub async fn content(db: &Db, actor: &Actor, storage: &Storage, id: i64) -> Result<(Document, Vec<u8>), Error> {
    let mut tx = db.read().await?;
    let d = load(&mut tx, id).await;
    tx.rollback().await?;
    let d = d?;
    let (_, sites) = patients::read_access(db, actor, d.patient_id).await?;
    if !may_open(actor, &d, &sites) {
        return Err(actor.deny(db, Permission::ReadConfidentialDocuments, Scope::Establishment(d.establishment_id), "document", "open").await);
    }
    let bytes = match d.storage {
        ContentStore::Base => {
            let mut tx = db.read().await?;
            let row: Option<(Vec<u8>,)> = tx.opt("SELECT content FROM document_contents WHERE document_id = $1", &args![id]).await?;
            tx.rollback().await?;
            row.map(|r| r.0).ok_or_else(|| Error::Integrity(format!("contenu du document {id} absent de la base")))?
        }
        ContentStore::Dossier => {
            let StorageMode::Folder(root) = &storage.mode else {
                return Err(Error::Config("ce document est rangé dans un dossier, mais aucun dossier de documents n'est configuré".into()));
            };
            let path = folder_path(root, d.establishment_id, &d.sha256, &d.mime);
            tokio::task::spawn_blocking(move || std::fs::read(path))
                .await
                .map_err(|e| Error::Integrity(e.to_string()))?
                .map_err(|_| Error::Integrity(format!("fichier du document {id} introuvable dans le dossier des documents")))?
        }
    };
    if sha256_hex(&bytes) != d.sha256 {
        return Err(Error::Integrity(format!("le contenu du document {id} ne correspond plus à son empreinte SHA-256")));
    }
    let ev = AuditEvent::new("patient", "document_view").id(d.patient_id).at(Some(d.establishment_id), None).changes(serde_json::json!({ "document": id }));
    crate::audit::append(db, actor, vec![ev]).await?;
    Ok((d, bytes))
}

/// Withdraws a document filed by mistake (wrong patient, wrong class…): it no longer
/// counts for the checks, stays listed with its reason, and its content is kept.
pub async fn withdraw(db: &Db, actor: &Actor, id: i64, version: i64, reason: &str) -> Result<Document, Error> {
    let reason = dd::parse_withdrawal_reason(reason)?;
    // The file a document belongs to never changes: it decides the permission.
    let patient_id = {
        let mut tx = db.read().await?;
        let r: Option<(i64,)> = tx.opt("SELECT patient_id FROM documents WHERE id = $1", &args![id]).await?;
        tx.rollback().await?;
        r.ok_or(Error::NotFound("Document"))?.0
    };
    let (_, sites) = patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let before: Document = tx
        .lock(&format!("SELECT {DOC_COLS} {DOC_FROM} WHERE d.id = $1"), &args![id])
        .await?
        .ok_or(Error::NotFound("Document"))?;
    // Already withdrawn says more than a stale version, whatever version was read.
    if before.withdrawn_at.is_some() {
        return Err(Error::invalid("reason", "Ce document est déjà retiré."));
    }
    if before.version != version {
        return Err(Error::stale(STALE_DOCUMENT));
    }
    tx.exec_one(
        "UPDATE documents SET withdrawn_at = $1, withdrawn_reason = $2, version = version + 1 WHERE id = $3 AND version = $4 AND withdrawn_at IS NULL",
        &args![now_text(), reason, id, version],
        &Error::stale(STALE_DOCUMENT).to_string(),
    )
    .await?;
    let after = load(&mut tx, id).await?;
    tx.audit(
        actor,
        AuditEvent::new("patient", "document_withdraw").id(before.patient_id).at(Some(before.establishment_id), sites.first().copied()).changes(diff(&json(&before), &json(&after))),
    );
    tx.commit().await?;
    Ok(mask(actor, after, &sites))
}

/// The message of a stale write on a document.
const STALE_DOCUMENT: &str = "Ce document";

/// A document past its retention period, with its file.
#[derive(Debug, Clone, Serialize)]
pub struct Expired {
    pub document: Document,
    pub ipp: String,
    pub patient_name: String,
}

/// The documents whose retention ended before `today` (not withdrawn), oldest first.
pub async fn past_retention(db: &Db, actor: &Actor, establishment_id: i64, today: jiff::civil::Date) -> Result<Vec<Expired>, Error> {
    actor.require(db, Permission::ReadPatients, Scope::Establishment(establishment_id), "document", "retention_report").await?;
    let filter = patients::visible_clause(actor, establishment_id, "d.patient_id");
    let mut tx = db.read().await?;
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        d: Document,
        ipp: String,
        birth_name: String,
        first_name: String,
    }
    let rows: Vec<Row> = tx
        .all(
            &format!(
                "SELECT {DOC_COLS}, p.ipp, p.birth_name, p.first_name {DOC_FROM} JOIN patients p ON p.id = d.patient_id \
                 WHERE d.establishment_id = $1 AND d.withdrawn_at IS NULL AND d.retention_until < $2{filter} ORDER BY d.retention_until, d.id LIMIT 5000"
            ),
            &args![establishment_id, today.to_string()],
        )
        .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.d.patient_id.to_string()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut file_sites: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    if !ids.is_empty() {
        let links: Vec<(i64, i64)> = tx.all(&format!("SELECT patient_id, site_id FROM patient_sites WHERE patient_id IN ({})", ids.join(", ")), &[]).await?;
        for (p, site) in links {
            file_sites.entry(p).or_default().push(site);
        }
    }
    tx.rollback().await?;
    let ev = AuditEvent::new("document", "retention_report").at(Some(establishment_id), actor.site_id).changes(serde_json::json!({ "documents": rows.len() }));
    crate::audit::append(db, actor, vec![ev]).await?;
    let none = Vec::new();
    Ok(rows
        .into_iter()
        .map(|r| {
            let sites = file_sites.get(&r.d.patient_id).unwrap_or(&none);
            Expired { document: mask(actor, r.d, sites), ipp: r.ipp, patient_name: format!("{} {}", r.birth_name, r.first_name) }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_paths_are_content_addressed() {
        let p = folder_path(Path::new("/srv/docs"), 3, "abcdef", "application/pdf");
        assert_eq!(p, PathBuf::from("/srv/docs/3/ab/abcdef.pdf"));
    }
}
