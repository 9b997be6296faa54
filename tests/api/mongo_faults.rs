//! Database outages: requests answer 503 `unavailable` within the timeout, nothing unacknowledged is
//! reported as stored, nothing acknowledged is lost, and msgd serves again by itself when the database
//! returns.

use std::time::{Duration, Instant};

use msgkit::client::{Client, ClientError};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{Database, SecantusProcess, TestApp};

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, ClientError>, within: Duration, started: Instant) {
    crate::common::assert_unavailable(result);
    assert!(started.elapsed() < within, "answered after {:?}", started.elapsed());
}

/// Polls until the user's inbox can be read again, for at most 30 s.
async fn wait_for_recovery(client: &Client) -> Vec<Uuid> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.list_messages().await {
            Ok(messages) => return messages.into_iter().map(|m| m.id).collect(),
            Err(e) if Instant::now() < deadline && e.status() == Some(StatusCode::SERVICE_UNAVAILABLE) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("msgd did not recover: {e}"),
        }
    }
}

fn assert_each_once(listed: &[Uuid], acknowledged: &[Uuid]) {
    for id in acknowledged {
        assert_eq!(listed.iter().filter(|l| *l == id).count(), 1, "acknowledged message {id} is listed once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_outages_answer_503_lose_nothing_acknowledged_and_recover_without_a_restart() {
    let mut server = SecantusProcess::start();
    let db = Database::mongo_on(&server.url());
    let mut config = db.config();
    config.db_timeout = Duration::from_secs(1);
    let app = TestApp::start(config).await;
    let user = app.new_user().await;
    let mut acknowledged = vec![user.client.send_message("before the outage").await.unwrap().id];

    // A paused server keeps its connections open and never answers.
    server.pause();
    let limit = Duration::from_secs(4);
    let started = Instant::now();
    assert_unavailable(user.client.send_message("while paused").await, limit, started);
    let started = Instant::now();
    assert_unavailable(user.client.list_messages().await, limit, started);
    let started = Instant::now();
    assert_unavailable(app.client.login(&user.email, &user.password).await, limit, started);
    let started = Instant::now();
    assert_unavailable(app.client.create_user("new@example.com").await, limit, started);
    let ready = app.raw().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "not ready while the database is paused");
    assert!(started.elapsed() < limit + Duration::from_secs(2));
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["code"], "unavailable");
    assert!(ready["request_id"].is_string(), "5xx bodies carry the request id");
    server.resume();

    let listed = wait_for_recovery(&user.client).await;
    assert_each_once(&listed, &acknowledged);
    assert_eq!(app.raw().get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
    acknowledged.push(user.client.send_message("after the pause").await.unwrap().id);

    // A killed server refuses connections.
    server.kill();
    let started = Instant::now();
    assert_unavailable(user.client.send_message("while down").await, limit, started);
    server.restart();

    let listed = wait_for_recovery(&user.client).await;
    assert_each_once(&listed, &acknowledged);
    acknowledged.push(user.client.send_message("after the restart").await.unwrap().id);
    app.client.login(&user.email, &user.password).await.expect("logins work again");
    let listed = wait_for_recovery(&user.client).await;
    assert_each_once(&listed, &acknowledged);
    app.stop().await;
}
