//! The add-on marketplace: listing and search (`GET /packages`), one add-on with its
//! versions, publishing a version by uploading its dist zip, changing an add-on (owner),
//! and downloading a dist. Private add-ons are `404` to everyone but their owner and
//! administrators. A vendor belongs to the account that first published under it; a
//! deleted version leaves a tombstone and is never published again.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::auth::{OptionalCaller, UserCaller, Write};
use super::extract::ApiJson;
use super::paging::Paging;
use crate::domain::archive::{self, Manifest};
use crate::domain::git::RepositoryCredentials;
use crate::domain::outbound::{self, HostName, Repository, Transport};
use crate::domain::package::{self, PackageName, PackageType, Visibility};
use crate::domain::time::rfc3339;
use crate::domain::version::Version;
use crate::http::error::ApiError;
use crate::service::outbound::{Unresolved, check_repository};
use crate::state::AppState;
use crate::store::dists::DistStore;
use crate::store::packages::{
    NewVersion, Package, PackageChanges, PackageFilter, PackageVersion, PublishOutcome, Viewer,
};
use crate::store::{StoreError, now};

/// Routes of this family; `upload_limit` bounds the publish body.
pub fn router(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/packages", get(list_packages))
        .route(
            "/packages/{vendor}/{name}",
            get(get_package).patch(update_package),
        )
        .route(
            "/packages/{vendor}/{name}/versions/{version}",
            get(get_version)
                .put(publish_version)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/packages/{vendor}/{name}/versions/{version}/dist",
            get(download_dist),
        )
}

/// The absolute URL of a version's dist.
pub fn dist_url(state: &AppState, name: &str, version: &str) -> String {
    state.url(&format!("/packages/{name}/versions/{version}/dist"))
}

/// A version as the marketplace shows it.
pub fn version_view(state: &AppState, v: &PackageVersion) -> Value {
    let manifest: Value = serde_json::from_str(&v.manifest).unwrap_or(Value::Null);
    json!({
        "name": v.package,
        "version": v.version,
        "versionNormalized": v.version_normalized,
        "type": manifest.get("type").cloned().unwrap_or(json!("library")),
        "description": manifest.get("description").cloned().unwrap_or(Value::Null),
        "require": manifest.get("require").cloned().unwrap_or(json!({})),
        "sha256": v.sha256,
        "shasum": v.shasum,
        "size": v.size,
        "distUrl": dist_url(state, &v.package, &v.version),
        "publishedAt": rfc3339(v.created_at),
    })
}

/// An add-on as the marketplace shows it; `hasWebhookSecret` and `hasRepositoryCredentials`
/// only to who may change it. A URL stored with credentials before they were refused is
/// shown without them.
pub fn package_view(state: &AppState, p: &Package, may_edit: bool) -> Value {
    let mut v = json!({
        "name": p.name,
        "type": p.package_type,
        "description": p.description,
        "visibility": p.visibility,
        "repositoryUrl": p.repository_url.as_deref().map(outbound::without_credentials),
        "owner": { "username": p.owner_username },
        "url": state.url(&format!("/packages/{}", p.name)),
        "createdAt": rfc3339(p.created_at),
        "updatedAt": rfc3339(p.updated_at),
    });
    if may_edit {
        v["hasWebhookSecret"] = json!(p.has_webhook_secret);
        v["hasRepositoryCredentials"] = json!(p.has_repository_credentials);
    }
    v
}

fn may_edit(viewer: Viewer, p: &Package) -> bool {
    match viewer {
        Viewer::Admin(_) => true,
        Viewer::User(id) => id == p.owner_id,
        Viewer::Anonymous => false,
    }
}

fn unknown(name: &str) -> ApiError {
    ApiError::not_found(format!("add-on {name} not found"))
}

/// The add-on a viewer asked for, or `404` (unknown, invalid name, or not visible).
pub async fn visible_package(
    state: &AppState,
    viewer: Viewer,
    vendor: &str,
    name: &str,
) -> Result<Package, ApiError> {
    let full = format!("{vendor}/{name}");
    let Some(parsed) = PackageName::from_parts(vendor, name) else {
        return Err(unknown(&full));
    };
    match state.services.store().package(parsed.as_str()).await {
        Ok(p) if viewer.can_see(p.owner_id, p.is_private()) => Ok(p),
        Ok(_) | Err(StoreError::NotFound) => Err(unknown(&full)),
        Err(e) => Err(e.into()),
    }
}

