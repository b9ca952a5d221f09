//! OpenID Connect ID tokens from the code flow: signed with a published key, the nonce
//! echoed, `at_hash` of the access token, claims that follow the scope, fresh ID tokens on
//! refresh, and tokens signed before a key rotation still verifiable.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::browser::{
    Browser, Pkce, authorize_url, code_client, exchange, param, redirect_params,
    sign_in_and_approve,
};
use crate::helpers::{Account, TestApp, oauth_error};
use crate::process::command as harmony;

/// The token answer of a code flow with these authorization parameters.
pub async fn code_flow(app: &TestApp, account: &Account, extra: &[(&str, &str)]) -> Value {
    let pkce = Pkce::new();
    let url = authorize_url(app, &account.client_id, &pkce, extra);
    let approved = sign_in_and_approve(&Browser::new(), &url, account).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let code = param(&redirect_params(&approved), "code").unwrap();
    let token = exchange(app, account, &code, &pkce.verifier).await;
    assert_eq!(token.status(), StatusCode::OK);
    token.json().await.unwrap()
}

/// Verifies `id_token` against the server's JWKS as a client would (signature, `kid`,
/// ES256, `iss`, `aud`, `exp`) and answers its claims.
async fn verified(app: &TestApp, account: &Account, id_token: &str) -> Value {
    verified_as(app, account, id_token, Algorithm::ES256).await
}

/// [`verified`], signed with `alg`.
pub async fn verified_as(
    app: &TestApp,
    account: &Account,
    id_token: &str,
    alg: Algorithm,
) -> Value {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, alg);
    let kid = header.kid.expect("a kid in the header");
    let jwks: Value = app
        .http
        .get(app.url("/oauth/v2/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("{kid} is not published: {jwks}"));
    let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let mut validation = Validation::new(alg);
    validation.set_audience(&[&account.client_id]);
    validation.set_issuer(&[&app.base]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(id_token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

/// OpenID Connect Core §3.1.3.6, computed here from the access token.
fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

#[tokio::test]
async fn an_openid_code_exchange_answers_an_id_token_that_verifies_against_the_jwks() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let before = chrono::Utc::now().timestamp();
    let body = code_flow(
        &app,
        &alice,
        &[
            ("scope", "openid profile email read"),
            ("nonce", "n-0S6_WzA2Mj"),
        ],
    )
    .await;
    assert_eq!(body["scope"], "read openid profile email");
    let access = body["access_token"].as_str().unwrap();
    let claims = verified(&app, &alice, body["id_token"].as_str().unwrap()).await;

    assert_eq!(claims["sub"], alice.user.id.to_string());
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["at_hash"], at_hash(access));
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["email"], alice.user.email.as_str());
    assert_eq!(claims["email_verified"], false);
    let iat = claims["iat"].as_i64().unwrap();
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!(before <= auth_time && auth_time <= iat, "{claims}");
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 3600);
    // The access token still works on the API (`read`).
    assert_eq!(app.get_user(access).await.status(), StatusCode::OK);

    // A refresh answers a fresh ID token for the same user: no nonce (OpenID Connect
    // Core §12.2), at_hash of the new access token.
    let refreshed: Value = app
        .refresh(&alice, body["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refreshed["scope"], "read openid profile email");
    let again = verified(&app, &alice, refreshed["id_token"].as_str().unwrap()).await;
    assert_eq!(again["sub"], claims["sub"]);
    assert_eq!(
        again["at_hash"],
        at_hash(refreshed["access_token"].as_str().unwrap())
    );
    assert!(again.get("nonce").is_none(), "{again}");
    assert_eq!(again["preferred_username"], "alice");

    // A refresh narrowed to `read` gets no ID token.
    let narrowed: Value = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                refreshed["refresh_token"].as_str().unwrap(),
            ),
            ("scope", "read"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrowed["scope"], "read");
    assert!(narrowed.get("id_token").is_none(), "{narrowed}");
}

#[tokio::test]
async fn the_claims_follow_the_scope_and_without_openid_there_is_no_id_token() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", true).await;

    let only_openid = code_flow(&app, &alice, &[("scope", "openid")]).await;
    assert_eq!(only_openid["scope"], "openid");
    let claims = verified(&app, &alice, only_openid["id_token"].as_str().unwrap()).await;
    for absent in [
        "nonce",
        "name",
        "preferred_username",
        "email",
        "email_verified",
    ] {
        assert!(claims.get(absent).is_none(), "{absent} in {claims}");
    }
    // `openid` alone opens no API resource.
    let access = only_openid["access_token"].as_str().unwrap();
    assert_eq!(app.get_user(access).await.status(), StatusCode::FORBIDDEN);

    let email = code_flow(&app, &alice, &[("scope", "openid email")]).await;
    let claims = verified(&app, &alice, email["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["email"], alice.user.email.as_str());
    assert!(claims.get("preferred_username").is_none(), "{claims}");

    let api_only = code_flow(&app, &alice, &[("scope", "read write")]).await;
    assert!(api_only.get("id_token").is_none(), "{api_only}");
}

#[tokio::test]
async fn an_id_token_signed_before_a_key_rotation_still_verifies() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let old = code_flow(&app, &alice, &[("scope", "openid")]).await;
    let old_token = old["id_token"].as_str().unwrap();
    let old_kid = jsonwebtoken::decode_header(old_token).unwrap().kid;

    let out = harmony(&app.database_url)
        .args(["keys", "rotate"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    verified(&app, &alice, old_token).await;
    // (Another scope, so that the consent page shows again.)
    let new = code_flow(&app, &alice, &[("scope", "openid profile")]).await;
    let new_token = new["id_token"].as_str().unwrap();
    assert_ne!(jsonwebtoken::decode_header(new_token).unwrap().kid, old_kid);
    verified(&app, &alice, new_token).await;
}

#[tokio::test]
async fn identity_scopes_are_asked_for_at_the_authorization_endpoint_only() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let password_grant = app
        .post_token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", &alice.password),
            ("scope", "openid"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(password_grant.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(password_grant).await, "invalid_scope");

    let token = app.access_token(&alice).await;
    let registered = app
        .http
        .post(app.url("/user/clients"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "name": "Sign-in",
            "grantTypes": ["authorization_code"],
            "redirectUris": ["https://example.com/cb"],
            "scopes": ["read", "openid"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = registered.json().await.unwrap();
    assert!(body.to_string().contains("openid"), "{body}");
}

#[tokio::test]
async fn an_overlong_nonce_is_refused_by_redirect() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let nonce = "n".repeat(513);
    let url = authorize_url(
        &app,
        &alice.client_id,
        &Pkce::new(),
        &[("scope", "openid"), ("nonce", &nonce)],
    );
    let response = Browser::new().get(&url).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let params = redirect_params(&response);
    assert_eq!(param(&params, "error").as_deref(), Some("invalid_request"));
}
