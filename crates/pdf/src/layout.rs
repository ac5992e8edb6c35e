//! Layout: paragraphs broken into lines, blocks flowed onto pages.
//!
//! Coordinates are in points from the top-left corner of the page (y grows
//! downwards); the writer turns them into PDF coordinates.

use crate::fonts::{self, FontData, FontFamily, Style};
use crate::{Align, Block, Cell, Columns, Document, Paragraph, Span, Table, Width};

/// Slack for float comparisons, in points.
const EPS: f32 = 0.01;
/// Narrowest column a table or a columns block may get, in points.
const MIN_COLUMN: f32 = 24.0;
/// Size of the « Page n / N » footer.
const FOOTER_SIZE: f32 = 8.0;

/// A glyph placed on a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Glyph {
    pub style: Style,
    pub size: f32,
    pub gid: u16,
    /// The character this glyph stands for in the ToUnicode map.
    pub uni: char,
    /// The character of the input it was set for.
    pub ch: char,
    /// Offset from the start of the line.
    pub x: f32,
    pub advance: f32,
}

/// One laid-out line of text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// Left edge of the first glyph.
    pub x: f32,
    /// Baseline, from the top of the page.
    pub baseline: f32,
    /// Distance from the start of the first glyph to the end of the last.
    pub width: f32,
    /// Width of the box the line was set in (the line starts at or after the box).
    pub max_width: f32,
    /// Left edge of the box the line was set in.
    pub box_x: f32,
    /// Largest font size on the line.
    pub size: f32,
    /// The characters of the line, as given (spaces included).
    pub text: String,
    pub(crate) glyphs: Vec<Glyph>,
}

/// A straight line (table border), from (x1, y1) to (x2, y2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub thickness: f32,
    /// 0 black to 1 white.
    pub gray: f32,
}

/// A filled rectangle (header background); `y` is its top edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fill {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub gray: f32,
}

/// What one page shows, drawn in this order: fills, rules, text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayoutPage {
    pub fills: Vec<Fill>,
    pub rules: Vec<Rule>,
    pub lines: Vec<TextLine>,
}

impl LayoutPage {
    /// The text of the page, one laid-out line per line, top to bottom.
    pub fn text(&self) -> String {
        let mut lines: Vec<&TextLine> = self.lines.iter().collect();
        lines.sort_by(|a, b| a.baseline.total_cmp(&b.baseline).then(a.x.total_cmp(&b.x)));
        lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn shifted(mut self, dx: f32, dy: f32) -> Self {
        for f in &mut self.fills {
            f.x += dx;
            f.y += dy;
        }
        for r in &mut self.rules {
            r.x1 += dx;
            r.x2 += dx;
            r.y1 += dy;
            r.y2 += dy;
        }
        for l in &mut self.lines {
            l.x += dx;
            l.box_x += dx;
            l.baseline += dy;
        }
        self
    }

    fn append(&mut self, other: LayoutPage) {
        self.fills.extend(other.fills);
        self.rules.extend(other.rules);
        self.lines.extend(other.lines);
    }
}

/// A document laid out on pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Page width and height in points.
    pub width: f32,
    pub height: f32,
    pub pages: Vec<LayoutPage>,
}

/// The fonts of one document.
struct Fonts {
    regular: &'static FontData,
    bold: &'static FontData,
}

impl Fonts {
    fn new(family: FontFamily) -> Result<Self, String> {
        Ok(Fonts {
            regular: fonts::font(family, Style::Regular)?,
            bold: fonts::font(family, Style::Bold)?,
        })
    }

    fn get(&self, style: Style) -> &'static FontData {
        match style {
            Style::Regular => self.regular,
            Style::Bold => self.bold,
        }
    }

    /// Height of a line of text of `size` and where its baseline lies below its top.
    fn line_metrics(&self, size: f32, spacing: f32) -> (f32, f32) {
        let height = size * spacing;
        let (asc, desc) = (self.regular.ascender, self.regular.descender);
        (height, (height - (asc - desc) * size) / 2.0 + asc * size)
    }
}

// ---------------------------------------------------------------- paragraphs

/// Unbreakable words, breakable spaces and forced line breaks.
enum Item {
    Word(Vec<Glyph>),
    Space(Glyph),
    Newline,
}

