//! Rendering tests: file structure, determinism, text extraction with
//! poppler's `pdftotext`, wrapping, hostile and uncovered characters.
//!
//! The extraction tests need `pdftotext` (Debian package poppler-utils). When
//! it is missing they print a notice and pass, unless
//! `QUITTANCE_REQUIRE_PDFTOTEXT=1`, in which case they fail.

use std::path::PathBuf;
use std::process::Command;

use quittance_pdf::{
    Align, Cell, Document, FontFamily, Paragraph, PecLetter, PecLine, Table, TableColumn, Width,
    pec_request, pec_request_document,
};

const TODAY: (i32, u8, u8) = (2026, 11, 23);

fn letter() -> PecLetter {
    PecLetter {
        establishment_name: "Centre hospitalier territorial Gaston-Bourret".into(),
        establishment_address: vec![
            "110, boulevard Joseph-Wamytan".into(),
            "BP J5 — 98849 Nouméa Cedex".into(),
        ],
        establishment_ids: "RIDET 0 123 456.001 · N° FINESS 980500011".into(),
        city_and_date: "Nouméa, le 23/11/2026".into(),
        payer_name: "Mutuelle des fonctionnaires de Nouvelle-Calédonie".into(),
        payer_address: vec![
            "Service des prises en charge".into(),
            "12, rue de Sébastopol".into(),
            "98800 Nouméa".into(),
        ],
        reference: "PEC-2026-000042".into(),
        patient_name: "WAHETRA épouse LE GOFF Hélène « Léna »".into(),
        patient_birth_date: "15/03/1950".into(),
        patient_ipp: "00000012".into(),
        member_number: "MF-0042-7781".into(),
        insured: "L'adhérente elle-même".into(),
        stay: "Admission le 20/11/2026 en chirurgie orthopédique, sortie prévue le 30/11/2026"
            .into(),
        care_mode: "Hospitalisation complète".into(),
        lines: vec![
            PecLine {
                label: "Frais de séjour (10 jours × 123,456 €)".into(),
                amount: "1\u{202F}234,56\u{A0}€".into(),
            },
            PecLine {
                label: "Forfait journalier (10 jours)".into(),
                amount: "230,00\u{A0}€".into(),
            },
            PecLine {
                label: "Chambre particulière (10 jours)".into(),
                amount: "650,00\u{A0}€".into(),
            },
            PecLine {
                label: "Supplément œuvre sociale, non chiffré".into(),
                amount: String::new(),
            },
        ],
        estimate: "2\u{202F}114,56\u{A0}€".into(),
        requested_days: "10 jours".into(),
        contact: "bureau des entrées, 26 54 00, facturation@chtgb.invalid".into(),
    }
}

/// Poppler folds no-break spaces into plain ones; compare with spaces folded and runs collapsed.
fn fold(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if matches!(c, '\u{A0}' | '\u{202F}' | '\u{2009}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("-v").output().is_ok();
    if !found {
        if std::env::var("QUITTANCE_REQUIRE_PDFTOTEXT").as_deref() == Ok("1") {
            panic!(
                "{name} is required (QUITTANCE_REQUIRE_PDFTOTEXT=1) but not on PATH: install poppler-utils"
            );
        }
        eprintln!(
            "SKIPPED: {name} not on PATH (install poppler-utils); set QUITTANCE_REQUIRE_PDFTOTEXT=1 to fail instead"
        );
    }
    found
}

fn scratch(name: &str, pdf: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, pdf).expect("write the PDF");
    path
}

/// `pdftotext -layout` of the PDF, pages separated by form feeds; None when the tool is absent.
/// Fails on any complaint of poppler's on standard error (a damaged file).
fn pdftotext(name: &str, pdf: &[u8]) -> Option<String> {
    if !tool("pdftotext") {
        return None;
    }
    let path = scratch(name, pdf);
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&path)
        .arg("-")
        .output()
        .expect("run pdftotext");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "pdftotext failed: {stderr}"
    );
    Some(String::from_utf8(out.stdout).expect("UTF-8 text"))
}

