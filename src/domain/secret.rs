//! Secrets: tokens, client secrets and generated passwords. They are generated from the
//! operating system's CSPRNG, travel as [`PlainSecret`] (whose `Debug` shows nothing), and are
//! stored only as a SHA-256 [`TokenDigest`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// A secret in plain text, as the client sees it once. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainSecret(String);

impl PlainSecret {
    /// `bytes` random bytes from the CSPRNG, base64url without padding, after `prefix`
    /// (which tells a secret scanner what it found: `hat_` access token, `hrt_` refresh
    /// token, `hcs_` client secret).
    pub fn generate(prefix: &str, bytes: usize) -> PlainSecret {
        PlainSecret(format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(random_bytes(bytes))
        ))
    }

    /// An access or refresh token: `prefix`, then base64url of 8 order bytes (the issue
    /// time in milliseconds, big-endian, and 16 random bits) and 32 random bytes. The
    /// order bytes are not secret; they make the token's [`TokenDigest`] sort by issue
    /// time, so that the digest index of a token table grows at its end instead of at a
    /// random page (see [`PlainSecret::digest`] and docs/api.md).
    pub fn generate_token(prefix: &str) -> PlainSecret {
        let [token] = PlainSecret::generate_tokens([prefix]);
        token
    }

    /// Tokens issued together (an access token and its refresh token), one for each
    /// prefix, as [`PlainSecret::generate_token`] makes them: their random bytes come from
    /// one call to the operating system's generator instead of one each.
    pub fn generate_tokens<const N: usize>(prefixes: [&str; N]) -> [PlainSecret; N] {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let millis = u64::try_from(millis).unwrap_or(u64::MAX) & ((1 << 48) - 1);
        let mut random = [[0u8; ORDERED_BYTES - 6]; N];
        getrandom::fill(random.as_flattened_mut())
            .expect("the operating system's random generator failed");
        std::array::from_fn(|i| {
            let mut bytes = [0u8; ORDERED_BYTES];
            bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
            bytes[6..].copy_from_slice(&random[i]);
            PlainSecret(format!("{}{}", prefixes[i], URL_SAFE_NO_PAD.encode(bytes)))
        })
    }

    /// Wraps a secret received from a client.
    pub fn new(value: impl Into<String>) -> PlainSecret {
        PlainSecret(value.into())
    }

    /// The plaintext, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256 digest, the only form that is stored. For a token made by
    /// [`PlainSecret::generate_token`], the digest follows the token's 8 order bytes.
    pub fn digest(&self) -> TokenDigest {
        let sha = TokenDigest::of(self.0.as_bytes());
        match self.order() {
            Some(order) => sha.after(order),
            None => sha,
        }
    }

    /// The order bytes of a token made by [`PlainSecret::generate_token`]: a token prefix
    /// and exactly the body length that 40 bytes encode to.
    fn order(&self) -> Option<[u8; 8]> {
        let body = TOKEN_PREFIXES.iter().find_map(|p| self.0.strip_prefix(p))?;
        if body.len() != ORDERED_BODY_LEN {
            return None;
        }
        // The first 12 characters are 9 whole bytes; the digest covers the rest.
        let mut head = [0u8; 9];
        URL_SAFE_NO_PAD
            .decode_slice(body.as_bytes().get(..12)?, &mut head)
            .ok()?;
        head[..8].try_into().ok()
    }
}

/// The prefix of access tokens.
pub const ACCESS_PREFIX: &str = "hat_";
/// The prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "hrt_";
/// The prefixes of the tokens [`PlainSecret::generate_token`] makes.
const TOKEN_PREFIXES: [&str; 2] = [ACCESS_PREFIX, REFRESH_PREFIX];
/// 8 order bytes and 32 random bytes.
const ORDERED_BYTES: usize = 40;
/// The base64url (unpadded) length of [`ORDERED_BYTES`].
const ORDERED_BODY_LEN: usize = 54;

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The OS generator failing is unrecoverable: no secret may be issued without it.
    getrandom::fill(&mut buf).expect("the operating system's random generator failed");
    buf
}

/// A random identifier of `bytes` bytes in base64url (client ids).
pub fn random_id(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// How a secret is stored and looked up: its SHA-256 digest, after the 8 public order
/// bytes of an ordered token (40 bytes), or alone (32 bytes) for every other secret and
/// for the tokens issued before ordered tokens existed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest {
    bytes: [u8; 40],
    len: u8,
}

impl TokenDigest {
    /// Digest of arbitrary bytes.
    pub fn of(bytes: &[u8]) -> TokenDigest {
        let mut out = [0u8; 40];
        out[..32].copy_from_slice(&Sha256::digest(bytes));
        TokenDigest {
            bytes: out,
            len: 32,
        }
    }

    /// This digest after `order`.
    fn after(self, order: [u8; 8]) -> TokenDigest {
        let mut out = [0u8; 40];
        out[..8].copy_from_slice(&order);
        out[8..].copy_from_slice(&self.bytes[..32]);
        TokenDigest {
            bytes: out,
            len: 40,
        }
    }

