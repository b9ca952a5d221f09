//! The console: an account's tokens, applications, authorized apps and account in a
//! browser, under `/console`. Every page is server-rendered HTML in the shared frame
//! ([`super::layout`]) and works without JavaScript; every action is a CSRF-checked form
//! POST that calls the same service as the JSON API, then answers `303 See Other` to a
//! page with a flash message ([`super::flash`]) — so a reload never repeats an action. A
//! form refused by validation is shown again (`422`) with what was typed and a message
//! next to each field; destructive actions first show a confirmation page (a GET), whose
//! form does the action.
//!
//! Every link and redirect is a path, never an absolute URL: the browser stays on the host
//! it used (`localhost` or `127.0.0.1`), where its cookies are.

pub mod account;
pub mod applications;
pub mod authorized;
pub mod marketplace;
pub mod projects;
pub mod tokens;

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::HTML;
use super::flash::{self, Flash};
use super::layout::{self, Frame, Nav, SignIn};
use super::session::{self, Browser, CsrfFailure, SignInRefused};
use crate::domain::PlainSecret;
use crate::service::sessions::{REAUTH_AFTER, ReauthError};
use crate::state::{AppState, ClientAddr};
use crate::store::User;

/// Routes of the console (browser pages, outside the API's token authentication).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_console))
        .routes(routes!(get_settings_api))
        .routes(routes!(sign_in_console))
        .routes(routes!(sign_out_console))
        .routes(routes!(get_console_script))
        .routes(routes!(get_favicon))
        .merge(account::router())
        .merge(authorized::router())
        .merge(marketplace::router())
        .merge(projects::router())
        .merge(tokens::router())
        .merge(applications::router())
}

/// A form that carries nothing but its CSRF token.
#[derive(ToSchema)]
pub struct CsrfForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
}

/// The form of a sensitive action that carries nothing else.
#[derive(ToSchema)]
pub struct SensitiveForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The password given again, when the session signed in over 10 minutes ago.
    pub reauth_password: Option<String>,
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
    /// The console page to go to once signed in (a path under `/console`).
    pub next: Option<String>,
}

/// The request's browser and its signed-in user; without one, the sign-in page (`200`)
/// that leads back to `here`.
pub(crate) async fn viewer(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<(Browser, User), Response> {
    let browser = Browser::of(state, headers);
    match browser.user(state).await {
        Ok(Some(user)) => Ok((browser, user)),
        Ok(None) => {
            let flash = Flash::of(headers);
            let page = sign_in_page(state, &browser.csrf(), here, "", None, flash.as_ref());
            let page = flash::clear(state, headers, layout::respond(StatusCode::OK, page));
            Err(browser.finish(page))
        }
        Err(e) => Err(server_error(state, e)),
    }
}

fn sign_in_page(
    state: &AppState,
    csrf: &str,
    next: &str,
    username: &str,
    error: Option<&str>,
    flash: Option<&Flash>,
) -> Markup {
    let base = state.base_path();
    layout::login(
        &base,
        &SignIn {
            action: &state.path("/console/login"),
            csrf,
            purpose: "the HarmonyCMS console",
            username,
            error,
            hidden: &[("next", next)],
            flash,
        },
    )
}

/// A console page in the frame, with the flash of the last action (then cleared).
pub(crate) struct Render<'a> {
    pub state: &'a AppState,
    pub headers: &'a HeaderMap,
    pub browser: &'a Browser,
    pub user: &'a User,
}

impl Render<'_> {
    /// The page `body` titled `title` in section `nav`, with `status`.
    pub fn page(&self, status: StatusCode, nav: Nav, title: &str, body: Markup) -> Response {
        let flash = Flash::of(self.headers);
        let csrf = self.browser.csrf();
        let base = self.state.base_path();
        let markup = layout::frame(
            Frame {
                title,
                base: &base,
                signed_in: Some((self.user, &csrf)),
                nav: Some(nav),
                flash: flash.as_ref(),
            },
            body,
        );
        let response = flash::clear(self.state, self.headers, layout::respond(status, markup));
        self.browser.finish(response)
    }
}

/// A confirmation page of a destructive action in section `nav`: its form posts to the
/// action, Cancel leads back to the section.
pub(crate) struct Confirm<'a> {
    pub state: &'a AppState,
    pub headers: &'a HeaderMap,
    pub browser: &'a Browser,
    pub user: &'a User,
    pub nav: Nav,
}

