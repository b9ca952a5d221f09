//! `harmony` — the HarmonyCMS platform API: an OAuth2 authorization server and the
//! resource API behind it, in one binary, on embedded SQLite or on PostgreSQL.
//!
//! The modules, in reading order:
//!
//! * [`cli`] and [`config`] — the command line and every setting (`HARMONY_*`).
//! * [`startup`] — builds the [`state::AppState`] once, binds, serves until shutdown.
//! * [`state`] — the application state the web front ends share.
//! * [`http`] — the router, its layers and extractors, one module per endpoint family,
//!   and the two error envelopes ([`http::error::ApiError`], [`http::error::OAuthError`]).
//! * [`domain`] — validated types (usernames, scopes, grants), secrets, the grants.
//! * [`store`] — the [`store::Store`] trait and its SQLite and PostgreSQL implementations.
//! * [`service`] — the use cases, shared by every front end.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod pages;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
