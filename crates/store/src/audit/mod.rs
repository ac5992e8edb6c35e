//! The audit trail: one hash-chained row per change, refusal and view. A change's rows are
//! written in the same transaction as the change; a view's row is appended by [`append`]
//! after the read transaction and committed before the data is returned.

use quittance_domain::audit::{AuditRecord, ChainBreak, ChainVerifier};
use serde::Serialize;

use crate::actor::Actor;
use crate::args;
use crate::db::{Backend, Db, Tx, V, now_text};
use crate::error::Error;

pub mod anchor;

/// An event to record, built by the use case.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub entity: String,
    pub entity_id: Option<String>,
    pub action: String,
    pub outcome: String,
    pub changes: serde_json::Value,
    pub establishment_id: Option<i64>,
    pub site_id: Option<i64>,
    at_set: bool,
}

impl AuditEvent {
    pub fn new(entity: &str, action: &str) -> AuditEvent {
        AuditEvent {
            entity: entity.into(),
            entity_id: None,
            action: action.into(),
            outcome: "ok".into(),
            changes: serde_json::json!({}),
            establishment_id: None,
            site_id: None,
            at_set: false,
        }
    }
    pub fn id(mut self, id: impl ToString) -> Self {
        self.entity_id = Some(id.to_string());
        self
    }
    pub fn outcome(mut self, o: &str) -> Self {
        self.outcome = o.into();
        self
    }
    pub fn changes(mut self, c: serde_json::Value) -> Self {
        self.changes = c;
        self
    }
    /// Establishment and site the event concerns (defaults to the actor's current ones).
    pub fn at(mut self, establishment_id: Option<i64>, site_id: Option<i64>) -> Self {
        self.establishment_id = establishment_id;
        self.site_id = site_id;
        self.at_set = true;
        self
    }
}

/// A row waiting for the commit.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub user_id: Option<i64>,
    pub actor: String,
    pub request_id: Option<String>,
    pub event: AuditEvent,
}

impl Tx {
    /// Records an event; it is written, chained, at commit.
    pub fn audit(&mut self, actor: &Actor, event: AuditEvent) {
        self.pending_audit.push(NewAudit::of(actor, event));
    }
}

impl NewAudit {
    fn of(actor: &Actor, mut event: AuditEvent) -> NewAudit {
        if !event.at_set {
            event.establishment_id = actor.establishment_id;
            event.site_id = actor.site_id;
        }
        NewAudit { user_id: actor.user_id, actor: actor.username.clone(), request_id: actor.request_id.clone(), event }
    }
}

// ---------------------------------------------------------------- audited reads

/// Rows of audited reads waiting for the next short write transaction. One per pool
/// ([`Db`] carries it): concurrent views share one commit instead of queueing for
/// SQLite's write lock (or the chain head's row lock on PostgreSQL) one by one.
#[derive(Clone, Debug, Default)]
pub struct Appender(std::sync::Arc<AppenderInner>);

