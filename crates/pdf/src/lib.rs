//! Quittance documents as PDF: a small layout model and a PDF writer.
//!
//! A [`Document`] is a list of [`Block`]s (paragraphs, vertical space,
//! side-by-side columns, tables) flowed onto A4 pages with margins and a
//! « Page n / N » footer. Text is set in fonts embedded from `typst-assets`,
//! subsetted to the glyphs used, written as Identity-H CID fonts with a
//! ToUnicode map so that the text can be searched and extracted.
//!
//! All text is plain text: nothing is interpreted as markup. A line feed
//! starts a new line; characters the font lacks are drawn as a replacement
//! glyph. The output depends only on the input (no clock, no random
//! identifiers): the same document gives the same bytes.
//!
//! Built on the Typst project's low-level crates (`pdf-writer`, `ttf-parser`,
//! `subsetter`, `typst-assets`) and `miniz_oxide`, not on the Typst compiler,
//! whose clean build is too long for the CI machine.

mod fonts;
mod layout;
mod letters;
mod write;

pub use fonts::FontFamily;
pub use layout::{Fill, Layout, LayoutPage, Rule, TextLine};
pub use letters::{PecLetter, PecLine, pec_request, pec_request_document};

/// Points per millimetre.
pub const MM: f32 = 72.0 / 25.4;

/// Default body text size, in points.
pub const DEFAULT_SIZE: f32 = 10.5;

/// Page size and margins, in points (1/72 inch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSetup {
    pub width: f32,
    pub height: f32,
    pub margin_top: f32,
    pub margin_right: f32,
    pub margin_bottom: f32,
    pub margin_left: f32,
}

impl PageSetup {
    /// A4 portrait with the same margin on every side.
    pub fn a4(margin: f32) -> Self {
        PageSetup {
            width: 210.0 * MM,
            height: 297.0 * MM,
            margin_top: margin,
            margin_right: margin,
            margin_bottom: margin,
            margin_left: margin,
        }
    }

    /// Width between the left and right margins.
    pub fn content_width(&self) -> f32 {
        self.width - self.margin_left - self.margin_right
    }

    /// Height between the top and bottom margins.
    pub fn content_height(&self) -> f32 {
        self.height - self.margin_top - self.margin_bottom
    }
}

impl Default for PageSetup {
    /// A4 with 2 cm margins.
    fn default() -> Self {
        PageSetup::a4(20.0 * MM)
    }
}

/// Horizontal alignment of the lines of a paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Right,
    Center,
    /// Lines stretched to the full width, except the last line of the
    /// paragraph and lines ending with a line feed.
    Justify,
}

/// A piece of text in one style.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
}

impl Span {
    pub fn regular(text: impl Into<String>) -> Self {
        Span {
            text: text.into(),
            bold: false,
        }
    }

    pub fn bold(text: impl Into<String>) -> Self {
        Span {
            text: text.into(),
            bold: true,
        }
    }
}

/// A paragraph: spans wrapped into lines at spaces (and after hyphens);
/// a word longer than the line is cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph {
    pub spans: Vec<Span>,
    /// Font size in points.
    pub size: f32,
    /// Line height as a multiple of the size.
    pub line_spacing: f32,
    pub align: Align,
    pub space_before: f32,
    pub space_after: f32,
    /// Move to the next page together with the block that follows.
    pub keep_with_next: bool,
}

impl Paragraph {
    /// A left-aligned paragraph of regular text at the default size.
    pub fn new(text: impl Into<String>) -> Self {
        Paragraph::spans(vec![Span::regular(text)])
    }

    /// A paragraph of several spans.
    pub fn spans(spans: Vec<Span>) -> Self {
        Paragraph {
            spans,
            size: DEFAULT_SIZE,
            line_spacing: 1.25,
            align: Align::Left,
            space_before: 0.0,
            space_after: 0.0,
            keep_with_next: false,
        }
    }

    /// The same paragraph with every span bold.
    pub fn bold(mut self) -> Self {
        for s in &mut self.spans {
            s.bold = true;
        }
        self
    }

    pub fn size(mut self, size: f32) -> Self {
        self.size = size;
        self
    }

    pub fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }

    pub fn space_before(mut self, points: f32) -> Self {
        self.space_before = points;
        self
    }

    pub fn space_after(mut self, points: f32) -> Self {
        self.space_after = points;
        self
    }

    pub fn keep_with_next(mut self) -> Self {
        self.keep_with_next = true;
        self
    }
}

