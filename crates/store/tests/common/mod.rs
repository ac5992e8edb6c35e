//! Opens a fresh database per test: a SQLite file in a temporary folder, or a
//! schema of its own on the PostgreSQL server named by `QUITTANCE_TEST_POSTGRES_URL`
//! (dropped when the test ends, see `pg_schema`).
#![allow(dead_code)]

pub mod check;
pub mod fixtures;
pub mod pg_schema;
pub mod typed;

use std::io::Write;

use quittance_store::{Db, DbOptions, migrate};

pub struct TestDb {
    pub db: Db,
    pub url: String,
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
    // Declared last: dropped after `db`, it drops the PostgreSQL schema.
    _pg: Option<pg_schema::TestSchema>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("test.db").to_string_lossy().to_string();
    let db = Db::open(&url, DbOptions::default()).await.expect("open sqlite");
    migrate::migrate(&db).await.expect("migrate sqlite");
    TestDb { db, url, schema: None, _dir: Some(dir), _pg: None }
}

/// `None` (and a note on stderr) when no PostgreSQL URL is configured.
pub async fn postgres() -> Option<TestDb> {
    let Ok(url) = std::env::var("QUITTANCE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("QUITTANCE_REQUIRE_POSTGRES").is_err(),
            "QUITTANCE_REQUIRE_POSTGRES est posé mais QUITTANCE_TEST_POSTGRES_URL manque"
        );
        let _ = writeln!(std::io::stderr(), "QUITTANCE_TEST_POSTGRES_URL absent : test PostgreSQL ignoré");
        return None;
    };
    let guard = pg_schema::TestSchema::create(&url).await;
    let schema = guard.name.clone();
    let db = Db::open(&url, DbOptions { pg_schema: Some(schema.clone()), max_connections: 10, ..Default::default() })
        .await
        .expect("open postgres");
    migrate::migrate(&db).await.expect("migrate postgres");
    Some(TestDb { db, url, schema: Some(schema), _dir: None, _pg: Some(guard) })
}

/// Runs `$body(TestDb)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let t = super::common::sqlite().await;
                    super::$name(t).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    if let Some(t) = super::common::postgres().await {
                        super::$name(t).await;
                    }
                }
            }
        )*
    };
}

/// Logs a user in (as the web layer does) and returns the session's actor, with
/// the current establishment and site the session starts with.
pub async fn login_actor(db: &Db, username: &str, password: &str) -> quittance_store::Actor {
    let s = quittance_store::access::login(db, username, password, "10.0.0.9", None)
        .await
        .unwrap_or_else(|e| panic!("login of {username}: {e:?}"));
    quittance_store::access::session(db, &s.token).await.expect("session of a fresh login").actor
}

/// Like [`contract!`], for tests that document a known application bug: both
/// variants are `#[ignore]`d with `$reason` (run them with `--ignored`).
#[macro_export]
macro_rules! contract_ignored {
    ($reason:literal; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[ignore = $reason]
                async fn sqlite() {
                    let t = super::common::sqlite().await;
                    super::$name(t).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[ignore = $reason]
                async fn postgres() {
                    if let Some(t) = super::common::postgres().await {
                        super::$name(t).await;
                    }
                }
            }
        )*
    };
}
