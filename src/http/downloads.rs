//! Download statistics: `POST /downloads/`, Composer's install notifications (the
//! `notify-batch` URL of `packages.json`), and `GET /packages/{vendor}/{name}/stats`.
//! Notifications are counted in memory and written in batches (see
//! [`crate::service::downloads`]); the statistics show what was written.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::OptionalCaller;
use super::extract::ApiJson;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::downloads::MAX_BATCH;
use crate::state::AppState;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(notify_downloads))
        .routes(routes!(get_package_stats))
}

/// One install, as Composer reports it.
#[derive(Deserialize, ToSchema)]
pub struct Notification {
    /// `vendor/name`.
    name: String,
    /// The version: normalized (`1.0.0.0`, as Composer sends it) or as published.
    version: String,
}

/// Composer's `notify-batch` body. (Other keys, such as the `downloaded` Composer sends
/// to packagist.org, are ignored.)
#[derive(Deserialize, ToSchema)]
#[schema(as = DownloadNotifications)]
pub struct Notifications {
    /// The installs, at most 1000.
    #[schema(max_items = 1000)]
    downloads: Vec<Notification>,
}

/// `{"status": "success"}`, as Packagist answers.
#[derive(Serialize, ToSchema)]
#[schema(as = NotificationAnswer)]
pub struct Accepted {
    /// `success`.
    status: &'static str,
}

/// Composer's install notifications (`notify-batch`)
///
/// Counted per version per day, nothing about who installed; the same answer whether
/// or not a name is an add-on the caller may see (those are not counted). Counts appear
/// in the statistics once written (every `HARMONY_DOWNLOADS_FLUSH_MS`).
#[utoipa::path(
    post,
    path = "/downloads/",
    tag = "composer",
    security(("accessToken" = ["read"]), ()),
    request_body = Notifications,
    responses(
        (status = 201, description = "Taken.", body = Accepted),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn notify_downloads(
    State(state): State<AppState>,
    caller: OptionalCaller,
    ApiJson(body): ApiJson<Notifications>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    if body.downloads.len() > MAX_BATCH {
        return Err(ApiError::invalid_field(
            "downloads",
            format!("at most {MAX_BATCH} per notification"),
        ));
    }
    let pairs: Vec<(String, String)> = body
        .downloads
        .into_iter()
        .map(|n| (n.name, n.version))
        .collect();
    state
        .services
        .downloads()
        .notify(caller.viewer, &pairs)
        .await?;
    Ok((StatusCode::CREATED, Json(Accepted { status: "success" })))
}

/// One day's installs.
#[derive(Serialize, ToSchema)]
pub struct DailyCount {
    /// `YYYY-MM-DD` (UTC).
    #[schema(format = Date)]
    date: String,
    count: i64,
}

/// An add-on's installs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownloadCounts {
    /// All time.
    total: i64,
    /// The last 30 days, today included.
    last30_days: i64,
    /// Per version (as published), all time.
    versions: BTreeMap<String, i64>,
    /// Each of the last 30 days, oldest first.
    daily: Vec<DailyCount>,
}

/// `GET /packages/{vendor}/{name}/stats`.
#[derive(Serialize, ToSchema)]
#[schema(as = PackageStats)]
pub struct StatsView {
    downloads: DownloadCounts,
}

/// An add-on's download statistics
#[utoipa::path(
    get,
    path = "/packages/{vendor}/{name}/stats",
    tag = "packages",
    security(("accessToken" = ["read"]), ()),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
    ),
    responses(
        (status = 200, description = "Its installs.", body = StatsView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_package_stats(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name)): Path<(String, String)>,
) -> Result<Json<StatsView>, ApiError> {
    let s = state
        .services
        .downloads()
        .stats(caller.viewer, &vendor, &name)
        .await?;
    Ok(Json(StatsView {
        downloads: DownloadCounts {
            total: s.total,
            last30_days: s.last_30_days,
            versions: s.versions,
            daily: s
                .daily
                .into_iter()
                .map(|(date, count)| DailyCount { date, count })
                .collect(),
        },
    }))
}
