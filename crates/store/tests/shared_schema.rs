//! The two backends hold the same schema: every migration applied on SQLite and on
//! PostgreSQL gives the same tables, columns (normalised types, nullability), primary
//! keys, indexes (unique or not, their columns and predicate) and foreign keys.
//! Runs when `QUITTANCE_TEST_POSTGRES_URL` is set (required in CI).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use quittance_store::{Backend, Db};

/// One line per schema fact, e.g. `column patients.ipp: text not null`.
type Facts = BTreeSet<String>;

/// SQLite's declared type, normalised (SQLite's affinity rules, plus BOOLEAN kept apart:
/// a PostgreSQL `boolean` must be declared `BOOLEAN` on SQLite, not `INTEGER`).
fn sqlite_type(declared: &str) -> String {
    let t = declared.trim().to_ascii_uppercase();
    if t == "BOOLEAN" || t == "BOOL" {
        "bool".into()
    } else if t.contains("INT") {
        "int".into()
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "text".into()
    } else if t.is_empty() || t.contains("BLOB") {
        "bytes".into()
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "real".into()
    } else {
        format!("sqlite:{}", t.to_ascii_lowercase())
    }
}

/// PostgreSQL's `format_type`, normalised. `integer` stays apart: it decodes as a 32-bit
/// value where the code reads `i64` (SQLite's INTEGER is 64-bit).
fn postgres_type(formatted: &str) -> String {
    let t = formatted.trim().to_ascii_lowercase();
    match t.as_str() {
        "bigint" => "int".into(),
        "integer" => "int4 (32 bits)".into(),
        "smallint" => "int2 (16 bits)".into(),
        "text" => "text".into(),
        "bytea" => "bytes".into(),
        "boolean" => "bool".into(),
        "double precision" | "real" => "real".into(),
        _ if t.starts_with("character varying") || t.starts_with("character(") => "text".into(),
        _ => format!("postgres:{t}"),
    }
}

