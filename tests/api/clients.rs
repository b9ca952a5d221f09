//! `/user/clients`: an account's OAuth clients, their secrets and their deletion.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Account, TestApp, field_message, header, invalid_fields, oauth_error, refusal,
};

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/user/clients"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn client_token(app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    app.post_token(&[
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ])
    .await
}

async fn owner(app: &TestApp, name: &str) -> (Account, String) {
    let account = app.account(name).await;
    let token = app.access_token(&account).await;
    (account, token)
}

#[tokio::test]
async fn a_created_client_shows_its_secret_once_and_then_never_again() {
    let app = TestApp::spawn().await;
    let (_, token) = owner(&app, "alice").await;
    let response = create(
        &app,
        &token,
        json!({
            "name": "My app",
            "redirectUris": ["https://app.example/cb"],
            "scopes": ["read"],
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let location = header(&response, "location");
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        app.url(&format!(
            "/user/clients/{}",
            created["id"].as_str().unwrap()
        ))
    );
    assert_eq!(created["name"], "My app");
    assert_eq!(created["redirectUris"], json!(["https://app.example/cb"]));
    assert_eq!(
        created["grantTypes"],
        json!([
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials"
        ])
    );
    assert_eq!(created["scopes"], json!(["read"]));
    assert_eq!(created["confidential"], true);
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("hcs_"));

    let one = app
        .get_with_token(
            &format!("/user/clients/{}", created["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(one.status(), StatusCode::OK);
    let text = one.text().await.unwrap();
    assert!(!text.contains(secret) && !text.contains("\"secret\""));
    let list: Vec<Value> = app
        .get_with_token("/user/clients", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 2, "the fixture's client and this one");
    assert!(list.iter().all(|c| c.get("secret").is_none()));

    let cc = client_token(&app, created["id"].as_str().unwrap(), secret).await;
    assert_eq!(cc.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_cannot_rotate_one() {
    let app = TestApp::spawn().await;
    let (_, token) = owner(&app, "alice").await;
    let created: Value = create(
        &app,
        &token,
        json!({"name": "SPA", "confidential": false, "redirectUris": ["http://localhost:3000/cb"],
               "grantTypes": ["authorization_code"], "scopes": "read write"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["confidential"], false);
    assert!(created.get("secret").is_none());
    assert_eq!(created["scopes"], json!(["read", "write"]));
    let rotate = app
        .http
        .post(app.url(&format!(
            "/user/clients/{}/secret",
            created["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let error = refusal(rotate, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(error["message"], "a public client has no secret to rotate");
}

#[tokio::test]
async fn invalid_registrations_are_422_with_the_field() {
    let app = TestApp::spawn().await;
    let (_, token) = owner(&app, "alice").await;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (
            json!({"name": "x", "redirectUris": ["http://app.example/cb"]}),
            "redirectUris",
        ),
        (
            json!({"name": "x", "redirectUris": ["https://app.example/cb#f"]}),
            "redirectUris",
        ),
        (
            json!({"name": "x", "redirectUris": ["/relative"]}),
            "redirectUris",
        ),
        (
            json!({"name": "x", "grantTypes": ["implicit"]}),
            "grantTypes",
        ),
        (
            json!({"name": "x", "grantTypes": ["authorization_code"]}),
            "grantTypes",
        ),
        (
            json!({"name": "x", "confidential": false, "grantTypes": ["client_credentials"]}),
            "grantTypes",
        ),
        (json!({"name": "x", "scopes": ["delete"]}), "scopes"),
        (json!({"name": "x", "scopes": ["admin"]}), "scopes"),
        (json!({"name": "x", "trusted": true}), "trusted"),
    ] {
        let response = create(&app, &token, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let err: Value = response.json().await.unwrap();
        assert!(err["error"]["fields"].get(field).is_some(), "{body}: {err}");
    }
    let bad_json = app
        .http
        .post(app.url("/user/clients"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    refusal(bad_json, StatusCode::BAD_REQUEST, "invalid_json").await;
    // Only the fixture's client exists.
    let list: Vec<Value> = app
        .get_with_token("/user/clients", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
}

#[tokio::test]
async fn a_client_can_be_changed_and_the_change_is_validated_as_a_whole() {
    let app = TestApp::spawn().await;
    let (alice, token) = owner(&app, "alice").await;
    let path = format!("/user/clients/{}", alice.client_id);
    let patch = |body: Value| {
        app.http
            .patch(app.url(&path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let changed: Value = patch(json!({
        "name": "Renamed",
        "redirectUris": ["https://a.example/cb"],
        "grantTypes": ["authorization_code", "refresh_token"],
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(changed["name"], "Renamed");
    assert_eq!(
        changed["grantTypes"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(changed["scopes"], json!(["read", "write"]));

    // `null`, as the OpenAPI document allows it, changes nothing, like a field left out.
    let same: Value = patch(json!({
        "name": null,
        "grantTypes": null,
        "idTokenSignedResponseAlg": null,
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(same, changed);

    // A change is checked against the client it would make: the code grant it keeps
    // cannot work without redirect URIs. A client's kind is no change at all.
    for (change, field, says) in [
        (
            json!({"redirectUris": []}),
            "grantTypes",
            "authorization_code needs at least one redirect URI",
        ),
        (
            json!({"confidential": false}),
            "confidential",
            "unknown field",
        ),
        (
            json!({"scopes": []}),
            "scopes",
            "must name at least one scope",
        ),
    ] {
        let fields = invalid_fields(patch(change.clone()).await.unwrap()).await;
        assert!(
            field_message(&fields, field).contains(says),
            "{change}: {fields:?}"
        );
    }
    let kept: Value = app
        .get_with_token(&path, &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["redirectUris"], json!(["https://a.example/cb"]));
}

#[tokio::test]
async fn rotating_the_secret_refuses_the_old_one_at_once() {
    let app = TestApp::spawn().await;
    let (alice, token) = owner(&app, "alice").await;
    let rotated = app
        .http
        .post(app.url(&format!("/user/clients/{}/secret", alice.client_id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    assert_eq!(header(&rotated, "cache-control"), "no-store");
    let body: Value = rotated.json().await.unwrap();
    let new_secret = body["secret"].as_str().unwrap();
    assert_ne!(new_secret, alice.client_secret);
    let old = client_token(&app, &alice.client_id, &alice.client_secret).await;
    assert_eq!(oauth_error(old).await, "invalid_client");
    let new = client_token(&app, &alice.client_id, new_secret).await;
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn deleting_a_client_revokes_every_token_it_was_issued() {
    let app = TestApp::spawn().await;
    let (alice, _) = owner(&app, "alice").await;
    let admin_token = {
        // A second client of alice's, to act with after the first is gone.
        let token = app.access_token(&alice).await;
        let created: Value = create(&app, &token, json!({"name": "second"}))
            .await
            .json()
            .await
            .unwrap();
        let t: Value = app
            .post_token(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", &alice.password),
                ("client_id", created["id"].as_str().unwrap()),
                ("client_secret", created["secret"].as_str().unwrap()),
            ])
            .await
            .json()
            .await
            .unwrap();
        t["access_token"].as_str().unwrap().to_owned()
    };
    let doomed = app.token_json(&alice).await;
    let deleted = app
        .http
        .delete(app.url(&format!("/user/clients/{}", alice.client_id)))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_user(doomed["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = app
        .refresh(&alice, doomed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(oauth_error(refresh).await, "invalid_client");
    let gone = app
        .get_with_token(&format!("/user/clients/{}", alice.client_id), &admin_token)
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get_user(&admin_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn another_accounts_client_is_404_for_every_method() {
    let app = TestApp::spawn().await;
    let (alice, _) = owner(&app, "alice").await;
    let (_, bob_token) = owner(&app, "bob").await;
    let path = format!("/user/clients/{}", alice.client_id);
    let get = app.get_with_token(&path, &bob_token).await;
    refusal(get, StatusCode::NOT_FOUND, "not_found").await;
    let patch = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&bob_token)
        .json(&json!({"name": "pwned"}))
        .send()
        .await
        .unwrap();
    refusal(patch, StatusCode::NOT_FOUND, "not_found").await;
    let rotate = app
        .http
        .post(app.url(&format!("{path}/secret")))
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap();
    refusal(rotate, StatusCode::NOT_FOUND, "not_found").await;
    let delete = app
        .http
        .delete(app.url(&path))
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap();
    refusal(delete, StatusCode::NOT_FOUND, "not_found").await;
    // Alice's client is untouched: its name and its secret.
    assert_eq!(
        client_token(&app, &alice.client_id, &alice.client_secret)
            .await
            .status(),
        StatusCode::OK
    );
    let alices = app.access_token(&alice).await;
    let client: Value = app
        .get_with_token(&path, &alices)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(client["name"], "alice's client");
}

#[tokio::test]
async fn the_client_list_is_paged_with_a_link_header() {
    let app = TestApp::spawn().await;
    let (_, token) = owner(&app, "alice").await;
    for i in 0..3 {
        create(&app, &token, json!({"name": format!("c{i}")})).await;
    }
    let response = app.get_with_token("/user/clients?per_page=2", &token).await;
    let link = header(&response, "link");
    assert!(link.contains("rel=\"next\""), "{link}");
    let list: Vec<Value> = response.json().await.unwrap();
    assert_eq!(list.len(), 2);
}

#[tokio::test]
async fn a_client_name_with_invisible_formatting_characters_is_422_on_create_and_patch() {
    let app = TestApp::spawn().await;
    let (alice, token) = owner(&app, "alice").await;
    // Reads "Offficial App" once the right-to-left override has reversed it.
    let spoof = "\u{202e}ppA laicifffO";
    let created = create(&app, &token, json!({ "name": spoof })).await;
    assert_eq!(created.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = created.json().await.unwrap();
    let message = err["error"]["fields"]["name"].as_str().unwrap();
    assert!(message.contains("U+202E"), "{message}");

    let path = format!("/user/clients/{}", alice.client_id);
    for name in [spoof, "Official\u{200b}App", "\u{feff}App", "App\u{2066}"] {
        let patched = app
            .http
            .patch(app.url(&path))
            .bearer_auth(&token)
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            patched.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}"
        );
        let err: Value = patched.json().await.unwrap();
        assert!(err["error"]["fields"].get("name").is_some(), "{err}");
    }
    let kept: Value = app
        .get_with_token(&path, &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["name"], "alice's client");
    // Other scripts and symbols are names like any other.
    let fine = create(&app, &token, json!({ "name": "Zürich – 東京 🚀" })).await;
    assert_eq!(fine.status(), StatusCode::CREATED);
}

/// `POST /user/clients/{id}/secret` with a JSON `body` (none: no body at all).
async fn rotate(app: &TestApp, token: &str, id: &str, body: Option<Value>) -> reqwest::Response {
    let request = app
        .http
        .post(app.url(&format!("/user/clients/{id}/secret")))
        .bearer_auth(token);
    match body {
        Some(b) => request.json(&b),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

/// Whether the token endpoint takes `secret` for `alice`'s client (a refusal must be
/// `invalid_client`).
async fn works(app: &TestApp, alice: &Account, secret: &str) -> bool {
    let response = client_token(app, &alice.client_id, secret).await;
    if response.status() == StatusCode::OK {
        return true;
    }
    assert_eq!(oauth_error(response).await, "invalid_client");
    false
}

#[tokio::test]
async fn a_rotation_with_a_grace_period_keeps_the_old_secret_working_until_it_ends() {
    // Uncached, so that the aged grace below is read at once.
    let app = TestApp::spawn_with(|c| c.auth_cache_ms = 0).await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let response = rotate(
        &app,
        &token,
        &alice.client_id,
        Some(json!({"keepOldForSeconds": 3600})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let new = body["secret"].as_str().unwrap().to_owned();
    let until = chrono::DateTime::parse_from_rfc3339(body["oldSecretExpiresAt"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(
        (until - (chrono::Utc::now().timestamp() + 3600)).abs() < 60,
        "{body}"
    );

    // Both work during the grace period.
    assert!(works(&app, &alice, &alice.client_secret).await);
    assert!(works(&app, &alice, &new).await);
    let shown: Value = app
        .get_with_token(&format!("/user/clients/{}", alice.client_id), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["oldSecretExpiresAt"], body["oldSecretExpiresAt"]);

    // Once it ends, only the new one does.
    crate::browser::execute_sql(
        &app,
        &format!(
            "UPDATE clients SET previous_secret_expires_at = {} WHERE id = '{}'",
            chrono::Utc::now().timestamp() - 1,
            alice.client_id
        ),
    )
    .await;
    let old = client_token(&app, &alice.client_id, &alice.client_secret).await;
    assert_eq!(oauth_error(old).await, "invalid_client");
    assert!(works(&app, &alice, &new).await);
    let shown: Value = app
        .get_with_token(&format!("/user/clients/{}", alice.client_id), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["oldSecretExpiresAt"], Value::Null);
}

#[tokio::test]
async fn without_a_grace_period_the_old_secret_stops_at_once_and_a_later_rotation_ends_a_grace() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let secret = |v: &Value| v["secret"].as_str().unwrap().to_owned();

    // An explicit 0 is as no body: the old secret stops at once.
    let zero: Value = rotate(
        &app,
        &token,
        &alice.client_id,
        Some(json!({"keepOldForSeconds": 0})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(zero["oldSecretExpiresAt"], Value::Null);
    let second = secret(&zero);
    assert!(!works(&app, &alice, &alice.client_secret).await);

    // A grace keeps `second`; rotating again (without one) ends it.
    let graced: Value = rotate(
        &app,
        &token,
        &alice.client_id,
        Some(json!({"keepOldForSeconds": 600})),
    )
    .await
    .json()
    .await
    .unwrap();
    let third = secret(&graced);
    assert!(works(&app, &alice, &second).await);
    let plain: Value = rotate(&app, &token, &alice.client_id, None)
        .await
        .json()
        .await
        .unwrap();
    let fourth = secret(&plain);
    for old in [&second, &third] {
        assert!(!works(&app, &alice, old).await);
    }
    assert!(works(&app, &alice, &fourth).await);
}

#[tokio::test]
async fn a_grace_period_out_of_range_is_refused_and_rotates_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for body in [
        json!({"keepOldForSeconds": -1}),
        json!({"keepOldForSeconds": 604_801}),
    ] {
        let response = rotate(&app, &token, &alice.client_id, Some(body.clone())).await;
        let fields = invalid_fields(response).await;
        assert!(
            field_message(&fields, "keepOldForSeconds").contains("7 days"),
            "{body}: {fields:?}"
        );
    }
    for body in [json!({"keepOldForSeconds": "1h"}), json!({"grace": 1})] {
        let response = rotate(&app, &token, &alice.client_id, Some(body.clone())).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    assert!(works(&app, &alice, &alice.client_secret).await);
}
