//! The marketplace's vocabulary: add-on names (`vendor/name`, Composer's rules), types,
//! visibility, the version strings a URL may carry, checksums and the webhook signature
//! (HMAC-SHA256, constant-time). Dist files on disk are storage (`store::dists`).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// A Composer package name, lower case: `vendor/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageName(String);

fn valid_part(s: &str, allow_double_dash: bool) -> bool {
    // Composer: `[a-z0-9]([_.-]?[a-z0-9]+)*` for the vendor, `--` also allowed in names.
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() > 100 {
        return false;
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut run = 0;
    for &b in bytes {
        if alnum(b) {
            run = 0;
        } else if b == b'_' || b == b'.' || b == b'-' {
            run += 1;
            let ok = run == 1 || (allow_double_dash && run == 2 && b == b'-');
            if !ok {
                return false;
            }
        } else {
            return false;
        }
    }
    true
}

/// Is this a vendor (the part of a package name before `/`)?
pub fn valid_vendor(s: &str) -> bool {
    valid_part(s, false)
}

impl PackageName {
    /// Parses `vendor/name` from its two parts as they appear in a URL.
    pub fn from_parts(vendor: &str, name: &str) -> Option<PackageName> {
        (valid_part(vendor, false) && valid_part(name, true))
            .then(|| PackageName(format!("{vendor}/{name}")))
    }

    /// Parses `vendor/name`.
    pub fn parse(s: &str) -> Option<PackageName> {
        let (vendor, name) = s.split_once('/')?;
        Self::from_parts(vendor, name)
    }

    /// `vendor/name`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The vendor part.
    pub fn vendor(&self) -> &str {
        self.0.split_once('/').map_or("", |(v, _)| v)
    }

    /// The name part.
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, n)| n)
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A field of an add-on, of a publish, or of a vendor transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackageField {
    /// `vendor/name`.
    Name,
    /// The version published.
    Version,
    /// The uploaded dist.
    Archive,
    /// The type filter of a listing.
    Type,
    /// The search words of a listing.
    Query,
    /// The description.
    Description,
    /// The git repository the webhook reads tags from.
    RepositoryUrl,
    /// The credentials of a private repository.
    RepositoryCredentials,
    /// The secret that signs the webhook's pushes.
    WebhookSecret,
    /// The kind of owner a vendor is given to (an account: `user`).
    VendorOwnerKind,
    /// The account a vendor is given to.
    VendorOwner,
    /// Whether the add-on is abandoned, and for what.
    Abandoned,
    /// Why a version is yanked.
    Yanked,
    /// The time a change feed is asked from.
    Since,
}

impl fmt::Display for PackageField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PackageField::Name => "name",
            PackageField::Version => "version",
            PackageField::Archive => "archive",
            PackageField::Type => "type",
            PackageField::Query => "search",
            PackageField::Description => "description",
            PackageField::RepositoryUrl => "repository URL",
            PackageField::RepositoryCredentials => "repository credentials",
            PackageField::WebhookSecret => "webhook secret",
            PackageField::VendorOwnerKind => "owner kind",
            PackageField::VendorOwner => "owner",
            PackageField::Abandoned => "abandoned",
            PackageField::Yanked => "yanked",
            PackageField::Since => "since",
        })
    }
}

/// What an add-on is; decides which map of a project it lands in. Serialized as its
/// Composer `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageType {
    /// `harmony-extension` → a project's `extensions`.
    Extension,
    /// `harmony-theme` → `themes`.
    Theme,
    /// `harmony-translation` → `translations`.
    Translation,
    /// `library` (Composer's default) → `packages`.
    Library,
}

impl PackageType {
    /// Every type.
    pub const ALL: [PackageType; 4] = [
        PackageType::Extension,
        PackageType::Theme,
        PackageType::Translation,
        PackageType::Library,
    ];

    /// Parses the Composer `type`.
    pub fn parse(s: &str) -> Option<PackageType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The Composer `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Extension => "harmony-extension",
            PackageType::Theme => "harmony-theme",
            PackageType::Translation => "harmony-translation",
            PackageType::Library => "library",
        }
    }

    /// The key of the project map it lands in.
    pub fn project_key(self) -> &'static str {
        match self {
            PackageType::Extension => "extensions",
            PackageType::Theme => "themes",
            PackageType::Translation => "translations",
            PackageType::Library => "packages",
        }
    }
}

impl fmt::Display for PackageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for PackageType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Who may see an add-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone, signed in or not.
    Public,
    /// Its owner and administrators; everyone else gets `404`.
    Private,
}

impl Visibility {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "public" => Some(Visibility::Public),
            "private" => Some(Visibility::Private),
            _ => None,
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version string as it may appear in a URL and a file name: `[A-Za-z0-9._+-]`, not
/// starting with `.` or `-`, at most 64 characters. (Branch versions, `dev-x/y`, cannot be
/// uploaded: their `/` cannot be a path segment.)
pub fn valid_version_text(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
}

/// The checksums of a dist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksums {
    /// SHA-256, hex.
    pub sha256: String,
    /// SHA-1, hex: Composer's `dist.shasum`.
    pub sha1: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Both checksums of some bytes.
pub fn checksums(bytes: &[u8]) -> Checksums {
    Checksums {
        sha256: hex(&Sha256::digest(bytes)),
        sha1: hex(&Sha1::digest(bytes)),
    }
}

/// Checks GitHub's `X-Hub-Signature-256: sha256=HEX` over the raw body, in constant time.
pub fn verify_signature(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    if hex_sig.len() != 64 {
        return false;
    }
    let mut expected = [0u8; 32];
    for (i, chunk) in hex_sig.as_bytes().chunks(2).enumerate() {
        let Ok(s) = std::str::from_utf8(chunk) else {
            return false;
        };
        let Ok(b) = u8::from_str_radix(s, 16) else {
            return false;
        };
        expected[i] = b;
    }
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Computes the `X-Hub-Signature-256` value for a body (tests and tools).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_composers_rules() {
        for ok in [
            "acme/theme",
            "a/b",
            "my-vendor/my_pkg.x",
            "acme/a--b",
            "a1/2b",
        ] {
            assert!(PackageName::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "acme",
            "Acme/theme",
            "acme/",
            "/x",
            "acme/-x",
            "acme/x-",
            "a--b/c",
            "a/b/c",
            "a/b c",
            "a/..",
            "a/b..c",
        ] {
            assert!(PackageName::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn signatures_verify_only_with_the_right_secret_and_body() {
        let sig = sign("s3cret", b"body");
        assert!(verify_signature("s3cret", b"body", &sig));
        assert!(!verify_signature("s3cret", b"bodx", &sig));
        assert!(!verify_signature("other", b"body", &sig));
        assert!(!verify_signature("s3cret", b"body", "sha1=abc"));
        assert!(!verify_signature("s3cret", b"body", "sha256=zz"));
    }

    #[test]
    fn version_texts_are_safe_file_names() {
        assert!(valid_version_text("1.0.0-beta.1+build"));
        for bad in ["", "../1", "-1", ".1", "1/2", "1 2", "dev-a/b"] {
            assert!(!valid_version_text(bad), "{bad}");
        }
    }
}
