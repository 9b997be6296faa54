//! Messages: send (to oneself or to another account, idempotently) and list (inbox, sent, one
//! conversation; cursor pages with `Link` headers).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{ApiJson, PathId, Presented, message_id, query_pairs};
use super::state::AppState;
use crate::api::{
    DeleteParams, ErrorBody, ListParams, MarkReadRequest, MarkUnreadRequest, MarkedResponse, MessageView,
    SendMessageRequest, UnreadResponse, UnreadSender, message_json, messages_json,
};
use crate::app::identity::Caller;
use crate::app::messages::{self, BoxName, MAX_PAGE, MarkRequest, Page};
use crate::domain::Email;
use crate::store::DeleteFor;
use axum::Json;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on the answer to a retried send: nothing new was stored.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message, list_messages))
        .routes(routes!(delete_message))
        .routes(routes!(mark_read))
        .routes(routes!(mark_unread, unread_counts))
        .merge(super::stream::routes())
}

/// Send a message, to another account or (without `to`) to oneself.
#[utoipa::path(
    post, path = "/messages", tag = "messages",
    security(("bearer" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a second request with \
            the same key from the same sender within 24 h stores nothing and gets the first message back \
            (with `Idempotent-Replayed: true`); the same key with a different body is refused with 422. \
            1 to 255 visible ASCII characters, e.g. a UUID.", max_length = 255, min_length = 1, pattern = "^[!-~]+$", nullable = false),
    ),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "Stored (or, for a retried Idempotency-Key, stored before)", body = MessageView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this answers a retry"))),
        (status = 400, description = "Content missing or blank (`content_required`), too long \
            (`content_too_long`) or with control characters (`content_invalid`); `to` not an email \
            (`recipient_invalid`); a bad Idempotency-Key (`invalid_idempotency_key`); `expires_in` not a \
            duration or above `MAX_EXPIRES_IN` (`invalid_body`); or a malformed body", body = ErrorBody),
        (status = 431, description = "Request headers larger than 64 KiB (`headers_too_large`)", body = ErrorBody),
        (status = 404, description = "No account has the `to` email (`recipient_not_found`)", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 403, description = "An access token without the `send` scope (`insufficient_scope`)", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for a different request (`idempotency_key_reused`)", body = ErrorBody),
        (status = 429, description = "Too many distinct `to` emails looked up (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Server error", body = ErrorBody),
    )
)]
async fn send_message(
    Presented(credential): Presented,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiJson<SendMessageRequest>, ApiError>,
) -> Result<Response, ApiError> {
    // Whatever the body, a bad credential answers first.
    let wanted = body
        .as_ref()
        .ok()
        .map(|ApiJson(body)| messages::recipient(body.to.as_deref(), body.recipient_email.as_deref()));
    let to = match &wanted {
        Some(Ok(Some((_, email)))) => Some(email),
        _ => None,
    };
    let (sender, found) = messages::sender(&state.app, &credential, to).await?;
    let ApiJson(body) = body?;
    let outgoing = messages::Outgoing {
        content: body.content,
        recipient: wanted.expect("the body was read"),
        key: headers.get(&IDEMPOTENCY_KEY).map(|key| key.as_bytes().to_vec()),
        expires_in: body.expires_in,
    };
    let (message, replayed) = messages::send(&state.app, sender, found, outgoing).await?;
    let mut response = (StatusCode::CREATED, json_body(message_json(&message, message.from.id))).into_response();
    if replayed {
        response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The recipient a send names, and the field it came in; none for a message to oneself.
#[utoipa::path(
    get, path = "/messages", tag = "messages",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of messages, oldest first. When more follow, a `Link` header \
            (RFC 8288) gives the next page (`rel=\"next\"`); a `before` page gives the previous one \
            (`rel=\"prev\"`).", body = Vec<MessageView>,
            headers(("Link" = String, description = "`</messages?after=…>; rel=\"next\"`"))),
        (status = 400, description = "Invalid query parameters (`invalid_query`)", body = ErrorBody),
        (status = 403, description = "An access token without the `read` scope (`insufficient_scope`)", body = ErrorBody),
        (status = 404, description = "No account has the `with` email (`user_not_found`)", body = ErrorBody),
        (status = 429, description = "Too many distinct `with` emails looked up (`rate_limited`)", body = ErrorBody),
    )
)]
async fn list_messages(
    Presented(credential): Presented,
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let parsed = list_params(uri.query());
    let (reader, listed) = messages::reader(&state.app, &credential, parsed.as_ref().ok()).await?;
    let page = parsed?;
    let listed = match listed {
        Some(listed) => listed,
        None => messages::list(&state.app, &reader, &page).await?,
    };
    let limit = page.limit();
    let link = match (listed.more, listed.messages.first(), listed.messages.last()) {
        (true, Some(first), _) if page.backwards() => Some(page_link(&page, limit, None, Some(first.id), "prev")),
        (true, _, Some(last)) => Some(page_link(&page, limit, Some(last.id), page.before, "next")),
        _ => None,
    };
    let mut response = json_body(messages_json(&listed.messages, reader.user.id)).into_response();
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, HeaderValue::from_str(&link).expect("a link is ASCII"));
    }
    Ok(response)
}

