//! DPoP (RFC 9449): proofs at the token endpoint, tokens bound to the proof's key, the
//! resource endpoints' `DPoP` scheme, every refusal (another method or URL, a replayed
//! `jti`, an old `iat`, a wrong `ath`, a bound token sent as `Bearer`, a wrong key on
//! refresh), and server nonces. Proofs are made here with `jsonwebtoken` and keys from
//! `ring` (P-256, Ed25519) and `rsa` — the crates the server itself signs with.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Response, StatusCode};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::browser::{Pkce, REDIRECT, code_client, obtain_code};
use crate::helpers::{Account, TestApp, error_code, header, oauth_error};

/// A client's DPoP key pair.
pub struct DpopKey {
    alg: Algorithm,
    private: EncodingKey,
    jwk: Value,
}

/// What a proof says, beyond its key.
#[derive(Clone, Copy)]
pub struct Claims<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub access_token: Option<&'a str>,
    pub nonce: Option<&'a str>,
    /// Seconds added to the current time for `iat`.
    pub iat_offset: i64,
    pub jti: Option<&'a str>,
}

impl<'a> Claims<'a> {
    pub fn new(method: &'a str, url: &'a str) -> Claims<'a> {
        Claims {
            method,
            url,
            access_token: None,
            nonce: None,
            iat_offset: 0,
            jti: None,
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl DpopKey {
    /// A P-256 key (ES256).
    pub fn es256() -> DpopKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        DpopKey {
            alg: Algorithm::ES256,
            private: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])}),
        }
    }

    /// An Ed25519 key (EdDSA).
    pub fn ed25519() -> DpopKey {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        // ring writes PKCS#8 v2 (with the public key); the signer reads v1: the same
        // 32-byte seed (bytes 16..48 of ring's document) after the v1 prefix.
        let mut v1 = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        v1.extend_from_slice(&pkcs8.as_ref()[16..48]);
        DpopKey {
            alg: Algorithm::EdDSA,
            private: EncodingKey::from_ed_der(&v1),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())}),
        }
    }

    /// A 2048-bit RSA key (RS256).
    pub fn rs256() -> DpopKey {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
        let key = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
        // jsonwebtoken signs RS256 with a PKCS#1 key.
        let der = key.to_pkcs1_der().unwrap();
        DpopKey {
            alg: Algorithm::RS256,
            private: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({
                "kty": "RSA",
                "n": b64(&key.n().to_be_bytes_trimmed_vartime()),
                "e": b64(&key.e().to_be_bytes_trimmed_vartime()),
            }),
        }
    }

    /// The RFC 7638 thumbprint the server binds tokens to.
    pub fn thumbprint(&self) -> String {
        let canonical = match self.jwk["kty"].as_str().unwrap() {
            "EC" => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                self.jwk["x"].as_str().unwrap(),
                self.jwk["y"].as_str().unwrap()
            ),
            "OKP" => format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                self.jwk["x"].as_str().unwrap()
            ),
            _ => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                self.jwk["e"].as_str().unwrap(),
                self.jwk["n"].as_str().unwrap()
            ),
        };
        b64(&Sha256::digest(canonical.as_bytes()))
    }

    /// A proof with this key's public JWK in its header.
    pub fn proof(&self, claims: Claims<'_>) -> String {
        self.proof_with_jwk(claims, self.jwk.clone())
    }

    /// A proof whose header carries `jwk` (to test what the server accepts as a key).
    pub fn proof_with_jwk(&self, claims: Claims<'_>, jwk: Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        let mut header = serde_json::to_value(header).unwrap();
        header["jwk"] = jwk;
        let mut body = json!({
            "jti": claims.jti.map(str::to_owned).unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            "htm": claims.method,
            "htu": claims.url,
            "iat": harmony::store::now() + claims.iat_offset,
        });
        if let Some(token) = claims.access_token {
            body["ath"] = json!(b64(&Sha256::digest(token.as_bytes())));
        }
        if let Some(nonce) = claims.nonce {
            body["nonce"] = json!(nonce);
        }
        sign(&header, &body, &self.private, self.alg)
    }
}

