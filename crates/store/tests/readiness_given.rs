//! The patient page computes its readiness checklist from the coverages, requests and
//! documents it has read already (`readiness::checklist_given`); the readiness API reads them
//! itself (`checklist_checked`). For every file of the demo, on both backends, the two agree
//! (files with and without stays; the page also gives the stays and debtors it has read).

mod common;

use common::TestDb;
use common::fixtures::op;
use quittance_store::care::{coverages, stays};
use quittance_store::{demo, documents, establishments, patients, pec, readiness};

contract!(the_page_checklist_is_the_api_checklist);

async fn the_page_checklist_is_the_api_checklist(t: TestDb) {
    let db = &t.db;
    demo::seed(db).await.expect("demo");
    let mut tx = db.read().await.unwrap();
    let ids: Vec<(i64,)> = tx.all("SELECT id FROM patients ORDER BY id", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(ids.len() > 100, "the demo's files");
    let today = jiff::civil::date(2026, 12, 1);
    let (mut with_failures, mut ready, mut without_stay) = (0, 0, 0);
    for (id,) in ids {
        let mut o = patients::open(db, &op(), id).await.expect("open");
        let covs = coverages::list_checked(&mut o.tx, &o.checked, today).await.unwrap();
        let pecs = pec::list_checked(&mut o.tx, &o.checked).await.unwrap();
        let docs = documents::list_checked(&mut o.tx, &op(), &o.checked).await.unwrap();
        let stays = stays::list_checked(&mut o.tx, &o.checked).await.unwrap();
        if stays.is_empty() {
            without_stay += 1;
        }
        let debtors = o.parts().2.to_vec();
        let given = readiness::Given { config: None, stays: &stays, debtors: &debtors, coverages: &covs.lines, pecs: &pecs, documents: &docs };
        let from_page = readiness::checklist_given(&mut o.tx, &o.checked, today, given).await.unwrap();
        // And with the establishment's configuration from memory, as the page reads it.
        let est = establishments::get_in(&mut o.tx, o.checked.establishment_id()).await.unwrap();
        let config = establishments::config_in(db, &mut o.tx, &est).await.unwrap();
        let given = readiness::Given { config: Some(&config), stays: &stays, debtors: &debtors, coverages: &covs.lines, pecs: &pecs, documents: &docs };
        let with_config = readiness::checklist_given(&mut o.tx, &o.checked, today, given).await.unwrap();
        let read_again = readiness::checklist_checked(&mut o.tx, &o.checked, today).await.unwrap();
        let show = |v: &[readiness::Checklist]| format!("{v:?}");
        assert_eq!(show(&from_page), show(&read_again), "file {id}");
        assert_eq!(show(&with_config), show(&read_again), "file {id}, configuration from memory");
        for c in &from_page {
            if c.ready { ready += 1 } else { with_failures += 1 }
        }
        o.finish(db, &op()).await.unwrap();
    }
    assert!(ready > 0 && with_failures > 0, "the demo has ready and unready files ({ready}, {with_failures})");
    assert!(without_stay > 0, "the demo has files without a stay");
}
