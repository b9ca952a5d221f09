//! The embedded default: one SQLite file in WAL mode. Writes go through a single
//! connection (SQLite has one writer at a time; queueing in the pool is cheaper than
//! `SQLITE_BUSY` retries), reads through a pool of readers that WAL never blocks.
//!
//! Token writes (issuance and refresh rotation, the token endpoint's hot path) are grouped:
//! a task takes every write waiting at that moment and applies them in one transaction, so
//! that a burst of token requests costs one commit rather than one each (group commit).
//! Each caller is answered only after the commit, so an answered token is stored.

use std::str::FromStr;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::oauth::impl_oauth_store;
use super::packages::impl_package_store;
use super::projects::impl_project_store;
use super::sql::impl_sql_store;
use super::{StoreError, StoreResult, TokenWrite};
use crate::config::DatabaseConfig;

/// The SQLite store.
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    generation: AtomicU64,
    token_writes: mpsc::Sender<TokenJob>,
}

/// A token write waiting for its group, and where to answer.
type TokenJob = (TokenWrite, oneshot::Sender<StoreResult<bool>>);

/// Most writes grouped into one transaction.
const MAX_GROUP: usize = 256;

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
            // Token tables grow to millions of rows: memory-mapped reads (shared by every
            // connection through the OS page cache) keep their indexes in memory.
            .pragma("mmap_size", "268435456")
            .busy_timeout(Duration::from_secs(10));
        let acquire = Duration::from_secs(config.db_acquire_timeout.max(1));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire)
            // The one writer gets a larger page cache (32 MiB) for index maintenance;
            // readers keep SQLite's default, as each connection has its own.
            .connect_with(options.clone().pragma("cache_size", "-32768"))
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
        let (token_writes, jobs) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(group_token_writes(writer.clone(), jobs));
        Ok(SqliteStore {
            writer,
            reader,
            generation: AtomicU64::new(0),
            token_writes,
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

    /// Hands a token write to the grouping task and waits for its commit.
    async fn write_tokens(&self, write: TokenWrite) -> StoreResult<bool> {
        let (answer, answered) = oneshot::channel();
        let gone = || StoreError::Other(anyhow::anyhow!("the token writer stopped"));
        self.token_writes
            .send((write, answer))
            .await
            .map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

/// The grouping task: waits for a write, takes every other one already waiting (up to
/// [`MAX_GROUP`]), applies them in one transaction and answers each. If the group fails,
/// each write is retried alone, so that one bad write cannot fail the others.
async fn group_token_writes(pool: SqlitePool, mut jobs: mpsc::Receiver<TokenJob>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        let writes: Vec<&TokenWrite> = group.iter().map(|(w, _)| w).collect();
        match SqliteStore::apply_token_writes(&pool, &writes).await {
            Ok(applied) => {
                for ((_, answer), ok) in group.drain(..).zip(applied) {
                    let _ = answer.send(Ok(ok));
                }
            }
            Err(_) => {
                for (write, answer) in group.drain(..) {
                    let alone = SqliteStore::apply_token_writes(&pool, &[&write]).await;
                    let _ = answer.send(alone.map(|a| a.first().copied().unwrap_or(false)));
                }
            }
        }
    }
}

impl_sql_store!(SqliteStore, sqlx::Sqlite);
impl_oauth_store!(SqliteStore, sqlx::Sqlite);
impl_project_store!(SqliteStore, sqlx::Sqlite);
impl_package_store!(SqliteStore, sqlx::Sqlite);
