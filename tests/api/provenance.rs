//! Where each version came from (publisher, token, source, checksum, time), and the change
//! feed mirrors sync from, each caller told exactly the changes of what it may see.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, field_message, invalid_fields};
use crate::market::dist;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn an_uploaded_version_records_its_publisher_token_and_checksum() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let zip = dist("alice/lib", "library");
    let r = app.publish(&token, "alice/lib", "1.0.0", zip.clone()).await;
    assert_eq!(r.status(), 201);
    let tokens = app.list_tokens(&token).await;
    assert_eq!(tokens.len(), 1);
    let token_id = tokens[0]["id"].as_str().unwrap();

    let v = app
        .json_as("/packages/alice/lib/versions/1.0.0", None, 200)
        .await;
    assert_eq!(v["sha256"], hex(&Sha256::digest(&zip)));
    assert!(v["publishedAt"].as_str().unwrap().ends_with('Z'), "{v}");
    assert_eq!(
        v["publishedBy"],
        json!({"type": "user", "name": "alice", "tokenId": token_id})
    );
    assert_eq!(v["source"], json!({"kind": "upload", "commit": null}));
    let package = app.json_as("/packages/alice/lib", None, 200).await;
    assert_eq!(package["versions"][0]["publishedBy"]["name"], "alice");
}

async fn changes(app: &TestApp, since: i64, token: Option<&str>) -> Vec<(String, String)> {
    let body = app
        .json_as(&format!("/metadata/changes.json?since={since}"), token, 200)
        .await;
    assert!(body["timestamp"].as_i64().unwrap() >= since, "{body}");
    body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert!(a["time"].as_i64().unwrap() > 1_700_000_000, "{a}");
            (
                a["type"].as_str().unwrap().to_owned(),
                a["package"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn the_change_feed_tells_each_caller_the_changes_of_what_it_may_see() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    let root = app.json_as("/packages.json", None, 200).await;
    assert_eq!(root["metadata-changes-url"], "/metadata/changes.json");
    // Without `since`: where to start from, and nothing else.
    let start = app.json_as("/metadata/changes.json", None, 200).await;
    assert_eq!(start["actions"], json!([]));
    let since = start["timestamp"].as_i64().unwrap();

    app.publish_ok(&ta, "alice/public", "library", "1.0.0")
        .await;
    let r = app
        .publish(
            &ta,
            "alice/secret",
            "1.0.0",
            dist("alice/secret", "library"),
        )
        .await;
    assert_eq!(r.status(), 201);
    app.make_private(&ta, "alice/secret").await;
    // Created private from the start: never public, never told to others.
    let r = app
        .http
        .put(app.url("/packages/alice/hidden/versions/1.0.0?visibility=private"))
        .bearer_auth(&ta)
        .header("Content-Type", "application/zip")
        .body(dist("alice/hidden", "library"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // alice/secret was public for a moment: whoever saw it is told to forget it.
    let anonymous = pairs(&[("update", "alice/public"), ("delete", "alice/secret")]);
    assert_eq!(changes(&app, since, None).await, anonymous);
    assert_eq!(changes(&app, since, Some(&tb)).await, anonymous);
    assert_eq!(
        changes(&app, since, Some(&ta)).await,
        pairs(&[
            ("update", "alice/public"),
            ("update", "alice/secret"),
            ("update", "alice/hidden"),
        ])
    );

    // Later changes only; a yank and an advisory are changes of the metadata.
    let later = app.json_as("/metadata/changes.json", None, 200).await["timestamp"]
        .as_i64()
        .unwrap();
    assert_eq!(changes(&app, later, None).await, pairs(&[]));
    let r = app
        .patch_json(
            "/packages/alice/public/versions/1.0.0",
            &ta,
            json!({"yanked": "bad"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        changes(&app, later, None).await,
        pairs(&[("update", "alice/public")])
    );
    let after_yank = app.json_as("/metadata/changes.json", None, 200).await["timestamp"]
        .as_i64()
        .unwrap();
    crate::advisories::file_advisory(
        &app,
        &ta,
        "alice/public",
        json!({"title": "t", "affectedVersions": "*"}),
    )
    .await;
    assert_eq!(
        changes(&app, after_yank, None).await,
        pairs(&[("update", "alice/public")])
    );

    // An account's deletion deletes its add-ons: a delete for each one a caller saw.
    let admin = crate::advisories::administrator(&app).await;
    let alice_id = app.get_user(&ta).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .delete(&format!("/admin/users/{alice_id}"), &admin)
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        changes(&app, later, None).await,
        pairs(&[("delete", "alice/public")])
    );
    // Deleted in one statement: in no particular order.
    let mut deleted = changes(&app, later, Some(&admin)).await;
    deleted.sort();
    assert_eq!(
        deleted,
        pairs(&[
            ("delete", "alice/hidden"),
            ("delete", "alice/public"),
            ("delete", "alice/secret"),
        ])
    );

    for bad in ["yesterday", "-1", "1.5"] {
        let r = app
            .get(&format!("/metadata/changes.json?since={bad}"))
            .await;
        let fields = invalid_fields(r).await;
        assert!(field_message(&fields, "since").contains("ten-thousandths"));
    }
}

#[tokio::test]
async fn the_change_feed_forgets_after_thirty_days_and_tells_older_mirrors_to_resync() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    app.publish_ok(&ta, "alice/lib", "library", "1.0.0").await;
    let now = app.json_as("/metadata/changes.json", None, 200).await["timestamp"]
        .as_i64()
        .unwrap();
    let day = 86_400 * 10_000;
    // Within the retention: the changes.
    let recent = now - 29 * day;
    assert_eq!(
        changes(&app, recent, None).await,
        pairs(&[("update", "alice/lib")])
    );
    // From before it: one resync action, and where to go on from.
    let old = now - 31 * day;
    let body = app
        .json_as(&format!("/metadata/changes.json?since={old}"), None, 200)
        .await;
    assert_eq!(body["actions"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["actions"][0]["type"], "resync");
    assert_eq!(body["actions"][0]["package"], "*");
    let timestamp = body["timestamp"].as_i64().unwrap();
    assert!(timestamp >= now, "{body}");
    assert_eq!(body["actions"][0]["time"], timestamp / 10_000);

    // The cleanup forgets what is past the retention, and only that.
    let kept = app.count_rows("metadata_changes").await;
    let ancient = now - 40 * day;
    app.execute(&format!(
        "INSERT INTO metadata_changes (package, at, owner_id, was_public, is_public, deleted) \
         VALUES ('alice/gone', {ancient}, NULL, TRUE, FALSE, TRUE)"
    ))
    .await;
    assert_eq!(app.count_rows("metadata_changes").await, kept + 1);
    let purged = app.state.services.maintenance().purge().await;
    assert_eq!(purged.metadata_changes.unwrap(), 1);
    assert_eq!(app.count_rows("metadata_changes").await, kept);
    assert_eq!(
        changes(&app, recent, None).await,
        pairs(&[("update", "alice/lib")])
    );
}
