//! Password hashing with argon2id, always off the async runtime: on a small pool of
//! dedicated threads at the lowest scheduling priority, behind a semaphore that caps how many
//! hashes run at once. argon2 is memory-hard and slow by design; a burst of logins must
//! neither starve the request path (the hashing threads yield the CPU to it) nor exhaust
//! memory (a fixed set of threads reuses its allocations instead of growing the runtime's
//! blocking pool).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::config::HashingConfig;
use crate::domain::user::MAX_PASSWORD_BYTES;

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

type Job = Box<dyn FnOnce() + Send>;

struct Inner {
    params: Params,
    permits: Semaphore,
    jobs: Sender<Job>,
    /// A hash of a random password with the configured parameters: verified against when
    /// the username is unknown, so that timing does not reveal which accounts exist.
    dummy: OnceCell<String>,
    /// Hashes and verifications waiting for a permit or running (for `/metrics`).
    in_flight: AtomicU64,
    /// Hashes and verifications finished (for `/metrics`).
    done: AtomicU64,
}

/// Counts one job in flight while alive, and as done when dropped (also when the waiting
/// request is cancelled, so that the gauge cannot drift).
struct InFlight<'a>(&'a Inner);

impl<'a> InFlight<'a> {
    fn start(inner: &'a Inner) -> Self {
        inner.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(inner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.done.fetch_add(1, Ordering::Relaxed);
    }
}

impl PasswordHasher {
    /// A hasher with these parameters; fails if argon2 refuses them.
    pub fn new(config: &HashingConfig) -> anyhow::Result<PasswordHasher> {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let permits = if config.hash_concurrency == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            config.hash_concurrency
        };
        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                params,
                permits: Semaphore::new(permits),
                jobs: start_workers(permits)?,
                dummy: OnceCell::new(),
                in_flight: AtomicU64::new(0),
                done: AtomicU64::new(0),
            }),
        })
    }

    /// Runs `f` on a hashing thread once a permit is free.
    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> anyhow::Result<R> {
        let _in_flight = InFlight::start(&self.inner);
        let _permit = self.inner.permits.acquire().await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner
            .jobs
            .send(Box::new(move || {
                let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
            }))
            .map_err(|_| anyhow::anyhow!("the hashing threads are gone"))?;
        rx.await?
            .map_err(|_| anyhow::anyhow!("password hashing panicked"))
    }

    /// Hashes and verifications now waiting for a hashing thread or running on one.
    pub fn in_flight(&self) -> u64 {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// Hashes and verifications finished (or abandoned) since start.
    pub fn done(&self) -> u64 {
        self.inner.done.load(Ordering::Relaxed)
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let params = self.inner.params.clone();
        let password = password.as_bytes().to_vec();
        self.run(move || {
            Self::argon2(params)
                .hash_password(&password)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
        })
        .await?
    }

    /// Verifies a password against a stored hash. `None` (unknown user) verifies against a
    /// dummy hash and answers `false`, taking the same time as a real check.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash().await?.to_owned(), false),
        };
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let password = password.as_bytes().to_vec();
        let matches = self
            .run(move || {
                let parsed = PasswordHash::new(&hash)
                    .map_err(|e| anyhow::anyhow!("stored password hash does not parse: {e}"))?;
                // The stored hash's own parameters are used, so older hashes keep working
                // after the configured cost changes.
                Ok::<_, anyhow::Error>(
                    Argon2::default()
                        .verify_password(&password, &parsed)
                        .is_ok(),
                )
            })
            .await??;
        Ok(matches && real)
    }

    async fn dummy_hash(&self) -> anyhow::Result<&str> {
        self.inner
            .dummy
            .get_or_try_init(|| async {
                let random = crate::domain::secret::random_id(24);
                self.hash(&random).await
            })
            .await
            .map(String::as_str)
    }
}

/// Starts `n` hashing threads at the lowest priority; they end when the sender is dropped.
fn start_workers(n: usize) -> anyhow::Result<Sender<Job>> {
    let (tx, rx) = channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("harmony-hash-{i}"))
            .spawn(move || {
                // Best effort: a container may forbid it, and hashing still works.
                let _ = thread_priority::set_current_thread_priority(
                    thread_priority::ThreadPriority::Min,
                );
                loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })?;
    }
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(&HashingConfig {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..HashingConfig::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let h = cheap();
        let hash = h.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!h.verify("wrong horse", Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn the_default_parameters_are_owasp_argon2id() {
        let h = PasswordHasher::new(&HashingConfig::default()).unwrap();
        let hash = h.hash("correct horse").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    /// Hashes made by another implementation (PHP's `password_hash`, libargon2), with the
    /// OWASP parameters and with other costs: stored hashes keep verifying whatever
    /// version of the argon2 crate checks them.
    #[tokio::test]
    async fn hashes_made_elsewhere_verify_with_their_own_parameters() {
        let h = cheap();
        for stored in [
            "$argon2id$v=19$m=19456,t=2,p=1$NFROVVBza1llbUswTXJuYQ$6JLO/OyjiPnMvOrtoAgmLa9jgXC99jh/B9WIq+1lgc0",
            "$argon2id$v=19$m=65536,t=4,p=1$NE9KZ1o2cm4vMkhqaUl1Vw$q/B9cmB4KakEGbjt3Fc5fh2khSd+KnMvcaJiIjRjKVo",
        ] {
            let ok = h.verify("correct horse battery staple", Some(stored));
            assert!(ok.await.unwrap(), "{stored}");
            let wrong = h.verify("correct horse battery stapler", Some(stored));
            assert!(!wrong.await.unwrap(), "{stored}");
        }
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let h = cheap();
        assert!(!h.verify("anything", None).await.unwrap());
    }

    #[tokio::test]
    async fn oversize_passwords_are_refused_without_hashing() {
        let h = cheap();
        let hash = h.hash("x").await.unwrap();
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(!h.verify(&long, Some(&hash)).await.unwrap());
    }
}
