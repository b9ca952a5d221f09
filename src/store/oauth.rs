//! Storage of third-party applications (issue #3): an account's clients, user
//! administration, the authorization endpoint's browser sessions, authorization codes and
//! remembered consent.
//!
//! [`OAuthStore`] is a supertrait of [`Store`](super::Store), written once for both engines
//! like the core ([`impl_oauth_store!`] stamps it out per store type): the same SQL text,
//! `$1` placeholders, integer timestamps, binary digests.

use async_trait::async_trait;
use uuid::Uuid;

use super::{Client, Page, StoreResult, Timestamp, User};
use crate::domain::{GrantType, ScopeSet, TokenDigest};
use crate::store::NewTokens;

/// A change to a client; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    /// New name (already validated).
    pub name: Option<String>,
    /// New redirect URIs (already validated).
    pub redirect_uris: Option<Vec<String>>,
    /// New grant types (already validated).
    pub grant_types: Option<Vec<GrantType>>,
    /// New scopes (already validated).
    pub scopes: Option<ScopeSet>,
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
    pub redirect_uri: String,
    /// Granted scope.
    pub scope: ScopeSet,
    /// The authorization request named a scope (the token answer then echoes it).
    pub scope_named: bool,
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
    pub redirect_uri: String,
    /// Granted scope.
    pub scope: ScopeSet,
    /// The authorization request named a scope.
    pub scope_named: bool,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Expiry.
    pub expires_at: Timestamp,
    /// When it was exchanged; a second exchange is a replay.
    pub used_at: Option<Timestamp>,
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
    /// Changes a client; `NotFound` when it does not exist.
    async fn update_client(&self, client_id: &str, changes: &ClientChanges) -> StoreResult<Client>;
    /// Replaces a client's secret digest (rotation); `NotFound` when it does not exist.
    async fn set_client_secret(&self, client_id: &str, digest: &TokenDigest) -> StoreResult<()>;
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
    /// The user of a live session (`None`: unknown or expired session).
    async fn session_user(&self, digest: &TokenDigest, now: Timestamp)
    -> StoreResult<Option<User>>;
    /// Ends a session.
    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()>;

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

    /// Deletes sessions and codes that expired before `before`.
    async fn purge_oauth(&self, before: Timestamp) -> StoreResult<u64>;
}

#[derive(sqlx::FromRow)]
pub(super) struct CodeRow {
    family_id: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    scope: String,
    scope_named: bool,
    code_challenge: String,
    expires_at: i64,
    used_at: Option<i64>,
}

impl CodeRow {
    pub(super) fn into_code(self) -> StoreResult<AuthorizationCode> {
        Ok(AuthorizationCode {
            family_id: super::sql::parse_uuid(&self.family_id)?,
            client_id: self.client_id,
            user_id: super::sql::parse_uuid(&self.user_id)?,
            redirect_uri: self.redirect_uri,
            scope: super::sql::parse_scope(&self.scope)?,
            scope_named: self.scope_named,
            code_challenge: self.code_challenge,
            expires_at: self.expires_at,
            used_at: self.used_at,
        })
    }
}

