//! The Marketplace (`/console/marketplace`): browse and search the add-ons the account may
//! see, by Composer type, and an add-on's page with its versions, the `composer require`
//! line and the repository snippet to copy, its yanked versions, abandonment and
//! advisories; for whoever may manage it (the service's rule), publishing a version from an
//! uploaded zip, switching public/private, and the repository and webhook secret the push
//! webhook uses. The same services and rules as `/packages`.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::{
    Render, checked_browser, checked_post, message, not_found, see, server_error, text_field, time,
    viewer,
};
use crate::domain::fields::FieldErrors;
use crate::domain::package::{PackageField, PackageType, Visibility};
use crate::pages::HTML;
use crate::pages::flash::Flash;
use crate::pages::layout::Nav;
use crate::pages::session::{self, Browser};
use crate::service::packages::{PackageError, PackageUpdate, publish_target};
use crate::state::AppState;
use crate::store::packages::{
    Abandoned, Access, Advisory, Package, PackageVersion, Provenance, Source, Viewer,
};
use crate::store::{Page, User};

/// Routes of the Marketplace pages.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_marketplace_page))
        .routes(routes!(get_addon_page))
        // The upload limit is applied to the zip as it is read (the API's limit).
        .routes(routes!(publish_console_version).layer(DefaultBodyLimit::disable()))
        .routes(routes!(set_console_visibility))
        .routes(routes!(set_console_repository))
}

fn type_label(t: PackageType) -> &'static str {
    match t {
        PackageType::Extension => "Extension",
        PackageType::Theme => "Theme",
        PackageType::Translation => "Translation",
        PackageType::Library => "Library",
    }
}

