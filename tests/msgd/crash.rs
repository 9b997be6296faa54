//! kill -9 durability: every message msgd acknowledged with a 201 is there after a SIGKILL and a restart,
//! exactly once. The counts are written to `target/durability-<backend>.txt` (scripts/test prints them).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use msgkit::api::ListParams;
use msgkit::client::Client;
use uuid::Uuid;

use crate::backend_tests;
use crate::common::{Backend, Database, MsgdProcess};

backend_tests!(acknowledged_messages_survive_kill_9_exactly_once);

const CYCLES: usize = 20;
const WRITERS: usize = 4;

/// Every message in `client`'s inbox, following the pages: content → ids.
async fn inbox(client: &Client) -> HashMap<String, Vec<Uuid>> {
    let mut seen: HashMap<String, Vec<Uuid>> = HashMap::new();
    let mut params = ListParams { limit: Some(1000), ..ListParams::from_start() };
    loop {
        let page = client.list_page(&params).await.unwrap();
        let Some(last) = page.messages.last() else { break };
        params.after = Some(last.id);
        for message in page.messages {
            seen.entry(message.content).or_default().push(message.id);
        }
    }
    seen
}

async fn acknowledged_messages_survive_kill_9_exactly_once(backend: Backend) {
    let db = Database::fresh(backend).await;
    let config = db.config();
    let mut msgd = MsgdProcess::spawn(&config, &[]);
    let mut tokens = Vec::new();
    for w in 0..WRITERS {
        let client = msgd.client();
        let email = format!("writer{w}@example.com");
        let created = client.create_user(&email).await.unwrap();
        tokens.push(client.login(&email, &created.generated_password).await.unwrap());
    }

    let mut acknowledged: HashMap<String, Uuid> = HashMap::new();
    let mut refused = 0usize;
    for cycle in 0..CYCLES {
        if cycle > 0 {
            msgd = MsgdProcess::spawn(&config, &[]);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(w, token)| {
                let client = Client::with_timeout(&msgd.base_url, Duration::from_secs(5)).unwrap().with_token(token);
                let stop = stop.clone();
                tokio::spawn(async move {
                    let (mut acked, mut failed) = (Vec::new(), 0);
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let tag = format!("cycle {cycle} writer {w} message {n}");
                        match client.send_message(&tag).await {
                            Ok(message) => acked.push((tag, message.id)),
                            // The kill: this request was in flight (or the server was already gone).
                            Err(_) => {
                                failed += 1;
                                break;
                            }
                        }
                        n += 1;
                    }
                    (acked, failed)
                })
            })
            .collect();
        // Let them write for a while, then kill msgd in the middle of it.
        tokio::time::sleep(Duration::from_millis(150 + (cycle as u64 * 37) % 200)).await;
        msgd.signal("KILL");
        msgd.wait_exit(Duration::from_secs(10)).expect("msgd died");
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            let (acked, failed) = writer.await.unwrap();
            refused += failed;
            acknowledged.extend(acked);
        }
    }

    let msgd = MsgdProcess::spawn(&config, &[]);
    let mut present: HashMap<String, Vec<Uuid>> = HashMap::new();
    for token in &tokens {
        present.extend(inbox(&msgd.client().with_token(token)).await);
    }
    let mut lost = Vec::new();
    let mut duplicated = Vec::new();
    for (tag, id) in &acknowledged {
        match present.get(tag).map(Vec::as_slice) {
            Some([stored]) if stored == id => {}
            Some([]) | None => lost.push(tag.clone()),
            Some(_) => duplicated.push(tag.clone()),
        }
    }
    let stored_unacknowledged = present.keys().filter(|tag| !acknowledged.contains_key(*tag)).count();
    let report = format!(
        "kill -9 durability ({}): {CYCLES} SIGKILL cycles, {WRITERS} concurrent writers; {} messages acknowledged, \
         {} of them present exactly once, {} lost, {} duplicated; {refused} requests cut off by the kill \
         ({stored_unacknowledged} of them stored anyway, each once)\n",
        match backend {
            Backend::Sqlite => "embedded SQLite",
            Backend::Mongo => "MongoDB (SecantusDB)",
        },
        acknowledged.len(),
        acknowledged.len() - lost.len() - duplicated.len(),
        lost.len(),
        duplicated.len(),
    );
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Mongo => "mongodb",
    };
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::write(target.join(format!("durability-{name}.txt")), &report).unwrap();
    print!("{report}");
    assert!(acknowledged.len() > CYCLES * WRITERS, "the writers wrote: {report}");
    assert!(lost.is_empty() && duplicated.is_empty(), "{report}lost: {lost:?}\nduplicated: {duplicated:?}");
    assert!(present.values().all(|ids| ids.len() == 1), "no message is stored twice: {report}");
}
