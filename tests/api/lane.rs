//! `GET /user` answered by the lane beside the router (a token this node's memory knows)
//! and by the full path (router, layers, handler): the same answer, header for header.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use harmony::http::auth::AuthenticateLayer;
use harmony::http::hot::Hot;
use harmony::service::clients::ClientSpec;
use reqwest::StatusCode;
use tower::ServiceExt as _;

use crate::helpers::TestApp;

/// One request: its path and headers.
struct Case {
    name: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
}

impl Case {
    fn new(name: &'static str, path: &str, headers: &[(&'static str, &str)]) -> Case {
        Case {
            name,
            path: path.to_owned(),
            headers: headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        }
    }
}

/// Status, headers (all but `date`, and `x-ratelimit-reset` apart) and body of an answer.
async fn seen(app: &TestApp, case: &Case) -> (StatusCode, Vec<(String, String)>, u64, String) {
    let mut request = app
        .http
        .get(app.url(&case.path))
        // The id the answer echoes, so that two answers can be compared whole.
        .header("x-request-id", format!("lane-{}", case.name));
    for (name, value) in &case.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let mut reset = 0;
    let mut headers = Vec::new();
    for (name, value) in response.headers() {
        let value = value.to_str().expect("a text header").to_owned();
        match name.as_str() {
            "date" => {}
            // The window starts at a node's first request, which may fall a second
            // later on one node than on the other.
            "x-ratelimit-reset" => reset = value.parse().expect("a number"),
            name => headers.push((name.to_owned(), value)),
        }
    }
    headers.sort();
    (status, headers, reset, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_lane_answers_get_user_as_the_full_path_does() {
    // Node A remembers tokens, so that it answers from the lane; node B remembers none,
    // so that every request takes the full path. Both allow 20 requests a token.
    // One public URL, which the challenges name.
    let a = TestApp::spawn_with(|c| {
        c.public_url = Some("https://api.example.test".into());
        c.limits.rate_limit_token = 20;
        c.limits.rate_limit_anonymous = 10;
    })
    .await;
    let b = a
        .spawn_on(|c| {
            c.public_url = Some("https://api.example.test".into());
            c.auth_cache_ms = 0;
            c.limits.rate_limit_token = 20;
            c.limits.rate_limit_anonymous = 10;
        })
        .await;
    let alice = a.account("alice").await;
    let token = a.access_token(&alice).await;
    let spent = a.access_token(&alice).await;
    let root = a
        .account_with(
            "root",
            true,
            ClientSpec {
                scopes: vec!["read".into(), "admin".into()],
                ..ClientSpec::default()
            },
        )
        .await;
    let admin_only = a.scoped_token(&root, "admin").await;
    let service = a
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(service.status(), StatusCode::OK);
    let service: serde_json::Value = service.json().await.unwrap();
    let service = service["access_token"].as_str().unwrap().to_owned();
    let etag = a
        .get_user(&token)
        .await
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("composer:{token}"));

    let cases = [
        Case::new(
            "token",
            "/user",
            &[("authorization", &format!("token {token}"))],
        ),
        Case::new(
            "bearer",
            "/users",
            &[("authorization", &format!("bearer {token}"))],
        ),
        Case::new(
            "basic",
            "/user",
            &[("authorization", &format!("Basic {basic}"))],
        ),
        Case::new("query", &format!("/user?access_token={token}"), &[]),
        Case::new(
            "unmodified",
            "/user",
            &[
                ("authorization", &format!("Bearer {token}")),
                ("if-none-match", &format!("W/{etag}")),
            ],
        ),
        Case::new(
            "invalid",
            "/user",
            &[("authorization", "token hat_nothing")],
        ),
        Case::new(
            "scope",
            "/user",
            &[("authorization", &format!("Bearer {admin_only}"))],
        ),
        Case::new(
            "no user",
            "/user",
            &[("authorization", &format!("Bearer {service}"))],
        ),
        Case::new(
            "twice",
            &format!("/user?access_token={token}"),
            &[("authorization", &format!("token {token}"))],
        ),
        Case::new("not UTF-8", "/user?x=%FF", &[]),
        // Over the limit of 20 requests.
        Case::new(
            "limited",
            "/user",
            &[("authorization", &format!("token {spent}"))],
        ),
    ];
    assert_eq!(b.get_user(&token).await.status(), StatusCode::OK);
    for _ in 0..20 {
        assert_eq!(a.get_user(&spent).await.status(), StatusCode::OK);
        assert_eq!(b.get_user(&spent).await.status(), StatusCode::OK);
    }
    // Each twice on each node: on A the first may fill its memory, the second is the lane's.
    for case in &cases {
        for round in 0..2 {
            let (a_status, a_headers, a_reset, a_body) = seen(&a, case).await;
            let (b_status, b_headers, b_reset, b_body) = seen(&b, case).await;
            let what = format!("{} (round {round})", case.name);
            assert_eq!(a_status, b_status, "{what}");
            assert_eq!(a_headers, b_headers, "{what}");
            assert_eq!(a_body, b_body, "{what}");
            assert!(
                a_reset.abs_diff(b_reset) <= 1,
                "{what}: {a_reset} {b_reset}"
            );
        }
    }
    let statuses = [200, 200, 200, 200, 304, 401, 403, 403, 400, 400, 429];
    for (case, status) in cases.iter().zip(statuses) {
        assert_eq!(seen(&a, case).await.0.as_u16(), status, "{}", case.name);
    }
}

#[tokio::test]
async fn the_lane_answers_only_get_user_with_a_token_memory_knows() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let known = app.access_token(&alice).await;
    // Memory learns `known` from this request, through the full path.
    assert_eq!(app.get_user(&known).await.status(), StatusCode::OK);

    // The lane in front of a full path that only counts what reaches it.
    let reached = Arc::new(AtomicUsize::new(0));
    let full = {
        let reached = reached.clone();
        tower::service_fn(move |_: Request| {
            reached.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<Response, Infallible>(
                AxumStatus::IM_A_TEAPOT.into_response(),
            ))
        })
    };
    let lane = Hot::new(
        full,
        AuthenticateLayer::new(&app.state),
        app.state.metrics.clone(),
    );
    let ask = |method: &str, path: &str, token: &str| {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let lane = lane.clone();
        async move {
            let response = lane.oneshot(request).await.unwrap();
            response.status().as_u16()
        }
    };

    assert_eq!(ask("GET", "/user", &known).await, 200);
    assert_eq!(ask("GET", "/users", &known).await, 200);
    assert_eq!(
        ask("GET", "/user", "hat_unknown").await,
        418,
        "only the store knows"
    );
    assert_eq!(ask("GET", "/user", &token).await, 418, "not yet in memory");
    assert_eq!(ask("HEAD", "/user", &known).await, 418);
    assert_eq!(ask("PATCH", "/user", &known).await, 418);
    assert_eq!(ask("GET", "/user/tokens", &known).await, 418);
    assert_eq!(reached.load(Ordering::SeqCst), 5);
}
