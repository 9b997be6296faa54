//! The change feed: what changed in the database — a message stored for an account, an account's
//! credentials revoked — from this process's own commits and from every other process on the same
//! database, as one stream of [`Change`]s.
//!
//! A change is a hint to look, never the data itself: whoever receives one reads what it needs from the
//! store. So a lost change only delays (the reader's periodic re-check catches up) and a duplicated one
//! costs one read; neither can lose or repeat a message.

use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::telemetry::names;

/// One thing that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A message was stored for this account (its inbox changed).
    Mailbox(Uuid),
    /// Something every device of this account shows changed (read state, a deletion): what, and the
    /// account. Unlike the other changes it carries its data, as every stream of the account passes it
    /// on; it reaches the feed once, from the database (the event log), on every instance.
    Event(Uuid, std::sync::Arc<AccountEvent>),
    /// This account's sessions or tokens may have been revoked: re-check them.
    Revoked(Uuid),
    /// An administrator cleared this account's failed-login counters.
    Unlocked(Uuid),
    /// Changes may have been missed (the feed was interrupted): everyone look again.
    Resync,
}

/// What a device of an account is told happened on another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountEvent {
    /// Inbox messages were marked read (`read`) or unread: those up to `up_to` (from `with` only, if
    /// given), or those in `ids`; `unread` is the account's unread count after.
    Marked {
        read: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        up_to: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        with: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ids: Vec<Uuid>,
        unread: u64,
    },
    /// The account's copy of a message was deleted; `unread` is its unread count after, when the deleted
    /// copy was in its inbox.
    Deleted {
        id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unread: Option<u64>,
    },
}

impl AccountEvent {
    /// How many message ids the event names.
    pub fn ids_named(&self) -> usize {
        match self {
            AccountEvent::Marked { ids, .. } => ids.len().max(1),
            AccountEvent::Deleted { .. } => 1,
        }
    }

    /// The event as the log stores it.
    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).expect("an account event serializes")
    }

    /// An event from the log; `None` if unreadable (written by a newer msgd).
    pub fn from_payload(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

/// Where other processes' changes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMode {
    /// Not connected to the database yet.
    Starting,
    /// SQLite: this process's commits at once, other processes' from watching the file.
    FileWatch,
    /// MongoDB replica set or sharded cluster: a change stream, in commit order.
    ChangeStream,
    /// MongoDB standalone server (no change streams): other processes' changes are polled for.
    Polling,
}

impl FeedMode {
    const ALL: [FeedMode; 4] = [FeedMode::Starting, FeedMode::FileWatch, FeedMode::ChangeStream, FeedMode::Polling];

    /// The label in logs and in `msgd_change_feed_mode`.
    pub fn name(self) -> &'static str {
        match self {
            FeedMode::Starting => "starting",
            FeedMode::FileWatch => "file_watch",
            FeedMode::ChangeStream => "change_stream",
            FeedMode::Polling => "polling",
        }
    }
}

/// How many changes a slow subscriber may fall behind before it is told it lagged (and looks again).
pub const BACKLOG: usize = 4096;

/// The sending side, owned by a store.
#[derive(Debug)]
pub struct Feed {
    sender: broadcast::Sender<Change>,
    mode: AtomicU8,
}

impl Default for Feed {
    fn default() -> Self {
        let feed = Self { sender: broadcast::Sender::new(BACKLOG), mode: AtomicU8::new(0) };
        feed.set_mode(FeedMode::Starting);
        feed
    }
}

impl Feed {
    /// Tells every subscriber; `origin` (`local` for this process's commits, `database` for what the
    /// database reported) labels the metric.
    pub fn publish(&self, change: Change, origin: &'static str) {
        metrics::counter!(names::FEED_CHANGES, "origin" => origin).increment(1);
        // No subscriber (no stream open) is fine.
        let _ = self.sender.send(change);
    }

    /// A new subscription, starting with the next change.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    pub fn mode(&self) -> FeedMode {
        FeedMode::ALL[usize::from(self.mode.load(Ordering::Relaxed))]
    }

    /// Records the mode, in `msgd_change_feed_mode` too (1 for the current mode, 0 for the others).
    pub fn set_mode(&self, mode: FeedMode) {
        let index = FeedMode::ALL.iter().position(|m| *m == mode).expect("every mode is listed");
        self.mode.store(index as u8, Ordering::Relaxed);
        for other in FeedMode::ALL {
            metrics::gauge!(names::FEED_MODE, "mode" => other.name()).set(if other == mode { 1.0 } else { 0.0 });
        }
    }
}
