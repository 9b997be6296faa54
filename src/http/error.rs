//! `ApiError`: every non-2xx answer, as `{"error": "...", "code": "...", "field"?: "..."}` JSON.
//!
//! `error` is a sentence for a person: what is wrong and the rule, in words (never a parser's wording or a
//! system error); `code` is the stable part, for programs; `field` names the body field, query parameter
//! or header the error is about.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use thiserror::Error;

use crate::api::ErrorBody;
use crate::app::AppError;
use crate::domain::{ContentError, EmailError, PasswordError};
use crate::store::StoreError;

/// Why a message can no longer be deleted for everyone, in words.
fn delete_window_text(window: &Option<Duration>) -> String {
    match window {
        Some(window) => format!(
            "A message can be deleted for everyone within {} of sending; delete your own copy instead.",
            humantime::format_duration(*window)
        ),
        None => "Deleting for everyone is off on this server (DELETE_WINDOW=0); delete your own copy instead.".into(),
    }
}

/// An answer other than success. Handlers return `Result<_, ApiError>` and use `?`.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("The request body is not valid JSON: {0}.")]
    InvalidJson(String),
    #[error("{problem}.")]
    InvalidBody { field: Option<String>, problem: String },
    #[error("There is no field {field:?} in this request; it takes {allowed}.")]
    UnknownField { field: String, allowed: String },
    #[error("{problem}.")]
    InvalidQuery { field: Option<String>, problem: String },
    #[error("The request body must be JSON: send Content-Type: application/json.")]
    UnsupportedMediaType,
    #[error("The request body is larger than {0} bytes.")]
    PayloadTooLarge(usize),
    #[error("The email {0}.")]
    Email(EmailError),
    #[error("This email is already registered.")]
    EmailTaken,
    #[error("{} is required.", human_name(.0))]
    Required(&'static str),
    #[error("The new password {0}.")]
    NewPassword(#[from] PasswordError),
    #[error("The new password must differ from the current one.")]
    PasswordUnchanged,
    #[error("The email or the password is wrong.")]
    InvalidCredentials,
    #[error("This request needs a bearer token: send Authorization: Bearer <token> (POST /users/login gives one).")]
    TokenMissing,
    #[error("The bearer token is not valid.")]
    TokenInvalid,
    #[error("The bearer token has expired; log in again.")]
    TokenExpired,
    #[error("The bearer token has been revoked; log in again.")]
    TokenRevoked,
    #[error("The message content {0}.")]
    Content(#[from] ContentError),
    #[error("The recipient ({field}) {error}.")]
    Recipient { field: &'static str, error: EmailError },
    #[error("The recipient ({0}) has no account here.")]
    RecipientNotFound(&'static str),
    #[error("No account has the email given in with.")]
    UserNotFound,
    #[error("There is no account with this id.")]
    AccountNotFound,
    #[error("There is no access token with this id among the account's.")]
    TokenNotFound,
    #[error("You have no message with this id (it may have been deleted, or have expired).")]
    MessageNotFound,
    #[error("Only the sender may delete a message for everyone; delete your own copy without for=everyone.")]
    NotSender,
    #[error("{}", delete_window_text(.0))]
    DeleteWindowPassed(Option<Duration>),
    #[error("Only an administrator may do this.")]
    Forbidden,
    #[error("This access token does not have the {0} scope this needs.")]
    InsufficientScope(&'static str),
    #[error("This needs a login session: an access token cannot do it.")]
    SessionRequired,
    #[error("Registration is closed here: an administrator creates accounts.")]
    RegistrationClosed,
    #[error("This account is deactivated; an administrator can activate it again.")]
    AccountDeactivated,
    #[error("This is the last active administrator: make another administrator first.")]
    LastAdmin,
    #[error("The account already has an access token of this name.")]
    NameTaken,
    #[error("The Idempotency-Key header must be 1 to 255 visible ASCII characters (a UUID is a good choice).")]
    InvalidIdempotencyKey,
    #[error("This Idempotency-Key was used for a different request within the last 24 hours.")]
    IdempotencyKeyReused,
    #[error("Another request with this Idempotency-Key is being handled; retry in a moment.")]
    IdempotencyConflict,
    #[error("There is no {method} {path} here; GET / points to the API description.")]
    RouteNotFound { method: String, path: String },
    #[error("The path {path} does not answer {method}; the Allow header lists what it does answer.")]
    MethodNotAllowed { method: String, path: String },
    /// The database cannot be reached; the detail is logged, not sent.
    #[error("The database is unavailable; retry shortly.")]
    Unavailable(String),
    #[error("The request took longer than {}; it may or may not have been carried out.", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("The server is shutting down; retry, another instance may answer.")]
    ShuttingDown,
    #[error("The server holds as many connections as it may; retry shortly, or reuse a connection.")]
    TooManyConnections,
    #[error("Too many attempts; retry in {} seconds.", retry_secs(.0))]
    RateLimited(Duration),
    #[error(
        "This account has {0} streams open on this server, the most it may; close one (each device needs only one)."
    )]
    TooManyStreams(usize),
    #[error(
        "The request line and headers are larger than {} bytes, or more than {} headers.",
        crate::config::MAX_HEADER_BYTES,
        crate::config::MAX_HEADERS
    )]
    HeadersTooLarge,
    #[error("The stream ticket is unknown, used or expired: ask for another (POST /messages/stream/tickets).")]
    TicketInvalid,
    /// Refused by the HTTP parser before msgd saw a request (answered by [`super::refusal`]).
    #[error(
        "The request is not valid HTTP/1.1: its request line, a header or its framing cannot be read (such as a \
         duplicate Content-Length or a folded header line)."
    )]
    MalformedRequest,
    #[error("The request target (path and query) is longer than 64 KiB.")]
    UriTooLong,
    /// A bug or an unexpected failure; the detail is logged, not sent.
    #[error("Something went wrong on the server; it has been logged (see request_id).")]
    Internal(#[source] anyhow::Error),
}

