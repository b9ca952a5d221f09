//! The application state the web front ends share, built once at startup: the
//! [`Services`] and what only the front ends need — the configuration, the public URL, the
//! request rate limiters, the metrics and the webhook's sync queue. Cloned per request,
//! so it is one shared pointer.

use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

use crate::config::ServeConfig;
use crate::http::ratelimit::WindowLimiter;
use crate::http::{metrics, sync_queue};
use crate::service::Services;

/// Everything a handler may need. Cloned per request and per extractor, so it is one
/// shared pointer ([`AppInner`] holds the parts).
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
    /// The use cases.
    pub services: Services,
    /// The configuration.
    pub config: Arc<ServeConfig>,
    /// The public base URL, without a trailing slash.
    pub public_url: Arc<str>,
    /// The request rate limiters.
    pub limits: Arc<Limiters>,
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

/// The request rate limiters of this node.
pub struct Limiters {
    /// Requests per access token.
    pub token: WindowLimiter<RateKey>,
    /// Requests per client address without a valid token.
    pub anonymous: WindowLimiter<RateKey>,
}

impl AppState {
    /// Builds the state around `services`.
    pub fn new(services: Services, config: ServeConfig, public_url: String) -> AppState {
        let l = &config.limits;
        let limits = Limiters {
            token: WindowLimiter::new(l.rate_limit_token, l.rate_limit_window),
            anonymous: WindowLimiter::new(l.rate_limit_anonymous, l.rate_limit_window),
        };
        AppState(Arc::new(AppInner {
            services,
            syncs: Arc::new(sync_queue::SyncQueue::new(
                config.packages.git_sync_queue,
                config.packages.git_concurrent_syncs,
            )),
            metrics: metrics::Metrics::new(),
            public_url: public_url.trim_end_matches('/').into(),
            config: Arc::new(config),
            limits: Arc::new(limits),
        }))
    }

    /// An absolute URL for a path of this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.public_url, path)
    }
}
