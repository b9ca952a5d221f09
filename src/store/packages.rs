//! The add-on marketplace: the [`PackageStore`] trait, its row types and its SQL,
//! implemented once for both engines on [`SqlStore`]. Visibility (and who manages an
//! add-on) is decided in SQL, from a [`Viewer`] and the organizations' membership as it is
//! at that moment, so that every listing shows each caller exactly what it may see. Add-ons
//! are not in the auth cache: no write here invalidates it. Writes that can change a
//! Composer document hold a registry-write guard instead, which tells this node's document
//! cache to read the shared generation again.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use super::engine::Engine;
use super::sql::{SqlStore, parse_uuid};
use super::{Page, StoreError, StoreResult, Timestamp};
use crate::domain::advisory::Severity;
use crate::domain::org::OrgName;
use crate::domain::package::{PackageType, Visibility};
use crate::domain::user::Username;

/// Who is looking: decides which private add-ons are visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// No user: public add-ons only.
    Anonymous,
    /// A user: public add-ons, their own, and those of their organizations.
    User(Uuid),
    /// An administrator (with an `admin`-scoped token): everything.
    Admin(Uuid),
}

impl Viewer {
    /// The SQL parameters of the visibility filter: user id (or `""`) and "sees all".
    fn params(self) -> (String, bool) {
        match self {
            Viewer::Anonymous => (String::new(), false),
            Viewer::User(id) => (id.to_string(), false),
            Viewer::Admin(id) => (id.to_string(), true),
        }
    }
}

/// What one viewer may do with one add-on, as the store's rules decide it (in SQL, the
/// same rule for one add-on as for listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Nothing: to this viewer the add-on does not exist.
    Hidden,
    /// See it and install it.
    Read,
    /// Also publish versions, yank, abandon, file advisories and change it.
    Manage,
}

/// The rule of who sees an add-on `p` (a SQL condition), for the viewer `$1` (its id, or
/// `""`) and `$2` (it sees everything, an administrator): a public add-on; for an add-on
/// under an organization's vendor, every member of that organization (whatever their role,
/// and whoever published it); for one under an account's vendor, the account that
/// published it. Membership is read by the query itself, so a change of membership is seen
/// by the next request. Every query that filters by viewer uses this text.
macro_rules! visible_to_viewer {
    () => {
        "(p.visibility = 'public' OR $2 OR EXISTS (SELECT 1 FROM vendors v \
         WHERE v.name = p.vendor AND ((v.org_name IS NULL AND p.owner_id = $1) \
         OR EXISTS (SELECT 1 FROM org_members m \
         WHERE m.org_name = v.org_name AND m.user_id = $1))))"
    };
}

/// The rule of who manages an add-on `p` (a SQL condition), with the parameters of
/// `visible_to_viewer!`: administrators; for an add-on under an organization's vendor,
/// that organization's owners and maintainers; for one under an account's vendor, the
/// account that published it.
macro_rules! managed_by_viewer {
    () => {
        "($2 OR EXISTS (SELECT 1 FROM vendors v \
         WHERE v.name = p.vendor AND ((v.org_name IS NULL AND p.owner_id = $1) \
         OR EXISTS (SELECT 1 FROM org_members m WHERE m.org_name = v.org_name \
         AND m.user_id = $1 AND m.role IN ('owner', 'maintainer')))))"
    };
}

/// An add-on.
#[derive(Debug, Clone)]
pub struct Package {
    /// `vendor/name`.
    pub name: String,
    /// Owner.
    pub owner_id: Uuid,
    /// Owner's username.
    pub owner_username: Username,
    /// Composer type.
    pub package_type: PackageType,
    /// Description.
    pub description: Option<String>,
    /// Who may see it.
    pub visibility: Visibility,
    /// Git repository the webhook reads tags from.
    pub repository_url: Option<String>,
    /// Whether a webhook secret is set (the secret itself is read only by the webhook).
    pub has_webhook_secret: bool,
    /// Whether repository credentials are set (read only by the webhook's fetch).
    pub has_repository_credentials: bool,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change (a publish or an edit): the `Last-Modified` of its Composer file.
    pub updated_at: Timestamp,
    /// Whether it is abandoned, and for what.
    pub abandoned: Abandoned,
    /// Installs counted (flushed), all time.
    pub downloads_total: i64,
    /// Installs counted in the last 30 days, today included.
    pub downloads_last_30_days: i64,
}

/// Whether an add-on is abandoned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Abandoned {
    /// Maintained.
    #[default]
    No,
    /// Abandoned, with no replacement named.
    Yes,
    /// Abandoned for this package (`vendor/name`, valid when set; not necessarily here).
    ReplacedBy(String),
}

impl Package {
    /// Is it private?
    pub fn is_private(&self) -> bool {
        self.visibility == Visibility::Private
    }
}

/// A published version.
#[derive(Debug, Clone)]
pub struct PackageVersion {
    /// `vendor/name`.
    pub package: String,
    /// As published (`1.2.3`).
    pub version: String,
    /// Composer's normalization (`1.2.3.0`).
    pub version_normalized: String,
    /// The `composer.json` object (root-only keys removed), as JSON text.
    pub manifest: String,
    /// SHA-256 of the dist, hex.
    pub sha256: String,
    /// SHA-1 of the dist, hex (Composer's `shasum`).
    pub shasum: String,
    /// Dist size in bytes.
    pub size: i64,
    /// Path of the dist under the data folder's `dists/`.
    pub dist_path: String,
    /// Publication time.
    pub created_at: Timestamp,
    /// Why it was yanked, and when; `None` while it resolves.
    pub yanked: Option<Yanked>,
    /// Who published it and how; `None` for versions published before this was recorded.
    pub provenance: Option<Provenance>,
}

/// Who published a version, with which token, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The kind of publisher: `user` (an account).
    pub publisher_kind: String,
    /// Its name when it published.
    pub publisher_name: String,
    /// The access token of the upload (`None` for a webhook sync, which runs as the
    /// add-on's owner after the push was accepted).
    pub token_id: Option<Uuid>,
    /// How the dist came.
    pub source: Source,
}

/// How a version's dist came to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Uploaded over the API.
    Upload,
    /// Archived from a git tag by the push webhook's sync, at this commit.
    Webhook {
        /// The commit the tag named (hex).
        commit: Option<String>,
    },
}

impl Source {
    /// `upload` or `webhook`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Upload => "upload",
            Source::Webhook { .. } => "webhook",
        }
    }
}

/// One change of an add-on's Composer metadata (see `metadata_changes` in the
/// migrations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataChange {
    /// `vendor/name`.
    pub package: String,
    /// When, in ten-thousandths of a second since the epoch.
    pub at: i64,
    /// Its owner then.
    pub owner_id: Option<Uuid>,
    /// Public before the change.
    pub was_public: bool,
    /// Public after it.
    pub is_public: bool,
    /// The add-on was deleted.
    pub deleted: bool,
    /// The viewer it was read for is a member of the organization that has the add-on's
    /// vendor now (and so sees all of its changes).
    pub viewer_is_member: bool,
}

/// Why and when a version was yanked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yanked {
    /// The reason given.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// A vendor namespace (`acme` of `acme/theme`) and the account that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vendor {
    /// The vendor part of add-on names.
    pub name: String,
    /// The owner; `None` once its account is deleted (the vendor stays reserved until an
    /// administrator transfers it).
    pub owner_id: Option<Uuid>,
    /// The owner's username.
    pub owner_username: Option<Username>,
    /// The organization that owns it instead of an account (then `owner_id` is `None`).
    pub owner_org: Option<OrgName>,
    /// When the first add-on was published under it (or, for vendors older than
    /// ownership, when their oldest add-on was).
    pub created_at: Timestamp,
}