/// How a body field is named in sentences.
fn human_name(field: &str) -> &'static str {
    match field {
        "email" => "An email",
        "password" => "The password",
        "current_password" => "The current password",
        "new_password" => "A new password",
        "content" => "The message content",
        _ => "A field",
    }
}

impl ApiError {
    /// A problem with one field of the body.
    pub fn body(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ApiError::InvalidBody { field: Some(field.into()), problem: problem.into() }
    }

    /// A problem with one query parameter.
    pub fn query(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ApiError::InvalidQuery { field: Some(field.into()), problem: problem.into() }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidJson(_)
            | InvalidBody { .. }
            | UnknownField { .. }
            | InvalidQuery { .. }
            | Email(_)
            | EmailTaken
            | Required(_)
            | NewPassword(_)
            | PasswordUnchanged
            | Content(_)
            | Recipient { .. }
            | InvalidIdempotencyKey
            | MalformedRequest => StatusCode::BAD_REQUEST,
            UriTooLong => StatusCode::URI_TOO_LONG,
            RecipientNotFound(_) | UserNotFound | AccountNotFound | TokenNotFound | MessageNotFound => {
                StatusCode::NOT_FOUND
            }
            Forbidden
            | InsufficientScope(_)
            | SessionRequired
            | RegistrationClosed
            | AccountDeactivated
            | NotSender
            | DeleteWindowPassed(_) => StatusCode::FORBIDDEN,
            LastAdmin | NameTaken => StatusCode::CONFLICT,
            IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            IdempotencyConflict => StatusCode::CONFLICT,
            RateLimited(_) | TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            InvalidCredentials | TokenMissing | TokenInvalid | TokenExpired | TokenRevoked | TicketInvalid => {
                StatusCode::UNAUTHORIZED
            }
            RouteNotFound { .. } => StatusCode::NOT_FOUND,
            MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Unavailable(_) | Timeout(_) | ShuttingDown | TooManyConnections => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidJson(_) => "invalid_json",
            InvalidBody { .. } => "invalid_body",
            UnknownField { .. } => "unknown_field",
            InvalidQuery { .. } => "invalid_query",
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
            Recipient { .. } => "recipient_invalid",
            RecipientNotFound(_) => "recipient_not_found",
            UserNotFound | AccountNotFound => "user_not_found",
            TokenNotFound => "token_not_found",
            MessageNotFound => "message_not_found",
            NotSender => "not_sender",
            DeleteWindowPassed(_) => "delete_window_passed",
            Forbidden => "forbidden",
            InsufficientScope(_) => "insufficient_scope",
            SessionRequired => "session_required",
            RegistrationClosed => "registration_closed",
            AccountDeactivated => "account_deactivated",
            LastAdmin => "last_admin",
            NameTaken => "name_taken",
            InvalidIdempotencyKey => "invalid_idempotency_key",
            IdempotencyKeyReused => "idempotency_key_reused",
            IdempotencyConflict => "idempotency_conflict",
            RouteNotFound { .. } => "not_found",
            MethodNotAllowed { .. } => "method_not_allowed",
            Unavailable(_) => "unavailable",
            Timeout(_) => "timeout",
            ShuttingDown => "shutting_down",
            TooManyConnections => "too_many_connections",
            RateLimited(_) => "rate_limited",
            TooManyStreams(_) => "too_many_streams",
            HeadersTooLarge => "headers_too_large",
            MalformedRequest => "malformed_request",
            TicketInvalid => "ticket_invalid",
            UriTooLong => "uri_too_long",
            Internal(_) => "internal",
        }
    }

    /// The body field, query parameter or header the error is about.
    pub fn field(&self) -> Option<&str> {
        use ApiError::*;
        match self {
            InvalidBody { field, .. } | InvalidQuery { field, .. } => field.as_deref(),
            UnknownField { field, .. } => Some(field),
            Email(_) | EmailTaken => Some("email"),
            Required(field) => Some(field),
            NewPassword(_) | PasswordUnchanged => Some("new_password"),
            Content(_) => Some("content"),
            Recipient { field, .. } | RecipientNotFound(field) => Some(field),
            UserNotFound => Some("with"),
            NameTaken => Some("name"),
            InvalidIdempotencyKey | IdempotencyKeyReused | IdempotencyConflict => Some("Idempotency-Key"),
            _ => None,
        }
    }

    /// Every code with an example, for the documentation and the tests that keep it complete.
    pub fn catalogue() -> Vec<ApiError> {
        use ApiError::*;
        let route = || ("GET".to_owned(), "/nowhere".to_owned());
        vec![
            InvalidJson("expected a value at line 1, column 1".into()),
            ApiError::body("email", "The field email must be a string, not a number"),
            UnknownField { field: "recipient".into(), allowed: "content, to or recipient_email".into() },
            ApiError::query("limit", "The query parameter limit must be a whole number from 1 to 1000"),
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
            TicketInvalid,
            Content(ContentError::Blank),
            Content(ContentError::TooLong { max: crate::domain::MessageContent::DEFAULT_MAX_BYTES, actual: 16385 }),
            Content(ContentError::ControlCharacter),
            Recipient { field: "to", error: EmailError::Malformed },
            RecipientNotFound("to"),
            UserNotFound,
            AccountNotFound,
            TokenNotFound,
            MessageNotFound,
            NotSender,
            DeleteWindowPassed(Some(Duration::from_secs(24 * 3600))),
            Forbidden,
            InsufficientScope("send"),
            SessionRequired,
            RegistrationClosed,
            AccountDeactivated,
            LastAdmin,
            NameTaken,
            InvalidIdempotencyKey,
            IdempotencyKeyReused,
            IdempotencyConflict,
            RouteNotFound { method: route().0, path: route().1 },
            MethodNotAllowed { method: "DELETE".into(), path: "/messages".into() },
            Unavailable(String::new()),
            Timeout(Duration::from_secs(30)),
            ShuttingDown,
            TooManyConnections,
            RateLimited(Duration::from_secs(60)),
            TooManyStreams(30),
            HeadersTooLarge,
            MalformedRequest,
            UriTooLong,
            Internal(anyhow::anyhow!("example")),
        ]
    }

    /// Every code, in the order of [`ApiError::catalogue`], each once.
    pub fn codes() -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = Vec::new();
        for error in Self::catalogue() {
            if !codes.contains(&error.code()) {
                codes.push(error.code());
            }
        }
        codes
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
        let request_id = if status.is_server_error() { crate::telemetry::current_request_id() } else { None };
        let retry_after = match &self {
            ApiError::RateLimited(wait) => Some(retry_secs(wait)),
            ApiError::TooManyStreams(_) => Some(STREAM_RETRY_SECS),
            _ => None,
        };
        let body = ErrorBody {
            error: self.to_string(),
            code: self.code().to_owned(),
            field: self.field().map(str::to_owned),
            retry_after,
            request_id,
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::InsufficientScope(scope) = &self {
            // RFC 6750: the scope the request needed.
            let challenge = format!(r#"Bearer realm="msgkit", error="insufficient_scope", scope="{scope}""#);
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).expect("ASCII"));
        }
        if status == StatusCode::UNAUTHORIZED && !matches!(self, ApiError::InvalidCredentials) {
            // RFC 6750: tell the client which scheme to use, and why the token failed.
            let challenge = match self {
                ApiError::TokenMissing => r#"Bearer realm="msgkit""#,
                _ => r#"Bearer realm="msgkit", error="invalid_token""#,
            };
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(wait) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
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

/// What a client refused a stream is told to wait: about the time a stream whose client went away
/// silently takes to be noticed (its next keep-alive write fails) and give its place back.
const STREAM_RETRY_SECS: u64 = 30;

/// Whole seconds to wait, rounded up, at least 1.
fn retry_secs(wait: &Duration) -> u64 {
    (wait.as_millis().div_ceil(1000) as u64).max(1)
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { field, problem } => ApiError::body(field, problem),
            AppError::Email(e) => ApiError::Email(e),
            AppError::EmailTaken => ApiError::EmailTaken,
            AppError::Required(field) => ApiError::Required(field),
            AppError::NewPassword(e) => ApiError::NewPassword(e),
            AppError::PasswordUnchanged => ApiError::PasswordUnchanged,
            AppError::InvalidCredentials => ApiError::InvalidCredentials,
            AppError::TokenInvalid => ApiError::TokenInvalid,
            AppError::TokenExpired => ApiError::TokenExpired,
            AppError::TokenRevoked => ApiError::TokenRevoked,
            AppError::Content(e) => ApiError::Content(e),
            AppError::Recipient { field, error } => ApiError::Recipient { field, error },
            AppError::RecipientNotFound(field) => ApiError::RecipientNotFound(field),
            AppError::UserNotFound => ApiError::UserNotFound,
            AppError::AccountNotFound => ApiError::AccountNotFound,
            AppError::TicketInvalid => ApiError::TicketInvalid,
            AppError::TokenNotFound => ApiError::TokenNotFound,
            AppError::MessageNotFound => ApiError::MessageNotFound,
            AppError::NotSender => ApiError::NotSender,
            AppError::DeleteWindowPassed(window) => ApiError::DeleteWindowPassed(window),
            AppError::Forbidden => ApiError::Forbidden,
            AppError::InsufficientScope(scope) => ApiError::InsufficientScope(scope),
            AppError::SessionRequired => ApiError::SessionRequired,
            AppError::RegistrationClosed => ApiError::RegistrationClosed,
            AppError::AccountDeactivated => ApiError::AccountDeactivated,
            AppError::LastAdmin => ApiError::LastAdmin,
            AppError::NameTaken => ApiError::NameTaken,
            AppError::InvalidIdempotencyKey => ApiError::InvalidIdempotencyKey,
            AppError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
            AppError::IdempotencyConflict => ApiError::IdempotencyConflict,
            AppError::RateLimited(wait) => ApiError::RateLimited(wait),
            AppError::TooManyStreams(limit) => ApiError::TooManyStreams(limit),
            AppError::Unavailable(detail) => ApiError::Unavailable(detail),
            AppError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}
