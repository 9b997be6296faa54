//! The MongoDB store: plain documents readable with `mongosh`, a unique index on the normalized email,
//! majority-acknowledged journaled writes, and one task per process that writes messages in batches.
//!
//! **Starting without the database.** `open` returns at once; a task connects (retrying every
//! [`CONNECT_RETRY`]), creates the indexes and only then lets operations through. Until then every
//! operation answers [`StoreError::Unavailable`], so msgd serves `503` rather than crash-looping while
//! an orchestrator starts the database beside it.
//!
//! **Ids in commit order, across instances.** Every message records `prev`, the id of the message stored
//! just before it, under a unique index (`chain`); its own id is greater than `prev`. Two writers that
//! both saw the same newest message cannot both store a successor to it: the second gets a duplicate key,
//! reads the new newest message and tries again. So the messages form one chain in which each id is
//! greater than every id committed before it, whatever the writers' clocks say, and a reader that has
//! seen id X will never see a smaller id commit later: walking by id never skips. This works on
//! standalone servers too (no transactions). The cost: one round trip more only when another instance
//! wrote in between (this process remembers its own newest id), and message inserts are serialized
//! across the deployment, one batch at a time.
//!
//! **The change feed.** On a replica set or a sharded cluster, a change stream on the database delivers
//! every message insert and revocation in commit order, resuming after interruptions from its resume
//! token. A standalone server has no change streams: then the feed polls (every [`POLL_INTERVAL`]) for
//! messages with ids above the last seen — exact, since ids grow in commit order — and for recent
//! revocations, stamped with the server's clock.
//!
//! Every operation is bounded by the configured timeout (the driver has no socket timeout, so a paused
//! server would otherwise hold a request forever) and answers [`StoreError::Unavailable`] when it passes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};
use mongodb::change_stream::event::{ChangeStreamEvent, ResumeToken};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::event::{EventHandler, command::CommandEvent};
use mongodb::options::{Acknowledgment, ClientOptions, Hint, IndexOptions, ReturnDocument, WriteConcern};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use super::feed::{Change, Feed, FeedMode};
use super::{
    AccessToken, AccountStatus, ApplyMode, Backend, IDEMPOTENCY_WINDOW, Idempotency, Inserted, Inventory,
    MOVED_SETTINGS, Mailbox, Message, MessageIds, MessageQuery, MessageRecord, NewMessage, NewUser, OpenOptions, Party,
    Record, RecordStream, Role, Scope, Store, StoreError, User, UserQuery, UserRecord, message_time, to_millis,
};
use crate::domain::{Email, MessageContent};
use crate::telemetry::names;

/// Database used when the URL names none.
pub const DEFAULT_DATABASE: &str = "msgkit";

/// Most messages one `insert_many` takes.
const MAX_BATCH: usize = 512;

/// How often to try again to reach a database that is not there yet.
pub const CONNECT_RETRY: Duration = Duration::from_millis(500);

/// How often a feed without change streams (a standalone server) looks for other instances' changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How long a revocation stays in the `revocations` collection (a TTL index removes it).
const REVOCATION_LOG_KEEP: Duration = Duration::from_secs(3600);

/// How far back a polling feed looks for revocations it may not have seen (server clock).
const REVOCATION_OVERLAP: Duration = Duration::from_secs(5);

/// The `prev` of the first message of an empty collection.
const CHAIN_START: &str = "00000000-0000-0000-0000-000000000000";

/// A user as stored: `users {_id, email, password_hash, token_version, created_at}`, plus
/// `last_login_at` once it logged in, `registration_key` when registered with an `Idempotency-Key`, and
/// `revoked_sessions` once a session was ended on its own.
#[derive(Serialize, Deserialize)]
struct UserDoc {
    #[serde(rename = "_id")]
    id: String,
    email: String,
    password_hash: String,
    token_version: i64,
    created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_login_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    revoked_sessions: Vec<SessionDoc>,
    /// `user` or `admin`; absent on accounts from before roles: `user`.
    #[serde(default = "default_role")]
    role: String,
    /// `active` or `deactivated`; absent: `active`.
    #[serde(default = "default_status")]
    status: String,
    /// Personal access tokens, digests only; read only where needed (projected out elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    access_tokens: Vec<TokenDoc>,
}

fn default_role() -> String {
    "user".to_owned()
}

fn default_status() -> String {
    "active".to_owned()
}

/// An access token as stored inside its account: `{id, name, digest, scopes, created_at, expires_at?,
/// last_used_at?}`.
#[derive(Serialize, Deserialize)]
struct TokenDoc {
    id: String,
    name: String,
    digest: String,
    scopes: Vec<String>,
    created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<DateTime>,
}

/// What session lookups read of an account: everything but its access tokens.
fn without_tokens() -> Document {
    doc! {"access_tokens": 0}
}

fn token_from_doc(user: Uuid, doc: &TokenDoc) -> Result<AccessToken, StoreError> {
    let at = |t: &DateTime| super::from_millis(t.timestamp_millis());
    Ok(AccessToken {
        id: parse_id(&doc.id)?,
        user_id: user,
        name: doc.name.clone(),
        digest: doc.digest.clone(),
        scopes: doc.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        created_at: at(&doc.created_at),
        expires_at: doc.expires_at.as_ref().map(at),
        last_used_at: doc.last_used_at.as_ref().map(at),
    })
}

/// An ended session: `{id, expires_at}`.
#[derive(Serialize, Deserialize)]
struct SessionDoc {
    id: String,
    expires_at: DateTime,
}

/// A message as stored: `messages {_id, prev, sender_id, sender_email, recipient_id, recipient_email,
/// content, created_at}`, plus `idempotency_key` and `request_hash` when it was sent with an
/// `Idempotency-Key`. Messages stored before the chain existed have no `prev`.
#[derive(Serialize, Deserialize)]
struct MessageDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    sender_id: String,
    sender_email: String,
    recipient_id: String,
    recipient_email: String,
    content: String,
    created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_hash: Option<String>,
}

impl MessageDoc {
    fn new(message: &Message, prev: &str, idempotency: Option<&Idempotency>) -> Self {
        Self {
            id: message.id.to_string(),
            prev: Some(prev.to_owned()),
            sender_id: message.from.id.to_string(),
            sender_email: message.from.email.to_string(),
            recipient_id: message.to.id.to_string(),
            recipient_email: message.to.email.to_string(),
            content: message.content.as_str().to_owned(),
            created_at: DateTime::from_millis(to_millis(message.created_at)),
            idempotency_key: idempotency.map(|i| i.key.clone()),
            request_hash: idempotency.map(|i| i.fingerprint.clone()),
        }
    }
}

struct PendingInsert {
    message: NewMessage,
    reply: oneshot::Sender<Result<Inserted, StoreError>>,
}

/// Whether the store has connected and prepared its indexes; why not, if it has not.
struct Readiness {
    ready: AtomicBool,
    notify: watch::Sender<bool>,
    last_error: Mutex<String>,
}

impl Readiness {
    fn check(&self) -> Result<(), StoreError> {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let reason = self.last_error.lock().expect("readiness lock").clone();
        Err(StoreError::Unavailable(format!("MongoDB has not been reached yet: {reason}")))
    }
}

/// The MongoDB store.
pub struct MongoStore {
    client: Client,
    db: Database,
    users: Collection<UserDoc>,
    messages: Collection<MessageDoc>,
    revocations: Collection<Document>,
    inserts: mpsc::Sender<PendingInsert>,
    timeout: Duration,
    readiness: Arc<Readiness>,
    feed: Arc<Feed>,
    /// The connecting task, and the insert and feed tasks it starts: stopped at close.
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
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

