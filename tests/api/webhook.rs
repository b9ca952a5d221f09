//! `POST /update-package`: GitHub's push webhook publishing tags from a local git
//! repository or a git server on 127.0.0.1 (never the internet), signatures, replays and
//! Packagist's status codes; the outbound-fetch policy (what the server may fetch from) and
//! the per-owner sync queues.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use harmony::domain::outbound::Transport;
use harmony::jobs::sync::{JobOutcome, JobState};
use harmony::store::packages::PackageChanges;
use uuid::Uuid;

use crate::helpers::{FileServer, SilentServer, TestApp, invalid_fields, refusal};

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

    /// Sends a delivery that must be accepted (`202`); answers the ids of the sync jobs it
    /// queued, one per add-on.
    async fn accepted(
        &self,
        body: &str,
        signature: Option<&str>,
        delivery: Option<&str>,
    ) -> Vec<Uuid> {
        let r = self.send(body, signature, delivery).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["status"], "success", "{answer}");
        job_ids(&answer)
    }
}

/// The ids of the jobs a `202` answer lists.
fn job_ids(answer: &Value) -> Vec<Uuid> {
    answer["jobs"]
        .as_array()
        .unwrap_or_else(|| panic!("no jobs in {answer}"))
        .iter()
        .map(|job| job["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// How sync job `id` ended, awaited through the runner (the event, not a guess).
async fn outcome(app: &TestApp, id: Uuid) -> JobOutcome {
    tokio::time::timeout(Duration::from_secs(60), app.state.syncs.finished(id))
        .await
        .unwrap_or_else(|_| panic!("sync job {id} did not end within 60 s"))
        .unwrap_or_else(|| panic!("the sync runner does not know job {id}"))
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

    // Two new tags; 0.9.0 was uploaded already and not-a-version is no version.
    let job = job_ids(&answer)[0];
    assert_eq!(
        outcome(&app, job).await,
        JobOutcome::Synced { published: 2 }
    );
    let v = version_list(&app, &token, "acme/gitlib").await;
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

    // Provenance: the webhook and the commit its tag named; the upload as an upload.
    let commit = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["rev-parse", "1.1.0^{commit}"])
        .output()
        .unwrap();
    let commit = String::from_utf8(commit.stdout).unwrap().trim().to_owned();
    assert_eq!(commit.len(), 40);
    let synced = app
        .json_as("/packages/acme/gitlib/versions/1.1.0", None, 200)
        .await;
    assert_eq!(
        synced["source"],
        json!({"kind": "webhook", "commit": commit})
    );
    assert_eq!(
        synced["publishedBy"],
        json!({"type": "user", "name": "alice", "tokenId": null})
    );
    let uploaded = app
        .json_as("/packages/acme/gitlib/versions/0.9.0", None, 200)
        .await;
    assert_eq!(
        uploaded["source"],
        json!({"kind": "upload", "commit": null})
    );

    // The same delivery again is acknowledged and ignored.
    let r = hook.send(&body, Some(&signature), Some("delivery-1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ignored");

    // A new tag with a new delivery is published; the old ones are not re-published.
    git(&repo, &["commit", "--quiet", "--allow-empty", "-m", "next"]);
    git(&repo, &["tag", "1.2.0"]);
    let jobs = hook
        .accepted(&body, Some(&signature), Some("delivery-2"))
        .await;
    assert_eq!(
        outcome(&app, jobs[0]).await,
        JobOutcome::Synced { published: 1 }
    );
    let v = version_list(&app, &token, "acme/gitlib").await;
    assert_eq!(v, ["1.2.0", "1.1.0", "v1.0.0", "0.9.0"]);
}

#[tokio::test]
async fn a_sync_jobs_outcome_is_told_by_its_id_once_it_ended() {
    let app = TestApp::spawn_with(|c| c.packages.allow_local_repositories = true).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("gitlib");
    repository(&repo, "acme/gitlib", &["1.0.0", "1.1.0"]);
    let token = setup(&app, &repo, None).await;
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    let r = hook.send(&push_payload(&repo), None, None).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let answer: Value = r.json().await.unwrap();
    let id: uuid::Uuid = answer["jobs"][0]["id"].as_str().unwrap().parse().unwrap();

    // The runner tells when the job ended and how, by the id the webhook answered.
    let outcome = tokio::time::timeout(Duration::from_secs(60), app.state.syncs.finished(id))
        .await
        .expect("the job ends within the bound");
    let synced = JobOutcome::Synced { published: 2 };
    assert_eq!(outcome, Some(synced));
    assert_eq!(app.state.syncs.state(id), Some(JobState::Finished(synced)));
    // Its end is the publication's: both tags are there, without polling.
    let p = app
        .json_as("/packages/acme/gitlib", Some(&token), 200)
        .await;
    let versions: Vec<&str> = p["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.1.0", "1.0.0", "0.9.0"]);

    // A job the runner never ran is unknown, at once.
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(app.state.syncs.state(unknown), None);
    assert_eq!(app.state.syncs.finished(unknown).await, None);
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
        let error = refusal(r, StatusCode::FORBIDDEN, "invalid_signature").await;
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("X-Hub-Signature-256"),
            "{sig:?}: {error}"
        );
    }
    // Nothing was published, and nothing was queued that could publish later.
    assert_eq!(
        app.state.syncs.known_jobs(),
        0,
        "a refused push queued a sync"
    );
    assert_eq!(version_list(&app, &token, "acme/gitlib").await, ["0.9.0"]);

    // The refused deliveries did not burn the id: signed, it publishes the tag.
    let good = harmony::domain::package::sign("a-good-secret", body.as_bytes());
    let jobs = hook.accepted(&body, Some(&good), Some("d")).await;
    assert_eq!(
        outcome(&app, jobs[0]).await,
        JobOutcome::Synced { published: 1 }
    );
    assert_eq!(
        version_list(&app, &token, "acme/gitlib").await,
        ["1.0.0", "0.9.0"]
    );
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
    let jobs = hook.accepted(&push_payload(&repo), None, None).await;
    assert_eq!(
        outcome(&app, jobs[0]).await,
        JobOutcome::Synced { published: 1 }
    );
    assert_eq!(
        version_list(&app, &token, "acme/gitlib").await,
        ["1.0.0", "0.9.0"]
    );
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
    refusal(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Not a payload: 406.
    for body in ["", "not json", "[1]", "{}"] {
        let r = hook.send(body, None, None).await;
        let error = refusal(r, StatusCode::NOT_ACCEPTABLE, "invalid_payload").await;
        assert!(
            error["message"].as_str().unwrap().contains("payload"),
            "{body:?}: {error}"
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
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["jobs"][0]["package"], "acme/gitlib");
    assert_eq!(
        outcome(&app, job_ids(&answer)[0]).await,
        JobOutcome::Synced { published: 1 }
    );
    // A repository no add-on of the caller names: 404 (also for another account).
    let other =
        json!({"repository": {"url": "https://example.com/nobody/nothing.git"}}).to_string();
    refusal(
        hook.send(&other, None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let bob = app.account("bob").await;
    let bob_hook = Hook {
        app: &app,
        token: app.access_token(&bob).await,
    };
    let error = refusal(
        bob_hook.send(&push_payload(&repo), None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(error["message"], "no add-on of yours names this repository");
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
        refused_field(r, url).await;
    }
    let p = app.json_as("/packages/acme/gitlib", None, 200).await;
    assert_eq!(p["repositoryUrl"], Value::Null);

    // A deployment that allows them takes a local URL.
    let allowing = TestApp::spawn_with(|c| c.packages.allow_local_repositories = true).await;
    let token = published(&allowing).await;
    let r = allowing
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": "file:///srv/git/lib"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["repositoryUrl"], "file:///srv/git/lib");
}

/// A bare copy of `repo` under `root/NAME.git`, ready for git's dumb HTTP protocol.
fn bare_for_http(repo: &Path, root: &Path, name: &str) {
    let bare = root.join(format!("{name}.git"));
    let status = Command::new("git")
        .args(["clone", "--bare", "--quiet"])
        .arg(repo)
        .arg(&bare)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git runs");
    assert!(status.success());
    git(&bare, &["update-server-info"]);
}

/// A push payload naming `url`.
fn push_for(url: &str) -> String {
    json!({"ref": "refs/heads/main", "repository": {"url": url, "name": "x"}}).to_string()
}

/// `git_syncs_total{outcome=…}` of `/metrics`.
async fn syncs(app: &TestApp, outcome: &str) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    let prefix = format!("git_syncs_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map_or(0, |n| n.trim().parse().unwrap())
}

async fn version_list(app: &TestApp, token: &str, name: &str) -> Vec<String> {
    let p = app
        .json_as(&format!("/packages/{name}"), Some(token), 200)
        .await;
    p["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_owned())
        .collect()
}

/// alice's `acme/gitlib 0.9.0`, and her token.
async fn published(app: &TestApp) -> String {
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/gitlib", "harmony-extension", "0.9.0")
        .await;
    token
}

/// A git server on 127.0.0.1 serving `gitlib.git` with tags 1.0.0 and 1.1.0.
async fn local_git_server(dir: &Path) -> FileServer {
    let repo = dir.join("src");
    repository(&repo, "acme/gitlib", &["1.0.0", "1.1.0"]);
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    bare_for_http(&repo, &served, "gitlib");
    FileServer::serve(served).await
}

/// The `repositoryUrl` message of a 422 for `url`.
async fn refused_field(r: Response, url: &str) -> String {
    assert_eq!(r.status(), 422, "{url}");
    let body: Value = r.json().await.unwrap();
    body["error"]["fields"]["repositoryUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{url}: no repositoryUrl field error: {body}"))
        .to_owned()
}

#[tokio::test]
async fn a_git_server_on_the_loopback_is_refused_by_default_and_never_contacted() {
    let dir = tempfile::tempdir().unwrap();
    let server = local_git_server(dir.path()).await;
    let app = TestApp::spawn().await;
    let token = published(&app).await;
    let url = server.url("/gitlib.git");

    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": url}),
        )
        .await;
    assert!(refused_field(r, &url).await.contains("loopback"));

    // A URL stored before the rule existed (or a name that resolved elsewhere when it was
    // stored) is judged again at fetch time.
    let changes = PackageChanges {
        repository_url: Some(Some(url.clone())),
        ..PackageChanges::default()
    };
    app.state
        .services
        .store()
        .update_package("acme/gitlib", &changes)
        .await
        .unwrap();
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    let jobs = hook.accepted(&push_for(&url), None, None).await;
    assert_eq!(outcome(&app, jobs[0]).await, JobOutcome::Refused);
    assert_eq!(syncs(&app, "refused").await, 1);
    assert_eq!(syncs(&app, "ok").await, 0);
    assert_eq!(version_list(&app, &token, "acme/gitlib").await, ["0.9.0"]);
    assert_eq!(server.hits(), 0, "the server was contacted");
}

#[tokio::test]
async fn an_allow_listed_git_server_is_fetched_from() {
    let dir = tempfile::tempdir().unwrap();
    let server = local_git_server(dir.path()).await;
    let allowed = server.addr.to_string();
    let app = TestApp::spawn_with(|c| {
        c.packages.git_allowed_hosts = allowed.parse().unwrap();
    })
    .await;
    let token = published(&app).await;
    // Only the port allowed: another service on the same address stays refused.
    let other = format!("http://127.0.0.1:{}/gitlib.git", server.addr.port() ^ 1);
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": other}),
        )
        .await;
    refused_field(r, &other).await;

    let url = server.url("/gitlib.git");
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": url}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    let jobs = hook.accepted(&push_for(&url), None, None).await;
    assert_eq!(
        outcome(&app, jobs[0]).await,
        JobOutcome::Synced { published: 2 }
    );
    assert_eq!(syncs(&app, "ok").await, 1);
    let v = version_list(&app, &token, "acme/gitlib").await;
    assert_eq!(v, ["1.1.0", "1.0.0", "0.9.0"]);
    assert!(server.hits() > 0);
}

#[tokio::test]
async fn a_redirect_to_a_server_that_is_not_allowed_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let forbidden = local_git_server(dir.path()).await;
    let redirector = FileServer::redirect_to(forbidden.url("")).await;
    let allowed = redirector.addr.to_string();
    let app = TestApp::spawn_with(|c| {
        c.packages.git_allowed_hosts = allowed.parse().unwrap();
    })
    .await;
    let token = published(&app).await;
    let url = redirector.url("/gitlib.git");
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": url}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    let jobs = hook.accepted(&push_for(&url), None, None).await;
    assert_eq!(outcome(&app, jobs[0]).await, JobOutcome::Failed);
    assert_eq!(syncs(&app, "failed").await, 1);
    assert!(redirector.hits() > 0);
    assert_eq!(forbidden.hits(), 0, "the redirect was followed");
    assert_eq!(version_list(&app, &token, "acme/gitlib").await, ["0.9.0"]);
}

#[tokio::test]
async fn patch_refuses_what_a_fetch_would_refuse() {
    let app = TestApp::spawn().await;
    let token = published(&app).await;
    let own_port = app.base.rsplit(':').next().unwrap().to_owned();
    let mut refused: Vec<String> = [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.git",
        "http://[::ffff:127.0.0.1]/x.git",
        "http://0.0.0.0/x.git",
        "http://10.0.0.1/x.git",
        "http://192.168.1.10/x.git",
        "http://100.64.0.1/x.git",
        "http://[fc00::1]/x.git",
        "http://[fe80::1]/x.git",
        "http://224.0.0.1/x.git",
        "http://2130706433/x.git",
        "http://localhost/x.git",
        "https://user:token@github.com/acme/lib.git",
        "https://ghp_token@github.com/acme/lib.git",
        "ssh://git@github.com/acme/lib.git",
        "git@github.com:acme/lib.git",
        "git://github.com/acme/lib.git",
        "ftp://github.com/acme/lib.git",
        "https://github.com/acme/lib.git?x=1",
    ]
    .map(str::to_owned)
    .to_vec();
    // harmony's own port.
    refused.push(format!("http://127.0.0.1:{own_port}/update-package"));
    // This machine's address on its network, if it has one.
    if let Ok(s) = std::net::UdpSocket::bind("0.0.0.0:0")
        && s.connect("192.0.2.1:9").is_ok()
        && let Ok(local) = s.local_addr()
    {
        refused.push(format!("http://{}:{own_port}/x.git", local.ip()));
    }
    for url in &refused {
        let r = app
            .patch_json(
                "/packages/acme/gitlib",
                &token,
                json!({"repositoryUrl": url}),
            )
            .await;
        let message = refused_field(r, url).await;
        assert!(!message.is_empty(), "{url}");
    }
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": "https://user:token@github.com/acme/lib.git"}),
        )
        .await;
    assert!(
        refused_field(r, "credentials")
            .await
            .contains("credentials")
    );
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": "ssh://git@github.com/acme/lib.git"}),
        )
        .await;
    assert!(refused_field(r, "ssh").await.contains("ssh"));
    // Nothing of it was stored.
    let p = app.json_as("/packages/acme/gitlib", None, 200).await;
    assert_eq!(p["repositoryUrl"], Value::Null);

    // A host name that does not resolve (DNS is not the server's to predict) is taken, in
    // its canonical form; each fetch resolves it and checks again.
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": "HTTPS://GitHub.com/acme/lib.git"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["repositoryUrl"], "https://github.com/acme/lib.git");
}

