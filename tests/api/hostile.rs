//! The hostile input catalogue: each payload to every endpoint it applies to. Each must get a JSON 4xx,
//! store nothing, and leave the server healthy.

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, TestApp, TestUser, spawn_app};

backend_tests!(hostile_input_gets_json_4xx_stores_nothing_and_leaves_the_server_healthy);

/// The endpoints that take a JSON body, with a body that would be valid.
fn endpoints(user: &TestUser) -> Vec<(Method, &'static str, bool, Value)> {
    vec![
        (Method::POST, "/users", false, json!({"email": "fresh@example.com"})),
        (Method::POST, "/users/login", false, json!({"email": user.email, "password": user.password})),
        (
            Method::PUT,
            "/users/change-password",
            false,
            json!({"email": user.email, "current_password": user.password, "new_password": "a new password"}),
        ),
        (Method::POST, "/messages", true, json!({"content": "hello", "to": user.email})),
    ]
}

/// A request (method, path, authenticated, body) and the answer it must get (status, code).
type Expectation<'a> = (Method, &'a str, bool, Value, (StatusCode, &'a str));

struct Probe<'a> {
    app: &'a TestApp,
    user: &'a TestUser,
}

impl Probe<'_> {
    /// Sends a raw request; checks the answer is a JSON 4xx error body; returns status and code.
    async fn send(
        &self,
        method: Method,
        path: &str,
        authed: bool,
        body: impl Into<reqwest::Body>,
        headers: &[(HeaderName, HeaderValue)],
    ) -> (StatusCode, String) {
        let mut request = self.app.raw().request(method.clone(), self.app.url(path)).body(body);
        request = request.header("content-type", "application/json");
        if authed {
            request = request.bearer_auth(&self.user.token);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        assert!(status.is_client_error(), "{method} {path}: expected a 4xx, got {status}: {text}");
        assert_eq!(content_type.as_deref(), Some("application/json"), "{method} {path}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"));
        assert!(body["error"].is_string(), "{method} {path}: {body}");
        (status, body["code"].as_str().unwrap().to_owned())
    }

    async fn json(&self, method: Method, path: &str, authed: bool, body: Value) -> (StatusCode, String) {
        self.send(method, path, authed, body.to_string(), &[]).await
    }
}

