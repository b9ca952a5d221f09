//! A short-lived cache of what authenticates requests: access tokens by digest and clients
//! by id. Every request presents one of them, and with SQLite each lookup is a round trip
//! to a database thread; the cache answers repeated ones from memory.
//!
//! Correctness rests on two rules. An entry is good only while the store's
//! [`generation`](crate::store::Store::generation) is the one it was read at, and every
//! write of this process that could change what a token or client means (revocation,
//! account and client changes) moves the generation — so on this node a revocation takes
//! effect on the next request. Writes by *other* nodes are invisible to that counter, so
//! entries also expire after `HARMONY_AUTH_CACHE_MS` (500 ms by default): the bound on
//! how long another node may still accept a token revoked elsewhere. `0` turns the cache
//! off. Unknown tokens are cached too (a random token cannot become valid later), which
//! keeps a flood of invalid tokens off the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

use crate::domain::TokenDigest;
use crate::store::{AccessTokenInfo, Client, Store, StoreError, StoreResult, Timestamp, User};

/// How many tokens and clients are kept at most.
const MAX_TOKENS: u64 = 200_000;
const MAX_CLIENTS: u64 = 20_000;

/// A token lookup, found or not.
#[derive(Debug)]
pub struct CachedToken {
    generation: u64,
    /// The token, if it exists.
    pub info: Option<Arc<AccessTokenInfo>>,
    /// When this node last recorded the token's use (so that it writes `lastUsedAt` once
    /// per interval, not once per request).
    touched: AtomicI64,
}

impl CachedToken {
    /// Claims the right to record a use at `now` if the last one is `interval` old.
    pub fn claim_touch(&self, now: Timestamp, interval: i64) -> bool {
        let last = self.touched.load(Ordering::Relaxed);
        now - last >= interval
            && self
                .touched
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

type ClientPair = Option<(Client, User)>;

/// The cache (one per application).
pub struct AuthCache {
    tokens: Option<Cache<TokenDigest, Arc<CachedToken>>>,
    clients: Option<Cache<String, (u64, Arc<ClientPair>)>>,
}

impl AuthCache {
    /// A cache whose entries live `ttl_ms` milliseconds (0: no cache).
    pub fn new(ttl_ms: u64) -> AuthCache {
        if ttl_ms == 0 {
            return AuthCache {
                tokens: None,
                clients: None,
            };
        }
        let ttl = Duration::from_millis(ttl_ms);
        AuthCache {
            tokens: Some(
                Cache::builder()
                    .max_capacity(MAX_TOKENS)
                    .time_to_live(ttl)
                    .build(),
            ),
            clients: Some(
                Cache::builder()
                    .max_capacity(MAX_CLIENTS)
                    .time_to_live(ttl)
                    .build(),
            ),
        }
    }

    /// The access token with this digest (from memory when still good).
    pub async fn token(
        &self,
        store: &dyn Store,
        digest: &TokenDigest,
    ) -> StoreResult<Arc<CachedToken>> {
        // Read the generation before the database: a write that lands meanwhile moves it,
        // and the entry is then already stale.
        let generation = store.generation();
        if let Some(hit) = self.token_at(generation, digest) {
            return Ok(hit);
        }
        let info = store.access_token(digest).await?;
        let entry = Arc::new(CachedToken {
            generation,
            touched: AtomicI64::new(info.as_ref().and_then(|i| i.last_used_at).unwrap_or(0)),
            info: info.map(Arc::new),
        });
        if let Some(cache) = &self.tokens {
            cache.insert(*digest, entry.clone());
        }
        Ok(entry)
    }

    /// The access token with this digest if memory has it good, without waiting; `None`
    /// when only the store can tell ([`AuthCache::token`]).
    pub fn cached_token(
        &self,
        store: &dyn Store,
        digest: &TokenDigest,
    ) -> Option<Arc<CachedToken>> {
        self.token_at(store.generation(), digest)
    }

    fn token_at(&self, generation: u64, digest: &TokenDigest) -> Option<Arc<CachedToken>> {
        self.tokens
            .as_ref()?
            .get(digest)
            .filter(|hit| hit.generation == generation)
    }

    /// The client with this id and its owner (from memory when still good).
    pub async fn client(&self, store: &dyn Store, client_id: &str) -> StoreResult<ClientPair> {
        let generation = store.generation();
        if let Some(cache) = &self.clients
            && let Some((at, hit)) = cache.get(client_id)
            && at == generation
        {
            return Ok(hit.as_ref().clone());
        }
        let found = match store.client_with_owner(client_id).await {
            Ok(pair) => Some(pair),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        if let Some(cache) = &self.clients {
            cache.insert(client_id.to_owned(), (generation, Arc::new(found.clone())));
        }
        Ok(found)
    }
}
