//! Idempotent sends: a retry with the same key stores nothing new, even when retries race.

use futures::future::join_all;
use msgkit::api::{ListParams, MailboxName};
use msgkit::client::ClientError;
use reqwest::StatusCode;

use crate::backend_tests;
use crate::common::{Backend, spawn_app};

backend_tests!(
    a_retry_with_the_same_key_returns_the_original_and_stores_nothing,
    racing_retries_with_one_key_store_one_message,
    the_same_key_with_another_body_is_refused,
    keys_belong_to_their_sender,
    a_bad_idempotency_key_is_refused,
);

async fn sent_count(client: &msgkit::client::Client) -> usize {
    let sent = ListParams { mailbox: Some(MailboxName::Sent), limit: Some(1000), ..Default::default() };
    client.list_page(&sent).await.unwrap().messages.len()
}

async fn a_retry_with_the_same_key_returns_the_original_and_stores_nothing(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let first = ada.client.send_to("once", Some("bob@example.com"), Some("key-1")).await.unwrap();
    assert!(!first.replayed);
    let retry = ada.client.send_to("once", Some("bob@example.com"), Some("key-1")).await.unwrap();
    assert!(retry.replayed, "the answer says it is a replay");
    assert_eq!(retry.message, first.message, "the original message comes back");
    assert_eq!(bob.client.list_messages().await.unwrap().len(), 1);
    assert_eq!(sent_count(&ada.client).await, 1);
    // Another key is another message.
    ada.client.send_to("once", Some("bob@example.com"), Some("key-2")).await.unwrap();
    assert_eq!(sent_count(&ada.client).await, 2);
}

async fn racing_retries_with_one_key_store_one_message(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    let attempts = (0..20).map(|_| ada.client.send_to("raced", None, Some("race-key")));
    let results: Vec<_> = join_all(attempts).await.into_iter().map(Result::unwrap).collect();
    let ids: std::collections::HashSet<_> = results.iter().map(|r| r.message.id).collect();
    assert_eq!(ids.len(), 1, "every retry got the same message");
    assert_eq!(results.iter().filter(|r| !r.replayed).count(), 1, "exactly one stored it");
    assert_eq!(sent_count(&ada.client).await, 1);
}

async fn the_same_key_with_another_body_is_refused(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    app.user("bob@example.com").await;
    ada.client.send_to("original", None, Some("k")).await.unwrap();
    for (content, to) in [("changed", None), ("original", Some("bob@example.com"))] {
        match ada.client.send_to(content, to, Some("k")).await {
            Err(ClientError::Api { status, code, .. }) => {
                assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"))
            }
            other => panic!("expected 422, got {other:?}"),
        }
    }
    assert_eq!(sent_count(&ada.client).await, 1);
}

async fn keys_belong_to_their_sender(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    let bob = app.new_user().await;
    let a = ada.client.send_to("same text", None, Some("shared")).await.unwrap();
    let b = bob.client.send_to("same text", None, Some("shared")).await.unwrap();
    assert!(!a.replayed && !b.replayed);
    assert_ne!(a.message.id, b.message.id);
}

async fn a_bad_idempotency_key_is_refused(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    for key in [String::new(), "x".repeat(256), "has space".into()] {
        let response = app
            .raw()
            .post(app.url("/messages"))
            .bearer_auth(&ada.token)
            .header("idempotency-key", &key)
            .json(&serde_json::json!({"content": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{key:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_idempotency_key");
    }
    assert_eq!(sent_count(&ada.client).await, 0);
}
