//! The authorization code flow with PKCE, driven like a browser: sign-in and consent
//! pages, CSRF, redirects and their errors, the code exchange and its failures.

use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::{
    Browser, Pkce, REDIRECT, authorize_url, code_client, code_tokens, consent_page, exchange,
    execute_sql, obtain_code, param, redirect_params, sign_in_and_approve,
};
use crate::helpers::{TestApp, error_code, header, oauth_error};

#[tokio::test]
async fn a_browser_signs_in_consents_and_the_client_exchanges_the_code_for_tokens() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let browser = Browser::new();
    let pkce = Pkce::new();
    let url = authorize_url(&app, &alice.client_id, &pkce, &[("state", "af0ifjsldkj")]);

    let login = browser.get(&url).await;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(header(&login, "content-type").starts_with("text/html"));
    assert_eq!(header(&login, "x-frame-options"), "DENY");
    assert_eq!(header(&login, "cache-control"), "no-store");
    let cookie = header(&login, "set-cookie");
    assert!(cookie.starts_with("harmony_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "http public URL: no Secure flag"
    );

    let response = sign_in_and_approve(&browser, &url, &alice).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state").as_deref(), Some("af0ifjsldkj"));
    assert_eq!(param(&params, "iss").as_deref(), Some(app.base.as_str()));
    let code = param(&params, "code").unwrap();
    assert!(code.len() >= 43);

    let token = exchange(&app, &alice, &code, &pkce.verifier).await;
    assert_eq!(token.status(), StatusCode::OK);
    assert_eq!(header(&token, "cache-control"), "no-store");
    let body: Value = token.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    // A request that named no scope still gets the granted one, as a string: certified
    // OpenID Connect clients refuse `null`.
    assert_eq!(body["scope"], "read write");
    assert!(body["refresh_token"].is_string());
    let access = body["access_token"].as_str().unwrap();
    let me: Value = app.get_user(access).await.json().await.unwrap();
    assert_eq!(me["username"], "alice");

    // The refresh token it came with works like any other.
    let refreshed = app
        .refresh(&alice, body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    // Its refreshes answer the scope as a string too, rotation after rotation.
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_eq!(refreshed["scope"], "read write");
    let again: Value = app
        .refresh(&alice, refreshed["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["scope"], "read write");

    // API Access lists it as an authorization_code token.
    let list: Vec<Value> = app
        .get_with_token("/user/tokens", access)
        .await
        .json()
        .await
        .unwrap();
    assert!(list.iter().any(|t| t["grantType"] == "authorization_code"));
}

#[tokio::test]
async fn a_public_client_completes_the_flow_with_pkce_alone() {
    let app = TestApp::spawn().await;
    let bob = code_client(&app, "bob", true).await;
    assert!(bob.client_secret.is_empty());
    let body = code_tokens(&app, &bob).await;
    assert_eq!(
        app.get_user(body["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_state_is_echoed_and_a_requested_scope_is_granted_exactly() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let browser = Browser::new();
    let pkce = Pkce::new();
    let state = "a b&c=d/é";
    let url = authorize_url(
        &app,
        &alice.client_id,
        &pkce,
        &[("state", state), ("scope", "read")],
    );
    let response = sign_in_and_approve(&browser, &url, &alice).await;
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state").as_deref(), Some(state));
    let token = exchange(
        &app,
        &alice,
        &param(&params, "code").unwrap(),
        &pkce.verifier,
    )
    .await;
    let body: Value = token.json().await.unwrap();
    assert_eq!(body["scope"], "read");
    let write = app
        .http
        .patch(app.url("/user"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(write).await, "insufficient_scope");
}

#[tokio::test]
async fn consent_is_remembered_per_scope_so_a_second_authorization_redirects_at_once() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let browser = Browser::new();
    let pkce = Pkce::new();
    let read = |state: &'static str| {
        authorize_url(
            &app,
            &alice.client_id,
            &pkce,
            &[("state", state), ("scope", "read")],
        )
    };
    let first = sign_in_and_approve(&browser, &read("1"), &alice).await;
    redirect_params(&first);

    let again = browser.get(&read("2")).await;
    assert_eq!(again.status(), StatusCode::FOUND, "no page the second time");
    let params = redirect_params(&again);
    assert_eq!(param(&params, "state").as_deref(), Some("2"));
    assert!(param(&params, "code").is_some());

    // More than was consented to (the default: read write) asks again.
    let wider = browser
        .get(&authorize_url(&app, &alice.client_id, &pkce, &[]))
        .await;
    assert_eq!(wider.status(), StatusCode::OK);
    let page = wider.text().await.unwrap();
    assert!(page.contains("approve") && page.contains("write"), "{page}");
}

#[tokio::test]
async fn revoking_the_clients_tokens_withdraws_the_remembered_consent() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let browser = Browser::new();
    let pkce = Pkce::new();
    let url = authorize_url(&app, &alice.client_id, &pkce, &[]);
    let first = sign_in_and_approve(&browser, &url, &alice).await;
    let code = param(&redirect_params(&first), "code").unwrap();
    let body: Value = exchange(&app, &alice, &code, &pkce.verifier)
        .await
        .json()
        .await
        .unwrap();
    let list: Vec<Value> = app
        .get_with_token("/user/tokens", body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap();
    let revoked = app
        .http
        .delete(app.url(&format!("/user/tokens/{id}")))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);

    let again = browser.get(&url).await;
    assert_eq!(again.status(), StatusCode::OK, "the consent page again");
    assert!(again.text().await.unwrap().contains("approve"));
}

#[tokio::test]
async fn denying_redirects_with_access_denied_and_the_state() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let browser = Browser::new();
    let pkce = Pkce::new();
    let url = authorize_url(&app, &alice.client_id, &pkce, &[("state", "s1")]);
    let consent = consent_page(&browser, &url, &alice).await;
    let denied = browser.submit(&consent, &[("action", "deny")]).await;
    let params = redirect_params(&denied);
    assert_eq!(param(&params, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&params, "state").as_deref(), Some("s1"));
    assert!(param(&params, "code").is_none());
}

#[tokio::test]
async fn a_wrong_password_shows_the_sign_in_page_again_without_a_session() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let browser = Browser::new();
    let url = authorize_url(&app, &alice.client_id, &Pkce::new(), &[]);
    let page = browser.get(&url).await.text().await.unwrap();
    let again = browser.sign_in(&page, "alice", "wrong password").await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    let text = again.text().await.unwrap();
    assert!(text.contains("Wrong username or password"));
    // Still not signed in.
    let page = browser.get(&url).await.text().await.unwrap();
    assert!(page.contains("Sign in"));
}

#[tokio::test]
async fn a_form_without_or_with_a_wrong_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let browser = Browser::new();
    let url = authorize_url(&app, &alice.client_id, &Pkce::new(), &[]);
    let page = browser.get(&url).await.text().await.unwrap();
    let action = browser.resolve(&crate::browser::form_action(&page));
    let fields = [
        ("action", "login"),
        ("username", "alice"),
        ("password", alice.password.as_str()),
    ];
    let missing = browser
        .http
        .post(&action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing.text().await.unwrap().contains("CSRF"));

    let mut wrong = fields.to_vec();
    wrong.push(("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    let wrong = browser
        .http
        .post(&action)
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    // A token taken from another browser's page does not fit this browser's cookie.
    let other = Browser::new();
    let other_page = other.get(&url).await.text().await.unwrap();
    let mut stolen = fields.to_vec();
    let token = crate::browser::input_value(&other_page, "csrf_token");
    stolen.push(("csrf_token", &token));
    let stolen = browser
        .http
        .post(&action)
        .form(&stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), StatusCode::FORBIDDEN);

    // Without any cookie at all.
    let cookieless = app.http.post(&action).form(&fields).send().await.unwrap();
    assert_eq!(cookieless.status(), StatusCode::FORBIDDEN);
    // None of them signed the browser in: it still gets the sign-in page.
    let page = browser.get(&url).await.text().await.unwrap();
    assert!(
        page.contains("Sign in") && !page.contains("Signed in as"),
        "{page}"
    );
}

#[tokio::test]
async fn an_unknown_client_or_unregistered_redirect_uri_is_an_error_page_not_a_redirect() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let unknown = app
        .http
        .get(authorize_url(&app, "no-such-client", &pkce, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(unknown.headers().get("location").is_none());
    assert!(header(&unknown, "content-type").starts_with("text/html"));

    for uri in [
        "http://127.0.0.1:9/callback/other",
        "https://evil.example/callback",
        "http://127.0.0.1:9/callback?x=1",
    ] {
        let mut parsed =
            url::Url::parse(&authorize_url(&app, &alice.client_id, &pkce, &[])).unwrap();
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| k != "redirect_uri")
            .collect();
        parsed
            .query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .append_pair("redirect_uri", uri);
        let response = app.http.get(parsed.as_str()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert!(response.headers().get("location").is_none(), "{uri}");
        assert!(response.text().await.unwrap().contains("redirect_uri"));
    }
    let missing = app
        .http
        .get(app.url(&format!(
            "/oauth/v2/auth?response_type=code&client_id={}",
            alice.client_id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(missing.headers().get("location").is_none());
}

#[tokio::test]
async fn pkce_is_required_and_plain_is_refused_by_redirect() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let base = |extra: &str| {
        app.url(&format!(
            "/oauth/v2/auth?response_type=code&client_id={}&redirect_uri={}&state=st{extra}",
            alice.client_id,
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        ))
    };
    let pkce = Pkce::new();
    for extra in [
        String::new(),
        format!("&code_challenge={}", pkce.challenge),
        format!(
            "&code_challenge={}&code_challenge_method=plain",
            pkce.verifier
        ),
        "&code_challenge=short&code_challenge_method=S256".to_owned(),
    ] {
        let response = app.http.get(base(&extra)).send().await.unwrap();
        let params = redirect_params(&response);
        assert_eq!(
            param(&params, "error").as_deref(),
            Some("invalid_request"),
            "{extra}"
        );
        assert_eq!(param(&params, "state").as_deref(), Some("st"));
    }
    let token = app
        .http
        .get(base(&format!(
            "&code_challenge={}&code_challenge_method=S256&response_type=token",
            pkce.challenge
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&redirect_params(&token), "error").as_deref(),
        Some("invalid_request"),
        "a repeated response_type"
    );
    let implicit = app
        .http
        .get(
            base(&format!(
                "&code_challenge={}&code_challenge_method=S256",
                pkce.challenge
            ))
            .replace("response_type=code", "response_type=token"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&redirect_params(&implicit), "error").as_deref(),
        Some("unsupported_response_type")
    );
}

#[tokio::test]
async fn a_wrong_or_missing_code_verifier_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let code = obtain_code(&app, &alice, &pkce).await;
    let wrong = exchange(&app, &alice, &code, &Pkce::new().verifier).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(wrong).await, "invalid_grant");
    // The challenge itself is not the verifier (what `plain` would accept).
    let plain = exchange(&app, &alice, &code, &pkce.challenge).await;
    assert_eq!(oauth_error(plain).await, "invalid_grant");
    let missing = app
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(oauth_error(missing).await, "invalid_request");
    // Failed attempts did not consume the code.
    let ok = exchange(&app, &alice, &code, &pkce.verifier).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_exchange_needs_the_same_redirect_uri_and_the_same_client() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let mallory = code_client(&app, "mallory", false).await;
    let pkce = Pkce::new();
    let code = obtain_code(&app, &alice, &pkce).await;
    let other_uri = app
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", &pkce.verifier),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(oauth_error(other_uri).await, "invalid_grant");
    let other_client = exchange(&app, &mallory, &code, &pkce.verifier).await;
    assert_eq!(oauth_error(other_client).await, "invalid_grant");
    assert_eq!(
        exchange(&app, &alice, &code, &pkce.verifier).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_the_tokens_issued_from_it() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let code = obtain_code(&app, &alice, &pkce).await;
    let first: Value = exchange(&app, &alice, &code, &pkce.verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(app.get_user(access).await.status(), StatusCode::OK);

    let replay = exchange(&app, &alice, &code, &pkce.verifier).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(replay).await, "invalid_grant");
    assert_eq!(
        app.get_user(access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = app
        .refresh(&alice, first["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(oauth_error(refresh).await, "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let code = obtain_code(&app, &alice, &pkce).await;
    execute_sql(
        &app,
        "UPDATE authorization_codes SET expires_at = created_at - 1",
    )
    .await;
    let response = exchange(&app, &alice, &code, &pkce.verifier).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn a_client_without_the_code_grant_gets_unauthorized_client() {
    let app = TestApp::spawn().await;
    let alice = app
        .account_with(
            "alice",
            false,
            harmony::service::clients::ClientSpec {
                grant_types: vec!["password".into()],
                redirect_uris: vec![REDIRECT.into()],
                ..Default::default()
            },
        )
        .await;
    let response = app
        .http
        .get(authorize_url(&app, &alice.client_id, &Pkce::new(), &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&redirect_params(&response), "error").as_deref(),
        Some("unauthorized_client")
    );
}

#[tokio::test]
async fn a_scope_beyond_the_clients_is_invalid_scope_by_redirect() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    for scope in ["admin", "delete", "read admin"] {
        let response = app
            .http
            .get(authorize_url(
                &app,
                &alice.client_id,
                &Pkce::new(),
                &[("scope", scope), ("state", "q")],
            ))
            .send()
            .await
            .unwrap();
        let params = redirect_params(&response);
        assert_eq!(
            param(&params, "error").as_deref(),
            Some("invalid_scope"),
            "{scope}"
        );
        assert_eq!(param(&params, "state").as_deref(), Some("q"));
    }
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_and_its_session_ends() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let browser = Browser::new();
    let pkce = Pkce::new();
    let url = authorize_url(&app, &alice.client_id, &pkce, &[]);
    redirect_params(&sign_in_and_approve(&browser, &url, &alice).await);
    execute_sql(&app, "UPDATE users SET disabled = TRUE").await;
    let page = browser.get(&url).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Sign in"), "the session no longer counts");
    let again = browser.sign_in(&page, "alice", &alice.password).await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_session_cookie_is_secure_under_an_https_public_url() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://harmony.example".into())).await;
    let alice = code_client(&app, "alice", false).await;
    let response = app
        .http
        .get(authorize_url(&app, &alice.client_id, &Pkce::new(), &[]))
        .send()
        .await
        .unwrap();
    let cookie = header(&response, "set-cookie");
    assert!(cookie.starts_with("__Host-harmony_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/;"),
        "{cookie}"
    );
    let page = response.text().await.unwrap();
    // A path, not the public URL: the browser stays on the host it used.
    assert!(page.contains("action=\"/oauth/v2/auth?"), "{page}");
}

#[tokio::test]
async fn two_concurrent_exchanges_of_one_code_have_at_most_one_winner() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let code = obtain_code(&app, &alice, &pkce).await;
    let (a, b) = tokio::join!(
        exchange(&app, &alice, &code, &pkce.verifier),
        exchange(&app, &alice, &code, &pkce.verifier)
    );
    let statuses = [a.status(), b.status()];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    let (winner, loser) = if a.status() == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(oauth_error(loser).await, "invalid_grant");
    // The loser's use is a replay: what the winner got is revoked as well.
    let won: Value = winner.json().await.unwrap();
    assert_eq!(
        app.get_user(won["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_cleanup_removes_expired_codes_and_sessions() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let code = obtain_code(&app, &alice, &pkce).await;
    assert_eq!(app.count_rows("authorization_codes").await, 1);
    assert_eq!(app.count_rows("auth_sessions").await, 1);
    // Nothing has ended yet: the purge the cleanup job runs keeps both.
    let purged = app.state.services.maintenance().purge().await;
    assert_eq!(purged.sessions_and_codes.unwrap(), 0);

    execute_sql(
        &app,
        "UPDATE authorization_codes SET expires_at = created_at - 1",
    )
    .await;
    execute_sql(&app, "UPDATE auth_sessions SET expires_at = created_at - 1").await;
    let purged = app.state.services.maintenance().purge().await;
    assert_eq!(
        purged.sessions_and_codes.unwrap(),
        2,
        "one code and one session"
    );
    assert_eq!(app.count_rows("authorization_codes").await, 0);
    assert_eq!(app.count_rows("auth_sessions").await, 0);
    let response = exchange(&app, &alice, &code, &pkce.verifier).await;
    assert_eq!(oauth_error(response).await, "invalid_grant");
}

#[tokio::test]
async fn the_code_exchange_must_be_posted() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let pkce = Pkce::new();
    let code = obtain_code(&app, &alice, &pkce).await;
    let get = app
        .http
        .get(app.url("/oauth/v2/token"))
        .query(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", pkce.verifier.as_str()),
            ("client_id", alice.client_id.as_str()),
            ("client_secret", alice.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(get).await, "invalid_request");
    assert_eq!(
        exchange(&app, &alice, &code, &pkce.verifier).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_consent_page_lets_another_person_sign_in_instead() {
    let app = TestApp::spawn().await;
    let alice = code_client(&app, "alice", false).await;
    let bob = app.account("bob").await;
    let browser = Browser::new();
    let pkce = Pkce::new();
    let url = authorize_url(&app, &alice.client_id, &pkce, &[]);
    let consent = consent_page(&browser, &url, &alice).await;
    assert!(consent.contains("Not alice?"));
    let login = browser.submit(&consent, &[("action", "switch")]).await;
    assert_eq!(login.status(), StatusCode::OK);
    let login = login.text().await.unwrap();
    assert!(login.contains("Sign in"));
    // Alice's session is over: the old page's approval no longer works.
    let stale = browser.submit(&consent, &[("action", "approve")]).await;
    assert_ne!(stale.status(), StatusCode::SEE_OTHER);
    let bobs = browser
        .sign_in(&login, "bob", &bob.password)
        .await
        .text()
        .await
        .unwrap();
    assert!(bobs.contains("Signed in as <strong>bob</strong>"), "{bobs}");
}
