//! `GET|POST /oauth/v2/token`: the documented answer, client authentication, the password
//! and client_credentials grants, scopes, RFC 6749 errors, the failed-credentials limiter.

use harmony::domain::user::Username;
use harmony::service::clients::ClientSpec;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, error_code, header, oauth_error};

#[tokio::test]
async fn the_documented_get_request_answers_the_documented_json_in_key_order() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let response = app.get_token(&alice).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(header(&response, "pragma"), "no-cache");
    let text = response.text().await.unwrap();
    let keys = [
        "access_token",
        "expires_in",
        "token_type",
        "scope",
        "refresh_token",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            text.find(&format!("\"{k}\""))
                .unwrap_or_else(|| panic!("{k} in {text}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "key order of {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 5);
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], Value::Null);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() >= 43, "256 bits at least");
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_ne!(body["refresh_token"], body["access_token"]);
    assert_eq!(app.get_user(token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn post_with_a_form_and_http_basic_issues_a_token() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let response = app
        .post_token_basic(
            &alice.client_id,
            &alice.client_secret,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", &alice.password),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["refresh_token"].is_string());
}

#[tokio::test]
async fn usernames_are_case_insensitive_at_sign_in() {
    let app = TestApp::spawn().await;
    let mut alice = app.account("alice").await;
    alice.user.username = Username::parse("ALICE").unwrap();
    assert_eq!(app.get_token(&alice).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn authenticating_the_client_both_ways_is_invalid_request() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let response = app
        .post_token_basic(
            &alice.client_id,
            &alice.client_secret,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", alice.client_id.as_str()),
                ("client_secret", alice.client_secret.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(response).await, "invalid_request");
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client_400_with_parameters_and_401_with_basic() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &alice.client_id),
            ("client_secret", "hcs_wrong"),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].is_string());

    let response = app
        .post_token_basic(
            &alice.client_id,
            "wrong",
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&response, "www-authenticate").starts_with("Basic"));
    assert_eq!(oauth_error(response).await, "invalid_client");
}

#[tokio::test]
async fn unknown_clients_and_missing_client_authentication_are_invalid_client() {
    let app = TestApp::spawn().await;
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nope"),
            ("client_secret", "x"),
        ])
        .await;
    assert_eq!(oauth_error(response).await, "invalid_client");
    let response = app
        .post_token(&[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(oauth_error(response).await, "invalid_client");
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let mut alice = app.account("alice").await;
    alice.password = "wrong password".into();
    let response = app.get_token(&alice).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(response).await, "invalid_grant");
    alice.user.username = Username::parse("nobody").unwrap();
    assert_eq!(
        oauth_error(app.get_token(&alice).await).await,
        "invalid_grant"
    );
    let injection = app
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
            ("username", "' OR '1'='1' --"),
            ("password", &alice.password),
        ])
        .await;
    assert_eq!(oauth_error(injection).await, "invalid_grant");
}

#[tokio::test]
async fn grant_type_errors_follow_rfc_6749() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let id = alice.client_id.as_str();
    let secret = alice.client_secret.as_str();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("client_id", id), ("client_secret", secret)],
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "magic"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            "unsupported_grant_type",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "password"),
                ("grant_type", "password"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            "invalid_request",
        ),
    ];
    for (form, expected) in cases {
        let response = app.post_token(form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form:?}");
        assert_eq!(oauth_error(response).await, expected, "{form:?}");
    }
}

#[tokio::test]
async fn a_post_body_that_is_not_a_form_is_invalid_request() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.url("/oauth/v2/token"))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"password"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(response).await, "invalid_request");
}

#[tokio::test]
async fn a_client_may_use_only_its_registered_grants() {
    let app = TestApp::spawn().await;
    let spec = ClientSpec {
        grant_types: vec!["password".into()],
        ..ClientSpec::default()
    };
    let alice = app.account_with("alice", false, spec).await;
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(oauth_error(response).await, "unauthorized_client");
    // Without refresh_token among its grants, the password grant issues no refresh token.
    let body = app.token_json(&alice).await;
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn a_named_scope_is_granted_and_echoed_and_others_are_invalid_scope() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = |scope: &'static str| app.password_grant_with_scope(&alice, scope);
    let response = token("read").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "read");
    let response = token("write read").await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "read write");
    for bad in ["delete", "admin", "read admin"] {
        let response = token(bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(oauth_error(response).await, "invalid_scope", "{bad}");
    }
}

