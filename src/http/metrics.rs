//! `GET /metrics`: the Prometheus text exposition of this application's metrics
//! ([`crate::metrics`]), and what the JSON API adds to them: every response tagged with
//! its route template, the method as a bounded label.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::metrics::CONTENT_TYPE;
use crate::state::AppState;

/// The method as a label: the standard ones by name, any extension method as `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// The matched route template, carried from inside the router (where axum knows it) out to
/// the edge layer (which sees the final status, after every layer).
#[derive(Clone)]
pub struct Route(MatchedPath);

impl Route {
    /// The template, such as `/user/tokens/{id}`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Hands the matched template of `request` outwards on its response.
pub fn tag(response: &mut Response, matched: Option<MatchedPath>) {
    if let Some(matched) = matched {
        response.extensions_mut().insert(Route(matched));
    }
}

/// Route layer of the routes the authentication middleware does not wrap (that one tags
/// its responses itself, saving a layer on the busiest routes). A service of its own, not
/// `axum::middleware::from_fn`: it calls the route at once and boxes only the future that
/// tags the answer.
#[derive(Clone, Copy)]
pub struct TagRouteLayer;

impl<S> Layer<S> for TagRouteLayer {
    type Service = TagRoute<S>;

    fn layer(&self, inner: S) -> TagRoute<S> {
        TagRoute(inner)
    }
}

/// The service of [`TagRouteLayer`].
#[derive(Clone)]
pub struct TagRoute<S>(S);

impl<S> Service<Request> for TagRoute<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let response = self.0.call(request);
        Box::pin(async move {
            let Ok(mut response) = response.await;
            tag(&mut response, matched);
            Ok(response)
        })
    }
}

/// Prometheus text exposition of this node's metrics
///
/// No authentication, outside the rate limits.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "The metrics.", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
    )
)]
pub async fn get_metrics(State(state): State<AppState>) -> Response {
    let hasher = state.services.hasher();
    let body = state.metrics.render(hasher.in_flight(), hasher.done());
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
