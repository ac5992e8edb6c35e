//! Letters: the prise en charge request to a complementary payer.

use crate::{lit, render};

/// One requested item of a PEC request.
#[derive(Debug, Clone)]
pub struct PecLine {
    pub label: String,
    /// Already formatted in French (`1 234,56 €`), or empty.
    pub amount: String,
}

/// Everything the request letter shows; all values already formatted for French readers.
#[derive(Debug, Clone)]
pub struct PecLetter {
    pub establishment_name: String,
    pub establishment_address: Vec<String>,
    pub establishment_ids: String,
    pub city_and_date: String,
    pub payer_name: String,
    pub payer_address: Vec<String>,
    pub reference: String,
    pub patient_name: String,
    pub patient_birth_date: String,
    pub patient_ipp: String,
    pub member_number: String,
    pub insured: String,
    pub stay: String,
    pub care_mode: String,
    pub lines: Vec<PecLine>,
    pub estimate: String,
    pub requested_days: String,
    pub contact: String,
}

fn lines(v: &[String]) -> String {
    v.iter().map(|l| format!("#text({})", lit(l))).collect::<Vec<_>>().join(" \\\n")
}

/// The PDF of a prise en charge request.
pub fn pec_request(l: &PecLetter, today: (i32, u8, u8)) -> Result<Vec<u8>, String> {
    let rows: String = l
        .lines
        .iter()
        .map(|r| format!("  [#text({})], [#text({})],\n", lit(&r.label), lit(&r.amount)))
        .collect();
    let src = format!(
        r#"#set document(title: {title})
#set page(paper: "a4", margin: (x: 2cm, y: 2cm), footer: context align(center, text(size: 8pt)[Page #counter(page).display() / #counter(page).final().first()]))
#set text(lang: "fr", size: 10.5pt)
#set par(justify: true)
#grid(columns: (1fr, 1fr), gutter: 1em,
  [#strong(text({est}))\
{est_addr}\
#text(size: 8pt, {est_ids})],
  align(right)[#v(2.5em)#strong(text({payer}))\
{payer_addr}]
)
#v(1.5em)
#align(right, text({city_date}))
#v(1em)
*Objet : demande de prise en charge* — réf. #text({reference})

Madame, Monsieur,

Nous vous prions de bien vouloir nous faire connaître votre accord de prise en charge pour le séjour de votre adhérent(e) décrit ci-dessous, et les éléments que vous garantissez (montant par jour, nombre de jours, période de validité).

#table(columns: (auto, 1fr), stroke: 0.4pt + luma(160), inset: 6pt,
  [Patient], [#text({patient})],
  [Né(e) le], [#text({birth})],
  [IPP], [#text({ipp})],
  [N° d'adhérent], [#text({member})],
  [Assuré], [#text({insured})],
  [Séjour], [#text({stay})],
  [Mode de prise en charge], [#text({care})],
  [Durée demandée], [#text({days})],
)

#v(0.8em)
*Éléments demandés*

#table(columns: (1fr, auto), stroke: 0.4pt + luma(160), inset: 6pt, align: (left, right),
  table.header([*Élément*], [*Estimation*]),
{rows}  [*Total estimé*], [*#text({estimate})*],
)

#v(0.8em)
Merci d'adresser votre réponse, en rappelant la référence ci-dessus, à : #text({contact}).

Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.

#v(2em)
#align(right)[Le bureau des entrées]
"#,
        title = lit(&format!("Demande de prise en charge {}", l.reference)),
        est = lit(&l.establishment_name),
        est_addr = lines(&l.establishment_address),
        est_ids = lit(&l.establishment_ids),
        payer = lit(&l.payer_name),
        payer_addr = lines(&l.payer_address),
        city_date = lit(&l.city_and_date),
        reference = lit(&l.reference),
        patient = lit(&l.patient_name),
        birth = lit(&l.patient_birth_date),
        ipp = lit(&l.patient_ipp),
        member = lit(&l.member_number),
        insured = lit(&l.insured),
        stay = lit(&l.stay),
        care = lit(&l.care_mode),
        days = lit(&l.requested_days),
        estimate = lit(&l.estimate),
        contact = lit(&l.contact),
    );
    render(&src, today)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pec_letter_renders() {
        let l = PecLetter {
            establishment_name: "Hôpital Sainte-Marie".into(),
            establishment_address: vec!["12 rue des Hospitaliers".into(), "69003 Lyon".into()],
            establishment_ids: "FINESS 690780127 · SIRET 26690123400010".into(),
            city_and_date: "Lyon, le 22/11/2026".into(),
            payer_name: "MGEN".into(),
            payer_address: vec!["75015 Paris".into()],
            reference: "PEC-2026-000001".into(),
            patient_name: "DUPONT Marie".into(),
            patient_birth_date: "15/03/1950".into(),
            patient_ipp: "00000012".into(),
            member_number: "A0001234".into(),
            insured: "L'adhérente elle-même".into(),
            stay: "Admission le 20/11/2026, sortie prévue le 30/11/2026".into(),
            care_mode: "Hospitalisation complète".into(),
            lines: vec![
                PecLine { label: "Forfait journalier (10 jours)".into(), amount: "230,00\u{A0}€".into() },
                PecLine { label: "Chambre particulière (10 jours)".into(), amount: "650,00\u{A0}€".into() },
            ],
            estimate: "880,00\u{A0}€".into(),
            requested_days: "10 jours".into(),
            contact: "bureau des entrées, facturation@hsm.invalid".into(),
        };
        let pdf = pec_request(&l, (2026, 11, 22)).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
