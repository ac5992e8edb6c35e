//! Plumbing every capability uses: the database handle and transactions, migrations, the
//! acting user, errors, gapless numbering, backups, and the decoding of codes in rows. Re-exported at the crate root.

pub mod actor;
pub mod backup;
pub mod db;
pub mod error;
pub mod imports;
pub mod migrate;
pub mod numbering;
pub mod rows;