/// The add-ons the account may see
#[utoipa::path(
    get,
    path = "/console/marketplace",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(
        ("q" = Option<String>, Query, description = "words in the name or description"),
        ("type" = Option<String>, Query, description = "a Composer type"),
    ),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
    )
)]
pub async fn get_marketplace_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (browser, user) = match viewer(&state, &headers, Nav::Marketplace.path()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (q, kind) = (get("q"), get("type"));
    let chosen = PackageType::parse(&kind);
    let page = Page {
        number: 1,
        size: 50,
    };
    let listed = state
        .services
        .packages()
        .list(
            Viewer::User(user.id),
            chosen.map(PackageType::as_str),
            Some(&q),
            page,
        )
        .await;
    let (error, packages, total) = match listed {
        Ok((p, t)) => (None, p.into_iter().map(|(p, _)| p).collect(), t),
        Err(PackageError::Invalid(e)) => (Some(e.to_string()), Vec::new(), 0),
        Err(e) => return server_error(&state, e),
    };
    // The version a new install gets: the newest that is not yanked (a page holds at
    // most 50 add-ons).
    let mut latest = Vec::with_capacity(packages.len());
    for p in &packages {
        match state.services.packages().versions(p).await {
            Ok(v) => latest.push(
                v.into_iter()
                    .find(|v| v.yanked.is_none())
                    .map(|v| v.version),
            ),
            Err(e) => return server_error(&state, e),
        }
    }
    let body = html! {
        h1 { "Marketplace" }
        form.card method="get" action=(state.path(Nav::Marketplace.path())) role="search" {
            label for="q" { "Search add-ons" }
            input type="text" id="q" name="q" value=(q) placeholder="name or description";
            label for="type" { "Type" }
            select id="type" name="type" {
                option value="" selected[chosen.is_none()] { "Any type" }
                @for t in PackageType::ALL {
                    option value=(t.as_str()) selected[chosen == Some(t)] { (type_label(t)) }
                }
            }
            div.actions { button.primary type="submit" { "Search" } }
        }
        @if let Some(e) = error { p.field-error role="alert" { "The search " (e) "." } }
        @if packages.is_empty() {
            div.card { p.muted { "No add-on matches." } }
        } @else {
            p.muted { (total) " add-on" @if total != 1 { "s" } }
            ul.rows #addons {
                @for (p, latest) in packages.iter().zip(&latest) {
                    li {
                        div.row-main {
                            div.row-title {
                                a href=(state.path(&format!("/console/marketplace/{}", p.name))) { (p.name) }
                                " " span.badge { (type_label(p.package_type)) }
                                @if p.is_private() { " " span.badge { "private" } }
                            }
                            @if let Some(d) = &p.description { div.row-meta { (d) } }
                            div.row-meta {
                                @if let Some(v) = latest { "Latest " (v) " · " } @else { "No version to install · " }
                                "by " (p.owner_username) " · updated " (time(p.updated_at))
                                @if !matches!(p.abandoned, Abandoned::No) { " · " span.badge { "abandoned" } }
                            }
                        }
                    }
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
    .page(StatusCode::OK, Nav::Marketplace, "Marketplace", body)
}

/// What the owner's forms on an add-on page show after a refusal: what was typed and the
/// messages next to the fields.
#[derive(Default)]
struct OwnerForms {
    version: String,
    version_error: Option<String>,
    archive_error: Option<String>,
    repository_url: Option<String>,
    repository_error: Option<String>,
    secret_error: Option<String>,
}

fn severity_words(a: &Advisory) -> &'static str {
    a.severity.map_or("unrated", |s| s.as_str())
}

/// An add-on's page: its versions (yanked ones with the reason), the abandoned notice,
/// advisories, what to copy to install it, and for whoever may manage it the owner's
/// forms.
#[allow(clippy::too_many_arguments)]
async fn addon_page(
    state: &AppState,
    headers: &HeaderMap,
    browser: &Browser,
    user: &User,
    (package, access): (&Package, Access),
    forms: &OwnerForms,
    status: StatusCode,
) -> Response {
    let packages = state.services.packages();
    let versions = match packages.versions(package).await {
        Ok(v) => v,
        Err(e) => return server_error(state, e),
    };
    let advisories = match state.services.advisories().of_visible(&package.name).await {
        Ok(a) => a,
        Err(e) => return server_error(state, e),
    };
    let manages = access == Access::Manage;
    let here = format!("/console/marketplace/{}", package.name);
    let path = |p: &str| state.path(p);
    let csrf = browser.csrf();
    let require = format!("composer require {}", package.name);
    let snippet = format!(
        "\"repositories\": [\n    {{\"type\": \"composer\", \"url\": \"{}\"}}\n]",
        state.public_url
    );
    let limit_mib = state.config.packages.package_upload_limit / (1024 * 1024);
    let hook = state.url("/update-package?access_token=");
    let repository_url = forms
        .repository_url
        .clone()
        .or_else(|| package.repository_url.clone())
        .unwrap_or_default();
    let body = html! {
        h1 { (package.name) }
        p { span.badge { (type_label(package.package_type)) } " "
            span.badge #visibility { @if package.is_private() { "private" } @else { "public" } }
            " by " strong { (package.owner_username) } }
        @if let Some(d) = &package.description { p { (d) } }
        @match &package.abandoned {
            Abandoned::No => {},
            Abandoned::Yes => {
                div.flash.error #abandoned role="note" { p style="margin:0" {
                    "This add-on is abandoned: it is no longer maintained. Composer warns whoever installs it." } }
            },
            Abandoned::ReplacedBy(r) => {
                div.flash.error #abandoned role="note" { p style="margin:0" {
                    "This add-on is abandoned; use " a href=(path(&format!("/console/marketplace/{r}"))) { (r) } " instead." } }
            },
        }
        @if !advisories.is_empty() {
            h2 { "Security advisories" }
            ul.rows #advisories {
                @for a in &advisories {
                    li { div.row-main {
                        div.row-title { (a.title) " " span.badge { (severity_words(a)) } }
                        div.row-meta { "Affects " code { (a.affected_versions) }
                            @if let Some(c) = &a.cve { " · " (c) }
                            " · reported " (time(a.reported_at)) }
                        @if let Some(l) = &a.link { div.row-meta { a href=(l) rel="noopener noreferrer" { "Details" } } }
                    } }
                }
            }
        }
        h2 { "Install" }
        div.card {
            p.hint { "Add this repository to the project's composer.json:" }
            div.secret { code #snippet style="white-space:pre-wrap" { (snippet) } button type="button" data-copy="snippet" hidden { "Copy" } }
            p.hint { "then:" }
            div.secret { code #require { (require) } button type="button" data-copy="require" hidden { "Copy" } }
            @if package.is_private() { p.hint { "A private add-on needs a token: put a personal access token in Composer's auth.json (http-basic, the token as the password)." } }
        }
        h2 { "Versions" }
        @if versions.is_empty() {
            div.card { p.muted { "No version published yet." } }
        } @else {
            ul.rows #versions {
                @for v in &versions {
                    li.revoked[v.yanked.is_some()] { div.row-main {
                        div.row-title { (v.version) @if v.yanked.is_some() { " " span.badge { "yanked" } } }
                        @if let Some(y) = &v.yanked {
                            div.row-meta.yank-reason { "Yanked " (time(y.at)) ": " (y.reason) " — new installs no longer choose it." }
                        }
                        div.row-meta { "Published " (time(v.created_at)) " · " (v.size) " bytes · sha256 " code { (v.sha256.get(..12).unwrap_or_default()) "…" } }
                    } }
                }
            }
        }
        @if manages {
            h2 #manage { "Manage" }
            form.card #publish method="post" action=(path(&format!("{here}/versions"))) enctype="multipart/form-data" novalidate {
                h3 { "Publish a new version" }
                input type="hidden" name="csrf_token" value=(csrf);
                (text_field("version", "Version", &forms.version, forms.version_error.as_deref(),
                    Some("A Composer version, such as 1.4.0. A published version never changes.")))
                label for="archive" { "Zip archive" }
                p.hint #archive-hint { "The add-on's files with composer.json at the root, at most " (limit_mib) " MiB; its name and type must be those of " (package.name) "." }
                input type="file" id="archive" name="archive" accept=".zip,application/zip"
                    aria-invalid=[forms.archive_error.is_some().then_some("true")]
                    aria-describedby=(if forms.archive_error.is_some() { "archive-error" } else { "archive-hint" });
                @if let Some(e) = &forms.archive_error { p.field-error #archive-error { (e) } }
                div.actions { button.primary type="submit" { "Publish version" } }
            }
            form.card #visibility-form method="post" action=(path(&format!("{here}/visibility"))) {
                h3 { "Visibility" }
                input type="hidden" name="csrf_token" value=(csrf);
                @if package.is_private() {
                    p { "Private: only you, or under an organization's vendor its members, can see and install it." }
                    input type="hidden" name="visibility" value="public";
                    p.hint { "Made public, everyone can find and install it." }
                    div.actions { button type="submit" { "Make public" } }
                } @else {
                    p { "Public: everyone can find and install it." }
                    input type="hidden" name="visibility" value="private";
                    p.hint { "Made private, only you, or under an organization's vendor its members, can see it; other people's installs of it stop resolving." }
                    div.actions { button.danger type="submit" { "Make private" } }
                }
            }
            form.card #repository method="post" action=(path(&format!("{here}/repository"))) novalidate {
                h3 { "Publish from GitHub" }
                input type="hidden" name="csrf_token" value=(csrf);
                p.hint { "With a repository and a webhook, every new tag that is a version is published from the repository." }
                (text_field("repository_url", "Repository URL", &repository_url, forms.repository_error.as_deref(),
                    Some("The git repository, such as https://github.com/acme/theme. Empty: none.")))
                label for="webhook_secret" { "Webhook secret" }
                p.hint #webhook_secret-hint {
                    @if package.has_webhook_secret { "A secret is set; it is never shown again. Type a new one to replace it, or leave empty to keep it." }
                    @else { "No secret is set: 8 to 256 characters; pushes must then be signed with it." }
                }
                input type="password" id="webhook_secret" name="webhook_secret" autocomplete="new-password"
                    aria-invalid=[forms.secret_error.is_some().then_some("true")]
                    aria-describedby=(if forms.secret_error.is_some() { "webhook_secret-error" } else { "webhook_secret-hint" });
                @if let Some(e) = &forms.secret_error { p.field-error #webhook_secret-error { (e) } }
                @if package.has_webhook_secret {
                    label.check { input type="checkbox" name="remove_secret" value="1"; span { "Remove the secret" } }
                }
                div.actions { button.primary type="submit" { "Save repository" } }
                details {
                    summary { "How to set up the webhook on GitHub" }
                    ol {
                        li { "On the Tokens page, generate a personal access token with the " code { "write" } " scope." }
                        li { "In the repository on GitHub: Settings → Webhooks → Add webhook." }
                        li { "Payload URL: " code { (hook) "YOUR_TOKEN" } " (your token in place of YOUR_TOKEN)." }
                        li { "Content type: " code { "application/json" } "." }
                        li { "Secret: the webhook secret saved here." }
                        li { "Which events: " em { "Just the push event" } ". Then push a tag such as " code { "v1.4.0" } "." }
                    }
                }
            }
        }
        p { a href=(path(Nav::Marketplace.path())) { "Back to the Marketplace" } }
    };
    Render {
        state,
        headers,
        browser,
        user,
    }
    .page(status, Nav::Marketplace, &package.name, body)
}

