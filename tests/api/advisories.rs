//! Security advisories: filed by an add-on's owner or an administrator, matched against
//! versions by their Composer constraint, served in Packagist's format by the
//! security-advisories API and in the Composer metadata, and seen only by who may see the
//! add-on.

use harmony::service::clients::ClientSpec;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, field_message, invalid_fields, refusal};

pub async fn administrator(app: &TestApp) -> String {
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

/// Files an advisory, asserting `201`; its answer.
pub async fn file_advisory(app: &TestApp, token: &str, package: &str, body: Value) -> Value {
    let r = app
        .post_json(&format!("/packages/{package}/advisories"), token, body)
        .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

fn rce() -> Value {
    json!({
        "title": "Remote code execution in the uploader",
        "affectedVersions": ">=1.0,<1.1",
        "severity": "critical",
        "cve": "CVE-2026-12345",
        "link": "https://example.com/advisories/1",
        "reportedAt": "2026-11-30T08:00:00Z",
    })
}

/// The security-advisories API asked with a form body, as `composer audit` asks it.
async fn audit_query(app: &TestApp, token: Option<&str>, form: &str) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/api/security-advisories/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn an_owner_files_an_advisory_that_names_the_versions_its_constraint_matches() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for v in ["1.0.0", "1.0.5", "1.1.0", "2.0.0-beta1"] {
        app.publish_ok(&token, "alice/uploader", "library", v).await;
    }
    let filed = file_advisory(&app, &token, "alice/uploader", rce()).await;
    let id = filed["advisoryId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("HRSA-"), "{filed}");
    assert_eq!(filed["packageName"], "alice/uploader");
    assert_eq!(filed["title"], "Remote code execution in the uploader");
    assert_eq!(filed["affectedVersions"], ">=1.0,<1.1");
    assert_eq!(filed["severity"], "critical");
    assert_eq!(filed["cve"], "CVE-2026-12345");
    assert_eq!(filed["link"], "https://example.com/advisories/1");
    assert_eq!(filed["reportedAt"], "2026-11-30 08:00:00");
    assert_eq!(
        filed["sources"],
        json!([{"name": "harmony", "remoteId": id}])
    );

    // A second one, only for the pre-release.
    let beta = file_advisory(
        &app,
        &token,
        "alice/uploader",
        json!({"title": "Beta leaks", "affectedVersions": "^2.0@beta"}),
    )
    .await;
    let beta_id = beta["advisoryId"].as_str().unwrap();
    assert_eq!(beta["severity"], Value::Null);
    assert_eq!(beta["cve"], Value::Null);

    let package = app.json_as("/packages/alice/uploader", None, 200).await;
    let affected: Vec<(String, Value)> = package["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().to_owned(),
                v["advisories"].clone(),
            )
        })
        .collect();
    assert_eq!(
        affected,
        [
            ("2.0.0-beta1".to_owned(), json!([beta_id])),
            ("1.1.0".to_owned(), json!([])),
            ("1.0.5".to_owned(), json!([id])),
            ("1.0.0".to_owned(), json!([id])),
        ]
    );
    let one = app
        .json_as("/packages/alice/uploader/versions/1.0.5", None, 200)
        .await;
    assert_eq!(one["advisories"], json!([id]));
    let list = app
        .json_as("/packages/alice/uploader/advisories", None, 200)
        .await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["advisoryId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str(), beta_id], "oldest report first");
}

#[tokio::test]
async fn only_the_owner_or_an_administrator_files_an_advisory() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    let root = administrator(&app).await;
    app.publish_ok(&ta, "alice/lib", "library", "1.0.0").await;
    app.publish_ok(&ta, "alice/secret", "library", "1.0.0")
        .await;
    app.make_private(&ta, "alice/secret").await;

    let r = app
        .post_json("/packages/alice/lib/advisories", &tb, rce())
        .await;
    refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    // A private add-on is not found by whoever may not see it.
    let r = app
        .post_json("/packages/alice/secret/advisories", &tb, rce())
        .await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = app
        .post_json("/packages/alice/nothing/advisories", &ta, rce())
        .await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = app
        .http
        .post(app.url("/packages/alice/lib/advisories"))
        .json(&rce())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let list = app
        .json_as("/packages/alice/lib/advisories", None, 200)
        .await;
    assert_eq!(list, json!([]), "nothing was filed by the refusals");

    file_advisory(&app, &root, "alice/lib", rce()).await;
    file_advisory(&app, &root, "alice/secret", rce()).await;
    let list = app
        .json_as("/packages/alice/lib/advisories", None, 200)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The private add-on's advisories are its own: 404 to others, listed to its owner.
    app.json_as("/packages/alice/secret/advisories", Some(&tb), 404)
        .await;
    let list = app
        .json_as("/packages/alice/secret/advisories", Some(&ta), 200)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_advisory_with_invalid_fields_is_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/lib", "library", "1.0.0")
        .await;
    let r = app
        .post_json(
            "/packages/alice/lib/advisories",
            &token,
            json!({
                "title": "  ",
                "affectedVersions": ">=1.0 <<2",
                "severity": "apocalyptic",
                "cve": "CVE-26-1",
                "link": "javascript:alert(1)",
                "reportedAt": "yesterday",
            }),
        )
        .await;
    let fields = invalid_fields(r).await;
    assert_eq!(field_message(&fields, "title"), "is required");
    assert!(
        field_message(&fields, "affectedVersions").starts_with("must be a Composer constraint"),
        "{fields:?}"
    );
    assert_eq!(
        field_message(&fields, "severity"),
        "must be low, medium, high or critical"
    );
    assert!(field_message(&fields, "cve").contains("CVE-2026-1234"));
    assert!(field_message(&fields, "link").contains("http or https"));
    assert!(field_message(&fields, "reportedAt").contains("RFC 3339"));

    let r = app
        .post_json("/packages/alice/lib/advisories", &token, json!({}))
        .await;
    let fields = invalid_fields(r).await;
    assert_eq!(field_message(&fields, "title"), "is required");
    assert_eq!(field_message(&fields, "affectedVersions"), "is required");
    let r = app
        .post_json(
            "/packages/alice/lib/advisories",
            &token,
            json!({"title": "x", "affectedVersions": "*", "colour": "red"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let list = app
        .json_as("/packages/alice/lib/advisories", None, 200)
        .await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn the_security_advisories_api_answers_as_packagist_to_each_viewer() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "alice/lib", "library", "1.0.0").await;
    app.publish_ok(&ta, "alice/clean", "library", "1.0.0").await;
    app.publish_ok(&ta, "alice/secret", "library", "1.0.0")
        .await;
    app.make_private(&ta, "alice/secret").await;
    let lib = file_advisory(&app, &ta, "alice/lib", rce()).await;
    let secret = file_advisory(&app, &ta, "alice/secret", rce()).await;

    // As Composer posts it: PHP's http_build_query writes `packages[0]=…`.
    let form = "packages%5B0%5D=alice%2Flib&packages%5B1%5D=alice%2Fclean\
                &packages%5B2%5D=alice%2Fsecret&packages%5B3%5D=other%2Funknown";
    let r = audit_query(&app, None, form).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let advisories = body["advisories"].as_object().unwrap();
    assert_eq!(
        advisories.keys().collect::<Vec<_>>(),
        ["alice/clean", "alice/lib"],
        "the private add-on and the unknown one are left out: {body}"
    );
    assert_eq!(advisories["alice/clean"], json!([]));
    let entry = &advisories["alice/lib"][0];
    assert_eq!(entry["advisoryId"], lib["advisoryId"]);
    for key in [
        "advisoryId",
        "packageName",
        "remoteId",
        "title",
        "link",
        "cve",
        "affectedVersions",
        "source",
        "reportedAt",
        "composerRepository",
        "severity",
        "sources",
    ] {
        assert!(entry.get(key).is_some(), "{key} in {entry}");
    }
    let body: Value = audit_query(&app, Some(&tb), form)
        .await
        .json()
        .await
        .unwrap();
    assert!(body["advisories"].get("alice/secret").is_none(), "{body}");
    let body: Value = audit_query(&app, Some(&ta), form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["advisories"]["alice/secret"][0]["advisoryId"],
        secret["advisoryId"]
    );

    // The GET form, with `packages[]`, and `updatedSince` alone: every visible advisory
    // changed since then.
    let body = app
        .json_as(
            "/api/security-advisories/?packages[]=alice/lib&packages[]=alice/clean",
            None,
            200,
        )
        .await;
    assert_eq!(body["advisories"]["alice/lib"][0]["title"], rce()["title"]);
    let body = app
        .json_as("/api/security-advisories/?updatedSince=0", None, 200)
        .await;
    assert_eq!(
        body["advisories"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["alice/lib"]
    );
    let future = chrono::Utc::now().timestamp() + 3600;
    let body = app
        .json_as(
            &format!("/api/security-advisories/?updatedSince={future}"),
            None,
            200,
        )
        .await;
    assert_eq!(body["advisories"], json!({}));

    // Neither names nor a time; a time that is not one.
    let r = app.get("/api/security-advisories/").await;
    let fields = invalid_fields(r).await;
    assert!(field_message(&fields, "packages").contains("updatedSince"));
    let r = app
        .get("/api/security-advisories/?updatedSince=last-week")
        .await;
    let fields = invalid_fields(r).await;
    assert!(field_message(&fields, "updatedSince").contains("Unix"));
    let r = app
        .http
        .post(app.url("/api/security-advisories/"))
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
}

#[tokio::test]
async fn the_composer_repository_points_composer_at_the_advisories() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/lib", "library", "1.0.0")
        .await;
    let root = app.json_as("/packages.json", None, 200).await;
    assert_eq!(
        root["security-advisories"],
        json!({"metadata": true, "api-url": app.url("/api/security-advisories/")})
    );
    let p2 = app.json_as("/p2/alice/lib.json", None, 200).await;
    assert_eq!(p2["security-advisories"], json!([]));
    let filed = file_advisory(&app, &token, "alice/lib", rce()).await;
    let p2 = app.json_as("/p2/alice/lib.json", None, 200).await;
    assert_eq!(
        p2["security-advisories"],
        json!([{"advisoryId": filed["advisoryId"], "affectedVersions": ">=1.0,<1.1"}])
    );
}

#[tokio::test]
async fn the_root_endpoint_lists_the_registry_families() {
    let app = TestApp::spawn().await;
    let root = app.json_as("/", None, 200).await;
    for (key, path) in [
        (
            "packageAdvisoriesUrl",
            "/packages/{vendor}/{name}/advisories",
        ),
        ("packageStatsUrl", "/packages/{vendor}/{name}/stats"),
        (
            "securityAdvisoriesUrl",
            "/api/security-advisories/{?packages%5B%5D*,updatedSince}",
        ),
        ("metadataChangesUrl", "/metadata/changes.json{?since}"),
    ] {
        assert_eq!(root[key], format!("{}{path}", app.base), "{key}");
    }
}
