//! The Projects pages (`/console/projects`): the account's projects — list, create, edit,
//! delete — and the add-ons each requires with a version constraint (bind, unbind),
//! through the projects service behind `/projects`, with its rules. A refusal is shown in
//! words next to the field, with what was typed kept. Database connections stay in the
//! API (`PATCH /projects/{id}`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    Confirm, REAUTH_FIELD, Render, Sensitive, SensitiveForm, checked_post, not_found,
    reauthenticated, see, server_error, text_field, time, viewer,
};
use crate::domain::project::{ProjectErrors, ProjectField};
use crate::pages::HTML;
use crate::pages::flash::Flash;
use crate::pages::layout::Nav;
use crate::pages::session::{self, Browser};
use crate::service::projects::{ProjectError, ProjectInput, ProjectUpdate};
use crate::state::{AppState, ClientAddr};
use crate::store::Page;
use crate::store::User;
use crate::store::packages::Viewer;
use crate::store::projects::Project;

/// Routes of the Projects pages.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_projects_page, create_console_project))
        .routes(routes!(new_project_page))
        .routes(routes!(get_project_page, update_console_project))
        .routes(routes!(confirm_project_deletion, delete_console_project))
        .routes(routes!(bind_console_addon))
        .routes(routes!(unbind_console_addon))
}

/// The project form (creation and changes).
#[derive(ToSchema)]
pub struct ProjectForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The project's name.
    pub name: String,
    /// Its slug (empty on creation: derived from the name).
    pub slug: Option<String>,
    /// Its description (empty: none).
    pub description: Option<String>,
    /// The site's URL (empty: none).
    pub url: Option<String>,
}

/// The form that binds an add-on.
#[derive(ToSchema)]
pub struct BindForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The add-on, `vendor/name`.
    pub addon: String,
    /// A Composer constraint (`^1.2`) that a published version satisfies.
    pub version: String,
}

const PROJECT_FIELDS: [&str; 5] = ["csrf_token", "name", "slug", "description", "url"];

/// What the project form shows: what was typed (or stored), and what is wrong with it.
#[derive(Default)]
struct ProjectValues {
    name: String,
    slug: String,
    description: String,
    url: String,
    errors: ProjectErrors,
}

impl ProjectValues {
    fn of(p: &Project) -> ProjectValues {
        ProjectValues {
            name: p.name.to_string(),
            slug: p.slug.clone(),
            description: p.description.clone().unwrap_or_default(),
            url: p.url.clone().unwrap_or_default(),
            errors: ProjectErrors::new(),
        }
    }

    fn read(form: &[(String, String)]) -> ProjectValues {
        let get = |k: &str| session::field(form, k).unwrap_or_default().to_owned();
        ProjectValues {
            name: get("name"),
            slug: get("slug"),
            description: get("description"),
            url: get("url"),
            errors: ProjectErrors::new(),
        }
    }
}

