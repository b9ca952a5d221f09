//! The command line (`docs/api.md` §6), run as the real binary: the first-start banner
//! and its curl, `user create`, `user reset-password`, `client create`, `token list` and
//! `token revoke`, and errors.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::browser::{Browser, input_value};
use crate::helpers::{PASSWORD, TestApp, oauth_error};

use crate::process::command as harmony;

async fn run(database_url: &str, args: &[&str], stdin: Option<&str>) -> (bool, Value, String) {
    let mut cmd = harmony(database_url);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn harmony");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn the_first_start_prints_credentials_once_with_a_curl_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let start = || {
        let mut cmd = harmony(&url);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("HARMONY_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let mut server = start();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let curl = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.trim().strip_prefix("curl '") {
                return rest.trim_end_matches('\'').to_owned();
            }
        }
        panic!("no curl line in the banner");
    })
    .await
    .unwrap();
    let response = reqwest::get(&curl).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    server.kill().await.unwrap();

    // The second start finds the account and prints nothing on stdout.
    let mut server = start();
    let mut errors = BufReader::new(server.stderr.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = errors.next_line().await.unwrap() {
            if line.contains("harmony is listening") {
                return;
            }
        }
        panic!("the server did not start");
    })
    .await
    .unwrap();
    server.kill().await.unwrap();
    let out = server.wait_with_output().await.unwrap();
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A server that reads every presented token from the database (no auth cache), so that
/// what the command line writes, in another process, counts from its next request on.
async fn uncached() -> TestApp {
    TestApp::spawn_with(|c| c.auth_cache_ms = 0).await
}

