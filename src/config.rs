//! Every setting of the server, as `--flag` and `HARMONY_*` environment variable, with its
//! default and why it is what it is. The command line ([`crate::cli`]) flattens these groups
//! into the subcommands that need them.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Database URL: `sqlite://FILE` (created when missing; its folder must exist) or
    /// `postgres://USER@HOST/DB`.
    #[arg(
        long = "database",
        env = "HARMONY_DATABASE_URL",
        default_value = "sqlite://harmony.db"
    )]
    pub url: String,

    /// Most connections the pool opens (PostgreSQL), or reader connections (SQLite, which
    /// always writes through a single connection).
    #[arg(long, env = "HARMONY_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

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
    #[arg(long, env = "HARMONY_SQLITE_SYNCHRONOUS", default_value = "normal",
          value_parser = ["normal", "full"])]
    pub sqlite_synchronous: String,
}

impl DatabaseConfig {
    /// A configuration for the given URL with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            db_max_connections: 16,
            db_acquire_timeout: 5,
            db_statement_timeout_ms: 10_000,
            sqlite_synchronous: "normal".to_owned(),
        }
    }
}

/// Password hashing: argon2id, OWASP's recommended parameters by default
/// (19 MiB, 2 iterations, 1 lane).
#[derive(Debug, Clone, Args)]
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
        Self {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_concurrency: 0,
        }
    }
}

/// Token lifetimes and the deprecated compatibility paths.
#[derive(Debug, Clone, Args)]
pub struct OAuthConfig {
    /// Lifetime of an access token in seconds (the documented answer says 3600).
    #[arg(long, env = "HARMONY_ACCESS_TOKEN_TTL", default_value_t = 3600)]
    pub access_token_ttl: i64,

    /// Lifetime of a refresh token in seconds; each rotation starts a new one.
    #[arg(long, env = "HARMONY_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl: i64,

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
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl: 3600,
            refresh_token_ttl: 30 * 24 * 3600,
            token_retention_days: 30,
            password_grant: true,
            query_tokens: true,
        }
    }
}

/// Request rate limits (per node) and the failed-credentials limiter (shared through the
/// database); see docs/api.md. `0` disables a limit.
#[derive(Debug, Clone, Args)]
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
        Self {
            rate_limit_token: 5000,
            rate_limit_anonymous: 1000,
            rate_limit_window: 3600,
            failed_auth_limit: 30,
            failed_auth_address_limit: 300,
            failed_auth_window: 900,
            body_limit: 1024 * 1024,
            trust_forwarded_for: false,
        }
    }
}

/// The add-on marketplace: where dists live and how uploads are bounded.
#[derive(Debug, Clone, Args)]
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
    #[arg(long, env = "HARMONY_GIT_PROTOCOLS", value_delimiter = ',',
          default_value = "https,http", value_parser = ["https", "http", "ssh", "git"])]
    pub git_protocols: Vec<String>,

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
}

impl PackagesConfig {
    /// Defaults with the given data folder.
    pub fn new(data_dir: impl Into<std::path::PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            package_upload_limit: 32 * 1024 * 1024,
            package_max_uncompressed: 256 * 1024 * 1024,
            package_max_entries: 10_000,
            package_max_ratio: 100,
            allow_local_repositories: false,
            git_timeout: 120,
            git_protocols: vec!["https".to_owned(), "http".to_owned()],
            git_allowed_hosts: Default::default(),
            git_sync_queue: 100,
            git_concurrent_syncs: 8,
        }
    }

    /// What the webhook may fetch from, by these settings.
    pub fn outbound_policy(&self) -> crate::domain::outbound::OutboundPolicy {
        use crate::domain::outbound::{OutboundPolicy, Transport};
        OutboundPolicy {
            allow_local: self.allow_local_repositories,
            transports: self
                .git_protocols
                .iter()
                .filter_map(|p| Transport::parse(p))
                .collect(),
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
#[derive(Debug, Clone, Args)]
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

impl ServeConfig {
    /// A configuration for tests and embedding: the given database, port 0, defaults.
    pub fn for_database(url: impl Into<String>) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            auth_cache_ms: 500,
            shutdown_grace: 30,
            database: DatabaseConfig::new(url),
            hashing: HashingConfig::default(),
            oauth: OAuthConfig::default(),
            limits: LimitsConfig::default(),
            packages: PackagesConfig::new("./harmony-data"),
        }
    }

    /// The rate-limit window as a duration.
    pub fn rate_limit_window(&self) -> Duration {
        Duration::from_secs(self.limits.rate_limit_window.max(1))
    }
}

/// Logging settings, global to every subcommand.
#[derive(Debug, Clone, Args)]
pub struct LogConfig {
    /// Log filter in `tracing` syntax (`info`, `harmony=debug,sqlx=warn`).
    #[arg(
        long = "log",
        env = "HARMONY_LOG",
        default_value = "info",
        global = true
    )]
    pub filter: String,

    /// Log format: `text` or `json`.
    #[arg(
        long = "log-format",
        env = "HARMONY_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub format: String,
}

/// Starts the global `tracing` subscriber. Logs go to stderr, so that a command's JSON on
/// stdout stays clean.
pub fn init_tracing(log: &LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&log.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = if log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second initialisation (tests) keeps the first subscriber.
    let _ = result;
}
