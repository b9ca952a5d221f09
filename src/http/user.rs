//! The current user: `GET /user` (and `GET /users`, the old SDK's spelling) and
//! `PATCH /user`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Deserializer, Serialize};

use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use crate::domain::user::{validate_display_name, validate_email};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::{StoreError, Timestamp, User, UserChanges};

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user", get(get_user).patch(update_user))
        .route("/users", get(get_user))
}

/// A stored timestamp as RFC 3339 UTC (`2026-11-29T10:00:00Z`).
pub fn rfc3339(t: Timestamp) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
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
            username: u.username.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
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
    let mut fields = BTreeMap::new();
    let name = patch
        .name
        .map(|n| n.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
    if let Some(Some(n)) = &name
        && let Err(m) = validate_display_name(n)
    {
        fields.insert("name".to_owned(), m.into_owned());
    }
    let email = patch.email.map(|e| e.trim().to_owned());
    if let Some(e) = &email
        && let Err(m) = validate_email(e)
    {
        fields.insert("email".to_owned(), m.to_owned());
    }
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    let changes = UserChanges { name, email };
    match state
        .services
        .store()
        .update_user(caller.user.id, &changes)
        .await
    {
        Ok(user) => Ok(Json(UserView::from(&user))),
        Err(StoreError::Conflict { .. }) => Err(ApiError::invalid_field(
            "email",
            "is already used by another account",
        )),
        Err(e) => Err(e.into()),
    }
}
