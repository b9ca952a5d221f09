//! What this authorization server supports, with absolute endpoint URLs under the public
//! URL (the `issuer`): `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3). Both come
//! from one builder: the OpenID document is the RFC 8414 metadata plus the OpenID Connect
//! members, so that a field added to one cannot be forgotten in the other.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::id_token::UserClaims;
use crate::domain::jose::SigningAlg;
use crate::domain::{GrantType, Scope};
use crate::state::AppState;

/// The RFC 8414 metadata, in this order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuthorizationServerMetadata)]
pub struct Metadata {
    /// The public URL (never the `Host` header); also the ID tokens' `iss`.
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    /// The keys that sign ID tokens (RFC 7517 JWKS).
    jwks_uri: String,
    scopes_supported: Vec<&'static str>,
    response_types_supported: Vec<&'static str>,
    response_modes_supported: Vec<&'static str>,
    /// Without `password` when the deployment turned the password grant off.
    grant_types_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    authorization_response_iss_parameter_supported: bool,
    /// Where clients push authorization requests (RFC 9126 §5).
    pushed_authorization_request_endpoint: String,
    /// Whether every client must push its authorization requests (no: per client).
    require_pushed_authorization_requests: bool,
    /// The algorithms accepted in DPoP proofs (RFC 9449 §5.1).
    dpop_signing_alg_values_supported: Vec<&'static str>,
    service_documentation: String,
}

/// The protected resource metadata (RFC 9728 §2), in this order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceMetadata {
    /// This API's resource identifier: the public URL (what `resource` parameters name).
    resource: String,
    /// The authorization servers that issue tokens for it: this server.
    authorization_servers: Vec<String>,
    scopes_supported: Vec<&'static str>,
    /// How a token may be presented: `header`, and `query` unless switched off.
    bearer_methods_supported: Vec<&'static str>,
    /// The algorithms accepted in DPoP proofs.
    dpop_signing_alg_values_supported: Vec<&'static str>,
    /// Whether every token must be DPoP-bound (no: bearer tokens work).
    dpop_bound_access_tokens_required: bool,
    resource_documentation: String,
}

/// The path of the protected resource metadata (RFC 9728 §3).
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Protected resource metadata (RFC 9728)
#[utoipa::path(
    get,
    path = "/.well-known/oauth-protected-resource",
    tag = "oauth",
    security(),
    responses(
        (status = 200, description = "The metadata.", body = ResourceMetadata),
    )
)]
pub async fn get_resource_metadata(State(state): State<AppState>) -> Json<ResourceMetadata> {
    let mut methods = vec!["header"];
    if state.config.oauth.query_tokens {
        methods.push("query");
    }
    Json(ResourceMetadata {
        resource: state.public_url.to_string(),
        authorization_servers: vec![state.public_url.to_string()],
        scopes_supported: Scope::EVERY.into_iter().map(Scope::as_str).collect(),
        bearer_methods_supported: methods,
        dpop_signing_alg_values_supported: crate::domain::dpop::ALGS.to_vec(),
        dpop_bound_access_tokens_required: false,
        resource_documentation: state.url("/docs"),
    })
}

/// The OpenID Connect Discovery document: the RFC 8414 metadata and the OpenID Connect
/// members.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenIdConfiguration {
    #[serde(flatten)]
    metadata: Metadata,
    userinfo_endpoint: String,
    /// RP-initiated logout.
    end_session_endpoint: String,
    subject_types_supported: Vec<&'static str>,
    id_token_signing_alg_values_supported: Vec<&'static str>,
    claims_supported: Vec<&'static str>,
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
}

impl Metadata {
    /// The metadata of this deployment.
    fn of(state: &AppState) -> Metadata {
        let grants: Vec<&str> = GrantType::ALL
            .into_iter()
            .filter(|g| *g != GrantType::Password || state.config.oauth.password_grant)
            .map(GrantType::as_str)
            .collect();
        let scopes: Vec<&str> = Scope::EVERY.into_iter().map(Scope::as_str).collect();
        let client_auth = || vec!["client_secret_basic", "client_secret_post", "none"];
        Metadata {
            issuer: state.public_url.to_string(),
            authorization_endpoint: state.url("/oauth/v2/auth"),
            token_endpoint: state.url("/oauth/v2/token"),
            revocation_endpoint: state.url("/oauth/v2/revoke"),
            introspection_endpoint: state.url("/oauth/v2/introspect"),
            jwks_uri: state.url("/oauth/v2/keys"),
            scopes_supported: scopes,
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            grant_types_supported: grants,
            token_endpoint_auth_methods_supported: client_auth(),
            revocation_endpoint_auth_methods_supported: client_auth(),
            introspection_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
            ],
            code_challenge_methods_supported: vec!["S256"],
            authorization_response_iss_parameter_supported: true,
            pushed_authorization_request_endpoint: state.url("/oauth/v2/par"),
            require_pushed_authorization_requests: false,
            dpop_signing_alg_values_supported: crate::domain::dpop::ALGS.to_vec(),
            service_documentation: state.url("/"),
        }
    }
}

impl OpenIdConfiguration {
    /// The discovery document of this deployment.
    fn of(state: &AppState) -> OpenIdConfiguration {
        OpenIdConfiguration {
            metadata: Metadata::of(state),
            userinfo_endpoint: state.url("/userinfo"),
            end_session_endpoint: state.url("/oauth/v2/logout"),
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: SigningAlg::ALL
                .into_iter()
                .map(SigningAlg::as_str)
                .collect(),
            claims_supported: UserClaims::NAMES
                .into_iter()
                .chain(["iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"])
                .collect(),
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
        }
    }
}

/// Authorization server metadata (RFC 8414)
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "oauth",
    security(),
    responses(
        (status = 200, description = "The metadata.", body = Metadata),
    )
)]
pub async fn get_metadata(State(state): State<AppState>) -> Json<Metadata> {
    Json(Metadata::of(&state))
}

/// OpenID Connect discovery (OpenID Connect Discovery 1.0 §4)
///
/// The RFC 8414 metadata and the OpenID Connect members (`userinfo_endpoint`,
/// `subject_types_supported`, `id_token_signing_alg_values_supported`, …).
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "oauth",
    security(),
    responses(
        (status = 200, description = "The OpenID Provider configuration.", body = OpenIdConfiguration),
    )
)]
pub async fn get_openid_configuration(State(state): State<AppState>) -> Json<OpenIdConfiguration> {
    Json(OpenIdConfiguration::of(&state))
}
