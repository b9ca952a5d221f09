//! Validation of OAuth client registrations: names, redirect URIs (RFC 6749 §3.1.2, RFC
//! 8252 §7.3), and which grants fit a public or a confidential client.

use std::borrow::Cow;

use url::Url;

use super::GrantType;
use super::text::{hidden_character, hidden_character_message};

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
}

impl std::fmt::Display for ClientField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClientField::Name => "name",
            ClientField::RedirectUris => "redirect URI",
            ClientField::GrantTypes => "grant types",
            ClientField::Scopes => "scopes",
        })
    }
}

/// Checks a client name: 1–100 characters, no control or format characters (people read
/// it on the consent page: see [`super::text`]).
pub fn validate_client_name(name: &str) -> Result<(), Cow<'static, str>> {
    if name.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > 100 {
        return Err("must be at most 100 characters long".into());
    }
    if let Some(c) = hidden_character(name) {
        return Err(hidden_character_message(c).into());
    }
    Ok(())
}

/// Checks a redirect URI: absolute, `https`, or `http` on a loopback host; no fragment.
pub fn validate_redirect_uri(uri: &str) -> Result<(), &'static str> {
    let url = Url::parse(uri).map_err(|_| "must be an absolute URI")?;
    if url.fragment().is_some() {
        return Err("must not contain a fragment");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err("must use https (http only on a loopback host)")
            }
        }
        _ => Err("must use https (http only on a loopback host)"),
    }
}

/// Checks that a client of this kind may use these grants: `client_credentials` needs
/// a secret, `authorization_code` at least one redirect URI.
pub fn validate_grant_types(
    grants: &[GrantType],
    confidential: bool,
    redirect_uris: &[String],
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
            "http://127.0.0.1:8000/cb",
            "http://localhost/cb",
            "http://[::1]:9/cb",
        ] {
            assert!(validate_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "/cb",
            "http://app.example/cb",
            "https://app.example/cb#x",
            "javascript:alert(1)",
            "ftp://x/",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_refuse_control_and_format_characters() {
        assert!(validate_client_name("Official App").is_ok());
        for bad in ["\u{202e}ppA laicifffO", "Off\u{200b}icial", "A\u{7}pp", " "] {
            assert!(validate_client_name(bad).is_err(), "{bad:?}");
        }
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
        assert!(validate_grant_types(&code, false, &[]).is_err());
        assert!(validate_grant_types(&code, false, &["https://a.example/cb".into()]).is_ok());
    }
}
