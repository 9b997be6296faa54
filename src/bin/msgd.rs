//! `msgd`: parse the configuration, set up logging, run the server.
#![forbid(unsafe_code)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = msgkit::config::parse().unwrap_or_else(|e| e.exit());
    let logs = msgkit::telemetry::init(config.log_format);
    let outcome = msgkit::server::run(config).await;
    if let Err(e) = &outcome {
        // Once, in the log (stderr), in the log's format.
        tracing::error!(error = format!("{e:#}"), "msgd could not start or stopped with an error");
    }
    drop(logs);
    if outcome.is_ok() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
