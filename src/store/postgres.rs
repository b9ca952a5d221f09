//! PostgreSQL (or a PostgreSQL-compatible database) as an [`Engine`]: one pool serves reads
//! and writes, and every statement is bounded by `statement_timeout`.
//!
//! Token writes are grouped as on SQLite (`group.rs`): a task applies every write waiting
//! at that moment in one transaction, so that a burst costs one commit, and one fsync of
//! the WAL, instead of one each. A group that only issues tokens is one `INSERT … SELECT
//! FROM unnest(…)` statement (a statement is a transaction of its own: one round trip); a
//! group with refresh exchanges locks the presented tokens (`SELECT … FOR UPDATE`), decides
//! each exchange against what it read, and writes in one statement before committing.
//! Other nodes write the same tables: the row locks make a concurrent exchange of the same
//! token on another node wait for this commit and then read the token as used.

use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Connection as _, Postgres};
use uuid::Uuid;

use super::engine::Engine;
use super::group::{self, ApplyGroup, TokenWriter};
use super::sql::{RefreshTokenRow, SqlStore};
use super::{Exchange, NewTokens, RefreshTokenInfo, StoreResult, TokenWrite};
use crate::config::DatabaseConfig;

/// The PostgreSQL store.
pub type PostgresStore = SqlStore<Postgres>;

/// An open PostgreSQL database: one pool, and the queue of the task that groups token
/// writes.
pub struct PostgresPools {
    pool: PgPool,
    token_writes: TokenWriter,
}

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

#[async_trait]
impl Engine for Postgres {
    type Pools = PostgresPools;

    const TRIGRAM_SEARCH: bool = false;

    const SEARCH_NAMES_FIRST: bool = true;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    async fn open(config: &DatabaseConfig) -> anyhow::Result<PostgresPools> {
        let options = connect_options(config)?;
        let pool = PgPoolOptions::new()
            .max_connections(config.db_max_connections.unwrap_or(16).max(1))
            .acquire_timeout(Duration::from_secs(config.db_acquire_timeout.max(1)))
            // A connection in use a moment ago is alive: checking every one before it is
            // lent out was a trip to the database per acquire. One idle for longer is
            // checked, so that one the database or the network dropped meanwhile is
            // replaced instead of failing a request.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= CHECK_IDLE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        let token_writes = TokenWriter::spawn(PostgresGroups(pool.clone()));
        Ok(PostgresPools { pool, token_writes })
    }

    fn reader(pools: &PostgresPools) -> &PgPool {
        &pools.pool
    }

