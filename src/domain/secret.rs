//! Secrets: tokens, client secrets and generated passwords. They are generated from the
//! operating system's CSPRNG, travel as [`PlainSecret`] (whose `Debug` shows nothing), and are
//! stored only as a SHA-256 [`TokenDigest`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// A secret in plain text, as the client sees it once. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainSecret(String);

impl PlainSecret {
    /// `bytes` random bytes from the CSPRNG, base64url without padding, after `prefix`
    /// (which tells a secret scanner what it found: `hat_` access token, `hrt_` refresh
    /// token, `hcs_` client secret).
    pub fn generate(prefix: &str, bytes: usize) -> PlainSecret {
        PlainSecret(format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(random_bytes(bytes))
        ))
    }

    /// Wraps a secret received from a client.
    pub fn new(value: impl Into<String>) -> PlainSecret {
        PlainSecret(value.into())
    }

    /// The plaintext, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256 digest, the only form that is stored.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(self.0.as_bytes())
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The OS generator failing is unrecoverable: no secret may be issued without it.
    getrandom::fill(&mut buf).expect("the operating system's random generator failed");
    buf
}

/// A random identifier of `bytes` bytes in base64url (client ids).
pub fn random_id(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// SHA-256 of a secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl TokenDigest {
    /// Digest of arbitrary bytes.
    pub fn of(bytes: &[u8]) -> TokenDigest {
        TokenDigest(Sha256::digest(bytes).into())
    }

    /// From a stored column; `None` when the length is wrong.
    pub fn from_slice(bytes: &[u8]) -> Option<TokenDigest> {
        bytes.try_into().ok().map(TokenDigest)
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &TokenDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_base64url_with_prefix_and_256_bits() {
        let s = PlainSecret::generate("hat_", 32);
        let body = s.expose().strip_prefix("hat_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert!(
            s.expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(s, PlainSecret::generate("hat_", 32));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let s = PlainSecret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn digests_compare_in_constant_time_and_correctly() {
        let a = PlainSecret::new("a").digest();
        assert!(a.ct_eq(&PlainSecret::new("a").digest()));
        assert!(!a.ct_eq(&PlainSecret::new("b").digest()));
    }
}