    fn parts(&self) -> Parts {
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

    async fn timed<T>(&self, op: impl Future<Output = mongodb::error::Result<T>>) -> Result<T, StoreError> {
        self.readiness.check()?;
        bounded(self.timeout, op).await
    }

    /// Records a revocation for the other instances' streams. The revocation itself (the token version)
    /// is already stored: if this fails, their streams still notice at their next re-check.
    async fn log_revocation(&self, user: Uuid) {
        if let Err(e) = self.log_event(user, "revoked").await {
            tracing::warn!(error = %e, "recording a revocation for other instances failed");
        }
        self.feed.publish(Change::Revoked(user), "local");
    }

    /// Records a `kind` event (`revoked`, `unlocked`) about `user` for the other instances.
    async fn log_event(&self, user: Uuid, kind: &str) -> Result<(), StoreError> {
        let log = self.revocations.update_one(
            doc! {"_id": Uuid::new_v4().to_string()},
            doc! {"$set": {"user_id": user.to_string(), "kind": kind}, "$currentDate": {"at": true}},
        );
        self.timed(log.upsert(true).into_future()).await.map(drop)
    }

    async fn updated_user(&self, filter: Document, update: Document) -> Result<User, StoreError> {
        let update = self
            .users
            .find_one_and_update(filter, update)
            .projection(without_tokens())
            .return_document(ReturnDocument::After);
        self.timed(update.into_future()).await?.map(user_from_doc).transpose()?.ok_or(StoreError::NotFound)
    }
}

/// What the background tasks share with the store.
#[derive(Clone)]
struct Parts {
    db: Database,
    users: Collection<UserDoc>,
    messages: Collection<MessageDoc>,
    revocations: Collection<Document>,
    timeout: Duration,
    readiness: Arc<Readiness>,
    feed: Arc<Feed>,
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

/// Connects (retrying until the database answers), creates the indexes, then starts the insert and feed
/// tasks and lets operations through.
async fn connect(parts: Parts, queue: mpsc::Receiver<PendingInsert>, clock_offset_ms: i64) {
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

/// Pings, creates the indexes and reads the newest message id.
async fn prepare(parts: &Parts) -> Result<Tail, StoreError> {
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
    read_tail(parts).await
}

/// The access token index's name.
const TOKEN_INDEX: &str = "access_token_digest";

/// The `_id` index: what "the newest message" is read by (SecantusDB otherwise scans and sorts the whole
/// collection for it: 70 against 40 ms at 4,000 messages).
fn by_id() -> Hint {
    Hint::Keys(doc! {"_id": 1})
}

/// The newest message of the chain, as far as this process knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Must be read from the database (another instance may have written, or a write's fate is unknown).
    Unknown,
    /// No message is stored.
    Empty,
    At(Uuid),
}

impl Tail {
    /// The `prev` of the next message.
    fn prev(self) -> String {
        match self {
            Tail::At(id) => id.to_string(),
            Tail::Empty | Tail::Unknown => CHAIN_START.to_owned(),
        }
    }
}

async fn read_tail(parts: &Parts) -> Result<Tail, StoreError> {
    let raw = parts.db.collection::<Document>("messages");
    let newest = raw.find_one(doc! {}).sort(doc! {"_id": -1}).projection(doc! {"_id": 1}).hint(by_id());
    let newest = bounded(parts.timeout, newest.into_future()).await?;
    Ok(match newest {
        None => Tail::Empty,
        Some(doc) => Tail::At(parse_id(doc.get_str("_id").map_err(|e| StoreError::Other(e.into()))?)?),
    })
}

async fn bounded<T>(timeout: Duration, op: impl Future<Output = mongodb::error::Result<T>>) -> Result<T, StoreError> {
    insert_bounded(timeout, op).await?.map_err(classify)
}

/// Like [`bounded`], but hands back the driver's error so the caller can tell a duplicate key apart.
async fn insert_bounded<T>(
    timeout: Duration,
    op: impl Future<Output = mongodb::error::Result<T>>,
) -> Result<mongodb::error::Result<T>, StoreError> {
    tokio::time::timeout(timeout, op)
        .await
        .map_err(|_| StoreError::Unavailable(format!("MongoDB did not answer within {timeout:?}")))
}

const DUPLICATE_KEY: i32 = 11000;

/// Duplicate key (E11000) on a write.
fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(m) => {
            m.write_errors.as_ref().is_some_and(|errors| errors.iter().any(|w| w.code == DUPLICATE_KEY))
        }
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// For an ordered `insert_many` that stopped at a duplicate key: how many documents went in before it.
fn inserted_before_duplicate(e: &mongodb::error::Error) -> Option<usize> {
    let ErrorKind::InsertMany(m) = e.kind.as_ref() else { return None };
    if m.write_concern_error.is_some() {
        return None;
    }
    let first = m.write_errors.as_ref()?.iter().min_by_key(|w| w.index)?;
    (first.code == DUPLICATE_KEY).then_some(first.index)
}

/// Network trouble, no reachable primary, unsatisfied write concerns and shutdowns are "unavailable"
/// (retry later); anything else is a bug or a misconfiguration.
fn classify(e: mongodb::error::Error) -> StoreError {
    let unavailable = match e.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown
        | ErrorKind::Write(WriteFailure::WriteConcernError(_)) => true,
        ErrorKind::InsertMany(m) => m.write_concern_error.is_some(),
        ErrorKind::Command(c) => {
            // NotWritablePrimary, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary, InterruptedAtShutdown,
            // ShutdownInProgress, PrimarySteppedDown, HostUnreachable, HostNotFound, NetworkTimeout,
            // ExceededTimeLimit.
            matches!(c.code, 10107 | 13435 | 13436 | 11600 | 91 | 189 | 6 | 7 | 89 | 262)
        }
        _ => e.contains_label("RetryableWriteError") || e.contains_label("TransientTransactionError"),
    };
    if unavailable { StoreError::Unavailable(e.to_string()) } else { StoreError::Other(e.into()) }
}

fn user_from_doc(doc: UserDoc) -> Result<User, StoreError> {
    Ok(User {
        id: parse_id(&doc.id)?,
        email: Email::from_stored(doc.email),
        password_hash: doc.password_hash,
        token_version: u32::try_from(doc.token_version).map_err(|_| anyhow!("token_version out of range"))?,
        created_at: super::from_millis(doc.created_at.timestamp_millis()),
        last_login_at: doc.last_login_at.map(|at| super::from_millis(at.timestamp_millis())),
        registration_key: doc.registration_key,
        revoked_sessions: doc.revoked_sessions.iter().filter_map(|s| Uuid::parse_str(&s.id).ok()).collect(),
        role: Role::parse(&doc.role).unwrap_or_default(),
        status: AccountStatus::parse(&doc.status).unwrap_or_default(),
    })
}

fn message_from_doc(doc: MessageDoc) -> Result<Message, StoreError> {
    let id = parse_id(&doc.id)?;
    Ok(Message {
        id,
        from: Party { id: parse_id(&doc.sender_id)?, email: Email::from_stored(doc.sender_email) },
        to: Party { id: parse_id(&doc.recipient_id)?, email: Email::from_stored(doc.recipient_email) },
        content: MessageContent::from_stored(doc.content),
        created_at: message_time(id),
    })
}

/// `text` with the characters that mean something in a regular expression escaped.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Records buffered between the snapshot task and its reader.
const SNAPSHOT_BUFFER: usize = 1024;

/// A walk of the whole database for [`Store::snapshot`]. Messages are exact up to the newest one stored
/// when it starts (ids are in commit order, so none can commit before it later); accounts and tokens are
/// read as they are when the walk reaches them, after the messages' bound is fixed.
struct Snapshot {
    db: Database,
    users: Collection<UserDoc>,
    messages: Collection<MessageDoc>,
    timeout: Duration,
    sender: mpsc::Sender<Result<Record, StoreError>>,
}

impl Snapshot {
    async fn send(&self, record: Record) -> bool {
        self.sender.send(Ok(record)).await.is_ok()
    }

