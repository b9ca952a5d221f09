//! The add-on marketplace: listings and search, one add-on with its versions, publishing
//! a version from its dist zip (the upload and the webhook's git sync publish the same
//! way), changing an add-on, downloading a dist, vendor ownership (including the
//! administrators' transfer) and what the Composer repository serves.
//!
//! Private add-ons are not found by anyone but their owner (under an organization's
//! vendor: the organization's members) and administrators; who sees and who manages an
//! add-on is decided by the store, in SQL ([`Access`]). A vendor belongs to the account
//! that first published under it, or to the organization it was given to; a deleted
//! version leaves a tombstone and is never published again; a published version never
//! changes.

use std::sync::Arc;

use uuid::Uuid;

use super::Services;
use super::outbound::{Unresolved, check_repository};
use super::registry_cache::{self, Document};
use crate::domain::archive::{self, Manifest};
use crate::domain::fields::FieldErrors;
use crate::domain::git::RepositoryCredentials;
use crate::domain::org::Role;
use crate::domain::outbound::{self, HostName, Repository, Transport};
use crate::domain::package::{
    self, PackageField, PackageName, PackageType, Visibility, valid_vendor,
};
use crate::domain::user::Username;
use crate::domain::version::Version;
use crate::store::dists::DistStore;
use crate::store::packages::{
    Abandoned, Access, NewVersion, Package, PackageChanges, PackageFilter, PackageVersion,
    Provenance, PublishOutcome, Vendor, Viewer,
};
use crate::store::{Page, StoreError, Timestamp, User, now};

/// Why a marketplace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Fields are invalid.
    #[error("{0}")]
    Invalid(FieldErrors<PackageField>),
    /// The dist is not a valid add-on archive.
    #[error("{0}")]
    InvalidArchive(String),
    /// No such add-on the caller may see.
    #[error("add-on {0} not found")]
    NotFound(String),
    /// No such version of a visible add-on.
    #[error("version {version} of {package} not found")]
    VersionNotFound {
        /// The add-on.
        package: String,
        /// The version asked for.
        version: String,
    },
    /// No such vendor.
    #[error("vendor {0} not found")]
    VendorNotFound(String),
    /// The add-on belongs to another account (which the caller may see).
    #[error("{0} belongs to another account")]
    NotOwner(String),
    /// Only who manages the add-on (its owner, its organization's owners and maintainers, an
    /// administrator) may change it.
    #[error("only the owner of {0} may change it")]
    NotEditor(String),
    /// The vendor belongs to another account, or to none (its account was deleted).
    #[error("the vendor {vendor} is not the caller's")]
    VendorOwned {
        /// The vendor.
        vendor: String,
        /// No account owns it: only an administrator can give it to one.
        orphaned: bool,
    },
    /// This version is already published.
    #[error("{package} {version} is already published")]
    VersionExists {
        /// The add-on.
        package: String,
        /// The version.
        version: String,
    },
    /// This version was published and deleted: it is never published again.
    #[error("{package} {version} was published and then deleted")]
    Tombstoned {
        /// The add-on.
        package: String,
        /// The version.
        version: String,
    },
    /// Publishing does not change an add-on's visibility.
    #[error("{package} is {current}; publishing does not change its visibility")]
    VisibilityMismatch {
        /// The add-on.
        package: String,
        /// Its visibility.
        current: Visibility,
    },
    /// Repository credentials are sent over https only, and the repository URL is not one.
    #[error("repository credentials are sent over https only; the repository URL is not https")]
    CredentialsNeedHttps,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing a dist failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn invalid(field: PackageField, message: impl Into<String>) -> PackageError {
    PackageError::Invalid(FieldErrors::one(field, message))
}

/// Sorts versions newest first (numeric order; branches after, by publication).
pub fn sort_newest_first(versions: &mut [PackageVersion]) {
    versions.sort_by(|a, b| {
        let (va, vb) = (Version::parse(&a.version), Version::parse(&b.version));
        match (va, vb) {
            (Ok(va), Ok(vb)) => match vb.compare(&va) {
                Some(o) => o,
                None => b.created_at.cmp(&a.created_at),
            },
            _ => b.created_at.cmp(&a.created_at),
        }
    });
}

