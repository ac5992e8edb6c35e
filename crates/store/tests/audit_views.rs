//! Every read of patient data writes its view row, committed before the data is returned;
//! a refused read names the refused file; concurrent views keep one intact chain.

mod common;
mod flow;

use common::{TestDb, login_actor};
use quittance_store::audit::{self, AuditFilter, AuditRow};
use flow::{coverages, stays};
use quittance_store::{Actor, Db, Error, args, demo, documents, patients, pec, readiness};

async fn int(db: &Db, sql: &str, a: Vec<quittance_store::V>) -> i64 {
    let mut tx = db.read().await.expect("read");
    let n = tx.int(sql, &a).await.expect("query");
    tx.rollback().await.expect("rollback");
    n
}

async fn rows_for(db: &Db, patient: i64) -> Vec<AuditRow> {
    let f = AuditFilter { entity: Some("patient".into()), entity_id: Some(patient.to_string()), ..Default::default() };
    audit::search(db, &Actor::system("test"), &f, 1000, 0).await.expect("audit search").0
}

fn has(rows: &[AuditRow], actor: &Actor, action: &str, outcome: &str) -> bool {
    rows.iter().any(|r| r.user_id == actor.user_id && r.action == action && r.outcome == outcome)
}

/// A hospital file with a stay, coverages, a PEC and a document (from the demo data set).
async fn rich_file(db: &Db) -> (i64, i64) {
    let pid = int(
        db,
        "SELECT p.id FROM patients p JOIN establishments e ON e.id = p.establishment_id WHERE e.code = 'HSM' \
         AND EXISTS (SELECT 1 FROM cover_authorizations c WHERE c.patient_id = p.id) \
         AND EXISTS (SELECT 1 FROM documents d WHERE d.patient_id = p.id) \
         AND EXISTS (SELECT 1 FROM coverages c WHERE c.patient_id = p.id) ORDER BY p.id LIMIT 1",
        vec![],
    )
    .await;
    let pec_id = int(db, "SELECT MIN(id) FROM cover_authorizations WHERE patient_id = $1", args![pid]).await;
    (pid, pec_id)
}

async fn every_api_read_writes_its_view_row(t: TestDb) {
    let db = &t.db;
    demo::seed(db).await.expect("demo");
    let tech = login_actor(db, "technicien", demo::DEMO_PASSWORD).await;
    let (pid, pec_id) = rich_file(db).await;
    let today: jiff::civil::Date = "2026-11-20".parse().unwrap();

    assert!(!stays::list(db, &tech, pid).await.expect("stays").is_empty());
    assert!(!coverages::list(db, &tech, pid, today).await.expect("coverages").lines.is_empty());
    assert!(!pec::list(db, &tech, pid).await.expect("pec").is_empty());
    assert!(!documents::list(db, &tech, pid).await.expect("documents").is_empty());
    assert!(!readiness::checklist(db, &tech, pid, today).await.expect("readiness").is_empty());
    assert_eq!(pec::get(db, &tech, pec_id).await.expect("pec get").patient_id, pid);
    patients::history(db, &tech, pid).await.expect("history");

    let rows = rows_for(db, pid).await;
    for action in ["view_stays", "view_coverages", "view_pecs", "view_documents", "view_readiness", "view_pec", "view_history"] {
        assert!(has(&rows, &tech, action, "ok"), "no {action} row for the file: {:?}", rows.iter().map(|r| &r.action).collect::<Vec<_>>());
    }
    let r = rows.iter().find(|r| r.action == "view_pec").unwrap();
    assert!(r.changes.contains(&format!("\"pec\":{pec_id}")), "{}", r.changes);
    // The history of the file does not list views.
    let hist = patients::history(db, &tech, pid).await.unwrap();
    assert!(hist.iter().all(|r| !r.action.starts_with("view")), "{:?}", hist.iter().map(|r| &r.action).collect::<Vec<_>>());

    // The page path: one check, sections read in the opened file's transaction write nothing,
    // and finishing commits exactly one `view` row before the file is handed out.
    let before = int(db, "SELECT COUNT(*) FROM audit_log", vec![]).await;
    let mut o = patients::open(db, &tech, pid).await.expect("open");
    stays::list_checked(&mut o.tx, &o.checked).await.unwrap();
    coverages::list_checked(&mut o.tx, &o.checked, today).await.unwrap();
    let pecs = pec::list_checked(&mut o.tx, &o.checked).await.unwrap();
    pec::payer_names_given(&mut o.tx, &pecs, Vec::new()).await.unwrap();
    documents::list_checked(&mut o.tx, &tech, &o.checked).await.unwrap();
    readiness::checklist_checked(&mut o.tx, &o.checked, today).await.unwrap();
    patients::history_checked(&mut o.tx, &o.checked).await.unwrap();
    assert_eq!(int(db, "SELECT COUNT(*) FROM audit_log", vec![]).await, before, "sections write nothing");
    let file = o.finish(db, &tech).await.expect("finish");
    assert_eq!(file.patient.id, pid);
    assert_eq!(int(db, "SELECT COUNT(*) FROM audit_log", vec![]).await, before + 1);
    let (file, _) = patients::view(db, &tech, pid).await.expect("view");
    assert_eq!(file.patient.id, pid);
    assert_eq!(int(db, "SELECT COUNT(*) FROM audit_log", vec![]).await, before + 2);

    let v = audit::verify(db).await.unwrap();
    assert_eq!(v.first_break, None);
}

