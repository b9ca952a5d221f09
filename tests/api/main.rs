//! HTTP tests against a real server on port 0 with a fresh database per test.

mod cli;
mod conventions;
mod helpers;
mod multinode;
mod presentation;
mod process;
mod refresh;
mod token_endpoint;
mod tokens;
mod user;
