//! Operating msgd: health, readiness, metrics, request ids, CORS, the request timeout and shutdown.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::common::{Backend, Database, SlowRequest, TestApp, spawn_app, spawn_app_with};

backend_tests!(
    health_and_readiness_answer_ok,
    readiness_turns_503_as_soon_as_shutdown_begins,
    metrics_move_when_requests_are_made,
    a_request_id_is_accepted_or_generated_and_always_returned,
    a_slow_request_times_out_with_a_json_503_naming_the_request,
    cors_answers_preflights_only_when_enabled,
    shutdown_lets_a_request_in_flight_finish,
);

async fn health_and_readiness_answer_ok(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    for path in ["/healthz", "/readyz"] {
        let response = app.raw().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"status": "ok"}));
    }
}

async fn readiness_turns_503_as_soon_as_shutdown_begins(backend: Backend) {
    let db = Database::fresh(backend).await;
    let mut config = db.config();
    config.shutdown_delay = Duration::from_secs(2);
    let app = TestApp::start(config).await;
    let (raw, url) = (app.raw(), app.url("/readyz"));
    let stopping = tokio::spawn(app.stop());
    // During the shutdown delay the listener still accepts: readiness says to stop sending traffic.
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    let mut seen = None;
    while std::time::Instant::now() < deadline {
        let response = raw.get(&url).send().await.unwrap();
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            seen = Some(response.json::<serde_json::Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let body = seen.expect("/readyz answered 503 during the shutdown delay");
    assert_eq!(body["code"], "shutting_down");
    stopping.await.unwrap();
}

/// The value of one sample line of the Prometheus text, 0 if absent.
fn sample(metrics: &str, name_and_labels: &str) -> f64 {
    metrics.lines().find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok()).unwrap_or(0.0)
}

async fn metrics_text(app: &TestApp) -> String {
    let response = app.raw().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

async fn metrics_move_when_requests_are_made(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let healthz = r#"msgd_http_requests_total{method="GET",route="/healthz",status="200"}"#;
    let before = metrics_text(&app).await;
    for _ in 0..3 {
        app.raw().get(app.url("/healthz")).send().await.unwrap();
    }
    let user = app.new_user().await;
    user.client.send_message("counted").await.unwrap();
    let after = metrics_text(&app).await;
    // Counters are process-wide and other tests run alongside: they must have grown by at least ours.
    assert!(sample(&after, healthz) - sample(&before, healthz) >= 3.0, "{after}");
    let backend_label = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Mongo => "mongodb",
    };
    let insert = format!(
        r#"msgd_store_operation_duration_seconds_count{{operation="insert_message",backend="{backend_label}",outcome="ok"}}"#
    );
    assert!(sample(&after, &insert) >= 1.0, "{insert} in\n{after}");
    for family in [
        r#"msgd_http_request_duration_seconds_bucket{method="POST",route="/messages",status="201",le="0.5"}"#,
        r#"msgd_bcrypt_duration_seconds_count{operation="verify"}"#,
        r#"msgd_bcrypt_duration_seconds_count{operation="hash"}"#,
        r#"msgd_build_info{version=""#,
    ] {
        assert!(after.lines().any(|l| l.starts_with(family)), "{family} in\n{after}");
    }
    for gauge in ["msgd_http_requests_in_flight ", "msgd_bcrypt_jobs_running ", "msgd_bcrypt_jobs_queued "] {
        assert!(after.lines().any(|l| l.starts_with(gauge)), "{gauge} in\n{after}");
    }
    // Route templates, never raw paths: an unknown path is one label value.
    app.raw().get(app.url("/no/such/thing/123")).send().await.unwrap();
    let after = metrics_text(&app).await;
    assert!(after.contains(r#"route="unmatched""#) && !after.contains("/no/such/thing"));
}

async fn a_request_id_is_accepted_or_generated_and_always_returned(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let response = app.raw().get(app.url("/healthz")).header("x-request-id", "trace-me-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    let response = app.raw().post(app.url("/users")).json(&json!({"email": "bad"})).send().await.unwrap();
    let generated = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    uuid::Uuid::parse_str(&generated).expect("a generated id is a uuid, on errors too");
    let too_long = "x".repeat(200);
    let response = app.raw().get(app.url("/healthz")).header("x-request-id", &too_long).send().await.unwrap();
    let replaced = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "an unusable id is replaced: {replaced}");
}

async fn a_slow_request_times_out_with_a_json_503_naming_the_request(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| c.request_timeout = Duration::from_millis(300)).await;
    let user = app.new_user().await;
    let body = json!({"content": "never finished"}).to_string();
    let slow = SlowRequest::start(app.address, "POST", "/messages", Some(&user.token), &body).await;
    let (status, answer) = slow.read_answer().await;
    assert_eq!(status, 503);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["code"], "timeout");
    uuid::Uuid::parse_str(answer["request_id"].as_str().expect("5xx bodies carry the request id")).unwrap();
    assert!(user.client.list_messages().await.unwrap().is_empty(), "nothing was stored");
}

async fn cors_answers_preflights_only_when_enabled(backend: Backend) {
    let preflight = |app: &TestApp| {
        app.raw()
            .request(reqwest::Method::OPTIONS, app.url("/messages"))
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
    };
    let (off, _db) = spawn_app(backend).await;
    let response = preflight(&off).send().await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "CORS is off by default");
    let response = off.raw().get(off.url("/healthz")).header("origin", "https://app.example.com").send().await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());

    let allowed = msgkit::config::CorsOrigins::List(vec!["https://app.example.com".into()]);
    let (on, _db) = spawn_app_with(backend, |c| c.cors_origins = Some(allowed)).await;
    let response = preflight(&on).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example.com");
    let methods = response.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    // Every method the API has: a browser also ends sessions, revokes tokens and changes roles.
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{method} in {methods}");
    }
    let answer = on.raw().post(on.url("/users")).header("origin", "https://app.example.com");
    let answer = answer.header("idempotency-key", "k-1").json(&serde_json::json!({"email": "cors@example.com"}));
    let exposed = answer.send().await.unwrap().headers()["access-control-expose-headers"].to_str().unwrap().to_owned();
    for header in ["x-request-id", "link", "retry-after", "www-authenticate", "idempotent-replayed"] {
        assert!(exposed.to_lowercase().contains(header), "{header} exposed: {exposed}");
    }
    let headers = response.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(headers.contains("authorization"), "{headers}");
    let response = on.raw().get(on.url("/healthz")).header("origin", "https://evil.example.com").send().await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "other origins get nothing");
}

async fn shutdown_lets_a_request_in_flight_finish(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let address = app.address;
    let body = json!({"content": "finished during shutdown"}).to_string();
    let slow = SlowRequest::start(address, "POST", "/messages", Some(&user.token), &body).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tokio::net::TcpStream::connect(address).await.is_err(), "new connections are refused");
    let (status, answer) = slow.finish().await;
    assert_eq!(status, 201, "{answer}");
    stopping.await.unwrap();
}
