//! `quittance bench valuation`: every stay of an establishment valued (forfait journalier, daily
//! tariff, private room, with movements) and split between payers (coverages, PEC answers,
//! costly acts) from the database, beside a plain read of the same rows, in the same run.

use std::time::Instant;

use quittance_store::billing::{TariffInput, tariffs};
use quittance_store::care::payers::{self, PayerInput};
use quittance_store::establishments::{self, EstablishmentInput, SiteInput};
use quittance_store::patients::{self, PatientInput};
use quittance_store::{Actor, Db, args, migrate};

use crate::bench::{bar, fr_int};

pub async fn run(db: &Db, backend: &str, stays: u64, days: u64) -> Result<(), String> {
    let err = |e: quittance_store::Error| e.to_string();
    migrate::migrate(db).await.map_err(err)?;
    let op = Actor::system("bench");
    let input = EstablishmentInput { code: "BENCH".into(), name: "Banc d'essai".into(), kind: "hopital".into(), currency: "EUR".into(), timezone: "Europe/Paris".into(), ..Default::default() };
    let est = establishments::create(db, &op, &establishments::parse_establishment(&input).map_err(quittance_store::Error::Invalid).map_err(err)?).await.map_err(err)?;
    let mut sites = Vec::new();
    for (i, code) in ["S1", "S2", "S3", "S4"].iter().enumerate() {
        let site = establishments::create_site(db, &op, est.id, &establishments::parse_site(&SiteInput { code: (*code).into(), name: (*code).into(), kind: "service".into(), ..Default::default() }).map_err(quittance_store::Error::Invalid).map_err(err)?)
            .await
            .map_err(err)?
            .id;
        let tjp = TariffInput { code: "TJP".into(), label: format!("TJP {code}"), category: "tjp".into(), price: format!("{},00", 900 + 100 * i), site_id: site.to_string(), valid_from: "01/01/2025".into(), ..Default::default() };
        tariffs::add(db, &op, est.id, &tariffs::parse_for(db, est.id, &tjp).await.map_err(err)?).await.map_err(err)?;
        let cp = TariffInput { code: "CP".into(), label: format!("Chambre particulière {code}"), category: "chambre_particuliere".into(), price: format!("{},00", 40 + 5 * i), site_id: site.to_string(), valid_from: "01/01/2025".into(), ..Default::default() };
        tariffs::add(db, &op, est.id, &tariffs::parse_for(db, est.id, &cp).await.map_err(err)?).await.map_err(err)?;
        let b = TariffInput { code: "TJP-B".into(), label: format!("TJP réanimation {code}"), category: "tjp".into(), price: "2 400,00".into(), site_id: site.to_string(), service: "B".into(), valid_from: "01/01/2025".into(), ..Default::default() };
        tariffs::add(db, &op, est.id, &tariffs::parse_for(db, est.id, &b).await.map_err(err)?).await.map_err(err)?;
        sites.push(site);
    }
    // One patient for ten stays; the compulsory insurer for all, a mutuelle for half (with a PEC
    // answer for its stays), an ALD exemption for one in thirteen.
    let amo = payers::create(db, &op, est.id, &payers::parse_payer(&PayerInput { code: "AMO".into(), kind: "obligatoire".into(), name: "CPAM".into(), ..Default::default() }).map_err(quittance_store::Error::Invalid).map_err(err)?).await.map_err(err)?;
    let amc = payers::create(db, &op, est.id, &payers::parse_payer(&PayerInput { code: "AMC".into(), kind: "complementaire".into(), name: "Mutuelle".into(), ..Default::default() }).map_err(quittance_store::Error::Invalid).map_err(err)?).await.map_err(err)?;
    let p = PatientInput { birth_name: "BANC".into(), birth_first_names: "ESSAI".into(), birth_date: "01/01/1970".into(), sex: "F".into(), birth_place_code: "69123".into(), identity_status: "provisoire".into(), ..Default::default() };
    let parsed = patients::parse_new(db, est.id, &p).await.map_err(err)?;
    let first = patients::create(db, &op, est.id, &parsed).await.map_err(err)?.id;
    let files = stays.div_ceil(10).max(1);
    {
        let now = quittance_store::db::now_text();
        let mut tx = db.begin().await.map_err(err)?;
        let mut k = 1u64;
        while k < files {
            let end = (k + 500).min(files);
            let rows: Vec<String> = (k..end)
                .map(|i| format!("({}, 'B{i:08}', 'BANC{i}', 'ESSAI', 'ESSAI', '1970-01-01', FALSE, 'F', '69123', 'provisoire', FALSE, '', FALSE, 'banc{i}', 'essai', '{now}', '{now}', 1)", est.id))
                .collect();
            tx.exec(
                &format!(
                    "INSERT INTO patients (establishment_id, ipp, birth_name, birth_first_names, first_name, birth_date, birth_date_incomplete, sex, \
                     birth_place_code, identity_status, insi_checked, attributes, non_disclosure, birth_name_key, first_name_key, created_at, updated_at, version) VALUES {}",
                    rows.join(", ")
                ),
                &[],
            )
            .await
            .map_err(err)?;
            k = end;
        }
        for (payer, role, rates, filter) in [(amo.id, "obligatoire", "8000, 7000, 0, 0, 0", "TRUE"), (amc.id, "complementaire", "2000, 3000, 10000, 5000, 0", "id % 2 = 0")] {
            tx.exec(
                &format!(
                    "INSERT INTO coverages (patient_id, payer_id, role, beneficiary, valid_from, valid_to, rate_sejour_bp, rate_actes_bp, rate_fj_bp, rate_cp_bp, \
                     rate_annexes_bp, exemptions, priority, active, created_at, updated_at) \
                     SELECT id, $1, $2, 'assure', '2024-01-01', NULL, {rates}, CASE WHEN id % 13 = 0 AND $2 = 'obligatoire' THEN 'ald' ELSE '' END, 1, TRUE, $3, $3 \
                     FROM patients WHERE establishment_id = $4 AND {filter}"
                ),
                &args![payer, role, now.clone(), est.id],
            )
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
    }
    let patient_ids: Vec<i64> = {
        let mut tx = db.read().await.map_err(err)?;
        let r: Vec<(i64,)> = tx.all("SELECT id FROM patients WHERE establishment_id = $1 ORDER BY id", &args![est.id]).await.map_err(err)?;
        tx.rollback().await.map_err(err)?;
        r.into_iter().map(|r| r.0).collect()
    };
    let _ = first;

    // Stays of `days` days over 2025–2026 (across the FJ change of 01/03/2026), one in 20 ending by a death and one
    // in 20 by a transfer, one in 10 still open.
    let pb = bar(stays, "création des séjours");
    let t0 = Instant::now();
    let start = jiff::civil::date(2025, 1, 1);
    let mut n = 0u64;
    while n < stays {
        let mut tx = db.begin().await.map_err(err)?;
        let end = (n + 500).min(stays);
        let mut rows = Vec::new();
        for i in n..end {
            let adm = start.checked_add(jiff::Span::new().days((i % 600) as i64)).map_err(|e| e.to_string())?;
            let out = adm.checked_add(jiff::Span::new().days(days as i64)).map_err(|e| e.to_string())?;
            // One in ten still open: admitted in the last 30 days before the valuation day.
            let adm = if i % 10 == 9 { jiff::civil::date(2026, 11, 1).checked_add(jiff::Span::new().days((i % 30) as i64)).map_err(|e| e.to_string())? } else { adm };
            let (discharge, mode) = if i % 10 == 9 {
                ("NULL".to_string(), "NULL")
            } else {
                (format!("'{out}T11:00'"), match i % 20 { 3 => "'deces'", 7 => "'transfert'", _ => "'domicile'" })
            };
            rows.push(format!(
                "({}, {}, {}, '{adm}T09:30', {discharge}, {mode}, 'hospitalisation_complete', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1)",
                patient_ids[(i % patient_ids.len() as u64) as usize],
                est.id,
                sites[(i % 4) as usize]
            ));
        }
        tx.exec(
            &format!(
                "INSERT INTO stays (patient_id, establishment_id, site_id, admission_at, discharge_at, discharge_mode, care_mode, created_at, updated_at, version) VALUES {}",
                rows.join(", ")
            ),
            &[],
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        pb.inc(end - n);
        n = end;
    }
    pb.finish_and_clear();
    // Movements derived in SQL from each stay's admission: a private room asked for in writing
    // (one in three), two days of intensive care (one in five), a transfer to service B on the
    // third day (one in seven), a night on leave (one in eleven); a costly act (one in six); a
    // PEC answer of the mutuelle for its stays.
    {
        let now = quittance_store::db::now_text();
        let mut tx = db.begin().await.map_err(err)?;
        let plus = |days: i64, hh: &str| match db.backend() {
            quittance_store::Backend::Sqlite => format!("strftime('%Y-%m-%dT{hh}', date(substr(admission_at, 1, 10), '+{days} days'))"),
            quittance_store::Backend::Postgres => format!("to_char(CAST(substr(admission_at, 1, 10) AS date) + {days}, 'YYYY-MM-DD') || 'T{hh}'"),
        };
        for (kind, cond, start, end, service, written) in [
            ("chambre_particuliere", "id % 3 = 0", plus(0, "12:00"), "NULL".to_string(), "''", "TRUE"),
            ("soins_intensifs", "id % 5 = 0", plus(1, "08:00"), plus(2, "20:00"), "''", "FALSE"),
            ("transfert", "id % 7 = 0", plus(2, "14:00"), "NULL".to_string(), "'B'", "FALSE"),
            ("permission", "id % 11 = 0", plus(3, "18:00"), plus(4, "18:00"), "''", "FALSE"),
        ] {
            tx.exec(
                &format!(
                    "INSERT INTO stay_movements (stay_id, kind, start_at, end_at, service, unit, written_request, created_at) \
                     SELECT id, '{kind}', {start}, {end}, {service}, '', {written}, $1 FROM stays WHERE establishment_id = $2 AND {cond} \
                     AND (discharge_at IS NULL OR discharge_at > {})",
                    plus(5, "00:00")
                ),
                &args![now.clone(), est.id],
            )
            .await
            .map_err(err)?;
        }
        tx.exec(
            &format!("INSERT INTO stay_acts (stay_id, performed_on, code, label, amount_minor, created_at) SELECT id, substr({}, 1, 10), 'ZZQK002', 'Acte coûteux', 15240, $1 FROM stays WHERE establishment_id = $2 AND id % 6 = 0", plus(1, "10:00")),
            &args![now.clone(), est.id],
        )
        .await
        .map_err(err)?;
        tx.exec(
            "INSERT INTO cover_authorizations (establishment_id, patient_id, stay_id, payer_id, number, status, requested_items, requested_days, estimate_minor, \
             currency, sent_at, answered_at, agreement_number, agreed_items, cap_per_day_minor, max_days, created_at, updated_at, version) \
             SELECT s.establishment_id, s.patient_id, s.id, $1, 'PEC-B-' || s.id, 'acceptee', 'forfait_journalier,chambre_particuliere,ticket_moderateur', 30, 0, 'EUR', $2, $2, \
             'ACC' || s.id, 'forfait_journalier,chambre_particuliere,ticket_moderateur', 4000, 10, $2, $2, 1 FROM stays s WHERE s.establishment_id = $3 AND s.patient_id % 2 = 0",
            &args![amc.id, now.clone(), est.id],
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
    }
    println!("{backend} : {} séjours de {days} jours créés en {:.1} s (avec mouvements, droits, actes et accords).", fr_int(stays as f64), t0.elapsed().as_secs_f64());
    if matches!(db.backend(), quittance_store::Backend::Postgres) {
        db.raw("ANALYZE").await.map_err(err)?;
    }
    let today = jiff::civil::date(2026, 12, 1);

    // Best of three of each.
    let mut plain = f64::MAX;
    let mut plain_rows = 0usize;
    let mut valued = f64::MAX;
    let mut explained = f64::MAX;
    let mut totals = quittance_store::billing::valuation::Totals::default();
    for _ in 0..3 {
        let t = Instant::now();
        let mut tx = db.read().await.map_err(err)?;
        // The same rows and columns the valuation reads, without decoding or rules.
        type StayCols = (i64, i64, i64, i64, String, Option<String>, Option<String>, Option<String>, String, i64);
        let r: Vec<StayCols> = tx
            .all(
                "SELECT id, patient_id, establishment_id, site_id, admission_at, planned_discharge_date, discharge_at, discharge_mode, care_mode, version \
                 FROM stays WHERE establishment_id = $1 ORDER BY id",
                &args![est.id],
            )
            .await
            .map_err(err)?;
        let _t: Vec<(i64, String, String, i64, String, Option<String>)> =
            tx.all("SELECT id, code, category, price_minor, valid_from, valid_to FROM tariffs WHERE establishment_id = $1", &args![est.id]).await.map_err(err)?;
        let _p: Vec<(i64, String, String, String)> =
            tx.all("SELECT id, key, value, valid_from FROM billing_parameters WHERE establishment_id = $1", &args![est.id]).await.map_err(err)?;
        type MoveCols = (i64, i64, String, String, Option<String>, String, String, bool, Option<String>, Option<String>, Option<String>);
        let _m: Vec<MoveCols> = tx
            .all("SELECT m.id, m.stay_id, m.kind, m.start_at, m.end_at, m.service, m.unit, m.written_request, m.external_id, m.cancelled_at, m.cancel_reason FROM stay_movements m JOIN stays s ON s.id = m.stay_id WHERE s.establishment_id = $1 AND m.cancelled_at IS NULL ORDER BY m.stay_id", &args![est.id])
            .await
            .map_err(err)?;
        let _a: Vec<(i64, i64, String, String, i64)> =
            tx.all("SELECT a.id, a.stay_id, a.performed_on, a.code, a.amount_minor FROM stay_acts a JOIN stays s ON s.id = a.stay_id WHERE s.establishment_id = $1 AND a.cancelled_at IS NULL ORDER BY a.stay_id", &args![est.id]).await.map_err(err)?;
        type CovCols = (i64, i64, i64, String, String, Option<String>, i64, i64, i64, i64, i64, String, i64, String);
        let _c: Vec<CovCols> = tx
            .all("SELECT c.id, c.patient_id, c.payer_id, c.role, c.valid_from, c.valid_to, c.rate_sejour_bp, c.rate_actes_bp, c.rate_fj_bp, c.rate_cp_bp, c.rate_annexes_bp, c.exemptions, c.priority, py.name FROM coverages c JOIN payers py ON py.id = c.payer_id JOIN patients pa ON pa.id = c.patient_id WHERE pa.establishment_id = $1 ORDER BY c.patient_id", &args![est.id])
            .await
            .map_err(err)?;
        type PecCols = (i64, i64, Option<i64>, i64, String, String, Option<String>, Option<i64>, Option<i64>, Option<String>, Option<String>);
        let _g: Vec<PecCols> = tx
            .all("SELECT id, patient_id, stay_id, payer_id, number, status, agreed_items, cap_per_day_minor, max_days, valid_from, valid_to FROM cover_authorizations WHERE establishment_id = $1", &args![est.id])
            .await
            .map_err(err)?;
        tx.rollback().await.map_err(err)?;
        plain = plain.min(t.elapsed().as_secs_f64());
        plain_rows = r.len();
        let t = Instant::now();
        totals = quittance_store::billing::valuation::totals(db, est.id, today, false).await.map_err(err)?;
        valued = valued.min(t.elapsed().as_secs_f64());
        // The same pass writing every French sentence (what previews and invoices show).
        let t = Instant::now();
        let with_text = quittance_store::billing::valuation::totals(db, est.id, today, true).await.map_err(err)?;
        explained = explained.min(t.elapsed().as_secs_f64());
        if with_text != totals {
            return Err(format!("les totaux diffèrent avec les explications : {with_text:?} / {totals:?}"));
        }
    }
    let per_s = |secs: f64| if secs > 0.0 { (totals.stay_days as f64 / secs) as u64 } else { 0 };
    println!("{:<34} {:>10} {:>14} {:>16}", "", "ms", "séjours", "jours valorisés/s");
    println!("{:<34} {:>10.0} {:>14} {:>16}", "lecture simple (référence)", plain * 1000.0, fr_int(plain_rows as f64), fr_int(per_s(plain) as f64));
    println!("{:<34} {:>10.0} {:>14} {:>16}", "valorisation et répartition", valued * 1000.0, fr_int(totals.stays as f64), fr_int(per_s(valued) as f64));
    println!("{:<34} {:>10.0} {:>14} {:>16}", "  … avec les explications", explained * 1000.0, fr_int(totals.stays as f64), fr_int(per_s(explained) as f64));
    println!(
        "{backend} : {} jours valorisés (forfait journalier, tarif journalier, chambre particulière) en {} charges et {} parts, total {} ; {} séjour(s) refusé(s).",
        fr_int(totals.stay_days as f64),
        fr_int(totals.charges as f64),
        fr_int(totals.shares as f64),
        quittance_domain::money::Money::new(totals.amount_minor, quittance_domain::money::Currency::Eur).format_fr_plain(),
        totals.refused
    );
    println!("ratio {backend} : {}", format!("{:.2}", valued / plain.max(1e-9)).replace('.', ","));
    println!("ratio {backend} avec les explications : {}", format!("{:.2}", explained / plain.max(1e-9)).replace('.', ","));
    if totals.refused > 0 {
        return Err(format!("{} séjour(s) non valorisé(s)", totals.refused));
    }
    Ok(())
}
