//! PostgreSQL (or a PostgreSQL-compatible database) as an [`Engine`]: one pool serves reads
//! and writes, every statement is bounded by `statement_timeout`, and each token write is
//! a transaction of its own (PostgreSQL commits concurrent transactions well, so there is
//! nothing to gain from grouping them).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult};

use super::engine::Engine;
use super::sql::SqlStore;
use super::{Exchange, ExchangeOutcome, RefreshDecision, StoreError, StoreResult, TokenWrite};
use crate::config::DatabaseConfig;

/// The PostgreSQL store.
pub type PostgresStore = SqlStore<Postgres>;

/// An open PostgreSQL database: one pool.
pub struct PostgresPools {
    pool: PgPool,
}

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

#[async_trait]
impl Engine for Postgres {
    type Pools = PostgresPools;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    async fn open(config: &DatabaseConfig) -> anyhow::Result<PostgresPools> {
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
        Ok(PostgresPools { pool })
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

    /// One transaction per write.
    async fn write_tokens(
        pools: &PostgresPools,
        write: TokenWrite,
    ) -> StoreResult<Option<Exchange>> {
        let mut tx = pools.pool.begin().await?;
        let done = apply_token_write(&mut tx, &write).await?;
        tx.commit().await?;
        Ok(done)
    }
}

/// Applies one token write on a connection (inside the caller's transaction).
///
/// An exchange reads the token without a lock, asks the decider, and retires the token
/// with a compare-and-swap (`used_at IS NULL AND revoked_at IS NULL`). Under READ
/// COMMITTED a concurrent exchange of the same token blocks on the row until the first
/// commits, then finds the condition false: it lost the race. It reads the token again,
/// as the winner left it, and asks the decider once more: within the grace window that is
/// a rotation again (counted with a compare-and-swap of its own, on the count it read);
/// otherwise a concurrent use of a single-use token, so it revokes the family — the same
/// outcome the decider gives a replay, and the one SQLite's single writer reaches by
/// reading inside its transaction.
async fn apply_token_write(
    conn: &mut PgConnection,
    write: &TokenWrite,
) -> StoreResult<Option<Exchange>> {
    let (digest, at, decide) = match write {
        TokenWrite::Insert(tokens) => {
            PostgresStore::insert_tokens_in(conn, tokens).await?;
            return Ok(None);
        }
        TokenWrite::Exchange { digest, at, decide } => (digest, *at, decide),
    };
    let mut found = PostgresStore::refresh_token_in(conn, digest).await?;
    let mut decision = decide(found.as_ref());
    // Each lost swap means another exchange committed a use of this token; the grace
    // window allows only a few, so this ends after a few rounds. The bound is a guard.
    for _ in 0..8 {
        let Some(old) = &found else {
            return Ok(Some(Exchange {
                found,
                outcome: ExchangeOutcome::Refused,
            }));
        };
        let outcome = match decision {
            RefreshDecision::Rotate(new) => {
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
                swapped.then_some(new)
            }
            RefreshDecision::RotateAgain(new) => {
                let swapped = sqlx::query(
                    "UPDATE refresh_tokens SET grace_uses = grace_uses + 1 \
                     WHERE id = $1 AND grace_uses = $2 AND revoked_at IS NULL",
                )
                .bind(old.id.to_string())
                .bind(old.grace_uses)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1;
                swapped.then_some(new)
            }
            RefreshDecision::RevokeFamily => {
                PostgresStore::revoke_family_in(conn, old.family_id, at).await?;
                return Ok(Some(Exchange {
                    found,
                    outcome: ExchangeOutcome::FamilyRevoked,
                }));
            }
            RefreshDecision::Refuse => {
                return Ok(Some(Exchange {
                    found,
                    outcome: ExchangeOutcome::Refused,
                }));
            }
        };
        if let Some(new) = outcome {
            PostgresStore::insert_tokens_in(conn, &new).await?;
            return Ok(Some(Exchange {
                found,
                outcome: ExchangeOutcome::Rotated,
            }));
        }
        // Lost the swap: decide again on the token as the winner left it. Only a rotation
        // within the grace window may follow; anything else is a concurrent use of a
        // single-use token, which revokes the family as it always has.
        let family_id = old.family_id;
        found = PostgresStore::refresh_token_in(conn, digest).await?;
        decision = match decide(found.as_ref()) {
            again @ RefreshDecision::RotateAgain(_) => again,
            _ => {
                PostgresStore::revoke_family_in(conn, family_id, at).await?;
                return Ok(Some(Exchange {
                    found,
                    outcome: ExchangeOutcome::FamilyRevoked,
                }));
            }
        };
    }
    Err(StoreError::Other(anyhow::anyhow!(
        "a refresh token exchange kept losing its compare-and-swap"
    )))
}
