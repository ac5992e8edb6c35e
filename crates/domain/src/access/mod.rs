//! Roles, permissions and scopes.
//!
//! A user holds roles, each either establishment-wide or for one site. A use case
//! asks [`Grants::allows`] whether a permission holds at a given establishment and
//! (optionally) site; pages, the API and the CLI all go through the use cases, so
//! the check is written once.

use serde::{Deserialize, Serialize};

crate::code_enum! {
    /// A role as the French public-health billing offices name them (serde: its code).
    pub enum Role ("rôle") {
        Administrateur = "administrateur", "Administrateur";
        TechnicienFacturation = "technicien_facturation", "Technicien de facturation";
        SecretaireMedicale = "secretaire_medicale", "Secrétaire médicale";
        RegisseurTitulaire = "regisseur_titulaire", "Régisseur titulaire";
        RegisseurSuppleant = "regisseur_suppleant", "Régisseur suppléant";
        Mandataire = "mandataire", "Mandataire";
        ControleurFinancier = "controleur_financier", "Contrôleur financier";
        Comptable = "comptable", "Comptable";
        Auditeur = "auditeur", "Auditeur";
    }
}

/// A permission a use case asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    /// Manage establishments, sites and numbering series.
    ManageEstablishments,
    /// Manage users, roles and API keys.
    ManageUsers,
    /// Read the audit trail.
    ReadAudit,
    /// Read operational metrics.
    ReadMetrics,
    /// Read the establishments and sites (every role).
    ReadEstablishments,
    /// Open patient administrative files.
    ReadPatients,
    /// Create and change patient administrative files.
    WritePatients,
    /// See files whose patient asked for non-disclosure of presence.
    ReadConfidentialPatients,
    /// Open filed documents classed « confidentiel ».
    ReadConfidentialDocuments,
    /// Bill (valuation, invoices, credit notes).
    Bill,
    /// Collect money at a cash office.
    Collect,
    /// Control third-party-payer statements.
    ControlStatements,
    /// Accounting exports and journals.
    Accounting,
    /// Set the establishment's tariffs and billing rule parameters (dated versions).
    ManageTariffs,
}

impl Role {
    /// What the role may do. Read-only roles never get a write permission.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Administrateur => &[
                ManageEstablishments,
                ManageUsers,
                ReadAudit,
                ReadMetrics,
                ReadEstablishments,
                ManageTariffs,
            ],
            Role::TechnicienFacturation => {
                &[ReadEstablishments, ReadPatients, WritePatients, ReadConfidentialPatients, ReadConfidentialDocuments, Bill]
            }
            Role::SecretaireMedicale => &[ReadEstablishments, ReadPatients, WritePatients, Collect],
            Role::RegisseurTitulaire | Role::RegisseurSuppleant => {
                &[ReadEstablishments, ReadPatients, Collect]
            }
            Role::Mandataire => &[ReadEstablishments, ReadPatients, Collect],
            Role::ControleurFinancier => {
                &[ReadEstablishments, ReadPatients, ReadConfidentialPatients, ReadConfidentialDocuments, ControlStatements, Bill, ManageTariffs]
            }
            Role::Comptable => &[ReadEstablishments, Accounting],
            Role::Auditeur => &[ReadEstablishments, ReadAudit, ReadPatients, ReadConfidentialPatients, ReadConfidentialDocuments],
        }
    }

    pub fn allows(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

impl Permission {
    pub fn code(self) -> &'static str {
        match self {
            Permission::ManageEstablishments => "manage_establishments",
            Permission::ManageUsers => "manage_users",
            Permission::ReadAudit => "read_audit",
            Permission::ReadMetrics => "read_metrics",
            Permission::ReadEstablishments => "read_establishments",
            Permission::ReadPatients => "read_patients",
            Permission::WritePatients => "write_patients",
            Permission::ReadConfidentialPatients => "read_confidential_patients",
            Permission::ReadConfidentialDocuments => "read_confidential_documents",
            Permission::Bill => "bill",
            Permission::Collect => "collect",
            Permission::ControlStatements => "control_statements",
            Permission::Accounting => "accounting",
            Permission::ManageTariffs => "manage_tariffs",
        }
    }

    /// Whether this permission only makes sense establishment-wide (a site-scoped
    /// grant does not carry it).
    pub fn establishment_wide(self) -> bool {
        matches!(
            self,
            Permission::ManageEstablishments | Permission::ManageUsers | Permission::ReadMetrics | Permission::ManageTariffs
        )
    }
}

/// One role held by a user: establishment-wide (`site_id == None`) or for one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    pub establishment_id: i64,
    pub site_id: Option<i64>,
}

/// Everything a user holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants(pub Vec<Grant>);

/// Where an action happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Anywhere: only the local operator (CLI) has it.
    Global,
    /// The establishment as a whole.
    Establishment(i64),
    /// One site of an establishment.
    Site { establishment_id: i64, site_id: i64 },
}

