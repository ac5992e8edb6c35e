//! Demo activity: the hospital's TV and telephone offers (medicine, surgery) and a TV +
//! telephone subscription with call units for the first patient in a current stay there; CMS acts (one cancelled) for
//! DPASS patients of the Rivière-Salée centre.

use crate::activity::{self, ActInput, OfferInput, SubscriptionInput, UnitsInput, acts, services};
use crate::actor::Actor;
use crate::args;
use crate::db::Db;
use crate::error::Error;

/// Seeds the demo activity (`hsm`: establishment and its MED, CHIR sites; `dpass`: establishment
/// and its CMS-RS site).
pub async fn seed(db: &Db, hsm: (i64, i64, i64), dpass: (i64, i64)) -> Result<(), Error> {
    let op = Actor::system("demo");
    let (hsm_id, med, chir) = hsm;
    let offer = |site: i64, phone: bool| OfferInput {
        site_id: site.to_string(),
        tv_code: "TV".into(),
        phone_activation_code: if phone { "TEL-MES".into() } else { String::new() },
        phone_unit_code: if phone { "TEL-U".into() } else { String::new() },
        active: "on".into(),
    };
    services::save_offer(db, &op, hsm_id, None, &activity::parse_offer(&offer(med, true))?).await?;
    services::save_offer(db, &op, hsm_id, None, &activity::parse_offer(&offer(chir, true))?).await?;

    let mut tx = db.read().await?;
    let stay: Option<(i64, i64, String, i64)> = tx
        .opt("SELECT id, patient_id, admission_at, site_id FROM stays WHERE site_id IN ($1, $2) AND discharge_at IS NULL ORDER BY id LIMIT 1", &args![med, chir])
        .await?;
    let (dpass_id, rs) = dpass;
    let cms: Vec<(i64,)> = tx
        .all(
            "SELECT p.id FROM patients p JOIN patient_sites s ON s.patient_id = p.id WHERE s.site_id = $1 AND p.establishment_id = $2 AND p.date_of_death IS NULL ORDER BY p.id LIMIT 3",
            &args![rs, dpass_id],
        )
        .await?;
    tx.rollback().await?;

    if let Some((stay_id, patient_id, admission, site)) = stay {
        let day = admission.get(..10).and_then(|d| d.parse::<jiff::civil::Date>().ok()).map(quittance_domain::fr::format_date_fr).unwrap_or_else(|| "01/11/2026".into());
        let s = SubscriptionInput {
            site_id: site.to_string(),
            stay_id: stay_id.to_string(),
            kind: "tv_telephone".into(),
            line_number: "4201".into(),
            debtor: "patient".into(),
            opened_on: day.clone(),
            ..Default::default()
        };
        let sub = services::open(db, &op, patient_id, &activity::parse_subscription(&s)?).await?;
        for (units, id) in [("12", "DEMO-TEL-1"), ("7", "DEMO-TEL-2")] {
            let u = UnitsInput { used_on: day.clone(), units: units.into(), external_id: id.into() };
            services::add_units(db, &op, patient_id, sub.id, &activity::parse_units(&u)?).await?;
        }
    }

    let plan: [(&str, &str, &str, &str); 5] = [
        ("12/11/2026", "C", "", "Dr Wakolo"),
        ("12/11/2026", "AMI", "2", "IDE Tein"),
        ("18/11/2026", "SF", "", "SF Poédi"),
        ("19/11/2026", "AMI", "1,5", "IDE Tein"),
        ("20/11/2026", "C", "", "Dr Wakolo"),
    ];
    for (k, (pid,)) in cms.iter().enumerate() {
        for (n, (day, code, coefficient, who)) in plan.iter().enumerate().filter(|(n, _)| (n + k) % 2 == 0 || k == 0) {
            let a = ActInput {
                site_id: rs.to_string(),
                act_date: (*day).into(),
                practitioner: (*who).into(),
                code: (*code).into(),
                coefficient: (*coefficient).into(),
                external_id: format!("DEMO-CMS-{pid}-{n}"),
                ..Default::default()
            };
            let (act, _) = acts::record(db, &op, *pid, &activity::parse_act(&a)?).await?;
            if k == 0 && n == 4 {
                acts::cancel(db, &op, *pid, act.id, act.version, "Saisi en double (démonstration)").await?;
            }
        }
    }
    Ok(())
}