#[tokio::test]
async fn ssh_and_git_urls_follow_the_address_rule_where_the_deployment_enables_them() {
    let app = TestApp::spawn_with(|c| {
        c.packages.git_protocols = vec![Transport::Https, Transport::Ssh, Transport::Git];
    })
    .await;
    let token = published(&app).await;
    for url in [
        "ssh://git@github.com/acme/lib.git",
        "git@github.com:acme/lib.git",
        "git://github.com/acme/lib.git",
    ] {
        let r = app
            .patch_json(
                "/packages/acme/gitlib",
                &token,
                json!({"repositoryUrl": url}),
            )
            .await;
        assert_eq!(r.status(), 200, "{url}");
    }
    for url in [
        "ssh://git@127.0.0.1/x.git",
        "git@10.0.0.1:x.git",
        "git@localhost:x.git",
        "git://[::1]/x.git",
        "ssh://git:password@github.com/acme/lib.git",
        // http is not among the enabled transports here.
        "http://github.com/acme/lib.git",
    ] {
        let r = app
            .patch_json(
                "/packages/acme/gitlib",
                &token,
                json!({"repositoryUrl": url}),
            )
            .await;
        refused_field(r, url).await;
    }
}

#[tokio::test]
async fn repository_credentials_are_write_only_https_only_and_bound_to_their_host() {
    let app = TestApp::spawn().await;
    let token = published(&app).await;
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": "https://git.example.com/acme/lib.git",
                   "repositoryCredentials": "x-access-token:ghp_s3cret"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains("s3cret"), "{text}");
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["hasRepositoryCredentials"], true);
    let public = app.json_as("/packages/acme/gitlib", None, 200).await;
    assert_eq!(public.get("hasRepositoryCredentials"), None);
    assert!(!public.to_string().contains("s3cret"));

    // The same host, another path: kept.
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": "https://git.example.com/acme/lib2.git"}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["hasRepositoryCredentials"],
        true
    );
    for bad in ["token-without-user", ":token", "user:", "a:b\u{7}"] {
        let r = app
            .patch_json(
                "/packages/acme/gitlib",
                &token,
                json!({"repositoryCredentials": bad}),
            )
            .await;
        let fields = invalid_fields(r).await;
        assert!(
            fields.contains_key("repositoryCredentials"),
            "{bad:?}: {fields:?}"
        );
    }
    // Another host, or another scheme, does not get them.
    for url in [
        "https://elsewhere.example.org/acme/lib.git",
        "http://git.example.com/acme/lib2.git",
    ] {
        let r = app
            .patch_json(
                "/packages/acme/gitlib",
                &token,
                json!({"repositoryUrl": "https://git.example.com/acme/lib2.git",
                       "repositoryCredentials": "u:t"}),
            )
            .await;
        assert_eq!(
            r.json::<Value>().await.unwrap()["hasRepositoryCredentials"],
            true
        );
        let r = app
            .patch_json(
                "/packages/acme/gitlib",
                &token,
                json!({"repositoryUrl": url}),
            )
            .await;
        assert_eq!(
            r.json::<Value>().await.unwrap()["hasRepositoryCredentials"],
            false,
            "{url}"
        );
        assert_eq!(
            app.state
                .services
                .store()
                .repository_credentials("acme/gitlib")
                .await
                .unwrap(),
            None
        );
    }
    // Credentials travel over https only: not for a plain http URL.
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryCredentials": "u:t"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["fields"]["repositoryCredentials"]
            .as_str()
            .unwrap()
            .contains("https")
    );
    // null clears them.
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryUrl": "https://git.example.com/acme/lib.git",
                   "repositoryCredentials": "u:t"}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["hasRepositoryCredentials"],
        true
    );
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &token,
            json!({"repositoryCredentials": null}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["hasRepositoryCredentials"],
        false
    );

    // A URL stored with credentials before they were refused is shown without them.
    let changes = PackageChanges {
        repository_url: Some(Some(
            "https://bob:t0ken@git.example.com/acme/lib.git".into(),
        )),
        ..PackageChanges::default()
    };
    app.state
        .services
        .store()
        .update_package("acme/gitlib", &changes)
        .await
        .unwrap();
    let public = app.json_as("/packages/acme/gitlib", None, 200).await;
    assert_eq!(
        public["repositoryUrl"],
        "https://git.example.com/acme/lib.git"
    );
    let listed = app.json_as("/packages", None, 200).await;
    assert!(!listed.to_string().contains("t0ken"));
}

