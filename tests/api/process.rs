//! The `msgd` binary as an operator runs it: configuration from the environment, start-up log, signals.

use std::time::Duration;

use crate::backend_tests;
use crate::common::{Backend, Database, MsgdProcess};

backend_tests!(the_binary_logs_its_redacted_configuration_serves_and_exits_0_on_sigterm);

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
    let start = lines.iter().find(|l| l["message"] == "starting msgd").expect("start-up line");
    assert!(start["config"].as_str().unwrap().contains("jwt_secret: Some(\"<redacted>\")"), "{start}");
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
        (("BCRYPT_COST", "3"), "3 is not in 4..=31"),
        (("TOKEN_TTL", "soon"), "TOKEN_TTL"),
        (("MONGODB_URL", "postgres://db/x"), "unsupported database URL scheme"),
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
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