async fn a_refused_read_names_the_file(t: TestDb) {
    let db = &t.db;
    demo::seed(db).await.expect("demo");
    // The mandataire holds a role on one hospital site; the secretary on one CMS.
    let mandataire = login_actor(db, "mandataire", demo::DEMO_PASSWORD).await;
    let secretaire = login_actor(db, "secretaire", demo::DEMO_PASSWORD).await;
    let (pid, pec_id) = rich_file(db).await;
    let today: jiff::civil::Date = "2026-11-20".parse().unwrap();

    let refused = |r: Result<(), Error>| matches!(r, Err(Error::Forbidden));
    assert!(refused(stays::list(db, &secretaire, pid).await.map(|_| ())));
    assert!(refused(coverages::list(db, &secretaire, pid, today).await.map(|_| ())));
    assert!(refused(pec::get(db, &secretaire, pec_id).await.map(|_| ())));
    assert!(refused(documents::list(db, &secretaire, pid).await.map(|_| ())));
    assert!(refused(readiness::checklist(db, &secretaire, pid, today).await.map(|_| ())));
    assert!(refused(patients::get(db, &secretaire, pid).await.map(|_| ())));
    let rows = rows_for(db, pid).await;
    for action in ["view_stays", "view_coverages", "view_pec", "view_documents", "view_readiness", "view"] {
        assert!(has(&rows, &secretaire, action, "refused"), "no refused {action} row naming file {pid}");
    }
    assert!(!rows.iter().any(|r| r.user_id == secretaire.user_id && r.outcome == "ok"));

    // A hospital file attached to another site than the mandataire's.
    let other = int(
        db,
        "SELECT MIN(ps.patient_id) FROM patient_sites ps JOIN sites s ON s.id = ps.site_id WHERE s.code = 'CHIR' \
         AND NOT EXISTS (SELECT 1 FROM patient_sites x JOIN sites y ON y.id = x.site_id WHERE x.patient_id = ps.patient_id AND y.code = 'MED')",
        vec![],
    )
    .await;
    assert!(refused(pec::list(db, &mandataire, other).await.map(|_| ())));
    assert!(has(&rows_for(db, other).await, &mandataire, "view_pecs", "refused"));
    assert_eq!(audit::verify(db).await.unwrap().first_break, None);
}

