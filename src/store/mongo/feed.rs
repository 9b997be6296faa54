//! Other instances' changes: from a change stream where the deployment has them, otherwise by polling.

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::change_stream::event::{ChangeStreamEvent, ResumeToken};
use mongodb::error::ErrorKind;
use uuid::Uuid;

use super::chain::Tail;

use super::parts::{CONNECT_RETRY, Parts, bounded};
use crate::store::StoreError;
use crate::store::feed::{AccountEvent, Change, Feed, FeedMode};
use crate::telemetry::names;

/// How often a feed without change streams (a standalone server) looks for other instances' changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How long a revocation stays in the `revocations` collection (a TTL index removes it).
pub(super) const REVOCATION_LOG_KEEP: Duration = Duration::from_secs(3600);

/// How far back a polling feed looks for revocations it may not have seen (server clock).
pub(super) const REVOCATION_OVERLAP: Duration = Duration::from_secs(5);

/// Feeds other instances' changes to the feed: from a change stream where the deployment has them,
/// otherwise by polling.
pub(super) async fn run_feed(parts: Parts, tail: Tail) {
    let hello = bounded(parts.timeout, parts.db.run_command(doc! {"hello": 1}).into_future()).await;
    let replicated = match &hello {
        Ok(hello) => hello.contains_key("setName") || hello.get_str("msg") == Ok("isdbgrid"),
        // Assume the common production case; a refusal below switches to polling.
        Err(_) => true,
    };
    if replicated {
        follow_change_stream(&parts).await;
        tracing::warn!("this MongoDB deployment refused a change stream; polling for other instances' changes instead");
    } else {
        tracing::warn!(
            interval_ms = POLL_INTERVAL.as_millis() as u64,
            "MongoDB is a standalone server (no change streams): polling for other instances' changes"
        );
    }
    poll(&parts, tail, hello.ok().and_then(|h| h.get_datetime("localTime").ok().copied())).await;
}

/// The change stream's filter: message inserts and revocations, with only the fields the feed needs.
pub(super) fn change_pipeline() -> Vec<Document> {
    vec![
        doc! {"$match": {"operationType": "insert", "ns.coll": {"$in": ["messages", "revocations"]}}},
        doc! {"$project": {
            "operationType": 1, "ns": 1, "fullDocument.recipient_id": 1, "fullDocument.user_id": 1,
            "fullDocument.kind": 1, "fullDocument.payload": 1,
        }},
    ]
}

