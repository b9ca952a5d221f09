//! RP-initiated logout (`/oauth/v2/logout`): a valid `id_token_hint` (expired too) ends
//! the session at once, a missing or foreign one asks the person; the browser goes only to
//! a post-logout redirect URI registered on the client.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{
    Browser, Pkce, authorize_url, exchange, form_action, input_value, param, redirect_params,
    sign_in_and_approve,
};
use crate::helpers::{Account, TestApp, header};

const LOGGED_OUT: &str = "http://127.0.0.1:9/logged-out";

/// A relying party of `alice` registered through the API with a post-logout redirect URI.
async fn relying_party(app: &TestApp) -> Account {
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let created = app
        .http
        .post(app.url("/user/clients"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "Relying party",
            "redirectUris": [crate::browser::REDIRECT],
            "grantTypes": ["authorization_code", "refresh_token"],
            "postLogoutRedirectUris": [LOGGED_OUT],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["postLogoutRedirectUris"], json!([LOGGED_OUT]));
    Account {
        client_id: created["id"].as_str().unwrap().to_owned(),
        client_secret: created["secret"].as_str().unwrap().to_owned(),
        ..alice
    }
}

/// A browser signed in as `rp`'s user through a code flow, and the ID token it got.
async fn signed_in(app: &TestApp, rp: &Account) -> (Browser, String) {
    let browser = Browser::new();
    let pkce = Pkce::new();
    let url = authorize_url(app, &rp.client_id, &pkce, &[("scope", "openid")]);
    let approved = sign_in_and_approve(&browser, &url, rp).await;
    let code = param(&redirect_params(&approved), "code").unwrap();
    let token: Value = exchange(app, rp, &code, &pkce.verifier)
        .await
        .json()
        .await
        .unwrap();
    (browser, token["id_token"].as_str().unwrap().to_owned())
}

/// Whether `browser` is still signed in: a silent authorization request gets a code.
async fn still_signed_in(app: &TestApp, browser: &Browser, rp: &Account) -> bool {
    let url = authorize_url(
        app,
        &rp.client_id,
        &Pkce::new(),
        &[("scope", "openid"), ("prompt", "none")],
    );
    param(&redirect_params(&browser.get(&url).await), "code").is_some()
}

fn logout_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/oauth/v2/logout")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.into()
}

