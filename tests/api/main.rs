//! HTTP tests against a real server on port 0 with a fresh database per test.

mod admin;
mod authorize;
mod browser;
mod cli;
mod clients;
mod conventions;
mod helpers;
mod limiter;
mod market;
mod multinode;
mod observability;
mod packages;
mod presentation;
mod process;
mod projects;
mod refresh;
mod registry;
mod revocation;
mod scopes;
mod settings;
mod switches;
mod token_endpoint;
mod tokens;
mod user;
mod webhook;
