//! The keys that sign ID tokens: one current key per algorithm (ES256, RS256), generated
//! on the first start and kept in the database, so that every node signs with the same
//! keys and publishes the same JWKS. `harmony keys rotate` makes new current keys; a
//! retired key's public half stays published until every token it could have signed has
//! expired.
//!
//! Key generation: P-256 with `ring` (already in the build, for TLS), RSA with the `rsa`
//! crate (`ring` cannot generate RSA keys), both from the operating system's generator.
//! Both are stored as PKCS#8 DER.

use rsa::pkcs8::EncodePrivateKey as _;
use rsa::traits::PublicKeyParts as _;

use super::Services;
use crate::domain::jose::{PublicKey, SigningAlg};
use crate::store::oauth::{NewSigningKey, SigningKey};
use crate::store::{StoreError, now};

/// RSA modulus size: the common size for RS256 (RFC 7518 §3.3 asks at least 2048).
const RSA_BITS: usize = 2048;

/// What can go wrong with signing keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key could not be generated.
    #[error("cannot generate a {alg} key: {reason}")]
    Generate {
        /// The algorithm.
        alg: &'static str,
        /// Why.
        reason: String,
    },
    /// No current key of the algorithm (the keys are made at start: not expected).
    #[error("no current {0} signing key")]
    Missing(&'static str),
    /// Signing failed.
    #[error("cannot sign with the {alg} key: {reason}")]
    Sign {
        /// The algorithm.
        alg: &'static str,
        /// Why.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The signing keys' use cases.
pub struct Keys<'a>(pub(super) &'a Services);

impl Keys<'_> {
    /// Makes sure each algorithm has a current key, generating what is missing (the
    /// first start). Nodes starting at once on an empty database agree on one key per
    /// algorithm: the database keeps the first one stored.
    pub async fn ensure(&self) -> Result<(), KeyError> {
        let present = self.0.store().signing_keys(now()).await?;
        for alg in SigningAlg::ALL {
            if present
                .iter()
                .any(|k| k.alg == alg && k.retired_at.is_none())
            {
                continue;
            }
            let key = generate(alg).await?;
            if self.0.store().insert_first_signing_key(&key).await? {
                tracing::info!(kid = %key.kid, alg = alg.as_str(), "generated a signing key");
            }
        }
        Ok(())
    }

    /// Generates a new current key for each algorithm; the keys they replace stay
    /// published ([`Keys::published`]) until the tokens they signed have expired. Answers
    /// the new keys' ids.
    pub async fn rotate(&self) -> Result<Vec<(SigningAlg, String)>, KeyError> {
        let mut rotated = Vec::new();
        for alg in SigningAlg::ALL {
            let key = generate(alg).await?;
            self.0.store().rotate_signing_key(&key).await?;
            tracing::info!(kid = %key.kid, alg = alg.as_str(), "rotated the signing key");
            rotated.push((alg, key.kid));
        }
        Ok(rotated)
    }

    /// The keys whose public halves are published: the current ones, and those retired
    /// within the lifetime of what they signed (an ID token lives as long as the access
    /// token it comes with).
    pub async fn published(&self) -> Result<Vec<SigningKey>, KeyError> {
        let since = now() - self.0.oauth().access_token_ttl;
        Ok(self.0.store().signing_keys(since).await?)
    }

    /// Signs `claims` as a compact JWS with the current key of `alg` (a client's
    /// `id_token_signed_response_alg`: ES256 by default, small and fast; RS256 for clients
    /// that ask for it), its `kid` in the header.
    pub async fn sign<T: serde::Serialize>(
        &self,
        claims: &T,
        alg: SigningAlg,
    ) -> Result<String, KeyError> {
        let key = self
            .0
            .store()
            .signing_keys(now())
            .await?
            .into_iter()
            .find(|k| k.alg == alg && k.retired_at.is_none())
            .ok_or(KeyError::Missing(alg.as_str()))?;
        // The stored keys are PKCS#8 DER: what `from_ec_der` reads; `from_rsa_der` reads
        // PKCS#1, so the RSA key is re-encoded.
        let (algorithm, encoding) = match alg {
            SigningAlg::Es256 => (
                jsonwebtoken::Algorithm::ES256,
                jsonwebtoken::EncodingKey::from_ec_der(&key.private_key),
            ),
            SigningAlg::Rs256 => (
                jsonwebtoken::Algorithm::RS256,
                jsonwebtoken::EncodingKey::from_rsa_der(&pkcs1_of(&key.private_key)?),
            ),
        };
        let mut header = jsonwebtoken::Header::new(algorithm);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &encoding).map_err(|e| KeyError::Sign {
            alg: alg.as_str(),
            reason: e.to_string(),
        })
    }

    /// The `sub` and `aud` of `token` if it is an ID token this server signed for
    /// `issuer` with a published key, expired or not (an `id_token_hint`, OpenID Connect
    /// RP-Initiated Logout §2); `None` for anything else.
    pub async fn verify_hint(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<Option<HintClaims>, KeyError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        let Some(kid) = header.kid else {
            return Ok(None);
        };
        let published = self.published().await?;
        let Some(key) = published.into_iter().find(|k| k.kid == kid) else {
            return Ok(None);
        };
        let algorithm = match key.alg {
            SigningAlg::Es256 => jsonwebtoken::Algorithm::ES256,
            SigningAlg::Rs256 => jsonwebtoken::Algorithm::RS256,
        };
        let decoding = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key.public_jwk)
            .ok()
            .and_then(|jwk| jsonwebtoken::DecodingKey::from_jwk(&jwk).ok());
        let Some(decoding) = decoding else {
            return Ok(None);
        };
        // Only the key's own algorithm (never the header's choice), the issuer, no expiry
        // check: a hint is typically presented after its token expired.
        let mut validation = jsonwebtoken::Validation::new(algorithm);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["iss", "sub", "aud"]);
        Ok(
            jsonwebtoken::decode::<HintClaims>(token, &decoding, &validation)
                .ok()
                .map(|t| t.claims),
        )
    }

    /// The JWKS (RFC 7517 §5): the published keys' public halves.
    pub async fn jwks(&self) -> Result<Vec<serde_json::Value>, KeyError> {
        Ok(self
            .published()
            .await?
            .into_iter()
            .map(|k| k.public_jwk)
            .collect())
    }
}

