//! `AppError`: why a use case refused or failed, in the product's terms. The HTTP layer gives each its
//! status and JSON body (`http::error`); nothing here knows either.

use std::time::Duration;

use thiserror::Error;

use super::last_admin::AdminError;
use crate::auth::{HashError, TokenError};
use crate::domain::{ContentError, EmailError, PasswordError};
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum AppError {
    /// A value of the request breaks a rule: `field` and the rule, in words.
    #[error("{problem}")]
    Invalid { field: &'static str, problem: String },
    #[error("the email {0}")]
    Email(EmailError),
    #[error("this email is already registered")]
    EmailTaken,
    /// A required field is missing or empty.
    #[error("{0} is required")]
    Required(&'static str),
    #[error("the new password {0}")]
    NewPassword(#[from] PasswordError),
    #[error("the new password must differ from the current one")]
    PasswordUnchanged,
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    #[error("the token is not valid")]
    TokenInvalid,
    #[error("the token has expired")]
    TokenExpired,
    #[error("the stream ticket is unknown, used or expired")]
    TicketInvalid,
    #[error("the token has been revoked")]
    TokenRevoked,
    #[error("the message content {0}")]
    Content(#[from] ContentError),
    #[error("the recipient ({field}) {error}")]
    Recipient { field: &'static str, error: EmailError },
    #[error("the recipient ({0}) has no account here")]
    RecipientNotFound(&'static str),
    /// No account has the email a listing asked about (`with`).
    #[error("no account has this email")]
    UserNotFound,
    /// No account has the id an administrator named.
    #[error("there is no account with this id")]
    AccountNotFound,
    #[error("there is no access token with this id among the account's")]
    TokenNotFound,
    #[error("the caller has no message with this id")]
    MessageNotFound,
    #[error("only the sender may delete a message for everyone")]
    NotSender,
    #[error("the time to delete this message for everyone has passed")]
    DeleteWindowPassed(Option<Duration>),
    #[error("only an administrator may do this")]
    Forbidden,
    #[error("the access token does not have the {0} scope")]
    InsufficientScope(&'static str),
    #[error("this needs a login session")]
    SessionRequired,
    #[error("registration is closed")]
    RegistrationClosed,
    #[error("the account is deactivated")]
    AccountDeactivated,
    #[error("this is the last active administrator")]
    LastAdmin,
    #[error("the account already has an access token of this name")]
    NameTaken,
    #[error("the idempotency key must be 1 to 255 visible ASCII characters")]
    InvalidIdempotencyKey,
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error("another request with this idempotency key is being handled")]
    IdempotencyConflict,
    #[error("too many attempts")]
    RateLimited(Duration),
    #[error("too many streams open")]
    TooManyStreams(usize),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl AppError {
    pub fn invalid(field: &'static str, problem: impl Into<String>) -> Self {
        AppError::Invalid { field, problem: problem.into() }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => AppError::EmailTaken,
            StoreError::NameTaken => AppError::NameTaken,
            StoreError::IdempotencyKeyReused => AppError::IdempotencyKeyReused,
            StoreError::Unavailable(detail) => AppError::Unavailable(detail),
            StoreError::NotFound => AppError::Internal(anyhow::anyhow!("unexpected NotFound from the store")),
            StoreError::Other(e) => AppError::Internal(e),
        }
    }
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<TokenError> for AppError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => AppError::TokenExpired,
            TokenError::Invalid => AppError::TokenInvalid,
        }
    }
}

impl From<AdminError> for AppError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::LastAdmin => AppError::LastAdmin,
            AdminError::NotFound => AppError::AccountNotFound,
            AdminError::Store(e) => e.into(),
        }
    }
}
