//! The use cases: what msgkit does, whatever asks — the HTTP API, msgd's commands. Each takes the store
//! (and the throttle, the hasher, the token keys it needs) and returns an [`AppError`]; none knows HTTP
//! or prints.
//!
//! - [`admin`]: changes that must keep an active administrator.
//! - [`live`]: the registry of open streams, woken per account by the store's change feed.
//! - [`transfer`]: export, import, migrate, backup.

pub mod admin;
pub mod live;
pub mod transfer;
