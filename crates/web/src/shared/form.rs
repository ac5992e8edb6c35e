//! URL-encoded form bodies, read in linear time: at most [`MAX_FIELDS`] fields, each key and value
//! percent-decoded strictly (invalid UTF-8 is refused naming the field, never replaced by U+FFFD),
//! repeated keys (checkboxes sharing one name) joined with commas through a hash index.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::render::error_page;

/// The most fields a form may carry (the largest form of the application has a few dozen).
pub const MAX_FIELDS: usize = 1_000;

/// Why a form body was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    /// More than [`MAX_FIELDS`] fields.
    TooManyFields,
    /// A key or value is not UTF-8 once percent-decoded; the field's name (lossy if the key itself is bad).
    InvalidUtf8(String),
    /// A field is missing or malformed for the expected type: (field, French message).
    Field(String, String),
}

impl FormError {
    /// The French page for this refusal (413 for too many fields, 400 otherwise).
    pub fn page(&self) -> Response {
        match self {
            FormError::TooManyFields => error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Formulaire trop volumineux",
                &format!("Le formulaire compte plus de {} champs ; rien n'a été enregistré.", fr_int(MAX_FIELDS)),
            ),
            FormError::InvalidUtf8(f) => error_page(
                StatusCode::BAD_REQUEST,
                "Formulaire invalide",
                &format!("Le champ « {f} » contient des caractères illisibles (encodage UTF-8 attendu) ; rien n'a été enregistré."),
            ),
            FormError::Field(f, m) if !f.is_empty() => {
                error_page(StatusCode::BAD_REQUEST, "Formulaire invalide", &format!("Champ « {f} » : {m} Rien n'a été enregistré."))
            }
            FormError::Field(_, m) => error_page(StatusCode::BAD_REQUEST, "Formulaire invalide", &format!("{m} Rien n'a été enregistré.")),
        }
    }
}

fn fr_int(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

fn decode_part(raw: &[u8]) -> Result<String, Vec<u8>> {
    let plus: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
    String::from_utf8(bytes).map_err(|e| e.into_bytes())
}

/// The (key, value) pairs of a body, in order, decoded strictly.
pub fn pairs(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if out.len() == MAX_FIELDS {
            return Err(FormError::TooManyFields);
        }
        let (k, v) = match part.iter().position(|&b| b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        let key = decode_part(k).map_err(|bad| FormError::InvalidUtf8(String::from_utf8_lossy(&bad).into_owned()))?;
        let value = decode_part(v).map_err(|_| FormError::InvalidUtf8(key.clone()))?;
        out.push((key, value));
    }
    Ok(out)
}

/// Repeated keys merged, in order of first appearance: their values joined with commas.
pub fn merge(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(pairs.len());
    let mut merged: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match index.get(&k) {
            Some(&i) => {
                let mv = &mut merged[i].1;
                mv.push(',');
                mv.push_str(&v);
            }
            None => {
                index.insert(k.clone(), merged.len());
                merged.push((k, v));
            }
        }
    }
    merged
}

/// Deserialises merged pairs into `T`; a missing or malformed field is named in French.
pub fn into_value<T: DeserializeOwned>(merged: &[(String, String)]) -> Result<T, FormError> {
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(merged).finish();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let msg = e.inner().to_string();
        let field = crate::extract::field_of(&e.path().to_string(), &msg);
        let message = if msg.contains("invalid digit") || msg.contains("number") {
            "Valeur attendue : un nombre entier.".to_string()
        } else {
            crate::extract::french(&msg)
        };
        FormError::Field(field, message)
    })
}

/// A whole body into `T` (pairs, merge, deserialise).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FormError> {
    into_value(&merge(pairs(body)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_plus_and_percent_and_keep_order() {
        let p = pairs(b"a=1+2&b=%C3%A9t%C3%A9&&c&a=3").unwrap();
        assert_eq!(p, vec![("a".into(), "1 2".into()), ("b".into(), "été".into()), ("c".into(), "".into()), ("a".into(), "3".into())]);
        assert_eq!(merge(p), vec![("a".into(), "1 2,3".into()), ("b".into(), "été".into()), ("c".into(), "".into())]);
    }

    #[test]
    fn invalid_utf8_names_the_field_and_too_many_fields_are_refused() {
        assert_eq!(pairs(b"city=%FF%FE&x=1"), Err(FormError::InvalidUtf8("city".into())));
        assert_eq!(pairs(b"ok=1&%FF=2"), Err(FormError::InvalidUtf8("\u{fffd}".into())));
        let body: Vec<String> = (0..=MAX_FIELDS).map(|i| format!("k{i}=v")).collect();
        assert_eq!(pairs(body.join("&").as_bytes()), Err(FormError::TooManyFields));
        let body: Vec<String> = (0..MAX_FIELDS).map(|i| format!("k{i}=v")).collect();
        assert_eq!(pairs(body.join("&").as_bytes()).map(|p| p.len()), Ok(MAX_FIELDS));
    }

    #[test]
    fn typed_fields_are_named_in_french() {
        #[derive(serde::Deserialize, Debug)]
        struct F {
            id: i64,
            #[serde(default)]
            roles: String,
        }
        let f: F = decode(b"id=4&roles=a&roles=b").unwrap();
        assert_eq!((f.id, f.roles.as_str()), (4, "a,b"));
        match decode::<F>(b"id=abc") {
            Err(FormError::Field(field, m)) => assert_eq!((field.as_str(), m.as_str()), ("id", "Valeur attendue : un nombre entier.")),
            other => panic!("{other:?}"),
        }
        match decode::<F>(b"roles=x") {
            Err(FormError::Field(field, _)) => assert_eq!(field, "id"),
            other => panic!("{other:?}"),
        }
    }
}
