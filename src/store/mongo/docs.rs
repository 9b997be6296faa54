//! Documents as stored, and to and from the domain's values.

use anyhow::anyhow;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Email, MessageContent};
use crate::store::{
    AccessToken, AccountStatus, Idempotency, Message, Party, Role, Scope, StoreError, User, UserRecord, from_millis,
    message_time, to_millis,
};

/// A user as stored: `users {_id, email, password_hash, token_version, created_at}`, plus
/// `last_login_at` once it logged in, `registration_key` when registered with an `Idempotency-Key`, and
/// `revoked_sessions` once a session was ended on its own.
#[derive(Serialize, Deserialize)]
pub(super) struct UserDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) email: String,
    pub(super) password_hash: String,
    pub(super) token_version: i64,
    pub(super) created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_login_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) registration_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) revoked_sessions: Vec<SessionDoc>,
    /// `user` or `admin`; absent on accounts from before roles: `user`.
    #[serde(default = "default_role")]
    pub(super) role: String,
    /// `active` or `deactivated`; absent: `active`.
    #[serde(default = "default_status")]
    pub(super) status: String,
    /// Personal access tokens, digests only; read only where needed (projected out elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) access_tokens: Vec<TokenDoc>,
}

pub(super) fn default_role() -> String {
    "user".to_owned()
}

pub(super) fn default_status() -> String {
    "active".to_owned()
}

/// An access token as stored inside its account: `{id, name, digest, scopes, created_at, expires_at?,
/// last_used_at?}`.
#[derive(Serialize, Deserialize)]
pub(super) struct TokenDoc {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) digest: String,
    pub(super) scopes: Vec<String>,
    pub(super) created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) expires_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_used_at: Option<DateTime>,
}

/// What session lookups read of an account: everything but its access tokens.
pub(super) fn without_tokens() -> Document {
    doc! {"access_tokens": 0}
}

pub(super) fn token_from_doc(user: Uuid, doc: &TokenDoc) -> Result<AccessToken, StoreError> {
    let at = |t: &DateTime| crate::store::from_millis(t.timestamp_millis());
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
pub(super) struct SessionDoc {
    pub(super) id: String,
    pub(super) expires_at: DateTime,
}

/// A message as stored: `messages {_id, prev, sender_id, sender_email, recipient_id, recipient_email,
/// content, created_at}`, plus `idempotency_key` and `request_hash` when it was sent with an
/// `Idempotency-Key`. Messages stored before the chain existed have no `prev`.
#[derive(Serialize, Deserialize)]
pub(super) struct MessageDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) prev: Option<String>,
    pub(super) sender_id: String,
    pub(super) sender_email: String,
    pub(super) recipient_id: String,
    pub(super) recipient_email: String,
    pub(super) content: String,
    pub(super) created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) request_hash: Option<String>,
    /// Present (`true`) only while the recipient has not read it: messages stored before read state
    /// existed have none, and count as read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) unread: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) deleted_by_sender: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) deleted_by_recipient: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) expires_at: Option<DateTime>,
}

impl MessageDoc {
    pub(super) fn new(message: &Message, prev: &str, idempotency: Option<&Idempotency>) -> Self {
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
            unread: !message.read,
            deleted_by_sender: false,
            deleted_by_recipient: false,
            expires_at: message.expires_at.map(|at| DateTime::from_millis(to_millis(at))),
        }
    }
}

/// What erasing a message leaves: its place in the chain (`_id`, `prev`) only. (A removed document would
/// let a writer that last saw the one before it link a smaller id after the chain had moved on.)
pub(super) fn erased() -> Document {
    doc! {"$unset": {
        "sender_id": "", "sender_email": "", "recipient_id": "", "recipient_email": "", "content": "",
        "created_at": "", "idempotency_key": "", "request_hash": "", "unread": "", "deleted_by_sender": "",
        "deleted_by_recipient": "", "expires_at": "",
    }}
}

pub(super) const DUPLICATE_KEY: i32 = 11000;

/// Duplicate key (E11000) on a write.
pub(super) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
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
pub(super) fn inserted_before_duplicate(e: &mongodb::error::Error) -> Option<usize> {
    let ErrorKind::InsertMany(m) = e.kind.as_ref() else { return None };
    if m.write_concern_error.is_some() {
        return None;
    }
    let first = m.write_errors.as_ref()?.iter().min_by_key(|w| w.index)?;
    (first.code == DUPLICATE_KEY).then_some(first.index)
}

/// Network trouble, no reachable primary, unsatisfied write concerns and shutdowns are "unavailable"
/// (retry later); anything else is a bug or a misconfiguration.
pub(super) fn classify(e: mongodb::error::Error) -> StoreError {
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

pub(super) fn user_from_doc(doc: UserDoc) -> Result<User, StoreError> {
    Ok(User {
        id: parse_id(&doc.id)?,
        email: Email::from_stored(doc.email),
        password_hash: doc.password_hash,
        token_version: u32::try_from(doc.token_version).map_err(|_| anyhow!("token_version out of range"))?,
        created_at: crate::store::from_millis(doc.created_at.timestamp_millis()),
        last_login_at: doc.last_login_at.map(|at| crate::store::from_millis(at.timestamp_millis())),
        registration_key: doc.registration_key,
        revoked_sessions: doc.revoked_sessions.iter().filter_map(|s| Uuid::parse_str(&s.id).ok()).collect(),
        role: Role::parse(&doc.role).unwrap_or_default(),
        status: AccountStatus::parse(&doc.status).unwrap_or_default(),
    })
}

pub(super) fn message_from_doc(doc: MessageDoc) -> Result<Message, StoreError> {
    let id = parse_id(&doc.id)?;
    Ok(Message {
        id,
        from: Party { id: parse_id(&doc.sender_id)?, email: Email::from_stored(doc.sender_email) },
        to: Party { id: parse_id(&doc.recipient_id)?, email: Email::from_stored(doc.recipient_email) },
        content: MessageContent::from_stored(doc.content),
        created_at: message_time(id),
        read: !doc.unread,
        expires_at: doc.expires_at.map(|at| from_millis(at.timestamp_millis())),
    })
}

/// `text` with the characters that mean something in a regular expression escaped.
pub(super) fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

pub(super) fn user_doc(record: &UserRecord) -> UserDoc {
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

pub(super) fn same_user(a: &UserDoc, b: &UserDoc) -> bool {
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

pub(super) fn parse_id(raw: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Other(anyhow!("stored id {raw:?} is not a UUID: {e}")))
}
