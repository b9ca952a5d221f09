//! Fixed-window rate limiting with GitHub's semantics: each key gets `limit` requests per
//! window; the window starts with the key's first request and `X-RateLimit-Reset` is its
//! end. Kept in this node's memory: with several nodes each enforces its own share (see
//! docs/api.md). Failed credential checks are counted elsewhere, in the database
//! ([`crate::service::limiter`]).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

const SHARDS: usize = 16;

/// One limiter: `limit` events per `window` seconds per key. A `limit` of 0 disables it.
pub struct WindowLimiter<K> {
    limit: u32,
    window: u64,
    hasher: RandomState,
    shards: Vec<Mutex<Shard<K>>>,
}

struct Shard<K> {
    slots: HashMap<K, Slot>,
    next_sweep: u64,
}

#[derive(Clone, Copy)]
struct Slot {
    start: u64,
    count: u32,
}

/// The state of a key after a request, for the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The request may proceed.
    pub allowed: bool,
    /// Requests per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// Requests used in this window.
    pub used: u32,
    /// Epoch seconds when the window ends.
    pub reset: u64,
}

impl Quota {
    /// Seconds until the window ends (at least 1).
    pub fn retry_after(&self) -> u64 {
        self.reset.saturating_sub(epoch_now()).max(1)
    }
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl<K: Hash + Eq + Clone> WindowLimiter<K> {
    /// A limiter of `limit` events per `window_secs`.
    pub fn new(limit: u32, window_secs: u64) -> Self {
        WindowLimiter {
            limit,
            window: window_secs.max(1),
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        slots: HashMap::new(),
                        next_sweep: 0,
                    })
                })
                .collect(),
        }
    }

    /// Whether the limiter is on.
    pub fn enabled(&self) -> bool {
        self.limit > 0
    }

    fn with_slot<R>(&self, key: &K, now: u64, f: impl FnOnce(&mut Slot) -> R) -> R {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        let mut shard = self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now >= shard.next_sweep {
            let window = self.window;
            shard.slots.retain(|_, s| s.start + window > now);
            shard.next_sweep = now + window;
        }
        let window = self.window;
        let slot = shard.slots.entry(key.clone()).or_insert(Slot {
            start: now,
            count: 0,
        });
        if slot.start + window <= now {
            *slot = Slot {
                start: now,
                count: 0,
            };
        }
        f(slot)
    }

    fn quota(&self, slot: &Slot, allowed: bool) -> Quota {
        Quota {
            allowed,
            limit: self.limit,
            remaining: self.limit.saturating_sub(slot.count),
            used: slot.count.min(self.limit),
            reset: slot.start + self.window,
        }
    }

    /// Counts one request for `key`; `allowed` is false once the window's limit is spent
    /// (a refused request is not counted).
    pub fn hit(&self, key: &K) -> Quota {
        self.with_slot(key, epoch_now(), |slot| {
            let allowed = slot.count < self.limit;
            if allowed {
                slot.count += 1;
            }
            self.quota(slot, allowed)
        })
    }

    /// The state of `key` without counting anything.
    pub fn peek(&self, key: &K) -> Quota {
        self.with_slot(key, epoch_now(), |slot| {
            self.quota(slot, slot.count < self.limit)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_refuses_past_the_limit() {
        let l = WindowLimiter::new(3, 60);
        let q: Vec<_> = (0..4).map(|_| l.hit(&"k")).collect();
        assert_eq!(
            q.iter().map(|q| q.remaining).collect::<Vec<_>>(),
            [2, 1, 0, 0]
        );
        assert_eq!(
            q.iter().map(|q| q.allowed).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(q[3].used, 3);
        assert!(l.hit(&"other").allowed);
    }

    #[test]
    fn peek_counts_nothing() {
        let l = WindowLimiter::new(1, 60);
        assert!(l.peek(&1).allowed);
        assert!(l.peek(&1).allowed);
        assert!(l.hit(&1).allowed);
        assert!(!l.peek(&1).allowed);
    }

    #[test]
    fn the_reset_is_the_end_of_the_window() {
        let l = WindowLimiter::new(5, 100);
        let q = l.hit(&"k");
        assert!(q.reset >= epoch_now() + 99 && q.reset <= epoch_now() + 100);
        assert!(q.retry_after() >= 99);
    }
}