/// The add-on and version a publish names: lower-case Composer names, a Composer version
/// that may be a file name.
pub fn publish_target(
    vendor: &str,
    name: &str,
    version: &str,
) -> Result<(PackageName, Version), PackageError> {
    let Some(package_name) = PackageName::from_parts(vendor, name) else {
        return Err(invalid(
            PackageField::Name,
            "vendor/name must be lower-case Composer names",
        ));
    };
    match Version::parse(version) {
        Ok(v) if package::valid_version_text(version) => Ok((package_name, v)),
        _ => Err(invalid(
            PackageField::Version,
            format!("{version:?} is not a Composer version"),
        )),
    }
}

/// A change to an add-on; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct PackageUpdate {
    /// Public or private.
    pub visibility: Option<Visibility>,
    /// Description.
    pub description: Option<Option<String>>,
    /// The git repository of the webhook.
    pub repository_url: Option<Option<String>>,
    /// The webhook's signing secret (write-only).
    pub webhook_secret: Option<Option<String>>,
    /// `username:token` for a private repository (write-only).
    pub repository_credentials: Option<Option<String>>,
    /// Abandons the add-on, or takes that back.
    pub abandoned: Option<AbandonSpec>,
}

/// Abandoning an add-on, as asked: `true`/`false`, or the name of its replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbandonSpec {
    /// Abandoned with no replacement (`true`), or maintained again (`false`).
    Flag(bool),
    /// Abandoned for this package (`vendor/name`).
    Replacement(String),
}

/// Where a repository URL points: transport, host and port (`None` for a local path or
/// an unparsable URL). Credentials belong to an origin.
fn origin(url: Option<&str>) -> Option<(Transport, HostName, u16)> {
    match outbound::parse_repository(url?, true) {
        Ok(Repository::Remote(r)) => Some((r.transport, r.host, r.port)),
        _ => None,
    }
}

/// The most metadata changes one answer reads.
const MAX_CHANGES: i64 = 10_000;

/// How long the change feed keeps a change (seconds): 30 days. The cleanup job forgets
/// older ones; a mirror that asks from before that is told to resync everything.
pub const CHANGE_RETENTION: i64 = 30 * 24 * 3600;

/// The change feed's time unit: ten-thousandths of a second, as Packagist counts.
const TICKS_PER_SECOND: i64 = 10_000;

/// What changed in the Composer metadata since a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataChanges {
    /// One action per add-on, oldest first.
    pub actions: Vec<ChangeAction>,
    /// Where to ask from next time (ten-thousandths of a second).
    pub timestamp: i64,
}

/// A change of one add-on's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeAction {
    /// Update or delete.
    pub kind: ChangeKind,
    /// `vendor/name`.
    pub package: String,
    /// When (Unix seconds).
    pub time: Timestamp,
}

/// What a mirror does about a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Fetch the add-on's metadata again.
    Update,
    /// Forget the add-on.
    Delete,
    /// Fetch everything again (`package` is `*`): the mirror asked from before the feed's
    /// retention, so changes it needs may be forgotten.
    Resync,
}

impl ChangeKind {
    /// `update`, `delete` or `resync`, as Packagist writes them.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Update => "update",
            ChangeKind::Delete => "delete",
            ChangeKind::Resync => "resync",
        }
    }
}

/// The packages service.
pub struct Packages<'a>(pub(super) &'a Services);

