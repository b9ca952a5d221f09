//! Server administration (`admin` scope and an administrator account):
//! `GET/POST /admin/users`, `PATCH/DELETE /admin/users/{id}`, `GET/PATCH
//! /admin/vendors/{vendor}`. Disabling an account or resetting its password revokes every
//! token it has and ends its browser sessions; deleting it removes everything it owns,
//! except that its vendors stay reserved and its deleted versions leave tombstones.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::{Admin, UserCaller};
use super::extract::ApiJson;
use super::paging::Paging;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::service::accounts::AccountChange;
use crate::state::AppState;
use crate::store::User;
use crate::store::packages::Vendor;

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/users",
            get(list_admin_users).post(create_admin_user),
        )
        .route(
            "/admin/users/{id}",
            patch(update_admin_user).delete(delete_admin_user),
        )
        .route(
            "/admin/vendors/{vendor}",
            get(get_admin_vendor).patch(update_admin_vendor),
        )
}

/// An account as administrators see it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminUserView {
    id: String,
    username: String,
    email: String,
    name: Option<String>,
    is_admin: bool,
    disabled: bool,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    username: String,
    email: String,
    password: Option<String>,
    #[serde(default)]
    admin: bool,
}

/// The body of `PATCH /admin/users/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserAdminPatch {
    disabled: Option<bool>,
    admin: Option<bool>,
    password: Option<String>,
}

/// `GET /admin/users`: every account, paged, oldest first.
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

/// `POST /admin/users`: `201`; with no `password`, one is generated and shown once.
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

/// `PATCH /admin/users/{id}`: `disabled`, `admin`, `password`. An administrator cannot
/// disable or demote their own account (`409`), so that a server keeps an administrator.
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

/// `DELETE /admin/users/{id}`: the account and everything it owns (clients, tokens,
/// projects, add-ons with their versions and dist files). What was published stays
/// claimed: each deleted version leaves a tombstone (the database writes it as the row
/// goes) and the account's vendors stay reserved, owned by nobody.
pub async fn delete_admin_user(
    State(state): State<AppState>,
    caller: UserCaller<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.accounts().delete(&caller.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account that owns something, as `{"type": "user", "name": USERNAME}`: the shape
/// organizations will share (`"type": "organization"`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerRef {
    #[serde(rename = "type")]
    kind: String,
    name: String,
}

/// A vendor as administrators see it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminVendorView {
    name: String,
    owner: Option<OwnerRef>,
    created_at: String,
}

impl AdminVendorView {
    fn new(v: &Vendor) -> AdminVendorView {
        AdminVendorView {
            name: v.name.clone(),
            owner: v.owner_username.as_ref().map(|name| OwnerRef {
                kind: "user".to_owned(),
                name: name.to_string(),
            }),
            created_at: rfc3339(v.created_at),
        }
    }
}

/// The body of `PATCH /admin/vendors/{vendor}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorAdminPatch {
    owner: OwnerRef,
}

/// `GET /admin/vendors/{vendor}`: who owns a vendor (`owner: null` once its account was
/// deleted).
pub async fn get_admin_vendor(
    State(state): State<AppState>,
    _caller: UserCaller<Admin>,
    Path(vendor): Path<String>,
) -> Result<Json<AdminVendorView>, ApiError> {
    let v = state.services.packages().vendor(&vendor).await?;
    Ok(Json(AdminVendorView::new(&v)))
}

/// `PATCH /admin/vendors/{vendor}` with `{"owner": {"type": "user", "name": "bob"}}`: gives
/// the vendor to that account, which alone publishes under it from then on. The add-ons
/// already under the vendor keep their owners.
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
