//! `GET|POST /oauth/v2/auth`: the authorization endpoint (RFC 6749 §4.1, PKCE S256 only)
//! in a browser. GET validates the request and shows the sign-in page, the consent page,
//! or — when the user is signed in and already consented to this scope — redirects with a
//! code at once. The forms post back to the same URL (the request travels in its query)
//! with a CSRF token bound to the browser cookie.
//!
//! The cookie `harmony_session` (`HttpOnly`, `SameSite=Lax`, path limited to this
//! endpoint; under an https public URL `__Host-harmony_session`, `Secure`, `Path=/`) holds
//! a random value. Before sign-in it is
//! stored nowhere and only binds the CSRF token; sign-in replaces it by a fresh session id
//! whose SHA-256 digest is stored (so every node shares sessions). The CSRF token is
//! `base64url(SHA-256("harmony-csrf:" ‖ cookie))`, compared in constant time.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::client_auth::{check_failures, record_failure};
use super::pages;
use crate::domain::authorize::{
    self, AuthorizationRequest, AuthorizeError, SignIn, consent_covers, error_url, issue_code,
    remember_consent,
};
use crate::domain::secret::random_id;
use crate::domain::{PlainSecret, ScopeSet};
use crate::http::AppState;
use crate::http::extract::ClientAddr;
use crate::store::{StoreError, User, now};

/// The cookie's name under an http public URL (development, loopback).
pub const COOKIE: &str = "harmony_session";

/// The cookie's name under an https public URL: the `__Host-` prefix makes browsers
/// refuse it unless it is `Secure`, `Path=/` and without `Domain`, so a sibling subdomain
/// cannot plant one (which would let it know the CSRF token).
pub const SECURE_COOKIE: &str = "__Host-harmony_session";

