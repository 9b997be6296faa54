//! The HTTP API, end to end: a real msgd on 127.0.0.1:0, real HTTP through `msgkit::client`, a real
//! database. Every story runs on every backend.

#[path = "../common/mod.rs"]
mod common;

mod access_tokens;
mod admin;
mod cluster;
mod connections;
mod conversations;
mod crash;
mod docs;
mod deployment;
mod errors;
mod faults;
mod hostile;
mod idempotency;
mod messages;
mod openapi;
mod ops;
mod process;
mod restart;
mod schema;
mod security;
mod sqlite_faults;
mod stream;
mod tokens;
mod transfer;
mod users;
