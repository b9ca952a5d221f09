//! Server administration (`admin` scope and an administrator account):
//! `GET/POST /admin/users`, `PATCH/DELETE /admin/users/{id}`, `GET/PATCH
//! /admin/vendors/{vendor}`. Disabling an account or resetting its password revokes every
//! token it has and ends its browser sessions; deleting it removes everything it owns,
//! except that its vendors stay reserved and its deleted versions leave tombstones.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Admin, UserCaller};
use super::extract::ApiJson;
use super::paging::Paging;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::accounts::AccountChange;
use crate::state::AppState;
use crate::store::User;
use crate::store::packages::Vendor;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_admin_users, create_admin_user))
        .routes(routes!(update_admin_user, delete_admin_user))
        .routes(routes!(get_admin_vendor, update_admin_vendor))
}

/// An account as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AdminUser)]
pub struct AdminUserView {
    #[schema(format = "uuid")]
    id: String,
    username: String,
    email: String,
    #[schema(required)]
    name: Option<String>,
    is_admin: bool,
    disabled: bool,
    #[schema(format = DateTime)]
    created_at: String,
    /// The generated password: only in the answer of a create that named none, shown
    /// this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    password: Option<String>,
}

impl AdminUserView {
    fn new(u: &User) -> AdminUserView {
        AdminUserView {
            id: u.id.to_string(),
            username: u.username.to_string(),
            email: u.email.to_string(),
            name: u.name.as_ref().map(ToString::to_string),
            is_admin: u.is_admin,
            disabled: u.disabled,
            created_at: rfc3339(u.created_at),
            password: None,
        }
    }
}

/// The body of `POST /admin/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewUser)]
pub struct NewUserBody {
    username: String,
    email: String,
    /// None (or `null`): one is generated and shown once in the answer.
    #[schema(min_length = 8, max_length = 1024)]
    password: Option<String>,
    /// Make the account an administrator.
    #[serde(default)]
    admin: bool,
}

/// The body of `PATCH /admin/users/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdminUserPatch)]
pub struct UserAdminPatch {
    /// Disabling revokes every token of the account and ends its sessions.
    disabled: Option<bool>,
    admin: Option<bool>,
    /// A new password (at most 1024 bytes); revokes every token and session of the account.
    #[schema(min_length = 8, max_length = 1024)]
    password: Option<String>,
}

