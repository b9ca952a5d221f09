//! Projects: validation of names, slugs, site URLs and database connections.
//!
//! * `slug` — a URL-safe handle, unique among the owner's projects: lower-case ASCII
//!   letters and digits in `-`-separated words, at most 100 characters. Derived from the
//!   name when not given (`"My Blog!"` → `my-blog`).
//! * `url` — the public address of the HarmonyCMS site the project describes: an absolute
//!   `http` or `https` URL. `isSecured` is derived from it: `true` for `https`.

use std::fmt;

use super::fields::FieldErrors;
use super::text::{NameError, check_name, control_character, text_value};

/// Longest name.
pub const MAX_NAME: usize = 100;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 2000;
/// Most databases per project.
pub const MAX_DATABASES: usize = 20;
/// Accepted database schemes.
pub const SCHEMES: [&str; 4] = ["mysql", "pgsql", "sqlite", "mongodb"];

/// A field of a project (or of the binding of an add-on to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProjectField {
    /// The name.
    Name,
    /// The slug.
    Slug,
    /// The description.
    Description,
    /// The site's URL.
    Url,
    /// The list of databases as a whole.
    Databases,
    /// One field of the database at this index.
    Database(usize, DatabaseField),
    /// The version constraint an add-on is bound with.
    AddonConstraint,
}

/// A field of one of a project's database connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DatabaseField {
    /// `mysql`, `pgsql`, `sqlite` or `mongodb`.
    Scheme,
    /// Host name.
    Host,
    /// TCP port.
    Port,
    /// Database name.
    Name,
    /// User name.
    User,
    /// Password.
    Pass,
    /// File path (SQLite).
    Path,
    /// Extra DSN query string.
    Query,
}

impl DatabaseField {
    /// The field's name in a connection description.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseField::Scheme => "scheme",
            DatabaseField::Host => "host",
            DatabaseField::Port => "port",
            DatabaseField::Name => "name",
            DatabaseField::User => "user",
            DatabaseField::Pass => "pass",
            DatabaseField::Path => "path",
            DatabaseField::Query => "query",
        }
    }
}

impl fmt::Display for ProjectField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectField::Name => f.write_str("name"),
            ProjectField::Slug => f.write_str("slug"),
            ProjectField::Description => f.write_str("description"),
            ProjectField::Url => f.write_str("url"),
            ProjectField::Databases => f.write_str("databases"),
            ProjectField::Database(i, field) => write!(f, "database {} {}", i + 1, field.as_str()),
            ProjectField::AddonConstraint => f.write_str("version"),
        }
    }
}

/// Invalid fields of a project.
pub type ProjectErrors = FieldErrors<ProjectField>;

/// A project's name: 1–[`MAX_NAME`] characters, trimmed, no control characters. Unlike
/// the names other people see, format characters are not refused: only the project's owner
/// sees it (docs/api.md, "Names shown to other people").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectName(String);

text_value!(ProjectName);

impl ProjectName {
    /// Parses a project's name; surrounding white space is dropped.
    pub fn parse(text: &str) -> Result<ProjectName, NameError> {
        check_name(text, MAX_NAME, control_character).map(|n| ProjectName(n.to_owned()))
    }
}

/// Parses a project's name, recording what is wrong with it in `errors`.
pub fn validate_name(name: &str, errors: &mut ProjectErrors) -> Option<ProjectName> {
    ProjectName::parse(name)
        .map_err(|e| errors.insert(ProjectField::Name, e.to_string()))
        .ok()
}

/// Is this a valid slug?
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A slug from a name: ASCII letters and digits, lower case, other runs become `-`.
/// Names without a single ASCII letter or digit get `project`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(100).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "project".to_owned()
    } else {
        out
    }
}

/// Validates an explicit slug.
pub fn validate_slug(slug: &str, errors: &mut ProjectErrors) -> Option<String> {
    if is_slug(slug) {
        Some(slug.to_owned())
    } else {
        errors.insert(
            ProjectField::Slug,
            "must be lower-case letters and digits in words joined by '-', at most 100",
        );
        None
    }
}

/// Validates an optional description.
pub fn validate_description(d: Option<&str>, errors: &mut ProjectErrors) -> Option<String> {
    let d = d?;
    if d.chars().count() > MAX_DESCRIPTION {
        errors.insert(
            ProjectField::Description,
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
        return None;
    }
    Some(d.to_owned())
}

/// Validates a site URL: absolute `http` or `https`, with a host, at most 2000 bytes.
pub fn validate_url(u: Option<&str>, errors: &mut ProjectErrors) -> Option<String> {
    let u = u?;
    let ok = u.len() <= 2000
        && url::Url::parse(u)
            .ok()
            .is_some_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
    if !ok {
        errors.insert(ProjectField::Url, "must be an absolute http or https URL");
        return None;
    }
    Some(u.to_owned())
}

/// Is the site served over TLS?
pub fn is_secured(url: Option<&str>) -> bool {
    url.is_some_and(|u| u.starts_with("https://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_refuse_control_characters_only() {
        assert_eq!(
            ProjectName::parse("  My Blog ").unwrap().as_str(),
            "My Blog"
        );
        // Seen by the owner only: format characters are the owner's own business.
        for ok in [
            "Été 2026",
            "日本",
            "a\u{200b}b",
            "\u{202e}golb",
            &"é".repeat(100),
        ] {
            assert!(ProjectName::parse(ok).is_ok(), "{ok:?}");
        }
        for (bad, why) in [
            ("", NameError::Empty),
            ("   ", NameError::Empty),
            ("a\u{7}b", NameError::Hidden('\u{7}')),
            ("line\nbreak", NameError::Hidden('\n')),
            ("a\u{85}b", NameError::Hidden('\u{85}')),
        ] {
            assert_eq!(ProjectName::parse(bad), Err(why), "{bad:?}");
        }
        assert_eq!(
            ProjectName::parse(&"é".repeat(101)),
            Err(NameError::TooLong { max: MAX_NAME })
        );
        let mut errors = ProjectErrors::new();
        assert_eq!(validate_name("\u{7}", &mut errors), None);
        assert!(errors.get(&ProjectField::Name).unwrap().contains("U+0007"));
    }

    #[test]
    fn slugs_are_derived_from_names() {
        assert_eq!(slugify("My Blog!"), "my-blog");
        assert_eq!(slugify("  --Été 2026--  "), "t-2026");
        assert_eq!(slugify("日本"), "project");
        assert!(is_slug("my-blog-2"));
        for bad in ["", "-a", "a-", "a--b", "A", "a_b"] {
            assert!(!is_slug(bad), "{bad}");
        }
    }
}