/// A compact JWS of `header` and `body` (`jsonwebtoken` signs; the header is ours, so that
/// a test can put anything in it).
fn sign(header: &Value, body: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(body.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{signature}")
}

impl TestApp {
    /// `POST /oauth/v2/token` with a form and a `DPoP` header.
    pub async fn post_token_dpop(&self, form: &[(&str, &str)], proof: &str) -> Response {
        self.http
            .post(self.url("/oauth/v2/token"))
            .header("DPoP", proof)
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// A password grant for `account` with a proof of `key`.
    pub async fn dpop_password_grant(&self, account: &Account, key: &DpopKey) -> Response {
        let url = self.url("/oauth/v2/token");
        let proof = key.proof(Claims::new("POST", &url));
        self.post_token_dpop(&password_form(account), &proof).await
    }

    /// `GET path` with `Authorization: DPoP T` and `proof` (if any).
    pub async fn get_dpop(&self, path: &str, token: &str, proof: Option<&str>) -> Response {
        let mut request = self
            .http
            .get(self.url(path))
            .header("Authorization", format!("DPoP {token}"));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.send().await.expect("request")
    }

    /// `GET /user` with a DPoP-bound token and a fresh proof of `key` for it.
    pub async fn get_user_dpop(&self, token: &str, key: &DpopKey) -> Response {
        let url = self.url("/user");
        let proof = key.proof(Claims {
            access_token: Some(token),
            ..Claims::new("GET", &url)
        });
        self.get_dpop("/user", token, Some(&proof)).await
    }
}

fn password_form(account: &Account) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "password"),
        ("username", account.user.username.as_str()),
        ("password", account.password.as_str()),
        ("client_id", account.client_id.as_str()),
        ("client_secret", account.client_secret.as_str()),
    ]
}

async fn tokens(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn text<'a>(body: &'a Value, key: &str) -> &'a str {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {body}"))
}

