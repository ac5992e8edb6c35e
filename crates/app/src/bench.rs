//! `quittance bench …`: figures printed beside a baseline measured in the same run.

use std::time::Instant;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use quittance_store::establishments::{self, EstablishmentInput};
use quittance_store::{Actor, Db, DbOptions, args, migrate, numbering};

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Numbers allocated per second (each in its own transaction that also writes
    /// the document row), beside plain single-row insert transactions.
    Numbering {
        /// Numbers to allocate (and plain rows to insert).
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        /// Concurrent writers.
        #[arg(long, default_value_t = 8)]
        concurrency: u64,
        /// Also measure on this PostgreSQL server (a scratch schema is created and dropped).
        #[arg(long, env = "QUITTANCE_BENCH_POSTGRES_URL")]
        postgres: Option<String>,
    },
    /// Creates COUNT synthetic patients, then measures search latency (p50/p95/p99)
    /// for typical queries, alone and with concurrent clients, beside an exact-IPP lookup.
    /// Billing readiness of COUNT open files computed in one pass, beside a plain
    /// scan of the same rows.
    /// Every stay valued (forfait journalier and daily tariff by the dated tariffs) from the
    /// database, beside a plain read of the same rows.
    Valuation {
        #[arg(long, default_value_t = 30_000)]
        stays: u64,
        /// Days of each stay.
        #[arg(long, default_value_t = 30)]
        days: u64,
        #[arg(long, env = "QUITTANCE_BENCH_POSTGRES_URL")]
        postgres: Option<String>,
    },
    Readiness {
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        #[arg(long, env = "QUITTANCE_BENCH_POSTGRES_URL")]
        postgres: Option<String>,
    },
    Patients {
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// Queries per kind and per run.
        #[arg(long, default_value_t = 2_000)]
        queries: u64,
        /// Concurrent clients of the second run.
        #[arg(long, default_value_t = 32)]
        clients: u64,
        /// Also measure on this PostgreSQL server (a scratch schema is created and dropped).
        #[arg(long, env = "QUITTANCE_BENCH_POSTGRES_URL")]
        postgres: Option<String>,
    },
}

