//! The HTTP face of the server: the application state, the router with its layers, and
//! one module per endpoint family.

pub mod admin;
pub mod attempts;
pub mod auth;
pub mod cache;
pub mod clients;
pub mod composer;
pub mod docs;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod openapi;
pub mod packages;
pub mod paging;
pub mod projects;
pub mod ratelimit;
pub mod root;
pub mod session;
pub mod settings;
pub mod sync_queue;
pub mod tokens;
pub mod user;
pub mod webhook;

use std::net::IpAddr;
use std::sync::Arc;

use std::convert::Infallible;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::response::Response;
use tower::Service;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use uuid::Uuid;

use crate::config::ServeConfig;
use crate::domain::package::DistStore;
use crate::domain::password::PasswordHasher;
use crate::store::Store;
use attempts::CredentialLimiter;
use ratelimit::WindowLimiter;

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

/// The whole application: every route and every layer, as one service.
pub fn router(
    state: AppState,
) -> impl Service<
    Request,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone
+ Send
+ Sync
+ 'static {
    let metrics = state.metrics.clone();

    // Resource endpoints: token presentation, rate limits.
    let api = Router::new()
        .merge(root::router())
        .merge(user::router())
        .merge(tokens::router())
        .merge(clients::router())
        .merge(admin::router())
        .merge(projects::router())
        .merge(packages::router(state.config.packages.package_upload_limit))
        .merge(composer::router())
        .merge(webhook::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));

    let unauthenticated = Router::new()
        .merge(root::unmetered_router())
        .merge(oauth::router())
        .merge(settings::router())
        .merge(docs::router())
        .route_layer(axum::middleware::from_fn(metrics::tag_route));

    let inner = Router::new()
        .merge(api)
        .merge(unauthenticated)
        .fallback(middleware::not_found)
        .layer(DefaultBodyLimit::max(state.config.limits.body_limit))
        .with_state(state);

    // The edge wraps the whole router as one service (not each route, as `Router::layer`
    // would), so that it sees the `Allow` header axum adds to a 405. No outer `Router`:
    // that would match every request a second time.
    ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            middleware::edge,
        ))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .service(inner)
}
