//! `GET /messages/stream`: the caller's inbox as Server-Sent Events, live, resumable without gaps.
//!
//! The stream is a loop over one query — "inbox messages after my cursor" — so replaying what was missed
//! and delivering live are the same code and cannot overlap or leave a hole between them (message ids
//! grow in commit order, across every instance: see `store`). The store's change feed wakes the loop,
//! through the hub, which wakes only the streams of the account concerned (see [`crate::app::live`]): a message
//! for the caller stored by any instance, or a revocation of the caller's tokens by any instance, which
//! has the credential checked again (once per account here, for all its streams). A change is only a
//! hint, so a lost one costs at most the re-check interval (`STREAM_RECHECK`) and a duplicated one a
//! query. The stream closes when its token expires or is revoked, and when msgd shuts down. An account
//! may hold `MAX_STREAMS_PER_ACCOUNT` streams open on one instance; the next is refused (429).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::watch;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{MaybeCaller, message_id, query_pairs};
use super::state::AppState;
use crate::api::{
    DeletedEvent, ErrorBody, ReadEvent, StreamClose, StreamCloseCode, StreamTicketResponse, message_json,
};
use crate::app::identity::{self, Caller, Credential};
use crate::app::live::{self, Generations, Registration};
use crate::app::tickets;
use crate::store::{AccountEvent, Mailbox, Message, MessageQuery, Scope};
use crate::telemetry::names;

/// Messages per catch-up query.
const CATCH_UP_PAGE: usize = 500;
/// What browsers should wait before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_messages)).routes(routes!(create_ticket))
}

