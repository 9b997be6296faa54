//! Messages: send (to oneself or to another account, idempotently) and list (inbox, sent, one
//! conversation; cursor pages with `Link` headers).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tracing::{debug, info};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Credential, Presented, accepted, current_user, message_id, query_pairs, session_user};
use crate::api::{ErrorBody, ListParams, MailboxName, MessageView, SendMessageRequest, message_json, messages_json};
use crate::domain::{Email, MessageContent};
use crate::store::{Idempotency, Inserted, Mailbox, MessageQuery, NewMessage, Party, Scope};

/// Page size when the request names none, and the largest allowed.
pub const DEFAULT_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1000;

/// `Idempotency-Key`.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on the answer to a retried send: nothing new was stored.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_message, list_messages)).merge(super::stream::routes())
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
            (`recipient_invalid`); a bad Idempotency-Key (`invalid_idempotency_key`); or a malformed body", body = ErrorBody),
        (status = 431, description = "Request headers larger than 64 KiB (`headers_too_large`)", body = ErrorBody),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 404, description = "No account has the `to` email (`recipient_not_found`)", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for a different request (`idempotency_key_reused`)", body = ErrorBody),
        (status = 500, description = "Server error", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn send_message(
    Presented(credential): Presented,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiJson<SendMessageRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let wanted = body.as_ref().ok().map(|ApiJson(body)| recipient(body));
    // A session sending to another account, the common case: the account (for the token check) and the
    // recipient are looked up together. Whatever the body, a bad credential answers first.
    let (authed, found) = match (&credential, &wanted) {
        (Credential::Session(claims), Some(Ok(Some((_, email))))) => {
            let (user, found) = state.store.user_and_recipient(claims.sub, email).await?;
            (session_user(user, claims)?, Some(found))
        }
        _ => (current_user(&state, &credential).await?, None),
    };
    let authed = accepted(&state, authed);
    let ApiJson(body) = body?;
    authed.require(Scope::Send)?;
    let user = authed.user;
    let content = MessageContent::parse(body.content, state.options.max_message_bytes)?;
    let key = idempotency_key(&headers)?;
    let me = Party::from(&user);
    let to = match wanted.expect("the body was read")? {
        None => me.clone(),
        Some((field, email)) => {
            looked_up(&state, user.id, &email)?;
            let found = match found {
                Some(found) => found,
                None => state.store.user_by_email(&email).await?,
            };
            Party::from(&found.ok_or(ApiError::RecipientNotFound(field))?)
        }
    };
    let idempotency = key.map(|key| Idempotency { key, fingerprint: fingerprint(&to, &content) });
    let inserted = state.store.insert_message(NewMessage { from: me, to, content, idempotency }).await?;
    let replayed = matches!(inserted, Inserted::Replayed(_));
    let message = inserted.into_message();
    if replayed {
        info!(message.id = %message.id, "message send retried; the earlier one answers");
    } else {
        info!(message.id = %message.id, recipient.id = %message.to.id, "message sent");
    }
    let mut response = (StatusCode::CREATED, json_body(message_json(&message))).into_response();
    if replayed {
        response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The recipient a send names, and the field it came in; none for a message to oneself.
fn recipient(body: &SendMessageRequest) -> Result<Option<(&'static str, Email)>, ApiError> {
    let (field, raw) = match (&body.to, &body.recipient_email) {
        (Some(_), Some(_)) => {
            return Err(ApiError::body("recipient_email", "Send the recipient as to or as recipient_email, not both"));
        }
        (Some(to), None) => ("to", to),
        (None, Some(alias)) => ("recipient_email", alias),
        (None, None) => return Ok(None),
    };
    let email = Email::parse(raw).map_err(|error| ApiError::Recipient { field, error })?;
    Ok(Some((field, email)))
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(&IDEMPOTENCY_KEY) else { return Ok(None) };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(ApiError::InvalidIdempotencyKey);
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Counts a lookup of another account by email: each answer tells whether it exists, so a caller may ask
/// about only so many distinct emails per window.
fn looked_up(state: &AppState, caller: Uuid, email: &Email) -> Result<(), ApiError> {
    state.throttle.check_lookup(&caller.to_string(), email.as_str()).map_err(|wait| {
        tracing::warn!(retry_after_secs = wait.as_secs(), "rate-limited: too many accounts looked up by email");
        ApiError::RateLimited(wait)
    })
}

/// What a retry must repeat to be a retry: the recipient and the content.
fn fingerprint(to: &Party, content: &MessageContent) -> String {
    let mut hash = Sha256::new();
    hash.update(to.id.as_bytes());
    hash.update(content.as_str().as_bytes());
    format!("{:x}", hash.finalize())
}

/// List messages, oldest first within a page: the inbox (default), the sent box, or one conversation.
///
/// Without `after` or `before`, the page is the newest messages (`Link: rel="prev"` leads to older ones);
/// `after=` (empty) walks from the first.
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
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 404, description = "No account has the `with` email (`user_not_found`)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn list_messages(
    Presented(credential): Presented,
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let parsed = list_params(uri.query());
    let (params, before, mut messages) = match (&credential, parsed) {
        // A session reading its own inbox or sent box, the common case: the account (for the token check)
        // and the page are read together, from one snapshot (SQLite: one read transaction).
        (Credential::Session(claims), Ok(params)) if params.with.is_none() => {
            let mailbox = if params.mailbox == Some(MailboxName::Sent) { Mailbox::Sent } else { Mailbox::Inbox };
            let (query, before) = page_query(claims.sub, mailbox, &params);
            let (user, messages) = state.store.user_and_messages(claims.sub, &query).await?;
            accepted(&state, session_user(user, claims)?);
            (params, before, messages)
        }
        (_, parsed) => {
            let authed = accepted(&state, current_user(&state, &credential).await?);
            authed.require(Scope::Read)?;
            let user = authed.user;
            let params = parsed?;
            let mailbox = match &params.with {
                Some(raw) => {
                    let email = Email::parse(raw)
                        .map_err(|e| ApiError::query("with", format!("The query parameter with {e}")))?;
                    looked_up(&state, user.id, &email)?;
                    let other = state.store.user_by_email(&email).await?.ok_or(ApiError::UserNotFound)?.id;
                    match params.mailbox {
                        None => Mailbox::With(other),
                        Some(MailboxName::Inbox) => Mailbox::From(other),
                        Some(MailboxName::Sent) => Mailbox::To(other),
                    }
                }
                None if params.mailbox == Some(MailboxName::Sent) => Mailbox::Sent,
                None => Mailbox::Inbox,
            };
            let (query, before) = page_query(user.id, mailbox, &params);
            let messages = state.store.list_messages(&query).await?;
            (params, before, messages)
        }
    };
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    let backwards = before.is_some() && params.after.is_none();
    let more = messages.len() > limit as usize;
    if more {
        if backwards {
            messages.remove(0);
        } else {
            messages.pop();
        }
    }
    debug!(count = messages.len(), "messages listed");
    let link = match (more, messages.first(), messages.last()) {
        (true, Some(first), _) if backwards => Some(page_link(&params, limit, None, Some(first.id), "prev")),
        (true, _, Some(last)) => Some(page_link(&params, limit, Some(last.id), params.before, "next")),
        _ => None,
    };
    let mut response = json_body(messages_json(&messages)).into_response();
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
fn page_query(owner: Uuid, mailbox: Mailbox, params: &ListParams) -> (MessageQuery, Option<Uuid>) {
    let before = match (params.after, params.before) {
        (None, None) => Some(Uuid::max()),
        (_, before) => before,
    };
    let limit = params.limit.unwrap_or(DEFAULT_PAGE) as usize + 1;
    (MessageQuery { owner, mailbox, after: params.after, before, limit }, before)
}

/// The query of `GET /messages`, parameter by parameter, with an answer for each mistake.
fn list_params(query: Option<&str>) -> Result<ListParams, ApiError> {
    let mut pairs = query_pairs(query, &["limit", "after", "before", "box", "with"])?;
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
        Some("inbox") => Some(MailboxName::Inbox),
        Some("sent") => Some(MailboxName::Sent),
        Some(_) => return Err(ApiError::query("box", "The query parameter box must be inbox or sent")),
    };
    Ok(ListParams { limit, after, before, mailbox, with: pairs.remove("with") })
}

/// `</messages?…>; rel="…"` for the page with the given cursors and the request's other parameters.
fn page_link(params: &ListParams, limit: u32, after: Option<Uuid>, before: Option<Uuid>, rel: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &limit.to_string());
    if let Some(after) = after {
        query.append_pair("after", &after.to_string());
    }
    if let Some(before) = before {
        query.append_pair("before", &before.to_string());
    }
    if let Some(mailbox) = params.mailbox {
        query.append_pair("box", if mailbox == MailboxName::Sent { "sent" } else { "inbox" });
    }
    if let Some(with) = &params.with {
        query.append_pair("with", with);
    }
    format!("</messages?{}>; rel=\"{rel}\"", query.finish())
}
