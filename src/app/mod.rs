//! The use cases: what msgkit does, whatever asks — the HTTP API, msgd's commands. Each takes the
//! [`App`] (the store, the throttle, the hasher, the token keys, the policy) and returns an [`AppError`];
//! none knows HTTP or prints. Their rules are unit-tested here, without HTTP.
//!
//! - [`identity`]: a presented credential checked, and what its caller may do.
//! - [`accounts`]: registration, credential checks, login, password change, logout, deleting oneself.
//! - [`tokens`]: personal access tokens.
//! - [`messages`]: sending and listing.
//! - [`admin`] and [`last_admin`]: administration, and the changes that must keep an administrator.
//! - [`live`]: the registry of open streams, woken per account by the store's change feed.
//! - [`tickets`]: one-time tickets that open a stream from a browser.
//! - [`transfer`]: export, import, migrate, backup.

pub mod accounts;
pub mod admin;
pub mod context;
pub mod error;
pub mod identity;
pub mod last_admin;
pub mod live;
pub mod messages;
pub mod tickets;
pub mod tokens;
pub mod transfer;

pub use context::{App, Policy};
pub use error::AppError;
