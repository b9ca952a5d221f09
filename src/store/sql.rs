//! [`SqlStore<DB>`]: the store, written once over any [`Engine`], and the core of the
//! [`Store`] trait (accounts, clients, tokens).
//!
//! SQLite and PostgreSQL accept the same text for every statement here (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`, `lower()`, integer timestamps, text ids, binary digests), so
//! each query is one string literal, and the Rust around it is ordinary generic code that
//! the compiler instantiates for each engine. What the engines do differently (pools,
//! migrations, the token write path) is the [`Engine`] trait's.
//!
//! The other parts of the store are in their own modules, on the same type:
//! [`OAuthStore`](super::OAuthStore) in `oauth.rs`, [`ProjectStore`](super::ProjectStore),
//! [`PackageStore`](super::PackageStore), [`AttemptStore`](super::AttemptStore).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Type};
use tokio::sync::{Semaphore, SemaphorePermit};
use uuid::Uuid;

use super::engine::Engine;
use super::{
    AccessTokenInfo, Client, Exchange, ExchangeOutcome, NewClient, NewTokens, NewUser, Page,
    RefreshDecider, RefreshTokenInfo, Store, StoreError, StoreResult, Timestamp, TokenRecord,
    TokenWrite, User, UserChanges, UserCredentials,
};
use super::{NewPersonalToken, PERSONAL_CLIENT_NAME};
use crate::config::DatabaseConfig;
use crate::domain::client::{ClientName, RedirectUri};
use crate::domain::jose::SigningAlg;
use crate::domain::org::OrgName;
use crate::domain::tokens::TokenOrigin;
use crate::domain::user::{DisplayName, Email, Username};
use crate::domain::{GrantType, ScopeSet, TokenDigest};

/// The store on engine `DB` ([`sqlx::Sqlite`] or [`sqlx::Postgres`]): its pools and the
/// generation of what the auth cache may hold (see [`Store::generation`]).
///
/// Callers see it as `Arc<dyn Store>`; [`SqliteStore`](super::sqlite::SqliteStore) and
/// [`PostgresStore`](super::postgres::PostgresStore) name its two instances.
pub struct SqlStore<DB: Engine> {
    pools: DB::Pools,
    /// Permits to run the marketplace listing's statements (see
    /// [`DatabaseConfig::db_listing_connections`]), and how long a listing waits for one.
    listings: Semaphore,
    listing_wait: Duration,
    generation: AtomicU64,
    /// Moves around every write of this process that can change a Composer document (see
    /// [`PackageStore::registry_writes`](super::PackageStore::registry_writes)).
    registry_writes: AtomicU64,
}

/// A write in progress that changes what a cached access token, client or user means: the
/// generation moved when it began and moves again when this is dropped — after the commit,
/// or on the way out of a failed write (a failed write may still have committed a part).
#[must_use = "the generation moves again when this is dropped, after the write"]
pub(super) struct Invalidation<'a>(&'a AtomicU64);

impl Drop for Invalidation<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

impl<DB: Engine> SqlStore<DB> {
    /// Opens the database the configuration names, without migrating it.
    pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<Self> {
        let pools = DB::open(config).await?;
        let readers = DB::reader(&pools).options().get_max_connections();
        let listings = config
            .db_listing_connections
            .unwrap_or((readers / 2).max(2))
            .max(1);
        Ok(SqlStore {
            pools,
            listings: Semaphore::new(listings as usize),
            listing_wait: Duration::from_secs(config.db_acquire_timeout.max(1)),
            generation: AtomicU64::new(0),
            registry_writes: AtomicU64::new(0),
        })
    }

    /// The pool for reads.
    pub(super) fn reader(&self) -> &Pool<DB> {
        DB::reader(&self.pools)
    }

    /// The pool for writes. Taking it changes nothing: a write that invalidates cached
    /// lookups says so with [`invalidation`](Self::invalidation).
    pub(super) fn writer(&self) -> &Pool<DB> {
        DB::writer(&self.pools)
    }

