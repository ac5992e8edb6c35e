//! Establishments and their sites: the kinds each may be, and the parsing of what people type
//! for establishments, sites and numbering series (`input`).

pub mod input;

use crate::shared::codes::Codes;

crate::code_enum! {
    /// The kind of an establishment.
    pub enum EstablishmentKind ("type d'établissement") {
        Hopital = "hopital", "Établissement de santé";
        DirectionSante = "direction_sante", "Direction de la santé (CMS)";
    }
}

crate::code_enum! {
    /// The kind of a site of an establishment.
    pub enum SiteKind ("type de site") {
        Service = "service", "Service hospitalier";
        Cms = "cms", "Centre médico-social";
        Administration = "administration", "Administration";
    }
}

/// Establishment kinds as a `(code, label)` table.
pub const KINDS: Codes = EstablishmentKind::TABLE;
/// Site kinds as a `(code, label)` table.
pub const SITE_KINDS: Codes = SiteKind::TABLE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lists() {
        crate::shared::codes::check::<EstablishmentKind>();
        crate::shared::codes::check::<SiteKind>();
        assert_eq!(KINDS, &[("hopital", "Établissement de santé"), ("direction_sante", "Direction de la santé (CMS)")]);
        assert_eq!(SiteKind::from_code("cms"), Some(SiteKind::Cms));
    }
}
