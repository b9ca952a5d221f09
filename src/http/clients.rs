//! An account's OAuth clients: `GET/POST /user/clients`,
//! `GET/PATCH/DELETE /user/clients/{clientId}` and `POST /user/clients/{clientId}/secret`.
//! The secret is shown once, in the answers of create and rotate. Another account's
//! client is `404`, as if it did not exist.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use super::paging::Paging;
use crate::domain::PlainSecret;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::service::clients::{ClientChange, ClientSpec};
use crate::state::AppState;
use crate::store::Client;

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user/clients", get(list_clients).post(create_client))
        .route(
            "/user/clients/{client_id}",
            get(get_client).patch(update_client).delete(delete_client),
        )
        .route(
            "/user/clients/{client_id}/secret",
            post(rotate_client_secret),
        )
}

/// A client as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    id: String,
    name: String,
    redirect_uris: Vec<String>,
    grant_types: Vec<&'static str>,
    scopes: Vec<&'static str>,
    confidential: bool,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
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
            created_at: rfc3339(c.created_at),
            secret: secret.map(|s| s.expose().to_owned()),
        }
    }
}

/// Scopes in a request body: an array of names or one space-separated string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ScopesInput {
    /// `["read", "write"]`.
    List(Vec<String>),
    /// `"read write"`.
    Text(String),
}

impl ScopesInput {
    fn names(self) -> Vec<String> {
        match self {
            ScopesInput::List(l) => l,
            ScopesInput::Text(t) => t.split_whitespace().map(str::to_owned).collect(),
        }
    }
}

/// The body of `POST /user/clients`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewClientBody {
    name: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    #[serde(default)]
    scopes: Option<ScopesInput>,
    #[serde(default = "yes")]
    confidential: bool,
}

fn yes() -> bool {
    true
}

/// The body of `PATCH /user/clients/{clientId}`; `confidential` cannot change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientPatch {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scopes: Option<ScopesInput>,
}

/// `GET /user/clients`: paged, oldest first.
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

/// `POST /user/clients`: `201` with the secret (confidential clients), shown this once.
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

/// `GET /user/clients/{clientId}`.
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

/// `PATCH /user/clients/{clientId}`: `name`, `redirectUris`, `grantTypes`, `scopes`,
/// checked together as a whole registration.
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
    };
    let client = state
        .services
        .clients()
        .update(&caller.user, &client_id, change)
        .await?;
    Ok(Json(ClientView::new(&client, None)))
}

/// `DELETE /user/clients/{clientId}`: the client goes with every token, code and consent
/// it has.
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

/// `POST /user/clients/{clientId}/secret`: a new secret, shown once; the old one stops
/// working at once. A public client has none: `409`.
pub async fn rotate_client_secret(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    let (client, secret) = state
        .services
        .clients()
        .rotate_secret(&caller.user, &client_id)
        .await?;
    let mut response = Json(ClientView::new(&client, Some(&secret))).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
