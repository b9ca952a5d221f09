//! The Tokens page (`/console/tokens`): every grant of the account as one row — a token
//! family, whatever the refreshes made of it — with its client (or a personal token's
//! note), scopes, when it was granted, last used and when it expires, and its status;
//! generate a personal access token (shown once); revoke one (after a confirmation page)
//! or all. The same services as `GET /user/tokens`, `POST /user/tokens`,
//! `DELETE /user/tokens/{id}` and `DELETE /user/tokens`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{
    CsrfForm, REAUTH_FIELD, Render, Sensitive, SensitiveForm, checked_post, not_found,
    reauthenticated, see, server_error, time, viewer,
};
use crate::domain::Scope;
use crate::domain::fields::FieldErrors;
use crate::domain::tokens::{NEVER, PersonalTokenField, TokenOrigin, TokenStatus};
use crate::pages::HTML;
use crate::pages::flash::Flash;
use crate::pages::layout::Nav;
use crate::pages::layout::describe;
use crate::pages::session;
use crate::service::tokens::TokenError;
use crate::service::tokens::{PersonalExpiry, PersonalTokenSpec};
use crate::state::{AppState, ClientAddr};
use crate::store::User;
use crate::store::{TokenRecord, now};
use utoipa::ToSchema;

/// Routes of the Tokens page.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_tokens_page, create_console_token))
        .routes(routes!(new_token_page))
        .routes(routes!(confirm_token_revocation, revoke_console_token))
        .routes(routes!(confirm_revoke_all, revoke_all_console_tokens))
}

/// One grant as the page lists it: the family's newest token, and the family's first
/// issue and last use.
pub struct Family {
    /// The newest access token of the family (revoking it revokes the family).
    pub newest: TokenRecord,
    /// When the grant was made (its first token).
    pub granted_at: i64,
    /// The family's latest use.
    pub last_used_at: Option<i64>,
    /// The grant that started it (its first token's), or `Personal`.
    pub grant: TokenOrigin,
}

/// Groups tokens (newest first) into families, newest grant first.
pub fn families(records: Vec<TokenRecord>) -> Vec<Family> {
    let mut order: Vec<Uuid> = Vec::new();
    let mut by_family: HashMap<Uuid, Family> = HashMap::new();
    for r in records {
        match by_family.get_mut(&r.family_id) {
            Some(f) => {
                // Older tokens come later: the last one seen started the family.
                f.grant = r.grant_type;
                f.granted_at = f.granted_at.min(r.created_at);
                f.last_used_at = f.last_used_at.max(r.last_used_at);
            }
            None => {
                order.push(r.family_id);
                by_family.insert(
                    r.family_id,
                    Family {
                        granted_at: r.created_at,
                        last_used_at: r.last_used_at,
                        grant: r.grant_type,
                        newest: r,
                    },
                );
            }
        }
    }
    order
        .into_iter()
        .filter_map(|id| by_family.remove(&id))
        .collect()
}

/// A family's status at `now`, and until when the app can renew it: a family whose
/// access token expired but whose refresh token still works is active — the app gets a
/// new access token when it next asks — until that refresh token expires.
pub fn family_status(
    f: &Family,
    renewable: &HashMap<Uuid, i64>,
    now: i64,
) -> (TokenStatus, Option<i64>) {
    let t = &f.newest;
    let status = TokenStatus::of(t.revoked_at, t.expires_at, now);
    match (status, renewable.get(&t.family_id)) {
        (TokenStatus::Revoked, _) | (_, None) => (status, None),
        (_, Some(&until)) => (TokenStatus::Active, Some(until.max(t.expires_at))),
    }
}

fn status_badge(status: TokenStatus) -> Markup {
    html! { span class=(format!("badge {}", status.as_str())) { (status.as_str()) } }
}

