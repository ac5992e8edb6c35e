//! `quittance bench patients`: a million synthetic files, then search latencies.

use std::time::{Duration, Instant};

use quittance_domain::identity;
use quittance_domain::patients::search::{self as patient_search, SearchCriteria};
use quittance_store::establishments::{self, EstablishmentInput, SiteInput};
use quittance_store::patients::{self, Visibility};
use quittance_store::{Actor, Backend, Db, V, migrate};

use crate::bench::{bar, fr_int};

use quittance_store::demo::patients::Rng;

const HEADS: &[&str] = &[
    "mar", "ber", "tho", "pet", "rob", "ric", "dur", "dub", "mor", "lau", "sim", "mic", "lef", "ler", "rou", "dav", "gir", "bon",
    "dup", "lam", "fon", "vin", "mul", "gal", "dia", "sil", "fer", "gar", "ben", "che", "fra", "mer", "gue", "boy", "gau", "per",
    "bar", "lem", "ker", "bih", "wam", "gor", "nai", "wah", "kap", "tui", "fel", "map", "hna", "xow", "wai", "pou", "tei", "gop",
];
const TAILS: &[&str] = &[
    "tin", "nard", "mas", "it", "ert", "ard", "and", "ois", "eau", "ent", "on", "el", "evre", "oy", "x", "id", "ard", "net", "ont",
    "bert", "taine", "cent", "ler", "lec", "ye", "va", "reira", "cia", "oit", "valier", "ncois", "cier", "rin", "er", "thier",
    "rin", "bier", "aitre", "jean", "an", "ytan", "omido", "sseline", "etra", "oeri", "lagi", "eu", "ou", "wia", "ie", "a", "ye",
];
const FIRSTS: &[&str] = &[
    "marie", "jean", "pierre", "sylvie", "nathalie", "michel", "isabelle", "philippe", "catherine", "alain", "chloe", "lucas",
    "lea", "hugo", "camille", "theo", "manon", "louis", "ines", "gabriel", "pauline", "emmanuel", "malia", "tevita", "soane",
];

fn name(r: &mut Rng) -> String {
    // Skewed: some heads are far more frequent, like real surnames.
    let h = (r.below(HEADS.len() as u64) * r.below(HEADS.len() as u64) / HEADS.len() as u64) as usize;
    format!("{}{}", HEADS[h], TAILS[r.below(TAILS.len() as u64) as usize])
}

fn birth(r: &mut Rng) -> String {
    format!("{}-{:02}-{:02}", 1925 + r.below(100), 1 + r.below(12), 1 + r.below(28))
}

/// A synthetic file's searchable values, kept to draw realistic queries.
struct Sample {
    ipp: String,
    name: String,
    first: String,
    birth: String,
    nir: String,
}