/// An add-on's page
#[utoipa::path(
    get,
    path = "/console/marketplace/{vendor}/{name}",
    tag = "console",
    security(("sessionCookie" = []), ()),
    params(
        ("vendor" = String, Path, description = "the vendor"),
        ("name" = String, Path, description = "the add-on's name"),
    ),
    responses(
        (status = 200, description = "The page, or the sign-in form.", body = String, content_type = HTML),
        (status = 404, description = "No such add-on, or one the account may not see.", body = String, content_type = HTML),
    )
)]
pub async fn get_addon_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((vendor, name)): Path<(String, String)>,
) -> Response {
    let here = format!("/console/marketplace/{vendor}/{name}");
    let (browser, user) = match viewer(&state, &headers, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (package, access) = match state
        .services
        .packages()
        .seen(Viewer::User(user.id), &vendor, &name)
        .await
    {
        Ok(p) => p,
        Err(PackageError::NotFound(_)) => return not_found(&state),
        Err(e) => return server_error(&state, e),
    };
    addon_page(
        &state,
        &headers,
        &browser,
        &user,
        (&package, access),
        &OwnerForms::default(),
        StatusCode::OK,
    )
    .await
}

/// The answer to an owner's action on an add-on the account may not change: back to the
/// add-on's page (or the Marketplace, when it cannot see it) with a message.
fn not_yours(state: &AppState, e: PackageError, here: &str) -> Response {
    match e {
        PackageError::NotFound(_) => see(
            state,
            Nav::Marketplace.path(),
            Flash::error("There is no such add-on that you may see."),
        ),
        PackageError::NotOwner(p) | PackageError::NotEditor(p) => see(
            state,
            here,
            Flash::error(format!("Only the owner of {p} may change it.")),
        ),
        PackageError::VendorOwned { vendor, .. } => see(
            state,
            here,
            Flash::error(format!("The vendor {vendor} is another account's.")),
        ),
        e => server_error(state, e),
    }
}

/// A form field of a multipart body read whole, up to `limit` bytes (`None`: longer; the
/// rest is not read).
async fn read_field(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: usize,
) -> Result<Option<Vec<u8>>, axum::extract::multipart::MultipartError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// The most bytes a text field of the publish form may hold, and all the fields the form
/// does not know together (ignored, as the other forms ignore theirs).
const TEXT_FIELD_LIMIT: usize = 4096;
const IGNORED_LIMIT: usize = 64 * 1024;

/// The publish form as sent: its CSRF token, version and zip (`None` when it was over the
/// upload limit).
struct Upload {
    csrf: Option<String>,
    version: String,
    archive: Option<Vec<u8>>,
}

/// Reads the publish form, checking its CSRF token and the session before the zip is read
/// (the token comes first, as browsers send the fields in the page's order); any failure
/// is the response to send.
async fn read_upload(
    state: &AppState,
    headers: &HeaderMap,
    mut multipart: Multipart,
) -> Result<(Upload, Browser, User), Response> {
    let bad = |m: &str| {
        message(
            state,
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            m,
        )
    };
    let limit = state.config.packages.package_upload_limit;
    let mut checked = None;
    let mut upload = Upload {
        csrf: None,
        version: String::new(),
        archive: Some(Vec::new()),
    };
    let (mut seen_csrf, mut seen_version, mut seen_archive) = (false, false, false);
    let mut ignored = 0;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err(bad("the form could not be read")),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let (seen, max) = match name.as_str() {
            "csrf_token" => (&mut seen_csrf, TEXT_FIELD_LIMIT),
            "version" => (&mut seen_version, TEXT_FIELD_LIMIT),
            "archive" => (&mut seen_archive, limit),
            _ => {
                let rest = IGNORED_LIMIT - ignored;
                match read_field(&mut field, rest).await {
                    Ok(Some(b)) => ignored += b.len(),
                    Ok(None) => return Err(bad("the form has too much besides its fields")),
                    Err(_) => return Err(bad("the form could not be read")),
                }
                continue;
            }
        };
        if name == "archive" && checked.is_none() {
            checked = Some(checked_browser(state, headers, upload.csrf.as_deref()).await?);
        }
        if std::mem::replace(seen, true) {
            return Err(bad("a form field is repeated"));
        }
        let bytes = read_field(&mut field, max)
            .await
            .map_err(|_| bad("the form could not be read"))?;
        match (name.as_str(), bytes) {
            // Over the upload limit: the rest of the body is left unread.
            ("archive", None) => {
                upload.archive = None;
                break;
            }
            ("archive", bytes) => upload.archive = bytes,
            (_, None) => return Err(bad("a form field is too long")),
            (n, Some(b)) => {
                let text = String::from_utf8(b).map_err(|_| bad("the form is not valid UTF-8"))?;
                if n == "csrf_token" {
                    upload.csrf = Some(text);
                } else {
                    upload.version = text.trim().to_owned();
                }
            }
        }
    }
    let (browser, user) = match checked {
        Some(c) => c,
        None => checked_browser(state, headers, upload.csrf.as_deref()).await?,
    };
    Ok((upload, browser, user))
}

