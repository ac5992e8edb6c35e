//! Document numbering series: masks such as `FAC-{YYYY}-{N:6}`.

use std::fmt;
use std::str::FromStr;

/// Error raised when a numbering mask is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberingError {
    /// The mask is malformed; the string explains why, in French.
    InvalidMask(String),
}

impl fmt::Display for NumberingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberingError::InvalidMask(msg) => {
                write!(f, "Masque de numérotation invalide : {msg}")
            }
        }
    }
}

impl std::error::Error for NumberingError {}

fn err(msg: impl Into<String>) -> NumberingError {
    NumberingError::InvalidMask(msg.into())
}

/// Maximum zero-padding width of `{N:k}`.
pub const MAX_PADDING: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Year4,
    Year2,
    Number { width: usize },
}

/// A parsed numbering mask.
///
/// Tokens: `{YYYY}` (4-digit year), `{YY}` (last two digits of the year),
/// `{N}` (sequence number) or `{N:k}` (zero-padded to k digits, 1 ≤ k ≤ 12;
/// larger numbers are never truncated). Literal text may contain ASCII
/// letters, digits, `-`, `_`, `/` and `.`. Exactly one `{N}` token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SeriesMask {
    text: String,
    parts: Vec<Part>,
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.')
}

fn parse_token(token: &str) -> Result<Part, NumberingError> {
    match token {
        "YYYY" => return Ok(Part::Year4),
        "YY" => return Ok(Part::Year2),
        "N" => return Ok(Part::Number { width: 0 }),
        _ => {}
    }
    if let Some(width) = token.strip_prefix("N:") {
        let valid =
            !width.is_empty() && width.len() <= 2 && width.bytes().all(|b| b.is_ascii_digit());
        return match width.parse::<usize>() {
            Ok(k) if valid && (1..=MAX_PADDING).contains(&k) => Ok(Part::Number { width: k }),
            _ => Err(err(format!(
                "la largeur de « {{{token}}} » doit être un nombre entre 1 et {MAX_PADDING}"
            ))),
        };
    }
    Err(err(format!(
        "élément « {{{token}}} » inconnu (autorisés : {{YYYY}}, {{YY}}, {{N}}, {{N:k}})"
    )))
}

impl SeriesMask {
    /// Parses and validates a mask.
    pub fn parse(mask: &str) -> Result<SeriesMask, NumberingError> {
        let mut parts: Vec<Part> = Vec::new();
        let mut literal = String::new();
        let mut chars = mask.chars();
        while let Some(c) = chars.next() {
            match c {
                '{' => {
                    let mut token = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => return Err(err("accolade « { » non fermée")),
                            Some(t) => token.push(t),
                        }
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(parse_token(&token)?);
                }
                '}' => return Err(err("accolade « } » sans accolade ouvrante")),
                c if is_literal_char(c) => literal.push(c),
                c => {
                    return Err(err(format!(
                        "caractère « {c} » non autorisé (lettres, chiffres, - _ / . uniquement)"
                    )));
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        match parts
            .iter()
            .filter(|p| matches!(p, Part::Number { .. }))
            .count()
        {
            0 => return Err(err("le numéro {N} ou {N:k} est obligatoire")),
            1 => {}
            _ => return Err(err("un seul numéro {N} est autorisé")),
        }
        Ok(SeriesMask {
            text: mask.to_string(),
            parts,
        })
    }

    /// The mask text, as given to [`SeriesMask::parse`].
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Builds the document number for `year` and sequence `number`.
    pub fn format(&self, year: i32, number: u64) -> String {
        let mut out = String::with_capacity(self.text.len() + 8);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Year4 => out.push_str(&format!("{year:04}")),
                Part::Year2 => out.push_str(&format!("{:02}", year.rem_euclid(100))),
                Part::Number { width } => out.push_str(&format!("{number:0width$}")),
            }
        }
        out
    }

    /// Inverse of [`SeriesMask::format`]: the sequence number of `formatted`
    /// if it is exactly what this mask produces for `year`.
    pub fn extract_number(&self, formatted: &str, year: i32) -> Option<u64> {
        // Everything but the number is fixed once the year is known.
        let idx = self
            .parts
            .iter()
            .position(|p| matches!(p, Part::Number { .. }))?;
        let fixed = |parts: &[Part]| {
            let m = SeriesMask {
                text: String::new(),
                parts: parts.to_vec(),
            };
            m.format(year, 0)
        };
        let prefix = fixed(&self.parts[..idx]);
        let suffix = fixed(&self.parts[idx + 1..]);
        let digits = formatted
            .strip_prefix(prefix.as_str())?
            .strip_suffix(suffix.as_str())?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: u64 = digits.parse().ok()?;
        (self.format(year, number) == formatted).then_some(number)
    }
}

