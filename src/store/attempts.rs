//! Counters of the failed-credentials limiter, kept in the database so that every node of a
//! deployment counts against the same numbers (N nodes must not give N times the guesses).
//!
//! A counter is one row per key (`auth_attempts`: the SHA-256 of the key, so neither
//! usernames nor addresses are stored, and an attacker's long username costs 32 bytes):
//! the start of its window and the attempts counted in it. The window starts with the
//! key's first attempt and lasts the configured seconds, as the request limiter's do.
//! Taking a slot is one `INSERT … ON CONFLICT … DO UPDATE … WHERE … RETURNING`, which the
//! database applies atomically per row: of any number of concurrent attempts exactly
//! `limit` get a slot in a window.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::engine::Engine;
use super::sql::SqlStore;
use super::{StoreResult, Timestamp};

/// A counter to take a slot from.
#[derive(Debug, Clone, Copy)]
pub struct Counter<'a> {
    /// SHA-256 of the counter's key.
    pub key: &'a [u8; 32],
    /// Slots per window (at least 1).
    pub limit: u32,
}

/// A slot taken, to give back if the attempt turns out not to be a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// SHA-256 of the counter's key.
    pub key: [u8; 32],
    /// The window the slot belongs to (a slot is given back only to its own window).
    pub window_start: Timestamp,
    /// Slots taken in the window, this one included.
    pub taken: u32,
}

/// The outcome of [`AttemptStore::reserve_attempts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// One slot of each counter, in the order asked.
    Granted(Vec<Slot>),
    /// The counter at `index` has no slot left until `until`; nothing was taken.
    Refused {
        /// Which counter.
        index: usize,
        /// When its window ends.
        until: Timestamp,
    },
}

/// Storage of the failed-credentials counters.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Takes one slot from every counter, all or none, in one transaction: a counter whose
    /// window (`window` seconds from its first slot) has ended starts a new one.
    async fn reserve_attempts(
        &self,
        counters: &[Counter<'_>],
        window: i64,
        now: Timestamp,
    ) -> StoreResult<Reservation>;
    /// Gives slots back (the attempt was not a failure). A slot whose window has ended
    /// since is not given to the new window.
    async fn release_attempts(&self, slots: &[Slot]) -> StoreResult<()>;
    /// Deletes counters whose window started before `before`.
    async fn purge_attempts(&self, before: Timestamp) -> StoreResult<u64>;
}

/// Takes a slot: a new key starts a window with one slot; an ended window starts over; a
/// current one gives a slot while fewer than `$4` are taken. When it gives none, the
/// `WHERE` leaves the row as it is and nothing is returned. (In `SET`, the columns are
/// their values before the update, on both engines.)
const RESERVE: &str = "INSERT INTO auth_attempts (digest, window_start, attempts) \
     VALUES ($1, $2, 1) \
     ON CONFLICT (digest) DO UPDATE SET \
     window_start = CASE WHEN auth_attempts.window_start <= $2 - $3 \
         THEN excluded.window_start ELSE auth_attempts.window_start END, \
     attempts = CASE WHEN auth_attempts.window_start <= $2 - $3 \
         THEN 1 ELSE auth_attempts.attempts + 1 END \
     WHERE auth_attempts.window_start <= $2 - $3 OR auth_attempts.attempts < $4 \
     RETURNING window_start, attempts";

/// Gives a slot back to its own window.
const RELEASE: &str = "UPDATE auth_attempts SET attempts = attempts - 1 \
     WHERE digest = $1 AND window_start = $2 AND attempts > 0";

#[async_trait]
impl<DB> AttemptStore for SqlStore<DB>
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
    // Counters are not cached anywhere: no write here invalidates anything.

    async fn reserve_attempts(
        &self,
        counters: &[Counter<'_>],
        window: i64,
        now: Timestamp,
    ) -> StoreResult<Reservation> {
        let mut tx = self.writer().begin().await?;
        let mut slots = Vec::with_capacity(counters.len());
        for (index, counter) in counters.iter().enumerate() {
            let taken = sqlx::query_as::<DB, (i64, i64)>(RESERVE)
                .bind(counter.key.to_vec())
                .bind(now)
                .bind(window)
                .bind(i64::from(counter.limit))
                .fetch_optional(&mut *tx)
                .await?;
            match taken {
                Some((window_start, taken)) => slots.push(Slot {
                    key: *counter.key,
                    window_start,
                    taken: u32::try_from(taken).unwrap_or(u32::MAX),
                }),
                None => {
                    let started = sqlx::query_scalar::<DB, i64>(
                        "SELECT window_start FROM auth_attempts WHERE digest = $1",
                    )
                    .bind(counter.key.to_vec())
                    .fetch_one(&mut *tx)
                    .await?;
                    // All or none: the slots taken before this counter go back.
                    tx.rollback().await?;
                    return Ok(Reservation::Refused {
                        index,
                        until: started + window,
                    });
                }
            }
        }
        tx.commit().await?;
        Ok(Reservation::Granted(slots))
    }

    async fn release_attempts(&self, slots: &[Slot]) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        for slot in slots {
            sqlx::query::<DB>(RELEASE)
                .bind(slot.key.to_vec())
                .bind(slot.window_start)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn purge_attempts(&self, before: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query::<DB>("DELETE FROM auth_attempts WHERE window_start < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(DB::rows_affected(&done))
    }
}
