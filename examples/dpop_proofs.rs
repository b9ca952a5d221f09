//! DPoP proofs made ahead of time for the benchmark (`bench/run`, S1-DPoP): each proof is
//! accepted once, so a load generator needs one per request.
//!
//! `dpop_proofs KEY_FILE METHOD URL [ACCESS_TOKEN] COUNT` prints COUNT ES256 proofs, one a
//! line, for METHOD and URL (with `ath` when ACCESS_TOKEN is given), signed with the P-256
//! key in KEY_FILE (PKCS#8 DER; made there when the file does not exist, so that the token
//! request's proof and the resource requests' proofs share one key). Each has its own
//! random `jti` and the current time as `iat`: use them within the server's window (a
//! minute).

use std::io::{BufWriter, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use harmony::domain::dpop::access_token_hash;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::json;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (key_file, method, url, token, count) = match args.as_slice() {
        [k, m, u, c] => (k, m, u, None, c),
        [k, m, u, t, c] => (k, m, u, Some(t.as_str()), c),
        _ => {
            eprintln!("usage: dpop_proofs KEY_FILE METHOD URL [ACCESS_TOKEN] COUNT");
            std::process::exit(2);
        }
    };
    let count: usize = count.parse().expect("COUNT is a number");
    let rng = SystemRandom::new();
    let pkcs8 = match std::fs::read(key_file) {
        Ok(der) => der,
        Err(_) => {
            let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .expect("a P-256 key")
                .as_ref()
                .to_vec();
            std::fs::write(key_file, &der).expect("KEY_FILE is writable");
            der
        }
    };
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
        .expect("KEY_FILE holds a P-256 key");
    let public = pair.public_key().as_ref();
    let header = json!({
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": {"kty": "EC", "crv": "P-256", "x": b64(&public[1..33]), "y": b64(&public[33..])},
    });
    let header = b64(header.to_string().as_bytes());
    let ath = token.map(access_token_hash);
    let iat = harmony::store::now();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for _ in 0..count {
        let mut jti = [0u8; 16];
        rng.fill(&mut jti).expect("random bytes");
        let mut claims = json!({"jti": b64(&jti), "htm": method, "htu": url, "iat": iat});
        if let Some(ath) = &ath {
            claims["ath"] = json!(ath);
        }
        let input = format!("{header}.{}", b64(claims.to_string().as_bytes()));
        let signature = pair.sign(&rng, input.as_bytes()).expect("a signature");
        writeln!(out, "{input}.{}", b64(signature.as_ref())).expect("stdout");
    }
    out.flush().expect("stdout");
}
