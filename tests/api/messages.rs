//! Sending and listing messages.

use msgkit::client::ClientError;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::common::{Backend, spawn_app, spawn_app_with};

backend_tests!(
    a_sent_message_is_answered_with_its_stored_form_and_listed,
    messages_are_listed_oldest_first_with_rfc3339_utc_times,
    each_user_sees_only_their_own_messages,
    blank_missing_or_oversized_content_is_refused,
    content_is_returned_byte_for_byte,
    the_content_limit_is_configurable,
    the_content_limit_counts_bytes_as_the_description_says,
    recipient_email_is_an_alias_of_to,
);

async fn the_content_limit_counts_bytes_as_the_description_says(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |config| config.max_message_bytes = 1000).await;
    let user = app.new_user().await;
    // 250 four-byte characters: 1,000 bytes, accepted; one more is 1,004 bytes, refused.
    user.client.send_message(&"👋".repeat(250)).await.unwrap();
    match user.client.send_message(&"👋".repeat(251)).await {
        Err(ClientError::Api { status, code, message, field, .. }) => {
            assert_eq!(
                (status, code.as_str(), field.as_deref()),
                (StatusCode::BAD_REQUEST, "content_too_long", Some("content"))
            );
            assert!(message.contains("1000 bytes") && message.contains("1004"), "{message}");
        }
        other => panic!("expected content_too_long, got {other:?}"),
    }
    let spec: serde_json::Value = app.raw().get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let content = &spec["components"]["schemas"]["SendMessageRequest"]["properties"]["content"];
    assert_eq!(content["maxLength"], 1000, "the configured limit");
    assert!(content["description"].as_str().unwrap().contains("1000 **bytes**"), "{content}");
}

async fn recipient_email_is_an_alias_of_to(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    let bob = app.new_user().await;
    let send =
        |body: serde_json::Value| app.raw().post(app.url("/messages")).bearer_auth(&ada.token).json(&body).send();
    let response = send(json!({"content": "via the alias", "recipient_email": bob.email})).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(bob.client.list_messages().await.unwrap()[0].content, "via the alias");
    let both = send(json!({"content": "x", "to": bob.email, "recipient_email": bob.email})).await.unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = both.json().await.unwrap();
    assert_eq!((body["code"].as_str(), body["field"].as_str()), (Some("invalid_body"), Some("recipient_email")));
    // The original report: a misspelt field used to send the message to the sender's own mailbox.
    let typo = send(json!({"content": "x", "recipient": bob.email})).await.unwrap();
    let body: serde_json::Value = typo.json().await.unwrap();
    assert_eq!((body["code"].as_str(), body["field"].as_str()), (Some("unknown_field"), Some("recipient")));
    assert!(ada.client.list_messages().await.unwrap().is_empty(), "nothing was stored");
}

async fn a_sent_message_is_answered_with_its_stored_form_and_listed(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let response = app
        .raw()
        .post(app.url("/messages"))
        .bearer_auth(&user.token)
        .json(&json!({"content": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let sent: serde_json::Value = response.json().await.unwrap();
    assert_eq!(sent["content"], "hello");
    let id = uuid::Uuid::parse_str(sent["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7, "message ids are time-ordered UUIDv7");

    let listed: serde_json::Value =
        app.raw().get(app.url("/messages")).bearer_auth(&user.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([sent]), "the list holds exactly what the 201 answered");
}

async fn messages_are_listed_oldest_first_with_rfc3339_utc_times(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let mut sent = Vec::new();
    for i in 0..25 {
        sent.push(user.client.send_message(&format!("message {i}")).await.unwrap());
    }
    let listed = user.client.list_messages().await.unwrap();
    assert_eq!(listed, sent);
    let raw: serde_json::Value =
        app.raw().get(app.url("/messages")).bearer_auth(&user.token).send().await.unwrap().json().await.unwrap();
    for item in raw.as_array().unwrap() {
        let created_at = item["created_at"].as_str().unwrap();
        time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339).unwrap();
        assert!(created_at.ends_with('Z') && created_at.len() == 24, "{created_at}");
    }
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id && w[0].created_at <= w[1].created_at));
}

async fn each_user_sees_only_their_own_messages(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.new_user().await;
    let bob = app.new_user().await;
    ada.client.send_message("ada's note").await.unwrap();
    bob.client.send_message("bob's note").await.unwrap();
    let ada_sees: Vec<_> = ada.client.list_messages().await.unwrap().into_iter().map(|m| m.content).collect();
    let bob_sees: Vec<_> = bob.client.list_messages().await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(ada_sees, ["ada's note"]);
    assert_eq!(bob_sees, ["bob's note"]);
}

async fn blank_missing_or_oversized_content_is_refused(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let limit = msgkit::domain::MessageContent::DEFAULT_MAX_BYTES;
    for (body, code) in [
        (json!({}), "content_required"),
        (json!({"content": ""}), "content_required"),
        (json!({"content": " \n\t "}), "content_required"),
        (json!({"content": "x".repeat(limit + 1)}), "content_too_long"),
        (json!({"content": "nul\u{0}inside"}), "content_invalid"),
        (json!({"content": 42}), "invalid_body"),
        (json!({"content": null}), "invalid_body"),
    ] {
        let response = app.raw().post(app.url("/messages")).bearer_auth(&user.token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["code"], code);
    }
    assert!(user.client.list_messages().await.unwrap().is_empty(), "nothing was stored");
    let at_limit = "x".repeat(limit);
    assert_eq!(user.client.send_message(&at_limit).await.unwrap().content, at_limit);
}

async fn content_is_returned_byte_for_byte(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let texts = [
        "emoji 👩🏽‍💻🎉 and flags 🇳🇿",
        "עברית מימין לשמאל \u{200F} mixed with LTR",
        "combining: e\u{301} a\u{308} Z\u{335}\u{31b}",
        "  leading and trailing whitespace kept  \n",
        "tabs\tand\r\nnewlines",
        "'; DROP TABLE messages; -- and {\"$where\": \"1\"}",
    ];
    for text in texts {
        assert_eq!(user.client.send_message(text).await.unwrap().content, text);
    }
    let listed: Vec<_> = user.client.list_messages().await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(listed, texts);
}

async fn the_content_limit_is_configurable(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |config| config.max_message_bytes = 10).await;
    let user = app.new_user().await;
    user.client.send_message("0123456789").await.unwrap();
    match user.client.send_message("0123456789a").await {
        Err(ClientError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "content_too_long"))
        }
        other => panic!("expected content_too_long, got {other:?}"),
    }
}
