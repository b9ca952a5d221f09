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

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::OptionalCaller;
use super::packages::{abandoned_value, dist_url};
use crate::domain::archive::retain_served_keys;
use crate::domain::time::rfc3339;
use crate::domain::version::Version;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized, UnprocessableEntity,
};
use crate::service::registry_cache::Document;
use crate::state::AppState;
use crate::store::Timestamp;
use crate::store::packages::Abandoned;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_repository))
        .routes(routes!(get_package_metadata))
        .routes(routes!(get_metadata_changes))
}

/// `packages.json`, the repository's root file.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ComposerRepository)]
pub struct RepositoryRoot {
    /// Always empty: Composer 2 reads `metadata-url` instead.
    packages: [String; 0],
    /// Where each add-on's versions are: `/p2/%package%.json` under the public URL's path.
    #[serde(rename = "metadata-url")]
    metadata_url: String,
    /// The names the caller may see, so that Composer asks for nothing else.
    #[serde(rename = "available-packages")]
    available_packages: Vec<String>,
    /// Where Composer finds advisories: in each add-on's metadata file, and from the
    /// security-advisories API (which `composer audit` asks).
    #[serde(rename = "security-advisories")]
    security_advisories: AdvisoriesConfig,
    /// Where mirrors learn which add-ons changed since a time (`/metadata/changes.json`,
    /// under the public URL's path).
    #[serde(rename = "metadata-changes-url")]
    metadata_changes_url: String,
    /// Where Composer reports installs (`/downloads/`, under the public URL's path).
    #[serde(rename = "notify-batch")]
    notify_batch: String,
}

/// `security-advisories` of `packages.json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdvisoriesConfig {
    /// Always `true`: the `p2` files carry `security-advisories`.
    metadata: bool,
    /// The absolute URL of the security-advisories API.
    #[serde(rename = "api-url")]
    api_url: String,
}

/// One advisory as a `p2` file lists it (Packagist's partial form: Composer asks the API
/// for the rest).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartialAdvisory {
    /// Its id.
    advisory_id: String,
    /// A Composer constraint.
    affected_versions: String,
}

/// `p2/{vendor}/{name}.json`: one add-on's versions, under its name.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ComposerPackage)]
pub struct PackageMetadata {
    /// The add-on's name → its versions, newest first.
    packages: BTreeMap<String, Vec<ComposerVersion>>,
    /// The add-on's security advisories.
    #[serde(rename = "security-advisories")]
    security_advisories: Vec<PartialAdvisory>,
}

/// One version in Composer's format: its `composer.json` (the keys Composer reads; see
/// the API documentation) with `name`, and what harmony adds.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComposerVersion {
    /// The `composer.json`, with `name` set to the add-on's (in its place).
    #[serde(flatten)]
    #[schema(value_type = HashMap<String, Value>)]
    manifest: Map<String, Value>,
    /// As published.
    version: String,
    /// Composer's normalization.
    version_normalized: String,
    /// When it was published.
    #[schema(format = DateTime)]
    time: String,
    dist: ComposerDist,
}

/// Where a version's zip is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComposerDist {
    /// `zip`.
    #[serde(rename = "type")]
    #[schema(schema_with = zip_kind)]
    kind: &'static str,
    /// The dist's absolute URL.
    url: String,
    /// The dist's SHA-256: stable, so Composer's cache key never changes.
    reference: String,
    /// The dist's SHA-1.
    shasum: String,
}

fn zip_kind() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["zip"]))
        .build()
}

/// Does the client's `If-Modified-Since` name exactly this stamp? (Not "since": a date
/// before or after it was given with another document, possibly another caller's view.)
/// Any of the three forms RFC 9110 §5.6.7 has recipients accept.
fn holds_stamp(headers: &HeaderMap, stamp: Timestamp) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
        .and_then(|since| since.duration_since(UNIX_EPOCH).ok())
        .is_some_and(|since| i64::try_from(since.as_secs()) == Ok(stamp))
}

/// JSON bytes of a Composer document.
fn render(body: &impl Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("composer document: {e}")))
}