impl Confirm<'_> {
    /// The page titled `title`: `explanation`, then a form with `extra` fields posting to
    /// the console path `action` with the danger button `button`.
    pub fn page(
        &self,
        title: &str,
        explanation: Markup,
        extra: Markup,
        action: &str,
        button: &str,
    ) -> Response {
        let state = self.state;
        let body = html! {
            h1 { (title) }
            div.card {
                (explanation)
                form method="post" action=(state.path(action)) {
                    input type="hidden" name="csrf_token" value=(self.browser.csrf());
                    (extra)
                    div.actions {
                        button.danger type="submit" { (button) }
                        a.button href=(state.path(self.nav.path())) { "Cancel" }
                    }
                }
            }
        };
        Render {
            state,
            headers: self.headers,
            browser: self.browser,
            user: self.user,
        }
        .page(StatusCode::OK, self.nav, title, body)
    }
}

/// `303 See Other` to the console page `path`, carrying `flash`.
pub(crate) fn see(state: &AppState, path: &str, flash: Flash) -> Response {
    flash.set(
        state,
        session::redirect(StatusCode::SEE_OTHER, &state.path(path)),
    )
}

/// A failure of the server: logged with its chain, an opaque page.
pub(crate) fn server_error(state: &AppState, e: impl Into<anyhow::Error>) -> Response {
    tracing::error!(error = ?e.into(), "console page failed");
    message(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server failed; please try again later.",
    )
}

/// A page of its own with one message (an error outside any section).
pub(crate) fn message(state: &AppState, status: StatusCode, title: &str, text: &str) -> Response {
    let base = state.base_path();
    layout::respond(
        status,
        layout::layout(
            title,
            &base,
            html! {
                h1 { (title) }
                div.flash.error role="alert" { p style="margin:0" { (text) } }
                p { a href=(state.path("/console")) { "Back to the console" } }
            },
        ),
    )
}

/// The HTML 404 of a browser route: an unknown path under `/console`, or an unknown
/// thing of the account.
pub fn not_found(state: &AppState) -> Response {
    message(
        state,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no such page, or it is not yours to see.",
    )
}

/// A form POST's checks: a readable form (`single` names the fields that may appear
/// once), the CSRF token, then the signed-in user. Any failure is the response to send:
/// `400`, `403`, or — when the session ended — `303` to the sign-in with a message.
pub(crate) async fn checked_post(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    single: &[&str],
) -> Result<(Browser, Vec<(String, String)>, User), Response> {
    let form = session::read_form(body, single).map_err(|m| {
        message(
            state,
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            m,
        )
    })?;
    let (browser, user) =
        checked_browser(state, headers, session::field(&form, "csrf_token")).await?;
    Ok((browser, form, user))
}

/// The checks of a form POST read otherwise (multipart): the CSRF token `csrf` it
/// carried, then the signed-in user; a failure is the response to send (`403`, or `303`
/// to the sign-in when the session ended).
pub(crate) async fn checked_browser(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(Browser, User), Response> {
    let browser = Browser::verified(state, headers, csrf).map_err(|e| csrf_refused(state, e))?;
    match browser.user(state).await {
        Ok(Some(user)) => Ok((browser, user)),
        Ok(None) => Err(see(
            state,
            "/console",
            Flash::error("Your session ended; sign in again."),
        )),
        Err(e) => Err(server_error(state, e)),
    }
}

/// The field of a sensitive action's form that carries the password given again.
pub(crate) const REAUTH_FIELD: &str = "reauth_password";

/// A sensitive action about to happen: what the password page says and where it posts.
pub(crate) struct Sensitive<'a> {
    /// The action's path (the confirmation page's form posts there again).
    pub action: &'a str,
    /// What the action does, after "To …" ("rotate the secret of Shop").
    pub what: String,
    /// The submit button's words.
    pub button: &'a str,
    /// The console section it belongs to (and where Cancel leads).
    pub nav: Nav,
}

