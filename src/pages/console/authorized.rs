//! The Authorized apps page (`/console/authorized`): the third-party applications the
//! account consented to (on the authorization endpoint's consent page), with who
//! registered them, the scopes granted and their last use; revoking one (after a
//! confirmation page) withdraws the consent and revokes every token it holds for the
//! account, so the next authorization asks again.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{CsrfForm, Render, checked_post, not_found, see, server_error, time, viewer};
use crate::pages::HTML;
use crate::pages::flash::Flash;
use crate::pages::layout::{Nav, describe};
use crate::state::AppState;

/// Routes of the Authorized apps page.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_authorized_page))
        .routes(routes!(confirm_app_revocation, revoke_authorized_app))
}

/// The applications the account authorized
#[utoipa::path(
    get,
    path = "/console/authorized",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn get_authorized_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (browser, user) = match viewer(&state, &headers, Nav::Authorized.path()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let apps = match state.services.sessions().authorized_apps(&user).await {
        Ok(a) => a,
        Err(e) => return server_error(&state, e),
    };
    let body = html! {
        h1 { "Authorized apps" }
        p.muted { "Applications you allowed to act for your account. Revoking one ends its access at once; it has to ask you again." }
        @if apps.is_empty() {
            div.card { p.muted { "You have not authorized any application." } }
        } @else {
            ul.rows #authorized {
                @for a in &apps {
                    li data-client=(a.client_id) {
                        div.row-main {
                            div.row-title { (a.client_name) }
                            div.row-meta { "By " strong { (a.owner) } " · may " (a.scope.iter().map(describe).collect::<Vec<_>>().join("; ")) }
                            div.row-meta { "Scopes " code { (a.scope.to_string()) } " · authorized " (time(a.created_at))
                                " · last used " @if let Some(u) = a.last_used_at { (time(u)) } @else { "never" } }
                        }
                        div.row-actions {
                            a.button.danger href=(state.path(&format!("/console/authorized/{}/revoke", a.client_id))) { "Revoke…" }
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
    .page(StatusCode::OK, Nav::Authorized, "Authorized apps", body)
}

/// Confirm withdrawing an application's access
#[utoipa::path(
    get,
    path = "/console/authorized/{client_id}/revoke",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(("client_id" = String, Path, description = "the application's `client_id`")),
    responses(
        (status = 200, description = "The confirmation, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "The account did not authorize this application.", body = String, content_type = HTML),
    )
)]
pub async fn confirm_app_revocation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let here = format!("/console/authorized/{client_id}/revoke");
    let (browser, user) = match viewer(&state, &headers, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let apps = match state.services.sessions().authorized_apps(&user).await {
        Ok(a) => a,
        Err(e) => return server_error(&state, e),
    };
    let Some(app) = apps.into_iter().find(|a| a.client_id == client_id) else {
        return not_found(&state);
    };
    let csrf = browser.csrf();
    let body = html! {
        h1 { "Revoke " (app.client_name) "?" }
        div.card {
            p { strong { (app.client_name) } " (by " (app.owner) ") loses access to your account at once: "
                "every token it holds for you stops working, and it has to ask you again." }
            form method="post" action=(state.path(&here)) {
                input type="hidden" name="csrf_token" value=(csrf);
                div.actions {
                    button.danger type="submit" { "Revoke access" }
                    a.button href=(state.path(Nav::Authorized.path())) { "Cancel" }
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
    .page(StatusCode::OK, Nav::Authorized, "Revoke access", body)
}

/// Withdraw an application's access from the console
///
/// The consent and every token the application holds for the account.
#[utoipa::path(
    post,
    path = "/console/authorized/{client_id}/revoke",
    tag = "console",
    security(("sessionCookie" = [])),
    params(("client_id" = String, Path, description = "the application's `client_id`")),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done or refused: to the page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn revoke_authorized_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (_, _, user) = match checked_post(&state, &headers, body, &["csrf_token"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let flash = match state
        .services
        .sessions()
        .revoke_app(&user, &client_id)
        .await
    {
        Ok(true) => Flash::ok("Access revoked: the application has to ask you again."),
        Ok(false) => {
            Flash::error("You had not authorized that application (or revoked it already).")
        }
        Err(e) => return server_error(&state, e),
    };
    see(&state, Nav::Authorized.path(), flash)
}
