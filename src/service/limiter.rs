//! The failed-credentials limiter, shared by everything that checks a password or a client
//! secret: the token endpoint, the sign-in pages (`/oauth/v2/auth`, `/console/login`),
//! introspection and revocation.
//!
//! Counters (kept in the database, [`crate::store::attempts`], so that every node counts
//! against the same numbers):
//!
//! * `user` — per account (the username as typed, lower-cased) and client address:
//!   `HARMONY_FAILED_AUTH_LIMIT` (30) per `HARMONY_FAILED_AUTH_WINDOW` (15 minutes);
//! * `address` — per client address, over every account (password spraying):
//!   `HARMONY_FAILED_AUTH_ADDRESS_LIMIT` (300) per window;
//! * `client` — per client id and client address, for client secrets: the first limit;
//! * `client-address` — wrong client secrets per client address, over every client: the
//!   second limit (apart from passwords', so a script with a wrong secret never locks people
//!   out of signing in; it bounds the writes made-up client ids can cause).
//!
//! An IPv6 address counts by its /64 (one host usually has the whole prefix), an
//! IPv4-mapped one as the IPv4 address.
//!
//! Passwords are checked the expensive way (argon2) and guessable, so an attempt
//! **reserves** a slot of its `user` and `address` counters *before* the hash, all or
//! none: of any number of concurrent attempts at most the limit are ever checked, and the
//! others get `429` without hashing. An attempt that turns out not to be a failure (right
//! password — also for a disabled account or a client that may not sign that user in —,
//! or an error of ours) gives its slots back.
//!
//! Client secrets are 256 random bits and cost one SHA-256 to check, so nothing is
//! reserved for them: a wrong secret takes a slot of its `client` and `client-address`
//! counters *after* the check (`429` instead of `invalid_client` once there is none), and
//! a right secret costs no database access at all — `client_credentials` and
//! `refresh_token` requests keep their speed. A right secret is refused only when this
//! node already knows its `client` counter is full (see below); it cannot have been
//! guessed, so this is no weaker elsewhere.
//!
//! Each node also remembers which counters it saw full, until their window ends, and
//! refuses those at once without asking the database: a flood of attempts against a
//! locked account costs nothing. A slot given back on this node forgets that; one given
//! back on another node is seen here only when the window ends (it errs towards refusing).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest as _, Sha256};

use crate::config::LimitsConfig;
use crate::store::attempts::{Counter, Reservation, Slot};
use crate::store::{Store, StoreError, now};

/// Why an attempt may not be checked.
#[derive(Debug)]
pub enum Limited {
    /// A counter is full: `429` with `Retry-After` of this many seconds.
    TooMany {
        /// Seconds until the counter's window ends (at least 1).
        retry_after: u64,
    },
    /// The counters could not be read: the attempt is not checked (`500`).
    Store(StoreError),
}

/// The limiter of this node (see the module's documentation).
pub struct CredentialLimiter {
    account_limit: u32,
    address_limit: u32,
    window: i64,
    full: KnownFull,
}

/// Slots a password attempt holds; [`PasswordAttempt::settle`] keeps them (a failure) or
/// gives them back.
#[must_use = "settle the attempt, or its slots count as failures"]
#[derive(Debug)]
pub struct PasswordAttempt {
    slots: Vec<Slot>,
}

/// The counter of one key: what it counts, for whom, from where.
fn counter_key(kind: &str, name: &str, addr: IpAddr) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"harmony-attempts\n");
    hasher.update(kind.as_bytes());
    hasher.update(b"\n");
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update(address_prefix(addr).as_bytes());
    hasher.finalize().into()
}

