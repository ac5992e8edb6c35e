//! The training data set: a French hospital and a New Caledonian health
//! directorate, their sites and numbering series, and one user per role.

pub mod activity;
pub mod care;
pub mod patients;

use quittance_domain::access::{Grant, Role};

use crate::actor::Actor;
use crate::access::{self as auth, NewUser};
use crate::db::Db;
use crate::error::Error;
use crate::establishments::{self, EstablishmentInput, SiteInput};

/// The one password of every demo account (training only; printed at start-up).
pub const DEMO_PASSWORD: &str = "formation-2026";

/// A demo account as printed by `quittance demo`.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub role: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub scope: &'static str,
}

fn est(code: &str, name: &str, kind: &str, cur: &str, tz: &str, addr: &str, pc: &str, city: &str, country: &str) -> EstablishmentInput {
    EstablishmentInput {
        code: code.into(),
        name: name.into(),
        kind: kind.into(),
        currency: cur.into(),
        timezone: tz.into(),
        address_line1: addr.into(),
        postcode: pc.into(),
        city: city.into(),
        country: country.into(),
        ..Default::default()
    }
}

fn site(code: &str, name: &str, kind: &str, pc: &str, city: &str) -> Result<establishments::ParsedSite, Error> {
    Ok(establishments::parse_site(&SiteInput { code: code.into(), name: name.into(), kind: kind.into(), postcode: pc.into(), city: city.into(), ..Default::default() })?)
}

fn series(code: &str, label: &str, mask: &str) -> Result<establishments::ParsedSeries, Error> {
    Ok(establishments::parse_series(&establishments::SeriesInput { code: code.into(), label: label.into(), mask: mask.into() })?)
}

/// Whether the database already holds the demo data set.
pub async fn is_seeded(db: &Db) -> Result<bool, Error> {
    let mut tx = db.read().await?;
    let n = tx.int("SELECT COUNT(*) FROM establishments WHERE code = 'HSM'", &[]).await?;
    tx.rollback().await?;
    Ok(n > 0)
}

