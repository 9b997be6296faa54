//! From a parsed command line to an exit code: serve, or run one command and report it.

use std::process::ExitCode;

use super::command::{MsgdCli, MsgdCommand};

/// Runs what `cli` asks: serving (until SIGINT or SIGTERM), or one command on the configured store.
pub async fn main(cli: MsgdCli) -> ExitCode {
    let config = cli.config;
    if let Some(command) = cli.command.filter(|c| !matches!(c, MsgdCommand::Serve)) {
        // A command's output is its own: only warnings and errors are logged.
        let _logs = crate::telemetry::init_quiet(config.log_format);
        let (json, outcome) = match command {
            MsgdCommand::Admin { json, command } => (json, super::admin::run(&config, command, json).await),
            other => super::transfer::run(&config, other).await,
        };
        return match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                if json {
                    eprintln!("{}", serde_json::json!({"error": e.message, "code": e.code}));
                } else {
                    eprintln!("msgd: {}", e.message);
                }
                ExitCode::from(e.exit as u8)
            }
        };
    }
    let logs = crate::telemetry::init(config.log_format);
    let outcome = super::server::run(config).await;
    if let Err(e) = &outcome {
        // Once, in the log (stderr), in the log's format.
        tracing::error!(error = format!("{e:#}"), "msgd could not start or stopped with an error");
    }
    drop(logs);
    if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
