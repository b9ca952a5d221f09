//! API Access: the tokens an account requested (`GET /user/tokens`), never their values,
//! personal access tokens (`POST /user/tokens`, the value shown once), and revocation
//! (`DELETE /user/tokens/{id}`, `DELETE /user/tokens`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Read, UserCaller, Write};
use super::clients::ScopesInput;
use super::extract::ApiJson;
use super::openapi::schemas;
use super::paging::Paging;
use crate::domain::time::rfc3339;
use crate::domain::tokens::{NEVER, TokenStatus};
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::tokens::{PersonalExpiry, PersonalTokenSpec};
use crate::state::AppState;
use crate::store::{Timestamp, TokenRecord, now};

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_tokens,
            create_personal_token,
            revoke_all_tokens
        ))
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
    /// How it was obtained: the grant that issued it, or `personal_access_token`.
    #[schema(schema_with = schemas::token_origin)]
    grant_type: &'static str,
    /// A personal access token's note; `null` for the others.
    #[schema(required)]
    note: Option<String>,
    /// Its scopes, space-separated.
    scope: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// `null`: a personal access token that never expires.
    #[schema(required, format = DateTime)]
    expires_at: Option<String>,
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
            note: r.note.clone(),
            scope: r.scope.to_string(),
            created_at: rfc3339(r.created_at),
            expires_at: (r.expires_at != NEVER).then(|| rfc3339(r.expires_at)),
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

/// The body of `POST /user/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = NewPersonalToken)]
pub struct NewPersonalTokenBody {
    /// What the token is for (1–100 characters).
    note: String,
    /// Its scopes: names (`["read"]`) or one space-separated string; `admin` only for an
    /// administrator.
    scopes: ScopesInput,
    /// Days until it expires (1–3650); `null`: never; absent: 30.
    #[serde(default = "default_days", deserialize_with = "present")]
    #[schema(required = false, nullable, minimum = 1, maximum = 3650, default = 30)]
    expires_in_days: Option<i64>,
}

fn default_days() -> Option<i64> {
    Some(30)
}

/// A present field, `null` included (absent fields take the default instead).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<i64>::deserialize(d)
}

/// A generated personal access token: the listed token with its value, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PersonalToken)]
pub struct PersonalTokenView {
    #[schema(format = "uuid")]
    id: String,
    /// The token (`hpat_…`), shown only in this answer.
    token: String,
    /// What it is for.
    note: String,
    /// Its scopes.
    #[schema(schema_with = scope_names)]
    scopes: Vec<&'static str>,
    /// `null`: never.
    #[schema(required, format = DateTime)]
    expires_at: Option<String>,
}

fn scope_names() -> utoipa::openapi::Array {
    utoipa::openapi::Array::new(schemas::scope())
}

/// Generate a personal access token
///
/// A token for the account itself, without an application: its note, the scopes it
/// carries (those the account may have) and its expiry (or none). The answer carries the
/// token, shown this once; it is then listed and revoked like every other token.
#[utoipa::path(
    post,
    path = "/user/tokens",
    tag = "tokens",
    security(("accessToken" = ["write"])),
    request_body = NewPersonalTokenBody,
    responses(
        (status = 201, description = "The token (`Cache-Control: no-store`).", body = PersonalTokenView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn create_personal_token(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    ApiJson(body): ApiJson<NewPersonalTokenBody>,
) -> Result<Response, ApiError> {
    let spec = PersonalTokenSpec {
        note: body.note,
        scopes: body.scopes.names(),
        expiry: match body.expires_in_days {
            Some(days) => PersonalExpiry::Days(days),
            None => PersonalExpiry::Never,
        },
    };
    let created = state
        .services
        .tokens()
        .create_personal(&caller.user, &spec)
        .await?;
    let r = &created.record;
    let view = PersonalTokenView {
        id: r.id.to_string(),
        token: created.token.expose().to_owned(),
        note: r.note.clone().unwrap_or_default(),
        scopes: r.scope.iter().map(|s| s.as_str()).collect(),
        expires_at: (r.expires_at != NEVER).then(|| rfc3339(r.expires_at)),
    };
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
