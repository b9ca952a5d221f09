//! What a token is, as people are shown it.

/// Longest token worth looking up; longer ones cannot be ours.
pub const MAX_TOKEN_LEN: usize = 256;

/// The state of an access token in API Access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Usable.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked (whether or not it also expired).
    Revoked,
}

impl TokenStatus {
    /// The status of a token revoked at `revoked_at` (if ever) that expires at
    /// `expires_at`, at `now` (seconds since the epoch).
    pub fn of(revoked_at: Option<i64>, expires_at: i64, now: i64) -> TokenStatus {
        if revoked_at.is_some() {
            TokenStatus::Revoked
        } else if expires_at <= now {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }

    /// `active`, `expired` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_wins_over_expired() {
        assert_eq!(TokenStatus::of(Some(5), 1, 10), TokenStatus::Revoked);
        assert_eq!(TokenStatus::of(None, 10, 10), TokenStatus::Expired);
        assert_eq!(TokenStatus::of(None, 11, 10), TokenStatus::Active);
    }
}
