//! Reading an add-on's tags from its git repository, for the push webhook: `git` runs as a
//! subprocess, without a shell, with validated arguments, a timeout, no terminal prompt,
//! a clean environment without system or user configuration, and only the one transport
//! the URL needs. The URL passes the outbound-fetch policy ([`super::outbound`]) before
//! every fetch, and git connects only to the addresses that policy checked. Each add-on
//! keeps a bare mirror under `DATA_DIR/git/VENDOR/NAME.git`; its tags are fetched there and
//! a tag's dist is built with `git archive --format=zip`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::process::Command;

use super::outbound::{Target, Unresolved, check_repository};
use crate::domain::git::{RepositoryCredentials, safe_tag};
use crate::domain::outbound::{HostName, OutboundPolicy, Refusal, Transport};

/// Why a git operation failed (for the log; never shown to a caller verbatim).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The outbound-fetch policy refused the repository: nothing was contacted.
    #[error("repository refused: the URL {0}")]
    Refused(#[from] Refusal),
    /// git failed, timed out or could not run.
    #[error("{0}")]
    Failed(String),
}

fn failed(message: impl Into<String>) -> GitError {
    GitError::Failed(message.into())
}

/// How git may run.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// What may be fetched from where.
    pub policy: OutboundPolicy,
    /// Longest a command may run.
    pub timeout: Duration,
    /// Largest archive read (the upload limit).
    pub max_archive: usize,
    /// An empty folder that git gets as `HOME`: no user configuration, no `.netrc`.
    pub home: PathBuf,
}

/// What one git command may do on the network: the transport it may use, configuration
/// passed through the environment (never argv, which every local user can read) and the
/// ssh command.
#[derive(Default)]
struct Network {
    /// `GIT_ALLOW_PROTOCOL`: empty for commands that need no network.
    protocols: &'static str,
    /// `GIT_CONFIG_KEY_n` / `GIT_CONFIG_VALUE_n`.
    config: Vec<(&'static str, String)>,
    /// `GIT_SSH_COMMAND`.
    ssh: Option<String>,
}

/// A git command with a clean environment: nothing of the server's environment (proxies,
/// `GIT_*` variables) and no system, global or user configuration — nothing can send the
/// connection elsewhere than where [`Network`] pins it.
fn git(options: &GitOptions, network: &Network) -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("HOME", &options.home)
        .env("LC_ALL", "C")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env("SSH_ASKPASS", "/bin/false")
        .env("GIT_ALLOW_PROTOCOL", network.protocols)
        .env(
            "GIT_SSH_COMMAND",
            network.ssh.as_deref().unwrap_or("ssh -o BatchMode=yes"),
        )
        .env("GIT_SSH_VARIANT", "ssh")
        .env("GIT_CONFIG_COUNT", network.config.len().to_string());
    // Trust anchors are the operator's business, and cannot redirect a connection.
    for var in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    for (i, (key, value)) in network.config.iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), key)
            .env(format!("GIT_CONFIG_VALUE_{i}"), value);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn run(mut cmd: Command, options: &GitOptions, limit: usize) -> Result<Vec<u8>, GitError> {
    let mut child = cmd
        .spawn()
        .map_err(|e| failed(format!("cannot run git: {e}")))?;
    let mut stdout = child.stdout.take().ok_or_else(|| failed("no stdout"))?;
    let mut stderr = child.stderr.take().ok_or_else(|| failed("no stderr"))?;
    let work = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async {
            (&mut stdout)
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .await
        };
        let read_err = async { (&mut stderr).take(64 * 1024).read_to_end(&mut err).await };
        let (r1, r2) = tokio::join!(read_out, read_err);
        r1.map_err(|e| failed(format!("reading git's output: {e}")))?;
        r2.map_err(|e| failed(format!("reading git's errors: {e}")))?;
        if out.len() > limit {
            return Err(failed(format!("git's output exceeds {limit} bytes")));
        }
        let status = child
            .wait()
            .await
            .map_err(|e| failed(format!("waiting for git: {e}")))?;
        if !status.success() {
            let msg = String::from_utf8_lossy(&err);
            return Err(failed(format!(
                "git failed ({status}): {}",
                msg.lines().last().unwrap_or("")
            )));
        }
        Ok(out)
    };
    tokio::time::timeout(options.timeout, work)
        .await
        .map_err(|_| failed("git timed out"))?
}

/// The first git version with `http.curloptResolve`, which pins https and http
/// connections to the addresses checked.
const PINNING_GIT: (u32, u32) = (2, 37);

