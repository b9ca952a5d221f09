//! The account's projects (`/projects`, `/projects/{id}`) and the add-ons bound to them
//! (`/projects/{id}/addons/{vendor}/{name}`). Another account's project is `404`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Read, UserCaller, Write};
use super::extract::ApiJson;
use super::paging::Paging;
use crate::domain::package::PackageType;
use crate::domain::project;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::error::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::service::projects::{DatabaseInput, ProjectInput, ProjectUpdate};
use crate::state::AppState;
use crate::store::projects::{Project, ProjectDatabase};

/// Routes of this family.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
        .routes(routes!(bind_addon, unbind_addon))
}

/// The project document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Project)]
pub struct ProjectView {
    #[schema(format = "uuid")]
    id: String,
    name: String,
    #[schema(required)]
    description: Option<String>,
    /// A URL-safe handle, unique among the owner's projects.
    slug: String,
    /// The site's public URL.
    #[schema(required)]
    url: Option<String>,
    /// Whether `url` is https.
    is_secured: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    databases: Vec<DatabaseView>,
    /// The bound add-ons of type `harmony-extension`.
    #[schema(value_type = HashMap<String, AddonConstraint>)]
    extensions: AddonMap,
    /// The bound add-ons of type `library`.
    #[schema(value_type = HashMap<String, AddonConstraint>)]
    packages: AddonMap,
    /// The bound add-ons of type `harmony-theme`.
    #[schema(value_type = HashMap<String, AddonConstraint>)]
    themes: AddonMap,
    /// The bound add-ons of type `harmony-translation`.
    #[schema(value_type = HashMap<String, AddonConstraint>)]
    translations: AddonMap,
}

/// One database connection of a project (also the shape a request gives).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Database)]
pub struct DatabaseView {
    /// `mysql`, `pgsql`, `sqlite` or `mongodb`.
    #[schema(schema_with = database_scheme)]
    scheme: String,
    #[schema(required)]
    host: Option<String>,
    #[schema(required, minimum = 1)]
    port: Option<u16>,
    #[schema(required)]
    name: Option<String>,
    #[schema(required)]
    user: Option<String>,
    /// The password (shown to the owner only, as everything here).
    #[schema(required)]
    pass: Option<String>,
    /// The file (SQLite).
    #[schema(required)]
    path: Option<String>,
    /// An in-memory database (SQLite).
    memory: bool,
    /// Extra DSN query string.
    #[schema(required)]
    query: Option<String>,
}

fn database_scheme() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(project::SCHEMES))
        .build()
}

impl From<&ProjectDatabase> for DatabaseView {
    fn from(d: &ProjectDatabase) -> Self {
        DatabaseView {
            scheme: d.scheme.clone(),
            host: d.host.clone(),
            port: d.port,
            name: d.name.clone(),
            user: d.user.clone(),
            pass: d.pass.clone(),
            path: d.path.clone(),
            memory: d.memory,
            query: d.query.clone(),
        }
    }
}

/// A bound add-on's constraint.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddonConstraint {
    /// A Composer constraint (`^1.2`).
    version: String,
}

/// Add-ons by name, in the order the store lists them (a JSON object).
#[derive(Debug, Default)]
pub struct AddonMap(Vec<(String, AddonConstraint)>);

impl Serialize for AddonMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, constraint) in &self.0 {
            map.serialize_entry(name, constraint)?;
        }
        map.end()
    }
}

impl ProjectView {
    /// Renders a project.
    pub fn new(p: &Project) -> ProjectView {
        let (mut extensions, mut packages, mut themes, mut translations) = Default::default();
        for a in &p.addons {
            let map: &mut AddonMap = match a.package_type {
                PackageType::Extension => &mut extensions,
                PackageType::Library => &mut packages,
                PackageType::Theme => &mut themes,
                PackageType::Translation => &mut translations,
            };
            map.0.push((
                a.package.clone(),
                AddonConstraint {
                    version: a.constraint.clone(),
                },
            ));
        }
        ProjectView {
            id: p.id.to_string(),
            name: p.name.to_string(),
            description: p.description.clone(),
            slug: p.slug.clone(),
            url: p.url.clone(),
            is_secured: project::is_secured(p.url.as_deref()),
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
            databases: p.databases.iter().map(DatabaseView::from).collect(),
            extensions,
            packages,
            themes,
            translations,
        }
    }
}

/// `null` → `Some(None)`, a value → `Some(Some(v))`, absent → `None` (with `default`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /projects` body. The add-on maps and `isSecured` are read-only: add-ons are bound
/// through `/projects/{id}/addons/…`, `isSecured` follows `url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewProject)]
pub struct CreateProject {
    name: String,
    /// None: derived from the name.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 100)]
    slug: Option<String>,
    #[schema(max_length = 2000)]
    description: Option<String>,
    /// An http or https URL.
    url: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<DatabaseView>)]
    databases: Vec<DatabaseInput>,
}

