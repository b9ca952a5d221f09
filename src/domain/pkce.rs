//! PKCE (RFC 7636) with the S256 method only: the syntax of verifiers and challenges, and
//! the check that a verifier is the one a challenge was made from.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// A well-formed PKCE verifier: 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A well-formed S256 challenge: base64url (no padding) of a SHA-256 digest, 43 characters.
pub fn valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|bytes| bytes.len() == 32)
}

/// `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time (RFC 7636 §4.6).
pub fn s256_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_is_base64url_of_the_sha256_of_the_verifier() {
        // Computed independently: base64url(sha256(verifier)) without padding.
        let verifier = "dBjftJeZ4CVP-mJ92-lsz4k8ydpoRXEaxmNGm3Tw8Ns";
        let challenge = "t2-OAHh-WUcmUp62ZsS64y3Ad0ND2iGNFSkCM--5TtI";
        assert!(valid_verifier(verifier));
        assert!(valid_s256_challenge(challenge));
        assert!(s256_matches(verifier, challenge));
        assert!(!s256_matches(verifier, verifier));
    }

    #[test]
    fn verifier_and_challenge_syntax() {
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
        assert!(valid_verifier(&"a~._-".repeat(10)));
        assert!(!valid_s256_challenge("abc"));
        assert!(!valid_s256_challenge(&"+".repeat(43)));
    }
}
