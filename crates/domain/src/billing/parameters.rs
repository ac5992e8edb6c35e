//! Rule parameters: dated values per establishment (rates, amounts, thresholds, switches,
//! lists), each with the text it comes from.

use jiff::civil::Date;

use super::dated::Period;
use crate::care::coverage::Exemption;
use crate::care::stay::CareMode;
use crate::money::{BasisPoints, Currency, Money};
use crate::shared::codes::CodeEnum;

crate::code_enum! {
    /// A rule parameter.
    pub enum ParameterKey ("paramètre de facturation") {
        TauxTm = "taux_tm", "Taux du ticket modérateur";
        FinTmJour = "fin_tm_jour", "Jour d'hospitalisation à partir duquel le ticket modérateur n'est plus dû";
        MontantPf = "montant_pf", "Participation forfaitaire sur les actes coûteux";
        SeuilPfMontant = "seuil_pf_montant", "Seuil de la participation forfaitaire : tarif de l'acte";
        SeuilPfCoefficient = "seuil_pf_coefficient", "Seuil de la participation forfaitaire : coefficient de l'acte";
        ModesFj = "modes_fj", "Modes de prise en charge soumis au forfait journalier";
        SortieDecesFacturee = "sortie_deces_facturee", "Jour de sortie facturé en cas de décès";
        SortieTransfertFacturee = "sortie_transfert_facturee", "Jour de sortie facturé en cas de transfert";
        FjMoins24h = "fj_moins_24h", "Forfait journalier dû pour une hospitalisation complète de moins de 24 heures présente à minuit";
        ImputationFjTm = "imputation_fj_tm", "Forfait journalier imputé sur le ticket modérateur";
        PartCarteA = "part_carte_a", "Aide médicale, carte A : part du patient";
        PartCarteB = "part_carte_b", "Aide médicale, carte B : part du patient";
        PartCarteM = "part_carte_m", "Aide médicale, carte M : part du patient";
        Exoneration = "exoneration", "Ce qu'une exonération exonère";
    }
}

crate::code_enum! {
    /// What an exemption exempts the patient from.
    pub enum Effect ("effet d'exonération") {
        Fj = "fj", "forfait journalier";
        Tm = "tm", "ticket modérateur";
        Pf = "pf", "participation forfaitaire";
    }
}

/// The kind of value a parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Amount,
    Rate,
    Count,
    Flag,
    CareModes,
    Effects,
}

impl ParameterKey {
    pub const fn kind(self) -> Kind {
        use ParameterKey::*;
        match self {
            TauxTm | PartCarteA | PartCarteB | PartCarteM => Kind::Rate,
            FinTmJour | SeuilPfCoefficient => Kind::Count,
            MontantPf | SeuilPfMontant => Kind::Amount,
            ModesFj => Kind::CareModes,
            SortieDecesFacturee | SortieTransfertFacturee | FjMoins24h | ImputationFjTm => Kind::Flag,
            Exoneration => Kind::Effects,
        }
    }

    /// Only `exoneration` is set per subject (an exemption); the others have none.
    pub const fn has_subject(self) -> bool {
        matches!(self, ParameterKey::Exoneration)
    }

    /// How the value is typed in a form or a CSV file.
    pub const fn hint(self) -> &'static str {
        match self.kind() {
            Kind::Amount => "un montant, ex. 24,00",
            Kind::Rate => "un taux, ex. 20 %",
            Kind::Count => "un nombre entier, ex. 31",
            Kind::Flag => "oui ou non",
            Kind::CareModes => "des codes de mode de prise en charge séparés par des virgules, ex. hospitalisation_complete",
            Kind::Effects => "fj, tm et/ou pf séparés par des virgules, ou rien",
        }
    }
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Amount(Money),
    Rate(BasisPoints),
    Count(i64),
    Flag(bool),
    CareModes(Vec<CareMode>),
    Effects(Vec<Effect>),
}

fn codes<T: CodeEnum>(v: &[T]) -> String {
    v.iter().map(|c| c.code()).collect::<Vec<_>>().join(",")
}

fn parse_codes<T: CodeEnum + Ord>(s: &str) -> Result<Vec<T>, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match T::from_code(part) {
            Some(c) => v.push(c),
            None => return Err(format!("Code inconnu : « {part} » ({}).", T::WHAT)),
        }
    }
    v.sort();
    v.dedup();
    Ok(v)
}

impl Value {
    /// As stored: minor units, basis points, integers, `true`/`false`, sorted codes.
    pub fn to_storage(&self) -> String {
        match self {
            Value::Amount(m) => m.minor.to_string(),
            Value::Rate(r) => r.0.to_string(),
            Value::Count(n) => n.to_string(),
            Value::Flag(b) => b.to_string(),
            Value::CareModes(v) => codes(v),
            Value::Effects(v) => codes(v),
        }
    }

