//! The outbound-fetch policy: which repository URLs the server fetches with git, and which
//! addresses it may connect to for them. A user chooses the URL, so without this rule the
//! server would fetch from wherever the user points it — its own loopback services, the
//! cloud's metadata endpoint at `169.254.169.254`, hosts of the internal network — and
//! publish what it read.
//!
//! This module holds the pure rules: parsing a repository URL ([`parse_repository`]) and
//! classifying an address ([`forbidden_class`]). Resolving the host and checking every
//! address it has — the rule applied when a URL is stored and before every fetch — asks
//! the system, so it is the service layer's (`service::outbound`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network transport of git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `https://`.
    Https,
    /// `http://`.
    Http,
    /// `ssh://` and scp-like `user@host:path`.
    Ssh,
    /// `git://` (the unauthenticated git daemon protocol).
    Git,
}

impl Transport {
    /// Every transport.
    pub const ALL: [Transport; 4] = [
        Transport::Https,
        Transport::Http,
        Transport::Ssh,
        Transport::Git,
    ];

    /// Its name: the URL scheme and git's protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Https => "https",
            Transport::Http => "http",
            Transport::Ssh => "ssh",
            Transport::Git => "git",
        }
    }

    /// The transport of a URL scheme.
    pub fn parse(scheme: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.as_str() == scheme)
    }

    fn default_port(self) -> u16 {
        match self {
            Transport::Https => 443,
            Transport::Http => 80,
            Transport::Ssh => 22,
            Transport::Git => 9418,
        }
    }
}

/// A host: a DNS name (ASCII, lower case) or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostName {
    /// A name to resolve.
    Domain(String),
    /// An address literal.
    Ip(IpAddr),
}

impl HostName {
    /// Parses a host as a URL parser does — IDNA, lower case, IPv4 in its legacy forms
    /// (`0x7f.1` is `127.0.0.1`), IPv6 in brackets — and keeps only plain DNS names
    /// (letters, digits, `.`, `-`, `_`), so that git and curl cannot read the name
    /// differently.
    pub fn parse(s: &str) -> Option<HostName> {
        match url::Host::parse(s).ok()? {
            url::Host::Domain(d) => plain_domain(&d).then_some(HostName::Domain(d)),
            url::Host::Ipv4(a) => Some(HostName::Ip(a.into())),
            url::Host::Ipv6(a) => Some(HostName::Ip(a.into())),
        }
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostName::Domain(d) => f.write_str(d),
            HostName::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            HostName::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
        }
    }
}

fn plain_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        && !d.starts_with(['.', '-'])
        && !d.ends_with('.')
        && !d.contains("..")
}

/// An entry of the operator's allow-list (`HARMONY_GIT_ALLOWED_HOSTS`): `host` (any port)
/// or `host:port`; an IPv6 address in brackets (`[fd00::1]:443`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    host: HostName,
    port: Option<u16>,
}

impl AllowedHost {
    /// Does this entry name `host` at `port`? Names match names and addresses match
    /// addresses: allowing `git.internal` does not allow the address it resolves to.
    pub fn matches(&self, host: &HostName, port: u16) -> bool {
        self.host == *host && self.port.is_none_or(|p| p == port)
    }
}

impl FromStr for AllowedHost {
    type Err = String;

    fn from_str(s: &str) -> Result<AllowedHost, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not a host or host:port");
        let (host, port) = if s.starts_with('[') {
            let (inner, after) = s.split_once(']').ok_or_else(bad)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(bad)?),
            };
            (format!("{inner}]"), port)
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (s.to_owned(), None),
            }
        };
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?),
            None => None,
        };
        let host = HostName::parse(&host).ok_or_else(bad)?;
        Ok(AllowedHost { host, port })
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// The allow-list setting: comma-separated [`AllowedHost`] entries; empty entries (an empty
/// setting, a trailing comma) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(pub Vec<AllowedHost>);

impl FromStr for AllowedHosts {
    type Err = String;

    fn from_str(s: &str) -> Result<AllowedHosts, String> {
        s.split(',')
            .filter(|e| !e.trim().is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(AllowedHosts)
    }
}

/// What the deployment lets the server fetch from.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Local paths and `file://` URLs (`HARMONY_ALLOW_LOCAL_REPOSITORIES`).
    pub allow_local: bool,
    /// The network transports enabled (`HARMONY_GIT_PROTOCOLS`).
    pub transports: Vec<Transport>,
    /// Hosts exempt from the address rule (`HARMONY_GIT_ALLOWED_HOSTS`).
    pub allowed_hosts: Vec<AllowedHost>,
}

