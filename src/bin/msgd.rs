//! `msgd`: parse the command line and run it (see [`msgkit::msgd`]).
#![forbid(unsafe_code)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = msgkit::msgd::parse().unwrap_or_else(|e| e.exit());
    msgkit::msgd::run::main(cli).await
}
