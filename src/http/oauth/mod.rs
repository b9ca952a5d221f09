//! The OAuth2 endpoints that clients call (RFC 6749 and friends): token, revocation,
//! introspection, metadata, the signing keys (JWKS), pushed authorization requests. They speak the RFCs' formats, not our envelope, and sit
//! outside the request rate limits: failed credentials have their own limiter
//! ([`crate::service::limiter`]). The authorization endpoint, which people use in a
//! browser, is an HTML page ([`crate::pages`]).

pub mod client_auth;
pub mod introspect;
pub mod keys;
pub mod metadata;
pub mod par;
pub mod revoke;
pub mod token;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token::get_token, token::create_token))
        .routes(routes!(revoke::revoke_oauth_token))
        .routes(routes!(introspect::introspect_token))
        .routes(routes!(metadata::get_metadata))
        .routes(routes!(metadata::get_openid_configuration))
        .routes(routes!(metadata::get_resource_metadata))
        .routes(routes!(keys::get_jwks))
        .routes(routes!(par::push_authorization_request))
}