/// The publish form.
// Its only fields: a multipart part named with control characters is not readable.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The version published (`1.2.0`).
    pub version: String,
    /// The dist: a zip with `composer.json` at its root.
    #[schema(format = Binary, content_media_type = "application/zip")]
    pub archive: String,
}

/// Publish a version of an add-on from the console
///
/// As `PUT /packages/{vendor}/{name}/versions/{version}` does: the owner only, the same
/// upload limit and archive checks; the add-on keeps its visibility.
#[utoipa::path(
    post,
    path = "/console/marketplace/{vendor}/{name}/versions",
    tag = "console",
    security(("sessionCookie" = [])),
    params(
        ("vendor" = String, Path, description = "the vendor"),
        ("name" = String, Path, description = "the add-on's name"),
    ),
    request_body(content = PublishForm, content_type = "multipart/form-data"),
    responses(
        (status = 303, description = "Published, or refused for the account: to a page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 413, description = "The zip is over the upload limit: the page again with the message.", body = String, content_type = HTML),
        (status = 422, description = "Refused: the page again with what was typed and the reason next to the field.",
            body = String, content_type = HTML),
    )
)]
pub async fn publish_console_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((vendor, name)): Path<(String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let bad = |m: &str| {
        message(
            &state,
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            m,
        )
    };
    let Ok(multipart) = multipart else {
        return bad("the form must be sent as multipart/form-data");
    };
    let limit = state.config.packages.package_upload_limit;
    let (upload, browser, user) = match read_upload(&state, &headers, multipart).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let here = format!("/console/marketplace/{vendor}/{name}");
    let packages = state.services.packages();
    let viewer = Viewer::User(user.id);
    let package = match packages.managed(viewer, &vendor, &name).await {
        Ok(p) => p,
        Err(e) => return not_yours(&state, e, &here),
    };
    let mut forms = OwnerForms {
        version: upload.version.clone(),
        ..OwnerForms::default()
    };
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let outcome = match (&upload.archive, upload.version.is_empty()) {
        (_, true) => Err(PackageError::Invalid(FieldErrors::one(
            PackageField::Version,
            "is needed, such as 1.0.0",
        ))),
        (None, _) => {
            status = StatusCode::PAYLOAD_TOO_LARGE;
            Err(PackageError::InvalidArchive(format!(
                "the zip is larger than the {} MiB limit",
                limit / (1024 * 1024)
            )))
        }
        (Some(a), _) if a.is_empty() => Err(PackageError::Invalid(FieldErrors::one(
            PackageField::Archive,
            "choose the add-on's zip file",
        ))),
        (Some(_), false) => publish(&state, &user, &vendor, &name, &upload).await,
    };
    match outcome {
        Ok(v) => {
            return see(
                &state,
                &here,
                Flash::ok(format!("{} {} published.", package.name, v.version)),
            );
        }
        Err(PackageError::Invalid(errors)) => {
            for (field, m) in errors.iter() {
                let text = format!("The {field} {m}.");
                match field {
                    PackageField::Version | PackageField::Name => forms.version_error = Some(text),
                    _ => forms.archive_error = Some(capitalised(m) + "."),
                }
            }
        }
        Err(PackageError::InvalidArchive(m)) => {
            forms.archive_error = Some(format!("The zip was refused: {m}."));
        }
        Err(PackageError::VersionExists { package, version }) => {
            forms.version_error = Some(format!(
                "{package} {version} is already published, and a published version never changes: publish it as a new version."
            ));
        }
        Err(PackageError::Tombstoned { package, version }) => {
            forms.version_error = Some(format!(
                "{package} {version} was published and then deleted: a version is never published twice."
            ));
        }
        Err(e) => return not_yours(&state, e, &here),
    }
    forms
        .archive_error
        .get_or_insert_with(|| "Choose the zip file again.".to_owned());
    addon_page(
        &state,
        &headers,
        &browser,
        &user,
        (&package, Access::Manage),
        &forms,
        status,
    )
    .await
}

