//! Security advisories: whoever manages an add-on (its owner, its organization's owners and
//! maintainers, an administrator) files one — title, the affected versions as a Composer
//! constraint, severity, CVE id, link, the date it was reported — and Composer reads them
//! (`composer audit`) from the repository's security-advisories API and its metadata files.
//! Everyone who may see an add-on sees its advisories; nobody else learns that they exist.

use std::collections::{BTreeMap, BTreeSet};

use chrono::DateTime;

use super::Services;
use super::packages::PackageError;
use crate::domain::advisory::{self, AdvisoryField, Severity};
use crate::domain::fields::FieldErrors;
use crate::domain::text::control_character;
use crate::domain::version::{Constraint, Version};
use crate::store::packages::{Advisory, Viewer};
use crate::store::{StoreError, Timestamp, now};

/// The most add-on names one query may ask about (a large project has a few hundred).
pub const MAX_QUERY_NAMES: usize = 5000;

/// Why an advisory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    /// Fields are invalid.
    #[error("{0}")]
    Invalid(FieldErrors<AdvisoryField>),
    /// The add-on is not found, or the caller may not change it.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An advisory as filed, in the words people typed.
#[derive(Debug, Clone, Default)]
pub struct AdvisorySpec {
    /// What is wrong, in a line (1 to 200 characters).
    pub title: Option<String>,
    /// The affected versions, a Composer constraint (`>=1.0,<1.2.3`).
    pub affected_versions: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: Option<String>,
    /// `CVE-2026-1234`.
    pub cve: Option<String>,
    /// An `http(s)` URL describing it.
    pub link: Option<String>,
    /// RFC 3339; now when not given.
    pub reported_at: Option<String>,
}

/// Which versions of a list an advisory affects, by its constraint (an advisory whose
/// stored constraint no longer parses affects none: it was valid when filed).
pub fn affects(advisory: &Advisory, version: &str) -> bool {
    match (
        Constraint::parse(&advisory.affected_versions),
        Version::parse(version),
    ) {
        (Ok(c), Ok(v)) => c.matches(&v),
        _ => false,
    }
}

/// The advisories service.
pub struct Advisories<'a>(pub(super) &'a Services);