impl fmt::Display for SeriesMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for SeriesMask {
    type Err = NumberingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SeriesMask::parse(s)
    }
}

impl TryFrom<String> for SeriesMask {
    type Error = NumberingError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        SeriesMask::parse(&s)
    }
}

impl From<SeriesMask> for String {
    fn from(m: SeriesMask) -> String {
        m.text
    }
}

/// True when the numbers, once sorted, are exactly `1..=n` with no duplicate
/// (an empty slice is gapless).
pub fn is_gapless(numbers: &[u64]) -> bool {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    sorted
        .iter()
        .zip(1u64..)
        .all(|(&n, expected)| n == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let m = SeriesMask::parse("FAC-{YYYY}-{N:6}").unwrap();
        assert_eq!(m.format(2026, 42), "FAC-2026-000042");
        assert_eq!(m.format(2026, 1_234_567), "FAC-2026-1234567");
        assert_eq!(m.to_string(), "FAC-{YYYY}-{N:6}");
        assert_eq!(m.as_str(), "FAC-{YYYY}-{N:6}");

        let m = SeriesMask::parse("REC{YY}{N:5}").unwrap();
        assert_eq!(m.format(2026, 7), "REC2600007");
        assert_eq!(m.format(2000, 7), "REC0000007");

        let m = SeriesMask::parse("AV-{N}").unwrap();
        assert_eq!(m.format(2026, 0), "AV-0");
        assert_eq!(m.format(2026, 15), "AV-15");

        let m: SeriesMask = "{N:12}/x_y.z".parse().unwrap();
        assert_eq!(m.format(1999, 3), "000000000003/x_y.z");
        assert_eq!(SeriesMask::parse("{N:1}").unwrap().format(2026, 9), "9");
    }

    #[test]
    fn invalid_masks() {
        for bad in [
            "",
            "FAC",
            "FAC-{YYYY}",
            "{N}{N}",
            "{N}-{N:3}",
            "{N:0}",
            "{N:13}",
            "{N:}",
            "{N:a}",
            "{N:+3}",
            "{N:012}",
            "{n}",
            "{YYY}",
            "{MM}-{N}",
            "{}",
            "{N",
            "N}",
            "{{N}}",
            "FAC {N}",
            "FAC-é{N}",
            "{N}\n",
            "{YYYY-{N}}",
        ] {
            let e = SeriesMask::parse(bad).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("Masque de numérotation invalide : "),
                "{bad:?}: {e}"
            );
        }
        assert_eq!(
            SeriesMask::parse("{MM}{N}"),
            Err(NumberingError::InvalidMask(
                "élément « {MM} » inconnu (autorisés : {YYYY}, {YY}, {N}, {N:k})".into()
            ))
        );
    }

    #[test]
    fn extract_number_inverts_format() {
        let m = SeriesMask::parse("FAC-{YYYY}-{N:6}").unwrap();
        assert_eq!(m.extract_number("FAC-2026-000042", 2026), Some(42));
        assert_eq!(m.extract_number("FAC-2026-1234567", 2026), Some(1_234_567));
        assert_eq!(m.extract_number("FAC-2025-000042", 2026), None);
        assert_eq!(m.extract_number("FAC-2026-42", 2026), None);
        assert_eq!(m.extract_number("FAC-2026-0000042", 2026), None);
        assert_eq!(m.extract_number("FAC-2026-", 2026), None);
        let m = SeriesMask::parse("{N}-{YY}").unwrap();
        assert_eq!(m.extract_number("17-26", 2026), Some(17));
        assert_eq!(m.extract_number("017-26", 2026), None);
    }

    #[test]
    fn serde_as_string() {
        let m = SeriesMask::parse("AV-{N}").unwrap();
        let s: String = m.clone().into();
        assert_eq!(s, "AV-{N}");
        assert_eq!(SeriesMask::try_from(s), Ok(m));
        assert!(SeriesMask::try_from("AV".to_string()).is_err());
    }

    #[test]
    fn gapless() {
        assert!(is_gapless(&[]));
        assert!(is_gapless(&[1]));
        assert!(is_gapless(&[3, 1, 2]));
        assert!(!is_gapless(&[0, 1, 2]));
        assert!(!is_gapless(&[1, 3]));
        assert!(!is_gapless(&[1, 2, 2]));
        assert!(!is_gapless(&[2]));
    }
}
