//! `GET|POST /oauth/v2/auth`: the authorization endpoint (RFC 6749 §4.1, PKCE S256 only)
//! in a browser. GET validates the request and shows the sign-in page, the consent page,
//! or — when the user is signed in and already consented to this scope — redirects with a
//! code at once. The forms post back to the same URL (the request travels in its query)
//! with a CSRF token bound to the browser cookie.
//!
//! The rules of a request are the domain's ([`crate::domain::authorize`]); looking up its
//! client, signing in, consent and codes are the sessions service's
//! ([`crate::service::sessions`]). The browser session, its cookie and the CSRF token live
//! in [`super::session`], shared with the console. The forms post to a path (not the
//! public URL), so that the browser stays on the host it used and keeps its cookie.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use utoipa::{IntoParams, ToSchema};

use super::HTML;
use super::layout;
use super::session::{self, Browser, SignInRefused};
use crate::domain::authorize::{AuthorizationRequest, AuthorizeError, error_url};
use crate::domain::{PlainSecret, ScopeSet};
use crate::service::sessions;
use crate::state::{AppState, ClientAddr};
use crate::store::{Timestamp, User};

fn server_error(state: &AppState, e: impl Into<anyhow::Error>) -> Response {
    tracing::error!(error = ?e.into(), "authorization request failed");
    error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "The server failed; please try again later.",
    )
}

fn error_page(state: &AppState, status: StatusCode, message: &str) -> Response {
    layout::respond(status, layout::error(&state.base_path(), message))
}

/// The sign-in page of a request.
fn login_page(
    state: &AppState,
    query: &str,
    csrf: &str,
    request: &AuthorizationRequest,
    username: &str,
    error: Option<&str>,
) -> maud::Markup {
    layout::login(
        &state.base_path(),
        &layout::SignIn {
            action: &action_url(state, query),
            csrf,
            purpose: request.client.name.as_str(),
            username,
            error,
            hidden: &[],
            flash: None,
        },
    )
}

/// The username to prefill: the request's `login_hint`, if any.
fn hint(request: &AuthorizationRequest) -> &str {
    request.login_hint.as_deref().unwrap_or_default()
}

/// The answer to a refused request: a page, or the error sent to the client.
fn fail(state: &AppState, e: AuthorizeError, status: StatusCode) -> Response {
    match e {
        AuthorizeError::Page(message) => error_page(state, StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect(r) => session::redirect(status, &error_url(&r, &state.public_url)),
    }
}

/// The request of `query`, or the answer that refuses it (`status` for a redirect).
async fn request_of(
    state: &AppState,
    query: &str,
    status: StatusCode,
) -> Result<AuthorizationRequest, Response> {
    match state.services.sessions().authorization_request(query).await {
        Ok(r) => Ok(r),
        Err(sessions::AuthorizeError::Refused(e)) => Err(fail(state, e, status)),
        Err(sessions::AuthorizeError::Store(e)) => Err(server_error(state, e)),
    }
}

fn action_url(state: &AppState, query: &str) -> String {
    format!("{}?{query}", state.path("/oauth/v2/auth"))
}

/// Shows the consent page or, when consent covers the scope, redirects with a code.
async fn consent_or_code(
    state: &AppState,
    browser: &Browser,
    request: &AuthorizationRequest,
    (user, signed_in_at): (&User, Timestamp),
    query: &str,
    status: StatusCode,
) -> Response {
    let scope = match request.scope_for(user.is_admin) {
        Ok(s) => s,
        Err(e) => return fail(state, e, status),
    };
    let covered = state
        .services
        .sessions()
        .consent_covers(user, &request.client.id, scope)
        .await;
    // `prompt=consent` asks again even when consent covers the scope.
    let covered = covered.map(|c| c && !request.prompt.consent);
    match covered {
        Ok(true) => code_redirect(state, request, (user, signed_in_at), scope, status).await,
        Ok(false) if request.prompt.none => fail(
            state,
            request.error(
                "consent_required",
                "the user has not consented to this scope (prompt=none)",
            ),
            status,
        ),
        Ok(false) => layout::respond(
            StatusCode::OK,
            layout::consent(
                &state.base_path(),
                &layout::Consent {
                    action: &action_url(state, query),
                    csrf: &browser.csrf(),
                    client_name: &request.client.name,
                    owner: &request.client.owner,
                    username: &user.username,
                    redirect_uri: &request.redirect_uri,
                    scope,
                },
            ),
        ),
        Err(e) => server_error(state, e),
    }
}

async fn code_redirect(
    state: &AppState,
    request: &AuthorizationRequest,
    (user, signed_in_at): (&User, Timestamp),
    scope: ScopeSet,
    status: StatusCode,
) -> Response {
    let issued = state
        .services
        .sessions()
        .issue_code(request, user, signed_in_at, scope, &state.public_url)
        .await;
    match issued {
        Ok(location) => session::redirect(status, &location),
        Err(sessions::AuthorizeError::Refused(e)) => fail(state, e, status),
        Err(sessions::AuthorizeError::Store(e)) => server_error(state, e),
    }
}

/// The authorization request (RFC 6749 §4.1.1, RFC 7636), in the query of both methods.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizationQuery {
    /// `code`.
    pub response_type: String,
    /// The client.
    pub client_id: String,
    /// One of the client's registered redirect URIs, exactly.
    pub redirect_uri: String,
    /// Space-separated scopes (none: everything the client may ask for this user).
    pub scope: Option<String>,
    /// Echoed to the redirect.
    pub state: Option<String>,
    /// PKCE: 43 base64url characters.
    pub code_challenge: String,
    /// `S256`.
    pub code_challenge_method: String,
    /// OpenID Connect: echoed in the ID token (at most 512 bytes).
    pub nonce: Option<String>,
    /// OpenID Connect: `none`, or any of `login` (`select_account`) and `consent`,
    /// space-separated.
    pub prompt: Option<String>,
    /// OpenID Connect: seconds since the person last gave their password, at most
    /// (`0`: as `prompt=login`).
    pub max_age: Option<String>,
    /// OpenID Connect: the username to prefill on the sign-in form.
    pub login_hint: Option<String>,
}