fn items(fonts: &Fonts, spans: &[Span], size: f32, force_bold: bool) -> Vec<Item> {
    let mut out = Vec::new();
    let mut word: Vec<Glyph> = Vec::new();
    for span in spans {
        let style = if span.bold || force_bold {
            Style::Bold
        } else {
            Style::Regular
        };
        let font = fonts.get(style);
        let glyph = |c: char| {
            let (gid, uni) = font.resolve(c);
            Glyph {
                style,
                size,
                gid,
                uni,
                ch: c,
                x: 0.0,
                advance: font.advance(gid) * size,
            }
        };
        for c in span.text.chars() {
            match c {
                '\n' | '\u{2028}' | '\u{2029}' => {
                    if !word.is_empty() {
                        out.push(Item::Word(std::mem::take(&mut word)));
                    }
                    out.push(Item::Newline);
                }
                ' ' | '\t' => {
                    if !word.is_empty() {
                        out.push(Item::Word(std::mem::take(&mut word)));
                    }
                    out.push(Item::Space(glyph(' ')));
                }
                c if fonts::is_ignorable(c) => {}
                c => {
                    let composed = if ('\u{300}'..='\u{36F}').contains(&c) {
                        word.last()
                            .filter(|g| g.style == style)
                            .and_then(|g| fonts::compose(g.ch, c))
                    } else {
                        None
                    };
                    match composed {
                        Some(p) => {
                            word.pop();
                            word.push(glyph(p));
                        }
                        None => word.push(glyph(c)),
                    }
                    // A line may break after a hyphen inside a word.
                    if c == '-' && word.len() > 1 {
                        out.push(Item::Word(std::mem::take(&mut word)));
                    }
                }
            }
        }
    }
    if !word.is_empty() {
        out.push(Item::Word(word));
    }
    out
}

#[derive(Default)]
struct Draft {
    glyphs: Vec<Glyph>,
    width: f32,
    /// Ended by a line feed (never justified).
    hard: bool,
}

impl Draft {
    fn push(&mut self, mut g: Glyph) {
        g.x = self.width;
        self.width += g.advance;
        self.glyphs.push(g);
    }
}

