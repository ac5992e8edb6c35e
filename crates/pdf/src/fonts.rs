//! The embedded fonts (from `typst-assets`): glyph lookup and metrics.
//!
//! Text is mapped to glyphs one character at a time through the font's `cmap`
//! (no shaping: no ligatures, no kerning), which is enough for Latin text and
//! keeps every glyph traceable to one character for the ToUnicode map.

use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId, name_id};

/// The typeface family of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FontFamily {
    /// Libertinus Serif (OpenType/CFF outlines), the default for letters.
    #[default]
    Serif,
    /// DejaVu Sans Mono (TrueType outlines).
    Mono,
}

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Style {
    Regular,
    Bold,
}

/// One parsed font file.
pub(crate) struct FontData {
    pub data: &'static [u8],
    pub face: Face<'static>,
    /// PostScript name, ASCII letters, digits and `-` only.
    pub ps_name: String,
    pub units_per_em: f32,
    /// CFF outlines (OpenType) rather than TrueType `glyf` outlines.
    pub cff: bool,
    /// Ascender and descender as fractions of the em (descender negative).
    pub ascender: f32,
    pub descender: f32,
    /// Glyph drawn for characters the font does not have.
    replacement: u16,
    replacement_char: char,
}

struct Fonts {
    serif: [FontData; 2],
    mono: [FontData; 2],
}

fn fonts() -> Result<&'static Fonts, String> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// The font of `family` in `style`.
pub(crate) fn font(family: FontFamily, style: Style) -> Result<&'static FontData, String> {
    let f = fonts()?;
    let pair = match family {
        FontFamily::Serif => &f.serif,
        FontFamily::Mono => &f.mono,
    };
    Ok(match style {
        Style::Regular => &pair[0],
        Style::Bold => &pair[1],
    })
}

fn load() -> Result<Fonts, String> {
    let mut found: Vec<FontData> = Vec::new();
    for data in typst_assets::fonts() {
        let Ok(face) = Face::parse(data, 0) else {
            continue;
        };
        let ps_name = face
            .names()
            .into_iter()
            .find(|n| n.name_id == name_id::POST_SCRIPT_NAME && n.is_unicode())
            .and_then(|n| n.to_string())
            .unwrap_or_default();
        if !matches!(
            ps_name.as_str(),
            "LibertinusSerif-Regular"
                | "LibertinusSerif-Bold"
                | "DejaVuSansMono"
                | "DejaVuSansMono-Bold"
        ) {
            continue;
        }
        let units_per_em = f32::from(face.units_per_em());
        let cff = face.tables().cff.is_some();
        let (replacement, replacement_char) = ['\u{FFFD}', '?']
            .iter()
            .find_map(|&c| face.glyph_index(c).filter(|g| g.0 != 0).map(|g| (g.0, c)))
            .unwrap_or((0, '\u{FFFD}'));
        found.push(FontData {
            data,
            ascender: f32::from(face.ascender()) / units_per_em,
            descender: f32::from(face.descender()) / units_per_em,
            face,
            ps_name: ps_name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect(),
            units_per_em,
            cff,
            replacement,
            replacement_char,
        });
    }
    let mut take = |name: &str| -> Result<FontData, String> {
        let i = found
            .iter()
            .position(|f| f.ps_name == name)
            .ok_or_else(|| format!("font {name} missing from typst-assets"))?;
        Ok(found.swap_remove(i))
    };
    Ok(Fonts {
        serif: [
            take("LibertinusSerif-Regular")?,
            take("LibertinusSerif-Bold")?,
        ],
        mono: [take("DejaVuSansMono")?, take("DejaVuSansMono-Bold")?],
    })
}

impl FontData {
    fn glyph(&self, c: char) -> Option<u16> {
        self.face.glyph_index(c).map(|g| g.0).filter(|&g| g != 0)
    }

    /// Advance width of a glyph, in ems.
    pub fn advance(&self, gid: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0)) / self.units_per_em
    }

    /// The glyph drawn for `c` and the character that glyph stands for in the
    /// ToUnicode map: `c` itself when the font has it, else a close substitute
    /// (a narrower space, a plain hyphen…) or the replacement glyph.
    pub fn resolve(&self, c: char) -> (u16, char) {
        if let Some(g) = self.glyph(c) {
            return (g, c);
        }
        let substitutes: &[char] = match c {
            '\u{202F}' => &['\u{2009}', '\u{2006}', '\u{A0}', ' '],
            '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{205F}' | '\u{3000}' => &['\u{A0}', ' '],
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2212}' => &['-'],
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => &['\''],
            '\u{201C}' | '\u{201D}' => &['"'],
            '\u{2026}' => &['.'],
            _ => &[],
        };
        for &s in substitutes {
            if let Some(g) = self.glyph(s) {
                return (g, s);
            }
        }
        (self.replacement, self.replacement_char)
    }
}

/// Characters that are dropped before layout: controls (other than line
/// feed and tab), zero-width and formatting characters, variation selectors.
pub(crate) fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{B}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        | '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Composes a base letter and a following combining accent into the
/// precomposed letter used in French (and a few neighbours), so decomposed
/// input (NFD) renders with the font's accented glyphs.
pub(crate) fn compose(base: char, mark: char) -> Option<char> {
    let (bases, composed) = match mark {
        '\u{300}' => ("aeiouAEIOU", "àèìòùÀÈÌÒÙ"),
        '\u{301}' => ("aeiouyAEIOUY", "áéíóúýÁÉÍÓÚÝ"),
        '\u{302}' => ("aeiouAEIOU", "âêîôûÂÊÎÔÛ"),
        '\u{303}' => ("anoANO", "ãñõÃÑÕ"),
        '\u{308}' => ("aeiouyAEIOUY", "äëïöüÿÄËÏÖÜŸ"),
        '\u{327}' => ("cC", "çÇ"),
        _ => return None,
    };
    let i = bases.chars().position(|b| b == base)?;
    composed.chars().nth(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_families_load_and_cover_french() {
        for family in [FontFamily::Serif, FontFamily::Mono] {
            for style in [Style::Regular, Style::Bold] {
                let f = font(family, style).expect("font");
                for c in "éèêàçœŒ«»€\u{202F}\u{A0}ÉÀÇ’—".chars() {
                    assert_eq!(f.resolve(c).1, c, "{} lacks {c:?}", f.ps_name);
                }
                assert!(f.advance(f.resolve('M').0) > 0.3);
            }
        }
        assert!(font(FontFamily::Serif, Style::Regular).unwrap().cff);
        assert!(!font(FontFamily::Mono, Style::Regular).unwrap().cff);
    }

    #[test]
    fn missing_characters_fall_back() {
        let f = font(FontFamily::Serif, Style::Regular).unwrap();
        let (g, c) = f.resolve('😀');
        assert_ne!(g, 0);
        assert_eq!(c, '\u{FFFD}');
        assert_eq!(compose('e', '\u{301}'), Some('é'));
        assert_eq!(compose('C', '\u{327}'), Some('Ç'));
        assert_eq!(compose('x', '\u{301}'), None);
    }
}
