//! Holds many idle `/messages/stream` connections open, for `bench/run`'s streams section: raw HTTP/1.1
//! over sockets bound to a chosen loopback source address (one address reaches ~28,000 ports; several
//! processes on several addresses reach more), each reading and discarding what it gets (keep-alive
//! comments).
//!
//!     hold_streams register URL COUNT PREFIX > tokens.txt    # COUNT accounts, one token per line
//!     hold_streams hold URL TOKENS_FILE COUNT SOURCE_IP      # COUNT streams over those accounts
//!
//! `hold` prints `open N` once every stream is open, then holds them until its standard input closes.
#![forbid(unsafe_code)]

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context, bail};
use msgkit::client::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["register", url, count, prefix] => register(url, count.parse()?, prefix).await,
        ["hold", url, tokens, count, source] => hold(url, tokens, count.parse()?, source.parse()?).await,
        _ => bail!("usage: hold_streams register URL COUNT PREFIX | hold URL TOKENS_FILE COUNT SOURCE_IP"),
    }
}

/// Registers `count` accounts (16 at a time) and prints a login token for each.
async fn register(url: &str, count: usize, prefix: &str) -> anyhow::Result<()> {
    let client = Client::new(url)?;
    let tokens = futures::stream::iter(0..count)
        .map(|n| {
            let client = client.clone();
            let email = format!("{prefix}-{n}@example.com");
            async move {
                let password = client.create_user(&email).await?.generated_password;
                anyhow::Ok(client.login(&email, &password).await?)
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    for token in tokens {
        println!("{}", token?);
    }
    Ok(())
}

use futures::StreamExt;

/// Opens `count` streams from `source`, round-robin over the tokens (64 opening at a time), and holds them.
async fn hold(url: &str, tokens: &str, count: usize, source: IpAddr) -> anyhow::Result<()> {
    let tokens: Vec<String> = std::fs::read_to_string(tokens)?.lines().map(str::to_owned).collect();
    if tokens.is_empty() {
        bail!("no tokens in the file");
    }
    let url = url::Url::parse(url)?;
    let server: SocketAddr =
        format!("{}:{}", url.host_str().context("a host")?, url.port().context("a port")?).parse()?;
    let tokens = Arc::new(tokens);
    let opened = futures::stream::iter(0..count)
        .map(|n| {
            let tokens = tokens.clone();
            async move { open(server, source, &tokens[n % tokens.len()]).await.with_context(|| format!("stream {n}")) }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    let mut held = 0;
    for stream in opened {
        let mut stream = stream?;
        held += 1;
        // Read and discard: keep-alive comments, and anything else.
        tokio::spawn(async move {
            let mut sink = [0u8; 256];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        });
    }
    println!("open {held}");
    tokio::task::spawn_blocking(|| {
        let _ = std::io::stdin().read(&mut [0u8; 1]);
    })
    .await?;
    Ok(())
}

/// One stream from `source`: the request, then the response head (200 expected).
async fn open(server: SocketAddr, source: IpAddr, token: &str) -> anyhow::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(server).await?;
    let request = format!(
        "GET /messages/stream HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut byte).await?;
        if n == 0 {
            bail!("closed before the response head: {}", String::from_utf8_lossy(&head));
        }
        head.extend_from_slice(&byte[..n]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        bail!("refused: {}", String::from_utf8_lossy(&head));
    }
    Ok(stream)
}
