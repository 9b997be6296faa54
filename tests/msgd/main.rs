//! The `msgd` program as an operator runs it: start-up, configuration, logs and signals (`process`), the
//! commands that act on the store directly (`admin`, `transfer`), and kill -9 durability (`crash`).

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod crash;
mod process;
mod transfer;
