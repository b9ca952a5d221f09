//! The compatibility switches: `--password-grant` and `--query-tokens` (both on by
//! default).

use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::{code_client, code_tokens};
use crate::helpers::{TestApp, error_code, oauth_error};

#[tokio::test]
async fn both_switches_are_on_by_default() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let query = app.get(&format!("/user?access_token={token}")).await;
    assert_eq!(query.status(), StatusCode::OK);
    // And the password grant answers a token (the fixture's token came from it too).
    let granted = app.get_token(&alice).await;
    assert_eq!(granted.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_the_password_grant_the_token_endpoint_answers_unsupported_grant_type() {
    let app = TestApp::spawn_with(|c| c.oauth.password_grant = false).await;
    let alice = code_client(&app, "alice", false).await;
    let response = app.get_token(&alice).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(response).await, "unsupported_grant_type");
    // The code flow still works, and the metadata no longer lists the grant.
    code_tokens(&app, &alice).await;
    let doc: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(!grants.iter().any(|g| g == "password"));
    assert!(grants.iter().any(|g| g == "authorization_code"));
}

#[tokio::test]
async fn without_query_tokens_an_access_token_parameter_is_400_invalid_request() {
    let app = TestApp::spawn_with(|c| c.oauth.query_tokens = false).await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let query = app.get(&format!("/user?access_token={token}")).await;
    assert_eq!(query.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(query).await, "invalid_request");
    // Even on a public endpoint, so that the token is not silently accepted elsewhere.
    let public = app.get(&format!("/ping?access_token={token}")).await;
    assert_eq!(public.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(public).await, "invalid_request");
    assert_eq!(app.get_user(&token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_switches_are_command_line_flags_that_take_a_boolean() {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        oauth: harmony::config::OAuthConfig,
    }
    let cli = Cli::parse_from(["harmony", "--password-grant", "false", "--query-tokens=0"]);
    assert!(!cli.oauth.password_grant && !cli.oauth.query_tokens);
    let cli = Cli::parse_from(["harmony"]);
    assert!(cli.oauth.password_grant && cli.oauth.query_tokens);
}
