//! Every setting of the server, as `--flag` and `HARMONY_*` environment variable, with its
//! default and why it is what it is. The command line ([`crate::cli`]) flattens these groups
//! into the subcommands that need them.
//!
//! Each default is written once, in its `#[arg]` attribute: every `Default` here, and
//! [`ServeConfig::for_database`], is what the command line parses from no arguments (the
//! environment ignored), so that the code and `--help` cannot disagree. Settings that
//! take one of a few words are enums ([`clap::ValueEnum`]): a word that is none of them
//! is refused when the command line is read, never taken for the default.

use std::net::SocketAddr;

use clap::builder::PossibleValue;
use clap::{Args, FromArgMatches, ValueEnum};

use crate::domain::outbound::Transport;

/// `T` with every setting at its default: what the command line parses from no argument,
/// with the `HARMONY_*` variables of this process ignored (a test or an embedding names
/// what it changes).
fn defaults<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("harmony")).mut_args(|arg| arg.env(None));
    // Every setting has a default or is optional: the unit tests build each group.
    let matches = command
        .try_get_matches_from(["harmony"])
        .expect("every setting has a default");
    T::from_arg_matches(&matches).expect("the defaults are valid settings")
}

/// How SQLite makes commits durable (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSynchronous {
    /// Survives a crash of the process (in WAL mode, nothing committed is lost); a crash
    /// of the machine may roll back the last commits.
    Normal,
    /// Also survives a crash of the machine, at the cost of one fsync per commit.
    Full,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The git transports as `HARMONY_GIT_PROTOCOLS` names them (the domain's type, spelled
/// for the command line here, so that the domain does not know about clap).
impl ValueEnum for Transport {
    fn value_variants<'a>() -> &'a [Self] {
        &Transport::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct DatabaseConfig {
    /// Database URL: `sqlite://FILE` (created when missing; its folder must exist) or
    /// `postgres://USER@HOST/DB`.
    #[arg(
        long = "database",
        env = "HARMONY_DATABASE_URL",
        default_value = "sqlite://harmony.db"
    )]
    pub url: String,

    /// Most connections the pool opens (PostgreSQL; default 16), or reader connections
    /// (SQLite, which always writes through a single connection; default one per CPU harmony
    /// may run on, at least 2).
    #[arg(long, env = "HARMONY_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,

    /// Most of those connections the marketplace listing (`GET /packages`: its pages and
    /// searches, the costliest reads anyone may ask for) holds at once; further listings
    /// wait their turn, and the rest of the pool stays free for the rest of the API.
    /// Default: half of the pool (of SQLite's readers), at least 2.
    #[arg(long, env = "HARMONY_DB_LISTING_CONNECTIONS")]
    pub db_listing_connections: Option<u32>,

    /// Seconds to wait for a free connection before failing the request with a 503.
    #[arg(long, env = "HARMONY_DB_ACQUIRE_TIMEOUT", default_value_t = 5)]
    pub db_acquire_timeout: u64,

    /// Milliseconds after which PostgreSQL cancels a statement (0: no limit).
    #[arg(
        long,
        env = "HARMONY_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub db_statement_timeout_ms: u64,

    /// SQLite durability: `normal` survives a crash of the process (WAL), `full` also a
    /// crash of the machine, at the cost of one fsync per write.
    #[arg(long, env = "HARMONY_SQLITE_SYNCHRONOUS", value_enum,
          default_value_t = SqliteSynchronous::Normal)]
    pub sqlite_synchronous: SqliteSynchronous,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        defaults()
    }
}

impl DatabaseConfig {
    /// A configuration for the given URL with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

/// Password hashing: argon2id, OWASP's recommended parameters by default
/// (19 MiB, 2 iterations, 1 lane).
#[derive(Debug, Clone, PartialEq, Args)]
pub struct HashingConfig {
    /// argon2id memory cost in KiB.
    #[arg(long, env = "HARMONY_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,

    /// argon2id iterations.
    #[arg(long, env = "HARMONY_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// argon2id lanes.
    #[arg(long, env = "HARMONY_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,

    /// How many hashes may run at once (0: one per CPU). Argon2 is memory-hard, so this
    /// also caps the memory that logins can take: this × the memory cost.
    #[arg(long, env = "HARMONY_HASH_CONCURRENCY", default_value_t = 0)]
    pub hash_concurrency: usize,
}

impl Default for HashingConfig {
    fn default() -> Self {
        defaults()
    }
}

/// Token lifetimes and the deprecated compatibility paths.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct OAuthConfig {
    /// Lifetime of an access token in seconds (the documented answer says 3600).
    #[arg(long, env = "HARMONY_ACCESS_TOKEN_TTL", default_value_t = 3600)]
    pub access_token_ttl: i64,

