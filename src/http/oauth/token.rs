//! `GET|POST /oauth/v2/token`: parses the request (query for GET, form body for POST) and
//! how the client identified itself ([`super::client_auth`]: parameters or HTTP Basic,
//! never both), hands it to the grants service ([`crate::service::grants`]: client
//! authentication behind the failed-credentials limiter, the password-grant switch, the
//! client's allow-list, the grant's checklist) and renders the documented answer: `{"access_token", "expires_in",
//! "token_type", "scope", "refresh_token"}` in that order. GET is the documented legacy
//! form; the authorization_code grant, which has no legacy, must be POSTed (RFC 6749 §3.2),
//! so that codes and verifiers stay out of URLs.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::client_auth;
use crate::domain::{GrantType, PlainSecret};
use crate::http::error::OAuthError;
use crate::service::grants::{GrantError, IssuedTokens, TokenRequest};
use crate::state::AppState;
use crate::state::ClientAddr;

/// The documented answer; field order is the wire order.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    expires_in: i64,
    token_type: &'static str,
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

/// `GET|POST /oauth/v2/token`.
pub async fn issue_token(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let outcome = issue(state.clone(), addr, method, headers, query, body).await;
    match &outcome {
        Ok((grant_type, _)) => state.metrics.token_issued(*grant_type),
        Err(e) => state.metrics.token_error(e.error),
    }
    outcome.map(|(_, response)| response)
}

/// The token request proper; answers the grant type with the tokens for the metrics.
async fn issue(
    state: AppState,
    addr: std::net::IpAddr,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(GrantType, Response), OAuthError> {
    let mut params = client_auth::request_params(&method, &headers, query.as_deref(), body)?;
    let client = client_auth::client_auth(&headers, &mut params)?;

    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("the grant_type parameter is required"))?;
    let grant_type = GrantType::parse(grant_type)
        .ok_or_else(|| OAuthError::from_grant(GrantError::UnsupportedGrantType, client.basic))?;

    if grant_type == GrantType::AuthorizationCode && method != Method::POST {
        return Err(OAuthError::invalid_request(
            "the authorization_code grant must be sent with POST",
        ));
    }
    let request = TokenRequest {
        username: params.remove("username"),
        password: params.remove("password").map(PlainSecret::new),
        refresh_token: params.remove("refresh_token").map(PlainSecret::new),
        scope: params.remove("scope"),
        code: params.remove("code").map(PlainSecret::new),
        redirect_uri: params.remove("redirect_uri"),
        code_verifier: params.remove("code_verifier").map(PlainSecret::new),
    };
    let outcome = state
        .services
        .grants()
        .issue(addr, &client.credentials, grant_type, &request)
        .await;
    let issued = outcome.map_err(|e| OAuthError::from_grant(e, client.basic))?;
    Ok((grant_type, token_response(&issued)))
}

fn token_response(issued: &IssuedTokens) -> Response {
    let body = TokenResponse {
        access_token: issued.access_token.expose(),
        expires_in: issued.expires_in,
        token_type: "bearer",
        scope: issued.scope.as_deref(),
        refresh_token: issued.refresh_token.as_ref().map(PlainSecret::expose),
    };
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
