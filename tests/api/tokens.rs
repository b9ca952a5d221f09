//! API Access: `GET /user/tokens` (paged, never the token itself) and revocation.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, error_code, header, invalid_fields, oauth_error};

#[tokio::test]
async fn api_access_lists_every_requested_token_without_its_value() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let first = app.token_json(&alice).await;
    let token = app.access_token(&alice).await;
    let response = app.get_with_token("/user/tokens", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for secret in [
        &token,
        first["access_token"].as_str().unwrap(),
        first["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "the list shows a token value");
    }
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), 2);
    let item = &list[0];
    for key in [
        "id",
        "grantType",
        "scope",
        "createdAt",
        "expiresAt",
        "lastUsedAt",
        "status",
    ] {
        assert!(item.get(key).is_some(), "{key} in {item}");
    }
    assert_eq!(item["client"]["id"], alice.client_id.as_str());
    assert_eq!(item["client"]["name"], "alice's client");
    assert_eq!(item["grantType"], "password");
    assert_eq!(item["status"], "active");
}

#[tokio::test]
async fn other_accounts_tokens_are_not_listed() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    app.access_token(&bob).await;
    let token = app.access_token(&alice).await;
    let list: Vec<Value> = app.list_tokens(&token).await;
    assert_eq!(list.len(), 1);
}

