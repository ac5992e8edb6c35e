//! Writing a laid-out document as PDF 1.7 with `pdf-writer`.
//!
//! Each font style used is embedded once, subsetted to the glyphs used, as a
//! Type0 font with Identity-H encoding (two-byte codes = glyph ids) over a CID
//! font: CIDFontType0 with the OpenType file as FontFile3 for CFF outlines,
//! CIDFontType2 with FontFile2 for TrueType outlines. A `W` array gives the
//! widths of the glyphs used and a ToUnicode CMap maps each glyph back to its
//! character. Content and font streams are deflated.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::Document;
use crate::fonts::{self, FontData, Style};
use crate::layout::{Layout, LayoutPage};

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// Rounds a coordinate to 1/100 point: shorter content, same look.
fn r(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn font_resource(style: Style) -> Name<'static> {
    match style {
        Style::Regular => Name(b"F1"),
        Style::Bold => Name(b"F2"),
    }
}

/// Six capital letters naming a subset, derived from the font and glyph set
/// (so that equal subsets get equal names and output stays deterministic).
fn subset_tag(name: &str, gids: &[u16]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    name.bytes().for_each(&mut eat);
    gids.iter().flat_map(|g| g.to_be_bytes()).for_each(&mut eat);
    (0..6)
        .map(|i| {
            let letter = (h >> (i * 8)) % 26;
            char::from(b'A' + letter as u8)
        })
        .collect()
}

struct Ids {
    next: i32,
}

impl Ids {
    fn next(&mut self) -> Ref {
        self.next += 1;
        Ref::new(self.next)
    }
}

/// Embeds one font subset; returns nothing, the Type0 font is written at `type0`.
fn embed_font(
    pdf: &mut Pdf,
    ids: &mut Ids,
    type0: Ref,
    font: &FontData,
    used: &BTreeMap<u16, char>,
) -> Result<(), String> {
    let mut gids: Vec<u16> = vec![0];
    gids.extend(used.keys().copied().filter(|&g| g != 0));
    let subset = subsetter::subset(font.data, 0, subsetter::Profile::pdf(&gids))
        .map_err(|e| format!("subsetting {}: {e:?}", font.ps_name))?;
    let base = format!("{}+{}", subset_tag(&font.ps_name, &gids), font.ps_name);
    let base = Name(base.as_bytes());
    let (cid_ref, descriptor_ref, file_ref, cmap_ref) =
        (ids.next(), ids.next(), ids.next(), ids.next());
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(type0)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_ref)
        .to_unicode(cmap_ref);

    let mut cid = pdf.cid_font(cid_ref);
    cid.subtype(if font.cff {
        CidFontType::Type0
    } else {
        CidFontType::Type2
    })
    .base_font(base)
    .system_info(system_info)
    .font_descriptor(descriptor_ref)
    .default_width(0.0);
    if !font.cff {
        cid.cid_to_gid_map_predefined(Name(b"Identity"));
    }
    {
        let mut widths = cid.widths();
        let mut i = 0;
        while i < gids.len() {
            let start = gids[i];
            let mut run = vec![font.advance(start) * 1000.0];
            while i + run.len() < gids.len() && gids[i + run.len()] == start + run.len() as u16 {
                run.push(font.advance(gids[i + run.len()]) * 1000.0);
            }
            i += run.len();
            widths.consecutive(start, run.iter().map(|w| r(*w)));
        }
    }
    cid.finish();

    let face = &font.face;
    let scale = 1000.0 / font.units_per_em;
    let bbox = face.global_bounding_box();
    let weight = face.weight().to_number();
    let mut flags = FontFlags::NON_SYMBOLIC;
    if face.is_monospaced() {
        flags |= FontFlags::FIXED_PITCH;
    } else {
        flags |= FontFlags::SERIF;
    }
    let mut descriptor = pdf.font_descriptor(descriptor_ref);
    descriptor
        .name(base)
        .flags(flags)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(face.italic_angle())
        .ascent(r(font.ascender * 1000.0))
        .descent(r(font.descender * 1000.0))
        .cap_height(f32::from(face.capital_height().unwrap_or(face.ascender())) * scale)
        .stem_v(10.0 + 0.244 * (f32::from(weight) - 50.0))
        .weight(weight);
    if font.cff {
        descriptor.font_file3(file_ref);
    } else {
        descriptor.font_file2(file_ref);
    }
    descriptor.finish();

    let packed = deflate(&subset);
    let mut file = pdf.stream(file_ref, &packed);
    file.filter(Filter::FlateDecode);
    if font.cff {
        file.pair(Name(b"Subtype"), Name(b"OpenType"));
    } else {
        file.pair(Name(b"Length1"), subset.len() as i32);
    }
    file.finish();

    let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Quittance-UCS"), system_info);
    for (&gid, &c) in used {
        cmap.pair(gid, c);
    }
    let cmap = deflate(&cmap.finish());
    pdf.stream(cmap_ref, &cmap).filter(Filter::FlateDecode);
    Ok(())
}

