//! `GET|POST /userinfo` (OpenID Connect Core §5.3): the claims about the user that the
//! access token's scope releases. The token is presented as on every resource endpoint
//! (`docs/api.md` §3) and must carry `openid`; errors are RFC 6750 §3's (`401
//! invalid_token`, `403 insufficient_scope`, with `WWW-Authenticate`).

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Openid, UserCaller};
use crate::domain::id_token::{Person, UserClaims};
use crate::http::error::responses::{BadRequest, Forbidden, TooManyRequests, Unauthorized};
use crate::state::AppState;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_userinfo, post_userinfo))
}

/// The claims about the user (OpenID Connect Core §5.1), by the token's scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    /// The stable user id (the ID token's `sub`).
    sub: String,
    /// Display name (scope `profile`, when the account has one).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Username (scope `profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<String>,
    /// Email address (scope `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// Always `false` (scope `email`): this server does not verify addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

impl From<UserClaims> for UserInfo {
    fn from(c: UserClaims) -> Self {
        UserInfo {
            sub: c.sub,
            name: c.name,
            preferred_username: c.preferred_username,
            email: c.email,
            email_verified: c.email_verified,
        }
    }
}

fn userinfo(caller: UserCaller<Openid>) -> Response {
    let user = &caller.user;
    let person = Person {
        id: user.id,
        username: &user.username,
        name: user.name.as_ref(),
        email: &user.email,
    };
    let claims = UserInfo::from(UserClaims::of(person, caller.token.scope));
    // Personal data: no cache may keep it.
    ([(header::CACHE_CONTROL, "no-store")], Json(claims)).into_response()
}

/// The user's claims (OpenID Connect userinfo)
///
/// `sub` always; `name` and `preferred_username` with `profile`; `email` and
/// `email_verified` with `email`. The token must hold `openid`.
#[utoipa::path(
    get,
    path = "/userinfo",
    tag = "oauth",
    security(("accessToken" = ["openid"])),
    responses(
        (status = 200, description = "The claims.", body = UserInfo),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_userinfo(caller: UserCaller<Openid>) -> Response {
    userinfo(caller)
}

/// The user's claims (OpenID Connect userinfo, POST)
///
/// As `GET /userinfo`; the token travels in the `Authorization` header (a body is
/// ignored).
#[utoipa::path(
    post,
    path = "/userinfo",
    tag = "oauth",
    security(("accessToken" = ["openid"])),
    responses(
        (status = 200, description = "The claims.", body = UserInfo),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn post_userinfo(caller: UserCaller<Openid>) -> Response {
    userinfo(caller)
}