/// Get a stream ticket: how a browser opens its stream, as `EventSource` cannot send a Bearer. The ticket
/// opens `GET /messages/stream?ticket=…` once, within 30 seconds, on any instance; that stream lives as
/// long as the credential the ticket was made with. Never put a Bearer token in a URL.
#[utoipa::path(
    post, path = "/messages/stream/tickets", tag = "messages",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The ticket, shown only this once", body = StreamTicketResponse),
        (status = 403, description = "An access token without the `read` scope (`insufficient_scope`)", body = ErrorBody),
    )
)]
async fn create_ticket(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<(axum::http::StatusCode, axum::Json<StreamTicketResponse>), ApiError> {
    let ticket = tickets::issue(&state.app, &caller).await?;
    let expires_in = tickets::TICKET_LIFETIME.as_secs();
    Ok((axum::http::StatusCode::CREATED, axum::Json(StreamTicketResponse { ticket, expires_in })))
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
/// Each event without a name is a message: `id:` is its id, `data:` the message JSON (as in `GET /messages`).
/// What another device did comes as named events without `id:`: `event: read` (inbox messages marked read
/// or unread, and the unread count after; see `ReadEvent`) and `event: deleted` (the account's copy of a
/// message deleted; see `DeletedEvent`). Reconnect
/// with `Last-Event-ID` (or `?after=`) to get what was missed, then live messages, with no gap and no
/// duplicate. Without either, the stream starts with messages arriving from now on. The first frame is
/// `retry:`, `id:` and a `: connected` comment, without data: its `id` is where the stream starts (the
/// newest message before it, or the nil UUID `00000000-0000-0000-0000-000000000000`, "from the first
/// message"), so a client that reconnects with the last `id` it saw — an `EventSource` does — misses
/// nothing even when no message came before the drop. A comment line keeps
/// idle connections open every 25 s (`STREAM_KEEPALIVE`). The stream ends with an `event: close` whose data is
/// `{"code": "token_expired" | "token_revoked" | "token_invalid" | "shutting_down", "error": …}`.
#[utoipa::path(
    get, path = "/messages/stream", tag = "messages",
    security(("bearer" = []), ("ticket" = [])),
    params(
        StreamParams,
        ("Last-Event-ID" = Option<String>, Header, format = Uuid, nullable = false, description = "The id of the last message received: resume after it"),
    ),
    responses(
        (status = 200, description = "An event stream: one event per message, then a close event (the schema is that of one event)",
            content_type = "text/event-stream", body = String),
        (status = 400, description = "`after` or `Last-Event-ID` is not a message id (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "A ticket unknown, used or expired (`ticket_invalid`), or a missing, \
            expired, revoked or badly signed token", body = ErrorBody),
        (status = 403, description = "An access token without the `read` scope (`insufficient_scope`)", body = ErrorBody),
        (status = 429, description = "The account has `MAX_STREAMS_PER_ACCOUNT` streams open on this server \
            (`too_many_streams`); `Retry-After` says when to try again", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn stream_messages(
    MaybeCaller(bearer): MaybeCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let mut pairs = query_pairs(uri.query(), &["after", "ticket"])?;
    // A Bearer wins over a ticket (as `Last-Event-ID` over `after`); the ticket is then left unused.
    let authed = match (bearer, pairs.remove("ticket")) {
        (Some(caller), _) => caller?,
        (None, Some(ticket)) => tickets::redeem(&state.app, &ticket).await?,
        (None, None) => return Err(ApiError::TokenMissing),
    };
    authed.require(Scope::Read)?;
    let after = pairs.remove("after").map(|raw| message_id("after", &raw, Some(Uuid::nil()))).transpose()?;
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(message_id("Last-Event-ID", value.to_str().unwrap_or_default(), None)?),
        None => after,
    };
    let live::Opened { registration, wake, seen, cursor } = live::open(&state.app, &state.hub, &authed, resume).await?;
    tracing::info!(resume = ?resume, "stream opened");
    // An access token without expiry: a year is as good as never for one connection.
    let expires_in =
        Duration::from_secs(authed.expires().map_or(366 * 24 * 3600, |exp| exp.saturating_sub(unix_now())));
    let keep_alive = KeepAlive::new().interval(state.options.stream_keepalive).text("keep-alive");
    let live = Live {
        closing: state.lifecycle.closing(),
        state,
        registration,
        wake,
        seen,
        credential: authed.credential,
        expires_at: tokio::time::Instant::now() + expires_in,
        cursor,
        page: Vec::new().into_iter(),
        events: Default::default(),
        read: resume.is_some(),
        close: None,
        done: false,
    };
    // The first frame says where the stream starts, as its `id:` (no data, so a browser's EventSource
    // only takes it as its lastEventId): a client that reconnects with it as `Last-Event-ID` misses
    // nothing, even if no message came before the connection dropped.
    let start = cursor.unwrap_or(Uuid::nil()).to_string();
    let connected = futures::stream::once(async { Event::default().retry(RETRY).id(start).comment("connected") });
    let events = connected.chain(futures::stream::unfold(live, Live::next_event)).map(Ok::<_, Infallible>);
    let mut response = Sse::new(events).keep_alive(keep_alive).into_response();
    // Reverse proxies (nginx) must pass events on as they come, not buffer them.
    response.headers_mut().insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    Ok(response)
}

/// Why a stream ended, sent as its last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    TokenExpired,
    TokenRevoked,
    TokenInvalid,
    ShuttingDown,
}

impl Close {
    fn event(self) -> Event {
        let (code, error) = match self {
            Close::TokenExpired => (StreamCloseCode::TokenExpired, "the token has expired; log in again"),
            Close::TokenRevoked => (StreamCloseCode::TokenRevoked, "the token has been revoked; log in again"),
            Close::TokenInvalid => (StreamCloseCode::TokenInvalid, "the token is no longer valid"),
            Close::ShuttingDown => (StreamCloseCode::ShuttingDown, "the server is shutting down; reconnect"),
        };
        let data = StreamClose { code, error: error.to_owned() };
        Event::default().event("close").data(serde_json::to_string(&data).expect("a close notice serializes"))
    }

    fn of(error: ApiError) -> Option<Self> {
        match error {
            ApiError::TokenRevoked => Some(Close::TokenRevoked),
            ApiError::TokenInvalid => Some(Close::TokenInvalid),
            ApiError::TokenExpired => Some(Close::TokenExpired),
            _ => None,
        }
    }
}

/// One open stream: no task and no channel of its own. The response body polls it, so an idle stream
/// is this struct and a waiting future inside the connection's task; its account's changes wake it
/// through the hub (see [`crate::app::live`]).
struct Live {
    state: AppState,
    /// Its place in the hub; dropping it (the client went away) gives the place back.
    registration: Registration,
    wake: watch::Receiver<Generations>,
    /// The generations acted on.
    seen: Generations,
    credential: Credential,
    expires_at: tokio::time::Instant,
    closing: watch::Receiver<bool>,
    /// The last message sent (or the starting point).
    cursor: Option<Uuid>,
    /// Messages read and not sent yet.
    page: std::vec::IntoIter<Message>,
    /// Events for the account's devices not sent yet.
    events: std::collections::VecDeque<std::sync::Arc<AccountEvent>>,
    /// The inbox must be read after the cursor.
    read: bool,
    /// Why the stream is ending, once it is: sent when what is to be delivered has been.
    close: Option<Close>,
    done: bool,
}

/// What woke a waiting stream.
enum Woken {
    Changed(Generations),
    Expired,
    ShuttingDown,
}

impl Live {
    /// The next event, waiting for one as long as it takes; `None` once the close event has been sent.
    async fn next_event(mut self) -> Option<(Event, Self)> {
        loop {
            if let Some(message) = self.page.next() {
                self.cursor = Some(message.id);
                let data = String::from_utf8(message_json(&message, self.owner())).expect("JSON is UTF-8");
                return Some((Event::default().id(message.id.to_string()).data(data), self));
            }
            if let Some(event) = self.events.pop_front() {
                return Some((account_event(&event), self));
            }
            if self.read {
                self.read_page().await;
                continue;
            }
            if self.done {
                return None;
            }
            if let Some(close) = self.close {
                tracing::info!(reason = ?close, "stream closed");
                self.done = true;
                return Some((close.event(), self));
            }
            match self.wait().await {
                Woken::Changed(now) => {
                    metrics::counter!(names::STREAM_WAKEUPS).increment(1);
                    if now.mailbox != self.seen.mailbox {
                        self.read = true;
                    }
                    if now.check != self.seen.check {
                        self.recheck(now.check).await;
                    }
                    if now.events != self.seen.events && self.close.is_none() {
                        let (events, missed) = self.registration.account().events_after(self.seen.events);
                        if missed > 0 {
                            tracing::warn!(missed, "a busy stream missed events for the account's devices");
                        }
                        self.events.extend(events);
                    }
                    self.seen = now;
                }
                // Whatever arrived just before the end is still delivered.
                Woken::Expired => (self.close, self.read) = (Some(Close::TokenExpired), true),
                Woken::ShuttingDown => (self.close, self.read) = (Some(Close::ShuttingDown), true),
            }
        }
    }

    async fn wait(&mut self) -> Woken {
        tokio::select! {
            changed = self.wake.changed() => match changed {
                Ok(()) => Woken::Changed(*self.wake.borrow_and_update()),
                // The hub holds the sender as long as this registration lives.
                Err(_) => Woken::ShuttingDown,
            },
            _ = self.closing.wait_for(|closing| *closing) => Woken::ShuttingDown,
            () = tokio::time::sleep_until(self.expires_at) => Woken::Expired,
        }
    }

    /// Reads one page of the inbox after the cursor; another is due if it was full.
    async fn read_page(&mut self) {
        let query = MessageQuery {
            owner: self.owner(),
            mailbox: Mailbox::Inbox,
            after: self.cursor,
            before: None,
            limit: CATCH_UP_PAGE,
            unread: false,
        };
        match self.state.app.store.list_messages(&query).await {
            Ok(messages) => {
                self.read = messages.len() == CATCH_UP_PAGE;
                self.page = messages.into_iter();
            }
            Err(e) => {
                // Looked at again at the next wake; the cursor has not moved, so nothing is skipped.
                tracing::warn!(error = %e, "stream could not read the inbox");
                self.read = false;
            }
        }
    }

    fn owner(&self) -> Uuid {
        self.registration.account().id()
    }

    /// Checks the credential again against the account as read once for all its streams here; reads the
    /// inbox if its newest message is past the cursor.
    async fn recheck(&mut self, generation: u64) {
        let store = &*self.state.app.store;
        let account = self.registration.account().clone();
        let checked = match account.checked(store, generation).await {
            Ok(checked) => checked,
            // The database is away: keep the stream; the next re-check looks again.
            Err(e) => return tracing::warn!(error = %e, "stream could not re-check its token"),
        };
        let tokens = match &self.credential {
            Credential::Session(_) => None,
            Credential::Access(_) => match account.access_tokens(store, generation).await {
                Ok(tokens) => Some(tokens),
                Err(e) => return tracing::warn!(error = %e, "stream could not re-check its token"),
            },
        };
        let verdict =
            identity::still_counts(&self.credential, checked.user.clone(), tokens.as_deref().map(Vec::as_slice));
        if let Err(error) = verdict {
            if let Some(close) = Close::of(error.into()) {
                // Nothing more is delivered to a credential that no longer counts.
                self.page = Vec::new().into_iter();
                (self.close, self.read) = (Some(close), false);
                return;
            }
        }
        if checked.newest.is_some_and(|newest| self.cursor.is_none_or(|cursor| newest > cursor)) {
            self.read = true;
        }
    }
}

/// `event: read` or `event: deleted`, for every stream of the account (no `id:`: it is not a message, and
/// a reconnecting client's `Last-Event-ID` stays the last message's).
fn account_event(event: &AccountEvent) -> Event {
    let (name, data) = match event {
        AccountEvent::Marked { read, up_to, with, ids, unread } => {
            let ids = (!ids.is_empty()).then(|| ids.clone());
            let data = ReadEvent { read: *read, up_to: *up_to, with: with.clone(), ids, unread: *unread };
            ("read", serde_json::to_string(&data))
        }
        AccountEvent::Deleted { id, unread } => {
            ("deleted", serde_json::to_string(&DeletedEvent { id: *id, unread: *unread }))
        }
    };
    Event::default().event(name).data(data.expect("an event serializes"))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