fn content(page: &LayoutPage, height: f32) -> Vec<u8> {
    let mut c = Content::new();
    for f in &page.fills {
        c.set_fill_gray(f.gray)
            .rect(r(f.x), r(height - f.y - f.height), r(f.width), r(f.height))
            .fill_nonzero();
    }
    let mut stroke: Option<(f32, f32)> = None;
    for rule in &page.rules {
        if stroke != Some((rule.thickness, rule.gray)) {
            c.set_line_width(rule.thickness).set_stroke_gray(rule.gray);
            stroke = Some((rule.thickness, rule.gray));
        }
        c.move_to(r(rule.x1), r(height - rule.y1))
            .line_to(r(rule.x2), r(height - rule.y2))
            .stroke();
    }
    if !page.lines.is_empty() {
        c.set_fill_gray(0.0).begin_text();
        let mut font: Option<(Style, f32)> = None;
        for line in &page.lines {
            let glyphs = &line.glyphs;
            let mut k = 0;
            while k < glyphs.len() {
                let (style, size) = (glyphs[k].style, glyphs[k].size);
                let end = k + glyphs[k..]
                    .iter()
                    .take_while(|g| g.style == style && g.size == size)
                    .count();
                if font != Some((style, size)) {
                    c.set_font(font_resource(style), size);
                    font = Some((style, size));
                }
                c.set_text_matrix([
                    1.0,
                    0.0,
                    0.0,
                    1.0,
                    r(line.x + glyphs[k].x),
                    r(height - line.baseline),
                ]);
                let mut show = c.show_positioned();
                let mut items = show.items();
                let mut pen = glyphs[k].x;
                let mut codes: Vec<u8> = Vec::new();
                for g in &glyphs[k..end] {
                    let gap = g.x - pen;
                    if gap.abs() > 0.001 {
                        if !codes.is_empty() {
                            items.show(Str(&codes));
                            codes.clear();
                        }
                        items.adjust((-gap * 10_000.0 / size).round() / 10.0);
                    }
                    codes.extend(g.gid.to_be_bytes());
                    pen = g.x + g.advance;
                }
                if !codes.is_empty() {
                    items.show(Str(&codes));
                }
                items.finish();
                show.finish();
                k = end;
            }
        }
        c.end_text();
    }
    c.finish().into_vec()
}

/// The PDF file of a laid-out document.
pub(crate) fn write(doc: &Document, layout: &Layout) -> Result<Vec<u8>, String> {
    // Glyphs used per style, each with the character it stands for (the
    // smallest one when several characters share a glyph).
    let mut used: BTreeMap<Style, BTreeMap<u16, char>> = BTreeMap::new();
    for page in &layout.pages {
        for line in &page.lines {
            for g in &line.glyphs {
                let chars = used.entry(g.style).or_default();
                let c = chars.entry(g.gid).or_insert(g.uni);
                *c = (*c).min(g.uni);
            }
        }
    }

    let mut ids = Ids { next: 0 };
    let catalog = ids.next();
    let tree = ids.next();
    let info = ids.next();
    let font_refs: BTreeMap<Style, Ref> = used.keys().map(|&s| (s, ids.next())).collect();
    let pages: Vec<(Ref, Ref)> = layout
        .pages
        .iter()
        .map(|_| (ids.next(), ids.next()))
        .collect();

    let mut pdf = Pdf::new();
    let mut cat = pdf.catalog(catalog);
    cat.pages(tree).lang(TextStr(&doc.lang));
    cat.viewer_preferences().display_doc_title(true);
    cat.finish();

    let (y, m, d) = doc.created;
    pdf.document_info(info)
        .title(TextStr(&doc.title))
        .producer(TextStr("Quittance"))
        .creation_date(Date::new(y.clamp(0, 9999) as u16).month(m).day(d));

    pdf.pages(tree)
        .kids(pages.iter().map(|p| p.0))
        .count(pages.len() as i32);
    for (page, &(page_ref, content_ref)) in layout.pages.iter().zip(&pages) {
        let mut p = pdf.page(page_ref);
        p.media_box(Rect::new(0.0, 0.0, r(layout.width), r(layout.height)))
            .parent(tree)
            .contents(content_ref);
        let mut resources = p.resources();
        let mut fonts = resources.fonts();
        for (&style, &font_ref) in &font_refs {
            fonts.pair(font_resource(style), font_ref);
        }
        fonts.finish();
        resources.finish();
        p.finish();
        let packed = deflate(&content(page, layout.height));
        pdf.stream(content_ref, &packed).filter(Filter::FlateDecode);
    }

    for (style, chars) in &used {
        let font = fonts::font(doc.family, *style)?;
        embed_font(&mut pdf, &mut ids, font_refs[style], font, chars)?;
    }
    Ok(pdf.finish())
}
