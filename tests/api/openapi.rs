//! The OpenAPI description and the Swagger UI.

use reqwest::StatusCode;

use crate::backend_tests;
use crate::common::{Backend, spawn_app};

backend_tests!(the_openapi_description_lists_every_route, the_docs_are_served_from_the_binary);

/// Every (method, path) the server routes. Adding a route without adding it here fails
/// `every_listed_route_is_really_served`; adding it here without documenting it fails the check below.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/users"),
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
        if spec["paths"][path][method].get("security").is_some() {
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
