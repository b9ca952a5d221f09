//! The authorization endpoint's rules (RFC 6749 §4.1.1–4.1.2, RFC 7636 §4.3–4.4),
//! independent of HTML, cookies and storage: which requests are valid, which errors may be
//! sent back to the client's redirect URI and which must be shown to the person instead,
//! the scope a user grants, and the URLs the browser is sent to. Looking the client up,
//! signing in, consent and codes are the sessions service's (`service::sessions`).

use std::collections::HashMap;

use url::Url;

use super::client::{ClientName, RedirectUri};
use super::org::OrgName;
use super::pkce::valid_s256_challenge;
use super::scope::scopes_for_user;
use super::user::Username;
use super::{GrantType, ScopeSet};

/// Lifetime of an authorization code, in seconds (RFC 6749 §4.1.2 recommends ≤ 10 min).
pub const CODE_TTL: i64 = 60;

/// Longest `nonce` kept (OpenID Connect sets no limit; the code row holds it).
pub const MAX_NONCE_LEN: usize = 512;

/// Longest `login_hint` used to prefill the sign-in form (longer hints are ignored: no
/// username is that long).
pub const MAX_LOGIN_HINT_LEN: usize = 256;

/// The OpenID Connect `prompt` parameter (Core §3.1.2.1), as a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: show nothing; an error to the client if the person would have to act.
    pub none: bool,
    /// `login` (or `select_account`): ask for the password even with a session.
    pub login: bool,
    /// `consent`: show the consent page even when consent was given before.
    pub consent: bool,
}

impl Prompt {
    /// Parses the space-separated values; `none` must stand alone.
    pub fn parse(value: &str) -> Result<Prompt, String> {
        let mut prompt = Prompt::default();
        for v in value.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => prompt.none = true,
                // Choosing an account is signing in: the form lets the person pick any.
                "login" | "select_account" => prompt.login = true,
                "consent" => prompt.consent = true,
                other => {
                    return Err(format!(
                        "prompt may hold none, login, consent and select_account, not {other:?}"
                    ));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err("prompt=none cannot be combined with other values".into());
        }
        Ok(prompt)
    }
}

/// Who owns an application: the account that registered it, or an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppOwner {
    /// An account.
    User(Username),
    /// An organization.
    Org(OrgName),
}

impl std::fmt::Display for AppOwner {
    /// As people read it: `alice`, or `the organization acme`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppOwner::User(user) => f.write_str(user.as_str()),
            AppOwner::Org(org) => write!(f, "the organization {org}"),
        }
    }
}

/// The registered client an authorization request names, as the rules need it.
#[derive(Debug, Clone)]
pub struct RequestingClient {
    /// Its id.
    pub id: String,
    /// Its name, shown to people.
    pub name: ClientName,
    /// Its owner (the consent page names it).
    pub owner: AppOwner,
    /// Its registered redirect URIs (exact match).
    pub redirect_uris: Vec<RedirectUri>,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// The scopes it may ask for.
    pub scopes: ScopeSet,
}

/// A valid authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: RequestingClient,
    /// The registered redirect URI it named (exact match).
    pub redirect_uri: RedirectUri,
    /// `state`, echoed.
    pub state: Option<String>,
    /// The `scope` parameter, if any (checked against the client's scopes).
    pub scope_param: Option<ScopeSet>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// OpenID Connect `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// OpenID Connect `prompt`.
    pub prompt: Prompt,
    /// OpenID Connect `max_age`: the longest time since the person signed in, in seconds.
    pub max_age: Option<i64>,
    /// OpenID Connect `login_hint`: the username to prefill (ignored when too long).
    pub login_hint: Option<String>,
    /// The digest of the `request_uri` it was pushed under (RFC 9126), used up when a code
    /// is issued; `None`: the request came in the query.
    pub pushed: Option<super::TokenDigest>,
}

