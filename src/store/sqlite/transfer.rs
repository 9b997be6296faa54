//! A consistent snapshot of the whole file, and records applied in a write transaction (export, import,
//! migrate).

use rusqlite::{Connection, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::read::{Live, NOT_EXPIRED};
use super::rows::{
    MESSAGE_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS, message_from_row, parse_uuid, token_from_row, user_from_row,
};
use super::schema::{classify, is_unique_violation};
use crate::store::{
    ApplyMode, Idempotency, MOVED_SETTINGS, MessageIds, MessageRecord, Record, StoreError, UserRecord, from_millis,
    message_time, to_millis,
};

/// Records buffered between the snapshot thread and its reader.
pub(super) const SNAPSHOT_BUFFER: usize = 1024;

/// Walks the whole database in one read transaction (one snapshot), sending each record.
pub(super) fn read_snapshot(
    conn: &Connection,
    sender: &tokio::sync::mpsc::Sender<Result<Record, StoreError>>,
    live: Live,
) -> Result<(), StoreError> {
    // Every statement below reads the snapshot this transaction starts with.
    conn.execute_batch("BEGIN").map_err(classify)?;
    let send = |record: Record| sender.blocking_send(Ok(record)).is_ok();
    let mut settings = conn.prepare("SELECT key, value FROM settings ORDER BY key").map_err(classify)?;
    let mut rows = settings.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        let key: String = row.get(0).map_err(classify)?;
        if MOVED_SETTINGS.contains(&key.as_str())
            && !send(Record::Setting { key, value: row.get(1).map_err(classify)? })
        {
            return Ok(());
        }
    }
    let mut sessions = conn
        .prepare("SELECT session_id, expires_at FROM revoked_sessions WHERE user_id = ?1 ORDER BY session_id")
        .map_err(classify)?;
    let mut users = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id")).map_err(classify)?;
    let mut rows = users.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        let user = user_from_row(row).map_err(classify)?;
        let ended = sessions
            .query_map([user.id.to_string()], |r| Ok((parse_uuid(r, 0)?, from_millis(r.get(1)?))))
            .map_err(classify)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(classify)?;
        if !send(Record::User(UserRecord { user, sessions: ended })) {
            return Ok(());
        }
    }
    let mut tokens = conn
        .prepare(&format!("SELECT {TOKEN_COLUMNS} FROM access_tokens t ORDER BY t.user_id, t.id"))
        .map_err(classify)?;
    let mut rows = tokens.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        if !send(Record::AccessToken(token_from_row(row, 0).map_err(classify)?)) {
            return Ok(());
        }
    }
    let mut messages = conn
        .prepare(&format!(
            "SELECT {MESSAGE_COLUMNS}, idempotency_key, request_hash, deleted_by_sender, deleted_by_recipient \
             FROM messages WHERE NOT (deleted_by_sender = 1 AND deleted_by_recipient = 1) AND {NOT_EXPIRED} \
             AND ?1 IS NOT NULL ORDER BY id"
        ))
        .map_err(classify)?;
    // (?1 only numbers the parameters as NOT_EXPIRED expects them.)
    let mut rows = messages.query(params![0, live.now_ms, live.floor.to_string()]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        let message = message_from_row(row).map_err(classify)?;
        let key: Option<String> = row.get(8).map_err(classify)?;
        let fingerprint: Option<String> = row.get(9).map_err(classify)?;
        let idempotency = key.map(|key| Idempotency { key, fingerprint: fingerprint.unwrap_or_default() });
        let deleted_by_sender = row.get::<_, i64>(10).map_err(classify)? != 0;
        let deleted_by_recipient = row.get::<_, i64>(11).map_err(classify)? != 0;
        let record = MessageRecord { message, idempotency, deleted_by_sender, deleted_by_recipient };
        if !send(Record::Message(record)) {
            return Ok(());
        }
    }
    drop(rows);
    conn.execute_batch("COMMIT").map_err(classify)
}