/// Greedy line breaking; a word longer than `max` is cut between characters.
fn break_lines(items: &[Item], max: f32) -> Vec<Draft> {
    let mut lines = Vec::new();
    let mut cur = Draft::default();
    let mut pending: Option<Glyph> = None;
    for item in items {
        match item {
            Item::Newline => {
                cur.hard = true;
                lines.push(std::mem::take(&mut cur));
                pending = None;
            }
            Item::Space(g) => {
                if !cur.glyphs.is_empty() && pending.is_none() {
                    pending = Some(*g);
                }
            }
            Item::Word(word) => {
                let w: f32 = word.iter().map(|g| g.advance).sum();
                let space = pending.take().filter(|_| !cur.glyphs.is_empty());
                let sw = space.map_or(0.0, |g| g.advance);
                if cur.width + sw + w <= max + EPS {
                    if let Some(s) = space {
                        cur.push(s);
                    }
                    word.iter().for_each(|g| cur.push(*g));
                } else if w <= max + EPS {
                    lines.push(std::mem::take(&mut cur));
                    word.iter().for_each(|g| cur.push(*g));
                } else {
                    // Too long for any line: fill the current line, then cut.
                    if let Some(s) = space {
                        if cur.width + sw + word[0].advance <= max + EPS {
                            cur.push(s);
                        } else {
                            lines.push(std::mem::take(&mut cur));
                        }
                    }
                    for g in word {
                        if !cur.glyphs.is_empty() && cur.width + g.advance > max + EPS {
                            lines.push(std::mem::take(&mut cur));
                        }
                        cur.push(*g);
                    }
                }
            }
        }
    }
    if !cur.glyphs.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// A line set in a box, with its top and height relative to the box.
struct Placed {
    top: f32,
    height: f32,
    line: TextLine,
}

/// Lines of a paragraph of text set in a box of width `max` starting at x = 0.
#[allow(clippy::too_many_arguments)]
fn set_text(
    fonts: &Fonts,
    spans: &[Span],
    size: f32,
    spacing: f32,
    align: Align,
    force_bold: bool,
    max: f32,
    top: f32,
) -> Vec<Placed> {
    let drafts = break_lines(&items(fonts, spans, size, force_bold), max);
    let n = drafts.len();
    let mut y = top;
    let mut out = Vec::with_capacity(n);
    for (i, mut d) in drafts.into_iter().enumerate() {
        let line_size = d.glyphs.iter().map(|g| g.size).fold(size, f32::max);
        let (height, ascent) = fonts.line_metrics(line_size, spacing);
        let mut offset = 0.0;
        match align {
            Align::Left => {}
            Align::Right => offset = (max - d.width).max(0.0),
            Align::Center => offset = ((max - d.width) / 2.0).max(0.0),
            Align::Justify => {
                let spaces = d.glyphs.iter().filter(|g| g.ch == ' ').count();
                let extra = if spaces > 0 {
                    (max - d.width) / spaces as f32
                } else {
                    0.0
                };
                // Spaces stretched by more than half an em look broken: leave such a line ragged.
                if i + 1 < n && !d.hard && extra > 0.0 && extra <= 0.5 * line_size {
                    let mut shift = 0.0;
                    for g in &mut d.glyphs {
                        g.x += shift;
                        if g.ch == ' ' {
                            shift += extra;
                        }
                    }
                    d.width += shift;
                }
            }
        }
        let width = d.glyphs.last().map_or(0.0, |g| g.x + g.advance);
        out.push(Placed {
            top: y,
            height,
            line: TextLine {
                x: offset,
                baseline: y + ascent,
                width,
                max_width: max,
                box_x: 0.0,
                size: line_size,
                text: d.glyphs.iter().map(|g| g.ch).collect(),
                glyphs: d.glyphs,
            },
        });
        y += height;
    }
    out
}

/// Width of the widest line of the text when it is not wrapped.
fn natural_width(fonts: &Fonts, spans: &[Span], size: f32, force_bold: bool) -> f32 {
    break_lines(&items(fonts, spans, size, force_bold), f32::INFINITY)
        .iter()
        .map(|d| d.width)
        .fold(0.0, f32::max)
}

/// A stack of paragraphs in a box of width `max`; returns the lines and the height.
fn stack(fonts: &Fonts, paragraphs: &[Paragraph], max: f32) -> (Vec<Placed>, f32) {
    let mut y = 0.0;
    let mut out = Vec::new();
    for p in paragraphs {
        y += p.space_before;
        let lines = set_text(
            fonts,
            &p.spans,
            p.size,
            p.line_spacing,
            p.align,
            false,
            max,
            y,
        );
        y = lines.last().map_or(y, |l| l.top + l.height) + p.space_after;
        out.extend(lines);
    }
    (out, y)
}

// ------------------------------------------------------------------- columns

/// Widths of columns sharing `avail` points.
fn resolve_widths(specs: &[Width], natural: &[f32], avail: f32) -> Vec<f32> {
    let mut w: Vec<f32> = specs
        .iter()
        .zip(natural)
        .map(|(s, n)| match s {
            Width::Fixed(v) => v.max(MIN_COLUMN),
            Width::Auto => n.max(MIN_COLUMN),
            Width::Fraction(_) => 0.0,
        })
        .collect();
    let fractions: Vec<(usize, f32)> = specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            if let Width::Fraction(f) = s {
                Some((i, *f))
            } else {
                None
            }
        })
        .collect();
    let reserve = (fractions.len() as f32 * MIN_COLUMN * 3.0)
        .min(avail * fractions.len() as f32 / specs.len() as f32);
    let budget = (avail - reserve).max(0.0);
    let is_auto = |i: usize| matches!(specs[i], Width::Auto);
    let sum: f32 = w.iter().sum();
    if sum > budget {
        // Shrink the automatic columns first, then everything.
        let auto: f32 = (0..w.len()).filter(|&i| is_auto(i)).map(|i| w[i]).sum();
        let others = sum - auto;
        if auto > 0.0 {
            let k = ((budget - others) / auto).clamp(0.0, 1.0);
            for (i, v) in w.iter_mut().enumerate() {
                if is_auto(i) {
                    *v = (*v * k).max(MIN_COLUMN);
                }
            }
        }
        let sum: f32 = w.iter().sum();
        if sum > budget && sum > 0.0 {
            let k = budget / sum;
            w.iter_mut().for_each(|v| *v *= k);
        }
    }
    let left = (avail - w.iter().sum::<f32>()).max(0.0);
    let total: f32 = fractions.iter().map(|f| f.1).sum();
    for (i, f) in fractions {
        w[i] = left * f / total;
    }
    w
}

