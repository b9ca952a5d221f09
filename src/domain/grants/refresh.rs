//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): every use returns a new refresh token and retires the old one in
//! one compare-and-swap; presenting a retired one again revokes the whole family — every
//! token descended from the same original grant. Two concurrent uses are indistinguishable
//! from a stolen token racing its owner, so the loser's use counts as a replay too.

use super::{
    AuthenticatedClient, GrantContext, GrantError, GrantType, Issue, IssuedTokens, TokenRequest,
};
use crate::store::now;

/// known? → this client's? → unused (else revoke family)? → alive? → scope narrower or
/// equal? → user enabled? → rotate (CAS) → issue in the same family.
pub async fn grant(
    ctx: GrantContext<'_>,
    authenticated: &AuthenticatedClient,
    request: &TokenRequest,
) -> Result<IssuedTokens, GrantError> {
    let client = &authenticated.client;
    let Some(presented) = &request.refresh_token else {
        return Err(GrantError::InvalidRequest(
            "the refresh_token grant needs refresh_token".into(),
        ));
    };
    let invalid = || GrantError::InvalidGrant("the refresh token is invalid".into());
    let Some(old) = ctx.store.refresh_token(&presented.digest()).await? else {
        return Err(invalid());
    };
    if old.client_id != client.id {
        return Err(invalid());
    }
    let now = now();
    if old.used_at.is_some() {
        ctx.store.revoke_family(old.family_id, now).await?;
        tracing::warn!(family = %old.family_id, client = %client.id,
            "refresh token replayed; its grant is revoked");
        return Err(replayed());
    }
    if old.revoked_at.is_some() || old.expires_at <= now {
        return Err(invalid());
    }

    let scope = super::requested_scope(request.scope.as_deref(), old.scope, old.scope)?;
    if old.user_id.is_some() {
        match old.user_disabled {
            Some(false) => {}
            Some(true) => return Err(GrantError::InvalidGrant("this account is disabled".into())),
            None => return Err(invalid()),
        }
    }

    let (rows, access, refresh) = Issue {
        client_id: &client.id,
        user_id: old.user_id,
        grant_type: GrantType::RefreshToken,
        scope,
        // RFC 6749 §6: the new refresh token keeps the scope of the one it replaces.
        refresh_scope: Some(old.scope),
        family_id: old.family_id,
        now,
    }
    .build(ctx.oauth);
    if !ctx.store.rotate_refresh_token(old.id, now, &rows).await? {
        ctx.store.revoke_family(old.family_id, now).await?;
        tracing::warn!(family = %old.family_id, client = %client.id,
            "refresh token used twice at once; its grant is revoked");
        return Err(replayed());
    }
    Ok(IssuedTokens {
        access_token: access,
        expires_in: ctx.oauth.access_token_ttl,
        scope: request.scope.as_ref().map(|_| scope.to_string()),
        refresh_token: refresh,
    })
}

fn replayed() -> GrantError {
    GrantError::InvalidGrant(
        "the refresh token was already used; every token of its grant is now revoked".into(),
    )
}
