//! Money in integer minor units (EUR cents, XPF francs), rates in basis
//! points, rounding, allocation and French formatting/parsing.
//!
//! No floating point: every computation is done on integers (i128 for
//! intermediate products).

use std::fmt;

use crate::fr::{NBSP, THOUSANDS_SEP, group_digits};

/// Supported currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Currency {
    /// Euro (2 decimals).
    Eur,
    /// Franc CFP (no decimals).
    Xpf,
}

impl Currency {
    /// ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Xpf => "XPF",
        }
    }

    /// Number of decimals of the minor unit.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Eur => 2,
            Currency::Xpf => 0,
        }
    }

    /// Symbol printed after the amount.
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Eur => "€",
            Currency::Xpf => "XPF",
        }
    }

    /// Looks up an ISO code, case-insensitively (`"eur"`, `"XPF"`).
    pub fn from_code(s: &str) -> Option<Currency> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("EUR") {
            Some(Currency::Eur)
        } else if s.eq_ignore_ascii_case("XPF") {
            Some(Currency::Xpf)
        } else {
            None
        }
    }

    /// Spellings accepted by [`Money::parse_fr`] (uppercase, without spaces).
    fn accepted_symbols(self) -> &'static [&'static str] {
        match self {
            Currency::Eur => &["€", "EUR", "EURO", "EUROS"],
            Currency::Xpf => &["XPF", "F", "FCFP", "CFP"],
        }
    }

    fn other(self) -> Currency {
        match self {
            Currency::Eur => Currency::Xpf,
            Currency::Xpf => Currency::Eur,
        }
    }

    fn name_fr(self) -> &'static str {
        match self {
            Currency::Eur => "l'euro (EUR)",
            Currency::Xpf => "le franc CFP (XPF)",
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    /// For store rows (`#[sqlx(try_from = "String")]`): the ISO code, as [`Currency::from_code`].
    fn try_from(s: String) -> Result<Currency, String> {
        s.parse()
    }
}

impl std::str::FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Currency, String> {
        Currency::from_code(s).ok_or_else(|| {
            let shown: String = s.chars().take(40).collect();
            format!("Devise inconnue : « {shown} » (EUR ou XPF).")
        })
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Errors of money arithmetic and parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// Operation between two different currencies.
    CurrencyMismatch,
    /// Result outside the representable range.
    Overflow,
    /// Invalid input or argument; the string is a French message.
    Invalid(String),
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::CurrencyMismatch => {
                f.write_str("Opération impossible entre deux devises différentes")
            }
            MoneyError::Overflow => f.write_str("Montant hors limites (dépassement de capacité)"),
            MoneyError::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for MoneyError {}

fn invalid(msg: impl Into<String>) -> MoneyError {
    MoneyError::Invalid(msg.into())
}

/// Message used when a decimal part is given for XPF.
pub const XPF_NO_DECIMALS: &str = "Le franc CFP (XPF) n'a pas de décimales";

/// An amount in integer minor units of its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Money {
    /// Amount in minor units (cents for EUR, francs for XPF).
    pub minor: i64,
    /// Currency of the amount.
    pub currency: Currency,
}

impl Money {
    /// Builds an amount from minor units.
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero in the given currency.
    pub const fn zero(c: Currency) -> Money {
        Money {
            minor: 0,
            currency: c,
        }
    }

    /// Sum; errors on currency mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Difference; errors on currency mismatch or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Opposite amount; errors on overflow (`i64::MIN` has no opposite).
    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Amount times a whole quantity (e.g. days × daily rate); errors on overflow.
    pub fn checked_mul(self, quantity: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(quantity).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Sum of amounts in `currency` (zero when empty); errors on currency mismatch or overflow.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }

    /// True when strictly below zero.
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// True when exactly zero.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// French display: `1 234,56 €` (U+202F thousands, U+00A0 before symbol).
    pub fn format_fr(&self) -> String {
        self.format_with(THOUSANDS_SEP, NBSP)
    }