/// How an address counts: IPv4 as itself (also when mapped into IPv6), IPv6 by its /64.
fn address_prefix(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl CredentialLimiter {
    /// The limiter the settings describe.
    pub fn new(limits: &LimitsConfig) -> CredentialLimiter {
        CredentialLimiter {
            account_limit: limits.failed_auth_limit,
            address_limit: limits.failed_auth_address_limit,
            window: i64::try_from(limits.failed_auth_window.max(1)).unwrap_or(i64::MAX),
            full: KnownFull::default(),
        }
    }

    /// The counters of a kind of credential: per account (or client) and address, and per
    /// address over all of that kind; those that are on.
    fn counters(&self, kind: Kind, name: &str, addr: IpAddr) -> Vec<([u8; 32], u32)> {
        let (one, all) = match kind {
            Kind::Password => ("user", "address"),
            Kind::ClientSecret => ("client", "client-address"),
        };
        let mut counters = Vec::with_capacity(2);
        if self.account_limit > 0 {
            counters.push((counter_key(one, name, addr), self.account_limit));
        }
        if self.address_limit > 0 {
            counters.push((counter_key(all, "", addr), self.address_limit));
        }
        counters
    }

    /// One slot of each counter, all or none; [`Limited`] when one is full (known to this
    /// node, or found so by the database).
    async fn reserve(
        &self,
        store: &dyn Store,
        counters: &[([u8; 32], u32)],
    ) -> Result<Vec<Slot>, Limited> {
        if counters.is_empty() {
            return Ok(Vec::new());
        }
        let now = now();
        for (key, _) in counters {
            self.full.check(key, now)?;
        }
        let asked: Vec<Counter<'_>> = counters
            .iter()
            .map(|(key, limit)| Counter { key, limit: *limit })
            .collect();
        match store
            .reserve_attempts(&asked, self.window, now)
            .await
            .map_err(Limited::Store)?
        {
            Reservation::Granted(slots) => {
                for (slot, (_, limit)) in slots.iter().zip(counters) {
                    if slot.taken >= *limit {
                        self.full.mark(slot.key, slot.window_start + self.window);
                    }
                }
                Ok(slots)
            }
            Reservation::Refused { index, until } => {
                self.full.mark(counters[index].0, until);
                Err(Limited::TooMany {
                    retry_after: retry_after(until, now),
                })
            }
        }
    }

    /// Before a password check for `username` from `addr`: one slot of each counter, or
    /// [`Limited`]. Hash only after this succeeded.
    pub async fn reserve_password(
        &self,
        store: &dyn Store,
        username: &str,
        addr: IpAddr,
    ) -> Result<PasswordAttempt, Limited> {
        let counters = self.counters(Kind::Password, &username.to_lowercase(), addr);
        let slots = self.reserve(store, &counters).await?;
        Ok(PasswordAttempt { slots })
    }

    /// Before a client-secret check: refuses only a client this node knows is full (no
    /// I/O, so that the token endpoint's busiest grants pay nothing for the limiter). The
    /// per-address counter of client secrets is not asked: a script with a wrong secret
    /// must not lock the other clients of its address out.
    pub fn check_client(&self, client_id: &str, addr: IpAddr) -> Result<(), Limited> {
        if self.account_limit == 0 || self.full.is_empty() {
            return Ok(());
        }
        self.full
            .check(&counter_key("client", client_id, addr), now())
    }

    /// After a wrong client secret: counts it, or answers [`Limited`] when a counter was
    /// already full. (The per-address counter bounds what one address can make the
    /// database write with made-up client ids.)
    pub async fn client_failed(
        &self,
        store: &dyn Store,
        client_id: &str,
        addr: IpAddr,
    ) -> Result<(), Limited> {
        let counters = self.counters(Kind::ClientSecret, client_id, addr);
        self.reserve(store, &counters).await.map(|_| ())
    }
}

/// What is being checked.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Password,
    ClientSecret,
}

impl PasswordAttempt {
    /// Ends the attempt: a `failed` one keeps its slots; any other gives them back (a store
    /// error then is logged, not the caller's problem: it costs one slot at most).
    pub async fn settle(self, limiter: &CredentialLimiter, store: &dyn Store, failed: bool) {
        if failed || self.slots.is_empty() {
            return;
        }
        for slot in &self.slots {
            limiter.full.forget(&slot.key);
        }
        if let Err(e) = store.release_attempts(&self.slots).await {
            tracing::warn!(error = %e, "could not give back a failed-credentials slot");
        }
    }
}

fn retry_after(until: i64, now: i64) -> u64 {
    u64::try_from(until.saturating_sub(now)).unwrap_or(0).max(1)
}

const SHARDS: usize = 16;

/// Seconds between two sweeps of a shard's ended windows.
const SWEEP_EVERY: i64 = 60;

