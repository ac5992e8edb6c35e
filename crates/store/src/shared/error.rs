//! One error type for the use cases; the web layer maps it to pages and problem+json.

use quittance_domain::validation::FieldErrors;

#[derive(Debug)]
pub enum Error {
    /// Bad input: each error names its field.
    Invalid(FieldErrors),
    /// The actor's roles do not allow this (the refusal is audited).
    Forbidden,
    /// No such record (or not visible to the actor).
    NotFound(&'static str),
    /// Not logged in, bad credentials, expired session or invalid API key.
    Unauthenticated,
    /// The account must change its password before anything else.
    PasswordChangeRequired,
    /// Too many failed logins.
    Throttled,
    /// A uniqueness or state conflict.
    Conflict(String),
    /// Configuration or connection problem (start-up).
    Config(String),
    /// Stored data does not satisfy an invariant.
    Integrity(String),
    Db(sqlx::Error),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid(FieldErrors::single(field, message))
    }

    /// A stale write: the record changed since the form or request read it.
    pub fn stale(what: &str) -> Error {
        Error::Conflict(format!("{what} a été modifié(e) par quelqu'un d'autre depuis que vous l'avez ouvert(e) : rechargez la page et refaites votre modification."))
    }

    /// The name of the unique or check constraint the database refused, if any
    /// (map it to a field error by name instead of counting beforehand).
    ///
    /// PostgreSQL names the constraint; SQLite only lists the columns (`UNIQUE constraint failed:
    /// patients.establishment_id, patients.ipp`), which is turned into PostgreSQL's default name for
    /// the same constraint (`patients_establishment_id_ipp_key`). Name unique constraints that way
    /// (or give the PostgreSQL index that name) and one match covers both backends.
    pub fn constraint(&self) -> Option<String> {
        let Error::Db(sqlx::Error::Database(d)) = self else { return None };
        if let Some(c) = d.constraint() {
            return Some(c.to_string());
        }
        let cols = d.message().strip_prefix("UNIQUE constraint failed: ")?;
        let mut table = None;
        let mut names = Vec::new();
        for c in cols.split(',') {
            let (t, col) = c.trim().split_once('.')?;
            table.get_or_insert(t.to_string());
            names.push(col.to_string());
        }
        Some(format!("{}_{}_key", table?, names.join("_")))
    }

    /// Whether the database refused a duplicate key.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Error::Db(sqlx::Error::Database(d)) if d.is_unique_violation())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        Error::Db(e)
    }
}

impl From<FieldErrors> for Error {
    fn from(e: FieldErrors) -> Error {
        Error::Invalid(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Invalid(e) => write!(f, "Saisie invalide : {e}"),
            Error::Forbidden => write!(f, "Accès refusé : vos rôles ne permettent pas cette action."),
            Error::NotFound(what) => write!(f, "{what} introuvable."),
            Error::Unauthenticated => write!(f, "Authentification requise."),
            Error::PasswordChangeRequired => write!(f, "Vous devez changer votre mot de passe."),
            Error::Throttled => write!(f, "Trop de tentatives : réessayez dans quelques minutes."),
            Error::Conflict(m) => write!(f, "{m}"),
            Error::Config(m) => write!(f, "{m}"),
            Error::Integrity(m) => write!(f, "Intégrité : {m}"),
            Error::Db(e) => write!(f, "Erreur de base de données : {e}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