/// The account's tokens
#[utoipa::path(
    get,
    path = "/console/tokens",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn get_tokens_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (browser, user) = match viewer(&state, &headers, Nav::Tokens.path()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let records = match state.services.tokens().list_all(&user).await {
        Ok(r) => r,
        Err(e) => return server_error(&state, e),
    };
    let renewable = match state.services.tokens().renewable(&user).await {
        Ok(r) => r,
        Err(e) => return server_error(&state, e),
    };
    let families = families(records);
    let now = now();
    let active = families
        .iter()
        .filter(|f| family_status(f, &renewable, now).0 == TokenStatus::Active)
        .count();
    let path = |p: &str| state.path(p);
    let body = html! {
        h1 { "Tokens" }
        p.muted { "Every grant of your account: one row per app sign-in or personal token, however often it was refreshed." }
        p { a.button.primary href=(path("/console/tokens/new")) { "Generate new token" } }
        @if families.is_empty() {
            div.card { p.muted { "No tokens yet." } }
        } @else {
            ul.rows #tokens {
                @for f in &families {
                    @let t = &f.newest;
                    @let (status, renews_until) = family_status(f, &renewable, now);
                    li class=[(status != TokenStatus::Active).then_some("ended")] data-family=(t.family_id) {
                        div.row-main {
                            @if let (TokenOrigin::Personal, Some(note)) = (f.grant, &t.note) {
                                div.row-title { (note) " " span.badge { "personal" } " " (status_badge(status)) }
                                div.row-meta { "Scopes: " code { (t.scope.to_string()) } " · personal access token" }
                            } @else {
                                div.row-title { (t.client_name) " " (status_badge(status)) }
                                div.row-meta { "Scopes: " code { (t.scope.to_string()) } " · via " (f.grant.as_str()) }
                            }
                            div.row-meta {
                                "Created " (time(f.granted_at))
                                " · last used " @if let Some(u) = f.last_used_at { (time(u)) } @else { "never" }
                                " · "
                                @if t.expires_at == NEVER { "never expires" }
                                @else if let Some(until) = renews_until { span.renews { "renewed by the app until " (time(until)) } }
                                @else if status == TokenStatus::Active { "expires " (time(t.expires_at)) }
                                @else { "expired " (time(t.expires_at)) }
                            }
                        }
                        @if status == TokenStatus::Active {
                            div.row-actions {
                                a.button href=(path(&format!("/console/tokens/{}/revoke", t.id))) { "Revoke…" }
                            }
                        }
                    }
                }
            }
            @if active > 0 {
                p { a.button.danger href=(path("/console/tokens/revoke-all")) { "Revoke all tokens…" } }
            }
        }
    };
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(StatusCode::OK, Nav::Tokens, "Tokens", body)
}

/// Confirm a token's revocation
#[utoipa::path(
    get,
    path = "/console/tokens/{id}/revoke",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(("id" = String, Path, description = "the token's `id`")),
    responses(
        (status = 200, description = "The confirmation, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "No such token of this account.", body = String, content_type = HTML),
    )
)]
pub async fn confirm_token_revocation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/console/tokens/{id}/revoke");
    let (browser, user) = match viewer(&state, &headers, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let records = match state.services.tokens().list_all(&user).await {
        Ok(r) => r,
        Err(e) => return server_error(&state, e),
    };
    let Some(record) = records.into_iter().find(|r| r.id.to_string() == id) else {
        return not_found(&state);
    };
    let csrf = browser.csrf();
    let body = html! {
        h1 { "Revoke this token?" }
        div.card {
            p { "The token of " strong { (record.client_name) } " with scopes " code { (record.scope.to_string()) }
                " stops working at once, with every token refreshed from the same grant. "
                "The app will have to ask you again." }
            form method="post" action=(state.path(&here)) {
                input type="hidden" name="csrf_token" value=(csrf);
                div.actions {
                    button.danger type="submit" { "Revoke" }
                    a.button href=(state.path(Nav::Tokens.path())) { "Cancel" }
                }
            }
        }
    };
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(StatusCode::OK, Nav::Tokens, "Revoke token", body)
}