/// `PATCH /projects/{id}` body: the fields to change; `null` clears `description`, `url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProjectPatch)]
pub struct UpdateProject {
    name: Option<String>,
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 100)]
    slug: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    url: Option<Option<String>>,
    /// The whole new list.
    #[schema(value_type = Option<Vec<DatabaseView>>)]
    databases: Option<Vec<DatabaseInput>>,
}

/// The user's projects, oldest first
#[utoipa::path(
    get,
    path = "/projects",
    tag = "projects",
    security(("accessToken" = ["read"])),
    params(Paging),
    responses(
        (status = 200, description = "A page of projects.", body = Vec<ProjectView>,
            headers(("Link" = String, description = "GitHub's paging links, when there is more than one page"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
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
    let views: Vec<ProjectView> = projects.iter().map(ProjectView::new).collect();
    let mut response = Json(views).into_response();
    if let Some(link) = paging.link_header(&state.url("/projects"), total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// Create a project
#[utoipa::path(
    post,
    path = "/projects",
    tag = "projects",
    security(("accessToken" = ["write"])),
    request_body = CreateProject,
    responses(
        (status = 201, description = "The project.", body = ProjectView,
            headers(("Location" = String, description = "the project's URL"))),
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
    let mut response = (StatusCode::CREATED, Json(ProjectView::new(&created))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// One project
#[utoipa::path(
    get,
    path = "/projects/{id}",
    tag = "projects",
    security(("accessToken" = ["read"])),
    params(("id" = String, Path, description = "the project's `id`")),
    responses(
        (status = 200, description = "The project.", body = ProjectView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn get_project(
    State(state): State<AppState>,
    caller: UserCaller<Read>,
    Path(id): Path<String>,
) -> Result<Json<ProjectView>, ApiError> {
    let project = state.services.projects().get(&caller.user, &id).await?;
    Ok(Json(ProjectView::new(&project)))
}

/// Change a project
///
/// Changes the fields given; `null` clears `description`, `url`.
#[utoipa::path(
    patch,
    path = "/projects/{id}",
    tag = "projects",
    security(("accessToken" = ["write"])),
    params(("id" = String, Path, description = "the project's `id`")),
    request_body = UpdateProject,
    responses(
        (status = 200, description = "The project.", body = ProjectView),
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
pub async fn update_project(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateProject>,
) -> Result<Json<ProjectView>, ApiError> {
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
    Ok(Json(ProjectView::new(&project)))
}

/// Delete a project
#[utoipa::path(
    delete,
    path = "/projects/{id}",
    tag = "projects",
    security(("accessToken" = ["write"])),
    params(("id" = String, Path, description = "the project's `id`")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn delete_project(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.projects().delete(&caller.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /projects/{id}/addons/{vendor}/{name}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindAddon {
    /// A Composer constraint (`^1.2`) that a published version satisfies.
    version: String,
}

/// Require an add-on in a project
///
/// Binds a visible add-on with a Composer constraint that at least one published version
/// satisfies (else `422`). Answers the project document.
#[utoipa::path(
    put,
    path = "/projects/{id}/addons/{vendor}/{name}",
    tag = "projects",
    security(("accessToken" = ["write"])),
    params(
        ("id" = String, Path, description = "the project's `id`"),
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
    ),
    request_body = BindAddon,
    responses(
        (status = 200, description = "The project.", body = ProjectView),
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
pub async fn bind_addon(
    State(state): State<AppState>,
    caller: UserCaller<Write>,
    Path((id, vendor, name)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<BindAddon>,
) -> Result<Json<ProjectView>, ApiError> {
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
    Ok(Json(ProjectView::new(&project)))
}

/// Drop an add-on from a project
///
/// `404` when it was not bound.
#[utoipa::path(
    delete,
    path = "/projects/{id}/addons/{vendor}/{name}",
    tag = "projects",
    security(("accessToken" = ["write"])),
    params(
        ("id" = String, Path, description = "the project's `id`"),
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
    ),
    responses(
        (status = 204, description = "Dropped."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
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

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    #[test]
    fn the_documented_slug_and_description_rules_are_the_domains() {
        for schema in [CreateProject::schema(), UpdateProject::schema()] {
            let schema = serde_json::to_value(schema).unwrap();
            let description = &schema["properties"]["description"];
            assert_eq!(
                description["maxLength"],
                project::MAX_DESCRIPTION,
                "{schema}"
            );
            let slug = &schema["properties"]["slug"];
            assert_eq!(slug["maxLength"], 100, "{schema}");
            let pattern = slug["pattern"].as_str().unwrap();
            assert_eq!(pattern, "^[a-z0-9]+(-[a-z0-9]+)*$");
        }
    }
}
