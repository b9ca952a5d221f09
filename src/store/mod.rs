//! Storage: the [`Store`] trait that every handler talks to, its error type and its row
//! types. Everything that differs between SQLite and PostgreSQL lives below this module.
//!
//! One implementation serves both engines: [`SqlStore<DB>`](SqlStore), ordinary generic
//! Rust over an [`Engine`] (implemented on [`sqlx::Sqlite`] and [`sqlx::Postgres`]), because
//! both engines accept the same SQL text for everything harmony asks of them (`$1`
//! placeholders, `RETURNING`, `ON CONFLICT`, integer timestamps). The engines differ in how
//! they connect, in their migrations and in how a group of token writes reaches the
//! database (both group concurrent token writes into one transaction; [`sqlite`] through
//! its one writer, [`postgres`] with row locks). `docs/storage.md` says why
//! it is built this way and how to add a query.
//!
//! The parts of the store, each a trait implemented on [`SqlStore`]: [`Store`] (accounts,
//! clients, tokens; `sql.rs`), [`OAuthStore`], [`ProjectStore`], [`PackageStore`],
//! [`OrgStore`], [`AttemptStore`].
//!
//! The row types carry the domain's values, not strings: a [`Username`], a
//! [`RedirectUri`], a [`Visibility`](crate::domain::package::Visibility). What is written
//! was parsed by a service; what is read back is rebuilt with the values' `from_trusted`
//! constructors — no validation again on the hot path, and a row stored under an older
//! rule still reads. Closed sets (grant types, scopes, visibility, package types) are
//! parsed on the way out, and an unknown stored value is a [`StoreError::Other`] that names
//! it, never a panic.

/// `LIMIT` of a bound parameter (`limit!("$2")`), cast so that SQLite does not read the
/// bound value while planning: the bundled SQLite (3.51) plans a bare `LIMIT ?` for the
/// value bound at the time and marks the parameter, so that binding it again, which every
/// execution does, makes the next step prepare the whole statement again.
macro_rules! limit {
    ($param:literal) => {
        concat!("LIMIT CAST(", $param, " AS BIGINT)")
    };
}

pub mod attempts;
pub mod dists;
mod engine;
mod group;
pub mod oauth;
pub mod orgs;
pub mod packages;
pub mod postgres;
pub mod projects;
mod sql;
pub mod sqlite;

pub use attempts::AttemptStore;
pub use engine::Engine;
pub use orgs::OrgStore;
pub use packages::PackageStore;
pub use projects::ProjectStore;
pub use sql::SqlStore;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::client::{ClientName, RedirectUri};
use crate::domain::jose::SigningAlg;
use crate::domain::org::OrgName;
use crate::domain::tokens::TokenOrigin;
use crate::domain::user::{DisplayName, Email, Username};
use crate::domain::{GrantType, ScopeSet, TokenDigest};
pub use oauth::OAuthStore;

/// What can go wrong in storage, in the three ways callers treat differently.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference constraint refused the write.
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint's name (or the database's message when it names none).
        constraint: String,
    },
    /// Anything else: the database is down, a query is wrong, a row does not decode.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                StoreError::Conflict {
                    constraint: db
                        .constraint()
                        .map(str::to_owned)
                        .unwrap_or_else(|| db.message().to_owned()),
                }
            }
            other => StoreError::Other(other.into()),
        }
    }
}

/// Result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Seconds since the Unix epoch: how every timestamp is stored (identical on both engines,
/// and compared in SQL without any date function).
pub type Timestamp = i64;

/// The current time as a [`Timestamp`].
pub fn now() -> Timestamp {
    // Straight from the clock: a count of seconds needs no calendar (every authenticated
    // request asks for it).
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| {
            Timestamp::try_from(d.as_secs()).unwrap_or(Timestamp::MAX)
        })
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable identifier.
    pub id: Uuid,
    /// Unique, case-insensitively.
    pub username: Username,
    /// Unique, case-insensitively.
    pub email: Email,
    /// Display name.
    pub name: Option<DisplayName>,
    /// May administer the server (with a token that carries the `admin` scope).
    pub is_admin: bool,
    /// A disabled account gets no token, and its tokens stop working.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// A user together with the password hash, for the one place that verifies it.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: String,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Its username.
    pub username: Username,
    /// Its email address.
    pub email: Email,
    /// Display name.
    pub name: Option<DisplayName>,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Administrator?
    pub is_admin: bool,
}

/// A change to an account; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// New display name (`Some(None)` clears it).
    pub name: Option<Option<DisplayName>>,
    /// New email.
    pub email: Option<Email>,
}