/// Whether the installed git pins http connections (asked once per process: the answer
/// is a fact about the binary).
async fn git_pins_http(options: &GitOptions) -> bool {
    static PINS: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
    *PINS
        .get_or_init(|| async {
            let mut cmd = git(options, &Network::default());
            cmd.arg("--version");
            match run(cmd, options, 1024).await {
                Ok(out) => version_at_least(&String::from_utf8_lossy(&out), PINNING_GIT),
                Err(_) => false,
            }
        })
        .await
}

/// `git version 2.39.5` (or `2.39.5.windows.1`) is at least `want`?
fn version_at_least(output: &str, want: (u32, u32)) -> bool {
    let Some(v) = output.trim().strip_prefix("git version ") else {
        return false;
    };
    let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= want,
        _ => false,
    }
}

fn bracketed(ip: IpAddr) -> String {
    HostName::Ip(ip).to_string()
}

/// The URL git fetches and the network it may use: the connection pinned to the checked
/// addresses, redirects off, credentials (https only) in a header from the environment.
async fn pin(
    target: Target,
    credentials: Option<&RepositoryCredentials>,
    options: &GitOptions,
) -> Result<(String, Network), GitError> {
    let (remote, addrs) = match target {
        Target::Local(path) => {
            if credentials.is_some() {
                return Err(failed("credentials are sent over https only"));
            }
            let network = Network {
                protocols: "file",
                ..Network::default()
            };
            return Ok((path, network));
        }
        Target::Remote { remote, addrs } => (remote, addrs),
    };
    let first = *addrs
        .first()
        .ok_or_else(|| failed("no address to connect to"))?;
    if credentials.is_some() && remote.transport != Transport::Https {
        return Err(failed("credentials are sent over https only"));
    }
    let secs = options.timeout.as_secs().max(1);
    let mut network = Network {
        protocols: remote.transport.as_str(),
        ..Network::default()
    };
    let url = match remote.transport {
        Transport::Https | Transport::Http => {
            network.config.extend([
                // A redirect could lead anywhere; repositories are named by their final URL.
                ("http.followRedirects", "false".to_owned()),
                // A server that stops sending is dropped by curl itself (git-remote-http
                // outlives a killed git otherwise).
                ("http.lowSpeedLimit", "1".to_owned()),
                ("http.lowSpeedTime", secs.to_string()),
            ]);
            if let HostName::Domain(name) = &remote.host {
                if !git_pins_http(options).await {
                    return Err(failed(format!(
                        "git {}.{} or newer is needed to fetch by host name",
                        PINNING_GIT.0, PINNING_GIT.1
                    )));
                }
                let list: Vec<String> = addrs.iter().map(|a| bracketed(*a)).collect();
                network.config.push((
                    "http.curloptResolve",
                    format!("{name}:{}:{}", remote.port, list.join(",")),
                ));
            }
            if let Some(c) = credentials {
                network.config.push(("http.extraHeader", c.header()));
            }
            remote.url
        }
        Transport::Ssh => {
            // ssh connects to the checked address whatever host git passes it, and checks
            // the host key under the name of the URL. No ssh_config: it could name a proxy
            // command or another host.
            let mut ssh = format!(
                "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
                 -o UpdateHostKeys=no -o ConnectTimeout={secs} -o HostName={first}"
            );
            if let HostName::Domain(name) = &remote.host {
                ssh.push_str(&format!(" -o HostKeyAlias={name}"));
            }
            network.ssh = Some(ssh);
            remote.url
        }
        // The git protocol has no name to keep: connect to the address itself.
        Transport::Git => format!("git://{}:{}{}", bracketed(first), remote.port, remote.path),
    };
    Ok((url, network))
}

/// Fetches every tag of `url` into the add-on's mirror and lists their names. The URL is
/// checked by the outbound-fetch policy first ([`check_repository`]); git then connects
/// only to the addresses checked.
pub async fn fetch_tags(
    mirror: &Path,
    url: &str,
    credentials: Option<&RepositoryCredentials>,
    options: &GitOptions,
) -> Result<Vec<String>, GitError> {
    let target = check_repository(url, &options.policy, Unresolved::Refuse).await?;
    let (url, network) = pin(target, credentials, options).await?;
    fetch_pinned(mirror, &url, &network, options).await
}

