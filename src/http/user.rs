//! The current user: `GET /user` (and `GET /users`, the old SDK's spelling) and
//! `PATCH /user`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
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
use uuid::Uuid;

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_user, update_user))
        .routes(routes!(get_users))
}

// Borrowed from the user it shows: `GET /user` is the busiest authenticated answer.
/// The user document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub struct UserView<'a> {
    #[schema(value_type = String, format = "uuid")]
    #[serde(serialize_with = "hyphenated")]
    id: Uuid,
    username: &'a str,
    email: &'a str,
    #[schema(required)]
    name: Option<&'a str>,
    #[schema(format = DateTime)]
    created_at: String,
}

/// A UUID as its hyphenated text, written without an intermediate string.
fn hyphenated<S: Serializer>(id: &Uuid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(u: &'a User) -> Self {
        UserView {
            id: u.id,
            username: u.username.as_str(),
            email: u.email.as_str(),
            name: u.name.as_ref().map(|n| n.as_str()),
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
pub async fn get_user(caller: UserCaller<Read>) -> Response {
    user_answer(&caller.user).0
}

/// The answer of `GET /user`, for its handler and for the hot routes' lane
/// ([`super::hot`]), which tags it with its `ETag` from the bytes at hand.
pub(super) fn user_answer(user: &User) -> (Response, Bytes) {
    // Written as `axum::Json` writes it; it cannot fail for these fields.
    let bytes = Bytes::from(serde_json::to_vec(&UserView::from(user)).expect("the user as JSON"));
    let response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes.clone(),
    )
        .into_response();
    (response, bytes)
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
pub async fn get_users(caller: UserCaller<Read>) -> Response {
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
) -> Result<Response, ApiError> {
    let change = ProfileChange {
        name: patch.name,
        email: patch.email,
    };
    let user = state
        .services
        .accounts()
        .update_profile(&caller.user, change)
        .await?;
    Ok(user_answer(&user).0)
}
