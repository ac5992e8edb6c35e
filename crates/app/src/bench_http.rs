//! `quittance bench http`: the real server (router, sessions, pages, audited reads) on a
//! scratch database with the demo data set, loaded by concurrent HTTP/1.1 keep-alive
//! clients for a fixed time per kind of request; `/healthz` is the baseline of the run.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Request, StatusCode, header};
use clap::Args;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use quittance_store::documents::{Storage, StorageMode};
use quittance_store::{Db, DbOptions, args, demo, migrate};
use quittance_web::{AppState, WebConfig};

#[derive(Args)]
pub struct HttpArgs {
    /// Seconds of load per kind of request.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients (one keep-alive connection each).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Also measure on this PostgreSQL server (a scratch schema is created and dropped).
    #[arg(long, env = "QUITTANCE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Measure PostgreSQL only (with --postgres).
    #[arg(long)]
    postgres_only: bool,
    /// Database connections of the server (the pool size; `serve` uses 16 unless
    /// `max_connections` says otherwise).
    #[arg(long, default_value_t = 16)]
    connections: u32,
}

pub async fn run(a: HttpArgs) -> Result<(), String> {
    println!(
        "Banc d'essai « http » : {} clients concurrents, {} s par type de requête, données de démonstration ; {} cœur(s).",
        a.clients,
        a.seconds,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    if !(a.postgres_only && a.postgres.is_some()) {
        let dir = std::env::temp_dir().join(format!("quittance-bench-{}", quittance_store::access::random_hex(4)));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let db = Db::open(&dir.join("bench.db").to_string_lossy(), DbOptions { max_connections: a.connections, ..Default::default() })
            .await
            .map_err(|e| e.to_string())?;
        let r = bench(&db, "SQLite", &a).await;
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        r?;
    }
    match &a.postgres {
        Some(url) => {
            let (db, admin, schema) = crate::bench::scratch_pg(url, a.connections).await?;
            let r = bench(&db, "PostgreSQL", &a).await;
            db.close().await;
            admin.raw(&format!("DROP SCHEMA {schema} CASCADE")).await.map_err(|e| e.to_string())?;
            r
        }
        None => {
            println!("(PostgreSQL non mesuré : donnez --postgres postgres://… ou QUITTANCE_BENCH_POSTGRES_URL)");
            Ok(())
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Health,
    FileView,
    ApiView,
    Search,
    Worklist,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Health => "/healthz (référence)",
            Kind::FileView => "page dossier (auditée)",
            Kind::ApiView => "API dossier (audité)",
            Kind::Search => "recherche",
            Kind::Worklist => "dossiers en attente",
        }
    }
}

const SEARCHES: &[&str] = &["mar", "dup", "ber", "lef", "moreau", "gar", "rob", "pet", "dur", "lam", "fon", "mic"];

async fn bench(db: &Db, backend: &str, a: &HttpArgs) -> Result<(), String> {
    let e = |e: quittance_store::Error| e.to_string();
    let t0 = Instant::now();
    migrate::migrate(db).await.map_err(e)?;
    demo::seed(db).await.map_err(e)?;
    // The technician sees every file of the hospital: the file views go round them.
    let s = quittance_store::access::login(db, "technicien", demo::DEMO_PASSWORD, "127.0.0.1", None).await.map_err(e)?;
    let tech = quittance_store::access::find_user(db, "technicien").await.map_err(e)?.ok_or("compte de démonstration absent")?;
    let (_, api_key) = quittance_store::access::create_api_key(db, &quittance_store::Actor::system("bench"), tech.id, "bench http").await.map_err(e)?;
    let ids: Vec<i64> = {
        let mut tx = db.read().await.map_err(e)?;
        let v: Vec<(i64,)> = tx
            .all("SELECT p.id FROM patients p JOIN establishments e ON e.id = p.establishment_id WHERE e.code = $1 ORDER BY p.id", &args!["HSM"])
            .await
            .map_err(e)?;
        tx.rollback().await.map_err(e)?;
        v.into_iter().map(|r| r.0).collect()
    };
    let views_before = count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'view'").await?;
    println!("\n{backend} : base prête en {:.1} s ({} dossiers de l'hôpital).", t0.elapsed().as_secs_f64(), ids.len());

    let config = WebConfig { secure_cookies: false, documents: Storage { mode: StorageMode::Database, max_bytes: 10 * 1024 * 1024 }, ..WebConfig::default() };
    let app = quittance_web::router(AppState::new(db.clone(), config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    let cookie = format!("quittance_session={}", s.token);
    let bearer = format!("Bearer {api_key}");

    println!("{:<26} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}", "requête", "req/s", "moy. ms", "p50 ms", "p99 ms", "max ms", "erreurs");
    let mut file_views_ok = 0u64;
    for kind in [Kind::Health, Kind::FileView, Kind::ApiView, Kind::Search, Kind::Worklist] {
        let r = load(addr, &cookie, &bearer, &ids, kind, a.clients, Duration::from_secs(a.seconds)).await;
        if matches!(kind, Kind::FileView | Kind::ApiView) {
            file_views_ok += r.ok;
        }
        r.print(kind.label());
    }
    server.abort();
    // Every file view answered 200 has its committed audit row.
    let views = count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'view'").await? - views_before;
    let v = quittance_store::audit::verify(db).await.map_err(e)?;
    println!(
        "Piste d'audit : {views} ligne(s) « view » pour {file_views_ok} dossier(s) servi(s) (pages et API) ; chaînage {} ({} lignes).",
        if v.first_break.is_none() { "intègre" } else { "ROMPU" },
        v.checked
    );
    if views < file_views_ok as i64 || v.first_break.is_some() {
        return Err("des dossiers ont été servis sans leur ligne d'audit, ou la chaîne est rompue".into());
    }
    Ok(())
}

async fn count(db: &Db, sql: &str) -> Result<i64, String> {
    let mut tx = db.read().await.map_err(|e| e.to_string())?;
    let n = tx.int(sql, &[]).await.map_err(|e| e.to_string())?;
    tx.rollback().await.map_err(|e| e.to_string())?;
    Ok(n)
}

#[derive(Default)]
struct Figures {
    micros: Vec<u64>,
    ok: u64,
    errors: u64,
    elapsed: Duration,
}

impl Figures {
    fn print(mut self, label: &str) {
        self.micros.sort_unstable();
        let n = self.micros.len();
        let ms = |us: u64| us as f64 / 1000.0;
        let pct = |p: f64| if n == 0 { 0 } else { self.micros[((n as f64 * p).ceil() as usize).clamp(1, n) - 1] };
        let mean = if n == 0 { 0.0 } else { self.micros.iter().sum::<u64>() as f64 / n as f64 / 1000.0 };
        println!(
            "{:<26} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8}",
            label,
            n as f64 / self.elapsed.as_secs_f64().max(1e-9),
            mean,
            ms(pct(0.50)),
            ms(pct(0.99)),
            ms(self.micros.last().copied().unwrap_or(0)),
            self.errors
        );
    }
}

#[allow(clippy::too_many_arguments)]
async fn load(addr: SocketAddr, cookie: &str, bearer: &str, ids: &[i64], kind: Kind, clients: usize, duration: Duration) -> Figures {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let cookie = cookie.to_string();
        let bearer = bearer.to_string();
        let ids = ids.to_vec();
        tasks.push(tokio::spawn(async move {
            // One connection per client (a pool of one, kept alive).
            let mut conn = HttpConnector::new();
            conn.set_nodelay(true);
            let client: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1).build(conn);
            let mut f = Figures::default();
            let mut i = c;
            while Instant::now() < deadline {
                let path = match kind {
                    Kind::Health => "/healthz".to_string(),
                    Kind::FileView => format!("/patients/{}", ids[i % ids.len().max(1)]),
                    Kind::ApiView => format!("/api/v1/patients/{}", ids[i % ids.len().max(1)]),
                    Kind::Search => format!("/patients/resultats?q={}", SEARCHES[i % SEARCHES.len()]),
                    Kind::Worklist => "/dossiers-en-attente".to_string(),
                };
                i += clients;
                let req = Request::get(format!("http://{addr}{path}"));
                let req = if kind == Kind::ApiView { req.header(header::AUTHORIZATION, &bearer) } else { req.header(header::COOKIE, &cookie) };
                let req = req.body(Empty::new());
                let Ok(req) = req else {
                    f.errors += 1;
                    continue;
                };
                let t = Instant::now();
                let ok = match client.request(req).await {
                    Ok(res) => {
                        let status = res.status();
                        let body = res.into_body().collect().await;
                        status == StatusCode::OK && body.is_ok()
                    }
                    Err(_) => false,
                };
                f.micros.push(t.elapsed().as_micros() as u64);
                if ok {
                    f.ok += 1;
                } else {
                    f.errors += 1;
                }
            }
            f
        }));
    }
    let mut all = Figures::default();
    for t in tasks {
        if let Ok(f) = t.await {
            all.micros.extend(f.micros);
            all.ok += f.ok;
            all.errors += f.errors;
        }
    }
    all.elapsed = start.elapsed();
    all
}