    /// Same as [`Money::format_fr`] with ASCII spaces (CSV, tests).
    pub fn format_fr_plain(&self) -> String {
        self.format_with(' ', ' ')
    }

    fn format_with(&self, group_sep: char, symbol_sep: char) -> String {
        let exp = self.currency.exponent();
        let factor = 10u64.pow(exp);
        let abs = self.minor.unsigned_abs();
        let mut out = String::with_capacity(24);
        if self.minor < 0 {
            out.push('-');
        }
        out.push_str(&group_digits(abs / factor, group_sep));
        if exp > 0 {
            out.push(',');
            let frac = abs % factor;
            let mut k = factor / 10;
            while k > 0 {
                out.push(char::from(b'0' + (frac / k % 10) as u8));
                k /= 10;
            }
        }
        out.push(symbol_sep);
        out.push_str(self.currency.symbol());
        out
    }

    /// Parses a French-written amount in `currency`.
    ///
    /// Accepts an optional sign, digits grouped by threes with a space,
    /// U+00A0 or U+202F (or not grouped), a comma or dot decimal separator,
    /// and an optional symbol of `currency` before or after the number
    /// (`€`/`EUR`; `XPF`/`F`/`FCFP`/`F CFP`). EUR takes at most 2 decimals;
    /// XPF takes none, not even `,0`.
    pub fn parse_fr(s: &str, currency: Currency) -> Result<Money, MoneyError> {
        let original = s.trim();
        if original.is_empty() {
            return Err(invalid("Montant vide"));
        }
        let garbage = || invalid(format!("Montant invalide : « {original} »"));

        let mut rest = original;
        let mut negative = None;
        if let Some((neg, r)) = take_sign(rest) {
            negative = Some(neg);
            rest = r.trim_start();
        }

        // Optional symbol before the number.
        let prefix_len = rest
            .find(|c: char| !is_symbol_char(c))
            .unwrap_or(rest.len());
        let has_prefix_symbol = prefix_len > 0;
        if has_prefix_symbol {
            check_symbol(&rest[..prefix_len], currency, original)?;
            rest = rest[prefix_len..].trim_start();
            if let (None, Some((neg, r))) = (negative, take_sign(rest)) {
                negative = Some(neg);
                rest = r.trim_start();
            }
        }

        // Number body, then optional symbol after it.
        let body_len = rest.find(|c: char| !is_body_char(c)).unwrap_or(rest.len());
        let body = rest[..body_len].trim_end();
        let suffix = rest[body_len..].trim();
        if !suffix.is_empty() {
            if has_prefix_symbol || !suffix.chars().all(|c| is_symbol_char(c) || is_space(c)) {
                return Err(garbage());
            }
            check_symbol(suffix, currency, original)?;
        }
        if body.is_empty() {
            return Err(garbage());
        }

        let (int_part, frac_part) = match body.find([',', '.']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        if frac_part.is_some() && currency == Currency::Xpf {
            return Err(invalid(XPF_NO_DECIMALS));
        }
        let int_digits = parse_grouped_int(int_part).ok_or_else(garbage)?;

        let exp = currency.exponent();
        let mut frac_value: u128 = 0;
        if let Some(frac) = frac_part {
            if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(garbage());
            }
            if frac.len() > exp as usize {
                return Err(invalid(format!(
                    "Trop de décimales : {exp} au maximum pour {}",
                    currency.name_fr()
                )));
            }
            let scale = 10u128.pow(exp - frac.len() as u32);
            frac_value = frac
                .bytes()
                .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0'))
                * scale;
        }

        // At most 20 significant digits are representable in u128 safely here.
        let int_digits = int_digits.trim_start_matches('0');
        if int_digits.len() > 20 {
            return Err(MoneyError::Overflow);
        }
        let int_value = int_digits
            .bytes()
            .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0'));
        let magnitude = int_value * 10u128.pow(exp) + frac_value;
        let signed = if negative == Some(true) {
            -(magnitude as i128)
        } else {
            magnitude as i128
        };
        let minor = i64::try_from(signed).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_fr())
    }
}

