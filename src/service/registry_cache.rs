//! The Composer documents of the anonymous view (`packages.json`, each public add-on's
//! `p2` files), rendered once and kept in memory with their validators, and the names of
//! the public add-ons.
//!
//! Every entry belongs to an *epoch*; only entries of the current epoch are served. The
//! epoch moves when the database's registry generation — a counter that moves in the same
//! transaction as every write that can change a document, by any node or process — is
//! seen to have moved. This node reads that counter again on the first request after one
//! of its own registry writes (the store's
//! [`registry_writes`](crate::store::PackageStore::registry_writes) moved), so its own
//! changes are served at once, and otherwise at most every `HARMONY_REGISTRY_CACHE_MS`:
//! the bound on how long another node's change goes unseen here. A request takes the
//! epoch before it reads what it renders, so a document read before a write is never kept
//! past that write.
//!
//! Only what anonymous callers see is kept; a signed-in caller who may see private
//! add-ons gets a document rendered for it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::Bytes;
use moka::sync::Cache;
use sha2::{Digest as _, Sha256};

use crate::store::{Store, StoreResult, Timestamp};

/// How many bytes of documents are kept at most (the least used go first).
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A rendered Composer document and its validators, as the headers carry them (each
/// answer sends them, and the document is answered many times).
#[derive(Debug)]
pub struct Document {
    /// The JSON.
    pub bytes: Bytes,
    /// The entity tag: hex of the first 16 bytes of its SHA-256, quoted.
    pub tag: Bytes,
    /// Its `Last-Modified`, unique to its content (see
    /// [`PackageStore::document_stamp`](crate::store::PackageStore::document_stamp)).
    pub stamp: Option<Timestamp>,
    /// `stamp` as an HTTP date.
    pub modified: Option<Bytes>,
    epoch: u64,
}

impl Document {
    /// A document over `bytes`, whose digest is `digest` ([`digest_of`]), stamped `stamp`,
    /// of `epoch`.
    pub(super) fn new(
        bytes: Vec<u8>,
        digest: &str,
        stamp: Option<Timestamp>,
        epoch: u64,
    ) -> Document {
        Document {
            bytes: Bytes::from(bytes),
            tag: Bytes::from(format!("\"{digest}\"")),
            stamp,
            modified: stamp.map(|t| Bytes::from(http_date(t))),
            epoch,
        }
    }
}

/// The first second an HTTP date cannot carry (year 10000).
const HTTP_DATE_END: u64 = 253_402_300_800;

/// An HTTP date (RFC 9110 §5.6.7); the epoch for a stamp no HTTP date can carry.
pub fn http_date(t: Timestamp) -> String {
    let secs = u64::try_from(t).ok().filter(|&s| s < HTTP_DATE_END);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs.unwrap_or(0)))
}

/// Hex of the first 16 bytes of the SHA-256 of `bytes`.
pub(super) fn digest_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the cache last learnt of the registry generation.
#[derive(Debug, Default)]
struct Freshness {
    epoch: u64,
    shared: Option<i64>,
    local: u64,
    checked: Option<Instant>,
}

/// The cache (one per application).
pub struct RegistryCache {
    documents: Cache<String, Arc<Document>>,
    public_names: Mutex<Option<(u64, Arc<Vec<String>>)>>,
    freshness: Mutex<Freshness>,
    recheck: Duration,
}

impl RegistryCache {
    /// A cache that reads the shared generation at most every `recheck_ms` milliseconds
    /// (0: on every request), and on the first request after a registry write of this
    /// process.
    pub fn new(recheck_ms: u64) -> RegistryCache {
        RegistryCache {
            documents: Cache::builder()
                .max_capacity(MAX_BYTES)
                .weigher(|k: &String, v: &Arc<Document>| {
                    u32::try_from(k.len() + v.bytes.len()).unwrap_or(u32::MAX)
                })
                .build(),
            public_names: Mutex::new(None),
            freshness: Mutex::new(Freshness::default()),
            recheck: Duration::from_millis(recheck_ms),
        }
    }

    /// The current epoch: the one known, or (after a registry write of this process, or
    /// once the last reading is `recheck` old) the one after reading the shared generation.
    pub async fn epoch(&self, store: &dyn Store) -> StoreResult<u64> {
        let local = store.registry_writes();
        if let Some(epoch) = self.epoch_known(local) {
            return Ok(epoch);
        }
        let started = Instant::now();
        let shared = store.registry_generation().await?;
        let mut f = self
            .freshness
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if f.shared != Some(shared) {
            f.epoch += 1;
            f.shared = Some(shared);
            self.documents.invalidate_all();
        }
        // Both read before the generation: a write that ends later moves `local` again,
        // or is read at the next check.
        f.local = local;
        f.checked = Some(started);
        Ok(f.epoch)
    }

    /// [`RegistryCache::epoch`] when it is known without reading the shared generation.
    pub fn known_epoch(&self, store: &dyn Store) -> Option<u64> {
        self.epoch_known(store.registry_writes())
    }

    fn epoch_known(&self, local: u64) -> Option<u64> {
        let f = self
            .freshness
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (f.local == local && f.checked.is_some_and(|at| at.elapsed() < self.recheck))
            .then_some(f.epoch)
    }

    /// The document `name` of `epoch`, if kept.
    pub fn document(&self, name: &str, epoch: u64) -> Option<Arc<Document>> {
        self.documents.get(name).filter(|d| d.epoch == epoch)
    }

    /// Keeps `document` under `name` (when its epoch is still the current one).
    pub fn keep(&self, name: &str, document: Arc<Document>) {
        let current = self
            .freshness
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .epoch;
        if document.epoch == current {
            self.documents.insert(name.to_owned(), document);
        }
    }

    /// The public add-ons' names of `epoch`, if kept.
    pub fn public_names(&self, epoch: u64) -> Option<Arc<Vec<String>>> {
        match &*self
            .public_names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Some((e, names)) if *e == epoch => Some(names.clone()),
            _ => None,
        }
    }

    /// Keeps the public add-ons' names read in `epoch`.
    pub fn keep_public_names(&self, epoch: u64, names: Arc<Vec<String>>) {
        let current = self
            .freshness
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .epoch;
        if epoch == current {
            *self
                .public_names
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some((epoch, names));
        }
    }
}