impl Grants {
    /// Whether the permission holds at the scope.
    ///
    /// * Global scope: an establishment-wide grant in any establishment is needed
    ///   (used for lists that are then filtered per establishment).
    /// * Establishment scope: an establishment-wide grant of that establishment;
    ///   for permissions that are not establishment-wide, a site grant in that
    ///   establishment also allows it (the caller then filters by site).
    /// * Site scope: an establishment-wide grant or a grant for that very site.
    pub fn allows(&self, p: Permission, scope: Scope) -> bool {
        self.0.iter().filter(|g| g.role.allows(p)).any(|g| match scope {
            Scope::Global => g.site_id.is_none(),
            Scope::Establishment(e) => {
                g.establishment_id == e && (g.site_id.is_none() || !p.establishment_wide())
            }
            Scope::Site { establishment_id, site_id } => {
                g.establishment_id == establishment_id
                    && (g.site_id.is_none()
                        || (!p.establishment_wide() && g.site_id == Some(site_id)))
            }
        })
    }

    /// Whether the permission holds somewhere (any establishment or site).
    pub fn allows_anywhere(&self, p: Permission) -> bool {
        self.0.iter().any(|g| g.role.allows(p) && (g.site_id.is_none() || !p.establishment_wide()))
    }

    /// Establishments where the user holds any role.
    pub fn establishments(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.0.iter().map(|g| g.establishment_id).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Sites of `establishment_id` where the permission holds; `None` means every site
    /// (an establishment-wide grant).
    pub fn sites_for(&self, p: Permission, establishment_id: i64) -> Option<Vec<i64>> {
        let mut sites = Vec::new();
        for g in self.0.iter().filter(|g| g.establishment_id == establishment_id && g.role.allows(p)) {
            match g.site_id {
                None => return None,
                Some(s) => sites.push(s),
            }
        }
        sites.sort_unstable();
        sites.dedup();
        Some(sites)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(role: Role, e: i64, s: Option<i64>) -> Grant {
        Grant { role, establishment_id: e, site_id: s }
    }

    #[test]
    fn codes_round_trip() {
        for &r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_code("root"), None);
        crate::shared::codes::check::<Role>();
    }

    #[test]
    fn auditor_is_read_only() {
        for p in Role::Auditeur.permissions() {
            assert!(
                !matches!(
                    p,
                    Permission::WritePatients
                        | Permission::Bill
                        | Permission::Collect
                        | Permission::ManageUsers
                        | Permission::ManageEstablishments
                ),
                "auditeur must not hold {p:?}"
            );
        }
    }

    #[test]
    fn site_grant_is_limited_to_its_site() {
        let gs = Grants(vec![g(Role::SecretaireMedicale, 2, Some(10))]);
        let here = Scope::Site { establishment_id: 2, site_id: 10 };
        let there = Scope::Site { establishment_id: 2, site_id: 11 };
        assert!(gs.allows(Permission::ReadPatients, here));
        assert!(!gs.allows(Permission::ReadPatients, there));
        assert!(!gs.allows(Permission::ReadPatients, Scope::Site { establishment_id: 3, site_id: 10 }));
        assert_eq!(gs.sites_for(Permission::ReadPatients, 2), Some(vec![10]));
        assert_eq!(gs.sites_for(Permission::ReadPatients, 3), Some(vec![]));
    }

    #[test]
    fn establishment_grant_covers_every_site() {
        let gs = Grants(vec![g(Role::TechnicienFacturation, 1, None)]);
        assert!(gs.allows(Permission::WritePatients, Scope::Site { establishment_id: 1, site_id: 99 }));
        assert_eq!(gs.sites_for(Permission::WritePatients, 1), None);
        assert!(!gs.allows(Permission::WritePatients, Scope::Establishment(2)));
    }

    #[test]
    fn site_admin_cannot_manage_users() {
        let gs = Grants(vec![g(Role::Administrateur, 1, Some(5))]);
        assert!(!gs.allows(Permission::ManageUsers, Scope::Establishment(1)));
        assert!(!gs.allows(Permission::ManageUsers, Scope::Site { establishment_id: 1, site_id: 5 }));
        assert!(!gs.allows_anywhere(Permission::ManageUsers));
        let wide = Grants(vec![g(Role::Administrateur, 1, None)]);
        assert!(wide.allows(Permission::ManageUsers, Scope::Establishment(1)));
        assert!(wide.allows(Permission::ManageUsers, Scope::Global));
    }

    #[test]
    fn role_without_permission_is_refused() {
        let gs = Grants(vec![g(Role::Comptable, 1, None)]);
        assert!(!gs.allows(Permission::ManageUsers, Scope::Establishment(1)));
        assert!(!gs.allows(Permission::ReadAudit, Scope::Global));
    }
}
