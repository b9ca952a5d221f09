//! `POST /update-package`: GitHub's push webhook publishing tags from a local git
//! repository (never the internet), signatures, replays and Packagist's status codes.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// A repository with `composer.json` for `name` and the given tags, each on its own commit.
fn repository(dir: &Path, name: &str, tags: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "--quiet", "-b", "main"]);
    for (i, tag) in tags.iter().enumerate() {
        let manifest =
            json!({"name": name, "type": "harmony-extension", "description": "from git"});
        std::fs::write(dir.join("composer.json"), manifest.to_string()).unwrap();
        std::fs::write(dir.join("Plugin.php"), format!("<?php // {i}\n")).unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "--quiet", "-m", tag]);
        git(dir, &["tag", tag]);
    }
}

struct Hook<'a> {
    app: &'a TestApp,
    token: String,
}

impl Hook<'_> {
    async fn send(&self, body: &str, signature: Option<&str>, delivery: Option<&str>) -> Response {
        let mut req = self
            .app
            .http
            .post(
                self.app
                    .url(&format!("/update-package?access_token={}", self.token)),
            )
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", "push")
            .body(body.to_owned());
        if let Some(s) = signature {
            req = req.header("X-Hub-Signature-256", s);
        }
        if let Some(d) = delivery {
            req = req.header("X-GitHub-Delivery", d);
        }
        req.send().await.expect("request")
    }
}

async fn versions(app: &TestApp, token: &str, name: &str, want: usize) -> Vec<String> {
    for _ in 0..100 {
        let p = app
            .json_as(&format!("/packages/{name}"), Some(token), 200)
            .await;
        let v: Vec<String> = p["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap().to_owned())
            .collect();
        if v.len() >= want {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} never reached {want} versions");
}

async fn setup(app: &TestApp, repo: &Path, secret: Option<&str>) -> String {
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/gitlib", "harmony-extension", "0.9.0")
        .await;
    let mut patch = json!({"repositoryUrl": format!("file://{}", repo.display())});
    if let Some(s) = secret {
        patch["webhookSecret"] = json!(s);
    }
    let r = app.patch_json("/packages/acme/gitlib", &token, patch).await;
    assert_eq!(r.status(), 200);
    token
}

fn push_payload(repo: &Path) -> String {
    json!({"ref": "refs/heads/main", "repository": {"url": format!("file://{}", repo.display()), "name": "gitlib"}})
        .to_string()
}

#[tokio::test]
async fn a_signed_push_publishes_the_new_tags_from_git() {
    let app = TestApp::spawn_with(|c| c.packages.allow_local_repositories = true).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("gitlib");
    repository(
        &repo,
        "acme/gitlib",
        &["v1.0.0", "1.1.0", "not-a-version", "0.9.0"],
    );
    let token = setup(&app, &repo, Some("a-good-secret")).await;
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    let body = push_payload(&repo);
    let signature = harmony::domain::package::sign("a-good-secret", body.as_bytes());
    let r = hook.send(&body, Some(&signature), Some("delivery-1")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["jobs"][0]["package"], "acme/gitlib");

    let v = versions(&app, &token, "acme/gitlib", 3).await;
    assert_eq!(v, ["1.1.0", "v1.0.0", "0.9.0"]);
    let meta = app.json_as("/p2/acme/gitlib.json", None, 200).await;
    let published = &meta["packages"]["acme/gitlib"][0];
    assert_eq!(published["version_normalized"], "1.1.0.0");
    let dist = published["dist"]["url"].as_str().unwrap();
    let zip = app
        .http
        .get(dist)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    assert!(archive.index_for_name("Plugin.php").is_some());

    // The same delivery again is acknowledged and ignored.
    let r = hook.send(&body, Some(&signature), Some("delivery-1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ignored");

    // A new tag with a new delivery is published; the old ones are not re-published.
    git(&repo, &["commit", "--quiet", "--allow-empty", "-m", "next"]);
    git(&repo, &["tag", "1.2.0"]);
    let r = hook.send(&body, Some(&signature), Some("delivery-2")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v = versions(&app, &token, "acme/gitlib", 4).await;
    assert_eq!(v[0], "1.2.0");
}

#[tokio::test]
async fn a_missing_or_wrong_signature_is_403_and_publishes_nothing() {
    let app = TestApp::spawn_with(|c| c.packages.allow_local_repositories = true).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("gitlib");
    repository(&repo, "acme/gitlib", &["1.0.0"]);
    let token = setup(&app, &repo, Some("a-good-secret")).await;
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    let body = push_payload(&repo);
    let wrong = harmony::domain::package::sign("another-secret", body.as_bytes());
    let tampered = harmony::domain::package::sign("a-good-secret", b"{}");
    for sig in [
        None,
        Some(wrong.as_str()),
        Some(tampered.as_str()),
        Some("sha256=zz"),
        Some("sha1=abc"),
    ] {
        let r = hook.send(&body, sig, Some("d")).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{sig:?}");
        assert_eq!(error_code(r).await, "invalid_signature");
    }
    // The refused deliveries did not burn the id.
    let good = harmony::domain::package::sign("a-good-secret", body.as_bytes());
    assert_eq!(
        hook.send(&body, Some(&good), Some("d")).await.status(),
        StatusCode::ACCEPTED
    );
    versions(&app, &token, "acme/gitlib", 2).await;
}

#[tokio::test]
async fn without_a_secret_no_signature_is_needed() {
    let app = TestApp::spawn_with(|c| c.packages.allow_local_repositories = true).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("gitlib");
    repository(&repo, "acme/gitlib", &["1.0.0"]);
    let token = setup(&app, &repo, None).await;
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    assert_eq!(
        hook.send(&push_payload(&repo), None, None).await.status(),
        StatusCode::ACCEPTED
    );
    versions(&app, &token, "acme/gitlib", 2).await;
}

#[tokio::test]
async fn the_webhook_answers_as_packagist_does() {
    let app = TestApp::spawn_with(|c| c.packages.allow_local_repositories = true).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("gitlib");
    repository(&repo, "acme/gitlib", &["1.0.0"]);
    let token = setup(&app, &repo, None).await;
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    // No token: 401, as every endpoint that needs one.
    let r = app
        .http
        .post(app.url("/update-package"))
        .body(push_payload(&repo))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Not a payload: 406.
    for body in ["", "not json", "[1]", "{}"] {
        assert_eq!(
            hook.send(body, None, None).await.status(),
            StatusCode::NOT_ACCEPTABLE,
            "{body:?}"
        );
    }
    // GitHub's form encoding works too.
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &push_payload(&repo))
        .finish();
    let r = app
        .http
        .post(app.url(&format!("/update-package?access_token={token}")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // A repository no add-on of the caller names: 404 (also for another account).
    let other =
        json!({"repository": {"url": "https://example.com/nobody/nothing.git"}}).to_string();
    assert_eq!(
        hook.send(&other, None, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let bob = app.account("bob").await;
    let bob_hook = Hook {
        app: &app,
        token: app.access_token(&bob).await,
    };
    assert_eq!(
        bob_hook
            .send(&push_payload(&repo), None, None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn local_repositories_are_refused_unless_the_deployment_allows_them() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/gitlib", "library", "1.0.0")
        .await;
    for url in ["/srv/git/lib", "file:///srv/git/lib"] {
        let r = app
            .patch_json(
                "/packages/acme/gitlib",
                &token,
                json!({"repositoryUrl": url}),
            )
            .await;
        assert_eq!(r.status(), 422, "{url}");
    }
}
