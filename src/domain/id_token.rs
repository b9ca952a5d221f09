//! OpenID Connect ID tokens and userinfo (OpenID Connect Core 1.0 §2, §5.1, §5.4): which
//! claims a scope releases, the ID token's claims, and `at_hash`. Signing is the keys
//! service's (`service::keys`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::user::{DisplayName, Email, Username};
use super::{Scope, ScopeSet};

/// What a user's claims are made of.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// The stable user id (`sub`): never reassigned, unlike a username.
    pub id: Uuid,
    /// `preferred_username`.
    pub username: &'a Username,
    /// `name`, when the account has a display name.
    pub name: Option<&'a DisplayName>,
    /// `email`.
    pub email: &'a Email,
}

/// The claims about the user that `scope` releases: `sub` always, `name` and
/// `preferred_username` with `profile`, `email` and `email_verified` with `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserClaims {
    /// Subject: the stable user id.
    pub sub: String,
    /// Display name (scope `profile`; absent when the account has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Username (scope `profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Email address (scope `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Always `false` with `email`: this server never verifies an address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl UserClaims {
    /// The names of every claim about the user, for the discovery document.
    pub const NAMES: [&'static str; 5] = [
        "sub",
        "name",
        "preferred_username",
        "email",
        "email_verified",
    ];

    /// The claims `scope` releases about `person`.
    pub fn of(person: Person<'_>, scope: ScopeSet) -> UserClaims {
        let profile = scope.contains(Scope::Profile);
        let email = scope.contains(Scope::Email);
        UserClaims {
            sub: person.id.to_string(),
            name: person
                .name
                .filter(|_| profile)
                .map(|n| n.as_str().to_owned()),
            preferred_username: profile.then(|| person.username.as_str().to_owned()),
            email: email.then(|| person.email.as_str().to_owned()),
            email_verified: email.then_some(false),
        }
    }
}

/// An ID token's claims (OpenID Connect Core §2, §3.1.3.6).
#[derive(Debug, Clone, Serialize)]
pub struct IdTokenClaims {
    /// Issuer: this server's public URL.
    pub iss: String,
    /// Audience: the client id.
    pub aud: String,
    /// Expiry (seconds since the epoch): that of the access token it comes with.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// When the user signed in (absent on refreshed tokens and on codes issued before it
    /// was recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The authorization request's `nonce` (never on a refreshed token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Half of the access token's SHA-256 ([`at_hash`]).
    pub at_hash: String,
    /// `sub` and the claims of the granted scope.
    #[serde(flatten)]
    pub user: UserClaims,
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): base64url of the left half of the SHA-256 of
/// the access token's ASCII text, SHA-256 being the hash of ES256 and RS256 alike.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256() {
        // Expected value computed apart, with Python's hashlib and base64:
        // urlsafe_b64encode(sha256(token).digest()[:16]) without padding.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNbmy7d0V8XhDGV4Gy_I"),
            "C6pWy6_dZ8ezZlkzbkTR9w"
        );
    }

    #[test]
    fn claims_follow_the_scope() {
        let username = Username::parse("alice").unwrap();
        let email = Email::parse("alice@example.com").unwrap();
        let person = Person {
            id: Uuid::nil(),
            username: &username,
            name: None,
            email: &email,
        };
        let only_openid = UserClaims::of(person, ScopeSet::parse("openid").unwrap());
        assert_eq!(
            serde_json::to_value(&only_openid).unwrap(),
            serde_json::json!({"sub": Uuid::nil().to_string()})
        );
        let all = UserClaims::of(person, ScopeSet::parse("openid profile email").unwrap());
        assert_eq!(all.preferred_username.as_deref(), Some("alice"));
        assert_eq!(all.email.as_deref(), Some("alice@example.com"));
        assert_eq!(all.email_verified, Some(false));
        assert_eq!(all.name, None);
    }
}
