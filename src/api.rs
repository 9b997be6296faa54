//! The JSON bodies of the HTTP API, shared by the server, the typed client and the OpenAPI description.
//!
//! Request fields default to empty so that a missing field gets its own clear error ("An email is
//! required") instead of a generic deserialization message. Request bodies refuse fields they do not
//! have (`unknown_field`): a typo must not be silently ignored. Types that carry secrets print them
//! redacted.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Message, rfc3339_millis};

/// The `message` of a successful [`CreatedUser`], as in the original API.
pub const STORE_PASSWORD_NOTICE: &str = "Please store your password securely";

/// The `message` of a successful password change.
pub const PASSWORD_UPDATED: &str = "Password updated successfully";

/// `POST /users`
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct CreateUserRequest {
    /// The account's email; trimmed and lower-cased, unique regardless of case.
    #[serde(default)]
    #[schema(required = true, format = Email, max_length = 254)]
    pub email: String,
    /// Only for an administrator (Bearer): the new account's role (default `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
}

/// An account's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    User,
    Admin,
}

impl From<crate::domain::Role> for RoleName {
    fn from(role: crate::domain::Role) -> Self {
        match role {
            crate::domain::Role::User => RoleName::User,
            crate::domain::Role::Admin => RoleName::Admin,
        }
    }
}

impl From<RoleName> for crate::domain::Role {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::User => crate::domain::Role::User,
            RoleName::Admin => crate::domain::Role::Admin,
        }
    }
}

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusName {
    Active,
    Deactivated,
}

impl From<crate::domain::AccountStatus> for StatusName {
    fn from(status: crate::domain::AccountStatus) -> Self {
        match status {
            crate::domain::AccountStatus::Active => StatusName::Active,
            crate::domain::AccountStatus::Deactivated => StatusName::Deactivated,
        }
    }
}

/// An account as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminUser {
    pub user_id: Uuid,
    #[schema(format = Email)]
    pub email: String,
    pub role: RoleName,
    pub status: StatusName,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The last successful login; null if it never logged in.
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
}

impl From<&crate::domain::User> for AdminUser {
    fn from(user: &crate::domain::User) -> Self {
        Self {
            user_id: user.id,
            email: user.email.to_string(),
            role: user.role.into(),
            status: user.status.into(),
            created_at: user.created_at,
            last_login_at: user.last_login_at,
        }
    }
}

/// `PATCH /admin/users/{id}`
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
}

/// `200` answer to `POST /admin/users/{id}/reset-password`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct GeneratedPassword {
    pub user_id: Uuid,
    /// The account's new password, shown only this once; every session of the account is revoked.
    pub generated_password: String,
}

/// `DELETE /users/me`
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    /// The account's password, to confirm.
    #[serde(default)]
    #[schema(required = true, format = Password, min_length = 1)]
    pub password: String,
}

/// What an access token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeName {
    /// `GET /messages`, the stream, `GET /users/me`.
    Read,
    /// `POST /messages`.
    Send,
    /// The admin API, while the owner is an administrator.
    Admin,
}

impl From<ScopeName> for crate::domain::Scope {
    fn from(scope: ScopeName) -> Self {
        match scope {
            ScopeName::Read => crate::domain::Scope::Read,
            ScopeName::Send => crate::domain::Scope::Send,
            ScopeName::Admin => crate::domain::Scope::Admin,
        }
    }
}

impl From<crate::domain::Scope> for ScopeName {
    fn from(scope: crate::domain::Scope) -> Self {
        match scope {
            crate::domain::Scope::Read => ScopeName::Read,
            crate::domain::Scope::Send => ScopeName::Send,
            crate::domain::Scope::Admin => ScopeName::Admin,
        }
    }
}