/// An optional text: empty means none.
fn optional(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The bind form's values and its errors (by field: `addon`, `version`).
#[derive(Default)]
struct BindValues {
    addon: String,
    version: String,
    addon_error: Option<String>,
    version_error: Option<String>,
}

/// A field's message as a sentence ("The name must be …").
fn sentence(field: &str, message: &str) -> String {
    format!("The {field} {message}.")
}

fn project_form(
    state: &AppState,
    csrf: &str,
    action: &str,
    v: &ProjectValues,
    creating: bool,
) -> Markup {
    let err = |f: ProjectField, label: &str| v.errors.get(&f).map(|m| sentence(label, m));
    // Errors the form has no field for (databases changed through the API).
    let others: Vec<String> = v
        .errors
        .iter()
        .filter(|(f, _)| {
            !matches!(
                f,
                ProjectField::Name
                    | ProjectField::Slug
                    | ProjectField::Description
                    | ProjectField::Url
            )
        })
        .map(|(f, m)| sentence(&f.to_string(), m))
        .collect();
    html! {
        @if !v.errors.is_empty() {
            div.flash.error role="alert" { p style="margin:0" { "The project was not saved: see the messages below." } }
        }
        form.card method="post" action=(action) novalidate {
            input type="hidden" name="csrf_token" value=(csrf);
            (text_field("name", "Name", &v.name, err(ProjectField::Name, "name").as_deref(), None))
            (text_field("slug", "Slug", &v.slug, err(ProjectField::Slug, "slug").as_deref(),
                Some(if creating { "A short name for URLs: lower-case letters, digits and '-'. Left empty, it is made from the name." }
                     else { "A short name for URLs: lower-case letters, digits and '-'." })))
            label for="description" { "Description" }
            textarea id="description" name="description" rows="3"
                aria-invalid=[v.errors.get(&ProjectField::Description).is_some().then_some("true")]
                aria-describedby=[v.errors.get(&ProjectField::Description).is_some().then_some("description-error")] { (v.description) }
            @if let Some(e) = err(ProjectField::Description, "description") { p.field-error #description-error { (e) } }
            (text_field("url", "Site URL", &v.url, err(ProjectField::Url, "site URL").as_deref(),
                Some("Where the site is served, such as https://shop.example (optional).")))
            @for e in &others { p.field-error { (e) } }
            div.actions {
                button.primary type="submit" { @if creating { "Create project" } @else { "Save changes" } }
                a.button href=(state.path(Nav::Projects.path())) { "Cancel" }
            }
        }
    }
}

/// The account's projects
#[utoipa::path(
    get,
    path = "/console/projects",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn get_projects_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (browser, user) = match viewer(&state, &headers, Nav::Projects.path()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let page = Page {
        number: 1,
        size: 100,
    };
    let (projects, total) = match state.services.projects().list(&user, page).await {
        Ok(p) => p,
        Err(e) => return server_error(&state, e),
    };
    let path = |p: &str| state.path(p);
    let body = html! {
        h1 { "Projects" }
        p.muted { "Your HarmonyCMS sites and the add-ons each requires." }
        p { a.button.primary href=(path("/console/projects/new")) { "Create a project" } }
        @if projects.is_empty() {
            div.card { p.muted { "No projects yet." } }
        } @else {
            ul.rows #projects {
                @for p in &projects {
                    li data-project=(p.id) {
                        div.row-main {
                            div.row-title { a href=(path(&format!("/console/projects/{}", p.id))) { (p.name) } " " span.badge { (p.slug) } }
                            @if let Some(d) = &p.description { div.row-meta { (d) } }
                            @if let Some(u) = &p.url { div.row-meta { code { (u) } } }
                            div.row-meta {
                                @if p.addons.is_empty() { "No add-ons" }
                                @else {
                                    "Add-ons: "
                                    @for (i, a) in p.addons.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        code { (a.package) " " (a.constraint) }
                                    }
                                }
                                " · updated " (time(p.updated_at))
                            }
                        }
                        div.row-actions {
                            a.button href=(path(&format!("/console/projects/{}", p.id))) { "Edit" }
                            a.button.danger href=(path(&format!("/console/projects/{}/delete", p.id))) { "Delete…" }
                        }
                    }
                }
            }
            @if total > projects.len() as u64 {
                p.muted { "The first " (projects.len()) " of " (total) " projects are shown; the API (GET /projects) lists all." }
            }
        }
    };
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(StatusCode::OK, Nav::Projects, "Projects", body)
}

/// The form to create a project
#[utoipa::path(
    get,
    path = "/console/projects/new",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The form, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn new_project_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (browser, user) = match viewer(&state, &headers, "/console/projects/new").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let form = project_form(
        &state,
        &browser.csrf(),
        &state.path(Nav::Projects.path()),
        &ProjectValues::default(),
        true,
    );
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(
        StatusCode::OK,
        Nav::Projects,
        "New project",
        html! { h1 { "Create a project" } (form) },
    )
}