    /// From a stored column; `None` when the length is neither 32 nor 40.
    pub fn from_slice(bytes: &[u8]) -> Option<TokenDigest> {
        if bytes.len() != 32 && bytes.len() != 40 {
            return None;
        }
        let mut out = [0u8; 40];
        out[..bytes.len()].copy_from_slice(bytes);
        Some(TokenDigest {
            bytes: out,
            len: u8::try_from(bytes.len()).ok()?,
        })
    }

    /// The stored form: 32 or 40 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Constant-time equality (digests of different lengths are different).
    pub fn ct_eq(&self, other: &TokenDigest) -> bool {
        self.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.as_bytes();
        write!(f, "TokenDigest({:02x}{:02x}…/{})", b[0], b[1], b.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_base64url_with_prefix_and_256_bits() {
        let s = PlainSecret::generate("hat_", 32);
        let body = s.expose().strip_prefix("hat_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert!(
            s.expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(s, PlainSecret::generate("hat_", 32));
    }

    #[test]
    fn tokens_carry_256_random_bits_after_their_order_bytes() {
        let a = PlainSecret::generate_token("hat_");
        let body = a.expose().strip_prefix("hat_").unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        assert_eq!(bytes.len(), 40);
        assert!(
            body.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let b = PlainSecret::generate_token("hat_");
        let b_bytes = URL_SAFE_NO_PAD.decode(&b.expose()[4..]).unwrap();
        assert_ne!(bytes[8..], b_bytes[8..]);
        // The first 6 bytes are the time in milliseconds.
        let millis = |x: &[u8]| u64::from_be_bytes([0, 0, x[0], x[1], x[2], x[3], x[4], x[5]]);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(millis(&bytes) <= millis(&b_bytes) && now - millis(&bytes) < 60_000);
    }

    #[test]
    fn tokens_issued_together_have_their_prefixes_and_distinct_random_parts() {
        let [access, refresh] = PlainSecret::generate_tokens([ACCESS_PREFIX, REFRESH_PREFIX]);
        let body = |t: &PlainSecret, p: &str| {
            URL_SAFE_NO_PAD
                .decode(t.expose().strip_prefix(p).unwrap())
                .unwrap()
        };
        let (a, r) = (body(&access, ACCESS_PREFIX), body(&refresh, REFRESH_PREFIX));
        assert_eq!((a.len(), r.len()), (40, 40));
        assert_eq!(a[..6], r[..6], "one issue time");
        assert_ne!(a[6..], r[6..]);
        assert_eq!(access.digest().as_bytes().len(), 40);
        assert_eq!(refresh.digest().as_bytes().len(), 40);
    }

    #[test]
    fn a_token_digest_sorts_by_issue_time_and_covers_the_whole_token() {
        let a = PlainSecret::generate_token("hrt_");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = PlainSecret::generate_token("hrt_");
        let (da, db) = (a.digest(), b.digest());
        assert_eq!(da.as_bytes().len(), 40);
        assert!(da.as_bytes() < db.as_bytes(), "later tokens sort after");
        assert_eq!(
            &da.as_bytes()[8..],
            TokenDigest::of(a.expose().as_bytes()).as_bytes()
        );
        assert!(da.ct_eq(&PlainSecret::new(a.expose()).digest()));
        // Changing a character of the random part or of the order part misses.
        for at in [6, 20] {
            let mut s = a.expose().to_owned().into_bytes();
            s[at] = if s[at] == b'A' { b'B' } else { b'A' };
            let tampered = PlainSecret::new(String::from_utf8(s).unwrap()).digest();
            assert!(!da.ct_eq(&tampered));
        }
        // A body of the right length that is not base64url gets the plain digest.
        let odd = PlainSecret::new(format!("hat_{}", "é".repeat(27)));
        assert_eq!(odd.digest(), TokenDigest::of(odd.expose().as_bytes()));
        // Other secrets and tokens of the earlier form keep the plain digest.
        let old = PlainSecret::generate("hat_", 32);
        assert_eq!(old.digest(), TokenDigest::of(old.expose().as_bytes()));
        let secret = PlainSecret::new(format!("hcs_{}", &a.expose()[4..]));
        assert_eq!(secret.digest().as_bytes().len(), 32);
        // Stored forms round-trip; other lengths are refused.
        assert_eq!(TokenDigest::from_slice(da.as_bytes()), Some(da));
        assert_eq!(
            TokenDigest::from_slice(old.digest().as_bytes()),
            Some(old.digest())
        );
        assert_eq!(TokenDigest::from_slice(&[0; 33]), None);
        assert!(!da.ct_eq(&old.digest()));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let s = PlainSecret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn digests_compare_in_constant_time_and_correctly() {
        let a = PlainSecret::new("a").digest();
        assert!(a.ct_eq(&PlainSecret::new("a").digest()));
        assert!(!a.ct_eq(&PlainSecret::new("b").digest()));
    }
}
