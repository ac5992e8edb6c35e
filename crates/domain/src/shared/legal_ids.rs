//! Validation of legal identifiers: SIREN, SIRET, FINESS (France) and
//! RIDET (New Caledonia).
//!
//! Each validator returns the normalised identifier (separators removed,
//! uppercased) or a French error message.

/// SIREN of La Poste, whose establishments' SIRETs use a special key rule.
const LA_POSTE_SIREN: &str = "356000000";

/// Removes whitespace (incl. U+00A0, U+202F), dots and hyphens; uppercases.
fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '.' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Luhn check over ASCII digits (rightmost digit is the check digit).
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((&key, body)) => u32::from(key - b'0') == luhn_key(body),
        None => false,
    }
}

/// Luhn check digit to append to `body` (ASCII digits).
fn luhn_key(body: &[u8]) -> u32 {
    // Once the key is appended, the body's rightmost digit is doubled.
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// La Poste rule: the sum of the 14 digits is a multiple of 5.
fn la_poste_key_valid(siret: &str) -> bool {
    let digit_sum: u32 = siret.bytes().map(|b| u32::from(b - b'0')).sum();
    let remainder = digit_sum % 5;
    remainder == 0
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// Validates a SIRET: 14 digits, Luhn key. La Poste establishments
/// (SIREN 356000000) use instead "sum of the digits is a multiple of 5";
/// both rules are accepted for them.
pub fn validate_siret(s: &str) -> Result<String, String> {
    let n = compact(s);
    if !all_digits(&n, 14) {
        return Err("SIRET invalide : 14 chiffres attendus".to_string());
    }
    let ok = luhn_valid(n.as_bytes()) || (n.starts_with(LA_POSTE_SIREN) && la_poste_key_valid(&n));
    if !ok {
        return Err("SIRET invalide : clé de contrôle incorrecte".to_string());
    }
    Ok(n)
}

/// Validates a SIREN: 9 digits, Luhn key.
pub fn validate_siren(s: &str) -> Result<String, String> {
    let n = compact(s);
    if !all_digits(&n, 9) {
        return Err("SIREN invalide : 9 chiffres attendus".to_string());
    }
    if !luhn_valid(n.as_bytes()) {
        return Err("SIREN invalide : clé de contrôle incorrecte".to_string());
    }
    Ok(n)
}

/// Validates a FINESS number (establishment or legal entity).
///
/// 9 characters: a 2-character département code (two digits, or `2A`/`2B`
/// for Corsica; New Caledonia is `98`), six digits, then a Luhn check digit
/// over the whole number.
///
/// Assumption: no official statement of how Corsican letters enter the key
/// was found. Two conventions are in use (`2A`/`2B` → `20`, i.e. letter
/// replaced by 0, and `2A` → `21`, `2B` → `22`); a Corsican number is accepted
/// if its key is valid under either.
pub fn validate_finess(s: &str) -> Result<String, String> {
    let n = compact(s);
    if n.chars().count() != 9 {
        return Err("FINESS invalide : 9 caractères attendus".to_string());
    }
    if !n.is_ascii() {
        return Err("FINESS invalide : seuls les chiffres (et 2A/2B) sont autorisés".to_string());
    }
    let (dept, rest) = n.split_at(2);
    let corsica = dept == "2A" || dept == "2B";
    if !corsica && !all_digits(dept, 2) {
        return Err(
            "FINESS invalide : département incorrect (2 chiffres, ou 2A/2B pour la Corse)"
                .to_string(),
        );
    }
    if !all_digits(rest, 7) {
        return Err("FINESS invalide : 7 chiffres attendus après le département".to_string());
    }
    let key_ok = if corsica {
        let with = |d: &str| luhn_valid(format!("{d}{rest}").as_bytes());
        with("20") || with(if dept == "2A" { "21" } else { "22" })
    } else {
        luhn_valid(n.as_bytes())
    };
    if !key_ok {
        return Err("FINESS invalide : clé de contrôle incorrecte".to_string());
    }
    Ok(n)
}

/// Validates a New Caledonian RIDET: 7-digit RID (leading zeros kept),
/// optionally followed by a 3-digit establishment rank, separated by a dot or
/// nothing. Normalised as `1234567.001`, or `1234567` without rank.
/// There is no check digit.
pub fn validate_ridet(s: &str) -> Result<String, String> {
    const MSG: &str = "RIDET invalide : 7 chiffres attendus, éventuellement suivis d'un point et de 3 chiffres (ex. 1234567.001)";
    let n: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let (rid, rank) = match n.split_once('.') {
        Some((rid, rank)) => (rid, Some(rank)),
        None if n.len() == 10 && n.is_ascii() => (&n[..7], Some(&n[7..])),
        None => (n.as_str(), None),
    };
    if !all_digits(rid, 7) {
        return Err(MSG.to_string());
    }
    match rank {
        None => Ok(rid.to_string()),
        Some(rank) if all_digits(rank, 3) => Ok(format!("{rid}.{rank}")),
        Some(_) => Err(MSG.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends the Luhn check digit to `body`.
    fn with_key(body: &str) -> String {
        format!("{body}{}", luhn_key(body.as_bytes()))
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid(b"79927398713"));
        assert!(!luhn_valid(b"79927398710"));
        assert!(luhn_valid(b"0"));
        assert!(!luhn_valid(b""));
        assert!(la_poste_key_valid("35600000012341"));
        assert!(!la_poste_key_valid("35600000012342"));
        assert_eq!(with_key("7992739871"), "79927398713");
    }

    #[test]
    fn siren() {
        assert_eq!(validate_siren("732 829 320"), Ok("732829320".into()));
        assert_eq!(validate_siren(LA_POSTE_SIREN), Ok(LA_POSTE_SIREN.into()));
        assert_eq!(
            validate_siren("732829321"),
            Err("SIREN invalide : clé de contrôle incorrecte".into())
        );
        assert_eq!(
            validate_siren("73282932"),
            Err("SIREN invalide : 9 chiffres attendus".into())
        );
        assert_eq!(
            validate_siren("73282932A"),
            Err("SIREN invalide : 9 chiffres attendus".into())
        );
        assert_eq!(
            validate_siren(""),
            Err("SIREN invalide : 9 chiffres attendus".into())
        );
    }

    #[test]
    fn siret() {
        assert_eq!(
            validate_siret("732 829 320 00074"),
            Ok("73282932000074".into())
        );
        assert_eq!(
            validate_siret("73282932000074"),
            Ok("73282932000074".into())
        );
        assert_eq!(
            validate_siret("\u{00A0}732\u{202F}829\u{202F}320\u{202F}00074 "),
            Ok("73282932000074".into())
        );
        assert_eq!(
            validate_siret("73282932000075"),
            Err("SIRET invalide : clé de contrôle incorrecte".into())
        );
        assert_eq!(
            validate_siret("7328293200007"),
            Err("SIRET invalide : 14 chiffres attendus".into())
        );
        assert_eq!(
            validate_siret("7328293200007X"),
            Err("SIRET invalide : 14 chiffres attendus".into())
        );
        assert_eq!(
            validate_siret("٧٣٢٨٢٩٣٢٠٠٠٠٧٤"),
            Err("SIRET invalide : 14 chiffres attendus".into())
        );
    }

    #[test]
    fn siret_la_poste() {
        // Digit sum 3+5+6+3+9+2 = 28 → not a multiple of 5.
        let rejected = "35600000000392";
        // Digit sum 3+5+6+1+2+3+4+1 = 25, and not Luhn-valid.
        let accepted = "35600000012341";
        assert!(!luhn_valid(accepted.as_bytes()));
        assert_eq!(validate_siret(accepted), Ok(accepted.into()));
        assert!(!luhn_valid(rejected.as_bytes()));
        assert!(validate_siret(rejected).is_err());
        // Head office: Luhn-valid although its digit sum (29) is not.
        assert_eq!(
            validate_siret("356 000 000 00048"),
            Ok("35600000000048".into())
        );
        // The digit-sum rule does not apply to other companies.
        let other = "73282932000004"; // digit sum 40
        assert!(!luhn_valid(other.as_bytes()));
        assert!(validate_siret(other).is_err());
    }

    #[test]
    fn finess() {
        let valid = with_key("75000001"); // hypothetical Paris number
        assert_eq!(validate_finess(&valid), Ok(valid.clone()));
        let spaced = format!(
            "{} {} {} {}",
            &valid[..2],
            &valid[2..5],
            &valid[5..8],
            &valid[8..]
        );
        assert_eq!(validate_finess(&spaced), Ok(valid.clone()));
        let nc = with_key("98000123");
        assert_eq!(validate_finess(&nc), Ok(nc.clone()));
        let mut wrong = valid.clone().into_bytes();
        wrong[8] = if wrong[8] == b'9' { b'0' } else { wrong[8] + 1 };
        let wrong = String::from_utf8(wrong).unwrap();
        assert_eq!(
            validate_finess(&wrong),
            Err("FINESS invalide : clé de contrôle incorrecte".into())
        );
        assert_eq!(
            validate_finess("7500000"),
            Err("FINESS invalide : 9 caractères attendus".into())
        );
        assert!(
            validate_finess("AB0000014")
                .unwrap_err()
                .contains("département")
        );
        assert!(
            validate_finess("2C0000014")
                .unwrap_err()
                .contains("département")
        );
        assert!(
            validate_finess("750A00014")
                .unwrap_err()
                .contains("7 chiffres")
        );
        assert!(validate_finess("75000001é").is_err());
        assert!(validate_finess("€1234567x").is_err());
        assert!(validate_finess("1€2345678").is_err());
    }

    #[test]
    fn finess_corsica() {
        // Key computed with A/B replaced by 0.
        let key_20 = with_key("20000001");
        let a = format!("2A{}", &key_20[2..]);
        assert_eq!(validate_finess(&a), Ok(a.clone()));
        assert_eq!(validate_finess(&a.to_lowercase()), Ok(a.clone()));
        let b = format!("2B{}", &key_20[2..]);
        assert_eq!(validate_finess(&b), Ok(b.clone()));
        // Key computed with 2A → 21 / 2B → 22.
        let key_22 = with_key("22000002");
        let b22 = format!("2B{}", &key_22[2..]);
        assert_eq!(validate_finess(&b22), Ok(b22.clone()));
        // Neither convention: refused.
        for last in b'0'..=b'9' {
            let body = "2A000001";
            let cand = format!("{body}{}", last as char);
            let k20 = luhn_valid(format!("20{}", &cand[2..]).as_bytes());
            let k21 = luhn_valid(format!("21{}", &cand[2..]).as_bytes());
            assert_eq!(validate_finess(&cand).is_ok(), k20 || k21, "{cand}");
        }
    }

    #[test]
    fn ridet() {
        assert_eq!(validate_ridet("1234567.001"), Ok("1234567.001".into()));
        assert_eq!(validate_ridet("1234567001"), Ok("1234567.001".into()));
        assert_eq!(validate_ridet("0123456"), Ok("0123456".into()));
        assert_eq!(validate_ridet(" 0 123 456.002 "), Ok("0123456.002".into()));
        for bad in [
            "",
            "12345€78",
            "1234567€",
            "123456",
            "12345678",
            "123456.001",
            "1234567.01",
            "1234567.0001",
            "1234567.",
            "123456700",
            "12345670011",
            "1234567-001",
            "ABCDEFG",
            "1234567.00A",
            "1.234567.001",
        ] {
            assert!(
                validate_ridet(bad)
                    .unwrap_err()
                    .starts_with("RIDET invalide"),
                "{bad:?}"
            );
        }
    }
}
