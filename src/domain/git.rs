//! What the push webhook needs to know about git repositories without running git: the
//! credentials of a private repository, the key two repository URLs compare by, which tag
//! names are safe, and where an add-on's mirror lives. Running git is the service layer's
//! (`service::git`).

use std::path::{Path, PathBuf};

use super::package::PackageName;

/// The credentials of a private repository, `username:token`, sent as HTTP Basic
/// authorization over https only. Kept as given (the server must present them), never
/// shown; `Debug` prints nothing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RepositoryCredentials(String);

impl RepositoryCredentials {
    /// `username:token`: a user name without `:`, a non-empty token, no control
    /// characters, at most 1024 bytes.
    pub fn parse(s: &str) -> Option<RepositoryCredentials> {
        let (user, token) = s.split_once(':')?;
        (!user.is_empty()
            && !token.is_empty()
            && s.len() <= 1024
            && !s.chars().any(char::is_control))
        .then(|| RepositoryCredentials(s.to_owned()))
    }

    /// The stored form (the text as given).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HTTP header that sends them (for git only; never logged).
    pub fn header(&self) -> String {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(self.0.as_bytes());
        format!("Authorization: Basic {encoded}")
    }
}

impl std::fmt::Debug for RepositoryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RepositoryCredentials(…)")
    }
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
    fn credentials_are_user_and_token_and_never_printed() {
        let c = RepositoryCredentials::parse("x-access-token:ghp_secret").unwrap();
        assert!(!format!("{c:?}").contains("ghp_secret"));
        assert_eq!(
            c.header(),
            "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hwX3NlY3JldA=="
        );
        for bad in ["", "token", ":token", "user:", "a:b\nc"] {
            assert!(RepositoryCredentials::parse(bad).is_none(), "{bad:?}");
        }
    }
}
