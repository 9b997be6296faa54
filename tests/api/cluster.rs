//! Several msgd on one database, as an operator scales out: real processes, clocks that disagree, writers
//! on every instance, readers walking cursors and following streams on others. Nothing is skipped or
//! repeated, in any mailbox view, and messages and revocations reach the other instances at once.

use std::collections::HashSet;
use std::time::Duration;

use msgkit::api::{ListParams, MailboxName};
use msgkit::client::{Client, MessageStream, StreamEvent};
use uuid::Uuid;

use crate::backend_tests;
use crate::common::{Backend, next_close, next_message, spawn_cluster, unread};

backend_tests!(
    walking_and_streaming_never_skip_or_repeat_across_instances_with_skewed_clocks,
    messages_and_revocations_reach_streams_on_other_instances_without_waiting_for_a_recheck,
    an_administrators_changes_hold_on_every_instance_at_once,
);

/// Writers per run, and messages per writer.
const WRITERS: usize = 4;
const PER_WRITER: usize = 60;

/// Walks a mailbox view by `after` cursors and `Link: rel="next"` while it is being written to, until
/// `done` and nothing more comes; returns every id seen, in the order seen.
async fn walk(client: Client, params: ListParams, done: tokio::sync::watch::Receiver<bool>) -> Vec<Uuid> {
    let mut seen = Vec::new();
    let mut params = ListParams { limit: Some(7), after: Some(Uuid::nil()), ..params };
    let mut quiet_after_done = 0;
    loop {
        let finished = *done.borrow();
        let mut page = client.list_page(&params).await.expect("a page");
        loop {
            seen.extend(page.messages.iter().map(|m| m.id));
            if let Some(last) = page.messages.last() {
                params.after = Some(last.id);
            }
            match page.next.take() {
                Some(next) => page = client.follow(&next).await.expect("the next page"),
                None => break,
            }
        }
        if finished {
            quiet_after_done += 1;
            if quiet_after_done == 2 {
                return seen;
            }
        }
        tokio::task::yield_now().await;
    }
}

/// Every message of a view, oldest first, walked once nothing is written any more.
async fn listing(client: &Client, params: ListParams) -> Vec<Uuid> {
    let mut params = ListParams { limit: Some(1000), after: Some(Uuid::nil()), ..params };
    let mut ids = Vec::new();
    loop {
        let page = client.list_page(&params).await.unwrap();
        let Some(last) = page.messages.last() else { return ids };
        params.after = Some(last.id);
        ids.extend(page.messages.iter().map(|m| m.id));
    }
}

/// Reads messages off a stream until `count` have arrived (or 60 s pass).
async fn collect(stream: &mut MessageStream, count: usize, into: &mut Vec<Uuid>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while into.len() < count {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Ok(Some(StreamEvent::Message(message)))) => into.push(message.id),
            other => panic!("the stream stopped after {} of {count} messages: {other:?}", into.len()),
        }
    }
}

fn assert_exact(what: &str, seen: &[Uuid], expected: &[Uuid]) {
    let unique: HashSet<&Uuid> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "{what}: a message was repeated");
    let missing = expected.iter().filter(|id| !unique.contains(id)).count();
    assert_eq!(missing, 0, "{what}: {missing} of {} messages were skipped", expected.len());
    assert_eq!(seen, expected, "{what}: not in the order of the final listing");
}

