//! The domain: validated values (`Email`, `Password`, `MessageContent`), the entities (accounts, access
//! tokens, messages), message ids and times. It imports nothing else of the crate; everything else may
//! import it.

mod entities;
mod ids;
mod timestamp;
mod values;

pub use entities::{AccessToken, AccountStatus, Message, Party, Role, Scope, User};
pub use ids::{MessageIds, first_id_at, message_time};
pub use timestamp::{from_millis, now_millis, rfc3339_millis, to_millis};
pub use values::*;