/// Create a project from the console
///
/// As `POST /projects` does.
#[utoipa::path(
    post,
    path = "/console/projects",
    tag = "console",
    security(("sessionCookie" = [])),
    request_body(content = ProjectForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Created: to the project's page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "Invalid: the form again with what was typed and the messages.",
            body = String, content_type = HTML),
    )
)]
pub async fn create_console_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (browser, form, user) = match checked_post(&state, &headers, body, &PROJECT_FIELDS).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut values = ProjectValues::read(&form);
    let input = ProjectInput {
        name: values.name.clone(),
        slug: optional(&values.slug),
        description: optional(&values.description),
        url: optional(&values.url),
        databases: Vec::new(),
    };
    match state.services.projects().create(&user, input).await {
        Ok(p) => see(
            &state,
            &format!("/console/projects/{}", p.id),
            Flash::ok(format!("Project {} created.", p.name)),
        ),
        Err(ProjectError::Invalid(errors)) => {
            values.errors = errors;
            let form = project_form(
                &state,
                &browser.csrf(),
                &state.path(Nav::Projects.path()),
                &values,
                true,
            );
            Render {
                state: &state,
                headers: &headers,
                browser: &browser,
                user: &user,
            }
            .page(
                StatusCode::UNPROCESSABLE_ENTITY,
                Nav::Projects,
                "New project",
                html! { h1 { "Create a project" } (form) },
            )
        }
        Err(e) => server_error(&state, e),
    }
}

/// The project page: its settings form, its add-ons and the bind form.
#[allow(clippy::too_many_arguments)]
fn project_page(
    state: &AppState,
    headers: &HeaderMap,
    browser: &Browser,
    user: &User,
    project: &Project,
    values: &ProjectValues,
    bind: &BindValues,
    status: StatusCode,
) -> Response {
    let here = format!("/console/projects/{}", project.id);
    let csrf = browser.csrf();
    let path = |p: &str| state.path(p);
    let bind_invalid = bind.addon_error.is_some() || bind.version_error.is_some();
    let body = html! {
        h1 { (project.name) }
        p.muted { "Slug " code { (project.slug) } " · id " code { (project.id) } " · created " (time(project.created_at)) }
        h2 #addons-heading { "Add-ons" }
        @if project.addons.is_empty() {
            div.card { p.muted { "No add-on is required yet." } }
        } @else {
            ul.rows #addons {
                @for a in &project.addons {
                    li data-addon=(a.package) {
                        div.row-main {
                            div.row-title { a href=(path(&format!("/console/marketplace/{}", a.package))) { (a.package) } }
                            div.row-meta { "Version " code { (a.constraint) } }
                        }
                        div.row-actions {
                            form method="post" action=(path(&format!("{here}/addons/{}/remove", a.package))) {
                                input type="hidden" name="csrf_token" value=(csrf);
                                button type="submit" aria-label=(format!("Remove {}", a.package)) { "Remove" }
                            }
                        }
                    }
                }
            }
        }
        @if bind_invalid {
            div.flash.error role="alert" { p style="margin:0" { "The add-on was not added: see the messages below." } }
        }
        form.card #bind method="post" action=(path(&format!("{here}/addons"))) novalidate {
            h3 { "Require an add-on" }
            input type="hidden" name="csrf_token" value=(csrf);
            (text_field("addon", "Add-on", &bind.addon, bind.addon_error.as_deref(), Some("Its full name, vendor/name, as in the Marketplace.")))
            (text_field("version", "Version constraint", &bind.version, bind.version_error.as_deref(),
                Some("A Composer constraint that a published version matches: ^1.2, ~2.0, 1.4.*, >=1.0 <2.0.")))
            div.actions { button.primary type="submit" { "Add add-on" } }
        }
        h2 { "Settings" }
        (project_form(state, &csrf, &path(&here), values, false))
        h2 { "Delete" }
        p { a.button.danger href=(path(&format!("{here}/delete"))) { "Delete this project…" } }
    };
    Render {
        state,
        headers,
        browser,
        user,
    }
    .page(status, Nav::Projects, project.name.as_ref(), body)
}

/// A project's page
#[utoipa::path(
    get,
    path = "/console/projects/{id}",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(("id" = String, Path, description = "the project's `id`")),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "No such project of this account.", body = String, content_type = HTML),
    )
)]
pub async fn get_project_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/console/projects/{id}");
    let (browser, user) = match viewer(&state, &headers, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let project = match state.services.projects().get(&user, &id).await {
        Ok(p) => p,
        Err(ProjectError::NotFound(_)) => return not_found(&state),
        Err(e) => return server_error(&state, e),
    };
    project_page(
        &state,
        &headers,
        &browser,
        &user,
        &project,
        &ProjectValues::of(&project),
        &BindValues::default(),
        StatusCode::OK,
    )
}

