//! Persistence: the [`Store`] trait, the records it speaks, and the choice of backend from the database URL.

pub mod feed;
mod location;
pub mod metered;
pub mod mongo;
pub mod sqlite;

use async_trait::async_trait;
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

pub use crate::domain::{
    AccessToken, AccountStatus, Email, Message, MessageContent, MessageIds, Party, Role, Scope, User, from_millis,
    message_time, now_millis, to_millis,
};
pub use feed::{AccountEvent, Change, FeedMode};
pub use location::{Location, SQLITE_FILE, open};

/// A stream ticket as stored: a browser's way to open its stream (`EventSource` cannot send a Bearer).
/// Only the SHA-256 of the ticket is kept; it is taken (deleted) when used, so it opens one stream once, on
/// any instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTicket {
    pub digest: String,
    pub user_id: Uuid,
    /// The credential the ticket was made with, as [`crate::app`] writes it: the stream it opens lives as
    /// long as that credential does.
    pub credential: String,
    pub expires_at: OffsetDateTime,
}

/// Which accounts an administrator lists: in email order, after a cursor.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub after: Option<Uuid>,
    pub limit: usize,
    pub status: Option<AccountStatus>,
    /// Only emails starting with this (normalized: lower case).
    pub email_prefix: Option<String>,
}

/// An account to create.
pub struct NewUser {
    pub id: Uuid,
    pub email: Email,
    pub password_hash: String,
    pub created_at: OffsetDateTime,
    /// SHA-256 (hex) of the registration's `Idempotency-Key`, so a retry can be recognized.
    pub registration_key: Option<String>,
    pub role: Role,
}

impl NewUser {
    /// The account as stored, before any login.
    pub fn into_user(self) -> User {
        User {
            id: self.id,
            email: self.email,
            password_hash: self.password_hash,
            token_version: 0,
            created_at: self.created_at,
            last_login_at: None,
            registration_key: self.registration_key,
            revoked_sessions: Vec::new(),
            role: self.role,
            status: AccountStatus::Active,
        }
    }
}

/// One read of [`Store::read_together`].
#[derive(Debug, Clone, Copy)]
pub enum Read<'a> {
    UserById(Uuid),
    UserByEmail(&'a Email),
    Messages(&'a MessageQuery),
}

/// What a [`Read`] found.
#[derive(Debug)]
pub enum Found {
    User(Option<User>),
    Messages(Vec<Message>),
}

impl Found {
    /// The account a `UserById` or `UserByEmail` read found.
    pub fn into_user(self) -> Option<User> {
        match self {
            Found::User(user) => user,
            Found::Messages(_) => panic!("a message read answered where an account read was asked"),
        }
    }

    /// The messages a `Messages` read found.
    pub fn into_messages(self) -> Vec<Message> {
        match self {
            Found::Messages(messages) => messages,
            Found::User(_) => panic!("an account read answered where a message read was asked"),
        }
    }
}

/// Two reads made together ([`Store::read_together`]), their answers in the order asked.
pub async fn read_two(store: &dyn Store, reads: [Read<'_>; 2]) -> Result<[Found; 2], StoreError> {
    let found = store.read_together(&reads).await?;
    Ok(found.try_into().expect("one answer per read"))
}

/// A message to store; the store assigns its id and time.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub from: Party,
    pub to: Party,
    pub content: MessageContent,
    /// Makes retries safe: a second message with the same key from the same sender within
    /// [`IDEMPOTENCY_WINDOW`] is not stored; the first is returned instead.
    pub idempotency: Option<Idempotency>,
    /// How long after it is stored (its id's time) it expires, if it does.
    pub expires_in: Option<std::time::Duration>,
}

/// A client's idempotency key and a fingerprint of what it was used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The `Idempotency-Key`, unique per sender.
    pub key: String,
    /// A digest of the request (recipient and content): the same key with another request is refused.
    pub fingerprint: String,
}

/// How long an idempotency key protects against duplicates.
pub const IDEMPOTENCY_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The outcome of storing a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now.
    Created(Message),
    /// A retry: the message stored earlier with the same idempotency key; nothing new was stored.
    Replayed(Message),
}

