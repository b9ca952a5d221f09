//! `POST /oauth/v2/par` (RFC 9126): a client pushes its authorization request's parameters
//! directly, authenticated as at the token endpoint (a public client by its `client_id`),
//! and gets a single-use `request_uri` to send the browser to the authorization endpoint
//! with (`/oauth/v2/auth?client_id=…&request_uri=…`): the parameters never travel through
//! the browser. They are checked here exactly as the authorization endpoint checks them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::client_auth;
use crate::domain::authorize::AuthorizeError as Refusal;
use crate::http::error::OAuthError;
use crate::http::error::responses::{
    OAuthBadRequest, OAuthPayloadTooLarge, OAuthTooManyRequests, OAuthUnauthorized,
};
use crate::service::sessions::{AuthorizeError, PUSHED_TTL};
use crate::state::{AppState, ClientAddr};

/// The answer (RFC 9126 §2.2).
#[derive(Serialize, ToSchema)]
pub struct PushedAuthorizationResponse {
    /// `urn:ietf:params:oauth:request_uri:…`, for `/oauth/v2/auth`; used once.
    request_uri: String,
    /// Seconds it stays usable (60).
    #[schema(examples(60))]
    expires_in: i64,
}

/// The parameters of a pushed request: client authentication and an authorization request.
// Read as a form; this type describes it.
#[derive(ToSchema)]
pub struct PushedAuthorizationParams {
    /// The client (or HTTP Basic).
    pub client_id: Option<String>,
    /// The client's secret (or HTTP Basic; none for a public client).
    pub client_secret: Option<String>,
    /// `code`.
    pub response_type: String,
    /// One of the client's registered redirect URIs, exactly.
    pub redirect_uri: String,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// Echoed to the redirect.
    pub state: Option<String>,
    /// PKCE: 43 base64url characters.
    pub code_challenge: String,
    /// `S256`.
    pub code_challenge_method: String,
    /// OpenID Connect nonce, echoed in the ID token.
    pub nonce: Option<String>,
}

/// Pushed authorization request (RFC 9126)
///
/// Answers `201` with a `request_uri` valid 60 s, once. Errors are the token endpoint's
/// (`invalid_request`, `invalid_client`, `invalid_scope`, `unauthorized_client`,
/// `unsupported_response_type`).
#[utoipa::path(
    post,
    path = "/oauth/v2/par",
    tag = "oauth",
    security(("clientBasic" = []), ()),
    request_body(content = PushedAuthorizationParams, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The request_uri.", body = PushedAuthorizationResponse),
        (status = 400, response = OAuthBadRequest),
        (status = 401, response = OAuthUnauthorized),
        (status = 413, response = OAuthPayloadTooLarge),
        (status = 429, response = OAuthTooManyRequests),
    )
)]
pub async fn push_authorization_request(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let mut params = client_auth::request_params(&method, &headers, query.as_deref(), body)?;
    let client = client_auth::client_auth(&headers, &mut params)?;
    let authenticated = state
        .services
        .grants()
        .authenticate_client(addr, &client.credentials)
        .await
        .map_err(|e| OAuthError::from_grant(e, client.basic))?;
    super::token::check_resource(&state, params.remove("resource").as_deref())?;
    let mut params: Vec<(String, String)> = params.into_iter().collect();
    // A stable order, so that the stored text does not depend on a hash map's.
    params.sort();
    let pushed = state
        .services
        .sessions()
        .push_request(&authenticated.client, &params)
        .await
        .map_err(|e| match e {
            AuthorizeError::Refused(Refusal::Page(m)) => OAuthError::invalid_request(m),
            AuthorizeError::Refused(Refusal::Redirect(r)) => {
                OAuthError::new(r.error, r.description)
            }
            AuthorizeError::Store(e) => OAuthError::server_error(e),
        })?;
    let body = PushedAuthorizationResponse {
        request_uri: pushed.expose().to_owned(),
        expires_in: PUSHED_TTL,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}
