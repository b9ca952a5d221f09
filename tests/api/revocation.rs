//! `POST /oauth/v2/revoke` (RFC 7009), `POST /oauth/v2/introspect` (RFC 7662) and
//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::browser::code_client;
use crate::helpers::{Account, TestApp, header, oauth_error};

async fn post(app: &TestApp, path: &str, account: &Account, form: &[(&str, &str)]) -> Response {
    let mut request = app.http.post(app.url(path)).form(form);
    request = if account.client_secret.is_empty() {
        let mut with_id = form.to_vec();
        with_id.push(("client_id", &account.client_id));
        app.http.post(app.url(path)).form(&with_id)
    } else {
        request.basic_auth(&account.client_id, Some(&account.client_secret))
    };
    request.send().await.unwrap()
}

async fn introspect(app: &TestApp, account: &Account, token: &str) -> Value {
    let response = post(app, "/oauth/v2/introspect", account, &[("token", token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "no-store");
    response.json().await.unwrap()
}

fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap()
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_access_tokens() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let tokens = app.token_json(&alice).await;
    let response = post(
        &app,
        "/oauth/v2/revoke",
        &alice,
        &[
            ("token", field(&tokens, "refresh_token")),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.get_user(field(&tokens, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = app.refresh(&alice, field(&tokens, "refresh_token")).await;
    assert_eq!(oauth_error(refresh).await, "invalid_grant");
}

#[tokio::test]
async fn revoking_an_access_token_with_a_wrong_hint_still_finds_it() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let other = app.access_token(&alice).await;
    let token = app.access_token(&alice).await;
    let response = post(
        &app,
        "/oauth/v2/revoke",
        &alice,
        &[("token", &token), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.get_user(&token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_user(&other).await.status(),
        StatusCode::OK,
        "another grant"
    );
}

#[tokio::test]
async fn unknown_tokens_are_answered_200() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    for token in ["nope", &"x".repeat(5000)] {
        let response = post(&app, "/oauth/v2/revoke", &alice, &[("token", token)]).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let missing = post(&app, "/oauth/v2/revoke", &alice, &[]).await;
    assert_eq!(oauth_error(missing).await, "invalid_request");
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_token() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let mallory = app.account("mallory").await;
    let tokens = app.token_json(&alice).await;
    for token in [
        field(&tokens, "access_token"),
        field(&tokens, "refresh_token"),
    ] {
        let response = post(&app, "/oauth/v2/revoke", &mallory, &[("token", token)]).await;
        assert_eq!(response.status(), StatusCode::OK, "silently ignored");
    }
    assert_eq!(
        app.get_user(field(&tokens, "access_token")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.refresh(&alice, field(&tokens, "refresh_token"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn revocation_needs_client_authentication() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let anonymous = app
        .http
        .post(app.url("/oauth/v2/revoke"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&anonymous, "www-authenticate").starts_with("Basic"));
    assert_eq!(oauth_error(anonymous).await, "invalid_client");
    let wrong = app
        .http
        .post(app.url("/oauth/v2/revoke"))
        .basic_auth(&alice.client_id, Some("wrong"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(oauth_error(wrong).await, "invalid_client");
    // A confidential client cannot pass as public by leaving its secret out.
    let no_secret = app
        .http
        .post(app.url("/oauth/v2/revoke"))
        .form(&[("token", token.as_str()), ("client_id", &alice.client_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(no_secret).await, "invalid_client");
    assert_eq!(app.get_user(&token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_public_client_revokes_its_own_tokens_with_its_id_alone() {
    let app = TestApp::spawn().await;
    let spa = code_client(&app, "alice", true).await;
    let tokens = crate::browser::code_tokens(&app, &spa).await;
    let response = post(
        &app,
        "/oauth/v2/revoke",
        &spa,
        &[("token", field(&tokens, "access_token"))],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.get_user(field(&tokens, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn introspection_describes_an_active_token_of_the_client() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let tokens = app.token_json(&alice).await;
    let body = introspect(&app, &alice, field(&tokens, "access_token")).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["client_id"], alice.client_id.as_str());
    assert_eq!(body["username"], "alice");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["sub"], alice.user.id.to_string().as_str());
    let (exp, iat) = (body["exp"].as_i64().unwrap(), body["iat"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);

    let refresh = introspect(&app, &alice, field(&tokens, "refresh_token")).await;
    assert_eq!(refresh["active"], true);
    assert_eq!(refresh["username"], "alice");

    let cc: Value = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await
        .json()
        .await
        .unwrap();
    let cc = introspect(&app, &alice, field(&cc, "access_token")).await;
    assert_eq!(cc["active"], true);
    assert!(cc.get("username").is_none());
}

#[tokio::test]
async fn inactive_and_foreign_tokens_are_exactly_active_false() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let mallory = app.account("mallory").await;
    let tokens = app.token_json(&alice).await;
    let inactive = json!({"active": false});
    assert_eq!(introspect(&app, &alice, "unknown").await, inactive);
    assert_eq!(
        introspect(&app, &mallory, field(&tokens, "access_token")).await,
        inactive,
        "another client's token"
    );
    assert_eq!(
        introspect(&app, &mallory, field(&tokens, "refresh_token")).await,
        inactive
    );
    // A rotated refresh token and a revoked access token.
    let rotated = app.refresh(&alice, field(&tokens, "refresh_token")).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    assert_eq!(
        introspect(&app, &alice, field(&tokens, "refresh_token")).await,
        inactive
    );
    let revoke = post(
        &app,
        "/oauth/v2/revoke",
        &alice,
        &[("token", field(&tokens, "access_token"))],
    )
    .await;
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(
        introspect(&app, &alice, field(&tokens, "access_token")).await,
        inactive
    );
}

#[tokio::test]
async fn introspection_needs_a_confidential_client_and_counts_failures() {
    let app = TestApp::spawn_with(|c| c.limits.failed_auth_limit = 3).await;
    let alice = app.account("alice").await;
    let spa = code_client(&app, "bob", true).await;
    let token = app.access_token(&alice).await;
    let public = post(&app, "/oauth/v2/introspect", &spa, &[("token", &token)]).await;
    assert_eq!(oauth_error(public).await, "invalid_client");
    let anonymous = app
        .http
        .post(app.url("/oauth/v2/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(oauth_error(anonymous).await, "invalid_client");
    for _ in 0..3 {
        let wrong = app
            .http
            .post(app.url("/oauth/v2/introspect"))
            .basic_auth(&alice.client_id, Some("guess"))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(oauth_error(wrong).await, "invalid_client");
    }
    // The failures counted: the right secret is now refused too, for a while.
    let limited = post(&app, "/oauth/v2/introspect", &alice, &[("token", &token)]).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().get("retry-after").is_some());
    assert_eq!(oauth_error(limited).await, "temporarily_unavailable");
}

#[tokio::test]
async fn the_rfc_8414_document_describes_this_server() {
    let app = TestApp::spawn().await;
    let response = app.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["issuer"], app.base.as_str());
    for (key, path) in [
        ("authorization_endpoint", "/oauth/v2/auth"),
        ("token_endpoint", "/oauth/v2/token"),
        ("revocation_endpoint", "/oauth/v2/revoke"),
        ("introspection_endpoint", "/oauth/v2/introspect"),
    ] {
        assert_eq!(doc[key], app.url(path).as_str(), "{key}");
    }
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials"
        ])
    );
    assert_eq!(
        doc["scopes_supported"],
        json!(["read", "write", "admin", "openid", "profile", "email"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
}

#[tokio::test]
async fn the_issuer_is_the_public_url_never_the_host_header() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://id.example/".into())).await;
    let doc: Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], "https://id.example");
    assert_eq!(doc["token_endpoint"], "https://id.example/oauth/v2/token");
}
