//! `GET|POST /oauth/v2/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout
//! 1.0), the `end_session_endpoint`. An application sends the browser here (its
//! parameters in the query, or in a form POST) to end the person's session; afterwards
//! the browser goes to the application's registered `post_logout_redirect_uri`, with
//! `state`. With a valid `id_token_hint` for the signed-in person the session ends at
//! once; otherwise the person is asked to confirm (a form with the CSRF token, posted to
//! this URL with the request in its query). The rules are the sessions service's
//! ([`crate::service::sessions::Sessions::logout_request`]).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use utoipa::{IntoParams, ToSchema};

use super::HTML;
use super::layout;
use super::session::{self, Browser};
use crate::domain::form;
use crate::service::sessions::{LogoutError, LogoutParams, LogoutRequest};
use crate::state::AppState;

/// The parameters this endpoint reads (each at most once).
const PARAMS: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

/// The other fields a POST may carry: the confirmation's, and `logout_hint` and
/// `ui_locales` (RP-Initiated Logout §2), which are accepted and ignored.
const FORM_FIELDS: [&str; 4] = ["csrf_token", "action", "logout_hint", "ui_locales"];

/// The logout request (OpenID Connect RP-Initiated Logout §2), in the query of a GET or
/// the body of a POST.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutQuery {
    /// An ID token this server issued to the client (expired is fine).
    pub id_token_hint: Option<String>,
    /// The client (else the hint's audience).
    pub client_id: Option<String>,
    /// One of the client's registered post-logout redirect URIs, exactly.
    pub post_logout_redirect_uri: Option<String>,
    /// Echoed to the post-logout redirect URI.
    pub state: Option<String>,
}

/// The confirmation form, or a relying party's logout request as a form.
#[derive(ToSchema)]
pub struct LogoutForm {
    /// The confirmation page's CSRF token (absent in a relying party's request).
    pub csrf_token: Option<String>,
    /// `logout` (the confirmation).
    pub action: Option<String>,
    /// As in the query.
    pub id_token_hint: Option<String>,
    /// As in the query.
    pub client_id: Option<String>,
    /// As in the query.
    pub post_logout_redirect_uri: Option<String>,
    /// As in the query.
    pub state: Option<String>,
}

fn page(state: &AppState, status: StatusCode, title: &str, body: maud::Markup) -> Response {
    layout::respond(status, layout::layout(title, &state.base_path(), body))
}

fn refused(state: &AppState, message: &str) -> Response {
    page(
        state,
        StatusCode::BAD_REQUEST,
        "Sign-out failed",
        html! {
            h1 { "This sign-out request cannot continue" }
            div.flash.error role="alert" { p style="margin:0" { (message) } }
            p.muted { "Go back to the application and try again, or tell its developer." }
        },
    )
}

fn server_error(state: &AppState, e: impl Into<anyhow::Error>) -> Response {
    tracing::error!(error = ?e.into(), "logout request failed");
    page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sign-out failed",
        html! { h1 { "The server failed; please try again later." } },
    )
}

/// The parameters among `pairs`, each at most once.
fn params_of(pairs: &[(String, String)]) -> Result<Vec<(String, String)>, &'static str> {
    let mut found: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        if !PARAMS.contains(&k.as_str()) || v.is_empty() {
            continue;
        }
        if found.iter().any(|(n, _)| n == k) {
            return Err("a parameter of the sign-out request is repeated");
        }
        found.push((k.clone(), v.clone()));
    }
    Ok(found)
}

fn logout_params(params: &[(String, String)]) -> LogoutParams<'_> {
    let get = |name: &str| session::field(params, name);
    LogoutParams {
        id_token_hint: get("id_token_hint"),
        client_id: get("client_id"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
    }
}

/// Checks the request, or the page that refuses it.
async fn checked(state: &AppState, params: &[(String, String)]) -> Result<LogoutRequest, Response> {
    match state
        .services
        .sessions()
        .logout_request(logout_params(params), &state.public_url)
        .await
    {
        Ok(r) => Ok(r),
        Err(LogoutError::Invalid(m)) => Err(refused(state, &m)),
        Err(e) => Err(server_error(state, e)),
    }
}

/// Ends the browser's session, then sends it on (or says it is done).
async fn sign_out(
    state: &AppState,
    browser: Browser,
    request: &LogoutRequest,
    status: StatusCode,
) -> Response {
    let fresh = match browser.sign_out(state).await {
        Ok(b) => b,
        Err(e) => return server_error(state, e),
    };
    let response = match &request.redirect {
        Some(location) => session::redirect(status, location),
        None => page(
            state,
            StatusCode::OK,
            "Signed out",
            html! {
                h1 { "You are signed out" }
                p { "You can close this page." }
            },
        ),
    };
    fresh.finish(response)
}

