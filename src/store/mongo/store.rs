//! The [`Store`] operations on MongoDB.

use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};
use mongodb::options::{Hint, ReturnDocument};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::chain::{PendingInsert, Tail};
use super::docs::{
    MessageDoc, TokenDoc, UserDoc, classify, erased, is_duplicate_key, message_from_doc, parse_id, regex_escape,
    token_from_doc, user_from_doc, without_tokens,
};
use super::open::{MongoStore, TOKEN_INDEX};
use super::parts::insert_bounded;
use super::transfer::{SNAPSHOT_BUFFER, Snapshot};
use crate::domain::Email;
use crate::store::feed::{Change, FeedMode};
use crate::store::{
    AccessToken, AccountEvent, AccountStatus, ApplyMode, Backend, DeleteFor, DeleteOutcome, Found, IDEMPOTENCY_WINDOW,
    Inserted, Inventory, Mailbox, MarkOutcome, Marking, Message, MessageQuery, NewMessage, NewUser, Party, Purged,
    Read, Record, RecordStream, Role, Store, StoreError, StreamTicket, UnreadFrom, User, UserQuery, deletion_events,
    from_millis, now_millis, to_millis,
};

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

    async fn rehash_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<(), StoreError> {
        let update = self.users.update_one(
            doc! {"_id": id.to_string(), "password_hash": current_hash},
            doc! {"$set": {"password_hash": new_hash}},
        );
        let result = self.timed(update.into_future()).await?;
        if result.matched_count == 0 { Err(StoreError::NotFound) } else { Ok(()) }
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
        // In email order (the unique index), after the email of the account `after` names.
        if let Some(after) = query.after {
            let users = self.users.clone_with_type::<Document>();
            let cursor = users.find_one(doc! {"_id": after.to_string()}).projection(doc! {"email": 1});
            let cursor = self.timed(cursor.into_future()).await?;
            let email = cursor.and_then(|d| d.get_str("email").ok().map(str::to_owned)).ok_or(StoreError::NotFound)?;
            filter.insert("email", doc! {"$gt": email});
        }
        match query.status {
            Some(AccountStatus::Active) => filter.insert("status", doc! {"$ne": "deactivated"}),
            Some(AccountStatus::Deactivated) => filter.insert("status", "deactivated"),
            None => None,
        };
        if let Some(prefix) = &query.email_prefix {
            let prefix = format!("^{}", regex_escape(prefix));
            match filter.get_document_mut("email") {
                Ok(email) => {
                    email.insert("$regex", prefix);
                }
                Err(_) => {
                    filter.insert("email", doc! {"$regex": prefix});
                }
            }
        }
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let find = self.users.find(filter).sort(doc! {"email": 1}).limit(limit).projection(without_tokens());
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
        let erase = erased();
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

    async fn create_ticket(&self, ticket: StreamTicket) -> Result<(), StoreError> {
        let tickets = self.db.collection::<Document>(super::open::TICKETS);
        let insert = tickets.insert_one(doc! {
            "_id": ticket.digest,
            "user_id": ticket.user_id.to_string(),
            "credential": ticket.credential,
            "expires_at": DateTime::from_millis(to_millis(ticket.expires_at)),
        });
        self.timed(insert.into_future()).await.map(drop)
    }

    async fn take_ticket(&self, digest: &str) -> Result<Option<StreamTicket>, StoreError> {
        let tickets = self.db.collection::<Document>(super::open::TICKETS);
        let taken = self.timed(tickets.find_one_and_delete(doc! {"_id": digest}).into_future()).await?;
        let Some(taken) = taken else { return Ok(None) };
        let bad = |what: &str| StoreError::Other(anyhow::anyhow!("a stream ticket without a valid {what}"));
        let expires_at = from_millis(taken.get_datetime("expires_at").map_err(|_| bad("expiry"))?.timestamp_millis());
        if expires_at <= now_millis() {
            return Ok(None);
        }
        let user_id =
            taken.get_str("user_id").ok().and_then(|id| Uuid::parse_str(id).ok()).ok_or_else(|| bad("user"))?;
        let credential = taken.get_str("credential").map_err(|_| bad("credential"))?.to_owned();
        Ok(Some(StreamTicket { digest: digest.to_owned(), user_id, credential, expires_at }))
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
        let not_deleted = doc! {"$ne": true};
        // Unread messages are the recipient's and not deleted by them (deleting clears `unread`).
        let inbox = |mut filter: Document| {
            if query.unread {
                filter.insert("unread", true);
            } else {
                filter.insert("deleted_by_recipient", not_deleted.clone());
            }
            filter
        };
        let mut filter = match query.mailbox {
            Mailbox::Inbox => inbox(doc! {"recipient_id": &owner}),
            // Of what the owner sent, only notes to oneself can be unread (for the owner).
            Mailbox::Sent if query.unread => doc! {"sender_id": &owner, "recipient_id": &owner, "unread": true},
            Mailbox::To(other) if query.unread && other != query.owner => return Ok(Vec::new()),
            Mailbox::To(other) | Mailbox::With(other) if query.unread => {
                doc! {"recipient_id": &owner, "sender_id": other.to_string(), "unread": true}
            }
            Mailbox::Sent => doc! {"sender_id": &owner, "deleted_by_sender": &not_deleted},
            Mailbox::From(other) => inbox(doc! {"recipient_id": &owner, "sender_id": other.to_string()}),
            Mailbox::To(other) => {
                doc! {"recipient_id": other.to_string(), "sender_id": &owner, "deleted_by_sender": &not_deleted}
            }
            Mailbox::With(other) => {
                let other = other.to_string();
                doc! {"$or": [
                    {"recipient_id": &owner, "sender_id": &other, "deleted_by_recipient": &not_deleted},
                    {"recipient_id": &other, "sender_id": &owner, "deleted_by_sender": &not_deleted},
                ]}
            }
        };
        let now = OffsetDateTime::now_utc();
        filter.insert("expires_at", not_expired(now));
        let mut range = Document::new();
        if let Some(floor) = self.floor(now) {
            range.insert("$gte", floor);
        }
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

    async fn message_for(&self, owner: Uuid, id: Uuid) -> Result<Option<Message>, StoreError> {
        let owner = owner.to_string();
        let now = OffsetDateTime::now_utc();
        if self.floor(now).is_some_and(|floor| id.to_string() < floor) {
            return Ok(None);
        }
        // By `_id` alone (SecantusDB answers an `$or` with a collection scan); whose copy it is, is checked here.
        let filter = doc! {"_id": id.to_string(), "content": {"$exists": true}, "expires_at": not_expired(now)};
        let Some(found) = self.timed(self.messages.find_one(filter).into_future()).await? else { return Ok(None) };
        let theirs = (found.recipient_id == owner && !found.deleted_by_recipient)
            || (found.sender_id == owner && !found.deleted_by_sender);
        if !theirs {
            return Ok(None);
        }
        message_from_doc(found).map(Some)
    }

    async fn mark(&self, owner: Uuid, marking: Marking) -> Result<MarkOutcome, StoreError> {
        let owner_text = owner.to_string();
        let update = if marking.read() {
            doc! {"$unset": {"unread": ""}}
        } else {
            doc! {"$set": {"unread": true}}
        };
        let filter = match &marking {
            Marking::ReadUpTo { id, from } => {
                let mut filter = doc! {"recipient_id": &owner_text, "unread": true, "_id": {"$lte": id.to_string()}};
                if let Some(from) = from {
                    filter.insert("sender_id", from.id.to_string());
                }
                filter
            }
            Marking::Ids { ids, read } => {
                let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
                let mut filter = doc! {"recipient_id": &owner_text, "_id": {"$in": ids}};
                if *read {
                    filter.insert("unread", true);
                } else {
                    filter.insert("unread", doc! {"$ne": true});
                    filter.insert("deleted_by_recipient", doc! {"$ne": true});
                    filter.insert("content", doc! {"$exists": true});
                }
                filter
            }
        };
        let changed = self.timed(self.messages.update_many(filter, update).into_future()).await?.modified_count;
        let unread = self.unread_total(owner).await?;
        if changed > 0 {
            self.log_account_event(owner, &marking.into_event(unread)).await?;
        }
        Ok(MarkOutcome { changed, unread })
    }

    async fn unread(&self, owner: Uuid) -> Result<Vec<UnreadFrom>, StoreError> {
        let pipeline = vec![
            doc! {"$match": self.unread_filter(owner)},
            doc! {"$group": {
                "_id": "$sender_id", "count": {"$sum": 1}, "newest": {"$max": "$_id"},
                "email": {"$last": "$sender_email"},
            }},
            doc! {"$sort": {"newest": -1}},
        ];
        let docs: Vec<Document> = self
            .timed(async {
                let cursor = self.messages.aggregate(pipeline).await?;
                cursor.try_collect().await
            })
            .await?;
        docs.iter()
            .map(|d| {
                let text = |key: &str| d.get_str(key).map_err(|e| StoreError::Other(e.into()));
                let count = match d.get("count") {
                    Some(Bson::Int32(n)) => *n as u64,
                    Some(Bson::Int64(n)) => *n as u64,
                    Some(Bson::Double(n)) => *n as u64,
                    _ => 0,
                };
                Ok(UnreadFrom {
                    sender: Party { id: parse_id(text("_id")?)?, email: Email::from_stored(text("email")?.to_owned()) },
                    count,
                    newest: parse_id(text("newest")?)?,
                })
            })
            .collect()
    }

    async fn delete_message(&self, owner: Uuid, id: Uuid, scope: DeleteFor) -> Result<DeleteOutcome, StoreError> {
        let message = self.message_for(owner, id).await?.ok_or(StoreError::NotFound)?;
        let everyone = scope == DeleteFor::Everyone;
        if everyone && message.from.id != owner {
            return Err(StoreError::NotFound);
        }
        let mut set = Document::new();
        if everyone || message.from.id == owner {
            set.insert("deleted_by_sender", true);
        }
        if everyone || message.to.id == owner {
            set.insert("deleted_by_recipient", true);
        }
        // The copies still there before: the update takes only those, so two deletions at once are told once.
        let mut update = doc! {"$set": set.clone()};
        if set.contains_key("deleted_by_recipient") {
            // A copy the recipient deleted is not unread.
            update.insert("$unset", doc! {"unread": ""});
        }
        let filter = doc! {"_id": id.to_string(), "content": {"$exists": true}};
        let before = self
            .timed(
                self.messages.find_one_and_update(filter, update).return_document(ReturnDocument::Before).into_future(),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let (ds, dr) = (before.deleted_by_sender, before.deleted_by_recipient);
        let (now_ds, now_dr) =
            (ds || set.contains_key("deleted_by_sender"), dr || set.contains_key("deleted_by_recipient"));
        if now_ds && now_dr {
            // Both copies gone: only what recognizes a retried send stays (until purged), or nothing.
            let update = if before.idempotency_key.is_some() {
                doc! {"$set": {"content": ""}}
            } else {
                erased()
            };
            self.timed(self.messages.update_one(doc! {"_id": id.to_string()}, update).into_future()).await?;
        }
        let outcome = DeleteOutcome {
            sender: (message.from.id, now_ds && !ds),
            recipient: (message.to.id, now_dr && !dr),
            unread: if now_dr && !dr { Some(self.unread_total(message.to.id).await?) } else { None },
        };
        for account in deletion_events(&outcome) {
            let unread = if account == message.to.id { outcome.unread } else { None };
            self.log_account_event(account, &AccountEvent::Deleted { id, unread }).await?;
        }
        Ok(outcome)
    }

    async fn purge(&self, now: OffsetDateTime, every: Duration) -> Result<Option<Purged>, StoreError> {
        // The lease: one instance per round. A lease document older than `every` is taken over; none is
        // created; a duplicate key means another instance created it first.
        let settings = self.db.collection::<Document>("settings");
        let at = DateTime::from_millis(to_millis(now));
        let stale = DateTime::from_millis(to_millis(now) - every.as_millis() as i64);
        let taken = self
            .timed(
                settings
                    .find_one_and_update(doc! {"_id": "purge_lease", "at": {"$lte": stale}}, doc! {"$set": {"at": at}})
                    .into_future(),
            )
            .await?;
        if taken.is_none() {
            match insert_bounded(self.timeout, settings.insert_one(doc! {"_id": "purge_lease", "at": at}).into_future())
                .await?
            {
                Ok(_) => {}
                Err(e) if is_duplicate_key(&e) => return Ok(None),
                Err(e) => return Err(classify(e)),
            }
        }
        // Erased, not removed: each message keeps its place in the chain (see `erased`).
        let live = doc! {"content": {"$exists": true}};
        let mut expired_filter = live.clone();
        expired_filter.insert("expires_at", doc! {"$lte": at});
        let mut expired =
            self.timed(self.messages.update_many(expired_filter, erased()).into_future()).await?.modified_count;
        if let Some(floor) = self.floor(now) {
            let mut old = live.clone();
            old.insert("_id", doc! {"$lt": floor});
            expired += self.timed(self.messages.update_many(old, erased()).into_future()).await?.modified_count;
        }
        let mut gone = live;
        gone.insert("deleted_by_sender", true);
        gone.insert("deleted_by_recipient", true);
        gone.insert("_id", doc! {"$lt": crate::domain::first_id_at(now - IDEMPOTENCY_WINDOW).to_string()});
        let tombstones = self.timed(self.messages.update_many(gone, erased()).into_future()).await?.modified_count;
        Ok(Some(Purged { expired, tombstones }))
    }

    async fn read_together(&self, reads: &[Read<'_>]) -> Result<Vec<Found>, StoreError> {
        // Every read in flight at once: the request waits for one round trip. (One `$or` find would serve
        // two account lookups, but SecantusDB answers `$or` with a collection scan.)
        futures::future::try_join_all(reads.iter().map(|read| async move {
            Ok(match read {
                Read::UserById(id) => Found::User(self.user_by_id(*id).await?),
                Read::UserByEmail(email) => Found::User(self.user_by_email(email).await?),
                Read::Messages(query) => Found::Messages(self.list_messages(query).await?),
            })
        }))
        .await
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
            floor: self.floor(OffsetDateTime::now_utc()),
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

/// A message not expired at `now` (one without `expires_at` never is).
fn not_expired(now: OffsetDateTime) -> Document {
    doc! {"$not": {"$lte": DateTime::from_millis(to_millis(now))}}
}

impl MongoStore {
    /// The smallest id the retention keeps at `now`.
    pub(super) fn floor(&self, now: OffsetDateTime) -> Option<String> {
        self.retention.map(|keep| crate::domain::first_id_at(now - keep).to_string())
    }

    fn unread_filter(&self, owner: Uuid) -> Document {
        let now = OffsetDateTime::now_utc();
        let mut filter = doc! {"recipient_id": owner.to_string(), "unread": true, "expires_at": not_expired(now)};
        if let Some(floor) = self.floor(now) {
            filter.insert("_id", doc! {"$gte": floor});
        }
        filter
    }

    /// `owner`'s unread messages now.
    pub(super) async fn unread_total(&self, owner: Uuid) -> Result<u64, StoreError> {
        self.timed(self.messages.count_documents(self.unread_filter(owner)).into_future()).await
    }
}
