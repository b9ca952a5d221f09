//! SQLite as an [`Engine`], the embedded default: one file in WAL mode. Writes go through
//! a single connection (SQLite has one writer at a time; queueing in the pool is cheaper
//! than `SQLITE_BUSY` retries), reads through a pool of readers that WAL never blocks.
//!
//! Token writes (issuance and refresh exchanges, the token endpoint's hot path) are
//! grouped (`group.rs`): a task takes every write waiting at that moment and applies them
//! in one transaction, so that a burst of token requests costs one commit rather than one
//! each (group commit). Each caller is answered only after the commit, so an answered
//! token is stored. Here, a group costs a fixed handful of statements whatever its size
//! (each a multi-row `VALUES` of bound parameters), and a refresh exchange reads its token
//! inside the group's transaction: one round trip to the database thread per request, not
//! four.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::query_builder::Separated;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::engine::Engine;
use super::group;
use super::group::GroupPlan;
use super::group::{ApplyGroup, TokenWriter};
use super::sql::{RefreshTokenRow, SqlStore};
use super::{Exchange, NewRefreshToken, NewTokens, RefreshTokenInfo, StoreResult, TokenWrite};
use crate::config::{DatabaseConfig, SqliteSynchronous as Synchronous};

/// The SQLite store.
pub type SqliteStore = SqlStore<Sqlite>;

/// An open SQLite database: the writer, the readers, and the queue of the task that groups
/// token writes.
pub struct SqlitePools {
    writer: SqlitePool,
    reader: SqlitePool,
    token_writes: TokenWriter,
}

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

#[async_trait]
impl Engine for Sqlite {
    type Pools = SqlitePools;

    const TRIGRAM_SEARCH: bool = true;

    const SEARCH_NAMES_FIRST: bool = false;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    async fn open(config: &DatabaseConfig) -> anyhow::Result<SqlitePools> {
        let options = SqliteConnectOptions::from_str(&config.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode loses nothing on a process crash; only an OS crash can
            // roll back the last transactions. FULL closes that gap with an fsync a write.
            .synchronous(match config.sqlite_synchronous {
                Synchronous::Normal => SqliteSynchronous::Normal,
                Synchronous::Full => SqliteSynchronous::Full,
            })
            .foreign_keys(true)
            // Token tables grow to millions of rows: memory-mapped reads (shared by every
            // connection through the OS page cache) keep their indexes in memory.
            .pragma("mmap_size", "268435456")
            // Statement journals (a group's multi-row statements need them) stay in memory
            // instead of spilling to temporary files.
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(10));
        let acquire = Duration::from_secs(config.db_acquire_timeout.max(1));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire)
            // A connection to a local file has nothing to lose between uses: the ping
            // sqlx sends before lending it out would be one more trip to its thread.
            .test_before_acquire(false)
            // The writer does not checkpoint the WAL at commit: `checkpoints` does, off the
            // write path. Its page cache keeps SQLite's default size (2 MiB): reads come
            // through the memory map, and a larger cache cost ~7 % of the writer's time in
            // the page-cache scan every commit does, for no measured gain (even with a
            // million tokens; see docs/benchmarks.md).
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("journal_size_limit", "67108864"),
            )
            .await?;
        let in_memory = config.url.contains(":memory:") || config.url.contains("mode=memory");
        let reader = if in_memory {
            // Every connection to an in-memory database is a database of its own.
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(
                    config
                        .db_max_connections
                        .unwrap_or_else(default_readers)
                        .max(1),
                )
                .acquire_timeout(acquire)
                .test_before_acquire(false)
                .connect_with(options)
                .await?
        };
        if !in_memory {
            tokio::spawn(checkpoints(reader.clone(), writer.clone()));
        }
        let token_writes = TokenWriter::spawn(SqliteGroups {
            writer: writer.clone(),
            held: None,
        });
        Ok(SqlitePools {
            writer,
            reader,
            token_writes,
        })
    }

    fn reader(pools: &SqlitePools) -> &SqlitePool {
        &pools.reader
    }

    fn writer(pools: &SqlitePools) -> &SqlitePool {
        &pools.writer
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    /// Hands the write to the grouping task and waits for its group's commit.
    async fn write_tokens(pools: &SqlitePools, write: TokenWrite) -> StoreResult<Option<Exchange>> {
        pools.token_writes.write(write).await
    }

    /// FTS5's incremental `merge`: the first step (a negative page count) starts a merge
    /// of every part, each later one writes about `MERGE_PAGES` pages of it, and a step
    /// that changes fewer than two rows found nothing left to do (the FTS5 documentation's
    /// test). Each step is its own transaction on the writer, which token writes take
    /// between two steps.
    async fn tidy_search_index(writer: &SqlitePool) -> StoreResult<u64> {
        let mut pages = -MERGE_PAGES;
        for steps in 0..MERGE_STEPS_AT_MOST {
            let mut conn = writer.acquire().await?;
            let changes = "SELECT total_changes()";
            let before: i64 = sqlx::query_scalar(changes).fetch_one(&mut *conn).await?;
            sqlx::query("INSERT INTO packages_search (packages_search, rank) VALUES ('merge', $1)")
                .bind(pages)
                .execute(&mut *conn)
                .await?;
            let after: i64 = sqlx::query_scalar(changes).fetch_one(&mut *conn).await?;
            if after - before < 2 {
                return Ok(steps);
            }
            pages = MERGE_PAGES;
        }
        Ok(MERGE_STEPS_AT_MOST)
    }
}

