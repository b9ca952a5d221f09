//! Token presentation (`docs/api.md` §3, RFC 6750): the middleware that finds the caller's token
//! once per request — `Authorization: token T`, `Authorization: Bearer T` (any case),
//! HTTP Basic with the token as password (Composer), or `?access_token=T` — applies the
//! rate limits, and leaves an [`Authn`] for the extractors that guard each endpoint.

use std::borrow::Cow;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use subtle::ConstantTimeEq as _;
use tower::{Layer, Service};

use crate::domain::dpop::Expected;
use crate::domain::{Scope, form};
use crate::http::error::{ApiError, DpopRefusal};
use crate::service::auth_cache::CachedToken;
use crate::service::dpop::DpopError;
use crate::state::ClientAddr;
use crate::state::ratelimit::Quota;
use crate::state::{AppState, RateKey};
use crate::store::packages::Viewer;
use crate::store::{AccessTokenInfo, User, now};

/// Who is calling, as the middleware found out.
#[derive(Debug, Clone)]
pub enum Authn {
    /// No token (or a scheme this API does not use).
    Anonymous,
    /// A valid token.
    Token(Arc<AccessTokenInfo>),
    /// A token that is unknown, expired or revoked.
    Invalid,
    /// A token presented more than one way.
    Ambiguous,
    /// A DPoP-bound token presented without its proof (as `Bearer`, `token`, Basic or in
    /// the query), a bearer token presented as `DPoP`, or a proof that failed.
    Dpop(DpopRefusal),
}

/// The pairs of a query already checked by [`admit`] (nothing for one that is not UTF-8).
fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query
        .and_then(|q| form::pairs(q.as_bytes()).ok())
        .into_iter()
        .flatten()
}

/// `access_token` is among the query's parameters.
fn has_query_token(query: Option<&str>) -> bool {
    query_pairs(query).any(|(k, _)| k == "access_token")
}

/// What the request presented (borrowed from it, unless it had to be decoded).
#[derive(Debug, PartialEq, Eq)]
enum Presented<'a> {
    None,
    One(Cow<'a, str>),
    /// A token under the `DPoP` scheme (RFC 9449 §7.1).
    Dpop(Cow<'a, str>),
    Many,
    Malformed,
}

fn from_header(value: &HeaderValue) -> Presented<'_> {
    let Ok(value) = value.to_str() else {
        return Presented::Malformed;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        if rest.is_empty() || rest.contains(' ') {
            Presented::Malformed
        } else {
            Presented::One(Cow::Borrowed(rest))
        }
    } else if scheme.eq_ignore_ascii_case("dpop") {
        if rest.is_empty() || rest.contains(' ') {
            Presented::Malformed
        } else {
            Presented::Dpop(Cow::Borrowed(rest))
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        // Composer's http-basic: any username, the token as password.
        let decoded = STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|s| s.split_once(':')) {
            Some((_, token)) if !token.is_empty() => Presented::One(Cow::Owned(token.to_owned())),
            _ => Presented::Malformed,
        }
    } else {
        Presented::None
    }
}

fn presented<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Presented<'a> {
    let in_headers = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .map(from_header);
    let in_query = query_pairs(query)
        .filter(|(k, v)| k == "access_token" && !v.is_empty())
        .map(|(_, v)| Presented::One(v));
    let mut found = Presented::None;
    for p in in_headers.chain(in_query) {
        if found != Presented::None && p != Presented::None {
            return Presented::Many;
        }
        if p != Presented::None {
            found = p;
        }
    }
    found
}

/// Route layer of the resource endpoints: authenticates, rate-limits, runs the route, adds
/// the quota headers, and tags the response with its route for the metrics (see
/// [`super::metrics::TagRouteLayer`]).
///
/// A service of its own, not `axum::middleware::from_fn`: when memory knows the token (as
/// it does for nearly every request), it decides at once and calls the route without
/// cloning it. Only a token the store must be asked about, or a `DPoP` proof to check,
/// waits first.
#[derive(Clone)]
pub struct AuthenticateLayer {
    state: AppState,
    challenge: Option<DpopChallenge>,
}

