//! Date filters do not depend on the database's collation: the audit search's `from`/`to`
//! days are a half-open range of stored timestamps, on both backends, and on PostgreSQL also
//! when the column sorts with a linguistic (ICU) collation.

mod common;

use common::TestDb;
use quittance_store::audit::{self, AuditFilter};
use quittance_store::{Actor, Backend, Db, Error, args};

contract!(audit_day_filters_are_half_open_ranges);

const AT: [&str; 5] = [
    "2026-03-09T23:59:59.999999Z",
    "2026-03-10T00:00:00.000000Z",
    "2026-03-10T12:30:00.000000Z",
    "2026-03-10T23:59:59.999999Z",
    "2026-03-11T00:00:00.000000Z",
];

/// Audit rows at the given instants (written directly: the trail stamps rows with "now").
async fn rows_at(db: &Db) {
    let mut tx = db.begin().await.unwrap();
    for (i, at) in AT.iter().enumerate() {
        tx.exec(
            "INSERT INTO audit_log (seq, at, actor, entity, entity_id, action, outcome, changes, prev_hash, hash) \
             VALUES ($1, $2, 'test', 'day_filter', $3, 'view', 'ok', '{}', 'x', 'x')",
            &args![1_000_000 + i as i64, *at, i.to_string()],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn found(db: &Db, from: Option<&str>, to: Option<&str>) -> Vec<String> {
    let f = AuditFilter { entity: Some("day_filter".into()), from: from.map(Into::into), to: to.map(Into::into), ..Default::default() };
    let (rows, total) = audit::search(db, &Actor::system("test"), &f, 100, 0).await.unwrap();
    assert_eq!(total as usize, rows.len());
    let mut at: Vec<String> = rows.into_iter().map(|r| r.at).collect();
    at.sort();
    at
}

async fn check(db: &Db) {
    let day: Vec<String> = AT[1..4].iter().map(|s| s.to_string()).collect();
    assert_eq!(found(db, Some("2026-03-10"), Some("2026-03-10")).await, day, "a one-day range holds the whole day, up to 23:59:59.999999");
    assert_eq!(found(db, None, Some("2026-03-10")).await, AT[..4].to_vec());
    assert_eq!(found(db, Some("2026-03-11"), None).await, AT[4..].to_vec());
    assert_eq!(found(db, Some("2026-03-11"), Some("2026-03-10")).await, Vec::<String>::new());
    // Month and year ends roll over.
    assert_eq!(found(db, None, Some("2026-02-28")).await, Vec::<String>::new());
    let f = AuditFilter { to: Some("10/03/2026".into()), ..Default::default() };
    match audit::search(db, &Actor::system("test"), &f, 10, 0).await {
        Err(Error::Invalid(e)) => assert!(e.get("to").is_some(), "{e:?}"),
        other => panic!("a malformed day was accepted: {other:?}"),
    }
}

async fn audit_day_filters_are_half_open_ranges(t: TestDb) {
    let db = &t.db;
    rows_at(db).await;
    check(db).await;
    if db.backend() == Backend::Postgres {
        // A database created with a linguistic collation: ICU ignores punctuation at the first
        // level, so the former `at < 'YYYY-MM-DD~'` bound dropped the day's rows after 00:00.
        let mut tx = db.read().await.unwrap();
        let icu = tx.int("SELECT COUNT(*) FROM pg_collation WHERE collname = 'en-x-icu'", &[]).await.unwrap();
        tx.rollback().await.unwrap();
        if icu == 0 {
            eprintln!("collation en-x-icu absente : vérification ICU ignorée");
            return;
        }
        db.raw("ALTER TABLE audit_log ALTER COLUMN at TYPE TEXT COLLATE \"en-x-icu\"").await.unwrap();
        // Fresh connections (the pool's prepared statements know the old column type).
        db.close().await;
        let opts = quittance_store::DbOptions { pg_schema: t.schema.clone(), max_connections: 2, ..Default::default() };
        let db = &Db::open(&t.url, opts).await.unwrap();
        let mut tx = db.read().await.unwrap();
        let old_bound_keeps_the_evening = tx
            .int("SELECT COUNT(*) FROM audit_log WHERE entity = 'day_filter' AND at < '2026-03-10~'", &[])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(old_bound_keeps_the_evening < 4, "this collation must show the old bound's flaw");
        check(db).await;
    }
}
