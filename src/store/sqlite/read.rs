//! Reads: an account, a page of messages, in one read transaction when several go together.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::rows::{MESSAGE_COLUMNS, USER_WITH_SESSIONS, message_from_row, user_from_row};
use super::schema::classify;
use crate::domain::Email;
use crate::store::{Mailbox, Message, MessageQuery, StoreError, User};

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

pub(super) fn messages_on(conn: &Connection, query: &MessageQuery) -> Result<Vec<Message>, StoreError> {
    let (sql, params) = list_sql(query);
    let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
    let rows = statement.query_map(rusqlite::params_from_iter(params.iter()), message_from_row).map_err(classify)?;
    let mut messages = rows.collect::<Result<Vec<_>, _>>().map_err(classify)?;
    if query.before.is_some() && query.after.is_none() {
        messages.reverse();
    }
    Ok(messages)
}

/// Builds the listing query: each branch walks an index in id order, so a page costs its size, not the
/// size of the mailbox.
pub(super) fn list_sql(query: &MessageQuery) -> (String, Vec<String>) {
    let owner = query.owner.to_string();
    let mut params = vec![owner];
    let mut cursor = String::new();
    if let Some(after) = query.after {
        params.push(after.to_string());
        cursor.push_str(&format!(" AND id > ?{}", params.len()));
    }
    if let Some(before) = query.before {
        params.push(before.to_string());
        cursor.push_str(&format!(" AND id < ?{}", params.len()));
    }
    // Without `after`, a `before` page is the newest messages before the cursor: walk backwards.
    let order = if query.before.is_some() && query.after.is_none() { "DESC" } else { "ASC" };
    let sql = match query.mailbox {
        Mailbox::Inbox => format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = ?1{cursor} ORDER BY id {order} LIMIT {}",
            query.limit
        ),
        Mailbox::Sent => format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = ?1{cursor} ORDER BY id {order} LIMIT {}",
            query.limit
        ),
        Mailbox::From(other) | Mailbox::To(other) => {
            params.push(other.to_string());
            let other = params.len();
            let (recipient, sender) = match query.mailbox {
                Mailbox::From(_) => (1, other),
                _ => (other, 1),
            };
            format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = ?{recipient} AND sender_id = ?{sender}{cursor} \
                 ORDER BY id {order} LIMIT {}",
                query.limit
            )
        }
        Mailbox::With(other) => {
            params.push(other.to_string());
            let other = params.len();
            format!(
                "SELECT * FROM (\
                   SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = ?1 AND sender_id = ?{other}{cursor} \
                   UNION ALL \
                   SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE recipient_id = ?{other} AND sender_id = ?1 AND ?1 <> ?{other}{cursor}\
                 ) ORDER BY id {order} LIMIT {}",
                query.limit
            )
        }
    };
    (sql, params)
}
