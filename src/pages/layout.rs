//! The HTML the pages share (maud): the frame, the sign-in form, the consent form and the
//! error page. Every value is escaped by maud; pages carry headers that forbid framing,
//! caching and referrers ([`respond`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::client::{ClientName, RedirectUri};
use crate::domain::user::Username;
use crate::domain::{Scope, ScopeSet};

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;\
padding:0 1rem;color:#222}h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}\
input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}\
button{margin:1rem .5rem 0 0;padding:.5rem 1rem}.error{color:#a00}.muted{color:#666}";

/// The page frame every browser page shares (the settings page too).
pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · HarmonyCMS" }
                style { (PreEscaped(CSS)) }
            }
            body { (body) }
        }
    }
}

/// A page with its status and the headers every page of this endpoint carries.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The sign-in form; it posts back to the authorization request's own URL.
pub fn login(action: &str, csrf: &str, client_name: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        html! {
            h1 { "Sign in to HarmonyCMS" }
            p { "to continue to " strong { (client_name) } "." }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form method="post" action=(action) {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="username" { "Username" }
                input type="text" id="username" name="username" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input type="password" id="password" name="password" autocomplete="current-password" required;
                button type="submit" name="action" value="login" { "Sign in" }
            }
        },
    )
}

fn describe(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => "see your account, tokens, clients and projects",
        Scope::Write => "change your account, clients and projects, and publish add-ons",
        Scope::Admin => "administer this server (accounts of every user)",
        Scope::Openid => "sign you in (know who you are)",
        Scope::Profile => "see your username and display name",
        Scope::Email => "see your email address",
    }
}

/// The consent form: what the application asks for, approve or deny.
pub fn consent(
    action: &str,
    csrf: &str,
    client_name: &ClientName,
    username: &Username,
    redirect_uri: &RedirectUri,
    scope: ScopeSet,
) -> Markup {
    layout(
        "Authorize",
        html! {
            h1 { "Authorize " (client_name.as_str()) "?" }
            p { "Signed in as " strong { (username.as_str()) } "." }
            p { strong { (client_name.as_str()) } " asks to:" }
            ul {
                @for s in scope.iter() {
                    li { code { (s.as_str()) } " — " (describe(s)) }
                }
            }
            p.muted { "You will be sent back to " code { (redirect_uri.as_str()) } "." }
            form method="post" action=(action) {
                input type="hidden" name="csrf_token" value=(csrf);
                button type="submit" name="action" value="approve" { "Authorize" }
                button type="submit" name="action" value="deny" { "Deny" }
            }
            form method="post" action=(action) {
                input type="hidden" name="csrf_token" value=(csrf);
                p.muted {
                    "Not " (username) "? "
                    button type="submit" name="action" value="switch" { "Sign in as someone else" }
                }
            }
        },
    )
}

/// An error that must not be sent to the client (unknown client, bad redirect URI, CSRF).
pub fn error(message: &str) -> Markup {
    layout(
        "Authorization failed",
        html! {
            h1 { "This authorization request cannot continue" }
            p.error { (message) }
            p.muted { "Go back to the application and try again, or tell its developer." }
        },
    )
}