    /// Lifetime of a refresh token in seconds; each rotation starts a new one.
    #[arg(long, env = "HARMONY_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl: i64,

    /// Seconds after a rotation during which the same client may present the rotated
    /// refresh token again (a retry, a second tab) and get a new pair of the same grant,
    /// up to three times; a reuse after that revokes the grant. `0`: every reuse revokes.
    #[arg(long, env = "HARMONY_REFRESH_REUSE_GRACE", default_value_t = 10)]
    pub refresh_reuse_grace: i64,

    /// Days that revoked and expired tokens stay listed in API Access before cleanup.
    #[arg(long, env = "HARMONY_TOKEN_RETENTION_DAYS", default_value_t = 30)]
    pub token_retention_days: i64,

    /// Allow the password grant (the documented HarmonyCMS flow; RFC 9700 §2.4 says it
    /// must not be used). `--password-grant false` answers `unsupported_grant_type`.
    #[arg(
        long,
        env = "HARMONY_PASSWORD_GRANT",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub password_grant: bool,

    /// Accept access tokens in the `access_token` query parameter (documented, but URLs
    /// leak into logs and histories; RFC 6750 §2.3). `--query-tokens false` answers such
    /// requests `400 invalid_request`.
    #[arg(
        long,
        env = "HARMONY_QUERY_TOKENS",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub query_tokens: bool,

    /// Require a server nonce in every DPoP proof (RFC 9449 §8–9): a proof without a
    /// current one is answered `use_dpop_nonce` with a fresh one in `DPoP-Nonce`. Off by
    /// default: every proof is already limited to a minute and to one use (on every node),
    /// and a nonce costs each client an extra round trip. Turn it on when clients' clocks
    /// cannot be trusted or proofs might be made ahead of time on a compromised device.
    #[arg(
        long,
        env = "HARMONY_DPOP_NONCE",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub dpop_nonce: bool,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        defaults()
    }
}

/// Request rate limits (per node) and the failed-credentials limiter (shared through the
/// database); see docs/api.md. `0` disables a limit.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct LimitsConfig {
    /// Requests per window for each access token.
    #[arg(long, env = "HARMONY_RATE_LIMIT_TOKEN", default_value_t = 5000)]
    pub rate_limit_token: u32,

    /// Requests per window for each client address without a valid token.
    #[arg(long, env = "HARMONY_RATE_LIMIT_ANONYMOUS", default_value_t = 1000)]
    pub rate_limit_anonymous: u32,

    /// The window of the two limits above, in seconds.
    #[arg(long, env = "HARMONY_RATE_LIMIT_WINDOW", default_value_t = 3600)]
    pub rate_limit_window: u64,

    /// Failed credential checks (password, client secret) tolerated per account (or client)
    /// and client address within the failure window before answering 429. Counted in the
    /// database, so the limit holds across nodes.
    #[arg(long, env = "HARMONY_FAILED_AUTH_LIMIT", default_value_t = 30)]
    pub failed_auth_limit: u32,

    /// Failed password checks tolerated per client address over all accounts within the
    /// failure window (password spraying); wrong client secrets per address are counted
    /// apart against the same number. High enough for an office behind one NAT address;
    /// an IPv6 address counts by its /64.
    #[arg(long, env = "HARMONY_FAILED_AUTH_ADDRESS_LIMIT", default_value_t = 300)]
    pub failed_auth_address_limit: u32,

    /// The failure window, in seconds.
    #[arg(long, env = "HARMONY_FAILED_AUTH_WINDOW", default_value_t = 900)]
    pub failed_auth_window: u64,

    /// Largest request body in bytes (413 beyond it).
    #[arg(long, env = "HARMONY_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,

    /// Take the client address from the last `X-Forwarded-For` hop (only behind a proxy
    /// that sets it; otherwise clients could choose their own rate-limit key).
    #[arg(long, env = "HARMONY_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        defaults()
    }
}

