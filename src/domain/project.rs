//! Projects: validation of names, slugs, site URLs and database connections.
//!
//! * `slug` — a URL-safe handle, unique among the owner's projects: lower-case ASCII
//!   letters and digits in `-`-separated words, at most 100 characters. Derived from the
//!   name when not given (`"My Blog!"` → `my-blog`).
//! * `url` — the public address of the HarmonyCMS site the project describes: an absolute
//!   `http` or `https` URL. `isSecured` is derived from it: `true` for `https`.

use std::collections::BTreeMap;

use crate::store::projects::ProjectDatabase;

/// Longest name.
pub const MAX_NAME: usize = 100;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 2000;
/// Most databases per project.
pub const MAX_DATABASES: usize = 20;
/// Accepted database schemes.
pub const SCHEMES: [&str; 4] = ["mysql", "pgsql", "sqlite", "mongodb"];

/// Field errors, keyed by the JSON path.
pub type FieldErrors = BTreeMap<String, String>;

/// A trimmed, non-empty name of at most [`MAX_NAME`] characters.
pub fn validate_name(name: &str, errors: &mut FieldErrors) -> Option<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        errors.insert(
            "name".into(),
            format!("must be 1 to {MAX_NAME} characters, without control characters"),
        );
        return None;
    }
    Some(name.to_owned())
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
pub fn validate_slug(slug: &str, errors: &mut FieldErrors) -> Option<String> {
    if is_slug(slug) {
        Some(slug.to_owned())
    } else {
        errors.insert(
            "slug".into(),
            "must be lower-case letters and digits in words joined by '-', at most 100".into(),
        );
        None
    }
}

/// Validates an optional description.
pub fn validate_description(d: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    let d = d?;
    if d.chars().count() > MAX_DESCRIPTION {
        errors.insert(
            "description".into(),
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
        return None;
    }
    Some(d.to_owned())
}

/// Validates a site URL: absolute `http` or `https`, with a host, at most 2000 bytes.
pub fn validate_url(u: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    let u = u?;
    let ok = u.len() <= 2000
        && url::Url::parse(u)
            .ok()
            .is_some_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
    if !ok {
        errors.insert("url".into(), "must be an absolute http or https URL".into());
        return None;
    }
    Some(u.to_owned())
}

/// Is the site served over TLS?
pub fn is_secured(url: Option<&str>) -> bool {
    url.is_some_and(|u| u.starts_with("https://"))
}

/// A database as a client sends it: loosely typed, so that a bad port is a 422 with a
/// message rather than a serde error.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseInput {
    scheme: String,
    host: Option<String>,
    port: Option<i64>,
    name: Option<String>,
    user: Option<String>,
    pass: Option<String>,
    path: Option<String>,
    #[serde(default)]
    memory: bool,
    query: Option<String>,
}

fn short(
    field: String,
    value: Option<String>,
    max: usize,
    errors: &mut FieldErrors,
) -> Option<String> {
    let v = value?;
    if v.len() > max || v.chars().any(char::is_control) {
        errors.insert(
            field,
            format!("must be at most {max} bytes, without control characters"),
        );
        return None;
    }
    Some(v)
}

/// Validates the `databases` array.
pub fn validate_databases(
    input: Vec<DatabaseInput>,
    errors: &mut FieldErrors,
) -> Vec<ProjectDatabase> {
    if input.len() > MAX_DATABASES {
        errors.insert(
            "databases".into(),
            format!("at most {MAX_DATABASES} databases"),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, d) in input.into_iter().enumerate() {
        let at = |k: &str| format!("databases[{i}].{k}");
        if !SCHEMES.contains(&d.scheme.as_str()) {
            errors.insert(
                at("scheme"),
                "must be one of mysql, pgsql, sqlite, mongodb".into(),
            );
        }
        let port = match d.port {
            None => None,
            Some(p @ 1..=65535) => u16::try_from(p).ok(),
            Some(_) => {
                errors.insert(at("port"), "must be between 1 and 65535".into());
                None
            }
        };
        let db = ProjectDatabase {
            host: short(at("host"), d.host, 255, errors),
            port,
            name: short(at("name"), d.name, 255, errors),
            user: short(at("user"), d.user, 255, errors),
            pass: short(at("pass"), d.pass, 1024, errors),
            path: short(at("path"), d.path, 1024, errors),
            memory: d.memory,
            query: short(at("query"), d.query, 1024, errors),
            scheme: d.scheme,
        };
        if db.scheme == "sqlite" {
            if db.path.is_none() && !db.memory {
                errors.insert(at("path"), "sqlite needs a path or memory: true".into());
            }
        } else if SCHEMES.contains(&db.scheme.as_str()) && db.host.is_none() {
            errors.insert(at("host"), format!("{} needs a host", db.scheme));
        }
        out.push(db);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn databases_are_validated() {
        let mut errors = FieldErrors::new();
        let input: Vec<DatabaseInput> = serde_json::from_str(
            r#"[{"scheme":"oracle","host":"h"},{"scheme":"mysql","host":"h","port":0},
                {"scheme":"sqlite"},{"scheme":"pgsql"}]"#,
        )
        .unwrap();
        validate_databases(input, &mut errors);
        for key in [
            "databases[0].scheme",
            "databases[1].port",
            "databases[2].path",
            "databases[3].host",
        ] {
            assert!(errors.contains_key(key), "{key}: {errors:?}");
        }
    }
}