/// A registered OAuth client.
#[derive(Debug, Clone)]
pub struct Client {
    /// The public `client_id`.
    pub id: String,
    /// The account that registered it.
    pub owner_id: Uuid,
    /// Shown to people.
    pub name: ClientName,
    /// SHA-256 of the secret; `None` for a public client.
    pub secret_digest: Option<TokenDigest>,
    /// Registered redirect URIs (exact match).
    pub redirect_uris: Vec<RedirectUri>,
    /// Grants it may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes it may ask for.
    pub scopes: ScopeSet,
    /// The secret a rotation replaced, still valid until the timestamp (a grace period
    /// chosen when rotating; `None`: the old secret stopped at once).
    pub previous_secret: Option<(TokenDigest, Timestamp)>,
    /// May sign in any user with the password grant (set by an administrator).
    pub trusted: bool,
    /// The algorithm its ID tokens are signed with.
    pub id_token_alg: SigningAlg,
    /// Where it may send the browser after an RP-initiated logout (exact match).
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// When it was registered.
    pub created_at: Timestamp,
    /// Accepts authorization requests only when pushed (RFC 9126 §5).
    pub require_par: bool,
    /// The organization that owns it (`None`: the account `owner_id` owns it).
    pub org: Option<OrgName>,
}

/// A new client; the secret's plaintext never reaches the store.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// The generated public id.
    pub id: String,
    /// Owner.
    pub owner_id: Uuid,
    /// Name.
    pub name: ClientName,
    /// SHA-256 of the generated secret (`None`: public client).
    pub secret_digest: Option<TokenDigest>,
    /// Redirect URIs.
    pub redirect_uris: Vec<RedirectUri>,
    /// Grants.
    pub grant_types: Vec<GrantType>,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Trusted?
    pub trusted: bool,
    /// The algorithm its ID tokens are signed with.
    pub id_token_alg: SigningAlg,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Accepts authorization requests only when pushed (RFC 9126 §5).
    pub require_par: bool,
    /// The organization that owns it (`None`: the account `owner_id` owns it; with one,
    /// `owner_id` is the account that registered it).
    pub org: Option<OrgName>,
}

/// The rows to write when tokens are issued: one access token and, optionally, the
/// refresh token issued with it. Both belong to one family (one original grant).
#[derive(Debug, Clone)]
pub struct NewTokens {
    /// Id of the access token (what API Access lists).
    pub access_id: Uuid,
    /// SHA-256 of the access token.
    pub access_digest: TokenDigest,
    /// The family: every token descended from the same original grant.
    pub family_id: Uuid,
    /// The client it was issued to.
    pub client_id: String,
    /// The user it acts for (`None` for client_credentials).
    pub user_id: Option<Uuid>,
    /// The grant that issued it.
    pub grant_type: GrantType,
    /// Granted scopes.
    pub scope: ScopeSet,
    /// Issue time.
    pub created_at: Timestamp,
    /// Expiry of the access token.
    pub expires_at: Timestamp,
    /// The refresh token, if any: its id, digest and expiry.
    pub refresh: Option<NewRefreshToken>,
    /// The DPoP key thumbprint the access token is bound to (`None`: a bearer token).
    pub jkt: Option<String>,
}

/// A write of issued tokens: the hot path of the token endpoint, which an engine may
/// group with others into one transaction (SQLite does; see `sqlite.rs`).
pub enum TokenWrite {
    /// Store new tokens.
    Insert(NewTokens),
    /// Exchange the refresh token with this digest (see
    /// [`Store::exchange_refresh_token`]).
    Exchange {
        /// SHA-256 of the refresh token presented.
        digest: TokenDigest,
        /// When.
        at: Timestamp,
        /// What to do with it, given what is stored.
        decide: RefreshDecider,
    },
}

/// The grant's rule for a refresh token exchange: given the stored token (or `None`),
/// what to do. Called inside the store's transaction, so it must not block; it may be
/// called more than once (a retried transaction) and must then decide the same way.
pub type RefreshDecider = Arc<dyn Fn(Option<&RefreshTokenInfo>) -> RefreshDecision + Send + Sync>;

/// What a [`RefreshDecider`] chose.
#[derive(Debug)]
pub enum RefreshDecision {
    /// Retire the presented token and store its replacements.
    Rotate(Box<NewTokens>),
    /// The presented token was retired moments ago: count one more use of it within the
    /// grace window (a compare-and-swap on the count the decider saw) and store these
    /// replacements in its family.
    RotateAgain(Box<NewTokens>),
    /// The token was already used: revoke its whole family (RFC 9700 §4.14.2).
    RevokeFamily,
    /// Refuse, changing nothing (unknown, expired, another client's…).
    Refuse,
}

/// What an exchange did, and the stored token it was decided on.
#[derive(Debug)]
pub struct Exchange {
    /// The refresh token as stored before the exchange (`None`: unknown).
    pub found: Option<RefreshTokenInfo>,
    /// The outcome.
    pub outcome: ExchangeOutcome,
}

