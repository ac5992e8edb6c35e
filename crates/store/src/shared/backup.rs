//! Online backups.

use crate::db::Db;
use crate::error::Error;

/// SQLite: a consistent copy taken while the server runs (`VACUUM INTO`).
/// PostgreSQL: use `pg_dump` (see the README).
pub async fn backup(db: &Db, to: &std::path::Path) -> Result<(), Error> {
    if to.exists() {
        return Err(Error::Config(format!("le fichier de sauvegarde « {} » existe déjà", to.display())));
    }
    match db {
        Db::Sqlite(..) => {
            if let Db::Sqlite(p, _) = db {
                sqlx::query("VACUUM INTO $1").bind(to.to_string_lossy().to_string()).execute(p).await?;
            }
            Ok(())
        }
        Db::Postgres(..) => Err(Error::Config(
            "sauvegarde PostgreSQL : utilisez pg_dump (voir le README, section Sauvegardes)".into(),
        )),
    }
}