#[test]
fn a_pdf_file_from_header_to_trailer() {
    let pdf = pec_request(&letter(), TODAY).expect("renders");
    assert!(pdf.starts_with(b"%PDF-1.7"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    let raw = String::from_utf8_lossy(&pdf);
    for needle in [
        "/Identity-H",
        "/ToUnicode",
        "/CIDFontType0",
        "/FontFile3",
        "/FlateDecode",
        "/Producer (Quittance)",
        "/CreationDate (D:20261123)",
        "/Lang (fr)",
    ] {
        assert!(raw.contains(needle), "{needle} missing");
    }
    std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")).unwrap();
    std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/pec-sample.pdf"),
        &pdf,
    )
    .unwrap();
    // Subsetted: well under the two font files (337 + 294 kB). What remains is
    // mostly the CFF subroutines, which subsetter 0.1 keeps whole.
    assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
}

/// The decompressed contents of the file's Flate streams.
fn inflated_streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = pdf[at..].windows(10).position(|w| w == b">>\nstream\n") {
        let start = at + i + 10;
        let Some(len) = pdf[start..].windows(10).position(|w| w == b"\nendstream") else {
            break;
        };
        if let Ok(data) = miniz_oxide::inflate::decompress_to_vec_zlib(&pdf[start..start + len]) {
            out.push(data);
        }
        at = start + len;
    }
    out
}

#[test]
fn glyphs_map_back_to_their_characters() {
    let pdf = pec_request(&letter(), TODAY).unwrap();
    let streams = inflated_streams(&pdf);
    let cmaps: Vec<String> = streams
        .iter()
        .filter(|s| s.starts_with(b"%!PS-Adobe-3.0 Resource-CMap"))
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    assert_eq!(cmaps.len(), 2, "one ToUnicode map per font (regular, bold)");
    // Narrow no-break space, no-break space, euro sign, é, œ, «, », em dash.
    for code in [
        "<202F>", "<00A0>", "<20AC>", "<00E9>", "<0153>", "<00AB>", "<00BB>", "<2014>",
    ] {
        assert!(
            cmaps.iter().any(|c| c.contains(code)),
            "{code} missing from the ToUnicode maps"
        );
    }
    // Text is shown with two-byte glyph codes in TJ arrays.
    assert!(
        streams
            .iter()
            .any(|s| s.windows(4).any(|w| w == b"] TJ") || s.windows(3).any(|w| w == b"]TJ"))
    );
}

#[test]
fn same_input_same_bytes() {
    let a = pec_request(&letter(), TODAY).unwrap();
    let b = pec_request(&letter(), TODAY).unwrap();
    assert!(a == b, "two renders differ");
    let c = pec_request(&letter(), (2026, 11, 24)).unwrap();
    assert!(a != c, "the creation date is part of the file");
}

#[test]
fn metadata_from_the_document() {
    if !tool("pdfinfo") {
        return;
    }
    let path = scratch("info.pdf", &pec_request(&letter(), TODAY).unwrap());
    let out = Command::new("pdfinfo")
        .arg(&path)
        .output()
        .expect("run pdfinfo");
    let info = fold(&String::from_utf8_lossy(&out.stdout));
    for s in [
        "Title: Demande de prise en charge PEC-2026-000042",
        "Producer: Quittance",
        "CreationDate: Mon Nov 23 00:00:00 2026",
        "Pages: 1",
        "Page size: 595.28 x 841.89 pts (A4)",
    ] {
        assert!(info.contains(s), "{s} not in {info}");
    }
}

#[test]
fn french_text_comes_back_from_the_letter() {
    let Some(text) = pdftotext("letter.pdf", &pec_request(&letter(), TODAY).unwrap()) else {
        return;
    };
    let folded = fold(&text);
    for s in [
        "Centre hospitalier territorial Gaston-Bourret",
        "BP J5 — 98849 Nouméa Cedex",
        "Mutuelle des fonctionnaires de Nouvelle-",
        "Calédonie",
        "Nouméa, le 23/11/2026",
        "Objet : demande de prise en charge — réf. PEC-2026-000042",
        "Madame, Monsieur,",
        "WAHETRA épouse LE GOFF Hélène « Léna »",
        "N° d'adhérent",
        "Mode de prise en charge",
        "Éléments demandés",
        "Chambre particulière (10 jours)",
        "Supplément œuvre sociale",
        "1 234,56 €",
        "2 114,56 €",
        "Total estimé",
        "l'expression de nos salutations distinguées.",
        "Le bureau des entrées",
        "Page 1 / 1",
    ] {
        assert!(folded.contains(s), "« {s} » not extracted from:\n{text}");
    }
}

