//! List exports: CSV (UTF-8 with BOM, `;` separators) and XLSX.
//!
//! CSV cells that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
//! return) are prefixed with an apostrophe (`'=HYPERLINK(…)`), so that a patient's city or a user's name can
//! never run as a formula on the computer of whoever opens the export. A value starting with `-` that reads
//! as a French number (`-12,50`, `-1 234,56`, `-3`) is kept as it is: negative amounts stay numbers.
//! XLSX cells are written with `write_string` (a shared string, never a `<f>` formula element), so Excel
//! shows them as text whatever they start with; they are not prefixed.

use std::borrow::Cow;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::render::error_page;

/// Whether `s` is a French-written number: optional `-`, digits grouped by spaces (plain, no-break or
/// narrow no-break) or not, optional `,` and decimals.
fn is_french_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, dec) = s.split_once(',').map_or((s, None), |(i, d)| (i, Some(d)));
    let int_ok = !int.is_empty()
        && int.starts_with(|c: char| c.is_ascii_digit())
        && int.ends_with(|c: char| c.is_ascii_digit())
        && int.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '\u{a0}' | '\u{202f}'));
    int_ok && dec.is_none_or(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}

/// The cell as written in a CSV export: formula-like values get a leading apostrophe.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('-') if is_french_number(cell) => Cow::Borrowed(cell),
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A CSV download (UTF-8 with BOM and `;` separators, as French spreadsheet software expects); every
/// cell, headers included, goes through [`neutralise`].
pub fn csv_response(filename: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> Response {
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(vec![0xEF, 0xBB, 0xBF]);
    let _ = w.write_record(header_row.iter().map(|h| neutralise(h).into_owned()));
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| neutralise(c).into_owned()));
    }
    let body = w.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response()
}

/// An XLSX download of the same rows; every cell is a string cell (never a formula).
pub fn xlsx_response(filename: &str, sheet: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> Response {
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name(sheet)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, h) in header_row.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, v)?;
            }
        }
        ws.set_freeze_panes(1, 0)?;
        ws.autofit();
        wb.save_to_buffer()
    };
    match build() {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "xlsx");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "Erreur interne", "Le fichier n'a pas pu être produit.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_like_cells_are_prefixed() {
        for (cell, out) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+33 1 23", "'+33 1 23"),
            ("-2+3", "'-2+3"),
            ("-", "'-"),
            ("-1e5", "'-1e5"),
            ("-12,", "'-12,"),
            ("- 3", "'- 3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
        ] {
            assert_eq!(neutralise(cell), out, "{cell:?}");
        }
    }

    #[test]
    fn negative_french_numbers_and_plain_text_are_kept() {
        for cell in ["-12,50", "-3", "-1 234,56", "-1\u{202f}234,56", "12,50", "Nouméa", "", "'déjà", "a=b", "—"] {
            assert_eq!(neutralise(cell), cell, "{cell:?}");
        }
    }
}
