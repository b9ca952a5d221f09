//! The root endpoint (the map of the API), `/ping`, `/token/status`, `/health` and the
//! route of `/metrics` (whose handler lives in [`super::metrics`]).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::form;
use crate::domain::time::rfc3339;
use crate::http::error::responses::{BadRequest, TooManyRequests};
use crate::http::error::{ApiError, EnvelopeBody};
use crate::state::AppState;

/// Routes that count against the rate limits.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_root))
        .routes(routes!(get_ping))
        .routes(routes!(get_token_status))
}

/// Routes for load balancers and monitoring, outside the rate limits.
pub fn unmetered_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_health))
        .routes(routes!(super::metrics::get_metrics))
}

/// The map of the API: one absolute URL (an RFC 6570 template where it takes parameters)
/// per endpoint family, in this order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Root)]
pub struct RootView {
    current_user_url: String,
    user_tokens_url: String,
    user_token_url: String,
    user_clients_url: String,
    user_client_url: String,
    user_client_secret_url: String,
    admin_users_url: String,
    admin_user_url: String,
    authorization_url: String,
    token_url: String,
    revocation_url: String,
    introspection_url: String,
    authorization_server_metadata_url: String,
    token_status_url: String,
    projects_url: String,
    project_url: String,
    project_addon_url: String,
    orgs_url: String,
    org_url: String,
    org_members_url: String,
    org_member_url: String,
    vendor_url: String,
    packages_url: String,
    package_url: String,
    package_version_url: String,
    package_advisories_url: String,
    package_stats_url: String,
    composer_repository_url: String,
    security_advisories_url: String,
    metadata_changes_url: String,
    update_package_url: String,
    ping_url: String,
    health_url: String,
    metrics_url: String,
    openapi_url: String,
    docs_url: String,
}

/// Every endpoint family, as absolute URL templates (RFC 6570)
#[utoipa::path(
    get,
    path = "/",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "The map (`Allow: GET`).", body = RootView,
            headers(("Allow" = String, description = "`GET`"))),
        (status = 400, response = BadRequest),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_root(State(state): State<AppState>) -> Response {
    let u = |path: &str| state.url(path);
    let body = RootView {
        current_user_url: u("/user"),
        user_tokens_url: u("/user/tokens{?page,per_page}"),
        user_token_url: u("/user/tokens/{id}"),
        user_clients_url: u("/user/clients{?page,per_page}"),
        user_client_url: u("/user/clients/{clientId}"),
        user_client_secret_url: u("/user/clients/{clientId}/secret"),
        admin_users_url: u("/admin/users{?page,per_page}"),
        admin_user_url: u("/admin/users/{id}"),
        authorization_url: u(
            "/oauth/v2/auth{?response_type,client_id,redirect_uri,scope,state,code_challenge,code_challenge_method}",
        ),
        token_url: u("/oauth/v2/token"),
        revocation_url: u("/oauth/v2/revoke"),
        introspection_url: u("/oauth/v2/introspect"),
        authorization_server_metadata_url: u("/.well-known/oauth-authorization-server"),
        token_status_url: u("/token/status{?token}"),
        projects_url: u("/projects{?page,per_page}"),
        project_url: u("/projects/{id}"),
        project_addon_url: u("/projects/{id}/addons/{vendor}/{name}"),
        orgs_url: u("/orgs"),
        org_url: u("/orgs/{org}"),
        org_members_url: u("/orgs/{org}/members"),
        org_member_url: u("/orgs/{org}/members/{username}"),
        vendor_url: u("/vendors/{vendor}"),
        packages_url: u("/packages{?type,q,page,per_page}"),
        package_url: u("/packages/{vendor}/{name}"),
        package_version_url: u("/packages/{vendor}/{name}/versions/{version}"),
        package_advisories_url: u("/packages/{vendor}/{name}/advisories"),
        package_stats_url: u("/packages/{vendor}/{name}/stats"),
        composer_repository_url: u("/packages.json"),
        security_advisories_url: u("/api/security-advisories/{?packages%5B%5D*,updatedSince}"),
        metadata_changes_url: u("/metadata/changes.json{?since}"),
        update_package_url: u("/update-package{?access_token}"),
        ping_url: u("/ping"),
        health_url: u("/health"),
        metrics_url: u("/metrics"),
        openapi_url: u("/openapi.json"),
        docs_url: u("/docs"),
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    response
}

/// The answer to a ping.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pong {
    ping: PongValue,
}

