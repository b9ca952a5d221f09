//! The OAuth2 endpoints (RFC 6749 and friends). They speak the RFCs' formats, not our
//! envelope, and sit outside the request rate limits: failed credentials have their own
//! limiter ([`super::Limiters::failures`]).

pub mod token;

use axum::Router;
use axum::routing::get;

use super::AppState;

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/oauth/v2/token",
        get(token::issue_token).post(token::issue_token),
    )
}
