//! `POST /oauth/v2/introspect` (RFC 7662): a confidential client asks what one of its own
//! tokens stands for. Anything it may not know about — an unknown, expired or revoked
//! token, a disabled user's token, another client's token — is exactly
//! `{"active": false}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::client_auth;
use super::revoke::TokenQueryForm;
use crate::http::error::OAuthError;
use crate::http::error::responses::{
    OAuthBadRequest, OAuthPayloadTooLarge, OAuthTooManyRequests, OAuthUnauthorized,
};
use crate::service::tokens::FoundToken;
use crate::state::AppState;
use crate::state::ClientAddr;

/// The RFC 7662 §2.2 answer: exactly `{"active": false}` for anything the client may not
/// know about; for an active token, what it stands for.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Introspection {
    active: bool,
    /// Its scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    client_id: Option<String>,
    /// `bearer` (an access token), `DPoP` (a DPoP-bound access token) or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = token_type)]
    token_type: Option<&'static str>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    exp: Option<i64>,
    /// Issue time, seconds since the epoch (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    iat: Option<i64>,
    /// The user's username, when it acts for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    username: Option<String>,
    /// The user's id, when it acts for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sub: Option<String>,
    /// The key a DPoP-bound token is bound to (RFC 9449 §6.2): `{"jkt": thumbprint}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    cnf: Option<Confirmation>,
}

/// A token's confirmation claim (RFC 7800): the thumbprint of its DPoP key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the key, base64url.
    jkt: String,
}

fn token_type() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["bearer", "DPoP", "refresh_token"]))
        .build()
}

/// Token introspection (RFC 7662)
///
/// For a confidential client, about one of its own tokens. Answers
/// `Cache-Control: no-store`.
#[utoipa::path(
    post,
    path = "/oauth/v2/introspect",
    tag = "oauth",
    security(("clientBasic" = []), ()),
    request_body(content = TokenQueryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state.", body = Introspection),
        (status = 400, response = OAuthBadRequest),
        (status = 401, response = OAuthUnauthorized),
        (status = 413, response = OAuthPayloadTooLarge),
        (status = 429, response = OAuthTooManyRequests),
    )
)]
pub async fn introspect_token(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    // A public client cannot authenticate, so it may not introspect (RFC 7662 §4).
    let query = client_auth::token_query(
        &state,
        addr,
        &method,
        &headers,
        query.as_deref(),
        body,
        true,
    )
    .await?;
    let found = state
        .services
        .tokens()
        .introspect(&query.client.client, &query.token, query.hint.as_deref())
        .await
        .map_err(OAuthError::server_error)?;
    let body = match found {
        Some(found) => describe(&found),
        None => Introspection::default(),
    };
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The RFC 7662 §2.2 answer for an active token.
fn describe(found: &FoundToken) -> Introspection {
    match found {
        FoundToken::Access(t) => Introspection {
            active: true,
            scope: Some(t.scope.to_string()),
            client_id: Some(t.client_id.clone()),
            token_type: Some(if t.jkt.is_some() { "DPoP" } else { "bearer" }),
            exp: Some(t.expires_at),
            iat: Some(t.created_at),
            username: t.user.as_ref().map(|u| u.username.to_string()),
            sub: t.user.as_ref().map(|u| u.id.to_string()),
            cnf: t.jkt.clone().map(|jkt| Confirmation { jkt }),
        },
        FoundToken::Refresh(t, user) => Introspection {
            active: true,
            scope: Some(t.scope.to_string()),
            client_id: Some(t.client_id.clone()),
            token_type: Some("refresh_token"),
            exp: Some(t.expires_at),
            iat: None,
            username: user.as_ref().map(|u| u.username.to_string()),
            sub: user.as_ref().map(|u| u.id.to_string()),
            cnf: t.jkt.clone().map(|jkt| Confirmation { jkt }),
        },
    }
}
