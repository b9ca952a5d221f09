//! The refresh-token decision (RFC 6749 §6, RFC 9700 §4.14.2), written once for every
//! engine: given the stored token a presented one names (or none), rotate it, revoke its
//! whole family (it was already used: a replay, or a concurrent use that lost the race),
//! or refuse. A token rotated moments ago and presented again by its own client within
//! the grace window (two tabs, a retried request whose answer was lost) is rotated again
//! in the same family, a few times at most, instead of revoking it. The store applies the
//! decision atomically (inside the transaction that read the token); this module only
//! decides.

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
    /// When it was exchanged (rotated), if it was.
    pub used_at: Option<i64>,
    /// How many times it was presented again within the grace window and rotated again.
    pub grace_uses: i64,
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

/// How many times a rotated refresh token may be presented again within the grace window
/// before a further reuse revokes its family: enough for two tabs and a retry, too few to
/// be worth stealing a token for.
pub const GRACE_MAX_USES: i64 = 3;

/// The grace window for presenting a rotated refresh token again (`HARMONY_REFRESH_REUSE_GRACE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grace {
    /// Seconds after a rotation during which the same client may present the rotated token
    /// again; `0` turns the window off (every reuse revokes the family).
    pub window: i64,
    /// How many times, at most (see [`GRACE_MAX_USES`]).
    pub max_uses: i64,
}

impl Grace {
    /// No window: every reuse of a rotated token revokes its family.
    pub const OFF: Grace = Grace {
        window: 0,
        max_uses: 0,
    };

    /// A window of `seconds` with the usual cap.
    pub fn seconds(seconds: i64) -> Grace {
        Grace {
            window: seconds.max(0),
            max_uses: GRACE_MAX_USES,
        }
    }

    /// A token rotated at `used_at`, already re-presented `uses` times, may be presented
    /// again at `now`.
    fn allows(&self, used_at: i64, uses: i64, now: i64) -> bool {
        self.window > 0 && now < used_at.saturating_add(self.window) && uses < self.max_uses
    }
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshVerdict {
    /// Retire it and issue tokens of this scope in the same family.
    Rotate(ScopeSet),
    /// It was rotated moments ago by this client: count one more use within the grace
    /// window and issue tokens of this scope in the same family.
    RotateAgain(ScopeSet),
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
    /// The token is bound to a DPoP key (a public client's) and the request's proof is
    /// missing or made with another key (RFC 9449 §5).
    KeyMismatch,
}

/// known? → this client's? → unused, or used within the grace window and its few uses
/// (else revoke the family)? → alive? → scope narrower or equal? → user enabled? → rotate
/// (again).
pub fn decide(
    stored: Option<&StoredRefresh<'_>>,
    client_id: &str,
    requested: Option<&str>,
    now: i64,
    grace: Grace,
) -> RefreshVerdict {
    let refuse = RefreshVerdict::Refuse;
    let Some(old) = stored else {
        return refuse(RefreshRefusal::Invalid);
    };
    if old.client_id != client_id {
        return refuse(RefreshRefusal::Invalid);
    }
    let again = match old.used_at {
        None => false,
        // A revoked or expired token has no grace: its reuse is a replay, as without one.
        Some(used_at)
            if grace.allows(used_at, old.grace_uses, now)
                && !old.revoked
                && old.expires_at > now =>
        {
            true
        }
        Some(_) => return RefreshVerdict::RevokeFamily,
    };
    if old.revoked || old.expires_at <= now {
        return refuse(RefreshRefusal::Invalid);
    }
    let scope = match requested_scope(requested, old.scope, old.scope) {
        Ok(scope) => scope,
        Err(e) => return refuse(RefreshRefusal::Scope(e)),
    };
    match old.user {
        RefreshUser::None | RefreshUser::Enabled if again => RefreshVerdict::RotateAgain(scope),
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
            used_at: None,
            grace_uses: 0,
            revoked: false,
            user: RefreshUser::Enabled,
        }
    }