#[derive(Debug, Default)]
pub struct AppenderInner {
    queue: std::sync::Mutex<Vec<Waiting>>,
    /// Held by the one batch being written (its guard moves into the writing task).
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug)]
struct Waiting {
    rows: Vec<NewAudit>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Appends the rows of an audited read (views, searches, reports, refusals) and returns once
/// they are committed, chained after every earlier row: call it after the read transaction
/// and before the data leaves. Rows arriving while a batch is being written go together in
/// the next one (group commit); each batch is one short write transaction that locks the
/// chain head as [`Tx::commit`] does, so chains from other processes never fork.
pub async fn append(db: &Db, actor: &Actor, events: Vec<AuditEvent>) -> Result<(), Error> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = events.into_iter().map(|e| NewAudit::of(actor, e)).collect();
    let inner = &db.appender().0;
    let (done, mut rx) = tokio::sync::oneshot::channel();
    inner.queue.lock().unwrap_or_else(|p| p.into_inner()).push(Waiting { rows, done });
    let guard = inner.writer.clone().lock_owned().await;
    use tokio::sync::oneshot::error::TryRecvError;
    match rx.try_recv() {
        // An earlier batch took (and wrote) these rows while this caller waited.
        Ok(r) => return r.map_err(Error::Integrity),
        Err(TryRecvError::Closed) => return Err(unconfirmed()),
        Err(TryRecvError::Empty) => {}
    }
    let batch = std::mem::take(&mut *inner.queue.lock().unwrap_or_else(|p| p.into_inner()));
    let db = db.clone();
    // The batch is written by its own task (holding the writer lock), so a caller that goes
    // away mid-write (client disconnected) does not abandon the others' rows.
    tokio::spawn(async move {
        let _guard = guard;
        let mut rows = Vec::new();
        let mut waiting = Vec::with_capacity(batch.len());
        for w in batch {
            rows.extend(w.rows);
            waiting.push(w.done);
        }
        let r = write_batch(&db, rows).await.map_err(|e| format!("écriture de la piste d'audit impossible : {e}"));
        for w in waiting {
            let _ = w.send(r.clone());
        }
    });
    match rx.await {
        Ok(r) => r.map_err(Error::Integrity),
        Err(_) => Err(unconfirmed()),
    }
}

fn unconfirmed() -> Error {
    Error::Integrity("la ligne de la piste d'audit n'a pas été confirmée : les données ne sont pas envoyées".into())
}

async fn write_batch(db: &Db, rows: Vec<NewAudit>) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    tx.pending_audit = rows;
    tx.commit().await
}

