//! The ground floor: the vocabulary of the server as validated values and pure rules —
//! scopes, grant types, secrets and their digests, PKCE, the refresh-token decision, the
//! authorization request's rules, account and client validation, the marketplace's names,
//! versions and constraints, dist archive checks over bytes, the parsing of repository URLs
//! and the classification of addresses. Nothing here does I/O (beyond the clock and the
//! random generator that secrets need) or knows about HTTP, SQL, the store or the services;
//! each use case's invalid fields are named by an enum here (`ClientField`, …).

pub mod advisory;
pub mod archive;
pub mod authorize;
pub mod client;
pub mod dpop;
pub mod fields;
pub mod form;
pub mod git;
pub mod grant_type;
pub mod id_token;
pub mod jose;
pub mod org;
pub mod outbound;
pub mod package;
pub mod pkce;
pub mod project;
pub mod refresh;
pub mod scope;
pub mod secret;
pub mod text;
pub mod time;
pub mod tokens;
pub mod user;
pub mod version;

pub use grant_type::GrantType;
pub use scope::{Scope, ScopeSet};
pub use secret::{PlainSecret, TokenDigest};
