//! Demo payers with dated default rates, and coverages and stays for part of the
//! demo patients (some coverages expired or overlapping, for the flags).

use crate::actor::Actor;
use crate::care::coverages::{self, CoverageInput};
use crate::db::Db;
use crate::error::Error;
use crate::care::payers::{self, PayerInput};
use crate::care::stays::{self, StayInput};

fn payer(code: &str, kind: &str, name: &str, identifier: &str, channel: &str, account: &str, city: &str, pc: &str) -> PayerInput {
    PayerInput {
        code: code.into(),
        kind: kind.into(),
        name: name.into(),
        identifier: identifier.into(),
        channel: channel.into(),
        accounting_account: account.into(),
        city: city.into(),
        postcode: pc.into(),
        country: if pc.starts_with("988") { "Nouvelle-Calédonie".into() } else { String::new() },
        payment_terms_days: "30".into(),
        statement_period: "mensuel".into(),
        statement_deadline_days: "15".into(),
        ..Default::default()
    }
}

/// (code, input, [(category, rate)]) for each establishment.
fn hsm_payers() -> Vec<(PayerInput, Vec<(&'static str, &'static str)>)> {
    let amo = vec![("sejour", "80"), ("actes", "70")];
    let amc = vec![("sejour", "20"), ("actes", "30"), ("forfait_journalier", "100")];
    vec![
        (payer("CPAM69", "obligatoire", "CPAM du Rhône", "691", "b2_noemie", "4111", "Lyon", "69003"), amo.clone()),
        (payer("MSA", "obligatoire", "MSA Ain-Rhône", "01", "b2_noemie", "4111", "Bourg-en-Bresse", "01000"), amo),
        (payer("MGEN", "complementaire", "MGEN", "775685399", "portail", "4112", "Paris", "75015"), amc.clone()),
        (payer("HARMONIE", "complementaire", "Harmonie Mutuelle", "538518473", "courriel", "4112", "Paris", "75012"), amc.clone()),
        (payer("MNH", "complementaire", "Mutuelle nationale des hospitaliers", "775606361", "papier", "4112", "Montargis", "45200"), amc),
    ]
}

fn dpass_payers() -> Vec<(PayerInput, Vec<(&'static str, &'static str)>)> {
    let mutuelle = vec![("sejour", "30"), ("actes", "30"), ("forfait_journalier", "100")];
    vec![
        (payer("CAFAT", "obligatoire", "CAFAT — RUAMM", "", "edi", "4111", "Nouméa", "98800"), vec![("sejour", "70"), ("actes", "70")]),
        (payer("MDF", "complementaire", "Mutuelle des Fonctionnaires", "", "courriel", "4112", "Nouméa", "98800"), mutuelle.clone()),
        (payer("MDC", "complementaire", "Mutuelle du Commerce", "", "papier", "4112", "Nouméa", "98800"), mutuelle.clone()),
        (payer("MDN", "complementaire", "Mutuelle du Nickel", "", "papier", "4112", "Nouméa", "98800"), mutuelle),
        (payer("AMSUD", "aide_medicale", "Aide médicale — Province Sud", "", "papier", "4113", "Nouméa", "98800"), vec![("sejour", "80"), ("actes", "80")]),
        (payer("AMNORD", "aide_medicale", "Aide médicale — Province Nord", "", "papier", "4113", "Koné", "98860"), vec![("sejour", "100"), ("actes", "100")]),
        (payer("AMILES", "aide_medicale", "Aide médicale — Province des Îles", "", "papier", "4113", "Lifou", "98820"), vec![("sejour", "100"), ("actes", "100")]),
        (payer("C15", "public", "Centre 15 — SAMU de Nouvelle-Calédonie", "", "courriel", "4114", "Nouméa", "98800"), vec![]),
    ]
}