/// Revoke a token from the console
///
/// As `DELETE /user/tokens/{id}` does: the token and its family.
#[utoipa::path(
    post,
    path = "/console/tokens/{id}/revoke",
    tag = "console",
    security(("sessionCookie" = [])),
    params(("id" = String, Path, description = "the token's `id`")),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done or refused: to the Tokens page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn revoke_console_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (_, _, user) = match checked_post(&state, &headers, body, &["csrf_token"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let flash = match state.services.tokens().revoke(&user, &id).await {
        Ok(()) => Flash::ok("Token revoked."),
        Err(TokenError::NotFound(_)) => Flash::error("That token is not one of yours."),
        Err(e) => return server_error(&state, e),
    };
    see(&state, Nav::Tokens.path(), flash)
}

/// Confirm revoking every token
#[utoipa::path(
    get,
    path = "/console/tokens/revoke-all",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The confirmation, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn confirm_revoke_all(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let here = "/console/tokens/revoke-all";
    let (browser, user) = match viewer(&state, &headers, here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let csrf = browser.csrf();
    let body = html! {
        h1 { "Revoke every token?" }
        div.card {
            p { "Every token of your account stops working at once, and every app you authorized will have to ask you again. "
                "This browser stays signed in." }
            form method="post" action=(state.path(here)) {
                input type="hidden" name="csrf_token" value=(csrf);
                div.actions {
                    button.danger type="submit" { "Revoke all" }
                    a.button href=(state.path(Nav::Tokens.path())) { "Cancel" }
                }
            }
        }
    };
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(StatusCode::OK, Nav::Tokens, "Revoke all tokens", body)
}

/// Revoke every token from the console
///
/// As `DELETE /user/tokens` does.
#[utoipa::path(
    post,
    path = "/console/tokens/revoke-all",
    tag = "console",
    security(("sessionCookie" = [])),
    request_body(content = SensitiveForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done: to the Tokens page with a message.", headers(("Location" = String))),
        (status = 200, description = "The session signed in over 10 minutes ago: a page asks for the password again, \
            its form posting the same fields with `reauth_password`.", body = String, content_type = HTML),
        (status = 401, description = "The password given again is wrong: that page again.", body = String, content_type = HTML),
        (status = 429, description = "Too many wrong passwords (`Retry-After`).", body = String, content_type = HTML,
            headers(("Retry-After" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn revoke_all_console_tokens(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", REAUTH_FIELD];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let sensitive = Sensitive {
        action: "/console/tokens/revoke-all",
        what: "revoke every token of your account".to_owned(),
        button: "Revoke all tokens",
        nav: Nav::Tokens,
    };
    let browser =
        match reauthenticated(&state, &headers, addr, browser, &user, &form, sensitive).await {
            Ok(b) => b,
            Err(r) => return r,
        };
    let done = match state.services.tokens().revoke_all(&user).await {
        Ok(()) => see(
            &state,
            Nav::Tokens.path(),
            Flash::ok("Every token revoked."),
        ),
        Err(e) => server_error(&state, e),
    };
    browser.finish(done)
}

/// The "Generate new token" form.
#[derive(ToSchema)]
pub struct PersonalTokenForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// What the token is for.
    pub note: String,
    /// A scope (repeatable).
    pub scope: Option<Vec<String>>,
    /// `7`, `30`, `90` (days), `date` or `never`.
    pub expiry: String,
    /// With `expiry=date`: the last day, `YYYY-MM-DD`.
    pub expiry_date: Option<String>,
    /// Present: the person confirms a token with the `admin` scope.
    pub confirm_admin: Option<String>,
    /// The password given again for an `admin` token, when the session signed in over
    /// 10 minutes ago.
    pub reauth_password: Option<String>,
}

/// What the form shows: what was typed, and what is wrong with it.
struct TokenFormValues {
    note: String,
    scopes: Vec<String>,
    expiry: String,
    expiry_date: String,
    errors: FieldErrors<PersonalTokenField>,
}

const EXPIRIES: [(&str, &str); 5] = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("date", "On a date…"),
    ("never", "Never"),
];

fn token_form(state: &AppState, csrf: &str, user: &User, v: &TokenFormValues) -> Markup {
    let err = |f: PersonalTokenField| v.errors.get(&f);
    let scopes: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|s| *s != Scope::Admin || user.is_admin)
        .collect();
    html! {
        @if !v.errors.is_empty() {
            div.flash.error role="alert" { p style="margin:0" { "No token was generated: see the messages below." } }
        }
        form.card method="post" action=(state.path(Nav::Tokens.path())) novalidate {
            input type="hidden" name="csrf_token" value=(csrf);
            (super::text_field("note", "Note", &v.note, err(PersonalTokenField::Note),
                Some("What is this token for? For example: CI deploys.")))
            fieldset aria-invalid=[err(PersonalTokenField::Scopes).is_some().then_some("true")] {
                legend { "Scopes" }
                @for s in &scopes {
                    label.check {
                        input type="checkbox" name="scope" value=(s.as_str()) checked[v.scopes.iter().any(|x| x == s.as_str())];
                        span { code { (s.as_str()) } " — " (describe(*s)) }
                    }
                }
                @if scopes.contains(&Scope::Admin) {
                    label.check {
                        input type="checkbox" name="confirm_admin" value="1";
                        span { "I understand that a token with " code { "admin" } " can change every account on this server." }
                    }
                }
                @if let Some(e) = err(PersonalTokenField::Scopes) { p.field-error { (e) } }
            }
            label for="expiry" { "Expiration" }
            select id="expiry" name="expiry" aria-invalid=[err(PersonalTokenField::Expiry).is_some().then_some("true")] {
                @for (value, label) in EXPIRIES {
                    option value=(value) selected[v.expiry == value] { (label) }
                }
            }
            div #expiry-date-field {
                label for="expiry_date" { "Expires at the end of (UTC), when “On a date…” is chosen" }
                input type="date" id="expiry_date" name="expiry_date" value=(v.expiry_date);
            }
            p.hint.warn { "A token that never expires works until you revoke it: prefer an expiration, and revoke tokens you no longer use." }
            @if let Some(e) = err(PersonalTokenField::Expiry) { p.field-error { (e) } }
            div.actions {
                button.primary type="submit" { "Generate token" }
                a.button href=(state.path(Nav::Tokens.path())) { "Cancel" }
            }
        }
    }
}

/// The form to generate a personal access token
#[utoipa::path(
    get,
    path = "/console/tokens/new",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The form, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn new_token_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (browser, user) = match viewer(&state, &headers, "/console/tokens/new").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let values = TokenFormValues {
        note: String::new(),
        scopes: vec!["read".into()],
        expiry: "30".into(),
        expiry_date: String::new(),
        errors: FieldErrors::new(),
    };
    let form = token_form(&state, &browser.csrf(), &user, &values);
    Render {
        state: &state,
        headers: &headers,
        browser: &browser,
        user: &user,
    }
    .page(
        StatusCode::OK,
        Nav::Tokens,
        "New personal access token",
        html! { h1 { "New personal access token" } (form) },
    )
}

