//! The Composer v2 repository: `GET /packages.json` (with `metadata-url` and
//! `available-packages`) and `GET /p2/{vendor}/{name}.json` / `~dev.json`, served
//! non-minified (Composer 2 expands only files that say `"minified": "composer/2.0"`).
//! Each caller sees exactly the add-ons it may see; credentials come as `Bearer` or HTTP
//! Basic (the token as password), which the auth middleware already reads.
//!
//! Revalidation: two callers may get different documents at one URL (their views), and
//! Composer keeps one cache per repository, so a `304` is given only to a caller who holds
//! exactly the document it would get now. `ETag` is a digest of the document;
//! `Last-Modified` is the document's stamp, unique to its content (see
//! [`PackageStore::document_stamp`](crate::store::PackageStore::document_stamp)), and an
//! `If-Modified-Since` is honoured only when it is that very stamp — Composer sends back
//! the date it was given, never one of its own.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::DateTime;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::auth::OptionalCaller;
use super::packages::dist_url;
use crate::domain::archive::retain_served_keys;
use crate::domain::time::rfc3339;
use crate::domain::version::Version;
use crate::http::error::ApiError;
use crate::state::AppState;
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

/// Does the client's `If-Modified-Since` name exactly this stamp? (Not "since": a date
/// before or after it was given with another document, possibly another caller's view.)
fn holds_stamp(headers: &HeaderMap, stamp: Timestamp) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
        .is_some_and(|since| since.timestamp() == stamp)
}

/// A Composer document with its validators, or `304` when the caller holds exactly it.
/// `document` names it among the stamps (`packages.json`, `p2/acme/lib.json`).
async fn conditional(
    state: &AppState,
    headers: &HeaderMap,
    document: &str,
    body: &Value,
) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("composer document: {e}")))?;
    let digest: String = Sha256::digest(&bytes)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stamp = state
        .services
        .packages()
        .document_stamp(document, &digest)
        .await?;
    // With `If-None-Match`, `If-Modified-Since` is ignored (RFC 9110 §13.2.2); the edge
    // layer compares the entity tag.
    let not_modified = !headers.contains_key(header::IF_NONE_MATCH)
        && stamp.is_some_and(|s| holds_stamp(headers, s));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(bytes));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = response.headers_mut();
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{digest}\"")) {
        h.insert(header::ETAG, tag);
    }
    if let Some(t) = stamp
        && let Ok(v) = HeaderValue::from_str(&http_date(t))
    {
        h.insert(header::LAST_MODIFIED, v);
    }
    // The document depends on the credentials.
    h.insert(header::VARY, HeaderValue::from_static("Authorization"));
    Ok(response)
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
    let names = state
        .services
        .packages()
        .visible_names(caller.viewer)
        .await?;
    let body = json!({
        "packages": [],
        "metadata-url": format!("{}/p2/%package%.json", path_prefix(&state)),
        "available-packages": names,
    });
    conditional(&state, &headers, "packages.json", &body).await
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
    let packages = state.services.packages();
    let package = packages.visible(caller.viewer, &vendor, name).await?;
    let versions = packages.versions(&package).await?;
    let entries: Vec<Value> = versions
        .iter()
        .filter(|v| Version::parse(&v.version).is_ok_and(|p| p.is_dev()) == dev)
        .map(|v| {
            let mut entry: Map<String, Value> = match serde_json::from_str(&v.manifest) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            retain_served_keys(&mut entry);
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
    let document = format!("p2/{}{}.json", package.name, if dev { "~dev" } else { "" });
    conditional(&state, &headers, &document, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_stamp_revalidates() {
        let t = 1_700_000_000;
        let date = http_date(t);
        assert_eq!(date, "Tue, 14 Nov 2023 22:13:20 GMT");
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&date).unwrap(),
        );
        assert!(holds_stamp(&h, t));
        assert!(!holds_stamp(&h, t + 1), "a later document");
        assert!(!holds_stamp(&h, t - 1), "an earlier one: another content");
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_static("garbage"),
        );
        assert!(!holds_stamp(&h, t));
    }
}