fn is_space(c: char) -> bool {
    c == ' ' || c == NBSP || c == THOUSANDS_SEP
}

fn is_symbol_char(c: char) -> bool {
    c.is_alphabetic() || c == '€'
}

fn is_body_char(c: char) -> bool {
    c.is_ascii_digit() || c == ',' || c == '.' || is_space(c)
}

/// Strips a leading `+`, `-` or `−` (U+2212); returns (is_negative, rest).
fn take_sign(s: &str) -> Option<(bool, &str)> {
    let c = s.chars().next()?;
    match c {
        '-' | '\u{2212}' => Some((true, &s[c.len_utf8()..])),
        '+' => Some((false, &s[1..])),
        _ => None,
    }
}

/// Checks that `raw` (letters/€ possibly with spaces) is a symbol of `currency`.
fn check_symbol(raw: &str, currency: Currency, original: &str) -> Result<(), MoneyError> {
    let key: String = raw
        .chars()
        .filter(|c| !is_space(*c))
        .flat_map(char::to_uppercase)
        .collect();
    if currency.accepted_symbols().contains(&key.as_str()) {
        return Ok(());
    }
    let other = currency.other();
    if other.accepted_symbols().contains(&key.as_str()) {
        return Err(invalid(format!(
            "Devise incorrecte : « {} » désigne {}, montant attendu en {}",
            raw.trim(),
            other.name_fr(),
            currency.code()
        )));
    }
    Err(invalid(format!("Montant invalide : « {original} »")))
}

/// Validates the integer part (plain digits, or groups of three separated by
/// single spaces) and returns its digits without separators.
fn parse_grouped_int(s: &str) -> Option<String> {
    let groups: Vec<&str> = s.split(is_space).collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    Some(groups.concat())
}

/// A rate in basis points: `BasisPoints(10000)` is 100 %.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct BasisPoints(pub u32);

impl BasisPoints {
    /// 100 %.
    pub const FULL: BasisPoints = BasisPoints(10_000);
    /// 0 %.
    pub const ZERO: BasisPoints = BasisPoints(0);

    /// Whole percentage: `from_percent(80)` is 80 %. Takes a `u16` so that it cannot
    /// overflow (655 35 % at most); see [`BasisPoints::checked_from_percent`] for a `u32`.
    pub const fn from_percent(p: u16) -> BasisPoints {
        BasisPoints(p as u32 * 100)
    }

    /// Whole percentage, `None` when `p × 100` does not fit (above 42 949 672 %).
    pub const fn checked_from_percent(p: u32) -> Option<BasisPoints> {
        match p.checked_mul(100) {
            Some(bp) => Some(BasisPoints(bp)),
            None => None,
        }
    }

    /// French display with U+00A0 before `%`: `80 %`, `12,5 %`, `12,34 %`.
    pub fn format_fr(&self) -> String {
        self.format_with(THOUSANDS_SEP, NBSP)
    }

    /// Same as [`BasisPoints::format_fr`] with ASCII spaces.
    pub fn format_fr_plain(&self) -> String {
        self.format_with(' ', ' ')
    }

    fn format_with(&self, group_sep: char, sep: char) -> String {
        let int = u64::from(self.0 / 100);
        let (tenths, hundredths) = (self.0 % 100 / 10, self.0 % 10);
        let mut out = group_digits(int, group_sep);
        if hundredths != 0 {
            out.push_str(&format!(",{tenths}{hundredths}"));
        } else if tenths != 0 {
            out.push_str(&format!(",{tenths}"));
        }
        out.push(sep);
        out.push('%');
        out
    }

