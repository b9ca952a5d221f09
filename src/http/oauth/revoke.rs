//! `POST /oauth/v2/revoke` (RFC 7009): a client revokes one of its own tokens. Revoking an
//! access or a refresh token revokes its whole grant (the family: every token descended
//! from the same authorization). The answer is `200` whether or not the token was known
//! or belonged to the client, so that it reveals nothing (RFC 7009 §2.2).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use utoipa::ToSchema;

use super::client_auth;
use crate::http::error::OAuthError;
use crate::http::error::responses::{
    OAuthBadRequest, OAuthPayloadTooLarge, OAuthTooManyRequests, OAuthUnauthorized,
};
use crate::state::AppState;
use crate::state::ClientAddr;

/// The parameters of a revocation or introspection request (a form body).
// Read by `client_auth::token_query`; this type describes them.
#[derive(ToSchema)]
pub struct TokenQueryForm {
    /// The token.
    pub token: String,
    /// `access_token` or `refresh_token`: which kind is searched first (an unknown hint
    /// is ignored).
    pub token_type_hint: Option<String>,
    /// The client (or HTTP Basic).
    pub client_id: Option<String>,
    /// The client's secret (or HTTP Basic; none for a public client).
    pub client_secret: Option<String>,
}

/// Token revocation (RFC 7009)
///
/// Revokes the token and every token of its grant. `200` also for an unknown token or
/// another client's (which is left alone), so that the answer reveals nothing.
#[utoipa::path(
    post,
    path = "/oauth/v2/revoke",
    tag = "oauth",
    security(("clientBasic" = []), ()),
    request_body(content = TokenQueryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or the token was unknown (`Cache-Control: no-store`)."),
        (status = 400, response = OAuthBadRequest),
        (status = 401, response = OAuthUnauthorized),
        (status = 413, response = OAuthPayloadTooLarge),
        (status = 429, response = OAuthTooManyRequests),
    )
)]
pub async fn revoke_oauth_token(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let query = client_auth::token_query(
        &state,
        addr,
        &method,
        &headers,
        query.as_deref(),
        body,
        false,
    )
    .await?;
    state
        .services
        .tokens()
        .revoke_presented(&query.client.client, &query.token, query.hint.as_deref())
        .await
        .map_err(OAuthError::server_error)?;
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
