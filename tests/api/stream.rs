//! The message stream: live delivery, resumption without gap or duplicate, and its ends.

use std::time::Duration;

use uuid::Uuid;

use crate::backend_tests;
use crate::common::{
    Backend, TEST_SECRET, forge_token, next_close, next_message, spawn_app, spawn_app_with, unix_now, unread,
};

backend_tests!(
    a_stream_delivers_new_messages_live,
    a_resumed_stream_replays_what_was_missed_with_no_gap_or_duplicate,
    a_stream_closes_when_its_token_is_revoked,
    a_stream_opened_with_an_access_token_closes_when_that_token_is_revoked,
    a_stream_closes_when_its_token_expires,
    a_stream_ends_cleanly_at_shutdown,
    a_stream_needs_a_valid_token_and_cursor,
    the_first_frame_says_where_the_stream_starts,
    a_ticket_opens_one_stream_once_on_any_instance,
);

/// What a raw stream response has sent, read until it holds `needle` (10 s at most per chunk).
pub(crate) async fn read_until(response: &mut reqwest::Response, needle: &str) -> String {
    let mut text = String::new();
    while !text.contains(needle) {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    text
}

/// The first frame (no data) carries the starting point as its `id:`: reconnecting with it as
/// `Last-Event-ID` delivers what arrived while away, though no message came before the drop.
async fn the_first_frame_says_where_the_stream_starts(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let first_frame = |token: String, last: Option<String>| {
        let mut request = app.raw().get(app.url("/messages/stream")).bearer_auth(token);
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        async move {
            let text = read_until(&mut request.send().await.unwrap(), "\n\n").await;
            let frame = text.split("\n\n").next().unwrap().to_owned();
            assert!(frame.contains(": connected") && !frame.contains("data:"), "{frame}");
            frame.lines().find_map(|l| l.strip_prefix("id: ")).expect("an id line").to_owned()
        }
    };
    // An empty inbox: from the first message.
    let start = first_frame(bob.token.clone(), None).await;
    assert_eq!(start, uuid::Uuid::nil().to_string());
    let missed = ada.client.send_to("while away", Some("bob@example.com"), None).await.unwrap().message;
    let mut resumed = bob.client.stream(Some(start.parse().unwrap())).await.unwrap();
    assert_eq!(
        next_message(&mut resumed).await,
        unread(missed.clone()),
        "what came between the frame and the reconnect"
    );
    // Otherwise the newest message before the stream; and a resumed stream starts where it was asked to.
    assert_eq!(first_frame(bob.token.clone(), None).await, missed.id.to_string());
    let older = uuid::Uuid::nil().to_string();
    assert_eq!(first_frame(bob.token.clone(), Some(older.clone())).await, older);
}

async fn a_stream_delivers_new_messages_live(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    bob.client.send_message("old news").await.unwrap();
    let mut stream = bob.client.stream(None).await.unwrap();
    let sent = ada.client.send_to("live!", Some("bob@example.com"), None).await.unwrap().message;
    assert_eq!(next_message(&mut stream).await, unread(sent), "only messages from now on, delivered at once");
    // Messages to others are not delivered.
    ada.client.send_message("ada's own note").await.unwrap();
    let to_bob = ada.client.send_to("second", Some("bob@example.com"), None).await.unwrap().message;
    assert_eq!(next_message(&mut stream).await, unread(to_bob));
}

async fn a_resumed_stream_replays_what_was_missed_with_no_gap_or_duplicate(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let mut stream = bob.client.stream(None).await.unwrap();
    let mut expected = Vec::new();
    for i in 0..3 {
        expected
            .push(ada.client.send_to(&format!("first {i}"), Some("bob@example.com"), None).await.unwrap().message.id);
    }
    let mut received = Vec::new();
    for _ in 0..3 {
        received.push(next_message(&mut stream).await.id);
    }
    drop(stream);

    // Messages sent while disconnected, and while reconnecting.
    for i in 0..5 {
        expected
            .push(ada.client.send_to(&format!("missed {i}"), Some("bob@example.com"), None).await.unwrap().message.id);
    }
    let sender = ada.client.clone();
    let during = tokio::spawn(async move {
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(sender.send_to(&format!("seam {i}"), Some("bob@example.com"), None).await.unwrap().message.id);
        }
        ids
    });
    let mut stream = bob.client.stream(received.last().copied()).await.unwrap();
    let seam = during.await.unwrap();
    expected.extend(seam);
    for i in 0..3 {
        expected
            .push(ada.client.send_to(&format!("after {i}"), Some("bob@example.com"), None).await.unwrap().message.id);
    }
    while received.len() < expected.len() {
        received.push(next_message(&mut stream).await.id);
    }
    assert_eq!(received, expected, "every message once, in order");
    // And nothing more arrives.
    let extra = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(extra.is_err(), "no duplicate after the seam: {extra:?}");
}

