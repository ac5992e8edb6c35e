//! Quittance documents as PDF, laid out by Typst (as a library) with embedded fonts.
//!
//! Documents are Typst sources generated from data: every text value is passed
//! as an escaped Typst string literal, never as markup, so patient data cannot
//! inject layout code.

use std::sync::OnceLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst_layout::PagedDocument;
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

mod letters;
pub use letters::{PecLetter, PecLine, pec_request};

/// The standard library and the embedded fonts, built once per process.
struct Engine {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
        Engine { library: LazyHash::new(Library::default()), book: LazyHash::new(FontBook::from_fonts(&fonts)), fonts }
    })
}

struct Doc {
    main: Source,
    today: (i32, u8, u8),
}

impl World for Doc {
    fn library(&self) -> &LazyHash<Library> {
        &engine().library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &engine().book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::NotFound("/".into())) }
    }
    fn file(&self, _id: FileId) -> FileResult<Bytes> {
        Err(FileError::NotFound("/".into()))
    }
    fn font(&self, index: usize) -> Option<Font> {
        engine().fonts.get(index).cloned()
    }
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Datetime::from_ymd(self.today.0, self.today.1, self.today.2)
    }
}

/// Compiles a Typst source to PDF bytes; `today` is the date `datetime.today()` answers.
pub fn render(source: &str, today: (i32, u8, u8)) -> Result<Vec<u8>, String> {
    let path = VirtualPath::new("/document.typ").map_err(|e| format!("{e:?}"))?;
    let id = RootedPath::new(VirtualRoot::Project, path).intern();
    let doc = Doc { main: Source::new(id, source.to_string()), today };
    let compiled = typst::compile::<PagedDocument>(&doc);
    let document = compiled.output.map_err(|errs| errs.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join(" ; "))?;
    typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
        .map_err(|errs| errs.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join(" ; "))
}

/// A Typst string literal holding `s` exactly.
pub fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_pdf_with_french_text() {
        let src = format!("#set text(lang: \"fr\")\n= Bonjour\n#text({})", lit("Hélène « chambre particulière » 1\u{202F}234,56\u{A0}€"));
        let pdf = render(&src, (2026, 11, 22)).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"), "a real PDF");
        assert!(pdf.len() > 1000);
    }

    #[test]
    fn literals_cannot_inject_markup() {
        let evil = "\") #panic(\"injecté";
        let src = format!("#text({})", lit(evil));
        assert!(render(&src, (2026, 11, 22)).is_ok(), "the quote is escaped: no panic() runs");
        assert_eq!(lit("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn bad_source_is_an_error_not_a_panic() {
        assert!(render("#panic(\"non\")", (2026, 11, 22)).is_err());
    }
}
