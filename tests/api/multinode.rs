//! Several stateless nodes on one database (PostgreSQL in CI's second run, a shared SQLite
//! file in the first): tokens, revocation and refresh rotation hold across nodes, and a
//! node killed under load loses no token it answered with.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::helpers::{Account, TestApp, within};
use crate::process::Node;

async fn password_token(http: &reqwest::Client, node: &Node, account: &Account) -> Value {
    let response = http
        .post(node.url("/oauth/v2/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", account.user.username.as_str()),
            ("password", account.password.as_str()),
            ("client_id", account.client_id.as_str()),
            ("client_secret", account.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn user_status(http: &reqwest::Client, node: &Node, token: &str) -> StatusCode {
    http.get(node.url("/user"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_revocation_and_rotation_hold_across_two_nodes() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    // Without the refresh grace window: a second use is a replay (see the next test).
    let strict = [("HARMONY_REFRESH_REUSE_GRACE", "0")];
    let (a, b) = tokio::join!(
        Node::start(&app.database_url, &strict),
        Node::start(&app.database_url, &strict)
    );
    let http = reqwest::Client::new();

    // Issued on A, works on B.
    let token = password_token(&http, &a, &alice).await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(user_status(&http, &b, access).await, StatusCode::OK);

    // Revoked on A: refused by A on its very next request, by B within its cache's bound.
    let list: Vec<Value> = http
        .get(a.url("/user/tokens"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap();
    let other = password_token(&http, &a, &alice).await;
    let revoked = http
        .delete(a.url(&format!("/user/tokens/{id}")))
        .bearer_auth(other["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    // B caches token lookups for 500 ms at most: the revocation reaches it within that
    // (measured by asking B again until it refuses).
    let delay = within(
        "the revocation on A reaching B",
        Duration::from_secs(1),
        || async { user_status(&http, &b, access).await == StatusCode::UNAUTHORIZED },
    )
    .await;
    eprintln!("revocation reached the other node after {delay:?}");
    // And on A itself, where it was revoked, on the very next request.
    assert_eq!(
        user_status(&http, &a, access).await,
        StatusCode::UNAUTHORIZED
    );

    // One refresh token used at once on both nodes: exactly one winner.
    for _ in 0..3 {
        let grant = password_token(&http, &a, &alice).await;
        let refresh = grant["refresh_token"].as_str().unwrap().to_owned();
        let attempt = |node: &Node| {
            let form = [
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh.clone()),
                ("client_id", alice.client_id.clone()),
                ("client_secret", alice.client_secret.clone()),
            ];
            let request = http.post(node.url("/oauth/v2/token")).form(&form);
            async move {
                let response = request.send().await.unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            }
        };
        let (on_a, on_b) = tokio::join!(attempt(&a), attempt(&b));
        let wins = [&on_a, &on_b]
            .iter()
            .filter(|(s, _)| *s == StatusCode::OK)
            .count();
        assert_eq!(wins, 1, "A: {on_a:?}, B: {on_b:?}");
        let (_, lost) = if on_a.0 == StatusCode::OK {
            &on_b
        } else {
            &on_a
        };
        assert_eq!(lost["error"], "invalid_grant", "{lost}");
    }
}

/// A refresh on `node` with `refresh`: its status and body.
async fn refresh_on(
    http: &reqwest::Client,
    node: &Node,
    account: &Account,
    refresh: &str,
) -> (StatusCode, Value) {
    let response = http
        .post(node.url("/oauth/v2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", account.client_id.as_str()),
            ("client_secret", account.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_refresh_grace_window_holds_across_two_nodes() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    // The default window (10 s).
    let (a, b) = tokio::join!(
        Node::start(&app.database_url, &[]),
        Node::start(&app.database_url, &[])
    );
    let http = reqwest::Client::new();

    // One refresh token used at once on both nodes: both get a pair, the grant lives on.
    for _ in 0..3 {
        let grant = password_token(&http, &a, &alice).await;
        let refresh = grant["refresh_token"].as_str().unwrap();
        let (on_a, on_b) = tokio::join!(
            refresh_on(&http, &a, &alice, refresh),
            refresh_on(&http, &b, &alice, refresh)
        );
        for (status, body) in [&on_a, &on_b] {
            assert_eq!(*status, StatusCode::OK, "A: {on_a:?}, B: {on_b:?}");
            let access = body["access_token"].as_str().unwrap();
            assert_eq!(user_status(&http, &a, access).await, StatusCode::OK);
        }
    }

    // The cap is counted in the database: re-presented on alternate nodes, the fourth
    // reuse revokes the grant on both.
    let grant = password_token(&http, &a, &alice).await;
    let refresh = grant["refresh_token"].as_str().unwrap();
    let (status, rotated) = refresh_on(&http, &a, &alice, refresh).await;
    assert_eq!(status, StatusCode::OK);
    for node in [&b, &a, &b] {
        assert_eq!(
            refresh_on(&http, node, &alice, refresh).await.0,
            StatusCode::OK
        );
    }
    let (status, replay) = refresh_on(&http, &a, &alice, refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(replay["error"], "invalid_grant");
    let rotated_refresh = rotated["refresh_token"].as_str().unwrap();
    let (_, again) = refresh_on(&http, &b, &alice, rotated_refresh).await;
    assert_eq!(again["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_no_token_it_answered_with() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let node = Node::start(&app.database_url, &[("HARMONY_RATE_LIMIT_ANONYMOUS", "0")]).await;
    let http = reqwest::Client::new();
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    // How many answers carried a token so far: the kill waits for this, not for a time.
    let answered = Arc::new(tokio::sync::watch::Sender::new(0_usize));
    let url = node.url("/oauth/v2/token");

    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (http, url, issued, alice, answered) = (
                http.clone(),
                url.clone(),
                issued.clone(),
                alice.clone(),
                answered.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let sent = http
                        .post(&url)
                        .form(&[
                            ("grant_type", "client_credentials"),
                            ("client_id", alice.client_id.as_str()),
                            ("client_secret", alice.client_secret.as_str()),
                        ])
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    let Ok(body) = response.json::<Value>().await else {
                        break;
                    };
                    if let Some(token) = body["access_token"].as_str() {
                        issued.lock().await.push(token.to_owned());
                        answered.send_modify(|n| *n += 1);
                    }
                }
            })
        })
        .collect();

    // Killed once it has answered a good number of tokens, with the workers still sending.
    const ENOUGH: usize = 50;
    tokio::time::timeout(
        Duration::from_secs(60),
        answered.subscribe().wait_for(|n| *n >= ENOUGH),
    )
    .await
    .unwrap_or_else(|_| panic!("the node did not answer {ENOUGH} tokens within 60 s"))
    .unwrap();
    let mut node = node;
    node.child.kill().await.unwrap(); // SIGKILL
    for worker in workers {
        worker.await.unwrap();
    }
    let issued = issued.lock().await.clone();
    assert!(issued.len() >= ENOUGH, "{} tokens", issued.len());

    let restarted = Node::start(&app.database_url, &[("HARMONY_RATE_LIMIT_ANONYMOUS", "0")]).await;
    for token in &issued {
        let status: Value = http
            .get(restarted.url("/token/status"))
            .query(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            status["status"], "anon.",
            "a token answered before the kill was lost"
        );
    }
}

/// `password_hashes_in_flight` of a node's `/metrics`.
async fn hashes_in_flight(metrics_url: &str) -> f64 {
    let text = reqwest::get(metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("password_hashes_in_flight "))
        .unwrap_or_else(|| panic!("no password_hashes_in_flight in {text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_request_in_flight_before_exiting() {
    let app = TestApp::spawn().await;
    // An account whose password hash is costly makes its sign-in slow enough to be in
    // flight when the signal lands (verification uses the stored hash's parameters).
    let costly = harmony::service::password::PasswordHasher::new(&harmony::config::HashingConfig {
        argon2_memory_kib: 65536,
        argon2_iterations: 12,
        ..Default::default()
    })
    .unwrap();
    let services = harmony::service::Services::new(
        app.state.services.store().clone(),
        costly,
        &app.state.config,
    );
    services
        .accounts()
        .create_user("slow", "slow@example.com", Some("slow password"), false)
        .await
        .unwrap();
    let spec = harmony::service::clients::ClientSpec {
        name: "slow".into(),
        ..Default::default()
    };
    let client = services.clients().create_for("slow", &spec).await.unwrap();
    let secret = client.secret.unwrap().expose().to_owned();

    let node = Node::start(&app.database_url, &[("HARMONY_SHUTDOWN_GRACE", "30")]).await;
    let request = reqwest::Client::new()
        .post(node.url("/oauth/v2/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "slow"),
            ("password", "slow password"),
            ("client_id", client.client.id.as_str()),
            ("client_secret", secret.as_str()),
        ]);
    let in_flight = tokio::spawn(async move {
        let status = request.send().await.map(|r| r.status());
        (status, Instant::now())
    });
    // The signal goes once the node is checking the password: the request is in flight.
    let metrics = node.url("/metrics");
    within(
        "the sign-in's password check starting on the node",
        Duration::from_secs(30),
        || async { hashes_in_flight(&metrics).await > 0.0 },
    )
    .await;
    node.terminate();
    let signalled = Instant::now();
    let mut node = node;
    let exit = tokio::time::timeout(Duration::from_secs(30), node.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    let (status, answered) = in_flight.await.unwrap();
    assert_eq!(
        status.expect("the request in flight was answered"),
        StatusCode::OK
    );
    assert!(
        answered > signalled,
        "the request was not in flight when the signal came"
    );
}