/// `POST /tokens`
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "backup script", "scopes": ["read"], "expires_in": "30d", "password": "…"}))]
pub struct CreateTokenRequest {
    /// A name, unique among the account's tokens: 1 to 64 characters, no control characters. Stored
    /// exactly as given.
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 64, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub name: String,
    /// What the token may do; at least one.
    #[serde(default)]
    #[schema(required = true, min_items = 1)]
    pub scopes: Vec<ScopeName>,
    /// How long it lasts: a number and a unit, `m` (minutes), `h`, `d`, `w` or `y` (365 days), e.g. `30d`;
    /// null or absent: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^([1-9][0-9]{0,3}[mhdw]|[1-9][0-9]?y)$")]
    pub expires_in: Option<String>,
    /// The account's password: a session alone (a stolen one) cannot mint tokens.
    #[serde(default)]
    #[schema(required = true, format = Password, min_length = 1)]
    pub password: String,
}

/// An access token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<ScopeName>,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Null: until revoked.
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was last used (to the minute); null: never.
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<&crate::domain::AccessToken> for TokenView {
    fn from(token: &crate::domain::AccessToken) -> Self {
        Self {
            id: token.id,
            name: token.name.clone(),
            scopes: token.scopes.iter().copied().map(ScopeName::from).collect(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
        }
    }
}

/// `201` answer to `POST /tokens`: the token itself, shown only this once.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub view: TokenView,
    /// `msgk_…`: use it as `Authorization: Bearer <token>`. Only its SHA-256 is stored.
    pub token: String,
}

/// `201` answer to `POST /users`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    pub user_id: Uuid,
    /// The normalized email.
    pub email: String,
    /// The account's password, generated by the server and shown only this once.
    pub generated_password: String,
    #[schema(example = "Please store your password securely")]
    pub message: String,
}

/// `POST /users/login`
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[serde(default)]
    #[schema(required = true, format = Email, max_length = 254)]
    pub email: String,
    #[serde(default)]
    #[schema(required = true, format = Password, min_length = 1)]
    pub password: String,
}

/// `200` answer to `POST /users/login`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// A bearer token (JWT, HS256) for `Authorization: Bearer <token>`.
    pub token: String,
}

/// `PUT /users/change-password`
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[serde(default)]
    #[schema(required = true, format = Email, max_length = 254)]
    pub email: String,
    #[serde(default)]
    #[schema(required = true, format = Password, min_length = 1)]
    pub current_password: String,
    /// 8 characters to 72 bytes (bcrypt's limit: longer passwords are refused, never truncated), no control
    /// characters, different from the current one.
    #[serde(default)]
    #[schema(required = true, format = Password, min_length = 8, max_length = 72, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub new_password: String,
}

/// A confirmation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusMessage {
    pub message: String,
}

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
}

/// Messages as the JSON array `GET /messages` answers: the bytes serde_json writes for the same
/// `Vec<MessageView>`, written straight from the stored messages. (Through serde, escaping the strings
/// byte by byte was a sixth of a read's instructions, and each message copied its emails and content
/// once more into a view: callgrind counted 278k instructions per 20-message read before, 229k after.)
pub fn messages_json(messages: &[Message]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + messages.iter().map(json_size).sum::<usize>());
    out.push(b'[');
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_message_json(&mut out, message);
    }
    out.push(b']');
    out
}

/// One message as [`messages_json`] writes each: the JSON of its [`MessageView`].
pub fn message_json(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(json_size(message));
    write_message_json(&mut out, message);
    out
}

/// An upper bound of the JSON's size when nothing needs escaping (then the buffer grows once, if at all).
fn json_size(message: &Message) -> usize {
    const FIXED: usize = r#"{"id":"","from":"","to":"","content":"","created_at":""}"#.len() + 36 + 24;
    FIXED + message.from.email.as_str().len() + message.to.email.as_str().len() + message.content.as_str().len()
}

