//! Columns to values.

use rusqlite::Row;
use uuid::Uuid;

use crate::domain::{Email, MessageContent};
use crate::store::{AccessToken, AccountStatus, Message, Party, Role, Scope, User, from_millis, message_time};

pub(super) const USER_COLUMNS: &str =
    "id, email, password_hash, token_version, created_at, last_login_at, registration_key, role, status";

/// The account's columns and, in the same statement, its ended sessions: one lookup per request.
pub(super) const USER_WITH_SESSIONS: &str = "id, email, password_hash, token_version, created_at, last_login_at, \
    registration_key, role, status, \
    (SELECT group_concat(session_id) FROM revoked_sessions WHERE user_id = users.id)";

/// [`USER_WITH_SESSIONS`] for a join that names the users table `u`.
pub(super) const U_WITH_SESSIONS: &str = "u.id, u.email, u.password_hash, u.token_version, u.created_at, u.last_login_at, \
    u.registration_key, u.role, u.status, \
    (SELECT group_concat(session_id) FROM revoked_sessions WHERE user_id = u.id)";

pub(super) const TOKEN_COLUMNS: &str =
    "t.id, t.user_id, t.name, t.digest, t.scopes, t.created_at, t.expires_at, t.last_used_at";

pub(super) fn token_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<AccessToken> {
    let scopes: String = row.get(at + 4)?;
    Ok(AccessToken {
        id: parse_uuid(row, at)?,
        user_id: parse_uuid(row, at + 1)?,
        name: row.get(at + 2)?,
        digest: row.get(at + 3)?,
        scopes: scopes.split(',').filter_map(Scope::parse).collect(),
        created_at: from_millis(row.get(at + 5)?),
        expires_at: row.get::<_, Option<i64>>(at + 6)?.map(from_millis),
        last_used_at: row.get::<_, Option<i64>>(at + 7)?.map(from_millis),
    })
}

pub(super) fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let sessions: Option<String> = if row.as_ref().column_count() > 9 { row.get(9)? } else { None };
    Ok(User {
        id: parse_uuid(row, 0)?,
        email: Email::from_stored(row.get(1)?),
        password_hash: row.get(2)?,
        token_version: row.get(3)?,
        created_at: from_millis(row.get(4)?),
        last_login_at: row.get::<_, Option<i64>>(5)?.map(from_millis),
        registration_key: row.get(6)?,
        role: Role::parse(&row.get::<_, String>(7)?).unwrap_or_default(),
        status: AccountStatus::parse(&row.get::<_, String>(8)?).unwrap_or_default(),
        revoked_sessions: sessions
            .as_deref()
            .map(|list| list.split(',').filter_map(|id| Uuid::parse_str(id).ok()).collect())
            .unwrap_or_default(),
    })
}

pub(super) const MESSAGE_COLUMNS: &str =
    "id, sender_id, sender_email, recipient_id, recipient_email, content, unread, expires_at";

pub(super) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let id = parse_uuid(row, 0)?;
    Ok(Message {
        id,
        from: Party { id: parse_uuid(row, 1)?, email: Email::from_stored(row.get(2)?) },
        to: Party { id: parse_uuid(row, 3)?, email: Email::from_stored(row.get(4)?) },
        content: MessageContent::from_stored(row.get(5)?),
        created_at: message_time(id),
        read: row.get::<_, i64>(6)? == 0,
        expires_at: row.get::<_, Option<i64>>(7)?.map(from_millis),
    })
}

/// Parses a stored id in place, without copying the text out of SQLite.
pub(super) fn parse_uuid(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let invalid = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e)
    };
    let text = row.get_ref(index)?.as_bytes().map_err(|e| invalid(Box::new(e)))?;
    Uuid::try_parse_ascii(text).map_err(|e| invalid(Box::new(e)))
}
