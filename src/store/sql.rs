//! The SQL of the [`Store`](super::Store), written once for both engines.
//!
//! SQLite and PostgreSQL accept the same text for every statement here (`$1` placeholders,
//! `RETURNING`, `lower()`, integer timestamps, text ids, binary digests), but sqlx types
//! queries by their driver, so [`impl_sql_store!`] stamps the one implementation out for
//! each engine's store type. An engine's store provides `reader()` and `writer()` pools
//! and a `MIGRATOR`; the rest is here.

use uuid::Uuid;

use crate::domain::{GrantType, ScopeSet, TokenDigest};
use crate::store::{
    AccessTokenInfo, Client, RefreshTokenInfo, StoreError, StoreResult, TokenRecord, User,
};

pub(super) const USER_COLUMNS: &str = "id, username, email, name, is_admin, disabled, created_at";

pub(super) const CLIENT_COLUMNS: &str = "id, owner_id, name, secret_digest, redirect_uris, \
     grant_types, scopes, trusted, created_at";

pub(super) const TOKEN_RECORD_SELECT: &str = "SELECT a.id, a.family_id, a.client_id, c.name AS client_name, \
     a.user_id, a.grant_type, a.scope, a.created_at, a.expires_at, a.last_used_at, a.revoked_at \
     FROM access_tokens a JOIN clients c ON c.id = a.client_id";

pub(super) fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Other(anyhow::anyhow!("bad uuid {s:?}: {e}")))
}

pub(super) fn parse_scope(s: &str) -> StoreResult<ScopeSet> {
    ScopeSet::parse(s).map_err(|e| StoreError::Other(anyhow::anyhow!("stored scope: {e}")))
}

fn parse_grant(s: &str) -> StoreResult<GrantType> {
    GrantType::parse(s)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("stored grant type {s:?} unknown")))
}

pub(super) fn parse_digest(bytes: &[u8]) -> StoreResult<TokenDigest> {
    TokenDigest::from_slice(bytes)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("stored digest has a wrong length")))
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: String,
    username: String,
    email: String,
    name: Option<String>,
    is_admin: bool,
    disabled: bool,
    created_at: i64,
}

