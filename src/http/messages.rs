//! Messages: send and list.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tracing::info;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, AuthUser};
use crate::api::{ErrorBody, MessageView, SendMessageRequest};
use crate::domain::MessageContent;
use crate::store::{Mailbox, MessageQuery, NewMessage, Party};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_message, list_messages))
}

/// Send a message.
#[utoipa::path(
    post, path = "/messages", tag = "messages",
    security(("bearer" = [])),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "Stored", body = MessageView),
        (status = 400, description = "Content missing or blank (`content_required`), too long \
            (`content_too_long`) or with control characters (`content_invalid`); or a malformed body", body = ErrorBody),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 500, description = "Server error", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn send_message(
    AuthUser(user): AuthUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> Result<(StatusCode, Json<MessageView>), ApiError> {
    let content = MessageContent::parse(body.content, state.options.max_message_bytes)?;
    let me = Party::from(&user);
    let message = state.store.insert_message(NewMessage { from: me.clone(), to: me, content }).await?;
    info!(message.id = %message.id, "message sent");
    Ok((StatusCode::CREATED, Json(message.into())))
}

/// List the caller's messages, oldest first.
#[utoipa::path(
    get, path = "/messages", tag = "messages",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's messages, oldest first", body = Vec<MessageView>),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn list_messages(
    AuthUser(user): AuthUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<MessageView>>, ApiError> {
    let query =
        MessageQuery { owner: user.id, mailbox: Mailbox::Inbox, after: None, before: None, limit: i64::MAX as usize };
    let messages = state.store.list_messages(&query).await?;
    info!(count = messages.len(), "messages listed");
    Ok(Json(messages.into_iter().map(MessageView::from).collect()))
}
