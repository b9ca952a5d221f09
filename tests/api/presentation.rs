//! Presenting a token (`docs/api.md` §3): every accepted way, and the 400/401/403 rules with
//! their `WWW-Authenticate` challenges.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use harmony::domain::GrantType;
use harmony::domain::{Scope, ScopeSet};
use harmony::service::grants::Issue;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, error_code, header};

/// `GET /user` with `value` as the `Authorization` header.
async fn get_user_presenting(app: &TestApp, value: &str) -> Response {
    app.http
        .get(app.url("/user"))
        .header("Authorization", value)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_is_accepted_in_every_documented_form() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let basic = STANDARD.encode(format!("anything:{token}"));
    for value in [
        format!("token {token}"),
        format!("Token {token}"),
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Basic {basic}"),
    ] {
        let response = get_user_presenting(&app, &value).await;
        assert_eq!(response.status(), StatusCode::OK, "{value}");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["username"], "alice");
    }
    let response = app.get(&format!("/user?access_token={token}")).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// The first request with a token finds it in the store, the next ones in the node's
/// memory: the answers are the same either way.
#[tokio::test]
async fn a_token_is_answered_alike_from_the_store_and_from_memory() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for (value, expected) in [
        (format!("token {token}"), StatusCode::OK),
        (format!("Bearer {token}"), StatusCode::OK),
        ("token hat_unknown".to_owned(), StatusCode::UNAUTHORIZED),
    ] {
        let mut answers = Vec::new();
        for _ in 0..3 {
            let response = get_user_presenting(&app, &value).await;
            let status = response.status();
            let challenge = response
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>();
            let body: Value = response.json().await.unwrap();
            answers.push((
                status,
                challenge,
                body["username"].clone(),
                body["error"]["code"].clone(),
            ));
        }
        assert_eq!(answers[0].0, expected, "{value}: {answers:?}");
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "{value}: {answers:?}"
        );
    }
}

#[tokio::test]
async fn a_token_presented_two_ways_is_a_400() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let response = app
        .http
        .get(app.url(&format!("/user?access_token={token}")))
        .header("Authorization", format!("token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "invalid_request");
    let response = app
        .get(&format!("/user?access_token={token}&access_token={token}"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "invalid_request");
}

#[tokio::test]
async fn no_token_is_a_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    let response = app.get("/user").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&response, "www-authenticate"),
        "Bearer realm=\"harmony\""
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(body["error"]["status"], 401);
    assert!(body["error"]["message"].is_string());
}

#[tokio::test]
async fn an_unknown_or_malformed_token_is_a_401_invalid_token() {
    let app = TestApp::spawn().await;
    for value in [
        "token hat_unknown",
        "Bearer",
        "Basic %%%",
        &format!("Bearer {}", "x".repeat(5000)),
    ] {
        let response = get_user_presenting(&app, value).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(
            header(&response, "www-authenticate"),
            "Bearer realm=\"harmony\", error=\"invalid_token\""
        );
        assert_eq!(error_code(response).await, "invalid_token");
    }
    let response = app
        .http
        .get(app.url("/user"))
        .header(
            "Authorization",
            reqwest::header::HeaderValue::from_bytes(b"token \xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "invalid_token");
}

#[tokio::test]
async fn an_expired_token_is_a_401_invalid_token() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let now = harmony::store::now();
    let (rows, access, _) = Issue {
        client_id: &alice.client_id,
        user_id: Some(alice.user.id),
        grant_type: GrantType::Password,
        scope: ScopeSet::of(&[Scope::Read]),
        refresh_scope: None,
        family_id: uuid::Uuid::new_v4(),
        began_with: Some(GrantType::Password),
        now: now - 7200,
        binding: Default::default(),
    }
    .build(&app.state.config.oauth);
    app.state
        .services
        .store()
        .insert_tokens(&rows)
        .await
        .unwrap();
    let response = app.get_user(access.expose()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "invalid_token");
    let status: Value = app
        .get(&format!("/token/status?token={}", access.expose()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "invalid");
}

#[tokio::test]
async fn a_token_without_the_scope_is_a_403_insufficient_scope() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = &app.scoped_token(&alice, "read").await;
    assert_eq!(app.get_user(token).await.status(), StatusCode::OK);
    let response = app
        .http
        .patch(app.url("/user"))
        .header("Authorization", format!("token {token}"))
        .json(&serde_json::json!({"name": "Alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(&response, "www-authenticate"),
        "Bearer realm=\"harmony\", error=\"insufficient_scope\", scope=\"write\""
    );
    assert_eq!(error_code(response).await, "insufficient_scope");
}

#[tokio::test]
async fn public_endpoints_ignore_a_bad_token() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/ping"))
        .header("Authorization", "token hat_unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!({"ping": "pong"})
    );
}