/// A Composer document with its validators, or `304` when the caller holds exactly it.
pub(super) fn conditional(headers: &HeaderMap, document: &Document) -> Response {
    // With `If-None-Match`, `If-Modified-Since` is ignored (RFC 9110 §13.2.2); the edge
    // layer compares the entity tag.
    let not_modified = !headers.contains_key(header::IF_NONE_MATCH)
        && document.stamp.is_some_and(|s| holds_stamp(headers, s));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(document.bytes.clone()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = response.headers_mut();
    if let Ok(tag) = HeaderValue::from_maybe_shared(document.tag.clone()) {
        h.insert(header::ETAG, tag);
    }
    if let Some(date) = &document.modified
        && let Ok(v) = HeaderValue::from_maybe_shared(date.clone())
    {
        h.insert(header::LAST_MODIFIED, v);
    }
    // The document depends on the credentials.
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

/// The Composer v2 repository root
///
/// `ETag` and `Last-Modified` per view: `If-None-Match`, or `If-Modified-Since` with the
/// very date given, answer `304`.
#[utoipa::path(
    get,
    path = "/packages.json",
    tag = "composer",
    security(("accessToken" = ["read"]), ()),
    responses(
        (status = 200, description = "`packages.json`.", body = RepositoryRoot),
        (status = 304, description = "The caller holds exactly this document."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_repository(
    State(state): State<AppState>,
    caller: OptionalCaller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    const DOCUMENT: &str = "packages.json";
    let packages = state.services.packages();
    // The epoch first: nothing read after it is kept past a write.
    let epoch = packages.registry_epoch().await?;
    let private = packages.private_names(caller.viewer).await?;
    if private.is_empty()
        && let Some(document) = packages.cached_document(DOCUMENT, epoch)
    {
        return Ok(conditional(&headers, &document));
    }
    let public = packages.public_names(epoch).await?;
    // The caller's own view: the public names and the private ones it may see, in order.
    let (names, keep) = if private.is_empty() {
        (public.to_vec(), Some(epoch))
    } else {
        let mut names = Vec::with_capacity(public.len() + private.len());
        names.extend(public.iter().cloned());
        names.extend(private);
        names.sort_unstable();
        (names, None)
    };
    let body = RepositoryRoot {
        packages: [],
        metadata_url: format!("{}/p2/%package%.json", path_prefix(&state)),
        available_packages: names,
        security_advisories: AdvisoriesConfig {
            metadata: true,
            api_url: state.url("/api/security-advisories/"),
        },
        metadata_changes_url: format!("{}/metadata/changes.json", path_prefix(&state)),
        notify_batch: format!("{}/downloads/", path_prefix(&state)),
    };
    let document = packages.document(DOCUMENT, render(&body)?, keep).await?;
    Ok(conditional(&headers, &document))
}

/// Composer v2 metadata of an add-on
///
/// `{name}.json`: tagged versions; `{name}~dev.json`: development versions (`dev-…`,
/// `…-dev`). Revalidation as for `packages.json`.
#[utoipa::path(
    get,
    path = "/p2/{vendor}/{file}",
    tag = "composer",
    security(("accessToken" = ["read"]), ()),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("file" = String, Path, description = "`{name}.json` or `{name}~dev.json`"),
    ),
    responses(
        (status = 200, description = "The versions in Composer's format.", body = PackageMetadata),
        (status = 304, description = "The caller holds exactly this document."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
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
    // A public add-on's document is the same for every caller: the anonymous view's,
    // kept in memory. The epoch first: nothing read after it is kept past a write.
    let document = format!("p2/{vendor}/{file}");
    let epoch = packages.registry_epoch().await?;
    if let Some(kept) = packages.cached_document(&document, epoch) {
        return Ok(conditional(&headers, &kept));
    }
    let package = packages.visible(caller.viewer, &vendor, name).await?;
    let versions = packages.versions(&package).await?;
    let entries: Vec<ComposerVersion> = versions
        .iter()
        // A yanked version is left out: no new resolution picks it, and a lock file that
        // pins it installs from its dist URL, which stays served.
        .filter(|v| v.yanked.is_none())
        .filter(|v| Version::parse(&v.version).is_ok_and(|p| p.is_dev()) == dev)
        .map(|v| {
            let mut manifest: Map<String, Value> = match serde_json::from_str(&v.manifest) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            retain_served_keys(&mut manifest);
            manifest.insert("name".into(), Value::String(package.name.clone()));
            // Composer reads `abandoned` per version and warns on install.
            if package.abandoned != Abandoned::No {
                manifest.insert("abandoned".into(), abandoned_value(&package.abandoned));
            }
            ComposerVersion {
                manifest,
                version: v.version.clone(),
                version_normalized: v.version_normalized.clone(),
                time: rfc3339(v.created_at),
                dist: ComposerDist {
                    kind: "zip",
                    url: dist_url(&state, &package.name, &v.version),
                    reference: v.sha256.clone(),
                    shasum: v.shasum.clone(),
                },
            }
        })
        .collect();
    let advisories = state
        .services
        .advisories()
        .of_visible(&package.name)
        .await?
        .into_iter()
        .map(|a| PartialAdvisory {
            advisory_id: a.advisory_id,
            affected_versions: a.affected_versions,
        })
        .collect();
    let body = PackageMetadata {
        packages: BTreeMap::from([(package.name.clone(), entries)]),
        security_advisories: advisories,
    };
    // The name as stored (the path's, which found it).
    let document = format!("p2/{}{}.json", package.name, if dev { "~dev" } else { "" });
    let keep = (!package.is_private()).then_some(epoch);
    let rendered = packages.document(&document, render(&body)?, keep).await?;
    Ok(conditional(&headers, &rendered))
}

/// `metadata/changes.json`: Packagist's change feed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MetadataChanges)]
pub struct ChangesView {
    /// One action per add-on, oldest first.
    actions: Vec<ChangeView>,
    /// Where to ask from next time, in ten-thousandths of a second since the epoch.
    timestamp: i64,
}

/// One add-on's change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    /// `update` (fetch its metadata again), `delete` (forget it) or `resync` (fetch
    /// everything again; `package` is `*`).
    #[serde(rename = "type")]
    #[schema(schema_with = change_kind)]
    kind: &'static str,
    /// `vendor/name`.
    package: String,
    /// When it changed (Unix seconds).
    time: i64,
}

fn change_kind() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["update", "delete", "resync"]))
        .build()
}

