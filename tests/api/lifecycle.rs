//! A message's life after it is sent: read state and unread counts, deletion, expiry and retention —
//! and every device of the account told, on every instance.

use std::time::Duration;

use msgkit::api::{ListParams, MailboxName, MarkReadRequest, MessageView, SendMessageRequest};
use msgkit::client::{Client, StreamEvent};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::backend_tests;
use crate::common::{Backend, api_code, next_message, spawn_app, spawn_app_with, spawn_cluster, unread};

backend_tests!(
    read_state_is_the_recipients_and_is_counted_by_sender,
    marking_read_and_unread_is_exact_and_refuses_what_it_cannot_do,
    deleting_a_copy_leaves_the_other_partys_and_a_cursor_naming_it_still_works,
    the_sender_deletes_for_everyone_within_the_window_and_a_retried_send_does_not_bring_it_back,
    deleting_for_everyone_is_refused_after_the_window_or_when_it_is_off,
    an_expiring_message_is_never_served_once_it_expires,
    retention_expires_every_message_older_than_it,
    every_stream_of_the_account_is_told_what_another_device_marked_or_deleted,
    read_and_deleted_events_reach_streams_on_other_instances,
    expired_messages_are_removed_once_by_one_of_several_instances,
);

async fn inbox(client: &Client, unread_only: bool) -> Vec<MessageView> {
    let params = ListParams { unread: unread_only.then_some(true), ..ListParams::default() };
    client.list_page(&params).await.unwrap().messages
}

async fn sent_box(client: &Client) -> Vec<MessageView> {
    let params = ListParams { mailbox: Some(MailboxName::Sent), ..ListParams::default() };
    client.list_page(&params).await.unwrap().messages
}

fn ids(messages: &[MessageView]) -> Vec<Uuid> {
    messages.iter().map(|m| m.id).collect()
}

async fn send(client: &Client, to: &str, text: &str) -> MessageView {
    client.send_to(text, Some(to), None).await.unwrap().message
}

