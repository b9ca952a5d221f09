//! The part of the outbound-fetch policy that asks the system: resolving a repository's
//! host and telling whether an address is one of this machine's. The pure rules — parsing
//! repository URLs, classifying addresses — are the domain's ([`crate::domain::outbound`]).
//!
//! [`check_repository`] is the one rule, applied when an add-on's `repositoryUrl` is set
//! and again before every fetch: it parses the URL, refuses credentials in it and the
//! transports the deployment has not enabled, resolves the host itself and refuses it if
//! any of its addresses is not public ([`refused_address`]), unless the operator
//! allow-listed the host. The caller then makes git connect to exactly the addresses
//! checked (see [`super::git`]), so that a second DNS answer cannot differ from the first.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use crate::domain::outbound::{
    AddressClass, HostName, OutboundPolicy, Refusal, Remote, Repository, embedded_ipv4,
    forbidden_class, parse_repository,
};

/// How long resolving a repository's host may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// What [`check_repository`] does with a host name that does not resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolved {
    /// Accept it (when the URL is stored: every fetch checks it again).
    Accept,
    /// Refuse it (when fetching: there is nothing to connect to).
    Refuse,
}

/// A repository that passed the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A local repository (allowed by the deployment).
    Local(String),
    /// A remote repository and the addresses checked for it: git must connect to these
    /// and no others. Empty only for a name that did not resolve under
    /// [`Unresolved::Accept`].
    Remote {
        /// The parsed URL.
        remote: Remote,
        /// The checked addresses.
        addrs: Vec<IpAddr>,
    },
}

impl Target {
    /// The URL to store.
    pub fn url(&self) -> &str {
        match self {
            Target::Local(p) => p,
            Target::Remote { remote, .. } => &remote.url,
        }
    }
}

/// The one rule for a repository URL, when it is stored and before every fetch: parsed
/// ([`parse_repository`]), its transport enabled, its host resolved here and every address
/// public ([`refused_address`]) unless the host is allow-listed. The addresses returned are
/// the only ones git may connect to.
pub async fn check_repository(
    url: &str,
    policy: &OutboundPolicy,
    unresolved: Unresolved,
) -> Result<Target, Refusal> {
    let remote = match parse_repository(url, policy.allow_local)? {
        Repository::Local(path) => return Ok(Target::Local(path)),
        Repository::Remote(remote) => remote,
    };
    if !policy.transports.contains(&remote.transport) {
        return Err(Refusal::Transport(remote.transport.as_str()));
    }
    let exempt = policy
        .allowed_hosts
        .iter()
        .any(|h| h.matches(&remote.host, remote.port));
    let addrs = match &remote.host {
        HostName::Ip(ip) => vec![*ip],
        HostName::Domain(name) => match resolve(name, remote.port).await {
            Some(addrs) => addrs,
            None if unresolved == Unresolved::Accept => {
                return Ok(Target::Remote {
                    remote,
                    addrs: Vec::new(),
                });
            }
            None => return Err(Refusal::Unresolvable(name.clone())),
        },
    };
    if !exempt {
        for &addr in &addrs {
            if let Some(class) = refused_address(addr) {
                return Err(Refusal::Address {
                    host: remote.host.to_string(),
                    literal: matches!(remote.host, HostName::Ip(_)),
                    class,
                });
            }
        }
    }
    Ok(Target::Remote { remote, addrs })
}

/// The addresses of a name (the system resolver, bounded by [`RESOLVE_TIMEOUT`]); `None`
/// when there are none.
async fn resolve(name: &str, port: u16) -> Option<Vec<IpAddr>> {
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port)))
        .await
        .ok()?
        .ok()?;
    let mut addrs: Vec<IpAddr> = Vec::new();
    for a in found {
        if !addrs.contains(&a.ip()) {
            addrs.push(a.ip());
        }
    }
    (!addrs.is_empty()).then_some(addrs)
}

