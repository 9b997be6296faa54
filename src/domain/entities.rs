//! The entities: accounts, their roles, status and access tokens, and messages.

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

use super::values::{Email, MessageContent};

/// A registered account.
#[derive(Clone)]
pub struct User {
    pub id: Uuid,
    pub email: Email,
    pub password_hash: String,
    /// Bumped to revoke every token issued before.
    pub token_version: u32,
    pub created_at: OffsetDateTime,
    /// The last successful login; `None` if the account never logged in.
    pub last_login_at: Option<OffsetDateTime>,
    /// SHA-256 (hex) of the `Idempotency-Key` the account was registered with, if any.
    pub registration_key: Option<String>,
    /// Sessions ended one by one (a logout of one device) whose tokens have not expired yet.
    pub revoked_sessions: Vec<Uuid>,
    pub role: Role,
    pub status: AccountStatus,
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    User,
    /// May use the admin API and `POST /users` when registration is closed.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountStatus {
    #[default]
    Active,
    /// Refused everywhere until an administrator activates it again.
    Deactivated,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Deactivated => "deactivated",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(AccountStatus::Active),
            "deactivated" => Some(AccountStatus::Deactivated),
            _ => None,
        }
    }
}

/// What an access token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `GET /messages`, the stream, `GET /users/me`.
    Read,
    /// `POST /messages`.
    Send,
    /// The admin API, while the owner is an administrator.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Send, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Send => "send",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A personal access token, as stored: never the secret, only its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Unique per account.
    pub name: String,
    /// SHA-256 of the token, hex.
    pub digest: String,
    pub scopes: Vec<Scope>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("token_version", &self.token_version)
            .finish_non_exhaustive()
    }
}

/// One end of a message: an account id and its email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub id: Uuid,
    pub email: Email,
}

impl From<&User> for Party {
    fn from(user: &User) -> Self {
        Self { id: user.id, email: user.email.clone() }
    }
}

/// A stored message. Its id is a UUIDv7 assigned by the store in commit order — across every process
/// writing to the database, whatever their clocks say — so a cursor never passes a message that commits
/// later (see [`MessageIds`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: Uuid,
    pub from: Party,
    pub to: Party,
    pub content: MessageContent,
    /// The id's timestamp, in milliseconds.
    pub created_at: OffsetDateTime,
    /// Whether the recipient has read it (a note to oneself is read from the start). Only the recipient
    /// is shown this: there are no read receipts.
    pub read: bool,
    /// When it expires (`expires_in` on send); it is never served from then on. `None`: it does not
    /// (unless the server's `RETENTION` expires it by age).
    pub expires_at: Option<OffsetDateTime>,
}