impl AuthenticateLayer {
    /// The layer for this application.
    pub fn new(state: &AppState) -> Self {
        AuthenticateLayer {
            challenge: DpopChallenge::new(state),
            state: state.clone(),
        }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`AuthenticateLayer`].
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    layer: AuthenticateLayer,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for Authenticate<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Answer {
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let now = now();
        match found_now(&self.layer.state, request.headers(), request.uri(), now) {
            Found::Refused(e) => {
                let mut refused = e.into_response();
                super::metrics::tag(&mut refused, matched);
                Box::pin(std::future::ready(Ok(refused)))
            }
            Found::Caller(authn, entry) => {
                let layer = self.layer.clone();
                admit(layer, &mut self.inner, request, authn, entry, now, matched)
            }
            Found::Ask => {
                // The route is called after an await: it leaves with its own service.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let layer = self.layer.clone();
                Box::pin(async move {
                    // In parts: a request's body may not be shared across an await.
                    let (parts, body) = request.into_parts();
                    match found(&layer.state, &parts, now).await {
                        Ok((authn, entry)) => {
                            let request = Request::from_parts(parts, body);
                            admit(layer, &mut inner, request, authn, entry, now, matched).await
                        }
                        Err(e) => {
                            let mut refused = e.into_response();
                            super::metrics::tag(&mut refused, matched);
                            Ok(refused)
                        }
                    }
                })
            }
        }
    }
}

/// What [`found_now`] could tell.
pub(super) enum Found {
    /// The caller, and its token's entry in the auth cache.
    Caller(Authn, Option<Arc<CachedToken>>),
    /// Only the store can tell, or a `DPoP` proof is to be checked: [`found`].
    Ask,
    /// The request is refused before anyone is looked up.
    Refused(ApiError),
}

/// Who a request's presentation names, as far as that is known without waiting.
pub(super) fn found_now(state: &AppState, headers: &HeaderMap, uri: &Uri, now: i64) -> Found {
    // Every resource endpoint, before anything reads the query: one that is not UTF-8 is
    // refused, never read with replacement characters.
    if let Some(q) = uri.query()
        && form::pairs(q.as_bytes()).is_err()
    {
        return Found::Refused(ApiError::invalid_query());
    }
    if !state.config.oauth.query_tokens && has_query_token(uri.query()) {
        return Found::Refused(ApiError::query_token_refused());
    }
    match presented(headers, uri.query()) {
        Presented::One(token) => match state.services.tokens().resolve_cached(&token) {
            Some(entry) => Found::Caller(bearer(entry.as_deref(), now), entry),
            None => Found::Ask,
        },
        Presented::Dpop(_) => Found::Ask,
        other => Found::Caller(without_token(&other), None),
    }
}

/// Who a request's presentation names, after asking the store and checking a `DPoP` proof
/// ([`found_now`] has let the request pass).
async fn found(
    state: &AppState,
    request: &Parts,
    now: i64,
) -> Result<(Authn, Option<Arc<CachedToken>>), ApiError> {
    let tokens = state.services.tokens();
    match presented(&request.headers, request.uri.query()) {
        Presented::One(token) => {
            let entry = tokens.resolve(&token).await?;
            Ok((bearer(entry.as_deref(), now), entry))
        }
        Presented::Dpop(token) => {
            let entry = tokens.resolve(&token).await?;
            let authn = match entry.as_ref().and_then(|e| e.info.clone()) {
                Some(info) if info.is_active(now) => {
                    match dpop_proof(state, request, &token, &info, now).await {
                        Ok(()) => Authn::Token(info),
                        Err(Ok(refusal)) => Authn::Dpop(refusal),
                        Err(Err(e)) => return Err(e),
                    }
                }
                _ => Authn::Dpop(DpopRefusal::Invalid(
                    "the access token is invalid, expired or revoked".into(),
                )),
            };
            Ok((authn, entry))
        }
        other => Ok((without_token(&other), None)),
    }
}

/// What a presentation without a token to look up means.
fn without_token(presented: &Presented<'_>) -> Authn {
    match presented {
        Presented::None => Authn::Anonymous,
        Presented::Many => Authn::Ambiguous,
        _ => Authn::Invalid,
    }
}

/// What a token presented as `Bearer`, `token`, Basic or in the query means.
fn bearer(entry: Option<&CachedToken>, now: i64) -> Authn {
    match entry.and_then(|e| e.info.clone()) {
        // A bound token is worthless without its key (RFC 9449 §7.2).
        Some(info) if info.is_active(now) && info.jkt.is_some() => {
            Authn::Dpop(DpopRefusal::Invalid(
                "this access token is DPoP-bound: send it as Authorization: DPoP with a DPoP \
                 proof"
                    .into(),
            ))
        }
        Some(info) if info.is_active(now) => Authn::Token(info),
        _ => Authn::Invalid,
    }
}

