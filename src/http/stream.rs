//! `GET /messages/stream`: the caller's inbox as Server-Sent Events, live, resumable without gaps.
//!
//! The stream is a loop over one query — "inbox messages after my cursor" — so replaying what was missed
//! and delivering live are the same code and cannot overlap or leave a hole between them (message ids
//! grow in commit order, across every instance: see `store`). The store's change feed wakes the loop: a
//! message for the caller stored by any instance, or a revocation of the caller's tokens by any instance,
//! which has the token checked again. A change is only a hint, so a lost one costs at most the
//! re-check interval (`STREAM_RECHECK`) and a duplicated one a query. The stream closes when its token
//! expires or is revoked, and when msgd shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{AuthUser, current_user, message_id, query_pairs};
use crate::api::{ErrorBody, StreamClose, message_json};
use crate::store::Scope;
use crate::store::{Change, Mailbox, MessageQuery};
use crate::telemetry::{GaugeGuard, names};

/// How often an idle stream sends a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Messages per catch-up query.
const CATCH_UP_PAGE: usize = 500;
/// What browsers should wait before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_messages))
}

/// Query parameters of `GET /messages/stream` (for the documentation; parsed with `query_pairs`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct StreamParams {
    /// Resume after this message id (`Last-Event-ID` wins when both are sent); empty: from the first
    /// message.
    after: Option<Uuid>,
}

