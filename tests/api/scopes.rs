//! Scope enforcement on every endpoint family: `read` for GET, `write` for changes,
//! `admin` (and an administrator) for administration — the table of docs/api.md.

use harmony::service::clients::ClientSpec;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Account, TestApp, error_code, header};

async fn token_with_scope(app: &TestApp, account: &Account, scope: &str) -> String {
    let body: Value = app
        .post_token(&[
            ("grant_type", "password"),
            ("username", account.user.username.as_str()),
            ("password", &account.password),
            ("client_id", &account.client_id),
            ("client_secret", &account.client_secret),
            ("scope", scope),
        ])
        .await
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Every protected endpoint, with the scope it needs and a body for writes.
fn endpoints(account: &Account) -> Vec<(Method, String, &'static str, Option<Value>)> {
    let client = format!("/user/clients/{}", account.client_id);
    let user = format!("/admin/users/{}", account.user.id);
    vec![
        (Method::GET, "/user".into(), "read", None),
        (Method::GET, "/users".into(), "read", None),
        (
            Method::PATCH,
            "/user".into(),
            "write",
            Some(json!({"name": "x"})),
        ),
        (Method::GET, "/user/tokens".into(), "read", None),
        (
            Method::DELETE,
            format!("/user/tokens/{}", uuid::Uuid::new_v4()),
            "write",
            None,
        ),
        (Method::DELETE, "/user/tokens".into(), "write", None),
        (Method::GET, "/user/clients".into(), "read", None),
        (
            Method::POST,
            "/user/clients".into(),
            "write",
            Some(json!({"name": "x"})),
        ),
        (Method::GET, client.clone(), "read", None),
        (
            Method::PATCH,
            client.clone(),
            "write",
            Some(json!({"name": "y"})),
        ),
        (Method::POST, format!("{client}/secret"), "write", None),
        (Method::DELETE, client, "write", None),
        (Method::GET, "/admin/users".into(), "admin", None),
        (
            Method::POST,
            "/admin/users".into(),
            "admin",
            Some(json!({"username": "zed", "email": "z@example.com"})),
        ),
        (
            Method::PATCH,
            user.clone(),
            "admin",
            Some(json!({"admin": true})),
        ),
        (Method::DELETE, user, "admin", None),
        (Method::GET, "/admin/vendors/acme".into(), "admin", None),
        (
            Method::PATCH,
            "/admin/vendors/acme".into(),
            "admin",
            Some(json!({"owner": {"type": "user", "name": "alice"}})),
        ),
    ]
}

async fn call(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: &Option<Value>,
) -> reqwest::Response {
    let mut request = app.http.request(method.clone(), app.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.json(b);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_endpoint_refuses_a_token_without_its_scope() {
    let app = TestApp::spawn().await;
    let alice = app
        .account_with(
            "alice",
            true,
            ClientSpec {
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..ClientSpec::default()
            },
        )
        .await;
    let read = token_with_scope(&app, &alice, "read").await;
    let write = token_with_scope(&app, &alice, "write").await;
    let admin_only = token_with_scope(&app, &alice, "admin").await;
    for (method, path, needs, body) in endpoints(&alice) {
        let refused: Vec<&str> = match needs {
            "read" => vec![&admin_only],
            "write" => vec![&read, &admin_only],
            _ => vec![&read, &write],
        };
        for token in refused {
            let response = call(&app, &method, &path, Some(token), &body).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
            assert!(
                header(&response, "www-authenticate")
                    .contains(&format!("error=\"insufficient_scope\", scope=\"{needs}\"")),
                "{method} {path}"
            );
            assert_eq!(error_code(response).await, "insufficient_scope");
        }
    }
}

#[tokio::test]
async fn every_endpoint_needs_a_token_and_a_user() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
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
    let cc = cc["access_token"].as_str().unwrap();
    for (method, path, _, body) in endpoints(&alice) {
        let anonymous = call(&app, &method, &path, None, &body).await;
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        let client_only = call(&app, &method, &path, Some(cc), &body).await;
        assert_eq!(
            client_only.status(),
            StatusCode::FORBIDDEN,
            "{method} {path}"
        );
        assert_eq!(error_code(client_only).await, "user_token_required");
    }
}

#[tokio::test]
async fn a_write_token_may_read() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let write = token_with_scope(&app, &alice, "write").await;
    for path in ["/user", "/user/tokens", "/user/clients"] {
        assert_eq!(
            app.get_with_token(path, &write).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
}