/// Why an authorization request is refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: tell the person, never redirect
    /// (RFC 6749 §4.1.2.1, first paragraph).
    #[error("{0}")]
    Page(String),
    /// Send the error to the client's redirect URI (RFC 6749 §4.1.2.1).
    #[error("{}: {}", .0.error, .0.description)]
    Redirect(Redirect),
}

/// An error for the client, with where to send it.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The redirect URI.
    pub redirect_uri: RedirectUri,
    /// RFC 6749 §4.1.2.1 error code.
    pub error: &'static str,
    /// For the developer.
    pub description: String,
    /// `state`, echoed.
    pub state: Option<String>,
}

impl AuthorizationRequest {
    /// The person must give their password now, although the browser is signed in
    /// (since `signed_in_at`): `prompt=login`, or a sign-in older than `max_age` seconds
    /// (`max_age=0` is `prompt=login`, OpenID Connect Core §3.1.2.1).
    pub fn needs_fresh_sign_in(&self, signed_in_at: i64, now: i64) -> bool {
        self.prompt.login
            || self
                .max_age
                .is_some_and(|max| max == 0 || now - signed_in_at > max)
    }

    /// An error redirect for this request.
    pub fn error(&self, error: &'static str, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError::Redirect(Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.into(),
            state: self.state.clone(),
        })
    }

    /// The scope a user grants: the requested one (which must be within what the client
    /// may ask for this user) or, with no `scope` parameter, everything it may ask for.
    pub fn scope_for(&self, user_is_admin: bool) -> Result<ScopeSet, AuthorizeError> {
        let allowed = scopes_for_user(self.client.scopes, user_is_admin);
        let scope = match self.scope_param {
            Some(requested) if requested.is_subset_of(allowed.with_identity()) => requested,
            Some(_) => {
                return Err(self.error(
                    "invalid_scope",
                    format!("the scope may include only: {allowed}"),
                ));
            }
            None => allowed,
        };
        if scope.is_empty() {
            return Err(self.error("invalid_scope", "no scope can be granted"));
        }
        Ok(scope)
    }
}

/// The parameters of an authorization request (the query of `GET /oauth/v2/auth`),
/// before its client is looked up.
#[derive(Debug, Clone)]
pub struct RequestParams {
    params: HashMap<String, String>,
    repeated: Vec<String>,
}

