//! A [`Store`] that times every operation of the store it wraps, for `/metrics`.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    AccessToken, AccountStatus, ApplyMode, Backend, Change, DeleteFor, DeleteOutcome, FeedMode, Found, Inserted,
    Inventory, MarkOutcome, Marking, Message, MessageQuery, NewMessage, NewUser, Purged, Read, Record, RecordStream,
    Role, Store, StoreError, UnreadFrom, User, UserQuery,
};
use crate::domain::Email;
use crate::store::StreamTicket;
use crate::telemetry::names;

/// Records `msgd_store_operation_duration_seconds{operation, backend, outcome}` around each call.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(StoreError::EmailTaken | StoreError::NameTaken) => "conflict",
            Err(StoreError::NotFound) => "not_found",
            Err(StoreError::IdempotencyKeyReused) => "conflict",
            Err(StoreError::Unavailable(_)) => "unavailable",
            Err(StoreError::Other(_)) => "error",
        };
        metrics::histogram!(
            names::STORE_DURATION,
            "operation" => operation,
            "backend" => self.inner.backend().name(),
            "outcome" => outcome
        )
        .record(started.elapsed().as_secs_f64());
        result
    }
}

#[async_trait]
impl Store for MeteredStore {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn ready(&self, within: std::time::Duration) -> Result<(), StoreError> {
        self.inner.ready(within).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn token_secret_or_insert(&self, candidate: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.timed("token_secret_or_insert", self.inner.token_secret_or_insert(candidate)).await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.timed("create_user", self.inner.create_user(user)).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.timed("user_by_email", self.inner.user_by_email(email)).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        self.timed("user_by_id", self.inner.user_by_id(id)).await
    }

    async fn update_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<User, StoreError> {
        self.timed("update_password", self.inner.update_password(id, current_hash, new_hash)).await
    }

    async fn rehash_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<(), StoreError> {
        self.timed("rehash_password", self.inner.rehash_password(id, current_hash, new_hash)).await
    }

    async fn revoke_tokens(&self, id: Uuid) -> Result<(), StoreError> {
        self.timed("revoke_tokens", self.inner.revoke_tokens(id)).await
    }

    async fn revoke_session(&self, id: Uuid, session: Uuid, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.timed("revoke_session", self.inner.revoke_session(id, session, expires_at)).await
    }

    async fn record_login(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        self.timed("record_login", self.inner.record_login(id, at)).await
    }

    async fn reissue_password(
        &self,
        id: Uuid,
        registration_key: &str,
        current_hash: &str,
        created_after: OffsetDateTime,
        new_hash: String,
    ) -> Result<User, StoreError> {
        self.timed(
            "reissue_password",
            self.inner.reissue_password(id, registration_key, current_hash, created_after, new_hash),
        )
        .await
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        self.timed("list_users", self.inner.list_users(query)).await
    }

    async fn count_active_admins(&self) -> Result<u64, StoreError> {
        self.timed("count_active_admins", self.inner.count_active_admins()).await
    }

    async fn set_role(&self, id: Uuid, role: Role) -> Result<User, StoreError> {
        self.timed("set_role", self.inner.set_role(id, role)).await
    }

    async fn set_status(&self, id: Uuid, status: AccountStatus) -> Result<User, StoreError> {
        self.timed("set_status", self.inner.set_status(id, status)).await
    }

    async fn reset_password(&self, id: Uuid, new_hash: String) -> Result<User, StoreError> {
        self.timed("reset_password", self.inner.reset_password(id, new_hash)).await
    }

    async fn delete_user(&self, id: Uuid) -> Result<(), StoreError> {
        self.timed("delete_user", self.inner.delete_user(id)).await
    }

    async fn unlock(&self, id: Uuid) -> Result<(), StoreError> {
        self.timed("unlock", self.inner.unlock(id)).await
    }

    async fn create_access_token(&self, token: AccessToken) -> Result<(), StoreError> {
        self.timed("create_access_token", self.inner.create_access_token(token)).await
    }

    async fn access_tokens(&self, user: Uuid) -> Result<Vec<AccessToken>, StoreError> {
        self.timed("access_tokens", self.inner.access_tokens(user)).await
    }

    async fn user_by_access_token(&self, digest: &str) -> Result<Option<(User, AccessToken)>, StoreError> {
        self.timed("user_by_access_token", self.inner.user_by_access_token(digest)).await
    }

    async fn revoke_access_token(&self, user: Uuid, token: Uuid) -> Result<(), StoreError> {
        self.timed("revoke_access_token", self.inner.revoke_access_token(user, token)).await
    }

    async fn touch_access_token(&self, user: Uuid, token: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        self.timed("touch_access_token", self.inner.touch_access_token(user, token, at)).await
    }

    async fn create_ticket(&self, ticket: StreamTicket) -> Result<(), StoreError> {
        self.timed("create_ticket", self.inner.create_ticket(ticket)).await
    }

    async fn take_ticket(&self, digest: &str) -> Result<Option<StreamTicket>, StoreError> {
        self.timed("take_ticket", self.inner.take_ticket(digest)).await
    }

    async fn insert_message(&self, message: NewMessage) -> Result<Inserted, StoreError> {
        self.timed("insert_message", self.inner.insert_message(message)).await
    }

    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<Message>, StoreError> {
        self.timed("list_messages", self.inner.list_messages(query)).await
    }

    async fn message_for(&self, owner: Uuid, id: Uuid) -> Result<Option<Message>, StoreError> {
        self.timed("message_for", self.inner.message_for(owner, id)).await
    }

    async fn mark(&self, owner: Uuid, marking: Marking) -> Result<MarkOutcome, StoreError> {
        self.timed("mark", self.inner.mark(owner, marking)).await
    }

    async fn unread(&self, owner: Uuid) -> Result<Vec<UnreadFrom>, StoreError> {
        self.timed("unread", self.inner.unread(owner)).await
    }

    async fn delete_message(&self, owner: Uuid, id: Uuid, scope: DeleteFor) -> Result<DeleteOutcome, StoreError> {
        self.timed("delete_message", self.inner.delete_message(owner, id, scope)).await
    }

    async fn purge(&self, now: OffsetDateTime, every: std::time::Duration) -> Result<Option<Purged>, StoreError> {
        self.timed("purge", self.inner.purge(now, every)).await
    }

    async fn read_together(&self, reads: &[Read<'_>]) -> Result<Vec<Found>, StoreError> {
        self.timed("read_together", self.inner.read_together(reads)).await
    }

    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.inner.changes()
    }

    fn feed_mode(&self) -> FeedMode {
        self.inner.feed_mode()
    }

    async fn snapshot(&self) -> Result<RecordStream, StoreError> {
        self.timed("snapshot", self.inner.snapshot()).await
    }

    async fn apply(&self, records: Vec<Record>, mode: ApplyMode) -> Result<u64, StoreError> {
        self.timed("apply", self.inner.apply(records, mode)).await
    }

    async fn inventory(&self) -> Result<Inventory, StoreError> {
        self.timed("inventory", self.inner.inventory()).await
    }

    async fn stored_messages(&self, ids: Vec<Uuid>) -> Result<std::collections::HashSet<Uuid>, StoreError> {
        self.timed("stored_messages", self.inner.stored_messages(ids)).await
    }

    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed("setting", self.inner.setting(key)).await
    }

    async fn put_setting(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.timed("put_setting", self.inner.put_setting(key, value)).await
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}