async fn walking_and_streaming_never_skip_or_repeat_across_instances_with_skewed_clocks(backend: Backend) {
    // A on time, B three seconds behind, C two seconds ahead.
    let cluster = spawn_cluster(backend, &["0s", "-3s", "2s"], &[]).await;
    let (a, b, c) = (cluster.client(0), cluster.client(1), cluster.client(2));
    let (_, ivy_token) = cluster.user("ivy@example.com").await;
    let mut writer_tokens = Vec::new();
    for w in 0..WRITERS {
        writer_tokens.push(cluster.user(&format!("writer{w}@example.com")).await.1);
    }
    let ivy_on = |client: &Client| client.clone().with_token(&ivy_token);

    // Streams of ivy's inbox: on C and on A for the whole run, and one on B that is dropped half-way and
    // resumed on C from its last event id.
    let mut stream_c = ivy_on(&c).stream(None).await.unwrap();
    let mut stream_a = ivy_on(&a).stream(None).await.unwrap();
    let mut stream_b = ivy_on(&b).stream(None).await.unwrap();

    // Readers walking views on C while everything is written: ivy's inbox, writer 0's sent box, and the
    // conversation of ivy and writer 0 (both directions, written on different instances).
    let (done_tx, done) = tokio::sync::watch::channel(false);
    let inbox_walker = tokio::spawn(walk(ivy_on(&c), ListParams::default(), done.clone()));
    let writer0_on_c = c.clone().with_token(&writer_tokens[0]);
    let sent = ListParams { mailbox: Some(MailboxName::Sent), ..Default::default() };
    let sent_walker = tokio::spawn(walk(writer0_on_c.clone(), sent.clone(), done.clone()));
    let with = ListParams { with: Some("writer0@example.com".into()), ..Default::default() };
    let with_walker = tokio::spawn(walk(ivy_on(&c), with.clone(), done.clone()));

    // Writers on A and B, each alternating between the two, all to ivy; ivy answers writer 0 from C.
    let mut writers = Vec::new();
    for (w, token) in writer_tokens.iter().enumerate() {
        let on = [a.clone().with_token(token), b.clone().with_token(token)];
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in 0..PER_WRITER {
                let text = format!("writer {w} message {n}");
                acked.push(on[(w + n) % 2].send_to(&text, Some("ivy@example.com"), None).await.unwrap().message.id);
            }
            acked
        }));
    }
    let ivy_on_c = ivy_on(&c);
    let replies = tokio::spawn(async move {
        for n in 0..PER_WRITER / 4 {
            ivy_on_c.send_to(&format!("reply {n}"), Some("writer0@example.com"), None).await.unwrap();
        }
    });

    // Half-way through, stream B's reader goes away and resumes on C.
    let mut from_b = Vec::new();
    collect(&mut stream_b, WRITERS * PER_WRITER / 2, &mut from_b).await;
    drop(stream_b);
    let mut resumed = ivy_on(&c).stream(from_b.last().copied()).await.unwrap();

    let mut acked = Vec::new();
    for writer in writers {
        acked.extend(writer.await.unwrap());
    }
    replies.await.unwrap();
    done_tx.send(true).unwrap();

    let inbox = listing(&ivy_on(&a), ListParams::default()).await;
    assert_eq!(inbox.len(), WRITERS * PER_WRITER);
    assert_eq!(inbox.iter().collect::<HashSet<_>>(), acked.iter().collect::<HashSet<_>>(), "every send is listed");
    let mut in_order = inbox.clone();
    in_order.sort();
    assert_eq!(in_order, inbox, "a listing is in id order");

    assert_exact("the inbox walker", &inbox_walker.await.unwrap(), &inbox);
    assert_exact("the sent-box walker", &sent_walker.await.unwrap(), &listing(&writer0_on_c, sent).await);
    let conversation = listing(&ivy_on(&b), with).await;
    assert_eq!(conversation.len(), PER_WRITER + PER_WRITER / 4);
    assert_exact("the conversation walker", &with_walker.await.unwrap(), &conversation);

    for (name, stream) in [("the stream on C", &mut stream_c), ("the stream on A", &mut stream_a)] {
        let mut received = Vec::new();
        collect(stream, inbox.len(), &mut received).await;
        assert_exact(name, &received, &inbox);
    }
    collect(&mut resumed, inbox.len(), &mut from_b).await;
    assert_exact("the stream resumed on another instance", &from_b, &inbox);
    let extra = tokio::time::timeout(Duration::from_millis(300), resumed.next()).await;
    assert!(extra.is_err(), "nothing after the last message: {extra:?}");
}

