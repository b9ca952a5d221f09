//! `GET /settings/api`: the account's API Access page in a browser. Without a session it
//! shows the sign-in form; with one it lists the account's tokens (never their values)
//! with a Revoke button each, and its clients with Rotate secret, a Create client form and
//! Sign out.
//!
//! The session, its cookie and the CSRF token are [`super::session`]'s, shared with the
//! authorization endpoint. Every state-changing action is a POST form checked against the
//! CSRF token and answered `303 See Other` back to the page — except create and rotate,
//! which answer the page itself with the new secret, shown this once. The actions call the
//! same services as the JSON API ([`crate::service::tokens`], [`crate::service::clients`]),
//! so validation, revocation semantics and cache invalidation are the API's; the page
//! renders their errors its own way.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::HTML;
use super::layout;
use super::session::{self, Browser, CsrfFailure, SignInRefused};
use crate::domain::time::rfc3339;
use crate::domain::tokens::TokenStatus;
use crate::domain::{GrantType, PlainSecret, Scope};
use crate::service::clients::{ClientError, ClientSpec};
use crate::service::tokens::TokenError;
use crate::state::{AppState, ClientAddr};
use crate::store::{Client, Page, User, now};

/// Routes of this family (browser pages, outside the API's token authentication).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings))
        .routes(routes!(sign_in_settings))
        .routes(routes!(sign_out_settings))
        .routes(routes!(revoke_settings_token))
        .routes(routes!(create_settings_client))
        .routes(routes!(rotate_settings_client_secret))
}

/// A form of the page that carries nothing but its CSRF token.
#[derive(ToSchema)]
pub struct CsrfForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
}

/// The sign-in form.
#[derive(ToSchema)]
pub struct SignInForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The account's username.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// The "Create client" form (as `POST /user/clients` takes it).
#[derive(ToSchema)]
pub struct ClientForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The client's name.
    pub name: String,
    /// Redirect URIs, separated by white space.
    pub redirect_uris: Option<String>,
    /// A grant type (repeatable).
    pub grant_type: Option<Vec<String>>,
    /// A scope (repeatable).
    pub scope: Option<Vec<String>>,
    /// Present (any value): a confidential client.
    pub confidential: Option<String>,
}
/// How many tokens and clients the page lists (the newest tokens, the oldest clients).
const LISTED: u32 = 100;

const WIDE: &str = "body{max-width:64rem}table{border-collapse:collapse;width:100%;\
margin:.5rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;\
vertical-align:top;font-size:.9rem}td form{margin:0}td button{margin:0;padding:.2rem .6rem}\
textarea{width:100%;box-sizing:border-box}.secret{background:#ffd;padding:.8rem;\
border:1px solid #cc9}code{word-break:break-all}";

/// What the page shows above the lists.
enum Notice<'a> {
    None,
    /// An action failed.
    Error(String),
    /// A client's secret, shown once (after create or rotate).
    Secret {
        client: &'a Client,
        secret: &'a PlainSecret,
        created: bool,
    },
}

fn server_error(state: &AppState, e: impl Into<anyhow::Error>) -> Response {
    tracing::error!(error = ?e.into(), "settings page failed");
    layout::respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        message_page(
            "The server failed; please try again later.",
            &state.url("/settings/api"),
        ),
    )
}

fn message_page(message: &str, back: &str) -> Markup {
    layout::layout(
        "API Access",
        html! {
            h1 { "API Access" }
            p.error role="alert" { (message) }
            p { a href=(back) { "Back to API Access" } }
        },
    )
}

fn see_settings(state: &AppState) -> Response {
    session::redirect(StatusCode::SEE_OTHER, &state.url("/settings/api"))
}

fn login_page(state: &AppState, csrf: &str, status: StatusCode, error: Option<&str>) -> Response {
    layout::respond(
        status,
        layout::login(
            &state.url("/settings/api/login"),
            csrf,
            "your API Access settings",
            error,
        ),
    )
}

/// A failed action as the page shows it: a status and a sentence for the person, or a
/// failure of the server.
enum Failure {
    Shown(StatusCode, String),
    Server(anyhow::Error),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let status = match &e {
            ClientError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ClientError::UnknownOwner(_) | ClientError::NotFound(_) => StatusCode::NOT_FOUND,
            ClientError::PublicClient => StatusCode::CONFLICT,
            ClientError::Store(_) => return Failure::Server(e.into()),
        };
        Failure::Shown(status, e.to_string())
    }
}

