//! How long a message takes to reach an open stream, on the instance that stored it and on another one
//! on the same database: `bench/run`'s delivery figures. Sends COUNT messages one at a time on the first
//! server and times, from just before each send, its arrival on a stream on each server; then logs the
//! receiver out everywhere on the first server and times the close of both streams. Prints one JSON
//! object of medians and worsts in milliseconds.
//!
//!     delivery_latency http://127.0.0.1:4001 http://127.0.0.1:4002 200
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use msgkit::client::{Client, MessageStream, StreamEvent};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, here, there, count] = args.as_slice() else { bail!("usage: delivery_latency SENDER RECEIVER COUNT") };
    let count: usize = count.parse().context("COUNT")?;
    let (here, there) = (Client::new(here)?, Client::new(there)?);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let token = |email: String| {
        let here = here.clone();
        async move {
            let password = here.create_user(&email).await?.generated_password;
            anyhow::Ok((email.clone(), here.login(&email, &password).await?))
        }
    };
    let (_, sender) = token(format!("sender-{suffix}@example.com")).await?;
    let (receiver_email, receiver) = token(format!("receiver-{suffix}@example.com")).await?;
    let sender = here.clone().with_token(sender);
    let mut same = here.clone().with_token(&receiver).stream(None).await?;
    let mut other = there.clone().with_token(&receiver).stream(None).await?;

    let (mut same_ms, mut other_ms) = (Vec::with_capacity(count), Vec::with_capacity(count));
    for n in 0..count {
        let started = Instant::now();
        let sent = sender.send_to(&format!("latency {n}"), Some(&receiver_email), None).await?.message.id;
        let ((), ()) = tokio::try_join!(
            arrival(&mut same, sent, started, &mut same_ms),
            arrival(&mut other, sent, started, &mut other_ms)
        )?;
    }
    let started = Instant::now();
    here.clone().with_token(&receiver).logout_everywhere().await?;
    let (same_close, other_close) = tokio::try_join!(closed(&mut same, started), closed(&mut other, started))?;
    let summary = |mut ms: Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        (ms[ms.len() / 2], ms[ms.len() - 1])
    };
    let (same_median, same_worst) = summary(same_ms);
    let (other_median, other_worst) = summary(other_ms);
    println!(
        "{}",
        serde_json::json!({
            "count": count,
            "same_median_ms": same_median, "same_worst_ms": same_worst,
            "other_median_ms": other_median, "other_worst_ms": other_worst,
            "same_revoked_ms": same_close, "other_revoked_ms": other_close,
        })
    );
    Ok(())
}

/// Milliseconds from `started` until the stream closes with `token_revoked`.
async fn closed(stream: &mut MessageStream, started: Instant) -> anyhow::Result<f64> {
    match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
        Ok(Ok(Some(StreamEvent::Closed { code, .. }))) if code == "token_revoked" => {
            Ok(started.elapsed().as_secs_f64() * 1000.0)
        }
        other => bail!("the stream did not close with token_revoked: {other:?}"),
    }
}

async fn arrival(
    stream: &mut MessageStream,
    id: uuid::Uuid,
    started: Instant,
    into: &mut Vec<f64>,
) -> anyhow::Result<()> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(Ok(Some(StreamEvent::Message(message)))) if message.id == id => {
                into.push(started.elapsed().as_secs_f64() * 1000.0);
                return Ok(());
            }
            Ok(Ok(Some(StreamEvent::Message(_)))) => {}
            other => bail!("the stream did not deliver {id}: {other:?}"),
        }
    }
}