/// `"pong"`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PongValue {
    /// The only answer.
    Pong,
}

/// Liveness for the old SDK: `{"ping":"pong"}`
#[utoipa::path(
    get,
    path = "/ping",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "`{\"ping\":\"pong\"}`", body = Pong),
        (status = 400, response = BadRequest),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_ping() -> Json<Pong> {
    Json(Pong {
        ping: PongValue::Pong,
    })
}

/// What a token is, by its `status`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "status")]
#[schema(as = TokenStatus)]
pub enum TokenStatusView {
    /// An active token acting for a user.
    #[serde(rename = "authenticated", rename_all = "camelCase")]
    Authenticated {
        /// The user's username.
        username: String,
        /// The client it was issued to.
        client_id: String,
        /// Its scopes, space-separated.
        scope: String,
        /// When it expires (RFC 3339).
        #[schema(format = DateTime)]
        expires_at: String,
    },
    /// An active token that carries no user (client_credentials).
    #[serde(rename = "anon.", rename_all = "camelCase")]
    Anonymous {
        /// The client it was issued to.
        client_id: String,
        /// Its scopes, space-separated.
        scope: String,
        /// When it expires (RFC 3339).
        #[schema(format = DateTime)]
        expires_at: String,
    },
    /// Unknown, expired or revoked.
    #[serde(rename = "invalid")]
    Invalid,
}

/// What a token is (the old SDK asks before using one)
#[utoipa::path(
    get,
    path = "/token/status",
    tag = "meta",
    security(),
    params(("token" = String, Query, min_length = 1, description = "the access token to describe")),
    responses(
        (status = 200, description = "The token's status.", body = TokenStatusView),
        (status = 400, response = BadRequest),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_token_status(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<TokenStatusView>, ApiError> {
    let token = form::pairs(query.unwrap_or_default().as_bytes())
        .map_err(|_| ApiError::invalid_query())?
        .find(|(k, v)| k == "token" && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| {
            ApiError::bad_request("missing_parameter", "the token query parameter is required")
        })?;
    let Some(info) = state.services.tokens().active(&token).await? else {
        return Ok(Json(TokenStatusView::Invalid));
    };
    let scope = info.scope.to_string();
    let expires_at = rfc3339(info.expires_at);
    Ok(Json(match &info.user {
        Some(user) => TokenStatusView::Authenticated {
            username: user.username.to_string(),
            client_id: info.client_id.clone(),
            scope,
            expires_at,
        },
        None => TokenStatusView::Anonymous {
            client_id: info.client_id.clone(),
            scope,
            expires_at,
        },
    }))
}

/// Whether the server can answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    status: HealthStatus,
    /// Why not (`database_unavailable`), when unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<EnvelopeBody>, nullable = false)]
    error: Option<EnvelopeBody<'static>>,
}

/// `ok` or `unavailable`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// The database answers.
    Ok,
    /// The database does not answer.
    Unavailable,
}

/// 200 when the database answers, 503 otherwise
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "Healthy: `{\"status\": \"ok\"}`.", body = Health),
        (status = 503, description = "The database does not answer.", body = Health),
    )
)]
pub async fn get_health(State(state): State<AppState>) -> Response {
    match state.services.maintenance().ping().await {
        Ok(()) => Json(Health {
            status: HealthStatus::Ok,
            error: None,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            let status = StatusCode::SERVICE_UNAVAILABLE;
            let error = EnvelopeBody::new(
                "database_unavailable",
                "the database does not answer",
                status,
            );
            let body = Health {
                status: HealthStatus::Unavailable,
                error: Some(error),
            };
            (status, Json(body)).into_response()
        }
    }
}