/// A part of a row of cells that fits on a page: each column's lines
/// (relative to the part's top) and the part's height.
struct Part {
    columns: Vec<Vec<TextLine>>,
    height: f32,
}

/// Splits side-by-side stacks of lines into parts no taller than `cap`,
/// cutting each column between two of its lines.
fn split_rows(stacks: Vec<(Vec<Placed>, f32)>, cap: f32) -> Vec<Part> {
    let n = stacks.len();
    let mut next = vec![0usize; n];
    let mut offset = vec![0.0f32; n];
    let mut parts = Vec::new();
    loop {
        let mut part = Part {
            columns: vec![Vec::new(); n],
            height: 0.0,
        };
        let mut more = false;
        for (c, (lines, total)) in stacks.iter().enumerate() {
            let started = next[c];
            while let Some(p) = lines.get(next[c]) {
                let bottom = p.top + p.height - offset[c];
                if bottom > cap + EPS && next[c] > started {
                    break;
                }
                let mut line = p.line.clone();
                line.baseline -= offset[c];
                part.columns[c].push(line);
                part.height = part.height.max(bottom);
                next[c] += 1;
            }
            match lines.get(next[c]) {
                Some(p) => {
                    offset[c] = p.top;
                    more = true;
                }
                None if started < lines.len() || parts.is_empty() => {
                    part.height = part.height.max((total - offset[c]).min(cap));
                    offset[c] = *total;
                }
                None => {}
            }
        }
        parts.push(part);
        if !more {
            return parts;
        }
    }
}

// ---------------------------------------------------------------------- flow

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Space,
    Content,
    Header(usize),
    Row(usize),
}

/// A piece of the page flow: never split, placed at the current height.
struct Piece {
    kind: Kind,
    height: f32,
    keep_with_next: bool,
    /// Items with x on the page and y relative to the piece's top.
    items: LayoutPage,
}

struct Flow<'a> {
    doc: &'a Document,
    fonts: Fonts,
    pieces: Vec<Piece>,
    /// Header piece of each table, by table number.
    headers: Vec<Option<Piece>>,
}

