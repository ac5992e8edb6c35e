//! Field errors: bad input names the field and says what is wrong, in French.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A list of field errors collected while parsing a command; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_string(), message: message.into() });
    }
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    /// `Ok(())` when empty, the errors otherwise.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Trimmed required text, or an error on the field.
    pub fn required(&mut self, field: &str, value: &str, max_len: usize) -> String {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, "Ce champ est obligatoire.");
        } else if v.chars().count() > max_len {
            self.add(field, format!("{max_len} caractères au plus."));
        }
        v.to_string()
    }

    /// Trimmed optional text (`None` when blank).
    pub fn optional(&mut self, field: &str, value: &str, max_len: usize) -> Option<String> {
        let v = value.trim();
        if v.is_empty() {
            return None;
        }
        if v.chars().count() > max_len {
            self.add(field, format!("{max_len} caractères au plus."));
        }
        Some(v.to_string())
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, " ; ")?;
            }
            write!(f, "{} : {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// Minimum password length (ANSSI recommends long passphrases over complexity rules).
pub const MIN_PASSWORD_LEN: usize = 12;

/// Checks a new password; returns a French message when refused.
pub fn check_password(password: &str, username: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(format!("Le mot de passe doit compter au moins {MIN_PASSWORD_LEN} caractères."));
    }
    if n > 256 {
        return Err("Le mot de passe doit compter 256 caractères au plus.".into());
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err("Le mot de passe ne doit pas contenir l'identifiant.".into());
    }
    if password.chars().all(|c| c == password.chars().next().unwrap_or(' ')) {
        return Err("Le mot de passe ne doit pas répéter un seul caractère.".into());
    }
    Ok(())
}

/// Usernames: 3–64 characters of lowercase letters, digits, `.`, `-`, `_`.
pub fn check_username(username: &str) -> Result<(), String> {
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if !(3..=64).contains(&username.len()) || !ok_chars {
        return Err("Identifiant : 3 à 64 caractères parmi a-z, 0-9, « . », « - », « _ ».".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(check_password("court", "x").is_err());
        assert!(check_password("aaaaaaaaaaaaaaa", "x").is_err());
        assert!(check_password("jdupont-secret-2026", "jdupont").is_err());
        assert!(check_password("cheval-batterie-agrafe", "jdupont").is_ok());
    }

    #[test]
    fn username_rules() {
        assert!(check_username("j.dupont").is_ok());
        assert!(check_username("JD").is_err());
        assert!(check_username("jean dupont").is_err());
    }

    #[test]
    fn required_and_optional() {
        let mut e = FieldErrors::new();
        assert_eq!(e.required("nom", "  Dupont ", 10), "Dupont");
        assert!(e.is_empty());
        e.required("ville", "   ", 10);
        assert_eq!(e.get("ville"), Some("Ce champ est obligatoire."));
        assert_eq!(e.optional("tel", "  ", 5), None);
        e.optional("tel", "0123456789", 5);
        assert!(e.get("tel").is_some());
        assert!(e.into_result().is_err());
    }
}