/// The sign-in and consent forms (`application/x-www-form-urlencoded`).
#[derive(ToSchema)]
pub struct AuthorizationForm {
    /// The page's CSRF token, bound to the browser cookie.
    pub csrf_token: String,
    /// `login`, `switch` (sign in as someone else), `approve` or `deny`.
    pub action: String,
    /// For `login`.
    pub username: Option<String>,
    /// For `login`.
    pub password: Option<String>,
}

/// Authorization endpoint (RFC 6749 §4.1, PKCE S256)
///
/// Shows the sign-in or consent page, or redirects with a code when the signed-in user
/// already consented to this scope.
#[utoipa::path(
    get,
    path = "/oauth/v2/auth",
    tag = "oauth",
    security(("sessionCookie" = []), ()),
    params(AuthorizationQuery),
    responses(
        (status = 200, description = "The sign-in or consent page.", body = String, content_type = HTML),
        (status = 302, description = "To the client's redirect URI with a `code`, or an `error` \
            (`invalid_request`, `unsupported_response_type`, `unauthorized_client`, `invalid_scope`, \
            and with `prompt=none` `login_required` or `consent_required`).",
            headers(("Location" = String))),
        (status = 400, description = "An error page: an unknown client, a missing, repeated or \
            unregistered redirect URI, or a query that is not UTF-8.", body = String, content_type = HTML),
    )
)]
pub async fn get_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let request = match request_of(&state, &query, StatusCode::FOUND).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let browser = Browser::of(&state, &headers);
    let signed_in = browser.signed_in(&state).await;
    // `prompt=login` and `max_age` make an existing sign-in not count.
    let signed_in = signed_in
        .map(|s| s.filter(|(_, at)| !request.needs_fresh_sign_in(*at, crate::store::now())));
    let response = match signed_in {
        Ok(None) if request.prompt.none => fail(
            &state,
            request.error(
                "login_required",
                "the user is not signed in, or must sign in again (prompt=none)",
            ),
            StatusCode::FOUND,
        ),
        Ok(Some((user, at))) => {
            consent_or_code(
                &state,
                &browser,
                &request,
                (&user, at),
                &query,
                StatusCode::FOUND,
            )
            .await
        }
        Ok(None) => layout::respond(
            StatusCode::OK,
            login_page(
                &state,
                &query,
                &browser.csrf(),
                &request,
                hint(&request),
                None,
            ),
        ),
        Err(e) => server_error(&state, e),
    };
    browser.finish(response)
}

