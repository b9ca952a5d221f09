//! What differs between the database engines, behind one trait: [`Engine`], implemented on
//! sqlx's own database types ([`sqlx::Sqlite`] in `sqlite.rs`, [`sqlx::Postgres`] in
//! `postgres.rs`). Everything else — the SQL of every query and the decoding of its rows —
//! is written once, generically, in [`SqlStore<DB>`](super::SqlStore).
//!
//! # The bound alias
//!
//! Generic code over `DB: Engine` must also say which Rust types `DB` can bind and decode,
//! and that its connections execute queries. Rust does not carry such `where` clauses
//! from a trait to its users (only supertraits travel), so every generic `impl` block of the
//! store repeats this one list, identically — one block per trait, plus one for the shared
//! helpers:
//!
//! ```text
//! where
//!     DB: Engine,
//!     for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
//!     DB::Arguments: IntoArguments<DB>,
//!     for<'r> &'r str: ColumnIndex<DB::Row>,
//!     usize: ColumnIndex<DB::Row>,
//!     str: Type<DB>,
//!     for<'q, 's> &'s str: Encode<'q, DB>,
//!     for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
//!     for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
//!     for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
//!     for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
//!     for<'q> Option<String>: Encode<'q, DB>,
//!     for<'q> Option<i64>: Encode<'q, DB>,
//!     for<'q> Option<bool>: Encode<'q, DB>,
//!     for<'q> Option<Vec<u8>>: Encode<'q, DB>,
//! ```
//!
//! Read it as: "a sqlx database whose connections run queries, whose rows are read by column
//! name (and by position, for tuples and scalars), and which stores text, 64-bit integers,
//! booleans and bytes, each possibly NULL". Rows are `#[derive(sqlx::FromRow)]` structs of
//! those types only; sqlx proves them decodable from this list. A query that needs a new
//! Rust type adds it here and in every block (a unit test below keeps the blocks identical).
//! Binding `&str` borrowed values is covered; `Option<&str>` is not (bind an owned
//! `Option<String>`), because sqlx's `Option` encoder wants the borrow to outlive every `'q`.

use async_trait::async_trait;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::{Database, Pool};

use super::{Exchange, StoreResult, TokenWrite};
use crate::config::DatabaseConfig;

/// A database engine harmony runs on, and what it does differently: how it connects, its
/// migrations, which pool serves reads and which writes, and the token write path (the
/// token endpoint's hot path, where each engine does what it does best).
///
/// Its connections run migrations (`Connection: Migrate`, as every sqlx engine's do): said
/// here, in the supertrait, rather than in the bound alias, because bounds on a
/// supertrait's associated types travel to generic code and `where` clauses do not.
#[async_trait]
pub trait Engine: Database<Connection: Migrate> {
    /// An open database: its pools, and whatever serves them (SQLite's token writer task).
    type Pools: Send + Sync + 'static;

    /// Whether the marketplace search reads a trigram table (`packages_search`, SQLite's
    /// FTS5) for a query of three characters or more. Otherwise the search is a `LIKE`,
    /// which PostgreSQL answers from trigram indexes where pg_trgm could be installed.
    const TRIGRAM_SEARCH: bool;

    /// Whether a `LIKE` search reads the page's names first and then their rows, in two
    /// statements. PostgreSQL plans a search on every execution (the plan it could keep
    /// cannot know how many add-ons a pattern matches), and the columns' subqueries and
    /// joins were half of that planning; the statement that reads rows by name it plans
    /// once. SQLite plans each statement once, and a second would only be another trip.
    const SEARCH_NAMES_FIRST: bool;

    /// The embedded migrations of this engine (`migrations/sqlite/` or
    /// `migrations/postgres/`: the same versions and names, each in its own dialect, but
    /// where only one engine needs a change, such as PostgreSQL's search indexes).
    fn migrator() -> &'static Migrator;

    /// Opens the database the configuration names (a SQLite file is created when missing),
    /// without migrating it.
    async fn open(config: &DatabaseConfig) -> anyhow::Result<Self::Pools>;

    /// The pool that serves reads.
    fn reader(pools: &Self::Pools) -> &Pool<Self>;

    /// The pool that serves writes (SQLite: its one writer connection).
    fn writer(pools: &Self::Pools) -> &Pool<Self>;

    /// How many rows a statement changed (sqlx has no engine-independent accessor).
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// Applies a token write (issuance, or a refresh token exchange) and answers once it is
    /// committed. An exchange must be atomic per token: the engine reads the stored token,
    /// calls the write's [`RefreshDecider`](super::RefreshDecider) on it and applies the
    /// decision such that of concurrent exchanges of one token exactly one rotates
    /// (SQLite: one writer, reading inside its write transaction; PostgreSQL: the token
    /// read `FOR UPDATE`, so that a concurrent exchange on another node waits for the
    /// commit and then finds it used). Both engines group concurrent writes (`group.rs`).
    async fn write_tokens(pools: &Self::Pools, write: TokenWrite) -> StoreResult<Option<Exchange>>;

    /// Merges the marketplace search index into fewer parts, in short steps on `writer`,
    /// and says how many steps did work (SQLite's FTS5 table, where every search reads
    /// each part; PostgreSQL's indexes need nothing: 0).
    async fn tidy_search_index(writer: &Pool<Self>) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    /// The bound alias as the module documentation states it.
    fn documented() -> String {
        let doc = include_str!("engine.rs");
        let start = doc.find("//! where\n").expect("the documented alias");
        let end = start + doc[start..].find("//! ```").expect("its end");
        doc[start..end]
            .lines()
            .map(|l| l.strip_prefix("//! ").unwrap_or(l).trim_end())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Every `where` clause that starts with `DB: Engine,` in a file of the store, up to
    /// the `{` that opens its block.
    fn clauses(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find("\nwhere\n    DB: Engine,\n") {
            let clause = &rest[at + 1..];
            let end = clause.find("\n{").expect("the block opens");
            found.push(clause[..end].to_owned());
            rest = &clause[end..];
        }
        found
    }

    #[test]
    fn every_generic_block_repeats_the_documented_bound_alias() {
        let alias = documented();
        let files = [
            ("sql.rs", include_str!("sql.rs")),
            ("oauth.rs", include_str!("oauth.rs")),
            ("projects.rs", include_str!("projects.rs")),
            ("packages.rs", include_str!("packages.rs")),
            ("attempts.rs", include_str!("attempts.rs")),
            ("orgs.rs", include_str!("orgs.rs")),
        ];
        let mut blocks = 0;
        for (name, source) in files {
            let found = clauses(source);
            assert!(!found.is_empty(), "{name} has no generic block");
            for clause in found {
                assert_eq!(clause, alias, "{name} differs from the bound alias");
                blocks += 1;
            }
        }
        // One per trait (Store, OAuthStore, ProjectStore, PackageStore, OrgStore,
        // AttemptStore) and
        // one for the shared helpers: a new block is a reason to look again.
        assert_eq!(blocks, 7);
    }
}