/// Applies the rate limit to the caller, records the token's use, and runs the route.
fn admit<S>(
    layer: AuthenticateLayer,
    inner: &mut S,
    mut request: Request,
    authn: Authn,
    entry: Option<Arc<CachedToken>>,
    now: i64,
    matched: Option<MatchedPath>,
) -> Answer
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    let quota = match admission(&layer.state, &request, &authn, entry.as_deref(), now) {
        Ok(quota) => quota,
        Err(spent) => {
            let mut refused = spent.into_response();
            super::metrics::tag(&mut refused, matched);
            return Box::pin(std::future::ready(Ok(refused)));
        }
    };
    request.extensions_mut().insert(authn);
    let response = inner.call(request);
    Box::pin(async move {
        let Ok(mut response) = response.await;
        layer.answered(quota.as_ref(), &mut response);
        super::metrics::tag(&mut response, matched);
        Ok(response)
    })
}

/// What is decided between finding the caller and running the route: the caller's rate
/// limit (refused when it is spent), and the token's use recorded.
pub(super) fn admission(
    state: &AppState,
    request: &Request,
    authn: &Authn,
    entry: Option<&CachedToken>,
    now: i64,
) -> Result<Option<Quota>, Spent> {
    let quota = match authn {
        Authn::Token(info) if state.limits.token.enabled() => {
            Some(state.limits.token.hit(&RateKey::Token(info.id)))
        }
        Authn::Token(_) => None,
        _ if state.limits.anonymous.enabled() => {
            let ClientAddr(addr) = ClientAddr::of(request.headers(), request.extensions(), state);
            Some(state.limits.anonymous.hit(&RateKey::Addr(addr)))
        }
        _ => None,
    };
    if let Some(q) = quota.filter(|q| !q.allowed) {
        return Err(Spent(q));
    }
    if let (Authn::Token(_), Some(entry)) = (authn, entry) {
        state.services.tokens().record_use(entry, now);
    }
    Ok(quota)
}

/// A caller's spent rate limit: the `429` it is answered with.
pub(super) struct Spent(Quota);

impl IntoResponse for Spent {
    fn into_response(self) -> Response {
        let mut response = ApiError::rate_limited(self.0.retry_after()).into_response();
        quota_headers(response.headers_mut(), &self.0);
        response
    }
}

impl AuthenticateLayer {
    /// What the layer adds to the route's answer: the quota headers, and on a `401` the
    /// challenges that point at this API's metadata.
    pub(super) fn answered(&self, quota: Option<&Quota>, response: &mut Response) {
        if let Some(q) = quota {
            quota_headers(response.headers_mut(), q);
        }
        if response.status() == StatusCode::UNAUTHORIZED {
            announce_resource_metadata(
                &self.state,
                self.challenge.as_ref(),
                response.headers_mut(),
            );
        }
    }

    /// The application this layer serves.
    pub(super) fn state(&self) -> &AppState {
        &self.state
    }
}

/// The `DPoP` challenge that follows a `Bearer` one on every `401` of the API (RFC 9449
/// §7.1, RFC 9728 §5.1), made once: it depends only on the public URL.
#[derive(Clone)]
pub struct DpopChallenge(HeaderValue);

impl DpopChallenge {
    /// `DPoP algs="…", resource_metadata="…"` for this server, or `None` when the public
    /// URL holds bytes a header may not carry.
    pub fn new(state: &AppState) -> Option<DpopChallenge> {
        let metadata = state.url(super::oauth::metadata::RESOURCE_METADATA_PATH);
        let algs = crate::domain::dpop::ALGS.join(" ");
        let value = format!("DPoP algs=\"{algs}\", resource_metadata=\"{metadata}\"");
        HeaderValue::from_str(&value).ok().map(DpopChallenge)
    }
}

