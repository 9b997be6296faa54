//! `msgctl`: parse the arguments, run the command, exit with its documented code.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use msgkit::cli::{self, terminal::Terminal};
use time::UtcOffset;

fn main() -> ExitCode {
    // `time` only reads the local offset while the process has a single thread; do it before the runtime.
    let utc_offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(Ok(clap_error)) => clap_error.exit(),
        Err(Err(usage)) => {
            Terminal::detect(true, true, false).error(&usage);
            return ExitCode::from(usage.exit as u8);
        }
    };
    let terminal = Terminal::detect(cli.no_input, cli.json, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("msgctl: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, terminal, utc_offset)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            terminal.error(&error);
            ExitCode::from(error.exit as u8)
        }
    }
}