/// A version that was published and then deleted: its `vendor/name version` is never
/// published again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// `vendor/name`.
    pub package: String,
    /// As published.
    pub version: String,
    /// SHA-256 of the dist it had.
    pub sha256: String,
    /// When it was deleted.
    pub deleted_at: Timestamp,
}

/// A version to publish; creates the add-on when it does not exist yet.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The publisher (owner of a new add-on, and of a new vendor).
    pub owner_id: Uuid,
    /// The visibility the publisher asked for: a new add-on gets it; an existing one must
    /// already have it. `None`: a new add-on is public.
    pub visibility: Option<Visibility>,
    /// Type from `composer.json`.
    pub package_type: PackageType,
    /// Description from `composer.json` (set on the add-on if it has none).
    pub description: Option<String>,
    /// The version row.
    pub version: PackageVersion,
}

/// The outcome of [`PackageStore::publish_version`].
#[derive(Debug)]
pub enum PublishOutcome {
    /// Stored.
    Published(Box<(Package, PackageVersion)>),
    /// The vendor belongs to another account, or to none (its owner was deleted).
    VendorOwned {
        /// No account owns it: only an administrator's transfer reopens it.
        orphaned: bool,
    },
    /// The add-on belongs to someone else.
    NotOwner,
    /// This version (or its normalization) was published and deleted.
    Tombstoned,
    /// The add-on exists with another visibility than the one asked for: this one.
    VisibilityMismatch(Visibility),
    /// This version (or its normalization) exists already.
    VersionExists,
    /// The add-on has another type: this one.
    TypeMismatch(PackageType),
}

/// A security advisory filed against an add-on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    /// `HRSA-xxxx-xxxx-xxxx`.
    pub advisory_id: String,
    /// `vendor/name`.
    pub package: String,
    /// What is wrong, in a line.
    pub title: String,
    /// The affected versions: a Composer constraint, valid when filed.
    pub affected_versions: String,
    /// How bad it is, if said.
    pub severity: Option<Severity>,
    /// Its CVE id, if it has one.
    pub cve: Option<String>,
    /// Where it is described.
    pub link: Option<String>,
    /// When it was reported.
    pub reported_at: Timestamp,
    /// When it was filed here.
    pub created_at: Timestamp,
    /// When it last changed (a mirror's `updatedSince`).
    pub updated_at: Timestamp,
}

/// A change to an add-on; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct PackageChanges {
    /// Who may see it.
    pub visibility: Option<Visibility>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// `Some(None)` clears it.
    pub repository_url: Option<Option<String>>,
    /// `Some(None)` clears it.
    pub webhook_secret: Option<Option<String>>,
    /// `Some(None)` clears it.
    pub repository_credentials: Option<Option<String>>,
    /// Abandons it (or takes that back).
    pub abandoned: Option<Abandoned>,
}

/// Filters of the marketplace list.
#[derive(Debug, Clone, Default)]
pub struct PackageFilter {
    /// One Composer type.
    pub package_type: Option<PackageType>,
    /// Words to find in the name or description (case-insensitive substring).
    pub query: Option<String>,
}

