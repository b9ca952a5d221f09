//! Projects: CRUD owned by the caller, validation, paging, and binding add-ons with
//! Composer constraints.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, field_message, header, invalid_fields, refusal};

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post_json("/projects", token, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(header(&r, "location").contains("/projects/"));
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_project_is_created_read_changed_and_deleted_by_its_owner() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let p = create(
        &app,
        &token,
        json!({
            "name": "My Blog!",
            "description": "personal",
            "url": "https://blog.example.com",
            "databases": [
                {"scheme": "mysql", "host": "db", "port": 3306, "name": "blog", "user": "u", "pass": "p"},
                {"scheme": "sqlite", "memory": true}
            ]
        }),
    )
    .await;
    for key in [
        "id",
        "name",
        "description",
        "slug",
        "url",
        "isSecured",
        "createdAt",
        "updatedAt",
        "databases",
        "extensions",
        "packages",
        "themes",
        "translations",
    ] {
        assert!(p.get(key).is_some(), "{key} in {p}");
    }
    assert_eq!(p["slug"], "my-blog");
    assert_eq!(p["isSecured"], true);
    assert_eq!(p["databases"][0]["port"], 3306);
    assert_eq!(p["databases"][1]["memory"], true);
    assert_eq!(p["themes"], json!({}));
    let id = p["id"].as_str().unwrap();
    let path = format!("/projects/{id}");

    let got = app.json_as(&path, Some(&token), 200).await;
    assert_eq!(got, p);

    let r = app
        .patch_json(
            &path,
            &token,
            json!({"name": "Renamed", "url": "http://blog.example.com", "description": null}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().await.unwrap();
    assert_eq!(changed["name"], "Renamed");
    assert_eq!(changed["slug"], "my-blog", "the slug stays unless changed");
    assert_eq!(changed["isSecured"], false);
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["databases"], p["databases"]);

    assert_eq!(
        app.delete(&path, &token).await.status(),
        StatusCode::NO_CONTENT
    );
    app.json_as(&path, Some(&token), 404).await;
    assert_eq!(
        app.delete(&path, &token).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_accounts_project_is_not_found() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    let p = create(&app, &ta, json!({"name": "Alice's"})).await;
    let path = format!("/projects/{}", p["id"].as_str().unwrap());
    app.json_as(&path, Some(&tb), 404).await;
    let r = app.patch_json(&path, &tb, json!({"name": "x"})).await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    refusal(
        app.delete(&path, &tb).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.json_as("/projects", Some(&tb), 200).await, json!([]));
    app.json_as("/projects/not-a-uuid", Some(&ta), 404).await;
    let anonymous = app.json_as("/projects", None, 401).await;
    assert_eq!(anonymous["error"]["code"], "unauthenticated");
    // Alice's project is as she left it.
    assert_eq!(app.json_as(&path, Some(&ta), 200).await, p);
}

#[tokio::test]
async fn invalid_projects_are_422_with_fields_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "slug": "Not A Slug"}), "slug"),
        (json!({"name": "x", "url": "javascript:alert(1)"}), "url"),
        (
            json!({"name": "x", "databases": [{"scheme": "oracle", "host": "h"}]}),
            "databases[0].scheme",
        ),
        (
            json!({"name": "x", "databases": [{"scheme": "mysql", "host": "h", "port": 70000}]}),
            "databases[0].port",
        ),
        (
            json!({"name": "x", "databases": [{"scheme": "mysql", "host": "h", "port": 0}]}),
            "databases[0].port",
        ),
        (
            json!({"name": "x", "databases": [{"scheme": "pgsql"}]}),
            "databases[0].host",
        ),
        (json!({"name": "x", "isSecured": true}), "isSecured"),
        (json!({"name": 5}), "name"),
    ] {
        let r = app.post_json("/projects", &token, body.clone()).await;
        let fields = invalid_fields(r).await;
        assert!(
            fields.contains_key(field),
            "{field} in {fields:?} for {body}"
        );
    }
    let r = app
        .http
        .post(app.url("/projects"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    refusal(r, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert_eq!(app.json_as("/projects", Some(&token), 200).await, json!([]));
}

#[tokio::test]
async fn slugs_are_unique_per_owner() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    create(&app, &ta, json!({"name": "Site"})).await;
    let r = app
        .post_json("/projects", &ta, json!({"name": "Site"}))
        .await;
    let fields = invalid_fields(r).await;
    field_message(&fields, "slug");
    create(&app, &ta, json!({"name": "Site", "slug": "site-2"})).await;
    create(&app, &tb, json!({"name": "Site"})).await;
}

#[tokio::test]
async fn projects_are_paged_with_a_link_header() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for i in 0..5 {
        create(&app, &token, json!({"name": format!("p{i}")})).await;
    }
    let r = app
        .get_with_token("/projects?per_page=2&page=2", &token)
        .await;
    let link = header(&r, "link");
    assert!(link.contains("page=3&per_page=2>; rel=\"next\""), "{link}");
    let list: Vec<Value> = r.json().await.unwrap();
    assert_eq!(list.len(), 2);
    let bad = app
        .json_as("/projects?per_page=-1", Some(&token), 400)
        .await;
    assert_eq!(bad["error"]["code"], "invalid_paging");
}

