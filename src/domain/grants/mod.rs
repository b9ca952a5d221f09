//! The OAuth2 grants (RFC 6749 §4–6), one module each, and what they share: client
//! authentication and token issuance. Each grant reads like a checklist; the HTTP layer
//! ([`crate::http::oauth::token`]) only parses the request and renders the outcome.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh;

use std::fmt;

use uuid::Uuid;

use super::scope::{Scope, ScopeSet};
use super::secret::{PlainSecret, TokenDigest};
use crate::config::OAuthConfig;
use crate::service::password::PasswordHasher;
use crate::store::{Client, NewRefreshToken, NewTokens, Store, StoreError, Timestamp, User};

/// The grant types this server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// Resource owner password credentials (RFC 6749 §4.3), the documented HarmonyCMS flow.
    Password,
    /// Refresh token (RFC 6749 §6), rotated on every use.
    RefreshToken,
    /// Client credentials (RFC 6749 §4.4): a token for the client alone.
    ClientCredentials,
    /// Authorization code with PKCE S256 (RFC 6749 §4.1, RFC 7636): third-party apps.
    AuthorizationCode,
}

impl GrantType {
    /// Every grant type.
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Parses a space-separated list, as stored.
    pub fn parse_list(s: &str) -> Vec<GrantType> {
        s.split(' ').filter_map(GrantType::parse).collect()
    }

    /// Renders a list space-separated, as stored.
    pub fn join(list: &[GrantType]) -> String {
        list.iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a token request failed; each maps to one RFC 6749 §5.2 error.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A parameter is missing, repeated or malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The client is unknown or its secret is wrong.
    #[error("client authentication failed")]
    InvalidClient,
    /// The username or password is wrong (counted by the failed-credentials limiter).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The grant (refresh token, account) is invalid, expired, revoked or replayed.
    #[error("{0}")]
    InvalidGrant(String),
    /// The client may not use this grant, or not for this user.
    #[error("{0}")]
    UnauthorizedClient(String),
    /// The grant type is unknown.
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// A requested scope is unknown or beyond what is allowed.
    #[error("{0}")]
    InvalidScope(String),
    /// Storage or hashing failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for GrantError {
    fn from(e: StoreError) -> Self {
        GrantError::Unexpected(e.into())
    }
}

/// The parameters of a token request, after the HTTP layer checked their syntax
/// (no repeats; empty values treated as absent, RFC 6749 §3.1).
#[derive(Debug, Default)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `username` (password grant).
    pub username: Option<String>,
    /// `password` (password grant).
    pub password: Option<PlainSecret>,
    /// `refresh_token` (refresh grant).
    pub refresh_token: Option<PlainSecret>,
    /// `scope`, if the request named one.
    pub scope: Option<String>,
    /// `code` (authorization_code grant).
    pub code: Option<PlainSecret>,
    /// `redirect_uri` (authorization_code grant).
    pub redirect_uri: Option<String>,
    /// `code_verifier` (authorization_code grant, RFC 7636 §4.5).
    pub code_verifier: Option<PlainSecret>,
}

/// What the grants need from the application.
#[derive(Clone, Copy)]
pub struct GrantContext<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Password hashing.
    pub hasher: &'a PasswordHasher,
    /// Token lifetimes.
    pub oauth: &'a OAuthConfig,
}

/// Freshly issued tokens, in plain text, for the one response that carries them.
#[derive(Debug)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: PlainSecret,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The scope to report: `None` when the request named none (the documented answer).
    pub scope: Option<String>,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<PlainSecret>,
}

/// A client that authenticated, with its owner.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// The client.
    pub client: Client,
    /// The account that registered it.
    pub owner: User,
}

