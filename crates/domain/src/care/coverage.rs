//! Payers and coverage rights: kinds, roles, categories of charge, exemptions, and
//! the checks on a patient's coverage periods (overlaps, gaps, expiries).

use jiff::civil::Date;

pub use crate::shared::codes::{CodeEnum, Codes};

crate::code_enum! {
    /// The kind of a payer.
    pub enum PayerKind ("type d'organisme") {
        Obligatoire = "obligatoire", "Assurance obligatoire (CPAM, MSA, CAFAT…)";
        Complementaire = "complementaire", "Complémentaire (mutuelle, assureur)";
        AideMedicale = "aide_medicale", "Aide médicale (AME, C2S, aide médicale provinciale)";
        Public = "public", "Organisme public (province, centre 15)";
        Autre = "autre", "Autre (employeur, ambassade…)";
    }
}

crate::code_enum! {
    /// The rank of a coverage (« Rang »).
    pub enum CoverageRole ("rang de droit") {
        Obligatoire = "obligatoire", "Obligatoire";
        Complementaire = "complementaire", "Complémentaire";
        Aide = "aide", "Aide";
    }
}

crate::code_enum! {
    /// A category of charge a payer rate applies to.
    pub enum Category ("catégorie de prestation") {
        Sejour = "sejour", "Séjour";
        Actes = "actes", "Actes";
        ForfaitJournalier = "forfait_journalier", "Forfait journalier";
        ChambreParticuliere = "chambre_particuliere", "Chambre particulière";
        PrestationsAnnexes = "prestations_annexes", "Prestations annexes";
    }
}

crate::code_enum! {
    /// A ground for exemption from the patient's share.
    pub enum Exemption ("exonération") {
        Ald = "ald", "Affection de longue durée (ALD)";
        Maternite = "maternite", "Maternité";
        AtMp = "at_mp", "Accident du travail / maladie professionnelle";
        C2s = "c2s", "Complémentaire santé solidaire (C2S)";
        Ame = "ame", "Aide médicale de l'État (AME)";
        LongueMaladie = "longue_maladie", "Longue maladie (CAFAT)";
        CarteA = "carte_a", "Aide médicale — carte A";
        CarteB = "carte_b", "Aide médicale — carte B";
        CarteM = "carte_m", "Aide médicale — carte M (maternité)";
        PensionMilitaire = "pension_militaire", "Pension militaire d'invalidité";
        NouveauNe = "nouveau_ne", "Nouveau-né de moins de 30 jours";
    }
}

crate::code_enum! {
    /// Whether the patient is the insured person or a dependant (« Qualité »).
    pub enum Beneficiary ("qualité du bénéficiaire") {
        Assure = "assure", "Assuré";
        AyantDroit = "ayant_droit", "Ayant droit";
    }
}

crate::code_enum! {
    /// How often a payer receives third-party-payer statements.
    pub enum StatementPeriod ("périodicité des états") {
        Aucun = "aucun", "Pas d'état périodique";
        Hebdomadaire = "hebdomadaire", "Hebdomadaire";
        Mensuel = "mensuel", "Mensuel";
        Trimestriel = "trimestriel", "Trimestriel";
    }
}

crate::code_enum! {
    /// How invoices and statements reach a payer.
    pub enum Channel ("canal de transmission") {
        Papier = "papier", "Papier";
        Courriel = "courriel", "Courriel";
        Portail = "portail", "Portail de l'organisme";
        B2Noemie = "b2_noemie", "B2 / NOEMIE";
        Edi = "edi", "Échange de données informatisé";
    }
}

pub const PAYER_KINDS: Codes = PayerKind::TABLE;
pub const ROLES: Codes = CoverageRole::TABLE;
pub const CATEGORIES: Codes = Category::TABLE;
pub const EXEMPTIONS: Codes = Exemption::TABLE;
pub const BENEFICIARY: Codes = Beneficiary::TABLE;
pub const STATEMENT_PERIODS: Codes = StatementPeriod::TABLE;
pub const CHANNELS: Codes = Channel::TABLE;

/// The label of a code in a table (prefer the enums' `label`).
pub fn label(codes: Codes, code: &str) -> Option<&'static str> {
    codes.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// Whether a code is in a table (prefer the enums' `from_code`).
