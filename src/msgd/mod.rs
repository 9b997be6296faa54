//! msgd, the program: its command line ([`command`]), serving ([`server`]), and the commands that act on
//! the configured store directly ([`admin`], [`transfer`]). `src/bin/msgd.rs` only calls [`run::main`].

pub mod admin;
pub mod command;
pub mod run;
pub mod server;
pub mod store;
pub mod transfer;

pub use command::{MsgdCli, MsgdCommand, parse};