impl Flow<'_> {
    fn space(&mut self, h: f32) {
        if h > 0.0 {
            self.pieces.push(Piece {
                kind: Kind::Space,
                height: h,
                keep_with_next: false,
                items: LayoutPage::default(),
            });
        }
    }

    fn paragraph(&mut self, p: &Paragraph) {
        let doc = self.doc;
        let page = &doc.page;
        self.space(p.space_before);
        let lines = set_text(
            &self.fonts,
            &p.spans,
            p.size,
            p.line_spacing,
            p.align,
            false,
            page.content_width(),
            0.0,
        );
        let n = lines.len();
        for (i, pl) in lines.into_iter().enumerate() {
            let mut line = pl.line;
            line.baseline -= pl.top;
            let items = LayoutPage {
                lines: vec![line],
                ..Default::default()
            }
            .shifted(page.margin_left, 0.0);
            // Keep a paragraph's first two and last two lines together.
            let keep = (i + 1 == n && p.keep_with_next) || (n >= 2 && (i == 0 || i + 2 == n));
            self.pieces.push(Piece {
                kind: Kind::Content,
                height: pl.height,
                keep_with_next: keep,
                items,
            });
        }
        self.space(p.space_after);
    }

    fn columns(&mut self, c: &Columns) {
        let doc = self.doc;
        let page = &doc.page;
        let n = c.columns.len();
        let avail = page.content_width() - c.gap * (n.saturating_sub(1)) as f32;
        let natural: Vec<f32> = c
            .columns
            .iter()
            .map(|col| {
                col.content
                    .iter()
                    .map(|p| natural_width(&self.fonts, &p.spans, p.size, false))
                    .fold(0.0, f32::max)
            })
            .collect();
        let specs: Vec<Width> = c.columns.iter().map(|col| col.width).collect();
        let widths = resolve_widths(&specs, &natural, avail);
        let mut xs = Vec::with_capacity(n);
        let mut x = page.margin_left;
        for w in &widths {
            xs.push(x);
            x += w + c.gap;
        }
        let stacks = c
            .columns
            .iter()
            .zip(&widths)
            .map(|(col, w)| stack(&self.fonts, &col.content, *w))
            .collect();
        for part in split_rows(stacks, page.content_height()) {
            let mut items = LayoutPage::default();
            for (i, lines) in part.columns.into_iter().enumerate() {
                items.append(
                    LayoutPage {
                        lines,
                        ..Default::default()
                    }
                    .shifted(xs[i], 0.0),
                );
            }
            self.pieces.push(Piece {
                kind: Kind::Content,
                height: part.height,
                keep_with_next: false,
                items,
            });
        }
    }

    fn table(&mut self, t: &Table) {
        let doc = self.doc;
        let page = &doc.page;
        let number = self.headers.len();
        let n = t.columns.len();
        let pad = t.padding;
        let fonts = &self.fonts;
        let natural: Vec<f32> = (0..n)
            .map(|c| {
                let head = t
                    .header
                    .iter()
                    .map(|h| natural_width(fonts, &h[c].spans, t.size, true));
                let body = t
                    .rows
                    .iter()
                    .map(|r| natural_width(fonts, &r[c].spans, t.size, false));
                head.chain(body).fold(0.0, f32::max) + 2.0 * pad + 0.5
            })
            .collect();
        let specs: Vec<Width> = t.columns.iter().map(|c| c.width).collect();
        let widths = resolve_widths(&specs, &natural, page.content_width());
        let mut xs = Vec::with_capacity(n);
        let mut x = page.margin_left;
        for w in &widths {
            xs.push(x);
            x += w;
        }
        let table_x = page.margin_left;
        let table_w = x - table_x;

        let row =
            |cells: &[Cell], bold: bool, fill: Option<f32>, cap: f32| -> Vec<(f32, LayoutPage)> {
                let stacks: Vec<(Vec<Placed>, f32)> = cells
                    .iter()
                    .zip(&t.columns)
                    .zip(&widths)
                    .map(|((cell, col), w)| {
                        let lines = set_text(
                            fonts,
                            &cell.spans,
                            t.size,
                            t.line_spacing,
                            col.align,
                            bold,
                            w - 2.0 * pad,
                            0.0,
                        );
                        let h = lines.last().map_or(0.0, |l| l.top + l.height);
                        (lines, h)
                    })
                    .collect();
                split_rows(stacks, (cap - 2.0 * pad).max(t.size))
                    .into_iter()
                    .map(|part| {
                        let h = part.height + 2.0 * pad;
                        let mut items = LayoutPage::default();
                        if let Some(gray) = fill {
                            items.fills.push(Fill {
                                x: table_x,
                                y: 0.0,
                                width: table_w,
                                height: h,
                                gray,
                            });
                        }
                        if t.border > 0.0 {
                            let rule = |x1, y1, x2, y2| Rule {
                                x1,
                                y1,
                                x2,
                                y2,
                                thickness: t.border,
                                gray: t.border_gray,
                            };
                            items.rules.push(rule(table_x, 0.0, table_x + table_w, 0.0));
                            items.rules.push(rule(table_x, h, table_x + table_w, h));
                            items.rules.push(rule(table_x, 0.0, table_x, h));
                            for (cx, w) in xs.iter().zip(&widths) {
                                items.rules.push(rule(cx + w, 0.0, cx + w, h));
                            }
                        }
                        for (c, lines) in part.columns.into_iter().enumerate() {
                            items.append(
                                LayoutPage {
                                    lines,
                                    ..Default::default()
                                }
                                .shifted(xs[c] + pad, pad),
                            );
                        }
                        (h, items)
                    })
                    .collect()
            };

        let full = page.content_height();
        let header = t.header.as_ref().map(|h| {
            let mut parts = row(h, true, t.header_fill, full / 3.0);
            // A header is short; should it not be, only its first part repeats.
            let (height, items) = parts.swap_remove(0);
            Piece {
                kind: Kind::Header(number),
                height,
                keep_with_next: true,
                items,
            }
        });
        let cap = full - header.as_ref().map_or(0.0, |h| h.height);
        let mut pieces = Vec::new();
        for cells in &t.rows {
            for (height, items) in row(cells, false, None, cap) {
                pieces.push(Piece {
                    kind: Kind::Row(number),
                    height,
                    keep_with_next: false,
                    items,
                });
            }
        }
        if let Some(h) = &header {
            self.pieces.push(Piece {
                kind: h.kind,
                height: h.height,
                keep_with_next: !t.rows.is_empty(),
                items: h.items.clone(),
            });
        }
        self.headers.push(header);
        self.pieces.extend(pieces);
    }

    /// Places the pieces on pages.
    fn paginate(self) -> Vec<LayoutPage> {
        let page = &self.doc.page;
        let top = page.margin_top;
        let bottom = page.height - page.margin_bottom;
        let mut pages = vec![LayoutPage::default()];
        let mut y = top;
        let mut fresh = true;
        for (i, p) in self.pieces.iter().enumerate() {
            if p.kind == Kind::Space {
                if fresh {
                    continue;
                }
                if y + p.height > bottom + EPS {
                    pages.push(LayoutPage::default());
                    y = top;
                    fresh = true;
                } else {
                    y += p.height;
                }
                continue;
            }
            // The piece and the pieces it is kept with.
            let mut need = p.height;
            let mut keep = p.keep_with_next;
            for q in &self.pieces[i + 1..] {
                if !keep {
                    break;
                }
                need += q.height;
                if q.kind != Kind::Space {
                    keep = q.keep_with_next;
                }
            }
            if !fresh && (y + need > bottom + EPS) {
                // Moving on only helps if the piece is not already too tall for
                // what follows; always move when the piece itself does not fit.
                if y + p.height > bottom + EPS || need <= bottom - top {
                    pages.push(LayoutPage::default());
                    y = top;
                    fresh = true;
                }
            }
            let current = pages.last_mut().expect("a page");
            // A table going on at the top of a page: its header first.
            let header = match p.kind {
                Kind::Row(t) if fresh => self.headers[t].as_ref(),
                _ => None,
            };
            if let Some(h) = header {
                current.append(h.items.clone().shifted(0.0, y));
                y += h.height;
            }
            current.append(p.items.clone().shifted(0.0, y));
            y += p.height;
            fresh = false;
        }
        pages
    }
}

