//! JSON Web Keys (RFC 7517) of the keys that sign ID tokens: the algorithms offered, the
//! public half of a key as a JWK, and its RFC 7638 thumbprint, which is the key's `kid`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// An algorithm that signs ID tokens (RFC 7518 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// ECDSA with P-256 and SHA-256: small, fast, the default.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: the one every OpenID Connect client must support.
    Rs256,
}

impl SigningAlg {
    /// Every algorithm, in the order they are offered.
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Rs256, SigningAlg::Es256];

    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::Rs256 => "RS256",
        }
    }

    /// Parses a JOSE name.
    pub fn parse(s: &str) -> Option<SigningAlg> {
        SigningAlg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The public half of a signing key, as a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// A P-256 point: big-endian `x` and `y`, 32 bytes each.
    P256 {
        /// x.
        x: Vec<u8>,
        /// y.
        y: Vec<u8>,
    },
    /// An RSA key: big-endian modulus and exponent, without leading zero bytes.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
}

/// A public key that is not of the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an uncompressed P-256 point")]
pub struct NotAPoint;

impl PublicKey {
    /// A P-256 public key from its uncompressed SEC1 encoding (`04 || x || y`).
    pub fn p256_uncompressed(point: &[u8]) -> Result<PublicKey, NotAPoint> {
        match point {
            [4, rest @ ..] if rest.len() == 64 => Ok(PublicKey::P256 {
                x: rest[..32].to_vec(),
                y: rest[32..].to_vec(),
            }),
            _ => Err(NotAPoint),
        }
    }

    /// The members RFC 7638 hashes, in its order (lexicographic), and nothing else.
    fn required_members(&self) -> Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self {
            PublicKey::P256 { x, y } => {
                json!({"crv": "P-256", "kty": "EC", "x": b64(x), "y": b64(y)})
            }
            PublicKey::Rsa { n, e } => json!({"e": b64(e), "kty": "RSA", "n": b64(n)}),
        }
    }

    /// The RFC 7638 thumbprint: base64url of the SHA-256 of the required members, in
    /// lexicographic order, without whitespace. Used as the `kid`: stable, and the same
    /// on every node.
    pub fn thumbprint(&self) -> String {
        // serde_json keeps insertion order here (`preserve_order`), which is the order
        // written above.
        let canonical = self.required_members().to_string();
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The JWK as published in the JWKS: the key, its `kid`, `alg` and `use`.
    pub fn jwk(&self, alg: SigningAlg) -> Value {
        let mut jwk = self.required_members();
        jwk["kid"] = json!(self.thumbprint());
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        jwk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 7638 §3.1's example key and thumbprint.
        let n = URL_SAFE_NO_PAD
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            )
            .unwrap();
        let key = PublicKey::Rsa {
            n,
            e: vec![1, 0, 1],
        };
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let jwk = key.jwk(SigningAlg::Rs256);
        assert_eq!(jwk["kid"], key.thumbprint());
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["e"], "AQAB");
    }

    #[test]
    fn only_an_uncompressed_p256_point_is_a_p256_key() {
        let mut point = vec![4];
        point.extend(1..=64);
        let key = PublicKey::p256_uncompressed(&point).unwrap();
        assert_eq!(key.jwk(SigningAlg::Es256)["crv"], "P-256");
        assert_eq!(PublicKey::p256_uncompressed(&point[..64]), Err(NotAPoint));
        point[0] = 2;
        assert_eq!(PublicKey::p256_uncompressed(&point), Err(NotAPoint));
    }

    #[test]
    fn algorithms_parse_by_their_jose_names() {
        for alg in SigningAlg::ALL {
            assert_eq!(SigningAlg::parse(alg.as_str()), Some(alg));
        }
        assert_eq!(SigningAlg::parse("none"), None);
        assert_eq!(SigningAlg::parse("HS256"), None);
    }
}
