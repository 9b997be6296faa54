//! What a call can end with, other than success.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use thiserror::Error;

use crate::api::ErrorBody;

/// What a call can end with, other than success.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The server answered with an error body.
    #[error("{message}")]
    Api {
        status: StatusCode,
        /// The stable code of the error body, e.g. `email_taken`.
        code: String,
        message: String,
        /// The field, query parameter or header the error is about, when the server named one.
        field: Option<String>,
        /// From `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// No connection could be made, or it broke before an answer.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server did not answer in time.
    #[error("the server at {url} did not answer in time")]
    Timeout { url: String },
    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// The server URL is not usable.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

impl ClientError {
    /// The HTTP status, for errors the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error body's code, for errors the server answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A system error as a person would say it: "connection refused — is msgd running there?", not
/// "Connection refused (os error 111)".
pub(super) fn reason_in_words(reason: &str) -> String {
    let plain = match reason.find(" (os error") {
        Some(at) => &reason[..at],
        None => reason,
    };
    let lower = plain.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused — is msgd running there?".to_owned()
    } else if lower.contains("failed to lookup address") || lower.contains("name or service not known") {
        "no such host".to_owned()
    } else if lower.contains("connection reset") {
        "the connection was reset".to_owned()
    } else if lower.contains("timed out") {
        "the connection timed out".to_owned()
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("the TLS connection failed ({plain})")
    } else {
        plain.to_owned()
    }
}

pub(super) fn error_from(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ClientError {
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => ClientError::Api { status, code: body.code, message: body.error, field: body.field, retry_after },
        _ => ClientError::Api {
            status,
            code: format!("http_{}", status.as_u16()),
            message: format!("The server answered HTTP {status} without an error body."),
            field: None,
            retry_after,
        },
    }
}