/// Implements [`OAuthStore`] for `$store`, whose pools are of database `$db`.
macro_rules! impl_oauth_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::oauth::OAuthStore for $store {
            async fn list_user_clients(
                &self,
                owner_id: uuid::Uuid,
                page: $crate::store::Page,
            ) -> $crate::store::StoreResult<(Vec<$crate::store::Client>, u64)> {
                let sql = format!(
                    "SELECT {} FROM clients WHERE owner_id = $1 \
                     ORDER BY created_at, id LIMIT $2 OFFSET $3",
                    $crate::store::sql::CLIENT_COLUMNS
                );
                let rows = sqlx::query_as::<_, $crate::store::sql::ClientRow>(
                    sqlx::AssertSqlSafe(sql),
                )
                .bind(owner_id.to_string())
                .bind(i64::from(page.size))
                .bind(page.offset())
                .fetch_all(self.reader())
                .await?;
                let total: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE owner_id = $1")
                        .bind(owner_id.to_string())
                        .fetch_one(self.reader())
                        .await?;
                let clients = rows
                    .into_iter()
                    .map(|r| r.into_client())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((clients, u64::try_from(total).unwrap_or(0)))
            }

            async fn update_client(
                &self,
                client_id: &str,
                changes: &$crate::store::oauth::ClientChanges,
            ) -> $crate::store::StoreResult<$crate::store::Client> {
                let uris = changes
                    .redirect_uris
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()
                    .map_err(|e| $crate::store::StoreError::Other(e.into()))?;
                let sql = format!(
                    "UPDATE clients SET name = COALESCE($2, name), \
                     redirect_uris = COALESCE($3, redirect_uris), \
                     grant_types = COALESCE($4, grant_types), scopes = COALESCE($5, scopes), \
                     updated_at = $6 WHERE id = $1 RETURNING {}",
                    $crate::store::sql::CLIENT_COLUMNS
                );
                let row = sqlx::query_as::<_, $crate::store::sql::ClientRow>(sqlx::AssertSqlSafe(
                    sql,
                ))
                    .bind(client_id)
                    .bind(changes.name.clone())
                    .bind(uris)
                    .bind(
                        changes
                            .grant_types
                            .as_deref()
                            .map($crate::domain::GrantType::join),
                    )
                    .bind(changes.scopes.map(|s| s.to_string()))
                    .bind($crate::store::now())
                    .fetch_one(self.writer())
                    .await;
                self.bump();
                row?.into_client()
            }

            async fn set_client_secret(
                &self,
                client_id: &str,
                digest: &$crate::domain::TokenDigest,
            ) -> $crate::store::StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE clients SET secret_digest = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(client_id)
                .bind(digest.as_bytes().to_vec())
                .bind($crate::store::now())
                .execute(self.writer())
                .await?;
                self.bump();
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn delete_client(&self, client_id: &str) -> $crate::store::StoreResult<()> {
                let done = sqlx::query("DELETE FROM clients WHERE id = $1")
                    .bind(client_id)
                    .execute(self.writer())
                    .await?;
                self.bump();
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn list_users(
                &self,
                page: $crate::store::Page,
            ) -> $crate::store::StoreResult<(Vec<$crate::store::User>, u64)> {
                let sql = format!(
                    "SELECT {} FROM users ORDER BY created_at, lower(username) LIMIT $1 OFFSET $2",
                    $crate::store::sql::USER_COLUMNS
                );
                let rows =
                    sqlx::query_as::<_, $crate::store::sql::UserRow>(sqlx::AssertSqlSafe(sql))
                        .bind(i64::from(page.size))
                        .bind(page.offset())
                        .fetch_all(self.reader())
                        .await?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(self.reader())
                    .await?;
                let users = rows
                    .into_iter()
                    .map(|r| r.into_user())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((users, u64::try_from(total).unwrap_or(0)))
            }

            async fn change_account(
                &self,
                user_id: uuid::Uuid,
                changes: &$crate::store::oauth::AccountChanges,
            ) -> $crate::store::StoreResult<$crate::store::User> {
                let sql = format!(
                    "UPDATE users SET disabled = COALESCE($2, disabled), \
                     is_admin = COALESCE($3, is_admin), \
                     password_hash = COALESCE($4, password_hash), updated_at = $5 \
                     WHERE id = $1 RETURNING {}",
                    $crate::store::sql::USER_COLUMNS
                );
                let mut tx = self.writer().begin().await?;
                let user =
                    sqlx::query_as::<_, $crate::store::sql::UserRow>(sqlx::AssertSqlSafe(sql))
                        .bind(user_id.to_string())
                        .bind(changes.disabled)
                        .bind(changes.is_admin)
                        .bind(changes.password_hash.clone())
                        .bind($crate::store::now())
                        .fetch_one(&mut *tx)
                        .await?
                        .into_user()?;
                if changes.disabled == Some(true) || changes.password_hash.is_some() {
                    // A disabled account or a reset password ends every browser session.
                    sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
                        .bind(user_id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                self.bump();
                Ok(user)
            }

            async fn delete_user(&self, user_id: uuid::Uuid) -> $crate::store::StoreResult<()> {
                let done = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(user_id.to_string())
                    .execute(self.writer())
                    .await?;
                self.bump();
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn create_session(
                &self,
                digest: &$crate::domain::TokenDigest,
                user_id: uuid::Uuid,
                created_at: $crate::store::Timestamp,
                expires_at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
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
                digest: &$crate::domain::TokenDigest,
                now: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let sql = format!(
                    "SELECT {} FROM users WHERE id = \
                     (SELECT user_id FROM auth_sessions WHERE digest = $1 AND expires_at > $2)",
                    $crate::store::sql::USER_COLUMNS
                );
                sqlx::query_as::<_, $crate::store::sql::UserRow>(sqlx::AssertSqlSafe(sql))
                    .bind(digest.as_bytes().to_vec())
                    .bind(now)
                    .fetch_optional(self.reader())
                    .await?
                    .map(|r| r.into_user())
                    .transpose()
            }

            async fn delete_session(
                &self,
                digest: &$crate::domain::TokenDigest,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM auth_sessions WHERE digest = $1")
                    .bind(digest.as_bytes().to_vec())
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn insert_code(
                &self,
                c: &$crate::store::oauth::NewAuthorizationCode,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO authorization_codes (digest, family_id, client_id, user_id, \
                     redirect_uri, scope, scope_named, code_challenge, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(c.digest.as_bytes().to_vec())
                .bind(c.family_id.to_string())
                .bind(&c.client_id)
                .bind(c.user_id.to_string())
                .bind(&c.redirect_uri)
                .bind(c.scope.to_string())
                .bind(c.scope_named)
                .bind(&c.code_challenge)
                .bind(c.created_at)
                .bind(c.expires_at)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn authorization_code(
                &self,
                digest: &$crate::domain::TokenDigest,
            ) -> $crate::store::StoreResult<Option<$crate::store::oauth::AuthorizationCode>>
            {
                sqlx::query_as::<_, $crate::store::oauth::CodeRow>(
                    "SELECT family_id, client_id, user_id, redirect_uri, scope, scope_named, \
                     code_challenge, expires_at, used_at \
                     FROM authorization_codes WHERE digest = $1",
                )
                .bind(digest.as_bytes().to_vec())
                .fetch_optional(self.reader())
                .await?
                .map(|r| r.into_code())
                .transpose()
            }

            async fn redeem_code(
                &self,
                digest: &$crate::domain::TokenDigest,
                at: $crate::store::Timestamp,
                tokens: &$crate::store::NewTokens,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let swapped = sqlx::query(
                    "UPDATE authorization_codes SET used_at = $2 \
                     WHERE digest = $1 AND used_at IS NULL",
                )
                .bind(digest.as_bytes().to_vec())
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !swapped {
                    tx.rollback().await?;
                    return Ok(false);
                }
                Self::insert_tokens_in(&mut tx, tokens).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn consent(
                &self,
                user_id: uuid::Uuid,
                client_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::domain::ScopeSet>> {
                let scope: Option<String> = sqlx::query_scalar(
                    "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2",
                )
                .bind(user_id.to_string())
                .bind(client_id)
                .fetch_optional(self.reader())
                .await?;
                scope
                    .as_deref()
                    .map($crate::store::sql::parse_scope)
                    .transpose()
            }

            async fn save_consent(
                &self,
                user_id: uuid::Uuid,
                client_id: &str,
                scope: $crate::domain::ScopeSet,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
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

            async fn delete_consents(
                &self,
                user_id: uuid::Uuid,
                client_id: Option<&str>,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "DELETE FROM consents WHERE user_id = $1 \
                     AND ($2 IS NULL OR client_id = $2)",
                )
                .bind(user_id.to_string())
                .bind(client_id)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn purge_oauth(
                &self,
                before: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                let mut purged = 0;
                for sql in [
                    "DELETE FROM auth_sessions WHERE expires_at < $1",
                    "DELETE FROM authorization_codes WHERE expires_at < $1",
                ] {
                    purged += sqlx::query(sql)
                        .bind(before)
                        .execute(self.writer())
                        .await?
                        .rows_affected();
                }
                Ok(purged)
            }
        }
    };
}

pub(crate) use impl_oauth_store;
