//! French locale helpers: number and date formatting, date parsing and
//! accent-insensitive search normalisation.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Narrow no-break space (U+202F), the French thousands separator.
pub const THOUSANDS_SEP: char = '\u{202F}';

/// No-break space (U+00A0), used before a unit or currency symbol.
pub const NBSP: char = '\u{00A0}';

const DATE_FORMAT_ERROR: &str = "Date invalide : format attendu JJ/MM/AAAA";

/// Formats a non-negative integer with `sep` between groups of three digits.
pub(crate) fn group_digits(n: u64, sep: char) -> String {
    let digits = n.to_string();
    // Leading group has 1 to 3 digits, the others exactly 3.
    let head = (digits.len() - 1) % 3 + 1;
    let mut out = String::with_capacity(digits.len() * 2);
    out.push_str(&digits[..head]);
    for group in digits.as_bytes()[head..].chunks(3) {
        out.push(sep);
        out.extend(group.iter().map(|&b| char::from(b)));
    }
    out
}

/// Formats an integer the French way: `12 500`, `-1 000 000` (U+202F separator).
pub fn format_int_fr(n: i64) -> String {
    let grouped = group_digits(n.unsigned_abs(), THOUSANDS_SEP);
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// Formats a date as `JJ/MM/AAAA`.
pub fn format_date_fr(d: Date) -> String {
    let mut out = String::with_capacity(10);
    push_date_fr(&mut out, d);
    out
}

/// Appends `22/11/2026` to `out` (what [`format_date_fr`] returns, without a new string: the
/// valuation writes many dates into its sentences).
pub fn push_date_fr(out: &mut String, d: Date) {
    let two = |out: &mut String, n: i8| {
        let n = n.unsigned_abs();
        out.push(char::from(b'0' + n / 10 % 10));
        out.push(char::from(b'0' + n % 10));
    };
    two(out, d.day());
    out.push('/');
    two(out, d.month());
    out.push('/');
    let y = d.year();
    if (0..=9999).contains(&y) {
        let y = y.unsigned_abs();
        for k in [1000, 100, 10, 1] {
            out.push(char::from(b'0' + (y / k % 10) as u8));
        }
    } else {
        out.push_str(&format!("{y:04}"));
    }
}

/// Parses `22/11/2026`, `22-11-2026` or ISO `2026-11-22` (surrounding
/// whitespace ignored; day and month may have one or two digits).
pub fn parse_date_fr(s: &str) -> Result<Date, String> {
    let t = s.trim();
    let sep = if t.contains('/') { '/' } else { '-' };
    let parts: Vec<&str> = t.split(sep).collect();
    if parts.len() != 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(DATE_FORMAT_ERROR.to_string());
    }
    let (y, m, d) = if sep == '-' && parts[0].len() == 4 {
        // ISO: AAAA-MM-JJ
        (parts[0], parts[1], parts[2])
    } else {
        (parts[2], parts[1], parts[0])
    };
    if y.len() != 4 || m.len() > 2 || d.len() > 2 {
        return Err(DATE_FORMAT_ERROR.to_string());
    }
    // Lengths are bounded above, so these parses cannot fail.
    let (Ok(year), Ok(month), Ok(day)) = (y.parse::<i16>(), m.parse::<i8>(), d.parse::<i8>())
    else {
        return Err(DATE_FORMAT_ERROR.to_string());
    };
    Date::new(year, month, day)
        .map_err(|_| format!("Date invalide : le {day:02}/{month:02}/{year:04} n'existe pas"))
}

/// Formats an instant as `JJ/MM/AAAA HH:MM` in the IANA zone `tz`
/// (e.g. `Europe/Paris`, `Pacific/Noumea`); unknown zones fall back to UTC.
pub fn format_datetime_fr(ts: Timestamp, tz: &str) -> String {
    let zone = TimeZone::get(tz).unwrap_or(TimeZone::UTC);
    let z = ts.to_zoned(zone);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}",
        z.day(),
        z.month(),
        z.year(),
        z.hour(),
        z.minute()
    )
}

/// Replacement for a lowercase letter carrying a diacritic (or a ligature).
fn fold_char(c: char) -> Option<&'static str> {
    let s = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' | 'ȁ' | 'ȃ' => "a",
        'æ' | 'ǽ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'ȅ' | 'ȇ' | 'ẽ' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'ǧ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ǐ' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' | 'ĸ' | 'ǩ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' | 'ŋ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ǒ' | 'ǿ' | 'ơ' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'ſ' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ǔ' | 'ǖ' | 'ǘ' | 'ǚ' | 'ǜ'
        | 'ư' => "u",
        'ŵ' | 'ẁ' | 'ẃ' | 'ẅ' => "w",
        'ý' | 'ÿ' | 'ŷ' | 'ỳ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    };
    Some(s)
}