#[test]
fn amounts_are_right_aligned_in_their_column() {
    let laid = pec_request_document(&letter(), TODAY).layout().unwrap();
    let amounts: Vec<_> = laid.pages[0]
        .lines
        .iter()
        .filter(|l| l.text.ends_with('€') && !l.text.contains('×'))
        .collect();
    assert_eq!(amounts.len(), 4, "three amounts and the total");
    for a in &amounts {
        assert!(
            (a.x + a.width - (amounts[0].x + amounts[0].width)).abs() < 0.01,
            "{:?} is not aligned",
            a.text
        );
        assert!(
            (a.x + a.width - (a.box_x + a.max_width)).abs() < 0.01,
            "{:?} is not against the right edge",
            a.text
        );
    }
}

/// French amount formatting as the domain crate does it: `1 234,56 €`.
fn amount(units: usize, cents: usize) -> String {
    let digits: Vec<char> = units.to_string().chars().collect();
    let groups: Vec<String> = digits
        .rchunks(3)
        .rev()
        .map(|g| g.iter().collect())
        .collect();
    format!("{},{cents:02}\u{A0}€", groups.join("\u{202F}"))
}

fn long_table(rows: usize, family: FontFamily) -> Document {
    let mut doc = Document::new("Relevé", TODAY);
    doc.family = family;
    doc.push(
        Paragraph::new("Relevé des prestations")
            .bold()
            .size(14.0)
            .space_after(8.0),
    );
    let mut t = Table::new(vec![
        TableColumn::new(Width::Fixed(70.0), Align::Left),
        TableColumn::new(Width::Fraction(1.0), Align::Left),
        TableColumn::new(Width::Auto, Align::Right),
    ])
    .header(vec![
        Cell::text("Date"),
        Cell::text("Prestation"),
        Cell::text("Montant"),
    ]);
    for i in 0..rows {
        let label = if i % 7 == 3 {
            format!(
                "Acte n° {i} : consultation spécialisée avec un libellé assez long pour passer sur deux lignes dans la colonne"
            )
        } else {
            format!("Acte n° {i} : séance de rééducation")
        };
        t = t.row(vec![
            Cell::text(format!("{:02}/11/2026", i % 30 + 1)),
            Cell::text(label),
            Cell::text(amount(1000 + i * 7, i % 100)),
        ]);
    }
    doc.push(t);
    doc
}

#[test]
fn long_tables_run_over_pages_with_numbers_and_repeated_headers() {
    let doc = long_table(120, FontFamily::Serif);
    let pdf = doc.render().unwrap();
    let n = doc.layout().unwrap().pages.len();
    assert!(n >= 3, "{n} pages");
    let Some(text) = pdftotext("table.pdf", &pdf) else {
        return;
    };
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), n);
    for (i, page) in pages.iter().enumerate() {
        assert!(
            page.contains(&format!("Page {} / {n}", i + 1)),
            "footer of page {}:\n{page}",
            i + 1
        );
        let first = page
            .lines()
            .find(|l| l.contains("Date"))
            .unwrap_or_else(|| panic!("no header on page {}", i + 1));
        assert!(first.contains("Prestation") && first.contains("Montant"));
    }
    let folded = fold(&text);
    for i in [0, 59, 119] {
        assert!(folded.contains(&format!("Acte n° {i} :")), "row {i}");
    }
    assert!(folded.contains("1 833,19 €"), "last amount");
}

#[test]
fn monospace_family_is_embedded_as_truetype() {
    let pdf = long_table(5, FontFamily::Mono).render().unwrap();
    let raw = String::from_utf8_lossy(&pdf);
    assert!(
        raw.contains("/CIDFontType2")
            && raw.contains("/FontFile2")
            && raw.contains("/CIDToGIDMap /Identity")
    );
    let Some(text) = pdftotext("mono.pdf", &pdf) else {
        return;
    };
    assert!(
        fold(&text).contains("Acte n° 4 : séance de rééducation"),
        "{text}"
    );
}