/// The API's publish, with its checks first (the same order as the API).
async fn publish(
    state: &AppState,
    user: &User,
    vendor: &str,
    name: &str,
    upload: &Upload,
) -> Result<PackageVersion, PackageError> {
    let (package_name, _) = publish_target(vendor, name, &upload.version)?;
    let packages = state.services.packages();
    packages
        .check_publish(
            user,
            Viewer::User(user.id),
            &package_name,
            &upload.version,
            None,
        )
        .await?;
    let bytes = upload.archive.clone().unwrap_or_default();
    let (_, v) = packages
        .publish(
            user.id,
            &package_name,
            &upload.version,
            None,
            bytes,
            Provenance {
                publisher_kind: "user".to_owned(),
                publisher_name: user.username.to_string(),
                token_id: None,
                source: Source::Upload,
            },
        )
        .await?;
    tracing::info!(package = %v.package, version = %v.version, "published from the console");
    Ok(v)
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The visibility form.
#[derive(ToSchema)]
pub struct VisibilityForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// `public` or `private`.
    pub visibility: String,
}

/// Switch an add-on between public and private from the console
///
/// As `PATCH /packages/{vendor}/{name}` with `visibility` does.
#[utoipa::path(
    post,
    path = "/console/marketplace/{vendor}/{name}/visibility",
    tag = "console",
    security(("sessionCookie" = [])),
    params(
        ("vendor" = String, Path, description = "the vendor"),
        ("name" = String, Path, description = "the add-on's name"),
    ),
    request_body(content = VisibilityForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done or refused: to a page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
    )
)]
pub async fn set_console_visibility(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((vendor, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = ["csrf_token", "visibility"];
    let (_, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/console/marketplace/{vendor}/{name}");
    let Some(visibility) = session::field(&form, "visibility").and_then(Visibility::parse) else {
        return see(&state, &here, Flash::error("Choose public or private."));
    };
    let update = PackageUpdate {
        visibility: Some(visibility),
        ..PackageUpdate::default()
    };
    match state
        .services
        .packages()
        .update(Viewer::User(user.id), &vendor, &name, update)
        .await
    {
        Ok(p) => see(
            &state,
            &here,
            Flash::ok(if p.is_private() {
                format!(
                    "{} is now private: only you can see and install it.",
                    p.name
                )
            } else {
                format!(
                    "{} is now public: everyone can find and install it.",
                    p.name
                )
            }),
        ),
        Err(e) => not_yours(&state, e, &here),
    }
}

/// The repository form.
#[derive(ToSchema)]
pub struct RepositoryForm {
    /// The token the page's forms carry, bound to the session cookie.
    pub csrf_token: String,
    /// The git repository (empty: none).
    pub repository_url: Option<String>,
    /// A new webhook secret (empty: keep the one set).
    pub webhook_secret: Option<String>,
    /// `1` removes the webhook secret.
    pub remove_secret: Option<String>,
}

/// Set an add-on's repository and webhook secret from the console
///
/// As `PATCH /packages/{vendor}/{name}` with `repositoryUrl` and `webhookSecret` does.
#[utoipa::path(
    post,
    path = "/console/marketplace/{vendor}/{name}/repository",
    tag = "console",
    security(("sessionCookie" = [])),
    params(
        ("vendor" = String, Path, description = "the vendor"),
        ("name" = String, Path, description = "the add-on's name"),
    ),
    request_body(content = RepositoryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved, or refused for the account: to a page with a message.", headers(("Location" = String))),
        (status = 400, description = "The form could not be read.", body = String, content_type = HTML),
        (status = 403, description = "The CSRF check failed.", body = String, content_type = HTML),
        (status = 422, description = "Refused: the page again with what was typed and the reason next to the field.",
            body = String, content_type = HTML),
    )
)]
pub async fn set_console_repository(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((vendor, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let single = [
        "csrf_token",
        "repository_url",
        "webhook_secret",
        "remove_secret",
    ];
    let (browser, form, user) = match checked_post(&state, &headers, body, &single).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/console/marketplace/{vendor}/{name}");
    let url = session::field(&form, "repository_url")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let secret = session::field(&form, "webhook_secret").unwrap_or_default();
    let webhook_secret = if session::field(&form, "remove_secret").is_some() {
        Some(None)
    } else if secret.is_empty() {
        None
    } else {
        Some(Some(secret.to_owned()))
    };
    let update = PackageUpdate {
        repository_url: Some((!url.is_empty()).then(|| url.clone())),
        webhook_secret,
        ..PackageUpdate::default()
    };
    let packages = state.services.packages();
    let viewer = Viewer::User(user.id);
    match packages.update(viewer, &vendor, &name, update).await {
        Ok(p) => see(
            &state,
            &here,
            Flash::ok(match (&p.repository_url, p.has_webhook_secret) {
                (Some(_), true) => {
                    format!("Repository of {} saved, with its webhook secret.", p.name)
                }
                (Some(_), false) => {
                    format!("Repository of {} saved; no webhook secret is set.", p.name)
                }
                (None, _) => format!("{} has no repository now.", p.name),
            }),
        ),
        Err(PackageError::Invalid(errors)) => {
            let mut forms = OwnerForms {
                repository_url: Some(url),
                ..OwnerForms::default()
            };
            for (field, m) in errors.iter() {
                let text = format!("The {field} {m}.");
                match field {
                    PackageField::WebhookSecret => forms.secret_error = Some(text),
                    _ => forms.repository_error = Some(text),
                }
            }
            let (package, access) = match packages.seen(viewer, &vendor, &name).await {
                Ok(p) => p,
                Err(e) => return not_yours(&state, e, &here),
            };
            addon_page(
                &state,
                &headers,
                &browser,
                &user,
                (&package, access),
                &forms,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(PackageError::CredentialsNeedHttps) => see(
            &state,
            &here,
            Flash::error(
                "Repository credentials are sent over https only: the repository URL must be an https URL.",
            ),
        ),
        Err(e) => not_yours(&state, e, &here),
    }
}
