//! msgctl, the command-line client: commands, token cache, prompts and exit codes. `src/bin/msgctl.rs` parses
//! the arguments and calls [`run`].

pub mod exit;
pub mod session;
pub mod terminal;

use clap::{CommandFactory, Parser, Subcommand};
use serde_json::json;
use time::{OffsetDateTime, UtcOffset};

use crate::api::{MessageView, rfc3339_millis};
use crate::client::{Client, ClientError};
use crate::domain::Email;
use exit::{CliError, EXIT_CODES_HELP, Exit};
use session::{Session, SessionStore, token_expiry};
use terminal::{Terminal, read_stdin_lines, read_stdin_text};

/// Overrides the cached token (CI and scripts).
pub const TOKEN_VAR: &str = "MSGCTL_TOKEN";

/// msgctl — the msgkit command-line client.
#[derive(Debug, Parser)]
#[command(
    name = "msgctl",
    version,
    about = "msgctl — send and read msgkit messages from the command line",
    long_about = "msgctl — send and read msgkit messages from the command line.\n\nLog in once with `msgctl login` \
                  (or `msgctl register --login`); the token is cached per server in the config directory \
                  (MSGCTL_CONFIG_DIR, default ~/.config/msgctl). MSGCTL_TOKEN, when set, is used instead of the cache.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// The msgd server.
    #[arg(long, global = true, env = "MSGCTL_SERVER", default_value = "http://localhost:4000")]
    pub server: String,

    /// Print JSON on stdout (errors as {"error","code"} on stderr).
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only what a script needs: no status lines.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal.
    #[arg(long, global = true)]
    pub no_input: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account; prints its generated password once.
    Register {
        /// The account's email (prompted for when missing).
        email: Option<String>,
        /// Also log in and cache the token, so the password need not be typed.
        #[arg(long)]
        login: bool,
    },
    /// Log in and cache the token for this server.
    Login {
        /// The account's email (prompted for when missing).
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget the cached token for this server.
    Logout,
    /// Show the server, the account and when the token expires; exit 3 when not logged in.
    #[command(visible_alias = "status")]
    Whoami,
    /// Change the password, and stay logged in with the new one.
    Passwd {
        /// The account's email (default: the logged-in account).
        #[arg(long)]
        email: Option<String>,
        /// Read two lines from stdin: the current password, then the new one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Send a message.
    Send {
        /// The text; `-`, or nothing with stdin not a terminal, reads it from stdin (one trailing newline
        /// dropped).
        text: Option<String>,
    },
    /// List messages, oldest first.
    #[command(visible_alias = "ls")]
    List {
        /// Show only the N most recent.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
    },
    /// Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command
    /// that prints it.
    Token,
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The clap command, for completions and documentation.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs one msgctl invocation; `utc_offset` is the local time zone for human-readable times.
pub async fn run(cli: Cli, terminal: Terminal, utc_offset: UtcOffset) -> Result<(), CliError> {
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut command(), "msgctl", &mut std::io::stdout());
        return Ok(());
    }
    let client = Client::new(&cli.server)?;
    let ctx =
        Ctx { server: client.base_url().to_string(), client, sessions: SessionStore::locate()?, terminal, utc_offset };
    match cli.command {
        Command::Register { email, login } => ctx.register(email, login).await,
        Command::Login { email, password_stdin } => ctx.login(email, password_stdin).await,
        Command::Logout => ctx.logout(),
        Command::Whoami => ctx.whoami(),
        Command::Passwd { email, password_stdin } => ctx.passwd(email, password_stdin).await,
        Command::Send { text } => ctx.send(text).await,
        Command::List { limit } => ctx.list(limit).await,
        Command::Token => ctx.token(),
        Command::Completions { .. } => unreachable!("handled above"),
    }
}

/// Where the token in use came from.
enum TokenSource {
    Env,
    Cache,
}

struct Ctx {
    client: Client,
    /// The normalized server URL, the cache's key.
    server: String,
    sessions: SessionStore,
    terminal: Terminal,
    utc_offset: UtcOffset,
}

impl Ctx {
    /// A client carrying the token from `MSGCTL_TOKEN`, else from the cache.
    fn authed(&self) -> Result<(Client, TokenSource), CliError> {
        if let Some(token) = std::env::var(TOKEN_VAR).ok().filter(|t| !t.trim().is_empty()) {
            return Ok((self.client.clone().with_token(token.trim()), TokenSource::Env));
        }
        let session = self.sessions.get(&self.server)?.ok_or_else(|| CliError::not_logged_in(&self.server))?;
        Ok((self.client.clone().with_token(session.token), TokenSource::Cache))
    }

