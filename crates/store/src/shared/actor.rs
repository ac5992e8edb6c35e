//! Who acts: a logged-in user, an API key's owner, or the local operator (CLI).

use quittance_domain::access::{Grants, Permission, Scope};

use crate::audit::AuditEvent;
use crate::db::Db;
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: String,
    pub grants: Grants,
    /// The local operator of the command line: has direct access to the database
    /// anyway, so holds every permission; still audited.
    pub system: bool,
    pub request_id: Option<String>,
    /// Current establishment and site chosen in the UI (for the audit trail).
    pub establishment_id: Option<i64>,
    pub site_id: Option<i64>,
}

impl Actor {
    pub fn system(name: &str) -> Actor {
        Actor {
            user_id: None,
            username: format!("cli:{name}"),
            grants: Grants::default(),
            system: true,
            request_id: None,
            establishment_id: None,
            site_id: None,
        }
    }

    pub fn allows(&self, p: Permission, scope: Scope) -> bool {
        self.system || self.grants.allows(p, scope)
    }

    pub fn allows_anywhere(&self, p: Permission) -> bool {
        self.system || self.grants.allows_anywhere(p)
    }

    /// Checks a permission; a refusal is written to the audit trail in its own
    /// transaction (the refused work never starts) and returns `Forbidden`.
    pub async fn require(
        &self,
        db: &Db,
        p: Permission,
        scope: Scope,
        entity: &str,
        action: &str,
    ) -> Result<(), Error> {
        if self.allows(p, scope) {
            return Ok(());
        }
        Err(self.deny(db, p, scope, entity, action).await)
    }

    pub async fn require_anywhere(&self, db: &Db, p: Permission, entity: &str, action: &str) -> Result<(), Error> {
        if self.allows_anywhere(p) {
            return Ok(());
        }
        Err(self.deny(db, p, Scope::Global, entity, action).await)
    }

    /// Records a refusal in its own transaction and returns `Forbidden` (or the
    /// database error if even that failed).
    pub async fn deny(&self, db: &Db, p: Permission, scope: Scope, entity: &str, action: &str) -> Error {
        match self.write_refusal(db, p, scope, entity, action).await {
            Ok(()) => Error::Forbidden,
            Err(e) => e,
        }
    }

    async fn write_refusal(&self, db: &Db, p: Permission, scope: Scope, entity: &str, action: &str) -> Result<(), Error> {
        let (est, site) = match scope {
            Scope::Global => (self.establishment_id, self.site_id),
            Scope::Establishment(e) => (Some(e), None),
            Scope::Site { establishment_id, site_id } => (Some(establishment_id), Some(site_id)),
        };
        let mut tx = db.begin().await?;
        tx.audit(
            self,
            AuditEvent::new(entity, action)
                .outcome("refused")
                .at(est, site)
                .changes(serde_json::json!({ "permission": p.code() })),
        );
        tx.commit().await
    }
}
