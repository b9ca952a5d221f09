//! The console (`/console`) in a scripted browser: sign-in, the Tokens and Applications
//! pages, the CSRF-checked actions (revoke, register, change, delete, rotate, sign out)
//! answered by a redirect with a message (a reload repeats nothing), and their effect on
//! the API. The same flows in a real browser are `tests/browser/`.

use harmony::store::oauth::AccountChanges;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::browser::{Browser, input_value};
use crate::helpers::{Account, TestApp, field_message, header, invalid_fields, oauth_error};

const SIGN_IN_ACTION: &str = "action=\"/console/login\"";
const SIGNED_IN: &str = "Signed in as";

/// Posts a form with `csrf` (when given) and `fields` to `path`.
pub(crate) async fn post(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    csrf: Option<&str>,
    fields: &[(&str, &str)],
) -> Response {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    if let Some(csrf) = csrf {
        form.push(("csrf_token", csrf));
    }
    browser
        .http
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .expect("request")
}

/// The console page at `path`, as HTML.
pub(crate) async fn page_at(app: &TestApp, browser: &Browser, path: &str) -> String {
    let response = browser.get(&app.url(path)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The Tokens page.
async fn page(app: &TestApp, browser: &Browser) -> String {
    page_at(app, browser, "/console/tokens").await
}

/// Opens the sign-in form in `browser` and submits it with its CSRF token.
async fn sign_in(app: &TestApp, browser: &Browser, username: &str, password: &str) -> Response {
    let login = page(app, browser).await;
    let csrf = input_value(&login, "csrf_token");
    post(
        app,
        browser,
        "/console/login",
        Some(&csrf),
        &[
            ("username", username),
            ("password", password),
            ("next", "/console/tokens"),
        ],
    )
    .await
}

/// A browser signed in as `account`, and the Tokens page it then sees.
pub(crate) async fn signed_in(app: &TestApp, account: &Account) -> (Browser, String) {
    let browser = Browser::new();
    let response = sign_in(
        app,
        &browser,
        account.user.username.as_str(),
        &account.password,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // A path: the browser stays on the host it used (`localhost` or `127.0.0.1`).
    assert_eq!(header(&response, "location"), "/console/tokens");
    let html = page(app, &browser).await;
    assert!(html.contains(SIGNED_IN), "{html}");
    (browser, html)
}

/// The text of `<code id="…">` on a page.
fn code_by_id(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id} in {html}"))
        + marker.len();
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].to_owned()
}

/// A `303` to `path` that carries a flash message.
pub(crate) fn assert_redirect_with_message(response: &Response, path: &str) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(response, "location"), path);
    assert_eq!(header(response, "cache-control"), "no-store");
    assert!(
        header(response, "set-cookie").starts_with("harmony_flash="),
        "{:?}",
        response.headers()
    );
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> Response {
    app.post_token_basic(id, secret, &[("grant_type", "client_credentials")])
        .await
}

