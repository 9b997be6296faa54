//! Other processes' commits, noticed by a watcher thread, and the revocation log it reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::schema::classify;
use crate::store::feed::{AccountEvent, Change, Feed};
use crate::store::{StoreError, now_millis, to_millis};

/// How often the watcher looks for other processes' commits.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// How long a revocation stays in the log: far longer than any process takes to see it.
pub(super) const REVOCATION_LOG_KEEP: Duration = Duration::from_secs(3600);

/// Inside a write transaction: records that `user`'s tokens were revoked, for the other processes' streams,
/// and forgets revocations older than [`REVOCATION_LOG_KEEP`].
pub(super) fn log_revocation(conn: &Connection, user: Uuid) -> Result<(), StoreError> {
    log_event(conn, user, "revoked")
}

/// Inside a write transaction: records a `kind` event (`revoked`, `unlocked`) about `user` for the other
/// processes, and forgets events older than [`REVOCATION_LOG_KEEP`].
pub(super) fn log_event(conn: &Connection, user: Uuid, kind: &str) -> Result<(), StoreError> {
    let now = to_millis(now_millis());
    let mut insert =
        conn.prepare_cached("INSERT INTO revocations (user_id, at, kind) VALUES (?1, ?2, ?3)").map_err(classify)?;
    insert.execute(params![user.to_string(), now, kind]).map_err(classify)?;
    let mut prune = conn.prepare_cached("DELETE FROM revocations WHERE at < ?1").map_err(classify)?;
    prune.execute([now - REVOCATION_LOG_KEEP.as_millis() as i64]).map_err(classify)?;
    Ok(())
}

/// Inside a write transaction: records an event for every device of `user` (read state, a deletion),
/// which every process's watcher passes to its change feed.
pub(super) fn log_account_event(conn: &Connection, user: Uuid, event: &AccountEvent) -> Result<(), StoreError> {
    let now = to_millis(now_millis());
    let mut insert = conn
        .prepare_cached("INSERT INTO revocations (user_id, at, kind, payload) VALUES (?1, ?2, 'event', ?3)")
        .map_err(classify)?;
    insert.execute(params![user.to_string(), now, event.to_payload()]).map_err(classify)?;
    Ok(())
}

/// How far the watcher has read: the largest message id and revocation number seen.
pub(super) struct Watermark {
    pub(super) message: Option<String>,
    pub(super) revocation: i64,
}

impl Watermark {
    pub(super) fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let message = conn.query_row("SELECT max(id) FROM messages", [], |r| r.get(0))?;
        let revocation = conn.query_row("SELECT coalesce(max(seq), 0) FROM revocations", [], |r| r.get(0))?;
        Ok(Self { message, revocation })
    }
}

/// Feeds every commit to the file — this process's and other processes' — to the change feed, in commit
/// order: message ids and revocation numbers only grow with commits, so "greater than the last seen" finds
/// exactly what is new. Duplicates of this process's own changes are harmless (a change is a hint).
pub(super) fn run_watcher(conn: Connection, mut seen: Watermark, feed: &Feed, watching: &AtomicBool) {
    let mut version: Option<i64> = None;
    let mut failing = false;
    while watching.load(Ordering::Relaxed) {
        std::thread::sleep(WATCH_INTERVAL);
        let outcome = (|| -> rusqlite::Result<()> {
            let now: i64 = conn.pragma_query_value(None, "data_version", |r| r.get(0))?;
            if version == Some(now) {
                return Ok(());
            }
            let mut messages = conn.prepare_cached(
                "SELECT id, recipient_id FROM messages WHERE id > coalesce(?1, '') ORDER BY id LIMIT 1000",
            )?;
            loop {
                let rows: Vec<(String, String)> = messages
                    .query_map([seen.message.as_deref()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                for (_, recipient) in &rows {
                    if let Ok(recipient) = Uuid::parse_str(recipient) {
                        feed.publish(Change::Mailbox(recipient), "database");
                    }
                }
                match rows.last() {
                    Some((id, _)) => seen.message = Some(id.clone()),
                    None => break,
                }
                if rows.len() < 1000 {
                    break;
                }
            }
            let mut revocations =
                conn.prepare_cached("SELECT seq, user_id, kind, payload FROM revocations WHERE seq > ?1 ORDER BY seq")?;
            let rows: Vec<(i64, String, String, Option<String>)> = revocations
                .query_map([seen.revocation], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            for (seq, user, kind, payload) in rows {
                if let Ok(user) = Uuid::parse_str(&user) {
                    let change = match kind.as_str() {
                        "unlocked" => Some(Change::Unlocked(user)),
                        "event" => payload
                            .as_deref()
                            .and_then(AccountEvent::from_payload)
                            .map(|event| Change::Event(user, std::sync::Arc::new(event))),
                        _ => Some(Change::Revoked(user)),
                    };
                    if let Some(change) = change {
                        feed.publish(change, "database");
                    }
                }
                seen.revocation = seq;
            }
            version = Some(now);
            Ok(())
        })();
        match outcome {
            Ok(()) if failing => {
                // Whatever happened while failing is covered by telling everyone to look again.
                failing = false;
                feed.publish(Change::Resync, "database");
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "watching the SQLite file for other processes' changes failed; retrying");
                }
                failing = true;
            }
        }
    }
}