/// `GET /packages?type=…&q=…`: the add-ons the caller may see, by name, paged.
pub async fn list_packages(
    State(state): State<AppState>,
    caller: OptionalCaller,
    paging: Paging,
) -> Result<Response, ApiError> {
    let mut filter = PackageFilter::default();
    for (k, v) in &paging.rest {
        match k.as_str() {
            "type" => {
                let t = PackageType::parse(v).ok_or_else(|| {
                    ApiError::invalid_field(
                        "type",
                        "must be harmony-extension, harmony-theme, harmony-translation or library",
                    )
                })?;
                filter.package_type = Some(t.as_str().to_owned());
            }
            "q" => {
                let q = v.trim();
                if q.chars().count() > 100 {
                    return Err(ApiError::invalid_field(
                        "q",
                        "must be at most 100 characters",
                    ));
                }
                if !q.is_empty() {
                    filter.query = Some(q.to_owned());
                }
            }
            _ => {}
        }
    }
    let (packages, total) = state
        .services
        .store()
        .list_packages(caller.viewer, &filter, paging.page)
        .await?;
    let views: Vec<Value> = packages
        .iter()
        .map(|p| package_view(&state, p, may_edit(caller.viewer, p)))
        .collect();
    let mut response = Json(views).into_response();
    if let Some(link) = paging.link_header(&state.url("/packages"), total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// `GET /packages/{vendor}/{name}`: the add-on with its versions, newest first.
pub async fn get_package(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let p = visible_package(&state, caller.viewer, &vendor, &name).await?;
    let mut versions = state.services.store().package_versions(&p.name).await?;
    sort_newest_first(&mut versions);
    let mut view = package_view(&state, &p, may_edit(caller.viewer, &p));
    view["versions"] = versions
        .iter()
        .map(|v| version_view(&state, v))
        .collect::<Vec<_>>()
        .into();
    Ok(Json(view))
}

/// Sorts versions newest first (numeric order; branches after, by publication).
pub fn sort_newest_first(versions: &mut [PackageVersion]) {
    versions.sort_by(|a, b| {
        let (va, vb) = (Version::parse(&a.version), Version::parse(&b.version));
        match (va, vb) {
            (Ok(va), Ok(vb)) => match vb.compare(&va) {
                Some(o) => o,
                None => b.created_at.cmp(&a.created_at),
            },
            _ => b.created_at.cmp(&a.created_at),
        }
    });
}

/// `GET /packages/{vendor}/{name}/versions/{version}`.
pub async fn get_version(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name, version)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let p = visible_package(&state, caller.viewer, &vendor, &name).await?;
    match state
        .services
        .store()
        .package_version(&p.name, &version)
        .await
    {
        Ok(v) => Ok(Json(version_view(&state, &v))),
        Err(StoreError::NotFound) => Err(ApiError::not_found(format!(
            "version {version} of {} not found",
            p.name
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `GET /packages/{vendor}/{name}/versions/{version}/dist`: the zip.
pub async fn download_dist(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name, version)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = visible_package(&state, caller.viewer, &vendor, &name).await?;
    let v = match state
        .services
        .store()
        .package_version(&p.name, &version)
        .await
    {
        Ok(v) => v,
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found(format!(
                "version {version} of {} not found",
                p.name
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let path = state
        .services
        .dists()
        .path(&v.dist_path)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored dist path is unsafe")))?;
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("dist read task: {e}")))?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("dist {}: {e}", v.dist_path)))?;
    let file = format!("{}-{}.zip", p.name.replace('/', "-"), v.version);
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{}\"", v.sha256)) {
        h.insert(header::ETAG, tag);
    }
    if let Ok(d) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    // Uploaded bytes: a browser must not guess a type other than the one declared.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

fn is_zip(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            matches!(
                m.trim().to_ascii_lowercase().as_str(),
                "application/zip" | "application/x-zip-compressed"
            )
        })
}

/// What publishing decided, for the caller to answer.
pub enum Published {
    /// Stored.
    Created(Package, PackageVersion),
}

/// Checks, stores and records one dist: the shared path of the upload endpoint and the
/// webhook. `bytes` is the zip; `owner` the publisher; `visibility` the one asked for (a
/// new add-on gets it, an existing one must have it).
pub async fn publish_dist(
    state: &AppState,
    owner: uuid::Uuid,
    name: &PackageName,
    version_text: &str,
    visibility: Option<Visibility>,
    bytes: Bytes,
) -> Result<Published, ApiError> {
    let version = Version::parse(version_text)
        .map_err(|e| ApiError::invalid_field("version", e.to_string()))?;
    let limits = state.config.packages.archive_limits();
    let dists = state.services.dists().clone();
    let relative = DistStore::relative_path(name, version_text);
    let (name2, version2, relative2) = (name.clone(), version.clone(), relative.clone());
    let checked = tokio::task::spawn_blocking(move || {
        let manifest = archive::inspect(&bytes, &name2, &version2, &limits)?;
        let sums = package::checksums(&bytes);
        let size = bytes.len();
        Ok::<_, archive::ArchiveError>((manifest, sums, size, bytes, relative2))
    })
    .await
    .map_err(|e| ApiError::internal(anyhow::anyhow!("zip inspection task: {e}")))?;
    let (manifest, sums, size, bytes, relative) = checked.map_err(|e| {
        let mut err = ApiError::invalid_field("archive", e.0.clone());
        err.code = "invalid_archive";
        err.message = e.0;
        err
    })?;
    let Manifest {
        composer,
        package_type,
        description,
    } = manifest;
    let write_path = relative.clone();
    tokio::task::spawn_blocking(move || dists.write(&write_path, &bytes))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("dist write task: {e}")))?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot store the dist: {e}")))?;
    let mut composer = composer;
    composer.insert("type".into(), Value::from(package_type.as_str()));
    let new = NewVersion {
        owner_id: owner,
        visibility: visibility.map(|v| v.as_str().to_owned()),
        package_type: package_type.as_str().to_owned(),
        description,
        version: PackageVersion {
            package: name.as_str().to_owned(),
            version: version_text.to_owned(),
            version_normalized: version.normalized(),
            manifest: Value::Object(composer).to_string(),
            sha256: sums.sha256,
            shasum: sums.sha1,
            size: i64::try_from(size).unwrap_or(i64::MAX),
            dist_path: relative.clone(),
            created_at: now(),
        },
    };
    let outcome = state.services.store().publish_version(&new).await;
    let cleanup = || state.services.dists().remove(&relative);
    match outcome {
        Ok(PublishOutcome::Published(p, v)) => Ok(Published::Created(p, v)),
        Ok(PublishOutcome::VersionExists) => {
            cleanup();
            Err(version_exists(name, version_text))
        }
        Ok(PublishOutcome::VendorOwned { orphaned }) => {
            cleanup();
            Err(vendor_owned(name.vendor(), orphaned))
        }
        Ok(PublishOutcome::Tombstoned) => {
            cleanup();
            Err(version_tombstoned(name, version_text))
        }
        Ok(PublishOutcome::VisibilityMismatch(current)) => {
            cleanup();
            Err(visibility_mismatch(name, &current))
        }
        Ok(PublishOutcome::NotOwner(_)) => {
            cleanup();
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("{name} belongs to another account"),
            ))
        }
        Ok(PublishOutcome::TypeMismatch(t)) => {
            cleanup();
            Err(ApiError::invalid_field(
                "archive",
                format!("{name} is a {t}; composer.json must keep that type"),
            ))
        }
        Err(e) => {
            cleanup();
            Err(e.into())
        }
    }
}

