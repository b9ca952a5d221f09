//! The Applications page (`/console/applications`): the account's OAuth clients — list,
//! register, edit, delete, rotate the secret — through the clients service that
//! `/user/clients` uses, with its validation. A new secret is shown once, in the flash
//! that follows the redirect. Delete and rotate first show a confirmation page.

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
use crate::domain::client::ClientField;
use crate::domain::fields::FieldErrors;
use crate::domain::time::rfc3339;
use crate::domain::{GrantType, Scope};
use crate::pages::HTML;
use crate::pages::flash::Flash;
use crate::pages::layout::{Nav, describe};
use crate::pages::session;
use crate::service::clients::{ClientChange, ClientError, ClientSpec};
use crate::state::{AppState, ClientAddr};
use crate::store::{Client, User, now};

/// Routes of the Applications page.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_applications_page, create_console_application))
        .routes(routes!(new_application_page))
        .routes(routes!(edit_application_page, update_console_application))
        .routes(routes!(
            confirm_application_deletion,
            delete_console_application
        ))
        .routes(routes!(confirm_secret_rotation, rotate_console_secret))
}

/// The rotation form.
#[derive(ToSchema)]
pub struct RotationForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// How long the old secret keeps working, in seconds (0: it stops at once; at most
    /// 604800).
    pub keep_old: Option<i64>,
    /// The password given again, when the session signed in over 10 minutes ago.
    pub reauth_password: Option<String>,
}

/// The application form (registration and changes).
#[derive(ToSchema)]
pub struct ApplicationForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The application's name.
    pub name: String,
    /// Redirect URIs, one per line.
    pub redirect_uris: Option<String>,
    /// A grant type (repeatable).
    pub grant_type: Option<Vec<String>>,
    /// A scope (repeatable).
    pub scope: Option<Vec<String>>,
    /// Registration only: `confidential` (has a secret) or `public`.
    pub kind: Option<String>,
}

fn grant_words(g: GrantType) -> &'static str {
    match g {
        GrantType::AuthorizationCode => {
            "people sign in here and approve your app (web and native apps; needs a redirect URI)"
        }
        GrantType::RefreshToken => "your app renews its tokens without asking again",
        GrantType::Password => {
            "your app sends a person's username and password itself (first-party tools only)"
        }
        GrantType::ClientCredentials => {
            "your app acts as itself, for no person (needs a secret: confidential only)"
        }
    }
}

/// What the form shows: what was typed (or stored), and what is wrong with it.
struct FormValues {
    name: String,
    redirect_uris: String,
    grant_types: Vec<String>,
    scopes: Vec<String>,
    confidential: bool,
    errors: FieldErrors<ClientField>,
}

