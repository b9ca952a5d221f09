//! `/admin/users`: server administration, for an administrator with the admin scope.

use harmony::service::clients::ClientSpec;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Account, TestApp, error_code, field_message, header, invalid_fields, oauth_error, refusal,
};

async fn administrator(app: &TestApp) -> (Account, String) {
    let root = app
        .account_with(
            "root",
            true,
            ClientSpec {
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..ClientSpec::default()
            },
        )
        .await;
    let token = app.access_token(&root).await;
    (root, token)
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn user_path(account: &Account) -> String {
    format!("/admin/users/{}", account.user.id)
}

#[tokio::test]
async fn an_administrator_lists_and_creates_accounts() {
    let app = TestApp::spawn().await;
    let (_, token) = administrator(&app).await;
    app.account("alice").await;
    let list = app.get_with_token("/admin/users?per_page=1", &token).await;
    assert_eq!(list.status(), StatusCode::OK);
    assert!(header(&list, "link").contains("rel=\"next\""));
    assert_eq!(list.json::<Vec<Value>>().await.unwrap().len(), 1);
    let all: Vec<Value> = app
        .get_with_token("/admin/users", &token)
        .await
        .json()
        .await
        .unwrap();
    let root = all.iter().find(|u| u["username"] == "root").unwrap();
    assert_eq!(root["isAdmin"], true);
    assert_eq!(root["disabled"], false);
    assert!(
        all.iter()
            .any(|u| u["username"] == "alice" && u["isAdmin"] == false)
    );

    let created = send(
        &app,
        reqwest::Method::POST,
        "/admin/users",
        &token,
        Some(json!({"username": "carol", "email": "carol@example.com", "password": "a long password"})),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(header(&created, "location").starts_with(&app.url("/admin/users/")));
    let carol: Value = created.json().await.unwrap();
    assert_eq!(carol["isAdmin"], false);
    assert!(carol.get("password").is_none());

    let generated: Value = send(
        &app,
        reqwest::Method::POST,
        "/admin/users",
        &token,
        Some(json!({"username": "dave", "email": "dave@example.com", "admin": true})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(generated["isAdmin"], true);
    assert!(generated["password"].as_str().unwrap().len() >= 20);

    let taken = send(
        &app,
        reqwest::Method::POST,
        "/admin/users",
        &token,
        Some(json!({"username": "Carol", "email": "other@example.com", "password": "a long password"})),
    )
    .await;
    let fields = invalid_fields(taken).await;
    assert!(
        field_message(&fields, "username").contains("already used"),
        "{fields:?}"
    );
    let invalid = send(
        &app,
        reqwest::Method::POST,
        "/admin/users",
        &token,
        Some(json!({"username": "e", "email": "not-an-email", "password": "short"})),
    )
    .await;
    let fields = invalid_fields(invalid).await;
    assert_eq!(field_message(&fields, "email"), "must be an email address");
    let short = send(
        &app,
        reqwest::Method::POST,
        "/admin/users",
        &token,
        Some(json!({"username": "erin", "email": "erin@example.com", "password": "short"})),
    )
    .await;
    let fields = invalid_fields(short).await;
    field_message(&fields, "password");
    // Neither refusal created an account.
    let all: Vec<Value> = app
        .get_with_token("/admin/users", &token)
        .await
        .json()
        .await
        .unwrap();
    let mut names: Vec<&str> = all
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alice", "carol", "dave", "root"]);
}

#[tokio::test]
async fn a_non_administrator_gets_403_on_every_admin_endpoint() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let path = user_path(&alice);
    for (method, path, body) in [
        (reqwest::Method::GET, "/admin/users", None),
        (
            reqwest::Method::POST,
            "/admin/users",
            Some(json!({"username": "x", "email": "x@example.com"})),
        ),
        (
            reqwest::Method::PATCH,
            path.as_str(),
            Some(json!({"disabled": true})),
        ),
        (reqwest::Method::DELETE, path.as_str(), None),
        (reqwest::Method::GET, "/admin/vendors/alice", None),
        (
            reqwest::Method::PATCH,
            "/admin/vendors/alice",
            Some(json!({"owner": {"type": "user", "name": "alice"}})),
        ),
    ] {
        let response = send(&app, method.clone(), path, &token, body).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(error_code(response).await, "insufficient_scope");
    }
    // Asking for the admin scope is refused to a non-administrator.
    let ask = app.password_grant_with_scope(&alice, "admin").await;
    assert_eq!(oauth_error(ask).await, "invalid_scope");
}

#[tokio::test]
async fn an_administrators_token_without_the_admin_scope_gets_403() {
    let app = TestApp::spawn().await;
    let (root, _) = administrator(&app).await;
    let read_write = app.scoped_token(&root, "read write").await;
    let response = app.get_with_token("/admin/users", &read_write).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(header(&response, "www-authenticate").contains("scope=\"admin\""));
    assert_eq!(error_code(response).await, "insufficient_scope");
}

#[tokio::test]
async fn disabling_an_account_stops_its_tokens_at_once_and_refuses_new_ones() {
    let app = TestApp::spawn().await;
    let (_, token) = administrator(&app).await;
    let alice = app.account("alice").await;
    let tokens = app.token_json(&alice).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.get_user(access).await.status(), StatusCode::OK);

    let disabled = send(
        &app,
        reqwest::Method::PATCH,
        &user_path(&alice),
        &token,
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    assert_eq!(disabled.json::<Value>().await.unwrap()["disabled"], true);
    assert_eq!(
        app.get_user(access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        oauth_error(app.get_token(&alice).await).await,
        "invalid_grant"
    );
    let refresh = app
        .refresh(&alice, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(oauth_error(refresh).await, "invalid_grant");

    // Re-enabled: new tokens again, but the old ones stay dead.
    let enabled = send(
        &app,
        reqwest::Method::PATCH,
        &user_path(&alice),
        &token,
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    assert_eq!(app.get_token(&alice).await.status(), StatusCode::OK);
    assert_eq!(
        app.get_user(access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_password_reset_replaces_the_password_and_revokes_tokens() {
    let app = TestApp::spawn().await;
    let (_, token) = administrator(&app).await;
    let mut alice = app.account("alice").await;
    let old = app.access_token(&alice).await;
    let reset = send(
        &app,
        reqwest::Method::PATCH,
        &user_path(&alice),
        &token,
        Some(json!({"password": "a brand new password"})),
    )
    .await;
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(app.get_user(&old).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        oauth_error(app.get_token(&alice).await).await,
        "invalid_grant"
    );
    alice.password = "a brand new password".into();
    assert_eq!(app.get_token(&alice).await.status(), StatusCode::OK);

    let short = send(
        &app,
        reqwest::Method::PATCH,
        &user_path(&alice),
        &token,
        Some(json!({"password": "short"})),
    )
    .await;
    let fields = invalid_fields(short).await;
    field_message(&fields, "password");
    // The refused reset kept the password it had.
    assert_eq!(app.get_token(&alice).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_admin_flag_can_be_granted_and_withdrawn() {
    let app = TestApp::spawn().await;
    let (_, token) = administrator(&app).await;
    let alice = app.account("alice").await;
    let promoted: Value = send(
        &app,
        reqwest::Method::PATCH,
        &user_path(&alice),
        &token,
        Some(json!({"admin": true})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(promoted["isAdmin"], true);
    let demoted: Value = send(
        &app,
        reqwest::Method::PATCH,
        &user_path(&alice),
        &token,
        Some(json!({"admin": false})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(demoted["isAdmin"], false);
}

#[tokio::test]
async fn deleting_an_account_removes_it_with_its_tokens_and_clients() {
    let app = TestApp::spawn().await;
    let (_, token) = administrator(&app).await;
    let alice = app.account("alice").await;
    let access = app.access_token(&alice).await;
    let deleted = send(
        &app,
        reqwest::Method::DELETE,
        &user_path(&alice),
        &token,
        None,
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let all: Vec<Value> = app
        .get_with_token("/admin/users", &token)
        .await
        .json()
        .await
        .unwrap();
    assert!(all.iter().all(|u| u["username"] != "alice"), "{all:?}");
    assert_eq!(
        app.get_user(&access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        oauth_error(app.get_token(&alice).await).await,
        "invalid_client"
    );
    let again = send(
        &app,
        reqwest::Method::DELETE,
        &user_path(&alice),
        &token,
        None,
    )
    .await;
    refusal(again, StatusCode::NOT_FOUND, "not_found").await;
    let bad = send(
        &app,
        reqwest::Method::DELETE,
        "/admin/users/not-a-uuid",
        &token,
        None,
    )
    .await;
    refusal(bad, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn an_administrator_cannot_lock_themselves_out() {
    let app = TestApp::spawn().await;
    let (root, token) = administrator(&app).await;
    for body in [json!({"disabled": true}), json!({"admin": false})] {
        let response = send(
            &app,
            reqwest::Method::PATCH,
            &user_path(&root),
            &token,
            Some(body),
        )
        .await;
        let error = refusal(response, StatusCode::CONFLICT, "conflict").await;
        assert_eq!(
            error["message"],
            "you cannot disable or demote your own account"
        );
    }
    let delete = send(
        &app,
        reqwest::Method::DELETE,
        &user_path(&root),
        &token,
        None,
    )
    .await;
    let error = refusal(delete, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(error["message"], "you cannot delete your own account");
    // Still an enabled administrator.
    let all: Vec<Value> = app
        .get_with_token("/admin/users", &token)
        .await
        .json()
        .await
        .unwrap();
    let me = all.iter().find(|u| u["username"] == "root").unwrap();
    assert_eq!(
        (me["isAdmin"].clone(), me["disabled"].clone()),
        (json!(true), json!(false))
    );
}
