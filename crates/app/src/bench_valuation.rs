//! `quittance bench valuation`: every stay of an establishment valued (forfait journalier and
//! daily tariff by the dated tariffs and parameters) from the database, beside a plain read of
//! the same rows, in the same run.

use std::time::Instant;

use quittance_store::billing::{TariffInput, tariffs};
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
        sites.push(site);
    }
    // One patient holds every stay: the valuation reads stays, tariffs and parameters only.
    let p = PatientInput { birth_name: "BANC".into(), birth_first_names: "ESSAI".into(), birth_date: "01/01/1970".into(), sex: "F".into(), birth_place_code: "69123".into(), identity_status: "provisoire".into(), ..Default::default() };
    let parsed = patients::parse_new(db, est.id, &p).await.map_err(err)?;
    let patient = patients::create(db, &op, est.id, &parsed).await.map_err(err)?.id;

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
                "({patient}, {}, {}, '{adm}T09:30', {discharge}, {mode}, 'hospitalisation_complete', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1)",
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
    println!("{backend} : {} séjours de {days} jours créés en {:.1} s.", fr_int(stays as f64), t0.elapsed().as_secs_f64());
    if matches!(db.backend(), quittance_store::Backend::Postgres) {
        db.raw("ANALYZE").await.map_err(err)?;
    }
    let today = jiff::civil::date(2026, 12, 1);

    // Best of three of each.
    let mut plain = f64::MAX;
    let mut plain_rows = 0usize;
    let mut valued = f64::MAX;
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
        tx.rollback().await.map_err(err)?;
        plain = plain.min(t.elapsed().as_secs_f64());
        plain_rows = r.len();
        let t = Instant::now();
        totals = quittance_store::billing::valuation::totals(db, est.id, today).await.map_err(err)?;
        valued = valued.min(t.elapsed().as_secs_f64());
    }
    let per_s = |secs: f64| if secs > 0.0 { (totals.stay_days as f64 / secs) as u64 } else { 0 };
    println!("{:<34} {:>10} {:>14} {:>16}", "", "ms", "séjours", "jours valorisés/s");
    println!("{:<34} {:>10.0} {:>14} {:>16}", "lecture simple (référence)", plain * 1000.0, fr_int(plain_rows as f64), fr_int(per_s(plain) as f64));
    println!("{:<34} {:>10.0} {:>14} {:>16}", "valorisation et répartition", valued * 1000.0, fr_int(totals.stays as f64), fr_int(per_s(valued) as f64));
    println!(
        "{backend} : {} jours valorisés (forfait journalier et tarif journalier) en {} charges, total {} ; {} séjour(s) refusé(s).",
        fr_int(totals.stay_days as f64),
        fr_int(totals.charges as f64),
        quittance_domain::money::Money::new(totals.amount_minor, quittance_domain::money::Currency::Eur).format_fr_plain(),
        totals.refused
    );
    println!("ratio {backend} : {}", format!("{:.2}", valued / plain.max(1e-9)).replace('.', ","));
    if totals.refused > 0 {
        return Err(format!("{} séjour(s) non valorisé(s)", totals.refused));
    }
    Ok(())
}
