//! Finding a token by its value, whatever its kind, for revocation (RFC 7009) and
//! introspection (RFC 7662): the `token_type_hint` only chooses which table is searched
//! first (RFC 7009 §2.1: an unknown or wrong hint extends the search).

use super::PlainSecret;
use crate::store::{
    AccessTokenInfo, RefreshTokenInfo, Store, StoreError, StoreResult, Timestamp, User,
};

/// Longest token worth looking up; longer ones cannot be ours.
const MAX_TOKEN_LEN: usize = 256;

/// A token found by its value.
#[derive(Debug, Clone)]
pub enum FoundToken {
    /// An access token (with its user).
    Access(AccessTokenInfo),
    /// A refresh token, with its user when it has one.
    Refresh(RefreshTokenInfo, Option<User>),
}

impl FoundToken {
    /// The client it was issued to.
    pub fn client_id(&self) -> &str {
        match self {
            FoundToken::Access(t) => &t.client_id,
            FoundToken::Refresh(t, _) => &t.client_id,
        }
    }

    /// Usable now: not revoked, not expired, not used (refresh), its user not disabled.
    pub fn is_active(&self, now: Timestamp) -> bool {
        match self {
            FoundToken::Access(t) => t.is_active(now),
            FoundToken::Refresh(t, user) => {
                t.revoked_at.is_none()
                    && t.used_at.is_none()
                    && t.expires_at > now
                    && user.as_ref().is_none_or(|u| !u.disabled)
                    && (t.user_id.is_none() || user.is_some())
            }
        }
    }
}

/// Looks a token up in both tables, the hinted one first.
pub async fn find_token(
    store: &dyn Store,
    token: &PlainSecret,
    hint: Option<&str>,
) -> StoreResult<Option<FoundToken>> {
    if token.expose().len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    let digest = token.digest();
    let refresh_first = hint == Some("refresh_token");
    for refresh in [refresh_first, !refresh_first] {
        if refresh {
            if let Some(t) = store.refresh_token(&digest).await? {
                let user = match t.user_id {
                    Some(id) => match store.user_by_id(id).await {
                        Ok(u) => Some(u),
                        Err(StoreError::NotFound) => None,
                        Err(e) => return Err(e),
                    },
                    None => None,
                };
                return Ok(Some(FoundToken::Refresh(t, user)));
            }
        } else if let Some(t) = store.access_token(&digest).await? {
            return Ok(Some(FoundToken::Access(t)));
        }
    }
    Ok(None)
}