/// Points a `401`'s client at this API's metadata (RFC 9728 §5.1) and offers the `DPoP`
/// scheme beside `Bearer` (RFC 9449 §7.1). The `Bearer` challenge stays exactly as
/// documented (clients compare it); a `DPoP` challenge gets `resource_metadata`, and a
/// `Bearer` one is followed by `challenge`.
fn announce_resource_metadata(
    state: &AppState,
    challenge: Option<&DpopChallenge>,
    headers: &mut HeaderMap,
) {
    let Some(first) = headers.get(header::WWW_AUTHENTICATE) else {
        return;
    };
    if !first.as_bytes().starts_with(b"DPoP ") {
        if let Some(DpopChallenge(challenge)) = challenge {
            headers.append(header::WWW_AUTHENTICATE, challenge.clone());
        }
        return;
    }
    let Ok(first) = first.to_str() else {
        return;
    };
    let metadata = state.url(super::oauth::metadata::RESOURCE_METADATA_PATH);
    let value = format!("{first}, resource_metadata=\"{metadata}\"");
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
}

/// Checks the `DPoP` proof that came with a token under the `DPoP` scheme: one proof,
/// made for this request (method, URL, `ath` of this token) with the token's key, fresh
/// and unused (RFC 9449 §7.1). A refusal is `Err(Ok(…))`, a failure of ours `Err(Err(…))`.
async fn dpop_proof(
    state: &AppState,
    request: &Parts,
    token: &str,
    info: &AccessTokenInfo,
    now: i64,
) -> Result<(), Result<DpopRefusal, ApiError>> {
    let refuse = |m: &str| Err(Ok(DpopRefusal::Invalid(m.to_owned())));
    let Some(bound) = info.jkt.as_deref() else {
        return refuse("this access token is not DPoP-bound: send it as Authorization: Bearer");
    };
    let mut proofs = request.headers.get_all("dpop").iter();
    let (Some(proof), None) = (proofs.next(), proofs.next()) else {
        return refuse("send exactly one DPoP proof in the DPoP header");
    };
    let Ok(proof) = proof.to_str() else {
        return refuse("the DPoP proof is not a compact JWS");
    };
    let url = state.url(request.uri.path());
    let expected = Expected {
        method: request.method.as_str(),
        url: &url,
        access_token: Some(token),
        now,
    };
    match state.services.dpop().check(proof, &expected).await {
        Ok(proof) if bool::from(proof.jkt.as_bytes().ct_eq(bound.as_bytes())) => Ok(()),
        Ok(_) => refuse("the DPoP proof is not made with the key this access token is bound to"),
        Err(DpopError::Invalid(m)) => Err(Ok(DpopRefusal::Invalid(m))),
        Err(DpopError::UseNonce { nonce }) => Err(Ok(DpopRefusal::UseNonce(nonce))),
        Err(e @ DpopError::Unexpected(_)) => Err(Err(ApiError::internal(e))),
    }
}

fn quota_headers(headers: &mut HeaderMap, q: &Quota) {
    for (name, value) in [
        ("x-ratelimit-limit", q.limit as u64),
        ("x-ratelimit-remaining", q.remaining as u64),
        ("x-ratelimit-reset", q.reset),
        ("x-ratelimit-used", q.used as u64),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

/// The scope an endpoint requires, as a type: `UserCaller<Read>`.
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// Needs `read` (or `write`).
pub struct Read;
/// Needs `write`.
pub struct Write;
/// Needs `admin`, and a user who is an administrator.
pub struct Admin;
/// Needs `openid` (the userinfo endpoint).
pub struct Openid;

impl RequiredScope for Read {
    const SCOPE: Scope = Scope::Read;
}
impl RequiredScope for Write {
    const SCOPE: Scope = Scope::Write;
}
impl RequiredScope for Admin {
    const SCOPE: Scope = Scope::Admin;
}
impl RequiredScope for Openid {
    const SCOPE: Scope = Scope::Openid;
}

fn valid_token(authn: Option<&Authn>) -> Result<Arc<AccessTokenInfo>, ApiError> {
    match authn {
        Some(Authn::Token(info)) => Ok(info.clone()),
        Some(Authn::Invalid) => Err(ApiError::invalid_token()),
        Some(Authn::Ambiguous) => Err(ApiError::ambiguous_token()),
        Some(Authn::Dpop(refusal)) => Err(ApiError::dpop(refusal)),
        Some(Authn::Anonymous) | None => Err(ApiError::unauthenticated()),
    }
}

/// A caller with a valid token acting for a user, holding scope `S`.
pub struct UserCaller<S> {
    /// The token.
    pub token: Arc<AccessTokenInfo>,
    /// The user it acts for.
    pub user: User,
    _scope: PhantomData<S>,
}

impl<S> UserCaller<S> {
    /// What this caller may see of others' add-ons: everything for an administrator whose
    /// token carries `admin`, else what its account may see.
    pub fn viewer(&self) -> Viewer {
        if self.user.is_admin && self.token.scope.allows(Scope::Admin) {
            Viewer::Admin(self.user.id)
        } else {
            Viewer::User(self.user.id)
        }
    }
}

impl<S: RequiredScope, St: Send + Sync> FromRequestParts<St> for UserCaller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, ApiError> {
        UserCaller::of(parts.extensions.get::<Authn>())
    }
}

impl<S: RequiredScope> UserCaller<S> {
    /// The caller that `authn` names, if it may use an endpoint that requires `S`.
    pub fn of(authn: Option<&Authn>) -> Result<Self, ApiError> {
        let token = valid_token(authn)?;
        let Some(user) = token.user.clone() else {
            return Err(ApiError::user_token_required());
        };
        if !token.scope.allows(S::SCOPE) {
            return Err(ApiError::insufficient_scope(S::SCOPE.as_str()));
        }
        if S::SCOPE == Scope::Admin && !user.is_admin {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "this endpoint is for administrators",
            ));
        }
        Ok(UserCaller {
            token,
            user,
            _scope: PhantomData,
        })
    }
}

