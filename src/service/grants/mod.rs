//! The token endpoint's use case: one module per grant (RFC 6749 §4–6), each reading like
//! a checklist, and the policy around them — client authentication behind the
//! failed-credentials limiter, the password-grant switch, the client's grant allow-list —
//! and token issuance. The front end only parses the request and renders the outcome.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh;

use std::net::IpAddr;

use uuid::Uuid;

use super::Services;
use super::limiter::Limited;
use crate::config::OAuthConfig;
use crate::domain::id_token::{IdTokenClaims, Person, UserClaims, at_hash};
use crate::domain::jose::SigningAlg;
use crate::domain::scope::InvalidScope;
use crate::domain::secret::{ACCESS_PREFIX, REFRESH_PREFIX};
use crate::domain::{GrantType, PlainSecret, Scope, ScopeSet, TokenDigest};
use crate::store::{Client, NewRefreshToken, NewTokens, StoreError, Timestamp, User, now};

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
    /// The password grant is switched off on this server.
    #[error("the password grant is disabled on this server; use authorization_code")]
    PasswordGrantDisabled,
    /// A requested scope is unknown or beyond what is allowed.
    #[error("{0}")]
    InvalidScope(String),
    /// Too many failed credential checks: retry after this many seconds.
    #[error("too many failed attempts; retry in {retry_after} s")]
    TooManyAttempts {
        /// Seconds until the failure window ends.
        retry_after: u64,
    },
    /// Storage or hashing failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for GrantError {
    fn from(e: StoreError) -> Self {
        GrantError::Unexpected(e.into())
    }
}

impl From<InvalidScope> for GrantError {
    fn from(e: InvalidScope) -> Self {
        GrantError::InvalidScope(e.0)
    }
}

impl From<Limited> for GrantError {
    fn from(e: Limited) -> Self {
        match e {
            Limited::TooMany { retry_after } => GrantError::TooManyAttempts { retry_after },
            Limited::Store(e) => e.into(),
        }
    }
}

/// The parameters of a token request, after the front end checked their syntax
/// (no repeats; empty values treated as absent, RFC 6749 §3.1).
#[derive(Debug, Default)]
pub struct TokenRequest {
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
    /// The key thumbprint of the request's DPoP proof, already checked by the front end
    /// ([`crate::service::dpop::Dpop::check`]); `None`: no proof.
    pub dpop_jkt: Option<String>,
}

/// How a client identified itself (RFC 6749 §2.3.1).
#[derive(Debug)]
pub struct ClientCredentials {
    /// `client_id`.
    pub id: String,
    /// `client_secret` (none for a public client).
    pub secret: Option<PlainSecret>,
}

/// Freshly issued tokens, in plain text, for the one response that carries them.
#[derive(Debug)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: PlainSecret,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The scope to report: `None` when a password or client_credentials request (or a
    /// refresh of such a grant) named none (the documented answer); always the scope for
    /// grants begun at the authorization endpoint.
    pub scope: Option<String>,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<PlainSecret>,
    /// The ID token, when the scope holds `openid` (code exchange and its refreshes).
    pub id_token: Option<String>,
    /// The access token is bound to a DPoP key (`"token_type": "DPoP"`).
    pub dpop: bool,
}

/// A client that authenticated, with its owner.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// The client.
    pub client: Client,
    /// The account that registered it.
    pub owner: User,
}

/// Checks a presented secret against a client found (or not) by its id. A confidential
/// client must present its secret — the current one, or during a rotation's grace period
/// the one it replaced; a public client must not have one to present. Whether the
/// owner's state matters is the grant's business (client_credentials acts as the owner).
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
        (Some(stored), Some(given)) => {
            let given = given.digest();
            // Both digests are compared, in constant time, whichever matches.
            let current = stored.ct_eq(&given);
            let previous = client
                .previous_secret
                .as_ref()
                .is_some_and(|(old, until)| old.ct_eq(&given) & (*until > now()));
            current | previous
        }
        (None, None) => true,
        _ => false,
    };
    if !authenticated {
        return Err(GrantError::InvalidClient);
    }
    Ok(AuthenticatedClient { client, owner })
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
    /// The grant that began the family: this one for a fresh grant, the refresh token's for
    /// a refresh (`None`: unknown).
    pub began_with: Option<GrantType>,
    /// Issue time.
    pub now: Timestamp,
    /// The DPoP keys the tokens are bound to.
    pub binding: Binding,
}

/// The DPoP key thumbprints fresh tokens are bound to (RFC 9449 §5); none: bearer tokens.
#[derive(Debug, Clone, Default)]
pub struct Binding {
    /// The access token's key.
    pub access: Option<String>,
    /// The refresh token's key.
    pub refresh: Option<String>,
}

impl Binding {
    /// A fresh grant's binding: the access token to the proof's key, and a public
    /// client's refresh token too. A confidential client's refresh token is already bound
    /// to its credentials, which it must present to use it (RFC 9449 §5).
    pub fn fresh(client: &Client, request: &TokenRequest) -> Binding {
        let public = client.secret_digest.is_none();
        Binding {
            access: request.dpop_jkt.clone(),
            refresh: request.dpop_jkt.clone().filter(|_| public),
        }
    }
}

