//! The current user: `GET /user` (and `GET /users`, the old SDK's spelling) and
//! `PATCH /user`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Conflict, Forbidden, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::accounts::ProfileChange;
use crate::state::AppState;
use crate::store::User;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_user, update_user))
        .routes(routes!(get_users))
}

/// The user document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub struct UserView {
    #[schema(format = "uuid")]
    id: String,
    username: String,
    email: String,
    #[schema(required)]
    name: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.to_string(),
            username: u.username.to_string(),
            email: u.email.to_string(),
            name: u.name.as_ref().map(ToString::to_string),
            created_at: rfc3339(u.created_at),
        }
    }
}

/// The current user
#[utoipa::path(
    get,
    path = "/user",
    tag = "user",
    security(("accessToken" = ["read"])),
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_user(caller: UserCaller<Read>) -> Json<UserView> {
    Json(UserView::from(&caller.user))
}

/// The current user (the old SDK's path)
#[utoipa::path(
    get,
    path = "/users",
    tag = "user",
    security(("accessToken" = ["read"])),
    responses(
        (status = 200, description = "The user, as `GET /user` answers it.", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_users(caller: UserCaller<Read>) -> Json<UserView> {
    get_user(caller).await
}

/// The body of `PATCH /user`: the fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// The display name; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    /// The email address.
    #[serde(default)]
    email: Option<String>,
}

/// Tells `"name": null` (clear it) from a missing `name` (leave it).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Change the current user's name or email
#[utoipa::path(
    patch,
    path = "/user",
    tag = "user",
    security(("accessToken" = ["write"])),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The user.", body = UserView),
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
pub async fn update_user(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    let change = ProfileChange {
        name: patch.name,
        email: patch.email,
    };
    let user = state
        .services
        .accounts()
        .update_profile(&caller.user, change)
        .await?;
    Ok(Json(UserView::from(&user)))
}
