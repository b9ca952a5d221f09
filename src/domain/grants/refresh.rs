//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): every use returns a new refresh token and retires the old one
//! atomically; presenting a retired one again revokes the whole family — every token
//! descended from the same original grant. Two concurrent uses are indistinguishable from
//! a stolen token racing its owner, so the loser's use counts as a replay too.
//!
//! The checks run inside the store's exchange ([`Store::exchange_refresh_token`]), against
//! the token as the exchange reads it: reading, deciding and writing are one atomic step.
//!
//! [`Store::exchange_refresh_token`]: crate::store::Store::exchange_refresh_token

use std::sync::Arc;

use super::{
    ACCESS_PREFIX, AuthenticatedClient, GrantContext, GrantError, GrantType, Issue, IssuedTokens,
    REFRESH_PREFIX, TokenRequest,
};
use crate::config::OAuthConfig;
use crate::domain::{PlainSecret, ScopeSet, TokenDigest};
use crate::store::{ExchangeOutcome, RefreshDecision, RefreshTokenInfo, Timestamp, now};

/// known? → this client's? → unused (else revoke family)? → alive? → scope narrower or
/// equal? → user enabled? → rotate → issue in the same family.
pub async fn grant(
    ctx: GrantContext<'_>,
    authenticated: &AuthenticatedClient,
    request: &TokenRequest,
) -> Result<IssuedTokens, GrantError> {
    let Some(presented) = &request.refresh_token else {
        return Err(GrantError::InvalidRequest(
            "the refresh_token grant needs refresh_token".into(),
        ));
    };
    // The replacements are generated up front: the exchange stores only their digests.
    let access = PlainSecret::generate_token(ACCESS_PREFIX);
    let refresh = PlainSecret::generate_token(REFRESH_PREFIX);
    let rules = Arc::new(Rules {
        client_id: authenticated.client.id.clone(),
        scope: request.scope.clone(),
        now: now(),
        oauth: ctx.oauth.clone(),
        access: access.digest(),
        refresh: refresh.digest(),
    });
    let decider = Arc::clone(&rules);
    let exchange = ctx
        .store
        .exchange_refresh_token(
            &presented.digest(),
            rules.now,
            Arc::new(move |old| decider.decide(old)),
        )
        .await?;

    match (exchange.outcome, rules.verdict(exchange.found.as_ref())) {
        (ExchangeOutcome::Rotated, Verdict::Rotate(scope)) => Ok(IssuedTokens {
            access_token: access,
            expires_in: ctx.oauth.access_token_ttl,
            scope: request.scope.as_ref().map(|_| scope.to_string()),
            refresh_token: Some(refresh),
        }),
        (ExchangeOutcome::FamilyRevoked, _) => {
            if let Some(old) = &exchange.found {
                tracing::warn!(family = %old.family_id, client = %rules.client_id,
                    "refresh token replayed (or used twice at once); its grant is revoked");
            }
            Err(replayed())
        }
        (_, Verdict::Refuse(e)) => Err(e),
        // The store refused what the rules allow (or the reverse): not a state the rules
        // can produce, so refuse without detail.
        _ => Err(invalid()),
    }
}

/// Everything the checks need, owned, so that the store can run them in its transaction.
struct Rules {
    client_id: String,
    scope: Option<String>,
    now: Timestamp,
    oauth: OAuthConfig,
    access: TokenDigest,
    refresh: TokenDigest,
}

/// What the rules say about a stored refresh token.
enum Verdict {
    /// Rotate it, issuing tokens of this scope.
    Rotate(ScopeSet),
    /// It was already used: revoke its family.
    Replay,
    /// Refuse with this error.
    Refuse(GrantError),
}

impl Rules {
    fn verdict(&self, old: Option<&RefreshTokenInfo>) -> Verdict {
        let Some(old) = old else {
            return Verdict::Refuse(invalid());
        };
        if old.client_id != self.client_id {
            return Verdict::Refuse(invalid());
        }
        if old.used_at.is_some() {
            return Verdict::Replay;
        }
        if old.revoked_at.is_some() || old.expires_at <= self.now {
            return Verdict::Refuse(invalid());
        }
        let scope = match super::requested_scope(self.scope.as_deref(), old.scope, old.scope) {
            Ok(scope) => scope,
            Err(e) => return Verdict::Refuse(e),
        };
        if old.user_id.is_some() {
            match old.user_disabled {
                Some(false) => {}
                Some(true) => {
                    return Verdict::Refuse(GrantError::InvalidGrant(
                        "this account is disabled".into(),
                    ));
                }
                None => return Verdict::Refuse(invalid()),
            }
        }
        Verdict::Rotate(scope)
    }

    fn decide(&self, old: Option<&RefreshTokenInfo>) -> RefreshDecision {
        match (self.verdict(old), old) {
            (Verdict::Rotate(scope), Some(old)) => RefreshDecision::Rotate(Box::new(
                Issue {
                    client_id: &self.client_id,
                    user_id: old.user_id,
                    grant_type: GrantType::RefreshToken,
                    scope,
                    // RFC 6749 §6: the new refresh token keeps the scope of the one it
                    // replaces.
                    refresh_scope: Some(old.scope),
                    family_id: old.family_id,
                    now: self.now,
                }
                .rows(&self.oauth, self.access, Some(self.refresh)),
            )),
            (Verdict::Replay, _) => RefreshDecision::RevokeFamily,
            _ => RefreshDecision::Refuse,
        }
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
