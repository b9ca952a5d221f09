//! The resource owner password credentials grant (RFC 6749 §4.3): the documented
//! HarmonyCMS way to get a token for an account's own scripts.

use std::net::IpAddr;

use uuid::Uuid;

use super::{
    AuthenticatedClient, Binding, GrantError, Issue, IssuedTokens, TokenRequest, issue_new,
};
use crate::domain::GrantType;
use crate::domain::scope::{requested_scope, scopes_for_user};
use crate::domain::user::Username;
use crate::service::Services;
use crate::store::{StoreError, now};

/// username and password given? → a slot of the failed-credentials limiter → check the
/// password (its slot given back unless it was wrong) → then the checklist below.
pub async fn grant(
    services: &Services,
    addr: IpAddr,
    authenticated: &AuthenticatedClient,
    request: &TokenRequest,
) -> Result<IssuedTokens, GrantError> {
    let (Some(username), Some(_)) = (&request.username, &request.password) else {
        return Err(GrantError::InvalidRequest(
            "the password grant needs username and password".into(),
        ));
    };
    // A slot before argon2 runs (see `service::limiter`), given back unless the password
    // was wrong.
    let store = services.store().as_ref();
    let limiter = services.limiter();
    let attempt = limiter.reserve_password(store, username, addr).await?;
    let outcome = checked(services, authenticated, request).await;
    let failed = matches!(outcome, Err(GrantError::InvalidCredentials));
    attempt.settle(limiter, store, failed).await;
    outcome
}

/// find user → password ok? → enabled? → client may sign this user in? → scope ok? → issue.
async fn checked(
    services: &Services,
    authenticated: &AuthenticatedClient,
    request: &TokenRequest,
) -> Result<IssuedTokens, GrantError> {
    let client = &authenticated.client;
    let (Some(username), Some(password)) = (&request.username, &request.password) else {
        return Err(GrantError::InvalidRequest(
            "the password grant needs username and password".into(),
        ));
    };

    // A text that is no username names no account: it is checked like an unknown one.
    let credentials = match Username::parse(username) {
        Ok(name) => match services.store().credentials_by_username(&name).await {
            Ok(c) => Some(c),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.as_str());
    if !services
        .hasher()
        .verify(password.expose(), stored_hash)
        .await?
    {
        return Err(GrantError::InvalidCredentials);
    }
    let Some(user) = credentials.map(|c| c.user) else {
        return Err(GrantError::InvalidCredentials);
    };

    if user.disabled {
        return Err(GrantError::InvalidGrant("this account is disabled".into()));
    }
    // An organization's client is no one's own: the member who registered it is signed in
    // by it no more than anyone else.
    if !client.trusted && (client.org.is_some() || client.owner_id != user.id) {
        return Err(GrantError::UnauthorizedClient(
            "this client may sign in only its owner".into(),
        ));
    }

    let allowed = scopes_for_user(client.scopes, user.is_admin);
    let scope = requested_scope(request.scope.as_deref(), allowed, allowed)?;
    let with_refresh = client.grant_types.contains(&GrantType::RefreshToken);
    issue_new(
        services,
        Issue {
            client_id: &client.id,
            user_id: Some(user.id),
            grant_type: GrantType::Password,
            scope,
            refresh_scope: with_refresh.then_some(scope),
            family_id: Uuid::now_v7(),
            began_with: Some(GrantType::Password),
            now: now(),
            binding: Binding::fresh(client, request),
        },
        request.scope.as_deref(),
    )
    .await
}