/// Storage of the marketplace.
#[async_trait]
pub trait PackageStore: Send + Sync {
    /// An add-on by name, whoever may see it (for what no viewer asked: the webhook).
    async fn package(&self, name: &str) -> StoreResult<Package>;
    /// An add-on by name and what `viewer` may do with it (`NotFound` for an unknown
    /// add-on; an add-on the viewer may not see is read, as [`Access::Hidden`], so that
    /// the caller decides what to tell).
    async fn package_for(&self, name: &str, viewer: Viewer) -> StoreResult<(Package, Access)>;
    /// A page of the add-ons a viewer may see, by name, each with what it may do with it,
    /// and the total count.
    async fn list_packages(
        &self,
        viewer: Viewer,
        filter: &PackageFilter,
        page: Page,
    ) -> StoreResult<(Vec<(Package, Access)>, u64)>;
    /// Every add-on a viewer may see (the Composer repository's `available-packages`).
    async fn visible_package_names(&self, viewer: Viewer) -> StoreResult<Vec<String>>;
    /// The add-ons a viewer may see that are not public, by name (what it sees beyond the
    /// anonymous view; read from an index of the few add-ons that are not public).
    async fn private_package_names(&self, viewer: Viewer) -> StoreResult<Vec<String>>;
    /// A counter of this process's writes that can change a Composer document (an add-on,
    /// its versions, its advisories, a deletion): it moves before such a write and again
    /// after its commit. Reading it has no effect.
    fn registry_writes(&self) -> u64;
    /// The shared registry generation: a counter in the database that moves in the same
    /// transaction as every write that can change a Composer document, by any node or
    /// process.
    async fn registry_generation(&self) -> StoreResult<i64>;
    /// The add-ons of an owner that name a repository (the webhook's candidates).
    async fn packages_with_repository(&self, owner_id: Uuid) -> StoreResult<Vec<Package>>;
    /// The versions of an add-on, oldest first.
    async fn package_versions(&self, name: &str) -> StoreResult<Vec<PackageVersion>>;
    /// One version.
    async fn package_version(&self, name: &str, version: &str) -> StoreResult<PackageVersion>;
    /// Publishes a version, in one transaction: claims the vendor for the publisher if
    /// nobody has it yet (and refuses when another account, or none, has it), refuses a
    /// tombstoned version, creates the add-on on first publish.
    async fn publish_version(&self, new: &NewVersion) -> StoreResult<PublishOutcome>;
    /// A vendor.
    async fn vendor(&self, name: &str) -> StoreResult<Vendor>;
    /// Gives a vendor to another account (`NotFound` for an unknown vendor).
    async fn transfer_vendor(&self, name: &str, owner_id: Uuid) -> StoreResult<Vendor>;
    /// The tombstone of a version, by its normalized form, if it was deleted.
    async fn tombstone(
        &self,
        package: &str,
        version_normalized: &str,
    ) -> StoreResult<Option<Tombstone>>;
    /// The dist files of every version of an account's add-ons (relative paths).
    async fn owned_dist_paths(&self, owner_id: Uuid) -> StoreResult<Vec<String>>;
    /// The stamp (`Last-Modified`) of a Composer document with this exact content
    /// (`digest`): the one it already has, or a new one, at most `now` and unique among the
    /// stamps of `document`, so that a stamp names one content. `None` when no second of
    /// the last day is free (a client then simply gets no date to revalidate with).
    async fn document_stamp(
        &self,
        document: &str,
        digest: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Timestamp>>;
    /// Forgets stamps older than `before` (a client holding one downloads the document
    /// once more).
    async fn purge_document_stamps(&self, before: Timestamp) -> StoreResult<u64>;
    /// Merges the marketplace search index into fewer parts, in short steps; the number of
    /// steps that did work (0 when there was nothing to merge, and always on PostgreSQL).
    async fn tidy_search_index(&self) -> StoreResult<u64>;
    /// Changes an add-on.
    async fn update_package(&self, name: &str, changes: &PackageChanges) -> StoreResult<Package>;
    /// The webhook secret of an add-on, if it has one.
    async fn webhook_secret(&self, name: &str) -> StoreResult<Option<String>>;
    /// The credentials for an add-on's repository, if it has them.
    async fn repository_credentials(&self, name: &str) -> StoreResult<Option<String>>;
    /// Records a webhook delivery id; `false` when it was seen before (a replay).
    async fn record_delivery(&self, delivery_id: &str, at: Timestamp) -> StoreResult<bool>;
    /// Forgets a delivery id recorded for a push that was then refused, so that its
    /// redelivery is not taken for a replay.
    async fn forget_delivery(&self, delivery_id: &str) -> StoreResult<()>;
    /// Forgets deliveries received before `before` (GitHub does not redeliver old ones).
    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64>;
    /// Yanks a version with a reason, or (`None`) takes the yank back; `NotFound` for an
    /// unknown version. The add-on's `updated_at` moves (its Composer file changes).
    async fn yank_version(
        &self,
        package: &str,
        version: &str,
        reason: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<PackageVersion>;
    /// The changes of Composer metadata at or after `since` (ten-thousandths of a second),
    /// oldest first, at most `limit`, each saying whether `viewer` is now a member of the
    /// organization that has the add-on's vendor.
    async fn metadata_changes(
        &self,
        since: i64,
        limit: i64,
        viewer: Viewer,
    ) -> StoreResult<Vec<MetadataChange>>;
    /// Forgets the changes of Composer metadata recorded before `before` (ten-thousandths of
    /// a second); answers how many.
    async fn purge_metadata_changes(&self, before: i64) -> StoreResult<u64>;
    /// Adds install counts `(add-on, normalized version, day, count)` in one transaction;
    /// a version that does not exist (any more) is skipped. Answers the installs written.
    async fn add_downloads(&self, counts: &[(String, String, i64, i64)]) -> StoreResult<i64>;
    /// An add-on's install counts: `(version as published, day, count)`.
    async fn download_counts(&self, package: &str) -> StoreResult<Vec<(String, i64, i64)>>;
    /// Files an advisory (`NotFound` when its add-on does not exist, `Conflict` for a
    /// taken id).
    async fn create_advisory(&self, advisory: &Advisory) -> StoreResult<()>;
    /// The advisories of an add-on, oldest report first.
    async fn package_advisories(&self, package: &str) -> StoreResult<Vec<Advisory>>;
    /// The advisories of the add-ons a viewer may see, changed at or after `since`, by
    /// add-on and report (the security-advisories API filters the names it was asked).
    async fn visible_advisories(
        &self,
        viewer: Viewer,
        since: Option<Timestamp>,
    ) -> StoreResult<Vec<Advisory>>;
}

/// Escapes `%`, `_` and `\` for `LIKE … ESCAPE '\'` and wraps in `%…%`, lower case.
fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// An FTS5 query that matches `q` as a substring (of three characters or more) with the
/// trigram tokenizer: one phrase, its quotes doubled.
fn trigram_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// The marketplace list's columns ([`SeenRow`]: every row is one the viewer sees; `$recent`:
/// the placeholder of the first recent day), of `packages p` and `users u`, with
/// `$manages` the condition of [`managed_by_viewer!`] or its anonymous form.
macro_rules! listing_columns {
    ($manages:expr, $recent:expr) => {
        concat!(
            "SELECT p.name, p.owner_id, u.username AS owner_username, p.package_type, \
         p.description, p.visibility, p.repository_url, \
         (p.webhook_secret IS NOT NULL) AS has_webhook_secret, \
         (p.repository_credentials IS NOT NULL) AS has_repository_credentials, \
         p.created_at, p.updated_at, p.abandoned, p.abandoned_replacement, \
         (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
          WHERE d.package = p.name) AS downloads_total, \
         (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
          WHERE d.package = p.name AND d.day >= ",
            $recent,
            ") AS downloads_recent, TRUE AS sees, ",
            $manages,
            " AS manages "
        )
    };
}

/// What an anonymous viewer sees: public add-ons. The condition on `$1` and `$2` (the
/// anonymous viewer's parameters) keeps one list of parameters for every listing, and
/// makes a statement bound with a signed-in viewer's answer nothing rather than too little
/// of what that viewer may see.
macro_rules! visible_to_anonymous {
    () => {
        "(p.visibility = 'public' AND $1 = '' AND NOT $2)"
    };
}

/// What an anonymous viewer manages: nothing.
macro_rules! managed_by_anonymous {
    () => {
        "FALSE"
    };
}

/// The marketplace list's filter: the viewer (`$visible`, of `$1`, `$2`) and a type (`$3`).
macro_rules! listing_filter {
    ($visible:expr) => {
        concat!(
            "WHERE ",
            $visible,
            " AND ($3 IS NULL OR p.package_type = $3) "
        )
    };
}

/// No search: `$4` is NULL, bound all the same so that every variant takes one list of
/// parameters.
macro_rules! search_none {
    () => {
        "AND $4 IS NULL "
    };
}

/// The search as a `LIKE` of `$4`, a statement of its own (not `$4 IS NULL OR …` in the
/// listing's), so that the plan PostgreSQL caches for it, made before it knows a pattern,
/// reads its trigram index rather than walking every add-on in name order. The condition
/// is the second `AND`. The first (name and description joined by a space) follows from
/// it, and is what PostgreSQL's one trigram index answers (migration 0021).
macro_rules! search_matching {
    () => {
        "AND lower(p.name || ' ' || COALESCE(p.description, '')) LIKE $4 ESCAPE '\\' \
         AND (lower(p.name) LIKE $4 ESCAPE '\\' \
              OR lower(COALESCE(p.description, '')) LIKE $4 ESCAPE '\\') "
    };
}

/// The search through the trigram index: `$4` an FTS5 query.
macro_rules! search_indexed {
    () => {
        "AND p.name IN (SELECT package FROM packages_search \
                        WHERE packages_search MATCH $4) "
    };
}

/// The statements of one marketplace listing: its first page, a later page, and the count;
/// and, for a search that reads names first ([`Engine::SEARCH_NAMES_FIRST`]), the names
/// of a page and then their rows.
struct Listing {
    first: &'static str,
    later: &'static str,
    count: &'static str,
    names: &'static str,
    rows_named: &'static str,
}

/// The names of a page, in order ($1–$6): a later page's subquery, and the first of a
/// search's two statements where it reads names first.
macro_rules! page_names {
    ($search:expr, $visible:expr) => {
        concat!(
            "SELECT p.name FROM packages p ",
            listing_filter!($visible),
            $search,
            "ORDER BY p.name ",
            limit!("$5"),
            " OFFSET $6"
        )
    };
}

/// The [`Listing`] of one way of searching for one kind of viewer: one condition, word for
/// word, in all its statements. A later page chooses its names first, in a subquery, and
/// reads the columns for those rows only: in one flat query both engines computed the
/// columns' subqueries for every row the `OFFSET` skipped too (10,000 times for the last
/// page of 10,000 add-ons). The first page skips nothing and keeps the flat query, which
/// PostgreSQL runs faster (it has fewer parts to plan). The subquery is the left side of a
/// `CROSS JOIN`, an order SQLite keeps; PostgreSQL orders the join as it plans.
macro_rules! listing {
    ($search:expr, $visible:expr, $manages:expr) => {
        Listing {
            first: concat!(
                listing_columns!($manages, "$7"),
                "FROM packages p JOIN users u ON u.id = p.owner_id ",
                listing_filter!($visible),
                $search,
                "ORDER BY p.name ",
                limit!("$5"),
                " OFFSET $6"
            ),
            later: concat!(
                listing_columns!($manages, "$7"),
                "FROM (",
                page_names!($search, $visible),
                ") page CROSS JOIN packages p JOIN users u ON u.id = p.owner_id \
                 WHERE p.name = page.name ORDER BY p.name"
            ),
            count: concat!(
                "SELECT COUNT(*) FROM packages p ",
                listing_filter!($visible),
                $search
            ),
            names: page_names!($search, $visible),
            // PostgreSQL's text ($3: the names as a JSON array; $4: the first recent day).
            // The viewer's condition again: an add-on made private after the names were
            // read is not shown. Through `ARRAY(SELECT …)` the plan PostgreSQL keeps looks
            // each name up in the primary key; `IN (SELECT …)` of the same array it kept
            // as a scan of every add-on.
            rows_named: concat!(
                listing_columns!($manages, "$4"),
                "FROM packages p JOIN users u ON u.id = p.owner_id WHERE ",
                $visible,
                " AND p.name = ANY(ARRAY(\
                 SELECT jsonb_array_elements_text(CAST($3 AS jsonb)))) ORDER BY p.name"
            ),
        }
    };
}

/// The listings of both kinds of viewer for one way of searching. An anonymous viewer's
/// have no membership subqueries: PostgreSQL plans a search again on every request (its
/// cached plan cannot know how many add-ons a pattern matches), and those subqueries were
/// a third of that planning, for the viewer a public marketplace serves most.
macro_rules! listings {
    ($search:expr) => {
        Listings {
            signed_in: listing!($search, visible_to_viewer!(), managed_by_viewer!()),
            anonymous: listing!($search, visible_to_anonymous!(), managed_by_anonymous!()),
        }
    };
}

/// [`Listing`]s by kind of viewer.
struct Listings {
    signed_in: Listing,
    anonymous: Listing,
}

impl Listings {
    fn of(&self, viewer: Viewer) -> &Listing {
        match viewer {
            Viewer::Anonymous => &self.anonymous,
            Viewer::User(_) | Viewer::Admin(_) => &self.signed_in,
        }
    }
}

const LIST: Listings = listings!(search_none!());
const LIST_MATCHING: Listings = listings!(search_matching!());

/// The `LIKE` search's condition as every listing statement holds it (`$4`: the pattern),
/// for the test that checks PostgreSQL's plan of it against the real text.
pub const SEARCH_MATCHING: &str = search_matching!();
const LIST_INDEXED: Listings = listings!(search_indexed!());

/// A listing's page parameters bound to `$query` in the order its statements take them: the
/// viewer ($1, $2), a type ($3), the search ($4), the page's size and offset ($5, $6).
macro_rules! bind_page {
    ($query:expr, $user:expr, $all:expr, $package_type:expr, $search:expr, $page:expr) => {
        $query
            .bind($user)
            .bind($all)
            .bind($package_type)
            .bind($search)
            .bind(i64::from($page.size))
            .bind($page.offset())
    };
}

/// An add-on with its owner's username and whether its secrets are set (never the
/// secrets).
#[derive(sqlx::FromRow)]
struct PackageRow {
    name: String,
    owner_id: String,
    owner_username: String,
    package_type: String,
    description: Option<String>,
    visibility: String,
    repository_url: Option<String>,
    has_webhook_secret: bool,
    has_repository_credentials: bool,
    created_at: i64,
    updated_at: i64,
    abandoned: bool,
    abandoned_replacement: Option<String>,
    downloads_total: i64,
    downloads_recent: i64,
}

/// A stored Composer type (an unknown one is an error naming it, never a guess).
pub(super) fn parse_package_type(s: &str) -> StoreResult<PackageType> {
    PackageType::parse(s)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("stored package type {s:?} unknown")))
}

