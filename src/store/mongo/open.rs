//! Opening the store: connecting (retrying until the database answers), the indexes, the tasks.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::anyhow;
use mongodb::bson::{Document, doc};
use mongodb::event::{EventHandler, command::CommandEvent};
use mongodb::options::{Acknowledgment, ClientOptions, IndexOptions, ReturnDocument, WriteConcern};
use mongodb::{Client, Collection, Database, IndexModel};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::chain::{MAX_BATCH, PendingInsert, Tail, read_tail, run_inserts};
use super::docs::{MessageDoc, UserDoc, classify, user_from_doc, without_tokens};
use super::feed::{REVOCATION_LOG_KEEP, run_feed};
use super::parts::{CONNECT_RETRY, Parts, Readiness, bounded};
use crate::store::feed::{AccountEvent, Change, Feed};
use crate::store::{MessageIds, OpenOptions, StoreError, User};
use crate::telemetry::names;

/// Database used when the URL names none.
pub const DEFAULT_DATABASE: &str = "msgkit";

/// The MongoDB store.
pub struct MongoStore {
    pub(super) client: Client,
    pub(super) db: Database,
    pub(super) users: Collection<UserDoc>,
    pub(super) messages: Collection<MessageDoc>,
    pub(super) revocations: Collection<Document>,
    pub(super) inserts: mpsc::Sender<PendingInsert>,
    pub(super) timeout: Duration,
    pub(super) readiness: Arc<Readiness>,
    pub(super) feed: Arc<Feed>,
    /// The connecting task, and the insert and feed tasks it starts: stopped at close.
    pub(super) tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    /// Messages older than this are expired.
    pub(super) retention: Option<Duration>,
}

impl MongoStore {
    /// Sets up a client for `url` and starts connecting in the background; fails only for a URL that
    /// cannot be used. Until the database has been reached, operations answer "unavailable".
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let mut client_options =
            ClientOptions::parse(url).await.map_err(|e| StoreError::Other(anyhow!("invalid MongoDB URL: {e}")))?;
        client_options.app_name.get_or_insert_with(|| "msgd".to_owned());
        client_options.max_pool_size = Some(options.pool_size);
        client_options.connect_timeout = Some(options.timeout);
        client_options.server_selection_timeout = Some(options.timeout);
        // Every command is a round trip: counted by name, so an operator (and bench/run) can see what a
        // request costs in database calls.
        client_options.command_event_handler = Some(EventHandler::callback(|event: CommandEvent| {
            if let CommandEvent::Started(started) = event {
                metrics::counter!(names::MONGODB_COMMANDS, "command" => started.command_name).increment(1);
            }
        }));
        // Majority-acknowledged and journaled unless the URL says otherwise (`?w=1&journal=false`).
        let concern = client_options.write_concern.get_or_insert_with(WriteConcern::default);
        concern.w.get_or_insert(Acknowledgment::Majority);
        concern.journal.get_or_insert(true);
        concern.w_timeout.get_or_insert(options.timeout);
        let database = client_options.default_database.clone().unwrap_or_else(|| DEFAULT_DATABASE.to_owned());

        let client = Client::with_options(client_options).map_err(classify)?;
        let db = client.database(&database);
        let (inserts, queue) = mpsc::channel(MAX_BATCH * 4);
        let store = Self {
            users: db.collection("users"),
            messages: db.collection("messages"),
            revocations: db.collection("revocations"),
            client,
            db,
            inserts,
            timeout: options.timeout,
            retention: options.retention,
            readiness: Arc::new(Readiness {
                ready: AtomicBool::new(false),
                notify: watch::Sender::new(false),
                last_error: Mutex::new("connecting".to_owned()),
            }),
            feed: Arc::new(Feed::default()),
            tasks: Arc::default(),
        };
        let connecting = tokio::spawn(connect(store.parts(), queue, options.clock_offset_ms));
        store.tasks.lock().expect("task list").push(connecting.abort_handle());
        Ok(store)
    }

    pub(super) fn parts(&self) -> Parts {
        Parts {
            db: self.db.clone(),
            users: self.users.clone(),
            messages: self.messages.clone(),
            revocations: self.revocations.clone(),
            timeout: self.timeout,
            readiness: self.readiness.clone(),
            feed: self.feed.clone(),
            tasks: self.tasks.clone(),
        }
    }

    pub(super) async fn timed<T>(&self, op: impl Future<Output = mongodb::error::Result<T>>) -> Result<T, StoreError> {
        self.readiness.check()?;
        bounded(self.timeout, op).await
    }

    /// Records a revocation for the other instances' streams. The revocation itself (the token version)
    /// is already stored: if this fails, their streams still notice at their next re-check.
    pub(super) async fn log_revocation(&self, user: Uuid) {
        if let Err(e) = self.log_event(user, "revoked").await {
            tracing::warn!(error = %e, "recording a revocation for other instances failed");
        }
        self.feed.publish(Change::Revoked(user), "local");
    }

    /// Records an event for every device of `user` (read state, a deletion): every instance's feed,
    /// this one's included, passes it to the account's streams.
    pub(super) async fn log_account_event(&self, user: Uuid, event: &AccountEvent) -> Result<(), StoreError> {
        let log = self.revocations.update_one(
            doc! {"_id": Uuid::new_v4().to_string()},
            doc! {"$set": {"user_id": user.to_string(), "kind": "event", "payload": event.to_payload()},
            "$currentDate": {"at": true}},
        );
        self.timed(log.upsert(true).into_future()).await.map(drop)
    }

    /// Records a `kind` event (`revoked`, `unlocked`) about `user` for the other instances.
    pub(super) async fn log_event(&self, user: Uuid, kind: &str) -> Result<(), StoreError> {
        let log = self.revocations.update_one(
            doc! {"_id": Uuid::new_v4().to_string()},
            doc! {"$set": {"user_id": user.to_string(), "kind": kind}, "$currentDate": {"at": true}},
        );
        self.timed(log.upsert(true).into_future()).await.map(drop)
    }

    pub(super) async fn updated_user(&self, filter: Document, update: Document) -> Result<User, StoreError> {
        let update = self
            .users
            .find_one_and_update(filter, update)
            .projection(without_tokens())
            .return_document(ReturnDocument::After);
        self.timed(update.into_future()).await?.map(user_from_doc).transpose()?.ok_or(StoreError::NotFound)
    }
}

