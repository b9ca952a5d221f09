//! HTTP tests against a real server on port 0 with a fresh database per test.

mod cli;
mod conventions;
mod helpers;
mod market;
mod packages;
mod presentation;
mod projects;
mod refresh;
mod token_endpoint;
mod tokens;
mod user;
mod webhook;
