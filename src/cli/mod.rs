//! msgctl, the command-line client: commands, token cache, prompts and exit codes. `src/bin/msgctl.rs` parses
//! the arguments and calls [`run`].

mod account;
mod admin;
pub mod exit;
mod lifecycle;
mod messaging;
pub mod session;
pub mod terminal;
mod tokens;

use clap::{CommandFactory, Parser, Subcommand};
use time::{OffsetDateTime, UtcOffset};

use crate::api::MessageView;
use crate::client::{Client, ClientError};
use exit::{CliError, EXIT_CODES_HELP, Exit};
pub use session::TOKEN_VAR;
use session::{PROFILE_VAR, SessionStore};
use terminal::Terminal;

/// msgctl — the msgkit command-line client.
#[derive(Debug, Parser)]
#[command(
    name = "msgctl",
    version,
    about = "msgctl — send and read msgkit messages from the command line",
    long_about = "msgctl — send and read msgkit messages from the command line.\n\nLog in once with `msgctl login` \
                  (or `msgctl register --login`); the token is cached per server in the config directory \
                  (MSGCTL_CONFIG_DIR, default ~/.config/msgctl), per profile: `--profile admin` keeps a second \
                  account on the same server. MSGCTL_TOKEN, when set, is used instead of the cache: a session \
                  token, or an access token from `msgctl tokens create` for scripts.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// The msgd server (http:// is assumed when no scheme is given).
    #[arg(long, global = true, env = "MSGCTL_SERVER", default_value = "http://localhost:4000",
          help_heading = GLOBAL, value_name = "URL", value_hint = clap::ValueHint::Url)]
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

    /// Which cached login to use: several accounts on one server (e.g. `admin` and `default`).
    #[arg(long, global = true, env = PROFILE_VAR, default_value = session::DEFAULT_PROFILE, help_heading = GLOBAL,
          value_name = "NAME", value_parser = session::profile_name, value_hint = clap::ValueHint::Other)]
    pub profile: String,

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
    #[command(after_help = "Examples:\n  msgctl logout\n  \
                            msgctl logout --everywhere            # every login session, on every device\n  \
                            msgctl logout --everywhere --tokens   # after a leak: access tokens too")]
    Logout {
        /// End every login session of the account, on every device (access tokens keep working: add
        /// --tokens).
        #[arg(long, conflicts_with = "local")]
        everywhere: bool,
        /// With --everywhere: revoke every access token of the account too.
        #[arg(long, requires = "everywhere")]
        tokens: bool,
        /// Only forget the token here, without asking the server to end the session.
        #[arg(long)]
        local: bool,
    },
    /// Show the server, the account and when the token expires; exit 3 when not logged in.
    #[command(after_help = "Examples:\n  msgctl whoami\n  msgctl whoami --json | jq -r .email")]
    Whoami,
    /// Who you are, on which server and profile, and your unread messages by sender.
    #[command(after_help = "Examples:\n  msgctl status\n  msgctl status --json | jq .unread.total")]
    Status,
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
        /// The message expires this long after it is sent, for everyone: a number and a unit (s, m, h, d, w
        /// or y), such as 7d.
        #[arg(long, value_name = "DURATION", value_parser = message_lifetime)]
        expires: Option<String>,
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
        #[arg(long, value_name = "N", value_parser = count)]
        limit: Option<u32>,
        /// Messages you sent instead of your inbox (with --with: those you sent that account).
        #[arg(long)]
        sent: bool,
        /// Only the conversation with this account, both directions.
        #[arg(long, value_name = "EMAIL")]
        with: Option<String>,
        /// Only messages after this message id (a page further on).
        #[arg(long, value_name = "ID", value_parser = message_id)]
        after: Option<uuid::Uuid>,
        /// Every message from the first (or from --after), following the server's pages.
        #[arg(long)]
        all: bool,
        /// Only messages to you that you have not read (in the normal listing, `•` marks them).
        #[arg(long, conflicts_with = "sent")]
        unread: bool,
    },
    /// Mark messages to you read: those named, all of them (--all), or all from one account (--with).
    /// Your other devices see it at once.
    #[command(after_help = "Examples:\n  msgctl read 01a20aa4-16d9-7646-8cff-9c7171f30feb\n  msgctl read --all\n  \
                            msgctl read --with bob@example.com")]
    Read {
        /// Message ids.
        #[arg(value_name = "ID", value_parser = message_id, required_unless_present_any = ["all", "with"], conflicts_with_all = ["all", "with"])]
        ids: Vec<uuid::Uuid>,
        /// Every message to you.
        #[arg(long, conflicts_with = "with")]
        all: bool,
        /// Every message to you from this account.
        #[arg(long, value_name = "EMAIL")]
        with: Option<String>,
    },
    /// Mark messages to you unread again.
    #[command(after_help = "Example:\n  msgctl unread 01a20aa4-16d9-7646-8cff-9c7171f30feb")]
    Unread {
        /// Message ids.
        #[arg(value_name = "ID", value_parser = message_id, required = true)]
        ids: Vec<uuid::Uuid>,
    },
    /// Delete messages: your copy (the other party keeps theirs), or with --for-everyone, as their
    /// sender, both copies (within the server's DELETE_WINDOW, 24 h by default). Asks first; --yes for
    /// scripts.
    #[command(after_help = "Examples:\n  msgctl delete 01a20aa4-16d9-7646-8cff-9c7171f30feb\n  \
                            msgctl delete \"$ID\" --for-everyone --yes")]
    Delete {
        /// Message ids.
        #[arg(value_name = "ID", value_parser = message_id, required = true)]
        ids: Vec<uuid::Uuid>,
        /// Delete the recipient's copy too (you must be the sender).
        #[arg(long)]
        for_everyone: bool,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any.
    #[command(
        after_help = "Examples:\n  msgctl watch\n  msgctl watch --json | while read -r m; do notify-send \"$m\"; done"
    )]
    Watch {
        /// Start after this message id instead of from now.
        #[arg(long, value_name = "ID", value_parser = message_id)]
        after: Option<uuid::Uuid>,
    },
    /// Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command
    /// that prints it.
    #[command(
        after_help = "Example:\n  curl -H \"Authorization: Bearer $(msgctl token)\" http://localhost:4000/users/me"
    )]
    Token,
    /// Access tokens for scripts: long-lived, limited to scopes, revocable one by one.
    #[command(
        subcommand,
        after_help = "Examples:\n  msgctl tokens create backup --scope read --expires 90d\n  msgctl tokens list\n  \
                      msgctl tokens revoke backup"
    )]
    Tokens(TokensCommand),
    /// Administer accounts (administrators only).
    #[command(
        subcommand,
        after_help = "Examples:\n  msgctl --profile admin admin users list\n  \
                      msgctl --profile admin admin users create ada@example.com"
    )]
    Admin(AdminCommand),
    /// List the cached logins: profile, server, account and expiry; `*` marks the one in use.
    #[command(after_help = "Examples:\n  msgctl profiles\n  msgctl --profile admin login --email root@example.com")]
    Profiles,
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

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an access token; prints it once. Needs a login (not an access token) and the password.
    #[command(after_help = "Examples:\n  msgctl tokens create backup --scope read --expires 90d\n  \
                            TOKEN=$(printf '%s\\n' \"$PASSWORD\" | msgctl tokens create ci --scope read,send --password-stdin --quiet)\n  \
                            MSGCTL_TOKEN=$TOKEN msgctl list")]
    Create {
        /// A name, unique among your tokens (what it is for).
        name: String,
        /// What it may do: read (list, watch, whoami), send, admin (administrators); comma-separated.
        #[arg(long, value_enum, value_delimiter = ',', required = true, value_name = "SCOPES")]
        scope: Vec<ScopeArg>,
        /// How long it lasts: a number and m, h, d, w or y, e.g. 30d (default: until revoked).
        #[arg(long, value_name = "DURATION", value_parser = lifetime)]
        expires: Option<String>,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List your access tokens: name, scopes, expiry, last use (never the secrets).
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  msgctl tokens list\n  msgctl tokens list --json | jq -r '.[].name'"
    )]
    List,
    /// Revoke an access token, by id or by name: it is refused at once.
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  msgctl tokens revoke backup\n  msgctl tokens revoke 0193b1c2-…\n  \
                      msgctl tokens revoke --all   # every access token of the account"
    )]
    Revoke {
        /// The token's id or name.
        #[arg(required_unless_present = "all")]
        token: Option<String>,
        /// Revoke every access token of the account.
        #[arg(long, conflicts_with = "token")]
        all: bool,
    },
}

