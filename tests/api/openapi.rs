//! The OpenAPI description and the Swagger UI.

use reqwest::StatusCode;

use crate::backend_tests;
use crate::common::{Backend, spawn_app};

backend_tests!(
    the_openapi_description_lists_every_route,
    the_docs_are_served_from_the_binary,
    what_the_description_allows_in_a_send_the_server_accepts,
    the_declared_refusals_and_their_headers_are_those_the_server_sends,
);

/// Every operation that takes a Bearer declares the 401 and 403 it can answer, with `WWW-Authenticate`;
/// those that take a password instead (login, change-password) declare no challenge, as none is sent;
/// every `default` response declares `Allow` (for a 405).
async fn the_declared_refusals_and_their_headers_are_those_the_server_sends(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let spec: serde_json::Value = app.raw().get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let bearer = operation["security"].to_string().contains("\"bearer\"");
            let responses = operation["responses"].as_object().unwrap();
            let challenged =
                |status: &str| responses.get(status).is_some_and(|r| !r["headers"]["WWW-Authenticate"].is_null());
            if bearer {
                for status in ["401", "403"] {
                    assert!(challenged(status), "{method} {path}: {status} with WWW-Authenticate");
                }
            } else if (method.as_str(), path.as_str()) == ("post", "/users") {
                // Anonymous as a rule; an administrator's Bearer, when it is bad, is challenged.
                assert!(challenged("401") && !challenged("400"), "{method} {path}");
            } else {
                assert!(!responses.keys().any(|s| challenged(s)), "{method} {path} challenges no Bearer");
            }
            assert!(!responses["default"]["headers"]["Allow"].is_null(), "{method} {path}: default with Allow");
        }
    }
    // And the server sends what is declared: an access token without the scope gets a challenge.
    let ada = app.user("ada@example.com").await;
    let token = ada.client.create_token("sender", &[msgkit::api::ScopeName::Send], None, &ada.password).await.unwrap();
    for path in ["/users/me", "/messages"] {
        let response = app.raw().get(app.url(path)).bearer_auth(&token.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.contains(r#"error="insufficient_scope", scope="read""#), "{challenge}");
    }
    for path in ["/users/logout"] {
        let response = app.raw().post(app.url(path)).bearer_auth(&token.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let login = app.raw().post(app.url("/users/login")).json(&serde_json::json!({"email": ada.email, "password": "x"}));
    let response = login.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_none(), "a wrong password is not a Bearer challenge");
}

/// `to` and `recipient_email` are one or the other: the description and the server agree that a null is
/// "not given" and that two strings are refused.
async fn what_the_description_allows_in_a_send_the_server_accepts(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    app.user("g1@example.com").await;
    let spec: serde_json::Value = app.raw().get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let not = &spec["components"]["schemas"]["SendMessageRequest"]["not"];
    assert_eq!(not["required"], serde_json::json!(["to", "recipient_email"]));
    assert_eq!(not["properties"]["to"]["type"], "string", "only two strings are refused: {not}");
    let send =
        |body: serde_json::Value| app.raw().post(app.url("/messages")).bearer_auth(&ada.token).json(&body).send();
    let one = send(serde_json::json!({"content": "x", "to": null, "recipient_email": "g1@example.com"})).await.unwrap();
    assert_eq!(one.status(), 201);
    let neither = send(serde_json::json!({"content": "x", "to": null, "recipient_email": null})).await.unwrap();
    assert_eq!(neither.status(), 201, "to oneself, as without either");
    let both = send(serde_json::json!({"content": "x", "to": "g1@example.com", "recipient_email": "g1@example.com"}));
    assert_eq!(both.await.unwrap().status(), 400);
}

/// The rules a client generator needs and Redocly's recommended set checks, kept here so they hold for
/// every route added later.
#[test]
fn the_openapi_description_is_exact() {
    let spec = serde_json::to_value(msgkit::http::openapi()).unwrap();
    assert!(!spec["servers"].as_array().unwrap().is_empty(), "servers");
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(operation["summary"].is_string(), "{name}: a summary");
            assert!(operation_ids.insert(operation["operationId"].as_str().unwrap().to_owned()), "{name}: unique id");
            assert!(operation["security"].is_array(), "{name}: security declared");
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{name}: a 2xx");
            assert!(responses.keys().any(|s| s.starts_with('4')), "{name}: a 4xx");
            assert!(responses.contains_key("default"), "{name}: a default error");
            for (status, response) in responses {
                assert!(response["headers"].get("X-Request-Id").is_some(), "{name} {status}: X-Request-Id");
            }
        }
    }
    // Every reference resolves, and every schema is used.
    let text = spec.to_string();
    let mut referenced = std::collections::HashSet::new();
    for part in text.split("\"$ref\":\"#/components/").skip(1) {
        let target = part.split('"').next().unwrap();
        let (kind, name) = target.split_once('/').unwrap();
        assert!(spec["components"][kind].get(name).is_some(), "{target} resolves");
        referenced.insert(target.to_owned());
    }
    for name in spec["components"]["schemas"].as_object().unwrap().keys() {
        assert!(referenced.contains(&format!("schemas/{name}")), "schema {name} is used");
    }
    // The codes are an enum, and exactly the server's.
    let codes: Vec<&str> = spec["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes, msgkit::http::ApiError::codes());
    // Bodies refuse fields they do not have.
    for schema in [
        "CreateUserRequest",
        "LoginRequest",
        "ChangePasswordRequest",
        "SendMessageRequest",
        "CreateTokenRequest",
        "UpdateUserRequest",
        "DeleteAccountRequest",
    ] {
        assert_eq!(spec["components"]["schemas"][schema]["additionalProperties"], false, "{schema}");
    }
    // The stream is described as what it sends: the schema of `text/event-stream` is that of one event
    // (OpenAPI 3.1's convention, which schemathesis checks every event against).
    let stream = &spec["paths"]["/messages/stream"]["get"]["responses"]["200"]["content"];
    let event = &stream["text/event-stream"]["schema"];
    assert!(event["properties"]["data"]["contentSchema"].to_string().contains("StreamClose"));
    let codes = &spec["components"]["schemas"]["StreamCloseCode"]["enum"];
    assert_eq!(codes, &serde_json::json!(["token_expired", "token_revoked", "token_invalid", "shutting_down"]));
    assert!(event["required"].as_array().is_none_or(|r| r.is_empty()), "message events have no `event:` line");
    assert_eq!(event["properties"]["data"]["contentMediaType"], "application/json");
    assert!(stream.get("application/json").is_none());
}

/// Every (method, path) the server routes. Adding a route without adding it here fails
/// `every_listed_route_is_really_served`; adding it here without documenting it fails the check below.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("post", "/users"),
    ("delete", "/users/me/session"),
    ("post", "/users/login"),
    ("put", "/users/change-password"),
    ("post", "/users/logout"),
    ("post", "/messages"),
    ("get", "/messages"),
    ("get", "/messages/stream"),
    ("get", "/users/me"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("delete", "/users/me"),
    ("post", "/tokens"),
    ("get", "/tokens"),
    ("delete", "/tokens/{id}"),
    ("get", "/admin/users"),
    ("patch", "/admin/users/{id}"),
    ("delete", "/admin/users/{id}"),
    ("post", "/admin/users/{id}/deactivate"),
    ("post", "/admin/users/{id}/activate"),
    ("post", "/admin/users/{id}/reset-password"),
    ("post", "/admin/users/{id}/unlock"),
    ("post", "/messages/stream/tickets"),
    ("delete", "/messages/{id}"),
    ("post", "/messages/read"),
    ("post", "/messages/unread"),
    ("get", "/messages/unread"),
];

async fn the_openapi_description_lists_every_route(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let spec: serde_json::Value = app.raw().get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    expected.sort();
    assert_eq!(documented, expected);

    // Every operation documents its error answers with the error schema.
    for (method, path) in &expected {
        let responses = spec["paths"][path][method]["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}");
        let security = spec["paths"][path][method]["security"].as_array().expect("security declared, [] when public");
        if !security.is_empty() {
            assert!(responses.contains_key("401"), "{method} {path} documents its 401");
        }
        for (status, response) in responses {
            if !status.starts_with('2') && path != "/metrics" {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
            }
        }
    }

    // And every listed route is really served: it answers something other than 404 or 405.
    for (method, path) in ROUTES {
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let status = app.raw().request(method.clone(), app.url(path)).send().await.unwrap().status();
        assert!(status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
}

async fn the_docs_are_served_from_the_binary(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let response = app.raw().get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("swagger"), "Swagger UI page");
    let response = app.raw().get(app.url("/docs/swagger-ui.css")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
