//! `POST /update-package?access_token=T`: GitHub's push webhook, as Packagist answers it.
//! The add-ons of the caller whose `repositoryUrl` matches the payload's repository are
//! synchronised in the background: their tags are fetched with git and every tag that is
//! a version not yet published is published from `git archive`. `202` with the jobs;
//! `403` for a missing or wrong `X-Hub-Signature-256` when the add-on has a secret; `404`
//! when no add-on of the caller names the repository; `406` for a payload that is not a
//! push payload. A replayed `X-GitHub-Delivery` is acknowledged (`200`) and ignored.

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

use super::AppState;
use super::auth::{UserCaller, Write};
use super::packages::{Published, publish_dist};
use crate::domain::git::{self, GitOptions};
use crate::domain::package::{self, PackageName};
use crate::domain::version::Version;
use crate::error::ApiError;
use crate::store::now;
use crate::store::packages::Package;

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
        .map(git::repository_key)
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
        .store
        .packages_with_repository(caller.user.id)
        .await?
        .into_iter()
        .filter(|p| {
            p.repository_url
                .as_deref()
                .is_some_and(|u| keys.contains(&git::repository_key(u)))
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
        if let Some(secret) = state.store.webhook_secret(&p.name).await? {
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
    if let Some(delivery) = headers.get("x-github-delivery") {
        let delivery = delivery
            .to_str()
            .ok()
            .filter(|d| !d.is_empty() && d.len() <= 128)
            .ok_or_else(|| not_acceptable("invalid X-GitHub-Delivery"))?;
        if !state.store.record_delivery(delivery, now()).await? {
            return Ok(
                Json(json!({ "status": "ignored", "reason": "replayed delivery" })).into_response(),
            );
        }
    }
    let event = headers.get("x-github-event").and_then(|v| v.to_str().ok());
    if event == Some("ping") {
        return Ok(Json(json!({ "status": "success", "jobs": [] })).into_response());
    }
    let mut jobs = Vec::new();
    for p in packages {
        let id = Uuid::new_v4();
        jobs.push(json!({ "id": id.to_string(), "package": p.name }));
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = sync_package(&state, &p).await {
                tracing::warn!(job = %id, package = %p.name, error = %e, "sync failed");
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "success", "jobs": jobs })),
    )
        .into_response())
}

/// Publishes every tag of the add-on's repository that is a version it does not have.
pub async fn sync_package(state: &AppState, p: &Package) -> anyhow::Result<u32> {
    let name = PackageName::parse(&p.name).ok_or_else(|| anyhow::anyhow!("bad name"))?;
    let url = p
        .repository_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no repository"))?;
    let cfg = &state.config.packages;
    let options = GitOptions {
        allow_local: cfg.allow_local_repositories,
        timeout: Duration::from_secs(cfg.git_timeout.max(1)),
        max_archive: cfg.package_upload_limit,
    };
    let mirror = git::mirror_dir(&cfg.data_dir, &name);
    let _one_at_a_time = state.git_sync.lock().await;
    let tags = git::fetch_tags(&mirror, &url, &options).await?;
    let have: HashSet<String> = state
        .store
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
        match publish_dist(state, p.owner_id, &name, &tag, None, Bytes::from(zip)).await {
            Ok(Published::Created(..)) => {
                published += 1;
                tracing::info!(package = %p.name, tag, "published from git");
            }
            Err(e) => {
                tracing::warn!(package = %p.name, tag, error = %e.message, "tag not published")
            }
        }
    }
    Ok(published)
}