fn parse_visibility(s: &str) -> StoreResult<Visibility> {
    Visibility::parse(s)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("stored visibility {s:?} unknown")))
}

impl PackageRow {
    fn into_package(self) -> StoreResult<Package> {
        Ok(Package {
            owner_id: parse_uuid(&self.owner_id)?,
            owner_username: Username::from_trusted(self.owner_username),
            package_type: parse_package_type(&self.package_type)?,
            visibility: parse_visibility(&self.visibility)?,
            name: self.name,
            description: self.description,
            repository_url: self.repository_url,
            has_webhook_secret: self.has_webhook_secret,
            has_repository_credentials: self.has_repository_credentials,
            created_at: self.created_at,
            updated_at: self.updated_at,
            abandoned: match (self.abandoned, self.abandoned_replacement) {
                (false, _) => Abandoned::No,
                (true, None) => Abandoned::Yes,
                (true, Some(r)) => Abandoned::ReplacedBy(r),
            },
            downloads_total: self.downloads_total,
            downloads_last_30_days: self.downloads_recent,
        })
    }
}

fn packages(rows: Vec<PackageRow>) -> StoreResult<Vec<Package>> {
    rows.into_iter().map(PackageRow::into_package).collect()
}

/// An add-on and what the viewer of the query may do with it.
#[derive(sqlx::FromRow)]
struct SeenRow {
    #[sqlx(flatten)]
    package: PackageRow,
    sees: bool,
    manages: bool,
}

impl SeenRow {
    fn into_seen(self) -> StoreResult<(Package, Access)> {
        let access = match (self.sees, self.manages) {
            (_, true) => Access::Manage,
            (true, false) => Access::Read,
            (false, false) => Access::Hidden,
        };
        Ok((self.package.into_package()?, access))
    }
}

/// `package_versions`, every column.
#[derive(sqlx::FromRow)]
struct VersionRow {
    package: String,
    version: String,
    version_normalized: String,
    manifest: String,
    sha256: String,
    shasum: String,
    size: i64,
    dist_path: String,
    created_at: i64,
    yanked_reason: Option<String>,
    yanked_at: Option<i64>,
    publisher_kind: Option<String>,
    publisher_name: Option<String>,
    publisher_token_id: Option<String>,
    source_kind: Option<String>,
    source_commit: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    package: String,
    at: i64,
    owner_id: Option<String>,
    was_public: bool,
    is_public: bool,
    deleted: bool,
    viewer_is_member: bool,
}

impl VersionRow {
    fn into_version(self) -> PackageVersion {
        // Written together by `publish_version`; a row without them predates them. An
        // unparsable token id is dropped rather than failing the read of the version.
        let provenance = match (self.publisher_kind, self.publisher_name, self.source_kind) {
            (Some(publisher_kind), Some(publisher_name), Some(kind)) => Some(Provenance {
                publisher_kind,
                publisher_name,
                token_id: self
                    .publisher_token_id
                    .as_deref()
                    .and_then(|t| Uuid::parse_str(t).ok()),
                source: if kind == "webhook" {
                    Source::Webhook {
                        commit: self.source_commit,
                    }
                } else {
                    Source::Upload
                },
            }),
            _ => None,
        };
        PackageVersion {
            provenance,
            package: self.package,
            version: self.version,
            version_normalized: self.version_normalized,
            manifest: self.manifest,
            sha256: self.sha256,
            shasum: self.shasum,
            size: self.size,
            dist_path: self.dist_path,
            created_at: self.created_at,
            yanked: self.yanked_reason.map(|reason| Yanked {
                reason,
                at: self.yanked_at.unwrap_or(self.created_at),
            }),
        }
    }
}

/// A vendor with its owner's username (NULL once the owner is deleted).
#[derive(sqlx::FromRow)]
pub(super) struct VendorRow {
    name: String,
    owner_id: Option<String>,
    owner_username: Option<String>,
    org_name: Option<String>,
    created_at: i64,
}

/// Selects a [`VendorRow`] by name (`$1`).
pub(super) const VENDOR: &str = "SELECT v.name, v.owner_id, u.username AS owner_username, \
     v.org_name, v.created_at \
     FROM vendors v LEFT JOIN users u ON u.id = v.owner_id WHERE v.name = $1";