impl FormValues {
    fn blank() -> FormValues {
        FormValues {
            name: String::new(),
            redirect_uris: String::new(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: vec!["read".into()],
            confidential: true,
            errors: FieldErrors::new(),
        }
    }

    fn of(client: &Client) -> FormValues {
        FormValues {
            name: client.name.to_string(),
            redirect_uris: client
                .redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            grant_types: client
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scopes: client
                .scopes
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            confidential: client.secret_digest.is_some(),
            errors: FieldErrors::new(),
        }
    }

    fn read(form: &[(String, String)]) -> FormValues {
        let all = |name: &str| -> Vec<String> {
            form.iter()
                .filter(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect()
        };
        FormValues {
            name: session::field(form, "name").unwrap_or_default().to_owned(),
            redirect_uris: session::field(form, "redirect_uris")
                .unwrap_or_default()
                .to_owned(),
            grant_types: all("grant_type"),
            scopes: all("scope"),
            confidential: session::field(form, "kind") != Some("public"),
            errors: FieldErrors::new(),
        }
    }

    fn uris(&self) -> Vec<String> {
        self.redirect_uris
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

fn application_form(
    state: &AppState,
    csrf: &str,
    user: &User,
    action: &str,
    v: &FormValues,
    creating: bool,
) -> Markup {
    let err = |f: ClientField| v.errors.get(&f);
    let scopes: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|s| *s != Scope::Admin || user.is_admin)
        .collect();
    html! {
        @if !v.errors.is_empty() {
            div.flash.error role="alert" { p style="margin:0" { "The application was not saved: see the messages below." } }
        }
        form.card method="post" action=(action) novalidate {
            input type="hidden" name="csrf_token" value=(csrf);
            (text_field("name", "Name", &v.name, err(ClientField::Name), Some("Shown to people when your app asks for access.")))
            label for="redirect_uris" { "Redirect URIs" }
            p.hint #redirect_uris-hint { "One per line: where people are sent back after approving your app. Needed for the authorization code grant." }
            textarea id="redirect_uris" name="redirect_uris" rows="3"
                aria-invalid=[err(ClientField::RedirectUris).is_some().then_some("true")]
                aria-describedby="redirect_uris-hint" { (v.redirect_uris) }
            @if let Some(e) = err(ClientField::RedirectUris) { p.field-error { (e) } }
            @if creating {
                fieldset {
                    legend { "Kind" }
                    label.check { input type="radio" name="kind" value="confidential" checked[v.confidential];
                        span { strong { "Confidential" } " — runs on a server that keeps a secret" } }
                    label.check { input type="radio" name="kind" value="public" checked[!v.confidential];
                        span { strong { "Public" } " — a browser or desktop app that cannot keep a secret (no secret; PKCE protects it)" } }
                }
            }
            fieldset aria-invalid=[err(ClientField::GrantTypes).is_some().then_some("true")] {
                legend { "Grant types" }
                p.hint { "Check only what your app uses. Left all unchecked, a new application gets the server's defaults: "
                    "authorization_code (when it has redirect URIs), password and refresh_token, plus client_credentials for a confidential app." }
                @for g in GrantType::ALL {
                    label.check {
                        input type="checkbox" name="grant_type" value=(g.as_str()) checked[v.grant_types.iter().any(|x| x == g.as_str())];
                        span { code { (g.as_str()) } " — " (grant_words(g)) }
                    }
                }
                @if let Some(e) = err(ClientField::GrantTypes) { p.field-error { (e) } }
            }
            fieldset aria-invalid=[err(ClientField::Scopes).is_some().then_some("true")] {
                legend { "Scopes it may ask for" }
                @for s in &scopes {
                    label.check {
                        input type="checkbox" name="scope" value=(s.as_str()) checked[v.scopes.iter().any(|x| x == s.as_str())];
                        span { code { (s.as_str()) } " — " (describe(*s)) }
                    }
                }
                @if let Some(e) = err(ClientField::Scopes) { p.field-error { (e) } }
            }
            div.actions {
                button.primary type="submit" { @if creating { "Register application" } @else { "Save changes" } }
                a.button href=(state.path(Nav::Applications.path())) { "Cancel" }
            }
        }
    }
}

/// The signed-in account on the page `here` and its application `client_id`; without a
/// session the answer is the sign-in page, for no such application of the account the
/// 404 page.
async fn viewer_and_client(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
    client_id: &str,
) -> Result<(session::Browser, User, Client), Response> {
    let (browser, user) = viewer(state, headers, here).await?;
    match state.services.clients().get(&user, client_id).await {
        Ok(c) => Ok((browser, user, c)),
        Err(ClientError::NotFound(_)) => Err(not_found(state)),
        Err(e) => Err(server_error(state, e)),
    }
}

/// The account's applications
#[utoipa::path(
    get,
    path = "/console/applications",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn get_applications_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (browser, user) = match viewer(&state, &headers, Nav::Applications.path()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let page = crate::store::Page {
        number: 1,
        size: 100,
    };
    let (clients, total) = match state.services.clients().list(&user, page).await {
        Ok(c) => c,
        Err(e) => return server_error(&state, e),
    };
    let path = |p: &str| state.path(p);
    let body = html! {
        h1 { "Applications" }
        p.muted { "The OAuth applications you registered. People sign in to them with their HarmonyCMS account." }
        p { a.button.primary href=(path("/console/applications/new")) { "Register a new application" } }
        @if clients.is_empty() {
            div.card { p.muted { "No applications yet." } }
        } @else {
            ul.rows #applications {
                @for c in &clients {
                    li data-client=(c.id) {
                        div.row-main {
                            div.row-title { (c.name) " "
                                span.badge { @if c.secret_digest.is_some() { "confidential" } @else { "public" } } }
                            div.row-meta { "client_id " code.client-id { (c.id) } }
                            div.row-meta { "Grants: " (c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", "))
                                " · scopes " code { (c.scopes.to_string()) } }
                            @if !c.redirect_uris.is_empty() {
                                div.row-meta { "Redirects to " @for (i, u) in c.redirect_uris.iter().enumerate() { @if i > 0 { ", " } code { (u) } } }
                            }
                            div.row-meta { "Registered " (time(c.created_at)) }
                            @if let Some((_, until)) = c.previous_secret.filter(|(_, u)| *u > now()) {
                                div.row-meta { "The previous secret still works until " (time(until)) }
                            }
                        }
                        div.row-actions {
                            a.button href=(path(&format!("/console/applications/{}", c.id))) { "Edit" }
                            @if c.secret_digest.is_some() {
                                a.button href=(path(&format!("/console/applications/{}/secret", c.id))) { "Rotate secret…" }
                            }
                            a.button.danger href=(path(&format!("/console/applications/{}/delete", c.id))) { "Delete…" }
                        }
                    }
                }
            }
            @if total > clients.len() as u64 {
                p.muted { "The first " (clients.len()) " of " (total) " applications are shown; the API (GET /user/clients) lists all." }
            }
        }
    };
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(StatusCode::OK, Nav::Applications, "Applications", body)
}

/// The form to register an application
#[utoipa::path(
    get,
    path = "/console/applications/new",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The form, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn new_application_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let here = "/console/applications/new";
    let (browser, user) = match viewer(&state, &headers, here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let form = application_form(
        &state,
        &browser.csrf(),
        &user,
        &state.path(Nav::Applications.path()),
        &FormValues::blank(),
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
        Nav::Applications,
        "New application",
        html! { h1 { "Register a new application" } (form) },
    )
}

/// The form again with `errors` (`422`), or the failure as a message.
#[allow(clippy::too_many_arguments)]
fn refused(
    state: &AppState,
    headers: &HeaderMap,
    browser: &session::Browser,
    user: &User,
    mut values: FormValues,
    e: ClientError,
    action: &str,
    creating: bool,
) -> Response {
    match e {
        ClientError::Invalid(errors) => {
            values.errors = errors;
            let title = if creating {
                "New application"
            } else {
                "Edit application"
            };
            let form = application_form(state, &browser.csrf(), user, action, &values, creating);
            Render {
                state,
                headers,
                browser,
                user,
            }
            .page(
                StatusCode::UNPROCESSABLE_ENTITY,
                Nav::Applications,
                title,
                html! { h1 { (title) } (form) },
            )
        }
        // The console manages the account's own clients only.
        ClientError::NotFound(_)
        | ClientError::UnknownOwner(_)
        | ClientError::OrgNotFound(_)
        | ClientError::NotOrgOwner(_) => not_found(state),
        ClientError::PublicClient => see(
            state,
            Nav::Applications.path(),
            Flash::error("A public application has no secret."),
        ),
        e @ ClientError::Store(_) => server_error(state, e),
    }
}

/// Register an application from the console
///
/// As `POST /user/clients` does; the secret is shown once on the page that follows.
#[utoipa::path(
    post,
    path = "/console/applications",
    tag = "console",
    security(("sessionCookie" = [])),
    request_body(content = ApplicationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Registered: to the Applications page, with the secret shown once.",
            headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "Invalid: the form again with what was typed and the messages.",
            body = String, content_type = HTML),
    )
)]
pub async fn create_console_application(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", "name", "redirect_uris", "kind"];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let values = FormValues::read(&form);
    let spec = ClientSpec {
        name: values.name.clone(),
        grant_types: values.grant_types.clone(),
        scopes: values.scopes.clone(),
        redirect_uris: values.uris(),
        public: !values.confidential,
        trusted: false,
        id_token_signed_response_alg: None,
        post_logout_redirect_uris: Vec::new(),
        // Set through the API: the form has no field for it.
        require_par: false,
    };
    match state.services.clients().register(&user, &spec).await {
        Ok(created) => {
            let c = &created.client;
            let mut flash = Flash::ok(format!("Application {} registered.", c.name))
                .with_secret("client_id", &c.id);
            if let Some(secret) = &created.secret {
                flash = flash.with_secret("client_secret", secret.expose());
            }
            see(&state, Nav::Applications.path(), flash)
        }
        Err(e) => {
            let action = state.path(Nav::Applications.path());
            refused(&state, &headers, &browser, &user, values, e, &action, true)
        }
    }
}

