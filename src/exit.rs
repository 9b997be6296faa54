//! Exit codes and the error a command-line program reports: one sentence for people, a stable code for
//! programs (`--json`), and an exit code. Shared by msgctl ([`crate::cli`]) and msgd's commands
//! ([`crate::msgd`]).

use std::fmt;

/// What msgctl and msgd's commands exit with. Documented in `--help` and in the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// Anything not covered below.
    Other = 1,
    /// Usage error or invalid input.
    Usage = 2,
    /// Not logged in, wrong credentials, token expired or revoked.
    Auth = 3,
    NotFound = 4,
    /// The email is already registered (or another conflict).
    Conflict = 5,
    RateLimited = 6,
    /// The server cannot be reached or is unavailable (connection refused, timeout, 5xx).
    Unavailable = 7,
    /// Authenticated, but not allowed: not an administrator, a token without the scope, a deactivated
    /// account, closed registration.
    Denied = 8,
}

/// The exit code table, for `--help` and the docs.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  other error
  2  usage error or invalid input
  3  authentication: not logged in, wrong credentials, token expired or revoked
  4  not found
  5  conflict: email already registered, name taken, last administrator
  6  rate-limited (retry after the time given)
  7  server unreachable or unavailable: connection refused, timeout, 5xx
  8  permission denied: not an administrator, token lacks the scope, account deactivated";

/// An error a command reports and exits with.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    /// Stable snake_case, as in the server's error bodies (`--json` prints it).
    pub code: String,
    pub message: String,
}

impl CliError {
    pub fn new(exit: Exit, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { exit, code: code.into(), message: message.into() }
    }

    /// Invalid input or a missing argument (exit 2).
    pub fn usage(code: &str, message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, code, message)
    }

    /// Anything else (exit 1).
    pub fn other(code: &str, message: impl Into<String>) -> Self {
        Self::new(Exit::Other, code, message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