/// A caller on an endpoint that is public but shows more to a signed-in user (the
/// marketplace, the Composer repository): no token is fine, an invalid one is still `401`.
pub struct OptionalCaller {
    /// What the caller may see.
    pub viewer: Viewer,
}

impl<St: Send + Sync> FromRequestParts<St> for OptionalCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, ApiError> {
        OptionalCaller::of(parts.extensions.get::<Authn>())
    }
}

impl OptionalCaller {
    /// The caller that `authn` names, if it may read a public endpoint.
    pub fn of(authn: Option<&Authn>) -> Result<Self, ApiError> {
        let anonymous = OptionalCaller {
            viewer: Viewer::Anonymous,
        };
        let token = match authn {
            Some(Authn::Anonymous) | None => return Ok(anonymous),
            authn => valid_token(authn)?,
        };
        let Some(user) = &token.user else {
            return Ok(anonymous);
        };
        let viewer = if user.is_admin && token.scope.allows(Scope::Admin) {
            Viewer::Admin(user.id)
        } else if token.scope.allows(Scope::Read) {
            Viewer::User(user.id)
        } else {
            return Err(ApiError::insufficient_scope(Scope::Read.as_str()));
        };
        Ok(OptionalCaller { viewer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn schemes_are_case_insensitive() {
        for v in [
            "token abc",
            "Token abc",
            "bearer abc",
            "BEARER abc",
            "Bearer   abc",
        ] {
            assert_eq!(
                presented(&headers(&[v]), None),
                Presented::One("abc".into()),
                "{v}"
            );
        }
    }

    #[test]
    fn basic_carries_the_token_as_password() {
        let v = format!("Basic {}", STANDARD.encode("anyone:abc"));
        assert_eq!(
            presented(&headers(&[&v]), None),
            Presented::One("abc".into())
        );
        assert_eq!(
            presented(&headers(&["Basic !!"]), None),
            Presented::Malformed
        );
    }

    #[test]
    fn query_parameter_and_ambiguity() {
        assert_eq!(
            presented(&HeaderMap::new(), Some("a=1&access_token=x%2By")),
            Presented::One("x+y".into())
        );
        assert_eq!(
            presented(&headers(&["token a"]), Some("access_token=b")),
            Presented::Many
        );
        assert_eq!(
            presented(&HeaderMap::new(), Some("access_token=a&access_token=b")),
            Presented::Many
        );
        assert_eq!(
            presented(&headers(&["token a", "bearer b"]), None),
            Presented::Many
        );
    }

    #[test]
    fn empty_and_unknown_credentials() {
        assert_eq!(presented(&headers(&["Bearer"]), None), Presented::Malformed);
        assert_eq!(
            presented(&headers(&["Bearer a b"]), None),
            Presented::Malformed
        );
        assert_eq!(presented(&headers(&["Digest x=1"]), None), Presented::None);
        assert_eq!(
            presented(&HeaderMap::new(), Some("access_token=")),
            Presented::None
        );
    }
}