/// A scope, as `--scope` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    Read,
    Send,
    Admin,
}

/// `--limit`: how many, said in words (a page holds at most 1000; with --all, any number).
fn count(raw: &str) -> Result<u32, String> {
    raw.trim().parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        "a whole number, 1 or more (a page holds at most 1000; with --all, at most this many in all)".into()
    })
}

/// `--after`: a message id, said in words rather than the UUID parser's.
fn message_id(raw: &str) -> Result<uuid::Uuid, String> {
    uuid::Uuid::try_parse(raw.trim())
        .map_err(|_| "a message id, a UUID like 01a20aa4-16d9-7646-8cff-9c7171f30feb (list --json shows them)".into())
}

/// What `msgctl list` was asked for.
struct Listing {
    limit: Option<u32>,
    sent: bool,
    with: Option<String>,
    after: Option<uuid::Uuid>,
    all: bool,
    unread: bool,
}

/// `send --expires`, checked before the round trip with the server's own grammar.
fn message_lifetime(raw: &str) -> Result<String, String> {
    match crate::domain::message_lifetime(raw) {
        Some(_) => Ok(raw.to_owned()),
        None => Err("a number and a unit: s, m (minutes), h, d, w or y, such as 7d".to_owned()),
    }
}

/// `--expires`, checked before the round trip with the server's own grammar.
fn lifetime(raw: &str) -> Result<String, String> {
    match crate::domain::token_lifetime(raw) {
        Some(_) => Ok(raw.to_owned()),
        None => Err("a number and a unit: m (minutes), h, d, w or y, such as 30d".to_owned()),
    }
}