async fn read_state_is_the_recipients_and_is_counted_by_sender(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let cy = app.user("cy@example.com").await;
    let first = send(&ada.client, "bob@example.com", "one").await;
    let second = send(&ada.client, "bob@example.com", "two").await;
    let from_cy = send(&cy.client, "bob@example.com", "three").await;
    let note = bob.client.send_message("a note to myself").await.unwrap();
    // The sender is not told whether it was read (no read receipts); a note to oneself is read already.
    assert_eq!(first.read, None);
    assert_eq!(note.read, Some(true));
    assert!(sent_box(&ada.client).await.iter().all(|m| m.read.is_none()));

    let listed = inbox(&bob.client, false).await;
    let state: Vec<(Uuid, Option<bool>)> = listed.iter().map(|m| (m.id, m.read)).collect();
    assert_eq!(
        state,
        [(first.id, Some(false)), (second.id, Some(false)), (from_cy.id, Some(false)), (note.id, Some(true))]
    );
    assert_eq!(ids(&inbox(&bob.client, true).await), [first.id, second.id, from_cy.id]);

    let counts = bob.client.unread().await.unwrap();
    assert_eq!(counts.total, 3);
    let by_sender: Vec<(&str, u64, Uuid)> =
        counts.by_sender.iter().map(|s| (s.email.as_str(), s.count, s.newest_id)).collect();
    assert_eq!(by_sender, [("cy@example.com", 1, from_cy.id), ("ada@example.com", 2, second.id)], "most recent first");
    assert_eq!(ada.client.unread().await.unwrap().total, 0, "what one sends is not unread for them");

    // The raw body, as documented.
    let body: serde_json::Value =
        app.raw().get(app.url("/messages/unread")).bearer_auth(&bob.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        body,
        json!({"total": 3, "by_sender": [
            {"email": "cy@example.com", "count": 1, "newest_id": from_cy.id},
            {"email": "ada@example.com", "count": 2, "newest_id": second.id},
        ]})
    );
    // `unread=true` with `with`: one conversation's unread messages; not with the sent box.
    let from_ada = ListParams {
        unread: Some(true),
        with: Some("ada@example.com".into()),
        limit: Some(1),
        ..ListParams::default()
    };
    let page = bob.client.list_page(&from_ada).await.unwrap();
    assert_eq!(ids(&page.messages), [second.id]);
    let older = bob.client.follow(page.prev.as_ref().expect("a link to the older unread one")).await.unwrap();
    assert_eq!(ids(&older.messages), [first.id], "the link keeps unread=true");
    // In the sent box, only a note to oneself can be unread.
    let unread_sent = ListParams { unread: Some(true), mailbox: Some(MailboxName::Sent), ..ListParams::default() };
    assert!(bob.client.list_page(&unread_sent).await.unwrap().messages.is_empty());
    bob.client.mark_unread(&[note.id]).await.unwrap();
    assert_eq!(ids(&bob.client.list_page(&unread_sent).await.unwrap().messages), [note.id]);
    assert!(ada.client.list_page(&unread_sent).await.unwrap().messages.is_empty(), "no read receipts");
    let to_bob = ListParams { with: Some("bob@example.com".into()), ..unread_sent.clone() };
    assert!(ada.client.list_page(&to_bob).await.unwrap().messages.is_empty());
    bob.client.mark_read(&MarkReadRequest { up_to: None, with: None, ids: Some(vec![note.id]) }).await.unwrap();
    let response = app.raw().get(app.url("/messages?unread=yes")).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn marking_read_and_unread_is_exact_and_refuses_what_it_cannot_do(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let cy = app.user("cy@example.com").await;
    let a1 = send(&ada.client, "bob@example.com", "a1").await;
    let c1 = send(&cy.client, "bob@example.com", "c1").await;
    let a2 = send(&ada.client, "bob@example.com", "a2").await;
    let a3 = send(&ada.client, "bob@example.com", "a3").await;

    // Up to a message, of one conversation: c1 stays unread, a3 (after the mark) too.
    let up_to = MarkReadRequest { up_to: Some(a2.id), with: Some("ADA@example.com".into()), ids: None };
    let marked = bob.client.mark_read(&up_to).await.unwrap();
    assert_eq!((marked.marked, marked.unread), (2, 2));
    assert_eq!(ids(&inbox(&bob.client, true).await), [c1.id, a3.id]);
    // Again: nothing changes.
    assert_eq!(bob.client.mark_read(&up_to).await.unwrap().marked, 0);
    // Listed ids; ids not in bob's inbox (ada's own, unknown) are passed over.
    let listed = MarkReadRequest { up_to: None, with: None, ids: Some(vec![c1.id, Uuid::now_v7()]) };
    assert_eq!(bob.client.mark_read(&listed).await.unwrap().unread, 1);
    let not_ada = MarkReadRequest { up_to: None, with: None, ids: Some(vec![a3.id]) };
    assert_eq!(ada.client.mark_read(&not_ada).await.unwrap().marked, 0, "ada cannot mark bob's inbox");
    // Unread again.
    let again = bob.client.mark_unread(&[a1.id, c1.id]).await.unwrap();
    assert_eq!((again.marked, again.unread), (2, 3));
    assert_eq!(ids(&inbox(&bob.client, true).await), [a1.id, c1.id, a3.id]);
    // Everything up to the newest.
    let all = MarkReadRequest { up_to: Some(a3.id), with: None, ids: None };
    assert_eq!(bob.client.mark_read(&all).await.unwrap().unread, 0);
    assert!(inbox(&bob.client, false).await.iter().all(|m| m.read == Some(true)));

    // What cannot be done is refused with the reason.
    let post =
        |path: &str, body: serde_json::Value| app.raw().post(app.url(path)).bearer_auth(&bob.token).json(&body).send();
    for (path, body, field) in [
        ("/messages/read", json!({}), "up_to"),
        ("/messages/read", json!({"up_to": a1.id, "ids": [a1.id]}), "ids"),
        ("/messages/read", json!({"ids": [a1.id], "with": "ada@example.com"}), "with"),
        ("/messages/read", json!({"up_to": a1.id, "with": "not an email"}), "with"),
        ("/messages/read", json!({"ids": []}), "ids"),
        ("/messages/unread", json!({"ids": []}), "ids"),
        ("/messages/unread", json!({"ids": vec![a1.id; 1001]}), "ids"),
    ] {
        let response = post(path, body.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path} {body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["field"], field, "{path} {body}: {error}");
    }
    let unknown = post("/messages/read", json!({"up_to": a1.id, "with": "nobody@example.com"})).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // An access token with only `send` may not touch read state.
    let sender = bob.client.create_token("sender", &[msgkit::api::ScopeName::Send], None, &bob.password).await.unwrap();
    let token_client = app.client.clone().with_token(&sender.token);
    assert_eq!(api_code(token_client.unread().await), (StatusCode::FORBIDDEN, "insufficient_scope".into()));
}

async fn deleting_a_copy_leaves_the_other_partys_and_a_cursor_naming_it_still_works(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let cy = app.user("cy@example.com").await;
    let first = send(&ada.client, "bob@example.com", "first").await;
    let second = send(&ada.client, "bob@example.com", "second").await;
    let third = send(&ada.client, "bob@example.com", "third").await;
    assert_eq!(bob.client.unread().await.unwrap().total, 3);

    // The recipient deletes their copy: out of their inbox and their count; the sender keeps theirs.
    bob.client.delete_message(second.id, false).await.unwrap();
    assert_eq!(ids(&inbox(&bob.client, false).await), [first.id, third.id]);
    assert_eq!(bob.client.unread().await.unwrap().total, 2);
    assert_eq!(ids(&sent_box(&ada.client).await), [first.id, second.id, third.id]);
    // A cursor naming it still works.
    let after = ListParams { after: Some(second.id), ..ListParams::default() };
    assert_eq!(ids(&bob.client.list_page(&after).await.unwrap().messages), [third.id]);
    let mut resumed = bob.client.stream(Some(second.id)).await.unwrap();
    assert_eq!(next_message(&mut resumed).await, unread(third.clone()), "a resume after it replays what follows");
    drop(resumed);
    // A replay from before it passes it over.
    let mut replay = bob.client.stream(Some(Uuid::nil())).await.unwrap();
    assert_eq!(next_message(&mut replay).await.id, first.id);
    assert_eq!(next_message(&mut replay).await.id, third.id, "the deleted message is not replayed");
    drop(replay);

    // Gone for bob: 404, like a message that was never his.
    assert_eq!(
        api_code(bob.client.delete_message(second.id, false).await),
        (StatusCode::NOT_FOUND, "message_not_found".into())
    );
    assert_eq!(api_code(cy.client.delete_message(first.id, false).await).1, "message_not_found");
    let bad_id = app.raw().delete(app.url("/messages/not-an-id")).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(bad_id.status(), StatusCode::NOT_FOUND);
    let bad_for = app
        .raw()
        .delete(app.url(&format!("/messages/{}?for=all", first.id)))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_for.status(), StatusCode::BAD_REQUEST);
    // The sender deletes theirs: out of their sent box only.
    ada.client.delete_message(first.id, false).await.unwrap();
    assert_eq!(ids(&sent_box(&ada.client).await), [second.id, third.id]);
    assert_eq!(ids(&inbox(&bob.client, false).await), [first.id, third.id], "bob keeps his copy");
    // A note to oneself goes from both boxes at once.
    let note = bob.client.send_message("note").await.unwrap();
    bob.client.delete_message(note.id, false).await.unwrap();
    assert!(!ids(&inbox(&bob.client, false).await).contains(&note.id));
    assert!(!ids(&sent_box(&bob.client).await).contains(&note.id));
    // Deleting needs the send scope.
    let reader = bob.client.create_token("reader", &[msgkit::api::ScopeName::Read], None, &bob.password).await.unwrap();
    let reader = app.client.clone().with_token(&reader.token);
    assert_eq!(api_code(reader.delete_message(third.id, false).await).1, "insufficient_scope");
}

