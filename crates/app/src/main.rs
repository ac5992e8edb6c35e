//! `quittance`: the web service and the command line, one binary.

mod bench;
mod bench_http;
mod bench_patients;
mod bench_readiness;
mod bench_valuation;
mod config;
mod import;
mod import_activity;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use quittance_domain::access::{Grant, Role};
use quittance_store::access::{self as auth, NewUser};
use quittance_store::{Actor, Db, DbOptions, demo, establishments, migrate};
use quittance_web::{AppState, WebConfig};

use crate::config::FileConfig;

#[derive(Parser)]
#[command(name = "quittance", version, about = "Quittance — facturation et recettes des établissements de santé")]
struct Cli {
    /// TOML configuration file (keys: database, bind, insecure_cookies, log, max_connections, documents_folder, documents_max_mib,
    /// trusted_proxies, audit_key, audit_anchors, audit_anchor_minutes).
    #[arg(long, global = true, env = "QUITTANCE_CONFIG")]
    config: Option<PathBuf>,
    /// Database: a SQLite file path (default ./quittance.db) or a postgres:// URL.
    #[arg(long, global = true, env = "QUITTANCE_DATABASE")]
    database: Option<String>,
    /// Folder for filed documents (shared between servers); default: in the database.
    #[arg(long, global = true, env = "QUITTANCE_DOCUMENTS_FOLDER")]
    documents_folder: Option<PathBuf>,
    /// Largest accepted upload, in Mio (default 10).
    #[arg(long, global = true, env = "QUITTANCE_DOCUMENTS_MAX_MIB")]
    documents_max_mib: Option<u64>,
    /// Reverse proxies whose X-Forwarded-For is believed for the client address (comma-separated IPs or
    /// CIDRs, e.g. 127.0.0.1,10.0.0.0/8); default none: the socket peer is the client.
    #[arg(long, global = true, env = "QUITTANCE_TRUSTED_PROXIES")]
    trusted_proxies: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and the API.
    Serve(ServeArgs),
    /// Apply the database migrations.
    Migrate,
    /// Create a training database if needed, print the logins and serve.
    Demo(DemoArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCmd),
    /// Audit trail tools.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Consistent copy of a SQLite database, safe while the server runs.
    Backup {
        /// Destination file (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Import data files (CSV or JSON).
    #[command(subcommand)]
    Import(import::ImportCmd),
    /// Benchmarks that print figures beside a baseline measured in the same run.
    #[command(subcommand)]
    Bench(BenchCmds),
    /// Billing: what a stay would bill.
    #[command(subcommand)]
    Bill(BillCmd),
}

#[derive(Subcommand)]
enum BillCmd {
    /// What a stay would bill today (or on --date): each charge with its tariff code, days,
    /// unit price, amount and explanation, and what is not billed and why.
    Preview {
        #[arg(long)]
        stay: i64,
        /// JJ/MM/AAAA (default: today in the establishment's time zone).
        #[arg(long)]
        date: Option<String>,
        /// JSON instead of text (amounts as French strings and as integer minor units).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BenchCmds {
    /// The HTTP server under 32 concurrent clients: audited file views, searches and
    /// worklist pages per second (mean, p50, p99, max), beside `/healthz` in the same run.
    Http(bench_http::HttpArgs),
    #[command(flatten)]
    Other(bench::BenchCmd),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "QUITTANCE_BIND")]
    bind: Option<String>,
    /// Cookies without `Secure` (only for plain HTTP from another host; avoid).
    #[arg(long, env = "QUITTANCE_INSECURE_COOKIES")]
    insecure_cookies: Option<bool>,
}

