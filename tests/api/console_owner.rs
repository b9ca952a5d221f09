//! The console's Projects pages (create, edit, delete, bind and unbind add-ons) and the
//! Marketplace owner's actions, in a scripted browser: each a CSRF-checked form answered
//! by a redirect with a message, refusals shown in words with what was typed, and the
//! effect seen through the JSON API.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{Browser, input_value};
use crate::console::{age_sessions, assert_redirect_with_message, page_at, post, signed_in};
use crate::helpers::{TestApp, header};
use crate::market::dist;

/// The id of the project a `303` to its page names.
fn project_id_of(location: &str) -> String {
    location
        .strip_prefix("/console/projects/")
        .unwrap_or_else(|| panic!("not a project page: {location}"))
        .to_owned()
}

async fn api_project(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get_with_token(&format!("/projects/{id}"), token).await
}

#[tokio::test]
async fn a_project_is_created_changed_and_deleted_in_the_console() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let (browser, _) = signed_in(&app, &alice).await;
    let form = page_at(&app, &browser, "/console/projects/new").await;
    let csrf = input_value(&form, "csrf_token");
    let created = post(
        &app,
        &browser,
        "/console/projects",
        Some(&csrf),
        &[
            ("name", "Shop site"),
            ("slug", ""),
            ("description", "The shop"),
            ("url", "https://shop.example"),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = header(&created, "location");
    let id = project_id_of(&location);
    assert_redirect_with_message(&created, &location);
    let html = page_at(&app, &browser, &location).await;
    assert!(html.contains("Project Shop site created."), "{html}");
    // Following the redirect again (a reload) creates nothing more.
    let _ = page_at(&app, &browser, &location).await;
    let list: Value = app
        .get_with_token("/projects", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let api: Value = api_project(&app, &token, &id).await.json().await.unwrap();
    assert_eq!(api["slug"], "shop-site");
    assert_eq!(api["description"], "The shop");
    assert_eq!(api["url"], "https://shop.example");

    // A refused change keeps what was typed and says why in words, next to the field.
    let refused = post(
        &app,
        &browser,
        &location,
        Some(&csrf),
        &[
            ("name", "Shop two"),
            ("slug", "Not A Slug"),
            ("description", ""),
            ("url", "ftp://shop.example"),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("value=\"Shop two\""), "{html}");
    assert!(html.contains("value=\"Not A Slug\""), "{html}");
    assert!(
        html.contains("The site URL must be an absolute http or https URL."),
        "{html}"
    );
    assert!(
        html.contains("The slug must be lower-case letters"),
        "{html}"
    );
    let api: Value = api_project(&app, &token, &id).await.json().await.unwrap();
    assert_eq!(api["name"], "Shop site");

    let saved = post(
        &app,
        &browser,
        &location,
        Some(&csrf),
        &[
            ("name", "Shop two"),
            ("slug", "shop-two"),
            ("description", ""),
            ("url", ""),
        ],
    )
    .await;
    assert_redirect_with_message(&saved, &location);
    let api: Value = api_project(&app, &token, &id).await.json().await.unwrap();
    assert_eq!(api["name"], "Shop two");
    assert_eq!(api["slug"], "shop-two");
    assert!(
        api["description"].is_null() && api["url"].is_null(),
        "{api}"
    );

    let delete = format!("{location}/delete");
    let confirm = page_at(&app, &browser, &delete).await;
    assert!(confirm.contains("Delete this project?"), "{confirm}");
    let deleted = post(&app, &browser, &delete, Some(&csrf), &[]).await;
    assert_redirect_with_message(&deleted, "/console/projects");
    assert!(
        page_at(&app, &browser, "/console/projects")
            .await
            .contains("Project Shop two deleted.")
    );
    assert_eq!(
        api_project(&app, &token, &id).await.status(),
        StatusCode::NOT_FOUND
    );
    // A replayed form deletes nothing and says so.
    let again = post(&app, &browser, &delete, Some(&csrf), &[]).await;
    assert_redirect_with_message(&again, "/console/projects");
    assert!(
        page_at(&app, &browser, "/console/projects")
            .await
            .contains("not one of yours")
    );
}

#[tokio::test]
async fn an_invalid_new_project_is_shown_again_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let (browser, html) = signed_in(&app, &alice).await;
    let csrf = input_value(&html, "csrf_token");
    let response = post(
        &app,
        &browser,
        "/console/projects",
        Some(&csrf),
        &[("name", "  "), ("description", "kept words"), ("url", "")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains(">kept words</textarea>"), "{html}");
    assert!(html.contains("class=\"field-error\""), "{html}");
    assert!(html.contains("The name "), "{html}");
    let list: Value = app
        .get_with_token("/projects", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn add_ons_are_bound_with_a_constraint_and_unbound_in_the_console() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/theme", "harmony-theme", "1.2.0")
        .await;
    let created: Value = app
        .post_json("/projects", &token, json!({"name": "Shop"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let (browser, _) = signed_in(&app, &alice).await;
    let here = format!("/console/projects/{id}");
    let page = page_at(&app, &browser, &here).await;
    let csrf = input_value(&page, "csrf_token");
    let bind = format!("{here}/addons");

    // No version matches: the reason in words next to the field, what was typed kept.
    let refused = post(
        &app,
        &browser,
        &bind,
        Some(&csrf),
        &[("addon", "alice/theme"), ("version", "^3.0")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("No published version of alice/theme satisfies ^3.0."),
        "{html}"
    );
    assert_eq!(input_value(&html, "addon"), "alice/theme");
    assert_eq!(input_value(&html, "version"), "^3.0");
    // A constraint that is not one, and an add-on that does not exist.
    let refused = post(
        &app,
        &browser,
        &bind,
        Some(&csrf),
        &[("addon", "alice/theme"), ("version", "not a version")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("The version constraint ")
    );
    let refused = post(
        &app,
        &browser,
        &bind,
        Some(&csrf),
        &[("addon", "alice/nothing"), ("version", "^1.0")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("There is no add-on alice/nothing that you may use.")
    );
    let api: Value = api_project(&app, &token, &id).await.json().await.unwrap();
    assert!(!api.to_string().contains("alice/theme"), "{api}");

    let bound = post(
        &app,
        &browser,
        &bind,
        Some(&csrf),
        &[("addon", "alice/theme"), ("version", "^1.0")],
    )
    .await;
    assert_redirect_with_message(&bound, &here);
    let html = page_at(&app, &browser, &here).await;
    assert!(html.contains("alice/theme ^1.0 added to Shop."), "{html}");
    let api: Value = api_project(&app, &token, &id).await.json().await.unwrap();
    assert!(api.to_string().contains("alice/theme"), "{api}");
    assert!(api.to_string().contains("^1.0"), "{api}");

    let remove = format!("{here}/addons/alice/theme/remove");
    assert!(html.contains(&format!("action=\"{remove}\"")), "{html}");
    let removed = post(&app, &browser, &remove, Some(&csrf), &[]).await;
    assert_redirect_with_message(&removed, &here);
    let api: Value = api_project(&app, &token, &id).await.json().await.unwrap();
    assert!(!api.to_string().contains("alice/theme"), "{api}");
    // Removing again changes nothing and says so.
    let again = post(&app, &browser, &remove, Some(&csrf), &[]).await;
    assert_redirect_with_message(&again, &here);
    assert!(
        page_at(&app, &browser, &here)
            .await
            .contains("was not required by the project")
    );
}

#[tokio::test]
async fn another_accounts_project_and_private_add_on_cannot_be_used_through_the_console() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/secret", "library", "1.0.0")
        .await;
    app.make_private(&token, "alice/secret").await;
    let created: Value = app
        .post_json("/projects", &token, json!({"name": "Shop"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let bob = app.account("bob").await;
    let bob_token = app.access_token(&bob).await;
    let bobs_project: Value = app
        .post_json("/projects", &bob_token, json!({"name": "Bob's"}))
        .await
        .json()
        .await
        .unwrap();
    let bobs_id = bobs_project["id"].as_str().unwrap().to_owned();
    let (browser, html) = signed_in(&app, &bob).await;
    let csrf = input_value(&html, "csrf_token");
    let alices = format!("/console/projects/{id}");
    for path in [alices.clone(), format!("{alices}/delete")] {
        let r = browser.get(&app.url(&path)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for (path, fields) in [
        (alices.clone(), &[("name", "Taken")][..]),
        (format!("{alices}/delete"), &[][..]),
        (
            format!("{alices}/addons"),
            &[("addon", "alice/secret"), ("version", "*")][..],
        ),
    ] {
        let r = post(&app, &browser, &path, Some(&csrf), fields).await;
        assert_redirect_with_message(&r, "/console/projects");
    }
    let api: Value = api_project(&app, &token, &id).await.json().await.unwrap();
    assert_eq!(api["name"], "Shop");
    // Alice's private add-on is not one Bob may require.
    let r = post(
        &app,
        &browser,
        &format!("/console/projects/{bobs_id}/addons"),
        Some(&csrf),
        &[("addon", "alice/secret"), ("version", "*")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("There is no add-on alice/secret that you may use.")
    );
}

#[tokio::test]
async fn project_forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/theme", "harmony-theme", "1.2.0")
        .await;
    let created: Value = app
        .post_json("/projects", &token, json!({"name": "Shop"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let bound = app
        .put_json(
            &format!("/projects/{id}/addons/alice/theme"),
            &token,
            json!({"version": "^1.0"}),
        )
        .await;
    assert_eq!(bound.status(), StatusCode::OK);
    let (browser, _) = signed_in(&app, &alice).await;
    let here = format!("/console/projects/{id}");
    for csrf in [None, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] {
        for (path, fields) in [
            ("/console/projects".to_owned(), &[("name", "Sneaky")][..]),
            (here.clone(), &[("name", "Sneaky")][..]),
            (format!("{here}/delete"), &[][..]),
            (
                format!("{here}/addons"),
                &[("addon", "alice/theme"), ("version", "*")][..],
            ),
            (format!("{here}/addons/alice/theme/remove"), &[][..]),
        ] {
            let r = post(&app, &browser, &path, csrf, fields).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        }
    }
    let api: Value = api_project(&app, &token, &id).await.json().await.unwrap();
    assert_eq!(api["name"], "Shop");
    assert!(api.to_string().contains("^1.0"), "{api}");
    let list: Value = app
        .get_with_token("/projects", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn deleting_a_project_on_an_old_session_asks_for_the_password_first() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let created: Value = app
        .post_json("/projects", &token, json!({"name": "Shop"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let (browser, html): (Browser, String) = signed_in(&app, &alice).await;
    let csrf = input_value(&html, "csrf_token");
    age_sessions(&app).await;
    let delete = format!("/console/projects/{id}/delete");
    let asked = post(&app, &browser, &delete, Some(&csrf), &[]).await;
    assert_eq!(asked.status(), StatusCode::OK);
    let page = asked.text().await.unwrap();
    assert!(page.contains("reauth_password"), "{page}");
    assert_eq!(
        api_project(&app, &token, &id).await.status(),
        StatusCode::OK
    );
    let done = post(
        &app,
        &browser,
        &delete,
        Some(&input_value(&page, "csrf_token")),
        &[("reauth_password", &alice.password)],
    )
    .await;
    assert_redirect_with_message(&done, "/console/projects");
    assert_eq!(
        api_project(&app, &token, &id).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// A `multipart/form-data` body of `fields` and the file `archive` (when given), and its
/// content type.
fn multipart(fields: &[(&str, &str)], archive: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----harmony-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(bytes) = archive {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"addon.zip\"\r\n\
                 Content-Type: application/zip\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends the publish form of `package`'s console page.
async fn upload(
    app: &TestApp,
    browser: &Browser,
    package: &str,
    csrf: Option<&str>,
    version: &str,
    archive: Option<&[u8]>,
) -> reqwest::Response {
    let mut fields = vec![("version", version)];
    if let Some(c) = csrf {
        fields.insert(0, ("csrf_token", c));
    }
    let (content_type, body) = multipart(&fields, archive);
    browser
        .http
        .post(app.url(&format!("/console/marketplace/{package}/versions")))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn the_owner_publishes_a_version_by_uploading_a_zip_with_the_apis_checks() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/theme", "harmony-theme", "1.0.0")
        .await;
    let (browser, _) = signed_in(&app, &alice).await;
    let here = "/console/marketplace/alice/theme";
    let html = page_at(&app, &browser, here).await;
    assert!(html.contains("Publish a new version"), "{html}");
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    let csrf = input_value(&html, "csrf_token");
    let zip = dist("alice/theme", "harmony-theme");

    let published = upload(
        &app,
        &browser,
        "alice/theme",
        Some(&csrf),
        "1.1.0",
        Some(&zip),
    )
    .await;
    assert_redirect_with_message(&published, here);
    let html = page_at(&app, &browser, here).await;
    assert!(html.contains("alice/theme 1.1.0 published."), "{html}");
    let v = app
        .get_with_token("/packages/alice/theme/versions/1.1.0", &token)
        .await;
    assert_eq!(v.status(), StatusCode::OK);
    let v: Value = v.json().await.unwrap();
    assert_eq!(v["publishedBy"]["name"], "alice", "{v}");

    // The same version again: refused in words, the version typed kept.
    let again = upload(
        &app,
        &browser,
        "alice/theme",
        Some(&csrf),
        "1.1.0",
        Some(&zip),
    )
    .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = again.text().await.unwrap();
    assert!(
        html.contains("alice/theme 1.1.0 is already published"),
        "{html}"
    );
    assert_eq!(input_value(&html, "version"), "1.1.0");
    // Not a zip; a zip of another add-on; no file; not a version.
    let cases: [(&str, Option<&[u8]>, &str); 4] = [
        ("1.2.0", Some(b"not a zip at all"), "The zip was refused: "),
        (
            "1.2.0",
            Some(&dist("alice/other", "harmony-theme")),
            "The zip was refused: ",
        ),
        ("1.2.0", None, "Choose the add-on's zip file."),
        ("banana", Some(&zip), "The version "),
    ];
    for (version, archive, said) in cases {
        let r = upload(&app, &browser, "alice/theme", Some(&csrf), version, archive).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{said}");
        let html = r.text().await.unwrap();
        assert!(html.contains(said), "{said} not in {html}");
        assert!(html.contains("class=\"field-error\""), "{html}");
    }
    let v = app
        .get_with_token("/packages/alice/theme/versions/1.2.0", &token)
        .await;
    assert_eq!(v.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_zip_over_the_upload_limit_is_refused_with_a_message() {
    let app = TestApp::spawn_with(|c| c.packages.package_upload_limit = 64 * 1024).await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/theme", "harmony-theme", "1.0.0")
        .await;
    let (browser, html) = signed_in(&app, &alice).await;
    let csrf = input_value(&html, "csrf_token");
    let big = crate::market::zip_of(&[
        (
            "composer.json",
            &crate::market::manifest("alice/theme", "harmony-theme", json!({})),
        ),
        ("blob.bin", &crate::market::noise(100 * 1024)),
    ]);
    let r = upload(
        &app,
        &browser,
        "alice/theme",
        Some(&csrf),
        "1.1.0",
        Some(&big),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let html = r.text().await.unwrap();
    assert!(html.contains("larger than the"), "{html}");
    assert_eq!(
        app.get_with_token("/packages/alice/theme/versions/1.1.0", &token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_owner_switches_visibility_and_sets_the_repository_and_webhook_secret() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/theme", "harmony-theme", "1.0.0")
        .await;
    let bob = app.account("bob").await;
    let (bobs, _) = signed_in(&app, &bob).await;
    let (browser, _) = signed_in(&app, &alice).await;
    let here = "/console/marketplace/alice/theme";
    let html = page_at(&app, &browser, here).await;
    let csrf = input_value(&html, "csrf_token");
    assert!(html.contains("Make private"), "{html}");

    let r = post(
        &app,
        &browser,
        &format!("{here}/visibility"),
        Some(&csrf),
        &[("visibility", "private")],
    )
    .await;
    assert_redirect_with_message(&r, here);
    let p = app
        .json_as("/packages/alice/theme", Some(&token), 200)
        .await;
    assert_eq!(p["visibility"], "private");
    app.json_as("/packages/alice/theme", None, 404).await;
    assert_eq!(
        bobs.get(&app.url(here)).await.status(),
        StatusCode::NOT_FOUND
    );
    let html = page_at(&app, &browser, here).await;
    assert!(html.contains("is now private"), "{html}");
    assert!(html.contains("Make public"), "{html}");
    let r = post(
        &app,
        &browser,
        &format!("{here}/visibility"),
        Some(&csrf),
        &[("visibility", "public")],
    )
    .await;
    assert_redirect_with_message(&r, here);
    app.json_as("/packages/alice/theme", None, 200).await;

    // The repository: a short secret is refused next to its field, the URL typed kept.
    let repository = format!("{here}/repository");
    let url = "https://git.example.com/alice/theme.git";
    let r = post(
        &app,
        &browser,
        &repository,
        Some(&csrf),
        &[("repository_url", url), ("webhook_secret", "short")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("The webhook secret must be 8 to 256 bytes."),
        "{html}"
    );
    assert_eq!(input_value(&html, "repository_url"), url);
    let r = post(
        &app,
        &browser,
        &repository,
        Some(&csrf),
        &[("repository_url", "/srv/git/theme"), ("webhook_secret", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("The repository URL "));
    let r = post(
        &app,
        &browser,
        &repository,
        Some(&csrf),
        &[("repository_url", url), ("webhook_secret", "s3cret-s3cret")],
    )
    .await;
    assert_redirect_with_message(&r, here);
    let p = app
        .json_as("/packages/alice/theme", Some(&token), 200)
        .await;
    assert_eq!(p["repositoryUrl"], url);
    assert_eq!(p["hasWebhookSecret"], true);
    let html = page_at(&app, &browser, here).await;
    assert!(html.contains("with its webhook secret"), "{html}");
    assert!(!html.contains("s3cret-s3cret"), "{html}");
    assert!(html.contains("Just the push event"), "{html}");
    assert!(
        html.contains(&app.url("/update-package?access_token=")),
        "{html}"
    );
    // An empty secret keeps the one set; the box removes it.
    let r = post(
        &app,
        &browser,
        &repository,
        Some(&csrf),
        &[("repository_url", url), ("webhook_secret", "")],
    )
    .await;
    assert_redirect_with_message(&r, here);
    let p = app
        .json_as("/packages/alice/theme", Some(&token), 200)
        .await;
    assert_eq!(p["hasWebhookSecret"], true);
    let r = post(
        &app,
        &browser,
        &repository,
        Some(&csrf),
        &[
            ("repository_url", url),
            ("webhook_secret", ""),
            ("remove_secret", "1"),
        ],
    )
    .await;
    assert_redirect_with_message(&r, here);
    let p = app
        .json_as("/packages/alice/theme", Some(&token), 200)
        .await;
    assert_eq!(p["hasWebhookSecret"], false);
}

#[tokio::test]
async fn only_the_owner_manages_an_add_on_in_the_console() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/theme", "harmony-theme", "1.0.0")
        .await;
    let bob = app.account("bob").await;
    let (browser, _) = signed_in(&app, &bob).await;
    let here = "/console/marketplace/alice/theme";
    let html = page_at(&app, &browser, here).await;
    assert!(html.contains("composer require alice/theme"));
    assert!(!html.contains("Publish a new version"), "{html}");
    assert!(!html.contains("Make private"), "{html}");
    let csrf = input_value(&html, "csrf_token");
    let zip = dist("alice/theme", "harmony-theme");
    let r = upload(
        &app,
        &browser,
        "alice/theme",
        Some(&csrf),
        "1.1.0",
        Some(&zip),
    )
    .await;
    assert_redirect_with_message(&r, here);
    assert!(
        page_at(&app, &browser, here)
            .await
            .contains("Only the owner of alice/theme may change it.")
    );
    for (path, fields) in [
        (
            format!("{here}/visibility"),
            &[("visibility", "private")][..],
        ),
        (
            format!("{here}/repository"),
            &[("repository_url", "https://git.example.com/x.git")][..],
        ),
    ] {
        let r = post(&app, &browser, &path, Some(&csrf), fields).await;
        assert_redirect_with_message(&r, here);
    }
    let p = app
        .json_as("/packages/alice/theme", Some(&token), 200)
        .await;
    assert_eq!(p["visibility"], "public");
    assert!(p["repositoryUrl"].is_null(), "{p}");
    assert_eq!(
        app.get_with_token("/packages/alice/theme/versions/1.1.0", &token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Without the right CSRF token, the owner's own forms change nothing either.
    let (owner, _) = signed_in(&app, &alice).await;
    let r = upload(&app, &owner, "alice/theme", None, "1.1.0", Some(&zip)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = upload(
        &app,
        &owner,
        "alice/theme",
        Some(&csrf),
        "1.1.0",
        Some(&zip),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(
        &app,
        &owner,
        &format!("{here}/visibility"),
        None,
        &[("visibility", "private")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let p = app
        .json_as("/packages/alice/theme", Some(&token), 200)
        .await;
    assert_eq!(p["visibility"], "public");
}

#[tokio::test]
async fn the_add_on_page_shows_yanked_versions_abandonment_and_the_latest_in_the_list() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "alice/theme", "harmony-theme", "1.0.0")
        .await;
    app.publish_ok(&token, "alice/theme", "harmony-theme", "1.1.0")
        .await;
    let r = app
        .patch_json(
            "/packages/alice/theme/versions/1.1.0",
            &token,
            json!({"yanked": "Breaks the autoloader"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .patch_json(
            "/packages/alice/theme",
            &token,
            json!({"abandoned": "alice/gallery"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (browser, _) = signed_in(&app, &alice).await;
    let html = page_at(&app, &browser, "/console/marketplace/alice/theme").await;
    assert!(html.contains("Breaks the autoloader"), "{html}");
    assert!(html.contains("yanked"), "{html}");
    assert!(html.contains("id=\"abandoned\""), "{html}");
    assert!(
        html.contains("href=\"/console/marketplace/alice/gallery\""),
        "{html}"
    );
    let list = page_at(&app, &browser, "/console/marketplace").await;
    // The latest version new installs get: 1.1.0 is yanked.
    assert!(list.contains("Latest 1.0.0"), "{list}");
}

/// The row of the Tokens page for the family of token `id`.
fn token_row<'a>(html: &'a str, id: &str) -> &'a str {
    let revoke = format!("/console/tokens/{id}/revoke");
    let at = html
        .find(&revoke)
        .unwrap_or_else(|| panic!("no row revoking {id} in {html}"));
    let start = html[..at].rfind("<li").unwrap();
    let end = html[at..].find("</li>").unwrap() + at;
    &html[start..end]
}

#[tokio::test]
async fn a_token_family_whose_refresh_token_still_works_is_listed_as_active() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let tokens = app.token_json(&alice).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let id = app.list_tokens(&access).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The access token expired an hour ago; its refresh token has not.
    assert!(
        app.execute("UPDATE access_tokens SET expires_at = created_at - 3600")
            .await
            > 0
    );
    let (browser, _) = signed_in(&app, &alice).await;
    let html = page_at(&app, &browser, "/console/tokens").await;
    let row = token_row(&html, &id);
    assert!(row.contains(">active</span>"), "{row}");
    assert!(row.contains("renewed by the app until"), "{row}");
    assert!(!row.contains("expired"), "{row}");
    assert!(html.contains("Revoke all tokens"), "{html}");

    // Once the refresh token has expired too, the family has ended.
    assert!(
        app.execute("UPDATE refresh_tokens SET expires_at = created_at - 60")
            .await
            > 0
    );
    let html = page_at(&app, &browser, "/console/tokens").await;
    let at = html.find("data-family").unwrap();
    assert!(html[at..].contains(">expired</span>"), "{html}");
    assert!(
        !html.contains(&format!("/console/tokens/{id}/revoke")),
        "{html}"
    );
}
