//! Code lists as enums: each value has a stable code (stored in the database, sent by forms and
//! the API) and a French label (shown). [`code_enum!`] declares one; every such enum implements
//! [`CodeEnum`], `TryFrom<String>` (so a store row decodes it with `#[sqlx(try_from = "String")]`),
//! `FromStr`, `Display` (the label) and serde as its code.

/// A code list as a table: `(code, French label)`, in display order.
pub type Codes = &'static [(&'static str, &'static str)];

/// What every code-list enum offers (also as inherent methods, so no import is needed).
pub trait CodeEnum: Copy + Eq + 'static {
    /// Every value, in display order.
    const ALL: &'static [Self];
    /// What the list is, in French, for error messages (« type d'organisme »).
    const WHAT: &'static str;
    /// The stable code.
    fn code(self) -> &'static str;
    /// The French label.
    fn label(self) -> &'static str;
    /// The value of an exact code.
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.code() == code)
    }
    /// The French message for a code that is not in the list.
    fn unknown(code: &str) -> String {
        let shown: String = code.chars().take(40).collect();
        format!("Valeur inconnue pour {} : « {} ».", Self::WHAT, shown)
    }
    /// The value of a code, or the French message saying it is unknown.
    fn parse_code(code: &str) -> Result<Self, String> {
        Self::from_code(code).ok_or_else(|| Self::unknown(code))
    }
}

/// `TryFrom<String>`, `TryFrom<&str>`, `FromStr`, `Display` (label) and serde (code) for a type
/// that implements [`CodeEnum`].
#[macro_export]
#[doc(hidden)]
macro_rules! code_enum_impls {
    ($name:ident) => {
        impl ::core::convert::TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                <$name as $crate::shared::codes::CodeEnum>::parse_code(&s)
            }
        }
        impl ::core::convert::TryFrom<&str> for $name {
            type Error = String;
            fn try_from(s: &str) -> Result<Self, String> {
                <$name as $crate::shared::codes::CodeEnum>::parse_code(s)
            }
        }
        impl ::core::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                <$name as $crate::shared::codes::CodeEnum>::parse_code(s)
            }
        }
        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(<$name as $crate::shared::codes::CodeEnum>::label(*self))
            }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(<$name as $crate::shared::codes::CodeEnum>::code(*self))
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                <$name as $crate::shared::codes::CodeEnum>::parse_code(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}

/// Declares a code-list enum:
///
/// ```
/// quittance_domain::code_enum! {
///     /// Colours.
///     pub enum Colour ("couleur") {
///         Red = "rouge", "Rouge";
///         Blue = "bleu", "Bleu";
///     }
/// }
/// assert_eq!(Colour::from_code("bleu"), Some(Colour::Blue));
/// assert_eq!(Colour::TABLE, &[("rouge", "Rouge"), ("bleu", "Bleu")]);
/// assert_eq!(Colour::Red.to_string(), "Rouge");
/// ```
///
/// Generates the enum, `ALL`, `TABLE` (the old `(code, label)` table), `code`, `label`,
/// `from_code`, and the impls of [`CodeEnum`] and [`code_enum_impls!`].
#[macro_export]
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The `(code, label)` table, in display order.
            pub const TABLE: $crate::shared::codes::Codes = &[$(($code, $label)),+];

            /// The stable code (database, forms, API).
            pub const fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The French label.
            pub const fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The value of an exact code.
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl $crate::shared::codes::CodeEnum for $name {
            const ALL: &'static [$name] = $name::ALL;
            const WHAT: &'static str = $what;
            fn code(self) -> &'static str { $name::code(self) }
            fn label(self) -> &'static str { $name::label(self) }
            fn from_code(code: &str) -> Option<$name> { $name::from_code(code) }
        }

        $crate::code_enum_impls!($name);
    };
}

/// Checks the invariants of a code list (used by the unit tests of each capability): codes
/// round-trip through `from_code`, `TryFrom<String>`, `FromStr` and serde; codes and labels are
/// distinct; labels are non-empty; `Display` is the label.
#[cfg(test)]
pub(crate) fn check<T>()
where
    T: CodeEnum + std::fmt::Debug + std::fmt::Display + TryFrom<String, Error = String> + serde::Serialize + serde::de::DeserializeOwned,
{
    assert!(!T::ALL.is_empty(), "{}", T::WHAT);
    assert!(!T::WHAT.is_empty());
    let mut codes = std::collections::HashSet::new();
    let mut labels = std::collections::HashSet::new();
    for &v in T::ALL {
        assert_eq!(T::from_code(v.code()), Some(v), "{v:?}");
        assert_eq!(T::try_from(v.code().to_string()), Ok(v), "{v:?}");
        assert!(!v.label().trim().is_empty(), "{v:?}");
        assert_eq!(v.to_string(), v.label());
        assert!(codes.insert(v.code()), "duplicate code {}", v.code());
        assert!(labels.insert(v.label()), "duplicate label {}", v.label());
        let json = serde_json::to_string(&v).expect("a code serializes");
        assert_eq!(json, format!("\"{}\"", v.code()));
        assert_eq!(serde_json::from_str::<T>(&json).ok(), Some(v));
    }
    assert_eq!(T::from_code("\u{0}pas un code"), None);
    let err = T::try_from("pas un code".to_string()).expect_err("unknown code");
    assert!(serde_json::from_str::<T>("\"pas un code\"").is_err());
    assert!(err.contains(T::WHAT) && err.contains("pas un code"), "{err}");
}