#[derive(Args)]
struct DemoArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "QUITTANCE_BIND")]
    bind: Option<String>,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user; prints the temporary password (to change at first login).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        email: String,
        /// Role code: administrateur, technicien_facturation, secretaire_medicale,
        /// regisseur_titulaire, regisseur_suppleant, mandataire, controleur_financier, comptable, auditeur.
        #[arg(long)]
        role: String,
        /// Establishment code (e.g. HSM).
        #[arg(long)]
        establishment: String,
        /// Site code, to limit the role to one site.
        #[arg(long)]
        site: Option<String>,
    },
    /// List users and their roles.
    List,
    /// Disable a user (ends their sessions).
    Disable { username: String },
    /// Re-enable a user.
    Enable { username: String },
    /// Set a new temporary password (to change at next login).
    ResetPassword { username: String },
}

#[derive(Subcommand)]
enum ApiKeyCmd {
    /// Create an API key acting with a user's roles; prints the secret once.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
    },
    /// Revoke an API key by its number.
    Revoke { id: i64 },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; reports the first altered, removed or inserted row. With
    /// `--anchors`, also checks the trail against the anchors (needs the audit key).
    Verify {
        /// Folder of anchors (default: `audit_anchors` / QUITTANCE_AUDIT_ANCHORS when set).
        #[arg(long)]
        anchors: Option<PathBuf>,
    },
    /// Write the chain's head, signed with the audit key, to the anchors folder.
    Anchor {
        /// Folder of anchors (default: `audit_anchors` / QUITTANCE_AUDIT_ANCHORS).
        #[arg(long)]
        to: Option<PathBuf>,
    },
}

fn operator() -> Actor {
    Actor::system(&std::env::var("USER").unwrap_or_else(|_| "operateur".into()))
}

struct Settings {
    database: String,
    file: FileConfig,
    /// `QUITTANCE_AUDIT_KEY`, else `audit_key`.
    audit_key: Option<String>,
    /// `QUITTANCE_AUDIT_ANCHORS`, else `audit_anchors`.
    audit_anchors: Option<PathBuf>,
    documents_folder: Option<PathBuf>,
    documents_max_mib: Option<u64>,
    trusted_proxies: Option<String>,
}

async fn open(s: &Settings) -> Result<Db, String> {
    let opts = DbOptions { max_connections: s.file.max_connections.unwrap_or(16), ..Default::default() };
    Db::open(&s.database, opts).await.map_err(|e| e.to_string())
}

