//! What the store and its background tasks share, and every database operation bounded by the timeout.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongodb::bson::{Document, doc};
use mongodb::options::Hint;
use mongodb::{Collection, Database};
use tokio::sync::watch;

use super::docs::{MessageDoc, UserDoc, classify};
use crate::store::StoreError;
use crate::store::feed::Feed;

/// How often to try again to reach a database that is not there yet.
pub const CONNECT_RETRY: Duration = Duration::from_millis(500);

/// Whether the store has connected and prepared its indexes; why not, if it has not.
pub(super) struct Readiness {
    pub(super) ready: AtomicBool,
    pub(super) notify: watch::Sender<bool>,
    pub(super) last_error: Mutex<String>,
}

impl Readiness {
    pub(super) fn check(&self) -> Result<(), StoreError> {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let reason = self.last_error.lock().expect("readiness lock").clone();
        Err(StoreError::Unavailable(format!("MongoDB has not been reached yet: {reason}")))
    }
}

/// What the background tasks share with the store.
#[derive(Clone)]
pub(super) struct Parts {
    pub(super) db: Database,
    pub(super) users: Collection<UserDoc>,
    pub(super) messages: Collection<MessageDoc>,
    pub(super) revocations: Collection<Document>,
    pub(super) timeout: Duration,
    pub(super) readiness: Arc<Readiness>,
    pub(super) feed: Arc<Feed>,
    pub(super) tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

/// The `_id` index: what "the newest message" is read by (SecantusDB otherwise scans and sorts the whole
/// collection for it: 70 against 40 ms at 4,000 messages).
pub(super) fn by_id() -> Hint {
    Hint::Keys(doc! {"_id": 1})
}

pub(super) async fn bounded<T>(
    timeout: Duration,
    op: impl Future<Output = mongodb::error::Result<T>>,
) -> Result<T, StoreError> {
    insert_bounded(timeout, op).await?.map_err(classify)
}

/// Like [`bounded`], but hands back the driver's error so the caller can tell a duplicate key apart.
pub(super) async fn insert_bounded<T>(
    timeout: Duration,
    op: impl Future<Output = mongodb::error::Result<T>>,
) -> Result<mongodb::error::Result<T>, StoreError> {
    tokio::time::timeout(timeout, op)
        .await
        .map_err(|_| StoreError::Unavailable(format!("MongoDB did not answer within {timeout:?}")))
}
