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
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::client_auth;
use crate::domain::dpop::Expected;
use crate::domain::{GrantType, PlainSecret};
use crate::http::error::responses::{
    OAuthBadRequest, OAuthPayloadTooLarge, OAuthTooManyRequests, OAuthUnauthorized,
};
use crate::http::error::{DPOP_NONCE, OAuthError};
use crate::http::openapi::schemas;
use crate::service::grants::{GrantError, IssuedTokens, TokenRequest};
use crate::state::AppState;
use crate::state::ClientAddr;
use crate::store::now;

/// The token endpoint's path, as DPoP proofs name it (`htu`, after the public URL).
const TOKEN_PATH: &str = "/oauth/v2/token";

/// The request header that carries a DPoP proof.
const DPOP: HeaderName = HeaderName::from_static("dpop");

/// The documented answer, in this key order: `access_token`, `expires_in`,
/// `token_type`, `scope` (`null` when a password or client_credentials request, or a
/// refresh of such a grant, named none), `refresh_token` (absent
/// for client_credentials and clients without the refresh grant), then `id_token` (only
/// when the scope holds `openid`).
#[derive(Serialize, ToSchema)]
pub struct TokenResponse<'a> {
    #[schema(value_type = String)]
    access_token: &'a str,
    /// Seconds (3600 by default).
    #[schema(examples(3600))]
    expires_in: i64,
    #[schema(schema_with = bearer)]
    token_type: &'static str,
    /// The granted scopes, space-separated; `null` when a password or client_credentials
    /// request (or a refresh of such a grant) named none. Always a string for the code
    /// exchange and the refreshes of a grant it began.
    #[schema(value_type = Option<String>, required)]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable = false)]
    refresh_token: Option<&'a str>,
    /// OpenID Connect ID token (a JWS signed with ES256), when the scope holds `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable = false)]
    id_token: Option<&'a str>,
}

fn bearer() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["bearer", "DPoP"]))
        .build()
}

/// The parameters of a token request (the query of a GET, the form body of a POST): a
/// repeated parameter is `invalid_request`, an empty one counts as absent (RFC 6749 §3.1).
// Read by `client_auth::request_params`; this type describes them.
#[derive(ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenParams {
    /// `password`, `refresh_token`, `client_credentials` or `authorization_code` (POST only).
    #[schema(schema_with = schemas::grant_type)]
    #[param(schema_with = schemas::grant_type)]
    pub grant_type: String,
    /// The client (or HTTP Basic).
    pub client_id: Option<String>,
    /// The client's secret (or HTTP Basic; none for a public client).
    pub client_secret: Option<String>,
    /// The password grant's username.
    pub username: Option<String>,
    /// The password grant's password.
    pub password: Option<String>,
    /// The refresh grant's refresh token.
    pub refresh_token: Option<String>,
    /// Space-separated scopes (none: the client's registered scopes).
    pub scope: Option<String>,
    /// The authorization code.
    pub code: Option<String>,
    /// The redirect URI the code was issued for.
    pub redirect_uri: Option<String>,
    /// The PKCE verifier (43–128 characters of `[A-Za-z0-9-._~]`).
    pub code_verifier: Option<String>,
    /// RFC 8707: the resource the token is for; only this API's identifier (its public
    /// URL) is accepted.
    pub resource: Option<String>,
}

/// The optional DPoP proof of a token request (RFC 9449 §4).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct DpopHeader {
    /// A DPoP proof JWT: the tokens are then bound to its key (`"token_type": "DPoP"`).
    #[param(rename = "DPoP")]
    pub dpop: Option<String>,
}

/// Token request in the query (the documented legacy form)
///
/// The password, refresh_token and client_credentials grants; the authorization_code
/// grant must be POSTed. Answers `Cache-Control: no-store`.
#[utoipa::path(
    get,
    path = "/oauth/v2/token",
    tag = "oauth",
    security(("clientBasic" = []), ()),
    params(TokenParams, DpopHeader),
    responses(
        (status = 200, description = "The tokens.", body = TokenResponse),
        (status = 400, response = OAuthBadRequest),
        (status = 401, response = OAuthUnauthorized),
        (status = 413, response = OAuthPayloadTooLarge),
        (status = 429, response = OAuthTooManyRequests),
    )
)]
pub async fn get_token(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    issue_token(state, addr, method, headers, query, body).await
}