/// A remote repository, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// How git reaches it.
    pub transport: Transport,
    /// The host named in the URL.
    pub host: HostName,
    /// The port git connects to.
    pub port: u16,
    /// The URL in its canonical form (as a URL parser writes it; scp-like as given): what
    /// is stored and what git is given.
    pub url: String,
    /// The path, as in the URL.
    pub path: String,
}

/// A repository location, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repository {
    /// A path on this machine, or a `file://` URL.
    Local(String),
    /// A repository on another host.
    Remote(Remote),
}

impl Repository {
    /// The URL to store and to give git.
    pub fn url(&self) -> &str {
        match self {
            Repository::Local(p) => p,
            Repository::Remote(r) => &r.url,
        }
    }
}

/// Why an address may not be connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    Shared,
    /// `fc00::/7`, `fec0::/10`.
    UniqueLocal,
    /// `169.254.0.0/16` (where clouds answer with their metadata), `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Reserved and special-purpose ranges: `0/8`, `192.0.0/24`, documentation ranges,
    /// `198.18/15`, `240/4`; in IPv6 everything outside global unicast `2000::/3`, and
    /// Teredo and documentation inside it.
    Reserved,
    /// An address of one of this machine's interfaces.
    ThisHost,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::Shared => "a shared (carrier-grade NAT) address",
            AddressClass::UniqueLocal => "a private (unique local) address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::Reserved => "a reserved address",
            AddressClass::ThisHost => "an address of this server",
        })
    }
}

/// Why a repository URL is refused. The message completes "`repositoryUrl` …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a URL git should be given.
    #[error("must be an https or http URL of a git repository")]
    Malformed,
    /// `user:password@` in the URL, which would be shown to everyone who sees the add-on.
    #[error(
        "must not contain credentials, which would be shown with the add-on; \
         set repositoryCredentials (write-only) instead"
    )]
    Credentials,
    /// Queries and fragments mean nothing to git and would garble its requests.
    #[error("must not have a query or a fragment")]
    QueryOrFragment,
    /// A transport the deployment has not enabled.
    #[error("names a transport this server does not fetch with ({0}://)")]
    Transport(&'static str),
    /// A local path while local repositories are off.
    #[error("names a local repository, which this server does not fetch")]
    Local,
    /// An address that is not public.
    #[error("{host} {} {class}; this server fetches only from public addresses", verb(.literal))]
    Address {
        /// The host as named in the URL.
        host: String,
        /// Whether the host was an address literal.
        literal: bool,
        /// Why it is refused.
        class: AddressClass,
    },
    /// No address for the host (refused only when fetching: `service::outbound::Unresolved`).
    #[error("names a host that cannot be resolved ({0})")]
    Unresolvable(String),
}

fn verb(literal: &bool) -> &'static str {
    if *literal { "is" } else { "resolves to" }
}

/// Parses a repository URL without looking anything up: `https://`, `http://`, `ssh://`,
/// `git://`, scp-like `user@host:path`, or (when `allow_local`) an absolute path or
/// `file://` URL. Refuses what git would read as an option or a `transport::address`,
/// control characters and white space, credentials (a user name is allowed for ssh,
/// where it is not secret), queries and fragments, and host names other than plain DNS
/// names.
pub fn parse_repository(url: &str, allow_local: bool) -> Result<Repository, Refusal> {
    if url.is_empty()
        || url.len() > 1000
        || url.starts_with('-')
        || url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Refusal::Malformed);
    }
    if url.starts_with('/') || url.starts_with("file://") {
        if !allow_local {
            return Err(Refusal::Local);
        }
        if url.split('/').any(|c| c == "..") {
            return Err(Refusal::Malformed);
        }
        return Ok(Repository::Local(url.to_owned()));
    }
    if !url.contains("://") {
        return parse_scp_like(url).map(Repository::Remote);
    }
    let parsed = url::Url::parse(url).map_err(|_| Refusal::Malformed)?;
    let transport = Transport::parse(parsed.scheme()).ok_or(Refusal::Malformed)?;
    if parsed.password().is_some() {
        return Err(Refusal::Credentials);
    }
    if !parsed.username().is_empty() {
        if transport != Transport::Ssh {
            return Err(Refusal::Credentials);
        }
        if !valid_ssh_user(parsed.username()) {
            return Err(Refusal::Malformed);
        }
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Refusal::QueryOrFragment);
    }
    let host = match parsed.host() {
        // ssh and git URLs keep their host as written (an opaque host): read it as a
        // host name, refusing percent-encoding rather than guessing what ssh would do.
        Some(url::Host::Domain(d)) if !d.contains('%') => {
            HostName::parse(d).ok_or(Refusal::Malformed)?
        }
        Some(url::Host::Ipv4(a)) => HostName::Ip(a.into()),
        Some(url::Host::Ipv6(a)) => HostName::Ip(a.into()),
        _ => return Err(Refusal::Malformed),
    };
    Ok(Repository::Remote(Remote {
        transport,
        host,
        port: parsed.port().unwrap_or(transport.default_port()),
        url: parsed.as_str().to_owned(),
        path: parsed.path().to_owned(),
    }))
}

