//! `POST /update-package?access_token=T`: GitHub's push webhook, as Packagist answers it.
//! The add-ons of the caller whose `repositoryUrl` matches the payload's repository are
//! synchronised in the background, through the caller's queue ([`super::sync_queue`]):
//! their tags are fetched with git (where the outbound-fetch policy lets it connect) and
//! every tag that is a version not yet published is published from `git archive`. `202`
//! with the jobs; `403` for a missing or wrong `X-Hub-Signature-256` when the add-on has a
//! secret; `404` when no add-on of the caller names the repository; `406` for a payload
//! that is not a push payload; `429` when the caller's queue is full. A replayed
//! `X-GitHub-Delivery` is acknowledged (`200`) and ignored.

use std::collections::HashSet;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::{UserCaller, Write};
use super::sync_queue::{Job, QueueFull};
use crate::domain::git::{RepositoryCredentials, mirror_dir, repository_key};
use crate::domain::package::{self, PackageName};
use crate::domain::version::Version;
use crate::http::error::ApiError;
use crate::service::git::{self, GitError, GitOptions};
use crate::state::AppState;
use crate::store::packages::Package;
use crate::store::{StoreError, now};

/// GitHub caps webhook payloads at 25 MB; a big push must not be a 413.
const PAYLOAD_LIMIT: usize = 25 * 1024 * 1024;

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/update-package",
        post(receive_webhook).layer(DefaultBodyLimit::max(PAYLOAD_LIMIT)),
    )
}

fn not_acceptable(message: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_ACCEPTABLE, "invalid_payload", message)
}

/// The push payload: a JSON body, or GitHub's form encoding (`payload=<json>`).
fn payload(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed = if form {
        form_urlencoded::parse(body)
            .find(|(k, _)| k == "payload")
            .and_then(|(_, v)| serde_json::from_str(&v).ok())
    } else {
        serde_json::from_slice(body).ok()
    };
    match parsed {
        Some(v @ Value::Object(_)) => Ok(v),
        _ => Err(not_acceptable("missing or invalid payload")),
    }
}

/// The repository URLs a payload names, as comparison keys.
fn repository_keys(payload: &Value) -> HashSet<String> {
    let repo = &payload["repository"];
    ["url", "html_url", "clone_url", "git_url", "ssh_url"]
        .iter()
        .filter_map(|k| repo.get(*k).and_then(Value::as_str))
        .map(repository_key)
        .collect()
}

/// `POST /update-package`.
pub async fn receive_webhook(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let payload = payload(&headers, &body)?;
    let keys = repository_keys(&payload);
    if keys.is_empty() {
        return Err(not_acceptable("the payload names no repository"));
    }
    let packages: Vec<Package> = state
        .services
        .store()
        .packages_with_repository(caller.user.id)
        .await?
        .into_iter()
        .filter(|p| {
            p.repository_url
                .as_deref()
                .is_some_and(|u| keys.contains(&repository_key(u)))
        })
        .collect();
    if packages.is_empty() {
        return Err(ApiError::not_found(
            "no add-on of yours names this repository",
        ));
    }
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    for p in &packages {
        if let Some(secret) = state.services.store().webhook_secret(&p.name).await? {
            let valid = signature.is_some_and(|s| package::verify_signature(&secret, &body, s));
            if !valid {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "invalid_signature",
                    "X-Hub-Signature-256 is missing or does not match the add-on's secret",
                ));
            }
        }
    }
    let delivery = match headers.get("x-github-delivery") {
        Some(d) => Some(
            d.to_str()
                .ok()
                .filter(|d| !d.is_empty() && d.len() <= 128)
                .ok_or_else(|| not_acceptable("invalid X-GitHub-Delivery"))?,
        ),
        None => None,
    };
    if let Some(delivery) = delivery
        && !state
            .services
            .store()
            .record_delivery(delivery, now())
            .await?
    {
        return Ok(
            Json(json!({ "status": "ignored", "reason": "replayed delivery" })).into_response(),
        );
    }
    let event = headers.get("x-github-event").and_then(|v| v.to_str().ok());
    if event == Some("ping") {
        return Ok(Json(json!({ "status": "success", "jobs": [] })).into_response());
    }
    let names: Vec<String> = packages.into_iter().map(|p| p.name).collect();
    let submitted = match state.syncs.submit(caller.user.id, &names) {
        Ok(s) => s,
        Err(QueueFull) => {
            // Not taken: a redelivery of this push must not count as a replay.
            if let Some(delivery) = delivery {
                state.services.store().forget_delivery(delivery).await?;
            }
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "sync_queue_full",
                "too many of your add-ons are waiting for a sync; try again later",
            )
            .with_header(header::RETRY_AFTER, QUEUE_FULL_RETRY_SECS.to_string()));
        }
    };
    if submitted.start_worker {
        tokio::spawn(work_queue(state.clone(), caller.user.id));
    }
    let jobs: Vec<Value> = submitted
        .jobs
        .iter()
        .map(|j| json!({ "id": j.id.to_string(), "package": j.package }))
        .collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "success", "jobs": jobs })),
    )
        .into_response())
}

