//! Security advisories: `POST|GET /packages/{vendor}/{name}/advisories` (file one, list an
//! add-on's), and Packagist's security-advisories API, `GET|POST
//! /api/security-advisories/?packages[]=vendor/name&updatedSince=T`, which
//! `composer audit` calls (with a form body) because `packages.json` names it as the
//! `api-url` of its `security-advisories`. Advisories are seen by whoever may see their
//! add-on.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{OptionalCaller, UserCaller, Write};
use super::extract::ApiJson;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::advisories::{AdvisorySpec, packagist_time};
use crate::state::AppState;
use crate::store::packages::Advisory;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_package_advisories, create_advisory))
        .routes(routes!(get_security_advisories, post_security_advisories))
}

/// Where one source of an advisory names it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdvisorySource {
    /// `harmony`.
    name: &'static str,
    /// The advisory's id there.
    remote_id: String,
}

/// An advisory, in Packagist's format (which Composer reads).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SecurityAdvisory)]
pub struct AdvisoryView {
    /// `HRSA-xxxx-xxxx-xxxx`.
    advisory_id: String,
    /// The add-on, `vendor/name`.
    package_name: String,
    /// The id at its source (the same).
    remote_id: String,
    title: String,
    #[schema(required)]
    link: Option<String>,
    #[schema(required)]
    cve: Option<String>,
    /// A Composer constraint.
    affected_versions: String,
    /// `harmony`.
    source: &'static str,
    /// `YYYY-MM-DD HH:MM:SS`, UTC, as Packagist writes it.
    reported_at: String,
    /// The repository's URL.
    composer_repository: String,
    /// `low`, `medium`, `high`, `critical`.
    #[schema(required)]
    severity: Option<&'static str>,
    sources: Vec<AdvisorySource>,
    /// When it was filed here (RFC 3339).
    #[schema(format = DateTime)]
    created_at: String,
    /// When it last changed (RFC 3339).
    #[schema(format = DateTime)]
    updated_at: String,
}

impl AdvisoryView {
    /// Renders an advisory.
    pub fn new(state: &AppState, a: &Advisory) -> AdvisoryView {
        AdvisoryView {
            advisory_id: a.advisory_id.clone(),
            package_name: a.package.clone(),
            remote_id: a.advisory_id.clone(),
            title: a.title.clone(),
            link: a.link.clone(),
            cve: a.cve.clone(),
            affected_versions: a.affected_versions.clone(),
            source: "harmony",
            reported_at: packagist_time(a.reported_at),
            composer_repository: state.public_url.to_string(),
            severity: a.severity.map(|s| s.as_str()),
            sources: vec![AdvisorySource {
                name: "harmony",
                remote_id: a.advisory_id.clone(),
            }],
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
        }
    }
}

/// `POST /packages/{vendor}/{name}/advisories` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = NewSecurityAdvisory)]
pub struct NewAdvisory {
    /// What is wrong, in a line (1 to 200 characters).
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    /// The affected versions, a Composer constraint (`>=1.0,<1.2.3`).
    #[schema(min_length = 1, max_length = 256)]
    affected_versions: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    #[schema(schema_with = severity_schema)]
    severity: Option<String>,
    /// `CVE-2026-1234`.
    #[schema(pattern = r"^CVE-[0-9]{4}-[0-9]{4,19}$")]
    cve: Option<String>,
    /// An absolute http or https URL describing it.
    #[schema(max_length = 2000)]
    link: Option<String>,
    /// When it was reported (RFC 3339); now by default.
    #[schema(format = DateTime)]
    reported_at: Option<String>,
}

fn severity_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::Type::String,
            utoipa::openapi::Type::Null,
        ]))
        .enum_values(Some(["low", "medium", "high", "critical"]))
        .build()
}

/// Packagist's answer: each add-on asked about that the caller may see, with its
/// advisories (an empty list when it has none).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SecurityAdvisories)]
pub struct AdvisoriesAnswer {
    /// `vendor/name` → its advisories, oldest report first.
    advisories: BTreeMap<String, Vec<AdvisoryView>>,
}

/// The query (or form body) of the security-advisories API.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdvisoriesQuery {
    /// The add-ons asked about (`packages[]=a/b&packages[]=c/d`; `packages[0]=…` as
    /// PHP's `http_build_query` writes it is read too).
    #[param(rename = "packages[]")]
    pub packages: Option<Vec<String>>,
    /// Only advisories changed at or after this Unix time (seconds).
    #[param(rename = "updatedSince", minimum = 0)]
    pub updated_since: Option<i64>,
}

/// The names and `updatedSince` of a query string or form body: `packages`, `packages[]`
/// and `packages[N]` name add-ons; `updatedSince` is given at most once; other keys are
/// ignored (as Packagist does).
fn advisory_query(raw: &[u8]) -> Result<(Vec<String>, Option<String>), ApiError> {
    let mut names = Vec::new();
    let mut since = None;
    for (k, v) in form_urlencoded::parse(raw) {
        let is_packages = k == "packages"
            || k.strip_prefix("packages[")
                .and_then(|r| r.strip_suffix(']'))
                .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()));
        if is_packages {
            names.push(v.into_owned());
        } else if k == "updatedSince" {
            if since.is_some() {
                return Err(ApiError::invalid_field(
                    "updatedSince",
                    "must be given once",
                ));
            }
            since = Some(v.into_owned());
        }
    }
    Ok((names, since))
}