impl From<TokenError> for Failure {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::NotFound(_) => Failure::Shown(StatusCode::NOT_FOUND, e.to_string()),
            TokenError::Store(e) => Failure::Server(e.into()),
        }
    }
}

async fn settings_page(
    state: &AppState,
    browser: &Browser,
    user: &User,
    status: StatusCode,
    notice: Notice<'_>,
) -> Response {
    let page = Page {
        number: 1,
        size: LISTED,
    };
    let (tokens, token_total) = match state.services.tokens().list(user, page).await {
        Ok(t) => t,
        Err(e) => return server_error(state, e),
    };
    let (clients, client_total) = match state.services.clients().list(user, page).await {
        Ok(c) => c,
        Err(e) => return server_error(state, e),
    };
    let csrf = browser.csrf();
    let now = now();
    let url = |p: &str| state.url(p);
    let scopes: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|s| *s != Scope::Admin || user.is_admin)
        .collect();
    let body = html! {
        style { (WIDE) }
        h1 { "API Access" }
        p {
            "Signed in as " strong { (user.username) } ". "
        }
        form method="post" action=(url("/settings/api/logout")) {
            input type="hidden" name="csrf_token" value=(csrf);
            button type="submit" { "Sign out" }
        }
        @match &notice {
            Notice::None => {}
            Notice::Error(message) => { p.error role="alert" { (message) } }
            Notice::Secret { client, secret, created } => {
                div.secret role="status" {
                    p {
                        @if *created { "Client " strong { (client.name) } " created." }
                        @else { "New secret for " strong { (client.name) } "; the old one no longer works." }
                        " Copy the secret now: it is shown only this once."
                    }
                    p { "client_id: " code #new-client-id { (client.id) } }
                    p { "client_secret: " code #new-client-secret { (secret.expose()) } }
                }
            }
        }
        h2 { "Access tokens" }
        @if tokens.is_empty() {
            p.muted { "No tokens." }
        } @else {
            table {
                thead { tr {
                    th { "Client" } th { "Scope" } th { "Created" } th { "Last used" }
                    th { "Expires" } th { "Status" } th {}
                } }
                tbody {
                    @for t in &tokens {
                        @let status = TokenStatus::of(t.revoked_at, t.expires_at, now).as_str();
                        tr {
                            td { (t.client_name) }
                            td { (t.scope.to_string()) }
                            td { (rfc3339(t.created_at)) }
                            td { (t.last_used_at.map(rfc3339).unwrap_or_else(|| "never".into())) }
                            td { (rfc3339(t.expires_at)) }
                            td { (status) }
                            td {
                                @if status == "active" {
                                    form method="post" action=(url(&format!("/settings/api/tokens/{}/revoke", t.id))) {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        button type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if token_total > tokens.len() as u64 {
                p.muted { "The newest " (tokens.len()) " of " (token_total) " tokens are shown; the API (GET /user/tokens) lists all." }
            }
        }
        h2 { "Clients" }
        @if clients.is_empty() {
            p.muted { "No clients." }
        } @else {
            table {
                thead { tr {
                    th { "Name" } th { "client_id" } th { "Grant types" } th { "Scopes" }
                    th { "Redirect URIs" } th {}
                } }
                tbody {
                    @for c in &clients {
                        tr {
                            td { (c.name) }
                            td { code { (c.id) } }
                            td { @for g in &c.grant_types { (g.as_str()) br; } }
                            td { (c.scopes.to_string()) }
                            td { @for u in &c.redirect_uris { code { (u) } br; } }
                            td {
                                @if c.secret_digest.is_some() {
                                    form method="post" action=(url(&format!("/settings/api/clients/{}/secret", c.id))) {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        button type="submit" { "Rotate secret" }
                                    }
                                } @else {
                                    span.muted { "public" }
                                }
                            }
                        }
                    }
                }
            }
            @if client_total > clients.len() as u64 {
                p.muted { "The first " (clients.len()) " of " (client_total) " clients are shown; the API (GET /user/clients) lists all." }
            }
        }
        h2 { "Create client" }
        form method="post" action=(url("/settings/api/clients")) {
            input type="hidden" name="csrf_token" value=(csrf);
            label for="name" { "Name" }
            input type="text" id="name" name="name" required maxlength="100";
            label for="redirect_uris" { "Redirect URIs (one per line; needed for authorization_code)" }
            textarea id="redirect_uris" name="redirect_uris" rows="3" {}
            fieldset {
                legend { "Grant types (none checked: the defaults)" }
                @for g in GrantType::ALL {
                    label { input type="checkbox" name="grant_type" value=(g.as_str()); " " (g.as_str()) }
                }
            }
            fieldset {
                legend { "Scopes (none checked: read write)" }
                @for s in &scopes {
                    label { input type="checkbox" name="scope" value=(s.as_str()); " " (s.as_str()) }
                }
            }
            label { input type="checkbox" name="confidential" value="1" checked; " Confidential (has a secret)" }
            button type="submit" { "Create client" }
        }
    };
    layout::respond(status, layout::layout("API Access", body))
}

/// The API Access page
///
/// The account's tokens and clients, or the sign-in form without a session.
#[utoipa::path(
    get,
    path = "/settings/api",
    tag = "settings",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn get_settings(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let browser = Browser::of(&state, &headers);
    let response = match browser.user(&state).await {
        Ok(Some(user)) => {
            settings_page(&state, &browser, &user, StatusCode::OK, Notice::None).await
        }
        Ok(None) => login_page(&state, &browser.csrf(), StatusCode::OK, None),
        Err(e) => server_error(&state, e),
    };
    browser.finish(response)
}

/// Why a form POST was refused before it was acted on.
enum Refused {
    /// Unreadable, too large, or a repeated field (`400`).
    BadForm(&'static str),
    /// The CSRF check failed (`403`).
    Csrf(CsrfFailure),
}

impl Refused {
    fn respond(self, state: &AppState) -> Response {
        let (status, message) = match self {
            Refused::BadForm(m) => (StatusCode::BAD_REQUEST, m),
            Refused::Csrf(e) => (StatusCode::FORBIDDEN, e.message()),
        };
        layout::respond(status, message_page(message, &state.url("/settings/api")))
    }
}

/// A form POST's checks: readable form, CSRF token. `single` names the fields that may
/// appear once.
fn checked_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    single: &[&str],
) -> Result<(Browser, Vec<(String, String)>), Refused> {
    let form = session::read_form(body, single).map_err(Refused::BadForm)?;
    let browser = Browser::verified(state, headers, session::field(&form, "csrf_token"))
        .map_err(Refused::Csrf)?;
    Ok((browser, form))
}

/// The signed-in user of a checked form, or the sign-in form (`401`).
async fn signed_in(state: &AppState, browser: &Browser) -> Result<User, Response> {
    match browser.user(state).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(login_page(
            state,
            &browser.csrf(),
            StatusCode::UNAUTHORIZED,
            Some("Your session ended; sign in again."),
        )),
        Err(e) => Err(server_error(state, e)),
    }
}

/// A form POST of a signed-in user: the checks of [`checked_form`], then the session's
/// user; any failure as the response to send.
async fn signed_in_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    single: &[&str],
) -> Result<(Browser, Vec<(String, String)>, User), Response> {
    let (browser, form) =
        checked_form(state, headers, body, single).map_err(|r| r.respond(state))?;
    let user = signed_in(state, &browser).await?;
    Ok((browser, form, user))
}

/// Renders a failed action on the page, with its status.
async fn failed(state: &AppState, browser: &Browser, user: &User, e: Failure) -> Response {
    match e {
        Failure::Shown(status, message) => {
            settings_page(state, browser, user, status, Notice::Error(message)).await
        }
        Failure::Server(e) => server_error(state, e),
    }
}

/// Sign in to the API Access page
#[utoipa::path(
    post,
    path = "/settings/api/login",
    tag = "settings",
    security(("sessionCookie" = []), ()),
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: to `/settings/api`, with the session cookie.",
            headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 401, description = "Wrong username or password: the sign-in form again.",
            body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed, or the account is disabled.",
            body = String, content_type = HTML),
        (status = 429, description = "Too many failed attempts (`Retry-After`).",
            body = String, content_type = HTML, headers(("Retry-After" = String))),
    )
)]
pub async fn sign_in_settings(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (browser, form) = match checked_form(
        &state,
        &headers,
        body,
        &["csrf_token", "username", "password"],
    ) {
        Ok(f) => f,
        Err(r) => return r.respond(&state),
    };
    let username = session::field(&form, "username").unwrap_or_default();
    let password = PlainSecret::new(session::field(&form, "password").unwrap_or_default());
    let csrf = browser.csrf();
    match session::sign_in(&state, addr, browser, username, &password).await {
        Ok((session, _, _)) => session.finish(see_settings(&state)),
        Err(SignInRefused::Refused {
            status,
            message,
            retry_after,
        }) => {
            let mut response = login_page(&state, &csrf, status, Some(message));
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            response
        }
        Err(SignInRefused::Failed(e)) => server_error(&state, e),
    }
}

/// Sign out of the API Access page
#[utoipa::path(
    post,
    path = "/settings/api/logout",
    tag = "settings",
    security(("sessionCookie" = []), ()),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "The session ended: to `/settings/api`.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn sign_out_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (browser, _) = match checked_form(&state, &headers, body, &["csrf_token"]) {
        Ok(f) => f,
        Err(r) => return r.respond(&state),
    };
    match browser.sign_out(&state).await {
        Ok(fresh) => fresh.finish(see_settings(&state)),
        Err(e) => server_error(&state, e),
    }
}