/// Records a refused access to one record (`entity_id` names it) and returns `Forbidden`
/// (or the database error if even that failed).
pub async fn refused(db: &Db, actor: &Actor, p: quittance_domain::access::Permission, establishment_id: i64, entity: &str, entity_id: impl ToString, action: &str) -> Error {
    let ev = AuditEvent::new(entity, action)
        .id(entity_id)
        .outcome("refused")
        .at(Some(establishment_id), None)
        .changes(serde_json::json!({ "permission": p.code() }));
    match append(db, actor, vec![ev]).await {
        Ok(()) => Error::Forbidden,
        Err(e) => e,
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct Head {
    pub(crate) seq: i64,
    pub(crate) hash: String,
}

/// Appends the pending rows to the chain. The head row is locked (PostgreSQL:
/// `FOR UPDATE`; SQLite: the write transaction already holds the lock), so chains
/// from concurrent transactions and processes never fork.
pub(crate) async fn flush(tx: &mut Tx, pending: Vec<NewAudit>) -> Result<(), Error> {
    let lock = match tx.backend() {
        Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
        Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
    };
    let head: Head = tx.one(lock, &[]).await?;
    let mut seq = head.seq;
    let mut prev = head.hash;
    // The rows are chained here, then inserted many per statement: a batch of the appender
    // (dozens of concurrent views) is a few round trips while the head is locked, not one each.
    let mut values: Vec<V> = Vec::new();
    let mut n = 0;
    for p in pending {
        seq += 1;
        let rec = AuditRecord {
            seq,
            at: now_text(),
            user_id: p.user_id,
            actor: p.actor,
            establishment_id: p.event.establishment_id,
            site_id: p.event.site_id,
            entity: p.event.entity,
            entity_id: p.event.entity_id,
            action: p.event.action,
            outcome: p.event.outcome,
            changes: p.event.changes.to_string(),
            request_id: p.request_id,
        };
        let hash = rec.chain_hash(&prev);
        values.extend(args![
            rec.seq, rec.at, rec.user_id, rec.actor, rec.establishment_id, rec.site_id, rec.entity,
            rec.entity_id, rec.action, rec.outcome, rec.changes, rec.request_id, prev.clone(), hash.clone()
        ]);
        n += 1;
        prev = hash;
    }
    // Statements of 64, 16, 4 and 1 rows: four texts in each connection's statement cache.
    let mut rest = values.into_iter();
    while n > 0 {
        let size = INSERT_SIZES.iter().copied().find(|&s| s <= n).unwrap_or(1);
        insert_rows(tx, rest.by_ref().take(size * 14).collect(), size).await?;
        n -= size;
    }
    tx.exec("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", &args![seq, prev]).await?;
    Ok(())
}

/// Audit rows per `INSERT` statement, largest first (14 parameters a row: 896 at most, under
/// both backends' limits).
const INSERT_SIZES: [usize; 4] = [64, 16, 4, 1];

async fn insert_rows(tx: &mut Tx, values: Vec<V>, rows: usize) -> Result<(), Error> {
    let mut sql = String::from(
        "INSERT INTO audit_log (seq, at, user_id, actor, establishment_id, site_id, entity, entity_id, action, outcome, changes, request_id, prev_hash, hash) VALUES ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..14 {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * 14 + c + 1));
        }
        sql.push(')');
    }
    let n = tx.exec(&sql, &values).await?;
    if n != rows as u64 {
        return Err(Error::Integrity(format!("piste d'audit : {n} ligne(s) écrite(s) sur {rows}")));
    }
    Ok(())
}

/// One stored audit row.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub user_id: Option<i64>,
    pub actor: String,
    pub establishment_id: Option<i64>,
    pub site_id: Option<i64>,
    pub entity: String,
    pub entity_id: Option<String>,
    pub action: String,
    pub outcome: String,
    pub changes: String,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    pub fn record(&self) -> AuditRecord {
        AuditRecord {
            seq: self.seq,
            at: self.at.clone(),
            user_id: self.user_id,
            actor: self.actor.clone(),
            establishment_id: self.establishment_id,
            site_id: self.site_id,
            entity: self.entity.clone(),
            entity_id: self.entity_id.clone(),
            action: self.action.clone(),
            outcome: self.outcome.clone(),
            changes: self.changes.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// Filters of the audit page and API.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub establishment_id: Option<i64>,
    pub actor: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// Inclusive lower bound, `YYYY-MM-DD` (UTC day).
    pub from: Option<String>,
    /// Inclusive upper bound, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// Set by [`search`]: the establishments the reader may see (rows without an
    /// establishment, such as logins, are visible to every auditor).
    pub visible: Option<Vec<i64>>,
}

const COLS: &str = "seq, at, user_id, actor, establishment_id, site_id, entity, entity_id, action, outcome, changes, request_id, prev_hash, hash";

/// The first stored timestamp of a UTC day `YYYY-MM-DD` (`field` names it in the error), as
/// stored (fixed-width RFC 3339, see [`crate::db::ts_text`]); `next` gives the following day's.
/// Bounds are compared as a half-open range `start <= at < next day's start`, which orders
/// the same under any collation (both sides have the same width and layout), unlike a
/// sentinel such as `'YYYY-MM-DD~'` (a non-C collation may ignore the `~`).
fn day_start(day: &str, field: &str, next: bool) -> Result<String, Error> {
    let d: jiff::civil::Date = day.parse().map_err(|_| Error::invalid(field, "Date attendue au format AAAA-MM-JJ."))?;
    let d = if next { d.tomorrow().map_err(|_| Error::invalid(field, "Date hors limites."))? } else { d };
    let ts = d.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| Error::invalid(field, "Date hors limites."))?.timestamp();
    Ok(crate::db::ts_text(ts))
}

fn where_clause(f: &AuditFilter) -> Result<(String, Vec<V>), Error> {
    let mut conds = Vec::new();
    let mut a: Vec<V> = Vec::new();
    let mut push = |cond: &str, v: V, a: &mut Vec<V>| {
        a.push(v);
        conds.push(cond.replace('?', &format!("${}", a.len())));
    };
    if let Some(e) = f.establishment_id {
        push("establishment_id = ?", V::I(e), &mut a);
    }
    if let Some(s) = &f.actor {
        push("actor = ?", V::T(s.clone()), &mut a);
    }
    if let Some(s) = &f.entity {
        push("entity = ?", V::T(s.clone()), &mut a);
    }
    if let Some(s) = &f.entity_id {
        push("entity_id = ?", V::T(s.clone()), &mut a);
    }
    if let Some(s) = &f.action {
        push("action = ?", V::T(s.clone()), &mut a);
    }
    if let Some(s) = &f.outcome {
        push("outcome = ?", V::T(s.clone()), &mut a);
    }
    if let Some(s) = &f.from {
        push("at >= ?", V::T(day_start(s, "from", false)?), &mut a);
    }
    if let Some(s) = &f.to {
        push("at < ?", V::T(day_start(s, "to", true)?), &mut a);
    }
    if let Some(list) = &f.visible {
        let ids: Vec<String> = list.iter().map(|i| i.to_string()).collect();
        conds.push(if ids.is_empty() {
            "establishment_id IS NULL".to_string()
        } else {
            format!("(establishment_id IS NULL OR establishment_id IN ({}))", ids.join(", "))
        });
    }
    let w = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    Ok((w, a))
}

/// Reads the trail (newest first). Requires `ReadAudit`; reading is itself audited.
pub async fn search(
    db: &Db,
    actor: &Actor,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditRow>, i64), Error> {
    use quittance_domain::access::{Permission, Scope};
    match filter.establishment_id {
        Some(e) => actor.require(db, Permission::ReadAudit, Scope::Establishment(e), "audit", "search").await?,
        None => actor.require(db, Permission::ReadAudit, Scope::Global, "audit", "search").await?,
    }
    let mut filter = filter.clone();
    filter.visible = if actor.system {
        None
    } else {
        Some(
            actor
                .grants
                .establishments()
                .into_iter()
                .filter(|e| actor.allows(Permission::ReadAudit, Scope::Establishment(*e)))
                .collect(),
        )
    };
    let (w, mut a) = where_clause(&filter)?;
    let mut tx = db.read().await?;
    let total = tx.int(&format!("SELECT COUNT(*) FROM audit_log {w}"), &a).await?;
    a.push(V::I(limit));
    a.push(V::I(offset));
    let n = a.len();
    let rows = tx
        .all(&format!("SELECT {COLS} FROM audit_log {w} ORDER BY seq DESC LIMIT ${} OFFSET ${}", n - 1, n), &a)
        .await?;
    tx.rollback().await?;
    let ev = AuditEvent::new("audit", "search").changes(serde_json::json!({
        "filtre": {
            "acteur": filter.actor, "entite": filter.entity, "id": filter.entity_id,
            "action": filter.action, "du": filter.from, "au": filter.to
        }
    }));
    append(db, actor, vec![ev]).await?;
    Ok((rows, total))
}

/// Result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub checked: u64,
    pub head_seq: i64,
    pub first_break: Option<ChainBreak>,
}

