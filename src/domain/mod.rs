//! The vocabulary of the server: validated newtypes, secrets and the OAuth2 grants.
//! Nothing here knows about HTTP or SQL.

pub mod authorize;
pub mod client;
pub mod grants;
pub mod password;
pub mod scope;
pub mod secret;
pub mod tokens;
pub mod user;

pub use grants::GrantType;
pub use scope::{Scope, ScopeSet};
pub use secret::{PlainSecret, TokenDigest};