#[tokio::test]
async fn the_password_grant_signs_in_only_the_clients_owner_unless_the_client_is_trusted() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let mut bob = app.account("bob").await;
    bob.client_id = alice.client_id.clone();
    bob.client_secret = alice.client_secret.clone();
    let response = app.get_token(&bob).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(response).await, "unauthorized_client");

    let spec = ClientSpec {
        trusted: true,
        ..ClientSpec::default()
    };
    let carol = app.account_with("carol", false, spec).await;
    bob.client_id = carol.client_id.clone();
    bob.client_secret = carol.client_secret.clone();
    let token = app.token_json(&bob).await;
    let me: Value = app
        .get_user(token["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "bob");
}

#[tokio::test]
async fn client_credentials_issue_a_userless_token_without_refresh_token() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], Value::Null);
    let token = body["access_token"].as_str().unwrap();

    let status: Value = app
        .get(&format!("/token/status?token={token}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "anon.");
    assert_eq!(status["clientId"], alice.client_id.as_str());

    let response = app.get_user(token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "user_token_required");
}

#[tokio::test]
async fn token_status_reports_users_and_invalid_tokens() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let status: Value = app
        .get(&format!("/token/status?token={token}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "authenticated");
    assert_eq!(status["username"], "alice");
    assert_eq!(status["clientId"], alice.client_id.as_str());
    assert_eq!(status["scope"], "read write");
    assert!(status["expiresAt"].as_str().unwrap().ends_with('Z'));
    let response = app.get("/token/status?token=hat_nope").await;
    assert_eq!(response.status(), StatusCode::OK);
    let status: Value = response.json().await.unwrap();
    assert_eq!(status, serde_json::json!({"status": "invalid"}));
    assert_eq!(
        app.get("/token/status").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn failed_passwords_are_limited_per_account_and_address_without_locking_out_the_owner() {
    let app = TestApp::spawn_with(|c| c.limits.trust_forwarded_for = true).await;
    let alice = app.account("alice").await;
    let attempt = |addr: &'static str, password: &'static str| {
        let alice = alice.clone();
        let app = &app;
        async move {
            app.http
                .get(app.url("/oauth/v2/token"))
                .header("X-Forwarded-For", addr)
                .query(&[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    (
                        "password",
                        if password.is_empty() {
                            alice.password.as_str()
                        } else {
                            password
                        },
                    ),
                    ("client_id", alice.client_id.as_str()),
                    ("client_secret", alice.client_secret.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // At least 20 failures in a row are tolerated (plain invalid_grant)…
    for i in 0..30 {
        let response = attempt("203.0.113.9", "wrong password").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "attempt {i}");
        assert_eq!(oauth_error(response).await, "invalid_grant", "attempt {i}");
    }
    // …then the stranger's address is refused, even with the right password…
    let response = attempt("203.0.113.9", "").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&response, "retry-after").parse::<u64>().unwrap() > 0);
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(oauth_error(response).await, "temporarily_unavailable");
    // …while the owner, elsewhere, still signs in.
    assert_eq!(attempt("198.51.100.7", "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn failed_client_secrets_are_limited_too() {
    let app = TestApp::spawn_with(|c| c.limits.failed_auth_limit = 3).await;
    let alice = app.account("alice").await;
    for _ in 0..3 {
        let response = app
            .post_token(&[
                ("grant_type", "client_credentials"),
                ("client_id", &alice.client_id),
                ("client_secret", "bad"),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(oauth_error(response).await, "invalid_client");
    }
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&response, "retry-after").parse::<u64>().unwrap() > 0);
    assert_eq!(oauth_error(response).await, "temporarily_unavailable");
}

#[tokio::test]
async fn real_argon2id_parameters_hash_and_verify() {
    let app = TestApp::spawn_with(|c| c.hashing = harmony::config::HashingConfig::default()).await;
    let alice = app.account("alice").await;
    let stored = app
        .state
        .services
        .store()
        .credentials_by_username(&Username::parse("alice").unwrap())
        .await
        .unwrap();
    assert!(
        stored
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert_eq!(app.get_token(&alice).await.status(), StatusCode::OK);
}
