//! The error contract: every non-2xx answer, including the framework's own rejections, is
//! `application/json` `{"error", "code"}`.

use reqwest::{Method, StatusCode};

use crate::backend_tests;
use crate::common::{Backend, TestApp, spawn_app};

backend_tests!(every_kind_of_bad_request_gets_a_json_error_and_stores_nothing);

/// Sends a request and checks the answer is the JSON error contract; returns the code.
async fn json_error(app: &TestApp, request: reqwest::RequestBuilder, status: StatusCode) -> String {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), status);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 2, "exactly error and code: {body}");
    assert!(!object["error"].as_str().unwrap().is_empty());
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
