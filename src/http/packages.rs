//! The add-on marketplace: listing and search (`GET /packages`), one add-on with its
//! versions, publishing a version by uploading its dist zip, changing an add-on (owner),
//! and downloading a dist. Private add-ons are `404` to everyone but their owner (under an
//! organization's vendor, the organization's members) and administrators. A vendor belongs to the account that first published under it; a
//! deleted version leaves a tombstone and is never published again.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::auth::{OptionalCaller, UserCaller, Write};
use super::extract::ApiJson;
use super::openapi::schemas;
use super::paging::Paging;
use crate::domain::outbound;
use crate::domain::package::Visibility;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::advisories::affects;
use crate::service::packages::{AbandonSpec, PackageUpdate, publish_target};
use crate::state::AppState;
use crate::store::packages::{
    Abandoned, Access, Advisory, Package, PackageVersion, Provenance, Source,
};

/// Routes of this family; `upload_limit` bounds the publish body.
pub fn router(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_packages))
        .routes(routes!(get_package, update_package))
        .routes(
            routes!(get_version, publish_version, update_version)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .routes(routes!(download_dist))
}

/// The absolute URL of a version's dist.
pub fn dist_url(state: &AppState, name: &str, version: &str) -> String {
    state.url(&format!("/packages/{name}/versions/{version}/dist"))
}

/// A version as the marketplace shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PackageVersion)]
pub struct VersionView {
    /// The add-on, `vendor/name`.
    name: String,
    /// As published (`1.2.0`).
    version: String,
    /// Composer's normalization (`1.2.0.0`).
    version_normalized: String,
    /// Its Composer type.
    #[serde(rename = "type")]
    #[schema(schema_with = schemas::package_type)]
    package_type: String,
    #[schema(required)]
    description: Option<String>,
    /// Its `composer.json` `require`: package names to constraints.
    #[schema(value_type = HashMap<String, String>)]
    require: Map<String, Value>,
    /// SHA-256 of the dist (hex).
    sha256: String,
    /// SHA-1 of the dist (hex; Composer's `shasum`).
    shasum: String,
    /// The dist's size in bytes.
    size: i64,
    /// Where the zip is.
    dist_url: String,
    #[schema(format = DateTime)]
    published_at: String,
    /// The ids of the security advisories whose affected versions include this one.
    advisories: Vec<String>,
    /// Why it was yanked (`null` while it resolves): a yanked version is not offered to
    /// new resolutions, and its dist stays downloadable for lock files that pin it.
    #[schema(required)]
    yanked: Option<String>,
    /// When it was yanked.
    #[schema(required, format = DateTime)]
    yanked_at: Option<String>,
    /// Who published it (`null` for versions published before this was recorded).
    #[schema(required)]
    published_by: Option<PublishedBy>,
    /// How its dist came (`null` as for `publishedBy`).
    #[schema(required)]
    source: Option<VersionSource>,
}

/// Who published a version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishedBy {
    /// `user` (an account) or `org` (an organization: the version went to its vendor).
    #[serde(rename = "type")]
    #[schema(schema_with = publisher_kind)]
    kind: String,
    /// The account's username, or the organization's name, when it published.
    name: String,
    /// The id of the access token of the upload (as in API Access); `null` for a webhook
    /// sync.
    #[schema(required)]
    token_id: Option<String>,
}

fn publisher_kind() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["user", "org"]))
        .build()
}

/// How a version's dist came.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSource {
    /// `upload` or `webhook`.
    #[schema(schema_with = source_kind)]
    kind: &'static str,
    /// The git commit the webhook archived (`null` for an upload).
    #[schema(required)]
    commit: Option<String>,
}

fn source_kind() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["upload", "webhook"]))
        .build()
}