async fn answer(
    state: &AppState,
    caller: &OptionalCaller,
    raw: &[u8],
) -> Result<Json<AdvisoriesAnswer>, ApiError> {
    let (names, since) = advisory_query(raw)?;
    let found = state
        .services
        .advisories()
        .query(caller.viewer, &names, since.as_deref())
        .await?;
    Ok(Json(AdvisoriesAnswer {
        advisories: found
            .into_iter()
            .map(|(name, list)| {
                (
                    name,
                    list.iter().map(|a| AdvisoryView::new(state, a)).collect(),
                )
            })
            .collect(),
    }))
}

/// Security advisories of add-ons (Packagist's API)
///
/// `packages[]` (repeated) and/or `updatedSince`; one of them is required. Add-ons the
/// caller may not see, and unknown names, are left out.
#[utoipa::path(
    get,
    path = "/api/security-advisories/",
    tag = "composer",
    security(("accessToken" = ["read"]), ()),
    params(AdvisoriesQuery),
    responses(
        (status = 200, description = "The advisories, by add-on.", body = AdvisoriesAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_security_advisories(
    State(state): State<AppState>,
    caller: OptionalCaller,
    request: Request,
) -> Result<Json<AdvisoriesAnswer>, ApiError> {
    let raw = request.uri().query().unwrap_or("").as_bytes().to_vec();
    answer(&state, &caller, &raw).await
}

/// The form body of the POST security-advisories query (as Composer sends it).
#[derive(ToSchema)]
#[allow(dead_code)] // Read by hand (`packages[0]` keys); the type only documents the body.
pub struct AdvisoriesForm {
    /// The add-ons asked about.
    #[schema(rename = "packages[]")]
    packages: Option<Vec<String>>,
    /// Only advisories changed at or after this Unix time (seconds).
    #[schema(rename = "updatedSince", minimum = 0)]
    updated_since: Option<i64>,
}

/// Security advisories of add-ons, asked with a form body (as `composer audit` does)
///
/// The same as the `GET`, with the parameters in an `application/x-www-form-urlencoded`
/// body (up to 1 MiB); parameters in the query string are read too.
#[utoipa::path(
    post,
    path = "/api/security-advisories/",
    tag = "composer",
    security(("accessToken" = ["read"]), ()),
    request_body(content = AdvisoriesForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The advisories, by add-on.", body = AdvisoriesAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn post_security_advisories(
    State(state): State<AppState>,
    caller: OptionalCaller,
    headers: HeaderMap,
    request: Request,
) -> Result<Json<AdvisoriesAnswer>, ApiError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let mut raw = request.uri().query().unwrap_or("").as_bytes().to_vec();
    let bytes = Bytes::from_request(request, &state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            ApiError::bad_request("bad_body", "the request body could not be read")
        }
    })?;
    if !bytes.is_empty() {
        if !form {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        if !raw.is_empty() {
            raw.push(b'&');
        }
        raw.extend_from_slice(&bytes);
    }
    answer(&state, &caller, &raw).await
}

/// The advisories of an add-on, oldest report first
#[utoipa::path(
    get,
    path = "/packages/{vendor}/{name}/advisories",
    tag = "packages",
    security(("accessToken" = ["read"]), ()),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
    ),
    responses(
        (status = 200, description = "Its advisories.", body = Vec<AdvisoryView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn list_package_advisories(
    State(state): State<AppState>,
    caller: OptionalCaller,
    Path((vendor, name)): Path<(String, String)>,
) -> Result<Json<Vec<AdvisoryView>>, ApiError> {
    let list = state
        .services
        .advisories()
        .of_package(caller.viewer, &vendor, &name)
        .await?;
    Ok(Json(
        list.iter().map(|a| AdvisoryView::new(&state, a)).collect(),
    ))
}

/// File a security advisory against an add-on
///
/// Who manages it only (its owner; under an organization's vendor, the organization's owners
/// and maintainers; an administrator): `403` to others who can see it, `404` to those
/// who cannot. `title` and `affectedVersions` are required.
#[utoipa::path(
    post,
    path = "/packages/{vendor}/{name}/advisories",
    tag = "packages",
    security(("accessToken" = ["write"])),
    params(
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
    ),
    request_body = NewAdvisory,
    responses(
        (status = 201, description = "The advisory.", body = AdvisoryView),
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
pub async fn create_advisory(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((vendor, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<NewAdvisory>,
) -> Result<Response, ApiError> {
    let spec = AdvisorySpec {
        title: body.title,
        affected_versions: body.affected_versions,
        severity: body.severity,
        cve: body.cve,
        link: body.link,
        reported_at: body.reported_at,
    };
    let a = state
        .services
        .advisories()
        .file(caller.viewer(), &vendor, &name, spec)
        .await?;
    Ok((StatusCode::CREATED, Json(AdvisoryView::new(&state, &a))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_in_every_spelling_php_writes() {
        let (names, since) =
            advisory_query(b"packages%5B0%5D=a%2Fb&packages%5B%5D=c/d&packages=e/f&x=1").unwrap();
        assert_eq!(names, ["a/b", "c/d", "e/f"]);
        assert_eq!(since, None);
        let (names, since) = advisory_query(b"updatedSince=10&packages[x]=no").unwrap();
        assert!(names.is_empty());
        assert_eq!(since.as_deref(), Some("10"));
        assert!(advisory_query(b"updatedSince=1&updatedSince=2").is_err());
    }
}