/// Seconds a caller whose sync queue is full is asked to wait.
const QUEUE_FULL_RETRY_SECS: u64 = 60;

/// Works an owner's queue until it is empty, one sync at a time, each in a task of its own
/// (a panic fails that sync, not the queue).
async fn work_queue(state: AppState, owner: Uuid) {
    loop {
        let slot = state.syncs.slot().await;
        let Some(job) = state.syncs.next(owner) else {
            break;
        };
        let task = {
            let (state, job) = (state.clone(), job.clone());
            tokio::spawn(async move { run_job(&state, owner, &job).await })
        };
        let outcome = task.await.unwrap_or_else(|e| {
            tracing::error!(job = %job.id, package = %job.package, error = %e, "sync panicked");
            "failed"
        });
        state.metrics.git_sync(outcome);
        drop(slot);
    }
}

/// One sync, with its add-on's mirror to itself; the outcome as `git_syncs_total` counts it.
async fn run_job(state: &AppState, owner: Uuid, job: &Job) -> &'static str {
    let _mirror = state.syncs.lock_mirror(&job.package).await;
    // The add-on as it is now: the push may be older than a change of its URL or owner.
    let p = match state.services.store().package(&job.package).await {
        Ok(p) if p.owner_id == owner => p,
        Ok(_) | Err(StoreError::NotFound) => {
            tracing::info!(job = %job.id, package = %job.package, "add-on gone or changed owner; sync skipped");
            return "skipped";
        }
        Err(e) => {
            tracing::warn!(job = %job.id, package = %job.package, error = %e, "sync failed");
            return "failed";
        }
    };
    match sync_package(state, &p).await {
        Ok(published) => {
            tracing::info!(job = %job.id, package = %p.name, published, "sync done");
            "ok"
        }
        Err(e) => {
            tracing::warn!(job = %job.id, package = %p.name, error = %e, "sync failed");
            match e.downcast_ref::<GitError>() {
                Some(GitError::Refused(_)) => "refused",
                _ => "failed",
            }
        }
    }
}

/// Publishes every tag of the add-on's repository that is a version it does not have.
/// The caller holds the add-on's mirror lock.
pub async fn sync_package(state: &AppState, p: &Package) -> anyhow::Result<u32> {
    let name = PackageName::parse(&p.name).ok_or_else(|| anyhow::anyhow!("bad name"))?;
    let url = p
        .repository_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no repository"))?;
    let credentials = match state
        .services
        .store()
        .repository_credentials(&p.name)
        .await?
    {
        Some(c) => Some(
            RepositoryCredentials::parse(&c)
                .ok_or_else(|| anyhow::anyhow!("stored repository credentials are invalid"))?,
        ),
        None => None,
    };
    let cfg = &state.config.packages;
    let options = GitOptions {
        policy: cfg.outbound_policy(),
        timeout: Duration::from_secs(cfg.git_timeout.max(1)),
        max_archive: cfg.package_upload_limit,
        home: cfg.data_dir.join("git").join(".home"),
    };
    let mirror = mirror_dir(&cfg.data_dir, &name);
    let tags = git::fetch_tags(&mirror, &url, credentials.as_ref(), &options).await?;
    let have: HashSet<String> = state
        .services
        .store()
        .package_versions(&p.name)
        .await?
        .into_iter()
        .map(|v| v.version_normalized)
        .collect();
    let mut new: Vec<(Version, String)> = tags
        .into_iter()
        .filter_map(|t| Version::parse(&t).ok().map(|v| (v, t)))
        .filter(|(v, _)| !v.is_dev() && !have.contains(&v.normalized()))
        .collect();
    new.sort_by(|a, b| a.0.compare(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let mut published = 0;
    for (_, tag) in new {
        let zip = match git::archive_tag(&mirror, &tag, &options).await {
            Ok(z) => z,
            Err(e) => {
                tracing::warn!(package = %p.name, tag, error = %e, "cannot archive tag");
                continue;
            }
        };
        match state
            .services
            .packages()
            .publish(p.owner_id, &name, &tag, None, zip)
            .await
        {
            Ok(_) => {
                published += 1;
                tracing::info!(package = %p.name, tag, "published from git");
            }
            Err(e) => {
                tracing::warn!(package = %p.name, tag, error = %e, "tag not published")
            }
        }
    }
    Ok(published)
}