pub fn is_code(codes: Codes, code: &str) -> bool {
    codes.iter().any(|(c, _)| *c == code)
}

impl PayerKind {
    /// Which coverage roles a payer of this kind may hold.
    pub fn allows_role(self, role: CoverageRole) -> bool {
        use CoverageRole as R;
        matches!(
            (self, role),
            (PayerKind::Obligatoire, R::Obligatoire)
                | (PayerKind::Complementaire, R::Complementaire)
                | (PayerKind::AideMedicale, R::Aide)
                | (PayerKind::AideMedicale, R::Complementaire)
                | (PayerKind::Public, R::Aide)
                | (PayerKind::Autre, R::Complementaire)
                | (PayerKind::Autre, R::Aide)
        )
    }
}

/// Which coverage roles a payer of a kind may hold (codes; unknown codes are never allowed).
pub fn role_allowed(payer_kind: &str, role: &str) -> bool {
    match (PayerKind::from_code(payer_kind), CoverageRole::from_code(role)) {
        (Some(k), Some(r)) => k.allows_role(r),
        _ => false,
    }
}

/// One coverage period as the checks see it (`to` inclusive, `None` = open-ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub id: i64,
    pub role: CoverageRole,
    pub from: Date,
    pub to: Option<Date>,
}

impl Span {
    pub fn covers(&self, d: Date) -> bool {
        self.from <= d && self.to.is_none_or(|t| d <= t)
    }
    fn overlaps(&self, o: &Span) -> bool {
        self.from <= o.to.unwrap_or(Date::MAX) && o.from <= self.to.unwrap_or(Date::MAX)
    }
}

/// Something the billing office should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// Two periods of the same role overlap.
    Overlap { a: i64, b: i64 },
    /// No compulsory coverage between two periods (`from`..=`to`).
    Gap { from: Date, to: Date },
    /// The period ended before today.
    Expired { id: i64, on: Date },
    /// The period ends within the warning horizon.
    ExpiresSoon { id: i64, on: Date },
}

impl Flag {
    pub fn message_fr(&self) -> String {
        let f = crate::fr::format_date_fr;
        match self {
            Flag::Overlap { .. } => "Deux droits de même rang se chevauchent.".into(),
            Flag::Gap { from, to } => format!("Aucun droit obligatoire du {} au {}.", f(*from), f(*to)),
            Flag::Expired { on, .. } => format!("Droit expiré le {}.", f(*on)),
            Flag::ExpiresSoon { on, .. } => format!("Droit expirant le {}.", f(*on)),
        }
    }
}

/// Overlaps (same role), gaps between compulsory periods, expired periods and periods
/// expiring within `horizon_days` of `today` (any `i32`: a horizon past the calendar's end
/// flags every later expiry, a negative one none). Deterministic order; never panics.
pub fn flags(spans: &[Span], today: Date, horizon_days: i32) -> Vec<Flag> {
    let mut out = Vec::new();
    let mut sorted: Vec<&Span> = spans.iter().collect();
    sorted.sort_by_key(|s| (s.from, s.id));
    for (i, a) in sorted.iter().enumerate() {
        for b in &sorted[i + 1..] {
            if a.role == b.role && a.overlaps(b) {
                out.push(Flag::Overlap { a: a.id, b: b.id });
            }
        }
    }
    // Gaps: walk the compulsory periods in order, tracking the furthest covered day.
    let mut covered_to: Option<Date> = None;
    let mut open_ended = false;
    for s in sorted.iter().filter(|s| s.role == CoverageRole::Obligatoire) {
        if let Some(end) = covered_to
            && !open_ended
                && let Ok(next) = end.tomorrow()
                    && s.from > next
                        && let Ok(before) = s.from.yesterday() {
                            out.push(Flag::Gap { from: next, to: before });
                        }
        match s.to {
            None => open_ended = true,
            Some(t) => covered_to = Some(covered_to.map_or(t, |c| c.max(t))),
        }
    }
    for s in &sorted {
        if let Some(t) = s.to {
            if t < today {
                out.push(Flag::Expired { id: s.id, on: t });
            } else if crate::dates::days_between(today, t) <= i64::from(horizon_days) {
                out.push(Flag::ExpiresSoon { id: s.id, on: t });
            }
        }
    }
    out
}