/// Why the server must not connect to `ip`, if it must not: a class of
/// [`forbidden_class`], or an address of this machine. IPv4 addresses carried inside IPv6
/// ones are judged as IPv4.
pub fn refused_address(ip: IpAddr) -> Option<AddressClass> {
    let ip = match ip {
        IpAddr::V6(a) => embedded_ipv4(a).map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    forbidden_class(ip).or_else(|| is_own_address(ip).then_some(AddressClass::ThisHost))
}

/// Is `ip` an address of one of this machine's interfaces (its public address too)? A
/// socket can be bound only to those. (On a host with `net.ipv4.ip_nonlocal_bind` set every
/// address binds, and every fetch is refused: safe, and visible.)
pub fn is_own_address(ip: IpAddr) -> bool {
    UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machines_addresses_are_refused() {
        assert!(is_own_address("127.0.0.1".parse().unwrap()));
        // Not an address of this machine (documentation range, never assigned).
        assert!(!is_own_address("192.0.2.77".parse().unwrap()));
        // The address this machine would use to reach the internet, if it has a route.
        if let Ok(s) = UdpSocket::bind("0.0.0.0:0")
            && s.connect("192.0.2.1:9").is_ok()
            && let Ok(local) = s.local_addr()
        {
            assert!(refused_address(local.ip()).is_some(), "{}", local.ip());
            assert!(is_own_address(local.ip()), "{}", local.ip());
        }
        assert_eq!(
            refused_address("::ffff:127.0.0.1".parse().unwrap()),
            Some(AddressClass::Loopback)
        );
    }

    #[tokio::test]
    async fn the_rule_refuses_what_is_not_public_unless_allow_listed() {
        let policy = crate::config::PackagesConfig::default().outbound_policy();
        let check = |u: &'static str, p: OutboundPolicy| async move {
            check_repository(u, &p, Unresolved::Refuse).await
        };
        for url in [
            "http://127.0.0.1:8080/x.git",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x.git",
            "http://0.0.0.0/x.git",
            "http://10.0.0.1/x.git",
            "http://[fc00::1]/x.git",
            "http://[::ffff:127.0.0.1]/x.git",
            "http://localhost/x.git",
        ] {
            assert!(
                matches!(
                    check(url, policy.clone()).await,
                    Err(Refusal::Address { .. })
                ),
                "{url}"
            );
        }
        assert_eq!(
            check("ssh://git@github.com/a/b", policy.clone()).await,
            Err(Refusal::Transport("ssh"))
        );
        assert_eq!(
            check("git@github.com:a/b", policy.clone()).await,
            Err(Refusal::Transport("ssh"))
        );
        assert_eq!(
            check("git://github.com/a/b", policy.clone()).await,
            Err(Refusal::Transport("git"))
        );
        let allowed = OutboundPolicy {
            allowed_hosts: vec!["127.0.0.1:8080".parse().unwrap(), "[::1]".parse().unwrap()],
            ..crate::config::PackagesConfig::default().outbound_policy()
        };
        let ok = check("http://127.0.0.1:8080/x.git", allowed.clone()).await;
        assert_eq!(
            ok.map(|t| match t {
                Target::Remote { addrs, .. } => addrs,
                Target::Local(_) => vec![],
            }),
            Ok(vec!["127.0.0.1".parse::<IpAddr>().unwrap()])
        );
        assert!(check("http://[::1]:9/x.git", allowed.clone()).await.is_ok());
        // Another port of an allowed host is not allowed.
        assert!(check("http://127.0.0.1:8081/x.git", allowed).await.is_err());
        // A name that does not resolve: accepted when stored, refused when fetched.
        let unknown = "https://no-such-host.invalid/x.git";
        assert!(
            check_repository(unknown, &policy, Unresolved::Accept)
                .await
                .is_ok()
        );
        assert!(matches!(
            check(unknown, policy).await,
            Err(Refusal::Unresolvable(_))
        ));
    }
}
