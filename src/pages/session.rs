//! The browser session shared by the pages: the authorization endpoint's sign-in and
//! consent (`/oauth/v2/auth`) and the console (`/console`). The
//! sessions themselves are the sessions service's ([`crate::service::sessions`]); this
//! module holds what is the browser's: the cookie, the CSRF token, forms and redirects.
//!
//! The cookie `harmony_session` (`HttpOnly`, `SameSite=Lax`, `Path` the public URL's path
//! followed by `/`; under an https public URL `__Host-harmony_session`, `Secure`, `Path=/`)
//! holds a random value. Before sign-in it is stored nowhere and only binds the CSRF token;
//! sign-in replaces it by a fresh session id whose SHA-256 digest is stored (so every node
//! shares sessions). The CSRF token is `base64url(SHA-256("harmony-csrf:" ‖ cookie))`,
//! compared in constant time.
//!
//! The cookie is sent with API requests too (its path covers the whole server), but no
//! API endpoint reads it: they authenticate by access token only, so the cookie carries no
//! ambient authority there.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::PlainSecret;
use crate::domain::form;
use crate::service::sessions::{ReauthError, SESSION_TTL, SignInError, new_session_value};
use crate::state::AppState;
use crate::store::{StoreError, Timestamp, User};

/// The cookie's name under an http public URL (development, loopback).
pub const COOKIE: &str = "harmony_session";

/// The cookie's name under an https public URL: the `__Host-` prefix makes browsers
/// refuse it unless it is `Secure`, `Path=/` and without `Domain`, so a sibling subdomain
/// cannot plant one (which would let it know the CSRF token).
pub const SECURE_COOKIE: &str = "__Host-harmony_session";

/// Longest form body worth reading.
pub const MAX_FORM: usize = 16 * 1024;

fn cookie_name(state: &AppState) -> &'static str {
    if state.public_url.starts_with("https://") {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// The browser's cookie value, and whether it must be (re)set on the response.
pub struct Browser {
    value: String,
    set_cookie: Vec<HeaderValue>,
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

/// The `Set-Cookie` values. Under http the path is the public URL's path plus `/`: every
/// page of this server (the authorization endpoint and the console) shares the
/// session, and nothing else on the same host under another prefix receives it. No
/// `Domain`: the cookie belongs to the host the browser used, and since every page links
/// and redirects by path, the browser stays on that host. Earlier
/// versions limited the http cookie to the authorization endpoint; a browser still holding
/// such a cookie would send it first there (the longer path wins), so every new cookie
/// also expires that one.
fn set_cookie(state: &AppState, value: &str, max_age: Option<i64>) -> Vec<HeaderValue> {
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    let cookies = if state.public_url.starts_with("https://") {
        vec![format!(
            "{SECURE_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Secure{age}"
        )]
    } else {
        let prefix = state.base_path();
        vec![
            format!("{COOKIE}={value}; Path={prefix}/; HttpOnly; SameSite=Lax{age}"),
            format!("{COOKIE}=; Path={prefix}/oauth/v2/auth; HttpOnly; SameSite=Lax; Max-Age=0"),
        ]
    };
    cookies
        .iter()
        .filter_map(|c| HeaderValue::from_str(c).ok())
        .collect()
}

/// Why a form's CSRF check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfFailure {
    /// The request carried no (well-formed) session cookie.
    NoCookie,
    /// The token is missing or does not fit the cookie.
    Mismatch,
}

impl CsrfFailure {
    /// A sentence for the error page; `public_url` is the address the server knows
    /// itself by, where its pages are sure to work.
    pub fn message(self, public_url: &str) -> String {
        match self {
            // Pages link with paths, so a browser keeps to one host; a cookie is missing
            // when the form was opened under another address (`localhost` and
            // `127.0.0.1` hold separate cookies) or cookies are blocked.
            CsrfFailure::NoCookie => format!(
                "Your browser sent no session cookie with this form. Open {public_url}/console \
                 and start again there; if that fails too, allow cookies for that address."
            ),
            CsrfFailure::Mismatch => {
                "The form expired or did not come from this site (CSRF check failed). \
                 Go back, reload the page and try again."
                    .to_owned()
            }
        }
    }
}

impl Browser {
    /// This browser's cookie, or a fresh anonymous one (set on the response by
    /// [`Browser::finish`]).
    pub fn of(state: &AppState, headers: &HeaderMap) -> Browser {
        match cookie_value(headers, cookie_name(state)) {
            Some(value) => Browser {
                value,
                set_cookie: Vec::new(),
            },
            None => Browser::fresh(state, None),
        }
    }

    /// A new random cookie value, to be set with `max_age`.
    fn fresh(state: &AppState, max_age: Option<i64>) -> Browser {
        Browser::holding(state, new_session_value(), max_age)
    }

    /// The browser holding `value` from now on, set with `max_age`.
    fn holding(state: &AppState, value: PlainSecret, max_age: Option<i64>) -> Browser {
        let value = value.expose().to_owned();
        Browser {
            set_cookie: set_cookie(state, &value, max_age),
            value,
        }
    }

    /// The browser of a form POST, if the form's `csrf_token` is the one derived from the
    /// request's cookie (compared in constant time).
    pub fn verified(
        state: &AppState,
        headers: &HeaderMap,
        given: Option<&str>,
    ) -> Result<Browser, CsrfFailure> {
        let value = cookie_value(headers, cookie_name(state)).ok_or(CsrfFailure::NoCookie)?;
        let expected = csrf_token(&value);
        let given = given.unwrap_or_default();
        if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            Ok(Browser {
                value,
                set_cookie: Vec::new(),
            })
        } else {
            Err(CsrfFailure::Mismatch)
        }
    }

    /// The CSRF token this browser's forms carry.
    pub fn csrf(&self) -> String {
        csrf_token(&self.value)
    }

    /// The cookie's value, which the sessions service knows a session by.
    fn session(&self) -> PlainSecret {
        PlainSecret::new(self.value.as_str())
    }

    /// The signed-in, enabled user of this browser, if any.
    pub async fn user(&self, state: &AppState) -> Result<Option<User>, StoreError> {
        state.services.sessions().user(&self.session()).await
    }

    /// The signed-in, enabled user of this browser and when they signed in, if any.
    pub async fn signed_in(
        &self,
        state: &AppState,
    ) -> Result<Option<(User, Timestamp)>, StoreError> {
        state.services.sessions().signed_in(&self.session()).await
    }

    /// Ends this browser's session (if any) and hands back a fresh anonymous cookie.
    pub async fn sign_out(self, state: &AppState) -> Result<Browser, StoreError> {
        state.services.sessions().sign_out(&self.session()).await?;
        Ok(Browser::fresh(state, None))
    }

    /// Whether this browser's session signed in within the last few minutes (see
    /// [`crate::service::sessions::REAUTH_AFTER`]).
    pub async fn recently_signed_in(&self, state: &AppState) -> Result<bool, StoreError> {
        state
            .services
            .sessions()
            .recently_signed_in(&self.session())
            .await
    }

    /// `user` gave their `password` again from `addr`: the browser holding a fresh
    /// session (set on the response by [`Browser::finish`]).
    pub async fn reauthenticate(
        &self,
        state: &AppState,
        addr: IpAddr,
        user: &User,
        password: &PlainSecret,
    ) -> Result<Browser, ReauthError> {
        let value = state
            .services
            .sessions()
            .reauthenticate(addr, user, &self.session(), password)
            .await?;
        Ok(Browser::renewed(state, value))
    }

    /// This browser holding the fresh session `value` (after a password change).
    pub fn renewed(state: &AppState, value: PlainSecret) -> Browser {
        Browser::holding(state, value, Some(SESSION_TTL))
    }

    /// Adds the `Set-Cookie` headers when the cookie is new.
    pub fn finish(&self, mut response: Response) -> Response {
        for cookie in &self.set_cookie {
            response
                .headers_mut()
                .append(header::SET_COOKIE, cookie.clone());
        }
        response
    }
}

