//! Embedded migrations, the same versions for both backends.

use crate::db::{Backend, Db, V};
use crate::error::Error;

/// One migration: version, name, SQLite script, PostgreSQL script.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "patients",
        sqlite: include_str!("../../migrations/sqlite/0002_patients.sql"),
        postgres: include_str!("../../migrations/postgres/0002_patients.sql"),
    },
    Migration {
        version: 3,
        name: "payers_stays_coverages",
        sqlite: include_str!("../../migrations/sqlite/0003_payers_stays_coverages.sql"),
        postgres: include_str!("../../migrations/postgres/0003_payers_stays_coverages.sql"),
    },
    Migration {
        version: 4,
        name: "prises_en_charge",
        sqlite: include_str!("../../migrations/sqlite/0004_prises_en_charge.sql"),
        postgres: include_str!("../../migrations/postgres/0004_prises_en_charge.sql"),
    },
    Migration {
        version: 5,
        name: "documents",
        sqlite: include_str!("../../migrations/sqlite/0005_documents.sql"),
        postgres: include_str!("../../migrations/postgres/0005_documents.sql"),
    },
    Migration {
        version: 6,
        name: "versions_pec_documents",
        sqlite: include_str!("../../migrations/sqlite/0006_versions_pec_documents.sql"),
        postgres: include_str!("../../migrations/postgres/0006_versions_pec_documents.sql"),
    },
];

/// Applies the migrations not yet applied; returns the versions applied now.
/// On PostgreSQL an advisory lock keeps two starting servers from racing.
pub async fn migrate(db: &Db) -> Result<Vec<i64>, Error> {
    db.raw(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .await?;
    let mut applied_now = Vec::new();
    for m in MIGRATIONS {
        let mut tx = db.begin().await?;
        if tx.backend() == Backend::Postgres {
            tx.exec("SELECT pg_advisory_xact_lock(727271)", &[]).await?;
        }
        let done = tx.int("SELECT COUNT(*) FROM schema_migrations WHERE version = $1", &[V::I(m.version)]).await?;
        if done > 0 {
            tx.rollback().await?;
            continue;
        }
        let script = match tx.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        tx.raw(script).await?;
        tx.exec(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &crate::args![m.version, m.name, crate::db::now_text()],
        )
        .await?;
        tx.commit().await?;
        applied_now.push(m.version);
    }
    Ok(applied_now)
}

/// Versions recorded in the database.
pub async fn applied_versions(db: &Db) -> Result<Vec<i64>, Error> {
    let mut tx = db.read().await?;
    let rows: Vec<(i64,)> = tx.all("SELECT version FROM schema_migrations ORDER BY version", &[]).await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
