//! The error contract: every non-2xx answer, including the framework's own rejections, is
//! `application/json` `{"error", "code"}`.

use reqwest::{Method, StatusCode};

use crate::backend_tests;
use crate::common::{Backend, TestApp, spawn_app};

backend_tests!(
    every_kind_of_bad_request_gets_a_json_error_and_stores_nothing,
    near_miss_paths_reach_their_route_and_a_404_says_what_was_asked,
    query_mistakes_are_said_in_words_with_the_parameter,
);

async fn near_miss_paths_reach_their_route_and_a_404_says_what_was_asked(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    user.client.send_message("found").await.unwrap();
    for path in ["/messages/", "//messages", "/messages//", "//messages/?limit=5"] {
        let response = app.raw().get(app.url(path)).bearer_auth(&user.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.json::<Vec<serde_json::Value>>().await.unwrap().len(), 1, "{path}");
    }
    let root: serde_json::Value = app.raw().get(app.url("/")).send().await.unwrap().json().await.unwrap();
    assert_eq!((root["docs"].as_str(), root["openapi"].as_str()), (Some("/docs/"), Some("/openapi.json")));
    let missing: serde_json::Value = app.raw().post(app.url("/mesages")).send().await.unwrap().json().await.unwrap();
    assert_eq!(missing["code"], "not_found");
    assert!(missing["error"].as_str().unwrap().contains("POST /mesages"), "{missing}");
    let wrong = app.raw().delete(app.url("/messages")).send().await.unwrap();
    assert_eq!(wrong.headers()["allow"], "POST,GET,HEAD");
    let docs = app.raw().get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK, "the Swagger UI keeps its own trailing slash");
}

async fn query_mistakes_are_said_in_words_with_the_parameter(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("after=not-an-id", "after"),
        ("before=", "before"),
        ("box=outbox", "box"),
        ("with=not-an-email", "with"),
        ("wth=bob@example.com", "wth"),
        ("limit=5&limit=6", "limit"),
    ] {
        let response = app.raw().get(app.url(&format!("/messages?{query}"))).bearer_auth(&user.token).send().await;
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!((body["code"].as_str(), body["field"].as_str()), (Some("invalid_query"), Some(field)), "{query}");
        let sentence = body["error"].as_str().unwrap();
        for leak in ["UUID parsing", "unknown variant", "invalid digit", "Failed to deserialize"] {
            assert!(!sentence.contains(leak), "{query}: {sentence}");
        }
    }
    let stream = app.raw().get(app.url("/messages/stream")).bearer_auth(&user.token).header("last-event-id", "x");
    let body: serde_json::Value = stream.send().await.unwrap().json().await.unwrap();
    assert_eq!(body["field"], "Last-Event-ID");
}

/// Sends a request and checks the answer is the JSON error contract; returns the code.
async fn json_error(app: &TestApp, request: reqwest::RequestBuilder, status: StatusCode) -> String {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), status);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    let object = body.as_object().unwrap();
    assert!(object.keys().all(|k| ["error", "code", "field"].contains(&k.as_str())), "error, code and field: {body}");
    let sentence = object["error"].as_str().unwrap();
    assert!(sentence.ends_with('.') && sentence.chars().next().unwrap().is_uppercase(), "a sentence: {sentence}");
    let code = object["code"].as_str().unwrap().to_owned();
    assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
    let _ = app;
    code
}

async fn every_kind_of_bad_request_gets_a_json_error_and_stores_nothing(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let raw = app.raw();
    let post_users = || raw.post(app.url("/users"));
    let json = ("content-type", "application/json");

    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (post_users().header(json.0, json.1).body("{\"email\":"), StatusCode::BAD_REQUEST, "invalid_json"),
        (post_users().header(json.0, json.1).body("not json"), StatusCode::BAD_REQUEST, "invalid_json"),
        (post_users().header(json.0, json.1).body(""), StatusCode::BAD_REQUEST, "invalid_json"),
        (post_users().header(json.0, json.1).body("{\"email\": 7}"), StatusCode::BAD_REQUEST, "invalid_body"),
        (post_users().header(json.0, json.1).body("[\"a@b.co\"]"), StatusCode::BAD_REQUEST, "invalid_body"),
        (
            post_users().header(json.0, json.1).body(r#"{"email": {"$gt": ""}}"#),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (post_users().body(r#"{"email":"a@b.co"}"#), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            post_users().header("content-type", "text/plain").body(r#"{"email":"a@b.co"}"#),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post_users().header(json.0, json.1).body(format!(r#"{{"email":"{}"}}"#, "a".repeat(1024 * 1024))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            post_users().header(json.0, json.1).body(r#"{"email": "a@b.co", "password": "mine"}"#),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            post_users().header(json.0, json.1).body(r#"{"email": "a@b.co", "email": "b@c.de"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (raw.get(app.url("/no-such-route")), StatusCode::NOT_FOUND, "not_found"),
        (raw.get(app.url("/users")), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        (raw.request(Method::DELETE, app.url("/messages")), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        (raw.get(app.url("/messages")), StatusCode::UNAUTHORIZED, "token_missing"),
    ];
    for (request, status, code) in cases {
        assert_eq!(json_error(&app, request, status).await, code);
    }

    // None of it created an account.
    app.register("a@b.co").await;
}
