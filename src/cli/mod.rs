//! msgctl, the command-line client: commands, token cache, prompts and exit codes. `src/bin/msgctl.rs` parses
//! the arguments and calls [`run`].

mod account;
pub mod exit;
mod messaging;
pub mod session;
pub mod terminal;

use clap::{CommandFactory, Parser, Subcommand};
use time::{OffsetDateTime, UtcOffset};

use crate::api::MessageView;
use crate::client::{Client, ClientError};
use exit::{CliError, EXIT_CODES_HELP, Exit};
use session::SessionStore;
use terminal::Terminal;

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
    /// The msgd server (http:// is assumed when no scheme is given).
    #[arg(long, global = true, env = "MSGCTL_SERVER", default_value = "http://localhost:4000",
          help_heading = GLOBAL, value_name = "URL")]
    pub server: String,

    /// Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    /// Print only what a script needs: no status lines.
    #[arg(long, short, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_input: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account; prints its generated password once.
    #[command(after_help = "Examples:\n  msgctl register ada@example.com --login\n  \
                            PASSWORD=$(msgctl register bob@example.com --quiet)")]
    Register {
        /// The account's email (prompted for when missing).
        email: Option<String>,
        /// Also log in and cache the token, so the password need not be typed.
        #[arg(long)]
        login: bool,
    },
    /// Log in and cache the token for this server.
    #[command(after_help = "Examples:\n  msgctl login --email ada@example.com\n  \
                            printf '%s\\n' \"$PASSWORD\" | msgctl login --email ada@example.com --password-stdin")]
    Login {
        /// The account's email (default: the one last logged in here; prompted for when missing).
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Log out: end this session on the server (its token stops working) and forget it here.
    #[command(after_help = "Examples:\n  msgctl logout\n  msgctl logout --everywhere   # every device and script too")]
    Logout {
        /// Revoke every token of the account on the server: log out of every device and script.
        #[arg(long, conflicts_with = "local")]
        everywhere: bool,
        /// Only forget the token here, without asking the server to end the session.
        #[arg(long)]
        local: bool,
    },
    /// Show the server, the account and when the token expires; exit 3 when not logged in.
    #[command(
        visible_alias = "status",
        after_help = "Examples:\n  msgctl whoami\n  msgctl whoami --json | jq -r .email"
    )]
    Whoami,
    /// Change the password, and stay logged in with the new one.
    #[command(after_help = "Examples:\n  msgctl passwd\n  \
                            printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | msgctl passwd --password-stdin")]
    Passwd {
        /// The account's email (default: the logged-in account).
        #[arg(long)]
        email: Option<String>,
        /// Read two lines from stdin: the current password, then the new one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never
    /// duplicated.
    #[command(
        after_help = "Examples:\n  msgctl send \"hello, world\"\n  ID=$(msgctl send --to bob@example.com \"hi bob\")\n  \
                            echo \"from a pipe\" | msgctl send --to bob@example.com\n  \
                            msgctl send --to bob@example.com --file notes.txt"
    )]
    Send {
        /// The text; `-`, or nothing with stdin not a terminal, reads it from stdin (one trailing newline
        /// dropped).
        #[arg(conflicts_with = "file")]
        text: Option<String>,
        /// The recipient's email (default: yourself).
        #[arg(long, value_name = "EMAIL")]
        to: Option<String>,
        /// Send each non-blank line of FILE (`-`: stdin) as a message. Re-running the same file sends only
        /// the lines not sent yet.
        #[arg(long, value_name = "FILE")]
        file: Option<std::path::PathBuf>,
    },
    /// List messages, oldest first: the most recent page of the inbox by default.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  msgctl list\n  msgctl list --with bob@example.com --limit 20\n  \
                                  msgctl list --sent --with bob@example.com   # what you sent bob\n  \
                                  msgctl list --all --json | jq -r '.[].content'"
    )]
    List {
        /// How many messages (1-1000 on a page; default 100); with --all, at most this many in all.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
        /// Messages you sent instead of your inbox (with --with: those you sent that account).
        #[arg(long)]
        sent: bool,
        /// Only the conversation with this account, both directions.
        #[arg(long, value_name = "EMAIL")]
        with: Option<String>,
        /// Only messages after this message id (a page further on).
        #[arg(long, value_name = "ID")]
        after: Option<uuid::Uuid>,
        /// Every message from the first (or from --after), following the server's pages.
        #[arg(long)]
        all: bool,
    },
    /// Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any.
    #[command(
        after_help = "Examples:\n  msgctl watch\n  msgctl watch --json | while read -r m; do notify-send \"$m\"; done"
    )]
    Watch {
        /// Start after this message id instead of from now.
        #[arg(long, value_name = "ID")]
        after: Option<uuid::Uuid>,
    },
    /// Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command
    /// that prints it.
    #[command(
        after_help = "Example:\n  curl -H \"Authorization: Bearer $(msgctl token)\" http://localhost:4000/users/me"
    )]
    Token,
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    // The global options mean nothing here: the help shows only the shell.
    #[command(
        override_usage = "msgctl completions <SHELL>",
        help_template = "{about-with-newline}\n{usage-heading} {usage}\n\nArguments:\n{positionals}\n{after-help}",
        after_help = "Example:\n  msgctl completions bash > ~/.local/share/bash-completion/completions/msgctl"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The clap command, for completions and documentation.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses msgctl's command line. A usage error is a [`CliError`] (exit 2) so that `--json` can report it
