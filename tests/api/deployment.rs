//! MongoDB deployments as operators meet them: a standalone server (no change streams), a database that
//! is not up yet when msgd starts, a primary stepping down under write load, injected command failures,
//! a database paused or restarted under open streams, and data written before the message chain existed.
//! Each test runs SecantusDB servers of its own.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mongodb::bson::doc;
use msgkit::client::{Client, ClientError, StreamEvent};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{Cluster, Database, MsgdProcess, SecantusProcess, TestApp, free_port, next_message_within, unread};

/// Sends until the server stores it, retrying 503s under one idempotency key (as msgctl does).
async fn send_until_stored(client: &Client, text: &str, to: &str) -> Uuid {
    let key = format!("test-{}", Uuid::new_v4());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.send_to(text, Some(to), Some(&key)).await {
            Ok(sent) => return sent.message.id,
            Err(e) if e.status() == Some(StatusCode::SERVICE_UNAVAILABLE) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("sending failed: {e:?}"),
        }
    }
}

async fn metrics(node: &MsgdProcess) -> String {
    let url = format!("{}/metrics", node.base_url);
    node.client().http().get(url).send().await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_standalone_server_other_instances_changes_are_polled_for_and_it_says_so() {
    let server = SecantusProcess::start_with(&["--standalone"]);
    let cluster = Cluster::start(Database::mongo_on(&server.url()), &["0s", "0s"], &[("STREAM_RECHECK", "1h")]);
    let log = cluster.nodes[0].log_text_once("standalone server");
    assert!(log.contains("MongoDB is a standalone server (no change streams)"), "{log}");
    let metrics = metrics(&cluster.nodes[1]).await;
    assert!(metrics.contains(r#"msgd_change_feed_mode{mode="polling"} 1"#), "{metrics}");

    let (bob_password, bob) = cluster.user("bob@example.com").await;
    let (_, ada) = cluster.user("ada@example.com").await;
    let mut stream = cluster.client(1).with_token(&bob).stream(None).await.unwrap();
    let sent = cluster.client(0).with_token(&ada).send_to("polled", Some("bob@example.com"), None).await.unwrap();
    assert_eq!(next_message_within(&mut stream, Duration::from_secs(10)).await, unread(sent.message));
    cluster.client(0).change_password("bob@example.com", &bob_password, "a new password").await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Ok(Some(StreamEvent::Closed { code, .. }))) => assert_eq!(code, "token_revoked"),
        other => panic!("expected the stream to close, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_set_is_followed_by_a_change_stream_and_it_says_so() {
    let server = SecantusProcess::start();
    let cluster = Cluster::start(Database::mongo_on(&server.url()), &["0s"], &[]);
    let log = cluster.nodes[0].log_text_once("change stream");
    assert!(log.contains("following other instances' changes through a MongoDB change stream"), "{log}");
    let metrics = metrics(&cluster.nodes[0]).await;
    assert!(metrics.contains(r#"msgd_change_feed_mode{mode="change_stream"} 1"#), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgd_starts_without_its_database_answers_503_and_becomes_ready_when_it_comes_up() {
    let mut server = SecantusProcess::on_port(free_port(), &[]);
    let db = Database::mongo_on(&server.url());
    let mut msgd = MsgdProcess::spawn(&db.config(), &[("DB_TIMEOUT", "1s")]);
    let client = msgd.client();
    let raw = client.http().clone();
    let get = |path: &str| raw.get(format!("{}{path}", msgd.base_url)).send();

    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK, "alive");
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["code"], "unavailable");
    for result in [
        client.create_user("early@example.com").await.map(drop),
        client.login("early@example.com", "whatever-it-is").await.map(drop),
        client.clone().with_token("not.a.token").list_messages().await.map(drop),
    ] {
        match result {
            Err(ClientError::Api { status, code, retry_after, .. }) => {
                assert_eq!((status, code.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
                assert!(retry_after.is_some(), "503 carries Retry-After");
            }
            other => panic!("expected 503 unavailable, got {other:?}"),
        }
    }
    assert!(msgd.child.try_wait().unwrap().is_none(), "msgd keeps running");

    server.launch();
    let up = Instant::now();
    loop {
        if get("/readyz").await.unwrap().status() == StatusCode::OK {
            break;
        }
        assert!(up.elapsed() < Duration::from_secs(10), "not ready 10 s after the database came up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let created = client.create_user("early@example.com").await.unwrap();
    let token = client.login("early@example.com", &created.generated_password).await.unwrap();
    let sent = client.clone().with_token(&token).send_message("made it").await.unwrap();
    assert_eq!(client.clone().with_token(&token).list_messages().await.unwrap(), vec![sent]);
    msgd.signal("TERM");
    assert!(msgd.wait_exit(Duration::from_secs(15)).expect("exits").success());
}

/// What writers saw while the database misbehaved.
#[derive(Default, Debug)]
struct Outcomes {
    acknowledged: HashMap<String, Uuid>,
    unavailable: usize,
    unexpected: Vec<String>,
}

/// `writers` writers, alternating between the instances, each sending numbered messages to itself and
/// retrying 503s under the same idempotency key, until `stop`.
async fn write_until(cluster: &Cluster, tokens: &[String], stop: tokio::sync::watch::Receiver<bool>) -> Outcomes {
    let mut tasks = Vec::new();
    for (w, token) in tokens.iter().enumerate() {
        let clients: Vec<Client> = (0..cluster.nodes.len()).map(|i| cluster.client(i).with_token(token)).collect();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Outcomes::default();
            let mut n = 0;
            while !*stop.borrow() {
                let text = format!("writer {w} message {n}");
                let key = format!("key-{w}-{n}");
                loop {
                    match clients[n % clients.len()].send_to(&text, None, Some(&key)).await {
                        Ok(sent) => {
                            outcomes.acknowledged.insert(text, sent.message.id);
                            break;
                        }
                        Err(ClientError::Api { status: StatusCode::SERVICE_UNAVAILABLE, retry_after, .. }) => {
                            if retry_after.is_none() {
                                outcomes.unexpected.push("a 503 without Retry-After".into());
                            }
                            outcomes.unavailable += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => {
                            outcomes.unexpected.push(format!("{e:?}"));
                            break;
                        }
                    }
                }
                n += 1;
            }
            outcomes
        }));
    }
    let mut all = Outcomes::default();
    for task in tasks {
        let outcomes = task.await.unwrap();
        all.acknowledged.extend(outcomes.acknowledged);
        all.unavailable += outcomes.unavailable;
        all.unexpected.extend(outcomes.unexpected);
    }
    all
}

/// Every acknowledged message is stored exactly once, and nothing else is.
async fn assert_stored_exactly_once(cluster: &Cluster, tokens: &[String], outcomes: &Outcomes) {
    let mut stored: HashMap<String, Vec<Uuid>> = HashMap::new();
    for token in tokens {
        let client = cluster.client(0).with_token(token);
        let mut params = msgkit::api::ListParams { limit: Some(1000), ..msgkit::api::ListParams::from_start() };
        loop {
            let page = client.list_page(&params).await.unwrap();
            let Some(last) = page.messages.last() else { break };
            params.after = Some(last.id);
            for message in page.messages {
                stored.entry(message.content).or_default().push(message.id);
            }
        }
    }
    for (text, id) in &outcomes.acknowledged {
        assert_eq!(stored.get(text), Some(&vec![*id]), "{text} is stored once, as acknowledged");
    }
    assert_eq!(stored.len(), outcomes.acknowledged.len(), "nothing unacknowledged was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_step_down_and_injected_failures_under_write_load_lose_and_duplicate_nothing() {
    let server = SecantusProcess::start_with(&["--enable-test-commands"]);
    let cluster = Cluster::start(Database::mongo_on(&server.url()), &["0s", "0s"], &[("DB_TIMEOUT", "2s")]);
    let mut tokens = Vec::new();
    for w in 0..4 {
        tokens.push(cluster.user(&format!("writer{w}@example.com")).await.1);
    }

    // A step-down: for 6 s the server is a secondary, and every write fails "not primary".
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let writing = write_until(&cluster, &tokens, stopped);
    let disturb = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let answer = server.admin_command(doc! {"replSetStepDown": 6, "force": true}).await;
        assert_eq!(answer.get_f64("ok").ok(), Some(1.0), "{answer}");
        tokio::time::sleep(Duration::from_secs(8)).await;
        stop.send(true).unwrap();
    };
    let (outcomes, ()) = tokio::join!(writing, disturb);
    assert!(outcomes.unexpected.is_empty(), "only 503s with Retry-After: {:?}", outcomes.unexpected);
    assert!(outcomes.unavailable > 0, "the step-down was felt");
    assert!(outcomes.acknowledged.len() > 40, "writes went on before and after: {}", outcomes.acknowledged.len());
    assert_stored_exactly_once(&cluster, &tokens, &outcomes).await;

    // Injected failures: inserts failing with ShutdownInProgress, then with the connection closed.
    for data in
        [doc! {"failCommands": ["insert"], "errorCode": 91}, doc! {"failCommands": ["insert"], "closeConnection": true}]
    {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let writing = write_until(&cluster, &tokens, stopped);
        let disturb = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let fail = doc! {"configureFailPoint": "failCommand", "mode": {"times": 6}, "data": data.clone()};
            server.admin_command(fail).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            stop.send(true).unwrap();
        };
        let (more, ()) = tokio::join!(writing, disturb);
        assert!(more.unexpected.is_empty(), "{data}: only 503s with Retry-After: {:?}", more.unexpected);
        let mut all = Outcomes { acknowledged: outcomes.acknowledged.clone(), ..Default::default() };
        all.acknowledged.extend(more.acknowledged);
        assert_stored_exactly_once(&cluster, &tokens, &all).await;
        server.admin_command(doc! {"configureFailPoint": "failCommand", "mode": "off"}).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_stream_resumes_after_the_database_pauses_or_restarts() {
    let mut server = SecantusProcess::start();
    let env = [("STREAM_RECHECK", "1h"), ("DB_TIMEOUT", "1s")];
    let cluster = Cluster::start(Database::mongo_on(&server.url()), &["0s", "0s"], &env);
    let (_, ada) = cluster.user("ada@example.com").await;
    let (_, bob) = cluster.user("bob@example.com").await;
    let ada_on_a = cluster.client(0).with_token(&ada);
    let mut stream = cluster.client(1).with_token(&bob).stream(None).await.unwrap();
    let first = send_until_stored(&ada_on_a, "before", "bob@example.com").await;
    assert_eq!(next_message_within(&mut stream, Duration::from_secs(10)).await.id, first);

    server.pause();
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.resume();
    let after_pause = send_until_stored(&ada_on_a, "after a pause", "bob@example.com").await;
    assert_eq!(next_message_within(&mut stream, Duration::from_secs(15)).await.id, after_pause);

    server.restart();
    let after_restart = send_until_stored(&ada_on_a, "after a restart", "bob@example.com").await;
    assert_eq!(next_message_within(&mut stream, Duration::from_secs(15)).await.id, after_restart);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_stored_before_the_chain_existed_keep_working_and_the_chain_follows_them() {
    let server = SecantusProcess::start();
    let db = Database::mongo_on(&server.url());
    let app = TestApp::start(db.config()).await;
    let ada = app.user("ada@example.com").await;
    let me = ada.client.me().await.unwrap().user_id.to_string();
    app.stop().await;

    // As an older msgd wrote them: no `prev`, and ids from a clock a minute fast.
    let client = mongodb::Client::with_uri_str(db.mongo_url().unwrap()).await.unwrap();
    let messages = client.default_database().unwrap().collection::<mongodb::bson::Document>("messages");
    let minute_ahead = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let mut ids = msgkit::store::MessageIds::default();
    ids.observe(
        uuid::Builder::from_unix_timestamp_millis(msgkit::store::to_millis(minute_ahead) as u64, &[0; 10]).into_uuid(),
    );
    let old: Vec<Uuid> = (0..2).map(|_| ids.next_id()).collect();
    for (n, id) in old.iter().enumerate() {
        messages
            .insert_one(doc! {
                "_id": id.to_string(), "sender_id": &me, "sender_email": "ada@example.com", "recipient_id": &me,
                "recipient_email": "ada@example.com", "content": format!("old {n}"),
                "created_at": mongodb::bson::DateTime::from_millis(msgkit::store::to_millis(minute_ahead)),
            })
            .await
            .unwrap();
    }

    let app = TestApp::start(db.config()).await;
    let ada = app.client.clone().with_token(&ada.token);
    let new = ada.send_message("new").await.unwrap();
    assert!(new.id > old[1], "a new id follows the newest stored one, even one from a fast clock");
    let listed: Vec<String> = ada.list_messages().await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(listed, ["old 0", "old 1", "new"]);
    let stored = messages.find_one(doc! {"_id": new.id.to_string()}).await.unwrap().unwrap();
    assert_eq!(stored.get_str("prev").unwrap(), old[1].to_string(), "the chain starts at the newest old message");
    app.stop().await;
}