impl VersionView {
    /// Renders a version, with the ids of those of its add-on's `advisories` that affect
    /// it.
    pub fn new(state: &AppState, v: &PackageVersion, advisories: &[Advisory]) -> VersionView {
        let manifest: Value = serde_json::from_str(&v.manifest).unwrap_or(Value::Null);
        let text = |key: &str| manifest.get(key).and_then(Value::as_str).map(str::to_owned);
        VersionView {
            name: v.package.clone(),
            version: v.version.clone(),
            version_normalized: v.version_normalized.clone(),
            package_type: text("type").unwrap_or_else(|| "library".to_owned()),
            description: text("description"),
            require: manifest
                .get("require")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            sha256: v.sha256.clone(),
            shasum: v.shasum.clone(),
            size: v.size,
            dist_url: dist_url(state, &v.package, &v.version),
            published_at: rfc3339(v.created_at),
            advisories: advisories
                .iter()
                .filter(|a| affects(a, &v.version))
                .map(|a| a.advisory_id.clone())
                .collect(),
            yanked: v.yanked.as_ref().map(|y| y.reason.clone()),
            yanked_at: v.yanked.as_ref().map(|y| rfc3339(y.at)),
            published_by: v.provenance.as_ref().map(|p| PublishedBy {
                kind: p.publisher_kind.clone(),
                name: p.publisher_name.clone(),
                token_id: p.token_id.map(|t| t.to_string()),
            }),
            source: v.provenance.as_ref().map(|p| VersionSource {
                kind: p.source.kind(),
                commit: match &p.source {
                    Source::Webhook { commit } => commit.clone(),
                    Source::Upload => None,
                },
            }),
        }
    }
}

/// Who owns an add-on.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageOwner {
    username: String,
}

/// An add-on as the marketplace shows it; `hasWebhookSecret` and `hasRepositoryCredentials`
/// only to who may change it, `versions` only in `GET /packages/{vendor}/{name}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Package)]
pub struct PackageView {
    /// `vendor/name`.
    name: String,
    /// Its Composer type.
    #[serde(rename = "type")]
    #[schema(schema_with = schemas::package_type)]
    package_type: String,
    #[schema(required)]
    description: Option<String>,
    /// `private`: only its owner and administrators see it.
    #[schema(schema_with = schemas::visibility)]
    visibility: String,
    /// The git repository the push webhook reads tags from.
    #[schema(required)]
    repository_url: Option<String>,
    owner: PackageOwner,
    /// Its URL in this API.
    url: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// `false`, `true` (abandoned) or the `vendor/name` that replaces it.
    #[schema(schema_with = schemas::abandoned)]
    abandoned: Value,
    /// Installs counted (as written by the last flush).
    downloads: DownloadTotals,
    /// Whether a webhook secret is set (to who may change the add-on only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    has_webhook_secret: Option<bool>,
    /// Whether repository credentials are set (to who may change the add-on only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    has_repository_credentials: Option<bool>,
    /// Its versions, newest first (one add-on's answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    versions: Option<Vec<VersionView>>,
}

impl PackageView {
    /// Renders an add-on; the secrets' flags when `may_edit`. A URL stored with
    /// credentials before they were refused is shown without them.
    pub fn new(state: &AppState, p: &Package, may_edit: bool) -> PackageView {
        PackageView {
            name: p.name.clone(),
            package_type: p.package_type.as_str().to_owned(),
            description: p.description.clone(),
            visibility: p.visibility.as_str().to_owned(),
            repository_url: p
                .repository_url
                .as_deref()
                .map(outbound::without_credentials),
            owner: PackageOwner {
                username: p.owner_username.to_string(),
            },
            url: state.url(&format!("/packages/{}", p.name)),
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
            abandoned: abandoned_value(&p.abandoned),
            downloads: DownloadTotals {
                total: p.downloads_total,
                last30_days: p.downloads_last_30_days,
            },
            has_webhook_secret: may_edit.then_some(p.has_webhook_secret),
            has_repository_credentials: may_edit.then_some(p.has_repository_credentials),
            versions: None,
        }
    }
}

/// An add-on's installs, in listings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownloadTotals {
    /// All time.
    total: i64,
    /// The last 30 days, today included.
    last30_days: i64,
}

/// `abandoned` as Composer and this API write it: `false`, `true` or the replacement.
pub fn abandoned_value(a: &Abandoned) -> Value {
    match a {
        Abandoned::No => Value::Bool(false),
        Abandoned::Yes => Value::Bool(true),
        Abandoned::ReplacedBy(r) => Value::String(r.clone()),
    }
}

/// An uploaded dist, as the document describes the body of a publish (read as bytes).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "application/zip")]
pub struct ZipBody(pub Vec<u8>);

/// The filters of `GET /packages` (read from [`Paging::rest`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only add-ons of this Composer type.
    #[param(schema_with = schemas::package_type)]
    pub r#type: Option<String>,
    /// Words in the name or description.
    pub q: Option<String>,
}

