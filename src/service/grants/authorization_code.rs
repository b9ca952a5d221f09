//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636), the way
//! third-party applications get tokens: the code the authorization endpoint issued is
//! exchanged once, by the client it was issued to, with the redirect URI it was issued
//! for and the verifier whose S256 digest was the challenge. A code presented a second
//! time revokes every token it issued (RFC 6749 §4.1.2, RFC 9700 §4.5).

use super::{Binding, GrantError, IdTokenContext, Issue, IssuedTokens, TokenRequest, id_token};
use crate::domain::GrantType;
use crate::domain::pkce::{s256_matches, valid_verifier};
use crate::service::Services;
use crate::store::{Client, StoreError, now};

/// code given? → known? → unused (else revoke what it issued)? → alive? → this client's?
/// → same redirect URI? → PKCE verifier matches? → user enabled? → redeem (CAS) → issue.
pub async fn grant(
    services: &Services,
    client: &Client,
    request: &TokenRequest,
    issuer: &str,
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
    let Some(stored) = services.store().authorization_code(&digest).await? else {
        return Err(invalid());
    };
    let now = now();
    if stored.used_at.is_some() {
        services
            .store()
            .revoke_family(stored.family_id, now)
            .await?;
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
    if stored.redirect_uri.as_str() != redirect_uri {
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
    let user = match services.store().user_by_id(stored.user_id).await {
        Ok(user) if !user.disabled => user,
        Ok(_) => return Err(GrantError::InvalidGrant("this account is disabled".into())),
        Err(StoreError::NotFound) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };

    let with_refresh = client.grant_types.contains(&GrantType::RefreshToken);
    let (rows, access, refresh) = Issue {
        client_id: &client.id,
        user_id: Some(stored.user_id),
        grant_type: GrantType::AuthorizationCode,
        scope: stored.scope,
        refresh_scope: with_refresh.then_some(stored.scope),
        family_id: stored.family_id,
        began_with: Some(GrantType::AuthorizationCode),
        now,
        binding: Binding::fresh(client, request),
    }
    .build(services.oauth());
    // Signed before the code is redeemed: a signing failure leaves the code unused.
    let context = IdTokenContext {
        issuer,
        client_id: &client.id,
        alg: client.id_token_alg,
        access_token: &access,
        now,
        auth_time: stored.auth_time,
        nonce: stored.nonce.clone(),
    };
    let id_token = id_token(services, &user, stored.scope, context).await?;
    if !services.store().redeem_code(&digest, now, &rows).await? {
        services
            .store()
            .revoke_family(stored.family_id, now)
            .await?;
        tracing::warn!(family = %stored.family_id, client = %client.id,
            "authorization code used twice at once; the tokens it issued are revoked");
        return Err(replayed());
    }
    Ok(IssuedTokens {
        access_token: access,
        expires_in: services.oauth().access_token_ttl,
        // Always the granted scope as a string: certified OpenID Connect clients refuse
        // `"scope": null`, and this grant has no documented answer to keep.
        scope: Some(stored.scope.to_string()),
        dpop: rows.jkt.is_some(),
        refresh_token: refresh,
        id_token,
    })
}

fn replayed() -> GrantError {
    GrantError::InvalidGrant(
        "the authorization code was already used; the tokens it issued are now revoked".into(),
    )
}
