//! Reads: an account, a page of messages, in one read transaction when several go together.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use rusqlite::types::Value;

use super::rows::{MESSAGE_COLUMNS, USER_WITH_SESSIONS, message_from_row, parse_uuid, user_from_row};
use super::schema::classify;
use crate::domain::Email;
use crate::store::{Mailbox, Message, MessageQuery, Party, StoreError, UnreadFrom, User};

pub(super) fn user_on(conn: &Connection, id: Uuid) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_WITH_SESSIONS} FROM users WHERE id = ?1");
    let mut query = conn.prepare_cached(&sql).map_err(classify)?;
    query.query_row([id.to_string()], user_from_row).optional().map_err(classify)
}

/// A read transaction: what is read inside comes from one snapshot. Ended (rolled back: nothing was
/// written) when dropped, whatever happens in between. Its statements are prepared once per connection
/// (`unchecked_transaction` prepares `BEGIN` on every call).
pub(super) struct ReadTransaction<'c>(&'c Connection);

impl<'c> ReadTransaction<'c> {
    pub(super) fn begin(conn: &'c Connection) -> Result<Self, StoreError> {
        conn.prepare_cached("BEGIN").and_then(|mut begin| begin.execute([])).map_err(classify)?;
        Ok(Self(conn))
    }
}

impl Drop for ReadTransaction<'_> {
    fn drop(&mut self) {
        // Should it fail, the connection is left in the transaction and `read` does not reuse it.
        let _ = self.0.prepare_cached("ROLLBACK").and_then(|mut rollback| rollback.execute([]));
    }
}

/// The account with an email. `COLLATE NOCASE`, as the unique index is: without it the comparison is the
/// column's (binary) and SQLite cannot use the index — every login, send to another account and `with=`
/// read scanned every account (measured: a send to another account at 9,100 req/s beside 38,000 to
/// oneself with 2,000 accounts stored; the same rate once the index is used).
pub(super) fn user_by_email_sql() -> String {
    format!("SELECT {USER_WITH_SESSIONS} FROM users WHERE email = ?1 COLLATE NOCASE")
}

pub(super) fn user_by_email_on(conn: &Connection, email: &Email) -> Result<Option<User>, StoreError> {
    let mut query = conn.prepare_cached(&user_by_email_sql()).map_err(classify)?;
    query.query_row([email.as_str()], user_from_row).optional().map_err(classify)
}

/// What a read cannot serve: messages past their `expires_at` at `now`, and (with a retention) those
/// created before `floor`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Live {
    pub(super) now_ms: i64,
    pub(super) floor: Uuid,
}

impl Live {
    pub(super) fn at(now: time::OffsetDateTime, retention: Option<std::time::Duration>) -> Self {
        let floor = retention.map_or(Uuid::nil(), |keep| crate::domain::first_id_at(now - keep));
        Self { now_ms: crate::store::to_millis(now), floor }
    }

    pub(super) fn now(retention: Option<std::time::Duration>) -> Self {
        Self::at(crate::store::now_millis(), retention)
    }
}

/// The condition a served message meets, on top of the copy's not being deleted: `?2` is the time (ms),
/// `?3` the smallest id retention keeps.
pub(super) const NOT_EXPIRED: &str = "(expires_at IS NULL OR expires_at > ?2) AND id >= ?3";

pub(super) fn messages_on(conn: &Connection, query: &MessageQuery, live: Live) -> Result<Vec<Message>, StoreError> {
    let (sql, params) = list_sql(query, live);
    let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
    let rows = statement.query_map(rusqlite::params_from_iter(params.iter()), message_from_row).map_err(classify)?;
    let mut messages = rows.collect::<Result<Vec<_>, _>>().map_err(classify)?;
    if query.before.is_some() && query.after.is_none() {
        messages.reverse();
    }
    Ok(messages)
}

/// The message `owner` has a copy of, by id.
pub(super) fn message_for_on(
    conn: &Connection,
    owner: Uuid,
    id: Uuid,
    live: Live,
) -> Result<Option<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1 AND {NOT_EXPIRED} \
         AND ((recipient_id = ?4 AND deleted_by_recipient = 0) OR (sender_id = ?4 AND deleted_by_sender = 0))"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
    statement
        .query_row(
            rusqlite::params![id.to_string(), live.now_ms, live.floor.to_string(), owner.to_string()],
            message_from_row,
        )
        .optional()
        .map_err(classify)
}

