//! The benchmark's second baseline: what harmony does, without a database. An opaque-token
//! server on axum that keeps its tokens in memory and nothing else:
//!
//! * `GET /user`: the token from `Authorization: token T` → SHA-256 → a map lookup →
//!   the user's JSON (401 with a JSON error body and a challenge when unknown);
//! * `POST /oauth/v2/token`: `client_credentials` (the client secret checked as harmony
//!   checks it, SHA-256 and a constant-time compare), `password` (a plain compare: this
//!   server measures storage, not argon2id) and `refresh_token` (single use: rotated in
//!   memory, a replay revokes the family); tokens minted as harmony mints them
//!   (`PlainSecret::generate_token`) and answered in the documented JSON.
//!
//! Each answer is the one harmony gives under `bench/run` (rate limits off): the same status,
//! headers and body. The headers the contract asks for are computed as harmony computes
//! them — a fresh UUID in `X-Request-Id`, an `ETag` from the body's SHA-256, `Cache-Control`,
//! and the `Bearer` and `DPoP` challenges and the error envelope on a `401` — so that the
//! limit does the work of the answer and leaves out the database and what no client sees
//! (metrics, logs, the record of a token's last use). The hello-world baseline beside it
//! is the bare floor.
//!
//! It prints the same first-start line as harmony (`{"username", "password", "client_id",
//! "client_secret"}`), so that `bench/run` drives it with the same scripts, and the ratio of
//! a scenario to this server is the share of the physical limit harmony reaches.
//!
//! `cargo run --release --example memory_baseline -- 127.0.0.1:9000`

// The same allocator as the server, so that the comparison is of what each does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use harmony::domain::{PlainSecret, TokenDigest};
use harmony::http::middleware::etag_of;
use serde::{Deserialize, Serialize};
use serde_json::json;

const USERNAME: &str = "admin";
const CLIENT_ID: &str = "bench-client";

/// One family of tokens (one original grant): revoking it kills all its tokens.
type Family = u64;

#[derive(Default)]
struct Tokens {
    /// Access token digest → (family, owned by the user?).
    access: HashMap<TokenDigest, (Family, bool)>,
    /// Refresh token digest → (family, used?).
    refresh: HashMap<TokenDigest, (Family, bool)>,
    /// Revoked families.
    revoked: std::collections::HashSet<Family>,
    next_family: Family,
}

struct App {
    tokens: Mutex<Tokens>,
    secret_digest: TokenDigest,
    password: String,
    /// The `DPoP` challenge harmony sends after the `Bearer` one on a `401`.
    dpop_challenge: HeaderValue,
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserView {
    id: &'static str,
    username: &'static str,
    email: &'static str,
    name: &'static str,
    created_at: &'static str,
}

/// harmony's error envelope.
#[derive(Serialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Serialize)]
struct EnvelopeError {
    code: &'static str,
    message: &'static str,
    status: u16,
}

#[derive(Serialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
    token_type: &'static str,
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What harmony adds to every answer: `Cache-Control` unless set, and a fresh request id.
fn finish(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache, private"));
    let mut buf = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    headers.insert(
        X_REQUEST_ID,
        HeaderValue::from_str(id).expect("a UUID is a valid header value"),
    );
    response
}

/// A JSON body with harmony's `ETag`, made by harmony's own function.
fn with_etag(body: Vec<u8>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag_of(&body)),
        ],
        body,
    )
        .into_response()
}

fn oauth_error(code: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": code }))).into_response()
}

async fn user(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    finish(user_answer(&app, &headers))
}