/// The query of a publish (read by `requested_visibility`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublishQuery {
    /// `private` makes a new add-on private from its first version; on an existing add-on
    /// it must be its current visibility (`409 visibility_mismatch` otherwise).
    #[param(schema_with = schemas::visibility)]
    pub visibility: Option<String>,
}

/// The add-ons the caller may see, by name
#[utoipa::path(
    get,
    path = "/packages",
    tag = "packages",
    security(("accessToken" = ["read"]), ()),
    params(ListQuery, Paging),
    responses(
        (status = 200, description = "A page of add-ons.", body = Vec<PackageView>,
            headers(("Link" = String, description = "GitHub's paging links, when there is more than one page"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
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
    let views: Vec<PackageView> = packages
        .iter()
        .map(|(p, access)| PackageView::new(&state, p, *access == Access::Manage))
        .collect();
    let mut response = Json(views).into_response();
    if let Some(link) = paging.link_header(&state.url("/packages"), total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// An add-on with its versions, newest first
#[utoipa::path(
    get,
    path = "/packages/{vendor}/{name}",
    tag = "packages",
    security(("accessToken" = ["read"]), ()),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
    ),
    responses(
        (status = 200, description = "The add-on with `versions`.", body = PackageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_package(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name)): Path<(String, String)>,
) -> Result<Json<PackageView>, ApiError> {
    let packages = state.services.packages();
    let (p, access) = packages.seen(caller.viewer, &vendor, &name).await?;
    let versions = packages.versions(&p).await?;
    let advisories = state.services.advisories().of_visible(&p.name).await?;
    let mut view = PackageView::new(&state, &p, access == Access::Manage);
    view.versions = Some(
        versions
            .iter()
            .map(|v| VersionView::new(&state, v, &advisories))
            .collect(),
    );
    Ok(Json(view))
}

/// One version of an add-on
#[utoipa::path(
    get,
    path = "/packages/{vendor}/{name}/versions/{version}",
    tag = "packages",
    security(("accessToken" = ["read"]), ()),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
        ("version" = String, Path, description = "a version (`1.2.0`)"),
    ),
    responses(
        (status = 200, description = "The version.", body = VersionView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_version(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name, version)): Path<(String, String, String)>,
) -> Result<Json<VersionView>, ApiError> {
    let packages = state.services.packages();
    let p = packages.visible(caller.viewer, &vendor, &name).await?;
    let v = packages.version(&p, &version).await?;
    let advisories = state.services.advisories().of_visible(&p.name).await?;
    Ok(Json(VersionView::new(&state, &v, &advisories)))
}

/// A version's dist zip
#[utoipa::path(
    get,
    path = "/packages/{vendor}/{name}/versions/{version}/dist",
    tag = "packages",
    security(("accessToken" = ["read"]), ()),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
        ("version" = String, Path, description = "a version (`1.2.0`)"),
    ),
    responses(
        (status = 200, description = "The zip, as uploaded (`ETag`: its SHA-256).",
            content(("application/zip")),
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"VENDOR-NAME-VERSION.zip\"`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
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

/// Publish a version (a zip body)
///
/// The first publish under a vendor gives the vendor to the caller; the first publish of
/// a name creates the add-on, owned by the caller, with the visibility asked for (public
/// by default). Refusals: `403 vendor_owned` (another account's vendor), `409 conflict`
/// (published already), `409 version_tombstoned` (published and deleted),
/// `409 visibility_mismatch`, `422 invalid_archive`.
// Everything refused before the body is read is refused again, atomically, where the
// version is stored; checking first spares reading the body.
#[utoipa::path(
    put,
    path = "/packages/{vendor}/{name}/versions/{version}",
    tag = "packages",
    security(("accessToken" = ["write"])),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
        ("version" = String, Path, description = "a version (`1.2.0`)"),
        PublishQuery,
    ),
    request_body(content = inline(ZipBody), content_type = "application/zip",
        description = "The dist: a zip with `composer.json` at its root."),
    responses(
        (status = 201, description = "The version.", body = VersionView,
            headers(("Location" = String, description = "the version's URL"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
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
        .publish(
            caller.user.id,
            &package_name,
            &version,
            visibility,
            bytes,
            Provenance {
                publisher_kind: "user".to_owned(),
                publisher_name: caller.user.username.to_string(),
                token_id: Some(caller.token.id),
                source: Source::Upload,
            },
        )
        .await?;
    tracing::info!(package = %p.name, version = %v.version, "published");
    let mut response =
        (StatusCode::CREATED, Json(VersionView::new(&state, &v, &[]))).into_response();
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

/// `PATCH /packages/{vendor}/{name}` body: the fields to change (`null` clears one).
/// `webhookSecret` and `repositoryCredentials` are write-only.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = PackagePatch)]
pub struct UpdatePackage {
    #[schema(schema_with = schemas::visibility)]
    visibility: Option<Visibility>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    /// An https or http URL of a git repository (ssh, git and local paths where the
    /// deployment enables them); no credentials; its host must resolve to public
    /// addresses unless the deployment allow-lists it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 1000)]
    repository_url: Option<Option<String>>,
    /// The push webhook's HMAC key (8 to 256 bytes); never shown again.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(write_only)]
    webhook_secret: Option<Option<String>>,
    /// `username:token` for a private https repository, sent as HTTP Basic authorization;
    /// never shown again; dropped when `repositoryUrl` moves to another scheme, host or port.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(write_only, max_length = 1024)]
    repository_credentials: Option<Option<String>>,
    /// `true` abandons the add-on, a `vendor/name` abandons it for that replacement,
    /// `false` takes it back. Composer warns whoever installs an abandoned add-on.
    #[schema(schema_with = schemas::abandoned)]
    abandoned: Option<AbandonedBody>,
}

/// `abandoned` of a `PATCH`: a flag or a replacement's name.
#[derive(Deserialize)]
#[serde(untagged)]
enum AbandonedBody {
    Flag(bool),
    Replacement(String),
}

/// Change an add-on
///
/// Who manages it only (its owner; under an organization's vendor, the organization's owners
/// and maintainers; an administrator): `403` to others who can see it, `404` to those
/// who cannot.
#[utoipa::path(
    patch,
    path = "/packages/{vendor}/{name}",
    tag = "packages",
    security(("accessToken" = ["write"])),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
    ),
    request_body = UpdatePackage,
    responses(
        (status = 200, description = "The add-on.", body = PackageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn update_package(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((vendor, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdatePackage>,
) -> Result<Json<PackageView>, ApiError> {
    let update = PackageUpdate {
        visibility: body.visibility,
        description: body.description,
        repository_url: body.repository_url,
        webhook_secret: body.webhook_secret,
        repository_credentials: body.repository_credentials,
        abandoned: body.abandoned.map(|a| match a {
            AbandonedBody::Flag(f) => AbandonSpec::Flag(f),
            AbandonedBody::Replacement(r) => AbandonSpec::Replacement(r),
        }),
    };
    let p = state
        .services
        .packages()
        .update(caller.viewer(), &vendor, &name, update)
        .await?;
    Ok(Json(PackageView::new(&state, &p, true)))
}

/// `PATCH /packages/{vendor}/{name}/versions/{version}` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PackageVersionPatch)]
pub struct UpdateVersion {
    /// Why the version is yanked (1 to 500 characters), or `null` to take the yank back.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(required, min_length = 1, max_length = 500)]
    yanked: Option<Option<String>>,
}

/// Yank a version, or take the yank back
///
/// Who manages its add-on only (its owner; under an organization's vendor, the organization's
/// owners and maintainers; an administrator): `403` to others who can see it, `404` to
/// those who cannot. A yanked version is no longer in the add-on's Composer metadata, so
/// no new `composer require` or `update` picks it, but its dist stays downloadable with
/// the same bytes, so a `composer.lock` that pins it still installs; the API shows the
/// reason.
#[utoipa::path(
    patch,
    path = "/packages/{vendor}/{name}/versions/{version}",
    tag = "packages",
    security(("accessToken" = ["write"])),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
        ("version" = String, Path, description = "a version (`1.2.0`)"),
    ),
    request_body = UpdateVersion,
    responses(
        (status = 200, description = "The version.", body = VersionView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn update_version(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((vendor, name, version)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<UpdateVersion>,
) -> Result<Json<VersionView>, ApiError> {
    let Some(yanked) = body.yanked else {
        return Err(ApiError::invalid_field(
            "yanked",
            "is required: a reason, or null",
        ));
    };
    let v = state
        .services
        .packages()
        .yank(caller.viewer(), &vendor, &name, &version, yanked.as_deref())
        .await?;
    let advisories = state.services.advisories().of_visible(&v.package).await?;
    Ok(Json(VersionView::new(&state, &v, &advisories)))
}
