//! Download statistics: Composer's install notifications counted per version per day
//! (only for add-ons the notifier may see), held in memory and written by a flush, then
//! shown by `/stats` and in the listings.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, field_message, invalid_fields, within};

async fn notify(app: &TestApp, token: Option<&str>, downloads: Value) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/downloads/"))
        .json(&json!({ "downloads": downloads }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn notified(app: &TestApp, token: Option<&str>, downloads: Value) {
    let r = notify(app, token, downloads).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "success"})
    );
}

/// A test app whose periodic flush never comes during the test: only the test flushes.
async fn app_flushed_by_hand() -> TestApp {
    TestApp::spawn_with(|c| c.packages.downloads_flush_ms = 3_600_000).await
}

#[tokio::test]
async fn installs_are_counted_per_version_and_day_once_flushed() {
    let app = app_flushed_by_hand().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/lib", "library", "1.0.0")
        .await;
    app.publish_ok(&token, "alice/lib", "library", "1.1.0")
        .await;
    let root = app.json_as("/packages.json", None, 200).await;
    assert_eq!(root["notify-batch"], "/downloads/");

    // As Composer sends them (normalized versions), and as published; unknown names and
    // versions are taken and not counted.
    notified(
        &app,
        None,
        json!([
            {"name": "alice/lib", "version": "1.0.0.0"},
            {"name": "alice/lib", "version": "1.1.0.0", "downloaded": true},
            {"name": "alice/lib", "version": "9.9.9.0"},
            {"name": "nobody/none", "version": "1.0.0.0"},
            {"name": "Not A Name", "version": "x"},
        ]),
    )
    .await;
    notified(
        &app,
        None,
        json!([{"name": "alice/lib", "version": "1.0.0"}]),
    )
    .await;

    // Held in memory until a flush.
    let stats = app.json_as("/packages/alice/lib/stats", None, 200).await;
    assert_eq!(stats["downloads"]["total"], 0);
    let written = app.state.services.downloads().flush().await.unwrap();
    assert_eq!(written, 3);
    assert_eq!(app.state.services.downloads().flush().await.unwrap(), 0);

    let stats = app.json_as("/packages/alice/lib/stats", None, 200).await;
    let d = &stats["downloads"];
    assert_eq!(d["total"], 3);
    assert_eq!(d["last30Days"], 3);
    assert_eq!(d["versions"], json!({"1.0.0": 2, "1.1.0": 1}));
    let daily = d["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(daily[29], json!({"date": today, "count": 3}));
    assert_eq!(daily[0]["count"], 0);

    let listed = app.json_as("/packages", None, 200).await;
    assert_eq!(listed[0]["downloads"], json!({"total": 3, "last30Days": 3}));
    let one = app.json_as("/packages/alice/lib", None, 200).await;
    assert_eq!(one["downloads"]["total"], 3);

    // Another flush adds to the same day's count.
    notified(
        &app,
        None,
        json!([{"name": "alice/lib", "version": "1.0.0.0"}]),
    )
    .await;
    app.state.services.downloads().flush().await.unwrap();
    let stats = app.json_as("/packages/alice/lib/stats", None, 200).await;
    assert_eq!(stats["downloads"]["versions"]["1.0.0"], 3);
    assert_eq!(app.count_rows("download_counts").await, 2);
}

#[tokio::test]
async fn a_private_add_on_counts_only_the_installs_of_who_may_see_it() {
    let app = app_flushed_by_hand().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "alice/secret", "library", "1.0.0")
        .await;
    app.make_private(&ta, "alice/secret").await;
    let install = json!([{"name": "alice/secret", "version": "1.0.0.0"}]);
    notified(&app, None, install.clone()).await;
    notified(&app, Some(&tb), install.clone()).await;
    notified(&app, Some(&ta), install).await;
    app.state.services.downloads().flush().await.unwrap();
    let stats = app
        .json_as("/packages/alice/secret/stats", Some(&ta), 200)
        .await;
    assert_eq!(stats["downloads"]["total"], 1);
    app.json_as("/packages/alice/secret/stats", Some(&tb), 404)
        .await;
    app.json_as("/packages/alice/secret/stats", None, 404).await;
}

#[tokio::test]
async fn bad_notifications_are_refused_and_count_nothing() {
    let app = app_flushed_by_hand().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/lib", "library", "1.0.0")
        .await;
    let many: Vec<Value> = (0..1001)
        .map(|_| json!({"name": "alice/lib", "version": "1.0.0.0"}))
        .collect();
    let fields = invalid_fields(notify(&app, None, json!(many)).await).await;
    assert!(field_message(&fields, "downloads").contains("1000"));
    let r = app
        .http
        .post(app.url("/downloads/"))
        .header("Content-Type", "application/json")
        .body("{\"downloads\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = notify(&app, None, json!([{"name": "alice/lib"}])).await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.state.services.downloads().flush().await.unwrap(), 0);
}

#[tokio::test]
async fn the_periodic_flush_writes_the_counts() {
    let app = TestApp::spawn_with(|c| c.packages.downloads_flush_ms = 50).await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/lib", "library", "1.0.0")
        .await;
    notified(
        &app,
        None,
        json!([{"name": "alice/lib", "version": "1.0.0.0"}]),
    )
    .await;
    within(
        "the flush writes the count",
        Duration::from_secs(10),
        || async {
            app.json_as("/packages/alice/lib/stats", None, 200).await["downloads"]["total"] == 1
        },
    )
    .await;
}