/// The width of a column of a [`Columns`] block or a [`Table`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Width {
    /// A width in points.
    Fixed(f32),
    /// A share of the width left after fixed and automatic columns.
    Fraction(f32),
    /// The width of the widest unwrapped content, within what is available.
    Auto,
}

/// One column of a [`Columns`] block.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub width: Width,
    pub content: Vec<Paragraph>,
}

/// Side-by-side columns (e.g. sender on the left, recipient on the right).
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub columns: Vec<Column>,
    /// Space between two columns, in points.
    pub gap: f32,
}

/// A table column: its width and the alignment of its cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableColumn {
    pub width: Width,
    pub align: Align,
}

impl TableColumn {
    pub fn new(width: Width, align: Align) -> Self {
        TableColumn { width, align }
    }
}

/// A table cell: one paragraph (line feeds allowed), wrapped to the column.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub spans: Vec<Span>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Cell {
            spans: vec![Span::regular(text)],
        }
    }

    pub fn bold(text: impl Into<String>) -> Self {
        Cell {
            spans: vec![Span::bold(text)],
        }
    }
}

/// A table with thin borders; rows are kept whole when they fit on a page,
/// and the header row is repeated at the top of each page the table runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<TableColumn>,
    /// Header row, set in bold.
    pub header: Option<Vec<Cell>>,
    pub rows: Vec<Vec<Cell>>,
    /// Font size of the cells.
    pub size: f32,
    pub line_spacing: f32,
    /// Space between the borders and the text.
    pub padding: f32,
    /// Border thickness in points (0 for none).
    pub border: f32,
    /// Border grey level, 0 black to 1 white.
    pub border_gray: f32,
    /// Grey level of the header background, if filled.
    pub header_fill: Option<f32>,
}

impl Table {
    /// An empty table with the given columns, default size and thin grey borders.
    pub fn new(columns: Vec<TableColumn>) -> Self {
        Table {
            columns,
            header: None,
            rows: Vec::new(),
            size: 10.0,
            line_spacing: 1.2,
            padding: 5.0,
            border: 0.5,
            border_gray: 0.55,
            header_fill: Some(0.93),
        }
    }

    pub fn header(mut self, cells: Vec<Cell>) -> Self {
        self.header = Some(cells);
        self
    }

    pub fn row(mut self, cells: Vec<Cell>) -> Self {
        self.rows.push(cells);
        self
    }
}

/// A block of the page flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Paragraph),
    /// Vertical space in points (dropped at the top of a page).
    Space(f32),
    Columns(Columns),
    Table(Table),
}

impl From<Paragraph> for Block {
    fn from(p: Paragraph) -> Self {
        Block::Paragraph(p)
    }
}

impl From<Columns> for Block {
    fn from(c: Columns) -> Self {
        Block::Columns(c)
    }
}

impl From<Table> for Block {
    fn from(t: Table) -> Self {
        Block::Table(t)
    }
}

/// A document: metadata, page setup and the blocks to flow onto pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The `Title` of the document information.
    pub title: String,
    /// Language of the text (the catalog's `Lang`), e.g. `fr`.
    pub lang: String,
    /// `CreationDate` (year, month, day), given by the caller: the crate never reads the clock.
    pub created: (i32, u8, u8),
    pub family: FontFamily,
    pub page: PageSetup,
    /// « Page n / N » centred in the bottom margin of every page.
    pub page_numbers: bool,
    pub blocks: Vec<Block>,
}

impl Document {
    /// An empty French A4 document with 2 cm margins and page numbers.
    pub fn new(title: impl Into<String>, created: (i32, u8, u8)) -> Self {
        Document {
            title: title.into(),
            lang: "fr".into(),
            created,
            family: FontFamily::Serif,
            page: PageSetup::default(),
            page_numbers: true,
            blocks: Vec::new(),
        }
    }

    /// Appends a block.
    pub fn push(&mut self, block: impl Into<Block>) -> &mut Self {
        self.blocks.push(block.into());
        self
    }

    /// Lays the document out on pages (what [`Document::render`] draws).
    pub fn layout(&self) -> Result<Layout, String> {
        layout::layout(self)
    }

    /// The PDF file.
    pub fn render(&self) -> Result<Vec<u8>, String> {
        let laid = self.layout()?;
        write::write(self, &laid)
    }
}
