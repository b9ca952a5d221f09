//! `GET /oauth/v2/keys`: the JWKS (RFC 7517 §5) — the public halves of the keys that sign
//! ID tokens, the current ones and those retired while what they signed may still be
//! presented.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::state::AppState;

/// A JSON Web Key Set.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = JsonWebKeySet)]
pub struct Jwks {
    /// The keys: `kty`, `kid` (the RFC 7638 thumbprint), `alg` (`ES256` or `RS256`),
    /// `use` (`sig`), and the key's members (`crv`, `x`, `y`, or `n`, `e`). Current keys
    /// first.
    #[schema(value_type = Vec<Object>)]
    keys: Vec<serde_json::Value>,
}

/// The keys that sign ID tokens (JWKS)
#[utoipa::path(
    get,
    path = "/oauth/v2/keys",
    tag = "oauth",
    security(),
    responses(
        (status = 200, description = "The JSON Web Key Set.", body = Jwks),
    )
)]
pub async fn get_jwks(State(state): State<AppState>) -> Result<Json<Jwks>, ApiError> {
    let keys = state.services.keys().jwks().await?;
    Ok(Json(Jwks { keys }))
}