#[test]
fn nothing_overflows_its_box() {
    let mut doc = Document::new("Débordements", TODAY);
    let word = "Anticonstitutionnellement".repeat(30);
    let para =
        "Le patient a été admis aux urgences puis transféré en service de médecine interne. "
            .repeat(40);
    doc.push(Paragraph::new(&word));
    doc.push(Paragraph::new(&para).align(Align::Justify));
    doc.push(
        Paragraph::new(format!("{word} {para}"))
            .align(Align::Right)
            .size(14.0),
    );
    doc.push(
        Table::new(vec![
            TableColumn::new(Width::Auto, Align::Left),
            TableColumn::new(Width::Fraction(1.0), Align::Justify),
            TableColumn::new(Width::Auto, Align::Right),
        ])
        .header(vec![
            Cell::text(&word),
            Cell::text("Libellé"),
            Cell::text("Montant"),
        ])
        .row(vec![
            Cell::text(&word),
            Cell::text(&para),
            Cell::text(format!("{word}\u{A0}€")),
        ]),
    );
    let page = doc.page;
    let laid = doc.layout().unwrap();
    let mut lines = 0;
    for p in &laid.pages {
        for l in &p.lines {
            lines += 1;
            assert!(
                l.width <= l.max_width + 0.01,
                "{} > {}: {:?}",
                l.width,
                l.max_width,
                l.text
            );
            assert!(
                l.x >= l.box_x - 0.01 && l.x + l.width <= l.box_x + l.max_width + 0.01,
                "{:?}",
                l.text
            );
            assert!(
                l.x >= page.margin_left - 0.01
                    && l.x + l.width <= page.width - page.margin_right + 0.01
            );
            assert!(l.baseline <= page.height - page.margin_bottom / 2.0 + 8.0);
        }
        for r in &p.rules {
            assert!(r.x1.max(r.x2) <= page.width - page.margin_right + 0.01);
            assert!(r.y1.max(r.y2) <= page.height - page.margin_bottom + 0.01);
        }
    }
    assert!(lines > 100);
    let all: String = laid
        .pages
        .iter()
        .flat_map(|p| p.lines.iter().map(|l| l.text.clone()))
        .collect();
    assert!(all.contains("Anticonstitutionnellement"));
}

#[test]
fn hostile_and_uncovered_characters_neither_panic_nor_corrupt() {
    let mut l = letter();
    l.patient_name = "DUPONT (Marie) \\ <script> # [x] %% ) ( \\\\ } { /Name endstream".into();
    l.insured = "患者 😀 👨‍👩‍👧 Ω ﷽".into();
    l.stay = "tab\there\r\nnouvelle ligne\u{0}\u{7}\u{200B}\u{FEFF}".into();
    l.reference = "PEC-(1)\\".into();
    let pdf = pec_request(&l, TODAY).expect("renders");
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    let Some(text) = pdftotext("hostile.pdf", &pdf) else {
        return;
    };
    let folded = fold(&text);
    assert!(
        folded.contains("DUPONT (Marie) \\ <script> # [x] %% ) ( \\\\ } { /Name endstream"),
        "{text}"
    );
    assert!(folded.contains("réf. PEC-(1)\\"), "{text}");
    assert!(
        folded.contains('\u{FFFD}'),
        "uncovered characters become the replacement glyph: {text}"
    );
    assert!(folded.contains("tab here"));
    assert!(folded.contains("nouvelle ligne"));
}

#[test]
fn the_letter_is_one_page_and_keeps_its_order() {
    let laid = pec_request_document(&letter(), TODAY).layout().unwrap();
    assert_eq!(laid.pages.len(), 1);
    let text = laid.pages[0].text();
    let order = [
        "Centre hospitalier",
        "Nouméa, le",
        "Objet",
        "Madame, Monsieur,",
        "Patient",
        "Éléments demandés",
        "Total estimé",
        "Veuillez agréer",
        "Le bureau des entrées",
        "Page 1 / 1",
    ];
    let mut at = 0;
    for s in order {
        let i = text[at..]
            .find(s)
            .unwrap_or_else(|| panic!("{s} out of order in\n{text}"));
        at += i;
    }
}