async fn the_sender_deletes_for_everyone_within_the_window_and_a_retried_send_does_not_bring_it_back(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let sent = ada.client.send_to("oops", Some("bob@example.com"), Some("key-1")).await.unwrap().message;
    let kept = send(&ada.client, "bob@example.com", "kept").await;
    // Only the sender may.
    assert_eq!(api_code(bob.client.delete_message(sent.id, true).await), (StatusCode::FORBIDDEN, "not_sender".into()));
    ada.client.delete_message(sent.id, true).await.unwrap();
    assert_eq!(ids(&inbox(&bob.client, false).await), [kept.id]);
    assert_eq!(ids(&sent_box(&ada.client).await), [kept.id]);
    assert_eq!(bob.client.unread().await.unwrap().total, 1);
    // The send retried with its key answers as before — the same id — and brings nothing back.
    let retried = ada.client.send_to("oops", Some("bob@example.com"), Some("key-1")).await.unwrap();
    assert!(retried.replayed);
    assert_eq!((retried.message.id, retried.message.content.as_str()), (sent.id, "oops"));
    assert_eq!(ids(&inbox(&bob.client, false).await), [kept.id]);
    assert_eq!(ids(&sent_box(&ada.client).await), [kept.id]);
    assert_eq!(api_code(ada.client.delete_message(sent.id, true).await).1, "message_not_found");
}

