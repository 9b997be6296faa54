//! The export format: JSON lines between a header and a footer that counts the records and carries a
//! SHA-256 of them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::rfc3339_millis;
use crate::store::{self, MessageRecord, Record, UserRecord};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use time::OffsetDateTime;

/// The export format's version. Version 2 added a message's read state, expiry and deleted copies, as
/// fields written only when set: a version-1 line is a version-2 line without them (a read message that
/// does not expire, both copies kept). An importer reads both and refuses others.
pub const FORMAT_VERSION: u32 = 2;
/// The versions an importer reads.
pub const FORMAT_VERSIONS_READ: [u32; 2] = [1, 2];
/// The header's `type`.
pub const FORMAT_TYPE: &str = "msgkit-export";

/// One line of an export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// The first line.
    #[serde(rename = "msgkit-export")]
    Header {
        version: u32,
        #[serde(with = "rfc3339_millis")]
        created_at: OffsetDateTime,
        /// `sqlite` or `mongodb`.
        source: String,
        /// The msgd version that wrote it.
        msgd: String,
    },
    Setting {
        key: String,
        /// Base64.
        value: String,
    },
    User {
        id: Uuid,
        email: String,
        password_hash: String,
        token_version: u32,
        #[serde(with = "rfc3339_millis")]
        created_at: OffsetDateTime,
        #[serde(with = "rfc3339_millis::option")]
        last_login_at: Option<OffsetDateTime>,
        registration_key: Option<String>,
        role: String,
        status: String,
        ended_sessions: Vec<EndedSession>,
    },
    AccessToken {
        id: Uuid,
        user_id: Uuid,
        name: String,
        digest: String,
        scopes: Vec<String>,
        #[serde(with = "rfc3339_millis")]
        created_at: OffsetDateTime,
        #[serde(with = "rfc3339_millis::option")]
        expires_at: Option<OffsetDateTime>,
        #[serde(with = "rfc3339_millis::option")]
        last_used_at: Option<OffsetDateTime>,
    },
    Message {
        id: Uuid,
        sender_id: Uuid,
        sender_email: String,
        recipient_id: Uuid,
        recipient_email: String,
        content: String,
        #[serde(with = "rfc3339_millis")]
        created_at: OffsetDateTime,
        idempotency_key: Option<String>,
        request_hash: Option<String>,
        /// The recipient has not read it (version 2).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unread: bool,
        /// When it expires (version 2).
        #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_millis::option")]
        expires_at: Option<OffsetDateTime>,
        /// The sender deleted their copy (version 2).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        deleted_by_sender: bool,
        /// The recipient deleted their copy (version 2).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        deleted_by_recipient: bool,
    },
    /// The last line.
    End { counts: Counts, sha256: String },
}

/// A session ended on its own, and when its token expires anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndedSession {
    pub id: Uuid,
    #[serde(with = "rfc3339_millis")]
    pub expires_at: OffsetDateTime,
}

/// Records by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub settings: u64,
    pub users: u64,
    pub access_tokens: u64,
    pub messages: u64,
    /// Of the messages, those their recipient has not read (version 2; a migration's copy must have as
    /// many).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unread: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Counts {
    fn add(&mut self, record: &Record) {
        match record {
            Record::Setting { .. } => self.settings += 1,
            Record::User(_) => self.users += 1,
            Record::AccessToken(_) => self.access_tokens += 1,
            Record::Message(m) => {
                self.messages += 1;
                if !m.message.read && !m.deleted_by_recipient {
                    self.unread += 1;
                }
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.settings + self.users + self.access_tokens + self.messages
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} accounts, {} access tokens, {} messages ({} unread)",
            self.users, self.access_tokens, self.messages, self.unread
        )
    }
}

impl From<&Record> for Line {
    fn from(record: &Record) -> Self {
        match record {
            Record::Setting { key, value } => Line::Setting { key: key.clone(), value: BASE64.encode(value) },
            Record::User(UserRecord { user, sessions }) => Line::User {
                id: user.id,
                email: user.email.to_string(),
                password_hash: user.password_hash.clone(),
                token_version: user.token_version,
                created_at: user.created_at,
                last_login_at: user.last_login_at,
                registration_key: user.registration_key.clone(),
                role: user.role.as_str().to_owned(),
                status: user.status.as_str().to_owned(),
                ended_sessions: sessions.iter().map(|(id, at)| EndedSession { id: *id, expires_at: *at }).collect(),
            },
            Record::AccessToken(t) => Line::AccessToken {
                id: t.id,
                user_id: t.user_id,
                name: t.name.clone(),
                digest: t.digest.clone(),
                scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
            },
            Record::Message(MessageRecord { message: m, idempotency, deleted_by_sender, deleted_by_recipient }) => {
                Line::Message {
                    id: m.id,
                    sender_id: m.from.id,
                    sender_email: m.from.email.to_string(),
                    recipient_id: m.to.id,
                    recipient_email: m.to.email.to_string(),
                    content: m.content.as_str().to_owned(),
                    created_at: store::message_time(m.id),
                    idempotency_key: idempotency.as_ref().map(|i| i.key.clone()),
                    request_hash: idempotency.as_ref().map(|i| i.fingerprint.clone()),
                    unread: !m.read && !deleted_by_recipient,
                    expires_at: m.expires_at,
                    deleted_by_sender: *deleted_by_sender,
                    deleted_by_recipient: *deleted_by_recipient,
                }
            }
        }
    }
}

/// A record line's text (with its newline), as the export writes it and the digest covers it.
pub fn record_line(record: &Record) -> String {
    let mut line = serde_json::to_string(&Line::from(record)).expect("records serialize");
    line.push('\n');
    line
}

/// Counts and the SHA-256 of a sequence of records, as the footer states them.
#[derive(Default)]
pub struct Tally {
    counts: Counts,
    digest: Sha256,
}

impl Tally {
    pub fn add(&mut self, record: &Record, line: &str) {
        self.counts.add(record);
        self.digest.update(line.as_bytes());
    }

    pub fn finish(self) -> (Counts, String) {
        (self.counts, hex(&self.digest.finalize()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