fn version_exists(name: &PackageName, version: &str) -> ApiError {
    ApiError::conflict(format!(
        "{name} {version} is already published; published versions are immutable"
    ))
}

/// `403 vendor_owned`: the rule, never the owner (whose add-ons may all be private).
fn vendor_owned(vendor: &str, orphaned: bool) -> ApiError {
    let message = if orphaned {
        format!(
            "the vendor {vendor} is reserved: the account that owned it was deleted; \
             only an administrator can give it to another account"
        )
    } else {
        format!(
            "the vendor {vendor} belongs to another account; only its owner may publish \
             under it"
        )
    };
    ApiError::new(StatusCode::FORBIDDEN, "vendor_owned", message)
}

/// `409 version_tombstoned`, whatever the bytes: a deleted version stays deleted.
fn version_tombstoned(name: &PackageName, version: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "version_tombstoned",
        format!(
            "{name} {version} was published and then deleted; a deleted version is never \
             published again, so publish a new version number"
        ),
    )
}

/// `409 visibility_mismatch`: publishing never changes an existing add-on's visibility.
fn visibility_mismatch(name: &PackageName, current: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "visibility_mismatch",
        format!(
            "{name} is {current}; publishing does not change that (use PATCH \
             /packages/{name} first)"
        ),
    )
}