fn cookie_name(state: &AppState) -> &'static str {
    if state.public_url.starts_with("https://") {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// Lifetime of a signed-in browser session, in seconds.
pub const SESSION_TTL: i64 = 8 * 3600;

/// Longest form body worth reading.
const MAX_FORM: usize = 16 * 1024;

/// The browser's cookie value, and whether it must be (re)set on the response.
struct Browser {
    value: String,
    set_cookie: Option<HeaderValue>,
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| {
            (32..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn csrf_token(cookie: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"harmony-csrf:");
    hasher.update(cookie.as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

fn set_cookie(state: &AppState, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
    let mut cookie = if state.public_url.starts_with("https://") {
        format!("{SECURE_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Secure")
    } else {
        let prefix = url::Url::parse(&state.public_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{COOKIE}={value}; Path={prefix}/oauth/v2/auth; HttpOnly; SameSite=Lax")
    };
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&cookie).ok()
}

impl Browser {
    fn of(state: &AppState, headers: &HeaderMap) -> Browser {
        match cookie_value(headers, cookie_name(state)) {
            Some(value) => Browser {
                value,
                set_cookie: None,
            },
            None => {
                let value = random_id(32);
                let set_cookie = set_cookie(state, &value, None);
                Browser { value, set_cookie }
            }
        }
    }

    fn csrf(&self) -> String {
        csrf_token(&self.value)
    }

    fn digest(&self) -> crate::domain::TokenDigest {
        PlainSecret::new(self.value.as_str()).digest()
    }

    /// The signed-in, enabled user of this browser, if any.
    async fn user(&self, state: &AppState) -> Result<Option<User>, StoreError> {
        Ok(state
            .store
            .session_user(&self.digest(), now())
            .await?
            .filter(|u| !u.disabled))
    }

    fn finish(&self, mut response: Response) -> Response {
        if let Some(cookie) = &self.set_cookie {
            response
                .headers_mut()
                .append(header::SET_COOKIE, cookie.clone());
        }
        response
    }
}

fn server_error(e: impl Into<anyhow::Error>) -> Response {
    tracing::error!(error = ?e.into(), "authorization request failed");
    pages::respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        pages::error("The server failed; please try again later."),
    )
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn fail(state: &AppState, e: AuthorizeError, status: StatusCode) -> Response {
    match e {
        AuthorizeError::Page(message) => {
            pages::respond(StatusCode::BAD_REQUEST, pages::error(&message))
        }
        AuthorizeError::Redirect(r) => redirect(status, &error_url(&r, &state.public_url)),
        AuthorizeError::Store(e) => server_error(e),
    }
}

fn action_url(state: &AppState, query: &str) -> String {
    format!("{}?{query}", state.url("/oauth/v2/auth"))
}

/// Shows the consent page or, when consent covers the scope, redirects with a code.
async fn consent_or_code(
    state: &AppState,
    browser: &Browser,
    request: &AuthorizationRequest,
    user: &User,
    query: &str,
    status: StatusCode,
) -> Response {
    let scope = match request.scope_for(user) {
        Ok(s) => s,
        Err(e) => return fail(state, e, status),
    };
    match consent_covers(state.store.as_ref(), user, &request.client.id, scope).await {
        Ok(true) => code_redirect(state, request, user, scope, status).await,
        Ok(false) => pages::respond(
            StatusCode::OK,
            pages::consent(
                &action_url(state, query),
                &browser.csrf(),
                &request.client.name,
                &user.username,
                &request.redirect_uri,
                scope,
            ),
        ),
        Err(e) => server_error(e),
    }
}

async fn code_redirect(
    state: &AppState,
    request: &AuthorizationRequest,
    user: &User,
    scope: ScopeSet,
    status: StatusCode,
) -> Response {
    match issue_code(
        state.store.as_ref(),
        &state.public_url,
        request,
        user,
        scope,
    )
    .await
    {
        Ok(location) => redirect(status, &location),
        Err(e) => server_error(e),
    }
}

/// `GET /oauth/v2/auth`.
pub async fn get_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let request = match authorize::parse_request(state.store.as_ref(), &query).await {
        Ok(r) => r,
        Err(e) => return fail(&state, e, StatusCode::FOUND),
    };
    let browser = Browser::of(&state, &headers);
    let response = match browser.user(&state).await {
        Ok(Some(user)) => {
            consent_or_code(&state, &browser, &request, &user, &query, StatusCode::FOUND).await
        }
        Ok(None) => pages::respond(
            StatusCode::OK,
            pages::login(
                &action_url(&state, &query),
                &browser.csrf(),
                &request.client.name,
                None,
            ),
        ),
        Err(e) => server_error(e),
    };
    browser.finish(response)
}

/// `POST /oauth/v2/auth`: the sign-in and consent forms.
pub async fn submit_authorization(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let query = query.unwrap_or_default();
    let request = match authorize::parse_request(state.store.as_ref(), &query).await {
        Ok(r) => r,
        Err(e) => return fail(&state, e, StatusCode::SEE_OTHER),
    };
    let bad_form = |m: &str| pages::respond(StatusCode::BAD_REQUEST, pages::error(m));
    let Ok(body) = body else {
        return bad_form("the form could not be read");
    };
    if body.len() > MAX_FORM {
        return bad_form("the form is too large");
    }
    let mut csrf = None;
    let mut action = None;
    let mut username = None;
    let mut password = None;
    for (k, v) in form_urlencoded::parse(&body) {
        let slot = match k.as_ref() {
            "csrf_token" => &mut csrf,
            "action" => &mut action,
            "username" => &mut username,
            "password" => &mut password,
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return bad_form("a form field is repeated");
        }
    }

    // CSRF: the token must be the one derived from this browser's cookie.
    let Some(cookie) = cookie_value(&headers, cookie_name(&state)) else {
        return pages::respond(
            StatusCode::FORBIDDEN,
            pages::error("Your browser sent no session cookie; enable cookies and start again."),
        );
    };
    let expected = csrf_token(&cookie);
    let given = csrf.unwrap_or_default();
    if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        return pages::respond(
            StatusCode::FORBIDDEN,
            pages::error("The form expired or did not come from this site (CSRF check failed)."),
        );
    }
    let browser = Browser {
        value: cookie,
        set_cookie: None,
    };

    match action.as_deref() {
        Some("login") => {
            let username = username.unwrap_or_default();
            let password = PlainSecret::new(password.unwrap_or_default());
            sign_in(
                &state, addr, browser, &request, &username, &password, &query,
            )
            .await
        }
        Some("switch") => {
            // Sign out here, then sign in again (with a fresh anonymous cookie).
            if let Err(e) = state.store.delete_session(&browser.digest()).await {
                return server_error(e);
            }
            let value = random_id(32);
            let fresh = Browser {
                set_cookie: set_cookie(&state, &value, None),
                value,
            };
            let page = pages::respond(
                StatusCode::OK,
                pages::login(
                    &action_url(&state, &query),
                    &fresh.csrf(),
                    &request.client.name,
                    None,
                ),
            );
            fresh.finish(page)
        }
        Some(choice @ ("approve" | "deny")) => {
            let user = match browser.user(&state).await {
                Ok(Some(u)) => u,
                Ok(None) => {
                    return pages::respond(
                        StatusCode::UNAUTHORIZED,
                        pages::login(
                            &action_url(&state, &query),
                            &browser.csrf(),
                            &request.client.name,
                            Some("Your session ended; sign in again."),
                        ),
                    );
                }
                Err(e) => return server_error(e),
            };
            if choice == "deny" {
                let e = request.error("access_denied", "the user denied the request");
                return fail(&state, e, StatusCode::SEE_OTHER);
            }
            let scope = match request.scope_for(&user) {
                Ok(s) => s,
                Err(e) => return fail(&state, e, StatusCode::SEE_OTHER),
            };
            if let Err(e) =
                remember_consent(state.store.as_ref(), &user, &request.client.id, scope).await
            {
                return server_error(e);
            }
            code_redirect(&state, &request, &user, scope, StatusCode::SEE_OTHER).await
        }
        _ => bad_form("the form has no valid action"),
    }
}

/// Checks the password (behind the failed-credentials limiter), starts a fresh session
/// (a new id: a cookie planted before sign-in is never promoted), then continues.
async fn sign_in(
    state: &AppState,
    addr: std::net::IpAddr,
    browser: Browser,
    request: &AuthorizationRequest,
    username: &str,
    password: &PlainSecret,
    query: &str,
) -> Response {
    let again = |status: StatusCode, message: &str| {
        pages::respond(
            status,
            pages::login(
                &action_url(state, query),
                &browser.csrf(),
                &request.client.name,
                Some(message),
            ),
        )
    };
    let key = format!("user:{}", username.to_lowercase());
    if let Err(e) = check_failures(state, &key, addr) {
        let mut response = again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts; try again later.",
        );
        if let Some(secs) = e.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        return response;
    }
    let user = match authorize::sign_in(state.store.as_ref(), &state.hasher, username, password)
        .await
    {
        Ok(SignIn::Verified(user)) => user,
        Ok(SignIn::WrongCredentials) => {
            record_failure(state, &key, addr);
            return again(StatusCode::UNAUTHORIZED, "Wrong username or password.");
        }
        Ok(SignIn::Disabled) => return again(StatusCode::FORBIDDEN, "This account is disabled."),
        Err(e) => return server_error(e),
    };

    let store = state.store.as_ref();
    if let Err(e) = store.delete_session(&browser.digest()).await {
        return server_error(e);
    }
    let value = random_id(32);
    let now = now();
    let digest = PlainSecret::new(value.as_str()).digest();
    if let Err(e) = store
        .create_session(&digest, user.id, now, now + SESSION_TTL)
        .await
    {
        return server_error(e);
    }
    let session = Browser {
        set_cookie: set_cookie(state, &value, Some(SESSION_TTL)),
        value,
    };
    let response = consent_or_code(
        state,
        &session,
        request,
        &user,
        query,
        StatusCode::SEE_OTHER,
    )
    .await;
    session.finish(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_checked() {
        let mut h = HeaderMap::new();
        let value = "a".repeat(43);
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; {COOKIE}={value}; y=2")).unwrap(),
        );
        assert_eq!(cookie_value(&h, COOKIE), Some(value));
        assert_eq!(cookie_value(&h, SECURE_COOKIE), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}=short")).unwrap(),
        );
        assert_eq!(cookie_value(&h, COOKIE), None);
    }

    #[test]
    fn csrf_tokens_differ_per_browser() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a"), csrf_token("a"));
    }
}
