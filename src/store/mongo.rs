//! The MongoDB store: plain documents readable with `mongosh`, a unique index on the normalized email,
//! majority-acknowledged journaled writes, and a batching task for message inserts.
//!
//! Every operation is bounded by the configured timeout (the driver has no socket timeout, so a paused
//! server would otherwise hold a request forever) and answers [`StoreError::Unavailable`] when it passes.
//! Message inserts go through one task that assigns ids and writes each batch with an ordered
//! `insert_many`, so within an instance id order is commit order and a cursor never passes a message that
//! commits later.

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{Acknowledgment, ClientOptions, IndexOptions, ReturnDocument, WriteConcern};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    Backend, IDEMPOTENCY_WINDOW, Idempotency, Inserted, Mailbox, Message, MessageIds, MessageQuery, NewMessage,
    NewUser, OpenOptions, Party, Store, StoreError, User, message_time, to_millis,
};
use crate::domain::{Email, MessageContent};

/// Database used when the URL names none.
pub const DEFAULT_DATABASE: &str = "msgkit";

/// Most messages one `insert_many` takes.
const MAX_BATCH: usize = 512;

/// A user as stored: `users {_id, email, password_hash, token_version, created_at}`.
#[derive(Serialize, Deserialize)]
struct UserDoc {
    #[serde(rename = "_id")]
    id: String,
    email: String,
    password_hash: String,
    token_version: i64,
    created_at: DateTime,
}