    /// Reads a stored value of `kind` (an amount in `currency`).
    pub fn from_storage(kind: Kind, s: &str, currency: Currency) -> Result<Value, String> {
        let bad = || format!("valeur de paramètre illisible : « {s} »");
        Ok(match kind {
            Kind::Amount => Value::Amount(Money::new(s.parse().map_err(|_| bad())?, currency)),
            Kind::Rate => {
                let bp: u32 = s.parse().map_err(|_| bad())?;
                if bp > 10_000 {
                    return Err(bad());
                }
                Value::Rate(BasisPoints(bp))
            }
            Kind::Count => Value::Count(s.parse().map_err(|_| bad())?),
            Kind::Flag => match s {
                "true" => Value::Flag(true),
                "false" => Value::Flag(false),
                _ => return Err(bad()),
            },
            Kind::CareModes => Value::CareModes(parse_codes(s)?),
            Kind::Effects => Value::Effects(parse_codes(s)?),
        })
    }

    /// Parses a value of `kind` as a person types it (French formats).
    pub fn parse_fr(kind: Kind, s: &str, currency: Currency) -> Result<Value, String> {
        let t = s.trim();
        Ok(match kind {
            Kind::Amount => {
                let m = Money::parse_fr(t, currency).map_err(|e| e.to_string())?;
                if m.is_negative() {
                    return Err("Le montant ne peut pas être négatif.".into());
                }
                Value::Amount(m)
            }
            Kind::Rate => Value::Rate(BasisPoints::parse_fr(t).map_err(|e| e.to_string())?),
            Kind::Count => match t.parse::<i64>() {
                Ok(n) if (0..=100_000).contains(&n) => Value::Count(n),
                _ => return Err(format!("Nombre entier attendu (0 à 100 000) : « {t} ».")),
            },
            Kind::Flag => match t.to_lowercase().as_str() {
                "oui" | "o" | "vrai" | "true" | "1" => Value::Flag(true),
                "non" | "n" | "faux" | "false" | "0" => Value::Flag(false),
                _ => return Err(format!("Répondez oui ou non : « {t} ».")),
            },
            Kind::CareModes => Value::CareModes(parse_codes(t)?),
            Kind::Effects => Value::Effects(parse_codes(t)?),
        })
    }

    /// For people: `20 %`, `24,00 €`, `oui`, `forfait journalier, ticket modérateur`.
    pub fn format_fr(&self) -> String {
        match self {
            Value::Amount(m) => m.format_fr(),
            Value::Rate(r) => r.format_fr(),
            Value::Count(n) => n.to_string(),
            Value::Flag(true) => "oui".into(),
            Value::Flag(false) => "non".into(),
            Value::CareModes(v) => v.iter().map(|c| c.label()).collect::<Vec<_>>().join(", "),
            Value::Effects(v) if v.is_empty() => "rien".into(),
            Value::Effects(v) => v.iter().map(|c| c.label()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// One dated parameter row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub id: i64,
    pub key: ParameterKey,
    /// The exemption an `exoneration` row is about.
    pub subject: Option<Exemption>,
    pub value: Value,
    pub period: Period,
    /// The text the value comes from, and `[non vérifié]` where it is a reading to confirm.
    pub source: String,
}

/// A parameter that has no row valid on a day (the establishment's set is incomplete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub key: ParameterKey,
    pub subject: Option<Exemption>,
    pub day: Date,
}

impl Missing {
    pub fn message_fr(&self) -> String {
        let about = self.subject.map(|s| format!(" ({})", s.label())).unwrap_or_default();
        format!("Paramètre de facturation absent le {} : « {} »{about}.", crate::fr::format_date_fr(self.day), self.key.label())
    }
}

/// The parameter rows of an establishment, looked up by key and day.
#[derive(Debug, Clone, Copy)]
pub struct ParameterSet<'a>(pub &'a [Parameter]);

impl<'a> ParameterSet<'a> {
    /// The row of `key` (for `subject`) valid on `day`.
    pub fn on(&self, key: ParameterKey, subject: Option<Exemption>, day: Date) -> Result<&'a Parameter, Missing> {
        self.0
            .iter()
            .filter(|p| p.key == key && p.subject == subject && p.period.contains(day))
            .max_by_key(|p| p.period.from)
            .ok_or(Missing { key, subject, day })
    }

    pub fn rate(&self, key: ParameterKey, day: Date) -> Result<BasisPoints, Missing> {
        match &self.on(key, None, day)?.value {
            Value::Rate(r) => Ok(*r),
            _ => Err(Missing { key, subject: None, day }),
        }
    }

    pub fn amount(&self, key: ParameterKey, day: Date) -> Result<Money, Missing> {
        match &self.on(key, None, day)?.value {
            Value::Amount(m) => Ok(*m),
            _ => Err(Missing { key, subject: None, day }),
        }
    }

