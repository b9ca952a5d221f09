//! The refresh-token decision (RFC 6749 §6, RFC 9700 §4.14.2), written once for every
//! engine: given the stored token a presented one names (or none), rotate it, revoke its
//! whole family (it was already used: a replay, or a concurrent use that lost the race),
//! or refuse. The store applies the decision atomically (inside the transaction that read
//! the token); this module only decides.

use super::scope::{InvalidScope, ScopeSet, requested_scope};

/// What the decision needs to know about a stored refresh token.
#[derive(Debug, Clone, Copy)]
pub struct StoredRefresh<'a> {
    /// The client it was issued to.
    pub client_id: &'a str,
    /// The scope of its grant.
    pub scope: ScopeSet,
    /// Its expiry (seconds since the epoch).
    pub expires_at: i64,
    /// It was already exchanged.
    pub used: bool,
    /// It was revoked.
    pub revoked: bool,
    /// Its user.
    pub user: RefreshUser,
}

/// The user of a stored refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshUser {
    /// None: a client's own grant.
    None,
    /// An enabled account.
    Enabled,
    /// A disabled account.
    Disabled,
    /// The account was deleted.
    Gone,
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshVerdict {
    /// Retire it and issue tokens of this scope in the same family.
    Rotate(ScopeSet),
    /// It was already used: revoke its whole family.
    RevokeFamily,
    /// Refuse, changing nothing.
    Refuse(RefreshRefusal),
}

/// Why a refresh token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRefusal {
    /// Unknown, another client's, revoked, expired, or its user is gone: told apart from
    /// nothing.
    Invalid,
    /// Its account is disabled.
    AccountDisabled,
    /// The requested scope is not within the token's.
    Scope(InvalidScope),
}

/// known? → this client's? → unused (else revoke the family)? → alive? → scope narrower or
/// equal? → user enabled? → rotate.
pub fn decide(
    stored: Option<&StoredRefresh<'_>>,
    client_id: &str,
    requested: Option<&str>,
    now: i64,
) -> RefreshVerdict {
    let refuse = RefreshVerdict::Refuse;
    let Some(old) = stored else {
        return refuse(RefreshRefusal::Invalid);
    };
    if old.client_id != client_id {
        return refuse(RefreshRefusal::Invalid);
    }
    if old.used {
        return RefreshVerdict::RevokeFamily;
    }
    if old.revoked || old.expires_at <= now {
        return refuse(RefreshRefusal::Invalid);
    }
    let scope = match requested_scope(requested, old.scope, old.scope) {
        Ok(scope) => scope,
        Err(e) => return refuse(RefreshRefusal::Scope(e)),
    };
    match old.user {
        RefreshUser::None | RefreshUser::Enabled => RefreshVerdict::Rotate(scope),
        RefreshUser::Disabled => refuse(RefreshRefusal::AccountDisabled),
        RefreshUser::Gone => refuse(RefreshRefusal::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scope;

    fn token(scope: ScopeSet) -> StoredRefresh<'static> {
        StoredRefresh {
            client_id: "c",
            scope,
            expires_at: 100,
            used: false,
            revoked: false,
            user: RefreshUser::Enabled,
        }
    }

    #[test]
    fn a_live_token_rotates_with_the_scope_asked_within_its_own() {
        let rw = ScopeSet::of(&[Scope::Read, Scope::Write]);
        let t = token(rw);
        assert_eq!(decide(Some(&t), "c", None, 10), RefreshVerdict::Rotate(rw));
        assert_eq!(
            decide(Some(&t), "c", Some("read"), 10),
            RefreshVerdict::Rotate(ScopeSet::of(&[Scope::Read]))
        );
        assert!(matches!(
            decide(Some(&t), "c", Some("admin"), 10),
            RefreshVerdict::Refuse(RefreshRefusal::Scope(_))
        ));
    }

    #[test]
    fn a_used_token_revokes_its_family_but_only_for_its_own_client() {
        let t = StoredRefresh {
            used: true,
            ..token(ScopeSet::of(&[Scope::Read]))
        };
        assert_eq!(
            decide(Some(&t), "c", None, 10),
            RefreshVerdict::RevokeFamily
        );
        assert_eq!(
            decide(Some(&t), "other", None, 10),
            RefreshVerdict::Refuse(RefreshRefusal::Invalid)
        );
    }

    #[test]
    fn unknown_expired_revoked_disabled_and_orphaned_tokens_are_refused() {
        let t = token(ScopeSet::of(&[Scope::Read]));
        let invalid = RefreshVerdict::Refuse(RefreshRefusal::Invalid);
        assert_eq!(decide(None, "c", None, 10), invalid);
        assert_eq!(decide(Some(&t), "c", None, 100), invalid);
        let revoked = StoredRefresh { revoked: true, ..t };
        assert_eq!(decide(Some(&revoked), "c", None, 10), invalid);
        let gone = StoredRefresh {
            user: RefreshUser::Gone,
            ..t
        };
        assert_eq!(decide(Some(&gone), "c", None, 10), invalid);
        let disabled = StoredRefresh {
            user: RefreshUser::Disabled,
            ..t
        };
        assert_eq!(
            decide(Some(&disabled), "c", None, 10),
            RefreshVerdict::Refuse(RefreshRefusal::AccountDisabled)
        );
    }
}