impl VendorRow {
    pub(super) fn into_vendor(self) -> StoreResult<Vendor> {
        Ok(Vendor {
            name: self.name,
            owner_id: self.owner_id.as_deref().map(parse_uuid).transpose()?,
            owner_username: self.owner_username.map(Username::from_trusted),
            owner_org: self.org_name.map(OrgName::from_trusted),
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TombstoneRow {
    package: String,
    version: String,
    sha256: String,
    deleted_at: i64,
}

impl TombstoneRow {
    fn into_tombstone(self) -> Tombstone {
        Tombstone {
            package: self.package,
            version: self.version,
            sha256: self.sha256,
            deleted_at: self.deleted_at,
        }
    }
}

/// `security_advisories`, every column.
#[derive(sqlx::FromRow)]
struct AdvisoryRow {
    advisory_id: String,
    package: String,
    title: String,
    affected_versions: String,
    severity: Option<String>,
    cve: Option<String>,
    link: Option<String>,
    reported_at: i64,
    created_at: i64,
    updated_at: i64,
}

impl AdvisoryRow {
    fn into_advisory(self) -> StoreResult<Advisory> {
        let severity = match self.severity.as_deref() {
            None => None,
            Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                StoreError::Other(anyhow::anyhow!("stored severity {s:?} unknown"))
            })?),
        };
        Ok(Advisory {
            advisory_id: self.advisory_id,
            package: self.package,
            title: self.title,
            affected_versions: self.affected_versions,
            severity,
            cve: self.cve,
            link: self.link,
            reported_at: self.reported_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn advisories(rows: Vec<AdvisoryRow>) -> StoreResult<Vec<Advisory>> {
    rows.into_iter().map(AdvisoryRow::into_advisory).collect()
}

/// The first of the last 30 days (days since 1970, UTC), for the listings' counts.
fn recent_day() -> i64 {
    super::now().div_euclid(86_400) - 29
}

/// How far back a new document stamp may go when the current second is taken.
const STAMP_WINDOW: i64 = 24 * 3600;

/// The latest second at or before `now`, within [`STAMP_WINDOW`], that is not in `taken`
/// (sorted newest first).
fn free_stamp(now: Timestamp, taken: &[i64]) -> Option<Timestamp> {
    let mut candidate = now;
    for &t in taken {
        if t < candidate {
            break;
        }
        if t == candidate {
            candidate -= 1;
        }
    }
    (candidate > now - STAMP_WINDOW).then_some(candidate)
}

/// The vendor part of `vendor/name`.
fn vendor_of(package: &str) -> &str {
    package.split_once('/').map_or(package, |(v, _)| v)
}

#[async_trait]
impl<DB> PackageStore for SqlStore<DB>
where
    DB: Engine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    str: Type<DB>,
    for<'q, 's> &'s str: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<bool>: Encode<'q, DB>,
    for<'q> Option<Vec<u8>>: Encode<'q, DB>,
{
    async fn package(&self, name: &str) -> StoreResult<Package> {
        sqlx::query_as::<DB, PackageRow>(
            "SELECT p.name, p.owner_id, u.username AS owner_username, p.package_type, \
             p.description, p.visibility, p.repository_url, \
             (p.webhook_secret IS NOT NULL) AS has_webhook_secret, \
             (p.repository_credentials IS NOT NULL) AS has_repository_credentials, \
             p.created_at, p.updated_at, p.abandoned, p.abandoned_replacement, \
             (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
              WHERE d.package = p.name) AS downloads_total, \
             (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
              WHERE d.package = p.name AND d.day >= $2) AS downloads_recent \
             FROM packages p JOIN users u ON u.id = p.owner_id WHERE p.name = $1",
        )
        .bind(name)
        .bind(recent_day())
        .fetch_one(self.reader())
        .await?
        .into_package()
    }

    async fn package_for(&self, name: &str, viewer: Viewer) -> StoreResult<(Package, Access)> {
        let (user, all) = viewer.params();
        sqlx::query_as::<DB, SeenRow>(concat!(
            "SELECT p.name, p.owner_id, u.username AS owner_username, p.package_type, \
             p.description, p.visibility, p.repository_url, \
             (p.webhook_secret IS NOT NULL) AS has_webhook_secret, \
             (p.repository_credentials IS NOT NULL) AS has_repository_credentials, \
             p.created_at, p.updated_at, p.abandoned, p.abandoned_replacement, \
             (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
              WHERE d.package = p.name) AS downloads_total, \
             (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
              WHERE d.package = p.name AND d.day >= $4) AS downloads_recent, ",
            visible_to_viewer!(),
            " AS sees, ",
            managed_by_viewer!(),
            " AS manages FROM packages p JOIN users u ON u.id = p.owner_id WHERE p.name = $3",
        ))
        .bind(&user)
        .bind(all)
        .bind(name)
        .bind(recent_day())
        .fetch_one(self.reader())
        .await?
        .into_seen()
    }

    async fn list_packages(
        &self,
        viewer: Viewer,
        filter: &PackageFilter,
        page: Page,
    ) -> StoreResult<(Vec<(Package, Access)>, u64)> {
        // $1, $2: the viewer (its id, or ""; whether it sees everything). $3: a type, $4: the
        // search (an FTS5 query, or a LIKE pattern), each NULL for no filter. The page query
        // and the count share the condition, word for word.
        let (user, all) = viewer.params();
        let _turn = self.listing_turn().await?;
        let indexed = DB::TRIGRAM_SEARCH
            && filter
                .query
                .as_deref()
                .is_some_and(|q| q.chars().count() >= 3);
        let (search, listings) = if indexed {
            (filter.query.as_deref().map(trigram_phrase), &LIST_INDEXED)
        } else if let Some(q) = filter.query.as_deref() {
            (Some(like_pattern(q)), &LIST_MATCHING)
        } else {
            (None, &LIST)
        };
        let listing = listings.of(viewer);
        let package_type = filter.package_type.map(|t| t.as_str().to_owned());
        // One connection for the listing's statements: each taking one of its own from the
        // pool would be another hand-over (and, on PostgreSQL, a check that it is alive).
        let mut conn = self.reader().acquire().await?;
        let (rows, matched) = if DB::SEARCH_NAMES_FIRST && search.is_some() {
            let query = sqlx::query_scalar::<DB, String>(listing.names);
            let names = bind_page!(query, &user, all, &package_type, &search, page)
                .fetch_all(&mut *conn)
                .await?;
            let rows = if names.is_empty() {
                Vec::new()
            } else {
                sqlx::query_as::<DB, SeenRow>(listing.rows_named)
                    .bind(&user)
                    .bind(all)
                    .bind(serde_json::to_string(&names).map_err(anyhow::Error::from)?)
                    .bind(recent_day())
                    .fetch_all(&mut *conn)
                    .await?
            };
            (rows, names.len())
        } else {
            let page_sql = if page.offset() == 0 {
                listing.first
            } else {
                listing.later
            };
            let query = sqlx::query_as::<DB, SeenRow>(page_sql);
            let rows = bind_page!(query, &user, all, &package_type, &search, page)
                .bind(recent_day())
                .fetch_all(&mut *conn)
                .await?;
            let matched = rows.len();
            (rows, matched)
        };
        // A page that is not full, and not past the end, is the last one: it says the total
        // without a second pass over the matches (a search's usual answer).
        let short = matched < page.size as usize && (matched > 0 || page.offset() == 0);
        let total = if short {
            page.offset() + matched as i64
        } else {
            sqlx::query_scalar::<DB, i64>(listing.count)
                .bind(&user)
                .bind(all)
                .bind(&package_type)
                .bind(&search)
                .fetch_one(&mut *conn)
                .await?
        };
        let seen = rows
            .into_iter()
            .map(SeenRow::into_seen)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((seen, u64::try_from(total).unwrap_or(0)))
    }

    async fn visible_package_names(&self, viewer: Viewer) -> StoreResult<Vec<String>> {
        let (user, all) = viewer.params();
        Ok(sqlx::query_scalar::<DB, String>(concat!(
            "SELECT p.name FROM packages p WHERE ",
            visible_to_viewer!(),
            " ORDER BY p.name",
        ))
        .bind(&user)
        .bind(all)
        .fetch_all(self.reader())
        .await?)
    }

    async fn private_package_names(&self, viewer: Viewer) -> StoreResult<Vec<String>> {
        let (user, all) = viewer.params();
        // `visibility <> 'public'` first: the condition of the partial index
        // `packages_not_public_idx`; then the visibility filter, as everywhere.
        Ok(sqlx::query_scalar::<DB, String>(concat!(
            "SELECT p.name FROM packages p WHERE p.visibility <> 'public' AND ",
            visible_to_viewer!(),
            " ORDER BY p.name",
        ))
        .bind(&user)
        .bind(all)
        .fetch_all(self.reader())
        .await?)
    }

    fn registry_writes(&self) -> u64 {
        self.registry_writes_now()
    }

    async fn registry_generation(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar::<DB, i64>(
                "SELECT generation FROM registry_generation WHERE id = 1",
            )
            .fetch_one(self.reader())
            .await?,
        )
    }

    async fn packages_with_repository(&self, owner_id: Uuid) -> StoreResult<Vec<Package>> {
        let rows = sqlx::query_as::<DB, PackageRow>(
            "SELECT p.name, p.owner_id, u.username AS owner_username, p.package_type, \
             p.description, p.visibility, p.repository_url, \
             (p.webhook_secret IS NOT NULL) AS has_webhook_secret, \
             (p.repository_credentials IS NOT NULL) AS has_repository_credentials, \
             p.created_at, p.updated_at, p.abandoned, p.abandoned_replacement, \
             (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
              WHERE d.package = p.name) AS downloads_total, \
             (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
              WHERE d.package = p.name AND d.day >= $2) AS downloads_recent \
             FROM packages p JOIN users u ON u.id = p.owner_id \
             WHERE p.owner_id = $1 AND p.repository_url IS NOT NULL ORDER BY p.name",
        )
        .bind(owner_id.to_string())
        .bind(recent_day())
        .fetch_all(self.reader())
        .await?;
        packages(rows)
    }

    async fn package_versions(&self, name: &str) -> StoreResult<Vec<PackageVersion>> {
        Ok(sqlx::query_as::<DB, VersionRow>(
            "SELECT package, version, version_normalized, manifest, sha256, shasum, size, \
             dist_path, created_at, yanked_reason, yanked_at, publisher_kind, publisher_name, \
             publisher_token_id, source_kind, source_commit FROM package_versions WHERE package = $1 \
             ORDER BY created_at, version",
        )
        .bind(name)
        .fetch_all(self.reader())
        .await?
        .into_iter()
        .map(VersionRow::into_version)
        .collect())
    }

    async fn package_version(&self, name: &str, version: &str) -> StoreResult<PackageVersion> {
        Ok(sqlx::query_as::<DB, VersionRow>(
            "SELECT package, version, version_normalized, manifest, sha256, shasum, size, \
             dist_path, created_at, yanked_reason, yanked_at, publisher_kind, publisher_name, \
             publisher_token_id, source_kind, source_commit FROM package_versions WHERE package = $1 AND version = $2",
        )
        .bind(name)
        .bind(version)
        .fetch_one(self.reader())
        .await?
        .into_version())
    }

    async fn publish_version(&self, new: &NewVersion) -> StoreResult<PublishOutcome> {
        const PACKAGE: &str = "SELECT p.name, p.owner_id, u.username AS owner_username, \
             p.package_type, p.description, p.visibility, p.repository_url, \
             (p.webhook_secret IS NOT NULL) AS has_webhook_secret, \
             (p.repository_credentials IS NOT NULL) AS has_repository_credentials, \
             p.created_at, p.updated_at, p.abandoned, p.abandoned_replacement, \
             (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
              WHERE d.package = p.name) AS downloads_total, \
             (SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM download_counts d \
              WHERE d.package = p.name AND d.day >= $2) AS downloads_recent \
             FROM packages p JOIN users u ON u.id = p.owner_id WHERE p.name = $1";
        let mut version = new.version.clone();
        let v = &mut version;
        let owner = new.owner_id.to_string();
        let _registry = self.registry_write();
        let mut tx = self.writer().begin().await?;
        // Claim the vendor, or find who has it, in the transaction that publishes:
        // of two accounts racing for a new vendor, the second waits on the first's
        // row (PostgreSQL) or its turn at the single writer (SQLite), then sees it.
        let vendor = vendor_of(&v.package);
        sqlx::query::<DB>(
            "INSERT INTO vendors (name, owner_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(vendor)
        .bind(&owner)
        .bind(v.created_at)
        .execute(&mut *tx)
        .await?;
        // The vendor's account, or its organization and the publisher's role there.
        let (vendor_owner, vendor_org, role) =
            sqlx::query_as::<DB, (Option<String>, Option<String>, Option<String>)>(
                "SELECT v.owner_id, v.org_name, m.role FROM vendors v \
                 LEFT JOIN org_members m ON m.org_name = v.org_name AND m.user_id = $2 \
                 WHERE v.name = $1",
            )
            .bind(vendor)
            .bind(&owner)
            .fetch_one(&mut *tx)
            .await?;
        let publishes = match (&vendor_owner, role.as_deref()) {
            (Some(id), _) => id == &owner,
            (None, Some(role)) => role == "owner" || role == "maintainer",
            (None, None) => false,
        };
        if !publishes {
            return Ok(PublishOutcome::VendorOwned {
                orphaned: vendor_owner.is_none() && vendor_org.is_none(),
            });
        }
        let tombstoned = sqlx::query_scalar::<DB, String>(
            "SELECT version FROM version_tombstones \
             WHERE package = $1 AND version_normalized = $2",
        )
        .bind(&v.package)
        .bind(&v.version_normalized)
        .fetch_optional(&mut *tx)
        .await?;
        if tombstoned.is_some() {
            return Ok(PublishOutcome::Tombstoned);
        }
        sqlx::query::<DB>(
            "INSERT INTO packages (name, owner_id, package_type, description, \
             visibility, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, COALESCE($6, 'public'), $5, $5) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&v.package)
        .bind(&owner)
        .bind(new.package_type.as_str())
        .bind(&new.description)
        .bind(v.created_at)
        .bind(new.visibility.map(|v| v.as_str().to_owned()))
        .execute(&mut *tx)
        .await?;
        let package = sqlx::query_as::<DB, PackageRow>(PACKAGE)
            .bind(&v.package)
            .bind(recent_day())
            .fetch_one(&mut *tx)
            .await?
            .into_package()?;
        // Under an organization's vendor its owners and maintainers publish every add-on,
        // whoever created it; under an account's, the add-on's own account only.
        if vendor_org.is_none() && package.owner_id != new.owner_id {
            return Ok(PublishOutcome::NotOwner);
        }
        // A version under an organization's vendor is the organization's: the provenance
        // names it (and keeps the token that uploaded it).
        if let (Some(org), Some(p)) = (&vendor_org, v.provenance.as_mut()) {
            p.publisher_kind = "org".to_owned();
            p.publisher_name = org.clone();
        }
        let v = &*v;
        if package.package_type != new.package_type {
            return Ok(PublishOutcome::TypeMismatch(package.package_type));
        }
        if new
            .visibility
            .is_some_and(|asked| asked != package.visibility)
        {
            return Ok(PublishOutcome::VisibilityMismatch(package.visibility));
        }
        let inserted = sqlx::query::<DB>(
            "INSERT INTO package_versions (package, version, version_normalized, \
             manifest, sha256, shasum, size, dist_path, created_at, publisher_kind, \
             publisher_name, publisher_token_id, source_kind, source_commit) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&v.package)
        .bind(&v.version)
        .bind(&v.version_normalized)
        .bind(&v.manifest)
        .bind(&v.sha256)
        .bind(&v.shasum)
        .bind(v.size)
        .bind(&v.dist_path)
        .bind(v.created_at)
        .bind(v.provenance.as_ref().map(|p| p.publisher_kind.clone()))
        .bind(v.provenance.as_ref().map(|p| p.publisher_name.clone()))
        .bind(
            v.provenance
                .as_ref()
                .and_then(|p| p.token_id.map(|t| t.to_string())),
        )
        .bind(v.provenance.as_ref().map(|p| p.source.kind().to_owned()))
        .bind(v.provenance.as_ref().and_then(|p| match &p.source {
            Source::Webhook { commit } => commit.clone(),
            Source::Upload => None,
        }))
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            return match StoreError::from(e) {
                StoreError::Conflict { .. } => Ok(PublishOutcome::VersionExists),
                other => Err(other),
            };
        }
        sqlx::query::<DB>(
            "UPDATE packages SET updated_at = $2, \
             description = COALESCE(description, $3) WHERE name = $1",
        )
        .bind(&v.package)
        .bind(v.created_at)
        .bind(&new.description)
        .execute(&mut *tx)
        .await?;
        let package = sqlx::query_as::<DB, PackageRow>(PACKAGE)
            .bind(&v.package)
            .bind(recent_day())
            .fetch_one(&mut *tx)
            .await?
            .into_package()?;
        tx.commit().await?;
        Ok(PublishOutcome::Published(Box::new((package, v.clone()))))
    }

    async fn vendor(&self, name: &str) -> StoreResult<Vendor> {
        sqlx::query_as::<DB, VendorRow>(VENDOR)
            .bind(name)
            .fetch_one(self.reader())
            .await?
            .into_vendor()
    }

    async fn transfer_vendor(&self, name: &str, owner_id: Uuid) -> StoreResult<Vendor> {
        let done =
            sqlx::query::<DB>("UPDATE vendors SET owner_id = $2, org_name = NULL WHERE name = $1")
                .bind(name)
                .bind(owner_id.to_string())
                .execute(self.writer())
                .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        // Read back on the writer, which has seen the change.
        sqlx::query_as::<DB, VendorRow>(VENDOR)
            .bind(name)
            .fetch_one(self.writer())
            .await?
            .into_vendor()
    }

    async fn tombstone(
        &self,
        package: &str,
        version_normalized: &str,
    ) -> StoreResult<Option<Tombstone>> {
        Ok(sqlx::query_as::<DB, TombstoneRow>(
            "SELECT package, version, sha256, deleted_at FROM version_tombstones \
             WHERE package = $1 AND version_normalized = $2",
        )
        .bind(package)
        .bind(version_normalized)
        .fetch_optional(self.reader())
        .await?
        .map(TombstoneRow::into_tombstone))
    }

    async fn owned_dist_paths(&self, owner_id: Uuid) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar::<DB, String>(
            "SELECT v.dist_path FROM package_versions v \
             JOIN packages p ON p.name = v.package WHERE p.owner_id = $1",
        )
        .bind(owner_id.to_string())
        .fetch_all(self.reader())
        .await?)
    }