fn write_message_json(out: &mut Vec<u8>, message: &Message) {
    out.extend_from_slice(br#"{"id":""#);
    out.extend_from_slice(message.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
    out.extend_from_slice(br#"","from":"#);
    write_json_string(out, message.from.email.as_str());
    out.extend_from_slice(br#","to":"#);
    write_json_string(out, message.to.email.as_str());
    out.extend_from_slice(br#","content":"#);
    write_json_string(out, message.content.as_str());
    out.extend_from_slice(br#","created_at":"#);
    rfc3339_millis::with_text(message.created_at, |text| write_json_string(out, text));
    out.push(b'}');
}

fn needs_json_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// `text` as a JSON string, escaped exactly as serde_json escapes (`\"`, `\\`, the short escapes for
/// backspace, form feed, newline, carriage return and tab, `\u00xx` for the other control characters;
/// nothing else). Whole runs that need no escape are copied at once.
fn write_json_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut start = 0;
    while start < bytes.len() {
        // Clean 16-byte blocks first, each tested without a branch per byte.
        let mut block = start;
        while let Some(chunk) = bytes.get(block..block + 16) {
            if chunk.iter().fold(false, |any, &b| any | needs_json_escape(b)) {
                break;
            }
            block += 16;
        }
        let Some(offset) = bytes[block..].iter().position(|&b| needs_json_escape(b)) else {
            break;
        };
        let at = block + offset;
        out.extend_from_slice(&bytes[start..at]);
        match bytes[at] {
            b'"' => out.extend_from_slice(br#"\""#),
            b'\\' => out.extend_from_slice(br"\\"),
            0x08 => out.extend_from_slice(br"\b"),
            0x0c => out.extend_from_slice(br"\f"),
            b'\n' => out.extend_from_slice(br"\n"),
            b'\r' => out.extend_from_slice(br"\r"),
            b'\t' => out.extend_from_slice(br"\t"),
            control => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(control >> 4)],
                HEX[usize::from(control & 0xf)],
            ]),
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

impl From<Message> for MessageView {
    fn from(message: Message) -> Self {
        Self {
            id: message.id,
            from: message.from.email.to_string(),
            to: message.to.email.to_string(),
            content: message.content.into_string(),
            created_at: message.created_at,
        }
    }
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
}

/// The `data` of the event that ends a message stream (`event: close`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StreamClose {
    /// `token_expired`, `token_revoked`, `token_invalid` or `shutting_down`.
    pub code: String,
    pub error: String,
}

/// `GET /users/me`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user_id: Uuid,
    #[schema(format = Email)]
    pub email: String,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// `user` or `admin`.
    #[serde(default = "default_role")]
    pub role: RoleName,
}

fn default_role() -> RoleName {
    RoleName::User
}

/// Every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": "This email is already registered.", "code": "email_taken", "field": "email"}))]
pub struct ErrorBody {
    /// A sentence for people, naming what is wrong and the rule; it may change between versions.
    pub error: String,
    /// A stable snake_case identifier for programs: one of the listed values.
    pub code: String,
    /// The body field, query parameter or header the error is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// On `429`: seconds to wait before trying again (as the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// On 5xx answers: the request's `X-Request-Id`, to find its log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `200` answer of `/healthz` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: String,
}

impl HealthStatus {
    pub fn ok() -> Self {
        Self { status: "ok".to_owned() }
    }
}

/// `GET /`: what this server is and where its description lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceInfo {
    #[schema(example = "msgd")]
    pub name: String,
    #[schema(example = "0.1.0")]
    pub version: String,
    /// The browsable API description (Swagger UI).
    #[schema(example = "/docs/")]
    pub docs: String,
    /// The OpenAPI 3.1 description.
    #[schema(example = "/openapi.json")]
    pub openapi: String,
}

impl ListParams {
    /// Walking from the very first message: `after` the nil id, which is below every message id.
    pub fn from_start() -> Self {
        Self { after: Some(Uuid::nil()), ..Self::default() }
    }
}

/// `Debug` for a wire type, with its secret fields shown as `<redacted>`.
macro_rules! redacted_debug {
    ($ty:ident { $($field:ident),* } secret { $($secret:ident),* }) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    $(.field(stringify!($secret), &"<redacted>"))*
                    .finish()
            }
        }
    };
}