async fn deleting_for_everyone_is_refused_after_the_window_or_when_it_is_off(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| c.delete_window = Duration::from_secs(1)).await;
    let ada = app.user("ada@example.com").await;
    app.user("bob@example.com").await;
    let sent = send(&ada.client, "bob@example.com", "too late").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let refused = ada.client.delete_message(sent.id, true).await;
    assert_eq!(api_code(refused), (StatusCode::FORBIDDEN, "delete_window_passed".into()));
    // Their own copy can always go.
    ada.client.delete_message(sent.id, false).await.unwrap();

    let (off, _db) = spawn_app_with(backend, |c| c.delete_window = Duration::ZERO).await;
    let ada = off.user("ada@example.com").await;
    let note = ada.client.send_message("mine").await.unwrap();
    let response = off
        .raw()
        .delete(off.url(&format!("/messages/{}?for=everyone", note.id)))
        .bearer_auth(&ada.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["code"], "delete_window_passed");
    assert!(error["error"].as_str().unwrap().contains("DELETE_WINDOW=0"), "{error}");
}

async fn an_expiring_message_is_never_served_once_it_expires(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| c.max_expires_in = Duration::from_secs(3600)).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let body = |content: &str, expires_in: &str| SendMessageRequest {
        content: content.into(),
        to: Some("bob@example.com".into()),
        recipient_email: None,
        expires_in: Some(expires_in.into()),
    };
    let brief = ada.client.send_request(&body("brief", "2s"), None).await.unwrap().message;
    let expires_at = brief.expires_at.expect("expires_at is shown");
    let lifetime = expires_at - brief.created_at;
    assert!(lifetime >= time::Duration::seconds(2) && lifetime < time::Duration::seconds(3), "{lifetime}");
    let lasting = send(&ada.client, "bob@example.com", "lasting").await;
    assert_eq!(lasting.expires_at, None);
    let listed = inbox(&bob.client, false).await;
    assert_eq!(ids(&listed), [brief.id, lasting.id]);
    assert_eq!(listed[0].expires_at, Some(expires_at));
    assert_eq!(bob.client.unread().await.unwrap().total, 2);

    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(ids(&inbox(&bob.client, false).await), [lasting.id], "gone from the moment it expired");
    assert_eq!(ids(&sent_box(&ada.client).await), [lasting.id]);
    assert_eq!(bob.client.unread().await.unwrap().total, 1);
    assert_eq!(api_code(bob.client.delete_message(brief.id, false).await).1, "message_not_found");
    let mut replay = bob.client.stream(Some(Uuid::nil())).await.unwrap();
    assert_eq!(next_message(&mut replay).await.id, lasting.id, "nor replayed");

    // The grammar, and the server's maximum.
    for bad in ["0s", "7", "1.5h", "2 d", "forever"] {
        let refused = ada.client.send_request(&body("x", bad), None).await;
        assert_eq!(api_code(refused), (StatusCode::BAD_REQUEST, "invalid_body".into()), "{bad}");
    }
    let response = app
        .raw()
        .post(app.url("/messages"))
        .bearer_auth(&ada.token)
        .json(&json!({"content": "x", "expires_in": "2h"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["field"], "expires_in");
    assert!(error["error"].as_str().unwrap().contains("MAX_EXPIRES_IN"), "{error}");
}

async fn retention_expires_every_message_older_than_it(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| c.retention = Some(Duration::from_secs(2))).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let old = send(&ada.client, "bob@example.com", "old").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let new = send(&ada.client, "bob@example.com", "new").await;
    assert_eq!(ids(&inbox(&bob.client, false).await), [old.id, new.id]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(ids(&inbox(&bob.client, false).await), [new.id], "older than RETENTION: not served");
    assert_eq!(bob.client.unread().await.unwrap().total, 1);
    assert_eq!(ids(&sent_box(&ada.client).await), [new.id]);
}

/// The next read or deleted event on `stream` (messages are passed over), within 15 s.
async fn next_account_event(stream: &mut msgkit::client::MessageStream) -> StreamEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Ok(Some(StreamEvent::Message(_)))) => continue,
            Ok(Ok(Some(event))) => return event,
            other => panic!("expected a read or deleted event, got {other:?}"),
        }
    }
}

