//! The writer thread: every write waiting, in one transaction, each in its own savepoint; answered once
//! committed.

use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::rows::{MESSAGE_COLUMNS, message_from_row};
use super::schema::classify;
use crate::store::{IDEMPOTENCY_WINDOW, Idempotency, Inserted, MessageIds, StoreError};

/// Most writes one transaction takes; bounds the latency a batch adds to its first write.
pub(super) const MAX_BATCH: usize = 512;

/// Answers a write's caller once its transaction has committed (`Ok`) or failed (`Err(reason)`).
pub(super) type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

/// One caller's write, queued for the writer thread.
pub(super) trait WriteJob: Send {
    /// Runs inside the batch transaction; says whether it succeeded (else its savepoint is rolled back).
    fn run(self: Box<Self>, conn: &Connection, ids: &mut MessageIds) -> (bool, Completion);
    /// The transaction could not start: the write never ran.
    fn abandon(self: Box<Self>, reason: String);
}

pub(super) struct Pending<F, T> {
    pub(super) work: F,
    pub(super) reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> WriteJob for Pending<F, T>
where
    F: FnOnce(&Connection, &mut MessageIds) -> Result<T, StoreError> + Send,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection, ids: &mut MessageIds) -> (bool, Completion) {
        let result = (self.work)(conn, ids);
        let ok = result.is_ok();
        let reply = self.reply;
        let complete: Completion = Box::new(move |committed| {
            let _ = reply.send(committed.map_err(StoreError::Unavailable).and(result));
        });
        (ok, complete)
    }

    fn abandon(self: Box<Self>, reason: String) {
        let _ = self.reply.send(Err(StoreError::Unavailable(reason)));
    }
}

pub(super) enum Command {
    Write(Box<dyn WriteJob>),
    Close(oneshot::Sender<()>),
}

pub(super) fn run_writer(mut conn: Connection, commands: mpsc::Receiver<Command>, mut ids: MessageIds) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = commands.recv() {
        let mut close = None;
        match first {
            Command::Write(job) => batch.push(job),
            Command::Close(done) => close = Some(done),
        }
        while close.is_none() && batch.len() < MAX_BATCH {
            match commands.try_recv() {
                Ok(Command::Write(job)) => batch.push(job),
                Ok(Command::Close(done)) => close = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, &mut ids, batch.drain(..));
        }
        if let Some(done) = close {
            // Fold the WAL back into the main file so the directory is one self-contained file at rest.
            if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
                tracing::warn!(error = %e, "SQLite checkpoint at shutdown failed");
            }
            let _ = done.send(());
            return;
        }
    }
}

pub(super) fn commit_batch(conn: &mut Connection, ids: &mut MessageIds, jobs: impl Iterator<Item = Box<dyn WriteJob>>) {
    let jobs: Vec<_> = jobs.collect();
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let reason = classify(e).to_string();
        tracing::error!(error = %reason, writes = jobs.len(), "SQLite write transaction could not start");
        for job in jobs {
            job.abandon(reason.clone());
        }
        return;
    }
    // Another process may have written since our last batch; stay ahead of its ids.
    match conn.query_row("SELECT id FROM messages ORDER BY id DESC LIMIT 1", [], |r| r.get::<_, String>(0)) {
        Ok(last) => {
            if let Ok(last) = Uuid::parse_str(&last) {
                ids.observe(last);
            }
        }
        Err(rusqlite::Error::QueryReturnedNoRows) => {}
        Err(e) => tracing::warn!(error = %e, "reading the newest message id failed"),
    }
    let mut completions = Vec::with_capacity(jobs.len());
    for job in jobs {
        let savepoint = conn.execute_batch("SAVEPOINT job");
        let (ok, complete) = job.run(conn, ids);
        if savepoint.is_ok() {
            let end = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            if let Err(e) = conn.execute_batch(end) {
                tracing::error!(error = %e, "SQLite savepoint failed");
            }
        }
        completions.push(complete);
    }
    let outcome = conn.execute_batch("COMMIT").map_err(|e| {
        let reason = classify(e).to_string();
        tracing::error!(error = %reason, writes = completions.len(), "SQLite commit failed; nothing was stored");
        let _ = conn.execute_batch("ROLLBACK");
        reason
    });
    for complete in completions {
        complete(outcome.clone());
    }
}

/// Inside the write transaction: the answer for a key the sender already used — the earlier message for
/// the same request, a conflict for another — or `None` when the key is free (an expired key is released).
pub(super) fn earlier_with_key(
    conn: &Connection,
    sender: Uuid,
    idempotency: &Idempotency,
) -> Result<Option<Result<Inserted, StoreError>>, StoreError> {
    let sql =
        format!("SELECT {MESSAGE_COLUMNS}, request_hash FROM messages WHERE sender_id = ?1 AND idempotency_key = ?2");
    let mut find = conn.prepare_cached(&sql).map_err(classify)?;
    let earlier = find
        .query_row(params![sender.to_string(), idempotency.key], |row| {
            Ok((message_from_row(row)?, row.get::<_, Option<String>>(8)?))
        })
        .optional()
        .map_err(classify)?;
    let Some((message, fingerprint)) = earlier else { return Ok(None) };
    if OffsetDateTime::now_utc() - message.created_at > IDEMPOTENCY_WINDOW {
        conn.execute(
            "UPDATE messages SET idempotency_key = NULL, request_hash = NULL WHERE id = ?1",
            [message.id.to_string()],
        )
        .map_err(classify)?;
        return Ok(None);
    }
    Ok(Some(if fingerprint.as_deref() == Some(idempotency.fingerprint.as_str()) {
        Ok(Inserted::Replayed(message))
    } else {
        Err(StoreError::IdempotencyKeyReused)
    }))
}
