//! OAuth client registrations: their values — [`ClientName`], [`RedirectUri`] (RFC 6749
//! §3.1.2, RFC 8252 §7.3) — and which grants fit a public or a confidential client.

use url::Url;

use super::GrantType;
use super::text::{NameError, check_name, format_character, hidden_character, text_value};

/// A field of a client registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientField {
    /// The name shown to people.
    Name,
    /// The registered redirect URIs.
    RedirectUris,
    /// The grant types it may use.
    GrantTypes,
    /// The scopes it may ask for.
    Scopes,
    /// How long a rotated secret keeps working.
    KeepOldSecret,
    /// The algorithm its ID tokens are signed with.
    IdTokenAlg,
    /// Where it may send the browser after logout.
    PostLogoutRedirectUris,
}

/// The longest grace period a rotated secret may be given, in seconds (7 days).
pub const MAX_SECRET_GRACE: i64 = 7 * 86_400;

impl std::fmt::Display for ClientField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClientField::Name => "name",
            ClientField::RedirectUris => "redirect URI",
            ClientField::GrantTypes => "grant types",
            ClientField::Scopes => "scopes",
            ClientField::KeepOldSecret => "grace period",
            ClientField::IdTokenAlg => "ID token signing algorithm",
            ClientField::PostLogoutRedirectUris => "post-logout redirect URI",
        })
    }
}

/// A client's name, shown to people on the consent page and in API Access: 1–100
/// characters, trimmed, no control or format characters ([`super::text`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientName(String);

text_value!(ClientName);

impl ClientName {
    /// Longest name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a client's name; surrounding white space is dropped.
    pub fn parse(text: &str) -> Result<ClientName, NameError> {
        check_name(text, Self::MAX_CHARS, hidden_character).map(|n| ClientName(n.to_owned()))
    }
}

/// A registered redirect URI: absolute, `https` (or `http` on a loopback host, RFC 8252
/// §7.3), without a fragment (RFC 6749 §3.1.2), and without white space, control or
/// format characters anywhere (the consent page shows it: a bidirectional override would
/// make it read as another address). Kept exactly as registered, never normalised: an authorization
/// request must name it byte for byte (RFC 6749 §3.1.2.3, simple string comparison).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

text_value!(RedirectUri);

/// Why a text is not a [`RedirectUri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// White space or a control character, which a URI never contains raw (a URL parser
    /// would quietly drop some of them, and the registered text would then differ from
    /// what a client sends).
    #[error("must not contain spaces or control characters")]
    Whitespace,
    /// An invisible format character (see [`super::text`]).
    #[error("must not contain invisible formatting characters (found U+{:04X})", u32::from(*.0))]
    Hidden(char),
    /// Not an absolute URI.
    #[error("must be an absolute URI")]
    NotAbsolute,
    /// Has a `#fragment`.
    #[error("must not contain a fragment")]
    Fragment,
    /// Neither `https` nor `http` on a loopback host.
    #[error("must use https (http only on a loopback host)")]
    Insecure,
}

impl RedirectUri {
    /// Parses a redirect URI exactly as given.
    pub fn parse(text: &str) -> Result<RedirectUri, RedirectUriError> {
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(RedirectUriError::Whitespace);
        }
        if let Some(c) = format_character(text) {
            return Err(RedirectUriError::Hidden(c));
        }
        let url = Url::parse(text).map_err(|_| RedirectUriError::NotAbsolute)?;
        if url.fragment().is_some() {
            return Err(RedirectUriError::Fragment);
        }
        let allowed = match url.scheme() {
            "https" => true,
            "http" => match url.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            },
            _ => false,
        };
        if !allowed {
            return Err(RedirectUriError::Insecure);
        }
        Ok(RedirectUri(text.to_owned()))
    }
}

/// Checks that a client of this kind may use these grants: `client_credentials` needs
/// a secret, `authorization_code` at least one redirect URI.
pub fn validate_grant_types(
    grants: &[GrantType],
    confidential: bool,
    redirect_uris: &[RedirectUri],
) -> Result<(), &'static str> {
    if grants.is_empty() {
        return Err("must name at least one grant type");
    }
    if !confidential && grants.contains(&GrantType::ClientCredentials) {
        return Err("client_credentials needs a confidential client");
    }
    if redirect_uris.is_empty() && grants.contains(&GrantType::AuthorizationCode) {
        return Err("authorization_code needs at least one redirect URI");
    }
    Ok(())
}

