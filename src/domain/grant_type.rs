//! The OAuth2 grant types this server knows (RFC 6749 §4–6).

use std::fmt;

/// A grant type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// Resource owner password credentials (RFC 6749 §4.3), the documented HarmonyCMS flow.
    Password,
    /// Refresh token (RFC 6749 §6), rotated on every use.
    RefreshToken,
    /// Client credentials (RFC 6749 §4.4): a token for the client alone.
    ClientCredentials,
    /// Authorization code with PKCE S256 (RFC 6749 §4.1, RFC 7636): third-party apps.
    AuthorizationCode,
}

impl GrantType {
    /// Every grant type.
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Parses a space-separated list, as stored.
    pub fn parse_list(s: &str) -> Vec<GrantType> {
        s.split(' ').filter_map(GrantType::parse).collect()
    }

    /// Renders a list space-separated, as stored.
    pub fn join(list: &[GrantType]) -> String {
        list.iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