/// The answer to a project action the project is gone for: to the list, with a message.
fn gone(state: &AppState) -> Response {
    see(
        state,
        Nav::Projects.path(),
        Flash::error("That project is not one of yours (was it deleted?)."),
    )
}

/// Change a project from the console
///
/// As `PATCH /projects/{id}` does, with the name, slug, description and URL.
#[utoipa::path(
    post,
    path = "/console/projects/{id}",
    tag = "console",
    security(("sessionCookie" = [])),
    params(("id" = String, Path, description = "the project's `id`")),
    request_body(content = ProjectForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved (or the project is gone): to a page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "Invalid: the page again with what was typed and the messages.",
            body = String, content_type = HTML),
    )
)]
pub async fn update_console_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (browser, form, user) = match checked_post(&state, &headers, body, &PROJECT_FIELDS).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut values = ProjectValues::read(&form);
    let update = ProjectUpdate {
        name: Some(values.name.clone()),
        slug: Some(values.slug.trim().to_owned()),
        description: Some(optional(&values.description)),
        url: Some(optional(&values.url)),
        databases: None,
    };
    let projects = state.services.projects();
    match projects.update(&user, &id, update).await {
        Ok(p) => see(
            &state,
            &format!("/console/projects/{}", p.id),
            Flash::ok(format!("Project {} saved.", p.name)),
        ),
        Err(ProjectError::Invalid(errors)) => {
            let project = match projects.get(&user, &id).await {
                Ok(p) => p,
                Err(ProjectError::NotFound(_)) => return gone(&state),
                Err(e) => return server_error(&state, e),
            };
            values.errors = errors;
            project_page(
                &state,
                &headers,
                &browser,
                &user,
                &project,
                &values,
                &BindValues::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(ProjectError::NotFound(_)) => gone(&state),
        Err(e) => server_error(&state, e),
    }
}

/// Confirm a project's deletion
#[utoipa::path(
    get,
    path = "/console/projects/{id}/delete",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(("id" = String, Path, description = "the project's `id`")),
    responses(
        (status = 200, description = "The confirmation, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "No such project of this account.", body = String, content_type = HTML),
    )
)]
pub async fn confirm_project_deletion(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/console/projects/{id}/delete");
    let (browser, user) = match viewer(&state, &headers, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let project = match state.services.projects().get(&user, &id).await {
        Ok(p) => p,
        Err(ProjectError::NotFound(_)) => return not_found(&state),
        Err(e) => return server_error(&state, e),
    };
    let explanation = html! {
        p { "Delete the project " strong { (project.name) } " (" code { (project.slug) } ")? Its settings, database connections "
            "and the list of add-ons it requires are removed. The add-ons themselves stay in the Marketplace. This cannot be undone." }
    };
    Confirm {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
        nav: Nav::Projects,
    }
    .page(
        "Delete this project?",
        explanation,
        html! {},
        &here,
        "Delete project",
    )
}

/// Delete a project from the console
///
/// As `DELETE /projects/{id}` does.
#[utoipa::path(
    post,
    path = "/console/projects/{id}/delete",
    tag = "console",
    security(("sessionCookie" = [])),
    params(("id" = String, Path, description = "the project's `id`")),
    request_body(content = SensitiveForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done or refused: to the Projects page with a message.", headers(("Location" = String))),
        (status = 200, description = "The session signed in over 10 minutes ago: a page asks for the password again, \
            its form posting the same fields with `reauth_password`.", body = String, content_type = HTML),
        (status = 401, description = "The password given again is wrong: that page again.", body = String, content_type = HTML),
        (status = 429, description = "Too many wrong passwords (`Retry-After`).", body = String, content_type = HTML,
            headers(("Retry-After" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn delete_console_project(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", REAUTH_FIELD];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let projects = state.services.projects();
    let name = match projects.get(&user, &id).await {
        Ok(p) => p.name.to_string(),
        Err(ProjectError::NotFound(_)) => return gone(&state),
        Err(e) => return server_error(&state, e),
    };
    let here = format!("/console/projects/{id}/delete");
    let sensitive = Sensitive {
        action: &here,
        what: format!("delete the project {name}"),
        button: "Delete project",
        nav: Nav::Projects,
    };
    let browser =
        match reauthenticated(&state, &headers, addr, browser, &user, &form, sensitive).await {
            Ok(b) => b,
            Err(r) => return r,
        };
    let done = match projects.delete(&user, &id).await {
        Ok(()) => see(
            &state,
            Nav::Projects.path(),
            Flash::ok(format!("Project {name} deleted.")),
        ),
        Err(ProjectError::NotFound(_)) => gone(&state),
        Err(e) => server_error(&state, e),
    };
    browser.finish(done)
}

/// Require an add-on in a project from the console
///
/// As `PUT /projects/{id}/addons/{vendor}/{name}` does: a visible add-on, with a
/// constraint that a published version satisfies.
#[utoipa::path(
    post,
    path = "/console/projects/{id}/addons",
    tag = "console",
    security(("sessionCookie" = [])),
    params(("id" = String, Path, description = "the project's `id`")),
    request_body(content = BindForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Added (or the project is gone): to a page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "Refused: the project page again with what was typed and the reason next to the field.",
            body = String, content_type = HTML),
    )
)]
pub async fn bind_console_addon(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", "addon", "version"];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut bind = BindValues {
        addon: session::field(&form, "addon")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        version: session::field(&form, "version")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        ..BindValues::default()
    };
    let projects = state.services.projects();
    let (vendor, name) = bind.addon.split_once('/').unwrap_or((&bind.addon, ""));
    let result = if bind.version.is_empty() {
        Err(ProjectError::Invalid(ProjectErrors::one(
            ProjectField::AddonConstraint,
            "is needed: a constraint such as ^1.0",
        )))
    } else {
        projects
            .bind_addon(
                &user,
                Viewer::User(user.id),
                &id,
                (vendor, name),
                &bind.version,
            )
            .await
    };
    match result {
        Ok(p) => {
            return see(
                &state,
                &format!("/console/projects/{}", p.id),
                Flash::ok(format!(
                    "{} {} added to {}.",
                    bind.addon, bind.version, p.name
                )),
            );
        }
        Err(ProjectError::NotFound(_)) => return gone(&state),
        Err(ProjectError::AddonNotFound(a)) => {
            bind.addon_error = Some(if bind.addon.is_empty() {
                "Give the add-on's full name, vendor/name.".to_owned()
            } else {
                format!("There is no add-on {a} that you may use.")
            });
        }
        Err(ProjectError::Invalid(errors)) => {
            for (field, message) in errors.iter() {
                let text = match field {
                    ProjectField::AddonConstraint if message.starts_with("no published") => {
                        capitalised(message) + "."
                    }
                    ProjectField::AddonConstraint => sentence("version constraint", message),
                    other => sentence(&other.to_string(), message),
                };
                bind.version_error = Some(text);
            }
        }
        Err(e) => return server_error(&state, e),
    }
    let project = match projects.get(&user, &id).await {
        Ok(p) => p,
        Err(ProjectError::NotFound(_)) => return gone(&state),
        Err(e) => return server_error(&state, e),
    };
    project_page(
        &state,
        &headers,
        &browser,
        &user,
        &project,
        &ProjectValues::of(&project),
        &bind,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Drop an add-on from a project from the console
///
/// As `DELETE /projects/{id}/addons/{vendor}/{name}` does.
#[utoipa::path(
    post,
    path = "/console/projects/{id}/addons/{vendor}/{name}/remove",
    tag = "console",
    security(("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = "the project's `id`"),
        ("vendor" = String, Path, description = "the add-on's vendor"),
        ("name" = String, Path, description = "the add-on's name within the vendor"),
    ),
    request_body(content = super::CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Removed, or not bound: to a page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn unbind_console_addon(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, vendor, name)): Path<(String, String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (_, _, user) = match checked_post(&state, &headers, body, &["csrf_token"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let back = format!("/console/projects/{id}");
    match state
        .services
        .projects()
        .unbind_addon(&user, &id, (&vendor, &name))
        .await
    {
        Ok(()) => see(
            &state,
            &back,
            Flash::ok(format!("{vendor}/{name} removed from the project.")),
        ),
        Err(ProjectError::NotBound { package, .. }) => see(
            &state,
            &back,
            Flash::error(format!(
                "{package} was not required by the project (removed already?)."
            )),
        ),
        Err(ProjectError::NotFound(_)) => gone(&state),
        Err(e) => server_error(&state, e),
    }
}
