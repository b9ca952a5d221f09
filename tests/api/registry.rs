//! Trust in the registry: vendors have owners (claimed atomically by the first publish,
//! transferred by administrators), deleted versions leave tombstones, and an account's
//! deletion frees none of its names.

use harmony::service::clients::ClientSpec;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Account, TestApp, field_message, invalid_fields, refusal};
use crate::market::{dist, manifest, zip_of};

async fn administrator(app: &TestApp) -> String {
    let root = app
        .account_with(
            "root",
            true,
            ClientSpec {
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..ClientSpec::default()
            },
        )
        .await;
    app.access_token(&root).await
}

/// The error envelope of a response that must have `status`.
async fn refused_with(r: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.unwrap();
    body["error"].clone()
}

fn dist_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.state.config.packages.data_dir.join("dists"), &mut out);
    out
}

#[tokio::test]
async fn only_the_owner_of_a_vendor_publishes_under_it() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "alice/lib", "library", "1.0.0").await;
    app.publish_ok(&ta, "alice/secret", "library", "1.0.0")
        .await;
    app.make_private(&ta, "alice/secret").await;

    // A new name, an existing public add-on and an existing private one: the same answer,
    // which names the rule and not whether the add-on exists.
    for name in ["alice/bobs-lib", "alice/lib", "alice/secret"] {
        let error = refused_with(
            app.publish(&tb, name, "2.0.0", dist(name, "library")).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(error["code"], "vendor_owned", "{name}");
        assert_eq!(
            error["message"],
            "the vendor alice belongs to another account; only its owner may publish under it"
        );
    }
    assert_eq!(app.get("/packages/alice/bobs-lib").await.status(), 404);
    assert_eq!(dist_files(&app).len(), 2, "bob's uploads were not kept");

    // Bob's own vendor is his; alice keeps publishing under hers.
    app.publish_ok(&tb, "bob/lib", "library", "1.0.0").await;
    app.publish_ok(&ta, "alice/other", "library", "1.0.0").await;
    let error = refused_with(
        app.publish(&ta, "bob/x", "1.0.0", dist("bob/x", "library"))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(error["code"], "vendor_owned");
}

#[tokio::test]
async fn accounts_racing_for_a_new_vendor_leave_it_to_exactly_one() {
    let app = TestApp::spawn().await;
    let mut tokens = Vec::new();
    for name in ["ann", "ben", "cat", "dan"] {
        let account: Account = app.account(name).await;
        tokens.push((name, app.access_token(&account).await));
    }
    // Each account publishes two add-ons of its own under the new vendor, all at once.
    let app = &app;
    let requests: Vec<_> = tokens
        .iter()
        .flat_map(|(name, token)| {
            (0..2).map(move |i| {
                let package = format!("newco/{name}-{i}");
                let zip = dist(&package, "library");
                async move {
                    let r = app.publish(token, &package, "1.0.0", zip).await;
                    let status = r.status();
                    let body: Value = r.json().await.unwrap();
                    (name.to_string(), status, body)
                }
            })
        })
        .collect();
    let outcomes = join_all(requests).await;
    let winners: std::collections::BTreeSet<&str> = outcomes
        .iter()
        .filter(|(_, s, _)| *s == StatusCode::CREATED)
        .map(|(n, _, _)| n.as_str())
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let winner = *winners.iter().next().unwrap();
    for (name, status, body) in &outcomes {
        if name == winner {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
        } else {
            assert_eq!(*status, StatusCode::FORBIDDEN, "{body}");
            assert_eq!(body["error"]["code"], "vendor_owned");
        }
    }
    let listed = app.json_as("/packages?q=newco", None, 200).await;
    let owners: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["owner"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(owners, [winner, winner]);
    assert_eq!(dist_files(app).len(), 2, "the losers' uploads were removed");
}

/// Polls every future to completion, concurrently (no extra dependency).
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
async fn a_deleted_accounts_names_and_versions_are_never_free_again() {
    let app = TestApp::spawn().await;
    let root = administrator(&app).await;
    let frank = app.account("frank").await;
    let bob = app.account("bob").await;
    let (tf, tb) = (app.access_token(&frank).await, app.access_token(&bob).await);
    let original = dist("frank/lib", "library");
    let r = app
        .publish(&tf, "frank/lib", "1.0.0", original.clone())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let published: Value = r.json().await.unwrap();
    let dist_url = published["distUrl"].as_str().unwrap().to_owned();
    assert_eq!(dist_files(&app).len(), 1);

    let r = app
        .delete(&format!("/admin/users/{}", frank.user.id), &root)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The account's add-ons went with it, dist files included.
    assert_eq!(app.get("/packages/frank/lib").await.status(), 404);
    assert_eq!(app.http.get(&dist_url).send().await.unwrap().status(), 404);
    assert!(dist_files(&app).is_empty(), "{:?}", dist_files(&app));

    // The reproduction: bob cannot publish frank/lib 1.0.0 with other bytes, nor anything
    // under frank/.
    let other = zip_of(&[
        (
            "composer.json",
            &manifest("frank/lib", "library", json!({})),
        ),
        ("src/evil.php", b"<?php // not frank's"),
    ]);
    for (name, zip) in [
        ("frank/lib", other.clone()),
        ("frank/lib", original.clone()),
        ("frank/anything", dist("frank/anything", "library")),
    ] {
        let error = refused_with(
            app.publish(&tb, name, "1.0.0", zip).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(error["code"], "vendor_owned", "{name}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("the vendor frank is reserved"),
            "{error}"
        );
    }
    assert_eq!(app.http.get(&dist_url).send().await.unwrap().status(), 404);
    let vendor = app.json_as("/admin/vendors/frank", Some(&root), 200).await;
    assert_eq!(vendor["owner"], Value::Null);

    // Only an administrator reopens the vendor; even then the deleted version stays
    // deleted, with any bytes and in any spelling, while new versions are welcome.
    let r = app
        .patch_json(
            "/admin/vendors/frank",
            &root,
            json!({"owner": {"type": "user", "name": "bob"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for (version, zip) in [
        ("1.0.0", other),
        ("1.0.0", original),
        ("v1.0", dist("frank/lib", "library")),
    ] {
        let error = refused_with(
            app.publish(&tb, "frank/lib", version, zip).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(error["code"], "version_tombstoned", "{version}");
    }
    assert_eq!(app.http.get(&dist_url).send().await.unwrap().status(), 404);
    app.publish_ok(&tb, "frank/lib", "library", "1.0.1").await;
    let p = app.json_as("/packages/frank/lib", None, 200).await;
    let versions: Vec<&str> = p["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0.1"]);
}

#[tokio::test]
async fn an_administrator_reads_and_transfers_a_vendor() {
    let app = TestApp::spawn().await;
    let root = administrator(&app).await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "acme/lib", "library", "1.0.0").await;

    let v = app.json_as("/admin/vendors/acme", Some(&root), 200).await;
    assert_eq!(v["name"], "acme");
    assert_eq!(v["owner"], json!({"type": "user", "name": "alice"}));
    assert!(v["createdAt"].as_str().unwrap().ends_with('Z'), "{v}");

    let r = app
        .patch_json(
            "/admin/vendors/acme",
            &root,
            json!({"owner": {"type": "user", "name": "bob"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["owner"], json!({"type": "user", "name": "bob"}));
    assert_eq!(
        app.json_as("/admin/vendors/acme", Some(&root), 200).await["owner"]["name"],
        "bob"
    );
    app.publish_ok(&tb, "acme/bobs", "library", "1.0.0").await;
    let r = app
        .publish(&ta, "acme/more", "1.0.0", dist("acme/more", "library"))
        .await;
    let error = refusal(r, StatusCode::FORBIDDEN, "vendor_owned").await;
    assert_eq!(
        error["message"],
        "the vendor acme belongs to another account; only its owner may publish under it"
    );
    // The add-ons already there keep their owner.
    assert_eq!(
        app.json_as("/packages/acme/lib", None, 200).await["owner"]["username"],
        "alice"
    );

    // Errors.
    let missing = app.json_as("/admin/vendors/nobody", Some(&root), 404).await;
    assert_eq!(missing["error"]["code"], "not_found");
    app.json_as("/admin/vendors/NotAVendor", Some(&root), 404)
        .await;
    for (body, field, says) in [
        (
            json!({"owner": {"type": "organization", "name": "bob"}}),
            "owner.type",
            "",
        ),
        (
            json!({"owner": {"type": "user", "name": "ghost"}}),
            "owner.name",
            "ghost",
        ),
        (json!({"owner": "bob"}), "owner", ""),
        (json!({}), "body", "missing field `owner`"),
    ] {
        let r = app
            .patch_json("/admin/vendors/acme", &root, body.clone())
            .await;
        let fields = invalid_fields(r).await;
        assert!(
            field_message(&fields, field).contains(says),
            "{body}: {fields:?}"
        );
    }
    let r = app
        .patch_json(
            "/admin/vendors/nobody",
            &root,
            json!({"owner": {"type": "user", "name": "bob"}}),
        )
        .await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    // None of that changed the owner.
    assert_eq!(
        app.json_as("/admin/vendors/acme", Some(&root), 200).await["owner"]["name"],
        "bob"
    );
    // Administrators only.
    let forbidden = app.json_as("/admin/vendors/acme", Some(&ta), 403).await;
    assert_eq!(forbidden["error"]["code"], "insufficient_scope");
    let r = app
        .patch_json(
            "/admin/vendors/acme",
            &ta,
            json!({"owner": {"type": "user", "name": "alice"}}),
        )
        .await;
    refusal(r, StatusCode::FORBIDDEN, "insufficient_scope").await;
    let anonymous = app.json_as("/admin/vendors/acme", None, 401).await;
    assert_eq!(anonymous["error"]["code"], "unauthenticated");
}

/// Rows as the marketplace schema (before vendors had owners) held them.
async fn seed_before_vendors(url: String) {
    let insert_user = "INSERT INTO users (id, username, email, password_hash, created_at, \
                       updated_at) VALUES ($1, $2, $3, 'x', 1, 1)";
    let insert_package = "INSERT INTO packages (name, owner_id, package_type, created_at, \
                          updated_at) VALUES ($1, $2, 'library', $3, $3)";
    let (alice, bob) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    // bob published under acme first; alice has acme/newer and all of solo.
    let packages = [
        ("acme/newer", alice, 200),
        ("acme/older", bob, 100),
        ("solo/x", alice, 300),
    ];
    macro_rules! seed {
        ($pool:expr, $dir:literal) => {{
            let pool = $pool;
            let migrator = sqlx::migrate::Migrator::new(std::path::Path::new($dir))
                .await
                .unwrap();
            migrator.run_to(3, &pool).await.unwrap();
            for (id, name) in [(alice, "alice"), (bob, "bob")] {
                sqlx::query(insert_user)
                    .bind(id.to_string())
                    .bind(name)
                    .bind(format!("{name}@example.com"))
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            for (name, owner, at) in packages {
                sqlx::query(insert_package)
                    .bind(name)
                    .bind(owner.to_string())
                    .bind(at as i64)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
        }};
    }
    if url.starts_with("sqlite:") {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .unwrap();
        seed!(pool, "migrations/sqlite");
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        seed!(pool, "migrations/postgres");
    }
}

#[tokio::test]
async fn existing_vendors_go_to_the_publisher_of_their_oldest_add_on() {
    let app = TestApp::spawn_over(seed_before_vendors).await;
    let root = administrator(&app).await;
    let acme = app.json_as("/admin/vendors/acme", Some(&root), 200).await;
    assert_eq!(acme["owner"], json!({"type": "user", "name": "bob"}));
    assert_eq!(acme["createdAt"], "1970-01-01T00:01:40Z");
    let solo = app.json_as("/admin/vendors/solo", Some(&root), 200).await;
    assert_eq!(solo["owner"]["name"], "alice");
}