    fn writer(pools: &PostgresPools) -> &PgPool {
        &pools.pool
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    /// Hands the write to the grouping task and waits for its group's commit.
    async fn write_tokens(
        pools: &PostgresPools,
        write: TokenWrite,
    ) -> StoreResult<Option<Exchange>> {
        pools.token_writes.write(write).await
    }

    /// The trigram GIN index is built without a pending list (migrations 0019 and 0021).
    async fn tidy_search_index(_writer: &PgPool) -> StoreResult<u64> {
        Ok(0)
    }
}

/// The pool's connections: the URL's, without JIT, and with the configured statement
/// timeout.
fn connect_options(config: &DatabaseConfig) -> anyhow::Result<PgConnectOptions> {
    // No JIT: it compiles a statement whose estimated cost is high, and the marketplace's
    // subqueries make its estimates high on a large registry, though harmony's statements
    // are all short; compiling cost far more than running (docs/storage.md).
    let mut options = PgConnectOptions::from_str(&config.url)?.options([("jit", "off")]);
    if config.db_statement_timeout_ms > 0 {
        options = options.options([(
            "statement_timeout",
            config.db_statement_timeout_ms.to_string(),
        )]);
    }
    Ok(options)
}

/// How long a connection may have been idle and still be lent out without a check.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Token write groups, each on a connection of the pool.
struct PostgresGroups(PgPool);

#[async_trait]
impl ApplyGroup for PostgresGroups {
    async fn apply(&mut self, writes: &[&TokenWrite]) -> StoreResult<Vec<Option<Exchange>>> {
        let presented = group::presented(writes);
        if presented.is_empty() {
            // Only issuance: one statement, atomic and committed on its own.
            let plan = group::plan(writes, HashMap::new());
            write_plan(&mut *self.0.acquire().await?, &plan.issued, &[], &[], &[]).await?;
            return Ok(plan.done);
        }
        let mut tx = self.0.begin().await?;
        let digests: Vec<Vec<u8>> = presented.into_iter().map(<[u8]>::to_vec).collect();
        let rows: Vec<DigestedRefreshRow> = sqlx::query_as(LOCK_PRESENTED)
            .bind(digests)
            .fetch_all(&mut *tx)
            .await?;
        let mut stored: HashMap<Vec<u8>, RefreshTokenInfo> = HashMap::with_capacity(rows.len());
        for r in rows {
            stored.insert(r.digest, r.row.into_info()?);
        }
        let plan = group::plan(writes, stored);
        write_plan(
            &mut tx,
            &plan.issued,
            &plan.used,
            &plan.grace,
            &plan.revoked,
        )
        .await?;
        tx.commit().await?;
        Ok(plan.done)
    }
}

/// Reads the presented refresh tokens ($1, their digests) with their users' state, and
/// locks them until the group commits. Locked in the order of their ids, so that two groups
/// presenting some of the same tokens (on two nodes) lock them in the same order instead
/// of each waiting for the other. Under READ COMMITTED, a group that waited for a lock
/// reads the token as the other group's commit left it: used, which the grant's decider
/// answers by revoking the family (a concurrent use of a single-use token) or, within the
/// grace window, by rotating it again with the count the other group left.
const LOCK_PRESENTED: &str = "SELECT r.digest, r.id, r.family_id, r.client_id, r.user_id, \
     r.scope, r.expires_at, r.used_at, r.grace_uses, r.began_with, r.revoked_at, r.jkt, \
     u.disabled AS user_disabled \
     FROM refresh_tokens r LEFT JOIN users u ON u.id = r.user_id \
     WHERE r.digest = ANY($1) ORDER BY r.id FOR UPDATE OF r";

/// Updates presented refresh tokens ($1 ids; $2 when rotated, $3 their count of uses within
/// the grace window, each null where unchanged) and inserts access tokens ($4–$12) and
/// refresh tokens ($13–$22, $24), each list as arrays of columns that `unnest` turns into rows:
/// one statement whatever the group's size. The three touch different rows (one update
/// per presented token), which is what data-modifying `WITH` queries need.
const WRITE_GROUP: &str = "WITH used AS (\
     UPDATE refresh_tokens SET used_at = coalesce(u.at, refresh_tokens.used_at), \
     grace_uses = coalesce(u.uses, refresh_tokens.grace_uses) \
     FROM unnest($1::text[], $2::int8[], $3::int8[]) AS u(id, at, uses) \
     WHERE refresh_tokens.id = u.id), \
     access AS (\
     INSERT INTO access_tokens (id, digest, family_id, client_id, user_id, grant_type, \
     scope, created_at, expires_at, jkt) \
     SELECT * FROM unnest($4::text[], $5::bytea[], $6::text[], $7::text[], $8::text[], \
     $9::text[], $10::text[], $11::int8[], $12::int8[], $23::text[])) \
     INSERT INTO refresh_tokens (id, digest, family_id, access_token_id, client_id, \
     user_id, scope, created_at, expires_at, began_with, jkt) \
     SELECT * FROM unnest($13::text[], $14::bytea[], $15::text[], $16::text[], \
     $17::text[], $18::text[], $19::text[], $20::int8[], $21::int8[], $22::text[], \
     $24::text[])";

/// Revokes the families replays gave away ($1 ids, $2 times), after [`WRITE_GROUP`], so
/// that a revoked family also loses what the group issued in it.
const REVOKE_ACCESS: &str = "UPDATE access_tokens SET revoked_at = j.at \
     FROM unnest($1::text[], $2::int8[]) AS j(family, at) \
     WHERE access_tokens.family_id = j.family AND access_tokens.revoked_at IS NULL";
const REVOKE_REFRESH: &str = "UPDATE refresh_tokens SET revoked_at = j.at \
     FROM unnest($1::text[], $2::int8[]) AS j(family, at) \
     WHERE refresh_tokens.family_id = j.family AND refresh_tokens.revoked_at IS NULL";

#[derive(sqlx::FromRow)]
struct DigestedRefreshRow {
    digest: Vec<u8>,
    #[sqlx(flatten)]
    row: RefreshTokenRow,
}

/// A table's rows as one array per column, for `unnest`.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    digest: Vec<Vec<u8>>,
    family_id: Vec<String>,
    /// access tokens: `client_id`; refresh tokens: `access_token_id`.
    second: Vec<String>,
    /// access tokens: `user_id`; refresh tokens: `client_id`.
    third: Vec<Option<String>>,
    /// access tokens: `grant_type`; refresh tokens: `user_id`.
    fourth: Vec<Option<String>>,
    scope: Vec<String>,
    created_at: Vec<i64>,
    expires_at: Vec<i64>,
    /// refresh tokens only: the grant that began the family.
    began_with: Vec<Option<String>>,
    /// The DPoP key thumbprint each is bound to.
    jkt: Vec<Option<String>>,
}