/// The outcome of an [`Exchange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeOutcome {
    /// Rotated (or rotated again within the grace window): the replacements are stored.
    Rotated,
    /// The family was revoked: a replay, or a concurrent use that lost the race.
    FamilyRevoked,
    /// Nothing changed.
    Refused,
}

/// A refresh token to store with [`NewTokens`].
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Row id.
    pub id: Uuid,
    /// SHA-256 of the refresh token.
    pub digest: TokenDigest,
    /// Its scope (RFC 6749 §6: a rotated refresh token keeps the original scope).
    pub scope: ScopeSet,
    /// Expiry.
    pub expires_at: Timestamp,
    /// The grant that began its family (`None`: unknown, for a family begun before this
    /// was recorded whose first access token is gone).
    pub began_with: Option<GrantType>,
    /// The DPoP key thumbprint it is bound to (`None`: unbound).
    pub jkt: Option<String>,
}

/// What an access token stands for, as the request path needs it: one indexed read.
#[derive(Debug, Clone)]
pub struct AccessTokenInfo {
    /// Row id.
    pub id: Uuid,
    /// Family id.
    pub family_id: Uuid,
    /// Client it was issued to.
    pub client_id: String,
    /// Granted scopes.
    pub scope: ScopeSet,
    /// Issue time.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Last time it authenticated a request (minute granularity).
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// The user it acts for.
    pub user: Option<User>,
    /// The DPoP key thumbprint it is bound to (`None`: a bearer token).
    pub jkt: Option<String>,
}

impl AccessTokenInfo {
    /// Usable now: not revoked, not expired, and its user (if any) not disabled.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none()
            && self.expires_at > now
            && self.user.as_ref().is_none_or(|u| !u.disabled)
    }
}

/// A stored refresh token.
#[derive(Debug, Clone)]
pub struct RefreshTokenInfo {
    /// Row id.
    pub id: Uuid,
    /// Family id.
    pub family_id: Uuid,
    /// Client it was issued to.
    pub client_id: String,
    /// The user it acts for.
    pub user_id: Option<Uuid>,
    /// Scopes of the grant.
    pub scope: ScopeSet,
    /// Expiry.
    pub expires_at: Timestamp,
    /// When it was exchanged (rotated); a second use is a replay, unless the grace window
    /// allows it.
    pub used_at: Option<Timestamp>,
    /// How many times it was presented again within the grace window after its rotation.
    pub grace_uses: i64,
    /// The grant that began its family (`None`: unknown).
    pub began_with: Option<GrantType>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// Whether its user is disabled (`None`: no user, or the user is gone).
    pub user_disabled: Option<bool>,
    /// The DPoP key thumbprint it is bound to (a public client's; `None`: unbound).
    pub jkt: Option<String>,
}

/// A personal access token to store (with the account's personal client, created with
/// the first one).
#[derive(Debug, Clone)]
pub struct NewPersonalToken {
    /// Row id, and its family's (a personal token is a family of one).
    pub id: Uuid,
    /// SHA-256 of the token.
    pub digest: TokenDigest,
    /// The account's personal client ([`personal_client_id`]).
    pub client_id: String,
    /// The account.
    pub user_id: Uuid,
    /// What it is for.
    pub note: String,
    /// Its scopes.
    pub scope: ScopeSet,
    /// When it was generated.
    pub created_at: Timestamp,
    /// When it expires ([`crate::domain::tokens::NEVER`]: never).
    pub expires_at: Timestamp,
}

/// The name of every account's personal client, which the token lists show.
pub const PERSONAL_CLIENT_NAME: &str = "Personal access token";

/// The id of `user_id`'s personal client.
pub fn personal_client_id(user_id: Uuid) -> String {
    format!("personal-{}", user_id.simple())
}

/// One line of API Access: an access token, never its value.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// Row id.
    pub id: Uuid,
    /// Family id.
    pub family_id: Uuid,
    /// Client id.
    pub client_id: String,
    /// Client name.
    pub client_name: ClientName,
    /// Owner of the token.
    pub user_id: Option<Uuid>,
    /// The grant that issued it, or `Personal`.
    pub grant_type: TokenOrigin,
    /// A personal access token's note.
    pub note: Option<String>,
    /// Granted scopes.
    pub scope: ScopeSet,
    /// Issue time.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Last use (minute granularity).
    pub last_used_at: Option<Timestamp>,
    /// Revocation time.
    pub revoked_at: Option<Timestamp>,
}

/// A page request: 1-based page number and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub number: u32,
    /// Items per page.
    pub size: u32,
}

impl Page {
    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        i64::from(self.number.saturating_sub(1)) * i64::from(self.size)
    }
}

