//! The cross-instance story `scripts/cluster --check` runs through the load balancer: register, log in,
//! send, list, follow streams spread over the instances, and a password change that revokes everywhere.
//! Exits 0 when every step holds, 1 (saying which step failed) otherwise.
//!
//!     cluster_check http://127.0.0.1:4000
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use msgkit::client::{Client, MessageStream, StreamEvent};

/// Streams opened: a round-robin balancer puts one on each of three instances.
const STREAMS: usize = 3;
const MESSAGES: usize = 6;
/// How long a message or a revocation may take to reach every stream.
const WITHIN: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> ExitCode {
    let Some(base) = std::env::args().nth(1) else {
        eprintln!("usage: cluster_check BASE_URL");
        return ExitCode::from(2);
    };
    match check(&base).await {
        Ok(summary) => {
            println!("cluster check passed: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cluster check FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn check(base: &str) -> anyhow::Result<String> {
    let client = Client::new(base)?;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (ada, bob) = (format!("ada-{suffix}@example.com"), format!("bob-{suffix}@example.com"));
    let ada_password = client.create_user(&ada).await.context("registering ada")?.generated_password;
    let bob_password = client.create_user(&bob).await.context("registering bob")?.generated_password;
    let ada_client = client.clone().with_token(client.login(&ada, &ada_password).await.context("ada's login")?);
    let bob_token = client.login(&bob, &bob_password).await.context("bob's login")?;
    let bob_client = client.clone().with_token(&bob_token);

    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        streams.push(bob_client.stream(None).await.context("opening a stream")?);
    }
    let mut slowest = Duration::ZERO;
    let mut sent = Vec::new();
    for n in 0..MESSAGES {
        let started = Instant::now();
        let message = ada_client.send_to(&format!("cluster check {n}"), Some(&bob), None).await.context("sending")?;
        for (i, stream) in streams.iter_mut().enumerate() {
            let got = next(stream).await.with_context(|| format!("message {n} on stream {i}"))?;
            match got {
                StreamEvent::Message(m) if m.id == message.message.id => {}
                other => bail!("stream {i} got {other:?} instead of message {n}"),
            }
        }
        slowest = slowest.max(started.elapsed());
        sent.push(message.message.id);
    }
    let listed: Vec<_> = bob_client.list_messages().await.context("listing")?.into_iter().map(|m| m.id).collect();
    ensure!(listed == sent, "the inbox lists {listed:?}, not the {MESSAGES} messages sent, in order");

    let started = Instant::now();
    client.change_password(&bob, &bob_password, "cluster check new password").await.context("changing the password")?;
    for (i, stream) in streams.iter_mut().enumerate() {
        match next(stream).await.with_context(|| format!("the close of stream {i}"))? {
            StreamEvent::Closed { code, .. } if code == "token_revoked" => {}
            other => bail!("stream {i} got {other:?} instead of closing with token_revoked"),
        }
    }
    let revoked_in = started.elapsed();
    for attempt in 0..STREAMS {
        match bob_client.me().await {
            Err(e) if e.code() == Some("token_revoked") => {}
            other => bail!("request {attempt} with the old token: {other:?} instead of 401 token_revoked"),
        }
    }
    client.login(&bob, "cluster check new password").await.context("logging in with the new password")?;
    Ok(format!(
        "{STREAMS} streams got all {MESSAGES} messages (slowest send-to-every-stream {:.0} ms) and closed \
         {:.0} ms after the password change",
        slowest.as_secs_f64() * 1000.0,
        revoked_in.as_secs_f64() * 1000.0
    ))
}

async fn next(stream: &mut MessageStream) -> anyhow::Result<StreamEvent> {
    match tokio::time::timeout(WITHIN, stream.next()).await {
        Ok(Ok(Some(event))) => Ok(event),
        Ok(Ok(None)) => bail!("the stream ended"),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => bail!("nothing arrived within {WITHIN:?}"),
    }
}