/// The password check of a sensitive action, after [`checked_post`]. A session that
/// signed in within the last few minutes goes on as it is; an older one must give the
/// password again: without [`REAUTH_FIELD`] in the form, the answer is a page that asks
/// for it (`200`), whose form posts the same fields (and CSRF token) to the same action
/// with the password, so that the action then goes on from where it was; a wrong password
/// shows that page again (`401`), too many `429`. On success the browser holds a fresh
/// session, whose start is the new sign-in time: the caller finishes its response with
/// the browser answered here.
pub(crate) async fn reauthenticated(
    state: &AppState,
    headers: &HeaderMap,
    addr: IpAddr,
    browser: Browser,
    user: &User,
    form: &[(String, String)],
    sensitive: Sensitive<'_>,
) -> Result<Browser, Response> {
    match browser.recently_signed_in(state).await {
        Ok(true) => return Ok(browser),
        Ok(false) => {}
        Err(e) => return Err(server_error(state, e)),
    }
    let Some(given) = session::field(form, REAUTH_FIELD) else {
        return Err(password_page(
            state,
            headers,
            &browser,
            user,
            form,
            &sensitive,
            StatusCode::OK,
            None,
        ));
    };
    let password = PlainSecret::new(given);
    match browser.reauthenticate(state, addr, user, &password).await {
        Ok(renewed) => Ok(renewed),
        Err(ReauthError::WrongPassword) => Err(password_page(
            state,
            headers,
            &browser,
            user,
            form,
            &sensitive,
            StatusCode::UNAUTHORIZED,
            Some("That is not your password."),
        )),
        Err(ReauthError::TooManyAttempts { retry_after }) => {
            let mut response = password_page(
                state,
                headers,
                &browser,
                user,
                form,
                &sensitive,
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many wrong passwords; try again later."),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            Err(response)
        }
        Err(ReauthError::Unexpected(e)) => Err(server_error(state, e)),
    }
}

/// The page asking for the password again before `sensitive`, carrying the action's
/// fields (all but the CSRF token, written fresh, and a password given before).
#[allow(clippy::too_many_arguments)]
fn password_page(
    state: &AppState,
    headers: &HeaderMap,
    browser: &Browser,
    user: &User,
    form: &[(String, String)],
    sensitive: &Sensitive<'_>,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let minutes = REAUTH_AFTER / 60;
    let title = "Confirm your password";
    let body = html! {
        h1 { (title) }
        div.card {
            p { "You signed in more than " (minutes) " minutes ago. To " (sensitive.what)
                ", enter your password again." }
            form method="post" action=(state.path(sensitive.action)) {
                input type="hidden" name="csrf_token" value=(browser.csrf());
                @for (name, value) in form.iter().filter(|(n, _)| n != "csrf_token" && n != REAUTH_FIELD) {
                    input type="hidden" name=(name) value=(value);
                }
                label for=(REAUTH_FIELD) { "Password of " (user.username.as_str()) }
                input type="password" id=(REAUTH_FIELD) name=(REAUTH_FIELD)
                    autocomplete="current-password" required autofocus
                    aria-invalid=[error.is_some().then_some("true")]
                    aria-describedby=[error.is_some().then_some("reauth_password-error")];
                @if let Some(e) = error {
                    p.field-error #reauth_password-error { (e) }
                }
                div.actions {
                    button.danger type="submit" { (sensitive.button) }
                    a.button href=(state.path(sensitive.nav.path())) { "Cancel" }
                }
            }
        }
    };
    Render {
        state,
        headers,
        browser,
        user,
    }
    .page(status, sensitive.nav, title, body)
}

fn csrf_refused(state: &AppState, e: CsrfFailure) -> Response {
    message(
        state,
        StatusCode::FORBIDDEN,
        "The form was refused",
        &e.message(&state.public_url),
    )
}

/// The console
///
/// Sends the browser to its first section.
#[utoipa::path(
    get,
    path = "/console",
    tag = "console",
    responses(
        (status = 303, description = "To `/console/tokens`.", headers(("Location" = String))),
    )
)]
pub async fn get_console(State(state): State<AppState>) -> Response {
    session::redirect(StatusCode::SEE_OTHER, &state.path(Nav::Tokens.path()))
}

/// The former API Access page
///
/// Its tokens and clients moved to the console's Tokens and Applications pages.
#[utoipa::path(
    get,
    path = "/settings/api",
    tag = "console",
    responses(
        (status = 303, description = "To `/console/tokens`.", headers(("Location" = String))),
    )
)]
pub async fn get_settings_api(State(state): State<AppState>) -> Response {
    session::redirect(StatusCode::SEE_OTHER, &state.path(Nav::Tokens.path()))
}

/// Where to go after signing in: a console path, else the first section.
fn next_page(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with("/console")
                && !n.contains("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n
        }
        _ => Nav::Tokens.path(),
    }
}

