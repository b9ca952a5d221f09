//! The browser session shared by the pages a person uses directly: the authorization
//! endpoint's sign-in and consent (`/oauth/v2/auth`) and the API Access settings page
//! (`/settings/api`).
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

use crate::domain::authorize::{self, SignIn};
use crate::domain::form;
use crate::domain::secret::random_id;
use crate::domain::{PlainSecret, TokenDigest};
use crate::service::limiter::Limited;
use crate::state::AppState;
use crate::store::{StoreError, User, now};

/// The cookie's name under an http public URL (development, loopback).
pub const COOKIE: &str = "harmony_session";

/// The cookie's name under an https public URL: the `__Host-` prefix makes browsers
/// refuse it unless it is `Secure`, `Path=/` and without `Domain`, so a sibling subdomain
/// cannot plant one (which would let it know the CSRF token).
pub const SECURE_COOKIE: &str = "__Host-harmony_session";

/// Lifetime of a signed-in browser session, in seconds.
pub const SESSION_TTL: i64 = 8 * 3600;

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
/// page of this server (the authorization endpoint and the settings page) shares the
/// session, and nothing else on the same host under another prefix receives it. Earlier
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
        let prefix = url::Url::parse(&state.public_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
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
    /// A sentence for the error page.
    pub fn message(self) -> &'static str {
        match self {
            CsrfFailure::NoCookie => {
                "Your browser sent no session cookie; enable cookies and start again."
            }
            CsrfFailure::Mismatch => {
                "The form expired or did not come from this site (CSRF check failed)."
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
        let value = random_id(32);
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

    fn digest(&self) -> TokenDigest {
        PlainSecret::new(self.value.as_str()).digest()
    }

    /// The signed-in, enabled user of this browser, if any.
    pub async fn user(&self, state: &AppState) -> Result<Option<User>, StoreError> {
        Ok(state
            .services
            .store()
            .session_user(&self.digest(), now())
            .await?
            .filter(|u| !u.disabled))
    }

    /// Ends this browser's session (if any) and hands back a fresh anonymous cookie.
    pub async fn sign_out(self, state: &AppState) -> Result<Browser, StoreError> {
        state
            .services
            .store()
            .delete_session(&self.digest())
            .await?;
        Ok(Browser::fresh(state, None))
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
        status: axum::http::StatusCode,
        /// For the person.
        message: &'static str,
        /// `Retry-After` seconds, for `429`.
        retry_after: Option<u64>,
    },
    /// The store or the hasher failed.
    Failed(anyhow::Error),
}

/// Checks the password (behind the failed-credentials limiter, with the password grant's
/// counters: a slot is reserved before the hash and given back unless the password was
/// wrong), then starts a fresh session: a new id, so a cookie planted before sign-in is
/// never promoted. The returned browser sets the new cookie.
pub async fn sign_in(
    state: &AppState,
    addr: IpAddr,
    browser: Browser,
    username: &str,
    password: &PlainSecret,
) -> Result<(Browser, User), SignInRefused> {
    use axum::http::StatusCode;
    let limiter = &state.services.limiter();
    let attempt = match limiter
        .reserve_password(state.services.store().as_ref(), username, addr)
        .await
    {
        Ok(attempt) => attempt,
        Err(Limited::TooMany { retry_after }) => {
            return Err(SignInRefused::Refused {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: "Too many failed attempts; try again later.",
                retry_after: Some(retry_after),
            });
        }
        Err(Limited::Store(e)) => return Err(SignInRefused::Failed(e.into())),
    };
    let checked = authorize::sign_in(
        state.services.store().as_ref(),
        state.services.hasher(),
        username,
        password,
    )
    .await;
    let failed = matches!(checked, Ok(SignIn::WrongCredentials));
    attempt
        .settle(limiter, state.services.store().as_ref(), failed)
        .await;
    let user = match checked {
        Ok(SignIn::Verified(user)) => user,
        Ok(SignIn::WrongCredentials) => {
            return Err(SignInRefused::Refused {
                status: StatusCode::UNAUTHORIZED,
                message: "Wrong username or password.",
                retry_after: None,
            });
        }
        Ok(SignIn::Disabled) => {
            return Err(SignInRefused::Refused {
                status: StatusCode::FORBIDDEN,
                message: "This account is disabled.",
                retry_after: None,
            });
        }
        Err(e) => return Err(SignInRefused::Failed(e)),
    };

    let store = state.services.store().as_ref();
    store
        .delete_session(&browser.digest())
        .await
        .map_err(|e| SignInRefused::Failed(e.into()))?;
    let session = Browser::fresh(state, Some(SESSION_TTL));
    let now = now();
    store
        .create_session(&session.digest(), user.id, now, now + SESSION_TTL)
        .await
        .map_err(|e| SignInRefused::Failed(e.into()))?;
    Ok((session, user))
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
