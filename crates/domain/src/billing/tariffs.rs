//! Tariffs: dated prices per establishment, optionally for one site and/or one service
//! (or discipline), by code.

use jiff::civil::Date;

use super::dated::Period;
use crate::care::coverage::Category;
use crate::money::Money;

crate::code_enum! {
    /// What a tariff prices.
    pub enum TariffCategory ("catégorie de tarif") {
        ForfaitJournalier = "forfait_journalier", "Forfait journalier";
        ForfaitJournalierPsy = "forfait_journalier_psy", "Forfait journalier (psychiatrie)";
        ChambreParticuliere = "chambre_particuliere", "Chambre particulière";
        Tjp = "tjp", "Tarif journalier de prestations (TJP)";
        Television = "television", "Télévision";
        TelephoneActivation = "telephone_activation", "Téléphone : mise en service";
        TelephoneUnite = "telephone_unite", "Téléphone : unité de communication";
        ActeCms = "acte_cms", "Acte de centre médico-social";
        ForfaitNc = "forfait_nc", "Forfait (Nouvelle-Calédonie)";
    }
}

crate::code_enum! {
    /// What a tariff's price is for.
    pub enum Unit ("unité de tarif") {
        Jour = "jour", "par jour";
        Acte = "acte", "par acte";
        Unite = "unite", "par unité";
        Forfait = "forfait", "forfait";
    }
}

impl TariffCategory {
    /// The category of charge payers' rates and agreements speak of.
    pub const fn charge_category(self) -> Category {
        match self {
            TariffCategory::ForfaitJournalier | TariffCategory::ForfaitJournalierPsy | TariffCategory::ForfaitNc => Category::ForfaitJournalier,
            TariffCategory::ChambreParticuliere => Category::ChambreParticuliere,
            TariffCategory::Tjp => Category::Sejour,
            TariffCategory::Television | TariffCategory::TelephoneActivation | TariffCategory::TelephoneUnite => Category::PrestationsAnnexes,
            TariffCategory::ActeCms => Category::Actes,
        }
    }

    /// The unit a tariff of this category is usually priced in.
    pub const fn default_unit(self) -> Unit {
        match self {
            TariffCategory::TelephoneActivation => Unit::Forfait,
            TariffCategory::TelephoneUnite => Unit::Unite,
            TariffCategory::ActeCms => Unit::Acte,
            _ => Unit::Jour,
        }
    }
}

/// A coefficient in hundredths (`150` = 1,5), as NGAP-style nomenclatures write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coefficient(pub u32);

impl Coefficient {
    /// Largest accepted coefficient (9 999,99).
    pub const MAX: Coefficient = Coefficient(999_999);

    /// Parses `2`, `1,5`, `0.25` (two decimals at most, greater than zero).
    pub fn parse_fr(s: &str) -> Result<Coefficient, String> {
        let t = s.trim();
        let bad = || format!("Coefficient invalide : « {t} » (ex. 1 ou 1,5).");
        let (int, frac) = match t.split_once([',', '.']) {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        if int.is_empty() || int.len() > 4 || frac.len() > 2 || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let i: u32 = int.parse().map_err(|_| bad())?;
        let f: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| bad())? };
        let c = Coefficient(i * 100 + f);
        if c.0 == 0 {
            return Err("Le coefficient doit être supérieur à zéro.".into());
        }
        Ok(c)
    }

    /// `1,5`, `2`, `0,25`.
    pub fn format_fr(self) -> String {
        let (i, f) = (self.0 / 100, self.0 % 100);
        match f {
            0 => i.to_string(),
            f if f % 10 == 0 => format!("{i},{}", f / 10),
            f => format!("{i},{f:02}"),
        }
    }
}

/// One dated tariff line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffLine {
    pub id: i64,
    pub code: String,
    pub label: String,
    pub category: TariffCategory,
    pub unit: Unit,
    pub price: Money,
    /// For nomenclature acts: the act's coefficient when none is given.
    pub coefficient: Option<Coefficient>,
    /// `None`: every site of the establishment.
    pub site_id: Option<i64>,
    /// Empty: every service (or discipline).
    pub service: String,
    pub period: Period,
    /// The text the price comes from (arrêté, délibération, paragraph).
    pub source: String,
}

