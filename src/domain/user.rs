//! An account's values: [`Username`], [`Email`], [`DisplayName`] — each parsed once from
//! what a person typed (`parse`, whose error says what is wrong) and then passed around as
//! itself — and the password rules.

use super::text::{
    NameError, check_name, format_character, hidden_character, hidden_character_message, text_value,
};

/// Longest password accepted, in bytes: hashing cost must not depend on an attacker.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Shortest password accepted when one is set.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A field of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountField {
    /// The username.
    Username,
    /// The email address.
    Email,
    /// The display name.
    Name,
    /// The password.
    Password,
}

impl std::fmt::Display for AccountField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AccountField::Username => "username",
            AccountField::Email => "email",
            AccountField::Name => "name",
            AccountField::Password => "password",
        })
    }
}

/// A username: 1–39 characters of ASCII letters, digits, `-`, `_` and `.`, starting with
/// a letter or digit (GitHub's rule, plus `_` and `.`). Kept as typed; accounts are unique
/// by its lower case (the store compares `lower(username)`). Nothing around it is trimmed:
/// a front end that forgives surrounding spaces trims before parsing.
///
/// `parse` also reads the names people sign in with: should the rule for new accounts ever
/// tighten, keep this one for existing names and check the new rule where accounts are
/// created, so that no stored account becomes impossible to name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

text_value!(Username);

/// Why a text is not a [`Username`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Empty, or longer than [`Username::MAX_LEN`].
    #[error("must be 1 to 39 characters long")]
    Length,
    /// Starts with `-`, `_` or `.`.
    #[error("must start with a letter or a digit")]
    Start,
    /// Has a character outside the allowed set (spaces, non-ASCII letters…).
    #[error("may contain only letters, digits, '-', '_' and '.'")]
    Characters,
}

impl Username {
    /// Longest username, in characters (all ASCII).
    pub const MAX_LEN: usize = 39;

    /// Parses a username exactly as given.
    pub fn parse(text: &str) -> Result<Username, UsernameError> {
        if text.is_empty() || text.len() > Self::MAX_LEN {
            return Err(UsernameError::Length);
        }
        if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(UsernameError::Start);
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(UsernameError::Characters);
        }
        Ok(Username(text.to_owned()))
    }
}

/// An email address: the shape `local@domain`, no white space, control or format
/// characters (administrators read it: see [`super::text`]), at most 254 characters. Deliverability is not this server's business. Kept as typed, not
/// trimmed; unique case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

text_value!(Email);

/// Why a text is not an [`Email`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Longer than [`Email::MAX_LEN`] bytes.
    #[error("must be at most 254 characters long")]
    TooLong,
    /// Not `local@domain`, or white space or control characters in it.
    #[error("must be an email address")]
    Shape,
    /// An invisible format character (a bidirectional override reorders what an
    /// administrator reads).
    #[error("{}", hidden_character_message(*.0))]
    Hidden(char),
}

impl Email {
    /// Longest address, in bytes (RFC 5321's path limit, less the angle brackets).
    pub const MAX_LEN: usize = 254;

    /// Parses an email address exactly as given.
    pub fn parse(text: &str) -> Result<Email, EmailError> {
        if text.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(EmailError::Shape);
        };
        let clean =
            |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !clean(local) || !clean(domain) || domain.starts_with('.') || domain.ends_with('.') {
            return Err(EmailError::Shape);
        }
        if let Some(c) = format_character(text) {
            return Err(EmailError::Hidden(c));
        }
        Ok(Email(text.to_owned()))
    }
}

/// The name an account shows other people: at most 100 characters, trimmed, no control or
/// format characters ([`super::text`]). An account without one has `None`, never an empty
/// name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

text_value!(DisplayName);

impl DisplayName {
    /// Longest display name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a display name; surrounding white space is dropped.
    pub fn parse(text: &str) -> Result<DisplayName, NameError> {
        check_name(text, Self::MAX_CHARS, hidden_character).map(|n| DisplayName(n.to_owned()))
    }
}