    #[test]
    fn a_live_token_rotates_with_the_scope_asked_within_its_own() {
        let rw = ScopeSet::of(&[Scope::Read, Scope::Write]);
        let t = token(rw);
        assert_eq!(
            decide(Some(&t), "c", None, 10, Grace::OFF),
            RefreshVerdict::Rotate(rw)
        );
        assert_eq!(
            decide(Some(&t), "c", Some("read"), 10, Grace::OFF),
            RefreshVerdict::Rotate(ScopeSet::of(&[Scope::Read]))
        );
        assert!(matches!(
            decide(Some(&t), "c", Some("admin"), 10, Grace::OFF),
            RefreshVerdict::Refuse(RefreshRefusal::Scope(_))
        ));
    }

    #[test]
    fn a_used_token_revokes_its_family_but_only_for_its_own_client() {
        let t = StoredRefresh {
            used_at: Some(5),
            ..token(ScopeSet::of(&[Scope::Read]))
        };
        assert_eq!(
            decide(Some(&t), "c", None, 10, Grace::OFF),
            RefreshVerdict::RevokeFamily
        );
        assert_eq!(
            decide(Some(&t), "other", None, 10, Grace::OFF),
            RefreshVerdict::Refuse(RefreshRefusal::Invalid)
        );
    }

    #[test]
    fn unknown_expired_revoked_disabled_and_orphaned_tokens_are_refused() {
        let t = token(ScopeSet::of(&[Scope::Read]));
        let invalid = RefreshVerdict::Refuse(RefreshRefusal::Invalid);
        assert_eq!(decide(None, "c", None, 10, Grace::OFF), invalid);
        assert_eq!(decide(Some(&t), "c", None, 100, Grace::OFF), invalid);
        let revoked = StoredRefresh { revoked: true, ..t };
        assert_eq!(decide(Some(&revoked), "c", None, 10, Grace::OFF), invalid);
        let gone = StoredRefresh {
            user: RefreshUser::Gone,
            ..t
        };
        assert_eq!(decide(Some(&gone), "c", None, 10, Grace::OFF), invalid);
        let disabled = StoredRefresh {
            user: RefreshUser::Disabled,
            ..t
        };
        assert_eq!(
            decide(Some(&disabled), "c", None, 10, Grace::OFF),
            RefreshVerdict::Refuse(RefreshRefusal::AccountDisabled)
        );
    }

    #[test]
    fn within_the_grace_window_the_same_client_rotates_again_a_few_times() {
        let grace = Grace::seconds(10);
        let read = ScopeSet::of(&[Scope::Read]);
        let used = StoredRefresh {
            used_at: Some(100),
            ..StoredRefresh {
                expires_at: 1000,
                ..token(read)
            }
        };
        assert_eq!(
            decide(Some(&used), "c", None, 109, grace),
            RefreshVerdict::RotateAgain(read)
        );
        // Another client learns nothing, and burns nothing.
        assert_eq!(
            decide(Some(&used), "other", None, 105, grace),
            RefreshVerdict::Refuse(RefreshRefusal::Invalid)
        );
        // After the window, or past the cap, or once revoked: a replay.
        assert_eq!(
            decide(Some(&used), "c", None, 110, grace),
            RefreshVerdict::RevokeFamily
        );
        let spent = StoredRefresh {
            grace_uses: GRACE_MAX_USES,
            ..used
        };
        assert_eq!(
            decide(Some(&spent), "c", None, 101, grace),
            RefreshVerdict::RevokeFamily
        );
        let revoked = StoredRefresh {
            revoked: true,
            ..used
        };
        assert_eq!(
            decide(Some(&revoked), "c", None, 101, grace),
            RefreshVerdict::RevokeFamily
        );
        // Without a window, exactly the replay rule.
        assert_eq!(
            decide(Some(&used), "c", None, 101, Grace::OFF),
            RefreshVerdict::RevokeFamily
        );
        assert_eq!(
            decide(Some(&used), "c", None, 101, Grace::seconds(0)),
            RefreshVerdict::RevokeFamily
        );
        // The usual checks still apply to a grace reuse.
        let disabled = StoredRefresh {
            user: RefreshUser::Disabled,
            ..used
        };
        assert_eq!(
            decide(Some(&disabled), "c", None, 101, grace),
            RefreshVerdict::Refuse(RefreshRefusal::AccountDisabled)
        );
    }
}
