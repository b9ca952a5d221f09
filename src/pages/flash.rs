//! The message of the last action, carried across its redirect (POST → `303` → GET) in a
//! short-lived cookie: the page that follows the redirect shows it once and clears it, so
//! that a reload neither repeats the action nor shows the message (or a secret) again.
//!
//! The cookie (`harmony_flash`, `HttpOnly`, `SameSite=Strict`, 2 minutes, the session
//! cookie's path) holds base64url JSON: the kind, the sentence, and the secrets a create
//! or rotate shows once (a new client secret, a personal access token). Those never touch
//! the server's storage; the browser holds them for the one redirect, as it holds the page
//! that shows them.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// The flash cookie's name.
pub const FLASH_COOKIE: &str = "harmony_flash";

/// How long the flash survives if the redirect is never followed, in seconds.
const FLASH_TTL: u32 = 120;

/// Whether the action worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlashKind {
    /// It did.
    Ok,
    /// It did not.
    Error,
}

/// The message of the last action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// Success or failure.
    pub kind: FlashKind,
    /// A sentence for the person.
    pub message: String,
    /// Labelled secrets shown this once (`("client_secret", "hcs_…")`).
    pub secrets: Vec<(String, String)>,
}

impl Flash {
    /// A success.
    pub fn ok(message: impl Into<String>) -> Flash {
        Flash {
            kind: FlashKind::Ok,
            message: message.into(),
            secrets: Vec::new(),
        }
    }

    /// A failure.
    pub fn error(message: impl Into<String>) -> Flash {
        Flash {
            kind: FlashKind::Error,
            message: message.into(),
            secrets: Vec::new(),
        }
    }

    /// With a secret to show once.
    pub fn with_secret(mut self, label: &str, value: &str) -> Flash {
        self.secrets.push((label.to_owned(), value.to_owned()));
        self
    }

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(value: &str) -> Option<Flash> {
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The flash of the request, if any.
    pub fn of(headers: &HeaderMap) -> Option<Flash> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == FLASH_COOKIE)
            .and_then(|(_, v)| Flash::decode(v))
    }

    /// Sets this flash on `response` (a redirect).
    pub fn set(&self, state: &AppState, mut response: Response) -> Response {
        let cookie = format!(
            "{FLASH_COOKIE}={}; Path={}/; HttpOnly; SameSite=Strict; Max-Age={FLASH_TTL}{}",
            self.encode(),
            state.base_path(),
            secure(state)
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        response
    }
}

fn secure(state: &AppState) -> &'static str {
    if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// Clears the flash cookie on `response` when the request carried one (it was shown).
pub fn clear(state: &AppState, headers: &HeaderMap, mut response: Response) -> Response {
    let carried = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(FLASH_COOKIE));
    if carried {
        let cookie = format!(
            "{FLASH_COOKIE}=; Path={}/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            state.base_path(),
            secure(state)
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_its_cookie_and_garbage_is_ignored() {
        let f = Flash::ok("Done; \"quoted\" é").with_secret("client_secret", "hcs_x");
        assert_eq!(Flash::decode(&f.encode()), Some(f));
        assert_eq!(Flash::decode("not base64 !"), None);
        assert_eq!(Flash::decode(&URL_SAFE_NO_PAD.encode(b"{}")), None);
    }
}
