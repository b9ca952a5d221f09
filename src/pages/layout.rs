//! The HTML the pages share (maud): the console's frame (header, navigation, the flash
//! message), the sign-in form, the consent form and the error pages. Every value is
//! escaped by maud; pages carry headers that forbid framing, caching and referrers
//! ([`respond`]). The style sheet, the script and the icon are in the binary
//! (`src/pages/assets/`) and served by [`super::console`]; the script only adds
//! conveniences (local times, copy buttons), every page works without it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::flash::{Flash, FlashKind};
use crate::domain::authorize::AppOwner;
use crate::domain::client::{ClientName, RedirectUri};
use crate::domain::user::Username;
use crate::domain::{Scope, ScopeSet};
use crate::store::User;

/// The console's style sheet (inline, so that a page is one request and the CSP stays
/// simple): light and dark by `prefers-color-scheme`, fluid down to 320 px.
pub const CSS: &str = include_str!("assets/console.css");

/// The sections of the console, in the navigation's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Profile, password, sessions.
    Account,
    /// Personal access tokens and every token of the account.
    Tokens,
    /// The account's OAuth clients.
    Applications,
    /// Third-party apps the account consented to.
    Authorized,
    /// Add-ons.
    Marketplace,
    /// Projects.
    Projects,
}

impl Nav {
    /// Every section, in order.
    pub const ALL: [Nav; 6] = [
        Nav::Account,
        Nav::Tokens,
        Nav::Applications,
        Nav::Authorized,
        Nav::Marketplace,
        Nav::Projects,
    ];

    /// Its label.
    pub fn label(self) -> &'static str {
        match self {
            Nav::Account => "Account",
            Nav::Tokens => "Tokens",
            Nav::Applications => "Applications",
            Nav::Authorized => "Authorized apps",
            Nav::Marketplace => "Marketplace",
            Nav::Projects => "Projects",
        }
    }

    /// Its path under the console.
    pub fn path(self) -> &'static str {
        match self {
            Nav::Account => "/console/account",
            Nav::Tokens => "/console/tokens",
            Nav::Applications => "/console/applications",
            Nav::Authorized => "/console/authorized",
            Nav::Marketplace => "/console/marketplace",
            Nav::Projects => "/console/projects",
        }
    }
}

/// What the frame around a page shows.
pub struct Frame<'a> {
    /// The page's title.
    pub title: &'a str,
    /// The public URL's path (`""` at the root): every link is a path on the host the
    /// browser used, never an absolute URL (see [`super::session`]).
    pub base: &'a str,
    /// The signed-in account and the CSRF token of the sign-out form; `None` on the
    /// sign-in, consent and error pages.
    pub signed_in: Option<(&'a User, &'a str)>,
    /// The current section.
    pub nav: Option<Nav>,
    /// The message of the last action.
    pub flash: Option<&'a Flash>,
}

impl<'a> Frame<'a> {
    /// A frame without account or navigation.
    pub fn bare(title: &'a str, base: &'a str) -> Frame<'a> {
        Frame {
            title,
            base,
            signed_in: None,
            nav: None,
            flash: None,
        }
    }
}

/// The flash message of the last action, with the secret it carries (shown this once).
pub fn flash(f: &Flash) -> Markup {
    let (class, role) = match f.kind {
        FlashKind::Ok => ("flash ok", "status"),
        FlashKind::Error => ("flash error", "alert"),
    };
    html! {
        div class=(class) role=(role) id="flash" {
            p style="margin:0" { (f.message) }
            @for (i, (label, value)) in f.secrets.iter().enumerate() {
                @let id = format!("secret-{i}");
                div.secret {
                    span { (label) ": " }
                    code id=(id) { (value) }
                    button type="button" data-copy=(id) hidden { "Copy" }
                }
            }
            @if !f.secrets.is_empty() {
                p.hint { "Copy it now: it is shown only this once." }
            }
        }
    }
}

