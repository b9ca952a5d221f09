//! The Projects page (`/console/projects`): the account's projects with the add-ons each
//! requires, read through the service behind `GET /projects`. Creating, editing and
//! binding stay in the API for now.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Render, server_error, time, viewer};
use crate::pages::HTML;
use crate::pages::layout::Nav;
use crate::state::AppState;
use crate::store::Page;

/// Routes of the Projects page.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_projects_page))
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
    let body = html! {
        h1 { "Projects" }
        p.muted { "Your HarmonyCMS sites and the add-ons each requires. Create and change them with the API (POST /projects)." }
        @if projects.is_empty() {
            div.card { p.muted { "No projects yet." } }
        } @else {
            ul.rows #projects {
                @for p in &projects {
                    li { div.row-main {
                        div.row-title { (p.name) " " span.badge { (p.slug) } }
                        @if let Some(d) = &p.description { div.row-meta { (d) } }
                        @if let Some(u) = &p.url { div.row-meta { code { (u) } } }
                        div.row-meta {
                            @if p.addons.is_empty() { "No add-ons" }
                            @else { "Add-ons: " (p.addons.len()) }
                            " · updated " (time(p.updated_at))
                        }
                    } }
                }
            }
            @if total > projects.len() as u64 {
                p.muted { "The first " (projects.len()) " of " (total) " projects are shown." }
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
