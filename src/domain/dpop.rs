//! DPoP proofs (RFC 9449): what a `DPoP` header must be for this server to accept it, and
//! the key thumbprint it binds tokens to. Pure rules over the proof and the request it came
//! with; whether its `jti` was seen before and whether its `nonce` is current are the
//! service's business (they need the database and the nonce key).
//!
//! Checked here, in this order (RFC 9449 §4.3): one compact JWS; header `typ` is
//! `dpop+jwt`; `alg` is one of [`ALGS`] (never `none` or a MAC); `jwk` is a public key of
//! that algorithm's type and nothing private; the signature verifies with that key
//! (`jsonwebtoken`); the claims carry `jti`, `htm`, `htu` and `iat`; `htm` is the request's
//! method; `htu` is the request's URL without query and fragment, compared after
//! RFC 3986 normalisation (scheme and host case, default port, percent-encoding case);
//! `iat` is within [`MAX_AGE`] seconds before and [`MAX_SKEW`] seconds after the server's
//! clock; and at a resource, `ath` is the hash of the access token presented with it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The signature algorithms accepted in proofs, as advertised
/// (`dpop_signing_alg_values_supported`, the `algs` of a challenge).
pub const ALGS: [&str; 3] = ["ES256", "EdDSA", "RS256"];

/// How old a proof's `iat` may be, in seconds. Long enough for a client on a slow network,
/// short enough that the replay cache (which keeps every `jti` this long) stays small.
pub const MAX_AGE: i64 = 60;

/// How far in the future a proof's `iat` may be, in seconds: clock skew between a client
/// and this server. A client whose clock is further off is told to use a server nonce.
pub const MAX_SKEW: i64 = 10;

/// The longest proof read (an RS256 proof with a 4096-bit key is about 1.5 kB).
pub const MAX_PROOF_LEN: usize = 8192;

/// The longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3).
const MIN_RSA_BITS: usize = 2048;

/// Why a proof was refused; the message is for the client's developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProofError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, ProofError> {
    Err(ProofError(message.into()))
}

/// The request a proof must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The HTTP method (`POST`).
    pub method: &'a str,
    /// The request's absolute URL (this server's public URL and the path); a query is
    /// ignored.
    pub url: &'a str,
    /// The access token presented with the proof (resource requests): `ath` must be its
    /// hash. `None` at the token endpoint, where `ath` is not checked.
    pub access_token: Option<&'a str>,
    /// The server's clock, in seconds since the epoch.
    pub now: i64,
}

/// A proof that passed every check of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint (SHA-256, base64url) of the proof's key: what tokens are
    /// bound to (`cnf.jkt`).
    pub jkt: String,
    /// The proof's unique id (to be used once).
    pub jti: String,
    /// When the client made it.
    pub iat: i64,
    /// The server nonce it carries, if any.
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<Value>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// Checks a proof against the request it came with (see the module's documentation).
pub fn verify(proof: &str, expected: &Expected<'_>) -> Result<Proof, ProofError> {
    if proof.len() > MAX_PROOF_LEN {
        return refuse("the DPoP proof is too long");
    }
    let mut parts = proof.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return refuse("the DPoP proof is not a compact JWS");
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(Value::is_object)
        .ok_or_else(|| ProofError("the DPoP proof's header is not a JSON object".into()))?;
    if header["typ"] != "dpop+jwt" {
        return refuse("the DPoP proof's typ must be dpop+jwt");
    }
    let alg = match header["alg"].as_str() {
        Some("ES256") => Algorithm::ES256,
        Some("EdDSA") => Algorithm::EdDSA,
        Some("RS256") => Algorithm::RS256,
        _ => return refuse("the DPoP proof's alg must be one of ES256, EdDSA, RS256"),
    };
    let jwk = public_jwk(&header["jwk"], alg)?;
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|_| ProofError("the DPoP proof's jwk is not a usable key".into()))?;

    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Claims>(proof, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                ProofError("the DPoP proof's signature does not verify with its jwk".into())
            }
            _ => ProofError("the DPoP proof's signature or claims are malformed".into()),
        })?
        .claims;

    let (Some(jti), Some(htm), Some(htu), Some(iat)) =
        (claims.jti, claims.htm, claims.htu, claims.iat)
    else {
        return refuse("the DPoP proof must carry jti, htm, htu and iat");
    };
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return refuse("the DPoP proof's jti must be 1 to 256 characters");
    }
    if htm != expected.method {
        return refuse(format!(
            "the DPoP proof's htm is not this request's method ({})",
            expected.method
        ));
    }
    if !htu_matches(&htu, expected.url) {
        return refuse(format!(
            "the DPoP proof's htu is not this request's URL ({})",
            expected.url
        ));
    }
    // A number, possibly written with a fraction by some libraries.
    let Some(iat) = iat.as_i64().or_else(|| iat.as_f64().map(|f| f as i64)) else {
        return refuse("the DPoP proof's iat must be a number of seconds");
    };
    if iat < expected.now - MAX_AGE || iat > expected.now + MAX_SKEW {
        return refuse("the DPoP proof's iat is too far from the server's clock");
    }
    if let Some(token) = expected.access_token {
        match claims.ath {
            Some(ath) if ath == access_token_hash(token) => {}
            Some(_) => return refuse("the DPoP proof's ath does not match the access token"),
            None => return refuse("the DPoP proof must carry ath with an access token"),
        }
    }
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| ProofError("the DPoP proof's jwk has no thumbprint".into()))?;
    Ok(Proof {
        jkt,
        jti,
        iat,
        nonce: claims.nonce,
    })
}