/// Connects (retrying until the database answers), creates the indexes, then starts the insert and feed
/// tasks and lets operations through.
pub(super) async fn connect(parts: Parts, queue: mpsc::Receiver<PendingInsert>, clock_offset_ms: i64) {
    let mut attempts = 0u32;
    let tail = loop {
        match prepare(&parts).await {
            Ok(tail) => break tail,
            Err(e) => {
                attempts += 1;
                if attempts == 1 {
                    tracing::warn!(error = %e, "MongoDB is not reachable yet; answering 503 until it is");
                } else {
                    tracing::debug!(error = %e, attempts, "MongoDB is still not reachable");
                }
                *parts.readiness.last_error.lock().expect("readiness lock") = e.to_string();
                tokio::time::sleep(CONNECT_RETRY).await;
            }
        }
    };
    if attempts > 0 {
        tracing::info!(attempts, "MongoDB reached; serving");
    }
    let mut ids = MessageIds::with_clock_offset(clock_offset_ms);
    if let Tail::At(id) = tail {
        ids.observe(id);
    }
    let inserter = tokio::spawn(run_inserts(parts.clone(), queue, ids, tail));
    let feeder = tokio::spawn(run_feed(parts.clone(), tail));
    parts.tasks.lock().expect("task list").extend([inserter.abort_handle(), feeder.abort_handle()]);
    parts.readiness.ready.store(true, Ordering::Release);
    parts.readiness.notify.send_replace(true);
}

/// The collection of stream tickets: `{_id: digest, user_id, credential, expires_at}`.
pub(super) const TICKETS: &str = "stream_tickets";

/// Pings, creates the indexes and reads the newest message id.
pub(super) async fn prepare(parts: &Parts) -> Result<Tail, StoreError> {
    let timeout = parts.timeout;
    bounded(timeout, parts.db.run_command(doc! {"ping": 1}).into_future()).await?;
    let unique = IndexOptions::builder().unique(true).name("email_unique".to_owned()).build();
    let index = IndexModel::builder().keys(doc! {"email": 1}).options(unique).build();
    bounded(timeout, parts.users.create_index(index).into_future()).await?;
    // Idempotency keys live on the message they protect, unique per sender: one insert stores both.
    let idempotency = IndexOptions::builder()
        .unique(true)
        .name("idempotency".to_owned())
        .partial_filter_expression(doc! {"idempotency_key": {"$exists": true}})
        .build();
    let keys = doc! {"sender_id": 1, "idempotency_key": 1};
    let index = IndexModel::builder().keys(keys).options(idempotency).build();
    bounded(timeout, parts.messages.create_index(index).into_future()).await?;
    // At most one successor per message: see the module documentation.
    let chain = IndexOptions::builder()
        .unique(true)
        .name("chain".to_owned())
        .partial_filter_expression(doc! {"prev": {"$exists": true}})
        .build();
    let index = IndexModel::builder().keys(doc! {"prev": 1}).options(chain).build();
    bounded(timeout, parts.messages.create_index(index).into_future()).await?;
    for (name, keys) in [
        ("inbox", doc! {"recipient_id": 1, "_id": 1}),
        ("sent", doc! {"sender_id": 1, "_id": 1}),
        ("pair", doc! {"recipient_id": 1, "sender_id": 1, "_id": 1}),
        // Unread messages: counted and listed at the cost of what is unread.
        ("unread", doc! {"recipient_id": 1, "unread": 1, "_id": 1}),
        ("expiry", doc! {"expires_at": 1}),
    ] {
        let options = IndexOptions::builder().name(name.to_owned()).build();
        let index = IndexModel::builder().keys(keys).options(options).build();
        bounded(timeout, parts.messages.create_index(index).into_future()).await?;
    }
    // Access tokens are found by digest, in one lookup that returns their account too.
    let tokens = IndexOptions::builder()
        .unique(true)
        .name(TOKEN_INDEX.to_owned())
        .partial_filter_expression(doc! {"access_tokens.digest": {"$exists": true}})
        .build();
    let index = IndexModel::builder().keys(doc! {"access_tokens.digest": 1}).options(tokens).build();
    bounded(timeout, parts.users.create_index(index).into_future()).await?;
    let ttl = IndexOptions::builder().name("expiry".to_owned()).expire_after(REVOCATION_LOG_KEEP).build();
    let index = IndexModel::builder().keys(doc! {"at": 1}).options(ttl).build();
    bounded(timeout, parts.revocations.create_index(index).into_future()).await?;
    // Stream tickets go by themselves once expired (a taken one is deleted at once).
    let ttl = IndexOptions::builder().name("expiry".to_owned()).expire_after(Duration::ZERO).build();
    let index = IndexModel::builder().keys(doc! {"expires_at": 1}).options(ttl).build();
    bounded(timeout, parts.db.collection::<Document>(TICKETS).create_index(index).into_future()).await?;
    read_tail(parts).await
}

/// The access token index's name.
pub(super) const TOKEN_INDEX: &str = "access_token_digest";
