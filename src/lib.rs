//! msgkit: the `msgd` messaging API server and the `msgctl` command-line client, over one library.
//!
//! # Layout
//! - [`config`]: msgd's settings and subcommands, `clap` structs that are also the `--help` reference.
//! - [`admin`]: account administration shared by the admin API and `msgd admin …`.
//! - [`domain`]: validated values (`Email`, `Password`, `NewPassword`, `MessageContent`).
//! - [`auth`]: generated passwords, bcrypt gated to the cores, HS256 login tokens.
//! - [`store`]: the `Store` trait and its backends (`sqlite`, `mongo`); the database URL picks one at start-up.
//! - [`api`]: the JSON bodies of the HTTP API, shared by server, client and OpenAPI description.
//! - [`throttle`]: failure and registration counters for rate limiting, per account and per address.
//! - [`http`]: router, handlers, extractors, `ApiError`, OpenAPI, `serve(listener, state, shutdown)`.
//! - [`server`]: from a `Config` to a running server; signals and shutdown.
//! - [`telemetry`]: log set-up.
//! - [`client`]: a typed HTTP client for the API, used by `msgctl` and by the tests.
//! - [`cli`]: msgctl's commands, token cache, prompts and exit codes.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod http;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod transfer;