/// Follow the inbox as Server-Sent Events.
///
/// Each event is a message: `id:` is its id, `data:` the message JSON (as in `GET /messages`). Reconnect
/// with `Last-Event-ID` (or `?after=`) to get what was missed, then live messages, with no gap and no
/// duplicate. Without either, the stream starts with messages arriving from now on. A comment line keeps
/// idle connections open every 15 s. The stream ends with an `event: close` whose data is
/// `{"code": "token_expired" | "token_revoked" | "token_invalid" | "shutting_down", "error": …}`.
#[utoipa::path(
    get, path = "/messages/stream", tag = "messages",
    security(("bearer" = [])),
    params(
        StreamParams,
        ("Last-Event-ID" = Option<String>, Header, format = Uuid, nullable = false, description = "The id of the last message received: resume after it"),
    ),
    responses(
        (status = 200, description = "An event stream: one event per message, then a close event (the schema is that of one event)",
            content_type = "text/event-stream", body = String),
        (status = 400, description = "`after` or `Last-Event-ID` is not a message id (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 403, description = "An access token without the `read` scope (`insufficient_scope`)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn stream_messages(
    authed: AuthUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    authed.require(Scope::Read)?;
    let mut pairs = query_pairs(uri.query(), &["after"])?;
    let after = pairs.remove("after").map(|raw| message_id("after", &raw, Some(Uuid::nil()))).transpose()?;
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(message_id("Last-Event-ID", value.to_str().unwrap_or_default(), None)?),
        None => after,
    };
    // Subscribe before finding the starting point, so nothing committed in between is missed.
    let changes = state.store.changes();
    let cursor = match resume {
        Some(id) => Some(id),
        None => newest_in_inbox(&state, authed.user.id).await?,
    };
    let (events, receiver) = mpsc::channel(64);
    let _ = events.try_send(Ok(Event::default().retry(RETRY).comment("connected")));
    tracing::info!(resume = ?resume, "stream opened");
    tokio::spawn(run(state, authed, cursor, changes, events));
    let keep_alive = KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive");
    let mut response = Sse::new(ReceiverStream::new(receiver)).keep_alive(keep_alive).into_response();
    // Reverse proxies (nginx) must pass events on as they come, not buffer them.
    response.headers_mut().insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    Ok(response)
}

async fn newest_in_inbox(state: &AppState, owner: Uuid) -> Result<Option<Uuid>, ApiError> {
    let query = MessageQuery { owner, mailbox: Mailbox::Inbox, after: None, before: Some(Uuid::max()), limit: 1 };
    Ok(state.store.list_messages(&query).await?.last().map(|m| m.id))
}

/// Why a stream ended, sent as its last event.
#[derive(Debug, Clone, Copy)]
enum Close {
    TokenExpired,
    TokenRevoked,
    TokenInvalid,
    ShuttingDown,
}

impl Close {
    fn event(self) -> Event {
        let (code, error) = match self {
            Close::TokenExpired => ("token_expired", "the token has expired; log in again"),
            Close::TokenRevoked => ("token_revoked", "the token has been revoked; log in again"),
            Close::TokenInvalid => ("token_invalid", "the token is no longer valid"),
            Close::ShuttingDown => ("shutting_down", "the server is shutting down; reconnect"),
        };
        let data = StreamClose { code: code.to_owned(), error: error.to_owned() };
        Event::default().event("close").data(serde_json::to_string(&data).expect("a close notice serializes"))
    }
}

type Events = mpsc::Sender<Result<Event, Infallible>>;

async fn run(
    state: AppState,
    authed: AuthUser,
    mut cursor: Option<Uuid>,
    mut changes: broadcast::Receiver<Change>,
    events: Events,
) {
    let _open = GaugeGuard::new(metrics::gauge!(names::STREAMS_OPEN));
    let mut closing = state.lifecycle.closing();
    let owner = authed.user.id;
    // An access token without expiry: a year is as good as never for one connection.
    let expires_in =
        Duration::from_secs(authed.expires().map_or(366 * 24 * 3600, |exp| exp.saturating_sub(unix_now())));
    let expiry = tokio::time::sleep(expires_in);
    tokio::pin!(expiry);
    let mut recheck = tokio::time::interval(state.options.stream_recheck);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.tick().await;

    let close = loop {
        match deliver(&state, owner, &mut cursor, &events).await {
            Ok(()) => {}
            Err(Gone) => return,
        }
        // Wait for a reason to look again.
        let check_token = loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(Change::Mailbox(recipient)) if recipient == owner => break false,
                    Ok(Change::Revoked(user)) if user == owner => break true,
                    Ok(Change::Resync) => break true,
                    Ok(_) => continue,
                    // Missed changes: look anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => break true,
                    // The store is gone: so is msgd.
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = recheck.tick() => break true,
                _ = closing.wait_for(|closing| *closing) => break false,
                () = &mut expiry => break false,
                () = events.closed() => return,
            }
        };
        if *closing.borrow() {
            break Close::ShuttingDown;
        }
        if expiry.is_elapsed() {
            break Close::TokenExpired;
        }
        if check_token {
            match current_user(&state, &authed.credential).await {
                Ok(_) => {}
                Err(ApiError::TokenRevoked) => break Close::TokenRevoked,
                Err(ApiError::TokenInvalid) => break Close::TokenInvalid,
                // The database is away: keep the stream; the next re-check looks again.
                Err(e) => tracing::warn!(error = %e, "stream could not re-check its token"),
            }
        }
    };
    // Whatever arrived just before the end is still delivered.
    if !matches!(close, Close::TokenRevoked | Close::TokenInvalid) {
        let _ = deliver(&state, owner, &mut cursor, &events).await;
    }
    tracing::info!(reason = ?close, "stream closed");
    let _ = events.send(Ok(close.event())).await;
}

/// The client has gone away.
struct Gone;

/// Sends every inbox message after the cursor, advancing it.
async fn deliver(state: &AppState, owner: Uuid, cursor: &mut Option<Uuid>, events: &Events) -> Result<(), Gone> {
    loop {
        let query = MessageQuery { owner, mailbox: Mailbox::Inbox, after: *cursor, before: None, limit: CATCH_UP_PAGE };
        let messages = match state.store.list_messages(&query).await {
            Ok(messages) => messages,
            Err(e) => {
                // Retried at the next wake; the cursor has not moved, so nothing is skipped.
                tracing::warn!(error = %e, "stream could not read the inbox");
                return Ok(());
            }
        };
        let full = messages.len() == CATCH_UP_PAGE;
        for message in messages {
            let id = message.id;
            let data = String::from_utf8(message_json(&message)).expect("JSON is UTF-8");
            events.send(Ok(Event::default().id(id.to_string()).data(data))).await.map_err(|_| Gone)?;
            *cursor = Some(id);
        }
        if !full {
            return Ok(());
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
