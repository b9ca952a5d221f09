//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): every use returns a new refresh token and retires the old one
//! atomically; presenting a retired one again revokes the whole family — every token
//! descended from the same original grant. Two concurrent uses are indistinguishable from
//! a stolen token racing its owner, so the loser's use counts as a replay too — unless
//! the same client presents it again within the grace window
//! (`HARMONY_REFRESH_REUSE_GRACE`), which rotates it again, a few times at most.
//!
//! The decision is the domain's ([`crate::domain::refresh::decide`]); the store runs it
//! inside its exchange ([`Store::exchange_refresh_token`]), against the token as the
//! exchange reads it, so that reading, deciding and writing are one atomic step.
//!
//! [`Store::exchange_refresh_token`]: crate::store::Store::exchange_refresh_token

use std::sync::Arc;

use super::{
    AuthenticatedClient, Binding, GrantError, IdTokenContext, Issue, IssuedTokens, TokenRequest,
    id_token,
};
use crate::config::OAuthConfig;
use crate::domain::jose::SigningAlg;
use crate::domain::refresh::{
    Grace, RefreshRefusal, RefreshUser, RefreshVerdict, StoredRefresh, decide,
};
use crate::domain::secret::{ACCESS_PREFIX, REFRESH_PREFIX};
use crate::domain::{GrantType, PlainSecret, Scope, ScopeSet, TokenDigest};
use crate::service::Services;
use crate::store::{ExchangeOutcome, RefreshDecision, RefreshTokenInfo, Timestamp, now};

/// refresh_token given? → replacements generated → the store's exchange, deciding with
/// [`decide`] → tokens in the same family, or why not.
pub async fn grant(
    services: &Services,
    authenticated: &AuthenticatedClient,
    request: &TokenRequest,
    issuer: &str,
) -> Result<IssuedTokens, GrantError> {
    let Some(presented) = &request.refresh_token else {
        return Err(GrantError::InvalidRequest(
            "the refresh_token grant needs refresh_token".into(),
        ));
    };
    // The replacements are generated up front: the exchange stores only their digests.
    let [access, refresh] = PlainSecret::generate_tokens([ACCESS_PREFIX, REFRESH_PREFIX]);
    let oauth = services.oauth();
    let rules = Arc::new(Rules {
        dpop_jkt: request.dpop_jkt.clone(),
        client_id: authenticated.client.id.clone(),
        scope: request.scope.clone(),
        now: now(),
        oauth: oauth.clone(),
        access: access.digest(),
        refresh: refresh.digest(),
    });
    let decider = Arc::clone(&rules);
    let exchange = services
        .store()
        .exchange_refresh_token(
            &presented.digest(),
            rules.now,
            Arc::new(move |old| decider.decision(old)),
        )
        .await?;

    // A grant begun at the authorization endpoint always answers its scope (as the code
    // exchange does); the password grant's refreshes keep the documented `null` when the
    // request named none.
    let began_at_authorization = exchange
        .found
        .as_ref()
        .is_some_and(|old| old.began_with == Some(GrantType::AuthorizationCode));
    let answer_scope = |scope: ScopeSet| {
        (request.scope.is_some() || began_at_authorization).then(|| scope.to_string())
    };
    let with_id_token = |scope| Refreshed {
        services,
        issuer,
        found: exchange.found.as_ref(),
        client_id: &rules.client_id,
        alg: authenticated.client.id_token_alg,
        access: &access,
        now: rules.now,
        scope,
    };
    match (exchange.outcome, rules.verdict(exchange.found.as_ref())) {
        (ExchangeOutcome::Rotated, RefreshVerdict::Rotate(scope)) => Ok(IssuedTokens {
            dpop: rules.dpop_jkt.is_some(),
            id_token: with_id_token(scope).id_token().await?,
            access_token: access,
            expires_in: oauth.access_token_ttl,
            scope: answer_scope(scope),
            refresh_token: Some(refresh),
        }),
        (ExchangeOutcome::Rotated, RefreshVerdict::RotateAgain(scope)) => {
            if let Some(old) = &exchange.found {
                tracing::info!(family = %old.family_id, client = %rules.client_id,
                    uses = old.grace_uses + 1,
                    "a rotated refresh token presented again within the grace window");
            }
            Ok(IssuedTokens {
                dpop: rules.dpop_jkt.is_some(),
                id_token: with_id_token(scope).id_token().await?,
                access_token: access,
                expires_in: oauth.access_token_ttl,
                scope: answer_scope(scope),
                refresh_token: Some(refresh),
            })
        }
        (ExchangeOutcome::FamilyRevoked, _) => {
            if let Some(old) = &exchange.found {
                tracing::warn!(family = %old.family_id, client = %rules.client_id,
                    "refresh token replayed (or used twice at once); its grant is revoked");
            }
            Err(replayed())
        }
        (_, RefreshVerdict::Refuse(refusal)) => Err(refused(refusal)),
        // The store refused what the rules allow (or the reverse): not a state the rules
        // can produce, so refuse without detail.
        _ => Err(invalid()),
    }
}

