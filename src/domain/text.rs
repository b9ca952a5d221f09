//! Text that other people see — a client's name on the consent page and in API Access, an
//! account's display name: besides control characters, no *format* characters (Unicode
//! general category Cf: bidirectional overrides, embeddings and isolates, zero-width
//! spaces and joiners, the byte-order mark, the soft hyphen…). They are invisible or
//! reorder what surrounds them, so `"\u{202e}ppA laicifffO"` reads "Offficial App".
//!
//! The category comes from `unicode-properties` (the Unicode Character Database's table,
//! kept current by the unicode-rs project), not from a hand-copied list of ranges.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The first character of `text` that would be invisible or act on its neighbours when
/// shown: a control character (Cc) or a format character (Cf).
pub fn hidden_character(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() || c.general_category() == GeneralCategory::Format)
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
    fn the_message_names_the_code_point() {
        let m = hidden_character_message('\u{202E}');
        assert!(m.contains("U+202E") && m.contains("invisible"), "{m}");
        assert!(hidden_character_message('\u{7}').contains("control"));
    }
}
