//! The vocabulary of the server: validated newtypes, secrets, the OAuth2 grants, and the
//! marketplace's names, versions, constraints, dist archives, git sync and
//! the policy for what the server may fetch.
//! Nothing here knows about HTTP or SQL.

pub mod archive;
pub mod authorize;
pub mod client;
pub mod fields;
pub mod form;
pub mod git;
pub mod grant_type;
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
