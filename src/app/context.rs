//! What the use cases work with: the store, the password hasher, the token keys, the throttle and the
//! product's policy.

use std::sync::Arc;

use super::error::AppError;
use crate::auth::{PasswordHasher, SigningKeys, TokenKeys};
use crate::domain::MessageContent;
use crate::store::Store;
use crate::throttle::Throttle;

/// The services every use case may need, built once at start-up.
pub struct App {
    pub store: Arc<dyn Store>,
    pub hasher: PasswordHasher,
    /// Token signing keys; empty until the secret has been read from a database that was not reachable.
    pub keys: Arc<SigningKeys>,
    /// Failed-login, registration and lookup counters.
    pub throttle: Throttle,
    pub policy: Policy,
}

/// The product's rules that an operator sets.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Anyone may register (`REGISTRATION=open`), or only administrators create accounts.
    pub registration_open: bool,
    /// Largest message content, in bytes.
    pub max_message_bytes: usize,
    /// How long after sending the sender may delete a message for everyone; `None`: not at all.
    pub delete_window: Option<std::time::Duration>,
    /// The longest `expires_in` a send may ask for.
    pub max_expires_in: std::time::Duration,
    /// How often expired and deleted messages are removed (by one instance of those on the database).
    pub purge_interval: std::time::Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            registration_open: true,
            max_message_bytes: MessageContent::DEFAULT_MAX_BYTES,
            delete_window: Some(std::time::Duration::from_secs(24 * 3600)),
            max_expires_in: std::time::Duration::from_secs(365 * 24 * 3600),
            purge_interval: std::time::Duration::from_secs(60),
        }
    }
}

impl App {
    /// The token keys; `unavailable` while the signing secret is still to be read from the database.
    pub fn tokens(&self) -> Result<&TokenKeys, AppError> {
        self.keys
            .get()
            .ok_or_else(|| AppError::Unavailable("the token secret has not been read from the database yet".into()))
    }
}
