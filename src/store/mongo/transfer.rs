//! A consistent snapshot of the database, and records applied (export, import, migrate).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::anyhow;
use futures::TryStreamExt;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};
use mongodb::{Collection, Database};
use tokio::sync::mpsc;

use super::chain::Tail;
use super::docs::{
    MessageDoc, TokenDoc, UserDoc, classify, is_duplicate_key, message_from_doc, parse_id, same_user, token_from_doc,
    user_doc, user_from_doc, without_tokens,
};
use super::open::MongoStore;
use super::parts::{bounded, by_id, insert_bounded};
use crate::store::{
    AccessToken, ApplyMode, Idempotency, MOVED_SETTINGS, MessageRecord, Record, Store, StoreError, UserRecord,
    message_time, to_millis,
};

/// Records buffered between the snapshot task and its reader.
pub(super) const SNAPSHOT_BUFFER: usize = 1024;

/// A walk of the whole database for [`Store::snapshot`]. Messages are exact up to the newest one stored
/// when it starts (ids are in commit order, so none can commit before it later); accounts and tokens are
/// read as they are when the walk reaches them, after the messages' bound is fixed.
pub(super) struct Snapshot {
    pub(super) db: Database,
    pub(super) users: Collection<UserDoc>,
    pub(super) messages: Collection<MessageDoc>,
    pub(super) timeout: Duration,
    pub(super) sender: mpsc::Sender<Result<Record, StoreError>>,
    /// The smallest id retention keeps.
    pub(super) floor: Option<String>,
}

impl Snapshot {
    pub(super) async fn send(&self, record: Record) -> bool {
        self.sender.send(Ok(record)).await.is_ok()
    }

    pub(super) async fn run(self) -> Result<(), StoreError> {
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
                .map(|s| Ok((parse_id(&s.id)?, crate::store::from_millis(s.expires_at.timestamp_millis()))))
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
        // Erased messages (of deleted accounts, expired) keep only their place in the chain: not records;
        // nor are messages both parties deleted, or expired ones not yet erased.
        let now = DateTime::now();
        let mut range = doc! {"$lte": bound};
        if let Some(floor) = &self.floor {
            range.insert("$gte", floor);
        }
        let filter = doc! {
            "_id": range, "content": {"$exists": true}, "expires_at": {"$not": {"$lte": now}},
            "$nor": [{"deleted_by_sender": true, "deleted_by_recipient": true}],
        };
        let mut cursor = bounded(self.timeout, self.messages.find(filter).sort(doc! {"_id": 1}).into_future()).await?;
        while let Some(doc) = bounded(self.timeout, cursor.try_next()).await? {
            let idempotency = match (&doc.idempotency_key, &doc.request_hash) {
                (Some(key), hash) => {
                    Some(Idempotency { key: key.clone(), fingerprint: hash.clone().unwrap_or_default() })
                }
                (None, _) => None,
            };
            let (deleted_by_sender, deleted_by_recipient) = (doc.deleted_by_sender, doc.deleted_by_recipient);
            let message = message_from_doc(doc)?;
            let record = MessageRecord { message, idempotency, deleted_by_sender, deleted_by_recipient };
            if !self.send(Record::Message(record)).await {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl MongoStore {
    /// The newest message of the chain, read now.
    pub(super) async fn tail(&self) -> Result<Tail, StoreError> {
        let raw = self.db.collection::<Document>("messages");
        let newest = raw.find_one(doc! {}).sort(doc! {"_id": -1}).projection(doc! {"_id": 1}).hint(by_id());
        Ok(match self.timed(newest.into_future()).await? {
            None => Tail::Empty,
            Some(doc) => Tail::At(parse_id(doc.get_str("_id").map_err(|e| StoreError::Other(e.into()))?)?),
        })
    }

    pub(super) async fn apply_setting(&self, key: String, value: Vec<u8>, mode: ApplyMode) -> Result<u64, StoreError> {
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
    pub(super) async fn apply_users(&self, records: Vec<UserRecord>, mode: ApplyMode) -> Result<u64, StoreError> {
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
    pub(super) async fn apply_token(&self, token: AccessToken, mode: ApplyMode) -> Result<u64, StoreError> {
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
    pub(super) async fn apply_messages(&self, records: Vec<MessageRecord>) -> Result<u64, StoreError> {
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
            // A copy the recipient deleted is not unread.
            message.read |= record.deleted_by_recipient;
            let mut doc = MessageDoc::new(&message, &tail.prev(), record.idempotency.as_ref());
            (doc.deleted_by_sender, doc.deleted_by_recipient) = (record.deleted_by_sender, record.deleted_by_recipient);
            docs.push(doc);
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