/// Walks the whole chain in sequence order, in pages, and reports the first break.
pub async fn verify(db: &Db) -> Result<VerifyReport, Error> {
    let mut tx = db.read().await?;
    let head: Head = tx.one("SELECT seq, hash FROM audit_head WHERE id = 1", &[]).await?;
    let mut v = ChainVerifier::default();
    let mut after = i64::MIN;
    loop {
        let rows: Vec<AuditRow> = tx
            .all(&format!("SELECT {COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000"), &args![after])
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            if let Err(b) = v.push(&r.record(), &r.prev_hash, &r.hash) {
                tx.rollback().await?;
                return Ok(VerifyReport { checked: v.checked, head_seq: head.seq, first_break: Some(b) });
            }
        }
        after = rows.last().map(|r| r.seq).unwrap_or(after);
    }
    tx.rollback().await?;
    let first_break = v.finish(head.seq, &head.hash).err();
    Ok(VerifyReport { checked: v.checked, head_seq: head.seq, first_break })
}

/// The changed fields between two JSON objects: `{field: [before, after]}`.
pub fn diff(before: &serde_json::Value, after: &serde_json::Value) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    for (k, av) in a {
        let bv = b.get(k).unwrap_or(&serde_json::Value::Null);
        if bv != av {
            out.insert(k.clone(), serde_json::json!([bv, av]));
        }
    }
    for (k, bv) in b {
        if !a.contains_key(k) {
            out.insert(k.clone(), serde_json::json!([bv, null]));
        }
    }
    serde_json::Value::Object(out)
}
