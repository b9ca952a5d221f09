//! API Access: the tokens an account requested (`GET /user/tokens`), never their values,
//! and their revocation (`DELETE /user/tokens/{id}`, `DELETE /user/tokens`).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;

use super::auth::{Read, UserCaller, Write};
use super::paging::Paging;
use crate::domain::time::rfc3339;
use crate::domain::tokens::TokenStatus;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::{Timestamp, TokenRecord, now};

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user/tokens", get(list_tokens).delete(revoke_all_tokens))
        .route("/user/tokens/{id}", delete(revoke_token))
}

/// The client a token was issued to.
#[derive(Debug, Serialize)]
pub struct ClientRef {
    id: String,
    name: String,
}

/// One token as API Access shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    id: String,
    client: ClientRef,
    grant_type: &'static str,
    scope: String,
    created_at: String,
    expires_at: String,
    last_used_at: Option<String>,
    status: &'static str,
}

impl TokenView {
    /// Renders a record.
    pub fn new(r: &TokenRecord, now: Timestamp) -> TokenView {
        TokenView {
            id: r.id.to_string(),
            client: ClientRef {
                id: r.client_id.clone(),
                name: r.client_name.to_string(),
            },
            grant_type: r.grant_type.as_str(),
            scope: r.scope.to_string(),
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            last_used_at: r.last_used_at.map(rfc3339),
            status: TokenStatus::of(r.revoked_at, r.expires_at, now).as_str(),
        }
    }
}

/// `GET /user/tokens`: paged, newest first.
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let (records, total) = state
        .services
        .tokens()
        .list(&caller.user, paging.page)
        .await?;
    let now = now();
    let views: Vec<TokenView> = records.iter().map(|r| TokenView::new(r, now)).collect();
    let mut response = Json(views).into_response();
    if let Some(link) = paging.link_header(&state.url("/user/tokens"), total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// `DELETE /user/tokens/{id}`: revokes the token and every token of its grant, and
/// withdraws the account's consent to that client.
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.tokens().revoke(&caller.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /user/tokens`: revokes every token of the account, this one included, and
/// withdraws every consent it gave.
pub async fn revoke_all_tokens(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
) -> Result<StatusCode, ApiError> {
    state.services.tokens().revoke_all(&caller.user).await?;
    Ok(StatusCode::NO_CONTENT)
}