async fn every_stream_of_the_account_is_told_what_another_device_marked_or_deleted(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let phone = app.client.login("bob@example.com", &bob.password).await.unwrap();
    let phone = app.client.clone().with_token(&phone);
    let one = send(&ada.client, "bob@example.com", "one").await;
    let two = send(&ada.client, "bob@example.com", "two").await;
    let mut laptop_stream = bob.client.stream(None).await.unwrap();
    let mut phone_stream = phone.stream(None).await.unwrap();
    let mut ada_stream = ada.client.stream(None).await.unwrap();

    // Read on the laptop: both of bob's streams hear it, with the new count.
    let up_to = MarkReadRequest { up_to: Some(one.id), with: None, ids: None };
    bob.client.mark_read(&up_to).await.unwrap();
    for stream in [&mut laptop_stream, &mut phone_stream] {
        match next_account_event(stream).await {
            StreamEvent::Read(event) => {
                assert!(event.read);
                assert_eq!((event.up_to, event.ids.as_deref(), event.unread), (Some(one.id), None, 1));
            }
            other => panic!("{other:?}"),
        }
    }
    phone.mark_unread(&[one.id]).await.unwrap();
    match next_account_event(&mut laptop_stream).await {
        StreamEvent::Read(event) => assert_eq!((event.read, event.ids, event.unread), (false, Some(vec![one.id]), 2)),
        other => panic!("{other:?}"),
    }
    // Deleted on the phone: the laptop hears it; ada, whose copy stays, does not.
    phone.delete_message(two.id, false).await.unwrap();
    match next_account_event(&mut laptop_stream).await {
        StreamEvent::Deleted(event) => assert_eq!((event.id, event.unread), (two.id, Some(1))),
        other => panic!("{other:?}"),
    }
    // For everyone: both accounts' streams hear it.
    ada.client.delete_message(one.id, true).await.unwrap();
    for stream in [&mut laptop_stream, &mut ada_stream] {
        match next_account_event(stream).await {
            StreamEvent::Deleted(event) => assert_eq!(event.id, one.id),
            other => panic!("{other:?}"),
        }
    }
    // The stream's event frames carry no id: a reconnect resumes after the last message.
    let mut raw = app.raw().get(app.url("/messages/stream")).bearer_auth(&bob.token).send().await.unwrap();
    crate::stream::read_until(&mut raw, ": connected").await;
    let note = phone.send_message("wake").await.unwrap();
    phone.mark_unread(&[note.id]).await.unwrap();
    let text = crate::stream::read_until(&mut raw, "event: read").await;
    let frame = text.split("\n\n").find(|f| f.contains("event: read")).unwrap();
    assert!(!frame.contains("\nid:") && !frame.starts_with("id:"), "{frame}");
}