/// Whether some period of `role` covers every day of `from..=to` (`true` when `to < from`
/// and `from` is covered). Jumps from period end to period end: at most one step per period,
/// whatever the length of the range.
pub fn covered_throughout(spans: &[Span], role: CoverageRole, from: Date, to: Date) -> bool {
    let mut day = from;
    loop {
        // The furthest end among the periods covering `day`.
        let Some(end) = spans.iter().filter(|s| s.role == role && s.covers(day)).map(|s| s.to.unwrap_or(Date::MAX)).max() else {
            return false;
        };
        if end >= to {
            return true;
        }
        match end.tomorrow() {
            Ok(d) => day = d,
            Err(_) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn s(id: i64, role: &str, from: Date, to: Option<Date>) -> Span {
        Span { id, role: CoverageRole::from_code(role).expect("a role"), from, to }
    }

    #[test]
    fn overlap_only_within_a_role() {
        let v = [
            s(1, "obligatoire", date(2026, 1, 1), Some(date(2026, 6, 30))),
            s(2, "obligatoire", date(2026, 6, 30), None),
            s(3, "complementaire", date(2026, 1, 1), None),
        ];
        let f = flags(&v, date(2026, 3, 1), 30);
        assert_eq!(f, vec![Flag::Overlap { a: 1, b: 2 }]);
    }

    #[test]
    fn gap_between_compulsory_periods() {
        let v = [
            s(1, "obligatoire", date(2026, 1, 1), Some(date(2026, 3, 31))),
            s(2, "obligatoire", date(2026, 4, 10), None),
        ];
        let f = flags(&v, date(2026, 5, 1), 30);
        assert!(f.contains(&Flag::Gap { from: date(2026, 4, 1), to: date(2026, 4, 9) }), "{f:?}");
        assert!(f.contains(&Flag::Expired { id: 1, on: date(2026, 3, 31) }));
        assert!(!covered_throughout(&v, CoverageRole::Obligatoire, date(2026, 3, 30), date(2026, 4, 12)));
        assert!(covered_throughout(&v, CoverageRole::Obligatoire, date(2026, 4, 10), date(2026, 12, 31)));
    }

    #[test]
    fn adjacent_periods_have_no_gap_and_expiry_warns() {
        let v = [
            s(1, "obligatoire", date(2026, 1, 1), Some(date(2026, 3, 31))),
            s(2, "obligatoire", date(2026, 4, 1), Some(date(2026, 12, 10))),
        ];
        let f = flags(&v, date(2026, 11, 22), 30);
        assert!(!f.iter().any(|x| matches!(x, Flag::Gap { .. })), "{f:?}");
        assert!(f.contains(&Flag::ExpiresSoon { id: 2, on: date(2026, 12, 10) }));
        assert!(covered_throughout(&v, CoverageRole::Obligatoire, date(2026, 3, 30), date(2026, 4, 2)));
    }

    #[test]
    fn code_lists() {
        use crate::shared::codes::check;
        check::<PayerKind>();
        check::<CoverageRole>();
        check::<Category>();
        check::<Exemption>();
        check::<Beneficiary>();
        check::<StatementPeriod>();
        check::<Channel>();
        assert_eq!(PAYER_KINDS[2], ("aide_medicale", "Aide médicale (AME, C2S, aide médicale provinciale)"));
        assert_eq!(label(CHANNELS, "b2_noemie"), Some("B2 / NOEMIE"));
        assert!(!is_code(EXEMPTIONS, "ALD"));
        assert_eq!(serde_json::to_string(&Exemption::AtMp).unwrap(), "\"at_mp\"");
    }

    #[test]
    fn roles_by_payer_kind() {
        assert!(!role_allowed("inconnu", "aide"));
        assert!(!role_allowed("public", "obligatoire"));
        let allowed: usize = PayerKind::ALL.iter().map(|k| CoverageRole::ALL.iter().filter(|r| k.allows_role(**r)).count()).sum();
        assert_eq!(allowed, 7);
        assert!(role_allowed("obligatoire", "obligatoire"));
        assert!(!role_allowed("complementaire", "obligatoire"));
        assert!(role_allowed("aide_medicale", "aide"));
        assert!(!role_allowed("obligatoire", "complementaire"));
    }
}
