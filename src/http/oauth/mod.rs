//! The OAuth2 endpoints that clients call (RFC 6749 and friends): token, revocation,
//! introspection, metadata. They speak the RFCs' formats, not our envelope, and sit
//! outside the request rate limits: failed credentials have their own limiter
//! ([`crate::service::limiter`]). The authorization endpoint, which people use in a
//! browser, is an HTML page ([`crate::pages`]).

pub mod client_auth;
pub mod introspect;
pub mod metadata;
pub mod revoke;
pub mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/v2/token",
            get(token::issue_token).post(token::issue_token),
        )
        .route("/oauth/v2/revoke", post(revoke::revoke_token))
        .route("/oauth/v2/introspect", post(introspect::introspect_token))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::get_metadata),
        )
}
