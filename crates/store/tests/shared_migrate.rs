//! Migrations: a checksum per applied migration, checked at every start, on both
//! backends; and the per-test PostgreSQL schemas are dropped when a test ends.

mod common;

use common::TestDb;
use quittance_store::{Db, args, migrate};

contract!(checksums_are_recorded_and_checked, databases_without_checksums_get_them);

async fn checksums(db: &Db) -> Vec<(i64, Option<String>)> {
    let mut tx = db.read().await.unwrap();
    let rows = tx.all("SELECT version, checksum FROM schema_migrations ORDER BY version", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    rows
}

fn expected(db: &Db) -> Vec<(i64, Option<String>)> {
    migrate::MIGRATIONS.iter().map(|m| (m.version, Some(m.checksum(db.backend())))).collect()
}

async fn set_checksum(db: &Db, version: i64, value: Option<&str>) {
    let mut tx = db.begin().await.unwrap();
    tx.exec("UPDATE schema_migrations SET checksum = $1 WHERE version = $2", &args![value, version]).await.unwrap();
    tx.commit().await.unwrap();
}

async fn checksums_are_recorded_and_checked(t: TestDb) {
    let db = &t.db;
    assert_eq!(checksums(db).await, expected(db), "each applied migration records the SHA-256 of its script");
    let m3 = migrate::MIGRATIONS.iter().find(|m| m.version == 3).unwrap();
    assert_eq!(m3.checksum(db.backend()).len(), 64);
    assert_ne!(m3.checksum(quittance_store::Backend::Sqlite), m3.checksum(quittance_store::Backend::Postgres));

    // The script of applied migration 3 was edited (as its stored checksum now differs).
    set_checksum(db, 3, Some("0000000000000000000000000000000000000000000000000000000000000000")).await;
    let err = migrate::migrate(db).await.expect_err("an edited applied migration stops the start");
    let text = err.to_string();
    assert_eq!(text, migrate::edited_message(m3));
    assert!(text.starts_with("La migration 3 (payers_stays_coverages) a été modifiée"), "{text}");
    assert_eq!(text.matches(". ").count() + text.matches('\n').count(), 0, "one sentence: {text}");
    // Nothing was touched: the stored checksum stays as it was, and it keeps failing.
    assert!(migrate::migrate(db).await.is_err());

    set_checksum(db, 3, Some(&m3.checksum(db.backend()))).await;
    assert!(migrate::migrate(db).await.unwrap().is_empty());
}

async fn databases_without_checksums_get_them(t: TestDb) {
    let db = &t.db;
    // A database migrated before checksums existed: no column at all.
    db.raw("ALTER TABLE schema_migrations DROP COLUMN checksum").await.unwrap();
    assert!(migrate::migrate(db).await.unwrap().is_empty());
    assert_eq!(checksums(db).await, expected(db), "the first run records the current scripts' checksums");
    // A row recorded without checksum is filled in the same way.
    set_checksum(db, 1, None).await;
    assert!(migrate::migrate(db).await.unwrap().is_empty());
    assert_eq!(checksums(db).await, expected(db));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_test_schemas_are_dropped_at_the_end_of_a_test() {
    let Some(t) = common::postgres().await else { return };
    let url = t.url.clone();
    let name = t.schema.clone().unwrap();
    assert!(common::pg_schema::exists(&url, &name).await);
    drop(t);
    assert!(!common::pg_schema::exists(&url, &name).await, "schema {name} left behind");

    // Also when the test panics.
    let (tx, rx) = std::sync::mpsc::channel();
    let panicked = std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            let t = common::postgres().await.unwrap();
            tx.send(t.schema.clone().unwrap()).unwrap();
            let mut q = t.db.begin().await.unwrap();
            q.exec("INSERT INTO establishments (code, name, kind, currency, timezone, created_at, updated_at) VALUES ('X', 'X', 'hopital', 'EUR', 'UTC', 'x', 'x')", &[])
                .await
                .ok();
            panic!("a failing test");
        })
    })
    .join();
    assert!(panicked.is_err());
    let name = rx.recv().unwrap();
    assert!(!common::pg_schema::exists(&url, &name).await, "schema {name} of a panicked test left behind");
}