/// `msgctl admin`: for administrators. Every account verb lives under `admin users`; the short forms
/// (`msgctl admin create …`) are kept as hidden aliases for scripts written before.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role.
    #[command(
        subcommand,
        after_help = "Examples:\n  msgctl admin users list\n  msgctl admin users create ada@example.com\n  \
                      msgctl admin users deactivate mallory@example.com"
    )]
    Users(AdminUsersCommand),
    #[command(flatten)]
    Short(AdminUsersCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminUsersCommand {
    /// List accounts, in email order: the first 100 unless --all.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  msgctl admin users list\n  \
                            msgctl admin users list --deactivated --all --json | jq -r '.[].email'"
    )]
    List {
        /// Only deactivated accounts.
        #[arg(long)]
        deactivated: bool,
        /// Every account, following the server's pages.
        #[arg(long)]
        all: bool,
        /// Only emails starting with this.
        #[arg(long, value_name = "PREFIX")]
        email: Option<String>,
        /// How many (1-1000 on a page; default 100); with --all, at most this many in all.
        #[arg(long, value_name = "N", value_parser = count)]
        limit: Option<u32>,
    },
    /// Create accounts (registration closed or not); prints each generated password once. Re-running
    /// creates none twice: existing accounts are reported as `exists`.
    #[command(after_help = "Examples:\n  msgctl admin users create ada@example.com bob@example.com\n  \
                            msgctl admin users create --file staff.txt --json > passwords.jsonl\n  \
                            msgctl admin users create --admin ops@example.com")]
    Create {
        /// The emails.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        emails: Vec<String>,
        /// One email a line (`-`: stdin); blank lines and lines starting with # are skipped.
        #[arg(long, value_name = "FILE")]
        file: Option<std::path::PathBuf>,
        /// Make them administrators (asks for your password).
        #[arg(long)]
        admin: bool,
        /// With --admin: read your password from the first line of stdin instead of prompting.
        #[arg(long, requires = "admin")]
        password_stdin: bool,
    },
    /// Deactivate an account: every session and token of it is refused at once; it cannot log in.
    #[command(after_help = "Example:\n  msgctl admin users deactivate mallory@example.com")]
    Deactivate { email: String },
    /// Activate a deactivated account again (its owner logs in anew).
    #[command(after_help = "Example:\n  msgctl admin users activate mallory@example.com")]
    Activate { email: String },
    /// Delete an account and every message it sent or received. Asks first; --yes for scripts.
    #[command(after_help = "Example:\n  msgctl admin users delete old@example.com --yes")]
    Delete {
        email: String,
        /// Do not ask (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Give an account a new generated password (printed once); its sessions are revoked. Asks for your
    /// own password first (a stolen session alone cannot reset one).
    #[command(after_help = "Examples:\n  msgctl admin users reset-password ada@example.com\n  \
                            PASSWORD=$(msgctl admin users reset-password ada@example.com --quiet --password-stdin < my-password)")]
    ResetPassword {
        email: String,
        /// Read your password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Clear an account's failed-login counters, so its owner can log in at once.
    #[command(after_help = "Example:\n  msgctl admin users unlock ada@example.com")]
    Unlock { email: String },
    /// Make an account an administrator (asks for your password), or a user again.
    #[command(after_help = "Examples:\n  msgctl admin users set-role ada@example.com admin\n  \
                            msgctl admin users set-role ada@example.com user")]
    SetRole {
        email: String,
        #[arg(value_enum)]
        role: crate::api::RoleName,
        /// Making an administrator: read your password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The account verbs, also accepted as `msgctl admin <verb>` (hidden there).
const ADMIN_USER_VERBS: [&str; 8] =
    ["list", "create", "deactivate", "activate", "delete", "reset-password", "unlock", "set-role"];

/// The clap command, for parsing, completions and documentation.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("admin", |admin| {
        ADMIN_USER_VERBS.iter().fold(admin, |admin, verb| admin.mut_subcommand(verb, |short| short.hide(true)))
    })
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
    let sessions = SessionStore::locate(&cli.profile)?;
    let ctx = Ctx { server: client.base_url().to_string(), client, sessions, terminal, utc_offset };
    match cli.command {
        Command::Register { email, login } => ctx.register(email, login).await,
        Command::Login { email, password_stdin } => ctx.login(email, password_stdin).await,
        Command::Logout { everywhere, tokens, local } => ctx.logout(everywhere, tokens, local).await,
        Command::Whoami => ctx.whoami().await,
        Command::Passwd { email, password_stdin } => ctx.passwd(email, password_stdin).await,
        Command::Status => ctx.status().await,
        Command::Send { text, to, file: None, expires } => ctx.send(text, to, expires).await,
        Command::Send { to, file: Some(file), .. } => ctx.send_file(&file, to).await,
        Command::List { limit, sent, with, after, all, unread } => {
            ctx.list(Listing { limit, sent, with, after, all, unread }).await
        }
        Command::Read { ids, all, with } => ctx.read(ids, all, with).await,
        Command::Unread { ids } => ctx.unread(ids).await,
        Command::Delete { ids, for_everyone, yes } => ctx.delete(ids, for_everyone, yes).await,
        Command::Watch { after } => ctx.watch(after).await,
        Command::Token => ctx.token(),
        Command::Tokens(command) => ctx.tokens(command).await,
        Command::Admin(command) => ctx.admin(command).await,
        Command::Profiles => ctx.profiles(),
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
        let session = self.sessions.get(&self.server)?.ok_or_else(|| self.not_logged_in())?;
        Ok((session.token, TokenSource::Cache))
    }

    /// "Not logged in", saying where this msgctl does have logins: a mistyped `--server` or a forgotten
    /// `--profile` shows at once.
    fn not_logged_in(&self) -> CliError {
        let mut error = exit::not_logged_in(&self.server);
        let entries = self.sessions.entries().unwrap_or_default();
        let profile = self.sessions.profile();
        let here: Vec<&str> = entries.iter().filter(|e| e.profile == profile).map(|e| e.server.as_str()).collect();
        let elsewhere: Vec<&str> = entries
            .iter()
            .filter(|e| e.server == self.server && e.profile != profile)
            .map(|e| e.profile.as_str())
            .collect();
        if let Some(other) = elsewhere.first() {
            error.message = format!("{} (you are, with --profile {other})", error.message);
        } else if !here.is_empty() {
            error.message =
                format!("{}; logged in to {} — did you mean --server {}?", error.message, here.join(", "), here[0]);
        }
        error
    }

    /// A client carrying the token in use.
    fn authed(&self) -> Result<(Client, TokenSource), CliError> {
        let (token, source) = self.token_in_use()?;
        Ok((self.client.clone().with_token(token), source))
    }

    /// Runs `attempt` with your own current password (re-authentication, for what the server protects with
    /// it): the first line of stdin with `--password-stdin`, else asked at a terminal, three tries.
    async fn with_own_password<T, F, Fut>(
        &self,
        password_stdin: bool,
        source: &TokenSource,
        mut attempt: F,
    ) -> Result<T, CliError>
    where
        F: FnMut(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut tries = 1;
        loop {
            match attempt(self.own_password(password_stdin)?).await {
                Ok(done) => return Ok(done),
                Err(e) if e.code() == Some("invalid_credentials") => {
                    if !password_stdin && tries < 3 {
                        tries += 1;
                        self.terminal.status("The password is wrong; try again.");
                        continue;
                    }
                    return Err(CliError::new(Exit::Auth, "invalid_credentials", "your password is wrong"));
                }
                Err(e) => return Err(self.auth_failed(source, e)),
            }
        }
    }

    /// Your own current password: the first line of stdin with `--password-stdin`, else asked at a terminal.
    fn own_password(&self, password_stdin: bool) -> Result<String, CliError> {
        if password_stdin {
            return Ok(terminal::read_stdin_lines(1, "your password")?.remove(0));
        }
        let prompt = match self.sessions.get(&self.server).ok().flatten() {
            Some(session) => format!("Your password ({})", session.email),
            None => "Your password".to_owned(),
        };
        self.terminal.ask_password(&prompt, "your password is required: pipe it in with --password-stdin")
    }

    /// Turns an authentication failure of a cached token into "log in again", forgetting the token.
    fn auth_failed(&self, source: &TokenSource, error: ClientError) -> CliError {
        self.auth_error(source, CliError::from(error))
    }

    fn auth_error(&self, source: &TokenSource, error: CliError) -> CliError {
        if error.exit == Exit::Denied && matches!(source, TokenSource::Env) {
            let hint = match error.code.as_str() {
                "session_required" => " (unset it to use the session of msgctl login)",
                _ => "",
            };
            return CliError::new(
                Exit::Denied,
                error.code,
                format!("the token in {TOKEN_VAR} was refused: {}{hint}", error.message),
            );
        }
        // Only a refused token says the session is gone: a wrong password typed for `tokens create` does not.
        if error.exit != Exit::Auth || !error.code.starts_with("token_") {
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

    /// `who` of a message line: the sender, or `→ recipient` for messages listed from the sent box.
    fn who(message: &MessageView, sent_box: bool) -> String {
        let who = if sent_box { format!("→ {}", message.to) } else { message.from.clone() };
        terminal::visible(&who).into_owned()
    }

    /// The display width of the widest `who` of `messages`: what [`Ctx::human_message`] pads to, so the text
    /// of a page lines up.
    fn who_width(messages: &[MessageView], sent_box: bool) -> usize {
        use unicode_width::UnicodeWidthStr;
        messages.iter().map(|m| Self::who(m, sent_box).width()).max().unwrap_or(0)
    }

    /// Whether a page of `messages` has unread ones (then each line has a column for the mark).
    fn any_unread(messages: &[MessageView]) -> bool {
        messages.iter().any(|m| m.read == Some(false))
    }

    /// `time  who  text`, `who` padded to `width` columns, continuation lines indented under the text;
    /// with `marks`, a `•` before `who` for an unread message.
    fn human_message(&self, message: &MessageView, sent_box: bool, width: usize, marks: bool) -> String {
        use unicode_width::UnicodeWidthStr;
        let when = self.local_time(message.created_at);
        let who = Self::who(message, sent_box);
        let padding = " ".repeat(width.saturating_sub(who.width()));
        let mark = match (marks, message.read) {
            (false, _) => "",
            (true, Some(false)) => "• ",
            (true, _) => "  ",
        };
        let prefix = format!("{when}  {mark}{who}{padding}  ");
        let indent = " ".repeat(prefix.width());
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