pub async fn run(cmd: BenchCmd, _database: &str) -> Result<(), String> {
    match cmd {
        BenchCmd::Valuation { stays, days, postgres } => {
            println!("Banc d'essai « valorisation » : {stays} séjours de {days} jours.");
            let dir = std::env::temp_dir().join(format!("quittance-bench-{}", quittance_store::access::random_hex(4)));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let db = Db::open(&dir.join("bench.db").to_string_lossy(), DbOptions::default()).await.map_err(|e| e.to_string())?;
            let r = crate::bench_valuation::run(&db, "SQLite", stays, days).await;
            db.close().await;
            let _ = std::fs::remove_dir_all(&dir);
            r?;
            if let Some(url) = postgres {
                let (db, admin, schema) = scratch_pg(&url, 4).await?;
                let r = crate::bench_valuation::run(&db, "PostgreSQL", stays, days).await;
                db.close().await;
                admin.raw(&format!("DROP SCHEMA {schema} CASCADE")).await.map_err(|e| e.to_string())?;
                r?;
            } else {
                println!("(PostgreSQL non mesuré : donnez --postgres postgres://… ou QUITTANCE_BENCH_POSTGRES_URL)");
            }
            Ok(())
        }
        BenchCmd::Readiness { count, postgres } => {
            println!("Banc d'essai « facturabilité » : {count} dossiers ouverts.");
            // QUITTANCE_BENCH_KEEP=DIR keeps the SQLite file there for inspection.
            let keep = std::env::var("QUITTANCE_BENCH_KEEP").ok();
            let dir = keep.clone().map(std::path::PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join(format!("quittance-bench-{}", quittance_store::access::random_hex(4))));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let db = Db::open(&dir.join("bench.db").to_string_lossy(), DbOptions::default()).await.map_err(|e| e.to_string())?;
            let r = crate::bench_readiness::run(&db, "SQLite", count).await;
            db.close().await;
            if keep.is_none() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            r?;
            if let Some(url) = postgres {
                let (db, admin, schema) = scratch_pg(&url, 4).await?;
                let r = crate::bench_readiness::run(&db, "PostgreSQL", count).await;
                db.close().await;
                admin.raw(&format!("DROP SCHEMA {schema} CASCADE")).await.map_err(|e| e.to_string())?;
                r?;
            }
            Ok(())
        }
        BenchCmd::Patients { count, queries, clients, postgres } => {
            println!("Banc d'essai « patients » : {count} dossiers, {queries} requêtes par type, puis {clients} clients concurrents.");
            // QUITTANCE_BENCH_KEEP=DIR keeps the SQLite file there for inspection.
            let keep = std::env::var("QUITTANCE_BENCH_KEEP").ok();
            let dir = keep.clone().map(std::path::PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join(format!("quittance-bench-{}", quittance_store::access::random_hex(4))));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let path = dir.join("bench.db");
            let db = Db::open(&path.to_string_lossy(), DbOptions { max_connections: clients as u32 + 2, ..Default::default() })
                .await
                .map_err(|e| e.to_string())?;
            let r = crate::bench_patients::run(&db, "SQLite", count, queries, clients).await;
            db.close().await;
            if keep.is_none() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            r?;
            if let Some(url) = postgres {
                let (db, admin, schema) = scratch_pg(&url, clients as u32).await?;
                let r = crate::bench_patients::run(&db, "PostgreSQL", count, queries, clients).await;
                db.close().await;
                admin.raw(&format!("DROP SCHEMA {schema} CASCADE")).await.map_err(|e| e.to_string())?;
                r?;
            } else {
                println!("(PostgreSQL non mesuré : donnez --postgres postgres://… ou QUITTANCE_BENCH_POSTGRES_URL)");
            }
            Ok(())
        }
        BenchCmd::Numbering { count, concurrency, postgres } => {
            println!("Banc d'essai « numérotation » : {count} numéros, {concurrency} écrivains concurrents.");
            let dir = std::env::temp_dir().join(format!("quittance-bench-{}", quittance_store::access::random_hex(4)));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let path = dir.join("bench.db");
            let db = Db::open(&path.to_string_lossy(), DbOptions::default()).await.map_err(|e| e.to_string())?;
            let r = numbering_bench(&db, "SQLite", count, concurrency).await;
            db.close().await;
            let _ = std::fs::remove_dir_all(&dir);
            r?;
            if let Some(url) = postgres {
                let (db, admin, schema) = scratch_pg(&url, concurrency as u32).await?;
                let r = numbering_bench(&db, "PostgreSQL", count, concurrency).await;
                db.close().await;
                admin.raw(&format!("DROP SCHEMA {schema} CASCADE")).await.map_err(|e| e.to_string())?;
                r?;
            } else {
                println!("(PostgreSQL non mesuré : donnez --postgres postgres://… ou QUITTANCE_BENCH_POSTGRES_URL)");
            }
            Ok(())
        }
    }
}

pub fn bar(len: u64, label: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} ({per_sec})").unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "));
    pb.set_message(label.to_string());
    pb
}

