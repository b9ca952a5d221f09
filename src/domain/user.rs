//! Validation of account fields: usernames, emails, display names, passwords.

use std::borrow::Cow;

use super::text::{hidden_character, hidden_character_message};

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

/// Checks a username: 1–39 characters of ASCII letters, digits, `-`, `_` and `.`, starting
/// with a letter or digit (GitHub's rule, plus `_` and `.`).
pub fn validate_username(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 39 {
        return Err("must be 1 to 39 characters long");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or a digit");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("may contain only letters, digits, '-', '_' and '.'");
    }
    Ok(())
}

/// Checks an email address: the shape `local@domain`, no spaces or control characters,
/// at most 254 characters. Deliverability is not this server's business.
pub fn validate_email(email: &str) -> Result<(), &'static str> {
    if email.len() > 254 {
        return Err("must be at most 254 characters long");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("must be an email address");
    };
    let clean = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if !clean(local) || !clean(domain) || domain.starts_with('.') || domain.ends_with('.') {
        return Err("must be an email address");
    }
    Ok(())
}

/// Checks a display name: at most 100 characters, no control or format characters (others
/// see it: see [`super::text`]).
pub fn validate_display_name(name: &str) -> Result<(), Cow<'static, str>> {
    if name.chars().count() > 100 {
        return Err("must be at most 100 characters long".into());
    }
    if let Some(c) = hidden_character(name) {
        return Err(hidden_character_message(c).into());
    }
    Ok(())
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
        for ok in ["alice", "a", "bob-2", "x.y_z", "A1"] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-bob",
            "al ice",
            "ål",
            "a'; DROP TABLE users;--",
            &"a".repeat(40),
        ] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(validate_email("a@example.com").is_ok());
        for bad in ["", "a", "@x", "a@", "a b@x.y", "a@.x", "a@x."] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names_refuse_control_and_format_characters() {
        assert!(validate_display_name("Zoë Ångström").is_ok());
        for bad in ["Zo\u{200b}e", "\u{2067}eve", "a\u{0}b"] {
            assert!(validate_display_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords() {
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password("1234567").is_err());
        assert!(validate_password(&"x".repeat(1025)).is_err());
    }
}