/// Sign in to the console
#[utoipa::path(
    post,
    path = "/console/login",
    tag = "console",
    security(("sessionCookie" = []), ()),
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: to the page asked for, with the session cookie.",
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
pub async fn sign_in_console(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", "username", "password", "next", "action"];
    let form = match session::read_form(body, &single) {
        Ok(f) => f,
        Err(m) => {
            return message(
                &state,
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                m,
            );
        }
    };
    let browser = match Browser::verified(&state, &headers, session::field(&form, "csrf_token")) {
        Ok(b) => b,
        Err(e) => return csrf_refused(&state, e),
    };
    let next = next_page(session::field(&form, "next")).to_owned();
    let username = session::field(&form, "username").unwrap_or_default();
    let password = PlainSecret::new(session::field(&form, "password").unwrap_or_default());
    let csrf = browser.csrf();
    match session::sign_in(&state, addr, browser, username, &password).await {
        Ok((session, _, _)) => {
            session.finish(session::redirect(StatusCode::SEE_OTHER, &state.path(&next)))
        }
        Err(SignInRefused::Refused {
            status,
            message,
            retry_after,
        }) => {
            let page = sign_in_page(&state, &csrf, &next, username, Some(message), None);
            let mut response = layout::respond(status, page);
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

/// Sign out of the console
#[utoipa::path(
    post,
    path = "/console/logout",
    tag = "console",
    security(("sessionCookie" = []), ()),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "The session ended: to the sign-in page.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn sign_out_console(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let form = match session::read_form(body, &["csrf_token"]) {
        Ok(f) => f,
        Err(m) => {
            return message(
                &state,
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                m,
            );
        }
    };
    let browser = match Browser::verified(&state, &headers, session::field(&form, "csrf_token")) {
        Ok(b) => b,
        Err(e) => return csrf_refused(&state, e),
    };
    match browser.sign_out(&state).await {
        Ok(fresh) => fresh.finish(see(&state, "/console", Flash::ok("You are signed out."))),
        Err(e) => server_error(&state, e),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The console's script
///
/// Conveniences only (local times, copy buttons); every page works without it.
#[utoipa::path(
    get,
    path = "/console/console.js",
    tag = "console",
    responses(
        (status = 200, description = "The script.", body = String, content_type = "text/javascript"),
    )
)]
pub async fn get_console_script(RawQuery(_): RawQuery) -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/console.js"),
    )
}

/// The site's icon
#[utoipa::path(
    get,
    path = "/favicon.svg",
    tag = "console",
    responses(
        (status = 200, description = "The icon.", body = String, content_type = "image/svg+xml"),
    )
)]
pub async fn get_favicon(RawQuery(_): RawQuery) -> Response {
    asset("image/svg+xml", include_str!("../assets/favicon.svg"))
}

/// A labelled text input with its error (and what was typed).
pub(crate) fn text_field(
    id: &str,
    label: &str,
    value: &str,
    error: Option<&str>,
    hint: Option<&str>,
) -> Markup {
    let described = match (error.is_some(), hint.is_some()) {
        (true, _) => Some(format!("{id}-error")),
        (false, true) => Some(format!("{id}-hint")),
        _ => None,
    };
    html! {
        label for=(id) { (label) }
        @if let Some(h) = hint { p.hint id=(format!("{id}-hint")) { (h) } }
        input type="text" id=(id) name=(id) value=(value)
            aria-invalid=[error.is_some().then_some("true")]
            aria-describedby=[described];
        @if let Some(e) = error { p.field-error id=(format!("{id}-error")) { (e) } }
    }
}

/// A `<time>` in UTC that the script shows in the reader's local time (the UTC stays in
/// the title).
pub(crate) fn time(secs: i64) -> Markup {
    let iso = crate::domain::time::rfc3339(secs);
    let shown = iso.replace('T', " ").replace('Z', " UTC");
    html! { time datetime=(iso) title=(shown) { (shown) } }
}

#[cfg(test)]
mod tests {
    use super::next_page;

    #[test]
    fn only_console_paths_are_followed_after_sign_in() {
        assert_eq!(
            next_page(Some("/console/applications")),
            "/console/applications"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/console//x",
            "/other",
            "/console\\x",
        ] {
            assert_eq!(next_page(Some(bad)), "/console/tokens", "{bad}");
        }
        assert_eq!(next_page(None), "/console/tokens");
    }
}