/// A JSON body already written (as `Json` answers it).
fn json_body(bytes: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes)
}

/// The store query for a page of `owner`'s `mailbox`, and the `before` bound it uses. Without a cursor, the
/// newest page: backwards from the end. One more message than asked tells whether another page follows.
/// (`after` ≥ `before` leaves nothing between: an empty page.)
/// The query of `GET /messages`, parameter by parameter, with an answer for each mistake.
fn list_params(query: Option<&str>) -> Result<Page, ApiError> {
    let mut pairs = query_pairs(query, &["limit", "after", "before", "box", "with", "unread"])?;
    let limit = match pairs.remove("limit") {
        None => None,
        Some(raw) => Some(raw.trim().parse::<u32>().ok().filter(|l| (1..=MAX_PAGE).contains(l)).ok_or_else(|| {
            ApiError::query("limit", format!("The query parameter limit must be a whole number from 1 to {MAX_PAGE}"))
        })?),
    };
    let after = pairs.remove("after").map(|raw| message_id("after", &raw, Some(Uuid::nil()))).transpose()?;
    let before = pairs.remove("before").map(|raw| message_id("before", &raw, None)).transpose()?;
    let mailbox = match pairs.remove("box").as_deref() {
        None => None,
        Some("inbox") => Some(BoxName::Inbox),
        Some("sent") => Some(BoxName::Sent),
        Some(_) => return Err(ApiError::query("box", "The query parameter box must be inbox or sent")),
    };
    let with = pairs
        .remove("with")
        .map(|raw| Email::parse(&raw).map_err(|e| ApiError::query("with", format!("The query parameter with {e}"))))
        .transpose()?;
    let unread = match pairs.remove("unread").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::query("unread", "The query parameter unread must be true or false")),
    };
    Ok(Page { limit, after, before, mailbox, with, unread })
}

/// `</messages?…>; rel="…"` for the page with the given cursors and the request's other parameters.
fn page_link(page: &Page, limit: u32, after: Option<Uuid>, before: Option<Uuid>, rel: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &limit.to_string());
    if let Some(after) = after {
        query.append_pair("after", &after.to_string());
    }
    if let Some(before) = before {
        query.append_pair("before", &before.to_string());
    }
    if let Some(mailbox) = page.mailbox {
        query.append_pair("box", if mailbox == BoxName::Sent { "sent" } else { "inbox" });
    }
    if let Some(with) = &page.with {
        query.append_pair("with", with.as_str());
    }
    if page.unread {
        query.append_pair("unread", "true");
    }
    format!("</messages?{}>; rel=\"{rel}\"", query.finish())
}

