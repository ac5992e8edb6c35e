//! The database handle: SQLite or PostgreSQL chosen by URL, one SQL dialect.
//!
//! SQL is written once in the common dialect (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`); parameters travel as [`V`] values bound with their type on
//! each backend, and rows are read with `sqlx::FromRow` structs that decode on
//! both. Where the dialects differ, the caller branches on [`Backend`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::pool::PoolConnection;
use sqlx::{FromRow, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A bound parameter with its type (a typed NULL matters to PostgreSQL).
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    I(i64),
    NullI,
    T(String),
    NullT,
    B(bool),
    Bytes(Vec<u8>),
}

impl From<i64> for V {
    fn from(v: i64) -> V {
        V::I(v)
    }
}
impl From<i32> for V {
    fn from(v: i32) -> V {
        V::I(v as i64)
    }
}
impl From<bool> for V {
    fn from(v: bool) -> V {
        V::B(v)
    }
}
impl From<&str> for V {
    fn from(v: &str) -> V {
        V::T(v.to_string())
    }
}
impl From<String> for V {
    fn from(v: String) -> V {
        V::T(v)
    }
}
impl From<&String> for V {
    fn from(v: &String) -> V {
        V::T(v.clone())
    }
}
impl From<Option<i64>> for V {
    fn from(v: Option<i64>) -> V {
        v.map_or(V::NullI, V::I)
    }
}
impl From<Option<String>> for V {
    fn from(v: Option<String>) -> V {
        v.map_or(V::NullT, V::T)
    }
}
impl From<&Option<String>> for V {
    fn from(v: &Option<String>) -> V {
        v.clone().map_or(V::NullT, V::T)
    }
}
impl From<Option<&str>> for V {
    fn from(v: Option<&str>) -> V {
        v.map_or(V::NullT, |s| V::T(s.to_string()))
    }
}
impl From<Vec<u8>> for V {
    fn from(v: Vec<u8>) -> V {
        V::Bytes(v)
    }
}

/// Builds a `Vec<V>` from heterogeneous values: `args![id, name, None::<i64>]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::db::V::from($v)),*] };
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                V::I(v) => q.bind(*v),
                V::NullI => q.bind(None::<i64>),
                V::T(s) => q.bind(s.as_str()),
                V::NullT => q.bind(None::<&str>),
                V::B(b) => q.bind(*b),
                V::Bytes(b) => q.bind(b.as_slice()),
            };
        }
        q
    }};
}

/// Rows decodable from both backends.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// A pool, and the audit appender its audited reads share (see [`crate::audit::append`]).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, Shared),
    Postgres(PgPool, Shared),
}

/// Options for opening a database.
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub max_connections: u32,
    /// PostgreSQL only: run every connection with this `search_path` (tests use a schema each).
    pub pg_schema: Option<String>,
    /// Create the SQLite file if missing.
    pub create: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions { max_connections: 16, pg_schema: None, create: true }
    }
}

/// What the requests of one pool share beside its connections: the audit appender (group
/// commit of audited reads) and the establishments' configuration read by every page, kept
/// per configuration version (see [`crate::establishments::config_in`]).
#[derive(Clone, Debug, Default)]
pub struct Shared {
    pub(crate) appender: crate::audit::Appender,
    pub(crate) config: crate::establishments::ConfigCache,
}

