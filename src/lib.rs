//! `harmony` — the HarmonyCMS platform API: an OAuth2 authorization server and the
//! resource API behind it, in one binary, on embedded SQLite or on PostgreSQL.
//!
//! The modules, in reading order:
//!
//! * [`cli`] and [`config`] — the command line and every setting (`HARMONY_*`).
//! * [`startup`] — builds the [`http::AppState`] once, binds, serves until shutdown.
//! * [`http`] — the router, its layers and extractors, one module per endpoint family.
//! * [`domain`] — validated types (usernames, scopes, grants), secrets, the grants.
//! * [`store`] — the [`store::Store`] trait and its SQLite and PostgreSQL implementations.
//! * [`error`] — the two error envelopes: [`error::ApiError`] and [`error::OAuthError`].
//! * [`admin`] — operations shared by the command line and the first-start bootstrap.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod startup;
pub mod store;
