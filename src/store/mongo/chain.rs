//! The insert task: messages written in batches as links of one `prev` chain, so ids are in commit order
//! across instances.

use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::docs::{MessageDoc, classify, inserted_before_duplicate, is_duplicate_key, message_from_doc, parse_id};
use super::parts::{Parts, bounded, by_id, insert_bounded};
use crate::store::feed::Change;
use crate::store::{IDEMPOTENCY_WINDOW, Inserted, Message, MessageIds, NewMessage, StoreError, message_time};

/// Most messages one `insert_many` takes.
pub(super) const MAX_BATCH: usize = 512;

/// The `prev` of the first message of an empty collection.
pub(super) const CHAIN_START: &str = "00000000-0000-0000-0000-000000000000";

pub(super) struct PendingInsert {
    pub(super) message: NewMessage,
    pub(super) reply: oneshot::Sender<Result<Inserted, StoreError>>,
}

/// The newest message of the chain, as far as this process knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tail {
    /// Must be read from the database (another instance may have written, or a write's fate is unknown).
    Unknown,
    /// No message is stored.
    Empty,
    At(Uuid),
}

impl Tail {
    /// The `prev` of the next message.
    pub(super) fn prev(self) -> String {
        match self {
            Tail::At(id) => id.to_string(),
            Tail::Empty | Tail::Unknown => CHAIN_START.to_owned(),
        }
    }
}

pub(super) async fn read_tail(parts: &Parts) -> Result<Tail, StoreError> {
    let raw = parts.db.collection::<Document>("messages");
    let newest = raw.find_one(doc! {}).sort(doc! {"_id": -1}).projection(doc! {"_id": 1}).hint(by_id());
    let newest = bounded(parts.timeout, newest.into_future()).await?;
    Ok(match newest {
        None => Tail::Empty,
        Some(doc) => Tail::At(parse_id(doc.get_str("_id").map_err(|e| StoreError::Other(e.into()))?)?),
    })
}

/// The insert task's view of the chain and its ids.
pub(super) struct Writer {
    pub(super) parts: Parts,
    pub(super) ids: MessageIds,
    pub(super) tail: Tail,
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
            // A note to oneself is read from the start.
            read: new.from.id == new.to.id,
            expires_at: new.expires_in.map(|lifetime| message_time(id) + lifetime),
        };
        Ok((message, prev))
    }
}

/// Writes queued messages in commit order. Plain messages go in batches, one ordered `insert_many` each,
/// each message the successor of the one before; a message with an idempotency key is written alone
/// (after the batch before it), since its insert may turn into a replay. Callers hear back only after the
/// write concern is satisfied.
pub(super) async fn run_inserts(parts: Parts, mut queue: mpsc::Receiver<PendingInsert>, ids: MessageIds, tail: Tail) {
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
pub(super) async fn insert_batch(writer: &mut Writer, batch: &mut Vec<PendingInsert>) {
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
pub(super) async fn back_off(round_trip: Duration) {
    let wait = round_trip.mul_f64(1.0 + rand::random::<f64>()).min(Duration::from_millis(100));
    tokio::time::sleep(wait).await;
}

/// Answers every caller with `error`; what was stored is now unknown, so the tail must be read again.
pub(super) fn fail_all(pending: impl IntoIterator<Item = PendingInsert>, error: &StoreError, tail: &mut Tail) {
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
pub(super) async fn insert_keyed(writer: &mut Writer, new: &NewMessage) -> Result<Inserted, StoreError> {
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
        let age = time::OffsetDateTime::now_utc() - crate::store::from_millis(earlier.created_at.timestamp_millis());
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