/// The add-on marketplace: where dists live and how uploads are bounded.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct PackagesConfig {
    /// Folder for uploaded dists and git mirrors (created when missing).
    #[arg(long, env = "HARMONY_DATA_DIR", default_value = "./harmony-data")]
    pub data_dir: std::path::PathBuf,

    /// Largest add-on upload (the zip) in bytes; 413 beyond it.
    #[arg(long, env = "HARMONY_PACKAGE_UPLOAD_LIMIT", default_value_t = 32 * 1024 * 1024)]
    pub package_upload_limit: usize,

    /// Most bytes an uploaded zip may expand to, all entries together.
    #[arg(long, env = "HARMONY_PACKAGE_MAX_UNCOMPRESSED", default_value_t = 256 * 1024 * 1024)]
    pub package_max_uncompressed: u64,

    /// Most entries (files and folders) in an uploaded zip.
    #[arg(long, env = "HARMONY_PACKAGE_MAX_ENTRIES", default_value_t = 10_000)]
    pub package_max_entries: usize,

    /// Largest expansion ratio of one zip entry (entries under 64 KiB are exempt).
    #[arg(long, env = "HARMONY_PACKAGE_MAX_RATIO", default_value_t = 100)]
    pub package_max_ratio: u64,

    /// Let add-ons name a git repository on this machine (a path or `file://` URL) for the
    /// push webhook. Off by default: it lets users read any repository the server can.
    #[arg(long, env = "HARMONY_ALLOW_LOCAL_REPOSITORIES")]
    pub allow_local_repositories: bool,

    /// Seconds a git command of the webhook may run.
    #[arg(long, env = "HARMONY_GIT_TIMEOUT", default_value_t = 120)]
    pub git_timeout: u64,

    /// The git transports add-on repositories may use, comma-separated: `https`, `http`,
    /// `ssh` (also `user@host:path`), `git`. ssh and git are off by default: ssh fetches
    /// with the server account's own keys, and git:// is neither encrypted nor
    /// authenticated.
    #[arg(
        long,
        env = "HARMONY_GIT_PROTOCOLS",
        value_enum,
        value_delimiter = ',',
        default_value = "https,http"
    )]
    pub git_protocols: Vec<Transport>,

    /// Hosts the webhook may fetch from although they are not public (an internal git
    /// server), comma-separated `host` or `host:port` (`[fd00::1]:443` for IPv6). Empty by
    /// default: only public addresses are fetched from.
    #[arg(long, env = "HARMONY_GIT_ALLOWED_HOSTS", default_value = "")]
    pub git_allowed_hosts: crate::domain::outbound::AllowedHosts,

    /// Most add-ons of one owner waiting for a sync; a push beyond it is answered 429.
    #[arg(long, env = "HARMONY_GIT_SYNC_QUEUE", default_value_t = 100)]
    pub git_sync_queue: usize,

    /// Most syncs running at once in this process (each owner's run one at a time).
    #[arg(long, env = "HARMONY_GIT_CONCURRENT_SYNCS", default_value_t = 8)]
    pub git_concurrent_syncs: usize,

    /// Milliseconds between two writes of the download counts gathered in memory from
    /// Composer's install notifications (they are also written at shutdown).
    #[arg(long, env = "HARMONY_DOWNLOADS_FLUSH_MS", default_value_t = 10_000)]
    pub downloads_flush_ms: u64,
}

impl Default for PackagesConfig {
    fn default() -> Self {
        defaults()
    }
}

impl PackagesConfig {
    /// What the webhook may fetch from, by these settings.
    pub fn outbound_policy(&self) -> crate::domain::outbound::OutboundPolicy {
        crate::domain::outbound::OutboundPolicy {
            allow_local: self.allow_local_repositories,
            transports: self.git_protocols.clone(),
            allowed_hosts: self.git_allowed_hosts.0.clone(),
        }
    }

    /// The zip limits.
    pub fn archive_limits(&self) -> crate::domain::archive::ArchiveLimits {
        crate::domain::archive::ArchiveLimits {
            max_entries: self.package_max_entries,
            max_uncompressed: self.package_max_uncompressed,
            max_ratio: self.package_max_ratio.max(1),
        }
    }
}

