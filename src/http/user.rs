//! The current user: `GET /user` (and `GET /users`, the old SDK's spelling) and
//! `PATCH /user`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};

use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::service::accounts::ProfileChange;
use crate::state::AppState;
use crate::store::User;

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user", get(get_user).patch(update_user))
        .route("/users", get(get_user))
}

/// The user document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    id: String,
    username: String,
    email: String,
    name: Option<String>,
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

/// `GET /user`.
pub async fn get_user(caller: UserCaller<Read>) -> Json<UserView> {
    Json(UserView::from(&caller.user))
}

/// The body of `PATCH /user`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default)]
    email: Option<String>,
}

/// Tells `"name": null` (clear it) from a missing `name` (leave it).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /user`: change `name` and `email`.
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