redacted_debug!(CreatedUser { user_id, email, message } secret { generated_password });
redacted_debug!(GeneratedPassword { user_id } secret { generated_password });
redacted_debug!(DeleteAccountRequest {} secret { password });
redacted_debug!(CreateTokenRequest { name, scopes, expires_in } secret { password });
redacted_debug!(CreatedToken { view } secret { token });
redacted_debug!(LoginRequest { email } secret { password });
redacted_debug!(TokenResponse {} secret { token });
redacted_debug!(ChangePasswordRequest { email } secret { current_password, new_password });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_wire_types_are_redacted_in_debug_output() {
        let created = CreatedUser {
            user_id: Uuid::nil(),
            email: "a@b.co".into(),
            generated_password: "s3cr3t-generated".into(),
            message: STORE_PASSWORD_NOTICE.into(),
        };
        let change = ChangePasswordRequest {
            email: "a@b.co".into(),
            current_password: "s3cr3t-current".into(),
            new_password: "s3cr3t-new".into(),
        };
        let token = TokenResponse { token: "s3cr3t-token".into() };
        let printed = format!("{created:?} {change:?} {token:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("a@b.co"));
    }

    #[test]
    fn message_json_is_the_bytes_serde_json_writes_for_the_view() {
        use crate::domain::Party;
        use crate::domain::{Email, MessageContent};
        let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        let contents = [
            String::new(),
            "hi".to_owned(),
            every_ascii.clone(),
            format!("{every_ascii}{every_ascii}é✓🙂\"\\\u{2028}end"),
            "a long run of plain text that needs no escape at all, longer than one block".to_owned(),
            "\"".repeat(40),
        ];
        let times = [
            OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap(),
            OffsetDateTime::UNIX_EPOCH,
            time::macros::datetime!(+10000-01-01 0:00 UTC),
        ];
        let messages: Vec<Message> = contents
            .iter()
            .zip(times.iter().cycle())
            .enumerate()
            .map(|(i, (content, created_at))| Message {
                id: Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 + i as u128),
                from: Party { id: Uuid::nil(), email: Email::from_stored(format!("from{i}\"\\@example.com")) },
                to: Party { id: Uuid::max(), email: Email::from_stored("to@exämple.com".into()) },
                content: MessageContent::from_stored(content.clone()),
                created_at: *created_at,
            })
            .collect();
        let views: Vec<MessageView> = messages.iter().cloned().map(MessageView::from).collect();
        assert_eq!(String::from_utf8(messages_json(&messages)).unwrap(), serde_json::to_string(&views).unwrap());
        assert_eq!(messages_json(&[]), b"[]");
        for (message, view) in messages.iter().zip(&views) {
            assert_eq!(message_json(message), serde_json::to_vec(view).unwrap());
        }
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap();
        assert_eq!(rfc3339_millis::format(t), "2026-11-18T11:06:40.123Z");
        let view = MessageView {
            id: Uuid::nil(),
            from: "a@b.co".into(),
            to: "a@b.co".into(),
            content: "hi".into(),
            created_at: t,
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["created_at"], "2026-11-18T11:06:40.123Z");
        let back: MessageView = serde_json::from_value(json).unwrap();
        assert_eq!(back.created_at.unix_timestamp_nanos(), 1_795_000_000_123_000_000);
    }

    #[test]
    fn the_fast_time_format_matches_the_general_one() {
        let offset = time::UtcOffset::from_hms(5, 30, 0).unwrap();
        let mut nanos: i128 = -62_167_219_200_000_000_000; // 0000-01-01T00:00:00Z
        let end: i128 = 253_402_300_799_999_999_999; // 9999-12-31T23:59:59.999999999Z
        let step = (end - nanos) / 9_973;
        while nanos <= end {
            let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap();
            assert_eq!(rfc3339_millis::format(t), rfc3339_millis::format_slowly(t), "{t}");
            let shifted = t.to_offset(offset);
            assert_eq!(rfc3339_millis::format(shifted), rfc3339_millis::format_slowly(t), "{shifted}");
            nanos += step;
        }
        let before_year_zero = OffsetDateTime::from_unix_timestamp(-62_167_219_201).unwrap();
        assert_eq!(rfc3339_millis::format(before_year_zero), "-0001-12-31T23:59:59.000Z");
    }
}
