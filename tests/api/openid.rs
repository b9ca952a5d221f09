//! OpenID Connect around the ID tokens: the discovery document (one source with the RFC
//! 8414 metadata) and the userinfo endpoint.

use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::code_client;
use crate::helpers::{TestApp, error_code, header};
use crate::id_tokens::code_flow;

#[tokio::test]
async fn the_openid_configuration_is_the_rfc8414_metadata_plus_the_openid_members() {
    let app = TestApp::spawn().await;
    let response = app.get("/.well-known/openid-configuration").await;
    assert_eq!(response.status(), StatusCode::OK);
    let config: Value = response.json().await.unwrap();
    let metadata: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    // Every RFC 8414 member, with the same value.
    for (name, value) in metadata.as_object().unwrap() {
        assert_eq!(&config[name], value, "{name}");
    }
    assert_eq!(config["issuer"], app.base);
    assert_eq!(config["jwks_uri"], app.url("/oauth/v2/keys"));
    assert_eq!(config["userinfo_endpoint"], app.url("/userinfo"));
    assert_eq!(
        config["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        config["subject_types_supported"],
        serde_json::json!(["public"])
    );
    let algs = config["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&"ES256".into()) && algs.contains(&"RS256".into()));
    for scope in ["openid", "profile", "email"] {
        assert!(
            config["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&scope.into()),
            "{scope}"
        );
    }
    for claim in [
        "sub",
        "preferred_username",
        "email",
        "email_verified",
        "nonce",
    ] {
        assert!(
            config["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&claim.into()),
            "{claim}"
        );
    }
    assert_eq!(config["claims_parameter_supported"], false);
    assert_eq!(
        config["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );

    // The issuer is the ID tokens' `iss`, and the JWKS it names holds their key.
    let alice = code_client(&app, "alice", true).await;
    let body = code_flow(&app, &alice, &[("scope", "openid")]).await;
    let token = body["id_token"].as_str().unwrap();
    let claims =
        crate::id_tokens::verified_as(&app, &alice, token, jsonwebtoken::Algorithm::ES256).await;
    assert_eq!(claims["iss"], config["issuer"]);
}

async fn userinfo_get(app: &TestApp, token: &str) -> reqwest::Response {
    app.get_with_token("/userinfo", token).await
}

#[tokio::test]
async fn userinfo_answers_the_claims_the_tokens_scope_releases() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", true).await;

    let only_openid = code_flow(&app, &alice, &[("scope", "openid")]).await;
    let response = userinfo_get(&app, only_openid["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let claims: Value = response.json().await.unwrap();
    assert_eq!(
        claims,
        serde_json::json!({"sub": alice.user.id.to_string()})
    );

    // (Each flow asks for more than was consented to, so that consent shows again.)
    let email_only = code_flow(&app, &alice, &[("scope", "openid email")]).await;
    let claims: Value = userinfo_get(&app, email_only["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert!(claims.get("preferred_username").is_none(), "{claims}");
    assert_eq!(claims["email"], alice.user.email.as_str());

    let everything = code_flow(&app, &alice, &[("scope", "openid profile email")]).await;
    let access = everything["access_token"].as_str().unwrap();
    let claims: Value = userinfo_get(&app, access).await.json().await.unwrap();
    assert_eq!(claims["sub"], alice.user.id.to_string());
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["email"], alice.user.email.as_str());
    assert_eq!(claims["email_verified"], false);

    // POST answers the same, the token in the header (RFC 6750 §2.1).
    let posted = app
        .http
        .post(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    assert_eq!(posted.json::<Value>().await.unwrap(), claims);
}

#[tokio::test]
async fn userinfo_refuses_tokens_without_openid_and_invalid_tokens_as_rfc6750_says() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", true).await;

    // A valid token without `openid`: 403 insufficient_scope.
    let api_only = code_flow(&app, &alice, &[("scope", "read")]).await;
    let response = userinfo_get(&app, api_only["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = header(&response, "www-authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"openid\""), "{challenge}");
    assert_eq!(error_code(response).await, "insufficient_scope");

    // An unknown token: 401 invalid_token.
    let response = userinfo_get(&app, "hat_not-a-token").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&response, "www-authenticate").contains("error=\"invalid_token\""));

    // A revoked one too.
    let openid = code_flow(&app, &alice, &[("scope", "openid")]).await;
    let access = openid["access_token"].as_str().unwrap();
    let revoked = app
        .http
        .post(app.url("/oauth/v2/revoke"))
        .form(&[("token", access), ("client_id", alice.client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let response = userinfo_get(&app, access).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // No token: 401 with a bare challenge.
    let response = app.get("/userinfo").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&response, "www-authenticate").starts_with("Bearer realm="));
}
