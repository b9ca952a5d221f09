//! The HTML front end: the pages a person uses directly in a browser — the authorization
//! endpoint's sign-in and consent (`/oauth/v2/auth`, [`authorize`]), RP-initiated logout
//! (`/oauth/v2/logout`, [`logout`]) and the console
//! (`/console`, [`console`]: tokens, applications; `/settings/api` leads there). They call
//! the same services as the JSON API and render their own errors; the browser session,
//! its cookie and the CSRF token are [`session`]'s, the message carried across a redirect
//! [`flash`]'s, the shared HTML [`layout`]'s. Nothing here imports the JSON API
//! ([`crate::http`]); what both share (the application state, the client address) is in
//! [`crate::state`].

pub mod authorize;
pub mod console;
pub mod flash;
pub mod layout;
pub mod logout;
pub mod session;

use axum::http::Uri;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Every page's route (outside the API's token authentication and rate limits), each in
/// the OpenAPI document too (as HTML answers), since the routes are registered from their
/// handlers' `#[utoipa::path]` annotations.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            authorize::get_authorization,
            authorize::submit_authorization
        ))
        .routes(routes!(logout::get_logout, logout::submit_logout))
        .merge(console::router())
}

/// The answer to an unknown path that belongs to the pages (under `/console`): an HTML
/// 404 in the console's frame. `None` for any other path, which the JSON API answers.
pub fn not_found(state: &AppState, uri: &Uri) -> Option<Response> {
    let path = uri.path();
    (path == "/console" || path.starts_with("/console/")).then(|| console::not_found(state))
}

/// The type of every page.
pub(crate) const HTML: &str = "text/html; charset=utf-8";
