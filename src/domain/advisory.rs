//! Security advisories of add-ons: their severity, CVE ids, links and identifiers, and
//! the fields a filing names. Which versions an advisory affects is a Composer constraint
//! ([`crate::domain::version::Constraint`]).

use std::fmt;

use super::secret::random_bytes;

/// How bad a vulnerability is (the words Packagist and GitHub use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Parses `low`, `medium`, `high` or `critical`.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Its word.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Is this a CVE id (`CVE-2026-12345`: a year and at least four digits)?
pub fn valid_cve(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && (4..=19).contains(&number.len())
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Is this a link an advisory may carry: an absolute `http` or `https` URL with a host,
/// at most 2,000 characters, with no whitespace or control character?
pub fn valid_link(s: &str) -> bool {
    s.len() <= 2000
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(s)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// A new advisory id: `HRSA-` and three groups of four lower-case letters and digits, in
/// the shape of Packagist's `PKSA-…` ids (so that the two never collide).
pub fn new_advisory_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let bytes = random_bytes(12);
    let chars: Vec<char> = bytes
        .iter()
        // 256 % 36 = 4: a negligible bias for an identifier that is not a secret.
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    let group = |i: usize| chars[i * 4..i * 4 + 4].iter().collect::<String>();
    format!("HRSA-{}-{}-{}", group(0), group(1), group(2))
}

/// A field of an advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdvisoryField {
    /// Its title.
    Title,
    /// The Composer constraint of the affected versions.
    AffectedVersions,
    /// Its severity.
    Severity,
    /// Its CVE id.
    Cve,
    /// A link to its description.
    Link,
    /// When it was reported.
    ReportedAt,
    /// The add-on names a query asks about.
    Packages,
    /// The time a query asks for changes since.
    UpdatedSince,
}

impl fmt::Display for AdvisoryField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AdvisoryField::Title => "title",
            AdvisoryField::AffectedVersions => "affected versions",
            AdvisoryField::Severity => "severity",
            AdvisoryField::Cve => "CVE id",
            AdvisoryField::Link => "link",
            AdvisoryField::ReportedAt => "reported at",
            AdvisoryField::Packages => "add-on names",
            AdvisoryField::UpdatedSince => "updated since",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids_have_a_year_and_at_least_four_digits() {
        assert!(valid_cve("CVE-2026-1234"));
        assert!(valid_cve("CVE-2021-44228"));
        for bad in [
            "cve-2026-1234",
            "CVE-26-1234",
            "CVE-2026-123",
            "CVE-2026",
            "CVE-2026-12a4",
            "",
        ] {
            assert!(!valid_cve(bad), "{bad}");
        }
    }

    #[test]
    fn links_are_absolute_web_urls() {
        assert!(valid_link("https://example.com/advisory/1"));
        assert!(valid_link("http://example.com"));
        for bad in [
            "javascript:alert(1)",
            "/relative",
            "ftp://h/x",
            "https://h/a b",
            "",
        ] {
            assert!(!valid_link(bad), "{bad}");
        }
    }

    #[test]
    fn advisory_ids_look_like_packagists() {
        let id = new_advisory_id();
        assert_eq!(id.len(), "HRSA-aaaa-bbbb-cccc".len(), "{id}");
        assert!(id.starts_with("HRSA-"));
        assert_ne!(new_advisory_id(), id);
    }

    #[test]
    fn severities_round_trip() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("High"), None);
    }
}
