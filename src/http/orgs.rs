//! Organizations (`/orgs`, `/orgs/{org}`) and their members
//! (`/orgs/{org}/members/{username}`). An organization that the caller is not a member of
//! is `404` (administrators see them all); a member who is not an owner may read but not
//! manage the members (`403`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::OwnerRef;
use super::auth::{OptionalCaller, Read, UserCaller, Write};
use super::extract::ApiJson;
use crate::domain::org::Role;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::orgs::OrgView;
use crate::state::AppState;
use crate::store::orgs::Member;
use crate::store::packages::Vendor;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org))
        .routes(routes!(list_org_members))
        .routes(routes!(set_org_member, remove_org_member))
        .routes(routes!(get_vendor, update_vendor))
}

/// A role in an organization.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// Manages the members and settings.
    Owner,
    /// Publishes and manages the organization's add-ons.
    Maintainer,
    /// Installs its private add-ons.
    Reader,
}

impl RoleName {
    fn new(r: Role) -> RoleName {
        match r {
            Role::Owner => RoleName::Owner,
            Role::Maintainer => RoleName::Maintainer,
            Role::Reader => RoleName::Reader,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            RoleName::Owner => "owner",
            RoleName::Maintainer => "maintainer",
            RoleName::Reader => "reader",
        }
    }
}

