//! `harmony` — the HarmonyCMS platform API: an OAuth2 authorization server and the
//! resource API behind it, in one binary, on embedded SQLite or on PostgreSQL.
//!
//! The modules, in reading order, from the ground up (nothing imports a module above it;
//! docs/architecture.md draws the floors and follows a request through them):
//!
//! * [`config`] — every setting (`HARMONY_*`); [`metrics`] — the application's metrics.
//! * [`domain`] — validated values and pure rules (scopes, grant types, secrets, the
//!   refresh-token decision, the authorization request's rules, names and versions): no I/O.
//! * [`store`] — the [`store::Store`] trait, its SQLite and PostgreSQL implementations and
//!   the dist files on disk.
//! * [`service`] — the use cases, one module per family, each with its own error enum;
//!   [`service::Services`] is built once and shared by every front end.
//! * The front ends, each calling the services and rendering their outcomes its own way:
//!   [`http`] (the JSON API, with its error envelopes [`http::error::ApiError`] and
//!   [`http::error::OAuthError`]), [`pages`] (the HTML pages), [`jobs`] (background work)
//!   and [`cli`] (the command line). [`state`] holds what the two web front ends share.
//! * [`startup`] — builds the services, the job runner and the state once, binds, serves
//!   until shutdown; `main.rs` parses the command line and dispatches.

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
