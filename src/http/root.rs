//! The root endpoint (the map of the API), `/ping`, `/token/status`, `/health` and the
//! route of `/metrics` (whose handler lives in [`super::metrics`]).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::domain::form;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::state::AppState;

/// Routes that count against the rate limits.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(get_root))
        .route("/ping", get(ping))
        .route("/token/status", get(get_token_status))
}

/// Routes for load balancers and monitoring, outside the rate limits.
pub fn unmetered_router() -> Router<AppState> {
    Router::new()
        .route("/health", get(get_health))
        .route("/metrics", get(super::metrics::get_metrics))
}

/// `GET /`: every endpoint family, as absolute URL templates (RFC 6570).
pub async fn get_root(State(state): State<AppState>) -> Response {
    let u = |path: &str| state.url(path);
    let body = json!({
        "currentUserUrl": u("/user"),
        "userTokensUrl": u("/user/tokens{?page,per_page}"),
        "userTokenUrl": u("/user/tokens/{id}"),
        "userClientsUrl": u("/user/clients{?page,per_page}"),
        "userClientUrl": u("/user/clients/{clientId}"),
        "userClientSecretUrl": u("/user/clients/{clientId}/secret"),
        "adminUsersUrl": u("/admin/users{?page,per_page}"),
        "adminUserUrl": u("/admin/users/{id}"),
        "authorizationUrl": u("/oauth/v2/auth{?response_type,client_id,redirect_uri,scope,state,code_challenge,code_challenge_method}"),
        "tokenUrl": u("/oauth/v2/token"),
        "revocationUrl": u("/oauth/v2/revoke"),
        "introspectionUrl": u("/oauth/v2/introspect"),
        "authorizationServerMetadataUrl": u("/.well-known/oauth-authorization-server"),
        "tokenStatusUrl": u("/token/status{?token}"),
        "projectsUrl": u("/projects{?page,per_page}"),
        "projectUrl": u("/projects/{id}"),
        "projectAddonUrl": u("/projects/{id}/addons/{vendor}/{name}"),
        "packagesUrl": u("/packages{?type,q,page,per_page}"),
        "packageUrl": u("/packages/{vendor}/{name}"),
        "packageVersionUrl": u("/packages/{vendor}/{name}/versions/{version}"),
        "composerRepositoryUrl": u("/packages.json"),
        "updatePackageUrl": u("/update-package{?access_token}"),
        "pingUrl": u("/ping"),
        "healthUrl": u("/health"),
        "metricsUrl": u("/metrics"),
        "openapiUrl": u("/openapi.json"),
        "docsUrl": u("/docs"),
    });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    response
}

/// `GET /ping`.
pub async fn ping() -> Json<Value> {
    Json(json!({ "ping": "pong" }))
}

/// `GET /token/status?token=T`: what the old SDK asks before using a token.
pub async fn get_token_status(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let token = form::pairs(query.unwrap_or_default().as_bytes())
        .map_err(|_| ApiError::invalid_query())?
        .find(|(k, v)| k == "token" && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| {
            ApiError::bad_request("missing_parameter", "the token query parameter is required")
        })?;
    let Some(info) = state.services.tokens().active(&token).await? else {
        return Ok(Json(json!({ "status": "invalid" })));
    };
    let scope = info.scope.to_string();
    let expires_at = rfc3339(info.expires_at);
    Ok(Json(match &info.user {
        Some(user) => json!({
            "status": "authenticated",
            "username": user.username,
            "clientId": info.client_id,
            "scope": scope,
            "expiresAt": expires_at,
        }),
        None => json!({
            "status": "anon.",
            "clientId": info.client_id,
            "scope": scope,
            "expiresAt": expires_at,
        }),
    }))
}

/// `GET /health`: 200 when the database answers, 503 otherwise.
pub async fn get_health(State(state): State<AppState>) -> Response {
    match state.services.maintenance().ping().await {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "error": {
                    "code": "database_unavailable",
                    "message": "the database does not answer",
                    "status": 503,
                }})),
            )
                .into_response()
        }
    }
}
