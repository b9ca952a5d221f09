//! The authorization endpoint's rules (RFC 6749 §4.1.1–4.1.2, RFC 7636 §4.3–4.4),
//! independent of HTML and cookies: which requests are valid, which errors may be sent
//! back to the client's redirect URI and which must be shown to the person instead, the
//! sign-in check, the scope a user grants, remembered consent, and the issuance of a code.

use std::collections::HashMap;

use url::Url;
use uuid::Uuid;

use super::GrantType;
use super::pkce::valid_s256_challenge;
use super::scope::scopes_for_user;
use super::{PlainSecret, ScopeSet};
use crate::service::password::PasswordHasher;
use crate::store::oauth::NewAuthorizationCode;
use crate::store::{Client, Store, StoreError, StoreResult, User, now};

/// Lifetime of an authorization code, in seconds (RFC 6749 §4.1.2 recommends ≤ 10 min).
pub const CODE_TTL: i64 = 60;

/// A valid authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: Client,
    /// The registered redirect URI it named (exact match).
    pub redirect_uri: String,
    /// `state`, echoed.
    pub state: Option<String>,
    /// The `scope` parameter, if any (checked against the client's scopes).
    pub scope_param: Option<ScopeSet>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
}

/// Why an authorization request fails.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: tell the person, never redirect
    /// (RFC 6749 §4.1.2.1, first paragraph).
    Page(String),
    /// Send the error to the client's redirect URI (RFC 6749 §4.1.2.1).
    Redirect(Redirect),
    /// Storage failed.
    Store(StoreError),
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        AuthorizeError::Store(e)
    }
}

/// An error for the client, with where to send it.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The redirect URI.
    pub redirect_uri: String,
    /// RFC 6749 §4.1.2.1 error code.
    pub error: &'static str,
    /// For the developer.
    pub description: String,
    /// `state`, echoed.
    pub state: Option<String>,
}

impl AuthorizationRequest {
    /// An error redirect for this request.
    pub fn error(&self, error: &'static str, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError::Redirect(Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.into(),
            state: self.state.clone(),
        })
    }

    /// The scope `user` grants: the requested one (which must be within what the client
    /// may ask for this user) or, with no `scope` parameter, everything it may ask for.
    pub fn scope_for(&self, user: &User) -> Result<ScopeSet, AuthorizeError> {
        let allowed = scopes_for_user(self.client.scopes, user.is_admin);
        let scope = match self.scope_param {
            Some(requested) if requested.is_subset_of(allowed) => requested,
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

/// Parses and checks an authorization request's parameters (the query of
/// `GET /oauth/v2/auth`): client and redirect URI first (errors shown on a page), then the
/// rest (errors redirected).
pub async fn parse_request(
    store: &dyn Store,
    query: &str,
) -> Result<AuthorizationRequest, AuthorizeError> {
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
    let Some(client_id) = params.get("client_id") else {
        return Err(AuthorizeError::Page(
            "the request names no client (client_id is missing)".into(),
        ));
    };
    let client = match store.client_by_id(client_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => {
            return Err(AuthorizeError::Page(
                "the application that sent you here is not registered".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(AuthorizeError::Page(
            "the request names no redirect_uri; this server requires one".into(),
        ));
    };
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(AuthorizeError::Page(
            "the redirect_uri is not registered for this application".into(),
        ));
    }

    let mut request = AuthorizationRequest {
        client,
        redirect_uri: redirect_uri.clone(),
        state: params.get("state").cloned(),
        scope_param: None,
        code_challenge: String::new(),
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
        if !parsed.is_subset_of(request.client.scopes) {
            return Err(request.error(
                "invalid_scope",
                format!("the scope may include only: {}", request.client.scopes),
            ));
        }
        request.scope_param = Some(parsed);
    }
    Ok(request)
}

/// The outcome of a sign-in on the authorization page.
#[derive(Debug)]
pub enum SignIn {
    /// The password is right and the account enabled.
    Verified(User),
    /// Unknown username or wrong password (indistinguishable, also in timing).
    WrongCredentials,
    /// The password is right but the account is disabled.
    Disabled,
}

/// Checks a username and password: an unknown username is verified against a dummy hash
/// so that timing reveals nothing.
pub async fn sign_in(
    store: &dyn Store,
    hasher: &PasswordHasher,
    username: &str,
    password: &PlainSecret,
) -> anyhow::Result<SignIn> {
    let credentials = match store.credentials_by_username(username).await {
        Ok(c) => Some(c),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let stored = credentials.as_ref().map(|c| c.password_hash.as_str());
    let verified = hasher.verify(password.expose(), stored).await?;
    Ok(match credentials.filter(|_| verified).map(|c| c.user) {
        None => SignIn::WrongCredentials,
        Some(user) if user.disabled => SignIn::Disabled,
        Some(user) => SignIn::Verified(user),
    })
}

/// The consent `user` already gave covers `scope`.
pub async fn consent_covers(
    store: &dyn Store,
    user: &User,
    client_id: &str,
    scope: ScopeSet,
) -> StoreResult<bool> {
    Ok(store
        .consent(user.id, client_id)
        .await?
        .is_some_and(|granted| scope.is_subset_of(granted)))
}

/// Records that `user` approved `scope` for the client, keeping what was approved before
/// (the remembered consent is the union).
pub async fn remember_consent(
    store: &dyn Store,
    user: &User,
    client_id: &str,
    scope: ScopeSet,
) -> StoreResult<()> {
    let before = store.consent(user.id, client_id).await?.unwrap_or_default();
    let union = scope.iter().fold(before, ScopeSet::with);
    store.save_consent(user.id, client_id, union, now()).await
}

/// Issues a code for an approved request and returns the URL to send the browser to.
pub async fn issue_code(
    store: &dyn Store,
    issuer: &str,
    request: &AuthorizationRequest,
    user: &User,
    scope: ScopeSet,
) -> StoreResult<String> {
    let code = PlainSecret::generate("hac_", 32);
    let now = now();
    store
        .insert_code(&NewAuthorizationCode {
            digest: code.digest(),
            family_id: Uuid::now_v7(),
            client_id: request.client.id.clone(),
            user_id: user.id,
            redirect_uri: request.redirect_uri.clone(),
            scope,
            scope_named: request.scope_param.is_some(),
            code_challenge: request.code_challenge.clone(),
            created_at: now,
            expires_at: now + CODE_TTL,
        })
        .await?;
    let mut pairs = vec![("code", code.expose())];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    Ok(redirect_url(&request.redirect_uri, &pairs))
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
    redirect_url(&redirect.redirect_uri, &pairs)
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
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            redirect_url(
                "https://a.example/cb?x=1",
                &[("code", "c"), ("state", "a b")]
            ),
            "https://a.example/cb?x=1&code=c&state=a+b"
        );
    }
}
