//! An account's OAuth clients: `GET/POST /user/clients`,
//! `GET/PATCH/DELETE /user/clients/{clientId}` and `POST /user/clients/{clientId}/secret`.
//! The secret is shown once, in the answers of create and rotate. Another account's
//! client is `404`, as if it did not exist.

use axum::Json;
use axum::extract::{FromRequest as _, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use super::openapi::schemas;
use super::paging::Paging;
use crate::domain::PlainSecret;
use crate::domain::jose::SigningAlg;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::clients::{ClientChange, ClientSpec};
use crate::state::AppState;
use crate::store::{Client, now};

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, delete_client))
        .routes(routes!(rotate_client_secret))
}

/// A client as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Client)]
pub struct ClientView {
    /// The `client_id`.
    id: String,
    name: String,
    redirect_uris: Vec<String>,
    #[schema(schema_with = grant_types)]
    grant_types: Vec<&'static str>,
    #[schema(schema_with = scopes)]
    scopes: Vec<&'static str>,
    /// Whether it has a secret (a public client authenticates with its id alone).
    confidential: bool,
    /// The algorithm its OpenID Connect ID tokens are signed with.
    #[schema(schema_with = id_token_alg)]
    id_token_signed_response_alg: &'static str,
    /// Where an RP-initiated logout may send the browser (`post_logout_redirect_uri`).
    post_logout_redirect_uris: Vec<String>,
    /// Whether `/oauth/v2/auth` accepts only requests pushed to `/oauth/v2/par` for it
    /// (RFC 9126 §5).
    require_pushed_authorization_requests: bool,
    /// Until when the secret a rotation replaced still works; `null`: it stopped.
    #[schema(required, format = DateTime)]
    old_secret_expires_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    /// The secret: only in the answers of create and rotate, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    secret: Option<String>,
}

fn grant_types() -> utoipa::openapi::Array {
    utoipa::openapi::Array::new(schemas::grant_type())
}

fn id_token_alg() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(SigningAlg::ALL.map(SigningAlg::as_str)))
        .build()
}

fn scopes() -> utoipa::openapi::Array {
    utoipa::openapi::Array::new(schemas::scope())
}

/// Whether a request carries a body (a length above 0, or a chunked one).
fn request_has_body(request: &Request) -> bool {
    let h = request.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

impl ClientView {
    fn new(c: &Client, secret: Option<&PlainSecret>) -> ClientView {
        ClientView {
            id: c.id.clone(),
            name: c.name.to_string(),
            redirect_uris: c.redirect_uris.iter().map(ToString::to_string).collect(),
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: c.scopes.iter().map(|s| s.as_str()).collect(),
            confidential: c.secret_digest.is_some(),
            id_token_signed_response_alg: c.id_token_alg.as_str(),
            post_logout_redirect_uris: c
                .post_logout_redirect_uris
                .iter()
                .map(ToString::to_string)
                .collect(),
            require_pushed_authorization_requests: c.require_par,
            old_secret_expires_at: c
                .previous_secret
                .as_ref()
                .map(|(_, until)| *until)
                .filter(|until| *until > now())
                .map(rfc3339),
            created_at: rfc3339(c.created_at),
            secret: secret.map(|s| s.expose().to_owned()),
        }
    }
}

/// Scopes in a request body: an array of names or one space-separated string.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ScopesInput {
    /// `["read", "write"]`.
    List(Vec<String>),
    /// `"read write"`.
    Text(String),
}

impl ScopesInput {
    pub(crate) fn names(self) -> Vec<String> {
        match self {
            ScopesInput::List(l) => l,
            ScopesInput::Text(t) => t.split_whitespace().map(str::to_owned).collect(),
        }
    }
}

/// The body of `POST /user/clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = NewClient)]
pub struct NewClientBody {
    /// Shown to people (1–100 characters, no control or format characters).
    name: String,
    /// Absolute, https or http on a loopback host, no fragment.
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// None: `authorization_code` (when there are redirect URIs), `password`,
    /// `refresh_token`, and `client_credentials` for a confidential client.
    #[serde(default)]
    #[schema(schema_with = grant_types)]
    grant_types: Vec<String>,
    /// None: `read write`; `admin` only for an administrator's client.
    #[serde(default)]
    scopes: Option<ScopesInput>,
    /// A confidential client gets a secret; a public one (`false`) relies on PKCE. It
    /// cannot change later.
    #[serde(default = "yes")]
    #[schema(default = true)]
    confidential: bool,
    /// The algorithm its OpenID Connect ID tokens are signed with (default `ES256`).
    #[serde(default)]
    #[schema(schema_with = id_token_alg)]
    id_token_signed_response_alg: Option<String>,
    /// Where an RP-initiated logout may send the browser; the rules of `redirectUris`.
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Accept authorization requests for it only when pushed to `/oauth/v2/par`.
    #[serde(default)]
    #[schema(default = false)]
    require_pushed_authorization_requests: bool,
}

fn yes() -> bool {
    true
}

/// The body of `PATCH /user/clients/{clientId}`: the fields to change, checked with the
/// rest as a whole registration; `confidential` cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientPatch {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    #[schema(schema_with = grant_types)]
    grant_types: Option<Vec<String>>,
    scopes: Option<ScopesInput>,
    /// `ES256` or `RS256`.
    #[schema(schema_with = id_token_alg)]
    id_token_signed_response_alg: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
    require_pushed_authorization_requests: Option<bool>,
}