impl Inserted {
    pub fn message(&self) -> &Message {
        match self {
            Inserted::Created(m) | Inserted::Replayed(m) => m,
        }
    }

    pub fn into_message(self) -> Message {
        match self {
            Inserted::Created(m) | Inserted::Replayed(m) => m,
        }
    }
}

/// Which of a user's messages to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailbox {
    /// Addressed to the user (including notes to self).
    Inbox,
    /// Sent by the user.
    Sent,
    /// Between the user and one other account, both directions.
    With(Uuid),
    /// From one other account to the user.
    From(Uuid),
    /// From the user to one other account.
    To(Uuid),
}

/// A page of a user's messages, oldest first.
#[derive(Debug, Clone)]
pub struct MessageQuery {
    pub owner: Uuid,
    pub mailbox: Mailbox,
    /// Only messages with a greater id.
    pub after: Option<Uuid>,
    /// Only messages with a smaller id; without `after`, the page is the newest ones before it.
    pub before: Option<Uuid>,
    pub limit: usize,
    /// Only messages to `owner` that `owner` has not read.
    pub unread: bool,
}

impl MessageQuery {
    /// The newest message in `owner`'s inbox (a page of one).
    pub fn newest_in_inbox(owner: Uuid) -> Self {
        Self { owner, mailbox: Mailbox::Inbox, after: None, before: Some(Uuid::max()), limit: 1, unread: false }
    }
}

/// Messages of a recipient's inbox to mark read or unread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marking {
    /// Mark read every message up to this id (included), only from `from` if given.
    ReadUpTo { id: Uuid, from: Option<Party> },
    /// Mark these messages read (`read`) or unread (ids not in the inbox are ignored).
    Ids { ids: Vec<Uuid>, read: bool },
}

impl Marking {
    /// Whether it marks read (or unread).
    pub fn read(&self) -> bool {
        match self {
            Marking::ReadUpTo { .. } => true,
            Marking::Ids { read, .. } => *read,
        }
    }

    /// What every device of the account is told it did, with the unread count after.
    pub fn into_event(self, unread: u64) -> AccountEvent {
        match self {
            Marking::ReadUpTo { id, from } => AccountEvent::Marked {
                read: true,
                up_to: Some(id),
                with: from.map(|f| f.email.to_string()),
                ids: Vec::new(),
                unread,
            },
            Marking::Ids { ids, read } => AccountEvent::Marked { read, up_to: None, with: None, ids, unread },
        }
    }
}

/// What a [`Marking`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkOutcome {
    /// Messages whose state changed.
    pub changed: u64,
    /// The recipient's unread messages now.
    pub unread: u64,
}

/// A recipient's unread messages from one sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadFrom {
    pub sender: Party,
    pub count: u64,
    /// The newest unread message from the sender.
    pub newest: Uuid,
}

/// Whose copies of a message a deletion removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteFor {
    /// The caller's: out of their inbox, or out of their sent box (a note to oneself: both).
    Me,
    /// The sender's and the recipient's (only the sender may).
    Everyone,
}

/// What a deletion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// The sender and the recipient, with whether each lost their copy now.
    pub sender: (Uuid, bool),
    pub recipient: (Uuid, bool),
    /// The recipient's unread messages now (when the recipient's copy went).
    pub unread: Option<u64>,
}

/// The accounts a deletion is told to: each whose copy went now, once (a note to oneself has one).
pub fn deletion_events(outcome: &DeleteOutcome) -> Vec<Uuid> {
    let mut accounts = Vec::with_capacity(2);
    for (account, lost) in [outcome.sender, outcome.recipient] {
        if lost && !accounts.contains(&account) {
            accounts.push(account);
        }
    }
    accounts
}

/// What one round of [`Store::purge`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Messages past their `expires_at` or older than the retention.
    pub expired: u64,
    /// Messages deleted by both parties, kept while their idempotency key could be retried.
    pub tombstones: u64,
}

