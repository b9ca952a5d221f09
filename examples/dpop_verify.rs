//! What one DPoP proof check costs: `harmony::domain::dpop::verify` (parsing, the key's
//! checks, the signature, the claims, the thumbprint) on proofs of each accepted
//! algorithm, as a resource request makes them (with `ath`). The replay cache's insert is
//! not included (one indexed insert, measured by the S1-DPoP benchmark as part of a request).
//!
//! `cargo run --release --example dpop_verify` prints, per algorithm, the median of 7 runs
//! of the mean time per proof over 2,000 distinct proofs.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use harmony::domain::dpop::{Expected, access_token_hash, verify};
use jsonwebtoken::{Algorithm, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

const URL: &str = "https://api.example.org/user";
const TOKEN: &str = "hat_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
const PROOFS: usize = 2000;
const RUNS: usize = 7;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A key of `alg`: its signing key and public JWK.
fn key(alg: Algorithm) -> (EncodingKey, Value) {
    let rng = SystemRandom::new();
    match alg {
        Algorithm::ES256 => {
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            let p = pair.public_key().as_ref();
            let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&p[1..33]), "y": b64(&p[33..])});
            (EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
        }
        Algorithm::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            // ring writes PKCS#8 v2; the signer reads v1 (the same seed).
            let mut v1 = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ];
            v1.extend_from_slice(&pkcs8.as_ref()[16..48]);
            let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())});
            (EncodingKey::from_ed_der(&v1), jwk)
        }
        _ => {
            use rsa::pkcs1::EncodeRsaPrivateKey as _;
            use rsa::traits::PublicKeyParts as _;
            let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
            let key = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
            let der = key.to_pkcs1_der().unwrap();
            let jwk = json!({
                "kty": "RSA",
                "n": b64(&key.n().to_be_bytes_trimmed_vartime()),
                "e": b64(&key.e().to_be_bytes_trimmed_vartime()),
            });
            (EncodingKey::from_rsa_der(der.as_bytes()), jwk)
        }
    }
}

fn proof(alg: Algorithm, key: &EncodingKey, jwk: &Value, now: i64, n: usize) -> String {
    let header = json!({"typ": "dpop+jwt", "alg": format!("{alg:?}"), "jwk": jwk});
    let claims = json!({
        "jti": format!("bench-{n}"),
        "htm": "GET",
        "htu": URL,
        "iat": now,
        "ath": access_token_hash(TOKEN),
    });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{signature}")
}

fn main() {
    let now = harmony::store::now();
    let expected = Expected {
        method: "GET",
        url: URL,
        access_token: Some(TOKEN),
        now,
    };
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        let (key, jwk) = key(alg);
        let proofs: Vec<String> = (0..PROOFS)
            .map(|n| proof(alg, &key, &jwk, now, n))
            .collect();
        let mut runs: Vec<f64> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                for p in &proofs {
                    verify(p, &expected).expect("a valid proof");
                }
                start.elapsed().as_secs_f64() * 1e6 / PROOFS as f64
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        println!(
            "{alg:?}: {:.1} µs per proof (median of {RUNS} runs of {PROOFS}; min {:.1}, max {:.1})",
            runs[RUNS / 2],
            runs[0],
            runs[RUNS - 1]
        );
    }
}