/// The form to change an application
#[utoipa::path(
    get,
    path = "/console/applications/{client_id}",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(("client_id" = String, Path, description = "the application's `client_id`")),
    responses(
        (status = 200, description = "The form, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "No such application of this account.", body = String, content_type = HTML),
    )
)]
pub async fn edit_application_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let here = format!("/console/applications/{client_id}");
    let (browser, user, client) = match viewer_and_client(&state, &headers, &here, &client_id).await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let form = application_form(
        &state,
        &browser.csrf(),
        &user,
        &state.path(&here),
        &FormValues::of(&client),
        false,
    );
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(
        StatusCode::OK,
        Nav::Applications,
        "Edit application",
        html! {
            h1 { "Edit " (client.name) }
            p.muted { "client_id " code { (client.id) } " · "
                @if client.secret_digest.is_some() { "confidential" } @else { "public" } }
            (form)
        },
    )
}

/// Change an application from the console
///
/// As `PATCH /user/clients/{clientId}` does, with every setting of the form.
#[utoipa::path(
    post,
    path = "/console/applications/{client_id}",
    tag = "console",
    security(("sessionCookie" = [])),
    params(("client_id" = String, Path, description = "the application's `client_id`")),
    request_body(content = ApplicationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved: to the Applications page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 404, description = "No such application of this account.", body = String, content_type = HTML),
        (status = 422, description = "Invalid: the form again with what was typed and the messages.",
            body = String, content_type = HTML),
    )
)]
pub async fn update_console_application(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", "name", "redirect_uris", "kind"];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let values = FormValues::read(&form);
    let change = ClientChange {
        name: Some(values.name.clone()),
        redirect_uris: Some(values.uris()),
        grant_types: Some(values.grant_types.clone()),
        scopes: Some(values.scopes.clone()),
        id_token_signed_response_alg: None,
        post_logout_redirect_uris: None,
        require_par: None,
    };
    match state
        .services
        .clients()
        .update(&user, &client_id, change)
        .await
    {
        Ok(c) => see(
            &state,
            Nav::Applications.path(),
            Flash::ok(format!("Application {} saved.", c.name)),
        ),
        Err(e) => {
            let action = state.path(&format!("/console/applications/{client_id}"));
            refused(&state, &headers, &browser, &user, values, e, &action, false)
        }
    }
}