/// Creates the demo data set through the use cases (so it is validated and audited).
pub async fn seed(db: &Db) -> Result<Vec<DemoLogin>, Error> {
    let op = Actor::system("demo");
    let mut hsm = est(
        "HSM", "Hôpital Sainte-Marie", "hopital", "EUR", "Europe/Paris",
        "12 rue des Hospitaliers", "69003", "Lyon", "France",
    );
    hsm.siret = "26690123400010".into();
    hsm.finess = "690780127".into();
    hsm.phone = "04 72 00 00 00".into();
    let hsm = establishments::create(db, &op, &establishments::parse_establishment(&hsm)?).await?;
    let mut dpass = est(
        "DPASS-PS", "DPASS Province Sud", "direction_sante", "XPF", "Pacific/Noumea",
        "6 route des Artifices, Baie de la Moselle", "98800", "Nouméa", "Nouvelle-Calédonie",
    );
    dpass.ridet = "0123456.001".into();
    dpass.phone = "20 40 00".into();
    let dpass = establishments::create(db, &op, &establishments::parse_establishment(&dpass)?).await?;

    let med = establishments::create_site(db, &op, hsm.id, &site("MED", "Médecine interne", "service", "69003", "Lyon")?).await?;
    let chir = establishments::create_site(db, &op, hsm.id, &site("CHIR", "Chirurgie orthopédique", "service", "69003", "Lyon")?).await?;
    let mat = establishments::create_site(db, &op, hsm.id, &site("MAT", "Maternité", "service", "69003", "Lyon")?).await?;
    let rs = establishments::create_site(db, &op, dpass.id, &site("CMS-RS", "CMS de Rivière-Salée", "cms", "98800", "Nouméa")?).await?;
    let md = establishments::create_site(db, &op, dpass.id, &site("CMS-MD", "CMS du Mont-Dore", "cms", "98809", "Mont-Dore")?).await?;
    let pa = establishments::create_site(db, &op, dpass.id, &site("CMS-PA", "CMS de Païta", "cms", "98890", "Païta")?).await?;
    let bo = establishments::create_site(db, &op, dpass.id, &site("CMS-BO", "CMS de Bourail", "cms", "98870", "Bourail")?).await?;

    // Each establishment's own tariffs, beside the national ones of its territory.
    seed_tariffs(db, &op, hsm.id, include_str!("tarifs-hsm.csv")).await?;
    seed_tariffs(db, &op, dpass.id, include_str!("tarifs-dpass.csv")).await?;

    for e in [hsm.id, dpass.id] {
        establishments::save_series(db, &op, e, None, &series("FAC", "Factures", "FAC-{YYYY}-{N:6}")?).await?;
        establishments::save_series(db, &op, e, None, &series("AV", "Avoirs", "AV-{YYYY}-{N:6}")?).await?;
        establishments::save_series(db, &op, e, None, &series("REC", "Reçus", "REC-{YYYY}-{N:6}")?).await?;
    }

    crate::demo::patients::seed(db, (hsm.id, &[med.id, chir.id, mat.id]), (dpass.id, &[rs.id, md.id, pa.id, bo.id])).await?;
    crate::demo::care::seed(db, (hsm.id, &[med.id, chir.id, mat.id]), (dpass.id, &[rs.id, md.id, pa.id, bo.id])).await?;
    crate::demo::activity::seed(db, (hsm.id, med.id, chir.id), (dpass.id, rs.id)).await?;

    let wide = |role, e| Grant { role, establishment_id: e, site_id: None };
    let at_site = |role, e, s| Grant { role, establishment_id: e, site_id: Some(s) };
    let accounts: Vec<(&'static str, &'static str, &'static str, &'static str, Vec<Grant>)> = vec![
        ("admin", "Alice Administratrice", "Administrateur", "les deux établissements",
            vec![wide(Role::Administrateur, hsm.id), wide(Role::Administrateur, dpass.id)]),
        ("technicien", "Thomas Martin", "Technicien de facturation", "Hôpital Sainte-Marie",
            vec![wide(Role::TechnicienFacturation, hsm.id)]),
        ("secretaire", "Sylvie Wamytan", "Secrétaire médicale", "CMS de Rivière-Salée",
            vec![at_site(Role::SecretaireMedicale, dpass.id, rs.id)]),
        ("regisseur", "Rémi Gope", "Régisseur titulaire", "CMS de Rivière-Salée",
            vec![at_site(Role::RegisseurTitulaire, dpass.id, rs.id)]),
        ("suppleant", "Sandrine Nirua", "Régisseur suppléant", "CMS de Rivière-Salée",
            vec![at_site(Role::RegisseurSuppleant, dpass.id, rs.id)]),
        ("mandataire", "Marc Tein", "Mandataire", "Médecine interne (Sainte-Marie)",
            vec![at_site(Role::Mandataire, hsm.id, med.id)]),
        ("controleur", "Claire Dubois", "Contrôleur financier", "DPASS Province Sud",
            vec![wide(Role::ControleurFinancier, dpass.id)]),
        ("comptable", "Jean Leclerc", "Comptable", "les deux établissements",
            vec![wide(Role::Comptable, hsm.id), wide(Role::Comptable, dpass.id)]),
        ("auditeur", "Anne Roussel", "Auditeur (lecture seule)", "les deux établissements",
            vec![wide(Role::Auditeur, hsm.id), wide(Role::Auditeur, dpass.id)]),
    ];
    let mut out = Vec::new();
    for (username, display, role, scope, grants) in accounts {
        auth::create_user(
            db,
            &op,
            &NewUser {
                username: username.into(),
                display_name: display.into(),
                email: format!("{username}@demo.quittance.invalid"),
                password: Some(DEMO_PASSWORD.into()),
                grants,
                must_change_password: false,
            },
        )
        .await?;
        out.push(DemoLogin { role, username, password: DEMO_PASSWORD, scope });
    }
    Ok(out)
}

/// Imports a demo tariff file (the format of `quittance import tariffs`); a refused row is a bug of the demo.
async fn seed_tariffs(db: &Db, op: &Actor, establishment_id: i64, csv_text: &str) -> Result<(), Error> {
    let rows: Vec<crate::billing::tariffs::TariffCsvRow> = crate::billing::territory::rows(csv_text)?;
    let rows = rows.into_iter().enumerate().map(|(i, r)| (i + 2, r)).collect();
    let parsed = crate::billing::tariffs::parse_rows(db, establishment_id, rows).await?;
    let report = crate::billing::tariffs::import_in_batches(db, op, establishment_id, parsed, &crate::shared::imports::Batches::single(false), &mut |_| {}).await?;
    if report.errors.is_empty() { Ok(()) } else { Err(Error::Integrity(format!("tarifs de démonstration refusés : {:?}", report.errors))) }
}

/// The demo logins (for printing when the data set already exists).
pub fn logins() -> Vec<DemoLogin> {
    [
        ("Administrateur", "admin", "les deux établissements"),
        ("Technicien de facturation", "technicien", "Hôpital Sainte-Marie"),
        ("Secrétaire médicale", "secretaire", "CMS de Rivière-Salée"),
        ("Régisseur titulaire", "regisseur", "CMS de Rivière-Salée"),
        ("Régisseur suppléant", "suppleant", "CMS de Rivière-Salée"),
        ("Mandataire", "mandataire", "Médecine interne (Sainte-Marie)"),
        ("Contrôleur financier", "controleur", "DPASS Province Sud"),
        ("Comptable", "comptable", "les deux établissements"),
        ("Auditeur (lecture seule)", "auditeur", "les deux établissements"),
    ]
    .into_iter()
    .map(|(role, username, scope)| DemoLogin { role, username, password: DEMO_PASSWORD, scope })
    .collect()
}