#[tokio::test]
async fn a_read_only_token_cannot_change_projects() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let writer = app.access_token(&alice).await;
    app.publish_ok(&writer, "acme/theme", "harmony-theme", "1.0.0")
        .await;
    let p = create(&app, &writer, json!({"name": "Site"})).await;
    let path = format!("/projects/{}", p["id"].as_str().unwrap());
    let addon = format!("{path}/addons/acme/theme");
    let r = app
        .put_json(&addon, &writer, json!({"version": "^1.0"}))
        .await;
    assert_eq!(r.status(), 200);
    let before = app.json_as(&path, Some(&writer), 200).await;

    let token = &app.scoped_token(&alice, "read").await;
    for r in [
        app.post_json("/projects", token, json!({"name": "x"}))
            .await,
        app.patch_json(&path, token, json!({"name": "x"})).await,
        app.put_json(&addon, token, json!({"version": "*"})).await,
        app.delete(&addon, token).await,
        app.delete(&path, token).await,
    ] {
        let url = r.url().clone();
        let error = refusal(r, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert!(error["message"].is_string(), "{url}");
    }
    // It reads them, and they are as they were.
    let list = app.json_as("/projects", Some(token), 200).await;
    assert_eq!(list, json!([before]));
}

#[tokio::test]
async fn add_ons_bind_with_constraints_into_the_map_of_their_type() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/theme", "harmony-theme", "1.2.0")
        .await;
    app.publish_ok(&token, "acme/seo", "harmony-extension", "2.0.0")
        .await;
    app.publish_ok(&token, "acme/fr", "harmony-translation", "1.0.0-beta1")
        .await;
    app.publish_ok(&token, "acme/util", "library", "0.3.1")
        .await;
    let p = create(&app, &token, json!({"name": "Site"})).await;
    let base = format!("/projects/{}/addons", p["id"].as_str().unwrap());

    for (name, constraint) in [
        ("acme/theme", "^1.2"),
        ("acme/seo", ">=1.0 <3.0 || ^4"),
        ("acme/fr", "^1.0@beta"),
        ("acme/util", "~0.3.0"),
    ] {
        let r = app
            .put_json(
                &format!("{base}/{name}"),
                &token,
                json!({"version": constraint}),
            )
            .await;
        assert_eq!(r.status(), 200, "{name} {constraint}");
    }
    let doc = app
        .json_as(
            &format!("/projects/{}", p["id"].as_str().unwrap()),
            Some(&token),
            200,
        )
        .await;
    assert_eq!(doc["themes"], json!({"acme/theme": {"version": "^1.2"}}));
    assert_eq!(
        doc["extensions"],
        json!({"acme/seo": {"version": ">=1.0 <3.0 || ^4"}})
    );
    assert_eq!(
        doc["translations"],
        json!({"acme/fr": {"version": "^1.0@beta"}})
    );
    assert_eq!(doc["packages"], json!({"acme/util": {"version": "~0.3.0"}}));

    // Re-binding changes the constraint.
    let r = app
        .put_json(
            &format!("{base}/acme/theme"),
            &token,
            json!({"version": "1.2.*"}),
        )
        .await;
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["themes"]["acme/theme"]["version"], "1.2.*");

    // Unbinding.
    assert_eq!(
        app.delete(&format!("{base}/acme/theme"), &token)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.delete(&format!("{base}/acme/theme"), &token)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_constraint_no_published_version_satisfies_is_422() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/theme", "harmony-theme", "1.2.0")
        .await;
    app.publish_ok(&token, "acme/theme", "harmony-theme", "2.0.0-RC1")
        .await;
    let p = create(&app, &token, json!({"name": "Site"})).await;
    let url = format!("/projects/{}/addons/acme/theme", p["id"].as_str().unwrap());
    for constraint in ["^2.0", "^1.3", "<1.0", "dev-main", "~0.1"] {
        let r = app
            .put_json(&url, &token, json!({"version": constraint}))
            .await;
        let fields = invalid_fields(r).await;
        assert_eq!(
            field_message(&fields, "version"),
            format!("no published version of acme/theme satisfies {constraint}")
        );
    }
    // Constraints that are not constraints at all say so, not that nothing satisfies them.
    for bad in ["", "^", "1.0 -", "^1@bogus", ">=dev-main"] {
        let r = app.put_json(&url, &token, json!({"version": bad})).await;
        let fields = invalid_fields(r).await;
        assert!(
            !field_message(&fields, "version").contains("no published version"),
            "{bad:?}: {fields:?}"
        );
    }
    let r = app
        .put_json(&url, &token, json!({"version": "^2.0@RC"}))
        .await;
    assert_eq!(r.status(), 200);
    let missing = format!("/projects/{}/addons/acme/none", p["id"].as_str().unwrap());
    refusal(
        app.put_json(&missing, &token, json!({"version": "*"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Only the constraint that was taken is bound.
    let doc = app
        .json_as(
            &format!("/projects/{}", p["id"].as_str().unwrap()),
            Some(&token),
            200,
        )
        .await;
    assert_eq!(doc["themes"], json!({"acme/theme": {"version": "^2.0@RC"}}));
}

#[tokio::test]
async fn private_add_ons_of_others_cannot_be_bound() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "acme/secret", "harmony-theme", "1.0.0")
        .await;
    app.make_private(&ta, "acme/secret").await;
    let p = create(&app, &tb, json!({"name": "Bob's"})).await;
    let url = format!("/projects/{}/addons/acme/secret", p["id"].as_str().unwrap());
    let r = app.put_json(&url, &tb, json!({"version": "*"})).await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    // Nor can anyone bind to a project that is not theirs.
    let r = app.put_json(&url, &ta, json!({"version": "*"})).await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    let doc = app
        .json_as(
            &format!("/projects/{}", p["id"].as_str().unwrap()),
            Some(&tb),
            200,
        )
        .await;
    assert_eq!(doc["themes"], json!({}));
}

#[tokio::test]
async fn the_root_endpoint_lists_the_new_families() {
    let app = TestApp::spawn().await;
    let root = app.json_as("/", None, 200).await;
    assert_eq!(
        root["projectsUrl"],
        format!("{}/projects{{?page,per_page}}", app.base)
    );
    for key in [
        "projectUrl",
        "packagesUrl",
        "packageUrl",
        "composerRepositoryUrl",
        "updatePackageUrl",
    ] {
        assert!(root[key].as_str().unwrap().starts_with(&app.base), "{key}");
    }
}