impl TariffLine {
    /// How specific the line is for a site and a service, or `None` when it does not apply
    /// to them: site and service (3), site (2), service (1), the whole establishment (0).
    pub fn specificity(&self, site_id: Option<i64>, service: &str) -> Option<u8> {
        let site = match self.site_id {
            None => false,
            Some(s) if Some(s) == site_id => true,
            Some(_) => return None,
        };
        let serv = match self.service.as_str() {
            "" => false,
            s if s == service => true,
            _ => return None,
        };
        Some(u8::from(site) * 2 + u8::from(serv))
    }
}

/// The line that prices `code` on `day` for a site and a service: the most specific one valid
/// that day. Periods of one scope never overlap (see [`super::plan_version`]), so the answer
/// is unique; among equally specific lines of different scopes (impossible by construction)
/// the latest start wins.
pub fn find<'a>(lines: &'a [TariffLine], code: &str, site_id: Option<i64>, service: &str, day: Date) -> Option<&'a TariffLine> {
    lines
        .iter()
        .filter(|l| l.code == code && l.period.contains(day))
        .filter_map(|l| l.specificity(site_id, service).map(|s| (s, l)))
        .max_by_key(|(s, l)| (*s, l.period.from))
        .map(|(_, l)| l)
}

/// The scope a line's versions share: code, site, service.
pub fn same_scope(a: &TariffLine, code: &str, site_id: Option<i64>, service: &str) -> bool {
    a.code == code && a.site_id == site_id && a.service == service
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use jiff::civil::date;

    fn line(id: i64, code: &str, site: Option<i64>, service: &str, euros: i64, from: Date, to: Option<Date>) -> TariffLine {
        TariffLine {
            id,
            code: code.into(),
            label: code.into(),
            category: TariffCategory::ChambreParticuliere,
            unit: Unit::Jour,
            price: Money::new(euros * 100, Currency::Eur),
            coefficient: None,
            site_id: site,
            service: service.into(),
            period: Period { from, to },
            source: String::new(),
        }
    }

    #[test]
    fn the_most_specific_line_valid_on_the_day_prices_it() {
        let l = [
            line(1, "CP", None, "", 40, date(2026, 1, 1), None),
            line(2, "CP", Some(3), "", 45, date(2026, 1, 1), None),
            line(3, "CP", Some(3), "MATER", 60, date(2026, 1, 1), Some(date(2026, 6, 30))),
            line(4, "CP", None, "CHIR", 50, date(2026, 1, 1), None),
        ];
        let d = date(2026, 3, 1);
        assert_eq!(find(&l, "CP", Some(3), "MATER", d).map(|l| l.id), Some(3));
        assert_eq!(find(&l, "CP", Some(3), "MATER", date(2026, 7, 1)).map(|l| l.id), Some(2));
        assert_eq!(find(&l, "CP", Some(3), "CHIR", d).map(|l| l.id), Some(2));
        assert_eq!(find(&l, "CP", Some(9), "CHIR", d).map(|l| l.id), Some(4));
        assert_eq!(find(&l, "CP", Some(9), "", d).map(|l| l.id), Some(1));
        assert_eq!(find(&l, "CP", None, "", date(2025, 12, 31)), None);
        assert_eq!(find(&l, "TV", None, "", d), None);
    }

    #[test]
    fn coefficients_read_and_write_in_french() {
        assert_eq!(Coefficient::parse_fr("1,5"), Ok(Coefficient(150)));
        assert_eq!(Coefficient::parse_fr(" 2 "), Ok(Coefficient(200)));
        assert_eq!(Coefficient::parse_fr("0.25"), Ok(Coefficient(25)));
        assert_eq!(Coefficient(150).format_fr(), "1,5");
        assert_eq!(Coefficient(25).format_fr(), "0,25");
        assert_eq!(Coefficient(1200).format_fr(), "12");
        for bad in ["", "0", "1,234", "-1", "1e3", "99999", ",5", "a"] {
            assert!(Coefficient::parse_fr(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn categories() {
        crate::shared::codes::check::<TariffCategory>();
        crate::shared::codes::check::<Unit>();
        assert_eq!(TariffCategory::Tjp.charge_category(), Category::Sejour);
        assert_eq!(TariffCategory::TelephoneUnite.default_unit(), Unit::Unite);
    }
}