/// The URL without the credentials of its user information, for showing a URL stored
/// before they were refused: `https://user:token@host/x` → `https://host/x`. An ssh user
/// name without a password is not secret (`ssh://git@host/x`) and stays.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user, host)) if !scheme.eq_ignore_ascii_case("ssh") || user.contains(':') => {
            format!("{scheme}://{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

/// git's scp-like syntax, `[user@]host:path`: a colon before any slash and no `://`
/// (git reads `a/b:c` as a local path, refused here). No brackets: git's bracketed forms
/// are rarely used and read differently by git and ssh.
fn parse_scp_like(url: &str) -> Result<Remote, Refusal> {
    let (left, path) = url.split_once(':').ok_or(Refusal::Malformed)?;
    if left.contains(['/', '[', ']'])
        || path.is_empty()
        || path.starts_with([':', '-'])
        || path.contains("::")
    {
        return Err(Refusal::Malformed);
    }
    let host = match left.rsplit_once('@') {
        Some((user, host)) if valid_ssh_user(user) => host,
        Some(_) => return Err(Refusal::Malformed),
        None => left,
    };
    let host = HostName::parse(host).ok_or(Refusal::Malformed)?;
    Ok(Remote {
        transport: Transport::Ssh,
        host,
        port: Transport::Ssh.default_port(),
        url: url.to_owned(),
        path: path.to_owned(),
    })
}

fn valid_ssh_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 64
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The class of addresses `ip` belongs to that the server never connects to (without the
/// own-address check, which asks the system); `None` for a public address.
pub fn forbidden_class(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(a) => v4_class(a),
        IpAddr::V6(a) => match embedded_ipv4(a) {
            Some(v4) => v4_class(v4),
            None => v6_class(a),
        },
    }
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped `::ffff:a.b.c.d`, IPv4-
/// translated `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`
/// (which a NAT64 gateway connects to: `64:ff9b::a9fe:a9fe` is the metadata endpoint),
/// 6to4 `2002:AABB:CCDD::`.
pub fn embedded_ipv4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    let o = a.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let translated = s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0;
    let compatible = s[..6] == [0; 6] && !a.is_unspecified() && !a.is_loopback();
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    if mapped || translated || compatible || nat64 {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

fn v4_class(a: Ipv4Addr) -> Option<AddressClass> {
    let [b0, b1, b2, _] = a.octets();
    Some(match (b0, b1, b2) {
        _ if a.is_unspecified() => AddressClass::Unspecified,
        _ if a.is_broadcast() => AddressClass::Broadcast,
        (127, ..) => AddressClass::Loopback,
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => AddressClass::Private,
        (100, 64..=127, _) => AddressClass::Shared,
        (169, 254, _) => AddressClass::LinkLocal,
        (224..=239, ..) => AddressClass::Multicast,
        (0, ..)
        | (192, 0, 0)
        | (192, 0, 2)
        | (198, 18..=19, _)
        | (198, 51, 100)
        | (203, 0, 113)
        | (240..=255, ..) => AddressClass::Reserved,
        _ => return None,
    })
}

fn v6_class(a: Ipv6Addr) -> Option<AddressClass> {
    let s = a.segments();
    Some(match s[0] {
        _ if a.is_unspecified() => AddressClass::Unspecified,
        _ if a.is_loopback() => AddressClass::Loopback,
        0xfc00..=0xfdff | 0xfec0..=0xfeff => AddressClass::UniqueLocal,
        0xfe80..=0xfebf => AddressClass::LinkLocal,
        0xff00..=0xffff => AddressClass::Multicast,
        // Teredo 2001::/32 (it embeds an IPv4 address, obfuscated) and documentation.
        0x2001 if s[1] == 0 || s[1] == 0x0db8 => AddressClass::Reserved,
        // Global unicast is 2000::/3; nothing outside it (discard-only 100::/64,
        // local-use NAT64 64:ff9b:1::/48, the rest of ::/8) is a public host.
        0x2000..=0x3fff => return None,
        _ => AddressClass::Reserved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        forbidden_class(s.parse().unwrap())
    }

    #[test]
    fn non_public_ipv4_addresses_are_classified() {
        use AddressClass::*;
        for (ip, want) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", Shared),
            ("100.127.255.255", Shared),
            ("169.254.169.254", LinkLocal),
            ("224.0.0.1", Multicast),
            ("239.255.255.255", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.0.170", Reserved),
            ("198.18.0.1", Reserved),
            ("192.0.2.10", Reserved),
        ] {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "140.82.121.3",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "192.169.0.1",
            "223.255.255.255",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn non_public_ipv6_addresses_are_classified() {
        use AddressClass::*;
        for (ip, want) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fec0::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("ff02::1", Multicast),
            ("100::1", Reserved),
            ("2001:db8::1", Reserved),
            ("2001:0:4136:e378::1", Reserved),
            ("64:ff9b:1::1", Reserved),
        ] {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
        for ip in ["2606:4700::1111", "2a00:1450:4001::200e", "2001:4860::8888"] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        use AddressClass::*;
        for (ip, want) in [
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:1", Some(Loopback)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:0:10.0.0.1", Some(Private)),
            ("::127.0.0.1", Some(Loopback)),
            ("::10.1.2.3", Some(Private)),
            ("::0.0.0.2", Some(Reserved)),
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("64:ff9b::7f00:1", Some(Loopback)),
            ("2002:c0a8:0101::1", Some(Private)),
            ("2002:7f00:1::", Some(Loopback)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::808:808", None),
        ] {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[test]
    fn urls_parse_to_their_canonical_form() {
        let remote = |u: &str| match parse_repository(u, false) {
            Ok(Repository::Remote(r)) => r,
            other => panic!("{u}: {other:?}"),
        };
        let r = remote("https://GitHub.com/acme/lib.git");
        assert_eq!(r.transport, Transport::Https);
        assert_eq!(r.host, HostName::Domain("github.com".into()));
        assert_eq!(r.port, 443);
        assert_eq!(r.url, "https://github.com/acme/lib.git");
        // Legacy IPv4 forms become the address they mean.
        let r = remote("http://0x7f.1:8080/x.git");
        assert_eq!(r.host, HostName::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(r.url, "http://127.0.0.1:8080/x.git");
        assert_eq!(remote("http://2130706433/x").url, "http://127.0.0.1/x");
        // What git is given is what was checked: the URL parser's reading of the host.
        assert_eq!(
            remote("https://exa%6dple.com/x").url,
            "https://example.com/x"
        );
        assert_eq!(remote("HTTPS://Example.COM/x").url, "https://example.com/x");
        let r = remote("http://[::ffff:7f00:1]/x.git");
        assert_eq!(r.host, HostName::Ip("::ffff:127.0.0.1".parse().unwrap()));
        let r = remote("ssh://git@GitHub.com:2222/acme/lib.git");
        assert_eq!(
            (r.transport, r.port, r.host.to_string()),
            (Transport::Ssh, 2222, "github.com".to_owned())
        );
        let r = remote("git@github.com:acme/lib.git");
        assert_eq!((r.transport, r.port), (Transport::Ssh, 22));
        assert_eq!(r.url, "git@github.com:acme/lib.git");
        let r = remote("git://[::1]/x.git");
        assert_eq!((r.transport, r.port), (Transport::Git, 9418));
        assert_eq!(r.host, HostName::Ip("::1".parse().unwrap()));
        let r = remote("ssh://h.example/0x7f.1");
        assert_eq!(r.host.to_string(), "h.example");
        let r = remote("ssh://0x7f.1/x");
        assert_eq!(r.host, HostName::Ip("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_urls_are_refused_for_the_right_reason() {
        for (url, want) in [
            ("", Refusal::Malformed),
            ("-uhttp://x", Refusal::Malformed),
            ("ext::sh -c id", Refusal::Malformed),
            ("ext::sh", Refusal::Malformed),
            ("a\nb", Refusal::Malformed),
            ("relative/path", Refusal::Malformed),
            ("a/b:c", Refusal::Malformed),
            ("ftp://example.com/x", Refusal::Malformed),
            ("https://", Refusal::Malformed),
            ("https://exa mple.com/x", Refusal::Malformed),
            ("ssh://h%2fx/x", Refusal::Malformed),
            ("https://example.com./x", Refusal::Malformed),
            ("https://ex_ample.com:99999/x", Refusal::Malformed),
            ("[::1]:x", Refusal::Malformed),
            ("-oProxyCommand=x@h:p", Refusal::Malformed),
            ("git@h:-x", Refusal::Malformed),
            (
                "https://user:token@github.com/a/b.git",
                Refusal::Credentials,
            ),
            ("https://token@github.com/a/b.git", Refusal::Credentials),
            ("git://user@example.com/a", Refusal::Credentials),
            ("ssh://git:pw@example.com/a", Refusal::Credentials),
            ("https://github.com/a/b?x=1", Refusal::QueryOrFragment),
            ("https://github.com/a/b#x", Refusal::QueryOrFragment),
            ("/srv/git/lib", Refusal::Local),
            ("file:///srv/git/lib", Refusal::Local),
        ] {
            assert_eq!(parse_repository(url, false), Err(want), "{url:?}");
        }
        assert_eq!(
            parse_repository("/srv/../etc", true),
            Err(Refusal::Malformed)
        );
        assert!(matches!(
            parse_repository("/srv/git/lib", true),
            Ok(Repository::Local(_))
        ));
    }

    #[test]
    fn shown_urls_lose_their_credentials() {
        for (stored, shown) in [
            (
                "https://user:token@github.com/a/b.git",
                "https://github.com/a/b.git",
            ),
            (
                "https://token@github.com/a/b.git",
                "https://github.com/a/b.git",
            ),
            ("https://a:b@c@github.com", "https://github.com"),
            ("ssh://git:pw@example.com/x", "ssh://example.com/x"),
            ("ssh://git@example.com/x", "ssh://git@example.com/x"),
            ("git@example.com:a/b.git", "git@example.com:a/b.git"),
            ("https://github.com/a@b", "https://github.com/a@b"),
            ("/srv/git/x", "/srv/git/x"),
        ] {
            assert_eq!(without_credentials(stored), shown, "{stored}");
        }
    }

    #[test]
    fn allow_list_entries_parse() {
        let e = |s: &str| s.parse::<AllowedHost>();
        let h = |s: &str| HostName::parse(s).unwrap();
        assert!(e("git.internal").unwrap().matches(&h("git.internal"), 443));
        assert!(
            e("Git.Internal:8443")
                .unwrap()
                .matches(&h("git.internal"), 8443)
        );
        assert!(
            !e("git.internal:8443")
                .unwrap()
                .matches(&h("git.internal"), 443)
        );
        assert!(e("[fd00::1]:443").unwrap().matches(&h("[fd00::1]"), 443));
        assert!(e("[fd00::1]").unwrap().matches(&h("[fd00::1]"), 22));
        assert!(e("10.0.0.5").unwrap().matches(&h("10.0.0.5"), 80));
        assert!(!e("git.internal").unwrap().matches(&h("10.0.0.5"), 80));
        for bad in [
            "", "a:b", "h:0", "h:70000", "[::1", "[::1]x", "a b", "-", "fd00::1",
        ] {
            assert!(e(bad).is_err(), "{bad:?}");
        }
        assert_eq!(e("[FD00::1]:443").unwrap().to_string(), "[fd00::1]:443");
        let list = |s: &str| s.parse::<AllowedHosts>().map(|l| l.0.len());
        assert_eq!(list(""), Ok(0));
        assert_eq!(list(" git.internal:443, [fd00::1] ,"), Ok(2));
        assert!(list("git.internal,bad host").is_err());
    }
}
