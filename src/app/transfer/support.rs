//! What every direction of a transfer shares: its error, the progress it reports, batch sizes.

use indicatif::ProgressBar;

use crate::store::{Backend, Store, StoreError};

/// What kind of failure a [`TransferError`] is; msgd's commands turn it into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bad file, URL or argument.
    Usage,
    NotFound,
    /// The target is not empty, a file exists, a record is taken.
    Conflict,
    /// The database does not answer.
    Unavailable,
    Other,
}

/// Why a transfer stopped: a sentence, a stable code, a kind.
#[derive(Debug)]
pub struct TransferError {
    pub kind: Kind,
    pub code: String,
    pub message: String,
}

impl TransferError {
    pub fn new(kind: Kind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind, code: code.into(), message: message.into() }
    }

    pub fn usage(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, code, message)
    }

    pub fn other(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::Other, code, message)
    }
}

impl std::fmt::Display for TransferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransferError {}

/// Makes a progress bar for `total` things (unknown: `None`) called `what`; the caller decides where it
/// is drawn (msgd: stderr when it is a terminal).
pub type Progress<'a> = &'a (dyn Fn(Option<u64>, &'static str) -> ProgressBar + Sync);

/// Records looked up in the store at once while checking a file for `--merge`.
pub const BATCH: usize = 1000;

/// Records written to `store` in one [`Store::apply`] unless `--batch-size` says otherwise. SQLite: 10,000
/// (at 1,000 a migration of 2·10⁵ messages took 3× as long, every transaction rewriting the index pages its
/// messages touch); MongoDB: 1,000, so that one write stays well inside the database timeout.
pub fn batch_size(store: &dyn Store, asked: Option<u64>) -> usize {
    match (asked, store.backend()) {
        (Some(n), _) => n as usize,
        (None, Backend::Sqlite) => 10_000,
        (None, Backend::Mongo) => 1000,
    }
}
/// The source store's identity (a UUID, made on its first migration).
pub const STORE_ID: &str = "store_id";
/// On a migration target: the identity of the store it is a copy of.
pub const MIGRATED_FROM: &str = "migrated_from";

pub fn store_error(e: StoreError) -> TransferError {
    match e {
        StoreError::Unavailable(reason) => {
            TransferError::new(Kind::Unavailable, "unavailable", format!("the database is unavailable: {reason}"))
        }
        StoreError::EmailTaken => TransferError::new(Kind::Conflict, "email_taken", "an email is already registered"),
        StoreError::NameTaken => {
            TransferError::new(Kind::Conflict, "name_taken", "an access token name is already used")
        }
        StoreError::IdempotencyKeyReused => {
            TransferError::new(Kind::Conflict, "idempotency_key_reused", "an idempotency key is already used")
        }
        other => TransferError::other("store", other.to_string()),
    }
}