    /// Starts a write that changes what a cached access token, client or user means
    /// (a revocation, an account or client change, a deletion): moves the generation now,
    /// and again when the returned guard is dropped, after the write. Hold it to the end of
    /// the write: `let _invalidates = self.invalidation();`.
    pub(super) fn invalidation(&self) -> Invalidation<'_> {
        self.generation.fetch_add(1, Ordering::AcqRel);
        Invalidation(&self.generation)
    }

    /// Starts a write that can change a Composer document (an add-on, its versions or
    /// advisories, a deletion that cascades to them): the counter of such writes moves now
    /// and again when the guard is dropped, after the commit, so that this node's document
    /// cache reads the shared generation again. Hold it to the end of the write:
    /// `let _registry = self.registry_write();`.
    pub(super) fn registry_write(&self) -> Invalidation<'_> {
        self.registry_writes.fetch_add(1, Ordering::AcqRel);
        Invalidation(&self.registry_writes)
    }

    /// A turn to run the marketplace listing's statements; held while they run. Waiting
    /// longer than a connection may be waited for is the same error (a 503).
    ///
    /// A search costs PostgreSQL half a millisecond of CPU or more: a burst of them on
    /// every connection at once shares the database's cores among all, and each takes as
    /// long as the burst; taken in turns, at the same rate, most are answered sooner, and
    /// token and API reads find free connections.
    pub(super) async fn listing_turn(&self) -> StoreResult<SemaphorePermit<'_>> {
        match tokio::time::timeout(self.listing_wait, self.listings.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(sqlx::Error::PoolTimedOut.into()),
        }
    }

    /// The counter that [`registry_write`](Self::registry_write) moves.
    pub(super) fn registry_writes_now(&self) -> u64 {
        self.registry_writes.load(Ordering::Acquire)
    }
}