async fn a_stream_closes_when_its_token_is_revoked(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let bob = app.user("bob@example.com").await;
    let mut stream = bob.client.stream(None).await.unwrap();
    app.client.change_password("bob@example.com", &bob.password, "a brand new one").await.unwrap();
    assert_eq!(next_close(&mut stream).await, "token_revoked");
    assert!(matches!(stream.next().await, Ok(None)), "and then the connection ends");
}

async fn a_stream_closes_when_its_token_expires(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| c.jwt_secret = Some(TEST_SECRET.into())).await;
    let bob = app.new_user().await;
    let me = bob.client.me().await.unwrap();
    let claims = serde_json::json!({
        "sub": me.user_id, "iat": unix_now(), "exp": unix_now() + 2, "iss": "msgkit", "aud": "msgkit", "ver": 0
    });
    let short = app.client.clone().with_token(forge_token(&claims, TEST_SECRET.as_bytes()));
    let mut stream = short.stream(None).await.unwrap();
    assert_eq!(next_close(&mut stream).await, "token_expired");
}

async fn a_stream_ends_cleanly_at_shutdown(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let bob = app.new_user().await;
    let mut stream = bob.client.stream(None).await.unwrap();
    let stopping = tokio::spawn(app.stop());
    assert_eq!(next_close(&mut stream).await, "shutting_down");
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("shutdown does not wait for streams").unwrap();
}

async fn a_stream_needs_a_valid_token_and_cursor(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let bob = app.new_user().await;
    let error = app.client.stream(None).await.err().expect("no token, no stream");
    assert_eq!(error.code(), Some("token_missing"));
    let response = app
        .raw()
        .get(app.url("/messages/stream"))
        .bearer_auth(&bob.token)
        .header("last-event-id", "not-an-id")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let after_unknown = bob.client.stream(Some(Uuid::nil())).await;
    assert!(after_unknown.is_ok(), "any id is a valid cursor");
}

async fn a_stream_opened_with_an_access_token_closes_when_that_token_is_revoked(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let reader = ada.client.create_token("reader", &[msgkit::api::ScopeName::Read], None, &ada.password).await.unwrap();
    let mut stream = app.client.clone().with_token(&reader.token).stream(None).await.unwrap();
    let sent = ada.client.send_message("to the token's stream").await.unwrap();
    assert_eq!(next_message(&mut stream).await, sent, "the token's stream delivers (a note to oneself: read)");
    ada.client.revoke_token(reader.view.id).await.unwrap();
    // A revoked access token looks like one never issued.
    assert_eq!(next_close(&mut stream).await, "token_invalid");
}

/// A browser's way to its stream: a ticket from a Bearer opens `GET /messages/stream?ticket=…` without
/// one, once, on any instance sharing the database; the stream lives as long as the credential the
/// ticket was made with.
async fn a_ticket_opens_one_stream_once_on_any_instance(backend: Backend) {
    let (app, db) = spawn_app(backend).await;
    let other = crate::common::TestApp::start(db.config()).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let ticket_of = |token: String| {
        let request = app.raw().post(app.url("/messages/stream/tickets")).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 201);
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["expires_in"], 30);
            body["ticket"].as_str().unwrap().to_owned()
        }
    };
    let ticket = ticket_of(bob.token.clone()).await;
    assert!(ticket.starts_with("msgt_"));
    // Opened on the other instance, without a Bearer.
    let url = format!("{}/messages/stream?ticket={ticket}", other.base_url);
    let stream = other.raw().get(&url).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut stream = stream;
    let sent = ada.client.send_to("via a ticket", Some("bob@example.com"), None).await.unwrap().message;
    read_until(&mut stream, &sent.id.to_string()).await;
    // Once: the same ticket again, anywhere, is refused; so is one never issued.
    for base in [&app.base_url, &other.base_url] {
        let again = app.raw().get(format!("{base}/messages/stream?ticket={ticket}")).send().await.unwrap();
        assert_eq!(again.status(), 401);
        let error: serde_json::Value = again.json().await.unwrap();
        assert_eq!(error["code"], "ticket_invalid");
    }
    let made_up = app.raw().get(app.url("/messages/stream?ticket=msgt_madeup")).send().await.unwrap();
    assert_eq!(made_up.status(), 401);
    // No ticket from an access token without the read scope.
    let sender = ada.client.create_token("s", &[msgkit::api::ScopeName::Send], None, &ada.password).await.unwrap();
    let refused = app.raw().post(app.url("/messages/stream/tickets")).bearer_auth(&sender.token).send().await.unwrap();
    assert_eq!(refused.status(), 403);

    // The stream lives as long as the session the ticket came from: logging out closes it.
    let ticket = ticket_of(bob.token.clone()).await;
    let mut response = app.raw().get(app.url(&format!("/messages/stream?ticket={ticket}"))).send().await.unwrap();
    bob.client.end_session().await.unwrap();
    let text = read_until(&mut response, "event: close").await;
    assert!(text.contains("token_revoked"), "{text}");
    other.stop().await;
}