impl RequestParams {
    /// The parameter `name`, if given (not empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The `client_id` the request names.
    pub fn client_id(&self) -> &str {
        self.params
            .get("client_id")
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// Reads an authorization request's query: it must be UTF-8 and name one client and at
/// most one redirect URI (errors shown on a page).
pub fn parse_query(query: &str) -> Result<RequestParams, AuthorizeError> {
    let mut params: HashMap<String, String> = HashMap::new();
    let mut repeated = Vec::new();
    let pairs = super::form::pairs(query.as_bytes()).map_err(|_| {
        AuthorizeError::Page("the request's query is not valid UTF-8 once percent-decoded".into())
    })?;
    for (k, v) in pairs {
        if v.is_empty() {
            continue;
        }
        if params.insert(k.to_string(), v.into_owned()).is_some() {
            repeated.push(k.into_owned());
        }
    }
    for name in ["client_id", "redirect_uri"] {
        if repeated.iter().any(|r| r == name) {
            return Err(AuthorizeError::Page(format!(
                "the {name} parameter is repeated"
            )));
        }
    }
    if !params.contains_key("client_id") {
        return Err(AuthorizeError::Page(
            "the request names no client (client_id is missing)".into(),
        ));
    }
    Ok(RequestParams { params, repeated })
}

/// The refusal of a request whose client is not registered (shown on a page).
pub fn unknown_client() -> AuthorizeError {
    AuthorizeError::Page("the application that sent you here is not registered".into())
}

/// Checks a request against its registered client: the redirect URI first (errors shown
/// on a page), then the rest (errors redirected).
pub fn check_request(
    request: RequestParams,
    client: RequestingClient,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let RequestParams { params, repeated } = request;
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(AuthorizeError::Page(
            "the request names no redirect_uri; this server requires one".into(),
        ));
    };
    // The registered value itself goes on: the request named it byte for byte.
    let Some(redirect_uri) = client
        .redirect_uris
        .iter()
        .find(|r| r.as_str() == redirect_uri)
        .cloned()
    else {
        return Err(AuthorizeError::Page(
            "the redirect_uri is not registered for this application".into(),
        ));
    };

    let mut request = AuthorizationRequest {
        client,
        redirect_uri,
        state: params.get("state").cloned(),
        scope_param: None,
        code_challenge: String::new(),
        nonce: None,
        prompt: Prompt::default(),
        max_age: None,
        login_hint: None,
        pushed: None,
    };
    if let Some(name) = repeated.first() {
        return Err(request.error(
            "invalid_request",
            format!("the {name} parameter is repeated"),
        ));
    }
    match params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => return Err(request.error("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(request.error(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if !request
        .client
        .grant_types
        .contains(&GrantType::AuthorizationCode)
    {
        return Err(request.error(
            "unauthorized_client",
            "this client is not registered for the authorization_code grant",
        ));
    }
    let Some(challenge) = params.get("code_challenge") else {
        return Err(request.error(
            "invalid_request",
            "PKCE is required: send code_challenge and code_challenge_method=S256",
        ));
    };
    if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Err(request.error(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not supported)",
        ));
    }
    if !valid_s256_challenge(challenge) {
        return Err(request.error(
            "invalid_request",
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
        ));
    }
    request.code_challenge = challenge.clone();
    if let Some(scope) = params.get("scope") {
        let parsed = match ScopeSet::parse(scope) {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => return Err(request.error("invalid_scope", "the scope names no scope")),
            Err(e) => return Err(request.error("invalid_scope", e.to_string())),
        };
        let allowed = request.client.scopes.with_identity();
        if !parsed.is_subset_of(allowed) {
            return Err(request.error(
                "invalid_scope",
                format!("the scope may include only: {allowed}"),
            ));
        }
        request.scope_param = Some(parsed);
    }
    if let Some(nonce) = params.get("nonce") {
        if nonce.len() > MAX_NONCE_LEN {
            return Err(request.error(
                "invalid_request",
                format!("the nonce may be at most {MAX_NONCE_LEN} bytes long"),
            ));
        }
        request.nonce = Some(nonce.clone());
    }
    if let Some(prompt) = params.get("prompt") {
        request.prompt = Prompt::parse(prompt).map_err(|m| request.error("invalid_request", m))?;
    }
    if let Some(max_age) = params.get("max_age") {
        // Digits only (no sign, no white space), as OpenID Connect's "number of seconds".
        let parsed = Some(max_age)
            .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|m| m.parse::<i64>().ok());
        let Some(parsed) = parsed else {
            return Err(request.error(
                "invalid_request",
                "max_age must be a non-negative whole number of seconds",
            ));
        };
        request.max_age = Some(parsed);
    }
    request.login_hint = params
        .get("login_hint")
        .filter(|h| h.len() <= MAX_LOGIN_HINT_LEN)
        .cloned();
    Ok(request)
}

/// The URL the browser is sent to with a fresh `code` for an approved request
/// (RFC 6749 §4.1.2, RFC 9207 `iss`).
pub fn code_url(request: &AuthorizationRequest, code: &str, issuer: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    redirect_url(request.redirect_uri.as_str(), &pairs)
}

/// The URL of an error redirect (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
pub fn error_url(redirect: &Redirect, issuer: &str) -> String {
    let mut pairs = vec![
        ("error", redirect.error),
        ("error_description", redirect.description.as_str()),
    ];
    if let Some(state) = &redirect.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    redirect_url(redirect.redirect_uri.as_str(), &pairs)
}