/// The query of the change feed.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Ten-thousandths of a second since the epoch: the `timestamp` of the previous answer.
    /// Without it, the answer has no actions, only the timestamp to start from.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub since: Option<String>,
}

/// The add-ons whose Composer metadata changed since a time (Packagist's change feed)
///
/// For mirrors: each add-on the caller may see that changed, once, with `update`, and
/// `delete` for one it saw that was deleted or made private. Changes are kept 30 days: a
/// `since` from before that is answered with one `resync` action (package `*`).
#[utoipa::path(
    get,
    path = "/metadata/changes.json",
    tag = "composer",
    security(("accessToken" = ["read"]), ()),
    params(ChangesQuery),
    responses(
        (status = 200, description = "The changes.", body = ChangesView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_metadata_changes(
    State(state): State<AppState>,
    caller: OptionalCaller,
    request: axum::extract::Request,
) -> Result<axum::Json<ChangesView>, ApiError> {
    let mut since = None;
    for (k, v) in form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()) {
        if k == "since" {
            if since.is_some() {
                return Err(ApiError::invalid_field("since", "must be given once"));
            }
            since = Some(v.into_owned());
        }
    }
    let changes = state
        .services
        .packages()
        .metadata_changes(caller.viewer, since.as_deref())
        .await?;
    Ok(axum::Json(ChangesView {
        actions: changes
            .actions
            .into_iter()
            .map(|a| ChangeView {
                kind: a.kind.as_str(),
                package: a.package,
                time: a.time,
            })
            .collect(),
        timestamp: changes.timestamp,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::registry_cache::http_date;

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

    #[test]
    fn the_obsolete_date_forms_revalidate_too_and_no_stamp_breaks_the_date() {
        let t = 1_700_000_000;
        for date in [
            "Tuesday, 14-Nov-23 22:13:20 GMT",
            "Tue Nov 14 22:13:20 2023",
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::IF_MODIFIED_SINCE, HeaderValue::from_static(date));
            assert!(holds_stamp(&h, t), "{date}");
        }
        for t in [-1, i64::MAX] {
            assert_eq!(http_date(t), "Thu, 01 Jan 1970 00:00:00 GMT");
        }
    }
}