    pub fn count(&self, key: ParameterKey, day: Date) -> Result<i64, Missing> {
        match &self.on(key, None, day)?.value {
            Value::Count(n) => Ok(*n),
            _ => Err(Missing { key, subject: None, day }),
        }
    }

    pub fn flag(&self, key: ParameterKey, day: Date) -> Result<bool, Missing> {
        match &self.on(key, None, day)?.value {
            Value::Flag(b) => Ok(*b),
            _ => Err(Missing { key, subject: None, day }),
        }
    }

    /// The care modes that bear the forfait journalier on `day`.
    pub fn fj_modes(&self, day: Date) -> Result<&'a [CareMode], Missing> {
        match &self.on(ParameterKey::ModesFj, None, day)?.value {
            Value::CareModes(v) => Ok(v),
            _ => Err(Missing { key: ParameterKey::ModesFj, subject: None, day }),
        }
    }

    /// What `exemption` exempts from on `day` (nothing when the set does not say).
    pub fn effects(&self, exemption: Exemption, day: Date) -> &'a [Effect] {
        match self.on(ParameterKey::Exoneration, Some(exemption), day).map(|p| &p.value) {
            Ok(Value::Effects(v)) => v,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn row(id: i64, key: ParameterKey, subject: Option<Exemption>, value: Value, from: Date, to: Option<Date>) -> Parameter {
        Parameter { id, key, subject, value, period: Period { from, to }, source: "test".into() }
    }

    #[test]
    fn the_row_valid_on_the_day_answers() {
        let eur = Currency::Eur;
        let rows = [
            row(1, ParameterKey::MontantPf, None, Value::Amount(Money::new(1800, eur)), date(2011, 1, 1), Some(date(2018, 12, 31))),
            row(2, ParameterKey::MontantPf, None, Value::Amount(Money::new(2400, eur)), date(2019, 1, 1), None),
            row(3, ParameterKey::Exoneration, Some(Exemption::AtMp), Value::Effects(vec![Effect::Fj, Effect::Tm]), date(2000, 1, 1), None),
            row(4, ParameterKey::Exoneration, Some(Exemption::Ald), Value::Effects(vec![Effect::Tm]), date(2000, 1, 1), None),
        ];
        let s = ParameterSet(&rows);
        assert_eq!(s.amount(ParameterKey::MontantPf, date(2018, 12, 31)), Ok(Money::new(1800, eur)));
        assert_eq!(s.amount(ParameterKey::MontantPf, date(2026, 3, 1)), Ok(Money::new(2400, eur)));
        let missing = s.rate(ParameterKey::TauxTm, date(2026, 3, 1)).unwrap_err();
        assert_eq!(missing.message_fr(), "Paramètre de facturation absent le 01/03/2026 : « Taux du ticket modérateur ».");
        assert_eq!(s.effects(Exemption::AtMp, date(2026, 1, 1)), &[Effect::Fj, Effect::Tm]);
        assert_eq!(s.effects(Exemption::Ald, date(2026, 1, 1)), &[Effect::Tm], "ALD: the FJ stays due");
        assert!(s.effects(Exemption::C2s, date(2026, 1, 1)).is_empty());
    }

    #[test]
    fn values_round_trip_through_storage_and_read_french() {
        let eur = Currency::Eur;
        for (k, typed) in [
            (ParameterKey::TauxTm, "20 %"),
            (ParameterKey::MontantPf, "24,00"),
            (ParameterKey::FinTmJour, "31"),
            (ParameterKey::FjMoins24h, "non"),
            (ParameterKey::ModesFj, "hospitalisation_complete"),
            (ParameterKey::Exoneration, "tm, fj"),
            (ParameterKey::Exoneration, ""),
        ] {
            let v = Value::parse_fr(k.kind(), typed, eur).unwrap();
            assert_eq!(Value::from_storage(k.kind(), &v.to_storage(), eur), Ok(v.clone()), "{typed}");
        }
        assert_eq!(Value::parse_fr(Kind::Effects, "tm, fj", eur).unwrap().format_fr(), "forfait journalier, ticket modérateur");
        assert!(Value::parse_fr(Kind::Amount, "-3", eur).is_err());
        assert!(Value::parse_fr(Kind::Flag, "peut-être", eur).is_err());
        assert!(Value::parse_fr(Kind::Effects, "tm,xx", eur).is_err());
        assert!(Value::from_storage(Kind::Rate, "10001", eur).is_err());
        assert!(Value::parse_fr(Kind::Count, "99999999999", eur).is_err());
    }

    #[test]
    fn codes() {
        crate::shared::codes::check::<ParameterKey>();
        crate::shared::codes::check::<Effect>();
    }
}