async fn client_ids(app: &TestApp, token: &str) -> Vec<String> {
    let list: Vec<Value> = app
        .get_with_token("/user/clients", token)
        .await
        .json()
        .await
        .unwrap();
    list.iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn without_a_session_a_console_page_is_the_sign_in_form() {
    let app = TestApp::spawn().await;
    let browser = Browser::new();
    let response = browser.get(&app.url("/console/applications")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").starts_with("text/html"));
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(header(&response, "x-frame-options"), "DENY");
    assert!(header(&response, "content-security-policy").contains("frame-ancestors 'none'"));
    let cookie = header(&response, "set-cookie");
    assert!(cookie.starts_with("harmony_session="), "{cookie}");
    assert!(
        cookie.contains("Path=/;")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // The cookie an earlier version limited to the authorization endpoint is expired, so
    // that it cannot shadow this one there.
    assert!(
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.starts_with("harmony_session=;")
                && c.contains("Path=/oauth/v2/auth;")
                && c.contains("Max-Age=0")),
        "{:?}",
        response.headers()
    );
    let html = response.text().await.unwrap();
    assert!(html.contains(SIGN_IN_ACTION), "{html}");
    // Signing in leads back to the page asked for.
    assert!(
        html.contains("name=\"next\" value=\"/console/applications\""),
        "{html}"
    );
    assert!(!input_value(&html, "csrf_token").is_empty());
    assert!(!html.contains(SIGNED_IN));
}

#[tokio::test]
async fn the_old_settings_page_and_the_console_root_lead_to_the_tokens_page() {
    let app = TestApp::spawn().await;
    for path in ["/settings/api", "/console"] {
        let response = Browser::new().get(&app.url(path)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(header(&response, "location"), "/console/tokens");
    }
}

#[tokio::test]
async fn an_unknown_console_path_is_an_html_404_and_an_api_path_stays_json() {
    let app = TestApp::spawn().await;
    let page = Browser::new().get(&app.url("/console/nothing/here")).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(header(&page, "content-type").starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("Page not found"));
    let api = Browser::new().get(&app.url("/nothing/here")).await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(header(&api, "content-type").starts_with("application/json"));
}

#[tokio::test]
async fn the_icon_and_the_script_are_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let icon = Browser::new().get(&app.url("/favicon.svg")).await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(header(&icon, "content-type"), "image/svg+xml");
    let script = Browser::new().get(&app.url("/console/console.js")).await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(header(&script, "content-type").starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("data-copy"));
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_the_username_kept() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let browser = Browser::new();
    let response = sign_in(&app, &browser, "alice", "wrong password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("set-cookie").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("Wrong username or password"), "{html}");
    assert!(html.contains("value=\"alice\""), "{html}");
    let again = page(&app, &browser).await;
    assert!(again.contains(SIGN_IN_ACTION) && !again.contains(SIGNED_IN));
    // The right password still works afterwards.
    signed_in(&app, &alice).await;
}

#[tokio::test]
async fn signed_in_the_pages_list_the_accounts_tokens_and_clients_but_no_token_value() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let tokens = app.token_json(&alice).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let id = app.list_tokens(access).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (browser, html) = signed_in(&app, &alice).await;
    assert!(html.contains("alice&#39;s client") || html.contains("alice's client"));
    assert!(html.contains(&format!("/console/tokens/{id}/revoke")));
    assert!(html.contains("Revoke") && html.contains("Sign out"));
    assert!(!html.contains(access) && !html.contains(refresh));
    let apps = page_at(&app, &browser, "/console/applications").await;
    assert!(apps.contains(&alice.client_id));
    assert!(apps.contains(&format!("/console/applications/{}/secret", alice.client_id)));
    assert!(apps.contains("Register a new application"));
    assert!(apps.contains("client_credentials") && apps.contains("read write"));
    assert!(!apps.contains(&alice.client_secret));
}

#[tokio::test]
async fn revoking_a_token_asks_first_then_makes_it_fail_on_the_api() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let tokens = app.token_json(&alice).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let id = app.list_tokens(&access).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get_user(&access).await.status(), StatusCode::OK);

    let (browser, _) = signed_in(&app, &alice).await;
    let path = format!("/console/tokens/{id}/revoke");
    // The link shows a confirmation; nothing is revoked by looking at it.
    let confirm = page_at(&app, &browser, &path).await;
    assert!(confirm.contains("Revoke this token?"), "{confirm}");
    assert_eq!(app.get_user(&access).await.status(), StatusCode::OK);
    let csrf = input_value(&confirm, "csrf_token");
    let response = post(&app, &browser, &path, Some(&csrf), &[]).await;
    assert_redirect_with_message(&response, "/console/tokens");

    assert_eq!(
        app.get_user(&access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Its whole family goes, as with DELETE /user/tokens/{id}.
    assert_eq!(
        oauth_error(app.refresh(&alice, &refresh).await).await,
        "invalid_grant"
    );
    let html = page(&app, &browser).await;
    assert!(html.contains("Token revoked."), "{html}");
    assert!(html.contains("revoked"), "{html}");
    assert!(!html.contains(&path));
    // The message is shown once.
    assert!(!page(&app, &browser).await.contains("Token revoked."));
}

#[tokio::test]
async fn revoke_all_revokes_every_token_and_keeps_the_browser_signed_in() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let first = app.access_token(&alice).await;
    let second = app.access_token(&alice).await;
    let (browser, html) = signed_in(&app, &alice).await;
    assert!(html.contains("/console/tokens/revoke-all"));
    let confirm = page_at(&app, &browser, "/console/tokens/revoke-all").await;
    let csrf = input_value(&confirm, "csrf_token");
    let response = post(
        &app,
        &browser,
        "/console/tokens/revoke-all",
        Some(&csrf),
        &[],
    )
    .await;
    assert_redirect_with_message(&response, "/console/tokens");
    for token in [&first, &second] {
        assert_eq!(app.get_user(token).await.status(), StatusCode::UNAUTHORIZED);
    }
    let html = page(&app, &browser).await;
    assert!(html.contains("Every token revoked.") && html.contains(SIGNED_IN));
}

#[tokio::test]
async fn a_client_registered_in_the_console_shows_its_secret_once_and_the_secret_works() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let (browser, _) = signed_in(&app, &alice).await;
    let form = page_at(&app, &browser, "/console/applications/new").await;
    let csrf = input_value(&form, "csrf_token");
    let response = post(
        &app,
        &browser,
        "/console/applications",
        Some(&csrf),
        &[
            ("name", "Deploy bot"),
            ("redirect_uris", ""),
            ("grant_type", "client_credentials"),
            ("scope", "read"),
            ("kind", "confidential"),
        ],
    )
    .await;
    assert_redirect_with_message(&response, "/console/applications");
    let html = page_at(&app, &browser, "/console/applications").await;
    let id = code_by_id(&html, "secret-0");
    let secret = code_by_id(&html, "secret-1");
    assert!(secret.len() >= 43, "{secret}");

    let token = client_credentials(&app, &id, &secret).await;
    assert_eq!(token.status(), StatusCode::OK);

    // Registered as the JSON API would have it.
    let access = app.access_token(&alice).await;
    let client: Value = app
        .get_with_token(&format!("/user/clients/{id}"), &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(client["name"], "Deploy bot");
    assert_eq!(
        client["grantTypes"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(client["scopes"], serde_json::json!(["read"]));
    assert_eq!(client["confidential"], true);

    // Shown once: a reload lists the client, never its secret again, and registers nothing.
    let again = page_at(&app, &browser, "/console/applications").await;
    assert!(again.contains(&id) && again.contains("Deploy bot"));
    assert!(!again.contains(&secret));
    assert_eq!(client_ids(&app, &access).await.len(), 2);
}

#[tokio::test]
async fn an_invalid_client_is_shown_again_with_what_was_typed_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let access = app.access_token(&alice).await;
    let (browser, html) = signed_in(&app, &alice).await;
    let csrf = input_value(&html, "csrf_token");
    let response = post(
        &app,
        &browser,
        "/console/applications",
        Some(&csrf),
        &[
            ("name", "Bad"),
            ("redirect_uris", "ftp://example.com/cb"),
            ("grant_type", "authorization_code"),
            ("kind", "confidential"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(header(&response, "content-type").starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("class=\"field-error\""), "{html}");
    assert!(html.contains("value=\"Bad\""), "{html}");
    assert!(html.contains(">ftp://example.com/cb</textarea>"), "{html}");
    assert!(!html.contains("redirectUris"), "{html}");
    // The page says what the JSON API says of the same registration.
    let api = app
        .post_json(
            "/user/clients",
            &access,
            serde_json::json!({
                "name": "Bad",
                "redirectUris": ["ftp://example.com/cb"],
                "grantTypes": ["authorization_code"],
            }),
        )
        .await;
    let fields = invalid_fields(api).await;
    let message = field_message(&fields, "redirectUris").replace('"', "&quot;");
    assert!(html.contains(&message), "{message:?} not in {html}");
    assert_eq!(
        client_ids(&app, &access).await,
        vec![alice.client_id.clone()]
    );
}

#[tokio::test]
async fn a_client_is_changed_and_deleted_in_the_console() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let access = app.access_token(&alice).await;
    let (browser, _) = signed_in(&app, &alice).await;
    let path = format!("/console/applications/{}", alice.client_id);
    let form = page_at(&app, &browser, &path).await;
    assert!(form.contains("value=\"alice&#39;s client\"") || form.contains("alice's client"));
    let csrf = input_value(&form, "csrf_token");
    let response = post(
        &app,
        &browser,
        &path,
        Some(&csrf),
        &[
            ("name", "Renamed"),
            ("redirect_uris", ""),
            ("grant_type", "password"),
            ("scope", "read"),
        ],
    )
    .await;
    assert_redirect_with_message(&response, "/console/applications");
    let client: Value = app
        .get_with_token(
            &path.replace("/console/applications", "/user/clients"),
            &access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(client["name"], "Renamed");
    assert_eq!(client["grantTypes"], serde_json::json!(["password"]));

    let delete = format!("{path}/delete");
    let confirm = page_at(&app, &browser, &delete).await;
    assert!(confirm.contains("Delete this application?"));
    let response = post(&app, &browser, &delete, Some(&csrf), &[]).await;
    assert_redirect_with_message(&response, "/console/applications");
    assert!(
        page_at(&app, &browser, "/console/applications")
            .await
            .contains("Application Renamed deleted.")
    );
    // Its token went with it.
    assert_eq!(
        app.get_user(&access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Posting again (a replayed form) deletes nothing and says so.
    let again = post(&app, &browser, &delete, Some(&csrf), &[]).await;
    assert_redirect_with_message(&again, "/console/applications");
    assert!(
        page_at(&app, &browser, "/console/applications")
            .await
            .contains("not one of yours")
    );
}

#[tokio::test]
async fn rotating_a_secret_in_the_console_retires_the_old_one() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let (browser, html) = signed_in(&app, &alice).await;
    let csrf = input_value(&html, "csrf_token");
    let path = format!("/console/applications/{}/secret", alice.client_id);
    let confirm = page_at(&app, &browser, &path).await;
    assert!(confirm.contains("Rotate the secret?"));
    let response = post(&app, &browser, &path, Some(&csrf), &[]).await;
    assert_redirect_with_message(&response, "/console/applications");
    let html = page_at(&app, &browser, "/console/applications").await;
    assert_eq!(code_by_id(&html, "secret-0"), alice.client_id);
    let secret = code_by_id(&html, "secret-1");
    assert_ne!(secret, alice.client_secret);

    let old = client_credentials(&app, &alice.client_id, &alice.client_secret).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(oauth_error(old).await, "invalid_client");
    let new = client_credentials(&app, &alice.client_id, &secret).await;
    assert_eq!(new.status(), StatusCode::OK);
    assert!(
        !page_at(&app, &browser, "/console/applications")
            .await
            .contains(&secret)
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let access = app.access_token(&alice).await;
    let id = app.list_tokens(&access).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (browser, _) = signed_in(&app, &alice).await;
    // A token from another browser's page does not fit this browser's cookie.
    let other = page(&app, &Browser::new()).await;
    let stolen = input_value(&other, "csrf_token");
    let revoke = format!("/console/tokens/{id}/revoke");
    let rotate = format!("/console/applications/{}/secret", alice.client_id);
    let delete = format!("/console/applications/{}/delete", alice.client_id);
    let create: &[(&str, &str)] = &[("name", "Sneaky"), ("kind", "confidential")];

    for csrf in [
        None,
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        Some(stolen.as_str()),
    ] {
        for (path, fields) in [
            (revoke.as_str(), &[][..]),
            (rotate.as_str(), &[][..]),
            (delete.as_str(), &[][..]),
            ("/console/tokens/revoke-all", &[][..]),
            ("/console/applications", create),
            ("/console/logout", &[][..]),
        ] {
            let response = post(&app, &browser, path, csrf, fields).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} {csrf:?}");
            assert!(response.text().await.unwrap().contains("CSRF"));
        }
    }
    // Without any cookie at all: the page says which address to use.
    let cookieless = app
        .http
        .post(app.url(&revoke))
        .form(&[("csrf_token", stolen.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cookieless.status(), StatusCode::FORBIDDEN);
    let text = cookieless.text().await.unwrap();
    assert!(text.contains(&app.url("/console")), "{text}");

    assert_eq!(app.get_user(&access).await.status(), StatusCode::OK);
    let old = client_credentials(&app, &alice.client_id, &alice.client_secret).await;
    assert_eq!(old.status(), StatusCode::OK);
    assert_eq!(
        client_ids(&app, &access).await,
        vec![alice.client_id.clone()]
    );
    assert!(
        page(&app, &browser).await.contains(SIGNED_IN),
        "still signed in"
    );

    // Sign-in is CSRF-checked too.
    let fresh = Browser::new();
    page(&app, &fresh).await;
    let response = post(
        &app,
        &fresh,
        "/console/login",
        None,
        &[("username", "alice"), ("password", &alice.password)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(page(&app, &fresh).await.contains(SIGN_IN_ACTION));
}

#[tokio::test]
async fn another_accounts_token_and_client_cannot_be_touched_through_the_console() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let bobs_token = app.access_token(&bob).await;
    let bobs_id = app.list_tokens(&bobs_token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (browser, html) = signed_in(&app, &alice).await;
    assert!(!html.contains(&bob.client_id) && !html.contains(&bobs_id));
    let csrf = input_value(&html, "csrf_token");
    for path in [
        format!("/console/tokens/{bobs_id}/revoke"),
        format!("/console/applications/{}", bob.client_id),
        format!("/console/applications/{}/secret", bob.client_id),
        format!("/console/applications/{}/delete", bob.client_id),
    ] {
        let look = browser.get(&app.url(&path)).await;
        assert_eq!(look.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let revoke = post(
        &app,
        &browser,
        &format!("/console/tokens/{bobs_id}/revoke"),
        Some(&csrf),
        &[],
    )
    .await;
    assert_redirect_with_message(&revoke, "/console/tokens");
    for action in ["secret", "delete"] {
        let response = post(
            &app,
            &browser,
            &format!("/console/applications/{}/{action}", bob.client_id),
            Some(&csrf),
            &[],
        )
        .await;
        assert_redirect_with_message(&response, "/console/applications");
    }
    let html = page_at(&app, &browser, "/console/applications").await;
    assert!(html.contains("not one of yours") && !html.contains("secret-1"));

    assert_eq!(app.get_user(&bobs_token).await.status(), StatusCode::OK);
    let bobs = client_credentials(&app, &bob.client_id, &bob.client_secret).await;
    assert_eq!(bobs.status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let browser = Browser::new();
    let response = sign_in(&app, &browser, "alice", &alice.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session_cookie = header(&response, "set-cookie");
    let session_cookie = session_cookie.split(';').next().unwrap().to_owned();
    let html = page(&app, &browser).await;
    assert!(html.contains(SIGNED_IN));

    let csrf = input_value(&html, "csrf_token");
    let out = post(&app, &browser, "/console/logout", Some(&csrf), &[]).await;
    assert_redirect_with_message(&out, "/console");
    let html = page(&app, &browser).await;
    assert!(html.contains(SIGN_IN_ACTION) && !html.contains(SIGNED_IN));
    assert!(html.contains("You are signed out."), "{html}");

    // The old session id is dead on the server, not just forgotten by the browser.
    let replay = app
        .http
        .get(app.url("/console/tokens"))
        .header("Cookie", &session_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(replay.contains(SIGN_IN_ACTION) && !replay.contains(SIGNED_IN));
}

#[tokio::test]
async fn a_disabled_accounts_session_stops_working_and_it_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let (browser, html) = signed_in(&app, &alice).await;
    let csrf = input_value(&html, "csrf_token");
    app.state
        .services
        .store()
        .change_account(
            alice.user.id,
            &AccountChanges {
                disabled: Some(true),
                is_admin: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    let html = page(&app, &browser).await;
    assert!(html.contains(SIGN_IN_ACTION) && !html.contains(SIGNED_IN));
    let rotate = post(
        &app,
        &browser,
        &format!("/console/applications/{}/secret", alice.client_id),
        Some(&csrf),
        &[],
    )
    .await;
    assert_redirect_with_message(&rotate, "/console");

    let csrf = input_value(&html, "csrf_token");
    let response = post(
        &app,
        &browser,
        "/console/login",
        Some(&csrf),
        &[("username", "alice"), ("password", &alice.password)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn the_session_is_shared_with_the_authorization_endpoint_whose_consent_names_the_owner() {
    let app = TestApp::spawn().await;
    let alice = crate::browser::code_client(&app, "alice", false).await;
    let bob = app.account("bob").await;
    let (browser, _) = signed_in(&app, &bob).await;
    let pkce = crate::browser::Pkce::new();
    let url = crate::browser::authorize_url(&app, &alice.client_id, &pkce, &[]);
    let html = browser.get(&url).await.text().await.unwrap();
    // Signed in already: the consent page, not the sign-in form.
    assert!(html.contains("Signed in as <strong>bob</strong>"), "{html}");
    assert!(html.contains("value=\"approve\""), "{html}");
    assert!(
        html.contains("<strong id=\"owner\">alice</strong>"),
        "{html}"
    );
    // Its forms post to a path on the host the browser used.
    assert!(html.contains("action=\"/oauth/v2/auth?"), "{html}");
}

#[tokio::test]
async fn the_profile_is_changed_in_the_console_as_patch_user_would() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let (browser, _) = signed_in(&app, &alice).await;
    let page = page_at(&app, &browser, "/console/account").await;
    let csrf = input_value(&page, "csrf_token");
    let bad = post(
        &app,
        &browser,
        "/console/account",
        Some(&csrf),
        &[("name", "Alice A."), ("email", "not an email")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("value=\"not an email\"") && html.contains("value=\"Alice A.\""));
    assert!(html.contains("class=\"field-error\""), "{html}");
    let ok = post(
        &app,
        &browser,
        "/console/account",
        Some(&csrf),
        &[("name", "Alice A."), ("email", "alice.a@example.com")],
    )
    .await;
    assert_redirect_with_message(&ok, "/console/account");
    let me: Value = app.get_user(&token).await.json().await.unwrap();
    assert_eq!(me["name"], "Alice A.");
    assert_eq!(me["email"], "alice.a@example.com");
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_signs_out_every_other_browser() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let (browser, _) = signed_in(&app, &alice).await;
    let (other, _) = signed_in(&app, &alice).await;
    let page = page_at(&app, &browser, "/console/account").await;
    let csrf = input_value(&page, "csrf_token");
    let path = "/console/account/password";
    let new = "a brand new password";

    let wrong = post(
        &app,
        &browser,
        path,
        Some(&csrf),
        &[
            ("current_password", "not it"),
            ("new_password", new),
            ("confirm_password", new),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("is not your current password")
    );
    let mismatch = post(
        &app,
        &browser,
        path,
        Some(&csrf),
        &[
            ("current_password", &alice.password),
            ("new_password", new),
            ("confirm_password", "something else"),
        ],
    )
    .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page_at(&app, &other, "/console/tokens")
            .await
            .contains(SIGNED_IN)
    );

    let changed = post(
        &app,
        &browser,
        path,
        Some(&csrf),
        &[
            ("current_password", &alice.password),
            ("new_password", new),
            ("confirm_password", new),
        ],
    )
    .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let html = page_at(&app, &browser, "/console/account").await;
    assert!(
        html.contains(SIGNED_IN) && html.contains("Password changed."),
        "{html}"
    );
    let html = page_at(&app, &other, "/console/tokens").await;
    assert!(!html.contains(SIGNED_IN), "the other browser is signed out");
    let old = app
        .post_token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", &alice.password),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(oauth_error(old).await, "invalid_grant");
    let fresh = Browser::new();
    assert_eq!(
        sign_in(&app, &fresh, "alice", new).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_the_account() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let (browser, _) = signed_in(&app, &alice).await;
    let (other, _) = signed_in(&app, &alice).await;
    let page = page_at(&app, &browser, "/console/account").await;
    let csrf = input_value(&page, "csrf_token");
    let out = post(
        &app,
        &browser,
        "/console/account/sign-out-everywhere",
        Some(&csrf),
        &[],
    )
    .await;
    assert_redirect_with_message(&out, "/console");
    for b in [&browser, &other] {
        assert!(
            !page_at(&app, b, "/console/tokens")
                .await
                .contains(SIGNED_IN)
        );
    }
}

#[tokio::test]
async fn an_authorized_app_is_listed_with_its_owner_and_revoking_it_ends_its_tokens() {
    let app = TestApp::spawn().await;
    let alice = crate::browser::code_client(&app, "alice", false).await;
    let tokens = crate::browser::code_tokens(&app, &alice).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get_user(&access).await.status(), StatusCode::OK);
    // Another account authorized nothing.
    let bob = app.account("bob").await;
    let (bobs, _) = signed_in(&app, &bob).await;
    let none = page_at(&app, &bobs, "/console/authorized").await;
    assert!(none.contains("You have not authorized any application."));
    let path = format!("/console/authorized/{}/revoke", alice.client_id);
    assert_eq!(
        bobs.get(&app.url(&path)).await.status(),
        StatusCode::NOT_FOUND
    );

    let (browser, _) = signed_in(&app, &alice).await;
    let html = page_at(&app, &browser, "/console/authorized").await;
    assert!(html.contains(&alice.client_id) && html.contains("<strong>alice</strong>"));
    assert!(html.contains(&path), "{html}");
    let confirm = page_at(&app, &browser, &path).await;
    let csrf = input_value(&confirm, "csrf_token");
    let response = post(&app, &browser, &path, Some(&csrf), &[]).await;
    assert_redirect_with_message(&response, "/console/authorized");
    assert_eq!(
        app.get_user(&access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        oauth_error(app.refresh(&alice, &refresh).await).await,
        "invalid_grant"
    );
    let html = page_at(&app, &browser, "/console/authorized").await;
    assert!(
        html.contains("Access revoked") && !html.contains(&path),
        "{html}"
    );
    // The next authorization asks again: the consent page, not a code at once.
    let pkce = crate::browser::Pkce::new();
    let url = crate::browser::authorize_url(&app, &alice.client_id, &pkce, &[]);
    let again = browser.get(&url).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("value=\"approve\""));
}

#[tokio::test]
async fn the_marketplace_lists_searches_and_shows_the_add_ons_the_account_may_see() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/gallery", "harmony-theme", "1.2.0")
        .await;
    app.publish_ok(&token, "alice/tools", "library", "0.1.0")
        .await;
    let (browser, _) = signed_in(&app, &alice).await;
    let all = page_at(&app, &browser, "/console/marketplace").await;
    assert!(
        all.contains("alice/gallery") && all.contains("alice/tools"),
        "{all}"
    );
    let themes = page_at(
        &app,
        &browser,
        "/console/marketplace?type=harmony-theme&q=gal",
    )
    .await;
    assert!(themes.contains("alice/gallery") && !themes.contains("alice/tools"));
    let addon = page_at(&app, &browser, "/console/marketplace/alice/gallery").await;
    assert!(addon.contains("composer require alice/gallery"), "{addon}");
    assert!(
        addon.contains("1.2.0") && addon.contains(&app.url("")),
        "{addon}"
    );
    let missing = browser
        .get(&app.url("/console/marketplace/alice/nothing"))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_projects_page_lists_the_accounts_projects() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let created = app
        .post_json(
            "/projects",
            &token,
            serde_json::json!({"name": "Shop site"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let (browser, _) = signed_in(&app, &alice).await;
    let html = page_at(&app, &browser, "/console/projects").await;
    assert!(html.contains("Shop site"), "{html}");
    let bob = app.account("bob").await;
    let (bobs, _) = signed_in(&app, &bob).await;
    assert!(
        !page_at(&app, &bobs, "/console/projects")
            .await
            .contains("Shop site")
    );
}

/// Makes every browser session of the database look signed in an hour ago.
pub(crate) async fn age_sessions(app: &TestApp) {
    assert!(
        app.execute("UPDATE auth_sessions SET created_at = created_at - 3600")
            .await
            >= 1
    );
}

const PASSWORD_AGAIN: &str = "Confirm your password";

#[tokio::test]
async fn rotating_on_an_old_session_asks_for_the_password_then_rotates_as_asked() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let (browser, html) = signed_in(&app, &alice).await;
    let csrf = input_value(&html, "csrf_token");
    age_sessions(&app).await;
    let path = format!("/console/applications/{}/secret", alice.client_id);

    // Asked, not done: the page carries the action's fields and posts to the action.
    let response = post(&app, &browser, &path, Some(&csrf), &[("keep_old", "3600")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let asked = response.text().await.unwrap();
    assert!(asked.contains(PASSWORD_AGAIN), "{asked}");
    assert!(asked.contains(&format!("action=\"{path}\"")), "{asked}");
    assert_eq!(input_value(&asked, "keep_old"), "3600");
    assert_eq!(input_value(&asked, "csrf_token"), csrf);
    let old = client_credentials(&app, &alice.client_id, &alice.client_secret).await;
    assert_eq!(old.status(), StatusCode::OK);

    // A wrong password: asked again, nothing done.
    let wrong = post(
        &app,
        &browser,
        &path,
        Some(&csrf),
        &[
            ("keep_old", "3600"),
            ("reauth_password", "not-the-password"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("is not your password"));
    let html = page_at(&app, &browser, "/console/applications").await;
    assert!(!html.contains("secret-1"));

    // The right one: the action goes on with the fields it had, the session is renewed.
    let done = post(
        &app,
        &browser,
        &path,
        Some(&csrf),
        &[
            ("keep_old", "3600"),
            ("reauth_password", alice.password.as_str()),
        ],
    )
    .await;
    assert_redirect_with_message(&done, "/console/applications");
    assert!(
        done.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("harmony_session=")),
        "{:?}",
        done.headers()
    );
    let html = page_at(&app, &browser, "/console/applications").await;
    assert!(html.contains("keeps working until"), "{html}");
    let secret = code_by_id(&html, "secret-1");
    let old = client_credentials(&app, &alice.client_id, &alice.client_secret).await;
    assert_eq!(old.status(), StatusCode::OK, "the grace asked for was kept");
    let new = client_credentials(&app, &alice.client_id, &secret).await;
    assert_eq!(new.status(), StatusCode::OK);

    // Freshly confirmed, the next sensitive action does not ask again.
    let html = page(&app, &browser).await;
    let csrf = input_value(&html, "csrf_token");
    let again = post(&app, &browser, &path, Some(&csrf), &[]).await;
    assert_redirect_with_message(&again, "/console/applications");
}

#[tokio::test]
async fn deleting_and_revoking_all_on_an_old_session_ask_for_the_password_first() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let (browser, html) = signed_in(&app, &alice).await;
    let csrf = input_value(&html, "csrf_token");
    age_sessions(&app).await;

    let revoke = post(
        &app,
        &browser,
        "/console/tokens/revoke-all",
        Some(&csrf),
        &[],
    )
    .await;
    assert_eq!(revoke.status(), StatusCode::OK);
    assert!(revoke.text().await.unwrap().contains(PASSWORD_AGAIN));
    assert_eq!(app.get_user(&token).await.status(), StatusCode::OK);

    let delete = format!("/console/applications/{}/delete", alice.client_id);
    let asked = post(&app, &browser, &delete, Some(&csrf), &[]).await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(asked.text().await.unwrap().contains(PASSWORD_AGAIN));
    assert!(client_ids(&app, &token).await.contains(&alice.client_id));

    let done = post(
        &app,
        &browser,
        &delete,
        Some(&csrf),
        &[("reauth_password", alice.password.as_str())],
    )
    .await;
    assert_redirect_with_message(&done, "/console/applications");
    // Gone with its tokens.
    assert_eq!(
        app.get_user(&token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let html = page_at(&app, &browser, "/console/applications").await;
    assert!(
        html.contains("deleted.") && !html.contains(&alice.client_id),
        "{html}"
    );

    // Confirmed a moment ago: revoke all goes straight on.
    let csrf = input_value(&html, "csrf_token");
    let revoke = post(
        &app,
        &browser,
        "/console/tokens/revoke-all",
        Some(&csrf),
        &[],
    )
    .await;
    assert_redirect_with_message(&revoke, "/console/tokens");
    assert!(page(&app, &browser).await.contains("Every token revoked."));
}

#[tokio::test]
async fn an_admin_token_on_an_old_session_asks_for_the_password_and_a_read_token_does_not() {
    let app = TestApp::spawn().await;
    let root = app
        .account_with(
            "root",
            true,
            harmony::service::clients::ClientSpec {
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..Default::default()
            },
        )
        .await;
    let (browser, html) = signed_in(&app, &root).await;
    let csrf = input_value(&html, "csrf_token");
    age_sessions(&app).await;

    let read = post(
        &app,
        &browser,
        "/console/tokens",
        Some(&csrf),
        &[("note", "ci"), ("scope", "read"), ("expiry", "30")],
    )
    .await;
    assert_redirect_with_message(&read, "/console/tokens");

    let admin_fields = [
        ("note", "ops"),
        ("scope", "read"),
        ("scope", "admin"),
        ("expiry", "7"),
        ("confirm_admin", "1"),
    ];
    let asked = post(
        &app,
        &browser,
        "/console/tokens",
        Some(&csrf),
        &admin_fields,
    )
    .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let asked = asked.text().await.unwrap();
    assert!(asked.contains(PASSWORD_AGAIN), "{asked}");
    assert!(asked.contains("name=\"scope\" value=\"admin\""), "{asked}");
    assert!(!page(&app, &browser).await.contains("ops"));

    let mut confirmed = admin_fields.to_vec();
    confirmed.push(("reauth_password", root.password.as_str()));
    let done = post(&app, &browser, "/console/tokens", Some(&csrf), &confirmed).await;
    assert_redirect_with_message(&done, "/console/tokens");
    let html = page(&app, &browser).await;
    assert!(html.contains("“ops” generated"), "{html}");
}