impl Advisories<'_> {
    /// Files an advisory against `vendor/name`, by whoever manages it (its account, an
    /// owner or maintainer of its vendor's organization, an administrator; others who may
    /// see it are refused, the rest do not find it).
    pub async fn file(
        &self,
        viewer: Viewer,
        vendor: &str,
        name: &str,
        spec: AdvisorySpec,
    ) -> Result<Advisory, AdvisoryError> {
        let p = self.0.packages().managed(viewer, vendor, name).await?;
        let at = now();
        let mut errors = FieldErrors::new();
        let title = match spec.title.as_deref().map(str::trim) {
            None | Some("") => {
                errors.insert(AdvisoryField::Title, "is required");
                String::new()
            }
            Some(t) if t.chars().count() > 200 => {
                errors.insert(AdvisoryField::Title, "must be at most 200 characters");
                String::new()
            }
            Some(t) if control_character(t).is_some() => {
                errors.insert(AdvisoryField::Title, "must not contain control characters");
                String::new()
            }
            Some(t) => t.to_owned(),
        };
        let affected_versions = match spec.affected_versions.as_deref() {
            None => {
                errors.insert(AdvisoryField::AffectedVersions, "is required");
                String::new()
            }
            Some(c) => match Constraint::parse(c) {
                Ok(c) => c.as_str().to_owned(),
                Err(e) => {
                    errors.insert(
                        AdvisoryField::AffectedVersions,
                        format!("must be a Composer constraint: {e}"),
                    );
                    String::new()
                }
            },
        };
        let severity = match spec.severity.as_deref() {
            None => None,
            Some(s) => Severity::parse(s).or_else(|| {
                errors.insert(
                    AdvisoryField::Severity,
                    "must be low, medium, high or critical",
                );
                None
            }),
        };
        if let Some(c) = &spec.cve
            && !advisory::valid_cve(c)
        {
            errors.insert(AdvisoryField::Cve, "must be a CVE id such as CVE-2026-1234");
        }
        if let Some(l) = &spec.link
            && !advisory::valid_link(l)
        {
            errors.insert(
                AdvisoryField::Link,
                "must be an absolute http or https URL of at most 2000 characters",
            );
        }
        let reported_at = match spec.reported_at.as_deref() {
            None => at,
            Some(t) => match DateTime::parse_from_rfc3339(t) {
                // A report dated tomorrow is a mistake (time zones allowed for).
                Ok(d) if d.timestamp() <= at + 24 * 3600 && d.timestamp() >= 0 => d.timestamp(),
                Ok(_) => {
                    errors.insert(
                        AdvisoryField::ReportedAt,
                        "must not be in the future or before 1970",
                    );
                    at
                }
                Err(_) => {
                    errors.insert(
                        AdvisoryField::ReportedAt,
                        "must be an RFC 3339 date-time such as 2026-12-01T10:00:00Z",
                    );
                    at
                }
            },
        };
        errors.into_result().map_err(AdvisoryError::Invalid)?;
        let filed = Advisory {
            advisory_id: advisory::new_advisory_id(),
            package: p.name.clone(),
            title,
            affected_versions,
            severity,
            cve: spec.cve,
            link: spec.link,
            reported_at,
            created_at: at,
            updated_at: at,
        };
        match self.0.store().create_advisory(&filed).await {
            Ok(()) => {}
            // Deleted meanwhile.
            Err(StoreError::NotFound) => return Err(PackageError::NotFound(p.name).into()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(package = %filed.package, advisory = %filed.advisory_id, "advisory filed");
        Ok(filed)
    }

    /// The advisories of an add-on `viewer` may see, oldest report first.
    pub async fn of_package(
        &self,
        viewer: Viewer,
        vendor: &str,
        name: &str,
    ) -> Result<Vec<Advisory>, AdvisoryError> {
        let p = self.0.packages().visible(viewer, vendor, name).await?;
        Ok(self.0.store().package_advisories(&p.name).await?)
    }

    /// The advisories of an add-on already found visible (its Composer file).
    pub async fn of_visible(&self, package: &str) -> Result<Vec<Advisory>, AdvisoryError> {
        Ok(self.0.store().package_advisories(package).await?)
    }

    /// Packagist's security-advisories query: the advisories of the add-ons `names` (each
    /// visible one is in the answer, with an empty list when it has none; others are left
    /// out), or with no names, of every visible add-on; changed at or after
    /// `updated_since` (Unix seconds) when given. One of the two is required.
    pub async fn query(
        &self,
        viewer: Viewer,
        names: &[String],
        updated_since: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<Advisory>>, AdvisoryError> {
        let mut errors = FieldErrors::new();
        let since = match updated_since {
            None => None,
            Some(t) => match t.trim().parse::<i64>() {
                Ok(s) if s >= 0 => Some(s),
                _ => {
                    errors.insert(
                        AdvisoryField::UpdatedSince,
                        "must be a Unix timestamp (seconds)",
                    );
                    None
                }
            },
        };
        if names.is_empty() && updated_since.is_none() {
            errors.insert(
                AdvisoryField::Packages,
                "give the add-on names (packages[]) or updatedSince",
            );
        }
        if names.len() > MAX_QUERY_NAMES {
            errors.insert(
                AdvisoryField::Packages,
                format!("at most {MAX_QUERY_NAMES} names"),
            );
        }
        errors.into_result().map_err(AdvisoryError::Invalid)?;
        let store = self.0.store();
        let all: Vec<Advisory> = store.visible_advisories(viewer, since).await?;
        let mut out: BTreeMap<String, Vec<Advisory>> = BTreeMap::new();
        if names.is_empty() {
            for a in all {
                out.entry(a.package.clone()).or_default().push(a);
            }
            return Ok(out);
        }
        let asked: BTreeSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
        for name in store.visible_package_names(viewer).await? {
            if asked.contains(&name) {
                out.insert(name, Vec::new());
            }
        }
        for a in all {
            if let Some(list) = out.get_mut(&a.package) {
                list.push(a);
            }
        }
        Ok(out)
    }
}

/// The moment an advisory was reported, as Packagist writes it (`2026-12-01 10:00:00`,
/// UTC), which Composer reads.
pub fn packagist_time(t: Timestamp) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
