//! Scopes: `read` (GET own resources), `write` (change own resources), `admin` (server
//! administration). `write` includes `read`: a client that may change a resource may see it.
//!
//! The OpenID Connect scopes `openid` (an ID token, the userinfo endpoint), `profile` and
//! `email` (their claims) guard no API resource. They are asked for at the authorization
//! endpoint only: a client does not register them, and the password and client
//! credentials grants refuse them (they are not in any client's registered scopes).

use std::fmt;

/// One scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// See your own resources.
    Read,
    /// Change your own resources.
    Write,
    /// Administer the server.
    Admin,
    /// OpenID Connect: an ID token, the userinfo endpoint.
    Openid,
    /// OpenID Connect: the `name` and `preferred_username` claims.
    Profile,
    /// OpenID Connect: the `email` and `email_verified` claims.
    Email,
}

impl Scope {
    /// Every API scope (what a client registers), in canonical order.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    /// The OpenID Connect scopes, asked for at the authorization endpoint only.
    pub const IDENTITY: [Scope; 3] = [Scope::Openid, Scope::Profile, Scope::Email];

    /// Every scope this server knows, in canonical order.
    pub const EVERY: [Scope; 6] = [
        Scope::Read,
        Scope::Write,
        Scope::Admin,
        Scope::Openid,
        Scope::Profile,
        Scope::Email,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
            Scope::Openid => "openid",
            Scope::Profile => "profile",
            Scope::Email => "email",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::Write => 2,
            Scope::Admin => 4,
            Scope::Openid => 8,
            Scope::Profile => 16,
            Scope::Email => 32,
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::EVERY.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// A set of scopes; rendered space-separated in canonical order (RFC 6749 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(u8);

/// A scope string named a scope this server does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

impl ScopeSet {
    /// No scope.
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// The set holding exactly these scopes.
    pub fn of(scopes: &[Scope]) -> ScopeSet {
        ScopeSet(scopes.iter().fold(0, |acc, s| acc | s.bit()))
    }

    /// Parses a space-separated scope string (RFC 6749 §3.3). Empty parts are ignored.
    pub fn parse(s: &str) -> Result<ScopeSet, UnknownScope> {
        let mut set = ScopeSet::EMPTY;
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            let scope = Scope::parse(part).ok_or_else(|| UnknownScope(part.to_owned()))?;
            set = set.with(scope);
        }
        Ok(set)
    }

    /// This set plus one scope.
    pub fn with(self, scope: Scope) -> ScopeSet {
        ScopeSet(self.0 | scope.bit())
    }

    /// This set minus one scope.
    pub fn without(self, scope: Scope) -> ScopeSet {
        ScopeSet(self.0 & !scope.bit())
    }

    /// Holds this exact scope.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Allows what `scope` guards: `write` also allows `read`.
    pub fn allows(self, scope: Scope) -> bool {
        self.contains(scope) || (scope == Scope::Read && self.contains(Scope::Write))
    }

    /// Every scope of `self` is in `other`.
    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// No scope at all.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Holds an OpenID Connect scope (`openid`, `profile`, `email`).
    pub fn has_identity(self) -> bool {
        Scope::IDENTITY.into_iter().any(|s| self.contains(s))
    }

    /// This set plus every OpenID Connect scope: what the authorization endpoint accepts
    /// from a client registered for `self`.
    pub fn with_identity(self) -> ScopeSet {
        Scope::IDENTITY.into_iter().fold(self, ScopeSet::with)
    }

    /// The scopes, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::EVERY.into_iter().filter(move |s| self.contains(*s))
    }
}

/// A requested scope that cannot be granted; the text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidScope(pub String);

/// What a client registered for `client_scopes` may ask for on behalf of a user: those
/// scopes, without `admin` unless the user is an administrator.
pub fn scopes_for_user(client_scopes: ScopeSet, user_is_admin: bool) -> ScopeSet {
    if user_is_admin {
        client_scopes
    } else {
        client_scopes.without(Scope::Admin)
    }
}

/// The scope a token request gets: the `scope` parameter, which must name at least one
/// scope and only scopes within `allowed`; with no parameter, `default`.
pub fn requested_scope(
    param: Option<&str>,
    allowed: ScopeSet,
    default: ScopeSet,
) -> Result<ScopeSet, InvalidScope> {
    let Some(param) = param else {
        return Ok(default);
    };
    let requested = ScopeSet::parse(param).map_err(|e| InvalidScope(e.to_string()))?;
    if requested.is_empty() {
        return Err(InvalidScope("the scope parameter names no scope".into()));
    }
    if !requested.is_subset_of(allowed) {
        return Err(InvalidScope(format!(
            "the scope may include only: {allowed}"
        )));
    }
    Ok(requested)
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_is_order_and_duplicate_insensitive_and_renders_canonically() {
        let set = ScopeSet::parse("write read  write").unwrap();
        assert_eq!(set.to_string(), "read write");
        assert_eq!(ScopeSet::parse("").unwrap(), ScopeSet::EMPTY);
    }

    #[test]
    fn unknown_scopes_are_refused() {
        assert_eq!(
            ScopeSet::parse("read delete"),
            Err(UnknownScope("delete".into()))
        );
        assert!(ScopeSet::parse("READ").is_err());
    }

    #[test]
    fn write_allows_read_but_not_admin() {
        let set = ScopeSet::of(&[Scope::Write]);
        assert!(set.allows(Scope::Read));
        assert!(!set.allows(Scope::Admin));
        assert!(!ScopeSet::of(&[Scope::Read]).allows(Scope::Write));
    }

    #[test]
    fn identity_scopes_parse_and_render_after_the_api_scopes() {
        let set = ScopeSet::parse("email openid write").unwrap();
        assert_eq!(set.to_string(), "write openid email");
        assert!(set.has_identity());
        assert!(!ScopeSet::of(&[Scope::Read]).has_identity());
        assert_eq!(
            ScopeSet::of(&[Scope::Read]).with_identity().to_string(),
            "read openid profile email"
        );
    }

    #[test]
    fn subsets() {
        let rw = ScopeSet::of(&[Scope::Read, Scope::Write]);
        assert!(ScopeSet::of(&[Scope::Read]).is_subset_of(rw));
        assert!(!ScopeSet::of(&[Scope::Admin]).is_subset_of(rw));
        assert!(ScopeSet::EMPTY.is_subset_of(rw));
    }
}
