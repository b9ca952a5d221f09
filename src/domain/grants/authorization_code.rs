//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636), the way
//! third-party applications get tokens: the code the authorization endpoint issued is
//! exchanged once, by the client it was issued to, with the redirect URI it was issued
//! for and the verifier whose S256 digest was the challenge. A code presented a second
//! time revokes every token it issued (RFC 6749 §4.1.2, RFC 9700 §4.5).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::{GrantContext, GrantError, GrantType, Issue, IssuedTokens, TokenRequest};
use crate::store::{Client, StoreError, now};

/// Lifetime of an authorization code, in seconds (RFC 6749 §4.1.2 recommends ≤ 10 min).
pub const CODE_TTL: i64 = 60;

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

/// code given? → known? → unused (else revoke what it issued)? → alive? → this client's?
/// → same redirect URI? → PKCE verifier matches? → user enabled? → redeem (CAS) → issue.
pub async fn grant(
    ctx: GrantContext<'_>,
    client: &Client,
    request: &TokenRequest,
) -> Result<IssuedTokens, GrantError> {
    let (Some(code), Some(redirect_uri), Some(verifier)) =
        (&request.code, &request.redirect_uri, &request.code_verifier)
    else {
        return Err(GrantError::InvalidRequest(
            "the authorization_code grant needs code, redirect_uri and code_verifier".into(),
        ));
    };
    if request.scope.is_some() {
        return Err(GrantError::InvalidRequest(
            "the scope of a code is chosen at the authorization endpoint".into(),
        ));
    }
    let invalid = || GrantError::InvalidGrant("the authorization code is invalid".into());
    let digest = code.digest();
    let Some(stored) = ctx.store.authorization_code(&digest).await? else {
        return Err(invalid());
    };
    let now = now();
    if stored.used_at.is_some() {
        ctx.store.revoke_family(stored.family_id, now).await?;
        tracing::warn!(family = %stored.family_id, client = %client.id,
            "authorization code replayed; the tokens it issued are revoked");
        return Err(replayed());
    }
    if stored.expires_at <= now {
        return Err(GrantError::InvalidGrant(
            "the authorization code expired".into(),
        ));
    }
    if stored.client_id != client.id {
        return Err(invalid());
    }
    if stored.redirect_uri != *redirect_uri {
        return Err(GrantError::InvalidGrant(
            "redirect_uri differs from the authorization request's".into(),
        ));
    }
    if !valid_verifier(verifier.expose())
        || !s256_matches(verifier.expose(), &stored.code_challenge)
    {
        return Err(GrantError::InvalidGrant(
            "the code_verifier does not match the code_challenge".into(),
        ));
    }
    match ctx.store.user_by_id(stored.user_id).await {
        Ok(user) if !user.disabled => {}
        Ok(_) => return Err(GrantError::InvalidGrant("this account is disabled".into())),
        Err(StoreError::NotFound) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    }

    let with_refresh = client.grant_types.contains(&GrantType::RefreshToken);
    let (rows, access, refresh) = Issue {
        client_id: &client.id,
        user_id: Some(stored.user_id),
        grant_type: GrantType::AuthorizationCode,
        scope: stored.scope,
        refresh_scope: with_refresh.then_some(stored.scope),
        family_id: stored.family_id,
        now,
    }
    .build(ctx.oauth);
    if !ctx.store.redeem_code(&digest, now, &rows).await? {
        ctx.store.revoke_family(stored.family_id, now).await?;
        tracing::warn!(family = %stored.family_id, client = %client.id,
            "authorization code used twice at once; the tokens it issued are revoked");
        return Err(replayed());
    }
    Ok(IssuedTokens {
        access_token: access,
        expires_in: ctx.oauth.access_token_ttl,
        scope: stored.scope_named.then(|| stored.scope.to_string()),
        refresh_token: refresh,
    })
}

fn replayed() -> GrantError {
    GrantError::InvalidGrant(
        "the authorization code was already used; the tokens it issued are now revoked".into(),
    )
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
