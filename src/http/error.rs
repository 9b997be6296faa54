//! `ApiError`: every non-2xx answer, as `{"error": "...", "code": "..."}` JSON.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use thiserror::Error;

use crate::api::ErrorBody;
use crate::auth::{HashError, TokenError};
use crate::domain::{ContentError, EmailError, PasswordError};
use crate::store::StoreError;

/// An answer other than success. Handlers return `Result<_, ApiError>` and use `?`.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("request body does not match the expected shape: {0}")]
    InvalidBody(String),
    #[error("invalid query parameter: {0}")]
    InvalidQuery(String),
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Email(#[from] EmailError),
    #[error("email already registered")]
    EmailTaken,
    #[error("{0} is required")]
    Required(&'static str),
    #[error("new_password: {0}")]
    NewPassword(#[from] PasswordError),
    #[error("new_password must differ from current_password")]
    PasswordUnchanged,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("missing bearer token: send Authorization: Bearer <token>")]
    TokenMissing,
    #[error("invalid token")]
    TokenInvalid,
    #[error("token has expired; log in again")]
    TokenExpired,
    #[error("token has been revoked; log in again")]
    TokenRevoked,
    #[error("{0}")]
    Content(#[from] ContentError),
    #[error("to: {0}")]
    Recipient(EmailError),
    #[error("no account with that email")]
    RecipientNotFound,
    #[error("with: no account with that email")]
    UserNotFound,
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    InvalidIdempotencyKey,
    #[error("this Idempotency-Key was used for a different request within the last 24 hours")]
    IdempotencyKeyReused,
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The database cannot be reached; the detail is logged, not sent.
    #[error("database unavailable")]
    Unavailable(String),
    #[error("the request took longer than {0:?}")]
    Timeout(std::time::Duration),
    #[error("shutting down")]
    ShuttingDown,
    #[error("rate-limited: too many attempts; retry in {} s", retry_secs(.0))]
    RateLimited(std::time::Duration),
    #[error("request headers are larger than {} bytes", super::middleware::MAX_HEADER_BYTES)]
    HeadersTooLarge,
    /// A bug or an unexpected failure; the detail is logged, not sent.
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidJson(_)
            | InvalidBody(_)
            | InvalidQuery(_)
            | Email(_)
            | EmailTaken
            | Required(_)
            | NewPassword(_)
            | PasswordUnchanged
            | Content(_)
            | Recipient(_)
            | InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
            RecipientNotFound | UserNotFound => StatusCode::NOT_FOUND,
            IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            InvalidCredentials | TokenMissing | TokenInvalid | TokenExpired | TokenRevoked => StatusCode::UNAUTHORIZED,
            RouteNotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Unavailable(_) | Timeout(_) | ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidJson(_) => "invalid_json",
            InvalidBody(_) => "invalid_body",
            InvalidQuery(_) => "invalid_query",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge(_) => "payload_too_large",
            Email(EmailError::Empty) => "email_required",
            Email(EmailError::TooLong | EmailError::Malformed) => "email_invalid",
            EmailTaken => "email_taken",
            Required("password") => "password_required",
            Required("current_password") => "current_password_required",
            Required("new_password") => "new_password_required",
            Required(_) => "field_required",
            NewPassword(PasswordError::TooShort) => "password_too_short",
            NewPassword(PasswordError::TooLong) => "password_too_long",
            NewPassword(PasswordError::ControlCharacter) => "password_invalid",
            PasswordUnchanged => "password_unchanged",
            InvalidCredentials => "invalid_credentials",
            TokenMissing => "token_missing",
            TokenInvalid => "token_invalid",
            TokenExpired => "token_expired",
            TokenRevoked => "token_revoked",
            Content(ContentError::Blank) => "content_required",
            Content(ContentError::TooLong { .. }) => "content_too_long",
            Content(ContentError::ControlCharacter) => "content_invalid",
            Recipient(_) => "recipient_invalid",
            RecipientNotFound => "recipient_not_found",
            UserNotFound => "user_not_found",
            InvalidIdempotencyKey => "invalid_idempotency_key",
            IdempotencyKeyReused => "idempotency_key_reused",
            RouteNotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Unavailable(_) => "unavailable",
            Timeout(_) => "timeout",
            ShuttingDown => "shutting_down",
            RateLimited(_) => "rate_limited",
            HeadersTooLarge => "headers_too_large",
            Internal(_) => "internal",
        }
    }

    /// Every code with an example message, for the documentation and the test that keeps it complete.
    pub fn catalogue() -> Vec<ApiError> {
        use ApiError::*;
        vec![
            InvalidJson("expected value at line 1 column 1".into()),
            InvalidBody("email: invalid type: map, expected a string".into()),
            InvalidQuery("limit: must be between 1 and 1000".into()),
            UnsupportedMediaType,
            PayloadTooLarge(crate::config::MAX_REQUEST_BODY_BYTES),
            Email(EmailError::Empty),
            Email(EmailError::Malformed),
            EmailTaken,
            Required("password"),
            Required("current_password"),
            Required("new_password"),
            NewPassword(PasswordError::TooShort),
            NewPassword(PasswordError::TooLong),
            NewPassword(PasswordError::ControlCharacter),
            PasswordUnchanged,
            InvalidCredentials,
            TokenMissing,
            TokenInvalid,
            TokenExpired,
            TokenRevoked,
            Content(ContentError::Blank),
            Content(ContentError::TooLong { max: crate::domain::MessageContent::DEFAULT_MAX_BYTES }),
            Content(ContentError::ControlCharacter),
            Recipient(EmailError::Malformed),
            RecipientNotFound,
            UserNotFound,
            InvalidIdempotencyKey,
            IdempotencyKeyReused,
            RouteNotFound,
            MethodNotAllowed,
            Unavailable(String::new()),
            Timeout(std::time::Duration::from_secs(30)),
            ShuttingDown,
            RateLimited(std::time::Duration::from_secs(60)),
            HeadersTooLarge,
            Internal(anyhow::anyhow!("example")),
        ]
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Unavailable(detail) => tracing::warn!(error = %detail, "database unavailable"),
            ApiError::Internal(e) => tracing::error!(error = format!("{e:#}"), "internal error"),
            _ => {}
        }
        // 5xx bodies name the request, so a report can be matched with the log lines that explain it.
        let request_id = if status.is_server_error() { super::middleware::current_request_id() } else { None };
        let body = ErrorBody { error: self.to_string(), code: self.code().to_owned(), request_id };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED && !matches!(self, ApiError::InvalidCredentials) {
            // RFC 6750: tell the client which scheme to use, and why the token failed.
            let challenge = match self {
                ApiError::TokenMissing => r#"Bearer realm="msgkit""#,
                _ => r#"Bearer realm="msgkit", error="invalid_token""#,
            };
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let ApiError::RateLimited(wait) = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_secs(wait)));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
            // The rest of the body is never read, so the connection cannot carry another request: say so,
            // or a client may reuse it and see its next request fail.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Whole seconds to wait, rounded up, at least 1.
fn retry_secs(wait: &std::time::Duration) -> u64 {
    (wait.as_millis().div_ceil(1000) as u64).max(1)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => ApiError::EmailTaken,
            StoreError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
            StoreError::NotFound => ApiError::Internal(anyhow::anyhow!("unexpected NotFound from the store")),
            StoreError::Other(e) => ApiError::Internal(e),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => ApiError::TokenExpired,
            TokenError::Invalid => ApiError::TokenInvalid,
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => ApiError::InvalidBody(
                e.body_text()
                    .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
                    .to_owned(),
            ),
            JsonRejection::JsonSyntaxError(e) => ApiError::InvalidJson(
                e.body_text().trim_start_matches("Failed to parse the request body as JSON: ").to_owned(),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge(crate::config::MAX_REQUEST_BODY_BYTES)
            }
            other => ApiError::InvalidJson(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::InvalidQuery(
            rejection.body_text().trim_start_matches("Failed to deserialize query string: ").to_owned(),
        )
    }
}