    /// Parses `80`, `80 %`, `12,5 %`, `12.34%`: at most 2 decimals, 0 to 100 %.
    pub fn parse_fr(s: &str) -> Result<BasisPoints, MoneyError> {
        let original = s.trim();
        let body = original.strip_suffix('%').unwrap_or(original).trim();
        if body.is_empty() {
            return Err(invalid("Taux vide"));
        }
        if body.starts_with('-') || body.starts_with('\u{2212}') {
            return Err(invalid("Un taux ne peut pas être négatif"));
        }
        let garbage = || invalid(format!("Taux invalide : « {original} »"));
        let (int_part, frac_part) = match body.find([',', '.']) {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, ""),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(garbage());
        }
        if body.len() != int_part.len() && frac_part.is_empty() {
            return Err(garbage());
        }
        if frac_part.len() > 2 {
            return Err(invalid("Taux invalide : 2 décimales au maximum"));
        }
        let int_part = int_part.trim_start_matches('0');
        if int_part.len() > 3 {
            return Err(invalid("Taux invalide : supérieur à 100 %"));
        }
        let int_value: u32 = int_part
            .bytes()
            .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'));
        let frac_value: u32 = frac_part
            .bytes()
            .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
            * 10u32.pow(2 - frac_part.len() as u32);
        let bp = int_value * 100 + frac_value;
        if bp > BasisPoints::FULL.0 {
            return Err(invalid("Taux invalide : supérieur à 100 %"));
        }
        Ok(BasisPoints(bp))
    }
}

impl fmt::Display for BasisPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_fr())
    }
}

/// Rounding mode for the last minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Half away from zero (usual commercial rounding).
    HalfUp,
    /// Half to even (banker's rounding).
    HalfEven,
    /// Truncation.
    TowardZero,
    /// Any fraction goes to the next unit away from zero.
    AwayFromZero,
}

/// `n / d` rounded with `mode`; `d` must be positive.
fn div_round(n: i128, d: i128, mode: Rounding) -> i128 {
    debug_assert!(d > 0);
    let q = n / d;
    let r = n % d;
    if r == 0 {
        return q;
    }
    let step = n.signum(); // direction away from zero
    let twice = 2 * r.abs();
    let away = match mode {
        Rounding::TowardZero => false,
        Rounding::AwayFromZero => true,
        Rounding::HalfUp => twice >= d,
        Rounding::HalfEven => twice > d || (twice == d && q % 2 != 0),
    };
    if away { q + step } else { q }
}

/// `amount × rate / 10000`, rounded to the minor unit with `rounding`.
///
/// Checked: [`MoneyError::Overflow`] when the result does not fit in `i64` (only reachable
/// with rates above 100 %); never clamps. At most 100 % it always succeeds.
pub fn apply_rate(amount: Money, rate: BasisPoints, rounding: Rounding) -> Result<Money, MoneyError> {
    // |minor| ≤ 2^63 and rate < 2^32: the product fits in i128.
    let exact = i128::from(amount.minor) * i128::from(rate.0);
    let rounded = div_round(exact, 10_000, rounding);
    let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
    Ok(Money::new(minor, amount.currency))
}

/// Splits `total` proportionally to `weights` (largest-remainder method).
///
/// Every minor unit is allocated: the shares sum exactly to `total`, carry
/// its sign, and each differs from the exact proportional share by less than
/// one unit. Leftover units go to the largest remainders, lower index first
/// on ties. Empty or all-zero weights are an error.
pub fn allocate(total: Money, weights: &[u64]) -> Result<Vec<Money>, MoneyError> {
    if weights.is_empty() {
        return Err(invalid(
            "Répartition impossible : aucune clé de répartition",
        ));
    }
    // Fits: len ≤ isize::MAX / 8 and each weight < 2^64.
    let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if sum == 0 {
        return Err(invalid(
            "Répartition impossible : toutes les clés de répartition sont nulles",
        ));
    }
    let magnitude = i128::from(total.minor).abs(); // ≤ 2^63
    // magnitude × weight < 2^63 × 2^64 = 2^127: no i128 overflow.
    let mut shares: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let product = magnitude * i128::from(w);
        shares.push(product / sum);
        remainders.push((product % sum, i));
    }
    let allocated: i128 = shares.iter().sum();
    // The leftover is below the number of weights; a failed conversion cannot happen and is
    // reported rather than unwrapped.
    let leftover = usize::try_from(magnitude - allocated).map_err(|_| MoneyError::Overflow)?;
    // Largest remainder first, lower index on ties.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(leftover) {
        shares[i] += 1;
    }
    let sign = i128::from(total.minor.signum());
    // Each share is bounded by the total, so the conversion succeeds.
    shares
        .into_iter()
        .map(|s| i64::try_from(s * sign).map(|minor| Money::new(minor, total.currency)).map_err(|_| MoneyError::Overflow))
        .collect()
}