/// The grants of a client registered without naming any: with redirect URIs, the
/// authorization code grant comes first.
pub fn default_grant_types(confidential: bool, has_redirect_uris: bool) -> Vec<GrantType> {
    let mut grants = Vec::new();
    if has_redirect_uris {
        grants.push(GrantType::AuthorizationCode);
    }
    grants.extend([GrantType::Password, GrantType::RefreshToken]);
    if confidential {
        grants.push(GrantType::ClientCredentials);
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example/cb",
            "https://app.example/cb?x=1",
            "https://App.Example:8443/c%20b",
            "http://127.0.0.1:8000/cb",
            "http://127.1.2.3/cb",
            "http://localhost/cb",
            "http://[::1]:9/cb",
            "https://bücher.example/cb",
        ] {
            // Kept byte for byte, never normalised (no lower-cased host, no punycode).
            assert_eq!(RedirectUri::parse(ok).unwrap().as_str(), ok);
        }
        for (bad, why) in [
            ("/cb", RedirectUriError::NotAbsolute),
            ("", RedirectUriError::NotAbsolute),
            ("https://app.example/cb#x", RedirectUriError::Fragment),
            ("https://app.example/cb#", RedirectUriError::Fragment),
            ("http://app.example/cb", RedirectUriError::Insecure),
            (
                "http://localhost.evil.example/cb",
                RedirectUriError::Insecure,
            ),
            ("javascript:alert(1)", RedirectUriError::Insecure),
            ("ftp://x/", RedirectUriError::Insecure),
            ("com.example.app:/cb", RedirectUriError::Insecure),
            (" https://app.example/cb", RedirectUriError::Whitespace),
            ("https://app.example/cb\n", RedirectUriError::Whitespace),
            ("https://app.example/c\tb", RedirectUriError::Whitespace),
            ("https://app.example/c b", RedirectUriError::Whitespace),
            ("https://app.example/cb\u{85}", RedirectUriError::Whitespace),
            (
                "https://evil.example/\u{202e}moc.elpmaxe.ppa//:sptth",
                RedirectUriError::Hidden('\u{202e}'),
            ),
            (
                "https://app.example/c\u{200b}b",
                RedirectUriError::Hidden('\u{200b}'),
            ),
            (
                "https://app.exa\u{ad}mple/cb",
                RedirectUriError::Hidden('\u{ad}'),
            ),
        ] {
            assert_eq!(RedirectUri::parse(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_refuse_control_and_format_characters() {
        assert_eq!(
            ClientName::parse("  Official App \n").unwrap().as_str(),
            "Official App"
        );
        for ok in [
            "Café Müller",
            "東京アプリ",
            "تطبيق رسمي",
            "🚀 Launcher",
            &"x".repeat(100),
        ] {
            assert!(ClientName::parse(ok).is_ok(), "{ok}");
        }
        for (bad, c) in [
            ("\u{202e}ppA laicifffO", '\u{202e}'),
            ("Off\u{200b}icial", '\u{200b}'),
            ("A\u{7}pp", '\u{7}'),
            ("\u{feff}App", '\u{feff}'),
            ("App\u{2066}", '\u{2066}'),
            ("left\u{200e}mark", '\u{200e}'),
        ] {
            assert_eq!(ClientName::parse(bad), Err(NameError::Hidden(c)), "{bad:?}");
        }
        for blank in ["", " ", "\t\n", "\u{3000}"] {
            assert_eq!(ClientName::parse(blank), Err(NameError::Empty), "{blank:?}");
        }
        assert_eq!(
            ClientName::parse(&"x".repeat(101)),
            Err(NameError::TooLong { max: 100 })
        );
        // Characters are counted, not bytes; surrounding spaces do not count.
        assert!(ClientName::parse(&format!(" {} ", "ü".repeat(100))).is_ok());
    }

    #[test]
    fn public_clients_cannot_use_client_credentials() {
        assert!(validate_grant_types(&[GrantType::ClientCredentials], false, &[]).is_err());
        assert!(validate_grant_types(&[GrantType::ClientCredentials], true, &[]).is_ok());
        assert!(validate_grant_types(&[], true, &[]).is_err());
    }

    #[test]
    fn the_code_grant_needs_a_redirect_uri() {
        let code = [GrantType::AuthorizationCode];
        let uri = RedirectUri::parse("https://a.example/cb").unwrap();
        assert!(validate_grant_types(&code, false, &[]).is_err());
        assert!(validate_grant_types(&code, false, &[uri]).is_ok());
    }
}