/// The proof's `jwk`: a public key of the type `alg` signs with, carrying no private
/// member (RFC 9449 §4.3 check 7).
fn public_jwk(value: &Value, alg: Algorithm) -> Result<Jwk, ProofError> {
    let Some(members) = value.as_object() else {
        return refuse("the DPoP proof's header must carry its public key as jwk");
    };
    // Private members of EC, OKP, RSA and symmetric keys (RFC 7518 §6).
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|m| members.contains_key(*m)) {
        return refuse("the DPoP proof's jwk must be a public key");
    }
    let jwk: Jwk = serde_json::from_value(value.clone())
        .map_err(|_| ProofError("the DPoP proof's jwk is malformed".into()))?;
    let fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        (AlgorithmParameters::RSA(p), Algorithm::RS256) => URL_SAFE_NO_PAD
            .decode(&p.n)
            .is_ok_and(|n| n.iter().skip_while(|b| **b == 0).count() * 8 >= MIN_RSA_BITS),
        _ => false,
    };
    if !fits {
        return refuse("the DPoP proof's jwk is not a key of its alg (P-256, Ed25519, RSA ≥ 2048)");
    }
    Ok(jwk)
}

/// `ath`: base64url of the SHA-256 of the access token (RFC 9449 §4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Whether a proof's `htu` names `url`: both parsed as URLs (which lower-cases scheme and
/// host, drops a default port and normalises percent-encoding's case), then compared
/// without query and fragment (RFC 9449 §4.3 check 9, RFC 3986 §6.2.2–6.2.3).
pub fn htu_matches(htu: &str, url: &str) -> bool {
    let bare = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            let path = normalise_percent(u.path());
            u.set_path(&path);
            u
        })
    };
    match (bare(htu), bare(url)) {
        (Some(a), Some(b)) => matches!(a.scheme(), "http" | "https") && a == b,
        _ => false,
    }
}

/// Upper-cases the hex digits of percent-encodings (`%2f` → `%2F`), RFC 3986 §6.2.2.1.
fn normalise_percent(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push('%');
            out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
            out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
            i += 3;
        } else {
            out.push(char::from(bytes[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_is_compared_after_normalisation_and_without_query() {
        let url = "https://api.example.org/oauth/v2/token";
        for same in [
            url,
            "HTTPS://API.Example.org/oauth/v2/token",
            "https://api.example.org:443/oauth/v2/token",
            "https://api.example.org/oauth/v2/token?x=1#f",
        ] {
            assert!(htu_matches(same, url), "{same}");
        }
        for other in [
            "http://api.example.org/oauth/v2/token",
            "https://api.example.org:8443/oauth/v2/token",
            "https://api.example.org/oauth/v2/token/",
            "https://other.example.org/oauth/v2/token",
            "/oauth/v2/token",
            "ftp://api.example.org/oauth/v2/token",
        ] {
            assert!(!htu_matches(other, url), "{other}");
        }
        assert!(htu_matches(
            "https://a.example/x%2fy",
            "https://a.example/x%2Fy"
        ));
    }

    #[test]
    fn ath_is_the_base64url_sha256_of_the_token() {
        // RFC 9449 §7.1's example.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn a_proof_that_is_not_a_jws_is_refused_before_any_crypto() {
        let expected = Expected {
            method: "POST",
            url: "https://a.example/t",
            access_token: None,
            now: 0,
        };
        for proof in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.b.c",
            &"a".repeat(MAX_PROOF_LEN + 1),
        ] {
            assert!(verify(proof, &expected).is_err(), "{proof}");
        }
    }
}