/// Confirm an application's deletion
#[utoipa::path(
    get,
    path = "/console/applications/{client_id}/delete",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(("client_id" = String, Path, description = "the application's `client_id`")),
    responses(
        (status = 200, description = "The confirmation, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "No such application of this account.", body = String, content_type = HTML),
    )
)]
pub async fn confirm_application_deletion(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let here = format!("/console/applications/{client_id}/delete");
    let (browser, user, client) = match viewer_and_client(&state, &headers, &here, &client_id).await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let explanation = html! {
        p { "Delete " strong { (client.name) } " (" code { (client.id) } ")? Every token it holds stops working, "
            "every consent people gave it is withdrawn, and its client_id cannot be used again. This cannot be undone." }
    };
    Confirm {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
        nav: Nav::Applications,
    }
    .page(
        "Delete this application?",
        explanation,
        html! {},
        &here,
        "Delete application",
    )
}

/// Delete an application from the console
///
/// As `DELETE /user/clients/{clientId}` does.
#[utoipa::path(
    post,
    path = "/console/applications/{client_id}/delete",
    tag = "console",
    security(("sessionCookie" = [])),
    params(("client_id" = String, Path, description = "the application's `client_id`")),
    request_body(content = SensitiveForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done or refused: to the Applications page with a message.", headers(("Location" = String))),
        (status = 200, description = "The session signed in over 10 minutes ago: a page asks for the password again, \
            its form posting the same fields with `reauth_password`.", body = String, content_type = HTML),
        (status = 401, description = "The password given again is wrong: that page again.", body = String, content_type = HTML),
        (status = 429, description = "Too many wrong passwords (`Retry-After`).", body = String, content_type = HTML,
            headers(("Retry-After" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn delete_console_application(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", REAUTH_FIELD];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let clients = state.services.clients();
    let name = match clients.get(&user, &client_id).await {
        Ok(c) => c.name.to_string(),
        Err(ClientError::NotFound(_)) => {
            return see(
                &state,
                Nav::Applications.path(),
                Flash::error("That application is not one of yours (was it deleted already?)."),
            );
        }
        Err(e) => return server_error(&state, e),
    };
    let here = format!("/console/applications/{client_id}/delete");
    let sensitive = Sensitive {
        action: &here,
        what: format!("delete the application {name}"),
        button: "Delete application",
        nav: Nav::Applications,
    };
    let browser =
        match reauthenticated(&state, &headers, addr, browser, &user, &form, sensitive).await {
            Ok(b) => b,
            Err(r) => return r,
        };
    let done = match clients.delete(&user, &client_id).await {
        Ok(()) => see(
            &state,
            Nav::Applications.path(),
            Flash::ok(format!("Application {name} deleted.")),
        ),
        Err(ClientError::NotFound(_)) => see(
            &state,
            Nav::Applications.path(),
            Flash::error("That application is not one of yours (was it deleted already?)."),
        ),
        Err(e) => server_error(&state, e),
    };
    browser.finish(done)
}

/// Confirm a secret's rotation
#[utoipa::path(
    get,
    path = "/console/applications/{client_id}/secret",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(("client_id" = String, Path, description = "the application's `client_id`")),
    responses(
        (status = 200, description = "The confirmation, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "No such confidential application of this account.", body = String, content_type = HTML),
    )
)]
pub async fn confirm_secret_rotation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let here = format!("/console/applications/{client_id}/secret");
    let (browser, user, client) = match viewer_and_client(&state, &headers, &here, &client_id).await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    // A public application has no secret to rotate.
    if client.secret_digest.is_none() {
        return not_found(&state);
    }
    let explanation = html! {
        p { "Give " strong { (client.name) } " a new secret? The new secret is shown once, on the next page." }
    };
    Confirm {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
        nav: Nav::Applications,
    }
    .page(
        "Rotate the secret?",
        explanation,
        html! {
            label for="keep_old" { "The old secret" }
            select id="keep_old" name="keep_old" aria-describedby="keep_old-hint" {
                @for (seconds, label) in GRACE {
                    option value=(seconds) selected[seconds == "0"] { (label) }
                }
            }
            p.hint #keep_old-hint { "Keep the old secret working for a while to roll the new one out without downtime; both work until then." }
        },
        &here,
        "Rotate secret",
    )
}

/// The grace periods the rotation form offers (seconds, label).
const GRACE: [(&str, &str); 4] = [
    ("0", "stops working at once"),
    ("3600", "keeps working for 1 hour"),
    ("86400", "keeps working for 24 hours"),
    ("604800", "keeps working for 7 days"),
];

/// Rotate an application's secret from the console
///
/// As `POST /user/clients/{clientId}/secret` does; the new secret is shown once on the
/// page that follows.
#[utoipa::path(
    post,
    path = "/console/applications/{client_id}/secret",
    tag = "console",
    security(("sessionCookie" = [])),
    params(("client_id" = String, Path, description = "the application's `client_id`")),
    request_body(content = RotationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done or refused: to the Applications page with a message (and the secret, once).",
            headers(("Location" = String))),
        (status = 200, description = "The session signed in over 10 minutes ago: a page asks for the password again, \
            its form posting the same fields with `reauth_password`.", body = String, content_type = HTML),
        (status = 401, description = "The password given again is wrong: that page again.", body = String, content_type = HTML),
        (status = 429, description = "Too many wrong passwords (`Retry-After`).", body = String, content_type = HTML,
            headers(("Retry-After" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn rotate_console_secret(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", "keep_old", REAUTH_FIELD];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let name = match state.services.clients().get(&user, &client_id).await {
        Ok(c) => c.name.to_string(),
        Err(ClientError::NotFound(_)) => {
            return see(
                &state,
                Nav::Applications.path(),
                Flash::error("That application is not one of yours."),
            );
        }
        Err(e) => return server_error(&state, e),
    };
    let here = format!("/console/applications/{client_id}/secret");
    let sensitive = Sensitive {
        action: &here,
        what: format!("give {name} a new secret"),
        button: "Rotate secret",
        nav: Nav::Applications,
    };
    let browser =
        match reauthenticated(&state, &headers, addr, browser, &user, &form, sensitive).await {
            Ok(b) => b,
            Err(r) => return r,
        };
    let keep_old = session::field(&form, "keep_old")
        .map(|s| s.trim().parse::<i64>().unwrap_or(-1))
        .unwrap_or(0);
    let flash = match state
        .services
        .clients()
        .rotate_secret(&user, &client_id, keep_old)
        .await
    {
        Ok((client, secret)) => Flash::ok(match client.previous_secret {
            Some((_, until)) => format!(
                "New secret for {}; the old one keeps working until {}.",
                client.name,
                rfc3339(until).replace('T', " ").replace('Z', " UTC")
            ),
            None => format!(
                "New secret for {}; the old one no longer works.",
                client.name
            ),
        })
        .with_secret("client_id", &client.id)
        .with_secret("client_secret", secret.expose()),
        Err(ClientError::NotFound(_)) => Flash::error("That application is not one of yours."),
        Err(ClientError::PublicClient) => Flash::error("A public application has no secret."),
        Err(ClientError::Invalid(errors)) => {
            Flash::error(format!("The secret was not rotated: the {errors}."))
        }
        Err(e) => return server_error(&state, e),
    };
    browser.finish(see(&state, Nav::Applications.path(), flash))
}