#[tokio::test]
async fn the_list_is_paged_with_a_link_header() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    for _ in 0..4 {
        app.access_token(&alice).await;
    }
    let token = app.access_token(&alice).await;
    let response = app.get_with_token("/user/tokens?per_page=2", &token).await;
    let link = header(&response, "link");
    assert!(
        link.contains(&format!(
            "<{}/user/tokens?page=2&per_page=2>; rel=\"next\"",
            app.base
        )),
        "{link}"
    );
    assert!(link.contains("page=3&per_page=2>; rel=\"last\""), "{link}");
    let mut seen = HashSet::new();
    for page in 1..=3 {
        let list: Vec<Value> = app
            .get_with_token(&format!("/user/tokens?per_page=2&page={page}"), &token)
            .await
            .json()
            .await
            .unwrap();
        for item in list {
            seen.insert(item["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 5);
    let response = app.get_with_token("/user/tokens", &token).await;
    assert!(response.headers().get("link").is_none());
    let response = app.get_with_token("/user/tokens?page=-1", &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "invalid_paging");
    let list: Vec<Value> = app
        .get_with_token("/user/tokens?per_page=500", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 5);
}

#[tokio::test]
async fn revoking_one_token_takes_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let victim = app.token_json(&alice).await;
    let token = app.access_token(&alice).await;
    let digest =
        harmony::domain::PlainSecret::new(victim["access_token"].as_str().unwrap()).digest();
    let victim_id = app
        .state
        .services
        .store()
        .access_token(&digest)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let response = app
        .delete_with_token(&format!("/user/tokens/{victim_id}"), &token)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let victim_access = victim["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_user(victim_access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Its refresh token went with it.
    let refresh = app
        .refresh(&alice, victim["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(refresh).await, "invalid_grant");
    // It stays listed, as revoked.
    let list: Vec<Value> = app.list_tokens(&token).await;
    let listed = list.iter().find(|t| t["id"] == victim_id.as_str()).unwrap();
    assert_eq!(listed["status"], "revoked");
    assert_eq!(app.get_user(&token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn another_accounts_token_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let bobs = app.access_token(&bob).await;
    let bobs_list: Vec<Value> = app.list_tokens(&bobs).await;
    let bobs_id = bobs_list[0]["id"].as_str().unwrap();
    let token = app.access_token(&alice).await;
    for id in [bobs_id, "00000000-0000-0000-0000-000000000000", "nope"] {
        let response = app
            .delete_with_token(&format!("/user/tokens/{id}"), &token)
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
        assert_eq!(error_code(response).await, "not_found");
    }
    assert_eq!(app.get_user(&bobs).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoking_all_tokens_revokes_every_one_including_the_callers() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let other = app.access_token(&alice).await;
    let bobs = app.access_token(&bob).await;
    let token = app.access_token(&alice).await;
    let response = app.delete_with_token("/user/tokens", &token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_user(&token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_user(&other).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get_user(&bobs).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn last_used_at_is_recorded() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let used = app.access_token(&alice).await;
    let lister = app.access_token(&alice).await;
    let digest = harmony::domain::PlainSecret::new(&used).digest();
    let id = app
        .state
        .services
        .store()
        .access_token(&digest)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    // Listing with the other token records that token's use, never this one's.
    let last_used = |list: Vec<Value>| {
        list.iter().find(|t| t["id"] == id.as_str()).unwrap()["lastUsedAt"].clone()
    };
    assert_eq!(last_used(app.list_tokens(&lister).await), Value::Null);

    let before = chrono::Utc::now().timestamp();
    assert_eq!(app.get_user(&used).await.status(), StatusCode::OK);
    let after = chrono::Utc::now().timestamp();
    // The write runs after the answer, in the background: awaited, not polled for.
    app.state.services.tokens().uses_recorded().await;
    let recorded = last_used(app.list_tokens(&lister).await);
    let at = recorded
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("lastUsedAt is no timestamp: {recorded}"));
    assert!(recorded.as_str().unwrap().ends_with('Z'), "{recorded}");
    assert!(
        (before..=after).contains(&at.timestamp()),
        "{recorded} is not the time of the request"
    );
}

/// `POST /user/tokens` with `body`, as the holder of `token`.
async fn generate(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json("/user/tokens", token, body).await
}

#[tokio::test]
async fn a_personal_access_token_is_shown_once_works_and_is_listed_and_revoked_like_the_others() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let response = generate(
        &app,
        &token,
        serde_json::json!({"note": "ci", "scopes": ["read"], "expiresInDays": 30}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let created: Value = response.json().await.unwrap();
    let pat = created["token"].as_str().unwrap().to_owned();
    assert!(pat.starts_with("hpat_") && pat.len() > 40, "{created}");
    assert_eq!(created["note"], "ci");
    assert_eq!(created["scopes"], serde_json::json!(["read"]));
    let expires = chrono::DateTime::parse_from_rfc3339(created["expiresAt"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let in_30_days = chrono::Utc::now().timestamp() + 30 * 86_400;
    assert!((expires - in_30_days).abs() < 60, "{created}");

    // It works, with the scopes it was given and no more.
    assert_eq!(app.get_user(&pat).await.status(), StatusCode::OK);
    let write = generate(
        &app,
        &pat,
        serde_json::json!({"note": "x", "scopes": ["read"]}),
    )
    .await;
    assert_eq!(write.status(), StatusCode::FORBIDDEN);

    // Listed like the others (never its value), and not as an application.
    let list = app.list_tokens(&token).await;
    let item = list
        .iter()
        .find(|t| t["id"] == created["id"])
        .expect("listed");
    assert_eq!(item["grantType"], "personal_access_token");
    assert_eq!(item["note"], "ci");
    assert_eq!(item["client"]["name"], "Personal access token");
    assert_eq!(item["expiresAt"], created["expiresAt"]);
    assert!(!serde_json::to_string(&list).unwrap().contains(&pat));
    let clients: Vec<Value> = app
        .get_with_token("/user/clients", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(clients.len(), 1, "{clients:?}");
    // Its client is nothing an application could authenticate as.
    let personal = item["client"]["id"].as_str().unwrap();
    let as_client = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", personal),
        ])
        .await;
    assert_eq!(oauth_error(as_client).await, "invalid_client");
    assert_eq!(
        app.get_with_token(&format!("/user/clients/{personal}"), &token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let revoked = app
        .delete_with_token(
            &format!("/user/tokens/{}", created["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get_user(&pat).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_user(&token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_personal_access_token_without_expiry_says_null_and_an_absent_expiry_is_30_days() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let never: Value = generate(
        &app,
        &token,
        serde_json::json!({"note": "forever", "scopes": "read write", "expiresInDays": null}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(never["expiresAt"], Value::Null, "{never}");
    assert_eq!(never["scopes"], serde_json::json!(["read", "write"]));
    let listed = app.list_tokens(&token).await;
    let item = listed.iter().find(|t| t["id"] == never["id"]).unwrap();
    assert_eq!(item["expiresAt"], Value::Null);
    assert_eq!(item["status"], "active");
    let pat = never["token"].as_str().unwrap();
    assert_eq!(app.get_user(pat).await.status(), StatusCode::OK);

    let default: Value = generate(
        &app,
        &token,
        serde_json::json!({"note": "default", "scopes": ["read"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(default["expiresAt"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!((expires - (chrono::Utc::now().timestamp() + 30 * 86_400)).abs() < 60);
}

#[tokio::test]
async fn a_personal_access_token_request_is_checked_field_by_field_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for (body, fields) in [
        (
            serde_json::json!({"note": " ", "scopes": [], "expiresInDays": 0}),
            &["note", "scopes", "expiresInDays"][..],
        ),
        (
            serde_json::json!({"note": "x", "scopes": ["admin"]}),
            &["scopes"][..],
        ),
        (
            serde_json::json!({"note": "x", "scopes": ["read", "sudo"], "expiresInDays": 3651}),
            &["scopes", "expiresInDays"][..],
        ),
        (
            serde_json::json!({"note": "x".repeat(101), "scopes": ["read"]}),
            &["note"][..],
        ),
    ] {
        let response = generate(&app, &token, body.clone()).await;
        let invalid = invalid_fields(response).await;
        let mut named: Vec<&str> = invalid.keys().map(String::as_str).collect();
        named.sort_unstable();
        let mut expected = fields.to_vec();
        expected.sort_unstable();
        assert_eq!(named, expected, "{body}");
    }
    // A body that is not the documented one is a 400 or 422 in the envelope.
    let unknown = generate(
        &app,
        &token,
        serde_json::json!({"note": "x", "scopes": ["read"], "extra": 1}),
    )
    .await;
    assert!(unknown.status().is_client_error());
    assert_eq!(app.list_tokens(&token).await.len(), 1, "nothing created");
}

#[tokio::test]
async fn an_administrator_may_give_a_personal_access_token_the_admin_scope() {
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
    let token = app.scoped_token(&root, "read write").await;
    let created: Value = generate(
        &app,
        &token,
        serde_json::json!({"note": "ops", "scopes": ["read", "admin"], "expiresInDays": 7}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["scopes"], serde_json::json!(["read", "admin"]));
    let pat = created["token"].as_str().unwrap();
    assert_eq!(
        app.get_with_token("/admin/users", pat).await.status(),
        StatusCode::OK
    );
}
