//! msgctl's exit codes and errors: one sentence for people, a stable code for programs, and an exit code
//! decided by the server's error `code` rather than by matching message text.

use reqwest::StatusCode;

use crate::client::ClientError;

pub use crate::exit::{CliError, EXIT_CODES_HELP, Exit};

/// Not logged in (exit 3).
pub fn not_logged_in(server: &str) -> CliError {
    CliError::new(Exit::Auth, "not_logged_in", format!("not logged in to {server}: run msgctl login"))
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match &e {
            ClientError::Api { status, code, message, retry_after, .. } => {
                let exit = exit_for(*status, code);
                let message = match (exit, retry_after) {
                    // What to do is in the server's sentence (close a stream); the wait is added.
                    (Exit::RateLimited, Some(wait)) if code == "too_many_streams" => {
                        format!("{} (retry in {} s)", message.trim_end_matches('.'), wait.as_secs().max(1))
                    }
                    (Exit::RateLimited, Some(wait)) => format!("rate-limited, retry in {} s", wait.as_secs().max(1)),
                    (Exit::RateLimited, None) => "rate-limited, retry later".to_owned(),
                    (Exit::Unavailable, _) if code == "unavailable" => {
                        "the server's database is unavailable; retry shortly".to_owned()
                    }
                    _ => message.clone(),
                };
                CliError::new(exit, code.clone(), message)
            }
            ClientError::Unreachable { .. } => CliError::new(Exit::Unavailable, "unreachable", e.to_string()),
            ClientError::Timeout { .. } => CliError::new(Exit::Unavailable, "timeout", e.to_string()),
            ClientError::InvalidUrl { .. } => CliError::new(Exit::Usage, "invalid_server_url", e.to_string()),
            ClientError::Protocol(_) => CliError::new(Exit::Other, "protocol", e.to_string()),
        }
    }
}

/// The server's error codes whose exit code is not the one their HTTP status suggests (a `409`-like
/// conflict answered `400`, a `403` that is a conflict, …), or that must stay what they are whatever the
/// status. Every code here is one the server uses (`tests/cli/exit_codes.rs` checks it against
/// `ApiError::codes()`).
pub const EXIT_BY_CODE: &[(&str, Exit)] = &[
    ("email_taken", Exit::Conflict),
    ("idempotency_key_reused", Exit::Conflict),
    ("name_taken", Exit::Conflict),
    ("last_admin", Exit::Conflict),
    ("invalid_credentials", Exit::Auth),
    ("token_missing", Exit::Auth),
    ("token_invalid", Exit::Auth),
    ("token_expired", Exit::Auth),
    ("token_revoked", Exit::Auth),
    ("ticket_invalid", Exit::Auth),
    ("forbidden", Exit::Denied),
    ("insufficient_scope", Exit::Denied),
    ("session_required", Exit::Denied),
    ("registration_closed", Exit::Denied),
    ("account_deactivated", Exit::Denied),
    ("not_sender", Exit::Denied),
    ("delete_window_passed", Exit::Denied),
    ("not_found", Exit::NotFound),
    ("message_not_found", Exit::NotFound),
    ("recipient_not_found", Exit::NotFound),
    ("user_not_found", Exit::NotFound),
    ("token_not_found", Exit::NotFound),
    ("rate_limited", Exit::RateLimited),
    ("too_many_streams", Exit::RateLimited),
    ("unavailable", Exit::Unavailable),
    ("internal", Exit::Unavailable),
    ("timeout", Exit::Unavailable),
    ("too_many_connections", Exit::Unavailable),
];

/// The exit code for a server error: its `code` decides; the status only classifies codes this msgctl
/// does not know yet.
pub fn exit_for(status: StatusCode, code: &str) -> Exit {
    if let Some((_, exit)) = EXIT_BY_CODE.iter().find(|(known, _)| *known == code) {
        return *exit;
    }
    match status.as_u16() {
        400 | 413 | 414 | 415 | 422 | 431 => Exit::Usage,
        401 => Exit::Auth,
        403 => Exit::Denied,
        404 => Exit::NotFound,
        409 => Exit::Conflict,
        429 => Exit::RateLimited,
        500..=599 => Exit::Unavailable,
        _ => Exit::Other,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn api(status: u16, code: &str) -> ClientError {
        ClientError::Api {
            status: StatusCode::from_u16(status).unwrap(),
            code: code.into(),
            message: "m".into(),
            field: None,
            retry_after: None,
        }
    }

    #[test]
    fn the_error_code_decides_the_exit_code() {
        assert_eq!(CliError::from(api(400, "email_taken")).exit, Exit::Conflict);
        assert_eq!(CliError::from(api(400, "content_too_long")).exit, Exit::Usage);
        assert_eq!(CliError::from(api(401, "token_revoked")).exit, Exit::Auth);
        assert_eq!(CliError::from(api(404, "recipient_not_found")).exit, Exit::NotFound);
        assert_eq!(CliError::from(api(503, "unavailable")).exit, Exit::Unavailable);
        assert_eq!(CliError::from(api(502, "http_502")).exit, Exit::Unavailable);
        assert_eq!(CliError::from(api(418, "teapot")).exit, Exit::Other);
        assert_eq!(CliError::from(api(403, "insufficient_scope")).exit, Exit::Denied);
        assert_eq!(CliError::from(api(403, "something_new")).exit, Exit::Denied);
        assert_eq!(CliError::from(api(409, "last_admin")).exit, Exit::Conflict);
        assert_eq!(CliError::from(api(404, "user_not_found")).exit, Exit::NotFound);
    }

    #[test]
    fn rate_limits_say_when_to_retry() {
        let e = ClientError::Api {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited".into(),
            message: "too many".into(),
            field: None,
            retry_after: Some(Duration::from_secs(42)),
        };
        let e = CliError::from(e);
        assert_eq!((e.exit, e.message.as_str()), (Exit::RateLimited, "rate-limited, retry in 42 s"));
    }

    #[test]
    fn too_many_streams_says_what_to_close_and_when_to_retry() {
        let e = CliError::from(ClientError::Api {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_streams".into(),
            message: "This account has 30 streams open on this server, the most it may; close one.".into(),
            field: None,
            retry_after: Some(Duration::from_secs(30)),
        });
        assert_eq!(e.exit, Exit::RateLimited);
        assert_eq!(
            e.message,
            "This account has 30 streams open on this server, the most it may; close one (retry in 30 s)"
        );
    }

    #[test]
    fn transport_failures_are_unavailable() {
        let e = ClientError::Unreachable { url: "http://x/".into(), reason: "Connection refused".into() };
        assert_eq!(CliError::from(e).exit, Exit::Unavailable);
        assert_eq!(CliError::from(ClientError::Timeout { url: "http://x/".into() }).exit, Exit::Unavailable);
    }
}
