//! The use cases, above the store and below every front end. One module per family, each
//! with its own error enum (thiserror; no HTTP status, no API field names — invalid fields
//! are named by the domain's field enums, which each front end spells its own way):
//!
//! * [`accounts`] — creating accounts, one's own profile, administration, the first start;
//! * [`clients`] — an account's OAuth clients: register, change, delete, rotate the secret;
//! * [`tokens`] — API Access (list, revoke), presented access tokens (through the auth
//!   cache), revocation and introspection by value;
//! * [`grants`] — the token endpoint: one checklist per grant and the policy around them;
//! * [`keys`] — the keys that sign ID tokens: generation, rotation, the published JWKS;
//! * [`sessions`] — browser sessions, sign-in, consent, authorization codes;
//! * [`projects`] — projects and the add-ons bound to them;
//! * [`packages`] — the marketplace: publishing, listings, visibility, dists, vendors;
//! * [`advisories`] — security advisories of add-ons, as Composer reads them;
//! * [`downloads`] — download statistics from Composer's install notifications;
//! * [`dpop`] — DPoP proofs (RFC 9449): their replay cache and the server nonces;
//! * [`sync`] — the push webhook: accepting pushes, syncing an add-on from git;
//! * [`maintenance`] — the database's health, shutdown and purges.
//!
//! And the infrastructure they share: password hashing ([`password`]), the short-lived
//! cache of what authenticates requests ([`auth_cache`]), the Composer documents kept in
//! memory ([`registry_cache`]), the failed-credentials limiter
//! ([`limiter`]), running git ([`git`]) and resolving repository hosts ([`outbound`]).
//!
//! [`Services`] is built once — at startup, or by a command-line subcommand — and shared
//! by every front end: the JSON API, the HTML pages, the background jobs, the command line.

pub mod accounts;
pub mod advisories;
pub mod auth_cache;
pub mod clients;
pub mod downloads;
pub mod dpop;
pub mod git;
pub mod grants;
pub mod keys;
pub mod limiter;
pub mod maintenance;
pub mod orgs;
pub mod outbound;
pub mod packages;
pub mod password;
pub mod projects;
pub mod registry_cache;
pub mod sessions;
pub mod sync;
pub mod tokens;

use std::sync::Arc;

use crate::config::{LimitsConfig, OAuthConfig, PackagesConfig, ServeConfig};
use crate::store::Store;
use crate::store::dists::DistStore;
use auth_cache::AuthCache;
use limiter::CredentialLimiter;
use password::PasswordHasher;
use registry_cache::RegistryCache;

/// Every service, over one store. Cheap to clone (one shared pointer).
#[derive(Clone)]
pub struct Services(Arc<Core>);

/// What the services share.
struct Core {
    store: Arc<dyn Store>,
    hasher: PasswordHasher,
    cache: AuthCache,
    registry: RegistryCache,
    limiter: CredentialLimiter,
    dists: DistStore,
    oauth: OAuthConfig,
    limits: LimitsConfig,
    packages: PackagesConfig,
    pending_uses: Arc<tokens::PendingUses>,
    pending_downloads: downloads::PendingDownloads,
    dpop_nonce_key: tokio::sync::OnceCell<Vec<u8>>,
}

impl Services {
    /// The services over `store`, with the settings of `config` that concern them (token
    /// lifetimes, the failed-credentials limits, the auth cache, the marketplace).
    pub fn new(store: Arc<dyn Store>, hasher: PasswordHasher, config: &ServeConfig) -> Services {
        Services(Arc::new(Core {
            store,
            hasher,
            cache: AuthCache::new(config.auth_cache_ms),
            registry: RegistryCache::new(config.registry_cache_ms),
            limiter: CredentialLimiter::new(&config.limits),
            dists: DistStore::new(&config.packages.data_dir),
            oauth: config.oauth.clone(),
            limits: config.limits.clone(),
            packages: config.packages.clone(),
            pending_uses: Arc::default(),
            pending_downloads: downloads::PendingDownloads::default(),
            dpop_nonce_key: tokio::sync::OnceCell::new(),
        }))
    }

