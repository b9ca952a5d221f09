//! Text that other people see — a client's name on the consent page and in API Access, an
//! account's display name: besides control characters, no *format* characters (Unicode
//! general category Cf: bidirectional overrides, embeddings and isolates, zero-width
//! spaces and joiners, the byte-order mark, the soft hyphen…). They are invisible or
//! reorder what surrounds them, so `"\u{202e}ppA laicifffO"` reads "Offficial App".
//!
//! The category comes from `unicode-properties` (the Unicode Character Database's table,
//! kept current by the unicode-rs project), not from a hand-copied list of ranges.
//!
//! Also what every validated text value shares: [`NameError`], the rules of a name, and
//! `text_value!`, the accessors of a string newtype.

use std::fmt;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The first character of `text` that would be invisible or act on its neighbours when
/// shown: a control character (Cc) or a format character (Cf).
pub fn hidden_character(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() || c.general_category() == GeneralCategory::Format)
}

/// The first format character (Cf) of `text`: for text whose control characters are
/// refused for another reason (an email address, a URI).
pub fn format_character(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.general_category() == GeneralCategory::Format)
}

/// The field error for a name that has a [`hidden_character`], in words a person can act
/// on: which character, by its code point.
pub fn hidden_character_message(c: char) -> String {
    let kind = if c.is_control() {
        "control"
    } else {
        "invisible formatting"
    };
    format!(
        "must not contain {kind} characters (found U+{:04X}); type the name as it should be read",
        u32::from(c)
    )
}

/// Why a name (a display name, a client's name, a project's name) is refused. Its
/// `Display` is the rule broken, in words a person can act on; the field it belongs to is
/// named by whoever reports it (`name must not be empty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but white space.
    Empty,
    /// More characters than the name may have.
    TooLong {
        /// The most it may have.
        max: usize,
    },
    /// A character that would be invisible or act on its neighbours (see
    /// [`hidden_character`]), or, where only those are refused, a control character.
    Hidden(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("must not be empty"),
            NameError::TooLong { max } => write!(f, "must be at most {max} characters long"),
            NameError::Hidden(c) => f.write_str(&hidden_character_message(*c)),
        }
    }
}

/// Checks a name: trimmed of surrounding white space (never meant as part of a name), not
/// empty, at most `max` characters, without the characters `refused` finds. Answers the
/// trimmed name.
pub(super) fn check_name(
    text: &str,
    max: usize,
    refused: fn(&str) -> Option<char>,
) -> Result<&str, NameError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > max {
        return Err(NameError::TooLong { max });
    }
    if let Some(c) = refused(name) {
        return Err(NameError::Hidden(c));
    }
    Ok(name)
}

/// The first control character (Cc) of `text`: all that a name seen only by its owner
/// refuses.
pub fn control_character(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

/// The accessors every validated string newtype of the domain has: `as_str`,
/// `into_string`, [`AsRef<str>`], [`Display`](fmt::Display), and [`serde::Serialize`] as
/// the plain string; and `from_trusted`, the one way around `parse`, for the store.
///
/// There is deliberately no `From<String>` and no `Deserialize`: text from outside becomes
/// a value only through the type's own `parse`.
macro_rules! text_value {
    ($type:ident) => {
        impl $type {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }

            /// **Trusted**: takes `text` as a value without checking it. Only for text
            /// that was a valid value when it was written — rows read back from the store
            /// — so that reading costs no validation and a row stored under an older rule
            /// still reads (a unit test keeps every call inside `src/store/`). Input from
            /// anywhere else goes through `parse`.
            pub fn from_trusted(text: String) -> Self {
                $type(text)
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}
pub(crate) use text_value;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_control_characters_are_found() {
        let cases = [
            '\u{00AD}',  // soft hyphen
            '\u{061C}',  // Arabic letter mark
            '\u{200B}',  // zero-width space
            '\u{200C}',  // zero-width non-joiner
            '\u{200D}',  // zero-width joiner
            '\u{200E}',  // left-to-right mark
            '\u{200F}',  // right-to-left mark
            '\u{202A}',  // left-to-right embedding
            '\u{202E}',  // right-to-left override
            '\u{2060}',  // word joiner
            '\u{2066}',  // left-to-right isolate
            '\u{2069}',  // pop directional isolate
            '\u{FEFF}',  // byte-order mark
            '\u{FFF9}',  // interlinear annotation anchor
            '\u{E0001}', // language tag
            '\u{0000}',
            '\u{001B}',
            '\u{007F}',
            '\u{0085}',
        ];
        for c in cases {
            let name = format!("My{c}App");
            assert_eq!(hidden_character(&name), Some(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn ordinary_names_in_any_script_pass() {
        for name in [
            "Official App",
            "Café Müller",
            "東京アプリ",
            "تطبيق رسمي",
            "Zürich – Büro (2)",
            "🚀 Launcher",
        ] {
            assert_eq!(hidden_character(name), None, "{name}");
        }
    }

    #[test]
    fn names_are_trimmed_then_checked() {
        assert_eq!(check_name("  a b\t", 3, hidden_character), Ok("a b"));
        assert_eq!(
            check_name("\u{2003}", 3, hidden_character),
            Err(NameError::Empty)
        );
        assert_eq!(
            check_name("abcd", 3, hidden_character),
            Err(NameError::TooLong { max: 3 })
        );
        // Counted in characters: three two-byte letters fit.
        assert_eq!(check_name("äöü", 3, hidden_character), Ok("äöü"));
        assert_eq!(
            check_name("a\u{200b}", 3, hidden_character),
            Err(NameError::Hidden('\u{200b}'))
        );
        assert_eq!(
            check_name("a\u{200b}", 3, control_character),
            Ok("a\u{200b}")
        );
        assert_eq!(
            NameError::TooLong { max: 100 }.to_string(),
            "must be at most 100 characters long"
        );
    }

    /// Only the store rebuilds values without parsing them (`from_trusted`): anywhere else,
    /// text from outside would become a value unchecked.
    #[test]
    fn only_the_store_builds_trusted_values() {
        fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains("from_trusted(") {
                        found.push(path.display().to_string());
                    }
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        visit(&src, &mut found);
        let store = src.join("store").display().to_string();
        let here = src.join("domain").join("text.rs").display().to_string();
        let outside: Vec<&String> = found
            .iter()
            .filter(|f| !f.starts_with(&store) && **f != here)
            .collect();
        assert!(
            outside.is_empty(),
            "from_trusted outside the store: {outside:?}"
        );
        assert!(
            found.len() > 2,
            "the scan found the store's calls: {found:?}"
        );
    }

    #[test]
    fn the_message_names_the_code_point() {
        let m = hidden_character_message('\u{202E}');
        assert!(m.contains("U+202E") && m.contains("invisible"), "{m}");
        assert!(hidden_character_message('\u{7}').contains("control"));
    }
}