/// The fetch itself, with the network [`pin`] decided.
async fn fetch_pinned(
    mirror: &Path,
    url: &str,
    network: &Network,
    options: &GitOptions,
) -> Result<Vec<String>, GitError> {
    tokio::fs::create_dir_all(&options.home)
        .await
        .map_err(|e| failed(format!("cannot create git's home: {e}")))?;
    let offline = Network::default();
    if !tokio::fs::try_exists(mirror.join("HEAD"))
        .await
        .unwrap_or(false)
    {
        tokio::fs::create_dir_all(mirror)
            .await
            .map_err(|e| failed(format!("cannot create the mirror: {e}")))?;
        let mut cmd = git(options, &offline);
        cmd.arg("init")
            .arg("--bare")
            .arg("--quiet")
            .arg("--")
            .arg(mirror);
        run(cmd, options, 64 * 1024).await?;
    }
    let mut cmd = git(options, network);
    cmd.arg("--git-dir")
        .arg(mirror)
        .args([
            "fetch",
            "--quiet",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--force",
            "--prune",
            "--",
        ])
        .arg(url)
        .arg("+refs/tags/*:refs/tags/*");
    run(cmd, options, 1024 * 1024).await?;
    let mut cmd = git(options, &offline);
    cmd.arg("--git-dir").arg(mirror).args([
        "for-each-ref",
        "--format=%(refname:strip=2)",
        "refs/tags",
    ]);
    let out = run(cmd, options, 4 * 1024 * 1024).await?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_owned)
        .filter(|t| safe_tag(t))
        .collect())
}

/// The zip of a tag (`git archive --format=zip`), bounded by the upload limit.
pub async fn archive_tag(
    mirror: &Path,
    tag: &str,
    options: &GitOptions,
) -> Result<Vec<u8>, GitError> {
    if !safe_tag(tag) {
        return Err(failed(format!("unsafe tag name {tag:?}")));
    }
    let mut cmd = git(options, &Network::default());
    cmd.arg("--git-dir")
        .arg(mirror)
        .args(["archive", "--format=zip"])
        .arg(format!("refs/tags/{tag}"));
    run(cmd, options, options.max_archive).await
}