/// Splits `total` by coverage rates (sum ≤ 100 %): one share per rate plus
/// a final share for the uncovered part (e.g. the patient's share). Shares sum
/// exactly to `total`.
pub fn split_by_rates(total: Money, rates: &[BasisPoints]) -> Result<Vec<Money>, MoneyError> {
    let covered: u64 = rates.iter().map(|r| u64::from(r.0)).sum();
    if covered > u64::from(BasisPoints::FULL.0) {
        return Err(invalid(
            "Répartition impossible : la somme des taux dépasse 100 %",
        ));
    }
    let mut weights: Vec<u64> = rates.iter().map(|r| u64::from(r.0)).collect();
    weights.push(u64::from(BasisPoints::FULL.0) - covered);
    allocate(total, &weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::Eur)
    }
    fn xpf(minor: i64) -> Money {
        Money::new(minor, Currency::Xpf)
    }

    #[test]
    fn currency_basics() {
        assert_eq!(Currency::Eur.code(), "EUR");
        assert_eq!(Currency::Xpf.code(), "XPF");
        assert_eq!(Currency::Eur.exponent(), 2);
        assert_eq!(Currency::Xpf.exponent(), 0);
        assert_eq!(Currency::Eur.symbol(), "€");
        assert_eq!(Currency::Xpf.symbol(), "XPF");
        assert_eq!(Currency::from_code("eur"), Some(Currency::Eur));
        assert_eq!(Currency::from_code("Xpf"), Some(Currency::Xpf));
        assert_eq!(Currency::from_code("USD"), None);
        assert_eq!(Currency::from_code(""), None);
    }

    #[test]
    fn arithmetic() {
        assert_eq!(eur(150).checked_add(eur(-200)), Ok(eur(-50)));
        assert_eq!(eur(150).checked_sub(eur(200)), Ok(eur(-50)));
        assert_eq!(
            eur(1).checked_add(xpf(1)),
            Err(MoneyError::CurrencyMismatch)
        );
        assert_eq!(
            eur(1).checked_sub(xpf(1)),
            Err(MoneyError::CurrencyMismatch)
        );
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), Err(MoneyError::Overflow));
        assert_eq!(eur(i64::MIN).checked_sub(eur(1)), Err(MoneyError::Overflow));
        assert!(eur(-1).is_negative());
        assert!(!eur(0).is_negative());
        assert!(Money::zero(Currency::Xpf).is_zero());
        assert_eq!(eur(5).checked_neg(), Ok(eur(-5)));
        assert_eq!(eur(i64::MIN).checked_neg(), Err(MoneyError::Overflow));
        assert_eq!(eur(1250).checked_mul(3), Ok(eur(3750)));
        assert_eq!(eur(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(eur(-1).checked_mul(i64::MIN), Err(MoneyError::Overflow));
        assert_eq!(Money::checked_sum(Currency::Eur, [eur(1), eur(2)]), Ok(eur(3)));
        assert_eq!(Money::checked_sum(Currency::Eur, []), Ok(eur(0)));
        assert_eq!(Money::checked_sum(Currency::Eur, [xpf(1)]), Err(MoneyError::CurrencyMismatch));
        assert_eq!(Money::checked_sum(Currency::Xpf, [xpf(i64::MAX), xpf(1)]), Err(MoneyError::Overflow));
        assert_eq!(Currency::try_from("xpf".to_string()), Ok(Currency::Xpf));
        assert!(Currency::try_from("USD".to_string()).unwrap_err().contains("USD"));
    }

    #[test]
    fn formatting() {
        assert_eq!(eur(123_456).format_fr(), "1\u{202F}234,56\u{00A0}€");
        assert_eq!(eur(-5).format_fr(), "-0,05\u{00A0}€");
        assert_eq!(eur(0).format_fr(), "0,00\u{00A0}€");
        assert_eq!(xpf(12_500).format_fr(), "12\u{202F}500\u{00A0}XPF");
        assert_eq!(eur(123_456).format_fr_plain(), "1 234,56 €");
        assert_eq!(xpf(-1_000_000).format_fr_plain(), "-1 000 000 XPF");
        assert_eq!(
            eur(i64::MIN).format_fr_plain(),
            "-92 233 720 368 547 758,08 €"
        );
        assert_eq!(eur(100).to_string(), "1,00\u{00A0}€");
    }

    #[test]
    fn parsing_eur() {
        let ok = |s: &str, minor: i64| {
            assert_eq!(Money::parse_fr(s, Currency::Eur), Ok(eur(minor)), "{s:?}")
        };
        ok("12", 1200);
        ok("12,5", 1250);
        ok("12,50", 1250);
        ok("12.50", 1250);
        ok("  1 234,56 € ", 123_456);
        ok("1\u{202F}234,56\u{00A0}€", 123_456);
        ok("1\u{00A0}234\u{00A0}567", 123_456_700);
        ok("1234567,89 EUR", 123_456_789);
        ok("-0,05 €", -5);
        ok("- 3,10€", -310);
        ok("+3", 300);
        ok("\u{2212}3", -300);
        ok("€ 12,00", 1200);
        ok("EUR -12", -1200);
        ok("12 euros", 1200);
        ok("0", 0);
        ok("-0", 0);
        ok("007,5", 750);
        ok("-92 233 720 368 547 758,08 €", i64::MIN);
        ok("92 233 720 368 547 758,07 €", i64::MAX);
    }

    #[test]
    fn parsing_eur_errors() {
        for bad in [
            "", "   ", "€", "-", "abc", "12,345", "12,", ",50", "1,2,3", "12 XPF", "12 F", "€12€",
            "12 € 3", "1 23", "12  345", "1234 567", "12,5 0", "12a", "--12", "12-", "1e3", "0x10",
        ] {
            assert!(
                matches!(
                    Money::parse_fr(bad, Currency::Eur),
                    Err(MoneyError::Invalid(_))
                ),
                "{bad:?} should be invalid"
            );
        }
        assert_eq!(
            Money::parse_fr("92 233 720 368 547 758,08 €", Currency::Eur),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::parse_fr("99999999999999999999999999", Currency::Eur),
            Err(MoneyError::Overflow)
        );
        let err = Money::parse_fr("12 XPF", Currency::Eur)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Devise incorrecte"), "{err}");
        let err = Money::parse_fr("1,234", Currency::Eur)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Trop de décimales"), "{err}");
    }

    #[test]
    fn parsing_xpf() {
        let ok = |s: &str, minor: i64| {
            assert_eq!(Money::parse_fr(s, Currency::Xpf), Ok(xpf(minor)), "{s:?}")
        };
        ok("12500", 12_500);
        ok("12 500 XPF", 12_500);
        ok("12\u{202F}500\u{00A0}XPF", 12_500);
        ok("12 500 F", 12_500);
        ok("12 500 FCFP", 12_500);
        ok("12 500 F CFP", 12_500);
        ok("12500xpf", 12_500);
        ok("-300 F", -300);
        for bad in ["12,5 XPF", "12,0 XPF", "12.0", "12,", "1.000"] {
            assert_eq!(
                Money::parse_fr(bad, Currency::Xpf),
                Err(MoneyError::Invalid(XPF_NO_DECIMALS.to_string())),
                "{bad:?}"
            );
        }
        assert!(Money::parse_fr("12 €", Currency::Xpf).is_err());
        assert!(Money::parse_fr("12 EUR", Currency::Xpf).is_err());
        assert_eq!(
            Money::parse_fr("9223372036854775808", Currency::Xpf),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::parse_fr("-9223372036854775808", Currency::Xpf),
            Ok(xpf(i64::MIN))
        );
    }

    #[test]
    fn error_messages_are_french() {
        assert_eq!(
            MoneyError::CurrencyMismatch.to_string(),
            "Opération impossible entre deux devises différentes"
        );
        assert_eq!(
            MoneyError::Overflow.to_string(),
            "Montant hors limites (dépassement de capacité)"
        );
        assert_eq!(
            MoneyError::Invalid("Montant vide".into()).to_string(),
            "Montant vide"
        );
    }

    #[test]
    fn basis_points_format_and_parse() {
        assert_eq!(BasisPoints(8000).format_fr(), "80\u{00A0}%");
        assert_eq!(BasisPoints(1250).format_fr_plain(), "12,5 %");
        assert_eq!(BasisPoints(1234).format_fr_plain(), "12,34 %");
        assert_eq!(BasisPoints(5).format_fr_plain(), "0,05 %");
        assert_eq!(BasisPoints::FULL.format_fr_plain(), "100 %");
        assert_eq!(BasisPoints::from_percent(80), BasisPoints(8000));
        assert_eq!(BasisPoints::from_percent(u16::MAX), BasisPoints(6_553_500));
        assert_eq!(BasisPoints::checked_from_percent(80), Some(BasisPoints(8000)));
        assert_eq!(BasisPoints::checked_from_percent(42_949_672), Some(BasisPoints(4_294_967_200)));
        assert_eq!(BasisPoints::checked_from_percent(50_000_000), None);
        let ok =
            |s: &str, bp: u32| assert_eq!(BasisPoints::parse_fr(s), Ok(BasisPoints(bp)), "{s:?}");
        ok("80", 8000);
        ok("80 %", 8000);
        ok("80\u{00A0}%", 8000);
        ok("12,5 %", 1250);
        ok("12,34%", 1234);
        ok("12.34", 1234);
        ok("0", 0);
        ok("100", 10_000);
        ok("100,00 %", 10_000);
        ok("0100", 10_000);
        for bad in [
            "", "%", "100,01", "101", "1000", "-5", "12,345", "abc", "12,", ",5", "5 5", "12 %%",
            "1e2",
        ] {
            assert!(
                BasisPoints::parse_fr(bad).is_err(),
                "{bad:?} should be invalid"
            );
        }
        for bp in 0..=10_000 {
            let b = BasisPoints(bp);
            assert_eq!(BasisPoints::parse_fr(&b.format_fr()), Ok(b));
        }
    }

    #[test]
    fn rounding_modes() {
        use Rounding::*;
        let cases: [(i128, [i128; 4]); 8] = [
            // n/10:   HalfUp, HalfEven, TowardZero, AwayFromZero
            (25, [3, 2, 2, 3]),
            (35, [4, 4, 3, 4]),
            (24, [2, 2, 2, 3]),
            (26, [3, 3, 2, 3]),
            (-25, [-3, -2, -2, -3]),
            (-35, [-4, -4, -3, -4]),
            (-26, [-3, -3, -2, -3]),
            (30, [3, 3, 3, 3]),
        ];
        for (n, expected) in cases {
            for (mode, e) in [HalfUp, HalfEven, TowardZero, AwayFromZero]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(div_round(n, 10, mode), e, "{n}/10 {mode:?}");
            }
        }
    }

    #[test]
    fn apply_rate_examples() {
        // 80 % of 12,34 € = 9,872 €.
        assert_eq!(
            apply_rate(eur(1234), BasisPoints(8000), Rounding::HalfUp),
            Ok(eur(987))
        );
        assert_eq!(
            apply_rate(eur(1234), BasisPoints(8000), Rounding::AwayFromZero),
            Ok(eur(988))
        );
        // 35 % of 0,10 € = 0,035 €.
        assert_eq!(
            apply_rate(eur(10), BasisPoints(3500), Rounding::HalfUp),
            Ok(eur(4))
        );
        assert_eq!(
            apply_rate(eur(10), BasisPoints(3500), Rounding::HalfEven),
            Ok(eur(4))
        );
        assert_eq!(
            apply_rate(eur(-10), BasisPoints(2500), Rounding::HalfEven),
            Ok(eur(-2))
        );
        assert_eq!(
            apply_rate(eur(-10), BasisPoints(2500), Rounding::HalfUp),
            Ok(eur(-3))
        );
        assert_eq!(
            apply_rate(xpf(1001), BasisPoints(5000), Rounding::TowardZero),
            Ok(xpf(500))
        );
        assert_eq!(
            apply_rate(xpf(i64::MAX), BasisPoints(u32::MAX), Rounding::HalfUp),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            apply_rate(xpf(i64::MIN), BasisPoints(10_001), Rounding::HalfUp),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            apply_rate(xpf(i64::MAX), BasisPoints::FULL, Rounding::AwayFromZero),
            Ok(xpf(i64::MAX))
        );
        assert_eq!(
            apply_rate(xpf(i64::MIN), BasisPoints::FULL, Rounding::HalfUp),
            Ok(xpf(i64::MIN))
        );
    }

    #[test]
    fn allocate_examples() {
        let minors = |v: Vec<Money>| v.into_iter().map(|m| m.minor).collect::<Vec<_>>();
        assert_eq!(
            minors(allocate(eur(100), &[1, 1, 1]).unwrap()),
            [34, 33, 33]
        );
        assert_eq!(
            minors(allocate(eur(-100), &[1, 1, 1]).unwrap()),
            [-34, -33, -33]
        );
        assert_eq!(minors(allocate(eur(5), &[1, 0, 1]).unwrap()), [3, 0, 2]);
        assert_eq!(minors(allocate(eur(10), &[3, 7]).unwrap()), [3, 7]);
        // 1/6 and 5/6 of 1: remainders 1 and 5 → the second gets the unit.
        assert_eq!(minors(allocate(xpf(1), &[1, 5]).unwrap()), [0, 1]);
        assert_eq!(minors(allocate(xpf(0), &[2, 3]).unwrap()), [0, 0]);
        assert_eq!(
            minors(allocate(xpf(i64::MIN), &[u64::MAX, u64::MAX]).unwrap()),
            [i64::MIN / 2, i64::MIN / 2]
        );
        assert!(allocate(eur(100), &[]).is_err());
        assert!(allocate(eur(100), &[0, 0]).is_err());
        assert!(
            allocate(eur(100), &[1])
                .unwrap()
                .iter()
                .all(|m| m.currency == Currency::Eur)
        );
    }

    #[test]
    fn split_by_rates_examples() {
        let minors = |v: Vec<Money>| v.into_iter().map(|m| m.minor).collect::<Vec<_>>();
        // AMO 70 %, AMC 20 %, patient 10 % of 25,01 €.
        let shares = split_by_rates(eur(2501), &[BasisPoints(7000), BasisPoints(2000)]).unwrap();
        assert_eq!(minors(shares), [1751, 500, 250]);
        assert_eq!(minors(split_by_rates(xpf(1000), &[]).unwrap()), [1000]);
        assert_eq!(
            minors(split_by_rates(xpf(1000), &[BasisPoints::FULL]).unwrap()),
            [1000, 0]
        );
        assert!(split_by_rates(eur(1000), &[BasisPoints(6000), BasisPoints(4001)]).is_err());
    }
}
