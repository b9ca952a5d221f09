//! DPoP proofs as the token endpoint and the resource endpoints check them (RFC 9449):
//! the domain's checks ([`crate::domain::dpop::verify`]), then the server nonce when the
//! deployment requires one (`HARMONY_DPOP_NONCE`), then the replay cache — each accepted
//! proof's key and `jti` are recorded in the database until the proof is too old anyway,
//! so that a proof used on one node is refused on every node.
//!
//! Nonces are stateless: a nonce is a time window's number and an HMAC-SHA256 of it under
//! a key every node reads from the database (made on first use), so any node accepts any
//! node's nonce without a lookup. A nonce is good for the window it was made in and the
//! next one ([`NONCE_WINDOW`] seconds each).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::Services;
use crate::domain::TokenDigest;
use crate::domain::dpop::{self, Expected, MAX_AGE, Proof};
use crate::store::{StoreError, Timestamp};

/// Seconds of one nonce window: a nonce works for 5 to 10 minutes.
pub const NONCE_WINDOW: i64 = 300;

/// The name of the nonce key among the server's secrets.
const NONCE_KEY: &str = "dpop_nonce";

/// Why a proof was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// The proof is malformed, does not match the request, or was used before.
    #[error("{0}")]
    Invalid(String),
    /// The proof lacks a current server nonce; this one is.
    #[error("the DPoP proof must carry the server's nonce")]
    UseNonce {
        /// A current nonce, for the `DPoP-Nonce` header.
        nonce: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for DpopError {
    fn from(e: StoreError) -> Self {
        DpopError::Unexpected(e.into())
    }
}

/// The DPoP service.
pub struct Dpop<'a>(pub(super) &'a Services);

impl Dpop<'_> {
    /// Checks a proof made for `expected` (the domain's checks, the nonce, the replay
    /// cache) and answers it; the proof is then used up.
    pub async fn check(&self, proof: &str, expected: &Expected<'_>) -> Result<Proof, DpopError> {
        let proof = dpop::verify(proof, expected).map_err(|e| DpopError::Invalid(e.0))?;
        if self.0.oauth().dpop_nonce {
            let current = match &proof.nonce {
                Some(nonce) => self.nonce_is_current(nonce, expected.now).await?,
                None => false,
            };
            if !current {
                return Err(DpopError::UseNonce {
                    nonce: self.nonce(expected.now).await?,
                });
            }
        }
        // One digest per key and jti: a jti is unique per key (RFC 9449 §11.1).
        let digest = TokenDigest::of(format!("{}\n{}", proof.jkt, proof.jti).as_bytes());
        // Kept until the proof's iat is too old to pass `verify` (and a second more).
        let until = proof.iat + MAX_AGE + 1;
        if !self.0.store().record_dpop_proof(&digest, until).await? {
            return Err(DpopError::Invalid(
                "the DPoP proof was already used (its jti was seen)".into(),
            ));
        }
        Ok(proof)
    }

    /// Whether proofs must carry a server nonce on this deployment.
    pub fn nonce_required(&self) -> bool {
        self.0.oauth().dpop_nonce
    }

    /// A nonce for the window of `now`.
    pub async fn nonce(&self, now: Timestamp) -> Result<String, DpopError> {
        let window = now.div_euclid(NONCE_WINDOW);
        let mac = self.mac(window).await?;
        let mut bytes = window.to_be_bytes().to_vec();
        bytes.extend_from_slice(&mac);
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Whether `nonce` was made in the window of `now` or the one before.
    async fn nonce_is_current(&self, nonce: &str, now: Timestamp) -> Result<bool, DpopError> {
        let Some(bytes) = URL_SAFE_NO_PAD.decode(nonce).ok().filter(|b| b.len() == 24) else {
            return Ok(false);
        };
        let mut number = [0u8; 8];
        number.copy_from_slice(&bytes[..8]);
        let window = i64::from_be_bytes(number);
        let current = now.div_euclid(NONCE_WINDOW);
        // A nonce from a moment ahead of this node's clock (another node's skew) counts.
        if !(current - 1..=current + 1).contains(&window) {
            return Ok(false);
        }
        let expected = self.mac(window).await?;
        Ok(bool::from(expected.ct_eq(&bytes[8..])))
    }

    /// The first 16 bytes of the HMAC of a window's number.
    async fn mac(&self, window: i64) -> Result<[u8; 16], DpopError> {
        let key = self.key().await?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .map_err(|e| DpopError::Unexpected(anyhow::anyhow!("nonce key: {e}")))?;
        mac.update(b"harmony dpop nonce\n");
        mac.update(&window.to_be_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        Ok(out)
    }

    /// The nonce key, read once from the database (made there by the first node).
    async fn key(&self) -> Result<&[u8], DpopError> {
        let key = self
            .0
            .dpop_nonce_key()
            .get_or_try_init(|| async {
                let candidate = crate::domain::secret::random_bytes(32);
                self.0.store().server_secret(NONCE_KEY, &candidate).await
            })
            .await?;
        Ok(key.as_slice())
    }
}
