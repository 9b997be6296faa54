//! Connections and streams at scale: a change wakes only its account's streams, an account holds a bounded
//! number of streams, and every connection is bounded in time (its request head, its idle time, its
//! unread writes) and in number — with the open-files limit raised so that the number can be reached.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::backend_tests;
use crate::common::{Backend, Database, MsgdProcess, spawn_app_with};

backend_tests!(a_change_wakes_only_the_streams_of_its_account, an_account_may_hold_only_so_many_streams_at_once,);

/// A counter or gauge from msgd's `/metrics`, summed over its label sets.
async fn metric(msgd: &MsgdProcess, name: &str) -> f64 {
    let text =
        msgd.client().http().get(format!("{}/metrics", msgd.base_url)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with([' ', '{']))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn a_change_wakes_only_the_streams_of_its_account(backend: Backend) {
    let db = Database::fresh(backend).await;
    // No safety-net sweep during the test: every wake-up is a change's.
    let msgd = MsgdProcess::spawn(&db.config(), &[("STREAM_RECHECK", "1h")]);
    let client = msgd.client();
    let register = |email: &'static str| {
        let client = client.clone();
        async move {
            let password = client.create_user(email).await.unwrap().generated_password;
            client.clone().with_token(client.login(email, &password).await.unwrap())
        }
    };
    let ada = register("ada@example.com").await;
    let bob = register("bob@example.com").await;
    let mut bobs = Vec::new();
    for _ in 0..3 {
        bobs.push(bob.stream(None).await.unwrap());
    }
    let (wakeups, changes) =
        (metric(&msgd, "msgd_stream_wakeups_total").await, metric(&msgd, "msgd_change_feed_changes_total").await);
    for n in 0..20 {
        ada.send_message(&format!("a note to self {n}")).await.unwrap();
    }
    // The feed carried ada's changes (so the count below is not zero for want of them)...
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while metric(&msgd, "msgd_change_feed_changes_total").await < changes + 20.0 {
        assert!(std::time::Instant::now() < deadline, "the feed never carried ada's 20 messages");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...and woke none of bob's streams.
    assert_eq!(metric(&msgd, "msgd_stream_wakeups_total").await, wakeups, "ada's messages woke bob's streams");

    let sent = ada.send_to("for bob", Some("bob@example.com"), None).await.unwrap().message;
    for stream in &mut bobs {
        match tokio::time::timeout(Duration::from_secs(15), stream.next()).await {
            Ok(Ok(Some(msgkit::client::StreamEvent::Message(message)))) => assert_eq!(message.id, sent.id),
            other => panic!("expected bob's message, got {other:?}"),
        }
    }
    let woken = metric(&msgd, "msgd_stream_wakeups_total").await - wakeups;
    assert!(woken >= 3.0, "each of bob's three streams woke for his message ({woken})");
}

async fn an_account_may_hold_only_so_many_streams_at_once(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| c.max_streams_per_account = 2).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let first = ada.client.stream(None).await.unwrap();
    let _second = ada.client.stream(None).await.unwrap();
    let refused = app.raw().get(app.url("/messages/stream")).bearer_auth(&ada.token).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "too_many_streams", "{body}");
    assert!(body["error"].as_str().unwrap().contains("2 streams"), "{body}");
    let error = ada.client.stream(None).await.err().expect("the typed client sees the refusal too");
    assert_eq!(error.code(), Some("too_many_streams"));
    // Per account: bob is not affected.
    let _bobs = bob.client.stream(None).await.unwrap();
    // A stream that ends gives its place back (once msgd notices the connection is gone).
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match ada.client.stream(None).await {
            Ok(_) => break,
            Err(e) if e.code() == Some("too_many_streams") && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the place was not given back: {e}"),
        }
    }
}

/// Reads until the server closes the connection (or 15 s pass); returns what was read and whether the
/// connection ended.
async fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut read = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (read, true),
            Ok(Ok(n)) => read.extend_from_slice(&buffer[..n]),
            Err(_) => return (read, false),
        }
    }
}