async fn messages_and_revocations_reach_streams_on_other_instances_without_waiting_for_a_recheck(backend: Backend) {
    // Streams re-check only hourly here: whatever arrives within seconds came through the change feed.
    let cluster = spawn_cluster(backend, &["0s", "0s"], &[("STREAM_RECHECK", "1h")]).await;
    let (a, b) = (cluster.client(0), cluster.client(1));
    let (_, ada_token) = cluster.user("ada@example.com").await;
    let (bob_password, bob_token) = cluster.user("bob@example.com").await;

    let mut bob_on_b = b.clone().with_token(&bob_token).stream(None).await.unwrap();
    let ada_on_a = a.clone().with_token(&ada_token);
    for n in 0..3 {
        let sent = ada_on_a.send_to(&format!("hi {n}"), Some("bob@example.com"), None).await.unwrap().message;
        assert_eq!(next_message(&mut bob_on_b).await, unread(sent), "sent on A, streamed on B");
    }
    let note = b.clone().with_token(&bob_token).send_message("a note from B").await.unwrap();
    assert_eq!(next_message(&mut bob_on_b).await, note, "and the instance's own messages as before");

    // A password change on A closes bob's stream on B.
    a.change_password("bob@example.com", &bob_password, "bob's new password").await.unwrap();
    assert_eq!(next_close(&mut bob_on_b).await, "token_revoked");

    // Ending one session on A closes that session's stream on B, and only that one.
    let (cy_password, cy_token) = cluster.user("cy@example.com").await;
    let cy_phone = a.login("cy@example.com", &cy_password).await.unwrap();
    let mut cy_on_b = b.clone().with_token(&cy_token).stream(None).await.unwrap();
    let mut cy_phone_on_b = b.clone().with_token(&cy_phone).stream(None).await.unwrap();
    a.clone().with_token(&cy_token).end_session().await.unwrap();
    assert_eq!(next_close(&mut cy_on_b).await, "token_revoked");
    let note = a.clone().with_token(&cy_phone).send_message("still here").await.unwrap();
    assert_eq!(next_message(&mut cy_phone_on_b).await, note, "the other session's stream goes on");

    // Logging out everywhere on B closes ada's stream on A.
    let mut ada_stream = ada_on_a.stream(None).await.unwrap();
    b.clone().with_token(&ada_token).logout_everywhere().await.unwrap();
    assert_eq!(next_close(&mut ada_stream).await, "token_revoked");
}

async fn an_administrators_changes_hold_on_every_instance_at_once(backend: Backend) {
    let env = [("STREAM_RECHECK", "1h"), ("NO_RATE_LIMIT", "false"), ("RATE_LIMIT_LOGIN_FAILURES", "2")];
    let cluster = spawn_cluster(backend, &["0s", "0s"], &env).await;
    let (a, b) = (cluster.client(0), cluster.client(1));
    let out =
        crate::common::msgd_admin(&cluster.db.config(), &["--json", "create-user", "root@example.com", "--admin"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let root_password = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["generated_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let root_on_a = a.clone().with_token(a.login("root@example.com", &root_password).await.unwrap());
    let (dee_password, dee_token) = cluster.user("dee@example.com").await;
    let dee_id = b.clone().with_token(&dee_token).me().await.unwrap().user_id;

    // A token revoked on A is refused by B at once.
    let dee_on_a = a.clone().with_token(&dee_token);
    let script = dee_on_a.create_token("s", &[msgkit::api::ScopeName::Read], None, &dee_password).await.unwrap();
    b.clone().with_token(&script.token).me().await.unwrap();
    dee_on_a.revoke_token(script.view.id).await.unwrap();
    assert_eq!(b.clone().with_token(&script.token).me().await.unwrap_err().code(), Some("token_invalid"));

    // Locked out on B, unlocked on A: B lets the owner in at once.
    for _ in 0..2 {
        assert_eq!(b.login("dee@example.com", "guess").await.unwrap_err().code(), Some("invalid_credentials"));
    }
    assert_eq!(b.login("dee@example.com", &dee_password).await.unwrap_err().code(), Some("rate_limited"));
    root_on_a.admin().unlock(dee_id).await.unwrap();
    crate::common::once_unlocked("B let the owner in", Duration::from_secs(10), || {
        b.login("dee@example.com", &dee_password)
    })
    .await;

    // Deactivated on A: the stream on B closes without waiting for a re-check.
    let mut stream = b.clone().with_token(&dee_token).stream(None).await.unwrap();
    root_on_a.admin().deactivate(dee_id).await.unwrap();
    assert_eq!(next_close(&mut stream).await, "token_revoked");
    assert_eq!(b.clone().with_token(&dee_token).me().await.unwrap_err().code(), Some("token_revoked"));
}