#[tokio::test]
async fn users_clients_and_tokens_are_managed_from_the_command_line() {
    let app = uncached().await;
    let db = app.database_url.as_str();
    let (ok, user, err) = run(
        db,
        &[
            "user",
            "create",
            "carol",
            "--email",
            "carol@example.com",
            "--password-stdin",
            "--json",
        ],
        Some("s3cret password\n"),
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(user["username"], "carol");
    assert!(user.get("password").is_none());

    let (ok, client, err) = run(
        db,
        &[
            "client", "create", "--owner", "carol", "--name", "CLI", "--json",
        ],
        None,
    )
    .await;
    assert!(ok, "{err}");
    let client_id = client["client_id"].as_str().unwrap();
    let client_secret = client["client_secret"].as_str().unwrap();

    let response = app
        .http
        .get(app.url("/oauth/v2/token"))
        .query(&[
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("grant_type", "password"),
            ("username", "carol"),
            ("password", "s3cret password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the trailing newline was dropped"
    );
    let token: Value = response.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();

    let (ok, list, err) = run(db, &["token", "list", "--user", "carol", "--json"], None).await;
    assert!(ok, "{err}");
    let api: Vec<Value> = app
        .get_with_token("/user/tokens", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], api[0]["id"]);

    let id = list[0]["id"].as_str().unwrap();
    let (ok, _, err) = run(db, &["token", "revoke", id, "--json"], None).await;
    assert!(ok, "{err}");
    // Another process revoked it: refused on the server's next request.
    assert_eq!(app.get_user(token).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_generated_password_is_printed_and_works() {
    let app = TestApp::spawn().await;
    let db = app.database_url.as_str();
    let (ok, user, err) = run(
        db,
        &[
            "user",
            "create",
            "dave",
            "--email",
            "dave@example.com",
            "--admin",
            "--json",
        ],
        None,
    )
    .await;
    assert!(ok, "{err}");
    let password = user["password"].as_str().unwrap().to_owned();
    let (ok, client, _) = run(
        db,
        &[
            "client",
            "create",
            "--owner",
            "dave",
            "--name",
            "Ops",
            "--scope",
            "read",
            "--scope",
            "admin",
            "--trusted",
            "--json",
        ],
        None,
    )
    .await;
    assert!(ok);
    let response = app
        .post_token(&[
            ("grant_type", "password"),
            ("username", "dave"),
            ("password", &password),
            ("client_id", client["client_id"].as_str().unwrap()),
            ("client_secret", client["client_secret"].as_str().unwrap()),
        ])
        .await;
    let body: Value = response.json().await.unwrap();
    assert!(body["access_token"].is_string(), "{body}");
}

#[tokio::test]
async fn failures_exit_non_zero_with_one_line_on_stderr() {
    let app = TestApp::spawn().await;
    let db = app.database_url.as_str();
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["user", "create", "bad name", "--email", "x@example.com"],
            "",
            "harmony: username may contain only",
        ),
        (
            &["user", "create", "eve", "--email", "nope"],
            "",
            "harmony: email must be an email address",
        ),
        (
            &[
                "user",
                "create",
                "eve",
                "--email",
                "e@example.com",
                "--password-stdin",
            ],
            "short\n",
            "harmony: password must be at least",
        ),
        (
            &["client", "create", "--owner", "nobody", "--name", "x"],
            "",
            "harmony: no account named \"nobody\"",
        ),
        (
            &["token", "revoke", "00000000-0000-0000-0000-000000000000"],
            "",
            "harmony: no token 00000000-0000-0000-0000-000000000000",
        ),
        (
            &["token", "list", "--user", "nobody"],
            "",
            "harmony: no account named \"nobody\"",
        ),
    ];
    for (args, stdin, says) in cases {
        let (ok, _, err) = run(db, args, Some(stdin)).await;
        assert!(!ok, "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(says), "{args:?}: {err}");
    }
    // None of the refused accounts was created.
    let (ok, _, err) = run(db, &["token", "list", "--user", "eve"], None).await;
    assert!(!ok);
    assert_eq!(err.trim_end(), "harmony: no account named \"eve\"");
}

/// The console's Tokens page as `browser` sees it.
async fn settings_page(app: &TestApp, browser: &Browser) -> String {
    let response = browser.get(&app.url("/console/tokens")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// A password-grant request for `username` through `client` (id, secret).
async fn password_grant(
    app: &TestApp,
    client: (&str, &str),
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.post_token(&[
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("client_id", client.0),
        ("client_secret", client.1),
    ])
    .await
}

#[tokio::test]
async fn a_password_reset_prints_a_new_password_once_and_ends_sessions_and_tokens() {
    let app = uncached().await;
    let db = app.database_url.as_str();
    let alice = app.account("alice").await;
    let client = (alice.client_id.as_str(), alice.client_secret.as_str());
    let bob = app.account("bob").await;

    // alice is signed in on the settings page and holds a token; so does bob.
    let browser = Browser::new();
    let form = settings_page(&app, &browser).await;
    let signed_in = browser
        .http
        .post(app.url("/console/login"))
        .form(&[
            ("csrf_token", input_value(&form, "csrf_token").as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert!(settings_page(&app, &browser).await.contains("Signed in as"));
    let token: Value = password_grant(&app, client, "alice", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let bobs: Value = app
        .post_token(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", PASSWORD),
            ("client_id", &bob.client_id),
            ("client_secret", &bob.client_secret),
        ])
        .await
        .json()
        .await
        .unwrap();
    let bobs = bobs["access_token"].as_str().unwrap().to_owned();

    let (ok, reset, err) = run(db, &["user", "reset-password", "alice", "--json"], None).await;
    assert!(ok, "{err}");
    assert_eq!(reset["username"], "alice");
    assert_eq!(reset["id"], alice.user.id.to_string());
    assert_eq!(reset["tokensRevoked"], 1, "{reset}");
    let generated = reset["password"].as_str().unwrap().to_owned();
    assert!(generated.len() >= 20, "{generated}");

    // The new password signs in, the old one no longer does.
    let old = password_grant(&app, client, "alice", PASSWORD).await;
    assert_eq!(oauth_error(old).await, "invalid_grant");
    let new = password_grant(&app, client, "alice", &generated).await;
    assert_eq!(new.status(), StatusCode::OK);
    // The session ended and the token was revoked; bob's token is untouched.
    let page = settings_page(&app, &browser).await;
    assert!(!page.contains("Signed in as"), "{page}");
    assert_eq!(
        app.get_user(&token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get_user(&bobs).await.status(), StatusCode::OK);

    // A chosen password from standard input is not printed.
    let (ok, reset, err) = run(
        db,
        &[
            "user",
            "reset-password",
            "alice",
            "--password-stdin",
            "--json",
        ],
        Some("my chosen password\n"),
    )
    .await;
    assert!(ok, "{err}");
    assert!(reset.get("password").is_none(), "{reset}");
    let chosen = password_grant(&app, client, "alice", "my chosen password").await;
    assert_eq!(chosen.status(), StatusCode::OK);
    let generated_again = password_grant(&app, client, "alice", &generated).await;
    assert_eq!(oauth_error(generated_again).await, "invalid_grant");

    // Without --json the generated password is on its own line.
    let out = harmony(db)
        .args(["user", "reset-password", "bob"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap();
    let bob_new = password_grant(&app, (&bob.client_id, &bob.client_secret), "bob", line).await;
    assert_eq!(bob_new.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refused_password_reset_changes_nothing() {
    let app = TestApp::spawn().await;
    let db = app.database_url.as_str();
    let alice = app.account("alice").await;
    let client = (alice.client_id.as_str(), alice.client_secret.as_str());
    let token: Value = password_grant(&app, client, "alice", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();

    let (ok, _, err) = run(db, &["user", "reset-password", "nobody"], Some("")).await;
    assert!(!ok);
    assert_eq!(err.trim_end(), "harmony: no account named \"nobody\"");
    let (ok, _, err) = run(
        db,
        &["user", "reset-password", "alice", "--password-stdin"],
        Some("short\n"),
    )
    .await;
    assert!(!ok);
    assert!(err.starts_with("harmony: password "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let still = password_grant(&app, client, "alice", PASSWORD).await;
    assert_eq!(still.status(), StatusCode::OK);
    assert_eq!(app.get_user(token).await.status(), StatusCode::OK);
}

/// `harmony ARGS` with `HARMONY_LOG` set to `filter`, on a database file that does not
/// exist yet: its status, its stderr, and whether the database was created.
async fn with_log_filter(filter: &str, args: &[&str]) -> (bool, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("harmony.db");
    let mut cmd = harmony(&format!("sqlite://{}", file.display()));
    cmd.args(args)
        .env("HARMONY_LOG", filter)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // `serve` would run until stopped if it started: the bound is the failure.
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{args:?} with HARMONY_LOG={filter:?} did not stop"))
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.success(), stderr, file.exists())
}

#[tokio::test]
async fn an_invalid_log_filter_stops_every_command_at_start_with_one_line() {
    for args in [&["serve", "--bind", "127.0.0.1:0"][..], &["migrate"]] {
        let (ok, err, created) = with_log_filter("harmony=loud", args).await;
        assert!(!ok, "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("harmony: "), "{err}");
        assert!(
            err.contains("HARMONY_LOG") && err.contains("harmony=loud"),
            "{err}"
        );
        assert!(!created, "{args:?} touched the database before refusing");
    }
    // A valid filter runs the command.
    let (ok, err, created) = with_log_filter("harmony=debug,sqlx=warn", &["migrate"]).await;
    assert!(ok && created, "{err}");
}

#[tokio::test]
async fn a_log_format_that_is_neither_text_nor_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("harmony.db");
    let out = harmony(&format!("sqlite://{}", file.display()))
        .arg("migrate")
        .env("HARMONY_LOG_FORMAT", "xml")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("xml") && err.contains("json"), "{err}");
    assert!(!file.exists());
}
