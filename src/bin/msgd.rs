//! `msgd`: parse the configuration, set up logging, run the server.
#![forbid(unsafe_code)]

use clap::Parser;
use msgkit::config::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let logs = msgkit::telemetry::init(config.log_format);
    let outcome = msgkit::server::run(config).await;
    if let Err(e) = &outcome {
        tracing::error!(error = format!("{e:#}"), "msgd failed");
    }
    // Flush the log before the final message and the exit.
    drop(logs);
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msgd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