/// The URL the browser is sent to after an RP-initiated logout: the registered
/// post-logout redirect URI with `state`, if any.
pub fn logout_url(registered: &RedirectUri, state: Option<&str>) -> String {
    match state {
        Some(state) => redirect_url(registered.as_str(), &[("state", state)]),
        None => registered.as_str().to_owned(),
    }
}

/// `base` with `pairs` added to its query (keeping the query it already has).
fn redirect_url(base: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.into()
        }
        // Registered URIs were validated; this cannot happen, but never panic.
        Err(_) => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_parse_as_a_set_and_none_stands_alone() {
        assert_eq!(Prompt::parse("").unwrap(), Prompt::default());
        let both = Prompt::parse("login consent").unwrap();
        assert!(both.login && both.consent && !both.none);
        assert!(Prompt::parse("select_account").unwrap().login);
        assert!(Prompt::parse("none").unwrap().none);
        assert!(Prompt::parse("none login").is_err());
        assert!(Prompt::parse("later").is_err());
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            redirect_url(
                "https://a.example/cb?x=1",
                &[("code", "c"), ("state", "a b")]
            ),
            "https://a.example/cb?x=1&code=c&state=a+b"
        );
    }

    #[test]
    fn a_request_is_checked_against_its_client_page_errors_first() {
        let client = || RequestingClient {
            id: "c".into(),
            name: ClientName::parse("App").unwrap(),
            owner: AppOwner::User(Username::parse("owner").unwrap()),
            redirect_uris: vec![RedirectUri::parse("https://a.example/cb").unwrap()],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: ScopeSet::parse("read write").unwrap(),
        };
        let challenge = "t2-OAHh-WUcmUp62ZsS64y3Ad0ND2iGNFSkCM--5TtI";
        let ok = format!(
            "client_id=c&redirect_uri=https%3A%2F%2Fa.example%2Fcb&response_type=code\
             &code_challenge={challenge}&code_challenge_method=S256&scope=read&state=s"
        );
        let request = check_request(parse_query(&ok).unwrap(), client()).unwrap();
        assert_eq!(request.scope_param, ScopeSet::parse("read").ok());
        assert_eq!(
            code_url(&request, "k", "https://h"),
            "https://a.example/cb?code=k&state=s&iss=https%3A%2F%2Fh"
        );
        let elsewhere = ok.replace("a.example", "evil.example");
        assert!(matches!(
            check_request(parse_query(&elsewhere).unwrap(), client()),
            Err(AuthorizeError::Page(_))
        ));
        let plain = ok.replace("S256", "plain");
        assert!(matches!(
            check_request(parse_query(&plain).unwrap(), client()),
            Err(AuthorizeError::Redirect(r)) if r.error == "invalid_request"
        ));
        assert!(matches!(
            parse_query("redirect_uri=x"),
            Err(AuthorizeError::Page(_))
        ));

        // max_age: a fresh sign-in is needed past it, and always with 0 (= prompt=login).
        let aged =
            check_request(parse_query(&format!("{ok}&max_age=60")).unwrap(), client()).unwrap();
        assert!(!aged.needs_fresh_sign_in(1000, 1060));
        assert!(aged.needs_fresh_sign_in(1000, 1061));
        let zero =
            check_request(parse_query(&format!("{ok}&max_age=0")).unwrap(), client()).unwrap();
        assert!(zero.needs_fresh_sign_in(1000, 1000));
        assert!(!request.needs_fresh_sign_in(0, 1_000_000));
        for bad in ["-1", "+5", "1e3", "99999999999999999999"] {
            assert!(
                matches!(
                    check_request(parse_query(&format!("{ok}&max_age={bad}")).unwrap(), client()),
                    Err(AuthorizeError::Redirect(r)) if r.error == "invalid_request"
                ),
                "{bad}"
            );
        }
    }
}
