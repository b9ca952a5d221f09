//! The JSON API front end: the router with its layers, extractors, the error envelopes
//! ([`error`]), and one module per endpoint family. A handler extracts what it needs,
//! calls a service ([`crate::service`]), maps the service's error once (the
//! `From<…Error> for ApiError` of [`error`]) and renders the answer as a typed body.
//!
//! Every route is registered through `utoipa_axum`'s `routes!(handler)`, which takes the
//! path and methods from the handler's `#[utoipa::path]` annotation and adds the
//! operation to the OpenAPI document ([`openapi`]) in the same step.

pub mod admin;
pub mod advisories;
pub mod auth;
pub mod clients;
pub mod composer;
pub mod docs;
pub mod downloads;
pub mod error;
pub mod extract;
pub mod hot;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod openapi;
pub mod orgs;
pub mod packages;
pub mod paging;
pub mod projects;
pub mod root;
pub mod tokens;
pub mod user;
pub mod userinfo;
pub mod webhook;

use std::convert::Infallible;

use axum::extract::Request;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::Uri;
use axum::response::IntoResponse as _;
use axum::response::Response;
use tower::Service;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The whole application: the JSON API's routes, the routes of the other web front ends
/// (`pages`: the HTML pages, given by startup, so that neither front end imports the
/// other), and the layers every response goes through, as one service. An unknown path
/// is answered by `pages_not_found` when it belongs to the pages (an HTML 404), else by
/// the API's 404 envelope. The OpenAPI
/// document is assembled from the same routers and published at `/openapi.json`.
pub fn router(
    state: AppState,
    pages: OpenApiRouter<AppState>,
    pages_not_found: fn(&AppState, &Uri) -> Option<Response>,
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
    let auth = auth::AuthenticateLayer::new(&state);
    let body_limit = state.config.limits.body_limit;

    // Resource endpoints: token presentation, rate limits.
    let api = OpenApiRouter::new()
        .merge(root::router())
        .merge(user::router())
        .merge(userinfo::router())
        .merge(tokens::router())
        .merge(clients::router())
        .merge(admin::router())
        .merge(projects::router())
        .merge(orgs::router())
        .merge(packages::router(state.config.packages.package_upload_limit))
        .merge(composer::router())
        .merge(advisories::router())
        .merge(downloads::router())
        .merge(webhook::router())
        .route_layer(auth.clone());

    let document = openapi::Published::default();
    let unauthenticated = OpenApiRouter::new()
        .merge(root::unmetered_router())
        .merge(oauth::router())
        .merge(pages)
        .merge(docs::router(document.clone()))
        .route_layer(metrics::TagRouteLayer);

    let (routes, mut api_document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(api)
        .merge(unauthenticated)
        .split_for_parts();
    openapi::finish(&mut api_document);
    if let Err(e) = document.publish(&api_document) {
        // `/openapi.json` then answers 500; nothing else depends on it.
        tracing::error!(error = %e, "the OpenAPI document could not be serialized");
    }

    let inner = routes
        .fallback(move |State(state): State<AppState>, uri: Uri| async move {
            match pages_not_found(&state, &uri) {
                Some(page) => page,
                None => middleware::not_found().await.into_response(),
            }
        })
        .with_state(state);

    // The edge wraps the whole router as one service (not each route, as `Router::layer`
    // would), so that it sees the `Allow` header axum adds to a 405. No outer `Router`:
    // that would match every request a second time.
    let full = ServiceBuilder::new()
        .layer(middleware::EdgeLayer::new(metrics.clone()))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        // Around the router, not on each route (`Router::layer`): a route's own limit, set
        // inside, still overrides it, and no request pays for one more boxed route.
        .layer(DefaultBodyLimit::max(body_limit))
        .service(inner);
    hot::Hot::new(full, auth, metrics)
}
