//! The end of an add-on's or a version's life: an abandoned add-on says so (with its
//! replacement) in the API and in every version of its Composer metadata; a yanked version
//! leaves the Composer metadata and new bindings, keeps its dist and bytes, and shows its
//! reason.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::advisories::administrator;
use crate::helpers::{TestApp, field_message, invalid_fields, refusal};
use crate::market::dist;

fn composer_versions(p2: &Value, name: &str) -> Vec<String> {
    p2["packages"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_abandoned_add_on_says_so_with_its_replacement_until_taken_back() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "alice/old", "library", "1.0.0").await;
    app.publish_ok(&ta, "alice/old", "library", "1.1.0").await;
    let view = app.json_as("/packages/alice/old", None, 200).await;
    assert_eq!(view["abandoned"], false);
    let p2 = app.json_as("/p2/alice/old.json", None, 200).await;
    assert!(p2["packages"]["alice/old"][0].get("abandoned").is_none());

    let r = app
        .patch_json("/packages/alice/old", &ta, json!({"abandoned": true}))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["abandoned"], true);
    let p2 = app.json_as("/p2/alice/old.json", None, 200).await;
    for v in p2["packages"]["alice/old"].as_array().unwrap() {
        assert_eq!(v["abandoned"], true, "{v}");
    }

    let r = app
        .patch_json(
            "/packages/alice/old",
            &ta,
            json!({"abandoned": "alice/new"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.json_as("/packages/alice/old", None, 200).await["abandoned"],
        "alice/new"
    );
    let listed = app.json_as("/packages?q=alice/old", None, 200).await;
    assert_eq!(listed[0]["abandoned"], "alice/new");
    let p2 = app.json_as("/p2/alice/old.json", None, 200).await;
    assert_eq!(p2["packages"]["alice/old"][1]["abandoned"], "alice/new");

    // Refusals change nothing.
    for (bad, message) in [
        (
            json!("Not A Name"),
            "must be true, false or the replacement",
        ),
        (json!("alice/old"), "cannot name the add-on itself"),
    ] {
        let r = app
            .patch_json("/packages/alice/old", &ta, json!({ "abandoned": bad }))
            .await;
        let fields = invalid_fields(r).await;
        assert!(
            field_message(&fields, "abandoned").starts_with(message),
            "{fields:?}"
        );
    }
    let r = app
        .patch_json("/packages/alice/old", &ta, json!({"abandoned": 3}))
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .patch_json("/packages/alice/old", &tb, json!({"abandoned": false}))
        .await;
    refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        app.json_as("/packages/alice/old", None, 200).await["abandoned"],
        "alice/new"
    );

    let r = app
        .patch_json("/packages/alice/old", &ta, json!({"abandoned": false}))
        .await;
    assert_eq!(r.status(), 200);
    let p2 = app.json_as("/p2/alice/old.json", None, 200).await;
    assert!(p2["packages"]["alice/old"][0].get("abandoned").is_none());
    // A PATCH of something else leaves it alone.
    app.patch_json("/packages/alice/old", &ta, json!({"abandoned": true}))
        .await;
    let r = app
        .patch_json("/packages/alice/old", &ta, json!({"description": "x"}))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["abandoned"], true);
}

