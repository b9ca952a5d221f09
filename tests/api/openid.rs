//! OpenID Connect around the ID tokens: the discovery document (one source with the RFC
//! 8414 metadata) and the userinfo endpoint.

use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::{
    Browser, Pkce, authorize_url, code_client, exchange, execute_sql, param, redirect_params,
    sign_in_and_approve,
};
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

/// Registers a code-flow client for `account` through the API, with `extra` members.
async fn register_through_api(app: &TestApp, token: &str, extra: Value) -> reqwest::Response {
    let mut body = serde_json::json!({
        "name": "Relying party",
        "redirectUris": [crate::browser::REDIRECT],
        "grantTypes": ["authorization_code", "refresh_token"],
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.http
        .post(app.url("/user/clients"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_registered_for_rs256_gets_rs256_id_tokens_that_verify_against_the_jwks() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;

    // The default is ES256, and the client JSON shows it.
    let default = register_through_api(&app, &token, serde_json::json!({})).await;
    assert_eq!(default.status(), StatusCode::CREATED);
    let default: Value = default.json().await.unwrap();
    assert_eq!(default["idTokenSignedResponseAlg"], "ES256");

    let created = register_through_api(
        &app,
        &token,
        serde_json::json!({"idTokenSignedResponseAlg": "RS256"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["idTokenSignedResponseAlg"], "RS256");
    let id = created["id"].as_str().unwrap();
    let shown: Value = app
        .get_with_token(&format!("/user/clients/{id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["idTokenSignedResponseAlg"], "RS256");

    let rp = crate::helpers::Account {
        user: alice.user.clone(),
        password: alice.password.clone(),
        client_id: id.to_owned(),
        client_secret: created["secret"].as_str().unwrap().to_owned(),
    };
    let body = code_flow(&app, &rp, &[("scope", "openid profile"), ("nonce", "n1")]).await;
    let claims = crate::id_tokens::verified_as(
        &app,
        &rp,
        body["id_token"].as_str().unwrap(),
        jsonwebtoken::Algorithm::RS256,
    )
    .await;
    assert_eq!(claims["sub"], alice.user.id.to_string());
    assert_eq!(claims["nonce"], "n1");

    // A refresh's ID token is RS256 too.
    let refreshed: Value = app
        .refresh(&rp, body["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    crate::id_tokens::verified_as(
        &app,
        &rp,
        refreshed["id_token"].as_str().unwrap(),
        jsonwebtoken::Algorithm::RS256,
    )
    .await;

    // Back to ES256 with a PATCH.
    let patched = app
        .http
        .patch(app.url(&format!("/user/clients/{id}")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"idTokenSignedResponseAlg": "ES256"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(
        patched.json::<Value>().await.unwrap()["idTokenSignedResponseAlg"],
        "ES256"
    );
    let body = code_flow(&app, &rp, &[("scope", "openid email")]).await;
    crate::id_tokens::verified_as(
        &app,
        &rp,
        body["id_token"].as_str().unwrap(),
        jsonwebtoken::Algorithm::ES256,
    )
    .await;
}

#[tokio::test]
async fn an_unknown_id_token_algorithm_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for alg in ["none", "HS256", "rs256", ""] {
        let refused = register_through_api(
            &app,
            &token,
            serde_json::json!({"idTokenSignedResponseAlg": alg}),
        )
        .await;
        let fields = crate::helpers::invalid_fields(refused).await;
        assert!(
            fields.contains_key("idTokenSignedResponseAlg"),
            "{alg}: {fields:?}"
        );
    }
    let patched = app
        .http
        .patch(app.url(&format!("/user/clients/{}", alice.client_id)))
        .bearer_auth(&token)
        .json(&serde_json::json!({"idTokenSignedResponseAlg": "PS256"}))
        .send()
        .await
        .unwrap();
    let fields = crate::helpers::invalid_fields(patched).await;
    assert!(
        fields.contains_key("idTokenSignedResponseAlg"),
        "{fields:?}"
    );
}

/// A browser signed in as `account` that approved `openid` for its client once.
async fn signed_in_browser(app: &TestApp, account: &crate::helpers::Account) -> Browser {
    let browser = Browser::new();
    let url = authorize_url(
        app,
        &account.client_id,
        &Pkce::new(),
        &[("scope", "openid")],
    );
    let approved = sign_in_and_approve(&browser, &url, account).await;
    assert!(param(&redirect_params(&approved), "code").is_some());
    browser
}

#[tokio::test]
async fn prompt_none_answers_login_required_or_consent_required_to_the_client() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", true).await;
    let pkce = Pkce::new();
    let silent = |scope: &'static str| {
        authorize_url(
            &app,
            &alice.client_id,
            &pkce,
            &[("scope", scope), ("prompt", "none"), ("state", "s1")],
        )
    };

    // Nobody signed in: no page, an error to the client.
    let response = Browser::new().get(&silent("openid")).await;
    let params = redirect_params(&response);
    assert_eq!(param(&params, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&params, "state").as_deref(), Some("s1"));
    assert_eq!(param(&params, "iss").as_deref(), Some(app.base.as_str()));

    // Signed in, consent given for `openid`: a code at once.
    let browser = signed_in_browser(&app, &alice).await;
    let response = browser.get(&silent("openid")).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(param(&redirect_params(&response), "code").is_some());

    // A scope beyond the consent: consent_required, no page.
    let response = browser.get(&silent("openid email")).await;
    let params = redirect_params(&response);
    assert_eq!(param(&params, "error").as_deref(), Some("consent_required"));
    assert!(param(&params, "code").is_none());

    // `none` with another value is invalid.
    let url = authorize_url(
        &app,
        &alice.client_id,
        &pkce,
        &[("scope", "openid"), ("prompt", "none login")],
    );
    let response = browser.get(&url).await;
    assert_eq!(
        param(&redirect_params(&response), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn prompt_consent_shows_the_consent_page_although_consent_was_given() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", true).await;
    let browser = signed_in_browser(&app, &alice).await;
    let pkce = Pkce::new();
    let url = authorize_url(
        &app,
        &alice.client_id,
        &pkce,
        &[("scope", "openid"), ("prompt", "consent")],
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Authorize"), "{page}");
    let approved = browser.submit(&page, &[("action", "approve")]).await;
    assert!(param(&redirect_params(&approved), "code").is_some());

    // Without the prompt the same request needs no page.
    let url = authorize_url(&app, &alice.client_id, &pkce, &[("scope", "openid")]);
    assert_eq!(browser.get(&url).await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn prompt_login_asks_for_the_password_again_and_login_hint_prefills_the_username() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", true).await;
    let browser = signed_in_browser(&app, &alice).await;
    let pkce = Pkce::new();
    let url = authorize_url(
        &app,
        &alice.client_id,
        &pkce,
        &[
            ("scope", "openid"),
            ("prompt", "login"),
            ("login_hint", "alice"),
        ],
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Sign in"), "{page}");
    assert_eq!(crate::browser::input_value(&page, "username"), "alice");
    // Signing in again goes on to the code (consent was given).
    let signed = browser
        .sign_in(&page, alice.user.username.as_str(), &alice.password)
        .await;
    assert!(param(&redirect_params(&signed), "code").is_some());

    // A login_hint on a browser that is not signed in prefills too.
    let url = authorize_url(
        &app,
        &alice.client_id,
        &pkce,
        &[("scope", "openid"), ("login_hint", "bob")],
    );
    let page = Browser::new().get(&url).await.text().await.unwrap();
    assert_eq!(crate::browser::input_value(&page, "username"), "bob");
}

#[tokio::test]
async fn max_age_asks_for_the_password_when_the_sign_in_is_older_and_auth_time_says_when() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", true).await;
    let browser = signed_in_browser(&app, &alice).await;
    // The browser signed in two hours ago.
    execute_sql(
        &app,
        "UPDATE auth_sessions SET created_at = created_at - 7200",
    )
    .await;
    let pkce = Pkce::new();
    let with_max_age = |max_age: &'static str| {
        authorize_url(
            &app,
            &alice.client_id,
            &pkce,
            &[("scope", "openid"), ("max_age", max_age)],
        )
    };

    // Within a day: a code at once, and the ID token's auth_time is the old sign-in.
    let response = browser.get(&with_max_age("86400")).await;
    let code = param(&redirect_params(&response), "code").unwrap();
    let token: Value = exchange(&app, &alice, &code, &pkce.verifier)
        .await
        .json()
        .await
        .unwrap();
    let claims = crate::id_tokens::verified_as(
        &app,
        &alice,
        token["id_token"].as_str().unwrap(),
        jsonwebtoken::Algorithm::ES256,
    )
    .await;
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!(
        auth_time <= chrono::Utc::now().timestamp() - 7200,
        "{claims}"
    );

    // Within an hour: the sign-in page; signing in gives a fresh auth_time.
    for max_age in ["3600", "0"] {
        let page = browser.get(&with_max_age(max_age)).await;
        assert_eq!(page.status(), StatusCode::OK, "max_age={max_age}");
        let page = page.text().await.unwrap();
        assert!(page.contains("Sign in"), "{page}");
    }
    let page = browser
        .get(&with_max_age("3600"))
        .await
        .text()
        .await
        .unwrap();
    let signed = browser
        .sign_in(&page, alice.user.username.as_str(), &alice.password)
        .await;
    let code = param(&redirect_params(&signed), "code").unwrap();
    let token: Value = exchange(&app, &alice, &code, &pkce.verifier)
        .await
        .json()
        .await
        .unwrap();
    let claims = crate::id_tokens::verified_as(
        &app,
        &alice,
        token["id_token"].as_str().unwrap(),
        jsonwebtoken::Algorithm::ES256,
    )
    .await;
    assert!(claims["auth_time"].as_i64().unwrap() > auth_time + 3600);

    // A max_age that is not a whole number of seconds is invalid.
    for bad in ["-1", "1.5", "soon"] {
        let url = authorize_url(
            &app,
            &alice.client_id,
            &pkce,
            &[("scope", "openid"), ("max_age", bad)],
        );
        let response = browser.get(&url).await;
        assert_eq!(
            param(&redirect_params(&response), "error").as_deref(),
            Some("invalid_request"),
            "{bad}"
        );
    }
}
