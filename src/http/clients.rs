//! OAuth clients of an account — `GET/POST /user/clients`,
//! `GET/PATCH/DELETE /user/clients/{clientId}`, `POST /user/clients/{clientId}/secret` —
//! and of an organization, the same under `/orgs/{org}/clients` for its owners. The
//! secret is shown once, in the answers of create and rotate. Another owner's client is
//! `404`, as if it did not exist; an organization's client is `403` to its other members
//! and `404` to everyone else.

use axum::Json;
use axum::extract::{FromRequest as _, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::OwnerRef;
use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use super::openapi::schemas;
use super::paging::Paging;
use crate::domain::PlainSecret;
use crate::domain::jose::SigningAlg;
use crate::domain::time::rfc3339;
use crate::domain::user::Username;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::clients::{ClientChange, ClientOwner, ClientSpec};
use crate::state::AppState;
use crate::store::packages::Viewer;
use crate::store::{Client, User, now};

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, delete_client))
        .routes(routes!(rotate_client_secret))
        .routes(routes!(list_org_clients, create_org_client))
        .routes(routes!(
            get_org_client,
            update_org_client,
            delete_org_client
        ))
        .routes(routes!(rotate_org_client_secret))
}

/// A client as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Client)]
pub struct ClientView {
    /// The `client_id`.
    id: String,
    name: String,
    /// The account or the organization that owns it.
    owner: OwnerRef,
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

/// A patch's grant types: `null`, like a field left out, changes nothing.
fn grant_types_or_null() -> utoipa::openapi::Array {
    let mut schema = grant_types();
    schema.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
        utoipa::openapi::Type::Array,
        utoipa::openapi::Type::Null,
    ]);
    schema
}