/// Token request (RFC 6749 §3.2)
///
/// Every grant, with the parameters in an `application/x-www-form-urlencoded` body (a
/// POST without a body falls back to the query, for old clients). Answers
/// `Cache-Control: no-store`.
#[utoipa::path(
    post,
    path = "/oauth/v2/token",
    tag = "oauth",
    security(("clientBasic" = []), ()),
    params(DpopHeader),
    request_body(content = TokenParams, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The tokens.", body = TokenResponse),
        (status = 400, response = OAuthBadRequest),
        (status = 401, response = OAuthUnauthorized),
        (status = 413, response = OAuthPayloadTooLarge),
        (status = 429, response = OAuthTooManyRequests),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    issue_token(state, addr, method, headers, query, body).await
}

/// Both methods of the token endpoint, counted in the metrics.
async fn issue_token(
    state: AppState,
    addr: std::net::IpAddr,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
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

    check_resource(&state, params.remove("resource").as_deref())?;
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
        dpop_jkt: dpop_key(&state, &method, &headers).await?,
    };
    let outcome = state
        .services
        .grants()
        .issue(
            addr,
            &client.credentials,
            grant_type,
            &request,
            &state.public_url,
        )
        .await;
    let issued = outcome.map_err(|e| OAuthError::from_grant(e, client.basic))?;
    let mut response = token_response(&issued);
    if state.services.dpop().nonce_required() {
        // The nonce for the client's next proof (RFC 9449 §8.2).
        let nonce = state.services.dpop().nonce(now()).await;
        if let Some(value) = nonce.ok().and_then(|n| HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert(DPOP_NONCE, value);
        }
    }
    Ok((grant_type, response))
}

/// RFC 8707: a `resource` parameter may name only this API (its public URL, as the
/// protected resource metadata says), the one resource this server issues tokens for;
/// anything else is `invalid_target`. Compared as URLs (case of scheme and host, default
/// port, a trailing slash).
pub fn check_resource(state: &AppState, resource: Option<&str>) -> Result<(), OAuthError> {
    let Some(resource) = resource else {
        return Ok(());
    };
    let normal = |s: &str| {
        url::Url::parse(s.trim_end_matches('/'))
            .ok()
            .filter(|u| u.fragment().is_none())
            .map(|u| u.to_string().trim_end_matches('/').to_owned())
    };
    match (normal(resource), normal(&state.public_url)) {
        (Some(a), Some(b)) if a == b => Ok(()),
        _ => Err(OAuthError::new(
            "invalid_target",
            format!(
                "resource may name only this API, {}: tokens for other resources are not issued",
                state.public_url
            ),
        )),
    }
}

/// The key thumbprint of the request's `DPoP` proof, checked for this endpoint
/// (RFC 9449 §4.3); `None` without a proof. Two `DPoP` headers are refused.
async fn dpop_key(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<String>, OAuthError> {
    let proofs = headers.get_all(DPOP);
    let Some(proof) = proofs.iter().next() else {
        return Ok(None);
    };
    if proofs.iter().nth(1).is_some() {
        return Err(OAuthError::new(
            "invalid_dpop_proof",
            "send one DPoP header",
        ));
    }
    let Ok(proof) = proof.to_str() else {
        return Err(OAuthError::new(
            "invalid_dpop_proof",
            "the DPoP proof is not a compact JWS",
        ));
    };
    let url = state.url(TOKEN_PATH);
    let expected = Expected {
        method: method.as_str(),
        url: &url,
        access_token: None,
        now: now(),
    };
    let proof = state
        .services
        .dpop()
        .check(proof, &expected)
        .await
        .map_err(OAuthError::from_dpop)?;
    Ok(Some(proof.jkt))
}

fn token_response(issued: &IssuedTokens) -> Response {
    let body = TokenResponse {
        access_token: issued.access_token.expose(),
        expires_in: issued.expires_in,
        token_type: if issued.dpop { "DPoP" } else { "bearer" },
        scope: issued.scope.as_deref(),
        refresh_token: issued.refresh_token.as_ref().map(PlainSecret::expose),
        id_token: issued.id_token.as_deref(),
    };
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
