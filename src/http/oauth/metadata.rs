//! `GET /.well-known/oauth-authorization-server` (RFC 8414): what this authorization
//! server supports, with absolute endpoint URLs under the public URL (the `issuer`).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::domain::{GrantType, Scope};
use crate::state::AppState;

/// `GET /.well-known/oauth-authorization-server`.
pub async fn get_metadata(State(state): State<AppState>) -> Json<Value> {
    let grants: Vec<&str> = GrantType::ALL
        .into_iter()
        .filter(|g| *g != GrantType::Password || state.config.oauth.password_grant)
        .map(GrantType::as_str)
        .collect();
    let scopes: Vec<&str> = Scope::ALL.into_iter().map(Scope::as_str).collect();
    Json(json!({
        "issuer": state.public_url.as_ref(),
        "authorization_endpoint": state.url("/oauth/v2/auth"),
        "token_endpoint": state.url("/oauth/v2/token"),
        "revocation_endpoint": state.url("/oauth/v2/revoke"),
        "introspection_endpoint": state.url("/oauth/v2/introspect"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": state.url("/"),
    }))
}
