//! `quittance bench readiness`: readiness of N open files computed in one pass,
//! beside a plain scan of the same rows, in the same run.

use std::time::{Duration, Instant};

use quittance_store::establishments::{self, EstablishmentInput, SiteInput};
use quittance_store::care::payers::{self, PayerInput};
use quittance_store::{Actor, Db, args, migrate, readiness};

use crate::bench::{bar, fr_int};

pub async fn run(db: &Db, backend: &str, count: u64) -> Result<(), String> {
    let err = |e: quittance_store::Error| e.to_string();
    migrate::migrate(db).await.map_err(err)?;
    let op = Actor::system("bench");
    let est = establishments::create(
        db,
        &op,
        &establishments::parse_establishment(&EstablishmentInput { code: "BENCH".into(), name: "Banc d'essai".into(), kind: "hopital".into(), currency: "EUR".into(), timezone: "Europe/Paris".into(), ..Default::default() }).map_err(quittance_store::Error::Invalid).map_err(err)?,
    )
    .await
    .map_err(err)?;
    let mut sites = Vec::new();
    for code in ["S1", "S2", "S3", "S4"] {
        sites.push(
            establishments::create_site(db, &op, est.id, &establishments::parse_site(&SiteInput { code: code.into(), name: code.into(), kind: "service".into(), ..Default::default() }).map_err(quittance_store::Error::Invalid).map_err(err)?)
                .await
                .map_err(err)?
                .id,
        );
    }
    let amo = payers::create(db, &op, est.id, &payers::parse_payer(&PayerInput { code: "AMO".into(), kind: "obligatoire".into(), name: "AMO".into(), ..Default::default() }).map_err(quittance_store::Error::Invalid).map_err(err)?).await.map_err(err)?;
    let amc = payers::create(db, &op, est.id, &payers::parse_payer(&PayerInput { code: "AMC".into(), kind: "complementaire".into(), name: "AMC".into(), ..Default::default() }).map_err(quittance_store::Error::Invalid).map_err(err)?).await.map_err(err)?;

    // Synthetic files: patients in batches, then stays, debtors and coverages derived in SQL.
    let pb = bar(count, "création des dossiers");
    let t0 = Instant::now();
    let statuses = ["provisoire", "validee", "qualifiee", "validee"];
    let mut n = 0u64;
    while n < count {
        let mut tx = db.begin().await.map_err(err)?;
        let end = (n + 50_000).min(count);
        while n < end {
            let k = 250u64.min(end - n);
            let mut rows = Vec::new();
            let mut values = Vec::new();
            for j in 0..k {
                let i = n + j + 1;
                let b = values.len();
                rows.push(format!(
                    "(${}, ${}, ${}, 'MARIE', 'MARIE', '1970-01-01', FALSE, 'F', ${}, ${}, FALSE, '', FALSE, ${}, 'marie', ${}, ${}, 1)",
                    b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 7
                ));
                values.extend(args![
                    est.id,
                    format!("{i:08}"),
                    format!("NOM{i}"),
                    if i.is_multiple_of(25) { None } else { Some("69123".to_string()) },
                    statuses[(i % 4) as usize],
                    format!("nom{i}"),
                    quittance_store::db::now_text()
                ]);
            }
            let sql = format!(
                "INSERT INTO patients (establishment_id, ipp, birth_name, birth_first_names, first_name, birth_date, birth_date_incomplete, sex, \
                 birth_place_code, identity_status, insi_checked, attributes, non_disclosure, birth_name_key, first_name_key, created_at, updated_at, version) VALUES {}",
                rows.join(", ")
            );
            tx.exec(&sql, &values).await.map_err(err)?;
            n += k;
            pb.inc(k);
        }
        tx.commit().await.map_err(err)?;
    }
    pb.finish_and_clear();
    let now = quittance_store::db::now_text();
    let site_case = sites.iter().enumerate().map(|(k, s)| format!("WHEN {k} THEN {s}")).collect::<Vec<_>>().join(" ");
    let mut tx = db.begin().await.map_err(err)?;
    tx.exec(
        &format!(
            "INSERT INTO stays (patient_id, establishment_id, site_id, admission_at, discharge_at, discharge_mode, care_mode, created_at, updated_at, version) \
             SELECT id, establishment_id, CASE (id % 4) {site_case} END, '2026-11-10T08:00', \
             CASE WHEN id % 3 = 0 THEN '2026-11-15T10:00' ELSE NULL END, CASE WHEN id % 3 = 0 THEN 'domicile' ELSE NULL END, \
             CASE WHEN id % 2 = 0 THEN 'hospitalisation_complete' ELSE 'consultation' END, $1, $1, 1 FROM patients WHERE establishment_id = $2"
        ),
        &args![now.clone(), est.id],
    )
    .await
    .map_err(err)?;
    tx.exec(
        "INSERT INTO debtors (patient_id, kind, name, address_line1, postcode, city, guarantees, is_default, active, created_at, updated_at) \
         SELECT id, 'patient', birth_name, CASE WHEN id % 17 = 0 THEN NULL ELSE '1 rue de la Paix' END, '69003', 'Lyon', 'sejour', TRUE, TRUE, $1, $1 \
         FROM patients WHERE establishment_id = $2 AND id % 10 <> 0",
        &args![now.clone(), est.id],
    )
    .await
    .map_err(err)?;
    for (payer, role, filter) in [(amo.id, "obligatoire", "id % 7 <> 0"), (amc.id, "complementaire", "id % 2 = 0")] {
        tx.exec(
            &format!(
                "INSERT INTO coverages (patient_id, payer_id, role, beneficiary, valid_from, valid_to, rate_sejour_bp, rate_actes_bp, rate_fj_bp, rate_cp_bp, \
                 rate_annexes_bp, exemptions, priority, active, created_at, updated_at) \
                 SELECT id, $1, $2, 'assure', CASE WHEN id % 11 = 0 THEN '2026-11-12' ELSE '2026-01-01' END, NULL, 8000, 7000, 0, 0, 0, '', 1, TRUE, $3, $3 \
                 FROM patients WHERE establishment_id = $4 AND {filter}"
            ),
            &args![payer, role, now.clone(), est.id],
        )
        .await
        .map_err(err)?;
    }
    // Agreed prises en charge for half the stays, and the payer's answer filed for five in six of them
    // (the default plan requires it): the pass also checks the required documents.
    tx.exec(
        "INSERT INTO cover_authorizations (establishment_id, patient_id, stay_id, payer_id, number, status, requested_items, requested_days, estimate_minor, \
         currency, sent_at, answered_at, agreement_number, agreed_items, valid_from, valid_to, created_at, updated_at, version) \
         SELECT s.establishment_id, s.patient_id, s.id, $1, 'PEC-B-' || s.id, 'acceptee', 'forfait_journalier', 10, 0, 'EUR', $2, $2, 'ACC' || s.id, \
         'forfait_journalier', '2026-11-01', '2026-12-31', $2, $2, 1 FROM stays s WHERE s.establishment_id = $3 AND s.patient_id % 2 = 0",
        &args![amc.id, now.clone(), est.id],
    )
    .await
    .map_err(err)?;
    tx.exec(
        "INSERT INTO documents (establishment_id, patient_id, target_kind, target_id, class_id, confidentiality, title, file_name, mime, size_bytes, sha256, \
         storage, document_date, retention_until, uploaded_by, created_at, version) \
         SELECT c.establishment_id, c.patient_id, 'pec', c.id, k.id, 'normal', 'Accord', 'accord.pdf', 'application/pdf', 1000, 'banc', 'base', \
         '2026-11-05', '2036-11-05', 'bench', $1, 1 FROM cover_authorizations c JOIN document_classes k ON k.establishment_id = c.establishment_id AND k.code = 'accord_pec' \
         WHERE c.establishment_id = $2 AND c.patient_id % 6 <> 0",
        &args![now.clone(), est.id],
    )
    .await
    .map_err(err)?;
    tx.commit().await.map_err(err)?;
    db.raw(match db.backend() {
        quittance_store::Backend::Postgres => "ANALYZE patients, stays, debtors, coverages, cover_authorizations, documents;",
        quittance_store::Backend::Sqlite => "ANALYZE;",
    })
    .await
    .map_err(err)?;
    let load = t0.elapsed();
    println!("\n{backend} : {} dossiers ouverts (séjour, débiteur, droits, accords, documents) créés en {:.1} s.", fr_int(count as f64), load.as_secs_f64());

    let today = jiff::civil::date(2026, 11, 22);
    let mut scan = Vec::new();
    let mut pass = Vec::new();
    let mut pending = 0;
    let mut scanned = 0;
    for _ in 0..3 {
        // Baseline: the same stays, files, debtors, coverages, agreements and documents, read without any rule.
        let t = Instant::now();
        let mut tx = db.read().await.map_err(err)?;
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = tx
            .all(
                "SELECT p.id, p.identity_status, s.admission_at, dd.city FROM stays s JOIN patients p ON p.id = s.patient_id \
                 LEFT JOIN debtors dd ON dd.patient_id = p.id AND dd.is_default = TRUE AND dd.active = TRUE WHERE s.establishment_id = $1",
                &args![est.id],
            )
            .await
            .map_err(err)?;
        let covs: Vec<(i64, String)> = tx
            .all("SELECT c.patient_id, c.role FROM coverages c JOIN patients p ON p.id = c.patient_id WHERE p.establishment_id = $1", &args![est.id])
            .await
            .map_err(err)?;
        let agreements: Vec<(i64, String)> =
            tx.all("SELECT stay_id, status FROM cover_authorizations WHERE establishment_id = $1", &args![est.id]).await.map_err(err)?;
        let docs: Vec<(String, i64, i64)> =
            tx.all("SELECT target_kind, target_id, class_id FROM documents WHERE establishment_id = $1", &args![est.id]).await.map_err(err)?;
        tx.rollback().await.map_err(err)?;
        scanned = rows.len() + covs.len() + agreements.len() + docs.len();
        scan.push(t.elapsed());
        let t = Instant::now();
        let mut tx = db.read().await.map_err(err)?;
        let q = readiness::queue_in(&mut tx, est.id, None, true, today, 60).await.map_err(err)?;
        tx.rollback().await.map_err(err)?;
        pending = q.len();
        pass.push(t.elapsed());
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let (s, p) = (best(&scan), best(&pass));
    println!("  lecture simple des mêmes lignes      : {:>8.0} ms  ({} lignes)", s.as_secs_f64() * 1000.0, fr_int(scanned as f64));
    println!("  contrôles de facturabilité (1 passe) : {:>8.0} ms  ({} dossiers en attente sur {})", p.as_secs_f64() * 1000.0, fr_int(pending as f64), fr_int(count as f64));
    println!("  rapport contrôles / lecture simple   : {:.2}", p.as_secs_f64() / s.as_secs_f64());
    Ok(())
}