/// Helpers shared by the traits' implementations and the engines' token write paths; each
/// runs on a connection (or transaction) its caller holds.
impl<DB> SqlStore<DB>
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
    /// Stores issued tokens: the access token and, if any, its refresh token.
    pub(super) async fn insert_tokens_in(
        conn: &mut DB::Connection,
        t: &NewTokens,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO access_tokens (id, digest, family_id, client_id, user_id, \
             grant_type, scope, created_at, expires_at, jkt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .bind(t.jkt.clone())
        .execute(&mut *conn)
        .await?;
        if let Some(r) = &t.refresh {
            sqlx::query::<DB>(
                "INSERT INTO refresh_tokens (id, digest, family_id, access_token_id, \
                 client_id, user_id, scope, created_at, expires_at, began_with, jkt) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
            .bind(r.began_with.map(|g| g.as_str().to_owned()))
            .bind(r.jkt.clone())
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Revokes every access and refresh token of a family.
    pub(super) async fn revoke_family_in(
        conn: &mut DB::Connection,
        family_id: Uuid,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "UPDATE access_tokens SET revoked_at = $2 \
             WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family_id.to_string())
        .bind(at)
        .execute(&mut *conn)
        .await?;
        sqlx::query::<DB>(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family_id.to_string())
        .bind(at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// The refresh token with this digest, with its user's state.
    pub(super) async fn refresh_token_in(
        conn: &mut DB::Connection,
        digest: &TokenDigest,
    ) -> StoreResult<Option<RefreshTokenInfo>> {
        sqlx::query_as::<DB, RefreshTokenRow>(
            "SELECT r.id, r.family_id, r.client_id, r.user_id, r.scope, r.expires_at, \
             r.used_at, r.grace_uses, r.began_with, r.revoked_at, r.jkt, \
             u.disabled AS user_disabled \
             FROM refresh_tokens r LEFT JOIN users u ON u.id = r.user_id \
             WHERE r.digest = $1",
        )
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(&mut *conn)
        .await?
        .map(RefreshTokenRow::into_info)
        .transpose()
    }

    /// Creates an account; with `only_if_first`, only when there is no account at all
    /// (`None` then means there was one).
    async fn insert_user_in(
        conn: &mut DB::Connection,
        u: &NewUser,
        only_if_first: bool,
    ) -> StoreResult<Option<User>> {
        let id = Uuid::new_v4();
        let now = super::now();
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
        let done = sqlx::query::<DB>(sql)
            .bind(id.to_string())
            .bind(u.username.as_str())
            .bind(u.email.as_str())
            .bind(u.name.as_ref().map(|n| n.as_str().to_owned()))
            .bind(&u.password_hash)
            .bind(u.is_admin)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        Ok((DB::rows_affected(&done) == 1).then(|| User {
            id,
            username: u.username.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            is_admin: u.is_admin,
            disabled: false,
            created_at: now,
        }))
    }

    /// Registers a client.
    async fn insert_client_in(conn: &mut DB::Connection, c: &NewClient) -> StoreResult<Client> {
        let now = super::now();
        let uris =
            serde_json::to_string(&c.redirect_uris).map_err(|e| StoreError::Other(e.into()))?;
        let logout_uris = serde_json::to_string(&c.post_logout_redirect_uris)
            .map_err(|e| StoreError::Other(e.into()))?;
        sqlx::query::<DB>(
            "INSERT INTO clients (id, owner_id, name, secret_digest, redirect_uris, \
             grant_types, scopes, trusted, created_at, updated_at, \
             id_token_signed_response_alg, post_logout_redirect_uris, require_par, org_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13)",
        )
        .bind(&c.id)
        .bind(c.owner_id.to_string())
        .bind(c.name.as_str())
        .bind(c.secret_digest.map(|d| d.as_bytes().to_vec()))
        .bind(uris)
        .bind(GrantType::join(&c.grant_types))
        .bind(c.scopes.to_string())
        .bind(c.trusted)
        .bind(now)
        .bind(c.id_token_alg.as_str())
        .bind(logout_uris)
        .bind(c.require_par)
        .bind(c.org.as_ref().map(|o| o.as_str().to_owned()))
        .execute(&mut *conn)
        .await?;
        Ok(Client {
            id: c.id.clone(),
            owner_id: c.owner_id,
            name: c.name.clone(),
            secret_digest: c.secret_digest,
            redirect_uris: c.redirect_uris.clone(),
            grant_types: c.grant_types.clone(),
            scopes: c.scopes,
            previous_secret: None,
            trusted: c.trusted,
            id_token_alg: c.id_token_alg,
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            created_at: now,
            require_par: c.require_par,
            org: c.org.clone(),
        })
    }
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
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
    async fn migrate(&self) -> StoreResult<()> {
        DB::migrator()
            .run(self.writer())
            .await
            .map_err(|e| StoreError::Other(e.into()))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query::<DB>("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }

    async fn close(&self) {
        self.writer().close().await;
        self.reader().close().await;
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    async fn bootstrap(&self, admin: &NewUser, client: &NewClient) -> StoreResult<bool> {
        // A new client: an id looked up (and cached as unknown) before is now known.
        let _invalidates = self.invalidation();
        let mut tx = self.writer().begin().await?;
        let Some(user) = Self::insert_user_in(&mut tx, admin, true).await? else {
            return Ok(false);
        };
        let client = NewClient {
            owner_id: user.id,
            ..client.clone()
        };
        Self::insert_client_in(&mut tx, &client).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_user(&self, user: &NewUser) -> StoreResult<User> {
        // No cached token or client names an account that did not exist yet.
        let mut conn = self.writer().acquire().await?;
        Self::insert_user_in(&mut conn, user, false)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<User> {
        sqlx::query_as::<DB, UserRow>(
            "SELECT id, username, email, name, is_admin, disabled, created_at \
             FROM users WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_one(self.reader())
        .await?
        .into_user()
    }

    async fn user_by_username(&self, username: &Username) -> StoreResult<User> {
        Ok(self.credentials_by_username(username).await?.user)
    }

    async fn credentials_by_username(&self, username: &Username) -> StoreResult<UserCredentials> {
        let row = sqlx::query_as::<DB, CredentialsRow>(
            "SELECT id, username, email, name, is_admin, disabled, created_at, password_hash \
             FROM users WHERE lower(username) = lower($1)",
        )
        .bind(username.as_str())
        .fetch_one(self.reader())
        .await?;
        Ok(UserCredentials {
            user: row.user.into_user()?,
            password_hash: row.password_hash,
        })
    }

    async fn update_user(&self, id: Uuid, changes: &UserChanges) -> StoreResult<User> {
        // A cached token carries its user's name and email.
        let _invalidates = self.invalidation();
        sqlx::query_as::<DB, UserRow>(
            "UPDATE users SET name = CASE WHEN $2 THEN $3 ELSE name END, \
             email = COALESCE($4, email), updated_at = $5 WHERE id = $1 \
             RETURNING id, username, email, name, is_admin, disabled, created_at",
        )
        .bind(id.to_string())
        .bind(changes.name.is_some())
        .bind(changes.name.clone().flatten().map(DisplayName::into_string))
        .bind(changes.email.as_ref().map(|e| e.as_str().to_owned()))
        .bind(super::now())
        .fetch_one(self.writer())
        .await?
        .into_user()
    }

    async fn create_client(&self, client: &NewClient) -> StoreResult<Client> {
        // A client id looked up (and cached as unknown) before is now known.
        let _invalidates = self.invalidation();
        let mut conn = self.writer().acquire().await?;
        Self::insert_client_in(&mut conn, client).await
    }

    async fn client_by_id(&self, client_id: &str) -> StoreResult<Client> {
        sqlx::query_as::<DB, ClientRow>(
            "SELECT id, owner_id, name, secret_digest, redirect_uris, grant_types, scopes, \
             trusted, created_at, previous_secret_digest, previous_secret_expires_at, \
             id_token_signed_response_alg, post_logout_redirect_uris, require_par, org_name \
             FROM clients WHERE id = $1 AND personal = FALSE",
        )
        .bind(client_id)
        .fetch_one(self.reader())
        .await?
        .into_client()
    }

    async fn client_with_owner(&self, client_id: &str) -> StoreResult<(Client, User)> {
        sqlx::query_as::<DB, ClientWithOwnerRow>(
            "SELECT c.id, c.owner_id, c.name, c.secret_digest, c.redirect_uris, \
             c.grant_types, c.scopes, c.trusted, c.created_at, \
             c.previous_secret_digest, c.previous_secret_expires_at, \
             c.id_token_signed_response_alg, c.post_logout_redirect_uris, c.require_par, \
             c.org_name, \
             u.username AS o_username, u.email AS o_email, u.name AS o_name, \
             u.is_admin AS o_is_admin, u.disabled AS o_disabled, \
             u.created_at AS o_created_at \
             FROM clients c JOIN users u ON u.id = c.owner_id \
             WHERE c.id = $1 AND c.personal = FALSE",
        )
        .bind(client_id)
        .fetch_one(self.reader())
        .await?
        .into_pair()
    }

    async fn insert_tokens(&self, tokens: &NewTokens) -> StoreResult<()> {
        // New tokens change no cached lookup (their digests are fresh secrets).
        DB::write_tokens(&self.pools, TokenWrite::Insert(tokens.clone()))
            .await
            .map(|_| ())
    }

    async fn access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessTokenInfo>> {
        sqlx::query_as::<DB, AccessTokenRow>(
            "SELECT a.id, a.family_id, a.client_id, a.scope, a.created_at, a.expires_at, \
             a.last_used_at, a.revoked_at, a.jkt, u.id AS u_id, u.username AS u_username, \
             u.email AS u_email, u.name AS u_name, u.is_admin AS u_is_admin, \
             u.disabled AS u_disabled, u.created_at AS u_created_at \
             FROM access_tokens a LEFT JOIN users u ON u.id = a.user_id WHERE a.digest = $1",
        )
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(self.reader())
        .await?
        .map(AccessTokenRow::into_info)
        .transpose()
    }

    async fn touch_access_token(&self, id: Uuid, at: Timestamp) -> StoreResult<()> {
        // The cache keeps its own record of uses: `lastUsedAt` invalidates nothing.
        sqlx::query::<DB>("UPDATE access_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(at)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshTokenInfo>> {
        let mut conn = self.reader().acquire().await?;
        Self::refresh_token_in(&mut conn, digest).await
    }

    async fn exchange_refresh_token(
        &self,
        digest: &TokenDigest,
        at: Timestamp,
        decide: RefreshDecider,
    ) -> StoreResult<Exchange> {
        let write = TokenWrite::Exchange {
            digest: *digest,
            at,
            decide,
        };
        let exchange = DB::write_tokens(&self.pools, write).await?.ok_or_else(|| {
            StoreError::Other(anyhow::anyhow!("a refresh token exchange had no outcome"))
        })?;
        if exchange.outcome == ExchangeOutcome::FamilyRevoked {
            // Known only once committed: a lookup of the family cached meanwhile is stale.
            drop(self.invalidation());
        }
        Ok(exchange)
    }

    async fn revoke_family(&self, family_id: Uuid, at: Timestamp) -> StoreResult<()> {
        let _invalidates = self.invalidation();
        let mut tx = self.writer().begin().await?;
        Self::revoke_family_in(&mut tx, family_id, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_user_tokens(
        &self,
        user_id: Uuid,
        page: Page,
    ) -> StoreResult<(Vec<TokenRecord>, u64)> {
        let rows = sqlx::query_as::<DB, TokenRecordRow>(concat!(
            "SELECT a.id, a.family_id, a.client_id, c.name AS client_name, a.user_id, \
             a.grant_type, a.note, a.scope, a.created_at, a.expires_at, a.last_used_at, \
             a.revoked_at \
             FROM access_tokens a JOIN clients c ON c.id = a.client_id \
             WHERE a.user_id = $1 ORDER BY a.created_at DESC, a.id DESC ",
            limit!("$2"),
            " OFFSET $3"
        ))
        .bind(user_id.to_string())
        .bind(i64::from(page.size))
        .bind(page.offset())
        .fetch_all(self.reader())
        .await?;
        let total: i64 =
            sqlx::query_scalar::<DB, i64>("SELECT COUNT(*) FROM access_tokens WHERE user_id = $1")
                .bind(user_id.to_string())
                .fetch_one(self.reader())
                .await?;
        let records = rows
            .into_iter()
            .map(TokenRecordRow::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((records, u64::try_from(total).unwrap_or(0)))
    }

    async fn renewable_families(
        &self,
        user_id: Uuid,
        at: Timestamp,
    ) -> StoreResult<Vec<(Uuid, Timestamp)>> {
        let rows = sqlx::query_as::<DB, (String, i64)>(
            "SELECT family_id, MAX(expires_at) FROM refresh_tokens \
             WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             GROUP BY family_id",
        )
        .bind(user_id.to_string())
        .bind(at)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(family, until)| Ok((parse_uuid(&family)?, until)))
            .collect()
    }

    async fn insert_personal_token(&self, t: &NewPersonalToken) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        // The account's personal client: the row its personal tokens hang from (a token
        // names a client), hidden from every client lookup and list, with no secret and no
        // grant, so that nothing can authenticate as it.
        sqlx::query::<DB>(
            "INSERT INTO clients (id, owner_id, name, secret_digest, redirect_uris, \
             grant_types, scopes, trusted, personal, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, '[]', '', '', FALSE, TRUE, $4, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&t.client_id)
        .bind(t.user_id.to_string())
        .bind(PERSONAL_CLIENT_NAME)
        .bind(t.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query::<DB>(
            "INSERT INTO access_tokens (id, digest, family_id, client_id, user_id, \
             grant_type, note, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(t.id.to_string())
        .bind(t.digest.as_bytes().to_vec())
        .bind(t.id.to_string())
        .bind(&t.client_id)
        .bind(t.user_id.to_string())
        .bind(TokenOrigin::Personal.as_str())
        .bind(&t.note)
        .bind(t.scope.to_string())
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token_record(&self, token_id: Uuid) -> StoreResult<TokenRecord> {
        sqlx::query_as::<DB, TokenRecordRow>(
            "SELECT a.id, a.family_id, a.client_id, c.name AS client_name, a.user_id, \
             a.grant_type, a.note, a.scope, a.created_at, a.expires_at, a.last_used_at, \
             a.revoked_at \
             FROM access_tokens a JOIN clients c ON c.id = a.client_id WHERE a.id = $1",
        )
        .bind(token_id.to_string())
        .fetch_one(self.reader())
        .await?
        .into_record()
    }

    async fn revoke_user_tokens(&self, user_id: Uuid, at: Timestamp) -> StoreResult<u64> {
        let _invalidates = self.invalidation();
        let mut tx = self.writer().begin().await?;
        let revoked = sqlx::query::<DB>(
            "UPDATE access_tokens SET revoked_at = $2 \
             WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query::<DB>(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&revoked))
    }

    async fn purge_tokens(&self, before: Timestamp) -> StoreResult<u64> {
        // Only tokens that no longer work go, and a cached lookup of one already says so
        // (revoked, or expired by its own date): nothing to invalidate.
        let mut tx = self.writer().begin().await?;
        let access =
            sqlx::query::<DB>("DELETE FROM access_tokens WHERE revoked_at < $1 OR expires_at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?;
        let refresh = sqlx::query::<DB>(
            "DELETE FROM refresh_tokens WHERE revoked_at < $1 OR expires_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&access) + DB::rows_affected(&refresh))
    }
}

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

/// `users`: id, username, email, name, is_admin, disabled, created_at.
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
            username: Username::from_trusted(self.username),
            email: Email::from_trusted(self.email),
            name: self.name.map(DisplayName::from_trusted),
            is_admin: self.is_admin,
            disabled: self.disabled,
            created_at: self.created_at,
        })
    }
}

/// A [`UserRow`] and `password_hash`.
#[derive(sqlx::FromRow)]
pub(super) struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

/// `clients`: id, owner_id, name, secret_digest, redirect_uris, grant_types, scopes,
/// trusted, created_at.
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
    previous_secret_digest: Option<Vec<u8>>,
    previous_secret_expires_at: Option<i64>,
    id_token_signed_response_alg: String,
    post_logout_redirect_uris: String,
    require_par: bool,
    org_name: Option<String>,
}

impl ClientRow {
    pub(super) fn into_client(self) -> StoreResult<Client> {
        Ok(Client {
            id: self.id,
            owner_id: parse_uuid(&self.owner_id)?,
            name: ClientName::from_trusted(self.name),
            secret_digest: self
                .secret_digest
                .as_deref()
                .map(parse_digest)
                .transpose()?,
            redirect_uris: serde_json::from_str::<Vec<String>>(&self.redirect_uris)
                .map_err(|e| StoreError::Other(anyhow::anyhow!("stored redirect URIs: {e}")))?
                .into_iter()
                .map(RedirectUri::from_trusted)
                .collect(),
            grant_types: GrantType::parse_list(&self.grant_types),
            scopes: parse_scope(&self.scopes)?,
            previous_secret: match (self.previous_secret_digest, self.previous_secret_expires_at) {
                (Some(d), Some(until)) => Some((parse_digest(&d)?, until)),
                _ => None,
            },
            trusted: self.trusted,
            id_token_alg: SigningAlg::parse(&self.id_token_signed_response_alg).ok_or_else(
                || {
                    StoreError::Other(anyhow::anyhow!(
                        "stored ID token algorithm {:?} is unknown",
                        self.id_token_signed_response_alg
                    ))
                },
            )?,
            post_logout_redirect_uris: serde_json::from_str::<Vec<String>>(
                &self.post_logout_redirect_uris,
            )
            .map_err(|e| StoreError::Other(anyhow::anyhow!("stored logout URIs: {e}")))?
            .into_iter()
            .map(RedirectUri::from_trusted)
            .collect(),
            created_at: self.created_at,
            require_par: self.require_par,
            org: self.org_name.map(OrgName::from_trusted),
        })
    }
}

/// A [`ClientRow`] and its owner's columns, prefixed `o_` (the token endpoint needs both).
#[derive(sqlx::FromRow)]
struct ClientWithOwnerRow {
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
    fn into_pair(self) -> StoreResult<(Client, User)> {
        let client = self.client.into_client()?;
        let owner = User {
            id: client.owner_id,
            username: Username::from_trusted(self.o_username),
            email: Email::from_trusted(self.o_email),
            name: self.o_name.map(DisplayName::from_trusted),
            is_admin: self.o_is_admin,
            disabled: self.o_disabled,
            created_at: self.o_created_at,
        };
        Ok((client, owner))
    }
}

/// An access token with its user's columns, prefixed `u_` (NULL: no user).
#[derive(sqlx::FromRow)]
struct AccessTokenRow {
    id: String,
    family_id: String,
    client_id: String,
    scope: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    jkt: Option<String>,
    u_id: Option<String>,
    u_username: Option<String>,
    u_email: Option<String>,
    u_name: Option<String>,
    u_is_admin: Option<bool>,
    u_disabled: Option<bool>,
    u_created_at: Option<i64>,
}

impl AccessTokenRow {
    fn into_info(self) -> StoreResult<AccessTokenInfo> {
        let user = match self.u_id {
            Some(id) => Some(User {
                id: parse_uuid(&id)?,
                username: Username::from_trusted(self.u_username.unwrap_or_default()),
                email: Email::from_trusted(self.u_email.unwrap_or_default()),
                name: self.u_name.map(DisplayName::from_trusted),
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
            jkt: self.jkt,
        })
    }
}

/// A refresh token with its user's `disabled` (NULL: no user, or the user is gone).
#[derive(sqlx::FromRow)]
pub(super) struct RefreshTokenRow {
    id: String,
    family_id: String,
    client_id: String,
    user_id: Option<String>,
    scope: String,
    expires_at: i64,
    used_at: Option<i64>,
    grace_uses: i64,
    began_with: Option<String>,
    revoked_at: Option<i64>,
    user_disabled: Option<bool>,
    jkt: Option<String>,
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
            grace_uses: self.grace_uses,
            began_with: self.began_with.as_deref().map(parse_grant).transpose()?,
            revoked_at: self.revoked_at,
            user_disabled: self.user_disabled,
            jkt: self.jkt,
        })
    }
}

/// An access token as API Access lists it, with its client's name.
#[derive(sqlx::FromRow)]
struct TokenRecordRow {
    id: String,
    family_id: String,
    client_id: String,
    client_name: String,
    user_id: Option<String>,
    grant_type: String,
    note: Option<String>,
    scope: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TokenRecordRow {
    fn into_record(self) -> StoreResult<TokenRecord> {
        Ok(TokenRecord {
            id: parse_uuid(&self.id)?,
            family_id: parse_uuid(&self.family_id)?,
            client_id: self.client_id,
            client_name: ClientName::from_trusted(self.client_name),
            user_id: self.user_id.as_deref().map(parse_uuid).transpose()?,
            grant_type: TokenOrigin::parse(&self.grant_type).ok_or_else(|| {
                StoreError::Other(anyhow::anyhow!(
                    "stored grant type {:?} unknown",
                    self.grant_type
                ))
            })?,
            note: self.note,
            scope: parse_scope(&self.scope)?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        })
    }
}
