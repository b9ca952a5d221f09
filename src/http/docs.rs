//! `GET /docs`: Swagger UI rendering [`super::openapi`]'s document, served from the binary
//! (`utoipa-swagger-ui`'s `vendored` assets), so that the page works offline: it loads no
//! script, style or font from another host.
//!
//! The page is answered at `/docs` itself (200, no redirect to `/docs/`): a `<base>` tag
//! makes its relative asset URLs resolve under `/docs/`, and the assets are answered at
//! `/docs/{file}` (unknown files are our JSON `404`).

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_swagger_ui::Config;

use super::AppState;
use crate::error::ApiError;

/// Routes of this page, outside the rate limits (static content).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(super::openapi::get_openapi))
        .route("/docs", get(get_docs))
        .route("/docs/{file}", get(get_docs_asset))
}

/// The UI's configuration: our document, relative to the page (`/docs/` → `/openapi.json`),
/// so that a deployment under a path prefix works too.
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new(["../openapi.json"])
            .try_it_out_enabled(true)
            .display_operation_id(true),
    )
});

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
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

/// `GET /docs`: the page.
pub async fn get_docs() -> Response {
    let Some((_, bytes)) = asset("index.html") else {
        return ApiError::from_status(axum::http::StatusCode::NOT_FOUND).into_response();
    };
    let html =
        String::from_utf8_lossy(&bytes).replacen("<head>", "<head>\n    <base href=\"docs/\">", 1);
    respond("text/html; charset=utf-8", html.into_bytes())
}

/// `GET /docs/{file}`: the page's scripts, styles and icons.
pub async fn get_docs_asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (content_type, bytes) =
        asset(&file).ok_or_else(|| ApiError::from_status(axum::http::StatusCode::NOT_FOUND))?;
    Ok(respond(&content_type, bytes))
}