/// The sign-in and consent forms of the authorization endpoint
#[utoipa::path(
    post,
    path = "/oauth/v2/auth",
    tag = "oauth",
    security(("sessionCookie" = []), ()),
    params(AuthorizationQuery),
    request_body(content = AuthorizationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The next page (consent, or sign-in again).", body = String, content_type = HTML),
        (status = 303, description = "To the client's redirect URI with a `code` or an `error`.",
            headers(("Location" = String))),
        (status = 400, description = "An error page.", body = String, content_type = HTML),
        (status = 401, description = "Wrong username or password: the sign-in form again.",
            body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed, or the account is disabled.",
            body = String, content_type = HTML),
        (status = 429, description = "Too many failed attempts: the sign-in form (`Retry-After`).",
            body = String, content_type = HTML, headers(("Retry-After" = String))),
    )
)]
pub async fn submit_authorization(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let query = query.unwrap_or_default();
    let request = match request_of(&state, &query, StatusCode::SEE_OTHER).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let bad_form = |m: &str| error_page(&state, StatusCode::BAD_REQUEST, m);
    let form = match session::read_form(body, &["csrf_token", "action", "username", "password"]) {
        Ok(f) => f,
        Err(m) => return bad_form(m),
    };
    let username = session::field(&form, "username");
    let password = session::field(&form, "password");
    let action = session::field(&form, "action");

    // CSRF: the token must be the one derived from this browser's cookie.
    let browser = match Browser::verified(&state, &headers, session::field(&form, "csrf_token")) {
        Ok(b) => b,
        Err(e) => {
            return error_page(&state, StatusCode::FORBIDDEN, &e.message(&state.public_url));
        }
    };

    match action {
        Some("login") => {
            let username = username.unwrap_or_default();
            let password = PlainSecret::new(password.unwrap_or_default());
            sign_in(&state, addr, browser, &request, username, &password, &query).await
        }
        Some("switch") => {
            // Sign out here, then sign in again (with a fresh anonymous cookie).
            let fresh = match browser.sign_out(&state).await {
                Ok(b) => b,
                Err(e) => return server_error(&state, e),
            };
            let page = layout::respond(
                StatusCode::OK,
                login_page(
                    &state,
                    &query,
                    &fresh.csrf(),
                    &request,
                    hint(&request),
                    None,
                ),
            );
            fresh.finish(page)
        }
        Some(choice @ ("approve" | "deny")) => {
            let (user, signed_in_at) = match browser.signed_in(&state).await {
                Ok(Some(signed_in)) => signed_in,
                Ok(None) => {
                    return layout::respond(
                        StatusCode::UNAUTHORIZED,
                        login_page(
                            &state,
                            &query,
                            &browser.csrf(),
                            &request,
                            "",
                            Some("Your session ended; sign in again."),
                        ),
                    );
                }
                Err(e) => return server_error(&state, e),
            };
            if choice == "deny" {
                let e = request.error("access_denied", "the user denied the request");
                return fail(&state, e, StatusCode::SEE_OTHER);
            }
            let scope = match request.scope_for(user.is_admin) {
                Ok(s) => s,
                Err(e) => return fail(&state, e, StatusCode::SEE_OTHER),
            };
            let remembered = state
                .services
                .sessions()
                .remember_consent(&user, &request.client.id, scope)
                .await;
            if let Err(e) = remembered {
                return server_error(&state, e);
            }
            code_redirect(
                &state,
                &request,
                (&user, signed_in_at),
                scope,
                StatusCode::SEE_OTHER,
            )
            .await
        }
        _ => bad_form("the form has no valid action"),
    }
}

/// Signs in through the shared session code, then continues to consent or a code.
async fn sign_in(
    state: &AppState,
    addr: std::net::IpAddr,
    browser: Browser,
    request: &AuthorizationRequest,
    username: &str,
    password: &PlainSecret,
    query: &str,
) -> Response {
    let csrf = browser.csrf();
    let (session, user, signed_in_at) =
        match session::sign_in(state, addr, browser, username, password).await {
            Ok(signed_in) => signed_in,
            Err(SignInRefused::Refused {
                status,
                message,
                retry_after,
            }) => {
                let mut response = layout::respond(
                    status,
                    login_page(state, query, &csrf, request, username, Some(message)),
                );
                if let Some(secs) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                return response;
            }
            Err(SignInRefused::Failed(e)) => return server_error(state, e),
        };
    let response = consent_or_code(
        state,
        &session,
        request,
        (&user, signed_in_at),
        query,
        StatusCode::SEE_OTHER,
    )
    .await;
    session.finish(response)
}