impl Issue<'_> {
    /// Generates the secrets and the rows that store their digests.
    pub fn build(self, oauth: &OAuthConfig) -> (NewTokens, PlainSecret, Option<PlainSecret>) {
        let (access, refresh) = match self.refresh_scope {
            Some(_) => {
                let [access, refresh] =
                    PlainSecret::generate_tokens([ACCESS_PREFIX, REFRESH_PREFIX]);
                (access, Some(refresh))
            }
            None => (PlainSecret::generate_token(ACCESS_PREFIX), None),
        };
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
            jkt: self.binding.access,
            refresh: self
                .refresh_scope
                .zip(refresh)
                .map(|(scope, digest)| NewRefreshToken {
                    id: Uuid::now_v7(),
                    digest,
                    scope,
                    expires_at: self.now + oauth.refresh_token_ttl,
                    began_with: self.began_with,
                    jkt: self.binding.refresh,
                }),
        }
    }
}

/// The grants service: the token endpoint's use case.
pub struct Grants<'a>(pub(super) &'a Services);

impl Grants<'_> {
    /// A token request of `client`, from `addr`, for `grant`: password-grant switch →
    /// client authenticated (behind the failed-credentials limiter) → grant on the
    /// client's allow-list → the grant's own checklist → tokens.
    pub async fn issue(
        &self,
        addr: IpAddr,
        client: &ClientCredentials,
        grant: GrantType,
        request: &TokenRequest,
        issuer: &str,
    ) -> Result<IssuedTokens, GrantError> {
        if grant == GrantType::Password && !self.0.oauth().password_grant {
            return Err(GrantError::PasswordGrantDisabled);
        }
        let registered = self.authenticate_client(addr, client).await?;
        if !registered.client.grant_types.contains(&grant) {
            return Err(GrantError::UnauthorizedClient(format!(
                "this client may not use the {grant} grant"
            )));
        }
        match grant {
            GrantType::Password => password::grant(self.0, addr, &registered, request).await,
            GrantType::RefreshToken => refresh::grant(self.0, &registered, request, issuer).await,
            GrantType::ClientCredentials => {
                client_credentials::grant(self.0, &registered, request).await
            }
            GrantType::AuthorizationCode => {
                authorization_code::grant(self.0, &registered.client, request, issuer).await
            }
        }
    }

    /// Authenticates a client behind the failed-credentials limiter:
    /// [`GrantError::TooManyAttempts`] once its failures from this address are used up,
    /// [`GrantError::InvalidClient`] (counted) for a wrong secret. The secret is checked
    /// first (one SHA-256, and 256 random bits cannot be guessed), and only a failure is
    /// counted, so a right secret costs the limiter no database access.
    pub async fn authenticate_client(
        &self,
        addr: IpAddr,
        client: &ClientCredentials,
    ) -> Result<AuthenticatedClient, GrantError> {
        let services = self.0;
        let limiter = services.limiter();
        limiter.check_client(&client.id, addr)?;
        let found = services
            .cache()
            .client(services.store().as_ref(), &client.id)
            .await?;
        match verify_client(found, client.secret.as_ref()) {
            Err(GrantError::InvalidClient) => {
                limiter
                    .client_failed(services.store().as_ref(), &client.id, addr)
                    .await?;
                Err(GrantError::InvalidClient)
            }
            outcome => outcome,
        }
    }
}

/// Issues a fresh grant (a new family) and stores it.
async fn issue_new(
    services: &Services,
    issue: Issue<'_>,
    scope_param: Option<&str>,
) -> Result<IssuedTokens, GrantError> {
    let scope = issue.scope;
    let oauth = services.oauth();
    let (rows, access, refresh) = issue.build(oauth);
    services.store().insert_tokens(&rows).await?;
    Ok(IssuedTokens {
        access_token: access,
        expires_in: oauth.access_token_ttl,
        scope: scope_param.map(|_| scope.to_string()),
        refresh_token: refresh,
        id_token: None,
        dpop: rows.jkt.is_some(),
    })
}

/// What an ID token says about its grant, beyond the user and the scope.
pub struct IdTokenContext<'a> {
    /// This server's public URL (`iss`).
    pub issuer: &'a str,
    /// The client (`aud`).
    pub client_id: &'a str,
    /// The algorithm the client's ID tokens are signed with.
    pub alg: SigningAlg,
    /// The access token it comes with (`at_hash`).
    pub access_token: &'a PlainSecret,
    /// Issue time.
    pub now: Timestamp,
    /// When the user signed in (`auth_time`).
    pub auth_time: Option<Timestamp>,
    /// The authorization request's nonce.
    pub nonce: Option<String>,
}

/// The signed ID token for tokens of `scope` issued to `user`, or `None` without `openid`.
/// It expires with the access token, which keeps the key that signed it published for its
/// whole life (see `Keys::published`).
pub async fn id_token(
    services: &Services,
    user: &User,
    scope: ScopeSet,
    context: IdTokenContext<'_>,
) -> Result<Option<String>, GrantError> {
    if !scope.contains(Scope::Openid) {
        return Ok(None);
    }
    let person = Person {
        id: user.id,
        username: &user.username,
        name: user.name.as_ref(),
        email: &user.email,
    };
    let claims = IdTokenClaims {
        iss: context.issuer.to_owned(),
        aud: context.client_id.to_owned(),
        exp: context.now + services.oauth().access_token_ttl,
        iat: context.now,
        auth_time: context.auth_time,
        nonce: context.nonce,
        at_hash: at_hash(context.access_token.expose()),
        user: UserClaims::of(person, scope),
    };
    let signed = services
        .keys()
        .sign(&claims, context.alg)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Some(signed))
}