/// What an `id_token_hint` says (see [`Keys::verify_hint`]).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HintClaims {
    /// The user id.
    pub sub: String,
    /// The client the ID token was issued to.
    pub aud: String,
}

/// A new key of `alg`, off the async runtime (RSA generation takes a while).
async fn generate(alg: SigningAlg) -> Result<NewSigningKey, KeyError> {
    let generated = tokio::task::spawn_blocking(move || generate_now(alg))
        .await
        .map_err(|e| failed(alg, e))?;
    let (private_key, public) = generated?;
    Ok(NewSigningKey {
        kid: public.thumbprint(),
        alg,
        private_key,
        public_jwk: public.jwk(alg),
        created_at: now(),
    })
}

fn generate_now(alg: SigningAlg) -> Result<(Vec<u8>, PublicKey), KeyError> {
    match alg {
        SigningAlg::Es256 => {
            use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|e| failed(alg, e))?;
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .map_err(|e| failed(alg, e))?;
            let public = PublicKey::p256_uncompressed(pair.public_key().as_ref())
                .map_err(|e| failed(alg, e))?;
            Ok((pkcs8.as_ref().to_vec(), public))
        }
        SigningAlg::Rs256 => {
            let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
            let key = rsa::PrivateKey::new(&mut rng, RSA_BITS).map_err(|e| failed(alg, e))?;
            let der = key.to_pkcs8_der().map_err(|e| failed(alg, e))?;
            let public = PublicKey::Rsa {
                n: key.n().to_be_bytes_trimmed_vartime().into_vec(),
                e: key.e().to_be_bytes_trimmed_vartime().into_vec(),
            };
            Ok((der.as_bytes().to_vec(), public))
        }
    }
}

/// The PKCS#1 DER of a stored (PKCS#8 DER) RSA private key.
fn pkcs1_of(pkcs8: &[u8]) -> Result<Vec<u8>, KeyError> {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let sign_failed = |e: &dyn std::fmt::Display| KeyError::Sign {
        alg: SigningAlg::Rs256.as_str(),
        reason: e.to_string(),
    };
    let key = rsa::PrivateKey::from_pkcs8_der(pkcs8).map_err(|e| sign_failed(&e))?;
    let der = key.to_pkcs1_der().map_err(|e| sign_failed(&e))?;
    Ok(der.as_bytes().to_vec())
}

fn failed(alg: SigningAlg, e: impl std::fmt::Display) -> KeyError {
    KeyError::Generate {
        alg: alg.as_str(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_publish_their_thumbprint_as_kid() {
        for alg in SigningAlg::ALL {
            let started = std::time::Instant::now();
            let (der, public) = generate_now(alg).unwrap();
            eprintln!("{} generated in {:?}", alg.as_str(), started.elapsed());
            assert!(!der.is_empty());
            assert_eq!(public.jwk(alg)["kid"], public.thumbprint());
        }
    }
}