#[tokio::test]
async fn an_unreachable_repository_delays_only_its_owners_syncs() {
    let silent = SilentServer::start().await;
    let allowed = silent.addr.to_string();
    let app = TestApp::spawn_with(|c| {
        c.packages.allow_local_repositories = true;
        c.packages.git_allowed_hosts = allowed.parse().unwrap();
        c.packages.git_timeout = 600;
    })
    .await;
    // alice's repository accepts the connection and never answers.
    let alice_token = published(&app).await;
    let slow = format!("http://{}/slow.git", silent.addr);
    let r = app
        .patch_json(
            "/packages/acme/gitlib",
            &alice_token,
            json!({"repositoryUrl": slow}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let alice = Hook {
        app: &app,
        token: alice_token.clone(),
    };
    let first = alice.accepted(&push_for(&slow), None, None).await[0];
    // Its git is connected and waiting for an answer that never comes.
    silent.first_connection(Duration::from_secs(30)).await;

    // bob's sync does not wait for alice's.
    let bob = app.account("bob").await;
    let bob_token = app.access_token(&bob).await;
    app.publish_ok(&bob_token, "bobco/gitlib", "harmony-extension", "0.9.0")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("gitlib");
    repository(&repo, "bobco/gitlib", &["1.0.0"]);
    let local = format!("file://{}", repo.display());
    let r = app
        .patch_json(
            "/packages/bobco/gitlib",
            &bob_token,
            json!({"repositoryUrl": local}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let bob_hook = Hook {
        app: &app,
        token: bob_token.clone(),
    };
    let bobs = bob_hook.accepted(&push_for(&local), None, None).await;
    assert_eq!(
        outcome(&app, bobs[0]).await,
        JobOutcome::Synced { published: 1 }
    );
    let v = version_list(&app, &bob_token, "bobco/gitlib").await;
    assert_eq!(v, ["1.0.0", "0.9.0"]);
    assert_eq!(
        app.state.syncs.state(first),
        Some(JobState::Running),
        "bob's sync ended while alice's still hangs"
    );

    // While it hangs, alice's next pushes wait behind it, as one sync: a push for an add-on
    // already waiting joins that sync.
    let second = alice.accepted(&push_for(&slow), None, None).await[0];
    let third = alice.accepted(&push_for(&slow), None, None).await[0];
    assert_ne!(second, first);
    assert_eq!(third, second);
    assert_eq!(app.state.syncs.state(second), Some(JobState::Queued));
    assert_eq!(app.state.syncs.state(first), Some(JobState::Running));

    assert_eq!(
        silent.accepted(),
        1,
        "alice's queue ran a second sync at once"
    );
}

#[tokio::test]
async fn a_push_that_overflows_the_owners_queue_is_429_and_can_be_redelivered() {
    let app = TestApp::spawn_with(|c| {
        c.packages.allow_local_repositories = true;
        c.packages.git_sync_queue = 1;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("gitlib");
    repository(&repo, "acme/gitlib", &["1.0.0"]);
    let token = setup(&app, &repo, None).await;
    // A second add-on built from the same repository: one push names both.
    app.publish_ok(&token, "acme/gitlib-copy", "harmony-extension", "0.9.0")
        .await;
    let url = format!("file://{}", repo.display());
    let r = app
        .patch_json(
            "/packages/acme/gitlib-copy",
            &token,
            json!({"repositoryUrl": url}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let hook = Hook {
        app: &app,
        token: token.clone(),
    };
    for _ in 0..2 {
        let r = hook.send(&push_payload(&repo), None, Some("d-1")).await;
        assert!(r.headers().contains_key("retry-after"));
        let error = refusal(r, StatusCode::TOO_MANY_REQUESTS, "sync_queue_full").await;
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("try again later"),
            "{error}"
        );
    }
    // Nothing was queued.
    assert_eq!(app.state.syncs.known_jobs(), 0);
    assert_eq!(version_list(&app, &token, "acme/gitlib").await, ["0.9.0"]);

    // Once the push fits the queue (it names one add-on now), the same delivery is
    // accepted, not ignored as seen before, and syncs.
    let r = app
        .patch_json(
            "/packages/acme/gitlib-copy",
            &token,
            json!({"repositoryUrl": null}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let jobs = hook.accepted(&push_payload(&repo), None, Some("d-1")).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        outcome(&app, jobs[0]).await,
        JobOutcome::Synced { published: 1 }
    );
    assert_eq!(
        version_list(&app, &token, "acme/gitlib").await,
        ["1.0.0", "0.9.0"]
    );
}