impl UserRow {
    pub(super) fn into_user(self) -> StoreResult<User> {
        Ok(User {
            id: parse_uuid(&self.id)?,
            username: self.username,
            email: self.email,
            name: self.name,
            is_admin: self.is_admin,
            disabled: self.disabled,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CredentialsRow {
    #[sqlx(flatten)]
    pub(super) user: UserRow,
    pub(super) password_hash: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct ClientRow {
    id: String,
    owner_id: String,
    name: String,
    secret_digest: Option<Vec<u8>>,
    redirect_uris: String,
    grant_types: String,
    scopes: String,
    trusted: bool,
    created_at: i64,
}

impl ClientRow {
    pub(super) fn into_client(self) -> StoreResult<Client> {
        Ok(Client {
            id: self.id,
            owner_id: parse_uuid(&self.owner_id)?,
            name: self.name,
            secret_digest: self
                .secret_digest
                .as_deref()
                .map(parse_digest)
                .transpose()?,
            redirect_uris: serde_json::from_str(&self.redirect_uris)
                .map_err(|e| StoreError::Other(anyhow::anyhow!("stored redirect URIs: {e}")))?,
            grant_types: GrantType::parse_list(&self.grant_types),
            scopes: parse_scope(&self.scopes)?,
            trusted: self.trusted,
            created_at: self.created_at,
        })
    }
}

/// A client with its owner, in one read (the token endpoint needs both).
pub(super) const CLIENT_WITH_OWNER_SELECT: &str = "SELECT c.id, c.owner_id, c.name, \
     c.secret_digest, c.redirect_uris, c.grant_types, c.scopes, c.trusted, c.created_at, \
     u.username AS o_username, u.email AS o_email, u.name AS o_name, u.is_admin AS o_is_admin, \
     u.disabled AS o_disabled, u.created_at AS o_created_at \
     FROM clients c JOIN users u ON u.id = c.owner_id WHERE c.id = $1";

#[derive(sqlx::FromRow)]
pub(super) struct ClientWithOwnerRow {
    #[sqlx(flatten)]
    client: ClientRow,
    o_username: String,
    o_email: String,
    o_name: Option<String>,
    o_is_admin: bool,
    o_disabled: bool,
    o_created_at: i64,
}

impl ClientWithOwnerRow {
    pub(super) fn into_pair(self) -> StoreResult<(Client, User)> {
        let client = self.client.into_client()?;
        let owner = User {
            id: client.owner_id,
            username: self.o_username,
            email: self.o_email,
            name: self.o_name,
            is_admin: self.o_is_admin,
            disabled: self.o_disabled,
            created_at: self.o_created_at,
        };
        Ok((client, owner))
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AccessTokenRow {
    id: String,
    family_id: String,
    client_id: String,
    scope: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    u_id: Option<String>,
    u_username: Option<String>,
    u_email: Option<String>,
    u_name: Option<String>,
    u_is_admin: Option<bool>,
    u_disabled: Option<bool>,
    u_created_at: Option<i64>,
}

pub(super) const ACCESS_TOKEN_SELECT: &str = "SELECT a.id, a.family_id, a.client_id, a.scope, \
     a.created_at, a.expires_at, a.last_used_at, a.revoked_at, u.id AS u_id, \
     u.username AS u_username, u.email AS u_email, u.name AS u_name, u.is_admin AS u_is_admin, \
     u.disabled AS u_disabled, u.created_at AS u_created_at \
     FROM access_tokens a LEFT JOIN users u ON u.id = a.user_id WHERE a.digest = $1";

impl AccessTokenRow {
    pub(super) fn into_info(self) -> StoreResult<AccessTokenInfo> {
        let user = match self.u_id {
            Some(id) => Some(User {
                id: parse_uuid(&id)?,
                username: self.u_username.unwrap_or_default(),
                email: self.u_email.unwrap_or_default(),
                name: self.u_name,
                is_admin: self.u_is_admin.unwrap_or(false),
                disabled: self.u_disabled.unwrap_or(true),
                created_at: self.u_created_at.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(AccessTokenInfo {
            id: parse_uuid(&self.id)?,
            family_id: parse_uuid(&self.family_id)?,
            client_id: self.client_id,
            scope: parse_scope(&self.scope)?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
            user,
        })
    }
}

/// A refresh token with its user's state, by digest.
pub(super) const REFRESH_TOKEN_SELECT: &str = "SELECT r.id, r.family_id, r.client_id, r.user_id, r.scope, r.expires_at, \
     r.used_at, r.revoked_at, u.disabled AS user_disabled \
     FROM refresh_tokens r LEFT JOIN users u ON u.id = r.user_id \
     WHERE r.digest = $1";

#[derive(sqlx::FromRow)]
pub(super) struct RefreshTokenRow {
    id: String,
    family_id: String,
    client_id: String,
    user_id: Option<String>,
    scope: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    user_disabled: Option<bool>,
}

impl RefreshTokenRow {
    pub(super) fn into_info(self) -> StoreResult<RefreshTokenInfo> {
        Ok(RefreshTokenInfo {
            id: parse_uuid(&self.id)?,
            family_id: parse_uuid(&self.family_id)?,
            client_id: self.client_id,
            user_id: self.user_id.as_deref().map(parse_uuid).transpose()?,
            scope: parse_scope(&self.scope)?,
            expires_at: self.expires_at,
            used_at: self.used_at,
            revoked_at: self.revoked_at,
            user_disabled: self.user_disabled,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TokenRecordRow {
    id: String,
    family_id: String,
    client_id: String,
    client_name: String,
    user_id: Option<String>,
    grant_type: String,
    scope: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TokenRecordRow {
    pub(super) fn into_record(self) -> StoreResult<TokenRecord> {
        Ok(TokenRecord {
            id: parse_uuid(&self.id)?,
            family_id: parse_uuid(&self.family_id)?,
            client_id: self.client_id,
            client_name: self.client_name,
            user_id: self.user_id.as_deref().map(parse_uuid).transpose()?,
            grant_type: parse_grant(&self.grant_type)?,
            scope: parse_scope(&self.scope)?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// Implements [`Store`](super::Store) for `$store`, whose pools are of database `$db`.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn insert_tokens_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                t: &$crate::store::NewTokens,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO access_tokens (id, digest, family_id, client_id, user_id, \
                     grant_type, scope, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(t.access_id.to_string())
                .bind(t.access_digest.as_bytes().to_vec())
                .bind(t.family_id.to_string())
                .bind(&t.client_id)
                .bind(t.user_id.map(|u| u.to_string()))
                .bind(t.grant_type.as_str())
                .bind(t.scope.to_string())
                .bind(t.created_at)
                .bind(t.expires_at)
                .execute(&mut *conn)
                .await?;
                if let Some(r) = &t.refresh {
                    sqlx::query(
                        "INSERT INTO refresh_tokens (id, digest, family_id, access_token_id, \
                         client_id, user_id, scope, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(r.id.to_string())
                    .bind(r.digest.as_bytes().to_vec())
                    .bind(t.family_id.to_string())
                    .bind(t.access_id.to_string())
                    .bind(&t.client_id)
                    .bind(t.user_id.map(|u| u.to_string()))
                    .bind(r.scope.to_string())
                    .bind(t.created_at)
                    .bind(r.expires_at)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }

            /// Revokes every token of a family on `conn`.
            async fn revoke_family_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                family_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                for sql in [
                    "UPDATE access_tokens SET revoked_at = $2 \
                     WHERE family_id = $1 AND revoked_at IS NULL",
                    "UPDATE refresh_tokens SET revoked_at = $2 \
                     WHERE family_id = $1 AND revoked_at IS NULL",
                ] {
                    sqlx::query(sql)
                        .bind(family_id.to_string())
                        .bind(at)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            async fn insert_user_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                u: &$crate::store::NewUser,
                only_if_first: bool,
            ) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let id = uuid::Uuid::new_v4();
                let now = $crate::store::now();
                let sql = if only_if_first {
                    "INSERT INTO users (id, username, email, name, password_hash, is_admin, \
                     disabled, created_at, updated_at) \
                     SELECT $1, $2, $3, $4, $5, $6, FALSE, $7, $7 \
                     WHERE NOT EXISTS (SELECT 1 FROM users)"
                } else {
                    "INSERT INTO users (id, username, email, name, password_hash, is_admin, \
                     disabled, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $7)"
                };
                let done = sqlx::query(sql)
                    .bind(id.to_string())
                    .bind(&u.username)
                    .bind(&u.email)
                    .bind(&u.name)
                    .bind(&u.password_hash)
                    .bind(u.is_admin)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok((done.rows_affected() == 1).then(|| $crate::store::User {
                    id,
                    username: u.username.clone(),
                    email: u.email.clone(),
                    name: u.name.clone(),
                    is_admin: u.is_admin,
                    disabled: false,
                    created_at: now,
                }))
            }

            async fn insert_client_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                c: &$crate::store::NewClient,
            ) -> $crate::store::StoreResult<$crate::store::Client> {
                let now = $crate::store::now();
                let uris = serde_json::to_string(&c.redirect_uris)
                    .map_err(|e| $crate::store::StoreError::Other(e.into()))?;
                sqlx::query(
                    "INSERT INTO clients (id, owner_id, name, secret_digest, redirect_uris, \
                     grant_types, scopes, trusted, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                )
                .bind(&c.id)
                .bind(c.owner_id.to_string())
                .bind(&c.name)
                .bind(c.secret_digest.map(|d| d.as_bytes().to_vec()))
                .bind(uris)
                .bind($crate::domain::GrantType::join(&c.grant_types))
                .bind(c.scopes.to_string())
                .bind(c.trusted)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                Ok($crate::store::Client {
                    id: c.id.clone(),
                    owner_id: c.owner_id,
                    name: c.name.clone(),
                    secret_digest: c.secret_digest,
                    redirect_uris: c.redirect_uris.clone(),
                    grant_types: c.grant_types.clone(),
                    scopes: c.scopes,
                    trusted: c.trusted,
                    created_at: now,
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn migrate(&self) -> $crate::store::StoreResult<()> {
                Self::MIGRATOR
                    .run(self.writer())
                    .await
                    .map_err(|e| $crate::store::StoreError::Other(e.into()))
            }

            async fn ping(&self) -> $crate::store::StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }

            fn generation(&self) -> u64 {
                self.generation.load(std::sync::atomic::Ordering::Acquire)
            }

            async fn close(&self) {
                self.writer().close().await;
                self.reader().close().await;
            }

            async fn bootstrap(
                &self,
                admin: &$crate::store::NewUser,
                client: &$crate::store::NewClient,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let Some(user) = Self::insert_user_in(&mut tx, admin, true).await? else {
                    return Ok(false);
                };
                let client = $crate::store::NewClient {
                    owner_id: user.id,
                    ..client.clone()
                };
                Self::insert_client_in(&mut tx, &client).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn create_user(
                &self,
                user: &$crate::store::NewUser,
            ) -> $crate::store::StoreResult<$crate::store::User> {
                let mut conn = self.writer().acquire().await?;
                Self::insert_user_in(&mut conn, user, false)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound)
            }

            async fn user_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<$crate::store::User> {
                let sql = format!(
                    "SELECT {} FROM users WHERE id = $1",
                    $crate::store::sql::USER_COLUMNS
                );
                sqlx::query_as::<_, $crate::store::sql::UserRow>(sqlx::AssertSqlSafe(sql))
                    .bind(id.to_string())
                    .fetch_one(self.reader())
                    .await?
                    .into_user()
            }

            async fn user_by_username(
                &self,
                username: &str,
            ) -> $crate::store::StoreResult<$crate::store::User> {
                Ok(self.credentials_by_username(username).await?.user)
            }

            async fn credentials_by_username(
                &self,
                username: &str,
            ) -> $crate::store::StoreResult<$crate::store::UserCredentials> {
                let sql = format!(
                    "SELECT {}, password_hash FROM users WHERE lower(username) = lower($1)",
                    $crate::store::sql::USER_COLUMNS
                );
                let row = sqlx::query_as::<_, $crate::store::sql::CredentialsRow>(
                    sqlx::AssertSqlSafe(sql),
                )
                .bind(username)
                .fetch_one(self.reader())
                .await?;
                Ok($crate::store::UserCredentials {
                    user: row.user.into_user()?,
                    password_hash: row.password_hash,
                })
            }

            async fn update_user(
                &self,
                id: uuid::Uuid,
                changes: &$crate::store::UserChanges,
            ) -> $crate::store::StoreResult<$crate::store::User> {
                let sql = format!(
                    "UPDATE users SET name = CASE WHEN $2 THEN $3 ELSE name END, \
                     email = COALESCE($4, email), updated_at = $5 WHERE id = $1 RETURNING {}",
                    $crate::store::sql::USER_COLUMNS
                );
                let user = sqlx::query_as::<_, $crate::store::sql::UserRow>(sqlx::AssertSqlSafe(sql))
                    .bind(id.to_string())
                    .bind(changes.name.is_some())
                    .bind(changes.name.clone().flatten())
                    .bind(changes.email.clone())
                    .bind($crate::store::now())
                    .fetch_one(self.writer())
                    .await;
                self.bump();
                user?.into_user()
            }

            async fn create_client(
                &self,
                client: &$crate::store::NewClient,
            ) -> $crate::store::StoreResult<$crate::store::Client> {
                let mut conn = self.writer().acquire().await?;
                Self::insert_client_in(&mut conn, client).await
            }

            async fn client_by_id(
                &self,
                client_id: &str,
            ) -> $crate::store::StoreResult<$crate::store::Client> {
                let sql = format!(
                    "SELECT {} FROM clients WHERE id = $1",
                    $crate::store::sql::CLIENT_COLUMNS
                );
                sqlx::query_as::<_, $crate::store::sql::ClientRow>(sqlx::AssertSqlSafe(sql))
                    .bind(client_id)
                    .fetch_one(self.reader())
                    .await?
                    .into_client()
            }

            async fn client_with_owner(
                &self,
                client_id: &str,
            ) -> $crate::store::StoreResult<($crate::store::Client, $crate::store::User)> {
                sqlx::query_as::<_, $crate::store::sql::ClientWithOwnerRow>(
                    $crate::store::sql::CLIENT_WITH_OWNER_SELECT,
                )
                .bind(client_id)
                .fetch_one(self.reader())
                .await?
                .into_pair()
            }

            async fn insert_tokens(
                &self,
                tokens: &$crate::store::NewTokens,
            ) -> $crate::store::StoreResult<()> {
                self.write_tokens($crate::store::TokenWrite::Insert(tokens.clone()))
                    .await
                    .map(|_| ())
            }

            async fn access_token(
                &self,
                digest: &$crate::domain::TokenDigest,
            ) -> $crate::store::StoreResult<Option<$crate::store::AccessTokenInfo>> {
                sqlx::query_as::<_, $crate::store::sql::AccessTokenRow>(
                    $crate::store::sql::ACCESS_TOKEN_SELECT,
                )
                .bind(digest.as_bytes().to_vec())
                .fetch_optional(self.reader())
                .await?
                .map(|row| row.into_info())
                .transpose()
            }

            async fn touch_access_token(
                &self,
                id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE access_tokens SET last_used_at = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(at)
                    .execute(self.appender())
                    .await?;
                Ok(())
            }

            async fn refresh_token(
                &self,
                digest: &$crate::domain::TokenDigest,
            ) -> $crate::store::StoreResult<Option<$crate::store::RefreshTokenInfo>> {
                sqlx::query_as::<_, $crate::store::sql::RefreshTokenRow>(
                    $crate::store::sql::REFRESH_TOKEN_SELECT,
                )
                .bind(digest.as_bytes().to_vec())
                .fetch_optional(self.reader())
                .await?
                .map(|row| row.into_info())
                .transpose()
            }

            async fn exchange_refresh_token(
                &self,
                digest: &$crate::domain::TokenDigest,
                at: $crate::store::Timestamp,
                decide: $crate::store::RefreshDecider,
            ) -> $crate::store::StoreResult<$crate::store::Exchange> {
                let exchange = self
                    .write_tokens($crate::store::TokenWrite::Exchange {
                        digest: *digest,
                        at,
                        decide,
                    })
                    .await?
                    .ok_or_else(|| {
                        $crate::store::StoreError::Other(anyhow::anyhow!(
                            "a refresh token exchange had no outcome"
                        ))
                    })?;
                if exchange.outcome == $crate::store::ExchangeOutcome::FamilyRevoked {
                    // After the commit: a lookup cached meanwhile is now stale.
                    self.bump();
                }
                Ok(exchange)
            }

            async fn revoke_family(
                &self,
                family_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                Self::revoke_family_in(&mut tx, family_id, at).await?;
                tx.commit().await?;
                self.bump();
                Ok(())
            }

            async fn list_user_tokens(
                &self,
                user_id: uuid::Uuid,
                page: $crate::store::Page,
            ) -> $crate::store::StoreResult<(Vec<$crate::store::TokenRecord>, u64)> {
                let sql = format!(
                    "{} WHERE a.user_id = $1 ORDER BY a.created_at DESC, a.id DESC \
                     LIMIT $2 OFFSET $3",
                    $crate::store::sql::TOKEN_RECORD_SELECT
                );
                let rows =
                    sqlx::query_as::<_, $crate::store::sql::TokenRecordRow>(sqlx::AssertSqlSafe(
                        sql,
                    ))
                    .bind(user_id.to_string())
                    .bind(i64::from(page.size))
                    .bind(page.offset())
                    .fetch_all(self.reader())
                    .await?;
                let total: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens WHERE user_id = $1")
                        .bind(user_id.to_string())
                        .fetch_one(self.reader())
                        .await?;
                let records = rows
                    .into_iter()
                    .map(|r| r.into_record())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((records, u64::try_from(total).unwrap_or(0)))
            }

            async fn token_record(
                &self,
                token_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<$crate::store::TokenRecord> {
                let sql = format!("{} WHERE a.id = $1", $crate::store::sql::TOKEN_RECORD_SELECT);
                sqlx::query_as::<_, $crate::store::sql::TokenRecordRow>(sqlx::AssertSqlSafe(sql))
                    .bind(token_id.to_string())
                    .fetch_one(self.reader())
                    .await?
                    .into_record()
            }

            async fn revoke_user_tokens(
                &self,
                user_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.writer().begin().await?;
                let revoked = sqlx::query(
                    "UPDATE access_tokens SET revoked_at = $2 \
                     WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(user_id.to_string())
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2 \
                     WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(user_id.to_string())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                self.bump();
                Ok(revoked)
            }

            async fn purge_tokens(
                &self,
                before: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.writer().begin().await?;
                let mut purged = 0;
                for table in ["access_tokens", "refresh_tokens"] {
                    let sql = format!(
                        "DELETE FROM {table} WHERE revoked_at < $1 OR expires_at < $1"
                    );
                    purged += sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(before)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(purged)
            }
        }
    };
}

pub(crate) use impl_sql_store;