/// A rotation's answer, for its ID token.
struct Refreshed<'a> {
    services: &'a Services,
    issuer: &'a str,
    found: Option<&'a RefreshTokenInfo>,
    client_id: &'a str,
    alg: SigningAlg,
    access: &'a PlainSecret,
    now: Timestamp,
    scope: ScopeSet,
}

impl Refreshed<'_> {
    /// A fresh ID token for a grant with `openid` (OpenID Connect Core §12.2): no nonce,
    /// and no auth_time, which the refresh token does not carry.
    async fn id_token(self) -> Result<Option<String>, GrantError> {
        let Some(user_id) = self.found.and_then(|old| old.user_id) else {
            return Ok(None);
        };
        if !self.scope.contains(Scope::Openid) {
            return Ok(None);
        }
        let user = self.services.store().user_by_id(user_id).await?;
        let context = IdTokenContext {
            issuer: self.issuer,
            client_id: self.client_id,
            alg: self.alg,
            access_token: self.access,
            now: self.now,
            auth_time: None,
            nonce: None,
        };
        id_token(self.services, &user, self.scope, context).await
    }
}

/// Everything the decision needs, owned, so that the store can run it in its transaction.
struct Rules {
    /// The key of the request's DPoP proof: the new access token's, and what a bound
    /// refresh token must be presented with.
    dpop_jkt: Option<String>,
    client_id: String,
    scope: Option<String>,
    now: Timestamp,
    oauth: OAuthConfig,
    access: TokenDigest,
    refresh: TokenDigest,
}

impl Rules {
    /// The domain's verdict on the stored token.
    fn verdict(&self, old: Option<&RefreshTokenInfo>) -> RefreshVerdict {
        // A bound token of this client without a proof of its key is refused before
        // anything else, changing nothing: it may be a stolen copy.
        if let Some(t) = old
            && t.client_id == self.client_id
            && t.jkt.is_some()
            && t.jkt != self.dpop_jkt
        {
            return RefreshVerdict::Refuse(RefreshRefusal::KeyMismatch);
        }
        let stored = old.map(|t| StoredRefresh {
            client_id: &t.client_id,
            scope: t.scope,
            expires_at: t.expires_at,
            used_at: t.used_at,
            grace_uses: t.grace_uses,
            revoked: t.revoked_at.is_some(),
            user: match (t.user_id, t.user_disabled) {
                (None, _) => RefreshUser::None,
                (Some(_), Some(false)) => RefreshUser::Enabled,
                (Some(_), Some(true)) => RefreshUser::Disabled,
                (Some(_), None) => RefreshUser::Gone,
            },
        });
        decide(
            stored.as_ref(),
            &self.client_id,
            self.scope.as_deref(),
            self.now,
            Grace::seconds(self.oauth.refresh_reuse_grace),
        )
    }

    /// The verdict as the store applies it: with the rows of the replacements.
    fn decision(&self, old: Option<&RefreshTokenInfo>) -> RefreshDecision {
        let rows = |scope, old: &RefreshTokenInfo| {
            Box::new(
                Issue {
                    client_id: &self.client_id,
                    user_id: old.user_id,
                    grant_type: GrantType::RefreshToken,
                    scope,
                    // RFC 6749 §6: the new refresh token keeps the scope of the one it
                    // replaces.
                    refresh_scope: Some(old.scope),
                    family_id: old.family_id,
                    began_with: old.began_with,
                    now: self.now,
                    // The access token to the proof's key; the refresh token keeps the
                    // binding it had (a public client's key, or none).
                    binding: Binding {
                        access: self.dpop_jkt.clone(),
                        refresh: old.jkt.clone(),
                    },
                }
                .rows(&self.oauth, self.access, Some(self.refresh)),
            )
        };
        match (self.verdict(old), old) {
            (RefreshVerdict::Rotate(scope), Some(old)) => RefreshDecision::Rotate(rows(scope, old)),
            (RefreshVerdict::RotateAgain(scope), Some(old)) => {
                RefreshDecision::RotateAgain(rows(scope, old))
            }
            (RefreshVerdict::RevokeFamily, _) => RefreshDecision::RevokeFamily,
            _ => RefreshDecision::Refuse,
        }
    }
}

fn refused(refusal: RefreshRefusal) -> GrantError {
    match refusal {
        RefreshRefusal::Invalid => invalid(),
        RefreshRefusal::AccountDisabled => {
            GrantError::InvalidGrant("this account is disabled".into())
        }
        RefreshRefusal::Scope(e) => e.into(),
        RefreshRefusal::KeyMismatch => GrantError::InvalidGrant(
            "the refresh token is bound to a DPoP key: send a DPoP proof made with that key".into(),
        ),
    }
}

fn invalid() -> GrantError {
    GrantError::InvalidGrant("the refresh token is invalid".into())
}

fn replayed() -> GrantError {
    GrantError::InvalidGrant(
        "the refresh token was already used; every token of its grant is now revoked".into(),
    )
}