/// The `visibility` query parameter of a publish, if any.
fn requested_visibility(query: Option<&str>) -> Result<Option<Visibility>, ApiError> {
    let mut found = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k != "visibility" {
            continue;
        }
        if found.is_some() {
            return Err(ApiError::invalid_field("visibility", "must be given once"));
        }
        found =
            Some(Visibility::parse(&v).ok_or_else(|| {
                ApiError::invalid_field("visibility", "must be public or private")
            })?);
    }
    Ok(found)
}

/// `PUT /packages/{vendor}/{name}/versions/{version}[?visibility=private]` with a zip
/// body: `201` with the version. The first publish under a vendor gives the vendor to the
/// caller; the first publish of a name creates the add-on, owned by the caller, with the
/// visibility asked for (public by default). Everything refused here is refused again,
/// atomically, where the version is stored; checking first spares reading the body.
pub async fn publish_version(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((vendor, name, version)): Path<(String, String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(package_name) = PackageName::from_parts(&vendor, &name) else {
        return Err(ApiError::invalid_field(
            "name",
            "vendor/name must be lower-case Composer names",
        ));
    };
    if !package::valid_version_text(&version) || Version::parse(&version).is_err() {
        return Err(ApiError::invalid_field(
            "version",
            format!("{version:?} is not a Composer version"),
        ));
    }
    if !is_zip(request.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be a zip (Content-Type: application/zip)",
        ));
    }
    let visibility = requested_visibility(request.uri().query())?;
    // The vendor first: whether an add-on exists under someone else's vendor is not told.
    match state.services.store().vendor(package_name.vendor()).await {
        Ok(v) if v.owner_id != Some(caller.user.id) => {
            return Err(vendor_owned(package_name.vendor(), v.owner_id.is_none()));
        }
        Ok(_) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let viewer = Viewer::User(caller.user.id);
    match state.services.store().package(package_name.as_str()).await {
        Ok(p) if p.owner_id != caller.user.id => {
            let admin =
                caller.user.is_admin && caller.token.scope.allows(crate::domain::Scope::Admin);
            return Err(if admin || viewer.can_see(p.owner_id, p.is_private()) {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!("{package_name} belongs to another account"),
                )
            } else {
                unknown(package_name.as_str())
            });
        }
        Ok(p) => {
            if visibility.is_some_and(|v| v.as_str() != p.visibility) {
                return Err(visibility_mismatch(&package_name, &p.visibility));
            }
            match state
                .services
                .store()
                .package_version(&p.name, &version)
                .await
            {
                Ok(_) => return Err(version_exists(&package_name, &version)),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let normalized = Version::parse(&version)
        .map_err(|e| ApiError::invalid_field("version", e.to_string()))?
        .normalized();
    if state
        .services
        .store()
        .tombstone(package_name.as_str(), &normalized)
        .await?
        .is_some()
    {
        return Err(version_tombstoned(&package_name, &version));
    }
    let bytes = Bytes::from_request(request, &state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            ApiError::bad_request("bad_body", "the request body could not be read")
        }
    })?;
    if bytes.is_empty() {
        return Err(ApiError::invalid_field("archive", "the body is empty"));
    }
    let Published::Created(p, v) = publish_dist(
        &state,
        caller.user.id,
        &package_name,
        &version,
        visibility,
        bytes,
    )
    .await?;
    tracing::info!(package = %p.name, version = %v.version, "published");
    let mut response = (StatusCode::CREATED, Json(version_view(&state, &v))).into_response();
    let location = state.url(&format!("/packages/{}/versions/{}", p.name, v.version));
    if let Ok(l) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, l);
    }
    Ok(response)
}

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /packages/{vendor}/{name}` body. `webhookSecret` and `repositoryCredentials` are
/// write-only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdatePackage {
    visibility: Option<Visibility>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    repository_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    webhook_secret: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    repository_credentials: Option<Option<String>>,
}

/// Where a repository URL points: transport, host and port (`None` for a local path or
/// an unparsable URL). Credentials belong to an origin.
fn origin(url: Option<&str>) -> Option<(Transport, HostName, u16)> {
    match outbound::parse_repository(url?, true) {
        Ok(Repository::Remote(r)) => Some((r.transport, r.host, r.port)),
        _ => None,
    }
}

/// `PATCH /packages/{vendor}/{name}`: owner (or administrator) only; `403` to others who
/// can see it, `404` to those who cannot.
pub async fn update_package(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((vendor, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdatePackage>,
) -> Result<Json<Value>, ApiError> {
    let admin = caller.user.is_admin && caller.token.scope.allows(crate::domain::Scope::Admin);
    let viewer = if admin {
        Viewer::Admin(caller.user.id)
    } else {
        Viewer::User(caller.user.id)
    };
    let p = visible_package(&state, viewer, &vendor, &name).await?;
    if !may_edit(viewer, &p) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("only the owner of {} may change it", p.name),
        ));
    }
    let mut errors = std::collections::BTreeMap::<String, String>::new();
    if let Some(Some(d)) = &body.description
        && d.chars().count() > 1000
    {
        errors.insert(
            "description".into(),
            "must be at most 1000 characters".into(),
        );
    }
    // The same rule as before every fetch; a name that does not resolve now is taken (DNS
    // changes; every fetch resolves and checks again).
    let policy = state.config.packages.outbound_policy();
    let mut repository_url = None;
    match &body.repository_url {
        Some(Some(u)) => match check_repository(u, &policy, Unresolved::Accept).await {
            Ok(target) => repository_url = Some(Some(target.url().to_owned())),
            Err(refusal) => {
                errors.insert("repositoryUrl".into(), refusal.to_string());
            }
        },
        Some(None) => repository_url = Some(None),
        None => {}
    }
    let mut repository_credentials = match &body.repository_credentials {
        Some(Some(c)) => match RepositoryCredentials::parse(c) {
            Some(c) => Some(Some(c.expose().to_owned())),
            None => {
                errors.insert(
                    "repositoryCredentials".into(),
                    "must be username:token (at most 1024 bytes, no control characters)".into(),
                );
                None
            }
        },
        Some(None) => Some(None),
        None => None,
    };
    if let Some(Some(s)) = &body.webhook_secret
        && (s.len() < 8 || s.len() > 256)
    {
        errors.insert("webhookSecret".into(), "must be 8 to 256 bytes".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let url_after = match &repository_url {
        Some(u) => u.as_deref(),
        None => p.repository_url.as_deref(),
    };
    // Credentials were given for one host: moving the URL elsewhere (or removing it) drops
    // them, unless the same request gives new ones.
    if repository_credentials.is_none()
        && p.has_repository_credentials
        && repository_url.is_some()
        && p.repository_url.is_some()
        && origin(p.repository_url.as_deref()) != origin(url_after)
    {
        repository_credentials = Some(None);
    }
    let credentials_after = match &repository_credentials {
        Some(c) => c.is_some(),
        None => p.has_repository_credentials,
    };
    let https = origin(url_after).is_some_and(|(t, _, _)| t == Transport::Https);
    if credentials_after && url_after.is_some() && !https {
        return Err(ApiError::invalid_field(
            "repositoryCredentials",
            "are sent over https only; repositoryUrl must be an https URL",
        ));
    }
    let changes = PackageChanges {
        visibility: body.visibility.map(|v| v.as_str().to_owned()),
        description: body.description,
        repository_url,
        webhook_secret: body.webhook_secret,
        repository_credentials,
    };
    let p = state
        .services
        .store()
        .update_package(&p.name, &changes)
        .await?;
    Ok(Json(package_view(&state, &p, true)))
}