/// Writes one record inside a write transaction; returns 1 if it changed the store.
pub(super) fn apply_record(
    conn: &Connection,
    ids: &mut MessageIds,
    record: &Record,
    mode: ApplyMode,
) -> Result<u64, StoreError> {
    let replace = mode == ApplyMode::Replace;
    let changed = match record {
        Record::Setting { key, value } => {
            let sql = if replace {
                "INSERT INTO settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value"
            } else {
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING"
            };
            conn.prepare_cached(sql).and_then(|mut q| q.execute(params![key, value])).map_err(classify)?
        }
        Record::User(UserRecord { user, sessions }) => {
            let on_conflict = if replace {
                "DO UPDATE SET email = excluded.email, password_hash = excluded.password_hash, \
                 token_version = excluded.token_version, created_at = excluded.created_at, \
                 last_login_at = excluded.last_login_at, registration_key = excluded.registration_key, \
                 role = excluded.role, status = excluded.status \
                 WHERE (email, password_hash, token_version, created_at, last_login_at, registration_key, role, status) \
                 IS NOT (excluded.email, excluded.password_hash, excluded.token_version, excluded.created_at, \
                 excluded.last_login_at, excluded.registration_key, excluded.role, excluded.status)"
            } else {
                "DO NOTHING"
            };
            let id = user.id.to_string();
            let row = conn
                .prepare_cached(&format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                     ON CONFLICT (id) {on_conflict}"
                ))
                .and_then(|mut q| {
                    q.execute(params![
                        id,
                        user.email.as_str(),
                        user.password_hash,
                        user.token_version,
                        to_millis(user.created_at),
                        user.last_login_at.map(to_millis),
                        user.registration_key,
                        user.role.as_str(),
                        user.status.as_str(),
                    ])
                })
                .map_err(|e| if is_unique_violation(&e) { StoreError::EmailTaken } else { classify(e) })?;
            // The ended sessions follow the account: all of them when it was written now, or replaced
            // when they differ.
            let stored: Vec<(Uuid, OffsetDateTime)> = conn
                .prepare_cached(
                    "SELECT session_id, expires_at FROM revoked_sessions WHERE user_id = ?1 ORDER BY session_id",
                )
                .and_then(|mut q| q.query_map([&id], |r| Ok((parse_uuid(r, 0)?, from_millis(r.get(1)?))))?.collect())
                .map_err(classify)?;
            let mut wanted = sessions.clone();
            wanted.sort();
            let sessions_changed = stored != wanted && (row == 1 || replace);
            if sessions_changed {
                conn.prepare_cached("DELETE FROM revoked_sessions WHERE user_id = ?1")
                    .and_then(|mut q| q.execute([&id]))
                    .map_err(classify)?;
                for (session, expires_at) in &wanted {
                    conn.prepare_cached(
                        "INSERT INTO revoked_sessions (user_id, session_id, expires_at) VALUES (?1, ?2, ?3)",
                    )
                    .and_then(|mut q| q.execute(params![id, session.to_string(), to_millis(*expires_at)]))
                    .map_err(classify)?;
                }
            }
            usize::from(row == 1 || sessions_changed)
        }
        Record::AccessToken(token) => {
            let on_conflict = if replace {
                "DO UPDATE SET user_id = excluded.user_id, name = excluded.name, digest = excluded.digest, \
                 scopes = excluded.scopes, created_at = excluded.created_at, expires_at = excluded.expires_at, \
                 last_used_at = excluded.last_used_at \
                 WHERE (user_id, name, digest, scopes, created_at, expires_at, last_used_at) \
                 IS NOT (excluded.user_id, excluded.name, excluded.digest, excluded.scopes, excluded.created_at, \
                 excluded.expires_at, excluded.last_used_at)"
            } else {
                "DO NOTHING"
            };
            let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
            conn.prepare_cached(&format!(
                "INSERT INTO access_tokens (id, user_id, name, digest, scopes, created_at, expires_at, last_used_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) {on_conflict}"
            ))
            .and_then(|mut q| {
                q.execute(params![
                    token.id.to_string(),
                    token.user_id.to_string(),
                    token.name,
                    token.digest,
                    scopes.join(","),
                    to_millis(token.created_at),
                    token.expires_at.map(to_millis),
                    token.last_used_at.map(to_millis),
                ])
            })
            .map_err(|e| if is_unique_violation(&e) { StoreError::NameTaken } else { classify(e) })?
        }
        Record::Message(MessageRecord { message, idempotency, deleted_by_sender, deleted_by_recipient }) => {
            ids.observe(message.id);
            conn.prepare_cached(&format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}, created_at, idempotency_key, request_hash, \
                 deleted_by_sender, deleted_by_recipient) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (id) DO NOTHING"
            ))
            .and_then(|mut q| {
                q.execute(params![
                    message.id.to_string(),
                    message.from.id.to_string(),
                    message.from.email.as_str(),
                    message.to.id.to_string(),
                    message.to.email.as_str(),
                    message.content.as_str(),
                    // A copy the recipient deleted is not unread.
                    i64::from(!message.read && !deleted_by_recipient),
                    message.expires_at.map(to_millis),
                    to_millis(message_time(message.id)),
                    idempotency.as_ref().map(|i| i.key.as_str()),
                    idempotency.as_ref().map(|i| i.fingerprint.as_str()),
                    i64::from(*deleted_by_sender),
                    i64::from(*deleted_by_recipient),
                ])
            })
            .map_err(|e| if is_unique_violation(&e) { StoreError::IdempotencyKeyReused } else { classify(e) })?
        }
    };
    Ok(changed as u64)
}
