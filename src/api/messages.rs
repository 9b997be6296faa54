//! Messages: sending, listing, the stream's close event.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Message, rfc3339_millis};

/// `POST /messages`
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// The text: not blank; at most `MAX_MESSAGE_BYTES` **bytes** of UTF-8 (16,384 by default), as sent,
    /// surrounding whitespace included — a character takes 1 to 4 bytes, so `maxLength` (characters)
    /// is only an upper bound; no NUL or control characters other than tab and newlines. Stored exactly
    /// as sent.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 16384,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub content: String,
    /// The recipient's email. Absent (and no `recipient_email`): the sender's own mailbox, a note to self.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Email, max_length = 254)]
    pub to: Option<String>,
    /// The same as `to`, under the name the original service's later versions use; send one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Email, max_length = 254)]
    pub recipient_email: Option<String>,
    /// The message expires this long after it is sent (then no one is served it): a number and a unit —
    /// s, m (minutes), h, d, w or y — such as `7d`; at most `MAX_EXPIRES_IN` (365 days by default, the
    /// bound the pattern states; a server configured lower refuses more).
    /// Absent or null: it does not expire (unless the server's `RETENTION` expires it by age).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        pattern = "^([1-9][0-9]{0,3}[sm]|([1-9][0-9]{0,2}|[1-7][0-9]{3}|8[0-6][0-9]{2}|87[0-5][0-9]|8760)h|([1-9][0-9]?|[12][0-9]{2}|3[0-5][0-9]|36[0-5])d|([1-9]|[1-4][0-9]|5[0-2])w|1y)$",
        example = "7d"
    )]
    pub expires_in: Option<String>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    /// Time-ordered id (UUIDv7): a cursor for `after` and `before`.
    pub id: Uuid,
    /// The sender's email.
    #[schema(format = Email)]
    pub from: String,
    /// The recipient's email.
    #[schema(format = Email)]
    pub to: String,
    pub content: String,
    /// When it was stored, RFC 3339 in UTC with milliseconds.
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-23T22:43:05.123Z")]
    pub created_at: OffsetDateTime,
    /// Whether the caller has read it: on messages addressed to the caller only (a note to oneself is
    /// read from the start). The sender is not told whether the recipient read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<bool>,
    /// When it expires (from `expires_in` on send); absent when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-11-30T22:43:05.123Z")]
    pub expires_at: Option<OffsetDateTime>,
}

impl MessageView {
    /// The message as `viewer` is shown it: with `read` when it is addressed to `viewer`.
    pub fn seen_by(message: Message, viewer: Uuid) -> Self {
        Self {
            id: message.id,
            from: message.from.email.to_string(),
            to: message.to.email.to_string(),
            content: message.content.into_string(),
            created_at: message.created_at,
            read: (message.to.id == viewer).then_some(message.read),
            expires_at: message.expires_at,
        }
    }
}

/// `POST /messages/read`: mark inbox messages read — those up to a message (of one conversation, with
/// `with`), or those listed. Send `up_to` or `ids`, not both.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    /// Every inbox message up to this id, itself included (e.g. the newest one a device showed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<Uuid>,
    /// With `up_to`: only messages from this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Email, max_length = 254)]
    pub with: Option<String>,
    /// These messages (1 to 1000 ids); ids not in the caller's inbox are passed over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 1000)]
    pub ids: Option<Vec<Uuid>>,
}

/// `POST /messages/unread`: mark inbox messages unread again.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkUnreadRequest {
    /// 1 to 1000 ids; ids not in the caller's inbox are passed over.
    #[serde(default)]
    #[schema(required = true, min_items = 1, max_items = 1000)]
    pub ids: Vec<Uuid>,
}

/// `200` answer to `POST /messages/read` and `POST /messages/unread`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MarkedResponse {
    /// Messages whose state this changed.
    pub marked: u64,
    /// The caller's unread messages now.
    pub unread: u64,
}

/// `GET /messages/unread`: the caller's unread messages, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnreadResponse {
    pub total: u64,
    /// By sender, the most recent first.
    pub by_sender: Vec<UnreadSender>,
}

/// The caller's unread messages from one sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnreadSender {
    #[schema(format = Email)]
    pub email: String,
    pub count: u64,
    /// The newest unread message from them.
    pub newest_id: Uuid,
}

/// The `data` of `event: read` on a message stream: messages of the account's inbox were marked read
/// (or unread) — on this device or another — and the unread count after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadEvent {
    /// `true`: marked read; `false`: marked unread.
    pub read: bool,
    /// Every message up to this id was marked (only those from `with`, if given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Email)]
    pub with: Option<String>,
    /// These messages were marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<Uuid>>,
    /// The account's unread messages now.
    pub unread: u64,
}

/// The `data` of `event: deleted` on a message stream: the account's copy of a message was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeletedEvent {
    pub id: Uuid,
    /// The account's unread messages now, when the deleted copy was in its inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<u64>,
}

/// Query parameters of `DELETE /messages/{id}`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DeleteParams {
    /// `everyone`: the sender deletes both copies (within `DELETE_WINDOW` of sending, 24 h by default).
    /// Absent or `me`: only the caller's copy.
    #[serde(rename = "for")]
    #[param(rename = "for", pattern = "^(me|everyone)$")]
    pub for_: Option<String>,
}

/// Which messages `GET /messages` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailboxName {
    /// Addressed to the caller (including notes to self).
    #[default]
    Inbox,
    /// Sent by the caller.
    Sent,
}

/// Query parameters of `GET /messages`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 1000.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only messages after this id, oldest first (the next page: the last id of this one). Empty, or the
    /// nil id `00000000-0000-0000-0000-000000000000`: from the first message. Without `after` or
    /// `before`, the page is the newest messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Uuid>,
    /// Only messages before this id; without `after`, the newest ones before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Uuid>,
    /// `inbox` (default) or `sent`.
    #[serde(default, rename = "box", skip_serializing_if = "Option::is_none")]
    #[param(rename = "box", inline)]
    pub mailbox: Option<MailboxName>,
    /// Only the conversation with this account: both directions, or with `box=inbox` only from them and
    /// with `box=sent` only to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(format = Email, max_length = 254)]
    pub with: Option<String>,
    /// `true`: only messages to the caller that the caller has not read (the inbox, or with `with` the
    /// messages from them; in the sent box, only notes to oneself marked unread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<bool>,
}

/// `201` answer to `POST /messages/stream/tickets`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StreamTicketResponse {
    /// `msgt_…`: open the stream with `GET /messages/stream?ticket=…`, once, within `expires_in` seconds.
    pub ticket: String,
    /// Seconds the ticket stays usable.
    pub expires_in: u64,
}

/// Why a message stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamCloseCode {
    /// The token's lifetime is over: log in again.
    TokenExpired,
    /// The token was revoked (a password change, a logout, deactivation): log in again.
    TokenRevoked,
    /// The token no longer exists (an access token revoked or deleted with its account).
    TokenInvalid,
    /// This instance is stopping: reconnect, with `Last-Event-ID`.
    ShuttingDown,
}

impl StreamCloseCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenExpired => "token_expired",
            Self::TokenRevoked => "token_revoked",
            Self::TokenInvalid => "token_invalid",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// The `data` of the event that ends a message stream (`event: close`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StreamClose {
    pub code: StreamCloseCode,
    pub error: String,
}

impl ListParams {
    /// Walking from the very first message: `after` the nil id, which is below every message id.
    pub fn from_start() -> Self {
        Self { after: Some(Uuid::nil()), ..Self::default() }
    }
}
