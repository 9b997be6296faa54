//! The JSON bodies of the HTTP API, shared by the server, the typed client and the OpenAPI description.
//!
//! Request fields default to empty so that a missing field gets its own clear error ("An email is
//! required") instead of a generic deserialization message. Request bodies refuse fields they do not
//! have (`unknown_field`): a typo must not be silently ignored. Types that carry secrets print them
//! redacted.
//!
//! By resource: [`accounts`], [`tokens`], [`messages`] (with [`message_json`], the list answer written
//! directly), [`admin`], [`ops`] (errors, health, service info).

mod accounts;
mod admin;
mod message_json;
mod messages;
mod ops;
mod redacted;
mod tokens;

pub use accounts::*;
pub use admin::*;
pub use message_json::{message_json, messages_json};
pub use messages::*;
pub use ops::*;
pub use tokens::*;
