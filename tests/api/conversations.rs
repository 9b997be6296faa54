//! Messages between accounts: recipients, mailboxes, conversations and cursor pages.

use std::collections::HashSet;
use std::time::Duration;

use msgkit::api::{ListParams, MailboxName, MessageView};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::backend_tests;
use crate::common::{Backend, api_code, spawn_app, unread};

backend_tests!(
    two_users_exchange_messages,
    a_message_to_an_unknown_or_invalid_recipient_is_refused,
    inbox_sent_and_conversation_filters_pick_the_right_messages,
    pages_follow_link_headers_to_the_end,
    before_pages_walk_backwards_from_the_newest,
    invalid_list_parameters_are_refused_with_the_reason,
    a_cursor_walk_during_concurrent_writers_never_skips_or_repeats,
    spec_clients_see_what_they_always_saw,
    me_describes_the_caller,
);

async fn two_users_exchange_messages(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let sent = ada.client.send_to("hi bob", Some("BOB@example.com"), None).await.unwrap().message;
    assert_eq!((sent.from.as_str(), sent.to.as_str()), ("ada@example.com", "bob@example.com"));
    bob.client.send_to("hi ada", Some("ada@example.com"), None).await.unwrap();

    let bob_inbox = bob.client.list_messages().await.unwrap();
    assert_eq!(bob_inbox, vec![unread(sent.clone())]);
    let ada_inbox: Vec<_> = ada.client.list_messages().await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(ada_inbox, ["hi ada"]);
    // The raw 201 body has exactly the documented fields.
    let response = app
        .raw()
        .post(app.url("/messages"))
        .bearer_auth(&ada.token)
        .json(&json!({"content": "fields", "to": "bob@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["content", "created_at", "from", "id", "to"]);
}

async fn a_message_to_an_unknown_or_invalid_recipient_is_refused(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    assert_eq!(
        api_code(ada.client.send_to("hello?", Some("nobody@example.com"), None).await),
        (StatusCode::NOT_FOUND, "recipient_not_found".into())
    );
    assert_eq!(
        api_code(ada.client.send_to("hello?", Some("not an email"), None).await),
        (StatusCode::BAD_REQUEST, "recipient_invalid".into())
    );
    let sent = ListParams { mailbox: Some(MailboxName::Sent), ..Default::default() };
    assert!(ada.client.list_page(&sent).await.unwrap().messages.is_empty(), "nothing was stored");
}

async fn inbox_sent_and_conversation_filters_pick_the_right_messages(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let cy = app.user("cy@example.com").await;
    ada.client.send_to("ada→bob", Some("bob@example.com"), None).await.unwrap();
    bob.client.send_to("bob→ada", Some("ada@example.com"), None).await.unwrap();
    cy.client.send_to("cy→ada", Some("ada@example.com"), None).await.unwrap();
    ada.client.send_to("ada→cy", Some("cy@example.com"), None).await.unwrap();
    ada.client.send_message("ada→ada").await.unwrap();

    let contents = |page: msgkit::client::Page| page.messages.into_iter().map(|m| m.content).collect::<Vec<_>>();
    let inbox = ada.client.list_page(&ListParams::default()).await.unwrap();
    assert_eq!(contents(inbox), ["bob→ada", "cy→ada", "ada→ada"]);
    let explicit_inbox = ListParams { mailbox: Some(MailboxName::Inbox), ..Default::default() };
    assert_eq!(contents(ada.client.list_page(&explicit_inbox).await.unwrap()), ["bob→ada", "cy→ada", "ada→ada"]);
    let sent = ListParams { mailbox: Some(MailboxName::Sent), ..Default::default() };
    assert_eq!(contents(ada.client.list_page(&sent).await.unwrap()), ["ada→bob", "ada→cy", "ada→ada"]);
    let with_bob = ListParams { with: Some("Bob@Example.com".into()), ..Default::default() };
    assert_eq!(contents(ada.client.list_page(&with_bob).await.unwrap()), ["ada→bob", "bob→ada"]);
    let with_self = ListParams { with: Some("ada@example.com".into()), ..Default::default() };
    assert_eq!(contents(ada.client.list_page(&with_self).await.unwrap()), ["ada→ada"]);
    let from_bob =
        ListParams { with: Some("bob@example.com".into()), mailbox: Some(MailboxName::Inbox), ..Default::default() };
    assert_eq!(contents(ada.client.list_page(&from_bob).await.unwrap()), ["bob→ada"]);
    let to_bob =
        ListParams { with: Some("bob@example.com".into()), mailbox: Some(MailboxName::Sent), ..Default::default() };
    assert_eq!(contents(ada.client.list_page(&to_bob).await.unwrap()), ["ada→bob"]);
    let with_nobody = ListParams { with: Some("nobody@example.com".into()), ..Default::default() };
    assert_eq!(api_code(ada.client.list_page(&with_nobody).await), (StatusCode::NOT_FOUND, "user_not_found".into()));
}

async fn pages_follow_link_headers_to_the_end(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    let mut sent = Vec::new();
    for i in 0..23 {
        sent.push(ada.client.send_message(&format!("m{i}")).await.unwrap().id);
    }
    // The default page is the newest one, with a link to older messages.
    let response = app.raw().get(app.url("/messages?limit=10")).bearer_auth(&ada.token).send().await.unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.starts_with("</messages?limit=10&before=") && link.ends_with(r#">; rel="prev""#), "{link}");
    let newest: Vec<Uuid> = response.json::<Vec<MessageView>>().await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(newest, sent[13..], "the newest ten, oldest first");

    // Walking from the first message: `after=` (empty).
    let response = app.raw().get(app.url("/messages?limit=10&after=")).bearer_auth(&ada.token).send().await.unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.starts_with("</messages?limit=10&after=") && link.ends_with(r#">; rel="next""#), "{link}");
    let mut page = ada.client.list_page(&ListParams { limit: Some(10), ..ListParams::from_start() }).await.unwrap();
    let mut seen: Vec<Uuid> = Vec::new();
    let mut pages = 1;
    loop {
        assert!(page.messages.len() <= 10);
        seen.extend(page.messages.iter().map(|m| m.id));
        match page.next {
            Some(next) => {
                page = ada.client.follow(&next).await.unwrap();
                pages += 1;
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, sent);

    // An exact multiple of the page size ends without an empty page.
    let full = ada.client.list_page(&ListParams { limit: Some(23), ..ListParams::from_start() }).await.unwrap();
    assert_eq!((full.messages.len(), full.next.is_none()), (23, true));
    let newest = ada.client.list_page(&ListParams { limit: Some(23), ..Default::default() }).await.unwrap();
    assert_eq!((newest.messages.len(), newest.prev.is_none()), (23, true));
}

async fn before_pages_walk_backwards_from_the_newest(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    let mut sent = Vec::new();
    for i in 0..7 {
        sent.push(ada.client.send_message(&format!("m{i}")).await.unwrap().id);
    }
    let newest = ListParams { limit: Some(3), before: Some(Uuid::max()), ..Default::default() };
    let page = ada.client.list_page(&newest).await.unwrap();
    assert_eq!(page.messages.iter().map(|m| m.id).collect::<Vec<_>>(), sent[4..7], "newest three, oldest first");
    let page = ada.client.follow(page.prev.as_ref().expect("a previous page")).await.unwrap();
    assert_eq!(page.messages.iter().map(|m| m.id).collect::<Vec<_>>(), sent[1..4]);
    let page = ada.client.follow(page.prev.as_ref().unwrap()).await.unwrap();
    assert_eq!(page.messages.iter().map(|m| m.id).collect::<Vec<_>>(), sent[0..1]);
    assert!(page.prev.is_none());
    let between = ListParams { after: Some(sent[1]), before: Some(sent[5]), ..Default::default() };
    let page = ada.client.list_page(&between).await.unwrap();
    assert_eq!(page.messages.iter().map(|m| m.id).collect::<Vec<_>>(), sent[2..5]);
    let empty = ListParams { after: Some(sent[5]), before: Some(sent[5]), ..Default::default() };
    assert!(ada.client.list_page(&empty).await.unwrap().messages.is_empty(), "an empty range is an empty page");
}

async fn invalid_list_parameters_are_refused_with_the_reason(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    let id = Uuid::now_v7();
    for query in [
        "limit=0".to_owned(),
        "limit=1001".to_owned(),
        "limit=ten".to_owned(),
        "limit=-1".to_owned(),
        "after=not-an-id".to_owned(),
        "before=123".to_owned(),
        "box=outbox".to_owned(),
        "with=not-an-email".to_owned(),
        format!("after={id}&before=nope"),
    ] {
        let response =
            app.raw().get(app.url(&format!("/messages?{query}"))).bearer_auth(&ada.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_query", "{query}");
        assert!(body["error"].as_str().unwrap().len() > 20, "{query}: the reason is given: {body}");
    }
}

async fn a_cursor_walk_during_concurrent_writers_never_skips_or_repeats(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let reader = app.user("reader@example.com").await;
    let emails: Vec<String> = (0..4).map(|i| format!("w{i}@example.com")).collect();
    let writers: Vec<_> = futures::future::join_all(emails.iter().map(|e| app.user(e))).await;
    for i in 0..40 {
        writers[i % 4].client.send_to(&format!("before {i}"), Some("reader@example.com"), None).await.unwrap();
    }
    // Writers keep sending while the reader walks page by page.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut handles = Vec::new();
    for (w, writer) in writers.into_iter().enumerate() {
        let stop = stop.clone();
        handles.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let text = format!("during {w}-{n}");
                sent.push(writer.client.send_to(&text, Some("reader@example.com"), None).await.unwrap().message.id);
                n += 1;
            }
            sent
        }));
    }
    let mut seen = Vec::new();
    let mut after = Some(Uuid::nil());
    for _ in 0..30 {
        let page = reader.client.list_page(&ListParams { limit: Some(5), after, ..Default::default() }).await.unwrap();
        if let Some(last) = page.messages.last() {
            after = Some(last.id);
        }
        seen.extend(page.messages.into_iter().map(|m| m.id));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut during = Vec::new();
    for handle in handles {
        during.extend(handle.await.unwrap());
    }
    // Finish the walk once the writers are done.
    loop {
        let page = reader.client.list_page(&ListParams { limit: Some(50), after, ..Default::default() }).await.unwrap();
        let Some(last) = page.messages.last() else { break };
        after = Some(last.id);
        seen.extend(page.messages.into_iter().map(|m| m.id));
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no message repeated");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "ids only grow along the walk");
    assert!(!during.is_empty(), "writers wrote during the walk");
    let all = reader.client.list_page(&ListParams { limit: Some(1000), ..Default::default() }).await.unwrap();
    assert_eq!(seen, all.messages.iter().map(|m| m.id).collect::<Vec<_>>(), "the walk saw every message: no skip");
    assert_eq!(all.messages.len(), 40 + during.len());
}

async fn spec_clients_see_what_they_always_saw(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    let response = app
        .raw()
        .post(app.url("/messages"))
        .bearer_auth(&ada.token)
        .json(&json!({"content": "just content"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let listed: serde_json::Value =
        app.raw().get(app.url("/messages")).bearer_auth(&ada.token).send().await.unwrap().json().await.unwrap();
    let listed = listed.as_array().expect("a bare JSON array");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["content"], "just content");
    assert!(listed[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(listed[0]["from"], listed[0]["to"], "a note to self");
}

async fn me_describes_the_caller(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("Me@Example.com").await;
    let me = ada.client.me().await.unwrap();
    assert_eq!(me.email, "me@example.com");
    let response = app.raw().get(app.url("/users/me")).bearer_auth(&ada.token).send().await.unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "email", "role", "user_id"]);
    assert_eq!(api_code(app.client.me().await).0, StatusCode::UNAUTHORIZED);
}
