//! What the two web front ends — the JSON API ([`crate::http`]) and the HTML pages
//! ([`crate::pages`]) — share: the application state, built once at startup (the
//! [`Services`] and what only the front ends need: the configuration, the public URL, the
//! request rate limiters, the metrics, the webhook's sync queue), and the client-address
//! extractor both use for the failed-credentials limiter. Neither front end imports the
//! other.

pub mod ratelimit;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use uuid::Uuid;

use crate::config::ServeConfig;
use crate::jobs::sync::SyncRunner;
use crate::metrics::Metrics;
use crate::service::Services;
use ratelimit::WindowLimiter;

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
    /// The runner of the webhook's git syncs, which the webhook submits to.
    pub syncs: Arc<SyncRunner>,
    /// This application's metrics (its own recorder, not a process-wide one).
    pub metrics: Metrics,
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
    /// Builds the state around `services`, with the application's `metrics` and sync
    /// runner (which startup builds: the runner is a job, not part of the state).
    pub fn new(
        services: Services,
        config: ServeConfig,
        public_url: String,
        metrics: Metrics,
        syncs: Arc<SyncRunner>,
    ) -> AppState {
        let l = &config.limits;
        let limits = Limiters {
            token: WindowLimiter::new(l.rate_limit_token, l.rate_limit_window),
            anonymous: WindowLimiter::new(l.rate_limit_anonymous, l.rate_limit_window),
        };
        AppState(Arc::new(AppInner {
            services,
            syncs,
            metrics,
            public_url: public_url.trim_end_matches('/').into(),
            config: Arc::new(config),
            limits: Arc::new(limits),
        }))
    }

    /// An absolute URL for a path of this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.public_url, path)
    }

    /// The public URL's path without a trailing slash (`""` at the root). Pages link and
    /// redirect with paths, never absolute URLs, so that a browser stays on the host name
    /// or address it used (its cookies are that host's alone).
    pub fn base_path(&self) -> String {
        url::Url::parse(&self.public_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }

    /// A path of this server, under [`AppState::base_path`].
    pub fn path(&self, path: &str) -> String {
        format!("{}{}", self.base_path(), path)
    }
}

/// The client's address: the peer of the connection, or the last hop of
/// `X-Forwarded-For` when the deployment says a trusted proxy sets it.
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address of the client that sent a request with these headers and extensions.
    pub fn of(headers: &HeaderMap, extensions: &Extensions, state: &AppState) -> ClientAddr {
        if state.config.limits.trust_forwarded_for {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .next_back();
            if let Some(ip) = forwarded {
                return ClientAddr(ip);
            }
        }
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        ClientAddr(peer)
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(&parts.headers, &parts.extensions, state))
    }
}