/// The storage every handler talks to. One implementation, [`SqlStore`], for both database
/// engines; handlers see only this trait, through `Arc<dyn Store>` in the application
/// state. The storage of third-party applications is the supertrait [`OAuthStore`]; the
/// failed-credentials counters are [`AttemptStore`].
#[async_trait]
pub trait Store:
    OAuthStore + ProjectStore + PackageStore + OrgStore + AttemptStore + Send + Sync + 'static
{
    /// Applies the embedded migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the pools (graceful shutdown).
    async fn close(&self);
    /// A counter that moves whenever this process writes something that could change what
    /// a cached access token, client or user means (revocations, account and client
    /// changes, deletions): before the write and again once it is committed. A cache entry
    /// taken at generation `g` is good only while the generation is still `g`. Reading it
    /// has no effect, and writes that change no cached lookup (sessions, consents, codes,
    /// new tokens, projects, add-ons, counters) leave it alone. Writes by other processes
    /// are not seen here; the cache's short lifetime bounds those (see
    /// docs/deployment.md).
    fn generation(&self) -> u64;

    /// Creates the first administrator and its client, only if there is no user at all.
    /// Returns `false` (and writes nothing) when the database already has users.
    async fn bootstrap(&self, admin: &NewUser, client: &NewClient) -> StoreResult<bool>;

    /// Creates an account; `Conflict` when the username or email is taken.
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    /// An account by id.
    async fn user_by_id(&self, id: Uuid) -> StoreResult<User>;
    /// An account by username (case-insensitive).
    async fn user_by_username(&self, username: &Username) -> StoreResult<User>;
    /// An account with its password hash, by username (case-insensitive).
    async fn credentials_by_username(&self, username: &Username) -> StoreResult<UserCredentials>;
    /// Changes an account; `Conflict` when the new email is taken.
    async fn update_user(&self, id: Uuid, changes: &UserChanges) -> StoreResult<User>;

    /// Registers a client.
    async fn create_client(&self, client: &NewClient) -> StoreResult<Client>;
    /// A client by its public id.
    async fn client_by_id(&self, client_id: &str) -> StoreResult<Client>;
    /// A client and its owner, in one read.
    async fn client_with_owner(&self, client_id: &str) -> StoreResult<(Client, User)>;

    /// Stores freshly issued tokens.
    async fn insert_tokens(&self, tokens: &NewTokens) -> StoreResult<()>;
    /// The access token with this digest, with its user; `None` if unknown.
    async fn access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessTokenInfo>>;
    /// Records that an access token was used (best effort, throttled by the caller).
    async fn touch_access_token(&self, id: Uuid, at: Timestamp) -> StoreResult<()>;
    /// The refresh token with this digest; `None` if unknown.
    async fn refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshTokenInfo>>;
    /// Exchanges the refresh token with this digest, atomically: reads it, asks `decide`,
    /// and applies the decision before any other exchange of the same token can — so of
    /// concurrent exchanges exactly one rotates, and the others see a used token and
    /// revoke the family.
    async fn exchange_refresh_token(
        &self,
        digest: &TokenDigest,
        at: Timestamp,
        decide: RefreshDecider,
    ) -> StoreResult<Exchange>;
    /// Revokes every access and refresh token of a family.
    async fn revoke_family(&self, family_id: Uuid, at: Timestamp) -> StoreResult<()>;

    /// A page of a user's access tokens, newest first, and the total count.
    async fn list_user_tokens(
        &self,
        user_id: Uuid,
        page: Page,
    ) -> StoreResult<(Vec<TokenRecord>, u64)>;
    /// The user's token families that a refresh token can still renew at `at` (one not
    /// used, revoked or expired), each with the latest such refresh token's expiry.
    async fn renewable_families(
        &self,
        user_id: Uuid,
        at: Timestamp,
    ) -> StoreResult<Vec<(Uuid, Timestamp)>>;
    /// One access token by id.
    async fn token_record(&self, token_id: Uuid) -> StoreResult<TokenRecord>;
    /// Stores a personal access token, creating the account's personal client with the
    /// first one.
    async fn insert_personal_token(&self, token: &NewPersonalToken) -> StoreResult<()>;
    /// Revokes every token of a user.
    async fn revoke_user_tokens(&self, user_id: Uuid, at: Timestamp) -> StoreResult<u64>;
    /// Deletes tokens that ended (expired or revoked) before `before`.
    async fn purge_tokens(&self, before: Timestamp) -> StoreResult<u64>;
}

/// Opens the store a database URL names, without migrating it.
pub async fn connect(config: &crate::config::DatabaseConfig) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.url.as_str();
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqlStore::<sqlx::Sqlite>::connect(config).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(SqlStore::<sqlx::Postgres>::connect(config).await?))
    } else {
        anyhow::bail!("unsupported database URL (use sqlite://FILE or postgres://…)")
    }
}