/// Follows a change stream; returns only if the deployment says it has none. Interruptions are resumed
/// from the last resume token, or — when the token is no longer usable — from now, with a resync.
pub(super) async fn follow_change_stream(parts: &Parts) {
    const CHANGE_STREAMS_UNSUPPORTED: i32 = 40573;
    /// How long the server holds a getMore open waiting for events.
    const AWAIT: Duration = Duration::from_secs(1);
    let mut token: Option<ResumeToken> = None;
    let mut backoff = CONNECT_RETRY;
    let mut announced = false;
    loop {
        let open = parts.db.watch().pipeline(change_pipeline()).max_await_time(AWAIT);
        let open = match token.clone() {
            Some(token) => open.resume_after(token),
            None => open,
        };
        let stream = match bounded(parts.timeout, open.into_future()).await {
            Ok(stream) => stream,
            Err(StoreError::Other(e)) if code_of(&e) == Some(CHANGE_STREAMS_UNSUPPORTED) => return,
            Err(StoreError::Other(e)) if token.is_some() => {
                // The token is not usable any more (e.g. history lost): start from now, and have everyone
                // look again for what happened in between.
                tracing::warn!(error = %e, "the change stream could not resume; starting it afresh");
                token = None;
                parts.feed.publish(Change::Resync, "database");
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "opening the change stream failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if !announced {
            tracing::info!("following other instances' changes through a MongoDB change stream");
            announced = true;
        }
        parts.feed.set_mode(FeedMode::ChangeStream);
        backoff = CONNECT_RETRY;
        let mut stream = stream.with_type::<ChangeStreamEvent<Document>>();
        // One getMore at a time (it waits up to AWAIT for events), bounded: the driver has no socket
        // timeout, and a connection that died silently must not stall the feed.
        while stream.is_alive() {
            match tokio::time::timeout(AWAIT + parts.timeout, stream.next_if_any()).await {
                Ok(Ok(event)) => {
                    if let Some(event) = &event {
                        publish_event(&parts.feed, event);
                    }
                    token = stream.resume_token().or(token);
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the change stream was interrupted; resuming");
                    break;
                }
                Err(_) => {
                    tracing::warn!("the change stream stopped answering; resuming");
                    break;
                }
            }
        }
        metrics::counter!(names::FEED_RESTARTS).increment(1);
        tokio::time::sleep(CONNECT_RETRY).await;
    }
}

pub(super) fn code_of(e: &anyhow::Error) -> Option<i32> {
    match e.downcast_ref::<mongodb::error::Error>()?.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

pub(super) fn publish_event(feed: &Feed, event: &ChangeStreamEvent<Document>) {
    let (Some(ns), Some(doc)) = (&event.ns, &event.full_document) else { return };
    let field = match ns.coll.as_deref() {
        Some("messages") => "recipient_id",
        Some("revocations") => "user_id",
        _ => return,
    };
    let Some(id) = doc.get_str(field).ok().and_then(|id| Uuid::parse_str(id).ok()) else { return };
    if let Some(change) = change_of(field, doc, id) {
        feed.publish(change, "database");
    }
}

/// The change a message or event document announces (`None`: an event this msgd cannot read).
pub(super) fn change_of(field: &str, doc: &Document, id: Uuid) -> Option<Change> {
    Some(match (field, doc.get_str("kind")) {
        ("recipient_id", _) => Change::Mailbox(id),
        (_, Ok("unlocked")) => Change::Unlocked(id),
        (_, Ok("event")) => {
            let event = AccountEvent::from_payload(doc.get_str("payload").ok()?)?;
            Change::Event(id, std::sync::Arc::new(event))
        }
        _ => Change::Revoked(id),
    })
}

/// Polls for other instances' changes: messages after the newest seen (exact: ids grow in commit order),
/// and revocations of the last few seconds of the server's clock (deduplicated).
pub(super) async fn poll(parts: &Parts, tail: Tail, server_now: Option<DateTime>) {
    parts.feed.set_mode(FeedMode::Polling);
    let mut last = match tail {
        Tail::At(id) => id.to_string(),
        _ => String::new(),
    };
    let mut since = server_now.unwrap_or_else(DateTime::now);
    let mut seen: HashMap<String, DateTime> = HashMap::new();
    let raw = parts.db.collection::<Document>("messages");
    let mut failing = false;
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        let outcome: Result<(), StoreError> = async {
            loop {
                let find = raw
                    .find(doc! {"_id": {"$gt": &last}})
                    .sort(doc! {"_id": 1})
                    .limit(1000)
                    .projection(doc! {"recipient_id": 1});
                let docs: Vec<Document> = bounded(parts.timeout, async { find.await?.try_collect().await }).await?;
                for doc in &docs {
                    if let Some(recipient) = doc.get_str("recipient_id").ok().and_then(|r| Uuid::parse_str(r).ok()) {
                        parts.feed.publish(Change::Mailbox(recipient), "database");
                    }
                }
                if let Some(id) = docs.last().and_then(|d| d.get_str("_id").ok()) {
                    last = id.to_owned();
                }
                if docs.len() < 1000 {
                    break;
                }
            }
            let from = DateTime::from_millis(since.timestamp_millis() - REVOCATION_OVERLAP.as_millis() as i64);
            let find = parts.revocations.find(doc! {"at": {"$gte": from}});
            let docs: Vec<Document> = bounded(parts.timeout, async { find.await?.try_collect().await }).await?;
            for doc in docs {
                let (Ok(id), Ok(at)) = (doc.get_str("_id"), doc.get_datetime("at")) else { continue };
                since = since.max(*at);
                if seen.insert(id.to_owned(), *at).is_none() {
                    if let Some(user) = doc.get_str("user_id").ok().and_then(|u| Uuid::parse_str(u).ok()) {
                        if let Some(change) = change_of("user_id", &doc, user) {
                            parts.feed.publish(change, "database");
                        }
                    }
                }
            }
            seen.retain(|_, at| at.timestamp_millis() >= from.timestamp_millis());
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) if failing => {
                failing = false;
                parts.feed.publish(Change::Resync, "database");
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "polling MongoDB for other instances' changes failed; retrying");
                }
                failing = true;
            }
        }
    }
}