/// Builds the listing query: each branch walks an index in id order, so a page costs its size, not the
/// size of the mailbox. (Deleted copies and expired messages are passed over on the way.)
pub(super) fn list_sql(query: &MessageQuery, live: Live) -> (String, Vec<Value>) {
    let mut params: Vec<Value> =
        vec![Value::Text(query.owner.to_string()), Value::Integer(live.now_ms), Value::Text(live.floor.to_string())];
    let mut cursor = format!(" AND {NOT_EXPIRED}");
    if let Some(after) = query.after {
        params.push(Value::Text(after.to_string()));
        cursor.push_str(&format!(" AND id > ?{}", params.len()));
    }
    if let Some(before) = query.before {
        params.push(Value::Text(before.to_string()));
        cursor.push_str(&format!(" AND id < ?{}", params.len()));
    }
    // Without `after`, a `before` page is the newest messages before the cursor: walk backwards.
    let order = if query.before.is_some() && query.after.is_none() { "DESC" } else { "ASC" };
    // Unread messages are the recipient's and not deleted by them: the partial index holds only those.
    // Of what the owner sent, only notes to oneself can be unread (for the owner).
    let (inbox, index, sent) = if query.unread {
        ("unread = 1", " INDEXED BY messages_unread", "recipient_id = ?1 AND unread = 1")
    } else {
        ("deleted_by_recipient = 0", "", "deleted_by_sender = 0")
    };
    let sql = match query.mailbox {
        Mailbox::Inbox => format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages{index} WHERE recipient_id = ?1 AND {inbox}{cursor} \
             ORDER BY id {order} LIMIT {}",
            query.limit
        ),
        Mailbox::Sent => format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = ?1 AND {sent}{cursor} \
             ORDER BY id {order} LIMIT {}",
            query.limit
        ),
        Mailbox::From(other) | Mailbox::To(other) => {
            params.push(Value::Text(other.to_string()));
            let other = params.len();
            let (recipient, sender, kept) = match query.mailbox {
                Mailbox::From(_) => (1, other, inbox),
                _ => (other, 1, sent),
            };
            format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = ?{recipient} AND sender_id = ?{sender} \
                 AND {kept}{cursor} ORDER BY id {order} LIMIT {}",
                query.limit
            )
        }
        Mailbox::With(other) => {
            params.push(Value::Text(other.to_string()));
            let other = params.len();
            format!(
                "SELECT * FROM (\
                   SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = ?1 AND sender_id = ?{other} \
                     AND {inbox}{cursor} \
                   UNION ALL \
                   SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE recipient_id = ?{other} AND sender_id = ?1 AND ?1 <> ?{other} AND {sent}{cursor}\
                 ) ORDER BY id {order} LIMIT {}",
                query.limit
            )
        }
    };
    (sql, params)
}

/// `owner`'s unread messages now.
pub(super) fn unread_total_on(conn: &Connection, owner: Uuid, live: Live) -> Result<u64, StoreError> {
    let sql = format!(
        "SELECT count(*) FROM messages INDEXED BY messages_unread WHERE recipient_id = ?1 AND unread = 1 AND {NOT_EXPIRED}"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
    statement
        .query_row(rusqlite::params![owner.to_string(), live.now_ms, live.floor.to_string()], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(classify)
}

/// `owner`'s unread messages by sender, the most recent first (the index of unread messages only).
pub(super) fn unread_on(conn: &Connection, owner: Uuid, live: Live) -> Result<Vec<UnreadFrom>, StoreError> {
    let sql = format!(
        "SELECT u.sender_id, coalesce(users.email, ''), u.n, u.newest FROM (\
           SELECT sender_id, count(*) AS n, max(id) AS newest FROM messages INDEXED BY messages_unread \
           WHERE recipient_id = ?1 AND unread = 1 AND {NOT_EXPIRED} GROUP BY sender_id\
         ) u LEFT JOIN users ON users.id = u.sender_id ORDER BY u.newest DESC"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
    let rows = statement
        .query_map(rusqlite::params![owner.to_string(), live.now_ms, live.floor.to_string()], |row| {
            Ok(UnreadFrom {
                sender: Party { id: parse_uuid(row, 0)?, email: Email::from_stored(row.get(1)?) },
                count: row.get::<_, i64>(2)? as u64,
                newest: parse_uuid(row, 3)?,
            })
        })
        .map_err(classify)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(classify)
}
