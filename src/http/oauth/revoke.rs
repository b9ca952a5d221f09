//! `POST /oauth/v2/revoke` (RFC 7009): a client revokes one of its own tokens. Revoking an
//! access or a refresh token revokes its whole grant (the family: every token descended
//! from the same authorization). The answer is `200` whether or not the token was known
//! or belonged to the client, so that it reveals nothing (RFC 7009 §2.2).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::client_auth;
use crate::http::error::OAuthError;
use crate::state::AppState;
use crate::state::ClientAddr;

/// `POST /oauth/v2/revoke`.
pub async fn revoke_token(
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
