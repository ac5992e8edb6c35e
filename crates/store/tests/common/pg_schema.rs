//! A PostgreSQL schema of its own per test, dropped when the test ends (also when it
//! panics: the guard's `Drop` runs while the test unwinds). Schemas are named
//! `qt_<unix seconds>_<random>`; the first schema a test process creates also drops those
//! left over (e.g. by a killed run) that are older than one hour.
//! Shared by the store and web test suites (`#[path]`-included by the web one).
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};

use quittance_store::{Db, DbOptions};

/// How old a leftover test schema must be before a new test process drops it (a schema
/// of a run still going on elsewhere is younger than that).
const STALE_AFTER_SECS: i64 = 3600;

static SWEPT: AtomicBool = AtomicBool::new(false);

/// Drops the schema when dropped.
pub struct TestSchema {
    pub url: String,
    pub name: String,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The creation time encoded in a test schema's name.
fn created_at(name: &str) -> Option<i64> {
    name.strip_prefix("qt_")?.split('_').next()?.parse().ok()
}

impl TestSchema {
    /// Creates a fresh, empty schema on the server at `url`.
    pub async fn create(url: &str) -> TestSchema {
        let name = format!("qt_{}_{}", now_secs(), quittance_store::access::random_hex(6));
        let admin = Db::open(url, DbOptions { max_connections: 1, ..Default::default() }).await.expect("PostgreSQL reachable");
        if !SWEPT.swap(true, Ordering::SeqCst) {
            sweep_stale(&admin).await;
        }
        admin.raw(&format!("CREATE SCHEMA {name}")).await.expect("create schema");
        admin.close().await;
        TestSchema { url: url.to_string(), name }
    }
}

/// Drops the test schemas older than [`STALE_AFTER_SECS`].
async fn sweep_stale(admin: &Db) {
    let mut tx = admin.read().await.expect("read transaction");
    let names: Vec<(String,)> = tx
        .all("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'qt\\_%'", &[])
        .await
        .expect("list test schemas");
    tx.rollback().await.expect("rollback");
    let cutoff = now_secs() - STALE_AFTER_SECS;
    for (name,) in names {
        if created_at(&name).is_some_and(|t| t < cutoff) {
            let _ = admin.raw(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await;
        }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let name = self.name.clone();
        // `Drop` cannot await, and may run inside the test's runtime: drop the schema from a
        // thread with a runtime of its own. A lock still held by a connection of a panicked
        // test makes it give up after a few seconds; the next run's sweep drops it then.
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(admin) = Db::open(&url, DbOptions { max_connections: 1, ..Default::default() }).await {
                    let _ = admin.raw(&format!("SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {name} CASCADE")).await;
                    admin.close().await;
                }
            });
        });
        let _ = done.join();
    }
}

/// Whether a schema named `name` exists on the server at `url`.
pub async fn exists(url: &str, name: &str) -> bool {
    let admin = Db::open(url, DbOptions { max_connections: 1, ..Default::default() }).await.expect("PostgreSQL reachable");
    let mut tx = admin.read().await.expect("read transaction");
    let n = tx
        .int("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1", &quittance_store::args![name.to_string()])
        .await
        .expect("count schemas");
    tx.rollback().await.expect("rollback");
    admin.close().await;
    n == 1
}