/// Revoke a token from the API Access page
///
/// As `DELETE /user/tokens/{id}` does: the token and its family.
#[utoipa::path(
    post,
    path = "/settings/api/tokens/{id}/revoke",
    tag = "settings",
    security(("sessionCookie" = [])),
    params(("id" = String, Path, description = "the token's `id`")),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Revoked: to `/settings/api`.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 401, description = "No session: the sign-in form.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 404, description = "No such token of this account.", body = String, content_type = HTML),
    )
)]
pub async fn revoke_settings_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (browser, _, user) = match signed_in_form(&state, &headers, body, &["csrf_token"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match state.services.tokens().revoke(&user, &id).await {
        Ok(()) => see_settings(&state),
        Err(e) => failed(&state, &browser, &user, e.into()).await,
    }
}

/// Create a client from the API Access page
///
/// As `POST /user/clients` does; the answered page shows its secret, once.
#[utoipa::path(
    post,
    path = "/settings/api/clients",
    tag = "settings",
    security(("sessionCookie" = [])),
    request_body(content = ClientForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The page with the new client's secret.", body = String, content_type = HTML),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 401, description = "No session: the sign-in form.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "An invalid registration: the page with the error.",
            body = String, content_type = HTML),
    )
)]
pub async fn create_settings_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", "name", "redirect_uris", "confidential"];
    let (browser, form, user) = match signed_in_form(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let all = |name: &str| -> Vec<String> {
        form.iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    };
    let spec = ClientSpec {
        name: session::field(&form, "name").unwrap_or_default().to_owned(),
        grant_types: all("grant_type"),
        scopes: all("scope"),
        redirect_uris: session::field(&form, "redirect_uris")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        public: session::field(&form, "confidential").is_none(),
        trusted: false,
    };
    match state.services.clients().register(&user, &spec).await {
        Ok(created) => {
            let (client, secret) = (created.client, created.secret);
            let notice = match &secret {
                Some(secret) => Notice::Secret {
                    client: &client,
                    secret,
                    created: true,
                },
                None => Notice::None,
            };
            settings_page(&state, &browser, &user, StatusCode::CREATED, notice).await
        }
        Err(e) => failed(&state, &browser, &user, e.into()).await,
    }
}

/// Rotate a client's secret from the API Access page
///
/// As `POST /user/clients/{clientId}/secret` does; the answered page shows it, once.
#[utoipa::path(
    post,
    path = "/settings/api/clients/{client_id}/secret",
    tag = "settings",
    security(("sessionCookie" = [])),
    params(("client_id" = String, Path, description = "the client's `id`")),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The page with the new secret.", body = String, content_type = HTML),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 401, description = "No session: the sign-in form.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 404, description = "No such client of this account.", body = String, content_type = HTML),
        (status = 409, description = "A public client has no secret.", body = String, content_type = HTML),
    )
)]
pub async fn rotate_settings_client_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (browser, _, user) = match signed_in_form(&state, &headers, body, &["csrf_token"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match state
        .services
        .clients()
        .rotate_secret(&user, &client_id)
        .await
    {
        Ok((client, secret)) => {
            let notice = Notice::Secret {
                client: &client,
                secret: &secret,
                created: false,
            };
            settings_page(&state, &browser, &user, StatusCode::OK, notice).await
        }
        Err(e) => failed(&state, &browser, &user, e.into()).await,
    }
}