/// One record of everything a store holds, as export, import and migrate move it (see
/// [`crate::transfer`]). A snapshot yields them in this order: settings (by key), users (by id), access
/// tokens (by account id, then id), messages (by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A setting that must move with the data (the generated token-signing secret).
    Setting {
        key: String,
        value: Vec<u8>,
    },
    User(UserRecord),
    AccessToken(AccessToken),
    Message(MessageRecord),
}

/// An account with everything that makes its credentials work: hash, token version, ended sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// `revoked_sessions` is ignored here: `sessions` has them with their expiry.
    pub user: User,
    /// Sessions ended one by one, and when their tokens expire anyway.
    pub sessions: Vec<(Uuid, OffsetDateTime)>,
}

impl PartialEq for User {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.email == other.email
            && self.password_hash == other.password_hash
            && self.token_version == other.token_version
            && self.created_at == other.created_at
            && self.last_login_at == other.last_login_at
            && self.registration_key == other.registration_key
            && self.role == other.role
            && self.status == other.status
    }
}

impl Eq for User {}

/// A message with what makes its retries replay (the idempotency key and fingerprint) and whose copies
/// are deleted. (Its read state and expiry are in the message.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub message: Message,
    pub idempotency: Option<Idempotency>,
    pub deleted_by_sender: bool,
    pub deleted_by_recipient: bool,
}

/// The settings a snapshot carries: the generated signing secret (tokens issued before a move keep
/// working after it).
pub const MOVED_SETTINGS: &[&str] = &["token_secret"];

/// How [`Store::apply`] treats a record whose id is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Leave the stored one (import `--merge`).
    Skip,
    /// Replace the stored account or token with the record (migrate, which makes the target equal the
    /// source). Messages are never replaced: they do not change.
    Replace,
}

/// What a store holds, in counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub users: u64,
    pub access_tokens: u64,
    pub messages: u64,
    /// The newest message's id (the largest).
    pub newest_message: Option<Uuid>,
}

impl Inventory {
    /// Holds no account, token or message (settings alone do not count).
    pub fn is_empty(&self) -> bool {
        self.users == 0 && self.access_tokens == 0 && self.messages == 0
    }
}

/// A snapshot's records, streamed.
pub type RecordStream = futures::stream::BoxStream<'static, Result<Record, StoreError>>;

/// What can go wrong below the store trait, in the terms callers act on.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("email already registered")]
    EmailTaken,
    /// Another of the account's access tokens has this name.
    #[error("name already used")]
    NameTaken,
    #[error("not found")]
    NotFound,
    /// The idempotency key was used within the window for a different request.
    #[error("idempotency key reused for a different request")]
    IdempotencyKeyReused,
    /// The database cannot be reached or cannot take writes right now; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Which backend a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mongo,
}

impl Backend {
    /// A short name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mongo => "mongodb",
        }
    }
}

