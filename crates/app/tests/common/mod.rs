//! Shared helpers for the command-line tests: the binary run as a user would, and a
//! migrated SQLite database with establishments made by the store tests' fixtures.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use quittance_store::Db;

/// The store tests' builders, one per entity.
#[path = "../../../store/tests/common/fixtures.rs"]
pub mod fixtures;

/// What a run of the binary gave.
pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub out: String,
    pub err: String,
}

impl Run {
    /// (success, stdout, stderr).
    pub fn parts(self) -> (bool, String, String) {
        (self.ok, self.out, self.err)
    }
}

/// The binary with `args`, without the caller's database, configuration or log settings.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quittance"));
    c.args(args).env_remove("QUITTANCE_DATABASE").env_remove("QUITTANCE_CONFIG").env("QUITTANCE_LOG", "warn");
    c
}

/// Runs `c` to its end.
pub fn run(mut c: Command) -> Run {
    let out = c.output().expect("run quittance");
    Run { ok: out.status.success(), code: out.status.code(), out: String::from_utf8_lossy(&out.stdout).into(), err: String::from_utf8_lossy(&out.stderr).into() }
}

/// Runs `quittance args…`.
pub fn quittance(args: &[&str]) -> Run {
    run(command(args))
}

/// A migrated SQLite database in a temporary folder, with a runtime to reach it.
pub struct Base {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub rt: tokio::runtime::Runtime,
}

impl Base {
    /// With one [`fixtures::hospital`] per code.
    pub fn with_hospitals(codes: &[&str]) -> Base {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let db = Db::open(path.to_str().unwrap(), Default::default()).await.unwrap();
            quittance_store::migrate::migrate(&db).await.unwrap();
            for code in codes {
                fixtures::hospital(&db, code).await;
            }
            db.close().await;
        });
        Base { _dir: dir, path, rt }
    }

    pub fn db(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// Writes `content` to `name` next to the database.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path.parent().unwrap().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}