impl Packages<'_> {
    /// The add-on `vendor/name` if `viewer` may see it ([`PackageError::NotFound`] for an
    /// invalid name, an unknown add-on, or one it may not see).
    pub async fn visible(
        &self,
        viewer: Viewer,
        vendor: &str,
        name: &str,
    ) -> Result<Package, PackageError> {
        Ok(self.seen(viewer, vendor, name).await?.0)
    }

    /// The add-on `vendor/name` if `viewer` may see it, with what it may do with it
    /// (never [`Access::Hidden`]: that is [`PackageError::NotFound`], as for an unknown
    /// add-on or an invalid name).
    pub async fn seen(
        &self,
        viewer: Viewer,
        vendor: &str,
        name: &str,
    ) -> Result<(Package, Access), PackageError> {
        let full = format!("{vendor}/{name}");
        let Some(parsed) = PackageName::from_parts(vendor, name) else {
            return Err(PackageError::NotFound(full));
        };
        match self.0.store().package_for(parsed.as_str(), viewer).await {
            Ok((_, Access::Hidden)) | Err(StoreError::NotFound) => {
                Err(PackageError::NotFound(full))
            }
            Ok(seen) => Ok(seen),
            Err(e) => Err(e.into()),
        }
    }

    /// The add-on `vendor/name` if `viewer` manages it: its account (under an account's
    /// vendor), an owner or maintainer of its vendor's organization, or an administrator.
    /// Who may see it but not manage it is refused ([`PackageError::NotEditor`]); who may
    /// not see it does not find it.
    pub async fn managed(
        &self,
        viewer: Viewer,
        vendor: &str,
        name: &str,
    ) -> Result<Package, PackageError> {
        match self.seen(viewer, vendor, name).await? {
            (p, Access::Manage) => Ok(p),
            (p, _) => Err(PackageError::NotEditor(p.name)),
        }
    }

    /// A page of the add-ons `viewer` may see, by name: of one Composer type (`type`), and
    /// whose name or description holds `query` (at most 100 characters; blank: all).
    pub async fn list(
        &self,
        viewer: Viewer,
        package_type: Option<&str>,
        query: Option<&str>,
        page: Page,
    ) -> Result<(Vec<(Package, Access)>, u64), PackageError> {
        let mut filter = PackageFilter::default();
        if let Some(t) = package_type {
            let t = PackageType::parse(t).ok_or_else(|| {
                invalid(
                    PackageField::Type,
                    "must be harmony-extension, harmony-theme, harmony-translation or library",
                )
            })?;
            filter.package_type = Some(t);
        }
        if let Some(q) = query {
            let q = q.trim();
            if q.chars().count() > 100 {
                return Err(invalid(
                    PackageField::Query,
                    "must be at most 100 characters",
                ));
            }
            // No name or description can hold it, and PostgreSQL cannot take it as text.
            if q.contains('\0') {
                return Err(invalid(
                    PackageField::Query,
                    "must not contain the NUL character",
                ));
            }
            if !q.is_empty() {
                filter.query = Some(q.to_owned());
            }
        }
        Ok(self.0.store().list_packages(viewer, &filter, page).await?)
    }

    /// The versions of a visible add-on, newest first.
    pub async fn versions(&self, package: &Package) -> Result<Vec<PackageVersion>, PackageError> {
        let mut versions = self.0.store().package_versions(&package.name).await?;
        sort_newest_first(&mut versions);
        Ok(versions)
    }

    /// One version of a visible add-on.
    pub async fn version(
        &self,
        package: &Package,
        version: &str,
    ) -> Result<PackageVersion, PackageError> {
        match self.0.store().package_version(&package.name, version).await {
            Ok(v) => Ok(v),
            Err(StoreError::NotFound) => Err(PackageError::VersionNotFound {
                package: package.name.clone(),
                version: version.to_owned(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes of a version's dist.
    pub async fn dist(&self, v: &PackageVersion) -> Result<Vec<u8>, PackageError> {
        let path = self
            .0
            .dists()
            .path(&v.dist_path)
            .ok_or_else(|| anyhow::anyhow!("stored dist path is unsafe"))?;
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
            .await
            .map_err(|e| anyhow::anyhow!("dist read task: {e}"))?
            .map_err(|e| anyhow::anyhow!("dist {}: {e}", v.dist_path))?;
        Ok(bytes)
    }

    /// Before a publish by `publisher` (seen as `viewer`) reads its body: everything that
    /// refuses it whatever the bytes — the vendor is another account's, the add-on is (told
    /// only to who may see it), the visibility asked for differs from the add-on's, the
    /// version exists or was deleted. All of it is checked again, atomically, where the
    /// version is stored; checking first spares reading the body.
    pub async fn check_publish(
        &self,
        publisher: &User,
        viewer: Viewer,
        name: &PackageName,
        version: &str,
        visibility: Option<Visibility>,
    ) -> Result<(), PackageError> {
        let store = self.0.store();
        // The vendor first: whether an add-on exists under someone else's vendor is not told.
        match store.vendor(name.vendor()).await {
            Ok(v) if v.owner_id != Some(publisher.id) => {
                // An organization's vendor: its owners and maintainers publish under it.
                let member = match &v.owner_org {
                    Some(org) => store.member_role(org.as_str(), publisher.id).await?,
                    None => None,
                };
                if member.is_none_or(|r| r < Role::Maintainer) {
                    return Err(PackageError::VendorOwned {
                        vendor: name.vendor().to_owned(),
                        orphaned: v.owner_id.is_none() && v.owner_org.is_none(),
                    });
                }
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        match store.package_for(name.as_str(), viewer).await {
            // Who may see the add-on is told whose it is; others do not find it. (An
            // administrator manages every add-on but publishes only where the publisher
            // would: the store refuses it there.)
            Ok((_, Access::Hidden)) => return Err(PackageError::NotFound(name.to_string())),
            Ok((_, Access::Read)) => return Err(PackageError::NotOwner(name.to_string())),
            Ok((p, Access::Manage)) => {
                if visibility.is_some_and(|v| v != p.visibility) {
                    return Err(PackageError::VisibilityMismatch {
                        package: name.to_string(),
                        current: p.visibility,
                    });
                }
                match store.package_version(&p.name, version).await {
                    Ok(_) => {
                        return Err(PackageError::VersionExists {
                            package: name.to_string(),
                            version: version.to_owned(),
                        });
                    }
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        let normalized = Version::parse(version)
            .map_err(|e| invalid(PackageField::Version, e.to_string()))?
            .normalized();
        if store.tombstone(name.as_str(), &normalized).await?.is_some() {
            return Err(PackageError::Tombstoned {
                package: name.to_string(),
                version: version.to_owned(),
            });
        }
        Ok(())
    }

    /// Checks, stores and records one dist: `bytes` is the zip, `owner` the publisher,
    /// `visibility` the one asked for (a new add-on gets it, an existing one must have it),
    /// `provenance` who published it and how (recorded with the version).
    /// The first publish under a vendor gives the vendor to `owner`; the first publish of a
    /// name creates the add-on. A refused dist leaves no file behind.
    pub async fn publish<B>(
        &self,
        owner: Uuid,
        name: &PackageName,
        version_text: &str,
        visibility: Option<Visibility>,
        bytes: B,
        provenance: Provenance,
    ) -> Result<(Package, PackageVersion), PackageError>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        if bytes.as_ref().is_empty() {
            return Err(invalid(PackageField::Archive, "the body is empty"));
        }
        let version = Version::parse(version_text)
            .map_err(|e| invalid(PackageField::Version, e.to_string()))?;
        let limits = self.0.packages_config().archive_limits();
        let dists = self.0.dists().clone();
        let relative = DistStore::relative_path(name, version_text);
        let (name2, version2) = (name.clone(), version.clone());
        let checked = tokio::task::spawn_blocking(move || {
            let manifest = archive::inspect(bytes.as_ref(), &name2, &version2, &limits)?;
            let sums = package::checksums(bytes.as_ref());
            Ok::<_, archive::ArchiveError>((manifest, sums, bytes))
        })
        .await
        .map_err(|e| anyhow::anyhow!("zip inspection task: {e}"))?;
        let (manifest, sums, bytes) = checked.map_err(|e| PackageError::InvalidArchive(e.0))?;
        let size = bytes.as_ref().len();
        let Manifest {
            mut composer,
            package_type,
            description,
        } = manifest;
        let write_path = relative.clone();
        tokio::task::spawn_blocking(move || dists.write(&write_path, bytes.as_ref()))
            .await
            .map_err(|e| anyhow::anyhow!("dist write task: {e}"))?
            .map_err(|e| anyhow::anyhow!("cannot store the dist: {e}"))?;
        composer.insert(
            "type".into(),
            serde_json::Value::from(package_type.as_str()),
        );
        let new = NewVersion {
            owner_id: owner,
            visibility,
            package_type,
            description,
            version: PackageVersion {
                package: name.as_str().to_owned(),
                version: version_text.to_owned(),
                version_normalized: version.normalized(),
                manifest: serde_json::Value::Object(composer).to_string(),
                sha256: sums.sha256,
                shasum: sums.sha1,
                size: i64::try_from(size).unwrap_or(i64::MAX),
                dist_path: relative.clone(),
                created_at: now(),
                yanked: None,
                provenance: Some(provenance),
            },
        };
        let outcome = self.0.store().publish_version(&new).await;
        let refused = match outcome {
            Ok(PublishOutcome::Published(published)) => return Ok(*published),
            Ok(PublishOutcome::VersionExists) => PackageError::VersionExists {
                package: name.to_string(),
                version: version_text.to_owned(),
            },
            Ok(PublishOutcome::VendorOwned { orphaned }) => PackageError::VendorOwned {
                vendor: name.vendor().to_owned(),
                orphaned,
            },
            Ok(PublishOutcome::Tombstoned) => PackageError::Tombstoned {
                package: name.to_string(),
                version: version_text.to_owned(),
            },
            Ok(PublishOutcome::VisibilityMismatch(current)) => PackageError::VisibilityMismatch {
                package: name.to_string(),
                current,
            },
            Ok(PublishOutcome::NotOwner) => PackageError::NotOwner(name.to_string()),
            Ok(PublishOutcome::TypeMismatch(t)) => invalid(
                PackageField::Archive,
                format!("{name} is a {t}; composer.json must keep that type"),
            ),
            Err(e) => e.into(),
        };
        self.0.dists().remove(&relative);
        Err(refused)
    }

    /// Changes the add-on `vendor/name`: who manages it only (see [`Self::managed`]; others who
    /// can see it are refused, those who cannot do not find it). A repository URL passes
    /// the outbound-fetch policy as it would before a fetch (a name that does not resolve
    /// now is taken: every fetch resolves and checks again); credentials belong to the
    /// URL's origin and are dropped when it moves elsewhere, and are sent over https only.
    pub async fn update(
        &self,
        viewer: Viewer,
        vendor: &str,
        name: &str,
        update: PackageUpdate,
    ) -> Result<Package, PackageError> {
        let p = self.managed(viewer, vendor, name).await?;
        let mut errors = FieldErrors::new();
        if let Some(Some(d)) = &update.description
            && d.chars().count() > 1000
        {
            errors.insert(PackageField::Description, "must be at most 1000 characters");
        }
        let policy = self.0.packages_config().outbound_policy();
        let mut repository_url = None;
        match &update.repository_url {
            Some(Some(u)) => match check_repository(u, &policy, Unresolved::Accept).await {
                Ok(target) => repository_url = Some(Some(target.url().to_owned())),
                Err(refusal) => errors.insert(PackageField::RepositoryUrl, refusal.to_string()),
            },
            Some(None) => repository_url = Some(None),
            None => {}
        }
        let mut repository_credentials = match &update.repository_credentials {
            Some(Some(c)) => match RepositoryCredentials::parse(c) {
                Some(c) => Some(Some(c.expose().to_owned())),
                None => {
                    errors.insert(
                        PackageField::RepositoryCredentials,
                        "must be username:token (at most 1024 bytes, no control characters)",
                    );
                    None
                }
            },
            Some(None) => Some(None),
            None => None,
        };
        if let Some(Some(s)) = &update.webhook_secret
            && (s.len() < 8 || s.len() > 256)
        {
            errors.insert(PackageField::WebhookSecret, "must be 8 to 256 bytes");
        }
        let abandoned = match update.abandoned {
            None => None,
            Some(AbandonSpec::Flag(false)) => Some(Abandoned::No),
            Some(AbandonSpec::Flag(true)) => Some(Abandoned::Yes),
            Some(AbandonSpec::Replacement(r)) => match PackageName::parse(&r) {
                Some(n) if n.as_str() == p.name => {
                    errors.insert(PackageField::Abandoned, "cannot name the add-on itself");
                    None
                }
                Some(n) => Some(Abandoned::ReplacedBy(n.as_str().to_owned())),
                None => {
                    errors.insert(
                        PackageField::Abandoned,
                        "must be true, false or the replacement's vendor/name (lower case)",
                    );
                    None
                }
            },
        };
        errors.into_result().map_err(PackageError::Invalid)?;
        let url_after = match &repository_url {
            Some(u) => u.as_deref(),
            None => p.repository_url.as_deref(),
        };
        // Credentials were given for one host: moving the URL elsewhere (or removing it)
        // drops them, unless the same request gives new ones.
        if repository_credentials.is_none()
            && p.has_repository_credentials
            && repository_url.is_some()
            && p.repository_url.is_some()
            && origin(p.repository_url.as_deref()) != origin(url_after)
        {
            repository_credentials = Some(None);
        }
        let credentials_after = match &repository_credentials {
            Some(c) => c.is_some(),
            None => p.has_repository_credentials,
        };
        let https = origin(url_after).is_some_and(|(t, _, _)| t == Transport::Https);
        if credentials_after && url_after.is_some() && !https {
            return Err(PackageError::CredentialsNeedHttps);
        }
        let changes = PackageChanges {
            visibility: update.visibility,
            description: update.description,
            repository_url,
            webhook_secret: update.webhook_secret,
            repository_credentials,
            abandoned,
        };
        Ok(self.0.store().update_package(&p.name, &changes).await?)
    }

    /// Yanks version `version` of `vendor/name` with `reason` (1 to 500 characters), or
    /// (`None`) takes the yank back: who manages the add-on only. A yanked version
    /// stays published and downloadable, with the same bytes; the Composer repository
    /// stops offering it to new resolutions.
    pub async fn yank(
        &self,
        viewer: Viewer,
        vendor: &str,
        name: &str,
        version: &str,
        reason: Option<&str>,
    ) -> Result<PackageVersion, PackageError> {
        let p = self.managed(viewer, vendor, name).await?;
        // The limits apply to the reason as sent, so that what the document promises
        // (`maxLength`) is what is checked; trimming only tidies what is kept.
        let reason = match reason {
            None => None,
            Some(r) if r.trim().is_empty() => {
                return Err(invalid(PackageField::Yanked, "give a reason, or null"));
            }
            Some(r) if r.chars().count() > 500 => {
                return Err(invalid(
                    PackageField::Yanked,
                    "must be at most 500 characters",
                ));
            }
            Some(r) if crate::domain::text::control_character(r).is_some() => {
                return Err(invalid(
                    PackageField::Yanked,
                    "must not contain control characters",
                ));
            }
            Some(r) => Some(r.trim()),
        };
        match self
            .0
            .store()
            .yank_version(&p.name, version, reason, now())
            .await
        {
            Ok(v) => {
                tracing::info!(package = %p.name, version = %v.version, yanked = v.yanked.is_some(), "yank changed");
                Ok(v)
            }
            Err(StoreError::NotFound) => Err(PackageError::VersionNotFound {
                package: p.name,
                version: version.to_owned(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The changes of Composer metadata since `since` (ten-thousandths of a second since
    /// the epoch, as Packagist counts) that `viewer` may know of, one action per add-on
    /// (its latest), oldest first, and the timestamp to ask from next time. An add-on that
    /// was deleted, or that the viewer may no longer see, is a `Delete` to whoever saw it
    /// before. The members of the organization that has an add-on's vendor are told all of
    /// its changes, as its owner is. Without `since`: no actions, only the timestamp to
    /// start from. A `since` older than [`CHANGE_RETENTION`]: one `Resync` action.
    pub async fn metadata_changes(
        &self,
        viewer: Viewer,
        since: Option<&str>,
    ) -> Result<MetadataChanges, PackageError> {
        // Ten-thousandths of a second.
        let now = chrono::Utc::now().timestamp_micros() / 100;
        let Some(since) = since else {
            return Ok(MetadataChanges {
                actions: Vec::new(),
                timestamp: now,
            });
        };
        let since = match since.trim().parse::<i64>() {
            Ok(s) if s >= 0 => s,
            _ => {
                return Err(invalid(
                    PackageField::Since,
                    "must be a time in ten-thousandths of a second since 1970 (as Packagist's)",
                ));
            }
        };
        // As Packagist does: from before the retention, the answer is one `resync` action
        // and the timestamp to go on from once resynced.
        if since < now - CHANGE_RETENTION * TICKS_PER_SECOND {
            return Ok(MetadataChanges {
                actions: vec![ChangeAction {
                    kind: ChangeKind::Resync,
                    package: "*".to_owned(),
                    time: now / TICKS_PER_SECOND,
                }],
                timestamp: now,
            });
        }
        let rows = self
            .0
            .store()
            .metadata_changes(since, MAX_CHANGES, viewer)
            .await?;
        // A full page: the next one starts where this one ended (rows of that very moment
        // are read again, which repeats an action but loses none).
        let timestamp = if rows.len() as i64 >= MAX_CHANGES {
            rows.last().map_or(now, |r| r.at)
        } else {
            now
        };
        let mut latest: Vec<ChangeAction> = Vec::new();
        for r in rows {
            let sees_all = match viewer {
                Viewer::Admin(_) => true,
                Viewer::User(id) => r.owner_id == Some(id) || r.viewer_is_member,
                Viewer::Anonymous => false,
            };
            let kind = if sees_all {
                if r.deleted {
                    ChangeKind::Delete
                } else {
                    ChangeKind::Update
                }
            } else if r.is_public && !r.deleted {
                ChangeKind::Update
            } else if r.was_public {
                ChangeKind::Delete
            } else {
                continue;
            };
            latest.retain(|a| a.package != r.package);
            latest.push(ChangeAction {
                kind,
                package: r.package,
                time: r.at / 10_000,
            });
        }
        Ok(MetadataChanges {
            actions: latest,
            timestamp,
        })
    }

    /// The vendor `name` and who owns it.
    pub async fn vendor(&self, name: &str) -> Result<Vendor, PackageError> {
        if !valid_vendor(name) {
            return Err(PackageError::VendorNotFound(name.to_owned()));
        }
        self.0
            .store()
            .vendor(name)
            .await
            .map_err(|e| vendor_error(name, e))
    }

    /// Gives the vendor `name` to the owner of kind `kind` named `owner` — an account
    /// (`user`), the only kind there is — which alone publishes under it from then on (the
    /// add-ons already under it keep their owners).
    pub async fn transfer_vendor(
        &self,
        name: &str,
        kind: &str,
        owner: &str,
    ) -> Result<Vendor, PackageError> {
        if !valid_vendor(name) {
            return Err(PackageError::VendorNotFound(name.to_owned()));
        }
        if kind != "user" {
            return Err(invalid(
                PackageField::VendorOwnerKind,
                "must be \"user\" (the only kind of owner there is)",
            ));
        }
        let store = self.0.store();
        let unknown = || {
            invalid(
                PackageField::VendorOwner,
                format!("there is no account named {owner:?}"),
            )
        };
        let owner_name = Username::parse(owner).map_err(|_| unknown())?;
        let owner = match store.user_by_username(&owner_name).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        };
        let v = store
            .transfer_vendor(name, owner.id)
            .await
            .map_err(|e| vendor_error(name, e))?;
        tracing::info!(vendor = %v.name, owner = %owner.username, "vendor transferred");
        Ok(v)
    }

    /// The current epoch of the Composer document cache: take it before reading what a
    /// document is rendered from (see [`super::registry_cache`]).
    pub async fn registry_epoch(&self) -> Result<u64, PackageError> {
        Ok(self.0.registry().epoch(self.0.store().as_ref()).await?)
    }

    /// [`Packages::registry_epoch`] when it is known without asking the store.
    pub fn registry_epoch_now(&self) -> Option<u64> {
        self.0.registry().known_epoch(self.0.store().as_ref())
    }

    /// The anonymous view's Composer document `document` (`packages.json`,
    /// `p2/acme/lib.json`) of `epoch`, if it is kept in memory.
    pub fn cached_document(&self, document: &str, epoch: u64) -> Option<Arc<Document>> {
        self.0.registry().document(document, epoch)
    }

    /// The Composer document `document` rendered as `bytes`, with its validators: its
    /// digest and its stamp, unique to that content (see
    /// [`crate::store::PackageStore::document_stamp`]). With `keep`, the epoch taken before
    /// it was rendered, it is the anonymous view's and is kept in memory for the next
    /// caller.
    pub async fn document(
        &self,
        document: &str,
        bytes: Vec<u8>,
        keep: Option<u64>,
    ) -> Result<Arc<Document>, PackageError> {
        let digest = registry_cache::digest_of(&bytes);
        let stamp = self
            .0
            .store()
            .document_stamp(document, &digest, now())
            .await?;
        let rendered = Arc::new(Document::new(bytes, &digest, stamp, keep.unwrap_or(0)));
        if keep.is_some() {
            self.0.registry().keep(document, rendered.clone());
        }
        Ok(rendered)
    }

    /// The names of the public add-ons, read in `epoch` (from memory when kept).
    pub async fn public_names(&self, epoch: u64) -> Result<Arc<Vec<String>>, PackageError> {
        let cache = self.0.registry();
        if let Some(names) = cache.public_names(epoch) {
            return Ok(names);
        }
        let names = Arc::new(
            self.0
                .store()
                .visible_package_names(Viewer::Anonymous)
                .await?,
        );
        cache.keep_public_names(epoch, names.clone());
        Ok(names)
    }

    /// The add-ons `viewer` may see that are not public, by name: what it sees beyond the
    /// anonymous view.
    pub async fn private_names(&self, viewer: Viewer) -> Result<Vec<String>, PackageError> {
        if viewer == Viewer::Anonymous {
            return Ok(Vec::new());
        }
        Ok(self.0.store().private_package_names(viewer).await?)
    }
}

fn vendor_error(vendor: &str, e: StoreError) -> PackageError {
    match e {
        StoreError::NotFound => PackageError::VendorNotFound(vendor.to_owned()),
        e => e.into(),
    }
}