/// Characters turned into a word separator: hyphens, dashes and apostrophes.
fn is_word_break(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2212}'
            | '\''
            | '\u{2018}'
            | '\u{2019}'
            | '\u{02BC}'
            | '\u{02BB}'
            | '`'
            | '\u{00B4}'
    )
}

/// Search key: lowercase, accents and ligatures folded (œ→oe, æ→ae, ß→ss…),
/// hyphens/apostrophes and runs of whitespace turned into one space, trimmed.
/// Idempotent: `normalize_search(&normalize_search(x)) == normalize_search(x)`.
pub fn normalize_search(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // A separator is only emitted before the next kept character.
    let mut pending_space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() || is_word_break(c) {
            pending_space = true;
            continue;
        }
        if ('\u{0300}'..='\u{036F}').contains(&c) {
            // Combining diacritical mark (decomposed input): dropped.
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        match fold_char(c) {
            Some(folded) => out.push_str(folded),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn int_formatting() {
        assert_eq!(format_int_fr(0), "0");
        assert_eq!(format_int_fr(999), "999");
        assert_eq!(format_int_fr(12_500), "12\u{202F}500");
        assert_eq!(format_int_fr(-1_000_000), "-1\u{202F}000\u{202F}000");
        assert_eq!(
            format_int_fr(i64::MIN),
            "-9\u{202F}223\u{202F}372\u{202F}036\u{202F}854\u{202F}775\u{202F}808"
        );
        assert_eq!(group_digits(1_234_567, ' '), "1 234 567");
    }

    #[test]
    fn date_formatting_and_parsing() {
        let d = date(2026, 11, 22);
        assert_eq!(format_date_fr(d), "22/11/2026");
        assert_eq!(format_date_fr(date(2026, 1, 5)), "05/01/2026");
        assert_eq!(parse_date_fr("22/11/2026"), Ok(d));
        assert_eq!(parse_date_fr("  22-11-2026 "), Ok(d));
        assert_eq!(parse_date_fr("2026-11-22"), Ok(d));
        assert_eq!(parse_date_fr("5/1/2026"), Ok(date(2026, 1, 5)));
        assert_eq!(parse_date_fr(&format_date_fr(d)), Ok(d));
    }

    #[test]
    fn date_parsing_errors() {
        for bad in [
            "",
            "22/11",
            "22/11/26",
            "2026/11/22",
            "aa/bb/cccc",
            "22/11/2026/1",
            "22 11 2026",
            "+2/11/2026",
            "123/11/2026",
        ] {
            assert_eq!(
                parse_date_fr(bad),
                Err(DATE_FORMAT_ERROR.to_string()),
                "{bad:?}"
            );
        }
        let err = parse_date_fr("31/02/2026").unwrap_err();
        assert!(err.starts_with("Date invalide"), "{err}");
        assert!(parse_date_fr("29/02/2027").is_err());
        assert_eq!(parse_date_fr("29/02/2028"), Ok(date(2028, 2, 29)));
    }

    #[test]
    fn datetime_in_zones() {
        let ts: Timestamp = "2026-11-22T13:05:00Z".parse().unwrap();
        assert_eq!(format_datetime_fr(ts, "Europe/Paris"), "22/11/2026 14:05");
        assert_eq!(format_datetime_fr(ts, "Pacific/Noumea"), "23/11/2026 00:05");
        assert_eq!(format_datetime_fr(ts, "Mars/Olympus"), "22/11/2026 13:05");
        // Summer time in Paris.
        let summer: Timestamp = "2026-07-14T08:00:00Z".parse().unwrap();
        assert_eq!(
            format_datetime_fr(summer, "Europe/Paris"),
            "14/07/2026 10:00"
        );
    }

    #[test]
    fn search_normalisation() {
        assert_eq!(
            normalize_search("  Éléonore  D’Arc-Dupré "),
            "eleonore d arc dupre"
        );
        assert_eq!(normalize_search("L'HÔPITAL"), "l hopital");
        assert_eq!(normalize_search("Cœur Lætitia"), "coeur laetitia");
        assert_eq!(normalize_search("ŒDIPE ÆLIS"), "oedipe aelis");
        assert_eq!(normalize_search("François Ÿvonne"), "francois yvonne");
        assert_eq!(
            normalize_search("Łukasz Čapek Ørsted Straße"),
            "lukasz capek orsted strasse"
        );
        assert_eq!(
            normalize_search("Jean--Marie\t\u{00A0}Le\u{202F}Pen"),
            "jean marie le pen"
        );
        // Decomposed form (e + combining acute).
        assert_eq!(normalize_search("Rene\u{0301}e"), "renee");
        assert_eq!(normalize_search(" - ' "), "");
        assert_eq!(normalize_search("N°12"), "n°12");
    }
}
