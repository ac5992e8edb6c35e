//! « Dossiers en attente »: the files not ready to bill, by site and reason.

use askama::Template;
use axum::http::StatusCode;
use quittance_domain::readiness::CONTROLS;
use quittance_store::Error;
use quittance_store::establishments as est;
use quittance_store::readiness::{self, Pending};

use crate::session::Ctx;
use crate::render::{Chrome, PageResult, csv_response, html, xlsx_response};

struct ReasonRow {
    label: String,
    count: String,
    width: i64,
}

struct Row {
    patient_id: i64,
    ipp: String,
    name: String,
    site: String,
    admission: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "readiness/pending.html")]
struct PendingPage {
    chrome: Chrome,
    establishment: String,
    by_reason: Vec<ReasonRow>,
    by_site: Vec<(String, String)>,
    rows: Vec<Row>,
    total: String,
    /// (patient id, pec id, number, message)
    alerts: Vec<(i64, i64, String, String)>,
}

type Loaded = (est::Establishment, jiff::civil::Date, Vec<Pending>, std::collections::HashMap<i64, String>);

async fn load(ctx: &Ctx) -> Result<Loaded, Error> {
    let a = ctx.actor();
    let e = ctx.establishment().await?;
    let today = quittance_store::patients::today_in(&e.timezone);
    let q = readiness::queue(&ctx.state.db, a, e.id, today).await?;
    let sites = est::list_sites(&ctx.state.db, a, e.id).await.unwrap_or_default().into_iter().map(|s| (s.id, s.name)).collect();
    Ok((e, today, q, sites))
}

fn reason_label(code: &str) -> String {
    CONTROLS.iter().find(|(c, _)| *c == code).map_or(code, |(_, l)| l).to_string()
}

fn admission(p: &Pending) -> String {
    p.admission_at
        .as_deref()
        .and_then(|t| t.get(..10))
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .map(quittance_domain::fr::format_date_fr)
        .unwrap_or_default()
}

pub async fn page(ctx: Ctx) -> PageResult {
    let (e, today, q, sites) = load(&ctx).await?;
    let fr = quittance_domain::fr::format_int_fr;
    let max = CONTROLS.iter().map(|(c, _)| q.iter().filter(|p| p.reasons.iter().any(|r| r == c)).count()).max().unwrap_or(0).max(1);
    let by_reason = CONTROLS
        .iter()
        .map(|(c, l)| {
            let n = q.iter().filter(|p| p.reasons.iter().any(|r| r == c)).count();
            ReasonRow { label: l.to_string(), count: fr(n as i64), width: (n * 100 / max) as i64 }
        })
        .collect();
    let mut per_site: std::collections::BTreeMap<String, usize> = Default::default();
    for p in &q {
        *per_site.entry(p.site_id.and_then(|s| sites.get(&s).cloned()).unwrap_or_else(|| "—".into())).or_default() += 1;
    }
    let rows = q
        .iter()
        .map(|p| Row {
            patient_id: p.patient_id,
            ipp: p.ipp.clone(),
            name: p.name.clone(),
            site: p.site_id.and_then(|s| sites.get(&s).cloned()).unwrap_or_default(),
            admission: admission(p),
            reasons: p.reasons.iter().map(|r| reason_label(r)).collect::<Vec<_>>().join(" ; "),
        })
        .collect();
    let alerts = quittance_store::pec::alerts(&ctx.state.db, ctx.actor(), e.id, today)
        .await?
        .into_iter()
        .map(|a| (a.patient_id, a.pec_id, a.number, a.message))
        .collect();
    let page = PendingPage {
        alerts,
        chrome: ctx.chrome("Dossiers en attente").await,
        establishment: e.name,
        by_reason,
        by_site: per_site.into_iter().map(|(k, v)| (k, fr(v as i64))).collect(),
        total: fr(q.len() as i64),
        rows,
    };
    Ok(html(StatusCode::OK, page.render()))
}

const HEADER: [&str; 6] = ["IPP", "Patient", "Site", "Admission", "Motifs", "Détail"];

async fn export_rows(ctx: &Ctx) -> Result<Vec<Vec<String>>, Error> {
    let (_, _, q, sites) = load(ctx).await?;
    Ok(q.iter()
        .map(|p| {
            vec![
                p.ipp.clone(),
                p.name.clone(),
                p.site_id.and_then(|s| sites.get(&s).cloned()).unwrap_or_default(),
                admission(p),
                p.reasons.iter().map(|r| reason_label(r)).collect::<Vec<_>>().join(" ; "),
                p.messages.join(" "),
            ]
        })
        .collect())
}

pub async fn csv(ctx: Ctx) -> PageResult {
    Ok(csv_response("dossiers-en-attente.csv", &HEADER, export_rows(&ctx).await?))
}

pub async fn xlsx(ctx: Ctx) -> PageResult {
    Ok(xlsx_response("dossiers-en-attente.xlsx", "En attente", &HEADER, export_rows(&ctx).await?))
}