    /// Accounts: creation, profiles, administration, the first start.
    pub fn accounts(&self) -> accounts::Accounts<'_> {
        accounts::Accounts(self)
    }

    /// An account's OAuth clients.
    pub fn clients(&self) -> clients::Clients<'_> {
        clients::Clients(self)
    }

    /// The token endpoint's use case: the grants and the policy around them.
    pub fn grants(&self) -> grants::Grants<'_> {
        grants::Grants(self)
    }

    /// The keys that sign ID tokens.
    pub fn keys(&self) -> keys::Keys<'_> {
        keys::Keys(self)
    }

    /// An account's projects and the add-ons bound to them.
    pub fn projects(&self) -> projects::Projects<'_> {
        projects::Projects(self)
    }

    /// Browser sessions, sign-in, consent and authorization codes.
    pub fn sessions(&self) -> sessions::Sessions<'_> {
        sessions::Sessions(self)
    }

    /// The push webhook: accepting pushes and syncing add-ons from git.
    pub fn sync(&self) -> sync::Syncs<'_> {
        sync::Syncs(self)
    }

    /// Tokens: API Access, presented tokens, revocation and introspection.
    pub fn tokens(&self) -> tokens::Tokens<'_> {
        tokens::Tokens(self)
    }

    /// The database's health, shutdown and cleanup.
    pub fn maintenance(&self) -> maintenance::Maintenance<'_> {
        maintenance::Maintenance(self)
    }

    /// Organizations and their members.
    pub fn orgs(&self) -> orgs::Orgs<'_> {
        orgs::Orgs(self)
    }

    /// The marketplace: listings, publishing, changes, dists, vendors.
    pub fn packages(&self) -> packages::Packages<'_> {
        packages::Packages(self)
    }

    /// Security advisories of add-ons: filing them, and what Composer reads of them.
    pub fn advisories(&self) -> advisories::Advisories<'_> {
        advisories::Advisories(self)
    }

    /// Download statistics: Composer's install notifications, counted and flushed.
    pub fn downloads(&self) -> downloads::Downloads<'_> {
        downloads::Downloads(self)
    }

    /// The install counts not yet written.
    /// DPoP proofs and server nonces.
    pub fn dpop(&self) -> dpop::Dpop<'_> {
        dpop::Dpop(self)
    }

    fn dpop_nonce_key(&self) -> &tokio::sync::OnceCell<Vec<u8>> {
        &self.0.dpop_nonce_key
    }

    fn pending_downloads(&self) -> &downloads::PendingDownloads {
        &self.0.pending_downloads
    }

    /// The storage underneath, for test fixtures and tools. Front ends call the services,
    /// never this.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    /// Password hashing (its counters feed `/metrics`).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.0.hasher
    }

    /// Token and client lookups, briefly remembered.
    fn cache(&self) -> &AuthCache {
        &self.0.cache
    }

    /// The Composer documents of the anonymous view, kept in memory.
    fn registry(&self) -> &RegistryCache {
        &self.0.registry
    }

    /// The failed-credentials limiter.
    fn limiter(&self) -> &CredentialLimiter {
        &self.0.limiter
    }

    /// Where add-on dists are stored.
    fn dists(&self) -> &DistStore {
        &self.0.dists
    }

    /// Token lifetimes and the OAuth switches.
    fn oauth(&self) -> &OAuthConfig {
        &self.0.oauth
    }

    /// The failed-credentials limits.
    fn limits(&self) -> &LimitsConfig {
        &self.0.limits
    }

    /// The marketplace's settings.
    fn packages_config(&self) -> &PackagesConfig {
        &self.0.packages
    }

    /// The `lastUsedAt` writes still running.
    fn pending_uses(&self) -> &Arc<tokens::PendingUses> {
        &self.0.pending_uses
    }
}
