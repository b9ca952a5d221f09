//! Background work, a front end like the JSON API: it calls the same services and
//! reports its own outcomes (never an HTTP error). The webhook's git syncs run through
//! [`sync::SyncRunner`] — per-owner queues ([`queue`]), one sync per add-on at a time, and
//! a bounded record of recent jobs whose outcome can be asked for by id; [`cleanup`]
//! purges what has ended, once an hour.

pub mod cleanup;
pub mod downloads;
pub mod queue;
pub mod sync;
