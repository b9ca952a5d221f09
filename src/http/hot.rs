//! The lane of the busiest answers: `GET /user` (and `/users`), which SDKs ask to check a
//! token, and `GET /p2/{vendor}/{file}`, Composer's metadata of an add-on, answered
//! beside the router when memory knows the presented token (or there is none) and holds
//! the document — as it does for nearly every request.
//!
//! Every step is the one the full path takes — the authentication layer's `found_now`,
//! `admission` and `answered`, the handlers' [`UserCaller`], [`OptionalCaller`],
//! `user_answer` and `conditional`, the edge's `Finish` and `ETag` step — only called in
//! one pass, without the router's matching, the layers' boxed futures and the request's
//! extensions between them (`docs/benchmarks.md`, twentieth round). A request the lane
//! cannot finish at once (a token only the store knows, a `DPoP` proof to check, a
//! document to render) goes the full path untouched.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse as _, Response};
use futures_util::future::Either;
use tower::util::Oneshot;
use tower::{Service, ServiceExt as _};

use super::auth::{
    AuthenticateLayer, Found, OptionalCaller, Read, UserCaller, admission, found_now,
};
use super::composer::conditional;
use super::middleware::{Finish, etag_at_hand, panic_response};
use super::user::user_answer;
use crate::metrics::Metrics;
use crate::service::registry_cache::Document;
use crate::store::now;

/// The lane in front of the whole application `inner` (the edge and the router).
///
/// One shared pointer: the server clones its service for every request, and most
/// requests never reach `inner`, which is cloned only for those that do.
pub struct Hot<S>(Arc<Parts<S>>);

struct Parts<S> {
    inner: S,
    auth: AuthenticateLayer,
    metrics: Metrics,
}

impl<S> Clone for Hot<S> {
    fn clone(&self) -> Self {
        Hot(self.0.clone())
    }
}

impl<S> Hot<S> {
    /// The lane, authenticating as `auth` does and recording into `metrics`.
    pub fn new(inner: S, auth: AuthenticateLayer, metrics: Metrics) -> Self {
        Hot(Arc::new(Parts {
            inner,
            auth,
            metrics,
        }))
    }
}

impl<S> Service<Request> for Hot<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, Oneshot<S, Request>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // `inner` is made ready on its own clone, when a request goes its way.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.answer(&request) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.0.inner.clone().oneshot(request)),
        }
    }
}

/// A route the lane answers.
enum Lane<'a> {
    /// `GET /user`, under its route's template.
    User(&'static str),
    /// `GET /p2/…`, by its document's name (`p2/acme/lib.json`).
    Metadata(&'a str),
}

/// The metadata route's template, as the metrics name it.
const METADATA_ROUTE: &str = "/p2/{vendor}/{file}";

impl Lane<'_> {
    fn of(path: &str) -> Option<Lane<'_>> {
        match path {
            "/user" => Some(Lane::User("/user")),
            "/users" => Some(Lane::User("/users")),
            _ => {
                let document = path.strip_prefix('/')?;
                let (vendor, file) = document.strip_prefix("p2/")?.split_once('/')?;
                // Two segments, as the router matches them, with nothing for `Path` to
                // decode: the document's name is the path's own text.
                let plain = !vendor.is_empty()
                    && !file.is_empty()
                    && !file.contains('/')
                    && !path.contains('%');
                plain.then_some(Lane::Metadata(document))
            }
        }
    }

    fn template(&self) -> &'static str {
        match self {
            Lane::User(route) => route,
            Lane::Metadata(_) => METADATA_ROUTE,
        }
    }
}

/// What the lane answers with, once it knows it can.
enum Work {
    User,
    /// The anonymous view's document, kept in memory.
    Metadata(Arc<Document>),
}

impl<S> Hot<S> {
    /// The answer to `request` when it is one the lane can finish now.
    fn answer(&self, request: &Request) -> Option<Response> {
        let lane = Lane::of(request.uri().path())?;
        if request.method() != Method::GET {
            return None;
        }
        let start = Instant::now();
        let Parts { auth, metrics, .. } = &*self.0;
        let state = auth.state();
        // A document not in memory (or of an epoch not known without asking) is rendered
        // by the full path, which keeps it for the next request.
        let work = match lane {
            Lane::User(_) => Work::User,
            Lane::Metadata(document) => {
                let packages = state.services.packages();
                Work::Metadata(packages.cached_document(document, packages.registry_epoch_now()?)?)
            }
        };
        let now = now();
        let found = match found_now(state, request.headers(), request.uri(), now) {
            Found::Ask => return None,
            Found::Refused(e) => Err(e),
            Found::Caller(authn, entry) => Ok((authn, entry)),
        };
        let finish = Finish::begin(request, start, metrics);
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
                let (mut response, body) = match work {
                    Work::User => match UserCaller::<Read>::of(Some(&authn)) {
                        Ok(caller) => user_answer(&caller.user),
                        Err(e) => (e.into_response(), Bytes::new()),
                    },
                    // Tagged with the document's digest: no body for the edge to hash.
                    Work::Metadata(kept) => match OptionalCaller::of(Some(&authn)) {
                        Ok(_) => (conditional(request.headers(), &kept), Bytes::new()),
                        Err(e) => (e.into_response(), Bytes::new()),
                    },
                };
                auth.answered(quota.as_ref(), &mut response);
                let inm = finish.if_none_match.clone();
                etag_at_hand(&finish.method, inm, response, body)
            })
        }));
        Some(match answered {
            Ok(response) => finish.end(response, Some(lane.template())),
            // As the full path's panic guard does, outside the route.
            Err(panic) => finish.end(panic_response(panic), None),
        })
    }
}