/// The commit a tag names (`git rev-parse`), in hex.
pub async fn tag_commit(
    mirror: &Path,
    tag: &str,
    options: &GitOptions,
) -> Result<String, GitError> {
    if !safe_tag(tag) {
        return Err(failed(format!("unsafe tag name {tag:?}")));
    }
    let mut cmd = git(options, &Network::default());
    cmd.arg("--git-dir")
        .arg(mirror)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/tags/{tag}^{{commit}}"));
    let out = run(cmd, options, 1024).await?;
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outbound::{Repository, parse_repository};

    fn options(policy: OutboundPolicy) -> GitOptions {
        GitOptions {
            policy,
            timeout: Duration::from_secs(7),
            max_archive: 1,
            home: PathBuf::from("/nonexistent"),
        }
    }

    fn config(network: &Network, key: &str) -> Option<String> {
        network
            .config
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn git_versions_compare() {
        assert!(version_at_least("git version 2.39.5\n", (2, 37)));
        assert!(version_at_least("git version 2.37.0.windows.1", (2, 37)));
        assert!(version_at_least("git version 3.0.0", (2, 37)));
        assert!(!version_at_least("git version 2.36.9", (2, 37)));
        assert!(!version_at_least("nonsense", (2, 37)));
    }

    #[tokio::test]
    async fn connections_are_pinned_to_the_checked_addresses() {
        let options = options(crate::config::PackagesConfig::default().outbound_policy());
        let remote = |u: &str| match parse_repository(u, false).unwrap() {
            Repository::Remote(r) => r,
            Repository::Local(_) => unreachable!(),
        };
        let addrs: Vec<IpAddr> = vec![
            "140.82.121.3".parse().unwrap(),
            "2606:50c0::1".parse().unwrap(),
        ];
        let target = |u: &str| Target::Remote {
            remote: remote(u),
            addrs: addrs.clone(),
        };
        let creds = RepositoryCredentials::parse("u:t").unwrap();

        let (url, n) = pin(target("https://github.com/a/b.git"), Some(&creds), &options)
            .await
            .unwrap();
        assert_eq!(url, "https://github.com/a/b.git");
        assert_eq!(n.protocols, "https");
        assert_eq!(
            config(&n, "http.curloptResolve").as_deref(),
            Some("github.com:443:140.82.121.3,[2606:50c0::1]")
        );
        assert_eq!(config(&n, "http.followRedirects").as_deref(), Some("false"));
        assert_eq!(config(&n, "http.lowSpeedTime").as_deref(), Some("7"));
        assert!(
            config(&n, "http.extraHeader")
                .unwrap()
                .starts_with("Authorization: Basic ")
        );

        // Credentials never travel in clear text.
        assert!(
            pin(target("http://github.com/a/b.git"), Some(&creds), &options)
                .await
                .is_err()
        );
        assert!(
            pin(
                target("ssh://git@github.com/a/b.git"),
                Some(&creds),
                &options
            )
            .await
            .is_err()
        );

        let (url, n) = pin(target("git@github.com:a/b.git"), None, &options)
            .await
            .unwrap();
        assert_eq!(url, "git@github.com:a/b.git");
        let ssh = n.ssh.unwrap();
        assert!(ssh.contains("-F /dev/null"), "{ssh}");
        assert!(
            ssh.contains("-o HostName=140.82.121.3 -o HostKeyAlias=github.com"),
            "{ssh}"
        );
        assert_eq!(n.protocols, "ssh");

        let (url, n) = pin(target("git://github.com/a/b.git"), None, &options)
            .await
            .unwrap();
        assert_eq!(url, "git://140.82.121.3:9418/a/b.git");
        assert_eq!(n.protocols, "git");

        // An address literal needs no pin: curl does not resolve it.
        let literal = Target::Remote {
            remote: remote("http://140.82.121.3:8080/a.git"),
            addrs: vec!["140.82.121.3".parse().unwrap()],
        };
        let (_, n) = pin(literal, None, &options).await.unwrap();
        assert_eq!(config(&n, "http.curloptResolve"), None);

        // Nothing checked, nothing to connect to.
        let unchecked = Target::Remote {
            remote: remote("https://github.com/a/b.git"),
            addrs: vec![],
        };
        assert!(pin(unchecked, None, &options).await.is_err());
    }

    /// A bare repository with tag `1.0.0` under `root/r.git`, for git's dumb HTTP protocol.
    fn served_repository(root: &Path) {
        let sh = |dir: &Path, args: &[&str]| {
            let ok = std::process::Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        let work = root.join("work");
        std::fs::create_dir_all(&work).unwrap();
        sh(&work, &["init", "--quiet", "-b", "main"]);
        std::fs::write(work.join("a.txt"), "a").unwrap();
        sh(&work, &["add", "-A"]);
        sh(&work, &["commit", "--quiet", "-m", "a"]);
        sh(&work, &["tag", "1.0.0"]);
        let bare = root.join("r.git");
        sh(root, &["clone", "--bare", "--quiet", "work", "r.git"]);
        sh(&bare, &["update-server-info"]);
    }

    #[tokio::test]
    async fn git_connects_to_the_pinned_address_whatever_the_name_resolves_to() {
        let dir = tempfile::tempdir().unwrap();
        served_repository(dir.path());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let (root, log) = (dir.path().to_owned(), seen.clone());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (root, log) = (root.clone(), log.clone());
            async move {
                let auth = request.headers().get("authorization");
                let auth = auth.and_then(|v| v.to_str().ok()).unwrap_or("-");
                let host = request.headers().get("host").and_then(|v| v.to_str().ok());
                log.lock().unwrap().push(format!(
                    "{} {} {auth}",
                    host.unwrap_or("-"),
                    request.uri().path()
                ));
                let path = root.join(request.uri().path().trim_start_matches('/'));
                match tokio::fs::read(path).await {
                    Ok(bytes) => (axum::http::StatusCode::OK, bytes),
                    Err(_) => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let mut options = options(crate::config::PackagesConfig::default().outbound_policy());
        options.home = dir.path().join("home");
        // `.invalid` never resolves: only the pin can bring git to the server.
        let url = format!("http://pinned.invalid:{port}/r.git");
        let Ok(Repository::Remote(remote)) = parse_repository(&url, false) else {
            panic!("{url}");
        };
        let target = Target::Remote {
            remote,
            addrs: vec!["127.0.0.1".parse().unwrap()],
        };
        let (url, mut network) = pin(target, None, &options).await.unwrap();
        // The credentials header travels through the environment (here over http, which
        // `pin` itself never allows, to see it arrive).
        let creds = RepositoryCredentials::parse("u:t").unwrap();
        network.config.push(("http.extraHeader", creds.header()));
        let mirror = dir.path().join("mirror.git");
        let tags = fetch_pinned(&mirror, &url, &network, &options)
            .await
            .unwrap();
        assert_eq!(tags, ["1.0.0"]);
        let seen = seen.lock().unwrap().clone();
        assert!(!seen.is_empty());
        for request in &seen {
            assert!(
                request.starts_with(&format!("pinned.invalid:{port} /r.git/"))
                    && request.ends_with(" Basic dTp0"),
                "{request}"
            );
        }
        server.abort();
    }

    #[tokio::test]
    async fn refused_urls_never_reach_git() {
        let dir = tempfile::tempdir().unwrap();
        let options = options(crate::config::PackagesConfig::default().outbound_policy());
        for url in [
            "-uhttp://x",
            "/srv/git",
            "file:///srv",
            "ext::sh -c id",
            "a\nb",
            "http://127.0.0.1:9/x.git",
            "http://[::1]:9/x.git",
            "ssh://git@example.com/x.git",
        ] {
            let e = fetch_tags(&dir.path().join("m.git"), url, None, &options).await;
            assert!(matches!(e, Err(GitError::Refused(_))), "{url}: {e:?}");
        }
        assert!(!dir.path().join("m.git").exists());
    }
}
