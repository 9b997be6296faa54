//! The HTTP API, end to end: a real msgd on 127.0.0.1:0, real HTTP through `msgkit::client`, a real
//! database. Every story runs on every backend.

#[path = "../common/mod.rs"]
mod common;

mod access_tokens;
mod admin;
mod cluster;
mod connections;
mod conversations;
mod deployment;
mod docs;
mod errors;
mod hostile;
mod idempotency;
mod lifecycle;
mod messages;
mod mongo_faults;
mod openapi;
mod ops;
mod restart;
mod schema;
mod security;
mod sessions;
mod sqlite_faults;
mod stream;
mod users;
