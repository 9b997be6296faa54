//! `msgd`: parse the configuration, set up logging, run the server (or an admin command).
#![forbid(unsafe_code)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = msgkit::config::parse().unwrap_or_else(|e| e.exit());
    let config = cli.config;
    use msgkit::config::MsgdCommand;
    if let Some(command) = cli.command.filter(|c| !matches!(c, MsgdCommand::Serve)) {
        // A command's output is its own: only warnings and errors are logged.
        let _logs = msgkit::telemetry::init_quiet(config.log_format);
        let (json, outcome) = match command {
            MsgdCommand::Admin { json, command } => (json, msgkit::admin::run(&config, command, json).await),
            other => msgkit::transfer::run(&config, other).await,
        };
        return match outcome {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                if json {
                    eprintln!("{}", serde_json::json!({"error": e.message, "code": e.code}));
                } else {
                    eprintln!("msgd: {}", e.message);
                }
                std::process::ExitCode::from(e.exit as u8)
            }
        };
    }
    let logs = msgkit::telemetry::init(config.log_format);
    let outcome = msgkit::server::run(config).await;
    if let Err(e) = &outcome {
        // Once, in the log (stderr), in the log's format.
        tracing::error!(error = format!("{e:#}"), "msgd could not start or stopped with an error");
    }
    drop(logs);
    if outcome.is_ok() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
