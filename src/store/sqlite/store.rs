//! The [`Store`] operations on SQLite.

use std::sync::atomic::Ordering;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::feed::{log_account_event, log_event, log_revocation};
use super::open::SqliteStore;
use super::read::{
    Live, ReadTransaction, message_for_on, messages_on, unread_on, unread_total_on, user_by_email_on, user_on,
};
use super::rows::{
    MESSAGE_COLUMNS, TOKEN_COLUMNS, U_WITH_SESSIONS, USER_COLUMNS, parse_uuid, token_from_row, user_from_row,
};
use super::schema::{READ_BUSY_TIMEOUT, classify, connect, is_unique_violation};
use super::transfer::{SNAPSHOT_BUFFER, apply_record, read_snapshot};
use super::writer::{Command, earlier_with_key};
use crate::domain::Email;
use crate::store::feed::{Change, FeedMode};
use crate::store::{
    AccessToken, AccountEvent, AccountStatus, ApplyMode, Backend, DeleteFor, DeleteOutcome, Found, IDEMPOTENCY_WINDOW,
    Inserted, Inventory, MarkOutcome, Marking, Message, MessageQuery, NewMessage, NewUser, Purged, Read, Record,
    RecordStream, Role, Store, StoreError, StreamTicket, UnreadFrom, User, UserQuery, deletion_events, from_millis,
    message_time, now_millis, to_millis,
};

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(classify)).await
    }

    async fn token_secret_or_insert(&self, candidate: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        // Read first: a start-up that finds the secret writes nothing (and works on a read-only file).
        let stored = self
            .read(|conn| {
                conn.query_row("SELECT value FROM settings WHERE key = 'token_secret'", [], |r| r.get(0))
                    .optional()
                    .map_err(classify)
            })
            .await?;
        if let Some(secret) = stored {
            return Ok(secret);
        }
        self.write(move |conn, _| {
            conn.execute("INSERT OR IGNORE INTO settings (key, value) VALUES ('token_secret', ?1)", [&candidate])
                .map_err(classify)?;
            conn.query_row("SELECT value FROM settings WHERE key = 'token_secret'", [], |r| r.get(0)).map_err(classify)
        })
        .await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.write(move |conn, _| {
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO users (id, email, password_hash, token_version, created_at, registration_key, role) \
                     VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
                )
                .map_err(classify)?;
            match insert.execute(params![
                user.id.to_string(),
                user.email.as_str(),
                user.password_hash,
                to_millis(user.created_at),
                user.registration_key,
                user.role.as_str(),
            ]) {
                Ok(_) => Ok(user.into_user()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::EmailTaken),
                Err(e) => Err(classify(e)),
            }
        })
        .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.read(|conn| user_by_email_on(conn, email)).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        self.read(move |conn| user_on(conn, id)).await
    }

    async fn update_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<User, StoreError> {
        let current_hash = current_hash.to_owned();
        self.write(move |conn, _| {
            let sql = format!(
                "UPDATE users SET password_hash = ?3, token_version = token_version + 1 \
                 WHERE id = ?1 AND password_hash = ?2 RETURNING {USER_COLUMNS}"
            );
            let mut update = conn.prepare_cached(&sql).map_err(classify)?;
            let user = update
                .query_row(params![id.to_string(), current_hash, new_hash], user_from_row)
                .optional()
                .map_err(classify)?
                .ok_or(StoreError::NotFound)?;
            log_revocation(conn, id)?;
            Ok(user)
        })
        .await
        .inspect(|_| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn rehash_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<(), StoreError> {
        let current_hash = current_hash.to_owned();
        self.write(move |conn, _| {
            let changed = conn
                .prepare_cached("UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2")
                .and_then(|mut update| update.execute(params![id.to_string(), current_hash, new_hash]))
                .map_err(classify)?;
            if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn revoke_tokens(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let mut update = conn
                .prepare_cached("UPDATE users SET token_version = token_version + 1 WHERE id = ?1")
                .map_err(classify)?;
            match update.execute([id.to_string()]).map_err(classify)? {
                0 => Err(StoreError::NotFound),
                _ => log_revocation(conn, id),
            }
        })
        .await
        .inspect(|()| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn revoke_session(&self, id: Uuid, session: Uuid, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let exists: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")
                .and_then(|mut q| q.query_row([id.to_string()], |r| r.get(0)))
                .map_err(classify)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            let now = to_millis(now_millis());
            conn.prepare_cached("DELETE FROM revoked_sessions WHERE expires_at < ?1")
                .and_then(|mut q| q.execute([now]))
                .map_err(classify)?;
            conn.prepare_cached(
                "INSERT OR IGNORE INTO revoked_sessions (user_id, session_id, expires_at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut q| q.execute(params![id.to_string(), session.to_string(), to_millis(expires_at)]))
            .map_err(classify)?;
            log_revocation(conn, id)
        })
        .await
        .inspect(|()| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn record_login(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            conn.prepare_cached("UPDATE users SET last_login_at = ?2 WHERE id = ?1")
                .and_then(|mut q| q.execute(params![id.to_string(), to_millis(at)]))
                .map_err(classify)
                .map(drop)
        })
        .await
    }

    async fn reissue_password(
        &self,
        id: Uuid,
        registration_key: &str,
        current_hash: &str,
        created_after: OffsetDateTime,
        new_hash: String,
    ) -> Result<User, StoreError> {
        let (key, current) = (registration_key.to_owned(), current_hash.to_owned());
        self.write(move |conn, _| {
            let sql = format!(
                "UPDATE users SET password_hash = ?3, token_version = token_version + 1 \
                 WHERE id = ?1 AND registration_key = ?2 AND created_at > ?4 AND last_login_at IS NULL \
                 AND password_hash = ?5 RETURNING {USER_COLUMNS}"
            );
            let mut update = conn.prepare_cached(&sql).map_err(classify)?;
            update
                .query_row(params![id.to_string(), key, new_hash, to_millis(created_after), current], user_from_row)
                .optional()
                .map_err(classify)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let query = query.clone();
        self.read(move |conn| {
            // In email order (the unique index), after the email of the account `after` names.
            let after = match query.after {
                None => None,
                Some(id) => Some(
                    conn.prepare_cached("SELECT email FROM users WHERE id = ?1")
                        .and_then(|mut q| q.query_row([id.to_string()], |r| r.get::<_, String>(0)).optional())
                        .map_err(classify)?
                        .ok_or(StoreError::NotFound)?,
                ),
            };
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE (?1 IS NULL OR email > ?1) AND (?2 IS NULL OR status = ?2) \
                 AND (?3 IS NULL OR substr(email, 1, length(?3)) = ?3) ORDER BY email LIMIT ?4"
            );
            let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
            let rows = statement
                .query_map(
                    params![after, query.status.map(AccountStatus::as_str), query.email_prefix, query.limit as i64],
                    user_from_row,
                )
                .map_err(classify)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(classify)
        })
        .await
    }

    async fn count_active_admins(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active'")
                .and_then(|mut q| q.query_row([], |r| r.get::<_, i64>(0)))
                .map(|n| n as u64)
                .map_err(classify)
        })
        .await
    }

    async fn set_role(&self, id: Uuid, role: Role) -> Result<User, StoreError> {
        self.write(move |conn, _| {
            let sql = format!("UPDATE users SET role = ?2 WHERE id = ?1 RETURNING {USER_COLUMNS}");
            conn.prepare_cached(&sql)
                .and_then(|mut q| q.query_row(params![id.to_string(), role.as_str()], user_from_row).optional())
                .map_err(classify)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn set_status(&self, id: Uuid, status: AccountStatus) -> Result<User, StoreError> {
        let deactivate = status == AccountStatus::Deactivated;
        let user = self
            .write(move |conn, _| {
                // Deactivation ends every session and deletes every access token: nothing of the account
                // works, on any instance, until it is activated again (and logged into anew).
                let bump = if deactivate { ", token_version = token_version + 1" } else { "" };
                let sql = format!("UPDATE users SET status = ?2{bump} WHERE id = ?1 RETURNING {USER_COLUMNS}");
                let user = conn
                    .prepare_cached(&sql)
                    .and_then(|mut q| q.query_row(params![id.to_string(), status.as_str()], user_from_row).optional())
                    .map_err(classify)?
                    .ok_or(StoreError::NotFound)?;
                if deactivate {
                    conn.prepare_cached("DELETE FROM access_tokens WHERE user_id = ?1")
                        .and_then(|mut q| q.execute([id.to_string()]))
                        .map_err(classify)?;
                    log_revocation(conn, id)?;
                }
                Ok(user)
            })
            .await?;
        if deactivate {
            self.feed.publish(Change::Revoked(id), "local");
        }
        Ok(user)
    }

    async fn reset_password(&self, id: Uuid, new_hash: String) -> Result<User, StoreError> {
        self.write(move |conn, _| {
            let sql = format!(
                "UPDATE users SET password_hash = ?2, token_version = token_version + 1 WHERE id = ?1 \
                 RETURNING {USER_COLUMNS}"
            );
            let user = conn
                .prepare_cached(&sql)
                .and_then(|mut q| q.query_row(params![id.to_string(), new_hash], user_from_row).optional())
                .map_err(classify)?
                .ok_or(StoreError::NotFound)?;
            log_revocation(conn, id)?;
            Ok(user)
        })
        .await
        .inspect(|_| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn delete_user(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let id_text = id.to_string();
            let deleted = conn
                .prepare_cached("DELETE FROM users WHERE id = ?1")
                .and_then(|mut q| q.execute([&id_text]))
                .map_err(classify)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            for sql in [
                "DELETE FROM messages WHERE sender_id = ?1",
                "DELETE FROM messages WHERE recipient_id = ?1",
                "DELETE FROM access_tokens WHERE user_id = ?1",
                "DELETE FROM revoked_sessions WHERE user_id = ?1",
            ] {
                conn.prepare_cached(sql).and_then(|mut q| q.execute([&id_text])).map_err(classify)?;
            }
            log_revocation(conn, id)
        })
        .await
        .inspect(|()| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn unlock(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn, _| log_event(conn, id, "unlocked"))
            .await
            .inspect(|()| self.feed.publish(Change::Unlocked(id), "local"))
    }

    async fn create_ticket(&self, ticket: StreamTicket) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            conn.prepare_cached("DELETE FROM stream_tickets WHERE expires_at < ?1")
                .and_then(|mut q| q.execute([to_millis(now_millis())]))
                .map_err(classify)?;
            conn.prepare_cached(
                "INSERT INTO stream_tickets (digest, user_id, credential, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut q| {
                q.execute(params![
                    ticket.digest,
                    ticket.user_id.to_string(),
                    ticket.credential,
                    to_millis(ticket.expires_at)
                ])
            })
            .map_err(classify)?;
            Ok(())
        })
        .await
    }

    async fn take_ticket(&self, digest: &str) -> Result<Option<StreamTicket>, StoreError> {
        let digest = digest.to_owned();
        self.write(move |conn, _| {
            let taken = conn
                .prepare_cached(
                    "DELETE FROM stream_tickets WHERE digest = ?1 RETURNING user_id, credential, expires_at",
                )
                .and_then(|mut q| {
                    q.query_row([&digest], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
                    })
                    .optional()
                })
                .map_err(classify)?;
            let Some((user_id, credential, expires_at)) = taken else { return Ok(None) };
            let expires_at = from_millis(expires_at);
            if expires_at <= now_millis() {
                return Ok(None);
            }
            let user_id = Uuid::parse_str(&user_id).map_err(|e| StoreError::Other(e.into()))?;
            Ok(Some(StreamTicket { digest, user_id, credential, expires_at }))
        })
        .await
    }

    async fn create_access_token(&self, token: AccessToken) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let exists: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")
                .and_then(|mut q| q.query_row([token.user_id.to_string()], |r| r.get(0)))
                .map_err(classify)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO access_tokens (id, user_id, name, digest, scopes, created_at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut q| {
                    q.execute(params![
                        token.id.to_string(),
                        token.user_id.to_string(),
                        token.name,
                        token.digest,
                        scopes.join(","),
                        to_millis(token.created_at),
                        token.expires_at.map(to_millis),
                    ])
                });
            match inserted {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::NameTaken),
                Err(e) => Err(classify(e)),
            }
        })
        .await
    }

    async fn access_tokens(&self, user: Uuid) -> Result<Vec<AccessToken>, StoreError> {
        self.read(move |conn| {
            let sql =
                format!("SELECT {TOKEN_COLUMNS} FROM access_tokens t WHERE t.user_id = ?1 ORDER BY t.created_at, t.id");
            let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
            let rows = statement.query_map([user.to_string()], |r| token_from_row(r, 0)).map_err(classify)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(classify)
        })
        .await
    }

    async fn user_by_access_token(&self, digest: &str) -> Result<Option<(User, AccessToken)>, StoreError> {
        let digest = digest.to_owned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {U_WITH_SESSIONS}, {TOKEN_COLUMNS} FROM access_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.digest = ?1"
            );
            let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
            statement
                .query_row([digest], |row| Ok((user_from_row(row)?, token_from_row(row, 10)?)))
                .optional()
                .map_err(classify)
        })
        .await
    }

    async fn revoke_access_token(&self, user: Uuid, token: Uuid) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let deleted = conn
                .prepare_cached("DELETE FROM access_tokens WHERE user_id = ?1 AND id = ?2")
                .and_then(|mut q| q.execute([user.to_string(), token.to_string()]))
                .map_err(classify)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            log_revocation(conn, user)
        })
        .await
        .inspect(|()| self.feed.publish(Change::Revoked(user), "local"))
    }

    async fn touch_access_token(&self, user: Uuid, token: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            conn.prepare_cached("UPDATE access_tokens SET last_used_at = ?3 WHERE user_id = ?1 AND id = ?2")
                .and_then(|mut q| q.execute(params![user.to_string(), token.to_string(), to_millis(at)]))
                .map_err(classify)
                .map(drop)
        })
        .await
    }

    async fn insert_message(&self, message: NewMessage) -> Result<Inserted, StoreError> {
        let inserted = self
            .write(move |conn, ids| {
                if let Some(idempotency) = &message.idempotency {
                    if let Some(earlier) = earlier_with_key(conn, message.from.id, idempotency)? {
                        return earlier;
                    }
                }
                let id = ids.next_id();
                let created_at = message_time(id);
                let expires_at = message.expires_in.map(|lifetime| created_at + lifetime);
                // A note to oneself is read from the start.
                let read = message.from.id == message.to.id;
                let mut insert = conn
                    .prepare_cached(&format!(
                        "INSERT INTO messages ({MESSAGE_COLUMNS}, created_at, idempotency_key, request_hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                    ))
                    .map_err(classify)?;
                insert
                    .execute(params![
                        id.to_string(),
                        message.from.id.to_string(),
                        message.from.email.as_str(),
                        message.to.id.to_string(),
                        message.to.email.as_str(),
                        message.content.as_str(),
                        i64::from(!read),
                        expires_at.map(to_millis),
                        to_millis(created_at),
                        message.idempotency.as_ref().map(|i| i.key.as_str()),
                        message.idempotency.as_ref().map(|i| i.fingerprint.as_str()),
                    ])
                    .map_err(classify)?;
                Ok(Inserted::Created(Message {
                    id,
                    from: message.from,
                    to: message.to,
                    content: message.content,
                    created_at,
                    read,
                    expires_at,
                }))
            })
            .await?;
        if let Inserted::Created(message) = &inserted {
            self.feed.publish(Change::Mailbox(message.to.id), "local");
        }
        Ok(inserted)
    }

    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<Message>, StoreError> {
        let live = Live::now(self.retention);
        self.read(|conn| messages_on(conn, query, live)).await
    }

    async fn message_for(&self, owner: Uuid, id: Uuid) -> Result<Option<Message>, StoreError> {
        let live = Live::now(self.retention);
        self.read(|conn| message_for_on(conn, owner, id, live)).await
    }

    async fn mark(&self, owner: Uuid, marking: Marking) -> Result<MarkOutcome, StoreError> {
        let live = Live::now(self.retention);
        self.write(move |conn, _| {
            let owner_text = owner.to_string();
            let changed = match &marking {
                Marking::ReadUpTo { id, from } => {
                    let from_sql = if from.is_some() { " AND sender_id = ?3" } else { "" };
                    let sql = format!(
                        "UPDATE messages SET unread = 0 WHERE recipient_id = ?1 AND unread = 1 AND id <= ?2{from_sql}"
                    );
                    let mut update = conn.prepare_cached(&sql).map_err(classify)?;
                    match from {
                        Some(from) => update.execute(params![owner_text, id.to_string(), from.id.to_string()]),
                        None => update.execute(params![owner_text, id.to_string()]),
                    }
                    .map_err(classify)?
                }
                Marking::Ids { ids, read } => {
                    let list = serde_json::to_string(ids).expect("ids serialize");
                    let (set, was) = (i64::from(!read), i64::from(*read));
                    conn.prepare_cached(
                        "UPDATE messages SET unread = ?3 WHERE recipient_id = ?1 AND unread = ?4 \
                         AND deleted_by_recipient = 0 AND id IN (SELECT value FROM json_each(?2))",
                    )
                    .and_then(|mut q| q.execute(params![owner_text, list, set, was]))
                    .map_err(classify)?
                }
            } as u64;
            let unread = unread_total_on(conn, owner, live)?;
            if changed > 0 {
                log_account_event(conn, owner, &marking.into_event(unread))?;
            }
            Ok(MarkOutcome { changed, unread })
        })
        .await
    }

    async fn unread(&self, owner: Uuid) -> Result<Vec<UnreadFrom>, StoreError> {
        let live = Live::now(self.retention);
        self.read(|conn| unread_on(conn, owner, live)).await
    }

    async fn delete_message(&self, owner: Uuid, id: Uuid, scope: DeleteFor) -> Result<DeleteOutcome, StoreError> {
        let live = Live::now(self.retention);
        self.write(move |conn, _| {
            let message = message_for_on(conn, owner, id, live)?.ok_or(StoreError::NotFound)?;
            let (ds, dr): (bool, bool) = conn
                .prepare_cached("SELECT deleted_by_sender, deleted_by_recipient FROM messages WHERE id = ?1")
                .and_then(|mut q| {
                    q.query_row([id.to_string()], |r| Ok((r.get::<_, i64>(0)? != 0, r.get::<_, i64>(1)? != 0)))
                })
                .map_err(classify)?;
            let everyone = scope == DeleteFor::Everyone;
            if everyone && message.from.id != owner {
                return Err(StoreError::NotFound);
            }
            let now_ds = ds || everyone || message.from.id == owner;
            let now_dr = dr || everyone || message.to.id == owner;
            // Both copies gone: the row stays, without its content, until the purge removes it — at once
            // if it has no idempotency key, after the key's window otherwise (so a retried send is
            // recognized), and never while it is the newest (see `purge`).
            conn.prepare_cached(
                "UPDATE messages SET deleted_by_sender = ?2, deleted_by_recipient = ?3, \
                 unread = CASE WHEN ?3 = 1 THEN 0 ELSE unread END, \
                 content = CASE WHEN ?2 = 1 AND ?3 = 1 THEN '' ELSE content END WHERE id = ?1",
            )
            .and_then(|mut q| q.execute(params![id.to_string(), i64::from(now_ds), i64::from(now_dr)]))
            .map_err(classify)?;
            let outcome = DeleteOutcome {
                sender: (message.from.id, now_ds && !ds),
                recipient: (message.to.id, now_dr && !dr),
                unread: if now_dr && !dr { Some(unread_total_on(conn, message.to.id, live)?) } else { None },
            };
            for account in deletion_events(&outcome) {
                let unread = if account == message.to.id { outcome.unread } else { None };
                log_account_event(conn, account, &AccountEvent::Deleted { id, unread })?;
            }
            Ok(outcome)
        })
        .await
    }

    async fn purge(&self, now: OffsetDateTime, every: std::time::Duration) -> Result<Option<Purged>, StoreError> {
        const BATCH: i64 = 2000;
        const MOST_BATCHES: usize = 50;
        let live = Live::at(now, self.retention);
        let tombstone_floor = crate::domain::first_id_at(now - IDEMPOTENCY_WINDOW).to_string();
        let mut purged = Purged::default();
        for round in 0..MOST_BATCHES {
            let floor = tombstone_floor.clone();
            let (expired, tombstones) = self
                .write(move |conn, _| {
                    if round == 0 {
                        // The lease: one instance per round, whoever commits first.
                        let last: Option<i64> = conn
                            .prepare_cached("SELECT CAST(value AS TEXT) FROM settings WHERE key = 'purge_lease'")
                            .and_then(|mut q| q.query_row([], |r| r.get::<_, String>(0)).optional())
                            .map_err(classify)?
                            .and_then(|text| text.parse().ok());
                        if last.is_some_and(|last| live.now_ms - last < every.as_millis() as i64) {
                            return Ok(None);
                        }
                        conn.prepare_cached(
                            "INSERT INTO settings (key, value) VALUES ('purge_lease', CAST(?1 AS BLOB)) \
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        )
                        .and_then(|mut q| q.execute([live.now_ms.to_string()]))
                        .map_err(classify)?;
                    }
                    // The newest message stays, whatever it is: the writers of other processes take the
                    // largest id stored as the one to pass, and a cursor may stand on it.
                    let newest: Option<String> =
                        conn.query_row("SELECT max(id) FROM messages", [], |r| r.get(0)).map_err(classify)?;
                    let Some(newest) = newest else { return Ok(Some((0, 0))) };
                    let expired = conn
                        .prepare_cached(
                            "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages INDEXED BY messages_expiry \
                             WHERE expires_at <= ?1 AND id < ?3 LIMIT ?2)",
                        )
                        .and_then(|mut q| q.execute(params![live.now_ms, BATCH, newest]))
                        .map_err(classify)?
                        + conn
                            .prepare_cached(
                                "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages \
                                 WHERE id < ?1 AND id < ?3 LIMIT ?2)",
                            )
                            .and_then(|mut q| q.execute(params![live.floor.to_string(), BATCH, newest]))
                            .map_err(classify)?;
                    let tombstones = conn
                        .prepare_cached(
                            "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages INDEXED BY messages_tombstones \
                             WHERE deleted_by_sender = 1 AND deleted_by_recipient = 1 \
                             AND (idempotency_key IS NULL OR id < ?1) AND id < ?3 LIMIT ?2)",
                        )
                        .and_then(|mut q| q.execute(params![floor, BATCH, newest]))
                        .map_err(classify)?;
                    Ok(Some((expired as u64, tombstones as u64)))
                })
                .await?
                .map_or((None, 0), |(e, t)| (Some(e), t));
            let Some(expired) = expired else { return Ok(None) };
            purged.expired += expired;
            purged.tombstones += tombstones;
            if expired < BATCH as u64 && tombstones < BATCH as u64 {
                break;
            }
        }
        Ok(Some(purged))
    }

    async fn read_together(&self, reads: &[Read<'_>]) -> Result<Vec<Found>, StoreError> {
        let live = Live::now(self.retention);
        self.read(|conn| {
            let _read = ReadTransaction::begin(conn)?;
            reads
                .iter()
                .map(|read| match read {
                    Read::UserById(id) => user_on(conn, *id).map(Found::User),
                    Read::UserByEmail(email) => user_by_email_on(conn, email).map(Found::User),
                    Read::Messages(query) => messages_on(conn, query, live).map(Found::Messages),
                })
                .collect()
        })
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
        let live = Live::now(self.retention);
        let conn = connect(&self.path, READ_BUSY_TIMEOUT)?;
        let (sender, records) = tokio::sync::mpsc::channel(SNAPSHOT_BUFFER);
        std::thread::Builder::new()
            .name("sqlite-snapshot".into())
            .spawn(move || {
                // A reader gone (the stream dropped) ends the walk at the next record.
                if let Err(e) = read_snapshot(&conn, &sender, live) {
                    let _ = sender.blocking_send(Err(e));
                }
            })
            .context("starting the SQLite snapshot thread")?;
        Ok(tokio_stream::wrappers::ReceiverStream::new(records).boxed())
    }

    async fn apply(&self, records: Vec<Record>, mode: ApplyMode) -> Result<u64, StoreError> {
        self.write(move |conn, ids| {
            let mut changed = 0;
            for record in &records {
                changed += apply_record(conn, ids, record, mode)?;
            }
            Ok(changed)
        })
        .await
    }

    async fn inventory(&self) -> Result<Inventory, StoreError> {
        self.read(|conn| {
            let count = |table: &str| -> Result<u64, StoreError> {
                conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
                    .map(|n| n as u64)
                    .map_err(classify)
            };
            let newest: Option<String> =
                conn.query_row("SELECT max(id) FROM messages", [], |r| r.get(0)).map_err(classify)?;
            Ok(Inventory {
                users: count("users")?,
                access_tokens: count("access_tokens")?,
                messages: count("messages")?,
                newest_message: newest.as_deref().map(Uuid::parse_str).transpose().map_err(|e| anyhow!(e))?,
            })
        })
        .await
    }

    async fn stored_messages(&self, ids: Vec<Uuid>) -> Result<std::collections::HashSet<Uuid>, StoreError> {
        self.read(move |conn| {
            let mut found = std::collections::HashSet::new();
            for chunk in ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(",");
                let mut query =
                    conn.prepare(&format!("SELECT id FROM messages WHERE id IN ({marks})")).map_err(classify)?;
                let texts: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
                let rows = query
                    .query_map(rusqlite::params_from_iter(texts.iter()), |r| parse_uuid(r, 0))
                    .map_err(classify)?;
                for id in rows {
                    found.insert(id.map_err(classify)?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.query_row("SELECT value FROM settings WHERE key = ?1", [&key], |r| r.get(0))
                .optional()
                .map_err(classify)
        })
        .await
    }

    async fn put_setting(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(classify)
        })
        .await
    }

    async fn close(&self) {
        // The watcher's connection goes first, so the final checkpoint has no reader in its way.
        self.watching.store(false, Ordering::Relaxed);
        let watcher = self.watcher.lock().expect("watcher handle").take();
        if let Some(watcher) = watcher {
            let _ = tokio::task::spawn_blocking(move || watcher.join()).await;
        }
        let (done, closed) = oneshot::channel();
        if self.writer.send(Command::Close(done)).is_ok() {
            let _ = closed.await;
        }
        self.idle_readers.lock().expect("reader pool lock").clear();
    }
}
