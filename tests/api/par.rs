//! Pushed authorization requests (RFC 9126): the push, checked as the authorization
//! endpoint checks a request; the authorization endpoint with `request_uri`, whose pushed
//! parameters replace the query's; single use; expiry; another client's `request_uri`.

use reqwest::{Response, StatusCode};
use serde_json::Value;
use url::Url;

use crate::browser::{
    Browser, Pkce, REDIRECT, code_client, exchange, param, redirect_params, sign_in_and_approve,
};
use crate::helpers::{Account, TestApp, header, oauth_error};

/// The authorization parameters of a code request with PKCE.
fn auth_params(pkce: &Pkce) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "read".into()),
        ("state", "pushed-state".into()),
        ("code_challenge", pkce.challenge.clone()),
        ("code_challenge_method", "S256".into()),
    ]
}

impl TestApp {
    /// `POST /oauth/v2/par` with the client's credentials (Basic for a confidential client,
    /// `client_id` for a public one) and `params`.
    async fn push(&self, account: &Account, params: &[(&str, String)]) -> Response {
        let mut form: Vec<(&str, String)> = params.to_vec();
        let mut request = self.http.post(self.url("/oauth/v2/par"));
        if account.client_secret.is_empty() {
            form.push(("client_id", account.client_id.clone()));
        } else {
            request = request.basic_auth(&account.client_id, Some(&account.client_secret));
        }
        request.form(&form).send().await.expect("request")
    }

    /// A successful push: its `request_uri`.
    async fn pushed_uri(&self, account: &Account, pkce: &Pkce) -> String {
        let response = self.push(account, &auth_params(pkce)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(header(&response, "cache-control"), "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["expires_in"], 60);
        body["request_uri"].as_str().unwrap().to_owned()
    }
}

/// `/oauth/v2/auth` with `client_id`, `request_uri` and `extra` parameters.
fn auth_url(app: &TestApp, client_id: &str, request_uri: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&app.url("/oauth/v2/auth")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

#[tokio::test]
async fn a_pushed_request_runs_the_code_flow_once_and_its_parameters_win_over_the_query() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let request_uri = app.pushed_uri(&alice, &pkce).await;
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    // What the query adds is ignored (RFC 9126 §4): the pushed scope and state are used.
    let url = auth_url(
        &app,
        &alice.client_id,
        &request_uri,
        &[("scope", "read write"), ("state", "from-the-browser")],
    );
    let browser = Browser::new();
    let response = sign_in_and_approve(&browser, &url, &alice).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state").as_deref(), Some("pushed-state"));
    let code = param(&params, "code").unwrap();
    let tokens = exchange(&app, &alice, &code, &pkce.verifier).await;
    assert_eq!(tokens.status(), StatusCode::OK);
    let tokens: Value = tokens.json().await.unwrap();
    assert_eq!(tokens["scope"], "read");

    // Used: the same request_uri is refused on a page.
    let again = browser.get(&url).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap().contains("request_uri"));
}

#[tokio::test]
async fn an_expired_unknown_or_foreign_request_uri_is_refused() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let bob = code_client(&app, "bob", true).await;
    let pkce = Pkce::new();
    let browser = Browser::new();

    // Bob's (public) push is his alone.
    let bobs = app.pushed_uri(&bob, &pkce).await;
    let foreign = browser
        .get(&auth_url(&app, &alice.client_id, &bobs, &[]))
        .await;
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    let own = browser
        .get(&auth_url(&app, &bob.client_id, &bobs, &[]))
        .await;
    assert_eq!(own.status(), StatusCode::OK);

    let unknown = browser
        .get(&auth_url(
            &app,
            &alice.client_id,
            "urn:ietf:params:oauth:request_uri:nothing",
            &[],
        ))
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    let expired = app.pushed_uri(&alice, &pkce).await;
    app.execute("UPDATE pushed_requests SET expires_at = 1")
        .await;
    let response = browser
        .get(&auth_url(&app, &alice.client_id, &expired, &[]))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The cleanup removes expired pushes.
    app.state.services.maintenance().purge().await;
    assert_eq!(app.count_rows("pushed_requests").await, 0);
}

#[tokio::test]
async fn a_push_is_checked_like_an_authorization_request_and_needs_client_authentication() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let with = |name: &'static str, value: &str| {
        let mut params = auth_params(&pkce);
        params.retain(|(k, _)| *k != name);
        if !value.is_empty() {
            params.push((name, value.to_owned()));
        }
        params
    };
    let cases = [
        (
            with("redirect_uri", "https://evil.example/cb"),
            "invalid_request",
        ),
        (with("code_challenge", ""), "invalid_request"),
        (with("response_type", "token"), "unsupported_response_type"),
        (with("scope", "read nonsense"), "invalid_scope"),
        (with("request_uri", "urn:x"), "invalid_request"),
    ];
    for (params, error) in cases {
        let response = app.push(&alice, &params).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(oauth_error(response).await, error);
    }

    let wrong = Account {
        client_secret: "not-the-secret".into(),
        ..alice.clone()
    };
    let response = app.push(&wrong, &auth_params(&pkce)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(oauth_error(response).await, "invalid_client");
    assert_eq!(app.count_rows("pushed_requests").await, 0);
}

#[tokio::test]
async fn the_metadata_names_the_par_endpoint() {
    let app = TestApp::spawn().await;
    let metadata: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        app.url("/oauth/v2/par")
    );
    assert_eq!(metadata["require_pushed_authorization_requests"], false);
}

#[tokio::test]
async fn a_client_that_requires_par_is_refused_a_request_in_the_query() {
    let app = TestApp::spawn().await;
    let alice = app
        .account_with(
            "alice",
            false,
            harmony::service::clients::ClientSpec {
                redirect_uris: vec![REDIRECT.into()],
                ..Default::default()
            },
        )
        .await;
    let token = app.access_token(&alice).await;
    let path = format!("/user/clients/{}", alice.client_id);
    let view: Value = app
        .http
        .get(app.url(&path))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["requirePushedAuthorizationRequests"], false);
    let changed = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&token)
        .json(&serde_json::json!({"requirePushedAuthorizationRequests": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["requirePushedAuthorizationRequests"], true);

    let pkce = Pkce::new();
    let browser = Browser::new();
    let in_query = crate::browser::authorize_url(&app, &alice.client_id, &pkce, &[]);
    let refused = browser.get(&in_query).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("push"));

    // Pushed, the same request goes through.
    let request_uri = app.pushed_uri(&alice, &pkce).await;
    let page = browser
        .get(&auth_url(&app, &alice.client_id, &request_uri, &[]))
        .await;
    assert_eq!(page.status(), StatusCode::OK);

    // A client registered with the setting shows it.
    let created = app
        .http
        .post(app.url("/user/clients"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "name": "pushed only",
            "redirectUris": [REDIRECT],
            "requirePushedAuthorizationRequests": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["requirePushedAuthorizationRequests"], true);
}