/// Pages of the search index one merge step writes: at 10,000 add-ons a step took at most
/// 15 ms (the first) and 3 ms after it, a pause token writes can wait out.
const MERGE_PAGES: i64 = 16;

/// Steps one tidying takes at most (a registry of 10,000 add-ons needed 25); the next
/// hour's goes on where it stopped.
const MERGE_STEPS_AT_MOST: u64 = 10_000;

/// Readers when the operator sets none: one per CPU this process may run on, at least two.
/// A read of a cached database is CPU work, so readers beyond the CPUs only take turns with
/// each other and with the threads that answer: with 16 readers on one CPU, searches'
/// 99th percentile was ten to fifty times their median (docs/benchmarks.md). The second
/// keeps one long read from holding up all the others.
fn default_readers() -> u32 {
    std::thread::available_parallelism()
        .map_or(2, |n| u32::try_from(n.get()).unwrap_or(u32::MAX).max(2))
}

/// Token write groups on the writer connection, which is kept from one group to the next
/// while more are waiting: each time sqlx takes a connection back into its pool, it first
/// pings it, one more trip to the connection's thread.
struct SqliteGroups {
    writer: SqlitePool,
    held: Option<PoolConnection<Sqlite>>,
}

#[async_trait]
impl ApplyGroup for SqliteGroups {
    async fn apply(&mut self, writes: &[&TokenWrite]) -> StoreResult<Vec<Option<Exchange>>> {
        let mut conn = match self.held.take() {
            Some(conn) => conn,
            None => self.writer.acquire().await?,
        };
        let applied = apply_group_on(&mut conn, writes).await;
        if applied.is_err() {
            // The transaction is SQL text here, not a sqlx `Transaction`, so nothing else
            // ends it. A failed ROLLBACK means there was none left (BEGIN failed, or SQLite
            // rolled back itself); the connection is then closed anyway, which ends any.
            // Either way it is not kept: the pool checks it on its way back, or closes it.
            if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                conn.close_on_drop();
            }
        } else {
            self.held = Some(conn);
        }
        applied
    }

    async fn idle(&mut self) {
        self.held = None;
    }
}

/// How often the WAL is checkpointed: often, so that each pass, and the fsync that ends
/// it, has little to write (the slowest token writes wait for them).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// WAL frames (pages) past which the writer itself finishes a checkpoint, so that the WAL
/// starts over (16 MiB of 4 KiB pages): the longer the WAL, the longer the slowest token
/// writes waited (docs/benchmarks.md).
const RESTART_AFTER_FRAMES: i64 = 4_096;

