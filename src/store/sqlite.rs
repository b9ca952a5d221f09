//! The embedded default: one SQLite file in WAL mode. Writes go through a single
//! connection (SQLite has one writer at a time; queueing in the pool is cheaper than
//! `SQLITE_BUSY` retries), reads through a pool of readers that WAL never blocks.

use std::str::FromStr;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::oauth::impl_oauth_store;
use super::packages::impl_package_store;
use super::projects::impl_project_store;
use super::sql::impl_sql_store;
use crate::config::DatabaseConfig;

/// The SQLite store.
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    generation: AtomicU64,
}

impl SqliteStore {
    const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

    /// Opens (creating when missing) the database file the URL names.
    pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(&config.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode loses nothing on a process crash; only an OS crash can
            // roll back the last transactions. FULL closes that gap with an fsync a write.
            .synchronous(if config.sqlite_synchronous == "full" {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let acquire = Duration::from_secs(config.db_acquire_timeout.max(1));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire)
            .connect_with(options.clone())
            .await?;
        let in_memory = config.url.contains(":memory:") || config.url.contains("mode=memory");
        let reader = if in_memory {
            // Every connection to an in-memory database is a database of its own.
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(config.db_max_connections.max(1))
                .acquire_timeout(acquire)
                .connect_with(options)
                .await?
        };
        Ok(SqliteStore {
            writer,
            reader,
            generation: AtomicU64::new(0),
        })
    }

    /// The pool for writes that may change what a cached token or client means (see
    /// [`Store::generation`](super::Store::generation)): bumps the generation first.
    fn writer(&self) -> &SqlitePool {
        self.bump();
        &self.writer
    }

    /// The pool for writes that only add rows nobody has cached (new tokens, `lastUsedAt`).
    fn appender(&self) -> &SqlitePool {
        &self.writer
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

impl_sql_store!(SqliteStore, sqlx::Sqlite);
impl_oauth_store!(SqliteStore, sqlx::Sqlite);
impl_project_store!(SqliteStore, sqlx::Sqlite);
impl_package_store!(SqliteStore, sqlx::Sqlite);
