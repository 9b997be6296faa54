//! Opens COUNT `/messages/stream` connections and holds them until stdin closes: `bench/run` measures
//! msgd's memory with 1,000 open streams.
//!
//! `cargo run --release --example hold_streams -- http://127.0.0.1:4000 TOKEN 1000`
#![forbid(unsafe_code)]

use std::io::Read;

use msgkit::client::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: hold_streams URL TOKEN COUNT";
    let url = args.next().ok_or_else(|| anyhow::anyhow!(usage))?;
    let token = args.next().ok_or_else(|| anyhow::anyhow!(usage))?;
    let count: usize = args.next().ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let client = Client::new(&url)?.with_token(token);
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        streams.push(client.stream(None).await?);
    }
    println!("open {}", streams.len());
    // Hold them until told to stop.
    tokio::task::spawn_blocking(|| {
        let _ = std::io::stdin().read(&mut [0u8; 1]);
    })
    .await?;
    drop(streams);
    Ok(())
}
