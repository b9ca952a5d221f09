//! Sessions and consent: what a person does in a browser — signing in (behind the
//! failed-credentials limiter), the browser session that remembers it, signing out — and
//! what the authorization endpoint does with it: looking up the client a request names,
//! remembered consent, and issuing authorization codes. The rules of a request are the
//! domain's ([`crate::domain::authorize`]); cookies and pages are the front end's.
//!
//! A session is a random value the browser holds; only its SHA-256 digest is stored, so
//! every node shares sessions.

use std::net::IpAddr;

use uuid::Uuid;

use super::Services;
use super::limiter::Limited;
use crate::domain::authorize::{
    self, AppOwner, AuthorizationRequest, CODE_TTL, RequestParams, RequestingClient, check_request,
    code_url, parse_query,
};
use crate::domain::secret::random_id;
use crate::domain::user::{Username, validate_password};
use crate::domain::{PlainSecret, ScopeSet, TokenDigest};
use crate::store::oauth::NewAuthorizationCode;
use crate::store::oauth::{AccountChanges, ConsentRecord, PushedRequest};
use crate::store::{Client, StoreError, StoreResult, Timestamp, User, now};

/// Lifetime of a signed-in browser session, in seconds.
pub const SESSION_TTL: i64 = 8 * 3600;

/// Seconds a pushed authorization request stays usable (RFC 9126 §2.2: short, since the
/// client sends the browser to it at once).
pub const PUSHED_TTL: i64 = 60;

/// What every `request_uri` starts with (RFC 9126 §2.2).
pub const PUSHED_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long after a sign-in a sensitive action goes ahead without the password again,
/// in seconds: older sessions are asked for it (as GitHub's "sudo mode" does), so that a
/// browser left signed in cannot rotate secrets or mint admin tokens.
pub const REAUTH_AFTER: i64 = 10 * 60;

/// Why the password given again for a sensitive action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReauthError {
    /// The password is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// Too many failed attempts: retry after this many seconds.
    #[error("too many failed attempts; retry in {retry_after} s")]
    TooManyAttempts {
        /// Seconds until the failure window ends.
        retry_after: u64,
    },
    /// Storage or hashing failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why an authorization request cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The rules refuse it (shown on a page, or sent to the client's redirect URI).
    #[error(transparent)]
    Refused(#[from] authorize::AuthorizeError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an RP-initiated logout request is refused (shown to the person on a page).
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// The request is invalid: an unknown client, an unregistered
    /// `post_logout_redirect_uri`, a `client_id` that is not the hint's audience.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the signing keys failed.
    #[error(transparent)]
    Keys(#[from] super::keys::KeyError),
}

/// The parameters of an RP-initiated logout request (OpenID Connect RP-Initiated Logout
/// 1.0 §2), as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogoutParams<'a> {
    /// An ID token this server issued (expired is fine).
    pub id_token_hint: Option<&'a str>,
    /// The client.
    pub client_id: Option<&'a str>,
    /// Where to send the browser afterwards: registered on the client, exactly.
    pub post_logout_redirect_uri: Option<&'a str>,
    /// Echoed to that URI.
    pub state: Option<&'a str>,
}

/// A checked logout request.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    /// The user the valid `id_token_hint` names (`None`: no valid hint).
    pub hinted_user: Option<Uuid>,
    /// The URL to send the browser to afterwards (with `state`), if any.
    pub redirect: Option<String>,
    /// The name of the client that asked, if known (for the confirmation page).
    pub client_name: Option<String>,
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown username or wrong password (indistinguishable, also in timing).
    #[error("wrong username or password")]
    WrongCredentials,
    /// The password is right but the account is disabled.
    #[error("this account is disabled")]
    Disabled,
    /// Too many failed attempts: retry after this many seconds.
    #[error("too many failed attempts; retry in {retry_after} s")]
    TooManyAttempts {
        /// Seconds until the failure window ends.
        retry_after: u64,
    },
    /// Storage or hashing failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    /// The current password is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The new password is not acceptable.
    #[error("the new password {0}")]
    Invalid(&'static str),
    /// Too many failed attempts: retry after this many seconds.
    #[error("too many failed attempts; retry in {retry_after} s")]
    TooManyAttempts {
        /// Seconds until the failure window ends.
        retry_after: u64,
    },
    /// Storage or hashing failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A fresh session after a sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The session's value, for the browser to hold (for [`SESSION_TTL`] seconds).
    pub session: PlainSecret,
    /// Who signed in.
    pub user: User,
    /// When (the session's start: an ID token's `auth_time`).
    pub at: Timestamp,
}