/// The organization document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Org)]
pub struct OrgDocument {
    /// The name (the rules of a vendor name).
    name: String,
    /// The caller's role; `null` for an administrator who is not a member.
    #[schema(required)]
    role: Option<RoleName>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl OrgDocument {
    fn new(v: &OrgView) -> OrgDocument {
        OrgDocument {
            name: v.org.name.to_string(),
            role: v.role.map(RoleName::new),
            created_at: rfc3339(v.org.created_at),
        }
    }
}

/// A member of an organization.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OrgMember)]
pub struct MemberDocument {
    username: String,
    role: RoleName,
    /// Member since.
    #[schema(format = DateTime)]
    since: String,
}

impl MemberDocument {
    fn new(m: &Member) -> MemberDocument {
        MemberDocument {
            username: m.username.to_string(),
            role: RoleName::new(m.role),
            since: rfc3339(m.since),
        }
    }
}

/// `POST /orgs` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewOrg)]
pub struct CreateOrg {
    /// A vendor name: lower-case letters and digits, separated by single `-`, `_` or `.`.
    #[schema(pattern = "^[a-z0-9]([_.-]?[a-z0-9]+)*$", max_length = 100)]
    name: String,
}

/// `PUT /orgs/{org}/members/{username}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OrgMembership)]
pub struct SetMember {
    role: RoleName,
}

/// My organizations
///
/// The organizations the caller is a member of, by name, with its role in each.
#[utoipa::path(
    get,
    path = "/orgs",
    tag = "orgs",
    security(("accessToken" = ["read"])),
    responses(
        (status = 200, description = "The caller's organizations.", body = Vec<OrgDocument>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn list_orgs(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
) -> Result<Json<Vec<OrgDocument>>, ApiError> {
    let orgs = state.services.orgs().mine(&caller.user).await?;
    Ok(Json(orgs.iter().map(OrgDocument::new).collect()))
}

/// Create an organization
///
/// The caller becomes its owner. `409` when the name is another organization's.
#[utoipa::path(
    post,
    path = "/orgs",
    tag = "orgs",
    security(("accessToken" = ["write"])),
    request_body = CreateOrg,
    responses(
        (status = 201, description = "The organization.", body = OrgDocument,
            headers(("Location" = String, description = "the organization's URL"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn create_org(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    ApiJson(body): ApiJson<CreateOrg>,
) -> Result<Response, ApiError> {
    let created = state
        .services
        .orgs()
        .create(&caller.user, &body.name)
        .await?;
    let location = state.url(&format!("/orgs/{}", created.org.name));
    let mut response = (StatusCode::CREATED, Json(OrgDocument::new(&created))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// One organization
#[utoipa::path(
    get,
    path = "/orgs/{org}",
    tag = "orgs",
    security(("accessToken" = ["read"])),
    params(("org" = String, Path, description = "the organization's name")),
    responses(
        (status = 200, description = "The organization.", body = OrgDocument),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_org(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    Path(org): Path<String>,
) -> Result<Json<OrgDocument>, ApiError> {
    let seen = state.services.orgs().get(caller.viewer(), &org).await?;
    Ok(Json(OrgDocument::new(&seen)))
}

/// An organization's members
///
/// By username; for its members and administrators.
#[utoipa::path(
    get,
    path = "/orgs/{org}/members",
    tag = "orgs",
    security(("accessToken" = ["read"])),
    params(("org" = String, Path, description = "the organization's name")),
    responses(
        (status = 200, description = "The members.", body = Vec<MemberDocument>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn list_org_members(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    Path(org): Path<String>,
) -> Result<Json<Vec<MemberDocument>>, ApiError> {
    let members = state.services.orgs().members(caller.viewer(), &org).await?;
    Ok(Json(members.iter().map(MemberDocument::new).collect()))
}

/// Add a member or change its role
///
/// Owners of the organization (and administrators) only. Demoting the last owner is `409`.
#[utoipa::path(
    put,
    path = "/orgs/{org}/members/{username}",
    tag = "orgs",
    security(("accessToken" = ["write"])),
    params(
        ("org" = String, Path, description = "the organization's name"),
        ("username" = String, Path, description = "the account's username"),
    ),
    request_body = SetMember,
    responses(
        (status = 200, description = "The membership.", body = MemberDocument),
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
pub async fn set_org_member(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((org, username)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetMember>,
) -> Result<Json<MemberDocument>, ApiError> {
    let member = state
        .services
        .orgs()
        .set_member(caller.viewer(), &org, &username, body.role.as_str())
        .await?;
    Ok(Json(MemberDocument::new(&member)))
}

/// Remove a member
///
/// Owners of the organization (and administrators) only. Removing the last owner is `409`.
#[utoipa::path(
    delete,
    path = "/orgs/{org}/members/{username}",
    tag = "orgs",
    security(("accessToken" = ["write"])),
    params(
        ("org" = String, Path, description = "the organization's name"),
        ("username" = String, Path, description = "the account's username"),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn remove_org_member(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((org, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .orgs()
        .remove_member(caller.viewer(), &org, &username)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A vendor and its owner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Vendor)]
pub struct VendorDocument {
    /// The vendor (`acme` of `acme/theme`).
    name: String,
    /// An account or an organization; `null` once the owning account was deleted.
    #[schema(required)]
    owner: Option<OwnerRef>,
}

impl VendorDocument {
    fn new(v: &Vendor) -> VendorDocument {
        VendorDocument {
            name: v.name.clone(),
            owner: OwnerRef::of_vendor(v),
        }
    }
}

/// The body of `PATCH /vendors/{vendor}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = VendorPatch)]
pub struct UpdateVendor {
    /// The new owner.
    owner: OwnerRef,
}

/// A vendor and its owner
///
/// Public, like the add-ons' names: who owns a vendor tells who may publish under it.
#[utoipa::path(
    get,
    path = "/vendors/{vendor}",
    tag = "packages",
    security(("accessToken" = ["read"]), ()),
    params(("vendor" = String, Path, description = "the vendor (`acme` of `acme/theme`)")),
    responses(
        (status = 200, description = "The vendor.", body = VendorDocument),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_vendor(
    State(state): State<AppState>,
    _caller: OptionalCaller,
    Path(vendor): Path<String>,
) -> Result<Json<VendorDocument>, ApiError> {
    let v = state.services.orgs().vendor(&vendor).await?;
    Ok(Json(VendorDocument::new(&v)))
}

/// Give a vendor to an organization (or back to an account)
///
/// `{"owner": {"type": "org", "name": "acme"}}` by the vendor's owner (for a vendor of an
/// organization: one of its owners) who is an owner of that organization, or by an
/// administrator. `{"type": "user"}` gives it to the caller's own account, or, for an
/// administrator, to any account. The add-ons already under the vendor keep their owners.
#[utoipa::path(
    patch,
    path = "/vendors/{vendor}",
    tag = "packages",
    security(("accessToken" = ["write"])),
    params(("vendor" = String, Path, description = "the vendor (`acme` of `acme/theme`)")),
    request_body = UpdateVendor,
    responses(
        (status = 200, description = "The vendor.", body = VendorDocument),
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
pub async fn update_vendor(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(vendor): Path<String>,
    ApiJson(patch): ApiJson<UpdateVendor>,
) -> Result<Json<VendorDocument>, ApiError> {
    let v = state
        .services
        .orgs()
        .transfer_vendor(
            &caller.user,
            caller.viewer(),
            &vendor,
            &patch.owner.kind,
            &patch.owner.name,
        )
        .await?;
    Ok(Json(VendorDocument::new(&v)))
}