/// A message as stored: `messages {_id, sender_id, sender_email, recipient_id, recipient_email, content,
/// created_at}`, plus `idempotency_key` and `request_hash` when it was sent with an `Idempotency-Key`.
#[derive(Serialize, Deserialize)]
struct MessageDoc {
    #[serde(rename = "_id")]
    id: String,
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
    fn new(message: &Message, idempotency: Option<&Idempotency>) -> Self {
        Self {
            id: message.id.to_string(),
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

/// The MongoDB store.
pub struct MongoStore {
    client: Client,
    db: Database,
    users: Collection<UserDoc>,
    messages: Collection<MessageDoc>,
    inserts: mpsc::Sender<PendingInsert>,
    timeout: Duration,
}

impl MongoStore {
    /// Connects to `url`, creates the indexes and starts the insert task. Fails after the timeout when the
    /// server cannot be reached.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let mut client_options =
            ClientOptions::parse(url).await.map_err(|e| StoreError::Other(anyhow!("invalid MongoDB URL: {e}")))?;
        client_options.app_name.get_or_insert_with(|| "msgd".to_owned());
        client_options.max_pool_size = Some(options.pool_size);
        client_options.connect_timeout = Some(options.timeout);
        client_options.server_selection_timeout = Some(options.timeout);
        // Majority-acknowledged and journaled unless the URL says otherwise (`?w=1&journal=false`).
        let concern = client_options.write_concern.get_or_insert_with(WriteConcern::default);
        concern.w.get_or_insert(Acknowledgment::Majority);
        concern.journal.get_or_insert(true);
        concern.w_timeout.get_or_insert(options.timeout);
        let database = client_options.default_database.clone().unwrap_or_else(|| DEFAULT_DATABASE.to_owned());

        let client = Client::with_options(client_options).map_err(classify)?;
        let db = client.database(&database);
        let store = Self::from_parts(client, db, options.timeout).await?;
        Ok(store)
    }

    async fn from_parts(client: Client, db: Database, timeout: Duration) -> Result<Self, StoreError> {
        let users = db.collection::<UserDoc>("users");
        let messages = db.collection::<MessageDoc>("messages");
        bounded(timeout, db.run_command(doc! {"ping": 1}).into_future()).await?;
        let unique = IndexOptions::builder().unique(true).name("email_unique".to_owned()).build();
        bounded(
            timeout,
            users.create_index(IndexModel::builder().keys(doc! {"email": 1}).options(unique).build()).into_future(),
        )
        .await?;
        // Idempotency keys live on the message they protect, unique per sender: one insert stores both.
        let idempotency = IndexOptions::builder()
            .unique(true)
            .name("idempotency".to_owned())
            .partial_filter_expression(doc! {"idempotency_key": {"$exists": true}})
            .build();
        let keys = doc! {"sender_id": 1, "idempotency_key": 1};
        bounded(
            timeout,
            messages.create_index(IndexModel::builder().keys(keys).options(idempotency).build()).into_future(),
        )
        .await?;
        for (name, keys) in [
            ("inbox", doc! {"recipient_id": 1, "_id": 1}),
            ("sent", doc! {"sender_id": 1, "_id": 1}),
            ("pair", doc! {"recipient_id": 1, "sender_id": 1, "_id": 1}),
        ] {
            let options = IndexOptions::builder().name(name.to_owned()).build();
            bounded(
                timeout,
                messages.create_index(IndexModel::builder().keys(keys).options(options).build()).into_future(),
            )
            .await?;
        }

        let mut ids = MessageIds::default();
        let raw_messages = db.collection::<Document>("messages");
        let newest = raw_messages.find_one(doc! {}).sort(doc! {"_id": -1}).projection(doc! {"_id": 1});
        let newest = bounded(timeout, newest.into_future()).await?;
        if let Some(id) = newest.as_ref().and_then(|d| d.get_str("_id").ok()).and_then(|id| Uuid::parse_str(id).ok()) {
            ids.observe(id);
        }
        let (inserts, queue) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(run_inserts(messages.clone(), queue, ids, timeout));
        Ok(Self { client, db, users, messages, inserts, timeout })
    }

    async fn timed<T>(&self, op: impl Future<Output = mongodb::error::Result<T>>) -> Result<T, StoreError> {
        bounded(self.timeout, op).await
    }
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

/// Duplicate key (E11000) on a write.
fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    const DUPLICATE_KEY: i32 = 11000;
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(m) => {
            m.write_errors.as_ref().is_some_and(|errors| errors.iter().any(|w| w.code == DUPLICATE_KEY))
        }
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
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

fn parse_id(raw: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Other(anyhow!("stored id {raw:?} is not a UUID: {e}")))
}

/// Writes queued messages in order. Plain messages go in batches, one ordered `insert_many` each; a message
/// with an idempotency key is written alone (after the batch before it), since its insert may turn into a
/// replay. Callers hear back only after the write concern is satisfied.
async fn run_inserts(
    messages: Collection<MessageDoc>,
    mut queue: mpsc::Receiver<PendingInsert>,
    mut ids: MessageIds,
    timeout: Duration,
) {
    let mut received = Vec::with_capacity(MAX_BATCH);
    let mut plain: Vec<(PendingInsert, Message)> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut received, MAX_BATCH).await > 0 {
        for pending in received.drain(..) {
            let id = ids.next_id();
            let message = Message {
                id,
                from: pending.message.from.clone(),
                to: pending.message.to.clone(),
                content: pending.message.content.clone(),
                created_at: message_time(id),
            };
            match pending.message.idempotency.clone() {
                None => plain.push((pending, message)),
                Some(idempotency) => {
                    insert_batch(&messages, &mut plain, timeout).await;
                    let outcome = insert_keyed(&messages, message, &idempotency, timeout).await;
                    let _ = pending.reply.send(outcome);
                }
            }
        }
        insert_batch(&messages, &mut plain, timeout).await;
    }
}

async fn insert_batch(messages: &Collection<MessageDoc>, batch: &mut Vec<(PendingInsert, Message)>, timeout: Duration) {
    if batch.is_empty() {
        return;
    }
    let docs = batch.iter().map(|(_, message)| MessageDoc::new(message, None));
    let outcome = bounded(timeout, messages.insert_many(docs).ordered(true).into_future()).await;
    let failure = outcome.err().map(|e| e.to_string());
    if let Some(reason) = &failure {
        tracing::warn!(error = %reason, messages = batch.len(), "MongoDB message insert failed");
    }
    for (pending, message) in batch.drain(..) {
        let answer = match &failure {
            None => Ok(Inserted::Created(message)),
            // Reported as not stored; a retry with an idempotency key is safe either way.
            Some(reason) => Err(StoreError::Unavailable(reason.clone())),
        };
        let _ = pending.reply.send(answer);
    }
}

/// Inserts a message carrying an idempotency key. A duplicate key means the sender used the key before:
/// within the window, the earlier message is the answer (same request) or a conflict (another request);
/// past it, the key is released from the earlier message and the insert tried again.
async fn insert_keyed(
    messages: &Collection<MessageDoc>,
    message: Message,
    idempotency: &Idempotency,
    timeout: Duration,
) -> Result<Inserted, StoreError> {
    let doc = MessageDoc::new(&message, Some(idempotency));
    let sender = message.from.id.to_string();
    for _ in 0..3 {
        match insert_bounded(timeout, messages.insert_one(&doc).into_future()).await? {
            Ok(_) => return Ok(Inserted::Created(message)),
            Err(e) if is_duplicate_key(&e) => {}
            Err(e) => return Err(classify(e)),
        }
        let filter = doc! {"sender_id": &sender, "idempotency_key": &idempotency.key};
        let Some(earlier) = bounded(timeout, messages.find_one(filter.clone()).into_future()).await? else {
            continue; // released meanwhile
        };
        let age = time::OffsetDateTime::now_utc() - super::from_millis(earlier.created_at.timestamp_millis());
        if age > IDEMPOTENCY_WINDOW {
            let mut release = filter;
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
    Err(StoreError::Other(anyhow!("idempotency key {:?} kept changing hands", idempotency.key)))
}

#[async_trait]
impl Store for MongoStore {
    fn backend(&self) -> Backend {
        Backend::Mongo
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed(self.db.run_command(doc! {"ping": 1}).into_future()).await.map(drop)
    }

    async fn token_secret_or_insert(&self, candidate: Vec<u8>) -> Result<Vec<u8>, StoreError> {
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
        let doc = UserDoc {
            id: user.id.to_string(),
            email: user.email.to_string(),
            password_hash: user.password_hash.clone(),
            token_version: 0,
            created_at: DateTime::from_millis(to_millis(user.created_at)),
        };
        match insert_bounded(self.timeout, self.users.insert_one(doc).into_future()).await? {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => return Err(StoreError::EmailTaken),
            Err(e) => return Err(classify(e)),
        }
        Ok(User {
            id: user.id,
            email: user.email,
            password_hash: user.password_hash,
            token_version: 0,
            created_at: user.created_at,
        })
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let found = self.timed(self.users.find_one(doc! {"email": email.as_str()}).into_future()).await?;
        found.map(user_from_doc).transpose()
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let found = self.timed(self.users.find_one(doc! {"_id": id.to_string()}).into_future()).await?;
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
        updated.map(user_from_doc).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn revoke_tokens(&self, id: Uuid) -> Result<(), StoreError> {
        let update = self.users.update_one(doc! {"_id": id.to_string()}, doc! {"$inc": {"token_version": 1_i64}});
        let result = self.timed(update.into_future()).await?;
        if result.matched_count == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn insert_message(&self, message: NewMessage) -> Result<Inserted, StoreError> {
        let (reply, answer) = oneshot::channel();
        let unavailable = || StoreError::Unavailable("the MongoDB insert task has stopped".into());
        self.inserts.send(PendingInsert { message, reply }).await.map_err(|_| unavailable())?;
        answer.await.map_err(|_| unavailable())?
    }

    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<Message>, StoreError> {
        let owner = query.owner.to_string();
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

    async fn close(&self) {
        self.client.clone().shutdown().await;
    }
}