#[tokio::test]
async fn a_proof_at_the_token_endpoint_binds_the_token_to_its_key_for_every_algorithm() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    for key in [DpopKey::es256(), DpopKey::ed25519(), DpopKey::rs256()] {
        let body = tokens(app.dpop_password_grant(&alice, &key).await).await;
        assert_eq!(body["token_type"], "DPoP", "{body}");
        let access = text(&body, "access_token");

        let me = app.get_user_dpop(access, &key).await;
        assert_eq!(me.status(), StatusCode::OK);
        let me: Value = me.json().await.unwrap();
        assert_eq!(me["username"], "alice");

        // Introspection shows the binding (RFC 9449 §6.2).
        let response = app
            .http
            .post(app.url("/oauth/v2/introspect"))
            .basic_auth(&alice.client_id, Some(&alice.client_secret))
            .form(&[("token", access)])
            .send()
            .await
            .unwrap();
        let described: Value = response.json().await.unwrap();
        assert_eq!(described["active"], true);
        assert_eq!(described["token_type"], "DPoP");
        assert_eq!(described["cnf"]["jkt"], key.thumbprint());
    }
    // Without a proof, the same grant still issues a bearer token, described without cnf.
    let body = app.token_json(&alice).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(
        app.get_user(text(&body, "access_token")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_dpop_bound_token_sent_as_bearer_token_or_query_is_refused_with_a_dpop_challenge() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let key = DpopKey::es256();
    let body = tokens(app.dpop_password_grant(&alice, &key).await).await;
    let access = text(&body, "access_token");

    let requests = [
        app.http
            .get(app.url("/user"))
            .header("Authorization", format!("Bearer {access}")),
        app.http
            .get(app.url("/user"))
            .header("Authorization", format!("token {access}")),
        app.http
            .get(app.url("/user"))
            .query(&[("access_token", access)]),
        // A valid proof does not make the Bearer scheme acceptable either.
        app.http
            .get(app.url("/user"))
            .header("Authorization", format!("Bearer {access}"))
            .header(
                "DPoP",
                key.proof(Claims {
                    access_token: Some(access),
                    ..Claims::new("GET", &app.url("/user"))
                }),
            ),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = header(&response, "www-authenticate");
        assert!(challenge.starts_with("DPoP "), "{challenge}");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(
            challenge.contains("algs=\"ES256 EdDSA RS256\""),
            "{challenge}"
        );
        assert_eq!(error_code(response).await, "invalid_token");
    }
}

#[tokio::test]
async fn a_resource_refuses_proofs_for_another_method_url_token_key_or_time_and_replays() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let key = DpopKey::es256();
    let body = tokens(app.dpop_password_grant(&alice, &key).await).await;
    let access = text(&body, "access_token");
    let url = app.url("/user");
    let good = Claims {
        access_token: Some(access),
        ..Claims::new("GET", &url)
    };
    let other_url = app.url("/user/tokens");
    let other_token = "hat_not_this_token";
    let cases: Vec<(&str, String)> = vec![
        ("no proof", String::new()),
        (
            "another method",
            key.proof(Claims {
                method: "POST",
                ..good
            }),
        ),
        (
            "another URL",
            key.proof(Claims {
                url: &other_url,
                ..good
            }),
        ),
        (
            "a wrong ath",
            key.proof(Claims {
                access_token: Some(other_token),
                ..good
            }),
        ),
        (
            "no ath",
            key.proof(Claims {
                access_token: None,
                ..good
            }),
        ),
        (
            "an old iat",
            key.proof(Claims {
                iat_offset: -120,
                ..good
            }),
        ),
        (
            "an iat in the future",
            key.proof(Claims {
                iat_offset: 120,
                ..good
            }),
        ),
        ("another key", DpopKey::es256().proof(good)),
        ("garbage", "a.b.c".to_owned()),
    ];
    for (case, proof) in &cases {
        let proof = (!proof.is_empty()).then_some(proof.as_str());
        let response = app.get_dpop("/user", access, proof).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        let challenge = header(&response, "www-authenticate");
        assert!(challenge.starts_with("DPoP "), "{case}: {challenge}");
        assert_eq!(error_code(response).await, "invalid_token", "{case}");
    }

    // The query does not count in htu (RFC 9449 §4.3), and a proof works once.
    let proof = key.proof(good);
    let first = app.get_dpop("/user?x=1", access, Some(&proof)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let replayed = app.get_dpop("/user", access, Some(&proof)).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let replayed: Value = replayed.json().await.unwrap();
    assert!(
        replayed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{replayed}"
    );

    // A bearer token presented under the DPoP scheme is refused too.
    let bearer = app.access_token(&alice).await;
    let proof = key.proof(Claims {
        access_token: Some(&bearer),
        ..Claims::new("GET", &url)
    });
    let response = app.get_dpop("/user", &bearer, Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_endpoint_refuses_malformed_proofs_and_replays() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let key = DpopKey::es256();
    let url = app.url("/oauth/v2/token");
    let good = Claims::new("POST", &url);
    let mut private_jwk = key.jwk.clone();
    private_jwk["d"] = json!(b64(&[7; 32]));
    let hs256 = {
        let header =
            json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}});
        let body = json!({"jti": "x", "htm": "POST", "htu": url, "iat": harmony::store::now()});
        sign(
            &header,
            &body,
            &EncodingKey::from_secret(b"secret").unwrap(),
            Algorithm::HS256,
        )
    };
    let unsigned = {
        let header = json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk});
        let body = json!({"jti": "y", "htm": "POST", "htu": url, "iat": harmony::store::now()});
        format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(body.to_string().as_bytes())
        )
    };
    let wrong_typ = {
        let header = json!({"typ": "JWT", "alg": "ES256", "jwk": key.jwk});
        let body = json!({"jti": "z", "htm": "POST", "htu": url, "iat": harmony::store::now()});
        sign(&header, &body, &key.private, Algorithm::ES256)
    };
    let mismatched_key = DpopKey::es256().proof_with_jwk(good, key.jwk.clone());
    let cases = [
        (
            "a GET proof",
            key.proof(Claims {
                method: "GET",
                ..good
            }),
        ),
        (
            "another URL",
            key.proof(Claims {
                url: "https://elsewhere.example/oauth/v2/token",
                ..good
            }),
        ),
        (
            "an old iat",
            key.proof(Claims {
                iat_offset: -61,
                ..good
            }),
        ),
        ("a private jwk", key.proof_with_jwk(good, private_jwk)),
        ("a MAC", hs256),
        ("alg none", unsigned),
        ("typ JWT", wrong_typ),
        ("a signature by another key", mismatched_key),
        ("not a JWS", "not-a-proof".to_owned()),
    ];
    for (case, proof) in cases {
        let response = app.post_token_dpop(&password_form(&alice), &proof).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert_eq!(oauth_error(response).await, "invalid_dpop_proof", "{case}");
    }

    let proof = key.proof(good);
    let first = app.post_token_dpop(&password_form(&alice), &proof).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = app.post_token_dpop(&password_form(&alice), &proof).await;
    assert_eq!(oauth_error(again).await, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_proof_used_on_one_node_is_refused_on_another() {
    let app = TestApp::spawn().await;
    let other = app.spawn_on(|_| {}).await;
    let alice = app.account("alice").await;
    let key = DpopKey::es256();
    // Each node checks htu against its own public URL.
    let proof = key.proof(Claims::new("POST", &app.url("/oauth/v2/token")));
    let first = app.post_token_dpop(&password_form(&alice), &proof).await;
    assert_eq!(first.status(), StatusCode::OK);
    let replay_url = other.url("/oauth/v2/token");
    let jti = "shared-jti";
    let on_first = key.proof(Claims {
        jti: Some(jti),
        ..Claims::new("POST", &app.url("/oauth/v2/token"))
    });
    let on_other = key.proof(Claims {
        jti: Some(jti),
        ..Claims::new("POST", &replay_url)
    });
    let used = app.post_token_dpop(&password_form(&alice), &on_first).await;
    assert_eq!(used.status(), StatusCode::OK);
    let replayed = other
        .post_token_dpop(&password_form(&alice), &on_other)
        .await;
    assert_eq!(oauth_error(replayed).await, "invalid_dpop_proof");
}

/// A public client's code flow with DPoP: the refresh token is bound to the key too.
#[tokio::test]
async fn a_public_clients_refresh_token_needs_a_proof_of_its_key() {
    let app = TestApp::spawn().await;
    let bob = code_client(&app, "bob", true).await;
    let key = DpopKey::es256();
    let url = app.url("/oauth/v2/token");
    let pkce = Pkce::new();
    let code = obtain_code(&app, &bob, &pkce).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", pkce.verifier.as_str()),
        ("client_id", bob.client_id.as_str()),
    ];
    let body = tokens(
        app.post_token_dpop(&exchange, &key.proof(Claims::new("POST", &url)))
            .await,
    )
    .await;
    assert_eq!(body["token_type"], "DPoP");
    let refresh = text(&body, "refresh_token").to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", bob.client_id.as_str()),
    ];

    // Without a proof, or with another key's: refused, and the token is not used up.
    let bare = app.post_token(&form).await;
    assert_eq!(bare.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(bare).await, "invalid_grant");
    let thief = DpopKey::es256();
    let stolen = app
        .post_token_dpop(&form, &thief.proof(Claims::new("POST", &url)))
        .await;
    assert_eq!(oauth_error(stolen).await, "invalid_grant");

    let refreshed = tokens(
        app.post_token_dpop(&form, &key.proof(Claims::new("POST", &url)))
            .await,
    )
    .await;
    assert_eq!(refreshed["token_type"], "DPoP");
    let access = text(&refreshed, "access_token");
    assert_eq!(
        app.get_user_dpop(access, &key).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_user(access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A confidential client's refresh token stays bound to its credentials: a refresh without
/// a proof gets a bearer token, one with a proof a token bound to that proof's key.
#[tokio::test]
async fn a_confidential_clients_refresh_binds_the_new_token_to_the_proof_it_brings() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let key = DpopKey::es256();
    let body = tokens(app.dpop_password_grant(&alice, &key).await).await;
    let refreshed = tokens(app.refresh(&alice, text(&body, "refresh_token")).await).await;
    assert_eq!(refreshed["token_type"], "bearer");
    let url = app.url("/oauth/v2/token");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", text(&refreshed, "refresh_token")),
        ("client_id", alice.client_id.as_str()),
        ("client_secret", alice.client_secret.as_str()),
    ];
    let bound = tokens(
        app.post_token_dpop(&form, &key.proof(Claims::new("POST", &url)))
            .await,
    )
    .await;
    assert_eq!(bound["token_type"], "DPoP");
    assert_eq!(
        app.get_user_dpop(text(&bound, "access_token"), &key)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_nonces_required_a_proof_without_the_servers_nonce_is_told_to_use_one() {
    let app = TestApp::spawn_with(|c| c.oauth.dpop_nonce = true).await;
    let alice = app.account("alice").await;
    let key = DpopKey::es256();
    let url = app.url("/oauth/v2/token");

    let first = app.dpop_password_grant(&alice, &key).await;
    assert_eq!(first.status(), StatusCode::BAD_REQUEST);
    let nonce = header(&first, "dpop-nonce");
    assert!(!nonce.is_empty());
    assert_eq!(oauth_error(first).await, "use_dpop_nonce");

    let forged = key.proof(Claims {
        nonce: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ..Claims::new("POST", &url)
    });
    let forged = app.post_token_dpop(&password_form(&alice), &forged).await;
    assert_eq!(oauth_error(forged).await, "use_dpop_nonce");

    let proof = key.proof(Claims {
        nonce: Some(&nonce),
        ..Claims::new("POST", &url)
    });
    let issued = app.post_token_dpop(&password_form(&alice), &proof).await;
    assert_eq!(issued.status(), StatusCode::OK);
    // Every node accepts a nonce made by any other (one key in the database).
    let other = app.spawn_on(|c| c.oauth.dpop_nonce = true).await;
    let body: Value = issued.json().await.unwrap();
    let access = text(&body, "access_token");

    // At a resource: a 401 challenge with a nonce, then the retry with it works.
    let resource = app.url("/user");
    let without = key.proof(Claims {
        access_token: Some(access),
        ..Claims::new("GET", &resource)
    });
    let response = app.get_dpop("/user", access, Some(&without)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(&response, "www-authenticate");
    assert!(
        challenge.contains("error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    let nonce = header(&response, "dpop-nonce");
    assert_eq!(error_code(response).await, "use_dpop_nonce");
    let other_url = other.url("/user");
    let with = key.proof(Claims {
        access_token: Some(access),
        nonce: Some(&nonce),
        ..Claims::new("GET", &other_url)
    });
    assert_eq!(
        other.get_dpop("/user", access, Some(&with)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_proofs_leave_the_replay_cache_at_the_cleanup() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let key = DpopKey::es256();
    tokens(app.dpop_password_grant(&alice, &key).await).await;
    assert_eq!(app.count_rows("dpop_proofs").await, 1);
    app.execute("UPDATE dpop_proofs SET expires_at = 1").await;
    app.state.services.maintenance().purge().await;
    assert_eq!(app.count_rows("dpop_proofs").await, 0);
}

#[tokio::test]
async fn the_metadata_advertises_the_proof_algorithms() {
    let app = TestApp::spawn().await;
    let metadata: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256"])
    );
}

#[tokio::test]
async fn the_protected_resource_metadata_describes_the_api_and_401s_point_to_it() {
    let app = TestApp::spawn().await;
    let metadata: Value = app
        .get("/.well-known/oauth-protected-resource")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], app.base);
    assert_eq!(metadata["authorization_servers"], json!([app.base]));
    assert_eq!(
        metadata["bearer_methods_supported"],
        json!(["header", "query"])
    );
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256"])
    );
    let pointer = format!(
        "resource_metadata=\"{}\"",
        app.url("/.well-known/oauth-protected-resource")
    );

    // The Bearer challenge stays as documented; a DPoP challenge follows with the pointer.
    let anonymous = app.get("/user").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<&str> = anonymous
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(challenges[0], "Bearer realm=\"harmony\"");
    assert!(challenges[1].starts_with("DPoP algs="), "{challenges:?}");
    assert!(challenges[1].contains(&pointer), "{challenges:?}");

    let alice = app.account("alice").await;
    let key = DpopKey::es256();
    let body = tokens(app.dpop_password_grant(&alice, &key).await).await;
    let refused = app
        .get_dpop("/user", text(&body, "access_token"), None)
        .await;
    let challenge = header(&refused, "www-authenticate");
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(challenge.contains(&pointer), "{challenge}");
}