/// Delete a message: your copy (the recipient's inbox or the sender's sent box; the other party keeps
/// theirs), or with `for=everyone`, by its sender within `DELETE_WINDOW` of sending, both copies. Every
/// device of the accounts concerned gets an `event: deleted` on its stream. A deleted message is in no
/// listing, count, export or stream replay; a cursor naming it still works, and a retried send with its
/// `Idempotency-Key` does not bring it back.
#[utoipa::path(
    delete, path = "/messages/{id}", tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message's id"), DeleteParams),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`for` is not `me` or `everyone` (`invalid_query`)", body = ErrorBody),
        (status = 403, description = "`for=everyone` by the recipient (`not_sender`) or after `DELETE_WINDOW` \
            (`delete_window_passed`); an access token without the `send` scope (`insufficient_scope`)", body = ErrorBody),
        (status = 404, description = "You have no message with this id: never yours, deleted or expired \
            (`message_not_found`)", body = ErrorBody),
    )
)]
async fn delete_message(
    caller: Caller,
    State(state): State<AppState>,
    PathId(id): PathId,
    uri: axum::http::Uri,
) -> Result<StatusCode, ApiError> {
    let mut pairs = query_pairs(uri.query(), &["for"])?;
    let scope = match pairs.remove("for").as_deref() {
        None | Some("me") => DeleteFor::Me,
        Some("everyone") => DeleteFor::Everyone,
        Some(_) => return Err(ApiError::query("for", "The query parameter for must be me or everyone")),
    };
    let id = id.ok_or(ApiError::MessageNotFound)?;
    messages::delete(&state.app, &caller, id, scope).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark inbox messages read: every one up to a message (`up_to`, of one conversation with `with`), or
/// those listed (`ids`). Every device of the account gets an `event: read` on its stream.
#[utoipa::path(
    post, path = "/messages/read", tag = "messages",
    security(("bearer" = [])),
    request_body = MarkReadRequest,
    responses(
        (status = 200, description = "Marked; the unread count after", body = MarkedResponse),
        (status = 400, description = "Neither or both of `up_to` and `ids`, `with` without `up_to`, or not 1 to 1000 \
            ids (`invalid_body`); a malformed body", body = ErrorBody),
        (status = 403, description = "An access token without the `read` scope (`insufficient_scope`)", body = ErrorBody),
        (status = 404, description = "No account has the `with` email (`user_not_found`)", body = ErrorBody),
        (status = 429, description = "Too many distinct `with` emails looked up (`rate_limited`)", body = ErrorBody),
    )
)]
async fn mark_read(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<MarkReadRequest>,
) -> Result<Json<MarkedResponse>, ApiError> {
    let request = MarkRequest::to_read(body.up_to, body.ids, body.with.as_deref())?;
    let outcome = messages::mark(&state.app, &caller, request).await?;
    Ok(Json(MarkedResponse { marked: outcome.changed, unread: outcome.unread }))
}

/// Mark inbox messages unread again. Every device of the account gets an `event: read` (with
/// `"read": false`) on its stream.
#[utoipa::path(
    post, path = "/messages/unread", tag = "messages",
    security(("bearer" = [])),
    request_body = MarkUnreadRequest,
    responses(
        (status = 200, description = "Marked; the unread count after", body = MarkedResponse),
        (status = 400, description = "Not 1 to 1000 ids (`invalid_body`); a malformed body", body = ErrorBody),
        (status = 403, description = "An access token without the `read` scope (`insufficient_scope`)", body = ErrorBody),
    )
)]
async fn mark_unread(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<MarkUnreadRequest>,
) -> Result<Json<MarkedResponse>, ApiError> {
    let outcome = messages::mark(&state.app, &caller, MarkRequest::Ids { ids: body.ids, read: false }).await?;
    Ok(Json(MarkedResponse { marked: outcome.changed, unread: outcome.unread }))
}

/// Count your unread messages, by sender: read from an index of unread messages only, so it costs what
/// is unread, not what is stored.
#[utoipa::path(
    get, path = "/messages/unread", tag = "messages",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The unread messages, counted", body = UnreadResponse),
        (status = 403, description = "An access token without the `read` scope (`insufficient_scope`)", body = ErrorBody),
    )
)]
async fn unread_counts(caller: Caller, State(state): State<AppState>) -> Result<Json<UnreadResponse>, ApiError> {
    let (total, by_sender) = messages::unread(&state.app, &caller).await?;
    let by_sender = by_sender
        .into_iter()
        .map(|s| UnreadSender { email: s.sender.email.to_string(), count: s.count, newest_id: s.newest })
        .collect();
    Ok(Json(UnreadResponse { total, by_sender }))
}
