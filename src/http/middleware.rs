//! The edge of the server: one layer, [`EdgeLayer`], does what holds for every response — the
//! request id and the log span, the error envelope for bare statuses (404, 405, 413…),
//! `OPTIONS` and `Allow`, `Cache-Control`, `ETag`/`304`, and the request metrics — plus
//! panics as JSON and the redaction of secrets from logged URLs.
//!
//! These were six layers (three `from_fn` and three of `tower-http`); as one they cost a
//! single boxed future per request instead of six (docs/benchmarks.md measures it).

use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};
use tower::{Layer, Service};
use tracing::Instrument as _;

use super::metrics::{Route, method_label};
use crate::http::error::ApiError;
use crate::metrics::Metrics;

/// The request id header: the client's own when it sends one, else a fresh UUID.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The outermost layer (see the module's documentation). A service of its own, not
/// `axum::middleware::from_fn`: it calls the router at once and boxes only the future that
/// finishes the answer, where `from_fn` clones and boxes the inner service as well.
#[derive(Clone)]
pub struct EdgeLayer {
    metrics: Metrics,
}

impl EdgeLayer {
    /// The edge, recording into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        EdgeLayer { metrics }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service of [`EdgeLayer`].
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B> Service<Request> for Edge<S>
where
    S: Service<Request, Response = axum::http::Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let finish = Finish::begin(&request, Instant::now(), &self.metrics);
        let response = finish.span.in_scope(|| self.inner.call(request));
        Box::pin(async move {
            let Ok(response) = response.instrument(finish.span.clone()).await;
            let response = response.map(Body::new);
            let route = response.extensions().get::<Route>().cloned();
            let response = etag(&finish.method, finish.if_none_match.clone(), response).await;
            Ok(finish.end(response, route.as_ref().map(Route::as_str)))
        })
    }
}

/// What the edge keeps of a request to finish its answer: shared by [`Edge`] and the hot
/// routes' lane ([`super::hot`]), which answers without the router.
pub(super) struct Finish {
    start: Instant,
    pub(super) method: Method,
    pub(super) if_none_match: Option<HeaderValue>,
    request_id: HeaderValue,
    pub(super) span: tracing::Span,
    metrics: Metrics,
}

impl Finish {
    /// Takes the request's id (the client's own, else a fresh UUID) and opens its log span.
    pub(super) fn begin(request: &Request, start: Instant, metrics: &Metrics) -> Finish {
        // Only the log span and the answer carry it; no handler reads it from the request.
        let request_id = match request.headers().get(&X_REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let mut buf = uuid::Uuid::encode_buffer();
                let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
                HeaderValue::from_str(id).expect("a UUID is a valid header value")
            }
        };
        let method = request.method().clone();
        let span = tracing::info_span!(
            "request",
            method = %method,
            uri = %redact_uri(request.uri()),
            request_id = request_id.to_str().unwrap_or(""),
        );
        Finish {
            start,
            if_none_match: request.headers().get(header::IF_NONE_MATCH).cloned(),
            method,
            request_id,
            span,
            metrics: metrics.clone(),
        }
    }

    /// The answer as it leaves, after the `ETag` step: the envelope on bare errors,
    /// `Cache-Control`, the request id, the log line of a failure and the metrics.
    pub(super) fn end(self, response: Response, route: Option<&str>) -> Response {
        let mut response = normalize(&self.method, response);
        response.headers_mut().insert(X_REQUEST_ID, self.request_id);

        let status = response.status();
        let elapsed = self.start.elapsed();
        if status.is_server_error() {
            self.span
                .in_scope(|| tracing::error!(status = status.as_u16(), ?elapsed, "request failed"));
        }
        self.metrics.record_request(
            method_label(&self.method),
            route.unwrap_or("unmatched"),
            status.as_u16(),
            elapsed.as_secs_f64(),
        );
        response
    }
}

/// The fallback: an unknown path.
pub async fn not_found() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND)
}