#[tokio::test]
async fn a_yanked_version_leaves_the_composer_metadata_but_keeps_its_dist() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/lib", "library", "1.0.0")
        .await;
    app.publish_ok(&token, "alice/lib", "library", "1.0.1")
        .await;
    let before = app
        .http
        .get(app.url("/packages/alice/lib/versions/1.0.1/dist"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    let r = app
        .patch_json(
            "/packages/alice/lib/versions/1.0.1",
            &token,
            json!({"yanked": "  Breaks the autoloader  "}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["yanked"], "Breaks the autoloader");
    assert!(v["yankedAt"].is_string(), "{v}");

    let p2 = app.json_as("/p2/alice/lib.json", None, 200).await;
    assert_eq!(composer_versions(&p2, "alice/lib"), ["1.0.0"]);
    // The API still shows it, with the reason.
    let package = app.json_as("/packages/alice/lib", None, 200).await;
    assert_eq!(package["versions"][0]["version"], "1.0.1");
    assert_eq!(package["versions"][0]["yanked"], "Breaks the autoloader");
    assert_eq!(package["versions"][1]["yanked"], Value::Null);
    // The dist is served, byte for byte, and the version cannot be published again.
    let after = app
        .http
        .get(app.url("/packages/alice/lib/versions/1.0.1/dist"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200);
    assert_eq!(after.bytes().await.unwrap(), before);
    let r = app
        .publish(&token, "alice/lib", "1.0.1", dist("alice/lib", "library"))
        .await;
    assert_eq!(r.status(), 409);

    // Taking the yank back puts it back.
    let r = app
        .patch_json(
            "/packages/alice/lib/versions/1.0.1",
            &token,
            json!({"yanked": null}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["yanked"], Value::Null);
    assert_eq!(v["yankedAt"], Value::Null);
    let p2 = app.json_as("/p2/alice/lib.json", None, 200).await;
    assert_eq!(composer_versions(&p2, "alice/lib"), ["1.0.1", "1.0.0"]);
}

#[tokio::test]
async fn only_the_owner_or_an_administrator_yanks_and_with_a_reason() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    let root = administrator(&app).await;
    app.publish_ok(&ta, "alice/lib", "library", "1.0.0").await;
    let url = "/packages/alice/lib/versions/1.0.0";
    let r = app
        .patch_json(url, &tb, json!({"yanked": "mine now"}))
        .await;
    refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = app
        .patch_json(
            "/packages/alice/lib/versions/9.9.9",
            &ta,
            json!({"yanked": "x"}),
        )
        .await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    for (body, message) in [
        (json!({}), "is required: a reason, or null"),
        (json!({"yanked": " "}), "give a reason, or null"),
        (
            json!({"yanked": "x".repeat(501)}),
            "must be at most 500 characters",
        ),
        (
            json!({"yanked": "a\u{7}b"}),
            "must not contain control characters",
        ),
        // Counted as sent: spaces that trimming would drop still count.
        (
            json!({"yanked": format!("    {}", "x".repeat(500))}),
            "must be at most 500 characters",
        ),
        (
            json!({"yanked": format!("\u{85}{}", "x".repeat(10))}),
            "must not contain control characters",
        ),
    ] {
        let r = app.patch_json(url, &ta, body).await;
        let fields = invalid_fields(r).await;
        assert_eq!(field_message(&fields, "yanked"), message);
    }
    assert_eq!(
        app.json_as(url, None, 200).await["yanked"],
        Value::Null,
        "nothing was yanked by a refusal"
    );
    let r = app
        .patch_json(url, &root, json!({"yanked": "compromised"}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.json_as(url, None, 200).await["yanked"], "compromised");
}

#[tokio::test]
async fn a_project_cannot_bind_a_constraint_only_a_yanked_version_satisfies() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/theme", "harmony-theme", "1.0.0")
        .await;
    app.publish_ok(&token, "acme/theme", "harmony-theme", "2.0.0")
        .await;
    let r = app
        .patch_json(
            "/packages/acme/theme/versions/2.0.0",
            &token,
            json!({"yanked": "broken"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json("/projects", &token, json!({"name": "Site"}))
        .await;
    let p: Value = r.json().await.unwrap();
    let url = format!("/projects/{}/addons/acme/theme", p["id"].as_str().unwrap());
    let r = app.put_json(&url, &token, json!({"version": "^2.0"})).await;
    let fields = invalid_fields(r).await;
    assert_eq!(
        field_message(&fields, "version"),
        "no published version of acme/theme satisfies ^2.0"
    );
    let r = app.put_json(&url, &token, json!({"version": "^1.0"})).await;
    assert_eq!(r.status(), 200);
}