/// The page frame every browser page shares: the header with the product's name and the
/// signed-in account, the navigation, the flash message, then `body`.
pub fn frame(f: Frame<'_>, body: Markup) -> Markup {
    let base = f.base;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="color-scheme" content="light dark";
                title { (f.title) " · HarmonyCMS" }
                link rel="icon" type="image/svg+xml" href=(format!("{base}/favicon.svg"));
                style { (PreEscaped(CSS)) }
            }
            body {
                header.top {
                    div.bar {
                        a.brand href=(format!("{base}/console")) { "HarmonyCMS" }
                        @if let Some((user, _)) = f.signed_in {
                            span.who { "Signed in as " strong #account { (user.username) } }
                        }
                    }
                    @if let Some((_, csrf)) = f.signed_in {
                        nav.main aria-label="Console" {
                            @for n in Nav::ALL {
                                @if f.nav == Some(n) {
                                    a href=(format!("{base}{}", n.path())) aria-current="page" { (n.label()) }
                                } @else {
                                    a href=(format!("{base}{}", n.path())) { (n.label()) }
                                }
                            }
                            form method="post" action=(format!("{base}/console/logout")) {
                                input type="hidden" name="csrf_token" value=(csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                @let narrow = f.signed_in.is_none();
                main class=[narrow.then_some("narrow")] {
                    @if let Some(message) = f.flash {
                        (flash(message))
                    }
                    (body)
                }
                script src=(format!("{base}/console/console.js")) defer {}
            }
        }
    }
}

/// The frame without account or navigation (sign-in, consent, errors).
pub fn layout(title: &str, base: &str, body: Markup) -> Markup {
    frame(Frame::bare(title, base), body)
}

/// A page with its status and the headers every page carries.
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
            // No `form-action`: browsers apply it to the redirect that follows a form, and
            // the consent form's redirect goes to the application.
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; \
             img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
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

/// What a sign-in form shows: where it posts, what it leads to, and what went wrong.
pub struct SignIn<'a> {
    /// The form's action (a path).
    pub action: &'a str,
    /// The CSRF token.
    pub csrf: &'a str,
    /// What signing in leads to ("the console", an application's name).
    pub purpose: &'a str,
    /// The username typed before (kept after a refusal).
    pub username: &'a str,
    /// Why the last attempt was refused.
    pub error: Option<&'a str>,
    /// Hidden fields the form carries on (the page to return to).
    pub hidden: &'a [(&'a str, &'a str)],
    /// The message of the last action (a sign-out, a session that ended).
    pub flash: Option<&'a Flash>,
}

/// The sign-in form.
pub fn login(base: &str, s: &SignIn<'_>) -> Markup {
    layout(
        "Sign in",
        base,
        html! {
            h1 { "Sign in to HarmonyCMS" }
            p { "to continue to " strong { (s.purpose) } "." }
            @if let Some(f) = s.flash {
                (flash(f))
            }
            @if let Some(error) = s.error {
                div.flash.error role="alert" { p style="margin:0" { (error) } }
            }
            form.card method="post" action=(s.action) {
                input type="hidden" name="csrf_token" value=(s.csrf);
                @for (name, value) in s.hidden {
                    input type="hidden" name=(name) value=(value);
                }
                label for="username" { "Username" }
                input type="text" id="username" name="username" value=(s.username)
                    autocomplete="username" required autofocus[s.username.is_empty()];
                label for="password" { "Password" }
                input type="password" id="password" name="password"
                    autocomplete="current-password" required autofocus[!s.username.is_empty()];
                button.primary type="submit" name="action" value="login" { "Sign in" }
            }
        },
    )
}

/// What a scope lets an application do, in words.
pub fn describe(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => "see your account, tokens, clients and projects",
        Scope::Write => "change your account, clients and projects, and publish add-ons",
        Scope::Admin => "administer this server (accounts of every user)",
        Scope::Openid => "sign you in (know who you are)",
        Scope::Profile => "see your username and display name",
        Scope::Email => "see your email address",
    }
}

/// What the consent page shows.
pub struct Consent<'a> {
    /// The form's action (a path with the request's query).
    pub action: &'a str,
    /// The CSRF token.
    pub csrf: &'a str,
    /// The application.
    pub client_name: &'a ClientName,
    /// Its owner: an account or an organization.
    pub owner: &'a AppOwner,
    /// The account signing in.
    pub username: &'a Username,
    /// Where the browser goes back to.
    pub redirect_uri: &'a RedirectUri,
    /// What it asks for.
    pub scope: ScopeSet,
}

/// The consent form: who asks, for what, approve or deny.
pub fn consent(base: &str, c: &Consent<'_>) -> Markup {
    layout(
        "Authorize",
        base,
        html! {
            h1 { "Authorize " (c.client_name.as_str()) "?" }
            p { "Signed in as " strong { (c.username.as_str()) } "." }
            div.card {
                p {
                    strong { (c.client_name.as_str()) }
                    @match c.owner {
                        AppOwner::User(user) => {
                            " is an application registered by " strong #owner { (user.as_str()) }
                        }
                        AppOwner::Org(org) => {
                            " is an application of the organization " strong #owner { (org.as_str()) }
                        }
                    }
                    ". It asks to act for your account and to:"
                }
                ul {
                    @for s in c.scope.iter() {
                        li { code { (s.as_str()) } " — " (describe(s)) }
                    }
                }
                p.hint { "You will be sent back to " code { (c.redirect_uri.as_str()) } "." }
                form method="post" action=(c.action) {
                    input type="hidden" name="csrf_token" value=(c.csrf);
                    div.choice {
                        button.primary type="submit" name="action" value="approve" { "Authorize" }
                        button.danger type="submit" name="action" value="deny" { "Deny" }
                    }
                }
            }
            form method="post" action=(c.action) {
                input type="hidden" name="csrf_token" value=(c.csrf);
                p.muted {
                    "Not " (c.username) "? "
                    button type="submit" name="action" value="switch" { "Sign in as someone else" }
                }
            }
        },
    )
}

/// An error that must not be sent to the client (unknown client, bad redirect URI, CSRF).
pub fn error(base: &str, message: &str) -> Markup {
    layout(
        "Authorization failed",
        base,
        html! {
            h1 { "This authorization request cannot continue" }
            div.flash.error role="alert" { p style="margin:0" { (message) } }
            p.muted { "Go back to the application and try again, or tell its developer." }
        },
    )
}
