//! PostgreSQL (or a PostgreSQL-compatible database): one pool serves reads and writes,
//! every statement is bounded by `statement_timeout`.

use std::str::FromStr;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::attempts::impl_attempt_store;
use super::oauth::impl_oauth_store;
use super::packages::impl_package_store;
use super::projects::impl_project_store;
use super::sql::impl_sql_store;
use super::{
    Exchange, ExchangeOutcome, RefreshDecision, RefreshTokenInfo, StoreResult, TokenWrite,
};
use crate::config::DatabaseConfig;
use crate::domain::TokenDigest;

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: PgPool,
    generation: AtomicU64,
}

impl PostgresStore {
    const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

    /// Connects to the database the URL names.
    pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<PostgresStore> {
        let mut options = PgConnectOptions::from_str(&config.url)?;
        if config.db_statement_timeout_ms > 0 {
            options = options.options([(
                "statement_timeout",
                config.db_statement_timeout_ms.to_string(),
            )]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(config.db_max_connections.max(1))
            .acquire_timeout(Duration::from_secs(config.db_acquire_timeout.max(1)))
            .connect_with(options)
            .await?;
        Ok(PostgresStore {
            pool,
            generation: AtomicU64::new(0),
        })
    }

    /// The pool for writes that may change what a cached token or client means (see
    /// [`Store::generation`](super::Store::generation)): bumps the generation first.
    fn writer(&self) -> &PgPool {
        self.bump();
        &self.pool
    }

    /// The pool for writes that only add rows nobody has cached (new tokens, `lastUsedAt`).
    fn appender(&self) -> &PgPool {
        &self.pool
    }

    /// Token writes go straight to PostgreSQL, which commits concurrent transactions well.
    async fn write_tokens(&self, write: TokenWrite) -> StoreResult<Option<Exchange>> {
        let mut tx = self.appender().begin().await?;
        let done = Self::apply_token_write(&mut tx, &write).await?;
        tx.commit().await?;
        Ok(done)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }
}

/// Token writes, one transaction each (the shared SQL of `sql.rs` does the inserts).
impl PostgresStore {
    /// The refresh token with this digest, read on `conn`.
    async fn refresh_token_in(
        conn: &mut sqlx::PgConnection,
        digest: &TokenDigest,
    ) -> StoreResult<Option<RefreshTokenInfo>> {
        sqlx::query_as::<_, super::sql::RefreshTokenRow>(super::sql::REFRESH_TOKEN_SELECT)
            .bind(digest.as_bytes().to_vec())
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.into_info())
            .transpose()
    }

    /// Applies one token write on a connection (inside the caller's transaction).
    /// An exchange reads without a lock and retires the token with a
    /// compare-and-swap: losing it means a concurrent use, which revokes the family.
    async fn apply_token_write(
        conn: &mut sqlx::PgConnection,
        write: &TokenWrite,
    ) -> StoreResult<Option<Exchange>> {
        let (digest, at, decide) = match write {
            TokenWrite::Insert(tokens) => {
                Self::insert_tokens_in(conn, tokens).await?;
                return Ok(None);
            }
            TokenWrite::Exchange { digest, at, decide } => (digest, *at, decide),
        };
        let found = Self::refresh_token_in(conn, digest).await?;
        let outcome = match (&found, decide(found.as_ref())) {
            (Some(old), RefreshDecision::Rotate(new)) => {
                let swapped = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = $2 \
                     WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                )
                .bind(old.id.to_string())
                .bind(at)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1;
                if swapped {
                    Self::insert_tokens_in(conn, &new).await?;
                    ExchangeOutcome::Rotated
                } else {
                    Self::revoke_family_in(conn, old.family_id, at).await?;
                    ExchangeOutcome::FamilyRevoked
                }
            }
            (Some(old), RefreshDecision::RevokeFamily) => {
                Self::revoke_family_in(conn, old.family_id, at).await?;
                ExchangeOutcome::FamilyRevoked
            }
            _ => ExchangeOutcome::Refused,
        };
        Ok(Some(Exchange { found, outcome }))
    }
}

impl_sql_store!(PostgresStore, sqlx::Postgres);
impl_oauth_store!(PostgresStore, sqlx::Postgres);
impl_project_store!(PostgresStore, sqlx::Postgres);
impl_package_store!(PostgresStore, sqlx::Postgres);
impl_attempt_store!(PostgresStore, sqlx::Postgres);