async fn open_migrated(s: &Settings) -> Result<Db, String> {
    let db = open(s).await?;
    migrate::migrate(&db).await.map_err(|e| format!("migration impossible : {e}"))?;
    // Establishments created before the billing engine get their territory's tariffs and parameters once.
    quittance_store::billing::territory::seed_missing(&db).await.map_err(|e| format!("tarifs du territoire : {e}"))?;
    Ok(db)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let file = match FileConfig::load(cli.config.as_deref()) {
        Ok(f) => f,
        Err(m) => {
            eprintln!("quittance : {m}");
            return ExitCode::from(2);
        }
    };
    let filter = std::env::var("QUITTANCE_LOG").ok().or_else(|| file.log.clone()).unwrap_or_else(|| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let default_db = if matches!(cli.command, Command::Demo(_)) { "./quittance-demo.db" } else { "./quittance.db" };
    let database = cli.database.clone().or_else(|| file.database.clone()).unwrap_or_else(|| default_db.to_string());
    let audit_key = std::env::var("QUITTANCE_AUDIT_KEY").ok().filter(|k| !k.is_empty()).or_else(|| file.audit_key.clone());
    let audit_anchors = std::env::var_os("QUITTANCE_AUDIT_ANCHORS").filter(|v| !v.is_empty()).map(PathBuf::from).or_else(|| file.audit_anchors.clone());
    let settings = Settings {
        database,
        file,
        audit_key,
        audit_anchors,
        documents_folder: cli.documents_folder.clone(),
        documents_max_mib: cli.documents_max_mib,
        trusted_proxies: cli.trusted_proxies.clone(),
    };
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(m) => {
            eprintln!("quittance : {m}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, s: Settings) -> Result<(), String> {
    match command {
        Command::Serve(a) => {
            let bind = a.bind.or_else(|| s.file.bind.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
            let insecure = a.insecure_cookies.or(s.file.insecure_cookies).unwrap_or(false);
            let db = open_migrated(&s).await?;
            serve(db, &bind, web_config(&s, !insecure)?, None, anchoring(&s)?).await
        }
        Command::Migrate => {
            let db = open(&s).await?;
            let applied = migrate::migrate(&db).await.map_err(|e| e.to_string())?;
            quittance_store::billing::territory::seed_missing(&db).await.map_err(|e| format!("tarifs du territoire : {e}"))?;
            let all = migrate::applied_versions(&db).await.map_err(|e| e.to_string())?;
            println!("Migrations appliquées maintenant : {applied:?} ; version du schéma : {}", all.last().copied().unwrap_or(0));
            Ok(())
        }
        Command::Demo(a) => {
            let bind = a.bind.or_else(|| s.file.bind.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
            let db = open_migrated(&s).await?;
            let fresh = !demo::is_seeded(&db).await.map_err(|e| e.to_string())?;
            if fresh {
                demo::seed(&db).await.map_err(|e| format!("données de démonstration : {e}"))?;
            }
            let mut banner = String::new();
            banner.push_str(&format!(
                "\nQuittance — démonstration ({}) : {}\n",
                if fresh { "base créée" } else { "base existante" },
                quittance_store::db::redact(&s.database)
            ));
            banner.push_str(&format!("Ouvrez {}\n\n", public_url(&bind)));
            banner.push_str(&format!("{:<28} {:<12} {:<16} {}\n", "Rôle", "Identifiant", "Mot de passe", "Périmètre"));
            for l in demo::logins() {
                banner.push_str(&format!("{:<28} {:<12} {:<16} {}\n", l.role, l.username, l.password, l.scope));
            }
            serve(db, &bind, web_config(&s, true)?, Some(banner), anchoring(&s)?).await
        }
        Command::User(cmd) => user_cmd(cmd, &s).await,
        Command::Apikey(cmd) => {
            let db = open_migrated(&s).await?;
            let op = operator();
            match cmd {
                ApiKeyCmd::Create { user, name } => {
                    let u = auth::find_user(&db, &user).await.map_err(|e| e.to_string())?.ok_or(format!("utilisateur « {user} » inconnu"))?;
                    let (id, secret) = auth::create_api_key(&db, &op, u.id, &name).await.map_err(|e| e.to_string())?;
                    println!("Clé n° {id} créée pour {} ; secret (affiché une seule fois) :\n{secret}", u.username);
                }
                ApiKeyCmd::Revoke { id } => {
                    auth::revoke_api_key(&db, &op, id).await.map_err(|e| e.to_string())?;
                    println!("Clé n° {id} révoquée.");
                }
            }
            Ok(())
        }
        Command::Audit(AuditCmd::Verify { anchors }) => {
            let db = open(&s).await?;
            let r = quittance_store::audit::verify(&db).await.map_err(|e| e.to_string())?;
            if let Some(b) = r.first_break {
                return Err(format!("piste d'audit altérée : {b} ({} ligne(s) intègres avant)", r.checked));
            }
            println!("Piste d'audit intègre : {} ligne(s) vérifiée(s), tête n° {}.", r.checked, r.head_seq);
            let Some(dir) = anchors.or_else(|| s.audit_anchors.clone()) else {
                println!("Sans ancres (--anchors ou audit_anchors), une piste rechaînée par un administrateur de la base ne se voit pas.");
                return Ok(());
            };
            let key = audit_key(&s, "vérifier les ancres")?;
            let a = quittance_store::audit::anchor::verify(&db, &key, &dir).await.map_err(|e| e.to_string())?;
            match a.failure {
                None => {
                    println!(
                        "Ancres concordantes : {} ancre(s) de « {} », jusqu'à la ligne {}.",
                        a.checked,
                        dir.display(),
                        a.last_seq.unwrap_or(0)
                    );
                    Ok(())
                }
                Some(f) => Err(format!("piste d'audit altérée : {f} ({} ancre(s) concordantes avant)", a.checked)),
            }
        }
        Command::Audit(AuditCmd::Anchor { to }) => {
            let db = open(&s).await?;
            let dir = to.or_else(|| s.audit_anchors.clone()).ok_or("dossier des ancres absent : --to, audit_anchors ou QUITTANCE_AUDIT_ANCHORS")?;
            let key = audit_key(&s, "écrire une ancre")?;
            let (path, a) = quittance_store::audit::anchor::write(&db, &key, &dir).await.map_err(|e| e.to_string())?;
            println!("Ancre écrite : {} (ligne {}, empreinte {}…).", path.display(), a.seq, &a.head_hash[..a.head_hash.len().min(16)]);
            Ok(())
        }
        Command::Backup { to } => {
            let db = open(&s).await?;
            quittance_store::backup::backup(&db, &to).await.map_err(|e| e.to_string())?;
            println!("Sauvegarde écrite dans {}.", to.display());
            Ok(())
        }
        Command::Bench(BenchCmds::Http(a)) => bench_http::run(a).await,
        Command::Bench(BenchCmds::Other(cmd)) => bench::run(cmd, &s.database).await,
        Command::Import(cmd) => {
            let db = open_migrated(&s).await?;
            import::run(cmd, &db, &operator()).await
        }
        Command::Bill(BillCmd::Preview { stay, date, json }) => {
            let db = open_migrated(&s).await?;
            let day = date.as_deref().map(quittance_domain::fr::parse_date_fr).transpose().map_err(|e| format!("--date : {e}"))?;
            let v = quittance_store::billing::valuation::stay(&db, &operator(), stay, day).await.map_err(|e| e.to_string())?;
            print!("{}", if json { preview_json(&v) } else { preview_text(&v) });
            Ok(())
        }
    }
}

fn preview_text(v: &quittance_store::billing::valuation::StayValuation) -> String {
    use quittance_domain::billing::days::run_text;
    use quittance_domain::billing::split::Party;
    let name = |p: &Party| match p {
        Party::Payer { name, role, payer_id, .. } => format!("{name} ({}, organisme n° {payer_id})", role.label().to_lowercase()),
        Party::Patient => match &v.debtor {
            Some((id, d)) => format!("{d} (débiteur désigné n° {id})"),
            None => "Patient".into(),
        },
    };
    let shares = |out: &mut String, list: &[quittance_domain::billing::split::Share]| {
        for s in list {
            out.push_str(&format!("      → {:<50} {:>12}  {}\n", name(&s.party), s.amount.format_fr_plain(), s.explanation));
        }
    };
    let mut out = format!("Séjour n° {} — valorisé au {}\n", v.stay.id, quittance_domain::fr::format_date_fr(v.until));
    for l in &v.split.lines {
        let c = &l.charge;
        out.push_str(&format!(
            "{:<8} {:>3} × {:>12} = {:>12}  {} ({} j)\n    {}\n",
            c.code,
            c.quantity,
            c.unit_price.format_fr_plain(),
            c.amount.format_fr_plain(),
            run_text(&c.days),
            c.days.len(),
            c.explanation
        ));
        shares(&mut out, &l.shares);
    }
    for a in &v.split.adjustments {
        out.push_str(&format!("{:<8} {:>32}  {}\n", "IMPUT.", a.amount.format_fr_plain(), a.explanation));
        shares(&mut out, &a.shares);
    }
    out.push_str("Qui paie quoi :\n");
    for (p, m) in v.split.totals() {
        out.push_str(&format!("  {:<56} {:>12}\n", name(&p), m.format_fr_plain()));
    }
    out.push_str(&format!("  {:<56} {:>12}\n", "Total", v.split.total().format_fr_plain()));
    if v.ready {
        out.push_str("Facturable : le dossier est prêt.\n");
    } else {
        out.push_str("Pas encore facturable :\n");
        for (m, _) in &v.not_ready_because {
            out.push_str(&format!("  ! {m}\n"));
        }
    }
    for n in &v.notes {
        out.push_str(&format!("- {n}\n"));
    }
    out
}

fn preview_json(v: &quittance_store::billing::valuation::StayValuation) -> String {
    // The API's document (GET /api/v1/stays/{id}/valuation).
    let doc = quittance_web::care::api::ValuationDto::from(v);
    format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
}

fn audit_key(s: &Settings, to: &str) -> Result<quittance_store::audit::anchor::AuditKey, String> {
    let k = s.audit_key.as_deref().ok_or(format!("clé d'audit absente (audit_key ou QUITTANCE_AUDIT_KEY) : impossible de {to}"))?;
    quittance_store::audit::anchor::AuditKey::new(k).map_err(|e| e.to_string())
}

/// With a key and a folder, a running server anchors the head at start, every
/// `audit_anchor_minutes` (when it moved) and at shutdown.
fn anchoring(s: &Settings) -> Result<Option<(quittance_store::audit::anchor::AuditKey, PathBuf, u64)>, String> {
    match (&s.audit_key, &s.audit_anchors) {
        (Some(_), Some(dir)) => {
            let minutes = std::env::var("QUITTANCE_AUDIT_ANCHOR_MINUTES").ok().and_then(|m| m.parse().ok()).or(s.file.audit_anchor_minutes).unwrap_or(15);
            if minutes == 0 {
                return Err("audit_anchor_minutes = 0 : choisir au moins 1 minute".into());
            }
            Ok(Some((audit_key(s, "ancrer la piste d'audit")?, dir.clone(), minutes)))
        }
        (None, Some(_)) => Err("audit_anchors est configuré sans clé d'audit (audit_key ou QUITTANCE_AUDIT_KEY)".into()),
        _ => Ok(None),
    }
}

async fn anchor_now(db: &Db, key: &quittance_store::audit::anchor::AuditKey, dir: &std::path::Path) {
    match quittance_store::audit::anchor::write_if_moved(db, key, dir).await {
        Ok(Some((path, a))) => tracing::info!(seq = a.seq, file = %path.display(), "piste d'audit ancrée"),
        Ok(None) => {}
        Err(e) => tracing::error!("ancrage de la piste d'audit impossible : {e}"),
    }
}

fn public_url(bind: &str) -> String {
    match bind.rsplit_once(':') {
        Some((host, port)) if host == "127.0.0.1" || host == "0.0.0.0" || host == "[::]" || host == "[::1]" => {
            format!("http://localhost:{port}/")
        }
        _ => format!("http://{bind}/"),
    }
}

async fn user_cmd(cmd: UserCmd, s: &Settings) -> Result<(), String> {
    let db = open_migrated(s).await?;
    let op = operator();
    let find = |name: String| {
        let db = db.clone();
        async move {
            auth::find_user(&db, &name).await.map_err(|e| e.to_string())?.ok_or(format!("utilisateur « {name} » inconnu"))
        }
    };
    match cmd {
        UserCmd::Create { username, name, email, role, establishment, site } => {
            let role = Role::from_code(&role).ok_or_else(|| {
                format!(
                    "rôle « {role} » inconnu (rôles : {})",
                    Role::ALL.iter().map(|r| r.code()).collect::<Vec<_>>().join(", ")
                )
            })?;
            let ests = establishments::list(&db, &op).await.map_err(|e| e.to_string())?;
            let e = ests
                .iter()
                .find(|e| e.code.eq_ignore_ascii_case(&establishment))
                .ok_or(format!("établissement « {establishment} » inconnu"))?;
            let site_id = match site {
                None => None,
                Some(code) => {
                    let sites = establishments::list_sites(&db, &op, e.id).await.map_err(|e| e.to_string())?;
                    Some(sites.iter().find(|s| s.code.eq_ignore_ascii_case(&code)).ok_or(format!("site « {code} » inconnu dans {}", e.code))?.id)
                }
            };
            let new = NewUser {
                username,
                display_name: name,
                email,
                password: None,
                grants: vec![Grant { role, establishment_id: e.id, site_id }],
                must_change_password: true,
            };
            let (id, password) = auth::create_user(&db, &op, &new).await.map_err(|e| e.to_string())?;
            println!("Utilisateur n° {id} créé. Mot de passe provisoire (à changer à la première connexion) : {password}");
        }
        UserCmd::List => {
            for (u, g) in auth::list_users(&db, &op).await.map_err(|e| e.to_string())? {
                let roles: Vec<String> = g
                    .0
                    .iter()
                    .map(|g| match g.site_id {
                        Some(s) => format!("{}@{}/{}", g.role.code(), g.establishment_id, s),
                        None => format!("{}@{}", g.role.code(), g.establishment_id),
                    })
                    .collect();
                println!(
                    "{:<16} {:<28} {:<10} {}",
                    u.username,
                    u.display_name,
                    if u.disabled { "désactivé" } else { "actif" },
                    roles.join(", ")
                );
            }
        }
        UserCmd::Disable { username } => {
            let u = find(username).await?;
            auth::set_disabled(&db, &op, u.id, u.version, true).await.map_err(|e| e.to_string())?;
            println!("Compte {} désactivé.", u.username);
        }
        UserCmd::Enable { username } => {
            let u = find(username).await?;
            auth::set_disabled(&db, &op, u.id, u.version, false).await.map_err(|e| e.to_string())?;
            println!("Compte {} réactivé.", u.username);
        }
        UserCmd::ResetPassword { username } => {
            let u = find(username).await?;
            let p = auth::reset_password(&db, &op, u.id, u.version, None).await.map_err(|e| e.to_string())?;
            println!("Nouveau mot de passe provisoire de {} (à changer à la connexion) : {p}", u.username);
        }
    }
    Ok(())
}

/// Web settings from the flags, variables and file.
fn web_config(s: &Settings, secure_cookies: bool) -> Result<WebConfig, String> {
    use quittance_store::documents::{Storage, StorageMode};
    let mib = s.documents_max_mib.or(s.file.documents_max_mib).unwrap_or(10);
    if !(1..=200).contains(&mib) {
        return Err(format!("documents_max_mib = {mib} : choisir entre 1 et 200 Mio"));
    }
    let mode = match s.documents_folder.clone().or_else(|| s.file.documents_folder.clone()) {
        None => StorageMode::Database,
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("dossier des documents « {} » inutilisable : {e}", dir.display()))?;
            StorageMode::Folder(dir)
        }
    };
    let proxies = s.trusted_proxies.clone().or_else(|| s.file.trusted_proxies.clone()).unwrap_or_default();
    let trusted_proxies =
        quittance_web::session::IpNet::parse_list(&proxies).map_err(|m| format!("trusted_proxies : {m}"))?;
    Ok(WebConfig { secure_cookies, documents: Storage { mode, max_bytes: (mib * 1024 * 1024) as usize }, trusted_proxies })
}

type Anchoring = Option<(quittance_store::audit::anchor::AuditKey, PathBuf, u64)>;

async fn serve(db: Db, bind: &str, config: WebConfig, banner: Option<String>, anchoring: Anchoring) -> Result<(), String> {
    let addr: SocketAddr = bind.parse().map_err(|_| format!("adresse d'écoute invalide « {bind} » (attendu ex. 127.0.0.1:8080)"))?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("impossible d'écouter sur {addr} : {e}"))?;
    let app = quittance_web::router(AppState::new(db.clone(), config));
    if let Some(b) = banner {
        println!("{b}");
    }
    tracing::info!(%addr, "quittance à l'écoute");
    let anchorer = anchoring.clone().map(|(key, dir, minutes)| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(minutes * 60));
            loop {
                every.tick().await;
                anchor_now(&db, &key, &dir).await;
            }
        })
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| format!("serveur arrêté : {e}"))?;
    if let (Some(task), Some((key, dir, _))) = (anchorer, anchoring) {
        task.abort();
        anchor_now(&db, &key, &dir).await;
    }
    db.close().await;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
