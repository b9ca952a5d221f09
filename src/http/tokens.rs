//! API Access: the tokens an account requested (`GET /user/tokens`), never their values,
//! and their revocation (`DELETE /user/tokens/{id}`, `DELETE /user/tokens`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Read, UserCaller, Write};
use super::openapi::schemas;
use super::paging::Paging;
use crate::domain::time::rfc3339;
use crate::domain::tokens::TokenStatus;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized,
};
use crate::state::AppState;
use crate::store::{Timestamp, TokenRecord, now};

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, revoke_all_tokens))
        .routes(routes!(revoke_token))
}

/// The client a token was issued to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientRef {
    /// Its `client_id`.
    id: String,
    /// Its name.
    name: String,
}

/// One token as API Access shows it (never its value).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Token)]
pub struct TokenView {
    #[schema(format = "uuid")]
    id: String,
    client: ClientRef,
    /// How it was obtained.
    #[schema(schema_with = schemas::grant_type)]
    grant_type: &'static str,
    /// Its scopes, space-separated.
    scope: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    expires_at: String,
    /// When it was last presented (recorded at most once a minute); `null` if never.
    #[schema(required, format = DateTime)]
    last_used_at: Option<String>,
    /// `active`, `expired` or `revoked`.
    #[schema(schema_with = schemas::token_status)]
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

/// The user's access tokens, newest first
///
/// Every token this account requested, active or not (ended ones stay listed for the
/// retention period), paged with a `Link` header.
#[utoipa::path(
    get,
    path = "/user/tokens",
    tag = "tokens",
    security(("accessToken" = ["read"])),
    params(Paging),
    responses(
        (status = 200, description = "A page of tokens.", body = Vec<TokenView>,
            headers(("Link" = String, description = "GitHub's paging links, when there is more than one page"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
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

/// Revoke one token
///
/// Revokes the token and every token of its grant, and withdraws the account's consent to
/// that client.
#[utoipa::path(
    delete,
    path = "/user/tokens/{id}",
    tag = "tokens",
    security(("accessToken" = ["write"])),
    params(("id" = String, Path, description = "the token's `id`")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.tokens().revoke(&caller.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke every token of the user
///
/// Revokes every token of the account, this one included, and withdraws every consent it
/// gave.
#[utoipa::path(
    delete,
    path = "/user/tokens",
    tag = "tokens",
    security(("accessToken" = ["write"])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn revoke_all_tokens(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
) -> Result<StatusCode, ApiError> {
    state.services.tokens().revoke_all(&caller.user).await?;
    Ok(StatusCode::NO_CONTENT)
}
