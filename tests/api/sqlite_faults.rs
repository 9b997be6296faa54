//! Faults of the embedded store: a database locked by another process, and read-only data. Requests that
//! need to write answer 503 `unavailable` with a clear log line; msgd keeps running and does not panic.

use std::time::{Duration, Instant};

use crate::common::{Backend, Database, MsgdProcess, assert_unavailable};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_writer_answers_503_then_recovers() {
    let db = Database::fresh(Backend::Sqlite).await;
    let msgd = MsgdProcess::spawn(&db.config(), &[("DB_TIMEOUT", "500ms")]);
    let client = msgd.client();
    let created = client.create_user("locked@example.com").await.unwrap();
    let token = client.login("locked@example.com", &created.generated_password).await.unwrap();
    let user = client.clone().with_token(token);
    user.send_message("before the lock").await.unwrap();

    // Another process's connection takes the write lock and keeps it past msgd's busy timeout.
    let other = rusqlite::Connection::open(db.data_dir().join("msgd.sqlite3")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    assert_unavailable(user.send_message("while locked").await);
    assert!(started.elapsed() < Duration::from_secs(3), "answered within the timeout: {:?}", started.elapsed());
    assert_unavailable(client.create_user("blocked@example.com").await);
    assert_eq!(user.list_messages().await.unwrap().len(), 1, "reads still work while another process writes");
    other.execute_batch("COMMIT").unwrap();

    user.send_message("after the lock").await.expect("writes work again without a restart");
    let contents: Vec<String> = user.list_messages().await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(contents, ["before the lock", "after the lock"], "nothing refused was stored");
    let log = msgd.log_text_once("the database is locked by another writer");
    assert!(log.contains("the database is locked by another writer"), "a clear log line:\n{log}");
    assert!(!log.contains("panicked"));
}

/// Runs `command` as an unprivileged user when this process is root (root ignores file permissions).
fn unprivileged(mut command: std::process::Command) -> std::process::Command {
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return command;
    }
    let mut wrapped = std::process::Command::new("setpriv");
    wrapped.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]);
    wrapped.arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    command = wrapped;
    command
}

fn nobody_owns(path: &std::path::Path) {
    let id = |flag: &str| {
        let out = std::process::Command::new("id").args([flag, "nobody"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().unwrap()
    };
    if std::process::Command::new("id").arg("-u").output().unwrap().stdout.starts_with(b"0") {
        std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g"))).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_data_answers_503_for_writes_and_a_read_only_directory_is_refused_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let place = tempfile::Builder::new().prefix("msgkit-ro-").tempdir().unwrap();
    std::fs::set_permissions(place.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let data = place.path().join("data");
    let mut config = Database::fresh(Backend::Sqlite).await.config();
    config.data_dir = data.clone();

    // A first run creates the database and a message, then stops cleanly.
    let mut first = MsgdProcess::spawn(&config, &[]);
    let client = first.client();
    let created = client.create_user("ro@example.com").await.unwrap();
    let token = client.login("ro@example.com", &created.generated_password).await.unwrap();
    client.clone().with_token(&token).send_message("written before").await.unwrap();
    first.signal("TERM");
    assert!(first.wait_exit(Duration::from_secs(10)).unwrap().success());
    nobody_owns(&data);
    for entry in std::fs::read_dir(&data).unwrap() {
        nobody_owns(&entry.unwrap().path());
    }

    // The database file becomes read-only: msgd starts, warns, reads, and answers writes with 503.
    let file = data.join("msgd.sqlite3");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
    let msgd = MsgdProcess::spawn_with(&config, &[], unprivileged);
    let user = msgd.client().with_token(&token);
    assert_eq!(user.list_messages().await.unwrap().len(), 1, "reads work");
    assert_unavailable(user.send_message("refused").await);
    assert_unavailable(msgd.client().create_user("new@example.com").await);
    let log = msgd.log_text_once("the database is read-only");
    assert!(log.contains("the database file is read-only"), "warned at start:\n{log}");
    assert!(log.contains("the database is read-only"), "each refusal is logged clearly:\n{log}");
    drop(msgd);

    // The whole directory read-only and the write-ahead log gone: msgd refuses to start, clearly.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o500)).unwrap();
    for leftover in ["msgd.sqlite3-wal", "msgd.sqlite3-shm"] {
        let _ = std::fs::remove_file(data.join(leftover));
    }
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_msgd"));
    command.env("MSGD_DATA_DIR", &data).env("PORT", "0").env_remove("MONGODB_URL").env("NO_RATE_LIMIT", "1");
    let output = unprivileged(command).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("read-only") || stderr.contains("unable to open"), "a clear reason: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
}