/// Counters this node saw full, with the end of their window.
struct KnownFull {
    shards: Vec<Mutex<Shard>>,
    /// Entries in all shards, so that the common case (nothing full) takes no lock.
    entries: AtomicUsize,
}

#[derive(Default)]
struct Shard {
    until: HashMap<[u8; 32], i64>,
    next_sweep: i64,
}

impl Shard {
    /// Drops ended windows, at most every [`SWEEP_EVERY`] seconds, so that the map holds
    /// only what is full now and the common case (nothing full) stays lock-free.
    fn sweep(&mut self, now: i64) {
        if now >= self.next_sweep {
            self.until.retain(|_, end| *end > now);
            self.next_sweep = now + SWEEP_EVERY;
        }
    }
}

impl Default for KnownFull {
    fn default() -> Self {
        KnownFull {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            entries: AtomicUsize::new(0),
        }
    }
}

impl KnownFull {
    fn shard(&self, key: &[u8; 32]) -> std::sync::MutexGuard<'_, Shard> {
        // Keys are SHA-256 digests: their first byte is as good as any hash.
        self.shards[usize::from(key[0]) % SHARDS]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_empty(&self) -> bool {
        self.entries.load(Ordering::Relaxed) == 0
    }

    /// Applies a change of a shard's size to the count (called with the shard locked).
    fn resized(&self, before: usize, after: usize) {
        if after > before {
            self.entries.fetch_add(after - before, Ordering::Relaxed);
        } else {
            self.entries.fetch_sub(before - after, Ordering::Relaxed);
        }
    }

    /// `Err` while `key` is known full.
    fn check(&self, key: &[u8; 32], now: i64) -> Result<(), Limited> {
        if self.is_empty() {
            return Ok(());
        }
        let mut shard = self.shard(key);
        let before = shard.until.len();
        shard.sweep(now);
        let found = shard.until.get(key).copied();
        let after = shard.until.len();
        self.resized(before, after);
        match found {
            Some(until) if until > now => Err(Limited::TooMany {
                retry_after: retry_after(until, now),
            }),
            _ => Ok(()),
        }
    }

    /// Remembers that `key` is full until `until`.
    fn mark(&self, key: [u8; 32], until: i64) {
        let now = now();
        let mut shard = self.shard(&key);
        let before = shard.until.len();
        shard.sweep(now);
        shard.until.insert(key, until);
        let after = shard.until.len();
        self.resized(before, after);
    }

    /// Forgets `key` (a slot of it was given back).
    fn forget(&self, key: &[u8; 32]) {
        if self.is_empty() {
            return;
        }
        if self.shard(key).until.remove(key).is_some() {
            self.entries.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_address_counts_by_its_64_and_a_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_prefix(a), address_prefix(b));
        assert_ne!(address_prefix(a), address_prefix(c));
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(address_prefix(mapped), "203.0.113.9");
        assert_eq!(
            counter_key("user", "alice", a),
            counter_key("user", "alice", b)
        );
    }

    #[test]
    fn keys_differ_by_kind_name_and_address() {
        let here: IpAddr = "203.0.113.9".parse().unwrap();
        let there: IpAddr = "198.51.100.7".parse().unwrap();
        let k = counter_key("user", "alice", here);
        assert_ne!(k, counter_key("client", "alice", here));
        assert_ne!(k, counter_key("user", "alicia", here));
        assert_ne!(k, counter_key("user", "alice", there));
    }

    #[test]
    fn known_full_counters_refuse_until_their_window_ends() {
        let full = KnownFull::default();
        let key = [7; 32];
        let now = now();
        assert!(full.is_empty() && full.check(&key, now).is_ok());
        full.mark(key, now + 100);
        assert!(matches!(
            full.check(&key, now),
            Err(Limited::TooMany { retry_after: 100 })
        ));
        assert!(full.check(&[8; 32], now).is_ok());
        // Once the window ended the entry goes.
        assert!(full.check(&key, now + 100).is_ok());
        assert!(full.is_empty());
        full.mark(key, now + 100);
        full.forget(&key);
        assert!(full.is_empty() && full.check(&key, now).is_ok());
    }
}