pub async fn run(db: &Db, backend: &str, count: u64, queries: u64, clients: u64) -> Result<(), String> {
    let err = |e: quittance_store::Error| e.to_string();
    migrate::migrate(db).await.map_err(err)?;
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
        }).map_err(quittance_store::Error::Invalid).map_err(err)?,
    )
    .await
    .map_err(err)?;
    let mut sites = Vec::new();
    for code in ["S1", "S2", "S3", "S4"] {
        let s = establishments::create_site(db, &op, est.id, &establishments::parse_site(&SiteInput { code: code.into(), name: code.into(), kind: "service".into(), ..Default::default() }).map_err(quittance_store::Error::Invalid).map_err(err)?)
            .await
            .map_err(err)?;
        sites.push(s.id);
    }

    // Bulk load: multi-row inserts, 50 000 rows a transaction. The generator writes
    // rows directly (not through the audited use case): it measures search, not creation.
    let pb = bar(count, "création des dossiers");
    let t0 = Instant::now();
    let mut rng = Rng(0x00C0_FFEE_2026);
    let mut samples = Vec::new();
    let batch = 250u64;
    let per_tx = 50_000u64;
    let mut n = 0u64;
    while n < count {
        let mut tx = db.begin().await.map_err(err)?;
        let end = (n + per_tx).min(count);
        while n < end {
            let k = batch.min(end - n);
            let mut values = Vec::with_capacity((k * 16) as usize);
            let mut rows = Vec::new();
            let mut site_rows = Vec::new();
            for j in 0..k {
                let i = n + j + 1;
                let nm = name(&mut rng);
                let first = FIRSTS[rng.below(FIRSTS.len() as u64) as usize].to_string();
                let b = birth(&mut rng);
                let sex = if rng.below(2) == 0 { "F" } else { "M" };
                let body = format!("{}{}{}69123{:03}", if sex == "M" { 1 } else { 2 }, &b[2..4], &b[5..7], i % 1000);
                let nir = identity::nir_key(&body).map(|k| format!("{body}{k:02}")).unwrap_or_default();
                let ipp = format!("{i:08}");
                let base = values.len();
                let ph: Vec<String> = (1..=11).map(|c| format!("${}", base + c)).collect();
                rows.push(format!(
                    "({}, {}, {}, {}, {}, {}, {}, FALSE, '69123', 'validee', FALSE, '', {}, FALSE, {}, NULL, {}, {}, {}, 1)",
                    ph[0], ph[1], ph[2], ph[3], ph[4], ph[5], ph[6], ph[7], ph[8], ph[9], ph[10], ph[10]
                ));
                values.extend([
                    V::I(est.id),
                    V::T(ipp.clone()),
                    V::T(nm.to_uppercase()),
                    V::T(first.to_uppercase()),
                    V::T(first.to_uppercase()),
                    V::T(b.clone()),
                    V::T(sex.into()),
                    V::T(nir.clone()),
                    V::T(nm.clone()),
                    V::T(first.clone()),
                    V::T(quittance_store::db::now_text()),
                ]);
                site_rows.push((ipp.clone(), sites[(i % sites.len() as u64) as usize]));
                if rng.below(count / 2000 + 1) == 0 {
                    samples.push(Sample { ipp, name: nm, first, birth: b, nir });
                }
            }
            let sql = format!(
                "INSERT INTO patients (establishment_id, ipp, birth_name, birth_first_names, first_name, birth_date, sex, birth_date_incomplete, \
                 birth_place_code, identity_status, insi_checked, attributes, nir, non_disclosure, birth_name_key, used_name_key, \
                 first_name_key, created_at, updated_at, version) VALUES {}",
                rows.join(", ")
            );
            tx.exec(&sql, &values).await.map_err(err)?;
            let first_ipp = &site_rows[0].0;
            let last_ipp = &site_rows[site_rows.len() - 1].0;
            let args: Vec<V> = vec![V::I(est.id), V::T(first_ipp.clone()), V::T(last_ipp.clone())];
            let site_case = sites.iter().enumerate().map(|(k, s)| format!("WHEN {k} THEN {s}")).collect::<Vec<_>>().join(" ");
            tx.exec(
                &format!(
                    "INSERT INTO patient_sites (patient_id, site_id) SELECT id, CASE (CAST(ipp AS BIGINT) % {}) {site_case} END FROM patients \
                     WHERE establishment_id = $1 AND ipp >= $2 AND ipp <= $3",
                    sites.len()
                ),
                &args,
            )
            .await
            .map_err(err)?;
            n += k;
            pb.inc(k);
        }
        tx.commit().await.map_err(err)?;
    }
    pb.finish_and_clear();
    let load = t0.elapsed();
    if db.backend() == Backend::Postgres {
        db.raw("ANALYZE patients, patient_sites;").await.map_err(err)?;
    } else {
        db.raw("ANALYZE;").await.map_err(err)?;
    }
    println!("\n{backend} : {} dossiers créés en {:.1} s ({} /s), {} échantillons de requêtes.", fr_int(count as f64), load.as_secs_f64(), fr_int(count as f64 / load.as_secs_f64()), samples.len());

    let all = Visibility { sites: None, confidential: true };
    let one_site = Visibility { sites: Some(vec![sites[0]]), confidential: false };
    type Make = fn(&Sample) -> SearchCriteria;
    let kinds: Vec<(&str, Make, bool)> = vec![
        ("IPP exact (référence)", |s| SearchCriteria { number: Some(s.ipp.clone()), ..Default::default() }, true),
        ("date de naissance + 3 lettres", |s| patient_search::parse(&format!("{} {}", iso_to_fr(&s.birth), &s.name[..3]), "").unwrap_or_default(), false),
        ("3 premières lettres du nom", |s| patient_search::parse(&s.name[..3], "").unwrap_or_default(), false),
        ("nom complet + prénom", |s| patient_search::parse(&format!("{} {}", s.name, s.first), "").unwrap_or_default(), false),
        ("date de naissance seule", |s| patient_search::parse(&iso_to_fr(&s.birth), "").unwrap_or_default(), false),
        ("NIR", |s| SearchCriteria { number: Some(s.nir.clone()), ..Default::default() }, false),
    ];
    let samples = std::sync::Arc::new(samples);
    println!("  {:<32} {:>10} {:>10} {:>10}   {:>10} {:>10} {:>10}", "requête (ms)", "p50", "p95", "p99", &format!("p50 ×{clients}"), "p95", "p99");
    for (label, make, ipp_lookup) in &kinds {
        let solo = measure(db, est.id, &samples, *make, *ipp_lookup, &all, queries, 1).await?;
        let many = measure(db, est.id, &samples, *make, *ipp_lookup, &all, queries, clients).await?;
        println!(
            "  {:<32} {:>10} {:>10} {:>10}   {:>10} {:>10} {:>10}",
            label,
            ms(solo.0), ms(solo.1), ms(solo.2), ms(many.0), ms(many.1), ms(many.2)
        );
    }
    let make: Make = |s| patient_search::parse(&s.name[..3], "").unwrap_or_default();
    let solo = measure(db, est.id, &samples, make, false, &one_site, queries, 1).await?;
    let many = measure(db, est.id, &samples, make, false, &one_site, queries, clients).await?;
    println!(
        "  {:<32} {:>10} {:>10} {:>10}   {:>10} {:>10} {:>10}",
        "3 lettres, utilisateur d'un site", ms(solo.0), ms(solo.1), ms(solo.2), ms(many.0), ms(many.1), ms(many.2)
    );
    Ok(())
}

