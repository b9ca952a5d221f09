//! The resource owner password credentials grant (RFC 6749 §4.3): the documented
//! HarmonyCMS way to get a token for an account's own scripts.

use uuid::Uuid;

use super::{
    AuthenticatedClient, GrantContext, GrantError, GrantType, Issue, IssuedTokens, TokenRequest,
};
use crate::store::{StoreError, now};

/// find user → password ok? → enabled? → client may sign this user in? → scope ok? → issue.
pub async fn grant(
    ctx: GrantContext<'_>,
    authenticated: &AuthenticatedClient,
    request: &TokenRequest,
) -> Result<IssuedTokens, GrantError> {
    let client = &authenticated.client;
    let (Some(username), Some(password)) = (&request.username, &request.password) else {
        return Err(GrantError::InvalidRequest(
            "the password grant needs username and password".into(),
        ));
    };

    let credentials = match ctx.store.credentials_by_username(username).await {
        Ok(c) => Some(c),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.as_str());
    if !ctx.hasher.verify(password.expose(), stored_hash).await? {
        return Err(GrantError::InvalidCredentials);
    }
    let Some(user) = credentials.map(|c| c.user) else {
        return Err(GrantError::InvalidCredentials);
    };

    if user.disabled {
        return Err(GrantError::InvalidGrant("this account is disabled".into()));
    }
    if !client.trusted && client.owner_id != user.id {
        return Err(GrantError::UnauthorizedClient(
            "this client may sign in only its owner".into(),
        ));
    }

    let allowed = super::scopes_for_user(client, &user);
    let scope = super::requested_scope(request.scope.as_deref(), allowed, allowed)?;
    let with_refresh = client.grant_types.contains(&GrantType::RefreshToken);
    super::issue_new(
        ctx,
        Issue {
            client_id: &client.id,
            user_id: Some(user.id),
            grant_type: GrantType::Password,
            scope,
            refresh_scope: with_refresh.then_some(scope),
            family_id: Uuid::now_v7(),
            now: now(),
        },
        request.scope.as_deref(),
    )
    .await
}
