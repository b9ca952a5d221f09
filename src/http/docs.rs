//! `GET /docs`: Swagger UI rendering [`super::openapi`]'s document, served from the binary
//! (`utoipa-swagger-ui`'s `vendored` assets), so that the page works offline: it loads no
//! script, style or font from another host.
//!
//! The page is answered at `/docs` itself (200, no redirect to `/docs/`): a `<base>` tag
//! makes its relative asset URLs resolve under `/docs/`, and the assets are answered at
//! `/docs/{file}` (unknown files are our JSON `404`).
//!
//! Nor does it send anything to another host: Swagger UI's validator, which by default
//! posts the document's URL to validator.swagger.io, is off; and the page and its assets
//! carry a Content-Security-Policy that allows only this server ([`CSP`]), so that nothing
//! else could be loaded or called even if the UI tried, and `X-Frame-Options: DENY`
//! (its "Try it out" sends requests with whatever token is typed in: no framing).

use std::sync::{Arc, LazyLock};

use axum::Extension;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use utoipa_swagger_ui::Config;

use super::openapi::Published;
use crate::http::error::ApiError;
use crate::http::error::responses::NotFound;
use crate::state::AppState;

/// Routes of the document and its page, outside the rate limits (static content);
/// `document` is what `/openapi.json` answers, published once the router is assembled.
pub fn router(document: Published) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(super::openapi::get_openapi).layer(Extension(document)))
        .routes(routes!(get_docs))
        .routes(routes!(get_docs_asset))
}

/// The UI's configuration: our document, relative to the page (`/docs/` → `/openapi.json`),
/// so that a deployment under a path prefix works too; no validator (`"none"` is Swagger
/// UI's documented value to switch it off).
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new(["../openapi.json"])
            .try_it_out_enabled(true)
            .display_operation_id(true)
            .validator_url("none"),
    )
});

/// The policy of the page and its assets: scripts, styles, fonts and requests from this
/// server only (the page has no inline script: its configuration is the served
/// `swagger-initializer.js`). Two exceptions that load nothing: images as `data:` URLs,
/// which Swagger UI's stylesheet uses for its icons, and the one `<style>` element its
/// logo carries, allowed by its SHA-256 (a test checks it against the served scripts, so
/// an upgrade of Swagger UI that changes it fails the suite).
pub const CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

fn asset(file: &str) -> Option<(String, Vec<u8>)> {
    match utoipa_swagger_ui::serve(file, CONFIG.clone()) {
        Ok(Some(f)) => Some((f.content_type, f.bytes.into_owned())),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, file, "swagger ui asset");
            None
        }
    }
}

fn respond(content_type: &str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A page that renders this document (Swagger UI)
#[utoipa::path(
    get,
    path = "/docs",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "The page (HTML).", body = String,
            content_type = "text/html; charset=utf-8"),
    )
)]
pub async fn get_docs() -> Response {
    let Some((_, bytes)) = asset("index.html") else {
        return ApiError::from_status(axum::http::StatusCode::NOT_FOUND).into_response();
    };
    let html =
        String::from_utf8_lossy(&bytes).replacen("<head>", "<head>\n    <base href=\"docs/\">", 1);
    respond("text/html; charset=utf-8", html.into_bytes())
}

/// The page's scripts, styles and icons
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "meta",
    security(),
    params(("file" = String, Path, description = "an asset of the page (`swagger-ui.css`)")),
    responses(
        (status = 200, description = "The asset, with its own type.", content(
            ("text/javascript"), ("text/css"), ("image/png"), ("text/html"),
        )),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_docs_asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (content_type, bytes) =
        asset(&file).ok_or_else(|| ApiError::from_status(axum::http::StatusCode::NOT_FOUND))?;
    Ok(respond(&content_type, bytes))
}
