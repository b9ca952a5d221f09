//! PostgreSQL (or a PostgreSQL-compatible database): one pool serves reads and writes,
//! every statement is bounded by `statement_timeout`.

use std::str::FromStr;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::oauth::impl_oauth_store;
use super::packages::impl_package_store;
use super::projects::impl_project_store;
use super::sql::impl_sql_store;
use super::{StoreResult, TokenWrite};
use crate::config::DatabaseConfig;

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
    async fn write_tokens(&self, write: TokenWrite) -> StoreResult<bool> {
        let applied = Self::apply_token_writes(self.appender(), &[&write]).await?;
        Ok(applied.first().copied().unwrap_or(false))
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }
}

impl_sql_store!(PostgresStore, sqlx::Postgres);
impl_oauth_store!(PostgresStore, sqlx::Postgres);
impl_project_store!(PostgresStore, sqlx::Postgres);
impl_package_store!(PostgresStore, sqlx::Postgres);
