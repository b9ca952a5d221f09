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
use serde_json::{Value, json};

use super::client_auth;
use crate::http::error::OAuthError;
use crate::service::tokens::FoundToken;
use crate::state::AppState;
use crate::state::ClientAddr;

/// `POST /oauth/v2/introspect`.
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
        None => json!({ "active": false }),
    };
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The RFC 7662 §2.2 answer for an active token.
fn describe(found: &FoundToken) -> Value {
    match found {
        FoundToken::Access(t) => {
            let mut body = json!({
                "active": true,
                "scope": t.scope.to_string(),
                "client_id": t.client_id,
                "token_type": "bearer",
                "exp": t.expires_at,
                "iat": t.created_at,
            });
            if let Some(user) = &t.user {
                body["username"] = json!(user.username);
                body["sub"] = json!(user.id.to_string());
            }
            body
        }
        FoundToken::Refresh(t, user) => {
            let mut body = json!({
                "active": true,
                "scope": t.scope.to_string(),
                "client_id": t.client_id,
                "token_type": "refresh_token",
                "exp": t.expires_at,
            });
            if let Some(user) = user {
                body["username"] = json!(user.username);
                body["sub"] = json!(user.id.to_string());
            }
            body
        }
    }
}
