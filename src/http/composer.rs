//! The Composer v2 repository: `GET /packages.json` (with `metadata-url` and
//! `available-packages`) and `GET /p2/{vendor}/{name}.json` / `~dev.json`, served
//! non-minified (Composer 2 expands only files that say `"minified": "composer/2.0"`).
//! Each caller sees exactly the add-ons it may see; credentials come as `Bearer` or HTTP
//! Basic (the token as password), which the auth middleware already reads.
//! `Last-Modified` / `If-Modified-Since` let Composer revalidate its cache.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::OptionalCaller;
use super::packages::{dist_url, sort_newest_first, visible_package};
use super::user::rfc3339;
use crate::domain::version::Version;
use crate::error::ApiError;
use crate::store::Timestamp;

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/packages.json", get(get_repository))
        .route("/p2/{vendor}/{file}", get(get_package_metadata))
}

/// An HTTP date (RFC 9110 §5.6.7).
fn http_date(t: Timestamp) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Was the resource, last changed at `t`, unchanged since the client's copy?
fn not_modified_since(headers: &HeaderMap, t: Timestamp) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
        .is_some_and(|since| t <= since.timestamp())
}

/// A JSON answer with `Last-Modified`, or `304` when `If-Modified-Since` covers it.
fn conditional(headers: &HeaderMap, last_modified: Option<Timestamp>, body: Value) -> Response {
    let mut response = match last_modified {
        Some(t) if not_modified_since(headers, t) => StatusCode::NOT_MODIFIED.into_response(),
        _ => Json(body).into_response(),
    };
    let h = response.headers_mut();
    if let Some(t) = last_modified
        && let Ok(v) = HeaderValue::from_str(&http_date(t))
    {
        h.insert(header::LAST_MODIFIED, v);
    }
    // The answer depends on the credentials.
    h.insert(header::VARY, HeaderValue::from_static("Authorization"));
    response
}

/// The path prefix of the public URL (`https://h/harmony` → `/harmony`), for the
/// `metadata-url` template that Composer resolves against the repository's host.
fn path_prefix(state: &AppState) -> String {
    url::Url::parse(&state.public_url)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// `GET /packages.json`: the repository's root file.
pub async fn get_repository(
    State(state): State<AppState>,
    caller: OptionalCaller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (names, latest) = state.store.visible_package_names(caller.viewer).await?;
    let body = json!({
        "packages": [],
        "metadata-url": format!("{}/p2/%package%.json", path_prefix(&state)),
        "available-packages": names,
    });
    Ok(conditional(&headers, latest, body))
}

/// `GET /p2/{vendor}/{name}.json` (tagged versions) and `/p2/{vendor}/{name}~dev.json`
/// (development versions).
pub async fn get_package_metadata(
    State(state): State<AppState>,
    caller: OptionalCaller,
    headers: HeaderMap,
    Path((vendor, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(stem) = file.strip_suffix(".json") else {
        return Err(ApiError::not_found(format!("{vendor}/{file} not found")));
    };
    let (name, dev) = match stem.strip_suffix("~dev") {
        Some(n) => (n, true),
        None => (stem, false),
    };
    let package = visible_package(&state, caller.viewer, &vendor, name).await?;
    let mut versions = state.store.package_versions(&package.name).await?;
    sort_newest_first(&mut versions);
    let entries: Vec<Value> = versions
        .iter()
        .filter(|v| Version::parse(&v.version).is_ok_and(|p| p.is_dev()) == dev)
        .map(|v| {
            let mut entry: Map<String, Value> = match serde_json::from_str(&v.manifest) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            entry.insert("name".into(), json!(package.name));
            entry.insert("version".into(), json!(v.version));
            entry.insert("version_normalized".into(), json!(v.version_normalized));
            entry.insert("time".into(), json!(rfc3339(v.created_at)));
            entry.insert(
                "dist".into(),
                json!({
                    "type": "zip",
                    "url": dist_url(&state, &package.name, &v.version),
                    "reference": v.sha256,
                    "shasum": v.shasum,
                }),
            );
            Value::Object(entry)
        })
        .collect();
    let body = json!({ "packages": { package.name.clone(): entries } });
    Ok(conditional(&headers, Some(package.updated_at), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip_through_if_modified_since() {
        let t = 1_700_000_000;
        let date = http_date(t);
        assert_eq!(date, "Tue, 14 Nov 2023 22:13:20 GMT");
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&date).unwrap(),
        );
        assert!(not_modified_since(&h, t));
        assert!(!not_modified_since(&h, t + 1));
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_static("garbage"),
        );
        assert!(!not_modified_since(&h, t));
    }
}