/// Everything `harmony serve` needs.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct ServeConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "HARMONY_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The server's public base URL (`https://api.example.com`), used for every URL it
    /// prints. Defaults to `http://` and the bound address; never taken from `Host`.
    #[arg(long, env = "HARMONY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Milliseconds that token and client lookups are remembered (0: not at all). This
    /// node sees its own revocations at once; it bounds how long a token revoked on
    /// another node still works here.
    #[arg(long, env = "HARMONY_AUTH_CACHE_MS", default_value_t = 500)]
    pub auth_cache_ms: u64,

    /// Milliseconds between two readings of the database's registry generation by the
    /// Composer document cache (0: on every request). This node sees its own add-on
    /// changes at once; it bounds how long a document changed by another node (or by
    /// another process on the same database) is still served here in its older form.
    #[arg(long, env = "HARMONY_REGISTRY_CACHE_MS", default_value_t = 500)]
    pub registry_cache_ms: u64,

    /// Seconds that shutdown waits for requests in flight before it closes them.
    #[arg(long, env = "HARMONY_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,

    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub hashing: HashingConfig,

    #[command(flatten)]
    pub oauth: OAuthConfig,

    #[command(flatten)]
    pub limits: LimitsConfig,

    #[command(flatten)]
    pub packages: PackagesConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        defaults()
    }
}

impl ServeConfig {
    /// What `harmony serve --database URL` runs with when no `HARMONY_*` variable is set:
    /// the given database, every other setting at its default (listening on
    /// `127.0.0.1:8080`; a test that serves sets `bind` to port 0). For tests and
    /// embedding.
    pub fn for_database(url: impl Into<String>) -> Self {
        Self {
            database: DatabaseConfig::new(url),
            ..Self::default()
        }
    }
}

/// Logging settings, global to every subcommand.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct LogConfig {
    /// Log filter in `tracing` syntax (`info`, `harmony=debug,sqlx=warn`). A filter that
    /// does not parse stops the program at start.
    #[arg(
        long = "log",
        env = "HARMONY_LOG",
        default_value = "info",
        global = true
    )]
    pub filter: String,

    /// Log format.
    #[arg(
        long = "log-format",
        env = "HARMONY_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub format: LogFormat,
}

/// Starts the global `tracing` subscriber. Logs go to stderr, so that a command's JSON on
/// stdout stays clean. A filter that does not parse is an error (an operator who asked for
/// `harmony=debug` and typed it wrong should hear so, not get `info` silently).
pub fn init_tracing(log: &LogConfig) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&log.filter).map_err(|e| {
        anyhow::anyhow!(
            "the log filter {:?} (HARMONY_LOG or --log) is not valid: {e}",
            log.filter
        )
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second initialisation (tests) keeps the first subscriber.
    let _ = result;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_has_defaults_and_they_are_the_documented_ones() {
        let serve = ServeConfig::default();
        assert_eq!(serve.bind, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(serve.auth_cache_ms, 500);
        assert_eq!(serve.registry_cache_ms, 500);
        assert_eq!(serve.database, DatabaseConfig::default());
        assert_eq!(serve.database.url, "sqlite://harmony.db");
        assert_eq!(serve.database.sqlite_synchronous, SqliteSynchronous::Normal);
        assert_eq!(serve.hashing, HashingConfig::default());
        assert_eq!(serve.hashing.argon2_memory_kib, 19_456);
        assert_eq!(serve.oauth, OAuthConfig::default());
        assert!(serve.oauth.password_grant && serve.oauth.query_tokens);
        assert_eq!(serve.limits, LimitsConfig::default());
        assert_eq!(serve.limits.body_limit, 1024 * 1024);
        assert_eq!(serve.packages, PackagesConfig::default());
        assert_eq!(
            serve.packages.git_protocols,
            [Transport::Https, Transport::Http]
        );
        assert!(serve.packages.git_allowed_hosts.0.is_empty());
    }

    #[test]
    fn for_database_changes_only_the_url() {
        let config = ServeConfig::for_database("postgres://db/x");
        assert_eq!(config.database.url, "postgres://db/x");
        let mut expected = ServeConfig::default();
        expected.database.url = "postgres://db/x".into();
        assert_eq!(config, expected);
    }

    #[test]
    fn a_log_filter_that_does_not_parse_is_an_error() {
        let log = LogConfig {
            filter: "harmony=loud".into(),
            format: LogFormat::Text,
        };
        let error = init_tracing(&log).unwrap_err().to_string();
        assert!(error.contains("HARMONY_LOG"), "{error}");
        assert!(error.contains("harmony=loud"), "{error}");
    }

    #[test]
    fn the_git_protocols_are_the_transports() {
        let names: Vec<String> = Transport::value_variants()
            .iter()
            .map(|t| t.to_possible_value().unwrap().get_name().to_owned())
            .collect();
        assert_eq!(names, ["https", "http", "ssh", "git"]);
        assert_eq!(Transport::from_str("ssh", false), Ok(Transport::Ssh));
        assert!(Transport::from_str("ftp", false).is_err());
    }
}
