//! The `msgd` binary as an operator runs it: configuration from the environment, start-up log, signals.

use std::time::Duration;

use crate::backend_tests;
use crate::common::{Backend, Database, MsgdProcess};

backend_tests!(
    the_binary_logs_its_redacted_configuration_serves_and_exits_0_on_sigterm,
    json_logs_carry_the_request_id_and_user_id_on_every_line_of_a_request,
    sigterm_during_a_request_lets_it_finish_and_exits_0,
    metrics_can_have_a_listener_of_their_own,
    no_password_hash_or_token_reaches_the_log_even_at_trace_level,
    metrics_are_published_only_when_asked_and_can_require_a_token,
    failed_logins_and_429s_are_warnings_with_the_client_address_and_account,
);

async fn metrics_are_published_only_when_asked_and_can_require_a_token(backend: Backend) {
    let db = Database::fresh(backend).await;
    let config = msgkit::config::Config { metrics: false, ..db.config() };
    let msgd = MsgdProcess::spawn(&config, &[]);
    let raw = msgd.client().http().clone();
    let metrics = raw.get(format!("{}/metrics", msgd.base_url)).send().await.unwrap();
    assert_eq!(metrics.status(), 404, "not published unasked");
    drop(msgd);

    let msgd = MsgdProcess::spawn(&db.config(), &[("METRICS_TOKEN", "scrape-secret-123")]);
    let url = format!("{}/metrics", msgd.base_url);
    let anonymous = raw.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.json::<serde_json::Value>().await.unwrap()["code"], "token_missing");
    assert_eq!(raw.get(&url).bearer_auth("wrong").send().await.unwrap().status(), 401);
    let scraped = raw.get(&url).bearer_auth("scrape-secret-123").send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("msgd_build_info"));
    assert!(!msgd.log_text().contains("scrape-secret-123"), "the token is not logged");
}

async fn failed_logins_and_429s_are_warnings_with_the_client_address_and_account(backend: Backend) {
    let db = Database::fresh(backend).await;
    let config = msgkit::config::Config { no_rate_limit: false, ..db.config() };
    let mut msgd = MsgdProcess::spawn(&config, &[("TRUST_FORWARDED_FOR", "1"), ("RATE_LIMIT_LOGIN_FAILURES", "2")]);
    let client = msgd.client();
    let created = client.create_user("watched@example.com").await.unwrap();
    let raw = client.http().clone();
    for _ in 0..3 {
        raw.post(format!("{}/users/login", msgd.base_url))
            .header("x-forwarded-for", "203.0.113.77")
            .json(&serde_json::json!({"email": "watched@example.com", "password": "guess"}))
            .send()
            .await
            .unwrap();
    }
    msgd.signal("TERM");
    assert!(msgd.wait_exit(Duration::from_secs(15)).expect("exits").success());
    let lines: Vec<serde_json::Value> = msgd.log_text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let warnings: Vec<&serde_json::Value> = lines.iter().filter(|l| l["level"] == "WARN").collect();
    let failed = warnings.iter().find(|l| l["message"] == "authentication failed: wrong password").expect("a warning");
    assert_eq!(failed["client.address"], "203.0.113.77", "{failed}");
    assert_eq!(failed["span"]["user.id"], created.user_id.to_string(), "{failed}");
    let limited = warnings.iter().find(|l| l["message"] == "authentication refused: rate-limited").expect("a warning");
    assert_eq!(limited["client.address"], "203.0.113.77", "{limited}");
    // Every request line carries the client's address.
    for access in lines.iter().filter(|l| l["message"] == "request completed") {
        assert!(access["span"]["client.address"].is_string(), "{access}");
    }
}