/// msgd's persistence. Every method returns only after the data is durable (writes) or read (reads).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Waits, at most `within`, until the store has reached its database and prepared it; then says
    /// whether it has. (A store can open before its database is up, and serve 503 until then.)
    async fn ready(&self, within: std::time::Duration) -> Result<(), StoreError> {
        let _ = within;
        Ok(())
    }

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Stores `candidate` as the token-signing secret unless one is stored already, and returns the stored
    /// one; atomic, so instances starting together agree.
    async fn token_secret_or_insert(&self, candidate: Vec<u8>) -> Result<Vec<u8>, StoreError>;

    /// Creates an account. [`StoreError::EmailTaken`] when the email exists (enforced by a unique index).
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError>;

    /// Looks an account up by email.
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// Looks an account up by id.
    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError>;

    /// Replaces the password hash if it is still `current_hash`, and bumps the token version (revoking
    /// every token issued before). Returns the updated account; [`StoreError::NotFound`] when the account
    /// is gone or its password changed meanwhile.
    async fn update_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<User, StoreError>;

    /// Replaces the password hash with another of the same password (a new cost) if it is still
    /// `current_hash`; tokens stay valid. [`StoreError::NotFound`] when the account is gone or its password
    /// changed meanwhile.
    async fn rehash_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<(), StoreError>;

    /// Bumps the token version: every token issued so far is revoked. [`StoreError::NotFound`] when the
    /// account is gone.
    async fn revoke_tokens(&self, id: Uuid) -> Result<(), StoreError>;

    /// Ends one session: its tokens (claim `sid`) are refused from now on; `expires_at` is when they
    /// would have expired anyway, after which the record may be dropped. [`StoreError::NotFound`] when the
    /// account is gone.
    async fn revoke_session(&self, id: Uuid, session: Uuid, expires_at: OffsetDateTime) -> Result<(), StoreError>;

    /// Records a successful login.
    async fn record_login(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError>;

    /// For a retried registration: replaces the password hash and bumps the token version, if the account
    /// was registered with `registration_key`, after `created_after`, has never logged in and its hash is
    /// still `current_hash` (no concurrent retry replaced it). Returns the updated account;
    /// [`StoreError::NotFound`] otherwise.
    async fn reissue_password(
        &self,
        id: Uuid,
        registration_key: &str,
        current_hash: &str,
        created_after: OffsetDateTime,
        new_hash: String,
    ) -> Result<User, StoreError>;

    /// Accounts in email order after the account `query.after` names (`NotFound` if it is gone), for administrators.
    async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError>;

    /// How many accounts are active administrators.
    async fn count_active_admins(&self) -> Result<u64, StoreError>;

    /// Changes an account's role. [`StoreError::NotFound`] when the account is gone.
    async fn set_role(&self, id: Uuid, role: Role) -> Result<User, StoreError>;

    /// Deactivates an account — revoking every session (the token version is bumped) and deleting every
    /// access token — or activates it again. [`StoreError::NotFound`] when the account is gone.
    async fn set_status(&self, id: Uuid, status: AccountStatus) -> Result<User, StoreError>;

    /// Replaces the password hash and revokes every session (an administrator's reset).
    async fn reset_password(&self, id: Uuid, new_hash: String) -> Result<User, StoreError>;

    /// Erases the account, its access tokens and every message it sent or received.
    async fn delete_user(&self, id: Uuid) -> Result<(), StoreError>;

    /// Announces, to every instance, that the account's failed-login counters are to be cleared.
    async fn unlock(&self, id: Uuid) -> Result<(), StoreError>;

    /// Stores an access token. [`StoreError::NameTaken`] when the account has one of that name,
    /// [`StoreError::NotFound`] when the account is gone.
    async fn create_access_token(&self, token: AccessToken) -> Result<(), StoreError>;

    /// The account's access tokens, oldest first.
    async fn access_tokens(&self, user: Uuid) -> Result<Vec<AccessToken>, StoreError>;

    /// The account and the token with this digest, in one lookup.
    async fn user_by_access_token(&self, digest: &str) -> Result<Option<(User, AccessToken)>, StoreError>;

    /// Deletes one of the account's access tokens. [`StoreError::NotFound`] when there is none.
    async fn revoke_access_token(&self, user: Uuid, token: Uuid) -> Result<(), StoreError>;

    /// Stores a stream ticket (and forgets expired ones).
    async fn create_ticket(&self, ticket: StreamTicket) -> Result<(), StoreError>;

    /// Takes the ticket with this digest: returns it and deletes it, atomically, so it is used once across
    /// every instance; `None` if there is none or it has expired.
    async fn take_ticket(&self, digest: &str) -> Result<Option<StreamTicket>, StoreError>;

    /// Records that an access token was used (callers do it at most every so often).
    async fn touch_access_token(&self, user: Uuid, token: Uuid, at: OffsetDateTime) -> Result<(), StoreError>;

    /// Stores a message, assigning its id and time; with an idempotency key already used by the sender
    /// within [`IDEMPOTENCY_WINDOW`], returns the earlier message (same request) or
    /// [`StoreError::IdempotencyKeyReused`] (another request) and stores nothing.
    async fn insert_message(&self, message: NewMessage) -> Result<Inserted, StoreError>;

    /// Lists messages, oldest first: only those the owner has not deleted and that have not expired.
    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<Message>, StoreError>;

    /// The message with this id, if `owner` sent or received it and still has a copy (not deleted, not
    /// expired).
    async fn message_for(&self, owner: Uuid, id: Uuid) -> Result<Option<Message>, StoreError>;

    /// Marks messages of `owner`'s inbox read or unread, and tells every stream of the account (an
    /// [`AccountEvent::Marked`] through the change feed) when any changed.
    async fn mark(&self, owner: Uuid, marking: Marking) -> Result<MarkOutcome, StoreError>;

    /// `owner`'s unread messages by sender, the most recent first: read from an index of unread messages,
    /// so it costs what is unread, not what is stored.
    async fn unread(&self, owner: Uuid) -> Result<Vec<UnreadFrom>, StoreError>;

    /// Deletes `owner`'s copy of a message, or (`Everyone`, by its sender) both copies, and tells every
    /// stream of the accounts concerned ([`AccountEvent::Deleted`]). [`StoreError::NotFound`] when `owner`
    /// has no copy. A message both parties deleted keeps its id and idempotency key (not its content)
    /// until [`Store::purge`], so a retried send does not store it again.
    async fn delete_message(&self, owner: Uuid, id: Uuid, scope: DeleteFor) -> Result<DeleteOutcome, StoreError>;

    /// Removes, in bounded batches, messages expired at `now` (past their `expires_at`, or older than the
    /// store's retention) and messages both parties deleted whose idempotency window has passed. One
    /// instance does each round: `None` when another began one less than `every` ago.
    async fn purge(&self, now: OffsetDateTime, every: std::time::Duration) -> Result<Option<Purged>, StoreError>;

    /// Several reads made together — the account checking a request's credential with what the request
    /// reads — answered in the order asked: from one snapshot where the backend has one (SQLite: one read
    /// transaction), with every lookup in flight at once otherwise (MongoDB), so a request waits for one
    /// round trip, not one per read.
    async fn read_together(&self, reads: &[Read<'_>]) -> Result<Vec<Found>, StoreError>;

    /// Subscribes to the change feed: every message stored and every revocation, by this process or any
    /// other on the same database, from now on. A change is a hint to look again; see [`feed`].
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change>;

    /// Where other processes' changes come from.
    fn feed_mode(&self) -> FeedMode;

    /// Everything the store holds, as one consistent snapshot where the backend can give one, in
    /// [`Record`]'s order, streamed (constant memory). Messages of deleted accounts are not in it.
    async fn snapshot(&self) -> Result<RecordStream, StoreError>;

    /// Writes `records` (of any kinds, in snapshot order) in one batch; a record whose id is stored is
    /// skipped or replaced per `mode`. Messages must come in id order and, unless stored already, after
    /// every stored message. Returns how many records changed the store. Change feeds are not told:
    /// nothing is serving the data being written.
    async fn apply(&self, records: Vec<Record>, mode: ApplyMode) -> Result<u64, StoreError>;

    /// Counts of what the store holds.
    async fn inventory(&self) -> Result<Inventory, StoreError>;

    /// Which of `ids` are stored messages.
    async fn stored_messages(&self, ids: Vec<Uuid>) -> Result<std::collections::HashSet<Uuid>, StoreError>;

    /// A setting's value.
    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Sets a setting, replacing any value.
    async fn put_setting(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError>;

    /// Flushes and closes; called once at shutdown.
    async fn close(&self);
}

/// Options every backend understands.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Connections: SQLite readers, or the MongoDB driver's pool size.
    pub pool_size: u32,
    /// How long to wait for the database: SQLite's busy timeout, MongoDB's connect and server-selection
    /// timeouts.
    pub timeout: std::time::Duration,
    /// Added to the clock when assigning message ids: lets tests run instances whose clocks disagree.
    pub clock_offset_ms: i64,
    /// Messages older than this are expired: never served, and purged.
    pub retention: Option<std::time::Duration>,
}

impl OpenOptions {
    /// A pool of `pool_size` and a timeout, with the real clock.
    pub fn new(pool_size: u32, timeout: std::time::Duration) -> Self {
        Self { pool_size, timeout, clock_offset_ms: 0, retention: None }
    }
}