#[tokio::test]
async fn a_valid_id_token_hint_ends_the_session_and_redirects_to_the_registered_uri() {
    let app = TestApp::spawn().await;
    let rp = relying_party(&app).await;
    let (browser, id_token) = signed_in(&app, &rp).await;
    assert!(still_signed_in(&app, &browser, &rp).await);

    let config: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(config["end_session_endpoint"], app.url("/oauth/v2/logout"));

    let response = browser
        .get(&logout_url(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "bye"),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        header(&response, "location"),
        format!("{LOGGED_OUT}?state=bye")
    );
    assert!(!still_signed_in(&app, &browser, &rp).await);
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_refused_and_the_session_stays() {
    let app = TestApp::spawn().await;
    let rp = relying_party(&app).await;
    let (browser, id_token) = signed_in(&app, &rp).await;
    for (uri, client) in [
        ("http://127.0.0.1:9/elsewhere", None),
        (crate::browser::REDIRECT, None),
        (LOGGED_OUT, Some("another-client")),
    ] {
        let mut params = vec![
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", uri),
        ];
        if let Some(c) = client {
            params.push(("client_id", c));
        }
        let response = browser.get(&logout_url(&app, &params)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert!(response.headers().get("location").is_none());
    }
    // Without a hint nor client_id nothing says whose URI it is.
    let response = browser
        .get(&logout_url(
            &app,
            &[("post_logout_redirect_uri", LOGGED_OUT)],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(still_signed_in(&app, &browser, &rp).await);
}

#[tokio::test]
async fn without_a_valid_hint_the_person_confirms_first() {
    let app = TestApp::spawn().await;
    let rp = relying_party(&app).await;
    let (browser, id_token) = signed_in(&app, &rp).await;

    // A hint signed by someone else is no hint: the page asks, the session stays.
    let mut parts: Vec<&str> = id_token.split('.').collect();
    let forged = format!("{}x", parts[2]);
    parts[2] = &forged;
    let forged = parts.join(".");
    for hint in [forged.as_str(), "not-a-jwt"] {
        let response = browser
            .get(&logout_url(
                &app,
                &[
                    ("id_token_hint", hint),
                    ("client_id", &rp.client_id),
                    ("post_logout_redirect_uri", LOGGED_OUT),
                ],
            ))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let page = response.text().await.unwrap();
        assert!(page.contains("Sign out of HarmonyCMS?"), "{page}");
        assert!(still_signed_in(&app, &browser, &rp).await);
    }

    let page = browser
        .get(&logout_url(
            &app,
            &[
                ("client_id", &rp.client_id),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "s2"),
            ],
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Relying party"), "{page}");
    assert!(still_signed_in(&app, &browser, &rp).await);

    // A confirmation without the CSRF token is refused.
    let forged = browser
        .http
        .post(browser.resolve(&form_action(&page)))
        .form(&[("csrf_token", "wrong"), ("action", "logout")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(still_signed_in(&app, &browser, &rp).await);

    let confirmed = browser
        .http
        .post(browser.resolve(&form_action(&page)))
        .form(&[
            ("csrf_token", input_value(&page, "csrf_token").as_str()),
            ("action", "logout"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&confirmed, "location"),
        format!("{LOGGED_OUT}?state=s2")
    );
    assert!(!still_signed_in(&app, &browser, &rp).await);
}

#[tokio::test]
async fn an_expired_id_token_hint_is_accepted_and_a_form_post_works_too() {
    let app = TestApp::spawn().await;
    let rp = relying_party(&app).await;
    let (browser, _) = signed_in(&app, &rp).await;

    // An ID token this server's current ES256 key signed, expired an hour ago.
    let keys = app.state.services.store().signing_keys(0).await.unwrap();
    let key = keys
        .iter()
        .find(|k| k.retired_at.is_none() && k.public_jwk["alg"] == "ES256")
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut header_ = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header_.kid = Some(key.kid.clone());
    let expired = jsonwebtoken::encode(
        &header_,
        &json!({
            "iss": app.base, "aud": rp.client_id, "sub": rp.user.id.to_string(),
            "iat": now - 7200, "exp": now - 3600,
        }),
        &jsonwebtoken::EncodingKey::from_ec_der(&key.private_key),
    )
    .unwrap();

    // POSTed as a form by the relying party.
    let response = browser
        .http
        .post(app.url("/oauth/v2/logout"))
        .form(&[
            ("id_token_hint", expired.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&response, "location"), LOGGED_OUT);
    assert!(!still_signed_in(&app, &browser, &rp).await);

    // A form with another field, or none, is not a logout request.
    for form in [vec![("redirect", LOGGED_OUT)], vec![]] {
        let response = app
            .http
            .post(app.url("/oauth/v2/logout"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form:?}");
    }
}

#[tokio::test]
async fn post_logout_redirect_uris_follow_the_rules_of_redirect_uris() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let refused = app
        .http
        .patch(app.url(&format!("/user/clients/{}", alice.client_id)))
        .bearer_auth(&token)
        .json(&json!({"postLogoutRedirectUris": ["http://example.com/out"]}))
        .send()
        .await
        .unwrap();
    let fields = crate::helpers::invalid_fields(refused).await;
    assert!(fields.contains_key("postLogoutRedirectUris"), "{fields:?}");
    let patched = app
        .http
        .patch(app.url(&format!("/user/clients/{}", alice.client_id)))
        .bearer_auth(&token)
        .json(&json!({"postLogoutRedirectUris": ["https://example.com/out"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let body: Value = patched.json().await.unwrap();
    assert_eq!(
        body["postLogoutRedirectUris"],
        json!(["https://example.com/out"])
    );
}
