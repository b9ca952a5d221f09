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
use uuid::Uuid;

use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use super::paging::Paging;
use crate::domain::package::{PackageName, PackageType};
use crate::domain::project::{self, DatabaseInput, FieldErrors};
use crate::domain::time::rfc3339;
use crate::domain::version::{Constraint, Version};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::packages::Viewer;
use crate::store::projects::{NewProject, Project, ProjectChanges};
use crate::store::{StoreError, User};

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
        let key = PackageType::parse(&a.package_type)
            .unwrap_or(PackageType::Library)
            .project_key();
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

fn project_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| not_found(id))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("project {id} not found"))
}

fn store_error(id: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => not_found(id),
        StoreError::Conflict { .. } => {
            ApiError::invalid_field("slug", "is already used by another of your projects")
        }
        other => other.into(),
    }
}

fn done(errors: FieldErrors) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// `GET /projects`: the caller's projects, oldest first, paged.
pub async fn list_projects(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let (projects, total) = state
        .services
        .store()
        .list_projects(caller.user.id, paging.page)
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
    let mut errors = FieldErrors::new();
    let name = project::validate_name(&body.name, &mut errors);
    let slug = match &body.slug {
        Some(s) => project::validate_slug(s, &mut errors),
        None => name.as_deref().map(project::slugify),
    };
    let description = project::validate_description(body.description.as_deref(), &mut errors);
    let url = project::validate_url(body.url.as_deref(), &mut errors);
    let databases = project::validate_databases(body.databases, &mut errors);
    done(errors)?;
    let (Some(name), Some(slug)) = (name, slug) else {
        return Err(ApiError::invalid_field("name", "is invalid"));
    };
    let created = state
        .services
        .store()
        .create_project(&NewProject {
            owner_id: caller.user.id,
            name,
            slug,
            description,
            url,
            databases,
        })
        .await
        .map_err(|e| store_error("", e))?;
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
    let project = state
        .services
        .store()
        .project(caller.user.id, project_id(&id)?)
        .await
        .map_err(|e| store_error(&id, e))?;
    Ok(Json(project_view(&project)))
}

/// `PATCH /projects/{id}`: changes the fields given; `null` clears `description`, `url`.
pub async fn update_project(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateProject>,
) -> Result<Json<Value>, ApiError> {
    let pid = project_id(&id)?;
    let mut errors = FieldErrors::new();
    let changes = ProjectChanges {
        name: body
            .name
            .as_deref()
            .and_then(|n| project::validate_name(n, &mut errors)),
        slug: body
            .slug
            .as_deref()
            .and_then(|s| project::validate_slug(s, &mut errors)),
        description: body
            .description
            .map(|d| project::validate_description(d.as_deref(), &mut errors)),
        url: body
            .url
            .map(|u| project::validate_url(u.as_deref(), &mut errors)),
        databases: body
            .databases
            .map(|d| project::validate_databases(d, &mut errors)),
    };
    done(errors)?;
    let project = state
        .services
        .store()
        .update_project(caller.user.id, pid, &changes)
        .await
        .map_err(|e| store_error(&id, e))?;
    Ok(Json(project_view(&project)))
}

/// `DELETE /projects/{id}`: `204`.
pub async fn delete_project(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .store()
        .delete_project(caller.user.id, project_id(&id)?)
        .await
        .map_err(|e| store_error(&id, e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /projects/{id}/addons/{vendor}/{name}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindAddon {
    version: String,
}

fn viewer_of(caller: &User, admin_scope: bool) -> Viewer {
    if caller.is_admin && admin_scope {
        Viewer::Admin(caller.id)
    } else {
        Viewer::User(caller.id)
    }
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
    let pid = project_id(&id)?;
    let constraint = Constraint::parse(&body.version)
        .map_err(|e| ApiError::invalid_field("version", e.to_string()))?;
    // The project first: someone else's project is 404 whatever the add-on.
    state
        .services
        .store()
        .project(caller.user.id, pid)
        .await
        .map_err(|e| store_error(&id, e))?;
    let unknown = || ApiError::not_found(format!("add-on {vendor}/{name} not found"));
    let package_name = PackageName::from_parts(&vendor, &name).ok_or_else(unknown)?;
    let package = match state.services.store().package(package_name.as_str()).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    };
    let viewer = viewer_of(
        &caller.user,
        caller.token.scope.allows(crate::domain::Scope::Admin),
    );
    if !viewer.can_see(package.owner_id, package.is_private()) {
        return Err(unknown());
    }
    let versions = state
        .services
        .store()
        .package_versions(&package.name)
        .await?;
    let satisfied = versions.iter().any(|v| {
        Version::parse(&v.version)
            .map(|v| constraint.matches(&v))
            .unwrap_or(false)
    });
    if !satisfied {
        return Err(ApiError::invalid_field(
            "version",
            format!(
                "no published version of {} satisfies {}",
                package.name,
                constraint.as_str()
            ),
        ));
    }
    let project = state
        .services
        .store()
        .bind_addon(caller.user.id, pid, &package.name, constraint.as_str())
        .await
        .map_err(|e| store_error(&id, e))?;
    Ok(Json(project_view(&project)))
}

/// `DELETE /projects/{id}/addons/{vendor}/{name}`: `204`; `404` when it was not bound.
pub async fn unbind_addon(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((id, vendor, name)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let pid = project_id(&id)?;
    let package = format!("{vendor}/{name}");
    match state
        .services
        .store()
        .unbind_addon(caller.user.id, pid, &package)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => {
            // Tell "no such project" from "not bound".
            state
                .services
                .store()
                .project(caller.user.id, pid)
                .await
                .map_err(|e| store_error(&id, e))?;
            Err(ApiError::not_found(format!(
                "{package} is not bound to project {id}"
            )))
        }
        Err(e) => Err(e.into()),
    }
}