/// `(used_name_key IS NOT NULL)` and `used_name_key IS NOT NULL` read the same, and so do
/// PostgreSQL's deparsed `action !~~ 'view%'::text` and the script's `action NOT LIKE 'view%'`.
fn predicate(p: &str) -> String {
    p.replace(['(', ')'], " ")
        .replace("::text", "")
        .replace(" !~~ ", " not like ")
        .replace(" ~~ ", " like ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

fn index_fact(table: &str, name: &str, unique: bool, constraint: bool, cols: &str, pred: Option<&str>) -> String {
    let kind = if unique { "unique" } else { "index" };
    // Constraint-backed indexes are named by each backend (`sqlite_autoindex_…`, `…_key`): compare by columns.
    let named = if constraint { String::new() } else { format!(" {name}") };
    let pred = pred.map(|p| format!(" where {}", predicate(p))).unwrap_or_default();
    format!("{kind}{named} on {table} ({cols}){pred}")
}

async fn sqlite_facts(db: &Db) -> Facts {
    let mut tx = db.read().await.unwrap();
    let mut facts = Facts::new();
    let tables: Vec<(String,)> =
        tx.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name", &[]).await.unwrap();
    for (t,) in &tables {
        facts.insert(format!("table {t}"));
        let cols: Vec<(String, String, i64, i64)> =
            tx.all("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid", &quittance_store::args![t.clone()]).await.unwrap();
        let single_pk = cols.iter().filter(|c| c.3 > 0).count() == 1;
        let mut pk: Vec<(i64, String)> = Vec::new();
        for (name, ty, notnull, pkpos) in &cols {
            // Only an `INTEGER PRIMARY KEY` (the rowid) is implicitly NOT NULL on SQLite: any
            // other primary-key column accepts NULL unless declared NOT NULL.
            let rowid = *pkpos > 0 && single_pk && ty.eq_ignore_ascii_case("INTEGER");
            let nullable = *notnull == 0 && !rowid;
            facts.insert(format!("column {t}.{name}: {}{}", sqlite_type(ty), if nullable { "" } else { " not null" }));
            if *pkpos > 0 {
                pk.push((*pkpos, name.clone()));
            }
        }
        pk.sort();
        let pk_of: Vec<String> = pk.into_iter().map(|p| p.1).collect();
        if !pk_of.is_empty() {
            facts.insert(format!("primary key {t} ({})", pk_of.join(", ")));
        }
        let idx: Vec<(String, i64, String, i64)> =
            tx.all("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)", &quittance_store::args![t.clone()]).await.unwrap();
        for (name, unique, origin, partial) in idx {
            if origin == "pk" {
                continue;
            }
            let icols: Vec<(Option<String>,)> = tx
                .all("SELECT name FROM pragma_index_xinfo($1) WHERE key = 1 ORDER BY seqno", &quittance_store::args![name.clone()])
                .await
                .unwrap();
            let icols: Vec<String> = icols.into_iter().map(|c| c.0.unwrap_or_else(|| "<expression>".into())).collect();
            let pred = if partial == 1 {
                let sql: Option<(Option<String>,)> = tx
                    .opt("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1", &quittance_store::args![name.clone()])
                    .await
                    .unwrap();
                let sql = sql.and_then(|s| s.0).unwrap_or_default();
                let upper = sql.to_ascii_uppercase();
                upper.rfind(" WHERE ").map(|at| sql[at + 7..].trim().trim_end_matches(';').to_string())
            } else {
                None
            };
            facts.insert(index_fact(t, &name, unique == 1, origin == "u", &icols.join(", "), pred.as_deref()));
        }
        let fks: Vec<(i64, i64, String, String, Option<String>)> = tx
            .all("SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list($1) ORDER BY id, seq", &quittance_store::args![t.clone()])
            .await
            .unwrap();
        let mut by_id: BTreeMap<i64, (String, Vec<String>, Vec<Option<String>>)> = BTreeMap::new();
        for (id, _, target, from, to) in fks {
            let e = by_id.entry(id).or_insert_with(|| (target, Vec::new(), Vec::new()));
            e.1.push(from);
            e.2.push(to);
        }
        for (_, (target, from, to)) in by_id {
            // `REFERENCES t` without columns targets t's primary key.
            let to: Vec<String> = if to.iter().all(Option::is_some) {
                to.into_iter().flatten().collect()
            } else {
                let tcols: Vec<(String, i64)> =
                    tx.all("SELECT name, pk FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk", &quittance_store::args![target.clone()]).await.unwrap();
                tcols.into_iter().map(|c| c.0).collect()
            };
            facts.insert(format!("foreign key {t} ({}) -> {target} ({})", from.join(", "), to.join(", ")));
        }
    }
    tx.rollback().await.unwrap();
    facts
}

async fn postgres_facts(db: &Db) -> Facts {
    let mut tx = db.read().await.unwrap();
    let mut facts = Facts::new();
    let tables: Vec<(String,)> = tx
        .all(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    for (t,) in &tables {
        facts.insert(format!("table {t}"));
    }
    let cols: Vec<(String, String, String, bool)> = tx
        .all(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
            &[],
        )
        .await
        .unwrap();
    for (t, name, ty, notnull) in cols {
        facts.insert(format!("column {t}.{name}: {}{}", postgres_type(&ty), if notnull { " not null" } else { "" }));
    }
    let idx: Vec<(String, String, bool, bool, bool, Option<String>, Option<String>)> = tx
        .all(
            "SELECT t.relname::text, i.relname::text, x.indisunique, x.indisprimary, \
                    EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('u', 'p')), \
                    pg_get_expr(x.indpred, x.indrelid), \
                    (SELECT string_agg(pg_get_indexdef(x.indexrelid, g, true), ', ' ORDER BY g) FROM generate_series(1, x.indnkeyatts::int) g) \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()",
            &[],
        )
        .await
        .unwrap();
    for (t, name, unique, primary, constraint, pred, icols) in idx {
        let icols = icols.unwrap_or_default();
        if primary {
            facts.insert(format!("primary key {t} ({icols})"));
        } else {
            facts.insert(index_fact(&t, &name, unique, constraint, &icols, pred.as_deref()));
        }
    }
    let fks: Vec<(String, String, i64, String, String, String)> = tx
        .all(
            "SELECT k.conname::text, c.relname::text, u.ord, a.attname::text, r.relname::text, ra.attname::text \
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class r ON r.oid = k.confrelid \
             CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(col, refcol, ord) \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.col \
             JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = u.refcol \
             WHERE k.contype = 'f' AND n.nspname = current_schema() ORDER BY 1, 3",
            &[],
        )
        .await
        .unwrap();
    let mut by_name: BTreeMap<String, (String, String, Vec<String>, Vec<String>)> = BTreeMap::new();
    for (con, t, _, col, target, refcol) in fks {
        let e = by_name.entry(con).or_insert_with(|| (t, target, Vec::new(), Vec::new()));
        e.2.push(col);
        e.3.push(refcol);
    }
    for (_, (t, target, from, to)) in by_name {
        facts.insert(format!("foreign key {t} ({}) -> {target} ({})", from.join(", "), to.join(", ")));
    }
    tx.rollback().await.unwrap();
    facts
}

/// The facts only one side has, as a diff: `- sqlite only`, `+ postgres only`.
fn diff(sqlite: &Facts, postgres: &Facts) -> String {
    let mut out = String::new();
    for f in sqlite.difference(postgres) {
        out.push_str(&format!("- (SQLite seulement)     {f}\n"));
    }
    for f in postgres.difference(sqlite) {
        out.push_str(&format!("+ (PostgreSQL seulement) {f}\n"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_are_equivalent() {
    let Some(pg) = common::postgres().await else { return };
    let lite = common::sqlite().await;
    assert_eq!(lite.db.backend(), Backend::Sqlite);
    assert_eq!(pg.db.backend(), Backend::Postgres);
    let s = sqlite_facts(&lite.db).await;
    let p = postgres_facts(&pg.db).await;
    // The introspection itself sees the schema (a test that reads nothing cannot fail).
    for must in [
        "table patients",
        "column patients.ipp: text not null",
        "unique on patients (establishment_id, ipp)",
        "index patients_nir on patients (nir) where nir is not null",
        "foreign key patients (establishment_id) -> establishments (id)",
        "primary key patient_sites (patient_id, site_id)",
        "column document_contents.content: bytes not null",
        "column sites.active: bool not null",
    ] {
        assert!(s.contains(must), "SQLite introspection lacks « {must} »:\n{s:#?}");
        assert!(p.contains(must), "PostgreSQL introspection lacks « {must} »:\n{p:#?}");
    }
    let d = diff(&s, &p);
    assert!(d.is_empty(), "the SQLite and PostgreSQL migrations give different schemas:\n{d}");
}

#[test]
fn normalisation_rules() {
    assert_eq!(sqlite_type("INTEGER"), "int");
    assert_eq!(sqlite_type("BIGINT"), "int");
    assert_eq!(sqlite_type("BOOLEAN"), "bool");
    assert_eq!(sqlite_type("VARCHAR(20)"), "text");
    assert_eq!(sqlite_type("BLOB"), "bytes");
    assert_eq!(postgres_type("bigint"), "int");
    assert_ne!(postgres_type("integer"), "int", "a 32-bit column is a drift");
    assert_eq!(postgres_type("character varying(20)"), "text");
    assert_eq!(postgres_type("bytea"), "bytes");
    assert_eq!(predicate("(used_name_key IS NOT NULL)"), predicate("used_name_key IS NOT NULL"));
    let a: Facts = ["table a".to_string(), "column a.x: int".to_string()].into();
    let b: Facts = ["table a".to_string(), "column a.x: int not null".to_string()].into();
    let d = diff(&a, &b);
    assert!(d.contains("- (SQLite seulement)     column a.x: int\n") && d.contains("+ (PostgreSQL seulement) column a.x: int not null"), "{d}");
}
