//! Fills a msgd database with messages in bulk, through msgkit's own store (the same code msgd writes
//! with), far faster than over HTTP: `bench/run` uses it for the 10⁶-message figures.
//!
//! `cargo run --release --example seed -- DATABASE MESSAGES [INBOX_EMAIL INBOX_MESSAGES]`
//! DATABASE is a data directory or a mongodb:// URL. MESSAGES are sent between 1,000 seeded users;
//! INBOX_MESSAGES more go to INBOX_EMAIL (an existing account), from one seeded user.
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use msgkit::domain::{Email, MessageContent};
use msgkit::store::{Location, NewMessage, NewUser, OpenOptions, Party, now_millis};
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: seed DATABASE MESSAGES [INBOX_EMAIL INBOX_MESSAGES]";
    let database = args.first().ok_or_else(|| anyhow::anyhow!(usage))?;
    let messages: usize = args.get(1).ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let location = if database.starts_with("mongodb") {
        Location::Mongo(database.clone())
    } else {
        Location::from_url(None, Path::new(database)).map_err(anyhow::Error::msg)?
    };
    let options = OpenOptions::new(8, Duration::from_secs(10));
    let store = msgkit::store::open(&location, &options).await?;
    store.ready(Duration::from_secs(30)).await?;
    let started = Instant::now();

    let hash = bcrypt::hash(Uuid::new_v4().to_string(), 4)?;
    let run = Uuid::new_v4().simple().to_string();
    let mut users = Vec::new();
    for i in 0..1000 {
        let email = Email::parse(&format!("seed{i}-{}@example.com", &run[..8]))?;
        let user = NewUser {
            id: Uuid::new_v4(),
            email,
            password_hash: hash.clone(),
            created_at: now_millis(),
            registration_key: None,
            role: msgkit::store::Role::User,
        };
        users.push(Party::from(&store.create_user(user).await?));
    }
    let content = MessageContent::parse("a seeded message of ordinary length, to fill the database", 1024)?;
    let mut pairs: Vec<(Party, Party)> =
        (0..messages).map(|i| (users[i % users.len()].clone(), users[(i * 7 + 1) % users.len()].clone())).collect();
    if let (Some(email), Some(count)) = (args.get(2), args.get(3)) {
        let owner = store.user_by_email(&Email::parse(email)?).await?.ok_or_else(|| anyhow::anyhow!("no {email}"))?;
        let owner = Party::from(&owner);
        pairs.extend((0..count.parse::<usize>()?).map(|_| (users[0].clone(), owner.clone())));
    }
    let total = pairs.len();
    // Many writes in flight at once: the store commits them in groups.
    let results: Vec<_> =
        stream::iter(pairs)
            .map(|(from, to)| {
                let store = store.clone();
                let content = content.clone();
                async move {
                    store.insert_message(NewMessage { from, to, content, idempotency: None, expires_in: None }).await
                }
            })
            .buffer_unordered(512)
            .collect()
            .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    store.close().await;
    anyhow::ensure!(failed == 0, "{failed} inserts failed");
    eprintln!("seeded {total} messages in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
