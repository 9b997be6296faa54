//! msgd's command line: the settings ([`Config`]) and what to do with them.

use clap::Parser;

use crate::config::Config;

/// msgd's command line: the settings, and what to do with them — serve, unless a subcommand says otherwise.
#[derive(Debug, Parser)]
#[command(
    name = "msgd",
    version,
    about = "msgd — the msgkit messaging API server",
    long_about = "msgd — the msgkit messaging API server.\n\nWith no settings it serves on http://127.0.0.1:4000 \
                  and keeps its data in an embedded SQLite file under ./msgd-data. Set MONGODB_URL to use \
                  MongoDB instead. Every setting can be given as a flag (before or after the subcommand) or \
                  as the environment variable shown; flags win. Subcommands act on the same store.",
    after_help = "Logging: RUST_LOG sets the log filter (default: info), e.g. RUST_LOG=msgkit=debug,info."
)]
pub struct MsgdCli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<MsgdCommand>,
}

/// What msgd does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MsgdCommand {
    /// Serve the API (what msgd does without a subcommand).
    Serve,
    /// Administer accounts directly on the configured store, whether msgd is serving or not.
    Admin {
        /// Print one JSON object on stdout.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: super::admin::MsgdAdminCommand,
    },
    /// Write everything the store holds (accounts with their password hashes, access tokens, messages,
    /// the signing secret) as JSON lines, to stdout or --output. Consistent while msgd serves.
    #[command(after_help = "Examples:\n  msgd export --output msgkit.jsonl\n  \
                            MONGODB_URL=mongodb://db/msgkit msgd export | gzip > msgkit.jsonl.gz\n\n\
                            The file holds password hashes and the signing secret: keep it like a password.")]
    Export {
        /// The file to write (created 0600; it must not exist). Default: stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Load an export into the configured store: every line is checked before anything is written.
    #[command(
        after_help = "Examples:\n  msgd import msgkit.jsonl\n  msgd import msgkit.jsonl --merge   # again, after an interruption"
    )]
    Import {
        /// The export file.
        file: std::path::PathBuf,
        /// Import into a store that is not empty: records it holds already are skipped.
        #[arg(long)]
        merge: bool,
        /// Records written per batch [default: 10000 into SQLite, 1000 into MongoDB]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch_size: Option<u64>,
        /// Print the summary as one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Copy the configured store into another and verify the copy. Resumable: run it again after an
    /// interruption, or to bring the target up to date.
    #[command(after_help = "Examples:\n  msgd migrate --to mongodb://db1,db2,db3/msgkit?replicaSet=rs0\n  \
                            MONGODB_URL=mongodb://db/msgkit msgd migrate --to sqlite:///var/lib/msgd/msgd.sqlite3")]
    Migrate {
        /// The target: mongodb://…, mongodb+srv://… or sqlite://PATH. Empty, or an earlier copy of this store.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Records written per batch [default: 10000 into SQLite, 1000 into MongoDB]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch_size: Option<u64>,
        /// Print the summary as one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent copy of the SQLite store to PATH while msgd serves; msgd starts on it as it is.
    #[command(after_help = "Example:\n  msgd backup /backups/msgd-$(date +%F).sqlite3")]
    Backup {
        /// The copy to write (created 0600; it must not exist).
        path: std::path::PathBuf,
        /// Print the summary as one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line and the environment. A bad value is reported by the name the user set — the
/// environment variable when that is where it came from, else the flag — with the rule it broke.
pub fn parse() -> Result<MsgdCli, clap::Error> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::{CommandFactory, FromArgMatches};
    let mut command = MsgdCli::command();
    let matches = match command.try_get_matches_from_mut(std::env::args_os()) {
        Ok(matches) => matches,
        Err(error) if error.kind() == ErrorKind::ValueValidation || error.kind() == ErrorKind::InvalidValue => {
            let argument = match error.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(argument)) => argument.clone(),
                _ => return Err(error),
            };
            let long = argument.split_whitespace().next().unwrap_or("").trim_start_matches("--").to_owned();
            let Some(arg) = command.get_arguments().find(|a| a.get_long() == Some(long.as_str())) else {
                return Err(error);
            };
            let on_command_line =
                std::env::args().any(|a| a == format!("--{long}") || a.starts_with(&format!("--{long}=")));
            let (Some(env), false) = (arg.get_env(), on_command_line) else { return Err(error) };
            let env = env.to_string_lossy().into_owned();
            let shown = if arg.is_hide_env_values_set() {
                "<redacted>".to_owned()
            } else {
                std::env::var(&env).unwrap_or_default()
            };
            let reason = error.to_string();
            let reason = reason.lines().next().unwrap_or("").to_owned();
            let rule = reason.rsplit_once(": ").map_or(reason.as_str(), |(_, rule)| rule).trim().to_owned();
            return Err(command.error(
                ErrorKind::ValueValidation,
                format!("{env}={shown} is not accepted: {rule} (msgd --help describes every setting)"),
            ));
        }
        Err(error) => return Err(error),
    };
    MsgdCli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}
