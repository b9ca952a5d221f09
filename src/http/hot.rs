//! The lane of the busiest answer, `GET /user` (and `/users`): answered beside the
//! router when memory knows the presented token, which it does for nearly every request.
//!
//! Every step is the one the full path takes — the authentication layer's `found_now`,
//! `admission` and `answered`, the handler's [`UserCaller`] and `user_answer`, the
//! edge's `Finish` — only called in one pass, without the router's matching, the layers'
//! boxed futures and the request's extensions between them (`docs/benchmarks.md`,
//! twentieth round). A request the lane cannot finish at once (a token only the store
//! knows, a `DPoP` proof to check) goes the full path untouched.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse as _, Response};
use futures_util::future::Either;
use tower::Service;

use super::auth::{AuthenticateLayer, Found, Read, UserCaller, admission, found_now};
use super::middleware::{Finish, panic_response, tag_body, takes_etag};
use super::user::user_answer;
use crate::metrics::Metrics;
use crate::store::now;

/// The lane in front of the whole application `inner` (the edge and the router).
#[derive(Clone)]
pub struct Hot<S> {
    inner: S,
    auth: AuthenticateLayer,
    metrics: Metrics,
}

impl<S> Hot<S> {
    /// The lane, authenticating as `auth` does and recording into `metrics`.
    pub fn new(inner: S, auth: AuthenticateLayer, metrics: Metrics) -> Self {
        Hot {
            inner,
            auth,
            metrics,
        }
    }
}

impl<S> Service<Request> for Hot<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.answer(&request) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.inner.call(request)),
        }
    }
}

impl<S> Hot<S> {
    /// The answer to `request` when it is a `GET /user` the lane can finish now.
    fn answer(&self, request: &Request) -> Option<Response> {
        let route = match request.uri().path() {
            "/user" => "/user",
            "/users" => "/users",
            _ => return None,
        };
        if request.method() != Method::GET {
            return None;
        }
        let start = Instant::now();
        let now = now();
        let state = self.auth.state();
        let found = match found_now(state, request.headers(), request.uri(), now) {
            Found::Ask => return None,
            Found::Refused(e) => Err(e),
            Found::Caller(authn, entry) => Ok((authn, entry)),
        };
        let finish = Finish::begin(request, start, &self.metrics);
        let answered = std::panic::catch_unwind(AssertUnwindSafe(|| {
            finish.span.in_scope(|| {
                let (authn, entry) = match found {
                    Ok(caller) => caller,
                    Err(e) => return e.into_response(),
                };
                let quota = match admission(state, request, &authn, entry.as_deref(), now) {
                    Ok(quota) => quota,
                    Err(spent) => return spent.into_response(),
                };
                let (mut response, body) = match UserCaller::<Read>::of(Some(&authn)) {
                    Ok(caller) => user_answer(&caller.user),
                    Err(e) => (e.into_response(), Bytes::new()),
                };
                self.auth.answered(quota.as_ref(), &mut response);
                if takes_etag(&finish.method, &response) {
                    let (parts, _) = response.into_parts();
                    response = tag_body(finish.if_none_match.clone(), parts, body);
                }
                response
            })
        }));
        Some(match answered {
            Ok(response) => finish.end(response, Some(route)),
            // As the full path's panic guard does, outside the route.
            Err(panic) => finish.end(panic_response(panic), None),
        })
    }
}