async fn the_binary_logs_its_redacted_configuration_serves_and_exits_0_on_sigterm(backend: Backend) {
    let db = Database::fresh(backend).await;
    let secret = "process-test-secret-that-must-never-be-logged";
    let mut msgd = MsgdProcess::spawn(&db.config(), &[("JWT_SECRET", secret)]);

    let client = msgd.client();
    let created = client.create_user("ops@example.com").await.unwrap();
    let token = client.login("ops@example.com", &created.generated_password).await.unwrap();
    client.clone().with_token(&token).send_message("hello from a real process").await.unwrap();

    msgd.signal("TERM");
    let status = msgd.wait_exit(Duration::from_secs(15)).expect("msgd exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}");

    let log = msgd.log_text();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let start = lines
        .iter()
        .find(|l| l["message"].as_str().is_some_and(|m| m.starts_with("starting msgd: ")))
        .expect("start-up line");
    let settings = start["message"].as_str().unwrap();
    for pair in ["JWT_SECRET=<redacted>", "BCRYPT_COST=4", "TOKEN_TTL=12h", "DB_TIMEOUT=5s", "HOST=127.0.0.1"] {
        assert!(settings.split(' ').any(|p| p == pair), "{pair} in {settings}");
    }
    assert!(lines.iter().any(|l| l["message"] == "SIGTERM received: shutting down"));
    assert!(lines.iter().any(|l| l["message"] == "stopped"));
    for operation in ["user created", "login succeeded", "message sent"] {
        let line = lines.iter().find(|l| l["message"] == operation).unwrap_or_else(|| panic!("{operation} logged"));
        assert!(line.to_string().contains("user.id"), "{operation} carries the user id: {line}");
    }
    for secret in [secret, created.generated_password.as_str(), token.as_str()] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

#[test]
fn unsafe_settings_are_refused_at_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    for (env, expected) in [
        (("JWT_SECRET", "too-short"), "JWT_SECRET is 9 bytes; it must be at least 32"),
        (("BCRYPT_COST", "3"), "BCRYPT_COST=3 is not accepted: 3 is not in 4..=31"),
        (("TOKEN_TTL", "soon"), "TOKEN_TTL"),
        (("MONGODB_URL", "postgres://db/x"), "unsupported database URL scheme"),
        (("NO_RATE_LIMIT", "perhaps"), "NO_RATE_LIMIT=perhaps is not accepted"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_msgd"))
            .env_remove("MONGODB_URL")
            .env("PORT", "0")
            .env("MSGD_DATA_DIR", dir.path())
            .env(env.0, env.1)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{env:?} must be refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
        assert_eq!(stderr.matches(expected).count(), 1, "said once: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

async fn json_logs_carry_the_request_id_and_user_id_on_every_line_of_a_request(backend: Backend) {
    let db = Database::fresh(backend).await;
    let mut msgd = MsgdProcess::spawn(&db.config(), &[]);
    let raw = msgd.client().http().clone();
    let response = raw
        .post(format!("{}/users", msgd.base_url))
        .header("x-request-id", "req-create-ada")
        .json(&serde_json::json!({"email": "logs@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let user_id = response.json::<serde_json::Value>().await.unwrap()["user_id"].as_str().unwrap().to_owned();
    msgd.signal("TERM");
    assert!(msgd.wait_exit(Duration::from_secs(15)).expect("exits").success());

    let lines: Vec<serde_json::Value> =
        msgd.log_text().lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let of_request: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["span"]["request_id"] == "req-create-ada").collect();
    let messages: Vec<&str> = of_request.iter().map(|l| l["message"].as_str().unwrap()).collect();
    assert!(messages.contains(&"user created") && messages.contains(&"request completed"), "{messages:?}");
    for line in &of_request {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line.get(key).is_some(), "{key} in {line}");
        }
        assert_eq!(line["span"]["user.id"], user_id.as_str(), "{line}");
    }
    let access = of_request.iter().find(|l| l["message"] == "request completed").unwrap();
    assert_eq!((access["status"].as_u64(), access["span"]["route"].as_str()), (Some(201), Some("/users")));
    assert_eq!(access["span"]["method"], "POST");
    assert!(access["latency_ms"].as_f64().is_some());
}

async fn sigterm_during_a_request_lets_it_finish_and_exits_0(backend: Backend) {
    let db = Database::fresh(backend).await;
    let mut msgd = MsgdProcess::spawn(&db.config(), &[]);
    let client = msgd.client();
    let created = client.create_user("inflight@example.com").await.unwrap();
    let token = client.login("inflight@example.com", &created.generated_password).await.unwrap();
    let body = serde_json::json!({"content": "sent across a SIGTERM"}).to_string();
    let slow = crate::common::SlowRequest::start(msgd.address, "POST", "/messages", Some(&token), &body).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    msgd.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tokio::net::TcpStream::connect(msgd.address).await.is_err(), "no new connections after SIGTERM");
    let (status, answer) = slow.finish().await;
    assert_eq!(status, 201, "{answer}");
    let status = msgd.wait_exit(Duration::from_secs(15)).expect("msgd exits");
    assert!(status.success(), "{status:?}");
    if backend == Backend::Sqlite {
        // Closed cleanly: the write-ahead log was checkpointed into the database file.
        let wal = db.data_dir().join("msgd.sqlite3-wal");
        let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert_eq!(wal_bytes, 0, "the WAL is empty after shutdown");
    }

    // What it acknowledged is there after a restart.
    let msgd = MsgdProcess::spawn(&db.config(), &[]);
    let listed = msgd.client().with_token(token).list_messages().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].content, "sent across a SIGTERM");
}

async fn metrics_can_have_a_listener_of_their_own(backend: Backend) {
    let db = Database::fresh(backend).await;
    let msgd = MsgdProcess::spawn(&db.config(), &[("METRICS_ADDR", "127.0.0.1:0")]);
    let log = msgd.log_text_once("metrics listening");
    let line = log.lines().find(|l| l.contains("metrics listening")).expect("the metrics address is logged");
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    let address = line["address"].as_str().unwrap();
    let raw = msgd.client().http().clone();
    let metrics = raw.get(format!("http://{address}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("msgd_build_info"));
    let on_main = raw.get(format!("{}/metrics", msgd.base_url)).send().await.unwrap();
    assert_eq!(on_main.status(), 404, "not on the main listener any more");
    let spec: serde_json::Value =
        raw.get(format!("{}/openapi.json", msgd.base_url)).send().await.unwrap().json().await.unwrap();
    assert!(spec["paths"].get("/metrics").is_none(), "nor in its description");
}

#[test]
fn switches_in_the_environment_accept_the_usual_spellings() {
    let dir = tempfile::tempdir().unwrap();
    for (value, off) in [("1", true), ("yes", true), ("on", true), ("true", true), ("0", false), ("false", false)] {
        // A short JWT_SECRET stops start-up right after the configuration is logged.
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_msgd"))
            .env_remove("MONGODB_URL")
            .env("MSGD_DATA_DIR", dir.path())
            .env("JWT_SECRET", "short")
            .env("NO_RATE_LIMIT", value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.contains("NO_RATE_LIMIT=true"), off, "NO_RATE_LIMIT={value}: {stderr}");
        assert_eq!(stderr.contains("RATE_LIMIT_WINDOW=15m"), !off, "NO_RATE_LIMIT={value}: {stderr}");
    }
}

async fn no_password_hash_or_token_reaches_the_log_even_at_trace_level(backend: Backend) {
    let db = Database::fresh(backend).await;
    let mut msgd = MsgdProcess::spawn(&db.config(), &[("RUST_LOG", "trace")]);
    let client = msgd.client();
    let raw = client.http().clone();
    let url = |path: &str| format!("{}{path}", msgd.base_url);
    let mut secrets = Vec::new();

    let ada = client.create_user("ada@example.com").await.unwrap();
    let bob = client.create_user("bob@example.com").await.unwrap();
    secrets.extend([ada.generated_password.clone(), bob.generated_password.clone()]);
    let ada_token = client.login("ada@example.com", &ada.generated_password).await.unwrap();
    let bob_token = client.login("bob@example.com", &bob.generated_password).await.unwrap();
    secrets.extend([ada_token.clone(), bob_token.clone()]);
    let guess = "guessed-Secret-Passw0rd";
    secrets.push(guess.to_owned());
    client.login("ada@example.com", guess).await.unwrap_err();
    client.login("nobody@example.com", guess).await.unwrap_err();
    client.change_password("ada@example.com", guess, "never-Stored-Passw0rd").await.unwrap_err();
    secrets.push("never-Stored-Passw0rd".to_owned());
    let new_password = "Ada-New-Passw0rd-2026";
    secrets.push(new_password.to_owned());
    client.change_password("ada@example.com", &ada.generated_password, new_password).await.unwrap();
    let ada_token2 = client.login("ada@example.com", new_password).await.unwrap();
    secrets.push(ada_token2.clone());
    let ada_client = client.clone().with_token(&ada_token2);
    ada_client.send_to("hi bob", Some("bob@example.com"), Some("idem-key-1")).await.unwrap();
    ada_client.list_messages().await.unwrap();
    ada_client.me().await.unwrap();
    let mut stream = client.clone().with_token(&bob_token).stream(None).await.unwrap();
    ada_client.send_to("live", Some("bob@example.com"), None).await.unwrap();
    stream.next().await.unwrap();
    drop(stream);
    // The revoked token, a tampered one and a garbage header, each refused (and logged as refused).
    client.clone().with_token(&ada_token).list_messages().await.unwrap_err();
    let tampered = format!("{}x", ada_token2);
    secrets.push(tampered.clone());
    client.clone().with_token(&tampered).list_messages().await.unwrap_err();
    raw.get(url("/messages")).header("authorization", "Bearer not-a-jwt-but-secret-looking").send().await.unwrap();
    secrets.push("not-a-jwt-but-secret-looking".to_owned());
    client.clone().with_token(&bob_token).logout_everywhere().await.unwrap();
    // Password fields in malformed bodies.
    raw.post(url("/users/login"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"email": "ada@example.com", "password": "{guess}""#))
        .send()
        .await
        .unwrap();

    // Stopped first, so that every line is written.
    msgd.signal("TERM");
    assert!(msgd.wait_exit(Duration::from_secs(15)).expect("exits").success());
    let log = msgd.log_text();
    assert!(log.contains(r#""level":"DEBUG""#), "the trace filter took effect:\n{log}");
    for operation in ["user created", "login succeeded", "authentication failed: wrong password", "message sent"] {
        assert!(log.contains(operation), "{operation} is logged");
    }
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret reached the log: {secret}");
    }
    // The signature part of any token on its own, and bcrypt hashes.
    for token in [&ada_token, &bob_token, &ada_token2] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!log.contains(signature), "a token signature reached the log");
    }
    for marker in ["$2b$", "$2a$", "$2y$", "password_hash"] {
        assert!(!log.contains(marker), "{marker} reached the log");
    }
}