async fn connect(address: SocketAddr) -> TcpStream {
    TcpStream::connect(address).await.expect("connecting")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_and_an_unfinished_request_head_are_closed() {
    let (app, _db) = spawn_app_with(Backend::Sqlite, |c| c.header_timeout = Duration::from_millis(500)).await;
    let mut silent = connect(app.address).await;
    let (read, closed) = read_until_closed(&mut silent).await;
    assert!(closed && read.is_empty(), "a connection that never sends a byte is closed ({} bytes)", read.len());

    let mut unfinished = connect(app.address).await;
    unfinished.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let (_, closed) = read_until_closed(&mut unfinished).await;
    assert!(closed, "a request head that never ends is closed");

    // A whole request in time is answered as ever.
    assert_eq!(app.raw().get(app.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_but_a_quiet_stream_is_not() {
    let (app, _db) = spawn_app_with(Backend::Sqlite, |c| {
        c.idle_timeout = Duration::from_secs(1);
        c.header_timeout = Duration::from_millis(500);
    })
    .await;
    let mut kept_alive = connect(app.address).await;
    kept_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = kept_alive.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"), "answered first");
    let (_, closed) = read_until_closed(&mut kept_alive).await;
    assert!(closed, "an idle keep-alive connection is closed after IDLE_TIMEOUT");

    // A stream is a request in progress: idle on the wire, but not an idle connection.
    let ada = app.user("ada@example.com").await;
    let mut stream = ada.client.stream(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let sent = ada.client.send_message("still there?").await.unwrap();
    match tokio::time::timeout(Duration::from_secs(15), stream.next()).await {
        Ok(Ok(Some(msgkit::client::StreamEvent::Message(message)))) => assert_eq!(message.id, sent.id),
        other => panic!("the quiet stream was closed: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_the_client_does_not_read_is_abandoned() {
    let (app, _db) = spawn_app_with(Backend::Sqlite, |c| c.write_timeout = Duration::from_secs(1)).await;
    let ada = app.user("ada@example.com").await;
    // About 10 MB of inbox: more than the socket buffers on both sides hold.
    let content = "x".repeat(16_000);
    for batch in 0..40 {
        let sends = (0..16).map(|_| ada.client.send_message(&content));
        for sent in futures::future::join_all(sends).await {
            sent.unwrap_or_else(|e| panic!("seeding batch {batch}: {e}"));
        }
    }
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(app.address).await.unwrap();
    let request = format!(
        "GET /messages?limit=640 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        ada.token
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    // Not reading, for longer than the write timeout...
    tokio::time::sleep(Duration::from_secs(4)).await;
    // ...then reading what is left: the server gave up and closed before the end.
    let (read, closed) = read_until_closed(&mut slow).await;
    assert!(closed, "the connection was closed");
    let text = String::from_utf8_lossy(&read);
    let length: usize = text
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(usize::MAX);
    let body = read.len() - text.find("\r\n\r\n").map_or(0, |at| at + 4);
    assert!(body < length.min(10_000_000), "the whole response was delivered ({body} of {length} bytes)");
    // And the server serves on.
    assert_eq!(ada.client.list_messages().await.unwrap().len(), 100, "a default page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_get_a_json_503_and_the_rest_are_served() {
    let (app, _db) = spawn_app_with(Backend::Sqlite, |c| {
        c.max_connections = Some(3);
        c.header_timeout = Duration::from_secs(30);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(app.address).await);
    }
    // The three are accepted (the count is taken at accept): the fourth is told and closed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = connect(app.address).await;
    // As a client does: the request first. The answer must not be lost to a reset for unread data.
    fourth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (answer, closed) = read_until_closed(&mut fourth).await;
    let answer = String::from_utf8(answer).unwrap();
    assert!(closed && answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let body: serde_json::Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["code"], "too_many_connections", "{body}");
    // One of the held ones is served; once it closes, a new connection is too.
    let mut first = held.remove(0);
    first.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let (answer, _) = read_until_closed(&mut first).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut next = connect(app.address).await;
        next.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let (answer, _) = read_until_closed(&mut next).await;
        if String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the freed place was not given to a new connection");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgd_raises_a_low_open_files_limit_and_holds_1500_connections() {
    let _ = msgkit::http::conn::raise_open_files_limit();
    let db = Database::fresh(Backend::Sqlite).await;
    let msgd = MsgdProcess::spawn_with(&db.config(), &[], |command| {
        // As from a default login: a soft limit of 1,024 under a higher hard limit.
        let mut shell = std::process::Command::new("bash");
        shell.arg("-c").arg(r#"ulimit -Sn 1024 && exec "$0""#).arg(command.get_program());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => shell.env(key, value),
                None => shell.env_remove(key),
            };
        }
        shell
    });
    let log = msgd.log_text();
    let raised = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"].as_str().is_some_and(|m| m.starts_with("open-files limit")))
        .unwrap_or_else(|| panic!("no open-files line in the log:\n{log}"));
    assert_eq!(raised["soft"], 1024, "{raised}");
    assert!(raised["raised"].as_u64().unwrap() >= 2000, "{raised}");

    let mut connections = Vec::new();
    for n in 0..1500 {
        let mut stream = connect(msgd.address).await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut answer = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("connection {n} got no answer"))
            .unwrap();
        assert!(
            answer[..read].starts_with(b"HTTP/1.1 200"),
            "connection {n}: {}",
            String::from_utf8_lossy(&answer[..read])
        );
        connections.push(stream);
    }
    assert_eq!(connections.len(), 1500);
    assert_eq!(metric(&msgd, "msgd_connections_open").await as usize, 1501, "the 1,500 and the scrape itself");
}

/// An HTTP/2 connection (prior knowledge, as a proxy speaking h2c would) to `address`: the request
/// sender, and the connection's own future, which ends when the server closes it.
async fn h2_connect(address: SocketAddr) -> (h2::client::SendRequest<bytes::Bytes>, tokio::task::JoinHandle<()>) {
    let (sender, connection) = h2::client::handshake(connect(address).await).await.expect("an HTTP/2 handshake");
    let driven = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, driven)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_is_closed_but_one_carrying_a_stream_is_not() {
    let (app, _db) = spawn_app_with(Backend::Sqlite, |c| {
        c.idle_timeout = Duration::from_secs(1);
        c.header_timeout = Duration::from_millis(500);
    })
    .await;
    let ada = app.user("ada@example.com").await;
    let get = |path: &str, token: Option<&str>| {
        let mut request = axum::http::Request::get(format!("http://{}{path}", app.address));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(()).unwrap()
    };

    // Idle: one request, then nothing. HTTP/2's own frames (settings, their acknowledgements) start no
    // request-head clock; the idle timeout closes it.
    let (mut sender, connection) = h2_connect(app.address).await;
    let (response, _) = sender.send_request(get("/healthz", None), true).unwrap();
    assert_eq!(response.await.unwrap().status(), 200);
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("an idle HTTP/2 connection is closed after IDLE_TIMEOUT")
        .unwrap();

    // Carrying a stream: still open well past the idle timeout, and the stream delivers.
    let (mut sender, connection) = h2_connect(app.address).await;
    let (response, _) = sender.send_request(get("/messages/stream", Some(&ada.token)), true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!connection.is_finished(), "a connection carrying a stream is not idle");
    let sent = ada.client.send_message("over h2").await.unwrap();
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !String::from_utf8_lossy(&received).contains(&sent.id.to_string()) {
        let chunk =
            tokio::time::timeout_at(deadline, body.data()).await.expect("the message arrives").unwrap().unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        received.extend_from_slice(&chunk);
    }
}