    /// Turns an authentication failure of a cached token into "log in again", forgetting the token.
    fn auth_failed(&self, source: &TokenSource, error: ClientError) -> CliError {
        let error = CliError::from(error);
        if error.exit != Exit::Auth {
            return error;
        }
        match source {
            TokenSource::Cache => {
                let _ = self.sessions.remove(&self.server);
                CliError::new(Exit::Auth, error.code, "session expired or revoked — run msgctl login")
            }
            TokenSource::Env => CliError::new(
                Exit::Auth,
                error.code,
                format!("the token in {TOKEN_VAR} was refused: {}", error.message),
            ),
        }
    }

    fn expiry_text(&self, expires_at: Option<OffsetDateTime>) -> String {
        match expires_at {
            Some(at) => {
                let left = at - OffsetDateTime::now_utc();
                let left = std::time::Duration::from_secs(left.whole_seconds().max(0) as u64);
                let left = humantime::format_duration(std::time::Duration::from_secs(left.as_secs() / 60 * 60));
                format!("{} (in {left})", self.local_time(at))
            }
            None => "unknown".to_owned(),
        }
    }

    fn local_time(&self, at: OffsetDateTime) -> String {
        let local = at.to_offset(self.utc_offset);
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        let mut text = local.format(format).expect("times format");
        if self.utc_offset == UtcOffset::UTC {
            text.push_str(" UTC");
        }
        text
    }

    async fn register(&self, email: Option<String>, login: bool) -> Result<(), CliError> {
        let email = match email {
            Some(email) => email,
            None => self.terminal.ask("Email", "an email is required: msgctl register EMAIL")?,
        };
        let created = self.client.create_user(&email).await?;
        let mut logged_in = false;
        if login {
            let token = self.client.login(&created.email, &created.generated_password).await?;
            self.sessions.put(&self.server, Session { email: created.email.clone(), token })?;
            logged_in = true;
        }
        if self.terminal.json {
            self.terminal.out_json(&json!({
                "user_id": created.user_id,
                "email": created.email,
                "generated_password": created.generated_password,
                "logged_in": logged_in,
            }));
        } else if self.terminal.quiet {
            self.terminal.out(&created.generated_password);
        } else {
            self.terminal.status(format!("✓ Created account {} on {}", created.email, self.server));
            self.terminal.out(format!("Password: {}", created.generated_password));
            self.terminal.status("! Store this password now: it is shown only once and cannot be recovered or reset.");
            if logged_in {
                self.terminal.status(format!("✓ Logged in as {}", created.email));
            }
        }
        Ok(())
    }

    async fn login(&self, email: Option<String>, password_stdin: bool) -> Result<(), CliError> {
        let email = match email {
            Some(email) => email,
            None => self.terminal.ask("Email", "an email is required: msgctl login --email EMAIL")?,
        };
        let password = if password_stdin {
            read_stdin_lines(1, "the password")?.remove(0)
        } else {
            self.terminal.ask_password("Password", "a password is required: pipe it in with --password-stdin")?
        };
        let email = normalized(&email);
        let token = self.client.login(&email, &password).await?;
        self.logged_in(email, token)
    }

    /// Caches a fresh token and reports it.
    fn logged_in(&self, email: String, token: String) -> Result<(), CliError> {
        let expires_at = token_expiry(&token);
        self.sessions.put(&self.server, Session { email: email.clone(), token })?;
        if self.terminal.json {
            self.terminal.out_json(&json!({
                "server": self.server,
                "email": email,
                "expires_at": expires_at.map(rfc3339_millis::format),
            }));
        } else {
            self.terminal.status(format!("✓ Logged in to {} as {email}", self.server));
        }
        Ok(())
    }

    fn logout(&self) -> Result<(), CliError> {
        let removed = self.sessions.remove(&self.server)?;
        if self.terminal.json {
            self.terminal.out_json(&json!({"server": self.server, "logged_out": removed}));
        } else if removed {
            self.terminal.status(format!("✓ Logged out of {}", self.server));
        } else {
            self.terminal.status(format!("Not logged in to {}", self.server));
        }
        Ok(())
    }

    fn whoami(&self) -> Result<(), CliError> {
        let (email, token, source) = match std::env::var(TOKEN_VAR).ok().filter(|t| !t.trim().is_empty()) {
            Some(token) => (None, token.trim().to_owned(), "env"),
            None => {
                let session = self.sessions.get(&self.server)?.ok_or_else(|| CliError::not_logged_in(&self.server))?;
                (Some(session.email), session.token, "cache")
            }
        };
        let expires_at = token_expiry(&token);
        if expires_at.is_some_and(|at| at <= OffsetDateTime::now_utc()) {
            return Err(CliError::new(
                Exit::Auth,
                "token_expired",
                format!("the session on {} has expired — run msgctl login", self.server),
            ));
        }
        if self.terminal.json {
            self.terminal.out_json(&json!({
                "server": self.server,
                "email": email,
                "expires_at": expires_at.map(rfc3339_millis::format),
                "token_source": source,
            }));
        } else if !self.terminal.quiet {
            let who = email.unwrap_or_else(|| format!("the account of the token in {TOKEN_VAR}"));
            self.terminal.out(format!("Logged in to {} as {who}", self.server));
            self.terminal.out(format!("Token expires {}", self.expiry_text(expires_at)));
        }
        Ok(())
    }

