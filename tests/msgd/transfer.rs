//! Outgrowing one machine: `msgd migrate`, `export`, `import` and `backup`, between the two backends in
//! both directions, with the real binary on real stores.

use std::time::{Duration, Instant};

use futures::StreamExt;
use msgkit::api::{ListParams, ScopeName};
use msgkit::client::StreamEvent;
use msgkit::store::{self, MessageIds, OpenOptions, Record, Store};
use reqwest::StatusCode;

use crate::backend_tests;
use crate::common::{Backend, Database, TestApp, every_message, msgd_command, spawn_app};

backend_tests!(
    a_migration_carries_everything_a_client_relies_on,
    an_export_imported_elsewhere_carries_everything_too,
    an_interrupted_migration_completes_when_run_again,
    an_export_taken_during_writes_is_a_consistent_cut,
    a_damaged_import_file_is_refused_whole_naming_the_line,
);

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Mongo,
        Backend::Mongo => Backend::Sqlite,
    }
}

/// A child process, SIGKILLed and reaped when dropped (also when the test fails).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(command: &mut std::process::Command) -> (bool, String, String) {
    let out = command.output().expect("running msgd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a client of the source store holds on to, to be checked on the target.
struct Before {
    ada: crate::common::TestUser,
    bob: crate::common::TestUser,
    access_token: String,
    key: String,
    keyed_id: uuid::Uuid,
    inbox: Vec<msgkit::api::MessageView>,
    /// Ada's sent box (without the copy she deleted).
    sent: Vec<msgkit::api::MessageView>,
    /// Bob's unread messages, counted.
    unread: msgkit::api::UnreadResponse,
    /// A session token ended before the move.
    ended: String,
}

/// Accounts, an access token, an ended session, messages (one with an Idempotency-Key, one expiring, some
/// read, one copy deleted by each side).
async fn populate(app: &TestApp) -> Before {
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let access = ada.client.create_token("backup", &[ScopeName::Read, ScopeName::Send], Some("30d"), &ada.password);
    let access_token = access.await.unwrap().token;
    // A session ended on its own must stay ended after the move.
    let ended = app.client.login("ada@example.com", &ada.password).await.unwrap();
    app.client.clone().with_token(&ended).end_session().await.unwrap();
    for n in 0..5 {
        ada.client.send_to(&format!("hello {n}"), Some("bob@example.com"), None).await.unwrap();
    }
    let key = "retry-me".to_owned();
    let keyed = ada.client.send_to("sent once", Some("bob@example.com"), Some(&key)).await.unwrap();
    bob.client.send_to("hi ada", Some("ada@example.com"), None).await.unwrap();
    let brief = msgkit::api::SendMessageRequest {
        content: "brief".into(),
        to: Some("bob@example.com".into()),
        recipient_email: None,
        expires_in: Some("1h".into()),
    };
    ada.client.send_request(&brief, None).await.unwrap();
    let all = ListParams { limit: Some(1000), ..Default::default() };
    let hellos = bob.client.list_page(&all).await.unwrap().messages;
    let read = msgkit::api::MarkReadRequest { up_to: Some(hellos[1].id), with: None, ids: None };
    bob.client.mark_read(&read).await.unwrap();
    bob.client.delete_message(hellos[4].id, false).await.unwrap();
    ada.client.delete_message(hellos[3].id, false).await.unwrap();
    let inbox = bob.client.list_page(&all).await.unwrap().messages;
    assert_eq!(inbox.len(), 6);
    assert!(inbox.last().unwrap().expires_at.is_some());
    let sent =
        ada.client.list_page(&ListParams { mailbox: Some(msgkit::api::MailboxName::Sent), ..all }).await.unwrap();
    let unread = bob.client.unread().await.unwrap();
    assert_eq!(unread.total, 4);
    Before { ada, bob, access_token, key, keyed_id: keyed.message.id, inbox, sent: sent.messages, unread, ended }
}

/// Everything a client of the old store relies on works on `target` as it did.
async fn everything_survived(target: &TestApp, before: &Before) {
    let with = |token: &str| target.client.clone().with_token(token);
    // Passwords, session tokens and access tokens.
    target.client.login("ada@example.com", &before.ada.password).await.expect("the password logs in");
    assert_eq!(with(&before.bob.token).me().await.unwrap().email, "bob@example.com", "a session token works");
    let by_token = with(&before.access_token).list_messages().await.expect("an access token works");
    assert_eq!(by_token.len(), 1);
    // The same inbox: same ids, same order, same content.
    let inbox = with(&before.bob.token)
        .list_page(&ListParams { limit: Some(1000), ..Default::default() })
        .await
        .unwrap()
        .messages;
    assert_eq!(inbox, before.inbox, "read state and expiry included");
    let sent_box =
        ListParams { mailbox: Some(msgkit::api::MailboxName::Sent), limit: Some(1000), ..Default::default() };
    let sent = with(&before.ada.token).list_page(&sent_box).await.unwrap().messages;
    assert_eq!(sent, before.sent, "deleted copies stay deleted");
    assert_eq!(with(&before.bob.token).unread().await.unwrap(), before.unread, "the same unread counts");
    // An old cursor continues where it was.
    let rest = with(&before.bob.token)
        .list_page(&ListParams { after: Some(before.inbox[2].id), limit: Some(1000), ..Default::default() })
        .await
        .unwrap()
        .messages;
    assert_eq!(rest, before.inbox[3..]);
    // Last-Event-ID too.
    let mut stream = with(&before.bob.token).stream(Some(before.inbox[3].id)).await.unwrap();
    for expected in &before.inbox[4..] {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap();
        match event {
            Some(StreamEvent::Message(m)) => assert_eq!(m.id, expected.id),
            other => panic!("expected {}, got {other:?}", expected.id),
        }
    }
    // An Idempotency-Key used before the move replays.
    let replay =
        with(&before.ada.token).send_to("sent once", Some("bob@example.com"), Some(&before.key)).await.unwrap();
    assert!(replay.replayed, "the key replays after the move");
    assert_eq!(replay.message.id, before.keyed_id);
    // New messages come after every old one.
    let new = with(&before.ada.token).send_to("after the move", Some("bob@example.com"), None).await.unwrap();
    assert!(new.message.id > before.inbox.last().unwrap().id);
    // The session ended before the move stays ended.
    let ended = target.raw().get(target.url("/users/me")).bearer_auth(&before.ended).send().await.unwrap();
    assert_eq!(ended.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = ended.json().await.unwrap();
    assert_eq!(body["code"], "token_revoked");
}

async fn a_migration_carries_everything_a_client_relies_on(backend: Backend) {
    let (source, source_db) = spawn_app(backend).await;
    let before = populate(&source).await;
    let config = source.config.clone();
    source.stop().await;

    let target_db = Database::fresh(other(backend)).await;
    let (ok, _, said) = run(msgd_command(&config).args(["migrate", "--to", &target_db.url()]));
    assert!(ok, "{said}");
    assert!(said.contains("verified 2 accounts, 1 access tokens, 8 messages (5 unread)"), "{said}");
    // Run again: nothing left to copy, verified, exit 0.
    let (ok, _, said) = run(msgd_command(&config).args(["migrate", "--to", &target_db.url()]));
    assert!(ok && said.contains("nothing left to copy"), "{said}");
    // Another store into the same target is refused.
    let stranger = Database::fresh(backend).await;
    let made = crate::common::msgd_admin(&stranger.config(), &["create-user", "stranger@example.com"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let mut refused = msgd_command(&stranger.config());
    let (ok, _, said) = run(refused.args(["migrate", "--to", &target_db.url()]));
    assert!(!ok && said.contains("not a copy of this store"), "{said}");

    let target = TestApp::start(target_db.config()).await;
    everything_survived(&target, &before).await;
    drop(source_db);
}

async fn an_export_imported_elsewhere_carries_everything_too(backend: Backend) {
    let (source, _source_db) = spawn_app(backend).await;
    let before = populate(&source).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("msgkit.jsonl");
    let (ok, _, said) = run(msgd_command(&source.config).args(["export", "--output"]).arg(&file));
    assert!(ok, "{said}");
    assert!(said.contains("keep it like a password"), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&file).unwrap();
    for secret in [&before.ada.password, &before.ada.token, &before.access_token] {
        assert!(!text.contains(secret.as_str()), "no password or token in the clear");
    }
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["type"], "msgkit-export");
    assert_eq!(lines[0]["version"], 2);
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(
        end["counts"],
        serde_json::json!({"settings": 1, "users": 2, "access_tokens": 1, "messages": 8, "unread": 5})
    );
    // Refuses to overwrite.
    let (ok, _, said) = run(msgd_command(&source.config).args(["export", "--output"]).arg(&file));
    assert!(!ok && said.contains("exists"), "{said}");
    source.stop().await;

    let target_db = Database::fresh(other(backend)).await;
    let mut import = msgd_command(&target_db.config());
    let (ok, out, said) = run(import.args(["import", "--json"]).arg(&file));
    assert!(ok, "{said}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["written"], 12);
    // Again: refused without --merge; with it, nothing is written twice.
    let (ok, _, said) = run(msgd_command(&target_db.config()).arg("import").arg(&file));
    assert!(!ok && said.contains("--merge"), "{said}");
    let (ok, out, said) = run(msgd_command(&target_db.config()).args(["import", "--merge", "--json"]).arg(&file));
    assert!(ok, "{said}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((summary["written"].as_u64(), summary["skipped"].as_u64()), (Some(0), Some(12)));

    let target = TestApp::start(target_db.config()).await;
    everything_survived(&target, &before).await;

    // The same file as version 1 wrote it — without read state, expiry or deletions — imports with
    // every message read: its reader had seen them.
    let v1 = dir.path().join("v1.jsonl");
    std::fs::write(&v1, as_version_1(&text)).unwrap();
    let old_db = Database::fresh(backend).await;
    let (ok, _, said) = run(msgd_command(&old_db.config()).arg("import").arg(&v1));
    assert!(ok, "{said}");
    let old = TestApp::start(old_db.config()).await;
    let bob = old.client.login("bob@example.com", &before.bob.password).await.unwrap();
    let bob = old.client.clone().with_token(&bob);
    assert_eq!(bob.unread().await.unwrap().total, 0);
    let inbox = bob.list_page(&ListParams { limit: Some(1000), ..Default::default() }).await.unwrap().messages;
    assert_eq!(inbox.len(), 7, "the copy bob deleted is back: version 1 had no deletions");
    assert!(inbox.iter().all(|m| m.read == Some(true) && m.expires_at.is_none()));
}

/// An export file rewritten as version 1 wrote it: no message read state, expiry or deleted copies, no
/// unread count, and the footer's digest of the lines so rewritten. (By text, to keep msgd's field order.)
fn as_version_1(text: &str) -> String {
    use sha2::Digest;
    /// `line` without `,"key":value` (a string, a number or `true`).
    fn without(line: &str, key: &str) -> String {
        let start_of = format!(",\"{key}\":");
        let Some(start) = line.find(&start_of) else { return line.to_owned() };
        let rest = &line[start + start_of.len()..];
        let len = match rest.strip_prefix('"') {
            Some(quoted) => quoted.find('"').unwrap() + 2,
            None => rest.find([',', '}']).unwrap(),
        };
        format!("{}{}", &line[..start], &rest[len..])
    }
    let lines: Vec<&str> = text.lines().collect();
    let (header, records, end) = (lines[0], &lines[1..lines.len() - 1], lines[lines.len() - 1]);
    let mut out = format!("{}\n", header.replace("\"version\":2", "\"version\":1"));
    let mut digest = sha2::Sha256::new();
    for line in records {
        let mut line = line.to_string();
        if line.starts_with("{\"type\":\"message\"") {
            for key in ["unread", "expires_at", "deleted_by_sender", "deleted_by_recipient"] {
                line = without(&line, key);
            }
        }
        line.push('\n');
        digest.update(line.as_bytes());
        out.push_str(&line);
    }
    let sha: String = digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let mut end: serde_json::Value = serde_json::from_str(&without(end, "unread")).unwrap();
    end["sha256"] = sha.into();
    out.push_str(&format!("{}\n", serde_json::to_string(&end).unwrap()));
    out
}

/// Writes `count` messages between two accounts straight into `store` (faster than the API).
async fn fill(store: &dyn Store, count: usize) {
    let hash = bcrypt::hash("a long enough password", 4).unwrap();
    let user = |email: &str| {
        let user = store::NewUser {
            id: uuid::Uuid::new_v4(),
            email: msgkit::domain::Email::parse(email).unwrap(),
            password_hash: hash.clone(),
            created_at: store::now_millis(),
            registration_key: None,
            role: store::Role::User,
        }
        .into_user();
        Record::User(store::UserRecord { user, sessions: Vec::new() })
    };
    let (a, b) = (user("a@example.com"), user("b@example.com"));
    let party = |r: &Record| match r {
        Record::User(u) => store::Party::from(&u.user),
        _ => unreachable!(),
    };
    let (from, to) = (party(&a), party(&b));
    store.apply(vec![a, b], store::ApplyMode::Skip).await.unwrap();
    let mut ids = MessageIds::with_clock_offset(0);
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let records = chunk
            .iter()
            .map(|n| {
                let id = ids.next_id();
                Record::Message(store::MessageRecord {
                    message: store::Message {
                        id,
                        from: from.clone(),
                        to: to.clone(),
                        content: msgkit::domain::MessageContent::parse(format!("message {n}"), 100).unwrap(),
                        created_at: store::message_time(id),
                        read: true,
                        expires_at: None,
                    },
                    idempotency: None,
                    deleted_by_sender: false,
                    deleted_by_recipient: false,
                })
            })
            .collect();
        store.apply(records, store::ApplyMode::Skip).await.unwrap();
    }
}

async fn open(db: &Database) -> std::sync::Arc<dyn Store> {
    let config = db.config();
    let location = store::Location::from_url(config.store_url.as_deref(), &config.data_dir).unwrap();
    let store = store::open(&location, &OpenOptions::new(2, Duration::from_secs(10))).await.unwrap();
    store.ready(Duration::from_secs(10)).await.unwrap();
    store
}

async fn an_interrupted_migration_completes_when_run_again(backend: Backend) {
    const MESSAGES: usize = 5_000;
    let source_db = Database::fresh(backend).await;
    let source = open(&source_db).await;
    fill(source.as_ref(), MESSAGES).await;
    source.close().await;
    let target_db = Database::fresh(other(backend)).await;
    let target = open(&target_db).await;

    // Killed (SIGKILL) as soon as the first messages have landed.
    let child = msgd_command(&source_db.config())
        .args(["migrate", "--batch-size", "500", "--to", &target_db.url()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let killed_at = loop {
        let held = target.inventory().await.unwrap().messages;
        if held > 0 || Instant::now() > deadline {
            let running = child.0.try_wait().unwrap().is_none();
            drop(child);
            assert!(running, "the migration finished before it could be interrupted ({held} messages)");
            break held;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!((killed_at as usize) < MESSAGES, "killed midway: {killed_at} of {MESSAGES}");

    // Again: it completes, verified; nothing is duplicated or missing.
    let (ok, _, said) = run(msgd_command(&source_db.config()).args(["migrate", "--to", &target_db.url()]));
    assert!(ok, "{said}");
    assert!(said.contains(&format!("verified 2 accounts, 0 access tokens, {MESSAGES} messages")), "{said}");
    let held = target.inventory().await.unwrap();
    assert_eq!(held.messages, MESSAGES as u64);
    let (ok, _, said) = run(msgd_command(&source_db.config()).args(["migrate", "--to", &target_db.url()]));
    assert!(ok && said.contains("nothing left to copy"), "{said}");
    // Every message once, in order.
    let mut records = target.snapshot().await.unwrap();
    let mut last = None;
    let mut seen = 0;
    while let Some(record) = records.next().await {
        if let Record::Message(m) = record.unwrap() {
            assert!(last.is_none_or(|l| m.message.id > l));
            last = Some(m.message.id);
            seen += 1;
        }
    }
    assert_eq!(seen, MESSAGES);
    target.close().await;
}

async fn an_export_taken_during_writes_is_a_consistent_cut(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    app.user("bob@example.com").await;
    for n in 0..50 {
        ada.client.send_to(&format!("before {n}"), Some("bob@example.com"), None).await.unwrap();
    }
    // Writers keep sending while the export runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (client, stop) = (ada.client.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    client.send_to(&format!("during {w}-{n}"), Some("bob@example.com"), None).await.unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("during.jsonl");
    let config = app.config.clone();
    let path = file.clone();
    let (ok, _, said) =
        tokio::task::spawn_blocking(move || run(msgd_command(&config).args(["export", "--output"]).arg(&path)))
            .await
            .unwrap();
    assert!(ok, "{said}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut during = 0;
    for writer in writers {
        during += writer.await.unwrap();
    }
    assert!(during > 0);

    // The export is a prefix of the messages in id order: nothing after a gap, nothing half-written.
    let exported: Vec<uuid::Uuid> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "message")
        .map(|v| v["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let all: Vec<uuid::Uuid> =
        every_message(&ada.client, Some(msgkit::api::MailboxName::Sent)).await.iter().map(|m| m.id).collect();
    assert!(exported.len() >= 50 && exported.len() <= all.len(), "{} of {}", exported.len(), all.len());
    assert_eq!(exported, all[..exported.len()], "a consistent cut");
    // And it imports cleanly into a fresh store of the other kind.
    let target_db = Database::fresh(other(backend)).await;
    let (ok, _, said) = run(msgd_command(&target_db.config()).arg("import").arg(&file));
    assert!(ok, "{said}");
}

async fn a_damaged_import_file_is_refused_whole_naming_the_line(backend: Backend) {
    let (source, _source_db) = spawn_app(backend).await;
    populate(&source).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.jsonl");
    let (ok, _, said) = run(msgd_command(&source.config).args(["export", "--output"]).arg(&file));
    assert!(ok, "{said}");
    let good = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let message_line = lines.iter().position(|l| l.contains(r#""type":"message""#)).unwrap();
    let user_line = lines.iter().position(|l| l.contains(r#""type":"user""#)).unwrap();
    let with_line = |index: usize, text: String| {
        let mut copy: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        copy[index] = text;
        copy.join("\n") + "\n"
    };
    let damages: Vec<(&str, String, usize)> = vec![
        ("cut short", good[..good.len() / 2].to_owned(), 0),
        ("content changed", with_line(message_line, lines[message_line].replace("hello", "HELLO")), lines.len()),
        ("unknown field", with_line(user_line, lines[user_line].replacen('{', r#"{"admin":true,"#, 1)), user_line + 1),
        ("bad email", with_line(user_line, lines[user_line].replace("@example.com", "@")), user_line + 1),
        ("not JSON", with_line(message_line, "{\"type\":".to_owned()), message_line + 1),
        ("no header", lines[1..].join("\n"), 1),
        (
            "out of order",
            {
                let mut copy: Vec<&str> = lines.clone();
                copy.swap(message_line, message_line + 1);
                copy.join("\n") + "\n"
            },
            message_line + 2,
        ),
    ];
    for (what, text, line) in damages {
        let target_db = Database::fresh(other(backend)).await;
        let damaged = dir.path().join(format!("{}.jsonl", what.replace(' ', "-")));
        std::fs::write(&damaged, text).unwrap();
        let (ok, _, said) = run(msgd_command(&target_db.config()).arg("import").arg(&damaged));
        assert!(!ok, "{what}: refused");
        assert!(said.contains("nothing was imported"), "{what}: {said}");
        if line > 0 {
            assert!(said.contains(&format!("line {line}:")), "{what}: names line {line}: {said}");
        }
        let target = open(&target_db).await;
        assert!(target.inventory().await.unwrap().is_empty(), "{what}: the store is unchanged");
        target.close().await;
    }
}

/// SQLite only: `msgd backup` while msgd serves and writers write; msgd starts on the copy as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_is_consistent_and_msgd_starts_on_it() {
    let (app, _db) = spawn_app(Backend::Sqlite).await;
    let ada = app.user("ada@example.com").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (client, stop) = (ada.client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                client.send_message(&format!("note {n}")).await.unwrap();
                n += 1;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.sqlite3");
    let (config, path) = (app.config.clone(), copy.clone());
    let (ok, _, said) =
        tokio::task::spawn_blocking(move || run(msgd_command(&config).arg("backup").arg(&path))).await.unwrap();
    assert!(ok, "{said}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let (ok, _, said) = run(msgd_command(&app.config).arg("backup").arg(&copy));
    assert!(!ok && said.contains("exists"), "never overwrites: {said}");

    let mut config = app.config.clone();
    config.store_url = Some(format!("sqlite://{}", copy.display()));
    config.data_dir = dir.path().join("unused");
    let restored = TestApp::start(config).await;
    let backed_up = every_message(&restored.client.clone().with_token(&ada.token), None).await;
    let everything = every_message(&ada.client, None).await;
    assert!(!backed_up.is_empty() && backed_up.len() <= everything.len());
    assert_eq!(backed_up, everything[..backed_up.len()], "a consistent prefix");

    // On MongoDB: a clear refusal pointing at mongodump.
    let mongo = crate::common::Database::fresh(Backend::Mongo).await;
    let (ok, _, said) = run(msgd_command(&mongo.config()).arg("backup").arg(dir.path().join("x")));
    assert!(!ok && said.contains("mongodump"), "{said}");
}

#[tokio::test]
async fn a_backup_writes_exactly_the_name_given_private_and_checked() {
    let (app, _db) = spawn_app(Backend::Sqlite).await;
    app.register("ada@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    // A name SQLite would read as a URI (naming uri.sqlite3) is a plain file name here.
    let name = "file:uri.sqlite3?mode=rwc";
    let out = msgd_command(&app.config).arg("backup").arg(name).current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = dir.path().join(name);
    let metadata = std::fs::metadata(&written).expect("the file named");
    assert!(metadata.len() > 0, "the copy is in the file named");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777, 0o600);
    assert!(!dir.path().join("uri.sqlite3").exists(), "nothing under another name");
    let copy = rusqlite::Connection::open_with_flags(&written, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let users: i64 = copy.query_row("SELECT count(*) FROM users", [], |row| row.get(0)).unwrap();
    assert_eq!(users, 1);
}
