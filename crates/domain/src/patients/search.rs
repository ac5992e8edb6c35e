//! What a search box for patients means (RNIV practice: birth date first, then at
//! most the first three letters of a name).
//!
//! One free-text box: words are name prefixes (first word: birth or used name,
//! second: first name), a date `JJ/MM/AAAA` (or `AAAA-MM-JJ`) is the birth date, a
//! number is an IPP, a CAFAT number or, at 15 characters, a NIR.

/// Parsed criteria, all optional; keys are in `identity::search_key` form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchCriteria {
    pub name_prefix: Option<String>,
    pub first_name_prefix: Option<String>,
    /// Storage form `YYYY-MM-DD` (`00` for unknown parts).
    pub birth_date: Option<String>,
    /// Digits typed alone: matched against IPP, CAFAT number and NIR.
    pub number: Option<String>,
}

impl SearchCriteria {
    pub fn is_empty(&self) -> bool {
        self.name_prefix.is_none() && self.first_name_prefix.is_none() && self.birth_date.is_none() && self.number.is_none()
    }
}

fn date_token(tok: &str) -> Option<String> {
    let parts: Vec<&str> = if tok.contains('/') {
        tok.split('/').collect()
    } else if tok.len() == 10 && tok.as_bytes().get(4) == Some(&b'-') {
        let p: Vec<&str> = tok.split('-').collect();
        vec![p.get(2).copied().unwrap_or(""), p.get(1).copied().unwrap_or(""), p.first().copied().unwrap_or("")]
    } else {
        return None;
    };
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let (d, m, y) = (parts[0].parse::<u32>().ok()?, parts[1].parse::<u32>().ok()?, parts[2].parse::<u32>().ok()?);
    if parts[2].len() != 4 || d > 31 || m > 12 {
        return None;
    }
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Parses the search box and the separate birth-date field (either may be empty).
/// Returns `Err` with a French message when the birth-date field is malformed.
pub fn parse(text: &str, birth_date: &str) -> Result<SearchCriteria, String> {
    let mut c = SearchCriteria::default();
    if !birth_date.trim().is_empty() {
        c.birth_date = Some(
            date_token(birth_date.trim()).ok_or("Date de naissance : format attendu JJ/MM/AAAA (00 si inconnu).".to_string())?,
        );
    }
    let mut words = Vec::new();
    for tok in text.split(|ch: char| ch.is_whitespace() || ch == ',') .filter(|t| !t.is_empty()) {
        if let Some(d) = date_token(tok) {
            c.birth_date = Some(d);
            continue;
        }
        let compact: String = tok.chars().filter(|ch| *ch != '.').collect();
        // Names never hold digits: a token with a digit is an identifier (IPP, NIR,
        // CAFAT number, or an external id such as « CMS-4521 »).
        if compact.chars().any(|ch| ch.is_ascii_digit()) {
            let prev = c.number.take().unwrap_or_default();
            c.number = Some(format!("{prev}{}", compact.to_uppercase()));
            continue;
        }
        let key = crate::identity::search_key(tok);
        if !key.is_empty() {
            words.push(key);
        }
    }
    let mut w = words.into_iter();
    c.name_prefix = w.next();
    c.first_name_prefix = w.next();
    Ok(c)
}

/// The exclusive upper bound of a prefix range: every key starting with `prefix`
/// is `>= prefix` and `< upper(prefix)` in byte order.
pub fn prefix_upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rniv_birth_date_and_three_letters() {
        let c = parse("15/03/1950 dup", "").unwrap();
        assert_eq!(c.birth_date.as_deref(), Some("1950-03-15"));
        assert_eq!(c.name_prefix.as_deref(), Some("dup"));
        assert_eq!(c.first_name_prefix, None);
    }

    #[test]
    fn names_are_keys() {
        let c = parse("Le Gall", "").unwrap();
        assert_eq!(c.name_prefix.as_deref(), Some("le"));
        assert_eq!(c.first_name_prefix.as_deref(), Some("gall"));
        let c = parse("LÉ-GALL Hélène", "").unwrap();
        assert_eq!(c.name_prefix.as_deref(), Some("legall"));
        assert_eq!(c.first_name_prefix.as_deref(), Some("helene"));
    }

    #[test]
    fn numbers_and_nir() {
        assert_eq!(parse("00001234", "").unwrap().number.as_deref(), Some("00001234"));
        assert_eq!(parse("1 85 03 75 123 456 78", "").unwrap().number.as_deref(), Some("185037512345678"));
        assert_eq!(parse("185032A12345678", "").unwrap().number.as_deref(), Some("185032A12345678"));
        assert_eq!(parse("cms-4521", "").unwrap().number.as_deref(), Some("CMS-4521"));
        assert_eq!(parse("dup cms-4521", "").unwrap().name_prefix.as_deref(), Some("dup"));
    }

    #[test]
    fn incomplete_dates_and_field() {
        assert_eq!(parse("", "00/00/1950").unwrap().birth_date.as_deref(), Some("1950-00-00"));
        assert!(parse("", "1950").is_err());
        assert_eq!(parse("1950-03-15", "").unwrap().birth_date.as_deref(), Some("1950-03-15"));
        assert!(parse("", "").unwrap().is_empty());
    }

    #[test]
    fn prefix_range_contains_prefixed_keys() {
        let u = prefix_upper("dup");
        for k in ["dup", "dupont", "dupuis", "dupé"] {
            assert!(k >= "dup" && k < u.as_str(), "{k}");
        }
        for k in ["duo", "duq", "du"] {
            assert!(!(k >= "dup" && k < u.as_str()), "{k}");
        }
    }
}