    async fn passwd(&self, email: Option<String>, password_stdin: bool) -> Result<(), CliError> {
        let email = match email {
            Some(email) => normalized(&email),
            None => match self.sessions.get(&self.server)? {
                Some(session) => session.email,
                None => self.terminal.ask("Email", "an email is required: msgctl passwd --email EMAIL")?,
            },
        };
        let (current, new) = if password_stdin {
            let mut lines = read_stdin_lines(2, "two lines: the current password, then the new one")?;
            let new = lines.pop().expect("two lines");
            (lines.pop().expect("two lines"), new)
        } else {
            let missing = "passwords are required: pipe two lines (current, new) in with --password-stdin";
            let current = self.terminal.ask_password("Current password", missing)?;
            (current, self.terminal.ask_new_password(missing)?)
        };
        self.client.change_password(&email, &current, &new).await?;
        self.terminal.status("✓ Password changed; every earlier login token is now revoked");
        // Stay logged in: the old token no longer works.
        match self.client.login(&email, &new).await {
            Ok(token) => self.logged_in(email, token),
            Err(e) => {
                let _ = self.sessions.remove(&self.server);
                let e = CliError::from(e);
                Err(CliError::new(
                    e.exit,
                    e.code,
                    format!("the password was changed, but logging in again failed ({}); run msgctl login", e.message),
                ))
            }
        }
    }

    async fn send(&self, text: Option<String>) -> Result<(), CliError> {
        let text = match text.as_deref() {
            Some("-") => from_stdin()?,
            Some(_) => text.expect("matched Some"),
            None if !self.terminal.stdin_is_terminal() => from_stdin()?,
            None => {
                return Err(CliError::usage(
                    "input_required",
                    "nothing to send: msgctl send TEXT, or pipe the text in",
                ));
            }
        };
        let (client, source) = self.authed()?;
        let message = client.send_message(&text).await.map_err(|e| self.auth_failed(&source, e))?;
        if self.terminal.json {
            self.terminal.out_json(&message);
        } else if self.terminal.quiet {
            self.terminal.out(message.id.to_string());
        } else {
            self.terminal.status(format!("✓ Sent {}", message.id));
        }
        Ok(())
    }

    async fn list(&self, limit: Option<u64>) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let mut messages = client.list_messages().await.map_err(|e| self.auth_failed(&source, e))?;
        if let Some(limit) = limit {
            let keep = usize::try_from(limit).unwrap_or(usize::MAX);
            let skip = messages.len().saturating_sub(keep);
            messages.drain(..skip);
        }
        if self.terminal.json {
            self.terminal.out_json(&messages);
        } else if messages.is_empty() {
            self.terminal.status("No messages.");
        } else {
            for message in &messages {
                self.terminal.out(self.human_message(message));
            }
        }
        Ok(())
    }

    fn human_message(&self, message: &MessageView) -> String {
        let when = self.local_time(message.created_at);
        let indent = " ".repeat(when.chars().count() + 2);
        let mut lines = message.content.lines();
        let mut text = format!("{when}  {}", lines.next().unwrap_or(""));
        for line in lines {
            text.push('\n');
            text.push_str(&indent);
            text.push_str(line);
        }
        text
    }

    fn token(&self) -> Result<(), CliError> {
        let token = match std::env::var(TOKEN_VAR).ok().filter(|t| !t.trim().is_empty()) {
            Some(token) => token.trim().to_owned(),
            None => self.sessions.get(&self.server)?.ok_or_else(|| CliError::not_logged_in(&self.server))?.token,
        };
        if self.terminal.json {
            self.terminal.out_json(&json!({"token": token}));
        } else {
            self.terminal.out(token);
        }
        Ok(())
    }
}

/// The text of a message piped in on stdin, without the one trailing newline `echo` adds.
fn from_stdin() -> Result<String, CliError> {
    let text = read_stdin_text()?;
    let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    Ok(text.to_owned())
}

/// The email as the server will store it, when it is a valid one.
fn normalized(email: &str) -> String {
    Email::parse(email).map_or_else(|_| email.trim().to_owned(), |e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn the_help_documents_the_exit_codes() {
        let help = command().render_long_help().to_string();
        for line in ["3  authentication", "7  server unreachable or unavailable"] {
            assert!(help.contains(line), "{help}");
        }
    }
}