/// The user's API clients, oldest first
#[utoipa::path(
    get,
    path = "/user/clients",
    tag = "clients",
    security(("accessToken" = ["read"])),
    params(Paging),
    responses(
        (status = 200, description = "A page of clients.", body = Vec<ClientView>,
            headers(("Link" = String, description = "GitHub's paging links, when there is more than one page"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn list_clients(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let (clients, total) = state
        .services
        .clients()
        .list(&caller.user, paging.page)
        .await?;
    let views: Vec<ClientView> = clients.iter().map(|c| ClientView::new(c, None)).collect();
    let mut response = Json(views).into_response();
    if let Some(link) = paging.link_header(&state.url("/user/clients"), total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// Register a client
///
/// The answer carries the secret of a confidential client, shown this once.
#[utoipa::path(
    post,
    path = "/user/clients",
    tag = "clients",
    security(("accessToken" = ["write"])),
    request_body = NewClientBody,
    responses(
        (status = 201, description = "The client, with its `secret` (`Cache-Control: no-store`).",
            body = ClientView,
            headers(("Location" = String, description = "the client's URL"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn create_client(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    ApiJson(body): ApiJson<NewClientBody>,
) -> Result<Response, ApiError> {
    let spec = ClientSpec {
        name: body.name,
        grant_types: body.grant_types,
        scopes: body.scopes.map(ScopesInput::names).unwrap_or_default(),
        redirect_uris: body.redirect_uris,
        public: !body.confidential,
        trusted: false,
        id_token_signed_response_alg: body.id_token_signed_response_alg,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        require_par: body.require_pushed_authorization_requests,
    };
    let created = state
        .services
        .clients()
        .register(&caller.user, &spec)
        .await?;
    let (client, secret) = (created.client, created.secret);
    let mut response = (
        StatusCode::CREATED,
        Json(ClientView::new(&client, secret.as_ref())),
    )
        .into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.url(&format!("/user/clients/{}", client.id))) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// One client
#[utoipa::path(
    get,
    path = "/user/clients/{client_id}",
    tag = "clients",
    security(("accessToken" = ["read"])),
    params(("client_id" = String, Path, description = "the client's `id`")),
    responses(
        (status = 200, description = "The client.", body = ClientView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_client(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    Path(client_id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    let client = state
        .services
        .clients()
        .get(&caller.user, &client_id)
        .await?;
    Ok(Json(ClientView::new(&client, None)))
}

/// Change a client
///
/// `name`, `redirectUris`, `grantTypes`, `scopes`, checked together as a whole
/// registration.
#[utoipa::path(
    patch,
    path = "/user/clients/{client_id}",
    tag = "clients",
    security(("accessToken" = ["write"])),
    params(("client_id" = String, Path, description = "the client's `id`")),
    request_body = ClientPatch,
    responses(
        (status = 200, description = "The client.", body = ClientView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn update_client(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(client_id): Path<String>,
    ApiJson(patch): ApiJson<ClientPatch>,
) -> Result<Json<ClientView>, ApiError> {
    let change = ClientChange {
        name: patch.name,
        redirect_uris: patch.redirect_uris,
        grant_types: patch.grant_types,
        scopes: patch.scopes.map(ScopesInput::names),
        id_token_signed_response_alg: patch.id_token_signed_response_alg,
        post_logout_redirect_uris: patch.post_logout_redirect_uris,
        require_par: patch.require_pushed_authorization_requests,
    };
    let client = state
        .services
        .clients()
        .update(&caller.user, &client_id, change)
        .await?;
    Ok(Json(ClientView::new(&client, None)))
}

/// Delete a client
///
/// The client goes with every token, code and consent it has.
#[utoipa::path(
    delete,
    path = "/user/clients/{client_id}",
    tag = "clients",
    security(("accessToken" = ["write"])),
    params(("client_id" = String, Path, description = "the client's `id`")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn delete_client(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .clients()
        .delete(&caller.user, &client_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The optional body of `POST /user/clients/{clientId}/secret`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = SecretRotation)]
pub struct SecretRotationBody {
    /// How long the old secret keeps working, in seconds (0–604800; absent or 0: it stops
    /// at once).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 604800, default = 0)]
    keep_old_for_seconds: i64,
}

/// A new secret for a client
///
/// Shown once. The old one stops working at once, or — with `keepOldForSeconds` — keeps
/// working that long beside the new one, so that deployments can roll. A public client
/// has none: `409`.
#[utoipa::path(
    post,
    path = "/user/clients/{client_id}/secret",
    tag = "clients",
    security(("accessToken" = ["write"])),
    params(("client_id" = String, Path, description = "the client's `id`")),
    request_body = Option<SecretRotationBody>,
    responses(
        (status = 200, description = "The client with its new `secret` (`Cache-Control: no-store`).",
            body = ClientView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn rotate_client_secret(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(client_id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    // The body is optional: none at all (as before) is no grace period.
    let keep_old_for = if request_has_body(&request) {
        let ApiJson(body) = ApiJson::<SecretRotationBody>::from_request(request, &state).await?;
        body.keep_old_for_seconds
    } else {
        0
    };
    let (client, secret) = state
        .services
        .clients()
        .rotate_secret(&caller.user, &client_id, keep_old_for)
        .await?;
    let mut response = Json(ClientView::new(&client, Some(&secret))).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
