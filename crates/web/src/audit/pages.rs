//! The audit trail page, with filters and CSV/XLSX export.

use askama::Template;
use crate::extract::PageQuery as Query;
use axum::http::StatusCode;
use quittance_store::audit::{self, AuditFilter, AuditRow};
use serde::Deserialize;

use crate::session::{Ctx, url_encode};
use crate::render::{Chrome, PageResult, csv_response, html, ts_fr, xlsx_response};

const PAGE_SIZE: i64 = 50;
const EXPORT_MAX: i64 = 100_000;

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<i64>,
}

impl AuditQuery {
    /// The store filter, or a French message when a date is malformed.
    fn filter(&self) -> Result<AuditFilter, String> {
        let opt = |s: &str| if s.trim().is_empty() { None } else { Some(s.trim().to_string()) };
        let date = |s: &str, label: &str| -> Result<Option<String>, String> {
            match opt(s) {
                None => Ok(None),
                Some(v) => quittance_domain::fr::parse_date_fr(&v).map(|d| Some(d.to_string())).map_err(|m| format!("{label} : {m}")),
            }
        };
        Ok(AuditFilter {
            establishment_id: None,
            actor: opt(&self.actor),
            entity: opt(&self.entity),
            entity_id: opt(&self.entity_id),
            action: opt(&self.action),
            outcome: opt(&self.outcome),
            from: date(&self.from, "Du")?,
            to: date(&self.to, "Au")?,
            visible: None,
        })
    }

    fn query_string(&self) -> String {
        [
            ("actor", &self.actor),
            ("entity", &self.entity),
            ("entity_id", &self.entity_id),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

struct Row {
    seq: i64,
    at: String,
    actor: String,
    entity: String,
    action: String,
    outcome: String,
    refused: bool,
    changes: String,
    request_id: String,
}

#[derive(Template)]
#[template(path = "audit/audit.html")]
struct AuditPage {
    chrome: Chrome,
    f: AuditQuery,
    filter_error: Option<String>,
    rows: Vec<Row>,
    total: String,
    page: i64,
    pages: i64,
    query: String,
}

fn outcome_fr(o: &str) -> &str {
    match o {
        "ok" => "acceptée",
        "refused" => "refusée",
        other => other,
    }
}

fn entity_text(r: &AuditRow) -> String {
    match &r.entity_id {
        Some(id) => format!("{} {}", r.entity, id),
        None => r.entity.clone(),
    }
}

const TZ: &str = "Europe/Paris";

pub async fn audit(ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    let (page, offset) = crate::extract::page_offset(q.page, PAGE_SIZE);
    let (filter, filter_error) = match q.filter() {
        Ok(f) => (f, None),
        Err(m) => (AuditFilter::default(), Some(m)),
    };
    let (rows, total) = audit::search(&ctx.state.db, ctx.actor(), &filter, PAGE_SIZE, offset).await?;
    let rows = rows
        .into_iter()
        .map(|r| Row {
            seq: r.seq,
            at: ts_fr(&r.at, TZ),
            entity: entity_text(&r),
            refused: r.outcome == "refused",
            outcome: outcome_fr(&r.outcome).to_string(),
            actor: r.actor,
            action: r.action,
            changes: r.changes,
            request_id: r.request_id.unwrap_or_default(),
        })
        .collect();
    let page_view = AuditPage {
        chrome: ctx.chrome("Journal d'audit").await,
        query: q.query_string(),
        f: q,
        filter_error,
        rows,
        total: quittance_domain::fr::format_int_fr(total),
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).clamp(1, crate::extract::MAX_OFFSET / PAGE_SIZE + 1),
    };
    Ok(html(StatusCode::OK, page_view.render()))
}

const HEADER: [&str; 10] = ["N°", "Date", "Utilisateur", "Établissement", "Site", "Objet", "Action", "Issue", "Changements", "Requête"];

async fn export_rows(ctx: &Ctx, q: &AuditQuery) -> Result<Vec<Vec<String>>, crate::render::PageError> {
    let filter = q.filter().map_err(|m| quittance_store::Error::invalid("from", m))?;
    let (rows, _) = audit::search(&ctx.state.db, ctx.actor(), &filter, EXPORT_MAX, 0).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            vec![
                r.seq.to_string(),
                ts_fr(&r.at, TZ),
                r.actor.clone(),
                r.establishment_id.map(|x| x.to_string()).unwrap_or_default(),
                r.site_id.map(|x| x.to_string()).unwrap_or_default(),
                entity_text(&r),
                r.action.clone(),
                outcome_fr(&r.outcome).to_string(),
                r.changes.clone(),
                r.request_id.clone().unwrap_or_default(),
            ]
        })
        .collect())
}

pub async fn audit_csv(ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    let rows = export_rows(&ctx, &q).await?;
    Ok(csv_response("journal-audit.csv", &HEADER, rows))
}

pub async fn audit_xlsx(ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    let rows = export_rows(&ctx, &q).await?;
    Ok(xlsx_response("journal-audit.xlsx", "Audit", &HEADER, rows))
}
