//! The Account page (`/console/account`): the profile (name, email, through the service
//! behind `PATCH /user`), the password (the current one required; every other browser is
//! signed out, this one keeps a fresh session) and "sign out everywhere".

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{CsrfForm, Render, checked_post, see, server_error, text_field, time, viewer};
use crate::domain::PlainSecret;
use crate::domain::fields::FieldErrors;
use crate::domain::user::AccountField;
use crate::pages::HTML;
use crate::pages::flash::Flash;
use crate::pages::layout::Nav;
use crate::pages::session::{self, Browser};
use crate::service::accounts::{AccountError, ProfileChange};
use crate::service::sessions::PasswordChangeError;
use crate::state::{AppState, ClientAddr};
use crate::store::User;

/// Routes of the Account page.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_account_page, update_console_profile))
        .routes(routes!(change_console_password))
        .routes(routes!(sign_out_everywhere))
}

/// The profile form.
#[derive(ToSchema)]
pub struct ProfileForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The display name (blank: none).
    pub name: String,
    /// The email address.
    pub email: String,
}

/// The password form.
#[derive(ToSchema)]
pub struct PasswordForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The password now.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
    /// The new password again.
    pub confirm_password: String,
}

/// What the page's forms show after a refusal.
#[derive(Default)]
struct Shown {
    name: Option<String>,
    email: Option<String>,
    profile: FieldErrors<AccountField>,
    current: Option<String>,
    new: Option<String>,
    confirm: Option<String>,
}

fn password_field(id: &str, label: &str, error: Option<&str>, autocomplete: &str) -> Markup {
    html! {
        label for=(id) { (label) }
        input type="password" id=(id) name=(id) autocomplete=(autocomplete) required
            aria-invalid=[error.is_some().then_some("true")];
        @if let Some(e) = error { p.field-error { (e) } }
    }
}

fn account_page(
    state: &AppState,
    headers: &HeaderMap,
    browser: &Browser,
    user: &User,
    status: StatusCode,
    shown: &Shown,
) -> Response {
    let csrf = browser.csrf();
    let path = |p: &str| state.path(p);
    let name = shown.name.clone().unwrap_or_else(|| {
        user.name
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    });
    let email = shown
        .email
        .clone()
        .unwrap_or_else(|| user.email.to_string());
    let body = html! {
        h1 { "Account" }
        dl.facts {
            dt { "Username" } dd { (user.username) }
            dt { "Member since" } dd { (time(user.created_at)) }
            dt { "Role" } dd { @if user.is_admin { "administrator" } @else { "member" } }
        }
        h2 { "Profile" }
        form.card method="post" action=(path("/console/account")) novalidate {
            input type="hidden" name="csrf_token" value=(csrf);
            (text_field("name", "Name", &name, shown.profile.get(&AccountField::Name), Some("Shown to other people; leave blank for none.")))
            (text_field("email", "Email", &email, shown.profile.get(&AccountField::Email), None))
            div.actions { button.primary type="submit" { "Save profile" } }
        }
        h2 { "Password" }
        form.card method="post" action=(path("/console/account/password")) {
            input type="hidden" name="csrf_token" value=(csrf);
            (password_field("current_password", "Current password", shown.current.as_deref(), "current-password"))
            (password_field("new_password", "New password", shown.new.as_deref(), "new-password"))
            (password_field("confirm_password", "New password again", shown.confirm.as_deref(), "new-password"))
            p.hint { "Changing it signs out every other browser. Your tokens keep working; revoke them on the Tokens page if the old password may be known." }
            div.actions { button.primary type="submit" { "Change password" } }
        }
        h2 { "Sessions" }
        form.card method="post" action=(path("/console/account/sign-out-everywhere")) {
            input type="hidden" name="csrf_token" value=(csrf);
            p style="margin-top:0" { "Signed in somewhere you no longer use? End every browser session of your account, this one included." }
            button.danger type="submit" { "Sign out everywhere" }
        }
    };
    Render {
        state,
        headers,
        browser,
        user,
    }
    .page(status, Nav::Account, "Account", body)
}

