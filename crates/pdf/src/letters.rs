//! Letters: the prise en charge request to a complementary payer.

use crate::{
    Align, Cell, Column, Columns, DEFAULT_SIZE, Document, Paragraph, Span, Table, TableColumn,
    Width,
};

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

/// The document of a prise en charge request (see [`pec_request`]).
pub fn pec_request_document(l: &PecLetter, today: (i32, u8, u8)) -> Document {
    let em = DEFAULT_SIZE;
    let mut doc = Document::new(format!("Demande de prise en charge {}", l.reference), today);

    let mut sender = vec![Paragraph::new(&l.establishment_name).bold()];
    sender.extend(l.establishment_address.iter().map(Paragraph::new));
    sender.push(
        Paragraph::new(&l.establishment_ids)
            .size(8.0)
            .space_before(2.0),
    );
    let mut recipient = vec![
        Paragraph::new(&l.payer_name)
            .bold()
            .align(Align::Right)
            .space_before(2.5 * em),
    ];
    recipient.extend(
        l.payer_address
            .iter()
            .map(|a| Paragraph::new(a).align(Align::Right)),
    );
    doc.push(Columns {
        columns: vec![
            Column {
                width: Width::Fraction(1.0),
                content: sender,
            },
            Column {
                width: Width::Fraction(1.0),
                content: recipient,
            },
        ],
        gap: em,
    });

    doc.blocks.push(crate::Block::Space(1.5 * em));
    doc.push(Paragraph::new(&l.city_and_date).align(Align::Right));
    doc.blocks.push(crate::Block::Space(1.5 * em));
    doc.push(
        Paragraph::spans(vec![
            Span::bold("Objet : demande de prise en charge"),
            Span::regular(format!(" — réf. {}", l.reference)),
        ])
        .space_after(1.2 * em),
    );
    doc.push(Paragraph::new("Madame, Monsieur,").space_after(0.8 * em));
    doc.push(
        Paragraph::new(
            "Nous vous prions de bien vouloir nous faire connaître votre accord de prise en charge pour le séjour \
             de votre adhérent(e) décrit ci-dessous, et les éléments que vous garantissez (montant par jour, \
             nombre de jours, période de validité).",
        )
        .align(Align::Justify)
        .space_after(1.0 * em),
    );

    let facts = [
        ("Patient", &l.patient_name),
        ("Né(e) le", &l.patient_birth_date),
        ("IPP", &l.patient_ipp),
        ("N° d'adhérent", &l.member_number),
        ("Assuré", &l.insured),
        ("Séjour", &l.stay),
        ("Mode de prise en charge", &l.care_mode),
        ("Durée demandée", &l.requested_days),
    ];
    let mut table = Table::new(vec![
        TableColumn::new(Width::Auto, Align::Left),
        TableColumn::new(Width::Fraction(1.0), Align::Left),
    ]);
    for (label, value) in facts {
        table = table.row(vec![Cell::text(label), Cell::text(value.as_str())]);
    }
    doc.push(table);

    doc.blocks.push(crate::Block::Space(1.2 * em));
    doc.push(
        Paragraph::new("Éléments demandés")
            .bold()
            .space_after(0.5 * em)
            .keep_with_next(),
    );
    let mut items = Table::new(vec![
        TableColumn::new(Width::Fraction(1.0), Align::Left),
        TableColumn::new(Width::Auto, Align::Right),
    ])
    .header(vec![Cell::text("Élément"), Cell::text("Estimation")]);
    for line in &l.lines {
        items = items.row(vec![Cell::text(&line.label), Cell::text(&line.amount)]);
    }
    items = items.row(vec![Cell::bold("Total estimé"), Cell::bold(&l.estimate)]);
    doc.push(items);

    doc.blocks.push(crate::Block::Space(1.2 * em));
    doc.push(
        Paragraph::new(format!(
            "Merci d'adresser votre réponse, en rappelant la référence ci-dessus, à : {}.",
            l.contact
        ))
        .space_after(0.8 * em),
    );
    doc.push(Paragraph::new(
        "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.",
    ));
    doc.blocks.push(crate::Block::Space(2.5 * em));
    doc.push(Paragraph::new("Le bureau des entrées").align(Align::Right));
    doc
}

/// The PDF of a prise en charge request; `today` is the document's creation date.
pub fn pec_request(l: &PecLetter, today: (i32, u8, u8)) -> Result<Vec<u8>, String> {
    pec_request_document(l, today).render()
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
                PecLine {
                    label: "Forfait journalier (10 jours)".into(),
                    amount: "230,00\u{A0}€".into(),
                },
                PecLine {
                    label: "Chambre particulière (10 jours)".into(),
                    amount: "650,00\u{A0}€".into(),
                },
            ],
            estimate: "880,00\u{A0}€".into(),
            requested_days: "10 jours".into(),
            contact: "bureau des entrées, facturation@hsm.invalid".into(),
        };
        let pdf = pec_request(&l, (2026, 11, 22)).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        let laid = pec_request_document(&l, (2026, 11, 22)).layout().unwrap();
        assert_eq!(laid.pages.len(), 1);
        let text = laid.pages[0].text();
        for s in [
            "Objet : demande de prise en charge — réf. PEC-2026-000001",
            "DUPONT Marie",
            "Total estimé",
            "Page 1 / 1",
        ] {
            assert!(text.contains(s), "{s} in {text}");
        }
    }
}