async fn numbering_bench(db: &Db, backend: &str, count: u64, concurrency: u64) -> Result<(), String> {
    let e = |e: quittance_store::Error| e.to_string();
    migrate::migrate(db).await.map_err(e)?;
    let op = Actor::system("bench");
    let est = establishments::create(
        db,
        &op,
        &establishments::parse_establishment(&EstablishmentInput {
            code: "BENCH".into(),
            name: "Banc d'essai".into(),
            kind: "hopital".into(),
            currency: "EUR".into(),
            timezone: "Europe/Paris".into(),
            ..Default::default()
        }).map_err(quittance_store::Error::Invalid).map_err(e)?,
    )
    .await
    .map_err(e)?;
    establishments::save_series(db, &op, est.id, None, &establishments::parse_series(&establishments::SeriesInput { code: "FAC".into(), label: "Factures".into(), mask: "FAC-{YYYY}-{N:6}".into() }).map_err(quittance_store::Error::Invalid).map_err(e)?).await.map_err(e)?;
    db.raw("CREATE TABLE bench_plain (n BIGINT NOT NULL, label TEXT NOT NULL); CREATE TABLE bench_docs (number TEXT NOT NULL UNIQUE, n BIGINT NOT NULL)")
        .await
        .map_err(e)?;

    let per_task = count / concurrency;
    let total = per_task * concurrency;

    // Baseline: one plain insert per transaction.
    let pb = bar(total, "insertions simples");
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let db = db.clone();
        let pb = pb.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_task {
                let mut tx = db.begin().await?;
                tx.exec("INSERT INTO bench_plain (n, label) VALUES ($1, $2)", &args![(w * per_task + i) as i64, "ligne"]).await?;
                tx.commit().await?;
                pb.inc(1);
            }
            Ok::<(), quittance_store::Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?.map_err(e)?;
    }
    let plain = t0.elapsed();
    pb.finish_and_clear();

    // Numbering: allocate and write the document row in one transaction.
    let pb = bar(total, "numéros alloués");
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let db = db.clone();
        let pb = pb.clone();
        let est_id = est.id;
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_task {
                let mut tx = db.begin().await?;
                let (n, number) = numbering::allocate(&mut tx, est_id, "FAC", 2026).await?;
                tx.exec("INSERT INTO bench_docs (number, n) VALUES ($1, $2)", &args![number, n as i64]).await?;
                tx.commit().await?;
                pb.inc(1);
            }
            Ok::<(), quittance_store::Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?.map_err(e)?;
    }
    let numbered = t0.elapsed();
    pb.finish_and_clear();

    let mut tx = db.read().await.map_err(e)?;
    let (n, distinct, max): (i64, i64, i64) = tx
        .one("SELECT COUNT(*), COUNT(DISTINCT number), COALESCE(MAX(n), 0) FROM bench_docs", &[])
        .await
        .map_err(e)?;
    tx.rollback().await.map_err(e)?;
    let ok = n == total as i64 && distinct == n && max == n;

    let rate = |d: std::time::Duration| total as f64 / d.as_secs_f64();
    println!("\n{backend} :");
    println!("  insertions simples (1 ligne/transaction) : {:>10} /s  ({:.2} s)", fr_int(rate(plain)), plain.as_secs_f64());
    println!("  numéros alloués    (1 numéro/transaction) : {:>10} /s  ({:.2} s)", fr_int(rate(numbered)), numbered.as_secs_f64());
    println!("  rapport numérotation / insertion simple   : {:.2}", rate(numbered) / rate(plain));
    println!("  contrôle : {n} numéros, {distinct} distincts, dernier = {max} → {}", if ok { "sans trou ni doublon" } else { "ANOMALIE" });
    if ok { Ok(()) } else { Err("la numérotation a produit un trou ou un doublon".into()) }
}

pub fn fr_int(x: f64) -> String {
    quittance_domain::fr::format_int_fr(x.round() as i64)
}

/// A PostgreSQL scratch schema for a benchmark: (db in the schema, admin handle, schema name).
pub async fn scratch_pg(url: &str, connections: u32) -> Result<(Db, Db, String), String> {
    let schema = format!("bench_{}", quittance_store::access::random_hex(4));
    let admin = Db::open(url, DbOptions { max_connections: 2, ..Default::default() }).await.map_err(|e| e.to_string())?;
    admin.raw(&format!("CREATE SCHEMA {schema}")).await.map_err(|e| e.to_string())?;
    let db = Db::open(url, DbOptions { pg_schema: Some(schema.clone()), max_connections: connections + 2, ..Default::default() })
        .await
        .map_err(|e| e.to_string())?;
    Ok((db, admin, schema))
}