fn user_answer(app: &App, headers: &HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("token ")
                .or_else(|| v.strip_prefix("Bearer "))
        });
    let known = token.is_some_and(|t| {
        let digest = PlainSecret::new(t).digest();
        let tokens = app.tokens.lock().unwrap();
        tokens
            .access
            .get(&digest)
            .is_some_and(|(family, _)| !tokens.revoked.contains(family))
    });
    if !known {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"harmony\", error=\"invalid_token\"",
            )],
            Json(Envelope {
                error: EnvelopeError {
                    code: "invalid_token",
                    message: "the access token is invalid, expired or revoked",
                    status: 401,
                },
            }),
        )
            .into_response();
        response
            .headers_mut()
            .append(header::WWW_AUTHENTICATE, app.dpop_challenge.clone());
        return response;
    }
    let body = serde_json::to_vec(&UserView {
        id: "2f6f0c36-3b0e-4b8a-9d59-4c2f1e0e7a11",
        username: USERNAME,
        email: "admin@localhost",
        name: "Administrator",
        created_at: "2026-11-29T10:00:00Z",
    })
    .expect("JSON");
    with_etag(body)
}

async fn token(State(app): State<Arc<App>>, Form(form): Form<TokenForm>) -> Response {
    finish(token_answer(&app, form))
}

fn token_answer(app: &App, form: TokenForm) -> Response {
    let secret_ok = form.client_id.as_deref() == Some(CLIENT_ID)
        && form
            .client_secret
            .as_deref()
            .is_some_and(|s| PlainSecret::new(s).digest().ct_eq(&app.secret_digest));
    if !secret_ok {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let access = PlainSecret::generate_token("hat_");
    let mut refresh = None;
    {
        let mut tokens = app.tokens.lock().unwrap();
        let family = match form.grant_type.as_str() {
            "client_credentials" => {
                tokens.next_family += 1;
                tokens.next_family
            }
            "password" => {
                if form.username.as_deref() != Some(USERNAME)
                    || form.password.as_deref() != Some(app.password.as_str())
                {
                    return oauth_error("invalid_grant");
                }
                tokens.next_family += 1;
                tokens.next_family
            }
            "refresh_token" => {
                let Some(presented) = form.refresh_token.as_deref() else {
                    return oauth_error("invalid_request");
                };
                let digest = PlainSecret::new(presented).digest();
                let Some(&(family, used)) = tokens.refresh.get(&digest) else {
                    return oauth_error("invalid_grant");
                };
                if used || tokens.revoked.contains(&family) {
                    // A replay gives the family away (RFC 9700 §4.14.2).
                    tokens.revoked.insert(family);
                    return oauth_error("invalid_grant");
                }
                tokens.refresh.insert(digest, (family, true));
                family
            }
            _ => return oauth_error("unsupported_grant_type"),
        };
        let user = form.grant_type != "client_credentials";
        tokens.access.insert(access.digest(), (family, user));
        if user {
            let new = PlainSecret::generate_token("hrt_");
            tokens.refresh.insert(new.digest(), (family, false));
            refresh = Some(new);
        }
    }
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(TokenAnswer {
            access_token: access.expose().to_owned(),
            expires_in: 3600,
            token_type: "bearer",
            scope: None,
            refresh_token: refresh.map(|r| r.expose().to_owned()),
        }),
    )
        .into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".into());
    let secret = PlainSecret::generate("hcs_", 32);
    let password = PlainSecret::generate("", 16).expose().to_owned();
    println!(
        "{}",
        json!({
            "username": USERNAME,
            "password": password,
            "client_id": CLIENT_ID,
            "client_secret": secret.expose(),
        })
    );
    let challenge = format!(
        "DPoP algs=\"ES256 EdDSA RS256\", resource_metadata=\"http://{addr}/.well-known/oauth-protected-resource\""
    );
    let app = Arc::new(App {
        tokens: Mutex::new(Tokens::default()),
        secret_digest: secret.digest(),
        password,
        dpop_challenge: HeaderValue::from_str(&challenge).expect("an address is a valid header"),
    });
    let router = Router::new()
        .route("/user", get(user))
        .route("/ping", get(|| async { "pong" }))
        .route("/oauth/v2/token", post(token))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, router).await
}
