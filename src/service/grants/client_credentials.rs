//! The client credentials grant (RFC 6749 §4.4): a token for the client alone. It carries
//! no user, so endpoints that act for a user refuse it, and it gets no refresh token.

use uuid::Uuid;

use super::{
    AuthenticatedClient, Binding, GrantError, Issue, IssuedTokens, TokenRequest, issue_new,
};
use crate::domain::scope::{requested_scope, scopes_for_user};
use crate::domain::{GrantType, Scope};
use crate::service::Services;
use crate::store::now;

/// confidential client? → owner enabled? → scope ok (admin only for an administrator's
/// client)? → issue.
pub async fn grant(
    services: &Services,
    authenticated: &AuthenticatedClient,
    request: &TokenRequest,
) -> Result<IssuedTokens, GrantError> {
    let AuthenticatedClient { client, owner } = authenticated;
    if client.secret_digest.is_none() {
        return Err(GrantError::UnauthorizedClient(
            "a public client cannot use client_credentials".into(),
        ));
    }
    // An organization's client does not depend on the account that registered it (and
    // never has the admin scope, so that account's rights do not matter either).
    if owner.disabled && client.org.is_none() {
        return Err(GrantError::InvalidClient);
    }
    let allowed = scopes_for_user(client.scopes, owner.is_admin);
    let default = allowed.without(Scope::Admin);
    let scope = requested_scope(request.scope.as_deref(), allowed, default)?;
    issue_new(
        services,
        Issue {
            client_id: &client.id,
            user_id: None,
            grant_type: GrantType::ClientCredentials,
            scope,
            refresh_scope: None,
            family_id: Uuid::now_v7(),
            began_with: Some(GrantType::ClientCredentials),
            now: now(),
            binding: Binding::fresh(client, request),
        },
        request.scope.as_deref(),
    )
    .await
}