/// Writes what a group decided (inside the caller's transaction, if any).
async fn write_plan(
    conn: &mut PgConnection,
    issued: &[Cow<'_, NewTokens>],
    used: &[(Uuid, i64)],
    grace: &[(Uuid, i64)],
    revoked: &[(Uuid, i64)],
) -> StoreResult<()> {
    let mut access = Columns::default();
    let mut refresh = Columns::default();
    for t in issued {
        let family = t.family_id.to_string();
        let access_id = t.access_id.to_string();
        let user = t.user_id.map(|u| u.to_string());
        if let Some(r) = &t.refresh {
            refresh.id.push(r.id.to_string());
            refresh.digest.push(r.digest.as_bytes().to_vec());
            refresh.family_id.push(family.clone());
            refresh.second.push(access_id.clone());
            refresh.third.push(Some(t.client_id.clone()));
            refresh.fourth.push(user.clone());
            refresh.scope.push(r.scope.to_string());
            refresh.created_at.push(t.created_at);
            refresh.expires_at.push(r.expires_at);
            refresh
                .began_with
                .push(r.began_with.map(|g| g.as_str().to_owned()));
            refresh.jkt.push(r.jkt.clone());
        }
        access.id.push(access_id);
        access.digest.push(t.access_digest.as_bytes().to_vec());
        access.family_id.push(family);
        access.second.push(t.client_id.clone());
        access.third.push(user);
        access.fourth.push(Some(t.grant_type.as_str().to_owned()));
        access.scope.push(t.scope.to_string());
        access.created_at.push(t.created_at);
        access.expires_at.push(t.expires_at);
        access.jkt.push(t.jkt.clone());
    }
    // One row per presented token: its rotation time and its grace count, either or both.
    let mut changed: Vec<(Uuid, Option<i64>, Option<i64>)> = Vec::new();
    for (id, at) in used {
        changed.push((*id, Some(*at), None));
    }
    for (id, uses) in grace {
        match changed.iter_mut().find(|(other, _, _)| other == id) {
            Some(row) => row.2 = Some(*uses),
            None => changed.push((*id, None, Some(*uses))),
        }
    }
    let mut query = sqlx::query(WRITE_GROUP)
        .bind(changed.iter().map(|c| c.0.to_string()).collect::<Vec<_>>())
        .bind(changed.iter().map(|c| c.1).collect::<Vec<_>>())
        .bind(changed.iter().map(|c| c.2).collect::<Vec<_>>());
    let began_with = std::mem::take(&mut refresh.began_with);
    let jkts = [
        std::mem::take(&mut access.jkt),
        std::mem::take(&mut refresh.jkt),
    ];
    for table in [access, refresh] {
        query = query
            .bind(table.id)
            .bind(table.digest)
            .bind(table.family_id)
            .bind(table.second)
            .bind(table.third)
            .bind(table.fourth)
            .bind(table.scope)
            .bind(table.created_at)
            .bind(table.expires_at);
    }
    let [access_jkt, refresh_jkt] = jkts;
    query
        .bind(began_with)
        .bind(access_jkt)
        .bind(refresh_jkt)
        .execute(&mut *conn)
        .await?;
    if !revoked.is_empty() {
        let (families, at) = split(revoked);
        // A statement sees only what committed before it began: a group on another node
        // that rotated a token of the family, and held it while this statement waited for
        // it, commits a successor this statement does not see. So the refresh tokens are
        // revoked again until a pass finds none left; then every token of the family is
        // revoked and locked by this transaction, so no other group can rotate one before
        // this commit (it then reads it revoked). The access tokens go last, seeing every
        // successor's.
        loop {
            let done = sqlx::query(REVOKE_REFRESH)
                .bind(&families)
                .bind(&at)
                .execute(&mut *conn)
                .await?;
            if done.rows_affected() == 0 {
                break;
            }
        }
        sqlx::query(REVOKE_ACCESS)
            .bind(&families)
            .bind(&at)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn split(pairs: &[(Uuid, i64)]) -> (Vec<String>, Vec<i64>) {
    pairs.iter().map(|(id, at)| (id.to_string(), *at)).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_run_without_jit_and_with_the_statement_timeout() {
        let config = DatabaseConfig {
            url: "postgres://harmony@db.internal/harmony?options=-c%20search_path%3Dharmony".into(),
            db_statement_timeout_ms: 5_000,
            ..DatabaseConfig::default()
        };
        let options = connect_options(&config).unwrap();
        let options = options.get_options().unwrap();
        assert!(options.contains("-c search_path=harmony"), "{options}");
        assert!(options.contains("-c jit=off"), "{options}");
        assert!(options.contains("-c statement_timeout=5000"), "{options}");
    }
}
