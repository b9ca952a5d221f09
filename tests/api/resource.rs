//! Resource indicators (RFC 8707): a token request or a pushed authorization request may
//! name only this API as its `resource`; a token for another resource is never issued.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, oauth_error};

#[tokio::test]
async fn a_token_request_for_this_api_is_served_and_one_for_another_resource_refused() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let form = |resource: &str| {
        vec![
            ("grant_type", "password".to_owned()),
            ("username", "alice".to_owned()),
            ("password", alice.password.clone()),
            ("client_id", alice.client_id.clone()),
            ("client_secret", alice.client_secret.clone()),
            ("resource", resource.to_owned()),
        ]
    };
    for ours in [app.base.clone(), format!("{}/", app.base)] {
        let response = app
            .http
            .post(app.url("/oauth/v2/token"))
            .form(&form(&ours))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{ours}");
        let body: Value = response.json().await.unwrap();
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(app.get_user(token).await.status(), StatusCode::OK);
    }
    for other in [
        "https://other.example/api",
        "not a url",
        "https://h.example/#f",
    ] {
        let response = app
            .http
            .post(app.url("/oauth/v2/token"))
            .form(&form(other))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{other}");
        assert_eq!(oauth_error(response).await, "invalid_target");
    }

    let pushed = app
        .http
        .post(app.url("/oauth/v2/par"))
        .basic_auth(&alice.client_id, Some(&alice.client_secret))
        .form(&[
            ("response_type", "code"),
            ("resource", "https://other.example/api"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(pushed).await, "invalid_target");
}
