//! `msgd`: parse the configuration, set up logging, run the server.
#![forbid(unsafe_code)]

use clap::Parser;
use msgkit::config::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    msgkit::telemetry::init(config.log_format);
    match msgkit::server::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "msgd failed");
            eprintln!("msgd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
