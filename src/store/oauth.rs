//! Storage of third-party applications: an account's clients, user administration, the
//! authorization endpoint's browser sessions, authorization codes and remembered consent.
//!
//! [`OAuthStore`] is a supertrait of [`Store`](super::Store), implemented once for both
//! engines on [`SqlStore`]. Client and account changes invalidate the auth
//! cache; sessions, codes and consents are never cached, so their writes do not.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use super::engine::Engine;
use super::sql::{ClientRow, SqlStore, UserRow, parse_scope, parse_uuid};
use super::{Client, NewTokens, Page, StoreError, StoreResult, Timestamp, User};
use crate::domain::authorize::AppOwner;
use crate::domain::client::{ClientName, RedirectUri};
use crate::domain::jose::SigningAlg;
use crate::domain::org::OrgName;
use crate::domain::user::Username;
use crate::domain::{GrantType, ScopeSet, TokenDigest};

/// A change to a client; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    /// New name.
    pub name: Option<ClientName>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<RedirectUri>>,
    /// New grant types (already validated).
    pub grant_types: Option<Vec<GrantType>>,
    /// New scopes (already validated).
    pub scopes: Option<ScopeSet>,
    /// New ID token signing algorithm.
    pub id_token_alg: Option<SigningAlg>,
    /// New post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<RedirectUri>>,
    /// Require pushed authorization requests, or stop requiring them.
    pub require_par: Option<bool>,
}

/// A change an administrator makes to an account; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// Disable (`true`) or re-enable (`false`).
    pub disabled: Option<bool>,
    /// Grant or withdraw administration.
    pub is_admin: Option<bool>,
    /// A new argon2id hash (password reset).
    pub password_hash: Option<String>,
}

/// A new authorization code (RFC 6749 §4.1.2), stored only as its digest.
#[derive(Debug, Clone)]
pub struct NewAuthorizationCode {
    /// SHA-256 of the code.
    pub digest: TokenDigest,
    /// The family of the tokens it will issue (revoked if the code is replayed).
    pub family_id: Uuid,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who approved it.
    pub user_id: Uuid,
    /// The redirect URI of the authorization request (exact match at the exchange).
    pub redirect_uri: RedirectUri,
    /// Granted scope.
    pub scope: ScopeSet,
    /// The authorization request named a scope. Recorded; the token answer carries the
    /// granted scope either way.
    pub scope_named: bool,
    /// OpenID Connect `nonce` of the authorization request.
    pub nonce: Option<String>,
    /// When the user signed in to the session that approved it.
    pub auth_time: Option<Timestamp>,
    /// PKCE S256 challenge (RFC 7636 §4.2), base64url.
    pub code_challenge: String,
    /// Issue time.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
}

/// A stored authorization code.
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    /// Family of the tokens it issues.
    pub family_id: Uuid,
    /// Client it was issued to.
    pub client_id: String,
    /// The user who approved it.
    pub user_id: Uuid,
    /// Redirect URI of the authorization request.
    pub redirect_uri: RedirectUri,
    /// Granted scope.
    pub scope: ScopeSet,
    /// The authorization request named a scope.
    pub scope_named: bool,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// OpenID Connect `nonce` of the authorization request.
    pub nonce: Option<String>,
    /// When the user signed in to the session that approved it (`None`: unknown).
    pub auth_time: Option<Timestamp>,
    /// Expiry.
    pub expires_at: Timestamp,
    /// When it was exchanged; a second exchange is a replay.
    pub used_at: Option<Timestamp>,
}