/// Authenticates the client of a token request (RFC 6749 §2.3.1). A confidential client
/// must present its secret; a public client must not have one to present. Whether the
/// owner's state matters is the grant's business (client_credentials acts as the owner).
pub async fn authenticate_client(
    store: &dyn Store,
    client_id: &str,
    secret: Option<&PlainSecret>,
) -> Result<AuthenticatedClient, GrantError> {
    let found = match store.client_with_owner(client_id).await {
        Ok(pair) => Some(pair),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    verify_client(found, secret)
}

/// Checks a presented secret against a client found (or not) by its id.
pub fn verify_client(
    found: Option<(Client, User)>,
    secret: Option<&PlainSecret>,
) -> Result<AuthenticatedClient, GrantError> {
    let Some((client, owner)) = found else {
        // Same work as a real check, so that timing does not reveal valid client ids.
        if let Some(s) = secret {
            let _ = s.digest().ct_eq(&s.digest());
        }
        return Err(GrantError::InvalidClient);
    };
    let authenticated = match (&client.secret_digest, secret) {
        (Some(stored), Some(given)) => stored.ct_eq(&given.digest()),
        (None, None) => true,
        _ => false,
    };
    if !authenticated {
        return Err(GrantError::InvalidClient);
    }
    Ok(AuthenticatedClient { client, owner })
}

/// Parses the `scope` parameter and checks it against what `allowed` permits. With no
/// parameter, the grant gets `default`.
pub fn requested_scope(
    param: Option<&str>,
    allowed: ScopeSet,
    default: ScopeSet,
) -> Result<ScopeSet, GrantError> {
    let Some(param) = param else {
        return Ok(default);
    };
    let requested = ScopeSet::parse(param).map_err(|e| GrantError::InvalidScope(e.to_string()))?;
    if requested.is_empty() {
        return Err(GrantError::InvalidScope(
            "the scope parameter names no scope".into(),
        ));
    }
    if !requested.is_subset_of(allowed) {
        return Err(GrantError::InvalidScope(format!(
            "the scope may include only: {allowed}"
        )));
    }
    Ok(requested)
}

/// What a client may ask for on behalf of `user`: its registered scopes, without `admin`
/// unless the user is an administrator.
pub fn scopes_for_user(client: &Client, user: &User) -> ScopeSet {
    if user.is_admin {
        client.scopes
    } else {
        client.scopes.without(Scope::Admin)
    }
}

/// Describes the tokens to issue for one grant; `family` is the original grant's family
/// (a new one for a fresh grant).
pub struct Issue<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The user, if any.
    pub user_id: Option<Uuid>,
    /// The grant issuing them.
    pub grant_type: GrantType,
    /// Scope of the access token.
    pub scope: ScopeSet,
    /// Scope of the refresh token (`None`: no refresh token).
    pub refresh_scope: Option<ScopeSet>,
    /// The family.
    pub family_id: Uuid,
    /// Issue time.
    pub now: Timestamp,
}

impl Issue<'_> {
    /// Generates the secrets and the rows that store their digests.
    pub fn build(self, oauth: &OAuthConfig) -> (NewTokens, PlainSecret, Option<PlainSecret>) {
        let access = PlainSecret::generate_token(ACCESS_PREFIX);
        let refresh = self
            .refresh_scope
            .map(|_| PlainSecret::generate_token(REFRESH_PREFIX));
        let rows = self.rows(
            oauth,
            access.digest(),
            refresh.as_ref().map(PlainSecret::digest),
        );
        (rows, access, refresh)
    }

    /// The rows that store tokens whose digests are given (a refresh digest is used only
    /// when `refresh_scope` asks for a refresh token).
    pub fn rows(
        self,
        oauth: &OAuthConfig,
        access: TokenDigest,
        refresh: Option<TokenDigest>,
    ) -> NewTokens {
        NewTokens {
            access_id: Uuid::now_v7(),
            access_digest: access,
            family_id: self.family_id,
            client_id: self.client_id.to_owned(),
            user_id: self.user_id,
            grant_type: self.grant_type,
            scope: self.scope,
            created_at: self.now,
            expires_at: self.now + oauth.access_token_ttl,
            refresh: self
                .refresh_scope
                .zip(refresh)
                .map(|(scope, digest)| NewRefreshToken {
                    id: Uuid::now_v7(),
                    digest,
                    scope,
                    expires_at: self.now + oauth.refresh_token_ttl,
                }),
        }
    }
}

pub use super::secret::{ACCESS_PREFIX, REFRESH_PREFIX};

/// Issues a fresh grant (a new family) and stores it.
pub(crate) async fn issue_new(
    ctx: GrantContext<'_>,
    issue: Issue<'_>,
    scope_param: Option<&str>,
) -> Result<IssuedTokens, GrantError> {
    let scope = issue.scope;
    let (rows, access, refresh) = issue.build(ctx.oauth);
    ctx.store.insert_tokens(&rows).await?;
    Ok(IssuedTokens {
        access_token: access,
        expires_in: ctx.oauth.access_token_ttl,
        scope: scope_param.map(|_| scope.to_string()),
        refresh_token: refresh,
    })
}