/// A refused sign-in: the page shows the form again with this status and message.
#[derive(Debug)]
pub enum SignInRefused {
    /// Wrong credentials (`401`), disabled account (`403`), too many failures (`429`).
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// For the person.
        message: &'static str,
        /// `Retry-After` seconds, for `429`.
        retry_after: Option<u64>,
    },
    /// The store or the hasher failed.
    Failed(anyhow::Error),
}

/// Signs in through the sessions service (the failed-credentials limiter, a fresh
/// session so that a cookie planted before sign-in is never promoted); the returned
/// browser sets the new cookie.
pub async fn sign_in(
    state: &AppState,
    addr: IpAddr,
    browser: Browser,
    username: &str,
    password: &PlainSecret,
) -> Result<(Browser, User, Timestamp), SignInRefused> {
    let refused = |status, message, retry_after| SignInRefused::Refused {
        status,
        message,
        retry_after,
    };
    match state
        .services
        .sessions()
        .sign_in(addr, &browser.session(), username, password)
        .await
    {
        Ok(signed_in) => Ok((
            Browser::holding(state, signed_in.session, Some(SESSION_TTL)),
            signed_in.user,
            signed_in.at,
        )),
        Err(SignInError::WrongCredentials) => Err(refused(
            StatusCode::UNAUTHORIZED,
            "Wrong username or password.",
            None,
        )),
        Err(SignInError::Disabled) => Err(refused(
            StatusCode::FORBIDDEN,
            "This account is disabled.",
            None,
        )),
        Err(SignInError::TooManyAttempts { retry_after }) => Err(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts; try again later.",
            Some(retry_after),
        )),
        Err(SignInError::Unexpected(e)) => Err(SignInRefused::Failed(e)),
    }
}

/// Reads a urlencoded form body of at most [`MAX_FORM`] bytes into its pairs. Fields named
/// in `single` may appear at most once; others (checkbox groups) may repeat.
pub fn read_form(
    body: Result<Bytes, BytesRejection>,
    single: &[&str],
) -> Result<Vec<(String, String)>, &'static str> {
    let body = body.map_err(|_| "the form could not be read")?;
    if body.len() > MAX_FORM {
        return Err("the form is too large");
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    let parsed = form::pairs(&body).map_err(|_| "the form is not valid UTF-8")?;
    for (k, v) in parsed {
        if single.contains(&k.as_ref()) && pairs.iter().any(|(n, _)| *n == k) {
            return Err("a form field is repeated");
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    Ok(pairs)
}

/// The value of a single field of a form read by [`read_form`].
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A redirect to `location` that no cache keeps and that leaks no referrer.
pub fn redirect(status: StatusCode, location: &str) -> Response {
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

    #[test]
    fn a_form_refuses_repeated_single_fields_but_keeps_groups() {
        let form = read_form(Ok(Bytes::from_static(b"a=1&g=x&g=y")), &["a"]).unwrap();
        assert_eq!(field(&form, "a"), Some("1"));
        assert_eq!(form.iter().filter(|(k, _)| k == "g").count(), 2);
        assert!(read_form(Ok(Bytes::from_static(b"a=1&a=2")), &["a"]).is_err());
    }
}
