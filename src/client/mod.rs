//! A typed HTTP client for the msgd API, used by `msgctl` and by the tests.
//!
//! [`Client`] and its calls ([`core`]); the admin API ([`admin`]); pages and their `Link` headers
//! ([`pages`]); the event stream ([`stream`]); errors ([`error`]).

mod admin;
mod core;
mod error;
mod pages;
mod stream;

pub use admin::{Admin, UserFilter, UserPage};
pub use core::Client;
pub use error::ClientError;
pub use pages::{Page, Sent};
pub use stream::{MessageStream, StreamEvent};
