//! The application state every web front end shares, built once at startup: the parts
//! handlers need, cloned per request as one shared pointer.

use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

use crate::config::ServeConfig;
use crate::domain::package::DistStore;
use crate::domain::password::PasswordHasher;
use crate::http::attempts::CredentialLimiter;
use crate::http::ratelimit::WindowLimiter;
use crate::http::{cache, metrics, sync_queue};
use crate::store::Store;

/// Everything a handler may need, built once at startup. Cloned per request and per
/// extractor, so it is one shared pointer ([`AppInner`] holds the parts).
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

impl std::ops::Deref for AppState {
    type Target = AppInner;

    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct AppInner {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Password hashing.
    pub hasher: PasswordHasher,
    /// The configuration.
    pub config: Arc<ServeConfig>,
    /// The public base URL, without a trailing slash.
    pub public_url: Arc<str>,
    /// The rate limiters.
    pub limits: Arc<Limiters>,
    /// Token and client lookups, briefly remembered.
    pub cache: Arc<cache::AuthCache>,
    /// Where add-on dists are stored.
    pub dists: DistStore,
    /// The webhook's git syncs: a queue per owner, one sync per add-on at a time.
    pub syncs: Arc<sync_queue::SyncQueue>,
    /// This application's metrics (its own recorder, not a process-wide one).
    pub metrics: metrics::Metrics,
}

/// Key of the request limiter: the token when there is a valid one, else the address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// A valid access token.
    Token(Uuid),
    /// A client address.
    Addr(IpAddr),
}

/// The rate limiters of this node.
pub struct Limiters {
    /// Requests per access token.
    pub token: WindowLimiter<RateKey>,
    /// Requests per client address without a valid token.
    pub anonymous: WindowLimiter<RateKey>,
    /// Failed credential checks (counted in the database, shared by every node).
    pub credentials: CredentialLimiter,
}

impl AppState {
    /// Builds the state from its parts.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: PasswordHasher,
        config: ServeConfig,
        public_url: String,
    ) -> AppState {
        let l = &config.limits;
        let limits = Limiters {
            token: WindowLimiter::new(l.rate_limit_token, l.rate_limit_window),
            anonymous: WindowLimiter::new(l.rate_limit_anonymous, l.rate_limit_window),
            credentials: CredentialLimiter::new(l),
        };
        let dists = DistStore::new(&config.packages.data_dir);
        AppState(Arc::new(AppInner {
            dists,
            syncs: Arc::new(sync_queue::SyncQueue::new(
                config.packages.git_sync_queue,
                config.packages.git_concurrent_syncs,
            )),
            metrics: metrics::Metrics::new(),
            store,
            hasher,
            public_url: public_url.trim_end_matches('/').into(),
            cache: Arc::new(cache::AuthCache::new(config.auth_cache_ms)),
            config: Arc::new(config),
            limits: Arc::new(limits),
        }))
    }

    /// An absolute URL for a path of this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.public_url, path)
    }
}
