//! The busiest answers (`GET /user`, `GET /p2/…`) given by the lane beside the router, from
//! what memory holds, and by the full path (router, layers, handler): the same, header for
//! header.

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

use crate::helpers::{TestApp, header};

/// One request: its path, its headers and the status it is answered with.
struct Case {
    name: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    status: u16,
}

impl Case {
    fn new(name: &'static str, path: &str, headers: &[(&'static str, &str)], status: u16) -> Case {
        Case {
            name,
            path: path.to_owned(),
            headers: headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            status,
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
async fn the_lane_answers_as_the_full_path_does() {
    // Node A remembers tokens and documents, so that it answers from the lane; node B
    // remembers no token and asks for the registry's generation on every request, so that
    // every request takes the full path. Both allow 30 requests a token. One public URL,
    // which the challenges name.
    let tune = |c: &mut harmony::config::ServeConfig| {
        c.public_url = Some("https://api.example.test".into());
        c.limits.rate_limit_token = 30;
        c.limits.rate_limit_anonymous = 40;
    };
    // A keeps what it learns for the whole test, however slow the database.
    let a = TestApp::spawn_with(|c| {
        tune(c);
        c.auth_cache_ms = 3_600_000;
        c.registry_cache_ms = 3_600_000;
    })
    .await;
    let b = a
        .spawn_on(|c| {
            tune(c);
            c.auth_cache_ms = 0;
            c.registry_cache_ms = 0;
        })
        .await;
    let alice = a.account("alice").await;
    let token = a.access_token(&alice).await;
    let spent = a.access_token(&alice).await;
    a.publish_ok(&token, "acme/lib", "library", "1.0.0").await;
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
    let etag = header(&b.get_user(&token).await, "etag");
    // On both nodes, whose anonymous requests are counted alike.
    assert_eq!(a.get("/p2/acme/lib.json").await.status(), StatusCode::OK);
    let p2 = b.get("/p2/acme/lib.json").await;
    let (p2_etag, p2_date) = (header(&p2, "etag"), header(&p2, "last-modified"));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("composer:{token}"));
    let auth = |scheme: &str, token: &str| format!("{scheme} {token}");

    let cases = [
        Case::new(
            "token",
            "/user",
            &[("authorization", &auth("token", &token))],
            200,
        ),
        Case::new(
            "bearer",
            "/users",
            &[("authorization", &auth("bearer", &token))],
            200,
        ),
        Case::new(
            "basic",
            "/user",
            &[("authorization", &auth("Basic", &basic))],
            200,
        ),
        Case::new("query", &format!("/user?access_token={token}"), &[], 200),
        Case::new(
            "unmodified",
            "/user",
            &[
                ("authorization", &auth("Bearer", &token)),
                ("if-none-match", &format!("W/{etag}")),
            ],
            304,
        ),
        Case::new(
            "invalid",
            "/user",
            &[("authorization", "token hat_nothing")],
            401,
        ),
        Case::new(
            "scope",
            "/user",
            &[("authorization", &auth("Bearer", &admin_only))],
            403,
        ),
        Case::new(
            "no user",
            "/user",
            &[("authorization", &auth("Bearer", &service))],
            403,
        ),
        Case::new(
            "twice",
            &format!("/user?access_token={token}"),
            &[("authorization", &auth("token", &token))],
            400,
        ),
        Case::new("not UTF-8", "/user?x=%FF", &[], 400),
        Case::new("anonymous", "/user", &[], 401),
        // Over the limit of 30 requests.
        Case::new(
            "limited",
            "/user",
            &[("authorization", &auth("token", &spent))],
            429,
        ),
        Case::new("p2", "/p2/acme/lib.json", &[], 200),
        Case::new("p2 dev", "/p2/acme/lib~dev.json", &[], 200),
        Case::new(
            "p2 token",
            "/p2/acme/lib.json",
            &[("authorization", &auth("Bearer", &token))],
            200,
        ),
        Case::new(
            "p2 tag",
            "/p2/acme/lib.json",
            &[("if-none-match", &p2_etag)],
            304,
        ),
        Case::new(
            "p2 date",
            "/p2/acme/lib.json",
            &[("if-modified-since", &p2_date)],
            304,
        ),
        Case::new(
            "p2 invalid",
            "/p2/acme/lib.json",
            &[("authorization", "Bearer hat_nothing")],
            401,
        ),
        Case::new(
            "p2 admin",
            "/p2/acme/lib.json",
            &[("authorization", &auth("Bearer", &admin_only))],
            200,
        ),
        Case::new("p2 unknown", "/p2/acme/none.json", &[], 404),
        Case::new("p2 encoded", "/p2/acme/%6cib.json", &[], 200),
    ];
    for _ in 0..30 {
        assert_eq!(a.get_user(&spent).await.status(), StatusCode::OK);
        assert_eq!(b.get_user(&spent).await.status(), StatusCode::OK);
    }
    // Each twice on each node: on A the first may fill its memory, the second is the lane's.
    for case in &cases {
        for round in 0..2 {
            let (a_status, a_headers, a_reset, a_body) = seen(&a, case).await;
            let (b_status, b_headers, b_reset, b_body) = seen(&b, case).await;
            let what = format!("{} (round {round})", case.name);
            assert_eq!(a_status.as_u16(), case.status, "{what}");
            assert_eq!(a_status, b_status, "{what}");
            assert_eq!(a_headers, b_headers, "{what}");
            assert_eq!(a_body, b_body, "{what}");
            assert!(
                a_reset.abs_diff(b_reset) <= 1,
                "{what}: {a_reset} {b_reset}"
            );
        }
    }
}

#[tokio::test]
async fn the_lane_answers_only_what_memory_holds() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let known = app.access_token(&alice).await;
    let fresh = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/lib", "library", "1.0.0").await;
    app.publish_ok(&token, "acme/other", "library", "1.0.0")
        .await;
    // Memory learns `known` and the first add-on's document from these, through the full
    // path.
    assert_eq!(app.get_user(&known).await.status(), StatusCode::OK);
    assert_eq!(app.get("/p2/acme/lib.json").await.status(), StatusCode::OK);

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
    let ask = |method: &str, path: &str, token: Option<&str>| {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Body::empty()).unwrap();
        let lane = lane.clone();
        async move {
            let response = lane.oneshot(request).await.unwrap();
            response.status().as_u16()
        }
    };

    assert_eq!(ask("GET", "/user", Some(&known)).await, 200);
    assert_eq!(ask("GET", "/users", Some(&known)).await, 200);
    assert_eq!(ask("GET", "/p2/acme/lib.json", None).await, 200);
    assert_eq!(ask("GET", "/p2/acme/lib.json", Some(&known)).await, 200);
    assert_eq!(ask("GET", "/user", None).await, 401);

    assert_eq!(
        ask("GET", "/user", Some("hat_unknown")).await,
        418,
        "only the store knows"
    );
    assert_eq!(
        ask("GET", "/user", Some(&fresh)).await,
        418,
        "not yet in memory"
    );
    assert_eq!(ask("GET", "/p2/acme/lib.json", Some(&fresh)).await, 418);
    assert_eq!(
        ask("GET", "/p2/acme/other.json", None).await,
        418,
        "not rendered yet"
    );
    assert_eq!(ask("GET", "/p2/acme/lib.json/x", None).await, 418);
    assert_eq!(ask("HEAD", "/user", Some(&known)).await, 418);
    assert_eq!(ask("PATCH", "/user", Some(&known)).await, 418);
    assert_eq!(ask("GET", "/user/tokens", Some(&known)).await, 418);
    assert_eq!(reached.load(Ordering::SeqCst), 8);
}