impl Db {
    /// Opens `url`: `postgres://…`/`postgresql://…` selects PostgreSQL, anything else is
    /// a SQLite path (or `sqlite:` URL).
    pub async fn open(url: &str, opts: DbOptions) -> Result<Db, Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut co = PgConnectOptions::from_str(url)
                .map_err(|e| Error::Config(format!("adresse PostgreSQL invalide : {e}")))?;
            if let Some(schema) = &opts.pg_schema {
                co = co.options([("search_path", schema.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(co)
                .await
                .map_err(|e| Error::Config(format!("base PostgreSQL injoignable ({url_safe}) : {e}", url_safe = redact(url))))?;
            Ok(Db::Postgres(pool, Default::default()))
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            let co = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(opts.create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // Sorts and UNIONs use memory, not temporary files; a 32 MiB page cache per connection;
                // pages read through a shared memory map (256 MiB) rather than one pread(2) each.
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-32768")
                .pragma("mmap_size", "268435456");
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(co)
                .await
                .map_err(|e| Error::Config(format!("base SQLite « {path} » inaccessible : {e}")))?;
            Ok(Db::Sqlite(pool, Default::default()))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    /// A write transaction (`BEGIN IMMEDIATE` on SQLite, so read-then-write never hits `SQLITE_BUSY`).
    pub async fn begin(&self) -> Result<Tx, Error> {
        Ok(match self {
            Db::Sqlite(p, _) => Tx::new(TxInner::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Postgres(p, _) => Tx::new(TxInner::Postgres(p.begin().await?)),
        })
    }

    /// A read-only transaction (deferred on SQLite: never blocks writers).
    pub async fn read(&self) -> Result<Tx, Error> {
        Ok(match self {
            Db::Sqlite(p, _) => Tx::new(TxInner::Sqlite(p.begin().await?)),
            Db::Postgres(p, _) => Tx::new(TxInner::Postgres(p.begin_with("BEGIN READ ONLY").await?)),
        })
    }

    /// A pooled connection without a transaction, for a read whose statements need not share
    /// a snapshot (each sees the latest commit): no `BEGIN`/`ROLLBACK` round trips. The
    /// session lookup of every request uses it. Nothing written through it is atomic, so
    /// writes never use it ([`Tx::commit`] refuses pending audit rows on it).
    pub async fn autocommit(&self) -> Result<Tx, Error> {
        Ok(match self {
            Db::Sqlite(p, _) => Tx::new(TxInner::SqliteConn(p.acquire().await?)),
            Db::Postgres(p, _) => Tx::new(TxInner::PostgresConn(p.acquire().await?)),
        })
    }

    /// Runs a multi-statement script outside any transaction.
    pub async fn raw(&self, sql: &str) -> Result<(), Error> {
        match self {
            Db::Sqlite(p, _) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
            Db::Postgres(p, _) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
        }
        Ok(())
    }

    /// The appender shared by this pool's audited reads.
    pub(crate) fn appender(&self) -> &crate::audit::Appender {
        &self.shared().appender
    }

    /// What this pool's requests share beside the connections.
    pub(crate) fn shared(&self) -> &Shared {
        match self {
            Db::Sqlite(_, s) | Db::Postgres(_, s) => s,
        }
    }

    pub async fn ping(&self) -> bool {
        match self {
            Db::Sqlite(p, _) => sqlx::query("SELECT 1").execute(p).await.is_ok(),
            Db::Postgres(p, _) => sqlx::query("SELECT 1").execute(p).await.is_ok(),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => p.close().await,
            Db::Postgres(p, _) => p.close().await,
        }
    }
}

/// Hides the password of a database URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

pub(crate) enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    /// [`Db::autocommit`]: a connection, no transaction.
    SqliteConn(PoolConnection<Sqlite>),
    PostgresConn(PoolConnection<Postgres>),
}

/// The connection a [`Tx`] runs its statements on.
enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// A transaction. Audit rows pushed with [`Tx::audit`] are chained and written at
/// [`Tx::commit`], in the same transaction as the change they describe.
pub struct Tx {
    pub(crate) inner: TxInner,
    pub(crate) pending_audit: Vec<crate::audit::NewAudit>,
}

impl Tx {
    fn new(inner: TxInner) -> Tx {
        Tx { inner, pending_audit: Vec::new() }
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) | TxInner::SqliteConn(_) => Backend::Sqlite,
            TxInner::Postgres(_) | TxInner::PostgresConn(_) => Backend::Postgres,
        }
    }

    fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(t) => Conn::Sqlite(&mut **t),
            TxInner::SqliteConn(c) => Conn::Sqlite(&mut **c),
            TxInner::Postgres(t) => Conn::Postgres(&mut **t),
            TxInner::PostgresConn(c) => Conn::Postgres(&mut **c),
        }
    }

    /// Executes a statement; returns the number of rows affected.
    pub async fn exec(&mut self, sql: &str, args: &[V]) -> Result<u64, Error> {
        Ok(match self.conn() {
            Conn::Sqlite(c) => bind_args!(sqlx::query(sql), args).execute(c).await?.rows_affected(),
            Conn::Postgres(c) => bind_args!(sqlx::query(sql), args).execute(c).await?.rows_affected(),
        })
    }

    pub async fn all<T: Row>(&mut self, sql: &str, args: &[V]) -> Result<Vec<T>, Error> {
        Ok(match self.conn() {
            Conn::Sqlite(c) => bind_args!(sqlx::query_as::<_, T>(sql), args).fetch_all(c).await?,
            Conn::Postgres(c) => bind_args!(sqlx::query_as::<_, T>(sql), args).fetch_all(c).await?,
        })
    }

    pub async fn opt<T: Row>(&mut self, sql: &str, args: &[V]) -> Result<Option<T>, Error> {
        Ok(match self.conn() {
            Conn::Sqlite(c) => bind_args!(sqlx::query_as::<_, T>(sql), args).fetch_optional(c).await?,
            Conn::Postgres(c) => bind_args!(sqlx::query_as::<_, T>(sql), args).fetch_optional(c).await?,
        })
    }

    pub async fn one<T: Row>(&mut self, sql: &str, args: &[V]) -> Result<T, Error> {
        Ok(match self.conn() {
            Conn::Sqlite(c) => bind_args!(sqlx::query_as::<_, T>(sql), args).fetch_one(c).await?,
            Conn::Postgres(c) => bind_args!(sqlx::query_as::<_, T>(sql), args).fetch_one(c).await?,
        })
    }

    /// Loads the one row a use case is about to change, locked until commit: `FOR UPDATE` on
    /// PostgreSQL; on SQLite the write transaction ([`Db::begin`], `BEGIN IMMEDIATE`) already holds
    /// the database's write lock. `sql` is a plain `SELECT` without a locking clause.
    pub async fn lock<T: Row>(&mut self, sql: &str, args: &[V]) -> Result<Option<T>, Error> {
        match self.backend() {
            Backend::Postgres => self.opt(&format!("{sql} FOR UPDATE"), args).await,
            Backend::Sqlite => self.opt(sql, args).await,
        }
    }

    /// Executes a write that must touch exactly `expected` rows; any other count is a
    /// [`Error::Conflict`] with `conflict` as its French message (typically: the row's
    /// version changed since the form was shown). The caller's transaction is then dropped
    /// (rolled back): nothing is half-written.
    pub async fn exec_exact(&mut self, sql: &str, args: &[V], expected: u64, conflict: &str) -> Result<(), Error> {
        let n = self.exec(sql, args).await?;
        if n == expected { Ok(()) } else { Err(Error::Conflict(conflict.to_string())) }
    }

    /// [`Tx::exec_exact`] for one row.
    pub async fn exec_one(&mut self, sql: &str, args: &[V], conflict: &str) -> Result<(), Error> {
        self.exec_exact(sql, args, 1, conflict).await
    }

    /// One `i64` (e.g. `SELECT COUNT(*)` or `INSERT … RETURNING id`).
    pub async fn int(&mut self, sql: &str, args: &[V]) -> Result<i64, Error> {
        Ok(self.one::<(i64,)>(sql, args).await?.0)
    }

    pub async fn raw(&mut self, sql: &str) -> Result<(), Error> {
        match self.conn() {
            Conn::Sqlite(c) => {
                sqlx::raw_sql(sql).execute(c).await?;
            }
            Conn::Postgres(c) => {
                sqlx::raw_sql(sql).execute(c).await?;
            }
        }
        Ok(())
    }

    /// Writes the pending audit rows, then commits.
    pub async fn commit(mut self) -> Result<(), Error> {
        if matches!(self.inner, TxInner::SqliteConn(_) | TxInner::PostgresConn(_)) {
            return if self.pending_audit.is_empty() {
                Ok(())
            } else {
                Err(Error::Integrity("des lignes d'audit ne s'écrivent que dans une transaction".into()))
            };
        }
        if !self.pending_audit.is_empty() {
            let pending = std::mem::take(&mut self.pending_audit);
            crate::audit::flush(&mut self, pending).await?;
        }
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
            TxInner::SqliteConn(_) | TxInner::PostgresConn(_) => {}
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), Error> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
            TxInner::SqliteConn(_) | TxInner::PostgresConn(_) => {}
        }
        Ok(())
    }
}

/// Current time as stored: fixed-width RFC 3339 UTC with microseconds, so text order is time order.
pub fn now_text() -> String {
    ts_text(jiff::Timestamp::now())
}

pub fn ts_text(ts: jiff::Timestamp) -> String {
    let micros = ts.as_microsecond();
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let t = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        frac
    )
}

pub fn parse_ts(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}
