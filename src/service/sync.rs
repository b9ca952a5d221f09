//! The push webhook's use case, as Packagist answers GitHub: accepting a push (the
//! caller's add-ons that name the pushed repository, each add-on's signing secret, replayed
//! deliveries) and synchronising one add-on: its tags are fetched with git (where the
//! outbound-fetch policy lets it connect, [`super::git`]) and every tag that is a version
//! not yet published is published from `git archive`, the way an upload is
//! ([`super::packages`]). The queue that runs the syncs in the background is the job
//! runner's (`jobs::sync`).

use std::collections::HashSet;
use std::time::Duration;

use uuid::Uuid;

use super::Services;
use super::git::{self, GitError, GitOptions};
use crate::domain::git::{RepositoryCredentials, mirror_dir, repository_key};
use crate::domain::outbound::Refusal;
use crate::domain::package::{self, PackageName};
use crate::domain::version::Version;
use crate::store::packages::{Package, Provenance, Source};
use crate::store::{StoreError, StoreResult, User, now};

/// Longest delivery id accepted.
const MAX_DELIVERY_ID: usize = 128;

/// Why a push is refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The push names no repository at all.
    #[error("the push names no repository")]
    NoRepository,
    /// None of the caller's add-ons names the pushed repository.
    #[error("no add-on of yours names this repository")]
    NoAddon,
    /// An add-on has a secret and the push is not signed with it.
    #[error("the signature is missing or does not match the add-on's secret")]
    InvalidSignature,
    /// The delivery id is empty or too long.
    #[error("invalid delivery id")]
    InvalidDelivery,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A push, as the webhook received it.
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    /// The repository URLs the payload names (any of its spellings).
    pub repository_urls: &'a [&'a str],
    /// The raw body, which the signature covers.
    pub body: &'a [u8],
    /// `sha256=HEX`, if the push is signed.
    pub signature: Option<&'a str>,
    /// The delivery id, if given (a replayed one is acknowledged and ignored).
    pub delivery: Option<&'a str>,
}

/// What to do with an accepted push.
#[derive(Debug)]
pub enum Accepted {
    /// Sync these add-ons (`vendor/name`).
    Sync(Vec<String>),
    /// The delivery was seen before: nothing to do.
    Replayed,
}

/// How a sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    /// The tags were read; this many new versions were published.
    Synced {
        /// Versions published.
        published: u32,
    },
    /// The add-on was deleted or changed owner since the push: nothing was done.
    Skipped,
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The outbound-fetch policy refused the repository: nothing was contacted.
    #[error("repository refused: the URL {0}")]
    Refused(Refusal),
    /// git, the store or the add-on's settings failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Failed(e.into())
    }
}

impl From<GitError> for SyncError {
    fn from(e: GitError) -> Self {
        match e {
            GitError::Refused(r) => SyncError::Refused(r),
            e => SyncError::Failed(e.into()),
        }
    }
}

/// The sync service.
pub struct Syncs<'a>(pub(super) &'a Services);