/// A panic becomes an opaque 500 in the envelope; the connection stays up.
pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal(anyhow::anyhow!("a handler panicked")).into_response()
}

/// The handler wrote its own error body: JSON, or an HTML page (the authorization
/// endpoint speaks to browsers).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"))
}

/// `Allow` as a list of the methods a path allows, without the implicit `HEAD`.
fn tidy_allow(headers: &mut HeaderMap) {
    let Some(allow) = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let methods: Vec<&str> = allow
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty() && *m != "HEAD")
        .collect();
    if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
        headers.insert(header::ALLOW, v);
    }
}

/// Every response: the envelope on bare errors, `OPTIONS` → 204 with `Allow`, and
/// `Cache-Control: no-cache, private` unless the handler chose otherwise.
fn normalize(method: &Method, response: Response) -> Response {
    let is_options = method == Method::OPTIONS;
    let (mut parts, body) = response.into_parts();

    let mut response = if parts.status == StatusCode::METHOD_NOT_ALLOWED {
        tidy_allow(&mut parts.headers);
        let allow = parts.headers.get(header::ALLOW).cloned();
        let mut r = if is_options {
            StatusCode::NO_CONTENT.into_response()
        } else {
            ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED).into_response()
        };
        if let Some(allow) = allow {
            r.headers_mut().insert(header::ALLOW, allow);
        }
        copy_context(&parts.headers, r.headers_mut());
        r
    } else if (parts.status.is_client_error() || parts.status.is_server_error())
        && !is_json(&parts.headers)
    {
        let mut r = ApiError::from_status(parts.status).into_response();
        copy_context(&parts.headers, r.headers_mut());
        r
    } else {
        Response::from_parts(parts, body)
    };

    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache, private"));
    response
}

/// Headers of the original response that the envelope keeps.
fn copy_context(from: &HeaderMap, to: &mut HeaderMap) {
    for name in [
        header::WWW_AUTHENTICATE,
        header::RETRY_AFTER,
        header::HeaderName::from_static("x-ratelimit-limit"),
        header::HeaderName::from_static("x-ratelimit-remaining"),
        header::HeaderName::from_static("x-ratelimit-reset"),
        header::HeaderName::from_static("x-ratelimit-used"),
    ] {
        if let Some(v) = from.get(&name) {
            to.insert(name, v.clone());
        }
    }
}

/// Largest body the ETag layer buffers to hash; larger ones pass untouched.
const ETAG_MAX_BODY: u64 = 4 * 1024 * 1024;