async fn read_and_deleted_events_reach_streams_on_other_instances(backend: Backend) {
    // Streams re-check only hourly here: what arrives within seconds came through the change feed.
    let cluster = spawn_cluster(backend, &["0s", "0s"], &[("STREAM_RECHECK", "1h")]).await;
    let (_, ada_token) = cluster.user("ada@example.com").await;
    let (_, bob_token) = cluster.user("bob@example.com").await;
    let ada_on_a = cluster.client(0).with_token(&ada_token);
    let bob_on_a = cluster.client(0).with_token(&bob_token);
    let mut bob_on_b = cluster.client(1).with_token(&bob_token).stream(None).await.unwrap();
    let sent = send(&ada_on_a, "bob@example.com", "hello").await;
    assert_eq!(next_message(&mut bob_on_b).await, unread(sent.clone()));
    bob_on_a.mark_read(&MarkReadRequest { up_to: None, with: None, ids: Some(vec![sent.id]) }).await.unwrap();
    match next_account_event(&mut bob_on_b).await {
        StreamEvent::Read(event) => assert_eq!((event.ids, event.unread), (Some(vec![sent.id]), 0)),
        other => panic!("{other:?}"),
    }
    ada_on_a.delete_message(sent.id, true).await.unwrap();
    match next_account_event(&mut bob_on_b).await {
        StreamEvent::Deleted(event) => assert_eq!(event.id, sent.id),
        other => panic!("{other:?}"),
    }
}

/// The value of a counter in a Prometheus text, 0 when absent.
fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.trim().parse::<f64>().ok()))
        .map_or(0, |v| v as u64)
}

async fn expired_messages_are_removed_once_by_one_of_several_instances(backend: Backend) {
    let env = [("PURGE_INTERVAL", "300ms"), ("METRICS", "true")];
    let cluster = spawn_cluster(backend, &["0s", "0s", "0s"], &env).await;
    let (_, ada_token) = cluster.user("ada@example.com").await;
    let ada = cluster.client(0).with_token(&ada_token);
    let brief =
        SendMessageRequest { content: "brief".into(), to: None, recipient_email: None, expires_in: Some("1s".into()) };
    for _ in 0..5 {
        ada.send_request(&brief, None).await.unwrap();
    }
    let deleted = ada.send_message("deleted by both").await.unwrap();
    ada.delete_message(deleted.id, false).await.unwrap();
    let expired_total = || async {
        let mut total = 0;
        for node in &cluster.nodes {
            let url = format!("{}/metrics", node.base_url);
            let text = node.client().http().get(url).send().await.unwrap().text().await.unwrap();
            total += counter(&text, "msgd_messages_expired_total");
        }
        total
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while expired_total().await < 5 {
        assert!(tokio::time::Instant::now() < deadline, "the expired messages were not removed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few more rounds: nothing is removed twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(expired_total().await, 5, "each expired message removed once, by one instance");
    assert!(inbox(&ada, false).await.is_empty());
}