/// One application a user consented to, as the console lists it.
#[derive(Debug, Clone)]
pub struct ConsentRecord {
    /// The client.
    pub client_id: String,
    /// Its name.
    pub client_name: ClientName,
    /// Its owner: the account that registered it, or an organization.
    pub owner: AppOwner,
    /// What the user granted.
    pub scope: ScopeSet,
    /// When the consent was (last) given.
    pub created_at: Timestamp,
    /// The last use of a token the client holds for the user.
    pub last_used_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct ConsentRow {
    client_id: String,
    client_name: String,
    owner: String,
    owner_org: Option<String>,
    scope: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

/// Storage of clients, accounts (administration), sessions, codes and consent.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// A page of an account's clients, oldest first, and their total count.
    async fn list_user_clients(
        &self,
        owner_id: Uuid,
        page: Page,
    ) -> StoreResult<(Vec<Client>, u64)>;
    /// A page of an organization's clients, oldest first, and their total count.
    async fn list_org_clients(&self, org: &OrgName, page: Page) -> StoreResult<(Vec<Client>, u64)>;
    /// Changes a client; `NotFound` when it does not exist.
    async fn update_client(&self, client_id: &str, changes: &ClientChanges) -> StoreResult<Client>;
    /// Replaces a client's secret digest (rotation); `NotFound` when it does not exist.
    /// Replaces a client's secret. With `keep_old_until`, the replaced secret keeps
    /// working until then (a grace period); without, it stops at once. Either way an
    /// earlier replaced secret stops.
    async fn set_client_secret(
        &self,
        client_id: &str,
        digest: &TokenDigest,
        keep_old_until: Option<Timestamp>,
    ) -> StoreResult<()>;
    /// Deletes a client with its tokens, codes and consents; `NotFound` when unknown.
    async fn delete_client(&self, client_id: &str) -> StoreResult<()>;

    /// A page of every account, oldest first (then by name), and the total count.
    async fn list_users(&self, page: Page) -> StoreResult<(Vec<User>, u64)>;
    /// Applies an administrator's change; `NotFound` when the account does not exist.
    async fn change_account(&self, user_id: Uuid, changes: &AccountChanges) -> StoreResult<User>;
    /// Deletes an account and everything it owns; `NotFound` when unknown.
    async fn delete_user(&self, user_id: Uuid) -> StoreResult<()>;

    /// Stores a browser session of the authorization endpoint.
    async fn create_session(
        &self,
        digest: &TokenDigest,
        user_id: Uuid,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// The user of a live session and when they signed in (`None`: unknown or expired
    /// session).
    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<(User, Timestamp)>>;
    /// When a live session was started, that is when its person last gave their
    /// password (`None`: unknown or expired session).
    async fn session_started(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<Timestamp>>;
    /// Ends a session.
    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()>;
    /// Ends every browser session of an account.
    async fn delete_user_sessions(&self, user_id: Uuid) -> StoreResult<()>;

    /// Stores an authorization code.
    async fn insert_code(&self, code: &NewAuthorizationCode) -> StoreResult<()>;
    /// The code with this digest; `None` if unknown.
    async fn authorization_code(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<AuthorizationCode>>;
    /// Exchanges a code: in one transaction, marks it used if and only if it is still
    /// unused (compare-and-swap) and stores `tokens`. `false` (nothing stored) when another
    /// request used it first.
    async fn redeem_code(
        &self,
        digest: &TokenDigest,
        at: Timestamp,
        tokens: &NewTokens,
    ) -> StoreResult<bool>;

    /// The scope a user already granted a client, if any.
    async fn consent(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<ScopeSet>>;
    /// Records (or replaces) what a user granted a client.
    async fn save_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scope: ScopeSet,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Withdraws a user's consent to one client (`None`: to every client).
    async fn delete_consents(&self, user_id: Uuid, client_id: Option<&str>) -> StoreResult<()>;
    /// The applications a user consented to, the most recent consent first.
    async fn list_consents(&self, user_id: Uuid) -> StoreResult<Vec<ConsentRecord>>;
    /// Withdraws a user's consent to a client and revokes every token the client holds
    /// for that user, in one write; `false` when there was no consent.
    async fn withdraw_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;

    /// Deletes sessions and codes that expired before `before`.
    async fn purge_oauth(&self, before: Timestamp) -> StoreResult<u64>;

    /// Stores a signing key as the current one of its algorithm, unless that algorithm
    /// already has one (`false`: nothing written). Two nodes starting at once on an empty
    /// database thus agree on one key.
    async fn insert_first_signing_key(&self, key: &NewSigningKey) -> StoreResult<bool>;
    /// Retires the current key of the new key's algorithm (at its `created_at`) and stores
    /// the new one as current, in one transaction; `Conflict` when a concurrent rotation
    /// won.
    async fn rotate_signing_key(&self, key: &NewSigningKey) -> StoreResult<()>;
    /// The signing keys that are current, or were retired at or after `retired_since`;
    /// current ones first, then newest first.
    async fn signing_keys(&self, retired_since: Timestamp) -> StoreResult<Vec<SigningKey>>;

    /// Records a DPoP proof (the digest of its key and `jti`) until `expires_at`; `false`
    /// when it was recorded before (a replay), on any node.
    async fn record_dpop_proof(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
    ) -> StoreResult<bool>;
    /// The server secret called `name`: the one stored, or `candidate` stored now when
    /// there is none (the first node to store one wins; every node then reads it).
    async fn server_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;

    /// Stores a pushed authorization request (RFC 9126).
    async fn insert_pushed_request(&self, pushed: &PushedRequest) -> StoreResult<()>;
    /// The pushed request with this digest, used or not.
    async fn pushed_request(&self, digest: &TokenDigest) -> StoreResult<Option<PushedRequest>>;
    /// Marks a pushed request used at `at`; `false` when it was used already (or is gone).
    async fn use_pushed_request(&self, digest: &TokenDigest, at: Timestamp) -> StoreResult<bool>;
}

/// A pushed authorization request (RFC 9126), stored under the digest of its
/// `request_uri`.
#[derive(Debug, Clone)]
pub struct PushedRequest {
    /// SHA-256 of the `request_uri`.
    pub digest: TokenDigest,
    /// The client that pushed it.
    pub client_id: String,
    /// Its parameters, form-encoded, as the authorization endpoint reads a query.
    pub params: String,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When a code was issued for it (`None`: unused).
    pub used_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct PushedRow {
    digest: Vec<u8>,
    client_id: String,
    params: String,
    expires_at: i64,
    used_at: Option<i64>,
}

/// A signing key to store.
pub struct NewSigningKey {
    /// Its `kid` (the RFC 7638 thumbprint of its public half).
    pub kid: String,
    /// Its algorithm.
    pub alg: SigningAlg,
    /// The private key, PKCS#8 DER.
    pub private_key: Vec<u8>,
    /// The public half, as published (a JWK).
    pub public_jwk: serde_json::Value,
    /// When it was generated.
    pub created_at: Timestamp,
}

/// A stored signing key.
#[derive(Clone)]
pub struct SigningKey {
    /// Its `kid`.
    pub kid: String,
    /// Its algorithm.
    pub alg: SigningAlg,
    /// The private key, PKCS#8 DER (never printed: see `Debug`).
    pub private_key: Vec<u8>,
    /// The public half, as published (a JWK).
    pub public_jwk: serde_json::Value,
    /// When it was generated.
    pub created_at: Timestamp,
    /// When a newer key of its algorithm replaced it (`None`: it is current).
    pub retired_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct SigningKeyRow {
    kid: String,
    alg: String,
    private_key: Vec<u8>,
    public_jwk: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl SigningKeyRow {
    fn into_key(self) -> StoreResult<SigningKey> {
        let alg = SigningAlg::parse(&self.alg).ok_or_else(|| {
            StoreError::Other(anyhow::anyhow!("unknown signing algorithm {:?}", self.alg))
        })?;
        let public_jwk = serde_json::from_str(&self.public_jwk)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("signing key {}: {e}", self.kid)))?;
        Ok(SigningKey {
            kid: self.kid,
            alg,
            private_key: self.private_key,
            public_jwk,
            created_at: self.created_at,
            retired_at: self.retired_at,
        })
    }
}

/// Inserts a signing key as current (`ON CONFLICT` on the one-current-key index).
const INSERT_SIGNING_KEY: &str = "INSERT INTO signing_keys \
     (kid, alg, private_key, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (alg) WHERE retired_at IS NULL DO NOTHING";

#[derive(sqlx::FromRow)]
struct CodeRow {
    family_id: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    scope: String,
    scope_named: bool,
    code_challenge: String,
    nonce: Option<String>,
    auth_time: Option<i64>,
    expires_at: i64,
    used_at: Option<i64>,
}

impl CodeRow {
    fn into_code(self) -> StoreResult<AuthorizationCode> {
        Ok(AuthorizationCode {
            family_id: parse_uuid(&self.family_id)?,
            client_id: self.client_id,
            user_id: parse_uuid(&self.user_id)?,
            redirect_uri: RedirectUri::from_trusted(self.redirect_uri),
            scope: parse_scope(&self.scope)?,
            scope_named: self.scope_named,
            code_challenge: self.code_challenge,
            nonce: self.nonce,
            auth_time: self.auth_time,
            expires_at: self.expires_at,
            used_at: self.used_at,
        })
    }
}

/// A session's user and sign-in time.
#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    signed_in_at: i64,
}

#[async_trait]
impl<DB> OAuthStore for SqlStore<DB>
where
    DB: Engine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    str: Type<DB>,
    for<'q, 's> &'s str: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<bool>: Encode<'q, DB>,
    for<'q> Option<Vec<u8>>: Encode<'q, DB>,
{
    async fn list_user_clients(
        &self,
        owner_id: Uuid,
        page: Page,
    ) -> StoreResult<(Vec<Client>, u64)> {
        let rows = sqlx::query_as::<DB, ClientRow>(concat!(
            "SELECT id, owner_id, name, secret_digest, redirect_uris, grant_types, scopes, \
             trusted, created_at, previous_secret_digest, previous_secret_expires_at, \
             id_token_signed_response_alg, post_logout_redirect_uris, require_par, org_name \
             FROM clients WHERE owner_id = $1 AND personal = FALSE AND org_name IS NULL \
             ORDER BY created_at, id ",
            limit!("$2"),
            " OFFSET $3"
        ))
        .bind(owner_id.to_string())
        .bind(i64::from(page.size))
        .bind(page.offset())
        .fetch_all(self.reader())
        .await?;
        let total = sqlx::query_scalar::<DB, i64>(
            "SELECT COUNT(*) FROM clients \
             WHERE owner_id = $1 AND personal = FALSE AND org_name IS NULL",
        )
        .bind(owner_id.to_string())
        .fetch_one(self.reader())
        .await?;
        let clients = rows
            .into_iter()
            .map(ClientRow::into_client)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((clients, u64::try_from(total).unwrap_or(0)))
    }

    async fn list_org_clients(&self, org: &OrgName, page: Page) -> StoreResult<(Vec<Client>, u64)> {
        let rows = sqlx::query_as::<DB, ClientRow>(concat!(
            "SELECT id, owner_id, name, secret_digest, redirect_uris, grant_types, scopes, \
             trusted, created_at, previous_secret_digest, previous_secret_expires_at, \
             id_token_signed_response_alg, post_logout_redirect_uris, require_par, org_name \
             FROM clients WHERE org_name = $1 AND personal = FALSE \
             ORDER BY created_at, id ",
            limit!("$2"),
            " OFFSET $3"
        ))
        .bind(org.as_str())
        .bind(i64::from(page.size))
        .bind(page.offset())
        .fetch_all(self.reader())
        .await?;
        let total = sqlx::query_scalar::<DB, i64>(
            "SELECT COUNT(*) FROM clients WHERE org_name = $1 AND personal = FALSE",
        )
        .bind(org.as_str())
        .fetch_one(self.reader())
        .await?;
        let clients = rows
            .into_iter()
            .map(ClientRow::into_client)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((clients, u64::try_from(total).unwrap_or(0)))
    }

    async fn update_client(&self, client_id: &str, changes: &ClientChanges) -> StoreResult<Client> {
        let uris = changes
            .redirect_uris
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Other(e.into()))?;
        let logout_uris = changes
            .post_logout_redirect_uris
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Other(e.into()))?;
        let _invalidates = self.invalidation();
        sqlx::query_as::<DB, ClientRow>(
            "UPDATE clients SET name = COALESCE($2, name), \
             redirect_uris = COALESCE($3, redirect_uris), \
             grant_types = COALESCE($4, grant_types), scopes = COALESCE($5, scopes), \
             id_token_signed_response_alg = COALESCE($7, id_token_signed_response_alg), \
             post_logout_redirect_uris = COALESCE($8, post_logout_redirect_uris), \
             require_par = COALESCE($9, require_par), updated_at = $6 WHERE id = $1 \
             RETURNING id, owner_id, name, secret_digest, redirect_uris, grant_types, scopes, \
             trusted, created_at, previous_secret_digest, previous_secret_expires_at, \
             id_token_signed_response_alg, post_logout_redirect_uris, require_par, org_name",
        )
        .bind(client_id)
        .bind(changes.name.as_ref().map(|n| n.as_str().to_owned()))
        .bind(uris)
        .bind(changes.grant_types.as_deref().map(GrantType::join))
        .bind(changes.scopes.map(|s| s.to_string()))
        .bind(super::now())
        .bind(changes.id_token_alg.map(|a| a.as_str().to_owned()))
        .bind(logout_uris)
        .bind(changes.require_par)
        .fetch_one(self.writer())
        .await?
        .into_client()
    }

    async fn set_client_secret(
        &self,
        client_id: &str,
        digest: &TokenDigest,
        keep_old_until: Option<Timestamp>,
    ) -> StoreResult<()> {
        let _invalidates = self.invalidation();
        // The right-hand sides read the row as it was: the old secret becomes the
        // previous one (or none) in the same statement.
        let done = sqlx::query::<DB>(
            "UPDATE clients SET \
             previous_secret_digest = CASE WHEN $4 THEN secret_digest ELSE NULL END, \
             previous_secret_expires_at = $5, secret_digest = $2, updated_at = $3 \
             WHERE id = $1",
        )
        .bind(client_id)
        .bind(digest.as_bytes().to_vec())
        .bind(super::now())
        .bind(keep_old_until.is_some())
        .bind(keep_old_until)
        .execute(self.writer())
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<()> {
        let _invalidates = self.invalidation();
        let done = sqlx::query::<DB>("DELETE FROM clients WHERE id = $1")
            .bind(client_id)
            .execute(self.writer())
            .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn list_users(&self, page: Page) -> StoreResult<(Vec<User>, u64)> {
        let rows = sqlx::query_as::<DB, UserRow>(concat!(
            "SELECT id, username, email, name, is_admin, disabled, created_at FROM users \
             ORDER BY created_at, lower(username) ",
            limit!("$1"),
            " OFFSET $2"
        ))
        .bind(i64::from(page.size))
        .bind(page.offset())
        .fetch_all(self.reader())
        .await?;
        let total = sqlx::query_scalar::<DB, i64>("SELECT COUNT(*) FROM users")
            .fetch_one(self.reader())
            .await?;
        let users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((users, u64::try_from(total).unwrap_or(0)))
    }

    async fn change_account(&self, user_id: Uuid, changes: &AccountChanges) -> StoreResult<User> {
        let _invalidates = self.invalidation();
        let mut tx = self.writer().begin().await?;
        let user = sqlx::query_as::<DB, UserRow>(
            "UPDATE users SET disabled = COALESCE($2, disabled), \
             is_admin = COALESCE($3, is_admin), \
             password_hash = COALESCE($4, password_hash), updated_at = $5 \
             WHERE id = $1 RETURNING id, username, email, name, is_admin, disabled, created_at",
        )
        .bind(user_id.to_string())
        .bind(changes.disabled)
        .bind(changes.is_admin)
        .bind(changes.password_hash.clone())
        .bind(super::now())
        .fetch_one(&mut *tx)
        .await?
        .into_user()?;
        if changes.disabled == Some(true) || changes.password_hash.is_some() {
            // A disabled account or a reset password ends every browser session.
            sqlx::query::<DB>("DELETE FROM auth_sessions WHERE user_id = $1")
                .bind(user_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    async fn delete_user(&self, user_id: Uuid) -> StoreResult<()> {
        let _invalidates = self.invalidation();
        // Its add-ons go with it (by cascade).
        let _registry = self.registry_write();
        let mut tx = self.writer().begin().await?;
        // The organizations' clients it registered stay with their organizations: another
        // owner (the longest-standing) becomes their registrant. Only a client whose
        // organization has no other owner left goes with the account.
        sqlx::query::<DB>(
            "UPDATE clients SET owner_id = (SELECT m.user_id FROM org_members m \
             WHERE m.org_name = clients.org_name AND m.role = 'owner' AND m.user_id <> $1 \
             ORDER BY m.created_at, m.user_id LIMIT 1) \
             WHERE owner_id = $1 AND org_name IS NOT NULL AND EXISTS (SELECT 1 \
             FROM org_members m WHERE m.org_name = clients.org_name AND m.role = 'owner' \
             AND m.user_id <> $1)",
        )
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query::<DB>("DELETE FROM users WHERE id = $1")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(
        &self,
        digest: &TokenDigest,
        user_id: Uuid,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO auth_sessions (digest, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(digest.as_bytes().to_vec())
        .bind(user_id.to_string())
        .bind(created_at)
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<(User, Timestamp)>> {
        sqlx::query_as::<DB, SessionRow>(
            "SELECT u.id, u.username, u.email, u.name, u.is_admin, u.disabled, u.created_at, \
             s.created_at AS signed_in_at \
             FROM auth_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.digest = $1 AND s.expires_at > $2",
        )
        .bind(digest.as_bytes().to_vec())
        .bind(now)
        .fetch_optional(self.reader())
        .await?
        .map(|row| Ok((row.user.into_user()?, row.signed_in_at)))
        .transpose()
    }

    async fn session_started(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<Timestamp>> {
        Ok(sqlx::query_scalar::<DB, Timestamp>(
            "SELECT created_at FROM auth_sessions WHERE digest = $1 AND expires_at > $2",
        )
        .bind(digest.as_bytes().to_vec())
        .bind(now)
        .fetch_optional(self.reader())
        .await?)
    }

    async fn delete_user_sessions(&self, user_id: Uuid) -> StoreResult<()> {
        sqlx::query::<DB>("DELETE FROM auth_sessions WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()> {
        sqlx::query::<DB>("DELETE FROM auth_sessions WHERE digest = $1")
            .bind(digest.as_bytes().to_vec())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn insert_code(&self, c: &NewAuthorizationCode) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO authorization_codes (digest, family_id, client_id, user_id, \
             redirect_uri, scope, scope_named, code_challenge, created_at, expires_at, \
             nonce, auth_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(c.digest.as_bytes().to_vec())
        .bind(c.family_id.to_string())
        .bind(&c.client_id)
        .bind(c.user_id.to_string())
        .bind(c.redirect_uri.as_str())
        .bind(c.scope.to_string())
        .bind(c.scope_named)
        .bind(&c.code_challenge)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.nonce.clone())
        .bind(c.auth_time)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn authorization_code(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<AuthorizationCode>> {
        sqlx::query_as::<DB, CodeRow>(
            "SELECT family_id, client_id, user_id, redirect_uri, scope, scope_named, \
             code_challenge, nonce, auth_time, expires_at, used_at \
             FROM authorization_codes WHERE digest = $1",
        )
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(self.reader())
        .await?
        .map(CodeRow::into_code)
        .transpose()
    }

    async fn redeem_code(
        &self,
        digest: &TokenDigest,
        at: Timestamp,
        tokens: &NewTokens,
    ) -> StoreResult<bool> {
        // The code's compare-and-swap and the tokens it issues, in one transaction.
        let mut tx = self.writer().begin().await?;
        let swapped = sqlx::query::<DB>(
            "UPDATE authorization_codes SET used_at = $2 \
             WHERE digest = $1 AND used_at IS NULL",
        )
        .bind(digest.as_bytes().to_vec())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&swapped) != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        Self::insert_tokens_in(&mut tx, tokens).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_consents(&self, user_id: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        let rows = sqlx::query_as::<DB, ConsentRow>(
            "SELECT k.client_id, c.name AS client_name, u.username AS owner, \
             c.org_name AS owner_org, k.scope, \
             k.created_at, (SELECT MAX(a.last_used_at) FROM access_tokens a \
             WHERE a.user_id = k.user_id AND a.client_id = k.client_id) AS last_used_at \
             FROM consents k JOIN clients c ON c.id = k.client_id \
             JOIN users u ON u.id = c.owner_id \
             WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.client_id",
        )
        .bind(user_id.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ConsentRecord {
                    client_id: r.client_id,
                    client_name: ClientName::from_trusted(r.client_name),
                    owner: match r.owner_org {
                        Some(org) => AppOwner::Org(OrgName::from_trusted(org)),
                        None => AppOwner::User(Username::from_trusted(r.owner)),
                    },
                    scope: parse_scope(&r.scope)?,
                    created_at: r.created_at,
                    last_used_at: r.last_used_at,
                })
            })
            .collect()
    }

    async fn withdraw_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let _invalidates = self.invalidation();
        let mut tx = self.writer().begin().await?;
        let done = sqlx::query::<DB>("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id.to_string())
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        for table in ["access_tokens", "refresh_tokens"] {
            sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET revoked_at = $3 \
                 WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL"
            )))
            .bind(user_id.to_string())
            .bind(client_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(DB::rows_affected(&done) > 0)
    }

    async fn consent(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<ScopeSet>> {
        sqlx::query_scalar::<DB, String>(
            "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2",
        )
        .bind(user_id.to_string())
        .bind(client_id)
        .fetch_optional(self.reader())
        .await?
        .as_deref()
        .map(parse_scope)
        .transpose()
    }

    async fn save_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scope: ScopeSet,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO consents (user_id, client_id, scope, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) \
             DO UPDATE SET scope = excluded.scope, created_at = excluded.created_at",
        )
        .bind(user_id.to_string())
        .bind(client_id)
        .bind(scope.to_string())
        .bind(at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn delete_consents(&self, user_id: Uuid, client_id: Option<&str>) -> StoreResult<()> {
        sqlx::query::<DB>(
            "DELETE FROM consents WHERE user_id = $1 AND ($2 IS NULL OR client_id = $2)",
        )
        .bind(user_id.to_string())
        .bind(client_id.map(str::to_owned))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn purge_oauth(&self, before: Timestamp) -> StoreResult<u64> {
        let sessions = sqlx::query::<DB>("DELETE FROM auth_sessions WHERE expires_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        let codes = sqlx::query::<DB>("DELETE FROM authorization_codes WHERE expires_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        let proofs = sqlx::query::<DB>("DELETE FROM dpop_proofs WHERE expires_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        let pushed = sqlx::query::<DB>("DELETE FROM pushed_requests WHERE expires_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(DB::rows_affected(&sessions)
            + DB::rows_affected(&codes)
            + DB::rows_affected(&proofs)
            + DB::rows_affected(&pushed))
    }

    async fn insert_first_signing_key(&self, key: &NewSigningKey) -> StoreResult<bool> {
        let done = sqlx::query::<DB>(INSERT_SIGNING_KEY)
            .bind(&key.kid)
            .bind(key.alg.as_str())
            .bind(key.private_key.clone())
            .bind(key.public_jwk.to_string())
            .bind(key.created_at)
            .execute(self.writer())
            .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn rotate_signing_key(&self, key: &NewSigningKey) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query::<DB>(
            "UPDATE signing_keys SET retired_at = $2 WHERE alg = $1 AND retired_at IS NULL",
        )
        .bind(key.alg.as_str())
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query::<DB>(INSERT_SIGNING_KEY)
            .bind(&key.kid)
            .bind(key.alg.as_str())
            .bind(key.private_key.clone())
            .bind(key.public_jwk.to_string())
            .bind(key.created_at)
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&done) != 1 {
            return Err(StoreError::Conflict {
                constraint: "signing_keys_current_key".into(),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn signing_keys(&self, retired_since: Timestamp) -> StoreResult<Vec<SigningKey>> {
        sqlx::query_as::<DB, SigningKeyRow>(
            "SELECT kid, alg, private_key, public_jwk, created_at, retired_at \
             FROM signing_keys WHERE retired_at IS NULL OR retired_at >= $1 \
             ORDER BY retired_at IS NOT NULL, created_at DESC, kid",
        )
        .bind(retired_since)
        .fetch_all(self.reader())
        .await?
        .into_iter()
        .map(SigningKeyRow::into_key)
        .collect()
    }

    async fn record_dpop_proof(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query::<DB>(
            "INSERT INTO dpop_proofs (digest, expires_at) VALUES ($1, $2) \
             ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest.as_bytes().to_vec())
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn server_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query::<DB>(
            "INSERT INTO server_secrets (name, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate.to_vec())
        .bind(super::now())
        .execute(self.writer())
        .await?;
        // Read from the writer: a reader might not see the row just written yet.
        let secret =
            sqlx::query_scalar::<DB, Vec<u8>>("SELECT secret FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(self.writer())
                .await?;
        Ok(secret)
    }

    async fn insert_pushed_request(&self, pushed: &PushedRequest) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO pushed_requests (digest, client_id, params, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(pushed.digest.as_bytes().to_vec())
        .bind(&pushed.client_id)
        .bind(&pushed.params)
        .bind(pushed.expires_at)
        .bind(pushed.used_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn pushed_request(&self, digest: &TokenDigest) -> StoreResult<Option<PushedRequest>> {
        // From the writer: the client follows the push at once, maybe before a reader
        // would see it.
        let row = sqlx::query_as::<DB, PushedRow>(
            "SELECT digest, client_id, params, expires_at, used_at \
             FROM pushed_requests WHERE digest = $1",
        )
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(self.writer())
        .await?;
        row.map(|r| {
            Ok(PushedRequest {
                digest: super::sql::parse_digest(&r.digest)?,
                client_id: r.client_id,
                params: r.params,
                expires_at: r.expires_at,
                used_at: r.used_at,
            })
        })
        .transpose()
    }

    async fn use_pushed_request(&self, digest: &TokenDigest, at: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query::<DB>(
            "UPDATE pushed_requests SET used_at = $2 WHERE digest = $1 AND used_at IS NULL",
        )
        .bind(digest.as_bytes().to_vec())
        .bind(at)
        .execute(self.writer())
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }
}
