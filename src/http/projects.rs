//! The account's projects (`/projects`, `/projects/{id}`) and the add-ons bound to them
//! (`/projects/{id}/addons/{vendor}/{name}`). Another account's project is `404`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use super::paging::Paging;
use crate::domain::package::PackageType;
use crate::domain::project;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::service::projects::{DatabaseInput, ProjectInput, ProjectUpdate};
use crate::state::AppState;
use crate::store::projects::Project;

/// Routes of this family.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list_projects).post(create_project))
        .route(
            "/projects/{id}",
            get(get_project)
                .patch(update_project)
                .delete(delete_project),
        )
        .route(
            "/projects/{id}/addons/{vendor}/{name}",
            put(bind_addon).delete(unbind_addon),
        )
}

/// The project document.
pub fn project_view(p: &Project) -> Value {
    let mut maps: BTreeMap<&str, Map<String, Value>> = PackageType::ALL
        .iter()
        .map(|t| (t.project_key(), Map::new()))
        .collect();
    for a in &p.addons {
        let key = a.package_type.project_key();
        if let Some(m) = maps.get_mut(key) {
            m.insert(a.package.clone(), json!({ "version": a.constraint }));
        }
    }
    json!({
        "id": p.id.to_string(),
        "name": p.name,
        "description": p.description,
        "slug": p.slug,
        "url": p.url,
        "isSecured": project::is_secured(p.url.as_deref()),
        "createdAt": rfc3339(p.created_at),
        "updatedAt": rfc3339(p.updated_at),
        "databases": p.databases,
        "extensions": maps.remove("extensions").unwrap_or_default(),
        "packages": maps.remove("packages").unwrap_or_default(),
        "themes": maps.remove("themes").unwrap_or_default(),
        "translations": maps.remove("translations").unwrap_or_default(),
    })
}

/// `null` → `Some(None)`, a value → `Some(Some(v))`, absent → `None` (with `default`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /projects` body. The add-on maps and `isSecured` are read-only: add-ons are bound
/// through `/projects/{id}/addons/…`, `isSecured` follows `url`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    name: String,
    slug: Option<String>,
    description: Option<String>,
    url: Option<String>,
    #[serde(default)]
    databases: Vec<DatabaseInput>,
}

/// `PATCH /projects/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    name: Option<String>,
    slug: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    url: Option<Option<String>>,
    databases: Option<Vec<DatabaseInput>>,
}

/// `GET /projects`: the caller's projects, oldest first, paged.
pub async fn list_projects(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let (projects, total) = state
        .services
        .projects()
        .list(&caller.user, paging.page)
        .await?;
    let views: Vec<Value> = projects.iter().map(project_view).collect();
    let mut response = Json(views).into_response();
    if let Some(link) = paging.link_header(&state.url("/projects"), total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// `POST /projects`: `201` with `Location`.
pub async fn create_project(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    ApiJson(body): ApiJson<CreateProject>,
) -> Result<Response, ApiError> {
    let input = ProjectInput {
        name: body.name,
        slug: body.slug,
        description: body.description,
        url: body.url,
        databases: body.databases,
    };
    let created = state
        .services
        .projects()
        .create(&caller.user, input)
        .await?;
    let location = state.url(&format!("/projects/{}", created.id));
    let mut response = (StatusCode::CREATED, Json(project_view(&created))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `GET /projects/{id}`.
pub async fn get_project(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project = state.services.projects().get(&caller.user, &id).await?;
    Ok(Json(project_view(&project)))
}

/// `PATCH /projects/{id}`: changes the fields given; `null` clears `description`, `url`.
pub async fn update_project(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateProject>,
) -> Result<Json<Value>, ApiError> {
    let update = ProjectUpdate {
        name: body.name,
        slug: body.slug,
        description: body.description,
        url: body.url,
        databases: body.databases,
    };
    let project = state
        .services
        .projects()
        .update(&caller.user, &id, update)
        .await?;
    Ok(Json(project_view(&project)))
}

/// `DELETE /projects/{id}`: `204`.
pub async fn delete_project(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.projects().delete(&caller.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /projects/{id}/addons/{vendor}/{name}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindAddon {
    version: String,
}

/// `PUT /projects/{id}/addons/{vendor}/{name}`: binds a visible add-on with a Composer
/// constraint that at least one published version satisfies (else `422`). Answers the
/// project document.
pub async fn bind_addon(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((id, vendor, name)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<BindAddon>,
) -> Result<Json<Value>, ApiError> {
    let project = state
        .services
        .projects()
        .bind_addon(
            &caller.user,
            caller.viewer(),
            &id,
            (&vendor, &name),
            &body.version,
        )
        .await?;
    Ok(Json(project_view(&project)))
}

/// `DELETE /projects/{id}/addons/{vendor}/{name}`: `204`; `404` when it was not bound.
pub async fn unbind_addon(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((id, vendor, name)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .projects()
        .unbind_addon(&caller.user, &id, (&vendor, &name))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