/// A fresh session value (256 bits, URL-safe).
pub fn new_session_value() -> PlainSecret {
    PlainSecret::new(random_id(32))
}

/// The sessions service.
pub struct Sessions<'a>(pub(super) &'a Services);

impl Sessions<'_> {
    /// The signed-in, enabled user of the browser session `session`, if any.
    pub async fn user(&self, session: &PlainSecret) -> StoreResult<Option<User>> {
        Ok(self.signed_in(session).await?.map(|(user, _)| user))
    }

    /// The signed-in, enabled user of the browser session `session` and when they signed
    /// in (an ID token's `auth_time`), if any.
    pub async fn signed_in(&self, session: &PlainSecret) -> StoreResult<Option<(User, Timestamp)>> {
        Ok(self
            .0
            .store()
            .session_user(&session.digest(), now())
            .await?
            .filter(|(u, _)| !u.disabled))
    }

    /// Checks a username and password from `addr` (behind the failed-credentials limiter,
    /// with the password grant's counters: a slot is reserved before the hash and given
    /// back unless the password was wrong; an unknown username is verified against a dummy
    /// hash so that timing reveals nothing), then starts a fresh session: a new value, so
    /// that a value planted in the browser before sign-in (`previous`, which ends) is never
    /// promoted.
    pub async fn sign_in(
        &self,
        addr: IpAddr,
        previous: &PlainSecret,
        username: &str,
        password: &PlainSecret,
    ) -> Result<SignedIn, SignInError> {
        let store = self.0.store().as_ref();
        let limiter = self.0.limiter();
        let attempt = match limiter.reserve_password(store, username, addr).await {
            Ok(attempt) => attempt,
            Err(Limited::TooMany { retry_after }) => {
                return Err(SignInError::TooManyAttempts { retry_after });
            }
            Err(Limited::Store(e)) => return Err(SignInError::Unexpected(e.into())),
        };
        let checked = self.check_password(username, password).await;
        let failed = matches!(checked, Err(SignInError::WrongCredentials));
        attempt.settle(limiter, store, failed).await;
        let user = checked?;

        store
            .delete_session(&previous.digest())
            .await
            .map_err(anyhow::Error::from)?;
        let session = new_session_value();
        let now = now();
        store
            .create_session(&session.digest(), user.id, now, now + SESSION_TTL)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(SignedIn {
            session,
            user,
            at: now,
        })
    }

    async fn check_password(
        &self,
        username: &str,
        password: &PlainSecret,
    ) -> Result<User, SignInError> {
        // A text that is no username names no account: it is checked like an unknown one.
        let credentials = match Username::parse(username) {
            Ok(name) => match self.0.store().credentials_by_username(&name).await {
                Ok(c) => Some(c),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(anyhow::Error::from(e).into()),
            },
            Err(_) => None,
        };
        let stored = credentials.as_ref().map(|c| c.password_hash.as_str());
        let verified = self.0.hasher().verify(password.expose(), stored).await?;
        match credentials.filter(|_| verified).map(|c| c.user) {
            None => Err(SignInError::WrongCredentials),
            Some(user) if user.disabled => Err(SignInError::Disabled),
            Some(user) => Ok(user),
        }
    }

    /// Changes `user`'s password from `addr`: the current one must be right (checked
    /// behind the failed-credentials limiter, as a sign-in), the new one acceptable. Every
    /// browser session of the account ends — other browsers are signed out — and the
    /// answer is a fresh session for the browser that asked. Tokens stay valid (they were
    /// not obtained with this browser's session; "revoke all" is one click away).
    pub async fn change_password(
        &self,
        addr: IpAddr,
        user: &User,
        current: &PlainSecret,
        new: &str,
    ) -> Result<PlainSecret, PasswordChangeError> {
        match self.verify_password(addr, user, current).await {
            Ok(()) => {}
            Err(ReauthError::WrongPassword) => return Err(PasswordChangeError::WrongPassword),
            Err(ReauthError::TooManyAttempts { retry_after }) => {
                return Err(PasswordChangeError::TooManyAttempts { retry_after });
            }
            Err(ReauthError::Unexpected(e)) => return Err(e.into()),
        }
        let store = self.0.store().as_ref();
        validate_password(new).map_err(PasswordChangeError::Invalid)?;
        let changes = AccountChanges {
            disabled: None,
            is_admin: None,
            password_hash: Some(self.0.hasher().hash(new).await?),
        };
        // The store ends every session of the account in the same write.
        store
            .change_account(user.id, &changes)
            .await
            .map_err(anyhow::Error::from)?;
        let session = new_session_value();
        let now = now();
        store
            .create_session(&session.digest(), user.id, now, now + SESSION_TTL)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(session)
    }

    /// Checks that `password` is `user`'s, from `addr`, behind the failed-credentials
    /// limiter (as a sign-in).
    async fn verify_password(
        &self,
        addr: IpAddr,
        user: &User,
        password: &PlainSecret,
    ) -> Result<(), ReauthError> {
        let store = self.0.store().as_ref();
        let limiter = self.0.limiter();
        let username = user.username.as_str();
        let attempt = match limiter.reserve_password(store, username, addr).await {
            Ok(attempt) => attempt,
            Err(Limited::TooMany { retry_after }) => {
                return Err(ReauthError::TooManyAttempts { retry_after });
            }
            Err(Limited::Store(e)) => return Err(anyhow::Error::from(e).into()),
        };
        let checked = self.check_password(username, password).await;
        let failed = matches!(checked, Err(SignInError::WrongCredentials));
        attempt.settle(limiter, store, failed).await;
        match checked {
            Ok(u) if u.id == user.id => Ok(()),
            Ok(_) | Err(SignInError::WrongCredentials) | Err(SignInError::Disabled) => {
                Err(ReauthError::WrongPassword)
            }
            Err(SignInError::TooManyAttempts { retry_after }) => {
                Err(ReauthError::TooManyAttempts { retry_after })
            }
            Err(SignInError::Unexpected(e)) => Err(e.into()),
        }
    }

    /// Whether the browser session `session` signed in (gave its password) within the
    /// last [`REAUTH_AFTER`] seconds; `false` for an unknown or expired session.
    pub async fn recently_signed_in(&self, session: &PlainSecret) -> StoreResult<bool> {
        let now = now();
        Ok(self
            .0
            .store()
            .session_started(&session.digest(), now)
            .await?
            .is_some_and(|started| now - started < REAUTH_AFTER))
    }

    /// `user` gives their password again (from `addr`) before a sensitive action: when
    /// it is right, the session `previous` ends and a fresh one starts (a new value, as
    /// after a sign-in: the sign-in time is the session's start), answered for the
    /// browser to hold.
    pub async fn reauthenticate(
        &self,
        addr: IpAddr,
        user: &User,
        previous: &PlainSecret,
        password: &PlainSecret,
    ) -> Result<PlainSecret, ReauthError> {
        self.verify_password(addr, user, password).await?;
        let store = self.0.store();
        store
            .delete_session(&previous.digest())
            .await
            .map_err(anyhow::Error::from)?;
        let session = new_session_value();
        let now = now();
        store
            .create_session(&session.digest(), user.id, now, now + SESSION_TTL)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(session)
    }

    /// The applications `user` consented to, with what they may do and their last use.
    pub async fn authorized_apps(&self, user: &User) -> StoreResult<Vec<ConsentRecord>> {
        self.0.store().list_consents(user.id).await
    }

    /// Withdraws `user`'s consent to `client_id` and revokes every token that client
    /// holds for `user`; `false` when `user` had not consented to it.
    pub async fn revoke_app(&self, user: &User, client_id: &str) -> StoreResult<bool> {
        self.0
            .store()
            .withdraw_consent(user.id, client_id, now())
            .await
    }

    /// Ends every browser session of `user` (this one too).
    pub async fn sign_out_everywhere(&self, user: &User) -> StoreResult<()> {
        self.0.store().delete_user_sessions(user.id).await
    }

    /// Ends the browser session `session` (if it is one).
    pub async fn sign_out(&self, session: &PlainSecret) -> StoreResult<()> {
        self.0.store().delete_session(&session.digest()).await
    }

    /// Checks an RP-initiated logout request: the `id_token_hint` (verified against this
    /// server's published keys and `issuer`, expired accepted; an invalid one is ignored,
    /// so that the person is asked to confirm), the client (`client_id`, else the hint's
    /// audience; both must agree), and the `post_logout_redirect_uri`, which must be one
    /// of the client's registered post-logout redirect URIs, byte for byte.
    pub async fn logout_request(
        &self,
        params: LogoutParams<'_>,
        issuer: &str,
    ) -> Result<LogoutRequest, LogoutError> {
        let hint = match params.id_token_hint {
            Some(token) => self.0.keys().verify_hint(token, issuer).await?,
            None => None,
        };
        let client_id = match (params.client_id, &hint) {
            (Some(id), Some(h)) if id != h.aud => {
                return Err(LogoutError::Invalid(
                    "client_id is not the audience of the id_token_hint".into(),
                ));
            }
            (Some(id), _) => Some(id),
            (None, Some(h)) => Some(h.aud.as_str()),
            (None, None) => None,
        };
        let client = match client_id {
            Some(id) => match self.0.store().client_by_id(id).await {
                Ok(c) => Some(c),
                Err(StoreError::NotFound) => {
                    return Err(LogoutError::Invalid(
                        "the application that sent you here is not registered".into(),
                    ));
                }
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let redirect = match params.post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let Some(client) = &client else {
                    return Err(LogoutError::Invalid(
                        "a post_logout_redirect_uri needs client_id or id_token_hint".into(),
                    ));
                };
                let Some(registered) = client
                    .post_logout_redirect_uris
                    .iter()
                    .find(|r| r.as_str() == uri)
                else {
                    return Err(LogoutError::Invalid(
                        "the post_logout_redirect_uri is not registered for this application"
                            .into(),
                    ));
                };
                Some(authorize::logout_url(registered, params.state))
            }
        };
        Ok(LogoutRequest {
            hinted_user: hint.and_then(|h| Uuid::parse_str(&h.sub).ok()),
            redirect,
            client_name: client.map(|c| c.name.to_string()),
        })
    }

    /// Reads and checks an authorization request (the query of `GET /oauth/v2/auth`)
    /// against the client it names.
    pub async fn authorization_request(
        &self,
        query: &str,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        self.checked_request(query, false).await
    }

    /// [`Sessions::authorization_request`], or the check of a request being pushed
    /// (`pushing`), which a client that requires pushed requests may of course send.
    async fn checked_request(
        &self,
        query: &str,
        pushing: bool,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        let params = parse_query(query)?;
        let (params, pushed) = self.pushed(params).await?;
        let (client, owner) = match self.0.store().client_with_owner(params.client_id()).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Err(authorize::unknown_client().into()),
            Err(e) => return Err(e.into()),
        };
        if client.require_par && pushed.is_none() && !pushing {
            return Err(AuthorizeError::Refused(authorize::AuthorizeError::Page(
                "this application must push its authorization requests (RFC 9126): \
                 start again from the application"
                    .into(),
            )));
        }
        let client = RequestingClient {
            id: client.id,
            name: client.name,
            // An organization's application is presented as the organization's, not as
            // that of the member who registered it.
            owner: match client.org {
                Some(org) => AppOwner::Org(org),
                None => AppOwner::User(owner.username),
            },
            redirect_uris: client.redirect_uris,
            grant_types: client.grant_types,
            scopes: client.scopes,
        };
        let mut request = check_request(params, client)?;
        request.pushed = pushed;
        Ok(request)
    }

    /// With `request_uri` (RFC 9126 §4): the parameters pushed under it, which replace the
    /// query's (any other parameter of the query is ignored), and its digest. The request
    /// must be the same client's, unexpired and unused; otherwise the person is shown a
    /// page (the client's redirect URI is not known yet).
    async fn pushed(
        &self,
        params: RequestParams,
    ) -> Result<(RequestParams, Option<TokenDigest>), AuthorizeError> {
        let Some(uri) = params.get("request_uri") else {
            return Ok((params, None));
        };
        let refused = || {
            AuthorizeError::Refused(authorize::AuthorizeError::Page(
                "the request_uri is unknown, expired or already used: start again from the \
                 application"
                    .into(),
            ))
        };
        let digest = TokenDigest::of(uri.as_bytes());
        let Some(found) = self.0.store().pushed_request(&digest).await? else {
            return Err(refused());
        };
        if found.used_at.is_some()
            || found.expires_at <= now()
            || found.client_id != params.client_id()
        {
            return Err(refused());
        }
        Ok((parse_query(&found.params)?, Some(digest)))
    }

    /// Pushes an authorization request (RFC 9126 §2) of `client`, already authenticated:
    /// `params` are checked as the authorization endpoint would check them, then stored for
    /// [`PUSHED_TTL`] seconds under a new `request_uri`, which is answered.
    pub async fn push_request(
        &self,
        client: &Client,
        params: &[(String, String)],
    ) -> Result<PlainSecret, AuthorizeError> {
        let page = |m: &str| AuthorizeError::Refused(authorize::AuthorizeError::Page(m.into()));
        if params.iter().any(|(k, _)| k == "request_uri") {
            return Err(page("request_uri cannot be pushed"));
        }
        // In a block: the serializer may not be held across an await.
        let query = {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("client_id", &client.id);
            for (k, v) in params {
                query.append_pair(k, v);
            }
            query.finish()
        };
        // The same checks as the authorization endpoint's, on the same text.
        self.checked_request(&query, true).await?;
        let request_uri = PlainSecret::generate(PUSHED_PREFIX, 32);
        self.0
            .store()
            .insert_pushed_request(&PushedRequest {
                digest: request_uri.digest(),
                client_id: client.id.clone(),
                params: query,
                expires_at: now() + PUSHED_TTL,
                used_at: None,
            })
            .await?;
        Ok(request_uri)
    }

    /// The consent `user` already gave `client_id` covers `scope`.
    pub async fn consent_covers(
        &self,
        user: &User,
        client_id: &str,
        scope: ScopeSet,
    ) -> StoreResult<bool> {
        Ok(self
            .0
            .store()
            .consent(user.id, client_id)
            .await?
            .is_some_and(|granted| scope.is_subset_of(granted)))
    }

    /// Records that `user` approved `scope` for `client_id`, keeping what was approved
    /// before (the remembered consent is the union).
    pub async fn remember_consent(
        &self,
        user: &User,
        client_id: &str,
        scope: ScopeSet,
    ) -> StoreResult<()> {
        let store = self.0.store();
        let before = store.consent(user.id, client_id).await?.unwrap_or_default();
        let union = scope.iter().fold(before, ScopeSet::with);
        store.save_consent(user.id, client_id, union, now()).await
    }

    /// Issues a code for an approved request and answers the URL to send the browser to
    /// (`issuer` is this server's public URL, RFC 9207). `signed_in_at` is when `user`
    /// signed in to the approving session (the ID token's `auth_time`).
    pub async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        user: &User,
        signed_in_at: Timestamp,
        scope: ScopeSet,
        issuer: &str,
    ) -> Result<String, AuthorizeError> {
        let code = PlainSecret::generate("hac_", 32);
        let now = now();
        // A pushed request gives one code (RFC 9126 §4): a second approval of it (two
        // tabs, a replayed form) finds it used.
        if let Some(pushed) = &request.pushed
            && !self.0.store().use_pushed_request(pushed, now).await?
        {
            return Err(AuthorizeError::Refused(authorize::AuthorizeError::Page(
                "this request was already answered: start again from the application".into(),
            )));
        }
        self.0
            .store()
            .insert_code(&NewAuthorizationCode {
                digest: code.digest(),
                family_id: Uuid::now_v7(),
                client_id: request.client.id.clone(),
                user_id: user.id,
                redirect_uri: request.redirect_uri.clone(),
                scope,
                scope_named: request.scope_param.is_some(),
                code_challenge: request.code_challenge.clone(),
                nonce: request.nonce.clone(),
                auth_time: Some(signed_in_at),
                created_at: now,
                expires_at: now + CODE_TTL,
            })
            .await?;
        Ok(code_url(request, code.expose(), issuer))
    }
}
