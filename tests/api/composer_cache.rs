//! The Composer documents kept in memory: every write that changes one is served at once on
//! the node that made it, another node reads the shared registry generation again at most
//! every `HARMONY_REGISTRY_CACHE_MS`, and nothing private ever enters the kept anonymous
//! view.

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// The versions a `p2` document lists for `name`.
fn versions(p2: &Value, name: &str) -> Vec<String> {
    p2["packages"][name]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| v["version"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A node that reads the shared generation only once a minute: whatever it serves fresh
/// after a write of its own, it learnt from that write, not from the interval.
async fn node_with_a_long_interval() -> TestApp {
    TestApp::spawn_with(|c| c.registry_cache_ms = 60_000).await
}

#[tokio::test]
async fn every_write_on_a_node_changes_its_kept_documents_at_once() {
    let app = node_with_a_long_interval().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    app.publish_ok(&ta, "acme/lib", "library", "1.0.0").await;

    // Kept now.
    let p2 = app.json_as("/p2/acme/lib.json", None, 200).await;
    assert_eq!(versions(&p2, "acme/lib"), ["1.0.0"]);
    let repo = app.json_as("/packages.json", None, 200).await;
    assert_eq!(repo["available-packages"], json!(["acme/lib"]));

    // A publish: a new version, a new add-on.
    app.publish_ok(&ta, "acme/lib", "library", "1.1.0").await;
    app.publish_ok(&ta, "acme/other", "library", "1.0.0").await;
    let p2 = app.json_as("/p2/acme/lib.json", None, 200).await;
    assert_eq!(versions(&p2, "acme/lib"), ["1.1.0", "1.0.0"]);
    let repo = app.json_as("/packages.json", None, 200).await;
    assert_eq!(
        repo["available-packages"],
        json!(["acme/lib", "acme/other"])
    );

    // A yank.
    let r = app
        .patch_json(
            "/packages/acme/lib/versions/1.1.0",
            &ta,
            json!({"yanked": "broken"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let p2 = app.json_as("/p2/acme/lib.json", None, 200).await;
    assert_eq!(versions(&p2, "acme/lib"), ["1.0.0"]);

    // Abandoning.
    let r = app
        .patch_json("/packages/acme/lib", &ta, json!({"abandoned": true}))
        .await;
    assert_eq!(r.status(), 200);
    let p2 = app.json_as("/p2/acme/lib.json", None, 200).await;
    assert_eq!(p2["packages"]["acme/lib"][0]["abandoned"], true);

    // Private: gone from the anonymous view, documents and names.
    app.make_private(&ta, "acme/lib").await;
    app.json_as("/p2/acme/lib.json", None, 404).await;
    let repo = app.json_as("/packages.json", None, 200).await;
    assert_eq!(repo["available-packages"], json!(["acme/other"]));

    // Public again.
    let r = app
        .patch_json("/packages/acme/lib", &ta, json!({"visibility": "public"}))
        .await;
    assert_eq!(r.status(), 200);
    app.json_as("/p2/acme/lib.json", None, 200).await;
    let repo = app.json_as("/packages.json", None, 200).await;
    assert_eq!(
        repo["available-packages"],
        json!(["acme/lib", "acme/other"])
    );

    // An advisory.
    let tadmin = crate::advisories::administrator(&app).await;
    let advisory = crate::advisories::file_advisory(
        &app,
        &tadmin,
        "acme/lib",
        json!({"title": "Broken", "affectedVersions": "<2.0", "reportedAt": "2026-11-30T08:00:00Z"}),
    )
    .await;
    let p2 = app.json_as("/p2/acme/lib.json", None, 200).await;
    assert_eq!(
        p2["security-advisories"][0]["advisoryId"],
        advisory["advisoryId"]
    );

    // The owner's account deleted: its add-ons go with it.
    let r = app
        .delete_with_token(&format!("/admin/users/{}", alice.user.id), &tadmin)
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    app.json_as("/p2/acme/lib.json", None, 404).await;
    let repo = app.json_as("/packages.json", None, 200).await;
    assert_eq!(repo["available-packages"], json!([]));
}

#[tokio::test]
async fn another_node_serves_its_kept_documents_until_it_reads_the_shared_generation() {
    let a = TestApp::spawn().await;
    // B reads the shared generation once a minute, C on every request.
    let b = a.spawn_on(|c| c.registry_cache_ms = 60_000).await;
    let c = a.spawn_on(|c| c.registry_cache_ms = 0).await;
    let alice = a.account("alice").await;
    let ta = a.access_token(&alice).await;
    a.publish_ok(&ta, "acme/lib", "library", "1.0.0").await;
    for node in [&b, &c] {
        let p2 = node.json_as("/p2/acme/lib.json", None, 200).await;
        assert_eq!(versions(&p2, "acme/lib"), ["1.0.0"]);
        node.json_as("/packages.json", None, 200).await;
    }

    a.publish_ok(&ta, "acme/lib", "library", "1.1.0").await;
    a.publish_ok(&ta, "acme/new", "library", "1.0.0").await;

    // C reads the generation, which the publish moved in its own transaction.
    let p2 = c.json_as("/p2/acme/lib.json", None, 200).await;
    assert_eq!(versions(&p2, "acme/lib"), ["1.1.0", "1.0.0"]);
    let repo = c.json_as("/packages.json", None, 200).await;
    assert_eq!(repo["available-packages"], json!(["acme/lib", "acme/new"]));

    // B still serves what it kept: the documents come from memory, not the database.
    let p2 = b.json_as("/p2/acme/lib.json", None, 200).await;
    assert_eq!(versions(&p2, "acme/lib"), ["1.0.0"]);
    let repo = b.json_as("/packages.json", None, 200).await;
    assert_eq!(repo["available-packages"], json!(["acme/lib"]));
    // A document it never kept is read as it is now.
    b.json_as("/p2/acme/new.json", None, 200).await;
}

#[tokio::test]
async fn private_add_ons_never_enter_the_kept_anonymous_documents() {
    let app = node_with_a_long_interval().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    let tadmin = crate::advisories::administrator(&app).await;
    app.publish_ok(&ta, "acme/open", "library", "1.0.0").await;
    app.publish_ok(&ta, "acme/secret", "library", "1.0.0").await;
    app.make_private(&ta, "acme/secret").await;

    // The owner asks first, then everyone else; then the other way round.
    for _ in 0..2 {
        let repo = app.json_as("/packages.json", Some(&ta), 200).await;
        assert_eq!(
            repo["available-packages"],
            json!(["acme/open", "acme/secret"])
        );
        let p2 = app.json_as("/p2/acme/secret.json", Some(&ta), 200).await;
        assert_eq!(versions(&p2, "acme/secret"), ["1.0.0"]);
        let repo = app.json_as("/packages.json", Some(&tadmin), 200).await;
        assert_eq!(
            repo["available-packages"],
            json!(["acme/open", "acme/secret"])
        );
        for token in [None, Some(tb.as_str())] {
            let repo = app.json_as("/packages.json", token, 200).await;
            assert_eq!(
                repo["available-packages"],
                json!(["acme/open"]),
                "{token:?}"
            );
            app.json_as("/p2/acme/secret.json", token, 404).await;
            app.json_as("/p2/acme/secret~dev.json", token, 404).await;
            app.json_as("/p2/acme/open.json", token, 200).await;
        }
    }
    // Everyone's view of the public document is the same document.
    let anonymous = app.get("/p2/acme/open.json").await;
    let owners = app.get_with_token("/p2/acme/open.json", &ta).await;
    assert_eq!(
        anonymous.headers()["etag"],
        owners.headers()["etag"],
        "one document"
    );
    assert_eq!(
        anonymous.headers()["last-modified"],
        owners.headers()["last-modified"]
    );
}
