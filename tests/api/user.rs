//! `GET /user`, `GET /users` and `PATCH /user`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, field_message, invalid_fields};

#[tokio::test]
async fn get_user_and_users_return_the_current_user() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    app.account("bob").await;
    let token = app.access_token(&alice).await;
    for path in ["/user", "/users"] {
        let me: Value = app.get_with_token(path, &token).await.json().await.unwrap();
        assert_eq!(me["id"], alice.user.id.to_string());
        assert_eq!(me["username"], "alice");
        assert_eq!(me["email"], "alice@example.com");
        assert_eq!(me["name"], Value::Null);
        let created = me["createdAt"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok() && created.ends_with('Z'));
        assert!(me.get("passwordHash").is_none() && me.get("password_hash").is_none());
    }
}

async fn patch(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http
        .patch(app.url("/user"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn patch_user_changes_name_and_email() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let response = patch(
        &app,
        &token,
        json!({"name": "Alice Liddell", "email": "a@wonder.land"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["name"], "Alice Liddell");
    assert_eq!(me["email"], "a@wonder.land");
    // A missing field is left alone; null clears the name.
    let me: Value = patch(&app, &token, json!({"email": "b@wonder.land"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Alice Liddell");
    let me: Value = patch(&app, &token, json!({"name": null}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], Value::Null);
    let me: Value = app.get_user(&token).await.json().await.unwrap();
    assert_eq!(me["email"], "b@wonder.land");
}

#[tokio::test]
async fn invalid_or_taken_values_are_422_with_fields() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    app.account("bob").await;
    let token = app.access_token(&alice).await;
    for (body, field, says) in [
        (
            json!({"email": "not an email"}),
            "email",
            "must be an email address",
        ),
        (json!({"email": "BOB@example.com"}), "email", "already used"),
        (json!({"name": "x".repeat(101)}), "name", ""),
        (json!({"name": "bell\u{7}"}), "name", ""),
        (json!({"username": "root"}), "username", ""),
    ] {
        let fields = invalid_fields(patch(&app, &token, body.clone()).await).await;
        assert!(
            field_message(&fields, field).contains(says),
            "{body}: {fields:?}"
        );
    }
    // Nothing of it was written.
    let me: Value = app.get_user(&token).await.json().await.unwrap();
    assert_eq!(
        (&me["username"], &me["email"], &me["name"]),
        (&json!("alice"), &json!("alice@example.com"), &Value::Null)
    );
}

#[tokio::test]
async fn patch_user_without_a_token_is_401() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .patch(app.url("/user"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "unauthenticated");
}

#[tokio::test]
async fn a_display_name_with_a_zero_width_space_is_422() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let response = patch(&app, &token, json!({"name": "Ali\u{200b}ce"})).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    let message = error["error"]["fields"]["name"].as_str().unwrap();
    assert!(message.contains("U+200B"), "{message}");
    let me: Value = app.get_user(&token).await.json().await.unwrap();
    assert_eq!(me["name"], Value::Null);
}