    async fn run(self) -> Result<(), StoreError> {
        let raw = self.db.collection::<Document>("messages");
        let newest = raw.find_one(doc! {}).sort(doc! {"_id": -1}).projection(doc! {"_id": 1}).hint(by_id());
        let bound = bounded(self.timeout, newest.into_future()).await?;
        let settings = self.db.collection::<Document>("settings");
        let find = settings.find(doc! {"_id": {"$in": MOVED_SETTINGS.to_vec()}}).sort(doc! {"_id": 1});
        let mut cursor = bounded(self.timeout, find.into_future()).await?;
        while let Some(doc) = bounded(self.timeout, cursor.try_next()).await? {
            let key = doc.get_str("_id").map_err(|e| StoreError::Other(e.into()))?.to_owned();
            let Some(Bson::Binary(value)) = doc.get("value") else {
                return Err(StoreError::Other(anyhow!("settings.{key} is not binary")));
            };
            if !self.send(Record::Setting { key, value: value.bytes.clone() }).await {
                return Ok(());
            }
        }
        // Accounts, then (a second pass) their tokens: every account comes before any token.
        let mut cursor = bounded(
            self.timeout,
            self.users.find(doc! {}).projection(without_tokens()).sort(doc! {"_id": 1}).into_future(),
        )
        .await?;
        while let Some(doc) = bounded(self.timeout, cursor.try_next()).await? {
            let sessions = doc
                .revoked_sessions
                .iter()
                .map(|s| Ok((parse_id(&s.id)?, super::from_millis(s.expires_at.timestamp_millis()))))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut sessions = sessions;
            sessions.sort();
            if !self.send(Record::User(UserRecord { user: user_from_doc(doc)?, sessions })).await {
                return Ok(());
            }
        }
        let with_tokens = self.users.find(doc! {"access_tokens.0": {"$exists": true}}).sort(doc! {"_id": 1});
        let mut cursor = bounded(self.timeout, with_tokens.into_future()).await?;
        while let Some(doc) = bounded(self.timeout, cursor.try_next()).await? {
            let owner = parse_id(&doc.id)?;
            let mut tokens =
                doc.access_tokens.iter().map(|t| token_from_doc(owner, t)).collect::<Result<Vec<_>, _>>()?;
            tokens.sort_by_key(|t| t.id.to_string());
            for token in tokens {
                if !self.send(Record::AccessToken(token)).await {
                    return Ok(());
                }
            }
        }
        let Some(bound) = bound else { return Ok(()) };
        let bound = bound.get_str("_id").map_err(|e| StoreError::Other(e.into()))?.to_owned();
        // Erased messages (of deleted accounts) keep only their place in the chain: not records.
        let filter = doc! {"_id": {"$lte": bound}, "content": {"$exists": true}};
        let mut cursor = bounded(self.timeout, self.messages.find(filter).sort(doc! {"_id": 1}).into_future()).await?;
        while let Some(doc) = bounded(self.timeout, cursor.try_next()).await? {
            let idempotency = match (&doc.idempotency_key, &doc.request_hash) {
                (Some(key), hash) => {
                    Some(Idempotency { key: key.clone(), fingerprint: hash.clone().unwrap_or_default() })
                }
                (None, _) => None,
            };
            let message = message_from_doc(doc)?;
            if !self.send(Record::Message(MessageRecord { message, idempotency })).await {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl MongoStore {
    /// The newest message of the chain, read now.
    async fn tail(&self) -> Result<Tail, StoreError> {
        let raw = self.db.collection::<Document>("messages");
        let newest = raw.find_one(doc! {}).sort(doc! {"_id": -1}).projection(doc! {"_id": 1}).hint(by_id());
        Ok(match self.timed(newest.into_future()).await? {
            None => Tail::Empty,
            Some(doc) => Tail::At(parse_id(doc.get_str("_id").map_err(|e| StoreError::Other(e.into()))?)?),
        })
    }

    async fn apply_setting(&self, key: String, value: Vec<u8>, mode: ApplyMode) -> Result<u64, StoreError> {
        let settings = self.db.collection::<Document>("settings");
        let value = Binary { subtype: BinarySubtype::Generic, bytes: value };
        let update = match mode {
            ApplyMode::Replace => doc! {"$set": {"value": value}},
            ApplyMode::Skip => doc! {"$setOnInsert": {"value": value}},
        };
        let result = self.timed(settings.update_one(doc! {"_id": &key}, update).upsert(true).into_future()).await?;
        Ok(result.modified_count + u64::from(result.upserted_id.is_some()))
    }

    /// Accounts: inserted when absent, replaced (all but their tokens) when they differ and `mode` says so.
    async fn apply_users(&self, records: Vec<UserRecord>, mode: ApplyMode) -> Result<u64, StoreError> {
        if records.is_empty() {
            return Ok(0);
        }
        let ids: Vec<String> = records.iter().map(|r| r.user.id.to_string()).collect();
        let find = self.users.find(doc! {"_id": {"$in": &ids}}).projection(without_tokens());
        let stored: Vec<UserDoc> = self
            .timed(async {
                let cursor = find.await?;
                cursor.try_collect().await
            })
            .await?;
        let stored: HashMap<String, UserDoc> = stored.into_iter().map(|d| (d.id.clone(), d)).collect();
        let mut changed = 0;
        let mut fresh = Vec::new();
        for record in records {
            let doc = user_doc(&record);
            match stored.get(&doc.id) {
                None => fresh.push(doc),
                Some(_) if mode == ApplyMode::Skip => {}
                Some(old) if same_user(old, &doc) => {}
                Some(_) => {
                    let mut set = mongodb::bson::to_document(&doc).map_err(|e| StoreError::Other(e.into()))?;
                    set.remove("_id");
                    set.remove("access_tokens");
                    let mut unset = Document::new();
                    for optional in ["last_login_at", "registration_key", "revoked_sessions"] {
                        if !set.contains_key(optional) {
                            unset.insert(optional, "");
                        }
                    }
                    let mut update = doc! {"$set": set};
                    if !unset.is_empty() {
                        update.insert("$unset", unset);
                    }
                    let replace = self.users.update_one(doc! {"_id": &doc.id}, update);
                    match insert_bounded(self.timeout, replace.into_future()).await? {
                        Ok(_) => changed += 1,
                        Err(e) if is_duplicate_key(&e) => return Err(StoreError::EmailTaken),
                        Err(e) => return Err(classify(e)),
                    }
                }
            }
        }
        if !fresh.is_empty() {
            let count = fresh.len() as u64;
            match insert_bounded(self.timeout, self.users.insert_many(fresh).into_future()).await? {
                Ok(_) => changed += count,
                Err(e) if is_duplicate_key(&e) => return Err(StoreError::EmailTaken),
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(changed)
    }

    /// A token, inside its account's document.
    async fn apply_token(&self, token: AccessToken, mode: ApplyMode) -> Result<u64, StoreError> {
        let owner = token.user_id.to_string();
        let id = token.id.to_string();
        let stored = TokenDoc {
            id: id.clone(),
            name: token.name.clone(),
            digest: token.digest.clone(),
            scopes: token.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: DateTime::from_millis(to_millis(token.created_at)),
            expires_at: token.expires_at.map(|at| DateTime::from_millis(to_millis(at))),
            last_used_at: token.last_used_at.map(|at| DateTime::from_millis(to_millis(at))),
        };
        let stored = mongodb::bson::to_bson(&stored).map_err(|e| StoreError::Other(e.into()))?;
        if mode == ApplyMode::Replace {
            let set = self.users.update_one(
                doc! {"_id": &owner, "access_tokens.id": &id},
                doc! {"$set": {"access_tokens.$": stored.clone()}},
            );
            let result = self.timed(set.into_future()).await?;
            if result.matched_count > 0 {
                return Ok(result.modified_count);
            }
        }
        let push = self.users.update_one(
            doc! {"_id": &owner, "access_tokens.id": {"$ne": &id}, "access_tokens.name": {"$ne": &token.name}},
            doc! {"$push": {"access_tokens": stored}},
        );
        match insert_bounded(self.timeout, push.into_future()).await? {
            Ok(result) if result.modified_count > 0 => Ok(1),
            Ok(_) => {
                // Not pushed: the token is there already (skip), or the account lacks it but has the name.
                let raw = self.db.collection::<Document>("users");
                let has = raw.find_one(doc! {"_id": &owner, "access_tokens.id": &id}).projection(doc! {"_id": 1});
                match self.timed(has.into_future()).await? {
                    Some(_) => Ok(0),
                    None => Err(StoreError::NameTaken),
                }
            }
            Err(e) if is_duplicate_key(&e) => Err(StoreError::NameTaken),
            Err(e) => Err(classify(e)),
        }
    }

    /// Messages not stored yet, linked onto the chain in id order after every stored message.
    async fn apply_messages(&self, records: Vec<MessageRecord>) -> Result<u64, StoreError> {
        if records.is_empty() {
            return Ok(0);
        }
        let stored = self.stored_messages(records.iter().map(|r| r.message.id).collect()).await?;
        let fresh: Vec<&MessageRecord> = records.iter().filter(|r| !stored.contains(&r.message.id)).collect();
        if fresh.is_empty() {
            return Ok(0);
        }
        let mut tail = self.tail().await?;
        let mut docs = Vec::with_capacity(fresh.len());
        for record in fresh {
            if let Tail::At(last) = tail {
                if record.message.id <= last {
                    return Err(StoreError::Other(anyhow!(
                        "message {} is older than the newest stored message {last}: it cannot join the order",
                        record.message.id
                    )));
                }
            }
            let mut message = record.message.clone();
            message.created_at = message_time(message.id);
            docs.push(MessageDoc::new(&message, &tail.prev(), record.idempotency.as_ref()));
            tail = Tail::At(message.id);
        }
        let count = docs.len() as u64;
        match insert_bounded(self.timeout, self.messages.insert_many(docs).into_future()).await? {
            Ok(_) => Ok(count),
            Err(e) if is_duplicate_key(&e) => Err(StoreError::IdempotencyKeyReused),
            Err(e) => Err(classify(e)),
        }
    }
}

fn user_doc(record: &UserRecord) -> UserDoc {
    let user = &record.user;
    let mut sessions: Vec<SessionDoc> = record
        .sessions
        .iter()
        .map(|(id, at)| SessionDoc { id: id.to_string(), expires_at: DateTime::from_millis(to_millis(*at)) })
        .collect();
    sessions.sort_by(|a, b| a.id.cmp(&b.id));
    UserDoc {
        id: user.id.to_string(),
        email: user.email.to_string(),
        password_hash: user.password_hash.clone(),
        token_version: i64::from(user.token_version),
        created_at: DateTime::from_millis(to_millis(user.created_at)),
        last_login_at: user.last_login_at.map(|at| DateTime::from_millis(to_millis(at))),
        registration_key: user.registration_key.clone(),
        revoked_sessions: sessions,
        role: user.role.as_str().to_owned(),
        status: user.status.as_str().to_owned(),
        access_tokens: Vec::new(),
    }
}

fn same_user(a: &UserDoc, b: &UserDoc) -> bool {
    let sessions = |d: &UserDoc| {
        let mut s: Vec<(String, i64)> =
            d.revoked_sessions.iter().map(|s| (s.id.clone(), s.expires_at.timestamp_millis())).collect();
        s.sort();
        s
    };
    a.email == b.email
        && a.password_hash == b.password_hash
        && a.token_version == b.token_version
        && a.created_at == b.created_at
        && a.last_login_at == b.last_login_at
        && a.registration_key == b.registration_key
        && a.role == b.role
        && a.status == b.status
        && sessions(a) == sessions(b)
}

fn parse_id(raw: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Other(anyhow!("stored id {raw:?} is not a UUID: {e}")))
}

/// The insert task's view of the chain and its ids.
struct Writer {
    parts: Parts,
    ids: MessageIds,
    tail: Tail,
}

impl Writer {
    /// The next message, as the successor of the current tail (read from the database when unknown).
    async fn next(&mut self, new: &NewMessage) -> Result<(Message, String), StoreError> {
        if self.tail == Tail::Unknown {
            self.tail = read_tail(&self.parts).await?;
        }
        let prev = self.tail.prev();
        if let Tail::At(id) = self.tail {
            self.ids.observe(id);
        }
        let id = self.ids.next_id();
        self.tail = Tail::At(id);
        let message = Message {
            id,
            from: new.from.clone(),
            to: new.to.clone(),
            content: new.content.clone(),
            created_at: message_time(id),
        };
        Ok((message, prev))
    }
}

/// Writes queued messages in commit order. Plain messages go in batches, one ordered `insert_many` each,
/// each message the successor of the one before; a message with an idempotency key is written alone
/// (after the batch before it), since its insert may turn into a replay. Callers hear back only after the
/// write concern is satisfied.
async fn run_inserts(parts: Parts, mut queue: mpsc::Receiver<PendingInsert>, ids: MessageIds, tail: Tail) {
    let mut writer = Writer { parts, ids, tail };
    let mut received = Vec::with_capacity(MAX_BATCH);
    let mut plain: Vec<PendingInsert> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut received, MAX_BATCH).await > 0 {
        for pending in received.drain(..) {
            if pending.message.idempotency.is_none() {
                plain.push(pending);
                continue;
            }
            insert_batch(&mut writer, &mut plain).await;
            let outcome = insert_keyed(&mut writer, &pending.message).await;
            if let Ok(Inserted::Created(message)) = &outcome {
                writer.parts.feed.publish(Change::Mailbox(message.to.id), "local");
            }
            let _ = pending.reply.send(outcome);
        }
        insert_batch(&mut writer, &mut plain).await;
    }
}

/// Stores `batch` (emptying it) as successive links of the chain. When another instance extended the chain
/// first, what was not stored yet is linked to the new tail and tried again, until the timeout.
async fn insert_batch(writer: &mut Writer, batch: &mut Vec<PendingInsert>) {
    let timeout = writer.parts.timeout;
    let deadline = Instant::now() + timeout;
    let mut pending: std::collections::VecDeque<PendingInsert> = batch.drain(..).collect();
    while !pending.is_empty() {
        let mut messages = Vec::with_capacity(pending.len());
        let mut docs = Vec::with_capacity(pending.len());
        for waiting in &pending {
            match writer.next(&waiting.message).await {
                Ok((message, prev)) => {
                    docs.push(MessageDoc::new(&message, &prev, None));
                    messages.push(message);
                }
                Err(e) => return fail_all(pending, &e, &mut writer.tail),
            }
        }
        let started = Instant::now();
        let outcome =
            insert_bounded(timeout, writer.parts.messages.insert_many(&docs).ordered(true).into_future()).await;
        let (stored, failure) = match outcome {
            Ok(Ok(_)) => (messages.len(), None),
            // Another instance extended the chain first: what went in before the conflict is stored.
            Ok(Err(e)) => match inserted_before_duplicate(&e) {
                Some(stored) => (stored, (Instant::now() >= deadline).then(|| classify(e))),
                None => {
                    tracing::warn!(error = %e, messages = pending.len(), "MongoDB message insert failed");
                    (0, Some(classify(e)))
                }
            },
            Err(e) => (0, Some(e)),
        };
        for message in messages.into_iter().take(stored) {
            let waiting = pending.pop_front().expect("one waiting caller per message");
            writer.parts.feed.publish(Change::Mailbox(message.to.id), "local");
            let _ = waiting.reply.send(Ok(Inserted::Created(message)));
        }
        if let Some(error) = failure {
            return fail_all(pending, &error, &mut writer.tail);
        }
        if !pending.is_empty() {
            writer.tail = Tail::Unknown;
            back_off(started.elapsed()).await;
        }
    }
}

/// After losing the chain to another instance: wait one to two round trips (`round_trip`: what the failed
/// insert took), at random, so the winner's next batch — whose tail it knows — likely goes in unopposed
/// while this one gathers more. Without it, two busy instances take turns failing every other insert
/// (bench/run, two instances at once on SecantusDB: 0.34 of one instance without, about 0.4 with).
async fn back_off(round_trip: Duration) {
    let wait = round_trip.mul_f64(1.0 + rand::random::<f64>()).min(Duration::from_millis(100));
    tokio::time::sleep(wait).await;
}

/// Answers every caller with `error`; what was stored is now unknown, so the tail must be read again.
fn fail_all(pending: impl IntoIterator<Item = PendingInsert>, error: &StoreError, tail: &mut Tail) {
    *tail = Tail::Unknown;
    let reason = match error {
        StoreError::Unavailable(reason) => reason.clone(),
        other => other.to_string(),
    };
    for waiting in pending {
        // Reported as not stored; a retry with an idempotency key is safe either way.
        let _ = waiting.reply.send(Err(StoreError::Unavailable(reason.clone())));
    }
}

/// Inserts a message carrying an idempotency key. A duplicate key means the sender used the key before —
/// within the window, the earlier message is the answer (same request) or a conflict (another request);
/// past it, the key is released from the earlier message and the insert tried again — or, when no
/// message holds the key, that another instance extended the chain first.
async fn insert_keyed(writer: &mut Writer, new: &NewMessage) -> Result<Inserted, StoreError> {
    let idempotency = new.idempotency.as_ref().expect("a keyed message");
    let timeout = writer.parts.timeout;
    let deadline = Instant::now() + timeout;
    let messages = writer.parts.messages.clone();
    let sender = new.from.id.to_string();
    let filter = doc! {"sender_id": &sender, "idempotency_key": &idempotency.key};
    loop {
        if Instant::now() >= deadline {
            writer.tail = Tail::Unknown;
            return Err(StoreError::Unavailable("the message chain kept changing; try again".into()));
        }
        let (message, prev) = writer.next(new).await.inspect_err(|_| writer.tail = Tail::Unknown)?;
        let doc = MessageDoc::new(&message, &prev, Some(idempotency));
        match insert_bounded(timeout, messages.insert_one(&doc).into_future()).await {
            Ok(Ok(_)) => return Ok(Inserted::Created(message)),
            Ok(Err(e)) if is_duplicate_key(&e) => {}
            Ok(Err(e)) => {
                writer.tail = Tail::Unknown;
                return Err(classify(e));
            }
            Err(e) => {
                writer.tail = Tail::Unknown;
                return Err(e);
            }
        }
        writer.tail = Tail::Unknown;
        let Some(earlier) = bounded(timeout, messages.find_one(filter.clone()).into_future()).await? else {
            continue; // the chain moved on (or the key was released meanwhile)
        };
        let age = time::OffsetDateTime::now_utc() - super::from_millis(earlier.created_at.timestamp_millis());
        if age > IDEMPOTENCY_WINDOW {
            let mut release = filter.clone();
            release.insert("_id", &earlier.id);
            let unset = doc! {"$unset": {"idempotency_key": "", "request_hash": ""}};
            bounded(timeout, messages.update_one(release, unset).into_future()).await?;
            continue;
        }
        return if earlier.request_hash.as_deref() == Some(idempotency.fingerprint.as_str()) {
            Ok(Inserted::Replayed(message_from_doc(earlier)?))
        } else {
            Err(StoreError::IdempotencyKeyReused)
        };
    }
}

/// Feeds other instances' changes to the feed: from a change stream where the deployment has them,
/// otherwise by polling.
async fn run_feed(parts: Parts, tail: Tail) {
    let hello = bounded(parts.timeout, parts.db.run_command(doc! {"hello": 1}).into_future()).await;
    let replicated = match &hello {
        Ok(hello) => hello.contains_key("setName") || hello.get_str("msg") == Ok("isdbgrid"),
        // Assume the common production case; a refusal below switches to polling.
        Err(_) => true,
    };
    if replicated {
        follow_change_stream(&parts).await;
        tracing::warn!("this MongoDB deployment refused a change stream; polling for other instances' changes instead");
    } else {
        tracing::warn!(
            interval_ms = POLL_INTERVAL.as_millis() as u64,
            "MongoDB is a standalone server (no change streams): polling for other instances' changes"
        );
    }
    poll(&parts, tail, hello.ok().and_then(|h| h.get_datetime("localTime").ok().copied())).await;
}

/// The change stream's filter: message inserts and revocations, with only the fields the feed needs.
fn change_pipeline() -> Vec<Document> {
    vec![
        doc! {"$match": {"operationType": "insert", "ns.coll": {"$in": ["messages", "revocations"]}}},
        doc! {"$project": {
            "operationType": 1, "ns": 1, "fullDocument.recipient_id": 1, "fullDocument.user_id": 1,
            "fullDocument.kind": 1,
        }},
    ]
}

/// Follows a change stream; returns only if the deployment says it has none. Interruptions are resumed
/// from the last resume token, or — when the token is no longer usable — from now, with a resync.
async fn follow_change_stream(parts: &Parts) {
    const CHANGE_STREAMS_UNSUPPORTED: i32 = 40573;
    /// How long the server holds a getMore open waiting for events.
    const AWAIT: Duration = Duration::from_secs(1);
    let mut token: Option<ResumeToken> = None;
    let mut backoff = CONNECT_RETRY;
    let mut announced = false;
    loop {
        let open = parts.db.watch().pipeline(change_pipeline()).max_await_time(AWAIT);
        let open = match token.clone() {
            Some(token) => open.resume_after(token),
            None => open,
        };
        let stream = match bounded(parts.timeout, open.into_future()).await {
            Ok(stream) => stream,
            Err(StoreError::Other(e)) if code_of(&e) == Some(CHANGE_STREAMS_UNSUPPORTED) => return,
            Err(StoreError::Other(e)) if token.is_some() => {
                // The token is not usable any more (e.g. history lost): start from now, and have everyone
                // look again for what happened in between.
                tracing::warn!(error = %e, "the change stream could not resume; starting it afresh");
                token = None;
                parts.feed.publish(Change::Resync, "database");
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "opening the change stream failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if !announced {
            tracing::info!("following other instances' changes through a MongoDB change stream");
            announced = true;
        }
        parts.feed.set_mode(FeedMode::ChangeStream);
        backoff = CONNECT_RETRY;
        let mut stream = stream.with_type::<ChangeStreamEvent<Document>>();
        // One getMore at a time (it waits up to AWAIT for events), bounded: the driver has no socket
        // timeout, and a connection that died silently must not stall the feed.
        while stream.is_alive() {
            match tokio::time::timeout(AWAIT + parts.timeout, stream.next_if_any()).await {
                Ok(Ok(event)) => {
                    if let Some(event) = &event {
                        publish_event(&parts.feed, event);
                    }
                    token = stream.resume_token().or(token);
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the change stream was interrupted; resuming");
                    break;
                }
                Err(_) => {
                    tracing::warn!("the change stream stopped answering; resuming");
                    break;
                }
            }
        }
        metrics::counter!(names::FEED_RESTARTS).increment(1);
        tokio::time::sleep(CONNECT_RETRY).await;
    }
}

fn code_of(e: &anyhow::Error) -> Option<i32> {
    match e.downcast_ref::<mongodb::error::Error>()?.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

fn publish_event(feed: &Feed, event: &ChangeStreamEvent<Document>) {
    let (Some(ns), Some(doc)) = (&event.ns, &event.full_document) else { return };
    let field = match ns.coll.as_deref() {
        Some("messages") => "recipient_id",
        Some("revocations") => "user_id",
        _ => return,
    };
    let Some(id) = doc.get_str(field).ok().and_then(|id| Uuid::parse_str(id).ok()) else { return };
    feed.publish(change_of(field, doc, id), "database");
}

/// The change a message or event document announces.
fn change_of(field: &str, doc: &Document, id: Uuid) -> Change {
    match (field, doc.get_str("kind")) {
        ("recipient_id", _) => Change::Mailbox(id),
        (_, Ok("unlocked")) => Change::Unlocked(id),
        _ => Change::Revoked(id),
    }
}

/// Polls for other instances' changes: messages after the newest seen (exact: ids grow in commit order),
/// and revocations of the last few seconds of the server's clock (deduplicated).
async fn poll(parts: &Parts, tail: Tail, server_now: Option<DateTime>) {
    parts.feed.set_mode(FeedMode::Polling);
    let mut last = match tail {
        Tail::At(id) => id.to_string(),
        _ => String::new(),
    };
    let mut since = server_now.unwrap_or_else(DateTime::now);
    let mut seen: HashMap<String, DateTime> = HashMap::new();
    let raw = parts.db.collection::<Document>("messages");
    let mut failing = false;
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        let outcome: Result<(), StoreError> = async {
            loop {
                let find = raw
                    .find(doc! {"_id": {"$gt": &last}})
                    .sort(doc! {"_id": 1})
                    .limit(1000)
                    .projection(doc! {"recipient_id": 1});
                let docs: Vec<Document> = bounded(parts.timeout, async { find.await?.try_collect().await }).await?;
                for doc in &docs {
                    if let Some(recipient) = doc.get_str("recipient_id").ok().and_then(|r| Uuid::parse_str(r).ok()) {
                        parts.feed.publish(Change::Mailbox(recipient), "database");
                    }
                }
                if let Some(id) = docs.last().and_then(|d| d.get_str("_id").ok()) {
                    last = id.to_owned();
                }
                if docs.len() < 1000 {
                    break;
                }
            }
            let from = DateTime::from_millis(since.timestamp_millis() - REVOCATION_OVERLAP.as_millis() as i64);
            let find = parts.revocations.find(doc! {"at": {"$gte": from}});
            let docs: Vec<Document> = bounded(parts.timeout, async { find.await?.try_collect().await }).await?;
            for doc in docs {
                let (Ok(id), Ok(at)) = (doc.get_str("_id"), doc.get_datetime("at")) else { continue };
                since = since.max(*at);
                if seen.insert(id.to_owned(), *at).is_none() {
                    if let Some(user) = doc.get_str("user_id").ok().and_then(|u| Uuid::parse_str(u).ok()) {
                        parts.feed.publish(change_of("user_id", &doc, user), "database");
                    }
                }
            }
            seen.retain(|_, at| at.timestamp_millis() >= from.timestamp_millis());
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) if failing => {
                failing = false;
                parts.feed.publish(Change::Resync, "database");
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "polling MongoDB for other instances' changes failed; retrying");
                }
                failing = true;
            }
        }
    }
}

#[async_trait]
impl Store for MongoStore {
    fn backend(&self) -> Backend {
        Backend::Mongo
    }

    async fn ready(&self, within: Duration) -> Result<(), StoreError> {
        let mut ready = self.readiness.notify.subscribe();
        let _ = tokio::time::timeout(within, ready.wait_for(|ready| *ready)).await;
        self.readiness.check()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed(self.db.run_command(doc! {"ping": 1}).into_future()).await.map(drop)
    }

    async fn token_secret_or_insert(&self, candidate: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.readiness.check()?;
        let settings = self.db.collection::<Document>("settings");
        let value = Binary { subtype: BinarySubtype::Generic, bytes: candidate };
        // Insert-if-absent: of several instances starting together, the first insert wins and everyone
        // reads back the same secret.
        let insert = settings.insert_one(doc! {"_id": "token_secret", "value": value});
        match insert_bounded(self.timeout, insert.into_future()).await? {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => {}
            Err(e) => return Err(classify(e)),
        }
        let stored = self
            .timed(settings.find_one(doc! {"_id": "token_secret"}).into_future())
            .await?
            .ok_or_else(|| StoreError::Other(anyhow!("the token secret vanished after being stored")))?;
        match stored.get("value") {
            Some(Bson::Binary(binary)) => Ok(binary.bytes.clone()),
            _ => Err(StoreError::Other(anyhow!("settings.token_secret is not binary"))),
        }
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.readiness.check()?;
        let doc = UserDoc {
            id: user.id.to_string(),
            email: user.email.to_string(),
            password_hash: user.password_hash.clone(),
            token_version: 0,
            created_at: DateTime::from_millis(to_millis(user.created_at)),
            last_login_at: None,
            registration_key: user.registration_key.clone(),
            revoked_sessions: Vec::new(),
            role: user.role.as_str().to_owned(),
            status: AccountStatus::Active.as_str().to_owned(),
            access_tokens: Vec::new(),
        };
        match insert_bounded(self.timeout, self.users.insert_one(doc).into_future()).await? {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => return Err(StoreError::EmailTaken),
            Err(e) => return Err(classify(e)),
        }
        Ok(user.into_user())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let find = self.users.find_one(doc! {"email": email.as_str()}).projection(without_tokens());
        let found = self.timed(find.into_future()).await?;
        found.map(user_from_doc).transpose()
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let find = self.users.find_one(doc! {"_id": id.to_string()}).projection(without_tokens());
        let found = self.timed(find.into_future()).await?;
        found.map(user_from_doc).transpose()
    }

    async fn update_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<User, StoreError> {
        let updated = self
            .timed(
                self.users
                    .find_one_and_update(
                        doc! {"_id": id.to_string(), "password_hash": current_hash},
                        doc! {"$set": {"password_hash": new_hash}, "$inc": {"token_version": 1_i64}},
                    )
                    .return_document(ReturnDocument::After)
                    .into_future(),
            )
            .await?;
        let user = updated.map(user_from_doc).transpose()?.ok_or(StoreError::NotFound)?;
        self.log_revocation(id).await;
        Ok(user)
    }

    async fn revoke_tokens(&self, id: Uuid) -> Result<(), StoreError> {
        let update = self.users.update_one(doc! {"_id": id.to_string()}, doc! {"$inc": {"token_version": 1_i64}});
        let result = self.timed(update.into_future()).await?;
        if result.matched_count == 0 {
            return Err(StoreError::NotFound);
        }
        self.log_revocation(id).await;
        Ok(())
    }

    async fn revoke_session(&self, id: Uuid, session: Uuid, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let filter = doc! {"_id": id.to_string()};
        let ended = doc! {"id": session.to_string(), "expires_at": DateTime::from_millis(to_millis(expires_at))};
        let push = self.users.update_one(filter.clone(), doc! {"$push": {"revoked_sessions": ended}});
        if self.timed(push.into_future()).await?.matched_count == 0 {
            return Err(StoreError::NotFound);
        }
        // Sessions whose tokens have expired need no record any more.
        let expired = doc! {"$pull": {"revoked_sessions": {"expires_at": {"$lt": DateTime::now()}}}};
        if let Err(e) = self.timed(self.users.update_one(filter, expired).into_future()).await {
            tracing::debug!(error = %e, "pruning expired sessions failed; the next revocation tries again");
        }
        self.log_revocation(id).await;
        Ok(())
    }

    async fn record_login(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        let set = doc! {"$set": {"last_login_at": DateTime::from_millis(to_millis(at))}};
        self.timed(self.users.update_one(doc! {"_id": id.to_string()}, set).into_future()).await.map(drop)
    }

    async fn reissue_password(
        &self,
        id: Uuid,
        registration_key: &str,
        current_hash: &str,
        created_after: OffsetDateTime,
        new_hash: String,
    ) -> Result<User, StoreError> {
        let filter = doc! {
            "_id": id.to_string(), "registration_key": registration_key,
            "created_at": {"$gt": DateTime::from_millis(to_millis(created_after))},
            "last_login_at": {"$exists": false}, "password_hash": current_hash,
        };
        let update = doc! {"$set": {"password_hash": new_hash}, "$inc": {"token_version": 1_i64}};
        let updated = self
            .timed(self.users.find_one_and_update(filter, update).return_document(ReturnDocument::After).into_future())
            .await?;
        updated.map(user_from_doc).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let mut filter = Document::new();
        if let Some(after) = query.after {
            filter.insert("_id", doc! {"$gt": after.to_string()});
        }
        match query.status {
            Some(AccountStatus::Active) => filter.insert("status", doc! {"$ne": "deactivated"}),
            Some(AccountStatus::Deactivated) => filter.insert("status", "deactivated"),
            None => None,
        };
        if let Some(prefix) = &query.email_prefix {
            filter.insert("email", doc! {"$regex": format!("^{}", regex_escape(prefix))});
        }
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let find = self.users.find(filter).sort(doc! {"_id": 1}).limit(limit).projection(without_tokens());
        let docs: Vec<UserDoc> = self.timed(async { find.await?.try_collect().await }).await?;
        docs.into_iter().map(user_from_doc).collect()
    }

    async fn count_active_admins(&self) -> Result<u64, StoreError> {
        let count = self.users.count_documents(doc! {"role": "admin", "status": {"$ne": "deactivated"}});
        self.timed(count.into_future()).await
    }

    async fn set_role(&self, id: Uuid, role: Role) -> Result<User, StoreError> {
        self.updated_user(doc! {"_id": id.to_string()}, doc! {"$set": {"role": role.as_str()}}).await
    }

    async fn set_status(&self, id: Uuid, status: AccountStatus) -> Result<User, StoreError> {
        let filter = doc! {"_id": id.to_string()};
        if status == AccountStatus::Active {
            return self.updated_user(filter, doc! {"$set": {"status": "active"}}).await;
        }
        // Deactivation ends every session and deletes every access token.
        let update = doc! {
            "$set": {"status": "deactivated", "access_tokens": []}, "$inc": {"token_version": 1_i64},
        };
        let user = self.updated_user(filter, update).await?;
        self.log_revocation(id).await;
        Ok(user)
    }

    async fn reset_password(&self, id: Uuid, new_hash: String) -> Result<User, StoreError> {
        let update = doc! {"$set": {"password_hash": new_hash}, "$inc": {"token_version": 1_i64}};
        let user = self.updated_user(doc! {"_id": id.to_string()}, update).await?;
        self.log_revocation(id).await;
        Ok(user)
    }

    async fn delete_user(&self, id: Uuid) -> Result<(), StoreError> {
        let id_text = id.to_string();
        // The messages keep only their place in the chain (`_id`, `prev`): a removed link would let a
        // writer that last saw the message before it link a smaller id after the chain had moved on.
        let theirs = doc! {"$or": [{"sender_id": &id_text}, {"recipient_id": &id_text}]};
        let erase = doc! {"$unset": {
            "sender_id": "", "sender_email": "", "recipient_id": "", "recipient_email": "", "content": "",
            "created_at": "", "idempotency_key": "", "request_hash": "",
        }};
        // Without a transaction (standalone servers have none), the order makes a failure retryable: first
        // the account stops sending (deactivated, tokens revoked), then its messages go while it still
        // exists — a 503 here leaves an account that DELETE can be retried on — then the account, then
        // whatever reached it in between.
        let stop = doc! {"$set": {"status": "deactivated", "access_tokens": []}, "$inc": {"token_version": 1_i64}};
        let stopped = self.timed(self.users.update_one(doc! {"_id": &id_text}, stop).into_future()).await?;
        if stopped.matched_count == 0 {
            return Err(StoreError::NotFound);
        }
        self.timed(self.messages.update_many(theirs.clone(), erase.clone()).into_future()).await?;
        self.timed(self.users.delete_one(doc! {"_id": &id_text}).into_future()).await?;
        self.timed(self.messages.update_many(theirs, erase).into_future()).await?;
        self.log_revocation(id).await;
        Ok(())
    }

    async fn unlock(&self, id: Uuid) -> Result<(), StoreError> {
        self.log_event(id, "unlocked").await?;
        self.feed.publish(Change::Unlocked(id), "local");
        Ok(())
    }

    async fn create_access_token(&self, token: AccessToken) -> Result<(), StoreError> {
        let user = token.user_id.to_string();
        let stored = TokenDoc {
            id: token.id.to_string(),
            name: token.name.clone(),
            digest: token.digest.clone(),
            scopes: token.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: DateTime::from_millis(to_millis(token.created_at)),
            expires_at: token.expires_at.map(|at| DateTime::from_millis(to_millis(at))),
            last_used_at: None,
        };
        let doc = mongodb::bson::to_document(&stored).map_err(|e| StoreError::Other(e.into()))?;
        // The name is free and the token goes in, in one atomic update of the account.
        let push = self.users.update_one(
            doc! {"_id": &user, "access_tokens.name": {"$ne": &token.name}},
            doc! {"$push": {"access_tokens": doc}},
        );
        let pushed = self.timed(push.into_future()).await?;
        if pushed.matched_count == 1 {
            return Ok(());
        }
        let exists = self.timed(self.users.count_documents(doc! {"_id": &user}).into_future()).await?;
        Err(if exists == 0 { StoreError::NotFound } else { StoreError::NameTaken })
    }

    async fn access_tokens(&self, user: Uuid) -> Result<Vec<AccessToken>, StoreError> {
        let find = self.users.find_one(doc! {"_id": user.to_string()});
        let Some(doc) = self.timed(find.into_future()).await? else { return Ok(Vec::new()) };
        let mut tokens = doc.access_tokens.iter().map(|t| token_from_doc(user, t)).collect::<Result<Vec<_>, _>>()?;
        tokens.sort_by_key(|t| (t.created_at, t.id));
        Ok(tokens)
    }

    async fn user_by_access_token(&self, digest: &str) -> Result<Option<(User, AccessToken)>, StoreError> {
        let find = self.users.find_one(doc! {"access_tokens.digest": digest}).hint(Hint::Name(TOKEN_INDEX.to_owned()));
        let Some(doc) = self.timed(find.into_future()).await? else { return Ok(None) };
        let token = doc.access_tokens.iter().find(|t| t.digest == digest);
        let Some(token) = token else { return Ok(None) };
        let id = parse_id(&doc.id)?;
        let token = token_from_doc(id, token)?;
        Ok(Some((user_from_doc(doc)?, token)))
    }

    async fn revoke_access_token(&self, user: Uuid, token: Uuid) -> Result<(), StoreError> {
        let pull = self.users.update_one(
            doc! {"_id": user.to_string(), "access_tokens.id": token.to_string()},
            doc! {"$pull": {"access_tokens": {"id": token.to_string()}}},
        );
        if self.timed(pull.into_future()).await?.matched_count == 0 {
            return Err(StoreError::NotFound);
        }
        self.log_revocation(user).await;
        Ok(())
    }

    async fn touch_access_token(&self, user: Uuid, token: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        let touch = self.users.update_one(
            doc! {"_id": user.to_string(), "access_tokens.id": token.to_string()},
            doc! {"$set": {"access_tokens.$.last_used_at": DateTime::from_millis(to_millis(at))}},
        );
        self.timed(touch.into_future()).await.map(drop)
    }

    async fn insert_message(&self, message: NewMessage) -> Result<Inserted, StoreError> {
        self.readiness.check()?;
        let (reply, answer) = oneshot::channel();
        let unavailable = || StoreError::Unavailable("the MongoDB insert task has stopped".into());
        self.inserts.send(PendingInsert { message, reply }).await.map_err(|_| unavailable())?;
        answer.await.map_err(|_| unavailable())?
    }

    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<Message>, StoreError> {
        let owner = query.owner.to_string();
        // Each view has an index whose prefix is its equality (inbox, sent, pair), the only one a planner
        // can use for it; naming it (`hint`) made SecantusDB twice as slow and changes nothing on mongod.
        let mut filter = match query.mailbox {
            Mailbox::Inbox => doc! {"recipient_id": &owner},
            Mailbox::Sent => doc! {"sender_id": &owner},
            Mailbox::From(other) => doc! {"recipient_id": &owner, "sender_id": other.to_string()},
            Mailbox::To(other) => doc! {"recipient_id": other.to_string(), "sender_id": &owner},
            Mailbox::With(other) => {
                let other = other.to_string();
                doc! {"$or": [
                    {"recipient_id": &owner, "sender_id": &other},
                    {"recipient_id": &other, "sender_id": &owner},
                ]}
            }
        };
        let mut range = Document::new();
        if let Some(after) = query.after {
            range.insert("$gt", after.to_string());
        }
        if let Some(before) = query.before {
            range.insert("$lt", before.to_string());
        }
        if !range.is_empty() {
            filter.insert("_id", range);
        }
        let backwards = query.before.is_some() && query.after.is_none();
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let find = self.messages.find(filter).sort(doc! {"_id": if backwards { -1 } else { 1 }}).limit(limit);
        let docs: Vec<MessageDoc> = self
            .timed(async {
                let cursor = find.await?;
                cursor.try_collect().await
            })
            .await?;
        let mut messages = docs.into_iter().map(message_from_doc).collect::<Result<Vec<_>, _>>()?;
        if backwards {
            messages.reverse();
        }
        Ok(messages)
    }

    async fn user_and_messages(
        &self,
        user: Uuid,
        query: &MessageQuery,
    ) -> Result<(Option<User>, Vec<Message>), StoreError> {
        // Two round trips, at once: the request waits for one.
        let (found, messages) = tokio::try_join!(self.user_by_id(user), self.list_messages(query))?;
        Ok(match found {
            Some(found) => (Some(found), messages),
            None => (None, Vec::new()),
        })
    }

    async fn user_and_recipient(&self, user: Uuid, email: &Email) -> Result<(Option<User>, Option<User>), StoreError> {
        // Two round trips, at once. (One `$or` find would be one, but SecantusDB answers `$or` with a
        // collection scan.)
        tokio::try_join!(self.user_by_id(user), self.user_by_email(email))
    }

    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.feed.subscribe()
    }

    fn feed_mode(&self) -> FeedMode {
        self.feed.mode()
    }

    async fn snapshot(&self) -> Result<RecordStream, StoreError> {
        use futures::StreamExt;
        self.readiness.check()?;
        let (sender, records) = mpsc::channel(SNAPSHOT_BUFFER);
        let walk = Snapshot {
            db: self.db.clone(),
            users: self.users.clone(),
            messages: self.messages.clone(),
            timeout: self.timeout,
            sender: sender.clone(),
        };
        tokio::spawn(async move {
            if let Err(e) = walk.run().await {
                let _ = sender.send(Err(e)).await;
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(records).boxed())
    }

    async fn apply(&self, records: Vec<Record>, mode: ApplyMode) -> Result<u64, StoreError> {
        self.readiness.check()?;
        let mut changed = 0;
        let mut users = Vec::new();
        let mut messages = Vec::new();
        for record in records {
            match record {
                Record::Setting { key, value } => changed += self.apply_setting(key, value, mode).await?,
                Record::User(user) => users.push(user),
                Record::AccessToken(token) => {
                    changed += self.apply_users(std::mem::take(&mut users), mode).await?;
                    changed += self.apply_token(token, mode).await?;
                }
                Record::Message(message) => messages.push(message),
            }
        }
        changed += self.apply_users(users, mode).await?;
        changed += self.apply_messages(messages).await?;
        Ok(changed)
    }

    async fn inventory(&self) -> Result<Inventory, StoreError> {
        let users = self.timed(self.users.count_documents(doc! {}).into_future()).await?;
        let messages =
            self.timed(self.messages.count_documents(doc! {"content": {"$exists": true}}).into_future()).await?;
        let raw = self.db.collection::<Document>("users");
        let with_tokens =
            raw.find(doc! {"access_tokens.0": {"$exists": true}}).projection(doc! {"access_tokens.id": 1});
        let docs: Vec<Document> = self
            .timed(async {
                let cursor = with_tokens.await?;
                cursor.try_collect().await
            })
            .await?;
        let access_tokens = docs.iter().map(|d| d.get_array("access_tokens").map_or(0, Vec::len) as u64).sum();
        let newest_message = match self.tail().await? {
            Tail::At(id) => Some(id),
            _ => None,
        };
        Ok(Inventory { users, access_tokens, messages, newest_message })
    }

    async fn stored_messages(&self, ids: Vec<Uuid>) -> Result<std::collections::HashSet<Uuid>, StoreError> {
        let raw = self.db.collection::<Document>("messages");
        let mut found = std::collections::HashSet::new();
        for chunk in ids.chunks(1000) {
            let texts: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
            let find = raw.find(doc! {"_id": {"$in": texts}}).projection(doc! {"_id": 1});
            let docs: Vec<Document> = self
                .timed(async {
                    let cursor = find.await?;
                    cursor.try_collect().await
                })
                .await?;
            for d in docs {
                found.insert(parse_id(d.get_str("_id").map_err(|e| StoreError::Other(e.into()))?)?);
            }
        }
        Ok(found)
    }

    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let settings = self.db.collection::<Document>("settings");
        let stored = self.timed(settings.find_one(doc! {"_id": key}).into_future()).await?;
        match stored.as_ref().map(|d| d.get("value")) {
            None => Ok(None),
            Some(Some(Bson::Binary(binary))) => Ok(Some(binary.bytes.clone())),
            Some(_) => Err(StoreError::Other(anyhow!("settings.{key} is not binary"))),
        }
    }

    async fn put_setting(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.apply_setting(key.to_owned(), value, ApplyMode::Replace).await.map(drop)
    }

    async fn close(&self) {
        for task in self.tasks.lock().expect("task list").drain(..) {
            task.abort();
        }
        self.client.clone().shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_message_links_to_the_chain_start() {
        assert_eq!(Tail::Empty.prev(), CHAIN_START);
        let id = Uuid::now_v7();
        assert_eq!(Tail::At(id).prev(), id.to_string());
    }
}