/// Generate a personal access token from the console
///
/// As `POST /user/tokens` does; the token is shown once on the page that follows.
#[utoipa::path(
    post,
    path = "/console/tokens",
    tag = "console",
    security(("sessionCookie" = [])),
    request_body(content = PersonalTokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Generated: to the Tokens page, with the token shown once.",
            headers(("Location" = String))),
        (status = 200, description = "The session signed in over 10 minutes ago: a page asks for the password again, \
            its form posting the same fields with `reauth_password`.", body = String, content_type = HTML),
        (status = 401, description = "The password given again is wrong: that page again.", body = String, content_type = HTML),
        (status = 429, description = "Too many wrong passwords (`Retry-After`).", body = String, content_type = HTML,
            headers(("Retry-After" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "Invalid: the form again with what was typed and the messages.",
            body = String, content_type = HTML),
    )
)]
pub async fn create_console_token(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = [
        "csrf_token",
        "note",
        "expiry",
        "expiry_date",
        "confirm_admin",
        REAUTH_FIELD,
    ];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut values = TokenFormValues {
        note: session::field(&form, "note").unwrap_or_default().to_owned(),
        scopes: form
            .iter()
            .filter(|(k, v)| k == "scope" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect(),
        expiry: session::field(&form, "expiry").unwrap_or("30").to_owned(),
        expiry_date: session::field(&form, "expiry_date")
            .unwrap_or_default()
            .to_owned(),
        errors: FieldErrors::new(),
    };
    let expiry = match values.expiry.as_str() {
        "never" => PersonalExpiry::Never,
        "date" => PersonalExpiry::Date(values.expiry_date.clone()),
        days => PersonalExpiry::Days(days.parse().unwrap_or(0)),
    };
    let spec = PersonalTokenSpec {
        note: values.note.clone(),
        scopes: values.scopes.clone(),
        expiry,
    };
    // An admin token is sensitive: the person confirms it on the form.
    let admin = values.scopes.iter().any(|s| s == "admin");
    let mut browser = browser;
    let result = if admin && session::field(&form, "confirm_admin").is_none() {
        Err(TokenError::Invalid(FieldErrors::one(
            PersonalTokenField::Scopes,
            "check the box to confirm a token with the admin scope",
        )))
    } else {
        if admin {
            // ... and, on an older session, gives the password again.
            let sensitive = Sensitive {
                action: "/console/tokens",
                what: "generate a token with the admin scope".to_owned(),
                button: "Generate token",
                nav: Nav::Tokens,
            };
            browser =
                match reauthenticated(&state, &headers, addr, browser, &user, &form, sensitive)
                    .await
                {
                    Ok(b) => b,
                    Err(r) => return r,
                };
        }
        state.services.tokens().create_personal(&user, &spec).await
    };
    match result {
        Ok(created) => {
            let note = created.record.note.clone().unwrap_or_default();
            browser.finish(see(
                &state,
                Nav::Tokens.path(),
                Flash::ok(format!("Personal access token “{note}” generated."))
                    .with_secret("token", created.token.expose()),
            ))
        }
        Err(TokenError::Invalid(errors)) => {
            values.errors = errors;
            let form = token_form(&state, &browser.csrf(), &user, &values);
            Render {
                state: &state,
                headers: &headers,
                browser: &browser,
                user: &user,
            }
            .page(
                StatusCode::UNPROCESSABLE_ENTITY,
                Nav::Tokens,
                "New personal access token",
                html! { h1 { "New personal access token" } (form) },
            )
        }
        Err(e) => server_error(&state, e),
    }
}
