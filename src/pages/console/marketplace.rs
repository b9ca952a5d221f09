//! The Marketplace (`/console/marketplace`): browse and search the add-ons the account may
//! see, by Composer type, and an add-on's page with its versions, the `composer require`
//! line and the repository snippet to copy. Read-only; the same service as
//! `GET /packages` and `GET /packages/{vendor}/{name}`. Publishing and the owner's settings
//! stay in the API for now.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Render, not_found, server_error, time, viewer};
use crate::domain::package::PackageType;
use crate::pages::HTML;
use crate::pages::layout::Nav;
use crate::service::packages::PackageError;
use crate::state::AppState;
use crate::store::Page;
use crate::store::packages::Viewer;

/// Routes of the Marketplace pages.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_marketplace_page))
        .routes(routes!(get_addon_page))
}

fn type_label(t: PackageType) -> &'static str {
    match t {
        PackageType::Extension => "Extension",
        PackageType::Theme => "Theme",
        PackageType::Translation => "Translation",
        PackageType::Library => "Library",
    }
}

/// The add-ons the account may see
#[utoipa::path(
    get,
    path = "/console/marketplace",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(
        ("q" = Option<String>, Query, description = "words in the name or description"),
        ("type" = Option<String>, Query, description = "a Composer type"),
    ),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn get_marketplace_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (browser, user) = match viewer(&state, &headers, Nav::Marketplace.path()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (q, kind) = (get("q"), get("type"));
    let chosen = PackageType::parse(&kind);
    let page = Page {
        number: 1,
        size: 50,
    };
    let listed = state
        .services
        .packages()
        .list(
            Viewer::User(user.id),
            chosen.map(PackageType::as_str),
            Some(&q),
            page,
        )
        .await;
    let (error, packages, total) = match listed {
        Ok((p, t)) => (None, p.into_iter().map(|(p, _)| p).collect(), t),
        Err(PackageError::Invalid(e)) => (Some(e.to_string()), Vec::new(), 0),
        Err(e) => return server_error(&state, e),
    };
    let body = html! {
        h1 { "Marketplace" }
        form.card method="get" action=(state.path(Nav::Marketplace.path())) role="search" {
            label for="q" { "Search add-ons" }
            input type="text" id="q" name="q" value=(q) placeholder="name or description";
            label for="type" { "Type" }
            select id="type" name="type" {
                option value="" selected[chosen.is_none()] { "Any type" }
                @for t in PackageType::ALL {
                    option value=(t.as_str()) selected[chosen == Some(t)] { (type_label(t)) }
                }
            }
            div.actions { button.primary type="submit" { "Search" } }
        }
        @if let Some(e) = error { p.field-error role="alert" { "The search " (e) "." } }
        @if packages.is_empty() {
            div.card { p.muted { "No add-on matches." } }
        } @else {
            p.muted { (total) " add-on" @if total != 1 { "s" } }
            ul.rows #addons {
                @for p in &packages {
                    li {
                        div.row-main {
                            div.row-title {
                                a href=(state.path(&format!("/console/marketplace/{}", p.name))) { (p.name) }
                                " " span.badge { (type_label(p.package_type)) }
                                @if p.is_private() { " " span.badge { "private" } }
                            }
                            @if let Some(d) = &p.description { div.row-meta { (d) } }
                            div.row-meta { "By " (p.owner_username) " · updated " (time(p.updated_at)) }
                        }
                    }
                }
            }
        }
    };
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(StatusCode::OK, Nav::Marketplace, "Marketplace", body)
}

/// An add-on's page
#[utoipa::path(
    get,
    path = "/console/marketplace/{vendor}/{name}",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(
        ("vendor" = String, Path, description = "the vendor"),
        ("name" = String, Path, description = "the add-on's name"),
    ),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "No such add-on, or one the account may not see.", body = String, content_type = HTML),
    )
)]
pub async fn get_addon_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((vendor, name)): Path<(String, String)>,
) -> Response {
    let here = format!("/console/marketplace/{vendor}/{name}");
    let (browser, user) = match viewer(&state, &headers, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let packages = state.services.packages();
    let package = match packages
        .visible(Viewer::User(user.id), &vendor, &name)
        .await
    {
        Ok(p) => p,
        Err(PackageError::NotFound(_)) => return not_found(&state),
        Err(e) => return server_error(&state, e),
    };
    let versions = match packages.versions(&package).await {
        Ok(v) => v,
        Err(e) => return server_error(&state, e),
    };
    let require = format!("composer require {}", package.name);
    let snippet = format!(
        "\"repositories\": [\n    {{\"type\": \"composer\", \"url\": \"{}\"}}\n]",
        state.public_url
    );
    let body = html! {
        h1 { (package.name) }
        p { span.badge { (type_label(package.package_type)) } " "
            span.badge { @if package.is_private() { "private" } @else { "public" } }
            " by " strong { (package.owner_username) } }
        @if let Some(d) = &package.description { p { (d) } }
        h2 { "Install" }
        div.card {
            p.hint { "Add this repository to the project's composer.json:" }
            div.secret { code #snippet style="white-space:pre-wrap" { (snippet) } button type="button" data-copy="snippet" hidden { "Copy" } }
            p.hint { "then:" }
            div.secret { code #require { (require) } button type="button" data-copy="require" hidden { "Copy" } }
            @if package.is_private() { p.hint { "A private add-on needs a token: put a personal access token in Composer's auth.json (http-basic, the token as the password)." } }
        }
        h2 { "Versions" }
        @if versions.is_empty() {
            div.card { p.muted { "No version published yet." } }
        } @else {
            ul.rows #versions {
                @for v in &versions {
                    li { div.row-main {
                        div.row-title { (v.version) }
                        div.row-meta { "Published " (time(v.created_at)) " · " (v.size) " bytes · sha256 " code { (v.sha256.get(..12).unwrap_or_default()) "…" } }
                    } }
                }
            }
        }
        p { a href=(state.path(Nav::Marketplace.path())) { "Back to the Marketplace" } }
    };
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(StatusCode::OK, Nav::Marketplace, &package.name, body)
}
