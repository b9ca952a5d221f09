//! Values as the API takes them in and gives them back: what is parsed on the way in
//! (client names trimmed, redirect URIs byte for byte and without white space), and rows
//! written under older rules, which read back and survive changes to other fields.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

/// Runs one statement with text parameters on the app's database, behind the server's
/// back (as an older version of it would have written).
async fn execute(app: &TestApp, sql: &'static str, params: &[&str]) {
    if app.database_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        let mut query = sqlx::query(sql);
        for p in params {
            query = query.bind(*p);
        }
        assert_eq!(query.execute(&pool).await.unwrap().rows_affected(), 1);
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        let mut query = sqlx::query(sql);
        for p in params {
            query = query.bind(*p);
        }
        assert_eq!(query.execute(&pool).await.unwrap().rows_affected(), 1);
        pool.close().await;
    }
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    app.http
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn rows_stored_under_older_rules_read_back_and_survive_changes_to_other_fields() {
    // No auth cache: the rows change behind the server's back.
    let app = TestApp::spawn_with(|c| c.auth_cache_ms = 0).await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    // A display name and a client name with format characters, and a plain-http redirect
    // URI that is not on a loopback host: none would be accepted today.
    let name = "Ali\u{200b}ce";
    let client_name = "\u{202e}ppA laicifffO";
    execute(
        &app,
        "UPDATE users SET name = $1 WHERE username = $2",
        &[name, "alice"],
    )
    .await;
    execute(
        &app,
        "UPDATE clients SET name = $1, redirect_uris = $2 WHERE id = $3",
        &[
            client_name,
            r#"["http://app.example/cb"]"#,
            &alice.client_id,
        ],
    )
    .await;

    let user: Value = app.get_user(&token).await.json().await.unwrap();
    assert_eq!(user["name"], name);
    let path = format!("/user/clients/{}", alice.client_id);
    let client = app.get_with_token(&path, &token).await;
    assert_eq!(client.status(), StatusCode::OK);
    let client: Value = client.json().await.unwrap();
    assert_eq!(client["name"], client_name);
    assert_eq!(client["redirectUris"], json!(["http://app.example/cb"]));
    let tokens = app.list_tokens(&token).await;
    assert_eq!(tokens[0]["client"]["name"], client_name);

    // Changing other settings keeps the stored values as they are.
    let narrowed = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &token,
        json!({"scopes": ["read"]}),
    )
    .await;
    assert_eq!(narrowed.status(), StatusCode::OK);
    let narrowed: Value = narrowed.json().await.unwrap();
    assert_eq!(narrowed["scopes"], json!(["read"]));
    assert_eq!(narrowed["name"], client_name);
    assert_eq!(narrowed["redirectUris"], json!(["http://app.example/cb"]));
    let moved = send(
        &app,
        reqwest::Method::PATCH,
        "/user",
        &token,
        json!({"email": "alice@new.example"}),
    )
    .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["email"], "alice@new.example");
    assert_eq!(moved["name"], name);

    // Giving the values again is held to today's rules.
    let renamed = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &token,
        json!({"name": client_name}),
    )
    .await;
    assert_eq!(renamed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let uris = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &token,
        json!({"redirectUris": ["http://app.example/cb"]}),
    )
    .await;
    assert_eq!(uris.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_redirect_uri_with_white_space_control_or_format_characters_is_422() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let before = app.count_rows("clients").await;
    for uri in [
        " https://app.example/cb",
        "https://app.example/cb\n",
        "https://app.example/c\tb",
        "https://app.example/c b",
    ] {
        let body = json!({"name": "App", "redirectUris": [uri]});
        let response = send(&app, reqwest::Method::POST, "/user/clients", &token, body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri:?}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "validation_failed", "{error}");
        let message = error["error"]["fields"]["redirectUris"].as_str().unwrap();
        assert!(
            message.contains("spaces or control characters"),
            "{message}"
        );
    }
    // The consent page shows the URI: a right-to-left override would make it read as
    // "https://app.example.com//" while it sends the code elsewhere.
    let spoof = "https://evil.example/\u{202e}moc.elpmaxe.ppa//:sptth";
    let body = json!({"name": "App", "redirectUris": [spoof]});
    let response = send(&app, reqwest::Method::POST, "/user/clients", &token, body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    let message = error["error"]["fields"]["redirectUris"].as_str().unwrap();
    assert!(message.contains("U+202E"), "{message}");
    assert_eq!(
        app.count_rows("clients").await,
        before,
        "nothing was registered"
    );
    let fine = json!({"name": "App", "redirectUris": ["https://app.example/c%20b"]});
    let response = send(&app, reqwest::Method::POST, "/user/clients", &token, fine).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn client_names_are_trimmed_on_create_as_on_patch() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let body = json!({"name": "\t My app \n"});
    let created = send(&app, reqwest::Method::POST, "/user/clients", &token, body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["name"], "My app");
    let path = format!("/user/clients/{}", created["id"].as_str().unwrap());
    let renamed = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &token,
        json!({"name": " Renamed "}),
    )
    .await;
    let renamed: Value = renamed.json().await.unwrap();
    assert_eq!(renamed["name"], "Renamed");
    // Only white space is no name.
    let blank = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &token,
        json!({"name": " \n "}),
    )
    .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(blank).await, "validation_failed");
}

#[tokio::test]
async fn an_email_with_invisible_formatting_characters_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    // Administrators read emails: this one reads "eve@example.com".
    for email in ["\u{202e}moc.elpmaxe@eve", "ev\u{200b}e@example.com"] {
        let body = json!({ "email": email });
        let response = send(&app, reqwest::Method::PATCH, "/user", &token, body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email:?}"
        );
        let error: Value = response.json().await.unwrap();
        let message = error["error"]["fields"]["email"].as_str().unwrap();
        assert!(message.contains("invisible formatting"), "{message}");
    }
    let user: Value = app.get_user(&token).await.json().await.unwrap();
    assert_eq!(user["email"], "alice@example.com");
}
