//! Anchors: the chain head, signed with a key that is never stored in the database
//! (HMAC-SHA256), written to a folder outside it.
//!
//! The hash chain alone shows rows altered by someone who cannot recompute hashes; a
//! database administrator who drops the triggers can rewrite a row and recompute every
//! later hash. An anchor records what the chain said at a moment (`seq`, head hash): a
//! re-chained trail no longer has that hash at that `seq`, a truncated one no longer
//! reaches it, and without the key nobody can write a matching anchor.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::args;
use crate::audit::Head;
use crate::db::{Db, now_text};
use crate::error::Error;

/// The anchors' key (configuration `audit_key` / `QUITTANCE_AUDIT_KEY`).
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(***)")
    }
}

impl AuditKey {
    /// At least 32 characters (e.g. `openssl rand -hex 32`).
    pub fn new(text: &str) -> Result<AuditKey, Error> {
        let t = text.trim();
        if t.chars().count() < 32 {
            return Err(Error::Config("clé d'audit trop courte : au moins 32 caractères (par exemple `openssl rand -hex 32`)".into()));
        }
        Ok(AuditKey(t.as_bytes().to_vec()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }
}

/// One anchor file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub seq: i64,
    pub head_hash: String,
    pub at: String,
    /// HMAC-SHA256 (hex) of the three fields above.
    pub hmac: String,
}

fn message(seq: i64, head_hash: &str, at: &str) -> String {
    format!("quittance-audit-anchor-v1\n{seq}\n{head_hash}\n{at}\n")
}

impl Anchor {
    pub fn sign(key: &AuditKey, seq: i64, head_hash: &str, at: &str) -> Anchor {
        let mut m = key.mac();
        m.update(message(seq, head_hash, at).as_bytes());
        let hmac = quittance_domain::audit::hex(&m.finalize().into_bytes());
        Anchor { seq, head_hash: head_hash.into(), at: at.into(), hmac }
    }

    /// Whether the signature is the key's (constant-time comparison).
    pub fn signed_by(&self, key: &AuditKey) -> bool {
        let Some(tag) = unhex(&self.hmac) else { return false };
        let mut m = key.mac();
        m.update(message(self.seq, &self.head_hash, &self.at).as_bytes());
        m.verify_slice(&tag).is_ok()
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

async fn head(db: &Db) -> Result<Head, Error> {
    let mut tx = db.read().await?;
    let h: Head = tx.one("SELECT seq, hash FROM audit_head WHERE id = 1", &[]).await?;
    tx.rollback().await?;
    Ok(h)
}

fn io(dir: &Path, e: std::io::Error) -> Error {
    Error::Config(format!("dossier des ancres d'audit « {} » inutilisable : {e}", dir.display()))
}

/// Writes the current head to `dir` as `ancre-<seq>-<time>.json` (written aside, then renamed).
pub async fn write(db: &Db, key: &AuditKey, dir: &Path) -> Result<(PathBuf, Anchor), Error> {
    let h = head(db).await?;
    let a = Anchor::sign(key, h.seq, &h.hash, &now_text());
    let name = format!("ancre-{:012}-{}.json", a.seq, a.at.replace([':', '.'], "-"));
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let text = serde_json::to_string_pretty(&a).map_err(|e| Error::Integrity(e.to_string()))?;
    let dir2 = dir.to_path_buf();
    let path2 = path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir2)?;
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, &path2)
    })
    .await
    .map_err(|e| Error::Integrity(e.to_string()))?
    .map_err(|e| io(dir, e))?;
    Ok((path, a))
}

/// [`write`], unless the newest anchor in `dir` already has the current head (for the
/// periodic anchoring of a running server).
pub async fn write_if_moved(db: &Db, key: &AuditKey, dir: &Path) -> Result<Option<(PathBuf, Anchor)>, Error> {
    let h = head(db).await?;
    let last = read_dir(dir).ok().and_then(|l| l.into_iter().filter_map(|(_, a)| a.ok()).max_by_key(|a| a.seq));
    if last.is_some_and(|a| a.seq == h.seq && a.head_hash == h.hash) {
        return Ok(None);
    }
    write(db, key, dir).await.map(Some)
}

/// The anchor files of `dir` (`ancre-*.json`), in name order, each parsed or with why not.
pub fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, Result<Anchor, String>)>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("ancre-") && n.ends_with(".json")))
        .collect();
    files.sort();
    Ok(files
        .into_iter()
        .map(|p| {
            let a = std::fs::read_to_string(&p).map_err(|e| e.to_string()).and_then(|t| serde_json::from_str::<Anchor>(&t).map_err(|e| e.to_string()));
            (p, a)
        })
        .collect())
}

/// Result of checking the trail against the anchors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorReport {
    /// Anchors found and checked.
    pub checked: usize,
    /// The newest anchored sequence number.
    pub last_seq: Option<i64>,
    /// The first anchor the trail contradicts, named by its file, with the reason.
    pub failure: Option<String>,
}

/// Checks every anchor of `dir`: signed by `key`, and the trail still has, at the anchored
/// `seq`, the anchored hash (so no row up to there was rewritten and re-chained, and the
/// trail was not cut below it). Run it with [`crate::audit::verify`], which checks the rows
/// between anchors and after the last one.
pub async fn verify(db: &Db, key: &AuditKey, dir: &Path) -> Result<AnchorReport, Error> {
    let files = read_dir(dir)?;
    let h = head(db).await?;
    let mut report = AnchorReport { checked: 0, last_seq: None, failure: None };
    if files.is_empty() {
        report.failure = Some(format!("aucune ancre (ancre-*.json) dans « {} »", dir.display()));
        return Ok(report);
    }
    let mut tx = db.read().await?;
    for (path, a) in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let fail = |why: String| Some(format!("ancre « {name} » : {why}"));
        let a = match a {
            Ok(a) => a,
            Err(e) => {
                report.failure = fail(format!("illisible ({e})"));
                break;
            }
        };
        if !a.signed_by(key) {
            report.failure = fail("signature invalide (autre clé d'audit, ou ancre modifiée)".into());
            break;
        }
        if a.seq > h.seq {
            report.failure = fail(format!("la piste s'arrête à la ligne {} alors que l'ancre atteste la ligne {} : lignes supprimées", h.seq, a.seq));
            break;
        }
        if a.seq > 0 {
            let row: Option<(String,)> = tx.opt("SELECT hash FROM audit_log WHERE seq = $1", &args![a.seq]).await?;
            match row {
                None => {
                    report.failure = fail(format!("la ligne {} attestée par l'ancre n'existe plus : lignes supprimées", a.seq));
                    break;
                }
                Some((hash,)) if hash != a.head_hash => {
                    report.failure = fail(format!(
                        "la ligne {} a l'empreinte {}…, l'ancre atteste {}… : la piste a été réécrite et rechaînée jusqu'à cette ligne au moins",
                        a.seq,
                        &hash[..hash.len().min(12)],
                        &a.head_hash[..a.head_hash.len().min(12)]
                    ));
                    break;
                }
                Some(_) => {}
            }
        }
        report.checked += 1;
        report.last_seq = Some(report.last_seq.map_or(a.seq, |s: i64| s.max(a.seq)));
    }
    tx.rollback().await?;
    Ok(report)
}