/// as JSON like any other; `--help` and `--version` are printed as usual.
pub fn parse() -> Result<Cli, Result<clap::Error, CliError>> {
    use clap::FromArgMatches;
    use clap::error::ErrorKind;
    let matches = command().try_get_matches().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Ok(e)
        }
        _ if std::env::args().any(|a| a == "--json") => {
            let detail = e.to_string();
            let first = detail.lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned();
            Err(CliError::usage("usage", first))
        }
        _ => Ok(e),
    })?;
    Cli::from_arg_matches(&matches).map_err(Ok)
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
        Command::Logout { everywhere, local } => ctx.logout(everywhere, local).await,
        Command::Whoami => ctx.whoami().await,
        Command::Passwd { email, password_stdin } => ctx.passwd(email, password_stdin).await,
        Command::Send { text, to, file: None } => ctx.send(text, to).await,
        Command::Send { to, file: Some(file), .. } => ctx.send_file(&file, to).await,
        Command::List { limit, sent, with, after, all } => ctx.list(limit, sent, with, after, all).await,
        Command::Watch { after } => ctx.watch(after).await,
        Command::Token => ctx.token(),
        Command::Completions { .. } => unreachable!("handled above"),
    }
}

/// Where the token in use came from.
enum TokenSource {
    Env,
    Cache,
}

/// What every command works with.
struct Ctx {
    client: Client,
    /// The normalized server URL, the cache's key.
    server: String,
    sessions: SessionStore,
    terminal: Terminal,
    utc_offset: UtcOffset,
}

impl Ctx {
    /// The token from `MSGCTL_TOKEN`, else from the cache.
    fn token_in_use(&self) -> Result<(String, TokenSource), CliError> {
        if let Some(token) = std::env::var(TOKEN_VAR).ok().filter(|t| !t.trim().is_empty()) {
            return Ok((token.trim().to_owned(), TokenSource::Env));
        }
        let session = self.sessions.get(&self.server)?.ok_or_else(|| CliError::not_logged_in(&self.server))?;
        Ok((session.token, TokenSource::Cache))
    }

    /// A client carrying the token in use.
    fn authed(&self) -> Result<(Client, TokenSource), CliError> {
        let (token, source) = self.token_in_use()?;
        Ok((self.client.clone().with_token(token), source))
    }

    /// Turns an authentication failure of a cached token into "log in again", forgetting the token.
    fn auth_failed(&self, source: &TokenSource, error: ClientError) -> CliError {
        self.auth_error(source, CliError::from(error))
    }

    fn auth_error(&self, source: &TokenSource, error: CliError) -> CliError {
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

    fn local_time(&self, at: OffsetDateTime) -> String {
        let local = at.to_offset(self.utc_offset);
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        let mut text = local.format(format).expect("times format");
        if self.utc_offset == UtcOffset::UTC {
            text.push_str(" UTC");
        }
        text
    }

    /// `time  who  text`, continuation lines indented under the text. `who` is the sender, or `→ recipient`
    /// for messages listed from the sent box.
    fn human_message(&self, message: &MessageView, sent_box: bool) -> String {
        let when = self.local_time(message.created_at);
        let who = if sent_box { format!("→ {}", message.to) } else { message.from.clone() };
        let who = terminal::visible(&who).into_owned();
        let prefix = format!("{when}  {who}  ");
        let indent = " ".repeat(prefix.chars().count());
        let content = terminal::visible(&message.content);
        let mut lines = content.lines();
        let mut text = format!("{prefix}{}", lines.next().unwrap_or(""));
        for line in lines {
            text.push('\n');
            text.push_str(&indent);
            text.push_str(line);
        }
        text
    }
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