/// Many views, searches and changes at once: every view has its row, the chain is whole.
async fn concurrent_views_keep_one_chain(t: TestDb) {
    let db = &t.db;
    demo::seed(db).await.expect("demo");
    let tech = login_actor(db, "technicien", demo::DEMO_PASSWORD).await;
    let hsm = int(db, "SELECT id FROM establishments WHERE code = 'HSM'", vec![]).await;
    let ids: Vec<(i64,)> = {
        let mut tx = db.read().await.unwrap();
        let v = tx.all("SELECT id FROM patients WHERE establishment_id = $1 ORDER BY id LIMIT 40", &args![hsm]).await.unwrap();
        tx.rollback().await.unwrap();
        v
    };
    let views_before = int(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'view'", vec![]).await;
    let mut tasks = Vec::new();
    for (k, (pid,)) in ids.iter().copied().enumerate() {
        for j in 0..2 {
            let db = db.clone();
            let tech = tech.clone();
            tasks.push(tokio::spawn(async move {
                patients::view(&db, &tech, pid).await.map(|_| ())?;
                if k % 5 == 0 && j == 0 {
                    // A change committed with its own rows, between the views.
                    flow::establishments::save_series(&db, &Actor::system("test"), hsm, None, &format!("S{}", (b'A' + (k / 5) as u8) as char), "Série", "S-{YYYY}-{N:6}").await?;
                }
                stays::list(&db, &tech, pid).await.map(|_| ())
            }));
        }
    }
    for t in tasks {
        t.await.expect("task").expect("read");
    }
    let views = int(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'view'", vec![]).await;
    assert_eq!(views - views_before, 2 * ids.len() as i64);
    let head = int(db, "SELECT seq FROM audit_head WHERE id = 1", vec![]).await;
    assert_eq!(head, int(db, "SELECT COUNT(*) FROM audit_log", vec![]).await);
    let v = audit::verify(db).await.unwrap();
    assert_eq!(v.first_break, None);
    assert_eq!(v.checked as i64, head);
}

contract!(every_api_read_writes_its_view_row, a_refused_read_names_the_file, concurrent_views_keep_one_chain, the_history_reads_its_index);

/// Every view of a file is audited, so a file's history must not walk its view rows: both
/// planners read it through the partial index `audit_log_history` (migration 11), even when
/// the file has been viewed many times.
async fn the_history_reads_its_index(t: TestDb) {
    let db = &t.db;
    demo::seed(db).await.expect("demo");
    let (pid, _) = rich_file(db).await;
    let tech = login_actor(db, "technicien", demo::DEMO_PASSWORD).await;
    for _ in 0..50 {
        patients::view(db, &tech, pid).await.expect("view");
    }
    let mut tx = db.read().await.unwrap();
    if matches!(db.backend(), quittance_store::Backend::Postgres) {
        // A test database is small enough for a sequential scan to win; without it, the planner
        // still takes the partial index only if the query implies its predicate (else it takes
        // `audit_log_entity`), which is what this checks.
        tx.exec("SET LOCAL enable_seqscan = off", &[]).await.unwrap();
    }
    let plan: Vec<String> = match db.backend() {
        quittance_store::Backend::Sqlite => {
            let rows: Vec<(i64, i64, i64, String)> =
                tx.all(&format!("EXPLAIN QUERY PLAN {}", patients::HISTORY_SQL), &args![pid.to_string()]).await.unwrap();
            rows.into_iter().map(|r| r.3).collect()
        }
        quittance_store::Backend::Postgres => {
            let rows: Vec<(String,)> = tx.all(&format!("EXPLAIN {}", patients::HISTORY_SQL), &args![pid.to_string()]).await.unwrap();
            rows.into_iter().map(|r| r.0).collect()
        }
    };
    tx.rollback().await.unwrap();
    assert!(plan.iter().any(|l| l.contains("audit_log_history")), "the history query does not use its index: {plan:#?}");
    assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "the history is sorted apart from its index: {plan:#?}");
    // And it lists changes only.
    let hist = patients::history(db, &tech, pid).await.unwrap();
    assert!(!hist.is_empty() && hist.iter().all(|r| !r.action.starts_with("view")));
}
