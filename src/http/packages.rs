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
use crate::domain::outbound;
use crate::domain::package::Visibility;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::service::packages::{PackageUpdate, may_edit, publish_target};
use crate::state::AppState;
use crate::store::packages::{Package, PackageVersion};

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

/// `GET /packages?type=…&q=…`: the add-ons the caller may see, by name, paged.
pub async fn list_packages(
    State(state): State<AppState>,
    caller: OptionalCaller,
    paging: Paging,
) -> Result<Response, ApiError> {
    let param = |name: &str| {
        paging
            .rest
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (packages, total) = state
        .services
        .packages()
        .list(caller.viewer, param("type"), param("q"), paging.page)
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
    let packages = state.services.packages();
    let p = packages.visible(caller.viewer, &vendor, &name).await?;
    let versions = packages.versions(&p).await?;
    let mut view = package_view(&state, &p, may_edit(caller.viewer, &p));
    view["versions"] = versions
        .iter()
        .map(|v| version_view(&state, v))
        .collect::<Vec<_>>()
        .into();
    Ok(Json(view))
}

/// `GET /packages/{vendor}/{name}/versions/{version}`.
pub async fn get_version(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name, version)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let packages = state.services.packages();
    let p = packages.visible(caller.viewer, &vendor, &name).await?;
    let v = packages.version(&p, &version).await?;
    Ok(Json(version_view(&state, &v)))
}

/// `GET /packages/{vendor}/{name}/versions/{version}/dist`: the zip.
pub async fn download_dist(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name, version)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let packages = state.services.packages();
    let p = packages.visible(caller.viewer, &vendor, &name).await?;
    let v = packages.version(&p, &version).await?;
    let bytes = packages.dist(&v).await?;
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
    let (package_name, _) = publish_target(&vendor, &name, &version)?;
    if !is_zip(request.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be a zip (Content-Type: application/zip)",
        ));
    }
    let visibility = requested_visibility(request.uri().query())?;
    let packages = state.services.packages();
    packages
        .check_publish(
            &caller.user,
            caller.viewer(),
            &package_name,
            &version,
            visibility,
        )
        .await?;
    let bytes = Bytes::from_request(request, &state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            ApiError::bad_request("bad_body", "the request body could not be read")
        }
    })?;
    let (p, v) = packages
        .publish(caller.user.id, &package_name, &version, visibility, bytes)
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

/// `PATCH /packages/{vendor}/{name}`: owner (or administrator) only; `403` to others who
/// can see it, `404` to those who cannot.
pub async fn update_package(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((vendor, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdatePackage>,
) -> Result<Json<Value>, ApiError> {
    let update = PackageUpdate {
        visibility: body.visibility,
        description: body.description,
        repository_url: body.repository_url,
        webhook_secret: body.webhook_secret,
        repository_credentials: body.repository_credentials,
    };
    let p = state
        .services
        .packages()
        .update(caller.viewer(), &vendor, &name, update)
        .await?;
    Ok(Json(package_view(&state, &p, true)))
}