    async fn document_stamp(
        &self,
        document: &str,
        digest: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Timestamp>> {
        const KNOWN: &str = "SELECT stamp FROM document_stamps \
             WHERE document = $1 AND digest = $2";
        let known = sqlx::query_scalar::<DB, i64>(KNOWN)
            .bind(document)
            .bind(digest)
            .fetch_optional(self.reader())
            .await?;
        if known.is_some() {
            return Ok(known);
        }
        // Another request (here or on another node) may take the chosen second, or
        // stamp the same content, meanwhile: the insert then does nothing, and the
        // content's stamp is read again or the next free second tried.
        for _ in 0..8 {
            let taken = sqlx::query_scalar::<DB, i64>(
                "SELECT stamp FROM document_stamps \
                 WHERE document = $1 AND stamp > $2 AND stamp <= $3 \
                 ORDER BY stamp DESC",
            )
            .bind(document)
            .bind(now - STAMP_WINDOW)
            .bind(now)
            .fetch_all(self.writer())
            .await?;
            let Some(stamp) = free_stamp(now, &taken) else {
                return Ok(None);
            };
            sqlx::query::<DB>(
                "INSERT INTO document_stamps (document, digest, stamp) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(document)
            .bind(digest)
            .bind(stamp)
            .execute(self.writer())
            .await?;
            let found = sqlx::query_scalar::<DB, i64>(KNOWN)
                .bind(document)
                .bind(digest)
                .fetch_optional(self.writer())
                .await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    async fn purge_document_stamps(&self, before: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query::<DB>("DELETE FROM document_stamps WHERE stamp < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(DB::rows_affected(&done))
    }

    async fn tidy_search_index(&self) -> StoreResult<u64> {
        DB::tidy_search_index(self.writer()).await
    }

    async fn update_package(&self, name: &str, c: &PackageChanges) -> StoreResult<Package> {
        let _registry = self.registry_write();
        let done = sqlx::query::<DB>(
            "UPDATE packages SET \
             visibility = COALESCE($2, visibility), \
             description = CASE WHEN $3 THEN $4 ELSE description END, \
             repository_url = CASE WHEN $5 THEN $6 ELSE repository_url END, \
             webhook_secret = CASE WHEN $7 THEN $8 ELSE webhook_secret END, \
             repository_credentials = \
                 CASE WHEN $10 THEN $11 ELSE repository_credentials END, \
             abandoned = CASE WHEN $12 THEN $13 ELSE abandoned END, \
             abandoned_replacement = CASE WHEN $12 THEN $14 ELSE abandoned_replacement END, \
             updated_at = $9 WHERE name = $1",
        )
        .bind(name)
        .bind(c.visibility.map(|v| v.as_str().to_owned()))
        .bind(c.description.is_some())
        .bind(c.description.clone().flatten())
        .bind(c.repository_url.is_some())
        .bind(c.repository_url.clone().flatten())
        .bind(c.webhook_secret.is_some())
        .bind(c.webhook_secret.clone().flatten())
        .bind(super::now())
        .bind(c.repository_credentials.is_some())
        .bind(c.repository_credentials.clone().flatten())
        .bind(c.abandoned.is_some())
        .bind(c.abandoned.as_ref().is_some_and(|a| *a != Abandoned::No))
        .bind(match &c.abandoned {
            Some(Abandoned::ReplacedBy(r)) => Some(r.clone()),
            _ => None,
        })
        .execute(self.writer())
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        self.package(name).await
    }

    async fn webhook_secret(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar::<DB, Option<String>>(
            "SELECT webhook_secret FROM packages WHERE name = $1",
        )
        .bind(name)
        .fetch_one(self.reader())
        .await?)
    }

    async fn repository_credentials(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar::<DB, Option<String>>(
            "SELECT repository_credentials FROM packages WHERE name = $1",
        )
        .bind(name)
        .fetch_one(self.reader())
        .await?)
    }

    async fn record_delivery(&self, delivery_id: &str, at: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query::<DB>(
            "INSERT INTO webhook_deliveries (delivery_id, received_at) VALUES ($1, $2) \
             ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(delivery_id)
        .bind(at)
        .execute(self.writer())
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn forget_delivery(&self, delivery_id: &str) -> StoreResult<()> {
        sqlx::query::<DB>("DELETE FROM webhook_deliveries WHERE delivery_id = $1")
            .bind(delivery_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query::<DB>("DELETE FROM webhook_deliveries WHERE received_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(DB::rows_affected(&done))
    }

    async fn yank_version(
        &self,
        package: &str,
        version: &str,
        reason: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<PackageVersion> {
        let _registry = self.registry_write();
        let mut tx = self.writer().begin().await?;
        // A second yank keeps the first time; a new reason replaces the old one.
        let done = sqlx::query::<DB>(
            "UPDATE package_versions SET yanked_reason = $3, \
             yanked_at = CASE WHEN $3 IS NULL THEN NULL ELSE COALESCE(yanked_at, $4) END \
             WHERE package = $1 AND version = $2",
        )
        .bind(package)
        .bind(version)
        .bind(reason.map(str::to_owned))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query::<DB>("UPDATE packages SET updated_at = $2 WHERE name = $1")
            .bind(package)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let v = sqlx::query_as::<DB, VersionRow>(
            "SELECT package, version, version_normalized, manifest, sha256, shasum, size, \
             dist_path, created_at, yanked_reason, yanked_at, publisher_kind, publisher_name, \
             publisher_token_id, source_kind, source_commit FROM package_versions \
             WHERE package = $1 AND version = $2",
        )
        .bind(package)
        .bind(version)
        .fetch_one(&mut *tx)
        .await?
        .into_version();
        tx.commit().await?;
        Ok(v)
    }

    async fn metadata_changes(
        &self,
        since: i64,
        limit: i64,
        viewer: Viewer,
    ) -> StoreResult<Vec<MetadataChange>> {
        let (user, _) = viewer.params();
        sqlx::query_as::<DB, ChangeRow>(concat!(
            "SELECT c.package, c.at, c.owner_id, c.was_public, c.is_public, c.deleted, \
             EXISTS (SELECT 1 FROM vendors v JOIN org_members m ON m.org_name = v.org_name \
                     WHERE v.name = c.vendor AND m.user_id = $3) AS viewer_is_member \
             FROM metadata_changes c WHERE c.at >= $1 ORDER BY c.at, c.package ",
            limit!("$2")
        ))
        .bind(since)
        .bind(limit)
        .bind(&user)
        .fetch_all(self.reader())
        .await?
        .into_iter()
        .map(|r| {
            Ok(MetadataChange {
                owner_id: r.owner_id.as_deref().map(parse_uuid).transpose()?,
                package: r.package,
                at: r.at,
                was_public: r.was_public,
                is_public: r.is_public,
                deleted: r.deleted,
                viewer_is_member: r.viewer_is_member,
            })
        })
        .collect()
    }

    async fn purge_metadata_changes(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query::<DB>("DELETE FROM metadata_changes WHERE at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(DB::rows_affected(&done))
    }

    async fn add_downloads(&self, counts: &[(String, String, i64, i64)]) -> StoreResult<i64> {
        let mut tx = self.writer().begin().await?;
        let mut written = 0;
        for (package, version_normalized, day, count) in counts {
            // `WHERE` in the SELECT also tells SQLite's parser the ON CONFLICT is the
            // insert's.
            let done = sqlx::query::<DB>(
                "INSERT INTO download_counts (package, version, day, count) \
                 SELECT package, version, $3, $4 FROM package_versions \
                 WHERE package = $1 AND version_normalized = $2 \
                 ON CONFLICT (package, version, day) \
                 DO UPDATE SET count = download_counts.count + excluded.count",
            )
            .bind(package)
            .bind(version_normalized)
            .bind(*day)
            .bind(*count)
            .execute(&mut *tx)
            .await?;
            if DB::rows_affected(&done) > 0 {
                written += count;
            }
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn download_counts(&self, package: &str) -> StoreResult<Vec<(String, i64, i64)>> {
        Ok(sqlx::query_as::<DB, (String, i64, i64)>(
            "SELECT version, day, count FROM download_counts WHERE package = $1 \
             ORDER BY day, version",
        )
        .bind(package)
        .fetch_all(self.reader())
        .await?)
    }

    async fn create_advisory(&self, a: &Advisory) -> StoreResult<()> {
        let _registry = self.registry_write();
        let mut tx = self.writer().begin().await?;
        let inserted = sqlx::query::<DB>(
            "INSERT INTO security_advisories (advisory_id, package, title, \
             affected_versions, severity, cve, link, reported_at, created_at, updated_at) \
             SELECT $1, name, $3, $4, $5, $6, $7, $8, $9, $10 FROM packages WHERE name = $2",
        )
        .bind(&a.advisory_id)
        .bind(&a.package)
        .bind(&a.title)
        .bind(&a.affected_versions)
        .bind(a.severity.map(|s| s.as_str().to_owned()))
        .bind(a.cve.clone())
        .bind(a.link.clone())
        .bind(a.reported_at)
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&inserted) == 0 {
            return Err(StoreError::NotFound);
        }
        // The add-on's Composer file changes with it (and the change feed says so).
        sqlx::query::<DB>("UPDATE packages SET updated_at = $2 WHERE name = $1")
            .bind(&a.package)
            .bind(a.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn package_advisories(&self, package: &str) -> StoreResult<Vec<Advisory>> {
        advisories(
            sqlx::query_as::<DB, AdvisoryRow>(
                "SELECT advisory_id, package, title, affected_versions, severity, cve, link, \
                 reported_at, created_at, updated_at FROM security_advisories \
                 WHERE package = $1 ORDER BY reported_at, advisory_id",
            )
            .bind(package)
            .fetch_all(self.reader())
            .await?,
        )
    }

    async fn visible_advisories(
        &self,
        viewer: Viewer,
        since: Option<Timestamp>,
    ) -> StoreResult<Vec<Advisory>> {
        let (user, all) = viewer.params();
        advisories(
            sqlx::query_as::<DB, AdvisoryRow>(concat!(
                "SELECT a.advisory_id, a.package, a.title, a.affected_versions, a.severity, \
                 a.cve, a.link, a.reported_at, a.created_at, a.updated_at \
                 FROM security_advisories a JOIN packages p ON p.name = a.package \
                 WHERE ",
                visible_to_viewer!(),
                " AND ($3 IS NULL OR a.updated_at >= $3) \
                 ORDER BY a.package, a.reported_at, a.advisory_id",
            ))
            .bind(&user)
            .bind(all)
            .bind(since)
            .fetch_all(self.reader())
            .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The point of an anonymous viewer's statements is what they leave out; the HTTP
    /// tests check what every viewer is shown. Every statement holds its viewer's
    /// condition, the rows read by name too (an add-on may turn private between the two).
    #[test]
    fn an_anonymous_viewers_listings_read_no_memberships() {
        for listings in [&LIST, &LIST_MATCHING, &LIST_INDEXED] {
            let anonymous = &listings.anonymous;
            let signed_in = &listings.signed_in;
            for (anon, user) in [
                (anonymous.first, signed_in.first),
                (anonymous.later, signed_in.later),
                (anonymous.count, signed_in.count),
                (anonymous.names, signed_in.names),
                (anonymous.rows_named, signed_in.rows_named),
            ] {
                assert!(
                    !anon.contains("vendors") && !anon.contains("org_members"),
                    "{anon}"
                );
                assert!(anon.contains(visible_to_anonymous!()), "{anon}");
                assert!(user.contains(visible_to_viewer!()), "{user}");
            }
        }
        assert_eq!(LIST.of(Viewer::Anonymous).first, LIST.anonymous.first);
        for viewer in [Viewer::User(Uuid::nil()), Viewer::Admin(Uuid::nil())] {
            assert_eq!(LIST.of(viewer).first, LIST.signed_in.first);
        }
    }

    #[test]
    fn a_new_stamp_is_the_latest_free_second_within_the_window() {
        assert_eq!(free_stamp(100_000, &[]), Some(100_000));
        assert_eq!(free_stamp(100_000, &[99_990]), Some(100_000));
        assert_eq!(
            free_stamp(100_000, &[100_000, 99_999, 99_997]),
            Some(99_998)
        );
        let full: Vec<i64> = (100_000 - STAMP_WINDOW + 1..=100_000).rev().collect();
        assert_eq!(free_stamp(100_000, &full), None);
    }
}