/// The account
#[utoipa::path(
    get,
    path = "/console/account",
    tag = "console",
    security(("sessionCookie" = []), ()),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn get_account_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (browser, user) = match viewer(&state, &headers, Nav::Account.path()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    account_page(
        &state,
        &headers,
        &browser,
        &user,
        StatusCode::OK,
        &Shown::default(),
    )
}

/// Change the profile from the console
///
/// As `PATCH /user` does.
#[utoipa::path(
    post,
    path = "/console/account",
    tag = "console",
    security(("sessionCookie" = [])),
    request_body(content = ProfileForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved: to the Account page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "Invalid: the form again with what was typed and the messages.",
            body = String, content_type = HTML),
    )
)]
pub async fn update_console_profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", "name", "email"];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let name = session::field(&form, "name").unwrap_or_default().to_owned();
    let email = session::field(&form, "email")
        .unwrap_or_default()
        .to_owned();
    let change = ProfileChange {
        name: Some(Some(name.clone())),
        email: Some(email.clone()),
    };
    match state
        .services
        .accounts()
        .update_profile(&user, change)
        .await
    {
        Ok(_) => see(&state, Nav::Account.path(), Flash::ok("Profile saved.")),
        Err(AccountError::Invalid(errors)) => {
            let shown = Shown {
                name: Some(name),
                email: Some(email),
                profile: errors,
                ..Shown::default()
            };
            account_page(
                &state,
                &headers,
                &browser,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                &shown,
            )
        }
        Err(e) => server_error(&state, e),
    }
}

/// Change the password from the console
#[utoipa::path(
    post,
    path = "/console/account/password",
    tag = "console",
    security(("sessionCookie" = [])),
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Changed: to the Account page with a message and a fresh session cookie.",
            headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "Refused: the form again with the messages.", body = String, content_type = HTML),
        (status = 429, description = "Too many wrong passwords (`Retry-After`).", body = String, content_type = HTML,
            headers(("Retry-After" = String))),
    )
)]
pub async fn change_console_password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = [
        "csrf_token",
        "current_password",
        "new_password",
        "confirm_password",
    ];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let current = PlainSecret::new(session::field(&form, "current_password").unwrap_or_default());
    let new = session::field(&form, "new_password").unwrap_or_default();
    let confirm = session::field(&form, "confirm_password").unwrap_or_default();
    let refused = |status: StatusCode, shown: Shown| {
        account_page(&state, &headers, &browser, &user, status, &shown)
    };
    if new != confirm {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                confirm: Some("does not match the new password".into()),
                ..Shown::default()
            },
        );
    }
    match state
        .services
        .sessions()
        .change_password(addr, &user, &current, new)
        .await
    {
        Ok(session) => Browser::renewed(&state, session).finish(see(
            &state,
            Nav::Account.path(),
            Flash::ok("Password changed. Every other browser is signed out."),
        )),
        Err(PasswordChangeError::WrongPassword) => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                current: Some("is not your current password".into()),
                ..Shown::default()
            },
        ),
        Err(PasswordChangeError::Invalid(m)) => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                new: Some(m.into()),
                ..Shown::default()
            },
        ),
        Err(PasswordChangeError::TooManyAttempts { retry_after }) => {
            let mut response = refused(
                StatusCode::TOO_MANY_REQUESTS,
                Shown {
                    current: Some("too many wrong passwords; try again later".into()),
                    ..Shown::default()
                },
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        Err(PasswordChangeError::Unexpected(e)) => server_error(&state, e),
    }
}

/// Sign out every browser of the account
#[utoipa::path(
    post,
    path = "/console/account/sign-out-everywhere",
    tag = "console",
    security(("sessionCookie" = [])),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Every session ended: to the sign-in page with a message.",
            headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (browser, _, user) = match checked_post(&state, &headers, body, &["csrf_token"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(e) = state.services.sessions().sign_out_everywhere(&user).await {
        return server_error(&state, e);
    }
    match browser.sign_out(&state).await {
        Ok(fresh) => fresh.finish(see(
            &state,
            "/console",
            Flash::ok("Every session of your account ended; sign in again."),
        )),
        Err(e) => server_error(&state, e),
    }
}
