//! The conventions of `docs/api.md` §2 that hold for every endpoint.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, error_code, header};

#[tokio::test]
async fn the_root_lists_the_endpoint_families_as_the_documentation_shows() {
    let app = TestApp::spawn().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(header(&response, "cache-control"), "no-cache, private");
    assert_eq!(header(&response, "allow"), "GET");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["currentUserUrl"], app.url("/user"));
    assert_eq!(body["tokenUrl"], app.url("/oauth/v2/token"));
    for (key, value) in body.as_object().unwrap() {
        assert!(key.ends_with("Url"), "{key}");
        assert!(
            value.as_str().unwrap().starts_with(&app.base),
            "{key} is absolute"
        );
    }
}

#[tokio::test]
async fn the_public_url_setting_drives_every_printed_url() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://api.example.org/".into())).await;
    let response = app
        .http
        .get(app.url("/"))
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["currentUserUrl"], "https://api.example.org/user");
}

#[tokio::test]
async fn ping_and_health() {
    let app = TestApp::spawn().await;
    let ping: Value = app.get("/ping").await.json().await.unwrap();
    assert_eq!(ping, serde_json::json!({"ping": "pong"}));
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn unknown_paths_are_404_in_the_envelope() {
    let app = TestApp::spawn().await;
    let response = app.get("/nope").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "content-type"), "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["status"], 404);
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_and_options_is_204() {
    let app = TestApp::spawn().await;
    let response = app.http.delete(app.url("/user")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, "allow"), "GET, PATCH");
    assert_eq!(error_code(response).await, "method_not_allowed");
    let response = app.http.post(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, "allow"), "GET");
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/user"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&response, "allow"), "GET, PATCH");
    let response = app
        .http
        .put(app.url("/oauth/v2/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "allow"), "GET, POST");
}

async fn patch_user(
    app: &TestApp,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.http
        .patch(app.url("/user"))
        .header("Authorization", format!("token {token}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_json_is_400_wrong_types_422_wrong_media_415_and_oversize_413() {
    let app = TestApp::spawn_with(|c| c.limits.body_limit = 4096).await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let json = "application/json";
    for (body, status, code) in [
        (
            b"{\"name\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            b"{\"name\": \"\xff\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (b"{} {}".to_vec(), StatusCode::BAD_REQUEST, "invalid_json"),
        (
            b"{\"name\": 5}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            b"[]".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            b"{\"admin\": true}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            format!("{{\"name\": \"{}\"}}", "a".repeat(5000)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ] {
        let response = patch_user(&app, &token, json, body.clone()).await;
        assert_eq!(
            response.status(),
            status,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(error_code(response).await, code);
    }
    let response = patch_user(&app, &token, "text/plain", b"{}".to_vec()).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(response).await, "unsupported_media_type");
    let response = patch_user(&app, &token, json, b"{\"name\": 5}".to_vec()).await;
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["fields"]["name"].is_string());
    // Nothing was written by any of them.
    let me: Value = app.get_user(&token).await.json().await.unwrap();
    assert_eq!(me["name"], Value::Null);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_clients() {
    let app = TestApp::spawn().await;
    let response = app.get("/ping").await;
    assert!(!header(&response, "x-request-id").is_empty());
    let response = app
        .http
        .get(app.url("/nope"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "x-request-id"), "abc-123");
}

#[tokio::test]
async fn rate_limit_headers_count_down_and_429_past_the_limit() {
    let app = TestApp::spawn_with(|c| {
        c.limits.rate_limit_token = 3;
        c.limits.rate_limit_anonymous = 2;
    })
    .await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = app.get_user(&token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-limit"), "3");
        assert!(
            header(&response, "x-ratelimit-reset")
                .parse::<u64>()
                .unwrap()
                > 1_700_000_000
        );
        remaining.push(header(&response, "x-ratelimit-remaining"));
        assert!(!header(&response, "x-ratelimit-used").is_empty());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let response = app.get_user(&token).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&response, "retry-after").parse::<u64>().unwrap() > 0);
    assert_eq!(error_code(response).await, "rate_limited");
    // Anonymous calls are counted by address, separately.
    assert_eq!(app.get("/ping").await.status(), StatusCode::OK);
    assert_eq!(app.get("/ping").await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/ping").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another token has its own budget.
    let other = app.access_token(&alice).await;
    assert_eq!(app.get_user(&other).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_zero_limit_disables_rate_limiting() {
    let app = TestApp::spawn_with(|c| c.limits.rate_limit_anonymous = 0).await;
    for _ in 0..5 {
        let response = app.get("/ping").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("x-ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn gets_carry_an_etag_and_a_matching_if_none_match_is_304() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let response = app.get_user(&token).await;
    let etag = header(&response, "etag");
    let response = app
        .http
        .get(app.url("/user"))
        .header("Authorization", format!("token {token}"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, "etag"), etag);
    assert!(response.bytes().await.unwrap().is_empty());
    // A change changes the tag.
    app.http
        .patch(app.url("/user"))
        .header("Authorization", format!("token {token}"))
        .json(&serde_json::json!({"name": "Alice"}))
        .send()
        .await
        .unwrap();
    let response = app
        .http
        .get(app.url("/user"))
        .header("Authorization", format!("token {token}"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_ne!(header(&response, "etag"), etag);
}

#[tokio::test]
async fn odd_inputs_never_cause_a_500() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let paths = [
        "/user/tokens?page=-1",
        "/user/tokens?per_page=abc",
        "/user/tokens?page=99999999999999999999",
        "/user/tokens/not-a-uuid",
        "/user/tokens/%00",
        "/token/status?token=%FF%FE",
        "/oauth/v2/token?grant_type=%FF",
        "/%2e%2e/%2e%2e/etc/passwd",
    ];
    for path in paths {
        let response = app.get_with_token(path, &token).await;
        assert!(
            response.status().is_client_error() || response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let _: Value = response
            .json()
            .await
            .unwrap_or_else(|_| panic!("{path}: JSON body"));
    }
}

#[tokio::test]
async fn a_query_that_is_not_utf8_is_400_on_every_endpoint_that_reads_one() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;

    // Resource endpoints: the error envelope, with or without a token.
    for path in [
        "/user/tokens?page=1&x=%FF",
        "/user/clients?per_page=%C3",
        "/token/status?token=%FF%FE",
    ] {
        let response = app.get_with_token(path, &token).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(error_code(response).await, "invalid_query", "{path}");
    }
    let response = app.get("/packages/acme/seo?x=%FF").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "invalid_query");

    // The token endpoint: RFC 6749's error, and the password is never checked.
    let hashed = app.state.services.hasher().done();
    let response = app
        .get(&format!(
            "/oauth/v2/token?grant_type=password&username=alice&password=%FF%FE&client_id={}&client_secret={}",
            alice.client_id, alice.client_secret
        ))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        app.state.services.hasher().done(),
        hashed,
        "a password was checked"
    );

    // The authorization endpoint: its error page.
    let response = app
        .get("/oauth/v2/auth?client_id=%FF&response_type=code")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(header(&response, "content-type").starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("UTF-8"));
}