/// The request: sign out at once when a valid hint names the signed-in person (or nobody
/// is signed in), else ask.
async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    params: &[(String, String)],
    status: StatusCode,
) -> Response {
    let request = match checked(state, params).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let browser = Browser::of(state, headers);
    let user = match browser.user(state).await {
        Ok(u) => u,
        Err(e) => return server_error(state, e),
    };
    let confirmed = match &user {
        None => true,
        Some(u) => request.hinted_user == Some(u.id),
    };
    if confirmed {
        return sign_out(state, browser, &request, status).await;
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let action = format!("{}?{query}", state.path("/oauth/v2/logout"));
    let csrf = browser.csrf();
    let who = user.map(|u| u.username.to_string()).unwrap_or_default();
    let response = page(
        state,
        StatusCode::OK,
        "Sign out",
        html! {
            h1 { "Sign out of HarmonyCMS?" }
            p {
                @if let Some(name) = &request.client_name {
                    strong { (name) } " asks to end your session"
                } @else {
                    "An application asks to end your session"
                }
                " as " strong { (who) } "."
            }
            form method="post" action=(action) {
                input type="hidden" name="csrf_token" value=(csrf);
                div.choice {
                    button.primary type="submit" name="action" value="logout" { "Sign out" }
                }
            }
        },
    );
    browser.finish(response)
}

/// End the session (OpenID Connect RP-initiated logout)
///
/// With a valid `id_token_hint` for the signed-in person, or nobody signed in: ends the
/// session and redirects to the `post_logout_redirect_uri` (with `state`), or shows that
/// it is done. Otherwise a page asks the person to confirm.
#[utoipa::path(
    get,
    path = "/oauth/v2/logout",
    tag = "oauth",
    security(("sessionCookie" = []), ()),
    params(LogoutQuery),
    responses(
        (status = 200, description = "The confirmation page, or the page saying the session ended.",
            body = String, content_type = HTML),
        (status = 302, description = "Signed out: to the registered `post_logout_redirect_uri`.",
            headers(("Location" = String))),
        (status = 400, description = "An error page: an unknown client, an unregistered \
            `post_logout_redirect_uri`, a `client_id` that is not the hint's audience, a \
            repeated parameter, or a query that is not UTF-8.", body = String, content_type = HTML),
    )
)]
pub async fn get_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let pairs = match form::pairs(query.as_bytes()) {
        Ok(p) => p
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect::<Vec<_>>(),
        Err(_) => return refused(&state, "the query is not valid UTF-8 once percent-decoded"),
    };
    match params_of(&pairs) {
        Ok(params) => handle(&state, &headers, &params, StatusCode::FOUND).await,
        Err(m) => refused(&state, m),
    }
}

/// The confirmation, or a relying party's logout request as a form
#[utoipa::path(
    post,
    path = "/oauth/v2/logout",
    tag = "oauth",
    security(("sessionCookie" = []), ()),
    params(LogoutQuery),
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The confirmation page, or the page saying the session ended.",
            body = String, content_type = HTML),
        (status = 303, description = "Signed out: to the registered `post_logout_redirect_uri`.",
            headers(("Location" = String))),
        (status = 400, description = "An error page (as for GET, or an empty form, or one with \
            an unknown field).",
            body = String, content_type = HTML),
        (status = 403, description = "The confirmation's CSRF check failed.",
            body = String, content_type = HTML),
    )
)]
pub async fn submit_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match session::read_form(body, &["csrf_token", "action"]) {
        Ok(f) => f,
        Err(m) => return refused(&state, m),
    };
    // A POST carries its request in the form (an empty one says nothing: GET serves a
    // request without parameters).
    if body.is_empty() {
        return refused(&state, "the form is empty");
    }
    // A form of this endpoint's fields only (and the two of RP-Initiated Logout §2 it
    // ignores): anything else is not a logout request.
    if let Some((name, _)) = body
        .iter()
        .find(|(k, _)| !FORM_FIELDS.contains(&k.as_str()) && !PARAMS.contains(&k.as_str()))
    {
        return refused(&state, &format!("the form has an unknown field {name:?}"));
    }
    let Some(csrf) = session::field(&body, "csrf_token") else {
        // A relying party's request as a form: the same as a GET.
        return match params_of(&body) {
            Ok(params) => handle(&state, &headers, &params, StatusCode::SEE_OTHER).await,
            Err(m) => refused(&state, m),
        };
    };
    // The confirmation: the request travels in the query.
    let query = query.unwrap_or_default();
    let pairs = match form::pairs(query.as_bytes()) {
        Ok(p) => p
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect::<Vec<_>>(),
        Err(_) => return refused(&state, "the query is not valid UTF-8 once percent-decoded"),
    };
    let params = match params_of(&pairs) {
        Ok(p) => p,
        Err(m) => return refused(&state, m),
    };
    let browser = match Browser::verified(&state, &headers, Some(csrf)) {
        Ok(b) => b,
        Err(e) => {
            return page(
                &state,
                StatusCode::FORBIDDEN,
                "Sign-out failed",
                html! {
                    h1 { "This sign-out request cannot continue" }
                    div.flash.error role="alert" { p style="margin:0" { (e.message(&state.public_url)) } }
                },
            );
        }
    };
    if session::field(&body, "action") != Some("logout") {
        return refused(&state, "the form has no valid action");
    }
    let request = match checked(&state, &params).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    sign_out(&state, browser, &request, StatusCode::SEE_OTHER).await
}