/// Checks a new password: at least 8 characters, at most 1024 bytes.
pub fn validate_password(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err("must be at least 8 characters long");
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err("must be at most 1024 bytes long");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in [
            "alice",
            "a",
            "bob-2",
            "x.y_z",
            "A1",
            "1password",
            &"a".repeat(39),
        ] {
            assert_eq!(Username::parse(ok).unwrap().as_str(), ok);
        }
        for (bad, why) in [
            ("", UsernameError::Length),
            (&"a".repeat(40), UsernameError::Length),
            ("-bob", UsernameError::Start),
            ("_bob", UsernameError::Start),
            (".bob", UsernameError::Start),
            (" alice", UsernameError::Start),
            ("alice ", UsernameError::Characters),
            ("al ice", UsernameError::Characters),
            ("a'; DROP TABLE users;--", UsernameError::Characters),
            ("a@b", UsernameError::Characters),
        ] {
            assert_eq!(Username::parse(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn usernames_are_ascii_whatever_unicode_offers() {
        // Non-ASCII letters and digits, a fullwidth letter, and format characters (a
        // zero-width space, a right-to-left override, a byte-order mark) are all refused;
        // "ål" is two characters but three bytes.
        for (bad, why) in [
            ("ål", UsernameError::Start),
            ("alïce", UsernameError::Characters),
            ("bob٣", UsernameError::Characters),
            ("ａlice", UsernameError::Start),
            ("al\u{200b}ice", UsernameError::Characters),
            ("alice\u{202e}", UsernameError::Characters),
            ("\u{feff}alice", UsernameError::Start),
        ] {
            assert_eq!(Username::parse(bad), Err(why), "{bad:?}");
        }
        // The length is counted in bytes, and every allowed character is one byte.
        assert_eq!(Username::parse(&"é".repeat(20)), Err(UsernameError::Length));
    }

    #[test]
    fn emails() {
        for ok in [
            "a@example.com",
            "a.b+tag@example.com",
            "ü@exämple.de",
            "a@localhost",
        ] {
            assert_eq!(Email::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "a",
            "@x",
            "a@",
            "a b@x.y",
            "a@.x",
            "a@x.",
            " a@x.y",
            "a@x.y\n",
            "a\u{7}@x.y",
            "a@x\u{85}y",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Shape), "{bad:?}");
        }
        for (bad, c) in [
            ("\u{202e}moc.elpmaxe@eve", '\u{202e}'),
            ("ev\u{200b}e@example.com", '\u{200b}'),
            ("eve@exa\u{ad}mple.com", '\u{ad}'),
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Hidden(c)), "{bad:?}");
        }
        assert!(
            Email::parse("ev\u{200b}e@example.com")
                .unwrap_err()
                .to_string()
                .contains("U+200B")
        );
        let long = format!("{}@example.com", "a".repeat(243));
        assert_eq!(long.len(), 255);
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
        assert!(Email::parse(&long[1..]).is_ok());
    }

    #[test]
    fn display_names_are_trimmed_and_refuse_control_and_format_characters() {
        assert_eq!(
            DisplayName::parse("  Zoë Ångström\t").unwrap().as_str(),
            "Zoë Ångström"
        );
        for ok in ["東京", "تطبيق", "🚀", &"é".repeat(100)] {
            assert!(DisplayName::parse(ok).is_ok(), "{ok}");
        }
        for (bad, c) in [
            ("Zo\u{200b}e", '\u{200b}'),
            ("\u{2067}eve", '\u{2067}'),
            ("a\u{0}b", '\u{0}'),
            ("soft\u{ad}hyphen", '\u{ad}'),
            ("\u{feff}Bob", '\u{feff}'),
            ("tag\u{e0041}", '\u{e0041}'),
        ] {
            assert_eq!(
                DisplayName::parse(bad),
                Err(NameError::Hidden(c)),
                "{bad:?}"
            );
        }
        assert_eq!(DisplayName::parse(" \n "), Err(NameError::Empty));
        assert_eq!(
            DisplayName::parse(&"é".repeat(101)),
            Err(NameError::TooLong { max: 100 })
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            Username::parse("").unwrap_err().to_string(),
            "must be 1 to 39 characters long"
        );
        assert_eq!(
            Email::parse("nope").unwrap_err().to_string(),
            "must be an email address"
        );
        let hidden = DisplayName::parse("Ali\u{200b}ce").unwrap_err().to_string();
        assert!(
            hidden.contains("U+200B") && hidden.contains("invisible"),
            "{hidden}"
        );
    }

    #[test]
    fn values_serialize_as_their_text() {
        let name = Username::parse("alice").unwrap();
        assert_eq!(serde_json::to_value(&name).unwrap(), "alice");
        assert_eq!(name.to_string(), "alice");
    }

    #[test]
    fn passwords() {
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password("1234567").is_err());
        assert!(validate_password(&"x".repeat(1025)).is_err());
    }
}
