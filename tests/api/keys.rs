//! The keys that sign ID tokens: generated on the first start, kept in the database (the
//! same JWKS on every node, even when nodes start at once), rotated by `harmony keys
//! rotate` with the old public keys published until what they signed has expired.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::helpers::TestApp;
use crate::process::{Node, command as harmony};

async fn jwks(http: &reqwest::Client, url: String) -> Vec<Value> {
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["keys"].as_array().unwrap().clone()
}

fn kids(keys: &[Value]) -> Vec<String> {
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The RFC 7638 thumbprint of a published JWK, computed from its members here.
fn thumbprint(jwk: &Value) -> String {
    let members = match jwk["kty"].as_str().unwrap() {
        "EC" => json!({"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}),
        "RSA" => json!({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}),
        other => panic!("unexpected kty {other}"),
    };
    URL_SAFE_NO_PAD.encode(Sha256::digest(members.to_string()))
}

#[tokio::test]
async fn the_first_start_generates_an_es256_and_an_rs256_key_which_every_node_publishes() {
    let app = TestApp::spawn().await;
    let keys = jwks(&app.http, app.url("/oauth/v2/keys")).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "RS256"]);
    for key in &keys {
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], thumbprint(key), "{key}");
        // Only public members are published.
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
    }
    let ec = keys.iter().find(|k| k["alg"] == "ES256").unwrap();
    assert_eq!(
        (ec["kty"].as_str(), ec["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    let rsa = keys.iter().find(|k| k["alg"] == "RS256").unwrap();
    let n = URL_SAFE_NO_PAD.decode(rsa["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len() * 8, 2048);

    // Another node on the same database, and this one restarted, publish the same keys.
    let other = app.spawn_on(|_| {}).await;
    assert_eq!(jwks(&other.http, other.url("/oauth/v2/keys")).await, keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_at_once_on_a_database_without_keys_agree_on_one_key_per_algorithm() {
    let app = TestApp::spawn().await;
    // As if no node had started yet.
    app.execute("DELETE FROM signing_keys").await;
    let (a, b) = tokio::join!(
        Node::start(&app.database_url, &[]),
        Node::start(&app.database_url, &[])
    );
    let http = reqwest::Client::new();
    let on_a = jwks(&http, a.url("/oauth/v2/keys")).await;
    assert_eq!(on_a.len(), 2, "{on_a:?}");
    assert_eq!(jwks(&http, b.url("/oauth/v2/keys")).await, on_a);
    assert_eq!(app.count_rows("signing_keys").await, 2);
}

#[tokio::test]
async fn keys_rotate_publishes_new_keys_first_and_the_old_ones_until_their_tokens_expire() {
    let app = TestApp::spawn().await;
    let before = kids(&jwks(&app.http, app.url("/oauth/v2/keys")).await);

    let out = harmony(&app.database_url)
        .args(["--json", "keys", "rotate"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_es = printed["rotated"]["ES256"].as_str().unwrap().to_owned();
    let new_rs = printed["rotated"]["RS256"].as_str().unwrap().to_owned();

    let after = jwks(&app.http, app.url("/oauth/v2/keys")).await;
    let after_kids = kids(&after);
    assert_eq!(after.len(), 4, "{after:?}");
    // The new keys come first (they sign now); the old ones are still there.
    let mut current = after_kids[..2].to_vec();
    current.sort();
    let mut expected = vec![new_es, new_rs];
    expected.sort();
    assert_eq!(current, expected);
    for old in &before {
        assert!(
            after_kids[2..].contains(old),
            "{old} left the JWKS too early"
        );
    }

    // Once every token the old keys signed has expired (access tokens live an hour), they
    // are no longer published.
    let moved = app
        .execute(
            "UPDATE signing_keys SET retired_at = retired_at - 3601 WHERE retired_at IS NOT NULL",
        )
        .await;
    assert_eq!(moved, 2);
    let later = kids(&jwks(&app.http, app.url("/oauth/v2/keys")).await);
    assert_eq!(later, after_kids[..2].to_vec());
}