/// Copies the WAL into the database file every [`CHECKPOINT_EVERY`], in two steps.
///
/// 1. A passive checkpoint on a reader connection copies what the WAL holds, off the write
///    path (it never blocks the writer or readers). SQLite's default runs one inside the
///    commit that crosses 1,000 WAL pages, so the token request that commits waits for the
///    copy and its fsync; under a burst of refreshes that made a tenth of the writer's
///    time. Less frequent checkpoints also copy a page rewritten by many commits once.
/// 2. The WAL starts over only when a writer begins after a checkpoint that copied every
///    frame, which under a steady stream of commits a checkpoint beside the writer never
///    does: the WAL grew by gigabytes in a minute of refreshes, until the kernel throttled
///    the writer's writes for seconds. So when the WAL is past [`RESTART_AFTER_FRAMES`],
///    step 1 is repeated until a pass finds few new frames, then a passive checkpoint runs
///    on the writer's own connection, between two of its transactions: it copies only the
///    frames committed since step 1's last pass, and the next write transaction then
///    starts the WAL over (truncated to `journal_size_limit`).
///
/// Ends when the pools close.
async fn checkpoints(reader: SqlitePool, writer: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if reader.is_closed() || writer.is_closed() {
            return;
        }
        if let Err(e) = checkpoint(&reader, &writer).await {
            if reader.is_closed() || writer.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// WAL frames a writer-side checkpoint may have to copy at most (when the reader's passes
/// keep up): the writer waits for that copy, so it is kept to a few milliseconds' worth.
const WRITER_COPIES_AT_MOST: i64 = 512;

/// Passes of the reader's checkpoint before the writer's, at most.
const CATCH_UP_PASSES: usize = 8;

/// One round of [`checkpoints`]. Before the writer's pass, the reader's passes are
/// repeated until one finds few new frames: each copies what was committed during the
/// last, so the writer's pass (which every token write waits for) copies only the frames
/// of the last few milliseconds, not those of the whole first pass.
async fn checkpoint(reader: &SqlitePool, writer: &SqlitePool) -> sqlx::Result<()> {
    let passive = async |pool: &SqlitePool| -> sqlx::Result<i64> {
        let (_busy, frames, _copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(pool)
                .await?;
        Ok(frames)
    };
    let mut frames = passive(reader).await?;
    if frames < RESTART_AFTER_FRAMES {
        return Ok(());
    }
    for _ in 0..CATCH_UP_PASSES {
        let now = passive(reader).await?;
        let new = now - frames;
        frames = now;
        if new <= WRITER_COPIES_AT_MOST {
            break;
        }
    }
    passive(writer).await?;
    Ok(())
}

/// A group that exchanges refresh tokens takes two trips to the connection's thread:
/// this one opens the transaction and reads the presented tokens with their users'
/// state; a [`write_and_commit`] statement writes what was decided and commits. A group
/// that only inserts takes one trip, the same statement beginning the transaction. On one
/// core each trip is two thread switches, which cost more than the statements of a small
/// group.
fn begin_and_read(digests: &[&[u8]]) -> QueryBuilder<Sqlite> {
    let mut sql = QueryBuilder::new(
        "BEGIN IMMEDIATE; \
         SELECT r.digest, r.id, r.family_id, r.client_id, r.user_id, r.scope, r.expires_at, \
         r.used_at, r.grace_uses, r.began_with, r.revoked_at, r.jkt, \
         u.disabled AS user_disabled \
         FROM refresh_tokens r LEFT JOIN users u ON u.id = r.user_id \
         WHERE r.digest IN (",
    );
    let mut list = sql.separated(", ");
    for digest in digests {
        list.push_bind(digest.to_vec());
    }
    for _ in digests.len()..slots(digests.len()) {
        list.push_bind(None::<Vec<u8>>);
    }
    sql.push(")");
    sql
}

/// How many rows a statement carries for `rows`: rounded up to a power of two, so that
/// the writer's statement cache (sqlx keeps 100 a connection) holds a few shapes of each
/// statement rather than one per group size. The padding rows are NULLs, which match and
/// insert nothing.
fn slots(rows: usize) -> usize {
    if rows == 0 {
        0
    } else {
        rows.next_power_of_two()
    }
}

/// Pushes `VALUES (…), …`: one tuple of `columns` for each of `rows`, bound by `bind`,
/// then tuples of NULLs up to [`slots`].
fn push_rows<T>(
    sql: &mut QueryBuilder<Sqlite>,
    rows: &[T],
    columns: usize,
    mut bind: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
) {
    let padding = std::iter::repeat_n(None, slots(rows.len()) - rows.len());
    sql.push_values(
        rows.iter().map(Some).chain(padding),
        |mut tuple, row| match row {
            Some(row) => bind(&mut tuple, row),
            None => {
                for _ in 0..columns {
                    tuple.push_bind(None::<i64>);
                }
            }
        },
    );
}

/// The statement that writes what a group decided and commits: mark rotated refresh
/// tokens used, set the grace-window count of those rotated again, insert access and
/// refresh tokens, then revoke the families replays gave away — last, so that a revoked
/// family also loses what this group issued in it. A group runs only the statements it
/// has rows for.
fn write_and_commit(begin: bool, plan: &GroupPlan<'_>) -> QueryBuilder<Sqlite> {
    let mut sql = QueryBuilder::new(if begin { "BEGIN IMMEDIATE; " } else { "" });
    for (column, list) in [("used_at", &plan.used), ("grace_uses", &plan.grace)] {
        if list.is_empty() {
            continue;
        }
        sql.push(format_args!(
            "UPDATE refresh_tokens SET {column} = v.column2 FROM ("
        ));
        push_rows(&mut sql, list, 2, |tuple, (id, value)| {
            tuple.push_bind(id.to_string()).push_bind(*value);
        });
        sql.push(") AS v WHERE refresh_tokens.id = v.column1; ");
    }
    if !plan.issued.is_empty() {
        sql.push(
            "INSERT INTO access_tokens (id, digest, family_id, client_id, user_id, grant_type, \
             scope, created_at, expires_at, jkt) SELECT * FROM (",
        );
        push_rows(&mut sql, &plan.issued, 10, |tuple, t| {
            tuple
                .push_bind(t.access_id.to_string())
                .push_bind(t.access_digest.as_bytes().to_vec())
                .push_bind(t.family_id.to_string())
                .push_bind(t.client_id.clone())
                .push_bind(t.user_id.map(|u| u.to_string()))
                .push_bind(t.grant_type.as_str())
                .push_bind(t.scope.to_string())
                .push_bind(t.created_at)
                .push_bind(t.expires_at)
                .push_bind(t.jkt.clone());
        });
        sql.push(") WHERE column1 IS NOT NULL; ");
    }
    let refresh: Vec<(&NewTokens, &NewRefreshToken)> = plan
        .issued
        .iter()
        .filter_map(|t| Some((&**t, t.refresh.as_ref()?)))
        .collect();
    if !refresh.is_empty() {
        sql.push(
            "INSERT INTO refresh_tokens (id, digest, family_id, access_token_id, client_id, \
             user_id, scope, created_at, expires_at, began_with, jkt) SELECT * FROM (",
        );
        push_rows(&mut sql, &refresh, 11, |tuple, (t, r)| {
            tuple
                .push_bind(r.id.to_string())
                .push_bind(r.digest.as_bytes().to_vec())
                .push_bind(t.family_id.to_string())
                .push_bind(t.access_id.to_string())
                .push_bind(t.client_id.clone())
                .push_bind(t.user_id.map(|u| u.to_string()))
                .push_bind(r.scope.to_string())
                .push_bind(t.created_at)
                .push_bind(r.expires_at)
                .push_bind(r.began_with.map(crate::domain::GrantType::as_str))
                .push_bind(r.jkt.clone());
        });
        sql.push(") WHERE column1 IS NOT NULL; ");
    }
    if !plan.revoked.is_empty() {
        for table in ["access_tokens", "refresh_tokens"] {
            sql.push(format_args!(
                "UPDATE {table} SET revoked_at = v.column2 FROM ("
            ));
            push_rows(&mut sql, &plan.revoked, 2, |tuple, (family, at)| {
                tuple.push_bind(family.to_string()).push_bind(*at);
            });
            sql.push(format_args!(
                ") AS v WHERE {table}.family_id = v.column1 AND {table}.revoked_at IS NULL; "
            ));
        }
    }
    sql.push("COMMIT");
    sql
}

#[derive(sqlx::FromRow)]
struct DigestedRefreshRow {
    digest: Vec<u8>,
    #[sqlx(flatten)]
    row: RefreshTokenRow,
}

/// Applies a group of token writes in one transaction, in order. The presented refresh
/// tokens are read first (one query); each exchange is then decided in memory against
/// that state, which the group's own decisions update — so two exchanges of one token in
/// one group see each other, exactly as if they had been applied one by one.
async fn apply_group_on(
    conn: &mut sqlx::SqliteConnection,
    writes: &[&TokenWrite],
) -> StoreResult<Vec<Option<Exchange>>> {
    let digests = group::presented(writes);
    let mut stored: HashMap<Vec<u8>, RefreshTokenInfo> = HashMap::new();
    if !digests.is_empty() {
        let rows: Vec<DigestedRefreshRow> = begin_and_read(&digests)
            .build_query_as()
            .fetch_all(&mut *conn)
            .await?;
        for r in rows {
            stored.insert(r.digest, r.row.into_info()?);
        }
    }

    let plan = group::plan(writes, stored);
    write_and_commit(digests.is_empty(), &plan)
        .build()
        .execute(&mut *conn)
        .await?;
    Ok(plan.done)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use uuid::Uuid;

    use super::*;
    use crate::domain::client::ClientName;
    use crate::domain::user::{Email, Username};
    use crate::domain::{GrantType, PlainSecret, ScopeSet, TokenDigest};
    use crate::store::{
        ExchangeOutcome, NewClient, NewRefreshToken, NewTokens, NewUser, RefreshDecider,
        RefreshDecision, Store,
    };

    /// One group on the writer, as the grouping task applies it.
    async fn apply_group(
        writer: &SqlitePool,
        writes: &[&TokenWrite],
    ) -> StoreResult<Vec<Option<Exchange>>> {
        let mut groups = SqliteGroups {
            writer: writer.clone(),
            held: None,
        };
        groups.apply(writes).await
    }

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let config = DatabaseConfig {
            url: format!("sqlite://{}/t.db", dir.path().display()),
            db_max_connections: Some(2),
            db_listing_connections: None,
            db_acquire_timeout: 5,
            db_statement_timeout_ms: 0,
            sqlite_synchronous: crate::config::SqliteSynchronous::Normal,
        };
        let store = SqliteStore::connect(&config).await.unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    /// Every `LIMIT` of a parameter goes through `limit!`: a bare one makes SQLite prepare
    /// its statement again at every execution, which no test of behaviour notices.
    #[test]
    fn no_statement_limits_by_a_bare_parameter() {
        let sources = [
            ("attempts.rs", include_str!("attempts.rs")),
            ("engine.rs", include_str!("engine.rs")),
            ("group.rs", include_str!("group.rs")),
            ("mod.rs", include_str!("mod.rs")),
            ("oauth.rs", include_str!("oauth.rs")),
            ("orgs.rs", include_str!("orgs.rs")),
            ("packages.rs", include_str!("packages.rs")),
            ("postgres.rs", include_str!("postgres.rs")),
            ("projects.rs", include_str!("projects.rs")),
            ("sql.rs", include_str!("sql.rs")),
            ("sqlite.rs", include_str!("sqlite.rs")),
        ];
        let bare = concat!("LIMIT ", "$");
        for (file, text) in sources {
            assert!(!text.contains(bare), "{file} has `{bare}…`: use limit!");
        }
        assert!(include_str!("packages.rs").contains("limit!(\"$5\")"));
    }

    fn tokens(client: &str, user: Uuid, family: Uuid, refresh: TokenDigest) -> NewTokens {
        NewTokens {
            access_id: Uuid::now_v7(),
            access_digest: PlainSecret::generate_token("hat_").digest(),
            family_id: family,
            client_id: client.into(),
            user_id: Some(user),
            grant_type: GrantType::Password,
            scope: ScopeSet::parse("read").unwrap(),
            created_at: 100,
            expires_at: 10_000_000_000,
            refresh: Some(NewRefreshToken {
                id: Uuid::now_v7(),
                digest: refresh,
                scope: ScopeSet::parse("read").unwrap(),
                expires_at: 10_000_000_000,
                began_with: Some(GrantType::Password),
                jkt: None,
            }),
            jkt: None,
        }
    }

    /// When the refresh token with this digest was used.
    async fn used_at(store: &SqliteStore, digest: &TokenDigest) -> Option<i64> {
        sqlx::query_scalar("SELECT used_at FROM refresh_tokens WHERE digest = $1")
            .bind(digest.as_bytes().to_vec())
            .fetch_one(store.writer())
            .await
            .unwrap()
    }

    /// Rotates whatever is unused, revokes on reuse: the grant's rule, reduced.
    fn rotate_once(client: String, user: Uuid) -> RefreshDecider {
        Arc::new(move |old| match old {
            Some(o) if o.used_at.is_some() => RefreshDecision::RevokeFamily,
            Some(o) if o.revoked_at.is_none() => RefreshDecision::Rotate(Box::new(tokens(
                &client,
                user,
                o.family_id,
                PlainSecret::generate_token("hrt_").digest(),
            ))),
            _ => RefreshDecision::Refuse,
        })
    }

    /// Rotates an unused token, rotates again a used one (the grace window, without its
    /// clock or cap: the store's part only).
    fn rotate_again(client: String, user: Uuid) -> RefreshDecider {
        Arc::new(move |old| {
            let Some(o) = old else {
                return RefreshDecision::Refuse;
            };
            let new = Box::new(tokens(
                &client,
                user,
                o.family_id,
                PlainSecret::generate_token("hrt_").digest(),
            ));
            if o.used_at.is_some() {
                RefreshDecision::RotateAgain(new)
            } else {
                RefreshDecision::Rotate(new)
            }
        })
    }

    /// Under a steady stream of writes the WAL starts over (the checkpoint sequence number
    /// in its header moves) instead of growing for as long as the writes go on. The test
    /// runs the rounds of checkpoints itself, one after another while the writes go on,
    /// rather than waiting for the timer's: on a busy machine the timer's could all fall
    /// before the WAL passed its bound.
    #[tokio::test]
    async fn the_wal_starts_over_under_a_steady_stream_of_writes() {
        use std::io::Read as _;
        use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
        let (dir, store) = store().await;
        let wal = dir.path().join("t.db-wal");
        let sequence = || {
            let mut header = [0u8; 16];
            std::fs::File::open(&wal)
                .unwrap()
                .read_exact(&mut header)
                .unwrap();
            u32::from_be_bytes(header[12..16].try_into().unwrap())
        };
        sqlx::query("CREATE TABLE filler (b BLOB NOT NULL)")
            .execute(store.writer())
            .await
            .unwrap();
        let before = sequence();
        // 1 MiB a transaction until told to stop (or, should the WAL never start over, a
        // gigabyte); twenty rounds after twice the WAL's bound is written, it must have.
        let written = Arc::new(AtomicI64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let writes = tokio::spawn({
            let (writer, written, stop) = (store.writer().clone(), written.clone(), stop.clone());
            async move {
                while !stop.load(Ordering::Relaxed)
                    && written.load(Ordering::Relaxed) < 64 * RESTART_AFTER_FRAMES / 256
                {
                    sqlx::query("INSERT INTO filler (b) VALUES (zeroblob(1048576))")
                        .execute(&writer)
                        .await
                        .unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let mut rounds_past_twice = 0;
        let restarted = loop {
            checkpoint(store.reader(), store.writer()).await.unwrap();
            if sequence() != before {
                break true;
            }
            if written.load(Ordering::Relaxed) * 256 > 2 * RESTART_AFTER_FRAMES {
                rounds_past_twice += 1;
            }
            if rounds_past_twice > 20 || writes.is_finished() {
                break false;
            }
        };
        stop.store(true, Ordering::Relaxed);
        writes.await.unwrap();
        assert!(restarted, "the WAL never started over");
    }

    #[tokio::test]
    async fn one_group_counts_every_rotation_again_of_a_token_and_stores_the_last_count() {
        let (_dir, store, user) = bootstrapped().await;
        let refresh = PlainSecret::generate_token("hrt_").digest();
        store
            .insert_tokens(&tokens("c1", user, Uuid::now_v7(), refresh))
            .await
            .unwrap();
        let writes: Vec<TokenWrite> = (0..4)
            .map(|i| TokenWrite::Exchange {
                digest: refresh,
                at: 200 + i,
                decide: rotate_again("c1".into(), user),
            })
            .collect();
        let refs: Vec<&TokenWrite> = writes.iter().collect();
        let done = apply_group(store.writer(), &refs).await.unwrap();
        let seen: Vec<i64> = done
            .iter()
            .map(|d| d.as_ref().unwrap().found.as_ref().unwrap().grace_uses)
            .collect();
        assert_eq!(
            seen,
            [0, 0, 1, 2],
            "each decided on the count the previous left"
        );
        let stored: i64 =
            sqlx::query_scalar("SELECT grace_uses FROM refresh_tokens WHERE digest = $1")
                .bind(refresh.as_bytes().to_vec())
                .fetch_one(store.writer())
                .await
                .unwrap();
        assert_eq!(stored, 3);
        assert_eq!(used_at(&store, &refresh).await, Some(200));
    }

    /// A store with the admin account and client `c1`; returns the admin's id.
    async fn bootstrapped() -> (tempfile::TempDir, SqliteStore, Uuid) {
        let (dir, store) = store().await;
        let admin = NewUser {
            username: Username::parse("admin").unwrap(),
            email: Email::parse("admin@example.com").unwrap(),
            name: None,
            password_hash: "x".into(),
            is_admin: true,
        };
        let client = NewClient {
            id: "c1".into(),
            owner_id: Uuid::nil(),
            name: ClientName::parse("c").unwrap(),
            secret_digest: None,
            redirect_uris: vec![],
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            scopes: ScopeSet::parse("read").unwrap(),
            trusted: false,
            id_token_alg: crate::domain::jose::SigningAlg::Es256,
            post_logout_redirect_uris: vec![],
            require_par: false,
            org: None,
        };
        assert!(store.bootstrap(&admin, &client).await.unwrap());
        let user = store.user_by_username(&admin.username).await.unwrap().id;
        (dir, store, user)
    }

    #[tokio::test]
    async fn one_group_decides_its_exchanges_in_order_and_revokes_what_it_issued() {
        let (_dir, store, user) = bootstrapped().await;
        let family = Uuid::now_v7();
        let refresh = PlainSecret::generate_token("hrt_").digest();
        store
            .insert_tokens(&tokens("c1", user, family, refresh))
            .await
            .unwrap();

        // One group: a fresh grant, then the same refresh token twice.
        let other = tokens(
            "c1",
            user,
            Uuid::now_v7(),
            PlainSecret::generate_token("hrt_").digest(),
        );
        let writes = [
            TokenWrite::Insert(other.clone()),
            TokenWrite::Exchange {
                digest: refresh,
                at: 200,
                decide: rotate_once("c1".into(), user),
            },
            TokenWrite::Exchange {
                digest: refresh,
                at: 201,
                decide: rotate_once("c1".into(), user),
            },
            TokenWrite::Exchange {
                digest: PlainSecret::generate_token("hrt_").digest(),
                at: 202,
                decide: rotate_once("c1".into(), user),
            },
        ];
        let refs: Vec<&TokenWrite> = writes.iter().collect();
        let done = apply_group(store.writer(), &refs).await.unwrap();
        let outcomes: Vec<_> = done.iter().map(|d| d.as_ref().map(|e| e.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                None,
                Some(ExchangeOutcome::Rotated),
                Some(ExchangeOutcome::FamilyRevoked),
                Some(ExchangeOutcome::Refused),
            ]
        );
        // The second exchange was decided on the token as the first one left it.
        assert_eq!(
            done[2].as_ref().unwrap().found.as_ref().unwrap().used_at,
            Some(200)
        );

        // The family is revoked, the tokens the group issued in it included; the fresh
        // grant of the same group is untouched.
        let revoked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM access_tokens WHERE family_id = $1 AND revoked_at = 201",
        )
        .bind(family.to_string())
        .fetch_one(store.writer())
        .await
        .unwrap();
        assert_eq!(revoked, 2);
        let used = used_at(&store, &refresh).await;
        assert_eq!(used, Some(200));
        let fresh = store
            .access_token(&other.access_digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fresh.revoked_at, None);
    }

    #[tokio::test]
    async fn groups_of_every_shape_store_exactly_their_rows_in_one_transaction() {
        let (_dir, store, user) = bootstrapped().await;
        // 3 rows are padded to 4, 5 to 8; the largest group binds the most parameters.
        for size in [1, 3, 5, group::MAX_GROUP] {
            let issued: Vec<TokenWrite> = (0..size)
                .map(|_| {
                    let digest = PlainSecret::generate_token("hrt_").digest();
                    TokenWrite::Insert(tokens("c1", user, Uuid::now_v7(), digest))
                })
                .collect();
            let refs: Vec<&TokenWrite> = issued.iter().collect();
            // Applied directly, not through the grouping task, which would retry a failed
            // group one write at a time and hide the failure.
            let done = apply_group(store.writer(), &refs).await.unwrap();
            assert_eq!(done.len(), size);

            let exchanges: Vec<TokenWrite> = issued
                .iter()
                .map(|w| match w {
                    TokenWrite::Insert(t) => TokenWrite::Exchange {
                        digest: t.refresh.as_ref().unwrap().digest,
                        at: 300,
                        decide: rotate_once("c1".into(), user),
                    },
                    TokenWrite::Exchange { .. } => unreachable!(),
                })
                .collect();
            let refs: Vec<&TokenWrite> = exchanges.iter().collect();
            let done = apply_group(store.writer(), &refs).await.unwrap();
            assert!(
                done.iter()
                    .all(|d| d.as_ref().unwrap().outcome == ExchangeOutcome::Rotated)
            );
        }
        let count = |sql: &'static str| {
            let store = &store;
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(store.writer())
                    .await
                    .unwrap()
            }
        };
        let total = 2 * (1 + 3 + 5 + group::MAX_GROUP) as i64;
        assert_eq!(count("SELECT count(*) FROM access_tokens").await, total);
        assert_eq!(count("SELECT count(*) FROM refresh_tokens").await, total);
        assert_eq!(
            count("SELECT count(*) FROM refresh_tokens WHERE used_at = 300").await,
            total / 2
        );
    }

    #[tokio::test]
    async fn a_failed_group_leaves_nothing_behind_and_the_writer_usable() {
        let (_dir, store, user) = bootstrapped().await;
        let refresh = PlainSecret::generate_token("hrt_").digest();
        let first = tokens("c1", user, Uuid::now_v7(), refresh);
        store.insert_tokens(&first).await.unwrap();

        // The rotation's UPDATE runs, then an insert breaks the digest's unique index.
        let mut clash = tokens(
            "c1",
            user,
            Uuid::now_v7(),
            PlainSecret::generate_token("hrt_").digest(),
        );
        clash.access_digest = first.access_digest;
        let writes = [
            TokenWrite::Exchange {
                digest: refresh,
                at: 200,
                decide: rotate_once("c1".into(), user),
            },
            TokenWrite::Insert(clash),
        ];
        let refs: Vec<&TokenWrite> = writes.iter().collect();
        assert!(apply_group(store.writer(), &refs).await.is_err());
        let used = used_at(&store, &refresh).await;
        assert_eq!(used, None, "the rotation was rolled back");
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM access_tokens")
            .fetch_one(store.writer())
            .await
            .unwrap();
        assert_eq!(count, 1);

        // No transaction was left open: the next groups, of both kinds, commit.
        let fresh = tokens(
            "c1",
            user,
            Uuid::now_v7(),
            PlainSecret::generate_token("hrt_").digest(),
        );
        let done = apply_group(store.writer(), &[&TokenWrite::Insert(fresh.clone())])
            .await
            .unwrap();
        assert_eq!(done.len(), 1);
        let exchange = TokenWrite::Exchange {
            digest: refresh,
            at: 300,
            decide: rotate_once("c1".into(), user),
        };
        let done = apply_group(store.writer(), &[&exchange]).await.unwrap();
        assert_eq!(
            done[0].as_ref().map(|e| e.outcome),
            Some(ExchangeOutcome::Rotated)
        );
        assert!(
            store
                .access_token(&fresh.access_digest)
                .await
                .unwrap()
                .is_some()
        );
    }

    /// The marketplace listing takes turns: while every turn is held, a listing waits for
    /// one, goes ahead as soon as one is given back, and fails as a busy pool does (a 503)
    /// once it has waited as long as a connection may be waited for.
    #[tokio::test]
    async fn a_listing_waits_for_its_turn() {
        use crate::store::packages::{PackageFilter, Viewer};
        use crate::store::{PackageStore, Page, StoreError};
        let dir = tempfile::tempdir().unwrap();
        let config = DatabaseConfig {
            url: format!("sqlite://{}/t.db", dir.path().display()),
            db_listing_connections: Some(1),
            db_acquire_timeout: 1,
            ..DatabaseConfig::default()
        };
        let store = SqliteStore::connect(&config).await.unwrap();
        store.migrate().await.unwrap();
        let filter = PackageFilter::default();
        let list = || {
            store.list_packages(
                Viewer::Anonymous,
                &filter,
                Page {
                    number: 1,
                    size: 20,
                },
            )
        };

        let turn = store.listing_turn().await.unwrap();
        let (listed, ()) = tokio::join!(list(), async move {
            tokio::task::yield_now().await;
            drop(turn);
        });
        assert_eq!(listed.unwrap().1, 0);

        let _turn = store.listing_turn().await.unwrap();
        match list().await {
            Err(StoreError::Other(e)) => assert!(
                matches!(
                    e.downcast_ref::<sqlx::Error>(),
                    Some(sqlx::Error::PoolTimedOut)
                ),
                "{e}"
            ),
            other => panic!("{:?}", other.map(|(_, total)| total)),
        }
    }
}