/// Seeds payers, then coverages and stays for the first demo patients of each establishment.
/// A small but real one-page PDF carrying `text` (Helvetica, WinAnsi text only).
pub fn demo_pdf(text: &str) -> Vec<u8> {
    let safe: String = text.chars().filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\')).collect();
    let stream = format!("BT /F1 14 Tf 72 760 Td ({safe}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

async fn file_demo(db: &Db, op: &Actor, patient_id: i64, class: &str, target: &str, title: &str, date: &str) -> Result<(), Error> {
    let mut tx = db.read().await?;
    let row: Option<(i64, i64)> = tx
        .opt(
            "SELECT c.id, p.id FROM patients p JOIN document_classes c ON c.establishment_id = p.establishment_id AND c.code = $2 WHERE p.id = $1",
            &crate::args![patient_id, class],
        )
        .await?;
    tx.rollback().await?;
    let Some((class_id, _)) = row else { return Ok(()) };
    let input = crate::documents::UploadInput { target: target.into(), class_id: class_id.to_string(), title: title.into(), document_date: date.into(), ..Default::default() };
    crate::documents::parse_and_upload(db, op, &crate::documents::Storage::default(), patient_id, &input, "scan.pdf", &demo_pdf(title), jiff::Zoned::now().date()).await?;
    Ok(())
}

async fn attach_answer(db: &Db, op: &crate::actor::Actor, patient_id: i64, p: &crate::pec::Pec) -> Result<(), Error> {
    let mut tx = db.read().await?;
    let class: Option<(i64,)> =
        tx.opt("SELECT id FROM document_classes WHERE establishment_id = $1 AND code = 'accord_pec'", &crate::args![p.establishment_id]).await?;
    tx.rollback().await?;
    let Some((class_id,)) = class else { return Ok(()) };
    let input = crate::documents::UploadInput {
        target: format!("pec:{}", p.id),
        class_id: class_id.to_string(),
        title: format!("Accord {}", p.agreement_number.clone().unwrap_or_default()),
        document_date: "05/11/2026".into(),
        ..Default::default()
    };
    let bytes = demo_pdf(&format!("Accord de prise en charge {} - {}", p.agreement_number.clone().unwrap_or_default(), p.number));
    crate::documents::parse_and_upload(db, op, &crate::documents::Storage::default(), patient_id, &input, "accord.pdf", &bytes, jiff::Zoned::now().date())
        .await?;
    Ok(())
}

pub async fn seed(db: &Db, hsm: (i64, &[i64]), dpass: (i64, &[i64])) -> Result<(), Error> {
    let op = Actor::system("demo");
    for ((est, sites), list) in [(hsm, hsm_payers()), (dpass, dpass_payers())] {
        let mut ids = Vec::new();
        for (input, rates) in list {
            let p = payers::create(db, &op, est, &payers::parse_payer(&input)?).await?;
            for (cat, rate) in rates {
                let v = payers::get(db, &op, p.id).await?.version;
                let r = payers::parse_rate(&payers::RateInput { category: cat.into(), rate: rate.into(), valid_from: "01/01/2020".into() })?;
                payers::add_rate(db, &op, p.id, v, &r).await?;
            }
            ids.push((p.code.clone(), p.id));
        }
        let id_of = |code: &str| ids.iter().find(|(c, _)| c == code).map(|(_, i)| i.to_string()).unwrap_or_default();
        let nc = est == dpass.0;
        let mut tx = db.read().await?;
        let patients: Vec<(i64, String)> = tx
            .all("SELECT id, birth_date FROM patients WHERE establishment_id = $1 AND date_of_death IS NULL ORDER BY id LIMIT 120", &crate::args![est])
            .await?;
        tx.rollback().await?;
        for (k, (pid, _)) in patients.iter().enumerate() {
            // Compulsory coverage for most; a few expired ones and a gap for the flags.
            if k % 10 != 9 {
                let mut c = CoverageInput {
                    payer_id: id_of(if nc { "CAFAT" } else if k % 7 == 3 { "MSA" } else { "CPAM69" }),
                    role: "obligatoire".into(),
                    member_number: format!("{:09}", 100_000 + k * 37),
                    valid_from: "01/01/2025".into(),
                    ..Default::default()
                };
                if k % 13 == 4 {
                    c.valid_to = "30/09/2026".into();
                }
                if k % 17 == 5 {
                    c.exemptions = "ald".into();
                }
                coverages::save(db, &op, *pid, None, 0, &coverages::parse_coverage(&c)?).await?;
            }
            if k % 2 == 0 {
                let code = if nc { ["MDF", "MDC", "MDN"][k % 3] } else { ["MGEN", "HARMONIE", "MNH"][k % 3] };
                let c = CoverageInput {
                    payer_id: id_of(code),
                    role: "complementaire".into(),
                    member_number: format!("A{:07}", 5_000 + k * 11),
                    valid_from: "01/01/2026".into(),
                    valid_to: if k % 8 == 2 { "15/12/2026".into() } else { "31/12/2026".into() },
                    ..Default::default()
                };
                coverages::save(db, &op, *pid, None, 0, &coverages::parse_coverage(&c)?).await?;
            }
            if nc && k % 11 == 3 {
                let c = CoverageInput {
                    payer_id: id_of("AMSUD"),
                    role: "aide".into(),
                    valid_from: "01/08/2024".into(),
                    exemptions: "carte_b".into(),
                    ..Default::default()
                };
                coverages::save(db, &op, *pid, None, 0, &coverages::parse_coverage(&c)?).await?;
            }
            // Current and past stays for the hospital.
            if !nc && k < 30 {
                let site = sites[k % sites.len()];
                let current = k % 3 != 0;
                let s = StayInput {
                    site_id: site.to_string(),
                    care_mode: if k % 5 == 0 { "ambulatoire".into() } else { "hospitalisation_complete".into() },
                    admission_date: format!("{:02}/11/2026", 1 + (k % 20)),
                    admission_time: format!("{:02}:{:02}", 8 + k % 10, (k * 7) % 60),
                    planned_discharge_date: if current { "30/11/2026".into() } else { String::new() },
                    discharge_date: if current { String::new() } else { format!("{:02}/11/2026", 2 + (k % 20)) },
                    discharge_mode: if current { String::new() } else { "domicile".into() },
                    ..Default::default()
                };
                let stay = stays::save(db, &op, *pid, None, 0, &stays::parse_stay(&s)?).await?;
                // Movements for the billing engine: a private room at the patient's written
                // request from the admission, two days of intensive care, a transfer to
                // cardiology, and a costly act for one in four.
                if current && s.care_mode == "hospitalisation_complete" {
                    use crate::care::movements::{self, MovementInput, StayActInput};
                    let mut version = stay.version;
                    let day = |n: usize| format!("{:02}/11/2026", 1 + (k % 20) + n);
                    let mut list = vec![MovementInput { kind: "chambre_particuliere".into(), start_date: day(0), start_time: "18:30".into(), written_request: if k % 3 == 1 { "oui".into() } else { String::new() }, ..Default::default() }];
                    if k % 2 == 1 {
                        list.push(MovementInput { kind: "soins_intensifs".into(), start_date: day(1), start_time: "08:00".into(), end_date: day(2), end_time: "20:00".into(), ..Default::default() });
                    }
                    if k % 4 == 2 {
                        list.push(MovementInput { kind: "transfert".into(), start_date: day(2), start_time: "14:00".into(), service: "CARDIO".into(), ..Default::default() });
                    }
                    for m in list {
                        movements::add_movement(db, &op, stay.id, version, &movements::parse_movement(&m)?).await?;
                        version += 1;
                    }
                    if k % 4 == 1 {
                        let a = StayActInput { performed_on: day(1), code: "DZQM006".into(), label: "Échocardiographie transœsophagienne".into(), amount: "152,40".into(), ..Default::default() };
                        movements::add_act(db, &op, stay.id, version, &movements::parse_stay_act(&a, quittance_domain::money::Currency::Eur)?).await?;
                    }
                }
                // Old mail kept past its retention (retention report), and an identity document.
                if k == 1 || k == 4 {
                    file_demo(db, &op, *pid, "courrier", "patient", &format!("Courrier de relance {k}"), &format!("1{k}/03/2018")).await?;
                }
                if k % 4 == 1 {
                    file_demo(db, &op, *pid, "piece_identite", "patient", "Carte nationale d'identité", "02/11/2026").await?;
                }
                // Prises en charge for stays with a complementary: agreed, one agreement
                // expiring during the stay (an alert), one still a draft.
                if current && k % 2 == 0 {
                    let code = ["MGEN", "HARMONIE", "MNH"][k % 3];
                    let req = crate::pec::PecInput {
                        payer_id: id_of(code),
                        stay_id: stay.id.to_string(),
                        requested_items: "chambre_particuliere,forfait_journalier".into(),
                        requested_days: "10".into(),
                        estimate: "880,00".into(),
                        ..Default::default()
                    };
                    let p = crate::pec::create(db, &op, *pid, &crate::pec::parse_new(db, *pid, &req).await?).await?;
                    if k % 8 != 4 {
                        let p = crate::pec::send(db, &op, p.id, p.version).await?;
                        let answer = crate::pec::AnswerInput {
                            status: if k % 3 == 0 { "partielle".into() } else { "acceptee".into() },
                            agreement_number: format!("ACC{:06}", 4_000 + k),
                            agreed_items: if k % 3 == 0 { "forfait_journalier".into() } else { "chambre_particuliere,forfait_journalier".into() },
                            cap_per_day: "65,00".into(),
                            max_days: "10".into(),
                            valid_from: "01/11/2026".into(),
                            valid_to: if k % 5 == 2 { "25/11/2026".into() } else { "31/12/2026".into() },
                            ..Default::default()
                        };
                        let p = crate::pec::answer(db, &op, p.id, p.version, &crate::pec::parse_answer(db, p.id, &answer).await?).await?;
                        // The payer's answer is filed, except for one file (missing-document report).
                        if k % 10 != 6 {
                            attach_answer(db, &op, *pid, &p).await?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