/// Every account, oldest first
#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "admin",
    security(("accessToken" = ["admin"])),
    params(Paging),
    responses(
        (status = 200, description = "A page of accounts.", body = Vec<AdminUserView>,
            headers(("Link" = String, description = "GitHub's paging links, when there is more than one page"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn list_admin_users(
    State(state): State<AppState>,
    _caller: UserCaller<Admin>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let (users, total) = state.services.accounts().list(paging.page).await?;
    let views: Vec<AdminUserView> = users.iter().map(AdminUserView::new).collect();
    let mut response = Json(views).into_response();
    if let Some(link) = paging.link_header(&state.url("/admin/users"), total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// Create an account
///
/// With no `password`, one is generated and shown once.
#[utoipa::path(
    post,
    path = "/admin/users",
    tag = "admin",
    security(("accessToken" = ["admin"])),
    request_body = NewUserBody,
    responses(
        (status = 201, description = "The account (`Cache-Control: no-store`).", body = AdminUserView,
            headers(("Location" = String, description = "the account's URL"))),
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
pub async fn create_admin_user(
    State(state): State<AppState>,
    _caller: UserCaller<Admin>,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<Response, ApiError> {
    let created = state
        .services
        .accounts()
        .create_user(
            body.username.trim(),
            body.email.trim(),
            body.password.as_deref(),
            body.admin,
        )
        .await?;
    let mut view = AdminUserView::new(&created.user);
    view.password = created.generated_password.map(|p| p.expose().to_owned());
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.url(&format!("/admin/users/{}", created.user.id))) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Disable, promote or reset an account
///
/// `disabled`, `admin`, `password`. An administrator cannot disable or demote their own
/// account (`409`), so that a server keeps an administrator.
#[utoipa::path(
    patch,
    path = "/admin/users/{id}",
    tag = "admin",
    security(("accessToken" = ["admin"])),
    params(("id" = String, Path, description = "the account's `id`")),
    request_body = UserAdminPatch,
    responses(
        (status = 200, description = "The account.", body = AdminUserView),
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
pub async fn update_admin_user(
    State(state): State<AppState>,
    caller: UserCaller<Admin>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserAdminPatch>,
) -> Result<Json<AdminUserView>, ApiError> {
    let change = AccountChange {
        disabled: patch.disabled,
        admin: patch.admin,
        password: patch.password,
    };
    let user = state
        .services
        .accounts()
        .change(&caller.user, &id, change)
        .await?;
    Ok(Json(AdminUserView::new(&user)))
}

/// Delete an account
///
/// The account and everything it owns (clients, tokens, projects, add-ons with their
/// versions and dist files). What was published stays claimed: each deleted version
/// leaves a tombstone (the database writes it as the row goes) and the account's vendors
/// stay reserved, owned by nobody. An administrator cannot delete their own account
/// (`409`).
#[utoipa::path(
    delete,
    path = "/admin/users/{id}",
    tag = "admin",
    security(("accessToken" = ["admin"])),
    params(("id" = String, Path, description = "the account's `id`")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn delete_admin_user(
    State(state): State<AppState>,
    caller: UserCaller<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.accounts().delete(&caller.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account or an organization that owns something, as `{"type": "user", "name":
/// USERNAME}` or `{"type": "org", "name": ORG}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerRef {
    /// `user` or `org`.
    #[serde(rename = "type")]
    #[schema(schema_with = owner_kind)]
    pub kind: String,
    /// The username or the organization's name.
    pub name: String,
}

impl OwnerRef {
    /// The owner of a vendor (`None` once its account was deleted).
    pub fn of_vendor(v: &Vendor) -> Option<OwnerRef> {
        match (&v.owner_username, &v.owner_org) {
            (Some(user), _) => Some(OwnerRef {
                kind: "user".to_owned(),
                name: user.to_string(),
            }),
            (None, Some(org)) => Some(OwnerRef {
                kind: "org".to_owned(),
                name: org.to_string(),
            }),
            (None, None) => None,
        }
    }
}

fn owner_kind() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["user", "org"]))
        .build()
}

/// A vendor as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AdminVendor)]
pub struct AdminVendorView {
    name: String,
    /// `null` once its account was deleted (the vendor stays reserved).
    #[schema(required)]
    owner: Option<OwnerRef>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl AdminVendorView {
    fn new(v: &Vendor) -> AdminVendorView {
        AdminVendorView {
            name: v.name.clone(),
            owner: OwnerRef::of_vendor(v),
            created_at: rfc3339(v.created_at),
        }
    }
}

/// The body of `PATCH /admin/vendors/{vendor}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdminVendorPatch)]
pub struct VendorAdminPatch {
    /// The account to give the vendor to.
    owner: OwnerRef,
}

/// A vendor and its owner
///
/// `owner: null` once its account was deleted.
#[utoipa::path(
    get,
    path = "/admin/vendors/{vendor}",
    tag = "admin",
    security(("accessToken" = ["admin"])),
    params(("vendor" = String, Path, description = "the vendor (`acme` of `acme/theme`)")),
    responses(
        (status = 200, description = "The vendor.", body = AdminVendorView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_admin_vendor(
    State(state): State<AppState>,
    _caller: UserCaller<Admin>,
    Path(vendor): Path<String>,
) -> Result<Json<AdminVendorView>, ApiError> {
    let v = state.services.packages().vendor(&vendor).await?;
    Ok(Json(AdminVendorView::new(&v)))
}

/// Give a vendor to another account
///
/// With `{"owner": {"type": "user", "name": "bob"}}`: that account alone publishes under
/// the vendor from then on. The add-ons already under the vendor keep their owners.
#[utoipa::path(
    patch,
    path = "/admin/vendors/{vendor}",
    tag = "admin",
    security(("accessToken" = ["admin"])),
    params(("vendor" = String, Path, description = "the vendor (`acme` of `acme/theme`)")),
    request_body = VendorAdminPatch,
    responses(
        (status = 200, description = "The vendor.", body = AdminVendorView),
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
pub async fn update_admin_vendor(
    State(state): State<AppState>,
    _caller: UserCaller<Admin>,
    Path(vendor): Path<String>,
    ApiJson(patch): ApiJson<VendorAdminPatch>,
) -> Result<Json<AdminVendorView>, ApiError> {
    let v = state
        .services
        .packages()
        .transfer_vendor(&vendor, &patch.owner.kind, &patch.owner.name)
        .await?;
    Ok(Json(AdminVendorView::new(&v)))
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;
    use crate::domain::user::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};

    #[test]
    fn the_documented_password_bounds_are_the_domains() {
        for schema in [NewUserBody::schema(), UserAdminPatch::schema()] {
            let schema = serde_json::to_value(schema).unwrap();
            let password = &schema["properties"]["password"];
            assert_eq!(password["minLength"], MIN_PASSWORD_CHARS, "{schema}");
            assert_eq!(password["maxLength"], MAX_PASSWORD_BYTES, "{schema}");
        }
    }
}
