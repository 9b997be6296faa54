//! msgkit: the `msgd` messaging API server and the `msgctl` command-line client, over one library.
//!
//! # Layers
//! Each imports only from the layers above it in this list (`scripts/check-layers` keeps it so):
//! 1. [`domain`]: validated values and entities (`Email`, `User`, `Message`, message ids, times).
//! 2. [`telemetry`] (logs, metrics), [`api`] (the JSON bodies of the HTTP API, shared by server, client and
//!    OpenAPI description), [`exit`] (exit codes of the command-line programs).
//! 3. [`store`] (the `Store` trait and its backends), [`auth`] (passwords, bcrypt, tokens), [`throttle`]
//!    (rate-limit counters), [`client`] (a typed HTTP client for the API).
//! 4. [`config`] (msgd's settings), [`app`] (the use cases: accounts, sessions, messages, admin, streams,
//!    transfer).
//! 5. [`http`] (router, handlers, `ApiError`, OpenAPI, `serve`) and [`cli`] (msgctl).
//! 6. [`msgd`]: msgd's command line, start-up and shutdown, and its commands' front ends.
//!
//! `src/bin/msgd.rs` and `src/bin/msgctl.rs` only parse and call [`msgd`] and [`cli`].
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod exit;
pub mod http;
pub mod msgd;
pub mod store;
pub mod telemetry;
pub mod throttle;
