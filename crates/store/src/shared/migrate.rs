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
    Migration {
        version: 7,
        name: "versions_care",
        sqlite: include_str!("../../migrations/sqlite/0007_versions_care.sql"),
        postgres: include_str!("../../migrations/postgres/0007_versions_care.sql"),
    },
    Migration {
        version: 8,
        name: "backends_imports",
        sqlite: include_str!("../../migrations/sqlite/0008_backends_imports.sql"),
        postgres: include_str!("../../migrations/postgres/0008_backends_imports.sql"),
    },
    Migration {
        version: 9,
        name: "versions_patients_admin",
        sqlite: include_str!("../../migrations/sqlite/0009_versions_patients_admin.sql"),
        postgres: include_str!("../../migrations/postgres/0009_versions_patients_admin.sql"),
    },
    Migration {
        version: 10,
        name: "user_roles_unique",
        sqlite: include_str!("../../migrations/sqlite/0010_user_roles_unique.sql"),
        postgres: include_str!("../../migrations/postgres/0010_user_roles_unique.sql"),
    },
    Migration {
        version: 11,
        name: "audit_history",
        sqlite: include_str!("../../migrations/sqlite/0011_audit_history.sql"),
        postgres: include_str!("../../migrations/postgres/0011_audit_history.sql"),
    },
    Migration {
        version: 12,
        name: "tariffs_parameters",
        sqlite: include_str!("../../migrations/sqlite/0012_tariffs_parameters.sql"),
        postgres: include_str!("../../migrations/postgres/0012_tariffs_parameters.sql"),
    },
    Migration {
        version: 13,
        name: "establishment_config_version",
        sqlite: include_str!("../../migrations/sqlite/0013_establishment_config_version.sql"),
        postgres: include_str!("../../migrations/postgres/0013_establishment_config_version.sql"),
    },
    Migration {
        version: 14,
        name: "stay_movements_acts",
        sqlite: include_str!("../../migrations/sqlite/0014_stay_movements_acts.sql"),
        postgres: include_str!("../../migrations/postgres/0014_stay_movements_acts.sql"),
    },
    Migration {
        version: 15,
        name: "activity",
        sqlite: include_str!("../../migrations/sqlite/0015_activity.sql"),
        postgres: include_str!("../../migrations/postgres/0015_activity.sql"),
    },
];

impl Migration {
    /// The script for `backend`.
    pub fn script(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    /// SHA-256 (hex) of the script for `backend`, as recorded in `schema_migrations.checksum`.
    pub fn checksum(&self, backend: Backend) -> String {
        crate::access::sha256_hex(self.script(backend))
    }
}

/// The one sentence that stops start-up when an applied migration's script changed.
pub fn edited_message(m: &Migration) -> String {
    format!(
        "La migration {} ({}) a été modifiée après avoir été appliquée à cette base (empreinte SHA-256 différente) : rétablissez son script d'origine et ajoutez une nouvelle migration pour tout changement.",
        m.version, m.name
    )
}

/// Applies the migrations not yet applied; returns the versions applied now.
///
/// Every applied migration's recorded checksum (SHA-256 of its script for this backend) is
/// checked first: an edited script stops with [`edited_message`] before anything is applied.
/// Rows recorded before checksums existed (NULL) get the current script's checksum on the
/// first run. On PostgreSQL an advisory lock keeps two starting servers from racing.
pub async fn migrate(db: &Db) -> Result<Vec<i64>, Error> {
    let backend = db.backend();
    {
        let mut tx = db.begin().await?;
        if backend == Backend::Postgres {
            tx.exec("SELECT pg_advisory_xact_lock(727271)", &[]).await?;
        }
        tx.raw(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL, checksum TEXT)",
        )
        .await?;
        // Databases created before checksums: add the column.
        let has_checksum = match backend {
            Backend::Sqlite => tx.int("SELECT COUNT(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'", &[]).await?,
            Backend::Postgres => {
                tx.int(
                    "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
                     AND table_name = 'schema_migrations' AND column_name = 'checksum'",
                    &[],
                )
                .await?
            }
        };
        if has_checksum == 0 {
            tx.raw("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT").await?;
        }
        let applied: Vec<(i64, Option<String>)> = tx.all("SELECT version, checksum FROM schema_migrations ORDER BY version", &[]).await?;
        for (version, stored) in applied {
            let Some(m) = MIGRATIONS.iter().find(|m| m.version == version) else { continue };
            let current = m.checksum(backend);
            match stored {
                Some(s) if s == current => {}
                Some(_) => return Err(Error::Config(edited_message(m))),
                None => {
                    tx.exec("UPDATE schema_migrations SET checksum = $1 WHERE version = $2", &crate::args![current, version]).await?;
                }
            }
        }
        tx.commit().await?;
    }
    let mut applied_now = Vec::new();
    for m in MIGRATIONS {
        let mut tx = db.begin().await?;
        if backend == Backend::Postgres {
            tx.exec("SELECT pg_advisory_xact_lock(727271)", &[]).await?;
        }
        let done = tx.int("SELECT COUNT(*) FROM schema_migrations WHERE version = $1", &[V::I(m.version)]).await?;
        if done > 0 {
            tx.rollback().await?;
            continue;
        }
        tx.raw(m.script(backend)).await?;
        tx.exec(
            "INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)",
            &crate::args![m.version, m.name, crate::db::now_text(), m.checksum(backend)],
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
