//! `GET|POST /oauth/v2/token`: parses the request (query for GET, form body for POST),
//! authenticates the client (parameters or HTTP Basic, never both), guards both with the
//! failed-credentials limiter, dispatches to the grant and renders the documented answer:
//! `{"access_token", "expires_in", "token_type", "scope", "refresh_token"}` in that order.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::domain::PlainSecret;
use crate::domain::grants::{
    self, GrantContext, GrantError, GrantType, IssuedTokens, TokenRequest,
};
use crate::error::OAuthError;
use crate::http::AppState;
use crate::http::extract::ClientAddr;

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

/// How the client identified itself.
struct ClientAuth {
    id: String,
    secret: Option<PlainSecret>,
    basic: bool,
}

/// Parameters of a form or query; a repeated parameter is an error (RFC 6749 §3.1), and
/// one without a value counts as absent.
fn parse_params(raw: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut params = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw) {
        if v.is_empty() {
            continue;
        }
        if params.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {k} is repeated"
            )));
        }
    }
    Ok(params)
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client(true);
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "client authentication must use HTTP Basic or parameters",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

fn client_auth(
    headers: &HeaderMap,
    params: &mut HashMap<String, String>,
) -> Result<ClientAuth, OAuthError> {
    let basic = basic_credentials(headers)?;
    let param_id = params.remove("client_id");
    let param_secret = params.remove("client_secret");
    match (basic, param_id, param_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "authenticate the client one way: HTTP Basic or parameters, not both",
        )),
        (Some((id, secret)), None, None) => Ok(ClientAuth {
            id,
            secret: (!secret.is_empty()).then(|| PlainSecret::new(secret)),
            basic: true,
        }),
        (None, Some(id), secret) => Ok(ClientAuth {
            id,
            secret: secret.map(PlainSecret::new),
            basic: false,
        }),
        (None, None, _) => Err(OAuthError::invalid_client(true)),
    }
}

/// Refuses when `key` has used up its failed attempts from this address.
fn check_failures(state: &AppState, key: &str, addr: IpAddr) -> Result<(), OAuthError> {
    let limiter = &state.limits.failures;
    if !limiter.enabled() {
        return Ok(());
    }
    let quota = limiter.peek(&(key.to_owned(), addr));
    if quota.allowed {
        Ok(())
    } else {
        Err(OAuthError::rate_limited(quota.retry_after()))
    }
}

fn record_failure(state: &AppState, key: &str, addr: IpAddr) {
    if state.limits.failures.enabled() {
        state.limits.failures.hit(&(key.to_owned(), addr));
    }
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
    let body = body.map_err(|e| {
        let mut err = OAuthError::invalid_request("the request body could not be read");
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            err.status = StatusCode::PAYLOAD_TOO_LARGE;
        }
        err
    })?;
    let raw: &[u8] = if method == Method::POST && !body.is_empty() {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        &body
    } else {
        query.as_deref().unwrap_or("").as_bytes()
    };
    let mut params = parse_params(raw)?;
    let client = client_auth(&headers, &mut params)?;

    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("the grant_type parameter is required"))?;
    let grant_type = GrantType::parse(grant_type)
        .ok_or_else(|| OAuthError::from_grant(GrantError::UnsupportedGrantType, client.basic))?;

    let client_key = format!("client:{}", client.id);
    check_failures(&state, &client_key, addr)?;
    let registered =
        match grants::authenticate_client(state.store.as_ref(), &client.id, client.secret.as_ref())
            .await
        {
            Ok(c) => c,
            Err(e) => {
                if matches!(e, GrantError::InvalidClient) {
                    record_failure(&state, &client_key, addr);
                }
                return Err(OAuthError::from_grant(e, client.basic));
            }
        };
    if !registered.client.grant_types.contains(&grant_type) {
        return Err(OAuthError::new(
            "unauthorized_client",
            format!("this client may not use the {grant_type} grant"),
        ));
    }

    let request = TokenRequest {
        grant_type: Some(grant_type.to_string()),
        username: params.remove("username"),
        password: params.remove("password").map(PlainSecret::new),
        refresh_token: params.remove("refresh_token").map(PlainSecret::new),
        scope: params.remove("scope"),
    };
    let ctx = GrantContext {
        store: state.store.as_ref(),
        hasher: &state.hasher,
        oauth: &state.config.oauth,
    };
    let outcome = match grant_type {
        GrantType::Password => {
            let user_key = format!(
                "user:{}",
                request.username.as_deref().unwrap_or("").to_lowercase()
            );
            check_failures(&state, &user_key, addr)?;
            let outcome = grants::password::grant(ctx, &registered, &request).await;
            if matches!(outcome, Err(GrantError::InvalidCredentials)) {
                record_failure(&state, &user_key, addr);
            }
            outcome
        }
        GrantType::RefreshToken => grants::refresh::grant(ctx, &registered, &request).await,
        GrantType::ClientCredentials => {
            grants::client_credentials::grant(ctx, &registered, &request).await
        }
    };
    let issued = outcome.map_err(|e| OAuthError::from_grant(e, client.basic))?;
    Ok(token_response(&issued))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        assert!(parse_params(b"a=1&a=2").is_err());
        let p = parse_params(b"a=1&b=&b=2").unwrap();
        assert_eq!(p.get("b").map(String::as_str), Some("2"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("my id".to_owned(), "s:cret".to_owned()))
        );
    }

    #[test]
    fn both_ways_of_client_authentication_is_invalid_request() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("id:secret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        let mut params = HashMap::from([("client_id".to_owned(), "id".to_owned())]);
        let err = client_auth(&h, &mut params).err().unwrap();
        assert_eq!(err.error, "invalid_request");
    }
}