async fn hostile_input_gets_json_4xx_stores_nothing_and_leaves_the_server_healthy(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.user("owner@example.com").await;
    let probe = Probe { app: &app, user: &user };

    for (method, path, authed, valid) in endpoints(&user) {
        let all_fields: Vec<String> = valid.as_object().unwrap().keys().cloned().collect();
        let send = |body: Vec<u8>| probe.send(method.clone(), path, authed, body, &[]);

        // Malformed JSON, empty bodies, invalid UTF-8, deep nesting.
        let truncated = valid.to_string();
        let cut = truncated.as_bytes()[..truncated.len() - 1].to_vec();
        assert_eq!(send(cut).await.1, "invalid_json", "{path}");
        assert_eq!(send(Vec::new()).await.1, "invalid_json", "{path}");
        assert_eq!(send(b"{\"email\": \"\xff\xfe@example.com\"}".to_vec()).await.1, "invalid_json", "{path}");
        // Deep nesting, in a field the server must skip (so it is parsed, not refused by type) and in one it
        // reads.
        let mut skipped = valid.to_string();
        skipped.insert_str(1, &format!("\"skip\": {}{}, ", "[".repeat(10_000), "]".repeat(10_000)));
        assert_eq!(send(skipped.into_bytes()).await, (StatusCode::BAD_REQUEST, "invalid_json".into()), "{path}");
        let deep = format!("{{\"{}\": {}{}}}", all_fields[0], "{\"a\":".repeat(10_000), "}".repeat(10_000));
        assert_eq!(send(deep.into_bytes()).await.0, StatusCode::BAD_REQUEST, "{path}: 10,000-deep nesting");
        // Arrays and scalars instead of objects.
        for body in [json!([valid.clone()]), json!(["owner@example.com", "pw"]), json!("text"), json!(42), json!(null)]
        {
            assert_eq!(send(body.to_string().into_bytes()).await.1, "invalid_body", "{path}: {body}");
        }
        // Wrong types and MongoDB operators in every field.
        for field in &all_fields {
            for wrong in [json!(42), json!(true), json!(["x"]), json!({"$gt": ""}), json!({"$ne": null})] {
                let mut body = valid.clone();
                body[field] = wrong.clone();
                let (status, code) = probe.json(method.clone(), path, authed, body).await;
                assert_eq!(
                    (status, code.as_str()),
                    (StatusCode::BAD_REQUEST, "invalid_body"),
                    "{path} {field}={wrong}"
                );
            }
        }
        let mut with_where = valid.clone();
        with_where["$where"] = json!("sleep(5000) || true");
        let (status, code) = probe.json(method.clone(), path, authed, with_where).await;
        assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "unknown_field"), "{path}: an operator");
        let (status, _) = probe.json(method.clone(), path, authed, json!({"$where": "sleep(5000)"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: only an operator");
        // A field the request does not take, beside valid ones: refused, never ignored.
        let mut typo = valid.clone();
        typo["surprise"] = json!("x");
        let (status, code) = probe.json(method.clone(), path, authed, typo).await;
        assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "unknown_field"), "{path}");
        // 10 MB.
        let huge = format!("{{\"{}\": \"{}\"}}", all_fields[0], "x".repeat(10 * 1024 * 1024));
        assert_eq!(
            send(huge.into_bytes()).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into()),
            "{path}"
        );
        // A 1 MB header, and a 1 MB bearer token.
        let padding = (HeaderName::from_static("x-padding"), HeaderValue::from_str(&"p".repeat(1024 * 1024)).unwrap());
        let (status, code) = probe.send(method.clone(), path, authed, valid.to_string(), &[padding]).await;
        assert_eq!((status, code.as_str()), (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large"));
        let huge_token = HeaderValue::from_str(&format!("Bearer {}", "t".repeat(1024 * 1024))).unwrap();
        let (status, _) = probe
            .send(method.clone(), path, false, valid.to_string(), &[(reqwest::header::AUTHORIZATION, huge_token)])
            .await;
        assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "{path}");
        // More than 100 headers, each small: refused with the same JSON answer, not hyper's empty one.
        let many: Vec<_> = (0..150)
            .map(|n| (HeaderName::from_bytes(format!("x-many-{n}").as_bytes()).unwrap(), HeaderValue::from_static("1")))
            .collect();
        let (status, code) = probe.send(method.clone(), path, authed, valid.to_string(), &many).await;
        assert_eq!((status, code.as_str()), (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large"));
    }

    // Control characters, oversized passwords and SQL fragments, field by field.
    let expectations: Vec<Expectation> = vec![
        (
            Method::POST,
            "/users",
            false,
            json!({"email": "nul\u{0}@example.com"}),
            (StatusCode::BAD_REQUEST, "email_invalid"),
        ),
        (
            Method::POST,
            "/users",
            false,
            json!({"email": "bell\u{7}@example.com"}),
            (StatusCode::BAD_REQUEST, "email_invalid"),
        ),
        (
            Method::POST,
            "/users",
            false,
            json!({"email": "'; DROP TABLE users; --@example.com"}),
            (StatusCode::BAD_REQUEST, "email_invalid"),
        ),
        (
            Method::POST,
            "/users",
            false,
            json!({"email": "a@b.co' OR '1'='1"}),
            (StatusCode::BAD_REQUEST, "email_invalid"),
        ),
        (
            Method::POST,
            "/users/login",
            false,
            json!({"email": "owner@example.com\u{0}", "password": user.password}),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        ),
        (
            Method::POST,
            "/users/login",
            false,
            json!({"email": user.email, "password": "\u{0}"}),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        ),
        (
            Method::POST,
            "/users/login",
            false,
            json!({"email": user.email, "password": "' OR 1=1 --"}),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        ),
        (
            Method::POST,
            "/users/login",
            false,
            json!({"email": "' OR 1=1 --", "password": "x"}),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        ),
        (
            Method::POST,
            "/users/login",
            false,
            json!({"email": user.email, "password": "x".repeat(73)}),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        ),
        (
            Method::POST,
            "/users/login",
            false,
            json!({"email": user.email, "password": "x".repeat(10 * 1024)}),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        ),
        (
            Method::PUT,
            "/users/change-password",
            false,
            json!({"email": user.email, "current_password": "x".repeat(10 * 1024), "new_password": "a new password"}),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        ),
        (
            Method::PUT,
            "/users/change-password",
            false,
            json!({"email": user.email, "current_password": user.password, "new_password": "x".repeat(73)}),
            (StatusCode::BAD_REQUEST, "password_too_long"),
        ),
        (
            Method::PUT,
            "/users/change-password",
            false,
            json!({"email": user.email, "current_password": user.password, "new_password": "y".repeat(10 * 1024)}),
            (StatusCode::BAD_REQUEST, "password_too_long"),
        ),
        (
            Method::PUT,
            "/users/change-password",
            false,
            json!({"email": user.email, "current_password": user.password, "new_password": "nul\u{0}inside!"}),
            (StatusCode::BAD_REQUEST, "password_invalid"),
        ),
        (
            Method::PUT,
            "/users/change-password",
            false,
            json!({"email": user.email, "current_password": user.password, "new_password": "escape\u{1b}[31m"}),
            (StatusCode::BAD_REQUEST, "password_invalid"),
        ),
        (
            Method::POST,
            "/messages",
            true,
            json!({"content": "nul\u{0}inside"}),
            (StatusCode::BAD_REQUEST, "content_invalid"),
        ),
        (
            Method::POST,
            "/messages",
            true,
            json!({"content": "ansi \u{1b}[2J escape"}),
            (StatusCode::BAD_REQUEST, "content_invalid"),
        ),
        (
            Method::POST,
            "/messages",
            true,
            json!({"content": "c1 \u{9b} control"}),
            (StatusCode::BAD_REQUEST, "content_invalid"),
        ),
        (
            Method::POST,
            "/messages",
            true,
            json!({"content": "x", "to": "'; DROP TABLE messages; --"}),
            (StatusCode::BAD_REQUEST, "recipient_invalid"),
        ),
        (
            Method::POST,
            "/messages",
            true,
            json!({"content": "x", "to": "bob\u{0}@example.com"}),
            (StatusCode::BAD_REQUEST, "recipient_invalid"),
        ),
    ];
    for (method, path, authed, body, expected) in expectations {
        let (status, code) = probe.json(method.clone(), path, authed, body.clone()).await;
        assert_eq!((status, code.as_str()), expected, "{method} {path} {body}");
    }
    for query in ["with=' OR 1=1 --", "after=1' OR '1'='1", "box=inbox'; DROP TABLE messages; --", "limit=1;DROP"] {
        let (status, code) = probe.send(Method::GET, &format!("/messages?{query}"), true, "", &[]).await;
        assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "invalid_query"), "{query}");
    }
    // (Bytes HTTP forbids in headers, NUL and DEL, cannot even be sent; obs-text bytes can.)
    for key in [&b"' OR 1=1 --"[..], b"\xff\xfe", b""] {
        let header = (HeaderName::from_static("idempotency-key"), HeaderValue::from_bytes(key).unwrap());
        let body = json!({"content": "keyed"}).to_string();
        assert_eq!(probe.send(Method::POST, "/messages", true, body, &[header]).await.1, "invalid_idempotency_key");
    }
    // Authorization headers that are not even text.
    for value in [&b"Bearer \xff\xfe\xfd"[..], b"\xff\xfe", b"Bearer ' OR '1'='1"] {
        let header = (reqwest::header::AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        let (status, _) = probe.send(Method::GET, "/messages", false, "", &[header]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    // Unusual but legitimate content is accepted and returned byte for byte, SQL and operators included.
    let texts = [
        "emoji 👩🏽‍💻 flags 🇳🇿 ZWJ family 👨‍👩‍👧",
        "RTL עברית and العربية \u{202E}reversed\u{202C} mixed",
        "combining Z\u{335}\u{31b}\u{34d} e\u{301}\u{302}",
        "'; DROP TABLE messages; -- ",
        "{\"$where\": \"sleep(5000)\"} {\"$gt\": \"\"}",
        "\u{FEFF}bom and zero\u{200B}width",
    ];
    for text in texts {
        let sent = user.client.send_message(text).await.unwrap();
        assert_eq!(sent.content, text);
    }

    // Nothing else was stored: no account for any payload's email, no message but those six.
    let listed: Vec<String> = user.client.list_messages().await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(listed, texts);
    app.register("fresh@example.com").await;
    app.client.login(&user.email, &user.password).await.expect("the password is unchanged");
    // And the server is healthy.
    for path in ["/healthz", "/readyz"] {
        assert_eq!(app.raw().get(app.url(path)).send().await.unwrap().status(), StatusCode::OK);
    }
    let other = app.new_user().await;
    other.client.send_to("still working", Some(&user.email), None).await.unwrap();
}

/// What hyper refuses before msgd sees a request — a 100 KB request target, a duplicate Content-Length, a
/// folded header, more than 1,000 headers, a line that is not HTTP — still gets msgd's JSON error with a
/// code and the headers every answer carries. No storage is involved: one backend.
#[tokio::test]
async fn refusals_made_by_the_http_parser_are_json_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (app, _db) = spawn_app(Backend::Sqlite).await;
    let many: String = (0..1200).map(|n| format!("X-Many-{n}: 1\r\n")).collect();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000)).into_bytes(), 414, "uri_too_long"),
        (
            b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
              Content-Length: 3\r\n\r\n{}"
                .to_vec(),
            400,
            "malformed_request",
        ),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n".to_vec(), 400, "malformed_request"),
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400, "malformed_request"),
        (format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n").into_bytes(), 431, "headers_too_large"),
    ];
    for (request, status, code) in cases {
        let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer))
            .await
            .expect("an answer, then the connection closes")
            .unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{code}: {head}");
        let head = head.to_lowercase();
        for header in ["content-type: application/json", "cache-control: no-store", "x-frame-options: deny"] {
            assert!(head.contains(header), "{code}: {header} in {head}");
        }
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{code}: {e}: {body}"));
        assert_eq!(body["code"], code, "{body}");
        assert!(!body["error"].as_str().unwrap().is_empty());
    }
    assert_eq!(app.raw().get(app.url("/healthz")).send().await.unwrap().status(), 200, "still healthy");
}