fn check_size(what: &str, v: f32) -> Result<(), String> {
    if v.is_finite() && v > 0.0 && v <= 500.0 {
        Ok(())
    } else {
        Err(format!("{what}: invalid size {v}"))
    }
}

fn check_len(what: &str, v: f32) -> Result<(), String> {
    if (0.0..=10_000.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{what}: invalid length {v}"))
    }
}

fn check_widths(what: &str, widths: &[Width]) -> Result<(), String> {
    if widths.is_empty() {
        return Err(format!("{what}: no columns"));
    }
    for w in widths {
        match *w {
            Width::Fixed(v) => check_len(what, v)?,
            Width::Fraction(f) if !(f.is_finite() && f > 0.0) => {
                return Err(format!("{what}: invalid fraction {f}"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_paragraph(p: &Paragraph) -> Result<(), String> {
    check_size("paragraph", p.size)?;
    check_size("line spacing", p.line_spacing)?;
    check_len("space before", p.space_before)?;
    check_len("space after", p.space_after)
}

fn validate(doc: &Document) -> Result<(), String> {
    let (y, m, d) = doc.created;
    if !(0..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(format!("invalid creation date {y}-{m}-{d}"));
    }
    let p = &doc.page;
    for v in [
        p.width,
        p.height,
        p.margin_top,
        p.margin_right,
        p.margin_bottom,
        p.margin_left,
    ] {
        check_len("page", v)?;
    }
    if p.content_width() < 4.0 * MIN_COLUMN || p.content_height() < 100.0 {
        return Err("page margins leave no room for content".into());
    }
    for b in &doc.blocks {
        match b {
            Block::Paragraph(p) => check_paragraph(p)?,
            Block::Space(h) => check_len("space", *h)?,
            Block::Columns(c) => {
                check_widths(
                    "columns",
                    &c.columns.iter().map(|c| c.width).collect::<Vec<_>>(),
                )?;
                check_len("column gap", c.gap)?;
                let n = c.columns.len() as f32;
                if p.content_width() - c.gap * (n - 1.0) < n * MIN_COLUMN {
                    return Err("columns: too many columns or too wide a gap for the page".into());
                }
                for col in &c.columns {
                    col.content.iter().try_for_each(check_paragraph)?;
                }
            }
            Block::Table(t) => {
                check_widths(
                    "table",
                    &t.columns.iter().map(|c| c.width).collect::<Vec<_>>(),
                )?;
                check_size("table", t.size)?;
                check_size("table line spacing", t.line_spacing)?;
                check_len("table padding", t.padding)?;
                check_len("table border", t.border)?;
                let n = t.columns.len();
                if p.content_width() < n as f32 * (MIN_COLUMN + 2.0 * t.padding) {
                    return Err("table: too many columns or too much padding for the page".into());
                }
                if t.header.iter().chain(&t.rows).any(|r| r.len() != n) {
                    return Err(format!("table: every row must have {n} cells"));
                }
            }
        }
    }
    Ok(())
}

/// Lays a document out on pages.
pub(crate) fn layout(doc: &Document) -> Result<Layout, String> {
    validate(doc)?;
    let mut flow = Flow {
        doc,
        fonts: Fonts::new(doc.family)?,
        pieces: Vec::new(),
        headers: Vec::new(),
    };
    for b in &doc.blocks {
        match b {
            Block::Paragraph(p) => flow.paragraph(p),
            Block::Space(h) => flow.space(*h),
            Block::Columns(c) => flow.columns(c),
            Block::Table(t) => flow.table(t),
        }
    }
    let footer_font = Fonts::new(doc.family)?;
    let mut pages = flow.paginate();
    if doc.page_numbers {
        let page = &doc.page;
        let total = pages.len();
        for (i, p) in pages.iter_mut().enumerate() {
            let text = format!("Page {} / {}", i + 1, total);
            let lines = set_text(
                &footer_font,
                &[Span::regular(text)],
                FOOTER_SIZE,
                1.2,
                Align::Center,
                false,
                page.content_width(),
                0.0,
            );
            let top = page.height - page.margin_bottom / 2.0 - FOOTER_SIZE / 2.0;
            let footer = LayoutPage {
                lines: lines.into_iter().map(|l| l.line).collect(),
                ..Default::default()
            };
            p.append(footer.shifted(page.margin_left, top));
        }
    }
    Ok(Layout {
        width: doc.page.width,
        height: doc.page.height,
        pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, TableColumn};

    fn fonts() -> Fonts {
        Fonts::new(FontFamily::Serif).unwrap()
    }

    #[test]
    fn breaks_at_spaces_and_justifies_all_but_the_last_line() {
        let text = "Nous vous prions de bien vouloir nous faire connaître votre accord de prise en charge pour le séjour.";
        let lines = set_text(
            &fonts(),
            &[Span::regular(text)],
            10.5,
            1.25,
            Align::Justify,
            false,
            150.0,
            0.0,
        );
        assert!(lines.len() > 2);
        for (i, l) in lines.iter().enumerate() {
            assert!(l.line.width <= 150.0 + EPS, "{:?}", l.line.text);
            assert!(!l.line.text.starts_with(' ') && !l.line.text.ends_with(' '));
            if i + 1 < lines.len() {
                assert!(
                    (l.line.width - 150.0).abs() < 0.05,
                    "justified: {}",
                    l.line.width
                );
            }
        }
        let joined: Vec<String> = lines.iter().map(|l| l.line.text.clone()).collect();
        assert_eq!(joined.join(" "), text);
    }

    #[test]
    fn cuts_words_longer_than_the_line() {
        let word = "x".repeat(500);
        let lines = set_text(
            &fonts(),
            &[Span::bold(&word)],
            12.0,
            1.2,
            Align::Left,
            false,
            80.0,
            0.0,
        );
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| l.line.width <= 80.0 + EPS));
        assert_eq!(
            lines
                .iter()
                .map(|l| l.line.text.as_str())
                .collect::<String>(),
            word
        );
    }

    #[test]
    fn keeps_no_break_spaces_and_breaks_after_hyphens() {
        let f = fonts();
        let lines = set_text(
            &f,
            &[Span::regular("Total 1\u{202F}234,56\u{A0}€")],
            10.0,
            1.2,
            Align::Left,
            false,
            50.0,
            0.0,
        );
        assert_eq!(lines.last().unwrap().line.text, "1\u{202F}234,56\u{A0}€");
        let lines = set_text(
            &f,
            &[Span::regular("Sainte-Marie-des-Hospitaliers")],
            10.0,
            1.2,
            Align::Left,
            false,
            60.0,
            0.0,
        );
        assert!(lines.len() > 1 && lines[0].line.text.ends_with('-'));
    }

    #[test]
    fn line_feeds_and_decomposed_accents() {
        let lines = set_text(
            &fonts(),
            &[Span::regular("Ligne un\nLigne deux e\u{301}")],
            10.0,
            1.2,
            Align::Justify,
            false,
            400.0,
            0.0,
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].line.text, "Ligne deux é");
    }

    #[test]
    fn widths_fixed_auto_and_fractions_fill_the_page() {
        let w = resolve_widths(
            &[
                Width::Fixed(100.0),
                Width::Auto,
                Width::Fraction(1.0),
                Width::Fraction(3.0),
            ],
            &[0.0, 50.0, 0.0, 0.0],
            450.0,
        );
        assert_eq!(w[0], 100.0);
        assert_eq!(w[1], 50.0);
        assert!((w[3] - 3.0 * w[2]).abs() < 0.01);
        assert!((w.iter().sum::<f32>() - 450.0).abs() < 0.01);
        // An automatic column never takes the whole page.
        let w = resolve_widths(&[Width::Auto, Width::Fraction(1.0)], &[5000.0, 0.0], 450.0);
        assert!(w[1] >= 3.0 * MIN_COLUMN && (w.iter().sum::<f32>() - 450.0).abs() < 0.01);
    }

    #[test]
    fn long_tables_repeat_their_header_and_rows_stay_inside_the_margins() {
        let mut doc = Document::new("t", (2026, 1, 2));
        let mut t = Table::new(vec![
            TableColumn::new(Width::Fraction(1.0), Align::Left),
            TableColumn::new(Width::Auto, Align::Right),
        ])
        .header(vec![Cell::text("Élément"), Cell::text("Montant")]);
        for i in 0..120 {
            t = t.row(vec![
                Cell::text(format!("Ligne {i}")),
                Cell::text("12,00 €"),
            ]);
        }
        doc.push(t);
        let laid = doc.layout().unwrap();
        assert!(laid.pages.len() >= 3);
        let bottom = doc.page.height - doc.page.margin_bottom;
        for p in &laid.pages {
            assert!(
                p.text().starts_with("Élément"),
                "header first on every page"
            );
            assert!(p.rules.iter().all(|r| r.y1.max(r.y2) <= bottom + EPS));
        }
    }

    #[test]
    fn a_row_taller_than_a_page_is_split() {
        let mut doc = Document::new("t", (2026, 1, 2));
        let long = "mot ".repeat(6000);
        doc.push(
            Table::new(vec![TableColumn::new(Width::Fraction(1.0), Align::Left)])
                .row(vec![Cell::text(long)]),
        );
        doc.push(Columns {
            columns: vec![Column {
                width: Width::Fraction(1.0),
                content: vec![Paragraph::new("mot ".repeat(6000))],
            }],
            gap: 0.0,
        });
        let laid = doc.layout().unwrap();
        let bottom = doc.page.height - doc.page.margin_bottom;
        assert!(laid.pages.len() > 4);
        for p in &laid.pages {
            assert!(
                p.lines
                    .iter()
                    .filter(|l| !l.text.starts_with("Page"))
                    .all(|l| l.baseline <= bottom)
            );
        }
    }

    #[test]
    fn invalid_input_is_an_error() {
        let mut doc = Document::new("t", (2026, 13, 2));
        assert!(doc.layout().is_err());
        doc.created = (2026, 12, 2);
        doc.push(Paragraph::new("x").size(f32::NAN));
        assert!(doc.layout().is_err());
        doc.blocks.clear();
        doc.push(Table::new(vec![TableColumn::new(Width::Auto, Align::Left)]).row(vec![]));
        assert!(doc.layout().is_err());
    }
}