impl Syncs<'_> {
    /// Accepts a push of `owner`: the add-ons of `owner` whose repository is one the push
    /// names, each signed with its secret if it has one; a delivery seen before is
    /// acknowledged and ignored (a new one is recorded).
    pub async fn accept_push(
        &self,
        owner: &User,
        push: Push<'_>,
    ) -> Result<Accepted, WebhookError> {
        let keys: HashSet<String> = push
            .repository_urls
            .iter()
            .map(|u| repository_key(u))
            .collect();
        if keys.is_empty() {
            return Err(WebhookError::NoRepository);
        }
        let store = self.0.store();
        let packages: Vec<Package> = store
            .packages_with_repository(owner.id)
            .await?
            .into_iter()
            .filter(|p| {
                p.repository_url
                    .as_deref()
                    .is_some_and(|u| keys.contains(&repository_key(u)))
            })
            .collect();
        if packages.is_empty() {
            return Err(WebhookError::NoAddon);
        }
        for p in &packages {
            if let Some(secret) = store.webhook_secret(&p.name).await? {
                let valid = push
                    .signature
                    .is_some_and(|s| package::verify_signature(&secret, push.body, s));
                if !valid {
                    return Err(WebhookError::InvalidSignature);
                }
            }
        }
        if let Some(delivery) = push.delivery {
            if delivery.is_empty() || delivery.len() > MAX_DELIVERY_ID {
                return Err(WebhookError::InvalidDelivery);
            }
            if !store.record_delivery(delivery, now()).await? {
                return Ok(Accepted::Replayed);
            }
        }
        Ok(Accepted::Sync(
            packages.into_iter().map(|p| p.name).collect(),
        ))
    }

    /// Forgets a recorded delivery whose push was not taken (a full queue), so that its
    /// redelivery does not count as a replay.
    pub async fn forget_delivery(&self, delivery: &str) -> StoreResult<()> {
        self.0.store().forget_delivery(delivery).await
    }

    /// Synchronises the add-on `package` of `owner` (the add-on as it is now: the push may
    /// be older than a change of its URL or owner). The caller holds the add-on's mirror
    /// lock: one sync per add-on at a time.
    pub async fn sync_package(&self, owner: Uuid, package: &str) -> Result<SyncOutcome, SyncError> {
        let p = match self.0.store().package(package).await {
            Ok(p) if p.owner_id == owner => p,
            Ok(_) | Err(StoreError::NotFound) => return Ok(SyncOutcome::Skipped),
            Err(e) => return Err(e.into()),
        };
        let published = self.publish_new_tags(&p).await?;
        Ok(SyncOutcome::Synced { published })
    }

    /// Publishes every tag of the add-on's repository that is a version it does not have.
    async fn publish_new_tags(&self, p: &Package) -> Result<u32, SyncError> {
        let store = self.0.store();
        let name = PackageName::parse(&p.name).ok_or_else(|| anyhow::anyhow!("bad name"))?;
        let url = p
            .repository_url
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no repository"))?;
        let credentials = match store.repository_credentials(&p.name).await? {
            Some(c) => Some(
                RepositoryCredentials::parse(&c)
                    .ok_or_else(|| anyhow::anyhow!("stored repository credentials are invalid"))?,
            ),
            None => None,
        };
        let cfg = self.0.packages_config();
        let options = GitOptions {
            policy: cfg.outbound_policy(),
            timeout: Duration::from_secs(cfg.git_timeout.max(1)),
            max_archive: cfg.package_upload_limit,
            home: cfg.data_dir.join("git").join(".home"),
        };
        let mirror = mirror_dir(&cfg.data_dir, &name);
        let tags = git::fetch_tags(&mirror, &url, credentials.as_ref(), &options).await?;
        let have: HashSet<String> = store
            .package_versions(&p.name)
            .await?
            .into_iter()
            .map(|v| v.version_normalized)
            .collect();
        let mut new: Vec<(Version, String)> = tags
            .into_iter()
            .filter_map(|t| Version::parse(&t).ok().map(|v| (v, t)))
            .filter(|(v, _)| !v.is_dev() && !have.contains(&v.normalized()))
            .collect();
        new.sort_by(|a, b| a.0.compare(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        let mut published = 0;
        for (_, tag) in new {
            let zip = match git::archive_tag(&mirror, &tag, &options).await {
                Ok(z) => z,
                Err(e) => {
                    tracing::warn!(package = %p.name, tag, error = %e, "cannot archive tag");
                    continue;
                }
            };
            // Provenance: the commit is worth having but not worth refusing the tag for.
            let commit = match git::tag_commit(&mirror, &tag, &options).await {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(package = %p.name, tag, error = %e, "cannot read the tag's commit");
                    None
                }
            };
            let provenance = Provenance {
                publisher_kind: "user".to_owned(),
                publisher_name: p.owner_username.to_string(),
                token_id: None,
                source: Source::Webhook { commit },
            };
            let outcome = self
                .0
                .packages()
                .publish(p.owner_id, &name, &tag, None, zip, provenance)
                .await;
            match outcome {
                Ok(_) => {
                    published += 1;
                    tracing::info!(package = %p.name, tag, "published from git");
                }
                Err(e) => tracing::warn!(package = %p.name, tag, error = %e, "tag not published"),
            }
        }
        Ok(published)
    }
}