/// A patch's ID token algorithm: `null`, like a field left out, changes nothing.
fn id_token_alg_or_null() -> utoipa::openapi::Object {
    let mut schema = id_token_alg();
    schema.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
        utoipa::openapi::Type::String,
        utoipa::openapi::Type::Null,
    ]);
    schema
        .enum_values
        .get_or_insert_with(Vec::new)
        .push(serde_json::Value::Null);
    schema
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
    /// `c` as shown to `account`, which owns it unless an organization does.
    fn new(c: &Client, secret: Option<&PlainSecret>, account: &Username) -> ClientView {
        let owner = match &c.org {
            Some(org) => OwnerRef {
                kind: "org".to_owned(),
                name: org.to_string(),
            },
            None => OwnerRef {
                kind: "user".to_owned(),
                name: account.to_string(),
            },
        };
        ClientView {
            id: c.id.clone(),
            name: c.name.to_string(),
            owner,
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

impl NewClientBody {
    fn spec(self) -> ClientSpec {
        ClientSpec {
            name: self.name,
            grant_types: self.grant_types,
            scopes: self.scopes.map(ScopesInput::names).unwrap_or_default(),
            redirect_uris: self.redirect_uris,
            public: !self.confidential,
            trusted: false,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            require_par: self.require_pushed_authorization_requests,
        }
    }
}

/// The body of `PATCH /user/clients/{clientId}`: the fields to change, checked with the
/// rest as a whole registration; `confidential` cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientPatch {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    #[schema(schema_with = grant_types_or_null)]
    grant_types: Option<Vec<String>>,
    scopes: Option<ScopesInput>,
    /// `ES256` or `RS256`.
    #[schema(schema_with = id_token_alg_or_null)]
    id_token_signed_response_alg: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
    require_pushed_authorization_requests: Option<bool>,
}

impl ClientPatch {
    fn change(self) -> ClientChange {
        ClientChange {
            name: self.name,
            redirect_uris: self.redirect_uris,
            grant_types: self.grant_types,
            scopes: self.scopes.map(ScopesInput::names),
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            require_par: self.require_pushed_authorization_requests,
        }
    }
}

/// The organization `org` as the owner of clients, managed by the caller (an
/// administrator only with an `admin` token).
fn org_owner<'a, S>(org: &'a str, caller: &'a UserCaller<S>) -> ClientOwner<'a> {
    ClientOwner::Org {
        org,
        by: &caller.user,
        as_admin: matches!(caller.viewer(), Viewer::Admin(_)),
    }
}

/// The shared bodies of the account's and the organization's handlers: `owner` is whose
/// clients, `account` the caller, `base` the collection's path.
async fn list(
    state: &AppState,
    owner: ClientOwner<'_>,
    account: &User,
    paging: &Paging,
    base: &str,
) -> Result<Response, ApiError> {
    let (clients, total) = state.services.clients().list(owner, paging.page).await?;
    let views: Vec<ClientView> = clients
        .iter()
        .map(|c| ClientView::new(c, None, &account.username))
        .collect();
    let mut response = Json(views).into_response();
    if let Some(link) = paging.link_header(&state.url(base), total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

async fn create(
    state: &AppState,
    owner: ClientOwner<'_>,
    account: &User,
    body: NewClientBody,
    base: &str,
) -> Result<Response, ApiError> {
    let created = state
        .services
        .clients()
        .register(owner, &body.spec())
        .await?;
    let (client, secret) = (created.client, created.secret);
    let mut response = (
        StatusCode::CREATED,
        Json(ClientView::new(&client, secret.as_ref(), &account.username)),
    )
        .into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.url(&format!("{base}/{}", client.id))) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn rotate(
    state: &AppState,
    owner: ClientOwner<'_>,
    account: &User,
    client_id: &str,
    request: Request,
) -> Result<Response, ApiError> {
    // The body is optional: none at all (as before) is no grace period.
    let keep_old_for = if request_has_body(&request) {
        let ApiJson(body) = ApiJson::<SecretRotationBody>::from_request(request, state).await?;
        body.keep_old_for_seconds
    } else {
        0
    };
    let (client, secret) = state
        .services
        .clients()
        .rotate_secret(owner, client_id, keep_old_for)
        .await?;
    let mut response =
        Json(ClientView::new(&client, Some(&secret), &account.username)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
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
    let user = &caller.user;
    list(&state, user.into(), user, &paging, "/user/clients").await
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
    let user = &caller.user;
    create(&state, user.into(), user, body, "/user/clients").await
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
    Ok(Json(ClientView::new(&client, None, &caller.user.username)))
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
    let client = state
        .services
        .clients()
        .update(&caller.user, &client_id, patch.change())
        .await?;
    Ok(Json(ClientView::new(&client, None, &caller.user.username)))
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
    let user = &caller.user;
    rotate(&state, user.into(), user, &client_id, request).await
}

/// An organization's clients, oldest first
///
/// For its owners (and administrators): `403` for its other members, `404` for anyone
/// else.
#[utoipa::path(
    get,
    path = "/orgs/{org}/clients",
    tag = "clients",
    security(("accessToken" = ["read"])),
    params(("org" = String, Path, description = "the organization's name"), Paging),
    responses(
        (status = 200, description = "A page of clients.", body = Vec<ClientView>,
            headers(("Link" = String, description = "GitHub's paging links, when there is more than one page"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn list_org_clients(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    Path(org): Path<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let (by, owner) = (&caller.user, org_owner(&org, &caller));
    list(&state, owner, by, &paging, &format!("/orgs/{org}/clients")).await
}

/// Register a client for an organization
///
/// By its owners (and administrators), with the body of `POST /user/clients`; the answer
/// carries the secret of a confidential client, shown this once. An organization's client
/// may not have the `admin` scope.
#[utoipa::path(
    post,
    path = "/orgs/{org}/clients",
    tag = "clients",
    security(("accessToken" = ["write"])),
    params(("org" = String, Path, description = "the organization's name")),
    request_body = NewClientBody,
    responses(
        (status = 201, description = "The client, with its `secret` (`Cache-Control: no-store`).",
            body = ClientView,
            headers(("Location" = String, description = "the client's URL"))),
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
pub async fn create_org_client(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<NewClientBody>,
) -> Result<Response, ApiError> {
    let (by, owner) = (&caller.user, org_owner(&org, &caller));
    create(&state, owner, by, body, &format!("/orgs/{org}/clients")).await
}

/// One client of an organization
#[utoipa::path(
    get,
    path = "/orgs/{org}/clients/{client_id}",
    tag = "clients",
    security(("accessToken" = ["read"])),
    params(
        ("org" = String, Path, description = "the organization's name"),
        ("client_id" = String, Path, description = "the client's `id`"),
    ),
    responses(
        (status = 200, description = "The client.", body = ClientView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_org_client(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    Path((org, client_id)): Path<(String, String)>,
) -> Result<Json<ClientView>, ApiError> {
    let (by, owner) = (&caller.user, org_owner(&org, &caller));
    let client = state.services.clients().get(owner, &client_id).await?;
    Ok(Json(ClientView::new(&client, None, &by.username)))
}

/// Change a client of an organization
///
/// As `PATCH /user/clients/{client_id}`.
#[utoipa::path(
    patch,
    path = "/orgs/{org}/clients/{client_id}",
    tag = "clients",
    security(("accessToken" = ["write"])),
    params(
        ("org" = String, Path, description = "the organization's name"),
        ("client_id" = String, Path, description = "the client's `id`"),
    ),
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
pub async fn update_org_client(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((org, client_id)): Path<(String, String)>,
    ApiJson(patch): ApiJson<ClientPatch>,
) -> Result<Json<ClientView>, ApiError> {
    let (by, owner) = (&caller.user, org_owner(&org, &caller));
    let client = state
        .services
        .clients()
        .update(owner, &client_id, patch.change())
        .await?;
    Ok(Json(ClientView::new(&client, None, &by.username)))
}

/// Delete a client of an organization
///
/// The client goes with every token, code and consent it has.
#[utoipa::path(
    delete,
    path = "/orgs/{org}/clients/{client_id}",
    tag = "clients",
    security(("accessToken" = ["write"])),
    params(
        ("org" = String, Path, description = "the organization's name"),
        ("client_id" = String, Path, description = "the client's `id`"),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn delete_org_client(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((org, client_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let owner = org_owner(&org, &caller);
    state.services.clients().delete(owner, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret for a client of an organization
///
/// As `POST /user/clients/{client_id}/secret`, `keepOldForSeconds` included.
#[utoipa::path(
    post,
    path = "/orgs/{org}/clients/{client_id}/secret",
    tag = "clients",
    security(("accessToken" = ["write"])),
    params(
        ("org" = String, Path, description = "the organization's name"),
        ("client_id" = String, Path, description = "the client's `id`"),
    ),
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
pub async fn rotate_org_client_secret(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((org, client_id)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let (by, owner) = (&caller.user, org_owner(&org, &caller));
    rotate(&state, owner, by, &client_id, request).await
}
