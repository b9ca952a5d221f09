//! The failed-credentials limiter under concurrency and across nodes: a slot is reserved
//! before the password is hashed, so concurrent guesses never exceed the limit; a counter
//! per address caps password spraying; nodes on one database share the counts.

use reqwest::{Response, StatusCode};
use tokio::task::JoinSet;

use crate::browser::{Browser, input_value};
use crate::helpers::{Account, PASSWORD, TestApp, header, oauth_error};

/// The default limit per account and address.
const LIMIT: usize = 30;

/// A password grant for `username` with `password` through `account`'s client, from
/// `addr` (the app trusts `X-Forwarded-For`).
async fn password_grant(
    http: reqwest::Client,
    url: String,
    account: Account,
    username: String,
    password: String,
    addr: &'static str,
) -> Response {
    http.post(url)
        .header("X-Forwarded-For", addr)
        .form(&[
            ("grant_type", "password"),
            ("username", username.as_str()),
            ("password", password.as_str()),
            ("client_id", account.client_id.as_str()),
            ("client_secret", account.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("request")
}

fn trusting(c: &mut harmony::config::ServeConfig) {
    c.limits.trust_forwarded_for = true;
}

/// Statuses of the answers, counted.
#[derive(Debug, Default)]
struct Tally {
    bad_request: usize,
    unauthorized: usize,
    too_many: usize,
    other: Vec<StatusCode>,
}

impl Tally {
    fn add(&mut self, status: StatusCode) {
        match status {
            StatusCode::BAD_REQUEST => self.bad_request += 1,
            StatusCode::UNAUTHORIZED => self.unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => self.too_many += 1,
            other => self.other.push(other),
        }
    }
}

/// Awaits answers of `running` until the first `429` (or until none is left); the rest
/// stay in flight.
async fn until_first_429(running: &mut JoinSet<Response>, tally: &mut Tally) {
    while let Some(done) = running.join_next().await {
        let status = done.expect("request task").status();
        tally.add(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_are_checked_at_most_the_limit_and_the_right_one_is_refused() {
    let app = TestApp::spawn_with(trusting).await;
    let alice = app.account("alice").await;
    let url = app.url("/oauth/v2/token");
    let mut running = JoinSet::new();
    for i in 0..114 {
        running.spawn(password_grant(
            app.http.clone(),
            url.clone(),
            alice.clone(),
            "alice".into(),
            format!("wrong guess {i}"),
            "203.0.113.9",
        ));
    }
    // The 115th guess, the right password, goes out while the others are in flight but
    // only once a 429 proved the counter full: it must not get tokens.
    let mut tally = Tally::default();
    until_first_429(&mut running, &mut tally).await;
    let right = password_grant(
        app.http.clone(),
        url.clone(),
        alice.clone(),
        "alice".into(),
        PASSWORD.into(),
        "203.0.113.9",
    )
    .await;
    while let Some(done) = running.join_next().await {
        tally.add(done.expect("request task").status());
    }

    assert!(tally.other.is_empty(), "{tally:?}");
    assert_eq!(tally.bad_request, LIMIT, "checked: {tally:?}");
    assert_eq!(tally.too_many, 114 - LIMIT, "{tally:?}");
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&right, "retry-after").parse::<u64>().unwrap() > 0);
    assert_eq!(oauth_error(right).await, "temporarily_unavailable");
    // Only the limit was hashed.
    assert!(
        app.state.services.hasher().done() <= 2 + LIMIT as u64,
        "{} hashes",
        app.state.services.hasher().done()
    );

    // The owner, elsewhere, still signs in.
    let owner = password_grant(
        app.http.clone(),
        url,
        alice.clone(),
        "alice".into(),
        PASSWORD.into(),
        "198.51.100.7",
    )
    .await;
    assert_eq!(owner.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ins_on_the_console_are_checked_at_most_the_limit() {
    let app = TestApp::spawn().await;
    app.account("alice").await;
    let browser = Browser::new();
    let login = browser
        .get(&app.url("/console/tokens"))
        .await
        .text()
        .await
        .unwrap();
    let csrf = input_value(&login, "csrf_token");
    let sign_in = |password: String| {
        let http = browser.http.clone();
        let url = app.url("/console/login");
        let csrf = csrf.clone();
        async move {
            http.post(url)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", "alice"),
                    ("password", password.as_str()),
                ])
                .send()
                .await
                .expect("request")
        }
    };
    let mut running = JoinSet::new();
    for i in 0..80 {
        running.spawn(sign_in(format!("wrong guess {i}")));
    }
    let mut tally = Tally::default();
    until_first_429(&mut running, &mut tally).await;
    let right = sign_in(PASSWORD.into()).await;
    while let Some(done) = running.join_next().await {
        tally.add(done.expect("request task").status());
    }

    assert!(tally.other.is_empty(), "{tally:?}");
    assert_eq!(tally.unauthorized, LIMIT, "checked: {tally:?}");
    assert_eq!(tally.too_many, 80 - LIMIT, "{tally:?}");
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&right, "retry-after").parse::<u64>().unwrap() > 0);
    // No session was started.
    let page = browser
        .get(&app.url("/console/tokens"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Signed in as"), "{page}");
}

#[tokio::test]
async fn spraying_one_password_over_many_accounts_meets_the_address_cap() {
    let cap = 20;
    let app = TestApp::spawn_with(|c| {
        trusting(c);
        c.limits.failed_auth_address_limit = cap;
    })
    .await;
    let alice = app.account("alice").await;
    for i in 0..60 {
        app.state
            .services
            .accounts()
            .create_user(
                &format!("user{i}"),
                &format!("user{i}@example.com"),
                Some(PASSWORD),
                false,
            )
            .await
            .expect("create user");
    }
    let url = app.url("/oauth/v2/token");
    let mut answers = Vec::new();
    for i in 0..60 {
        let response = password_grant(
            app.http.clone(),
            url.clone(),
            alice.clone(),
            format!("user{i}"),
            "Summer2026!".into(),
            "203.0.113.9",
        )
        .await;
        let status = response.status().as_u16();
        answers.push((status, oauth_error(response).await));
    }
    let expected: Vec<(u16, String)> = (0..60)
        .map(|i| {
            if i < cap {
                (400, "invalid_grant".into())
            } else {
                (429, "temporarily_unavailable".into())
            }
        })
        .collect();
    assert_eq!(answers, expected);

    // The cap is per address: another one still gets its answers.
    let elsewhere = password_grant(
        app.http.clone(),
        url,
        alice.clone(),
        "user0".into(),
        "Summer2026!".into(),
        "198.51.100.7",
    )
    .await;
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_right_password_after_failures_works_and_takes_nothing_from_the_limit() {
    let app = TestApp::spawn_with(|c| {
        trusting(c);
        c.limits.failed_auth_limit = 5;
    })
    .await;
    let alice = app.account("alice").await;
    let url = app.url("/oauth/v2/token");
    let attempt = |password: &str| {
        password_grant(
            app.http.clone(),
            url.clone(),
            alice.clone(),
            "alice".into(),
            password.into(),
            "203.0.113.9",
        )
    };
    for _ in 0..3 {
        assert_eq!(oauth_error(attempt("wrong").await).await, "invalid_grant");
    }
    for _ in 0..3 {
        assert_eq!(attempt(PASSWORD).await.status(), StatusCode::OK);
    }
    // Two failures left of five: the successes took none.
    for _ in 0..2 {
        assert_eq!(oauth_error(attempt("wrong").await).await, "invalid_grant");
    }
    for password in ["wrong", PASSWORD] {
        let response = attempt(password).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(oauth_error(response).await, "temporarily_unavailable");
    }
}

#[tokio::test]
async fn two_nodes_on_one_database_share_the_counts() {
    let tune = |c: &mut harmony::config::ServeConfig| {
        trusting(c);
        c.limits.failed_auth_limit = 5;
    };
    let a = TestApp::spawn_with(tune).await;
    let b = a.spawn_on(tune).await;
    let alice = a.account("alice").await;
    let guess = |node: &TestApp| {
        password_grant(
            node.http.clone(),
            node.url("/oauth/v2/token"),
            alice.clone(),
            "alice".into(),
            "wrong".into(),
            "203.0.113.9",
        )
    };
    for _ in 0..3 {
        assert_eq!(oauth_error(guess(&a).await).await, "invalid_grant");
    }
    for _ in 0..2 {
        assert_eq!(oauth_error(guess(&b).await).await, "invalid_grant");
    }
    // Five failures in all: both nodes refuse, though neither saw five itself.
    for node in [&b, &a] {
        let response = guess(node).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(oauth_error(response).await, "temporarily_unavailable");
    }

    // Client secrets too.
    let wrong_secret = |node: &TestApp| {
        node.http
            .post(node.url("/oauth/v2/token"))
            .header("X-Forwarded-For", "203.0.113.9")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", alice.client_id.as_str()),
                ("client_secret", "hcs_guess"),
            ])
            .send()
    };
    for node in [&a, &b, &a, &b, &a] {
        let response = wrong_secret(node).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(oauth_error(response).await, "invalid_client");
    }
    let response = wrong_secret(&b).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(oauth_error(response).await, "temporarily_unavailable");
}

#[tokio::test]
async fn right_client_secrets_leave_no_counter_behind() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let tokens = app.token_json(&alice).await;
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..10 {
        let response = app
            .post_token(&[
                ("grant_type", "client_credentials"),
                ("client_id", &alice.client_id),
                ("client_secret", &alice.client_secret),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let response = app.refresh(&alice, &refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap();
        refresh = body["refresh_token"].as_str().unwrap().to_owned();
    }
    // Only the password grant's counters exist (its slots given back), none per client.
    assert_eq!(app.count_rows("auth_attempts").await, 2);
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &alice.client_id),
            ("client_secret", "hcs_wrong"),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The client's counter and its address's counter of client secrets.
    assert_eq!(app.count_rows("auth_attempts").await, 4);
}

#[tokio::test]
async fn made_up_client_ids_meet_the_address_cap_without_locking_anyone_out() {
    let app = TestApp::spawn_with(|c| {
        trusting(c);
        c.limits.failed_auth_address_limit = 5;
    })
    .await;
    let alice = app.account("alice").await;
    let client = |id: &str, secret: &str| {
        app.http
            .post(app.url("/oauth/v2/token"))
            .header("X-Forwarded-For", "203.0.113.9")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
    };
    for i in 0..5 {
        let response = client(&format!("made-up-{i}"), "hcs_guess").await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{i}");
        assert_eq!(oauth_error(response).await, "invalid_client", "{i}");
    }
    let response = client("made-up-5", "hcs_guess").await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(oauth_error(response).await, "temporarily_unavailable");
    assert_eq!(app.count_rows("auth_attempts").await, 6);
    // A right secret from that address still works, and so does a password.
    let response = client(&alice.client_id, &alice.client_secret)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = password_grant(
        app.http.clone(),
        app.url("/oauth/v2/token"),
        alice.clone(),
        "alice".into(),
        PASSWORD.into(),
        "203.0.113.9",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}
