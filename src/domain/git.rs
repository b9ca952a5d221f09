//! Reading an add-on's tags from its git repository, for the push webhook: `git` runs as a
//! subprocess, without a shell, with validated arguments, a timeout, no terminal prompt,
//! no system configuration and only the transports the deployment allows. Each add-on
//! keeps a bare mirror under `DATA_DIR/git/VENDOR/NAME.git`; its tags are fetched there and
//! a tag's dist is built with `git archive --format=zip`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::process::Command;

use super::package::PackageName;

/// Why a git operation failed (for the log; never shown to a caller verbatim).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitError(pub String);

/// How git may run.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// Allow `file` transport (local repositories).
    pub allow_local: bool,
    /// Longest a command may run.
    pub timeout: Duration,
    /// Largest archive read (the upload limit).
    pub max_archive: usize,
}

/// A stable key for comparing repository URLs: host and path, lower case, without
/// `.git` or a trailing slash (`https://github.com/A/b.git` and `git@github.com:a/b`
/// compare equal); local paths as paths.
pub fn repository_key(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    let u = u.strip_suffix(".git").unwrap_or(u);
    if let Some(path) = u.strip_prefix("file://") {
        return path.to_owned();
    }
    if u.starts_with('/') {
        return u.to_owned();
    }
    if let Ok(parsed) = url::Url::parse(u)
        && let Some(host) = parsed.host_str()
    {
        return format!("{}{}", host, parsed.path()).to_lowercase();
    }
    if let Some((user_host, path)) = u.split_once(':')
        && let Some((_, host)) = user_host.split_once('@')
    {
        return format!("{host}/{}", path.trim_start_matches('/')).to_lowercase();
    }
    u.to_lowercase()
}

/// A tag name safe to pass to git and to use as a version text.
pub fn safe_tag(tag: &str) -> bool {
    super::package::valid_version_text(tag)
}

/// The mirror folder of an add-on.
pub fn mirror_dir(data_dir: &Path, name: &PackageName) -> PathBuf {
    data_dir
        .join("git")
        .join(name.vendor())
        .join(format!("{}.git", name.name()))
}

fn git(options: &GitOptions) -> Command {
    let mut cmd = Command::new("git");
    let protocols = if options.allow_local {
        "https:http:ssh:git:file"
    } else {
        "https:http:ssh:git"
    };
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", protocols)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_ASKPASS", "/bin/false")
        .env("SSH_ASKPASS", "/bin/false")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn run(mut cmd: Command, options: &GitOptions, limit: usize) -> Result<Vec<u8>, GitError> {
    let mut child = cmd
        .spawn()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| GitError("no stdout".into()))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| GitError("no stderr".into()))?;
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
        r1.map_err(|e| GitError(format!("reading git's output: {e}")))?;
        r2.map_err(|e| GitError(format!("reading git's errors: {e}")))?;
        if out.len() > limit {
            return Err(GitError(format!("git's output exceeds {limit} bytes")));
        }
        let status = child
            .wait()
            .await
            .map_err(|e| GitError(format!("waiting for git: {e}")))?;
        if !status.success() {
            let msg = String::from_utf8_lossy(&err);
            return Err(GitError(format!(
                "git failed ({status}): {}",
                msg.lines().last().unwrap_or("")
            )));
        }
        Ok(out)
    };
    tokio::time::timeout(options.timeout, work)
        .await
        .map_err(|_| GitError("git timed out".into()))?
}

/// Validates a repository URL for git: not an option, no control characters, and a local
/// path only when allowed.
fn check_url(url: &str, options: &GitOptions) -> Result<(), GitError> {
    let local = url.starts_with('/') || url.starts_with("file://");
    if url.is_empty()
        || url.starts_with('-')
        || url.chars().any(|c| c.is_control())
        || (local && !options.allow_local)
        || url.contains("::")
    {
        return Err(GitError("repository URL refused".into()));
    }
    Ok(())
}

/// Fetches every tag of `url` into the add-on's mirror and lists their names.
pub async fn fetch_tags(
    mirror: &Path,
    url: &str,
    options: &GitOptions,
) -> Result<Vec<String>, GitError> {
    check_url(url, options)?;
    if !tokio::fs::try_exists(mirror.join("HEAD"))
        .await
        .unwrap_or(false)
    {
        tokio::fs::create_dir_all(mirror)
            .await
            .map_err(|e| GitError(format!("cannot create the mirror: {e}")))?;
        let mut cmd = git(options);
        cmd.arg("init")
            .arg("--bare")
            .arg("--quiet")
            .arg("--")
            .arg(mirror);
        run(cmd, options, 64 * 1024).await?;
    }
    let mut cmd = git(options);
    cmd.arg("--git-dir")
        .arg(mirror)
        .args([
            "fetch",
            "--quiet",
            "--no-write-fetch-head",
            "--force",
            "--prune",
            "--",
        ])
        .arg(url)
        .arg("+refs/tags/*:refs/tags/*");
    run(cmd, options, 1024 * 1024).await?;
    let mut cmd = git(options);
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
        return Err(GitError(format!("unsafe tag name {tag:?}")));
    }
    let mut cmd = git(options);
    cmd.arg("--git-dir")
        .arg(mirror)
        .args(["archive", "--format=zip"])
        .arg(format!("refs/tags/{tag}"));
    run(cmd, options, options.max_archive).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_compare_by_host_and_path() {
        let k = repository_key("https://GitHub.com/Acme/Lib.git");
        assert_eq!(k, "github.com/acme/lib");
        assert_eq!(repository_key("git@github.com:acme/lib.git"), k);
        assert_eq!(repository_key("ssh://git@github.com/acme/lib"), k);
        assert_eq!(repository_key("https://github.com/acme/lib/"), k);
        assert_eq!(repository_key("file:///srv/git/lib.git"), "/srv/git/lib");
        assert_eq!(repository_key("/srv/git/lib"), "/srv/git/lib");
    }

    #[test]
    fn option_like_urls_and_local_paths_are_refused() {
        let options = GitOptions {
            allow_local: false,
            timeout: Duration::from_secs(1),
            max_archive: 1,
        };
        for bad in [
            "-uhttp://x",
            "/srv/git",
            "file:///srv",
            "ext::sh -c id",
            "a\nb",
        ] {
            assert!(check_url(bad, &options).is_err(), "{bad}");
        }
        assert!(check_url("https://example.com/a.git", &options).is_ok());
    }
}
