//! `POST /update-package?access_token=T`: GitHub's push webhook, as Packagist answers it.
//! The add-ons of the caller whose `repositoryUrl` matches the payload's repository are
//! synchronised in the background, through the caller's queue ([`crate::jobs::sync`]):
//! their tags are fetched with git (where the outbound-fetch policy lets it connect) and
//! every tag that is a version not yet published is published from `git archive`. `202`
//! with the jobs; `403` for a missing or wrong `X-Hub-Signature-256` when the add-on has a
//! secret; `404` when no add-on of the caller names the repository; `406` for a payload
//! that is not a push payload; `429` when the caller's queue is full. A replayed
//! `X-GitHub-Delivery` is acknowledged (`200`) and ignored.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::auth::{UserCaller, Write};
use crate::http::error::responses::{BadRequest, Forbidden, NotFound, Unauthorized};
use crate::http::error::{ApiError, Envelope};
use crate::jobs::sync::QueueFull;
use crate::service::sync::{Accepted, Push};
use crate::state::AppState;

/// GitHub caps webhook payloads at 25 MB; a big push must not be a 413.
const PAYLOAD_LIMIT: usize = 25 * 1024 * 1024;

/// Seconds a caller whose sync queue is full is asked to wait.
const QUEUE_FULL_RETRY_SECS: u64 = 60;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive_webhook).layer(DefaultBodyLimit::max(PAYLOAD_LIMIT)))
}

/// What became of a push.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAnswer {
    status: WebhookStatus,
    /// Why it was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reason: Option<&'static str>,
    /// The syncs it started (or joined), one per add-on; none for a ping.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    jobs: Option<Vec<SyncJob>>,
}

/// `success`, or `ignored` for a replayed delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookStatus {
    /// Taken.
    Success,
    /// A delivery seen before: nothing was done.
    Ignored,
}

/// A sync the push queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncJob {
    /// The job (a push for an add-on whose sync still waits gets that sync's id).
    #[schema(format = "uuid")]
    id: String,
    /// The add-on, `vendor/name`.
    package: String,
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

/// The repository URLs a payload names, in every spelling GitHub sends.
fn repository_urls(payload: &Value) -> Vec<&str> {
    let repo = &payload["repository"];
    ["url", "html_url", "clone_url", "git_url", "ssh_url"]
        .iter()
        .filter_map(|k| repo.get(*k).and_then(Value::as_str))
        .collect()
}

/// GitHub push webhook: sync an add-on from its repository
///
/// The body is GitHub's push payload, as JSON or form-encoded (`payload=`), up to 25 MiB.
/// Each add-on of the caller whose `repositoryUrl` matches the payload's repository is
/// synchronised in the background: its new tags are published.
#[utoipa::path(
    post,
    path = "/update-package",
    tag = "packages",
    security(("accessToken" = ["write"])),
    params(
        ("X-Hub-Signature-256" = Option<String>, Header, nullable = false,
            description = "`sha256=` and the HMAC-SHA256 of the body, required when an add-on has a webhook secret"),
        ("X-GitHub-Delivery" = Option<String>, Header, nullable = false, min_length = 1, max_length = 128,
            description = "the delivery's id; one seen before is acknowledged and ignored"),
        ("X-GitHub-Event" = Option<String>, Header, nullable = false, description = "`ping` does nothing"),
    ),
    request_body(description = "GitHub's push payload", content(
        (PushPayload = "application/json"),
        (PushForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "A replayed delivery (`ignored`), or a ping (`success`, no jobs).",
            body = WebhookAnswer),
        (status = 202, description = "Accepted: one job per add-on.", body = WebhookAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 406, description = "Not a JSON object, or no repository URL in it (`invalid_payload`).",
            body = Envelope),
        (status = 413, description = "Over 25 MiB (`payload_too_large`).", body = Envelope),
        (status = 429, description = "Over the request rate limit (`rate_limited`), or too many of \
            the caller's add-ons wait for a sync (`sync_queue_full`): nothing was queued and the \
            delivery id was not recorded.", body = Envelope,
            headers(("Retry-After" = String, description = "seconds to wait"))),
    )
)]
pub async fn receive_webhook(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let payload = payload(&headers, &body)?;
    let urls = repository_urls(&payload);
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    // A delivery id that is not text is no valid id: the service refuses it as one.
    let delivery = headers
        .get("x-github-delivery")
        .map(|d| d.to_str().unwrap_or_default());
    let push = Push {
        repository_urls: &urls,
        body: &body,
        signature,
        delivery,
    };
    let packages = match state
        .services
        .sync()
        .accept_push(&caller.user, push)
        .await?
    {
        Accepted::Sync(packages) => packages,
        Accepted::Replayed => {
            return Ok(Json(WebhookAnswer {
                status: WebhookStatus::Ignored,
                reason: Some("replayed delivery"),
                jobs: None,
            })
            .into_response());
        }
    };
    let event = headers.get("x-github-event").and_then(|v| v.to_str().ok());
    if event == Some("ping") {
        return Ok(Json(WebhookAnswer {
            status: WebhookStatus::Success,
            reason: None,
            jobs: Some(Vec::new()),
        })
        .into_response());
    }
    let jobs = match state.syncs.submit(caller.user.id, &packages) {
        Ok(jobs) => jobs,
        Err(QueueFull) => {
            // Not taken: a redelivery of this push must not count as a replay.
            if let Some(delivery) = delivery {
                state.services.sync().forget_delivery(delivery).await?;
            }
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "sync_queue_full",
                "too many of your add-ons are waiting for a sync; try again later",
            )
            .with_header(header::RETRY_AFTER, QUEUE_FULL_RETRY_SECS.to_string()));
        }
    };
    let jobs = jobs
        .iter()
        .map(|j| SyncJob {
            id: j.id.to_string(),
            package: j.package.clone(),
        })
        .collect();
    let answer = WebhookAnswer {
        status: WebhookStatus::Success,
        reason: None,
        jobs: Some(jobs),
    };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// What the webhook reads of GitHub's push payload (it carries much more): the pushed
/// repository's URLs, at least one of them.
// Read as a `serde_json::Value` by `repository_urls`; this type describes it.
#[derive(ToSchema)]
pub struct PushPayload {
    /// The pushed repository.
    pub repository: PushRepository,
}

/// The URLs of the pushed repository, compared with each add-on's `repositoryUrl` as host
/// and path, case-insensitively, without `.git`.
#[derive(ToSchema)]
pub struct PushRepository {
    /// The repository's URL.
    #[schema(min_length = 1)]
    pub url: String,
    /// Its web page.
    pub html_url: Option<String>,
    /// Its https clone URL.
    pub clone_url: Option<String>,
    /// Its `git://` URL.
    pub git_url: Option<String>,
    /// Its ssh URL.
    pub ssh_url: Option<String>,
}

/// GitHub's form encoding of a push.
#[derive(ToSchema)]
pub struct PushForm {
    /// The push payload, as JSON text (a `PushPayload`).
    pub payload: String,
}
