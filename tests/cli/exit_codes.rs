//! msgctl's exit codes are decided by the server's error codes: every code msgctl names is one the server
//! uses, and every code the server uses gets the exit its meaning calls for.

use msgkit::cli::exit::{EXIT_BY_CODE, Exit, exit_for};
use msgkit::http::ApiError;

#[test]
fn every_code_msgctl_names_is_one_the_server_uses() {
    let codes = ApiError::codes();
    for (code, _) in EXIT_BY_CODE {
        assert!(codes.contains(code), "msgctl names {code:?}, which the server never answers");
    }
}

#[test]
fn every_server_error_gets_a_deliberate_exit_code() {
    for error in ApiError::catalogue() {
        let (status, code) = (error.status(), error.code());
        let exit = exit_for(reqwest::StatusCode::from_u16(status.as_u16()).unwrap(), code);
        let expected = match code {
            "email_taken" | "idempotency_key_reused" | "idempotency_conflict" | "name_taken" | "last_admin" => {
                Exit::Conflict
            }
            "invalid_credentials"
            | "token_missing"
            | "token_invalid"
            | "token_expired"
            | "token_revoked"
            | "ticket_invalid" => Exit::Auth,
            "forbidden"
            | "insufficient_scope"
            | "session_required"
            | "registration_closed"
            | "account_deactivated"
            | "not_sender"
            | "delete_window_passed" => Exit::Denied,
            "not_found" | "recipient_not_found" | "user_not_found" | "token_not_found" | "message_not_found" => {
                Exit::NotFound
            }
            "rate_limited" | "too_many_streams" => Exit::RateLimited,
            "unavailable" | "internal" | "timeout" | "shutting_down" | "too_many_connections" => Exit::Unavailable,
            "method_not_allowed" => Exit::Other,
            // Everything else is a mistake in the request: invalid input.
            _ => Exit::Usage,
        };
        assert_eq!(exit, expected, "{code} ({status})");
    }
}