fn iso_to_fr(d: &str) -> String {
    format!("{}/{}/{}", &d[8..10], &d[5..7], &d[..4])
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0).replace('.', ",")
}

async fn measure(
    db: &Db,
    est: i64,
    samples: &std::sync::Arc<Vec<Sample>>,
    make: fn(&Sample) -> SearchCriteria,
    ipp_lookup: bool,
    vis: &Visibility,
    queries: u64,
    clients: u64,
) -> Result<(Duration, Duration, Duration), String> {
    let per = (queries / clients).max(1);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let db = db.clone();
        let samples = samples.clone();
        let vis = vis.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per as usize);
            let mut rng = Rng(0x1234_5678 + c);
            for _ in 0..per {
                let s = &samples[rng.below(samples.len() as u64) as usize];
                let crit = make(s);
                let t = Instant::now();
                let mut tx = db.read().await?;
                if ipp_lookup {
                    patients::by_ipp(&mut tx, est, &s.ipp).await?;
                } else {
                    patients::run_search(&mut tx, est, &vis, &crit, 26, 0).await?;
                }
                tx.rollback().await?;
                lat.push(t.elapsed());
            }
            Ok::<_, quittance_store::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?);
    }
    all.sort();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Ok((p(0.50), p(0.95), p(0.99)))
}