/// `ETag` on successful GETs (a digest of the body), and `304` when `If-None-Match`
/// names it (weak comparison, RFC 9110 §13.1.2).
async fn etag(method: &Method, if_none_match: Option<HeaderValue>, response: Response) -> Response {
    if !takes_etag(method, &response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    if let Some(tag) = parts.headers.get(header::ETAG).cloned() {
        return settle_etag(if_none_match, parts, tag, body);
    }
    let exact = body.size_hint().exact();
    if exact.is_none_or(|n| n > ETAG_MAX_BODY) {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, ETAG_MAX_BODY as usize).await {
        Ok(b) => b,
        Err(e) => return ApiError::internal(anyhow::anyhow!("body: {e}")).into_response(),
    };
    tag_body(if_none_match, parts, bytes)
}

/// The answers the `ETag` step applies to: a `200` to `GET` or `HEAD` that may be stored.
fn takes_etag(method: &Method, response: &Response) -> bool {
    let no_store = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store"));
    matches!(*method, Method::GET | Method::HEAD)
        && !no_store
        && response.status() == StatusCode::OK
}

/// The `ETag` step on an answer whose whole body, when it is not tagged yet, is `bytes`.
pub(super) fn etag_at_hand(
    method: &Method,
    if_none_match: Option<HeaderValue>,
    response: Response,
    bytes: Bytes,
) -> Response {
    if !takes_etag(method, &response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    match parts.headers.get(header::ETAG).cloned() {
        Some(tag) => settle_etag(if_none_match, parts, tag, body),
        None => tag_body(if_none_match, parts, bytes),
    }
}

/// The `ETag` step on an answer whose whole body is at hand, and not tagged yet.
fn tag_body(
    if_none_match: Option<HeaderValue>,
    mut parts: axum::http::response::Parts,
    bytes: Bytes,
) -> Response {
    let tag = etag_of(&bytes);
    parts.headers.insert(header::ETAG, tag.clone());
    settle_etag(if_none_match, parts, tag, Body::from(bytes))
}

/// `304` when `If-None-Match` names the answer's tag, else the answer.
fn settle_etag(
    if_none_match: Option<HeaderValue>,
    parts: axum::http::response::Parts,
    tag: HeaderValue,
    body: Body,
) -> Response {
    if if_none_match.is_some_and(|inm| matches_etag(&inm, &tag)) {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        for name in [
            header::ETAG,
            header::CACHE_CONTROL,
            header::VARY,
            header::LAST_MODIFIED,
        ] {
            if let Some(v) = parts.headers.get(&name) {
                not_modified.headers_mut().insert(name, v.clone());
            }
        }
        return not_modified;
    }
    Response::from_parts(parts, body)
}

/// A strong entity tag: the first 128 bits of the body's SHA-256, in hex, quoted. Built
/// without intermediate strings: it runs on every successful GET. (Public for the
/// benchmark's in-memory limit, which tags its answers the same way.)
pub fn etag_of(body: &[u8]) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(body);
    let mut tag = [b'"'; 34];
    for (i, byte) in digest[..16].iter().enumerate() {
        tag[1 + 2 * i] = HEX[usize::from(byte >> 4)];
        tag[2 + 2 * i] = HEX[usize::from(byte & 0x0f)];
    }
    HeaderValue::from_bytes(&tag).expect("quoted hex is a valid header value")
}

fn matches_etag(if_none_match: &HeaderValue, tag: &HeaderValue) -> bool {
    let (Ok(inm), Ok(tag)) = (if_none_match.to_str(), tag.to_str()) else {
        return false;
    };
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let tag = opaque(tag);
    inm.split(',').any(|t| t.trim() == "*" || opaque(t) == tag)
}

/// Query parameters whose values are secrets and never reach a log line.
const SECRET_PARAMS: [&str; 8] = [
    "access_token",
    "token",
    "refresh_token",
    "client_secret",
    "password",
    "code",
    "code_verifier",
    "secret",
];

/// The URI with the values of secret query parameters replaced by `[redacted]`.
pub fn redact_uri(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            let decoded: String = form_urlencoded::parse(key.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect();
            if SECRET_PARAMS.contains(&decoded.as_str()) {
                format!("{key}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_from_logged_urls() {
        let uri: Uri = "/oauth/v2/token?client_id=c&client_secret=s3&password=p%20w&username=u&acc%65ss_token=t"
            .parse()
            .unwrap();
        let logged = redact_uri(&uri);
        assert!(!logged.contains("s3") && !logged.contains("p%20w") && !logged.contains("=t"));
        assert!(logged.contains("client_id=c") && logged.contains("username=u"));
    }

    #[test]
    fn etags_are_quoted_hex_of_the_digest() {
        let tag = etag_of(b"{}");
        let text = tag.to_str().unwrap();
        assert_eq!(text.len(), 34);
        assert!(text.starts_with('"') && text.ends_with('"'));
        // SHA-256("{}") starts with 44136fa3.
        assert!(text.starts_with("\"44136fa3"), "{text}");
        assert_ne!(etag_of(b"{\"a\":1}"), tag);
    }

    #[test]
    fn etag_matching_is_weak_and_accepts_lists_and_star() {
        let tag = HeaderValue::from_static("\"abc\"");
        for inm in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*"] {
            assert!(
                matches_etag(&HeaderValue::from_str(inm).unwrap(), &tag),
                "{inm}"
            );
        }
        assert!(!matches_etag(&HeaderValue::from_static("\"abd\""), &tag));
    }
}
