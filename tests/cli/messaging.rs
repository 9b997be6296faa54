//! msgctl's messaging commands end to end: send --to, send --file (interrupted and re-run), list filters
//! and pages, watch.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, Database, TestApp};
use crate::{Env, assert_exit, json, run, stderr, stdout};

#[test]
fn messages_go_to_other_accounts_and_the_boxes_show_them() {
    let env = Env::start();
    env.register_and_login("ada@example.com");
    let bob = env.block_on(env.app.user("bob@example.com"));
    let out = run(env.msgctl().args(["--json", "send", "--to", "Bob@Example.com", "hello bob"]));
    assert_exit(&out, 0);
    let sent = json(&out);
    assert_eq!((sent["from"].as_str(), sent["to"].as_str()), (Some("ada@example.com"), Some("bob@example.com")));
    env.block_on(bob.client.send_to("hello ada", Some("ada@example.com"), None)).unwrap();
    assert_exit(&run(env.msgctl().args(["send", "note to self"])), 0);

    let contents = |args: &[&str]| -> Vec<String> {
        let out = run(env.msgctl().arg("--json").args(args));
        assert_exit(&out, 0);
        json(&out).as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(contents(&["list"]), ["hello ada", "note to self"]);
    assert_eq!(contents(&["list", "--sent"]), ["hello bob", "note to self"]);
    assert_eq!(contents(&["list", "--with", "bob@example.com"]), ["hello bob", "hello ada"]);

    let out = run(env.msgctl().args(["list", "--sent"]));
    assert!(stdout(&out).contains("→ bob@example.com  hello bob"), "{}", stdout(&out));
    let out = run(env.msgctl().args(["send", "--to", "nobody@example.com", "hi"]));
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("has no account here"), "{}", stderr(&out));
    assert_exit(&run(env.msgctl().args(["list", "--with", "nobody@example.com"])), 4);
    assert_eq!(contents(&["list", "--sent", "--with", "bob@example.com"]), ["hello bob"], "what ada sent bob");
}

/// Senders of different lengths: the text of every line starts in the same column.
#[test]
fn the_list_text_lines_up_whatever_the_senders() {
    let env = Env::start();
    env.register_and_login("ada@example.com");
    for sender in ["bo@example.com", "a-much-longer-sender@example.com"] {
        let user = env.block_on(env.app.user(sender));
        env.block_on(user.client.send_to("hello there", Some("ada@example.com"), None)).unwrap();
    }
    let out = run(env.msgctl().arg("list"));
    assert_exit(&out, 0);
    let columns: Vec<usize> = stdout(&out).lines().map(|l| l.chars().count() - "hello there".len()).collect();
    assert_eq!(columns.len(), 2, "{}", stdout(&out));
    assert_eq!(columns[0], columns[1], "aligned:\n{}", stdout(&out));
}

#[test]
fn list_pages_after_a_cursor_and_all_follows_every_page() {
    let env = Env::start();
    env.register_and_login("pages@example.com");
    let user = env.block_on(env.app.user("sender@example.com"));
    let mut ids = Vec::new();
    for i in 0..1205 {
        let sent = env.block_on(user.client.send_to(&format!("m{i}"), Some("pages@example.com"), None)).unwrap();
        ids.push(sent.message.id.to_string());
    }
    // Default: the most recent page, oldest first.
    let out = run(env.msgctl().args(["--json", "list", "--limit", "3"]));
    let recent: Vec<String> = json(&out).as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().into()).collect();
    assert_eq!(recent, ids[1202..]);
    let out = run(env.msgctl().args(["list", "--limit", "3"]));
    assert!(stderr(&out).contains("older messages not shown"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["--json", "list", "--after", &ids[10], "--limit", "2"]));
    let page: Vec<String> = json(&out).as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().into()).collect();
    assert_eq!(page, ids[11..13]);
    // --all --json: the same shape as a page, one array, every message once, across two server pages.
    let ids_of = |out: &std::process::Output| -> Vec<String> {
        json(out).as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
    };
    let out = run(env.msgctl().args(["--json", "list", "--all"]));
    assert_exit(&out, 0);
    assert_eq!(ids_of(&out), ids);
    let out = run(env.msgctl().args(["--json", "list", "--all", "--after", &ids[1200]]));
    assert_eq!(ids_of(&out), ids[1201..]);
    // --all --limit: from the first, at most that many.
    let out = run(env.msgctl().args(["--json", "list", "--all", "--limit", "5"]));
    assert_eq!(ids_of(&out), ids[..5]);
    let out = run(env.msgctl().args(["--json", "list", "--with", "nobody-yet@example.com"]));
    assert_exit(&out, 4);
    let out = run(env.msgctl().args(["--json", "list", "--limit", "2000"]));
    assert_exit(&out, 2);
}

#[test]
fn send_prints_the_new_id_on_stdout_for_scripts() {
    let env = Env::start();
    env.register_and_login("ids@example.com");
    let out = run(env.msgctl().args(["send", "id please"]));
    assert_exit(&out, 0);
    let id = stdout(&out).trim().to_owned();
    uuid::Uuid::parse_str(&id).unwrap_or_else(|_| panic!("stdout is the id: {id:?}"));
    assert!(stderr(&out).contains("Sent to ids@example.com"), "decoration on stderr: {}", stderr(&out));
    let out = run(env.msgctl().args(["--json", "list"]));
    assert_eq!(json(&out)[0]["id"], id.as_str());
}

#[test]
fn text_from_others_is_printed_so_that_hidden_characters_show() {
    let env = Env::start();
    env.register_and_login("reader@example.com");
    let sender = env.block_on(env.app.user("trojan@example.com"));
    let tricky = "refund \u{202E}gpj.exe\u{202C} and\u{200B}more";
    env.block_on(sender.client.send_to(tricky, Some("reader@example.com"), None)).unwrap();
    let out = run(env.msgctl().arg("list"));
    assert!(stdout(&out).contains("refund <U+202E>gpj.exe<U+202C> and<U+200B>more"), "{}", stdout(&out));
    let out = run(env.msgctl().args(["--json", "list"]));
    assert_eq!(json(&out)[0]["content"], tricky, "JSON carries the content byte for byte");
}

#[test]
fn a_send_retried_by_msgctl_is_stored_once() {
    let env = Env::start();
    env.register_and_login("retry@example.com");
    // Nothing listens at first; msgctl retries with backoff while the server comes up.
    let db = env.block_on(Database::fresh(Backend::Sqlite));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = db.config();
    config.port = port;
    let server = format!("http://127.0.0.1:{port}");
    let user = {
        let app = env.block_on(TestApp::start(config.clone()));
        let user = env.block_on(app.user("late@example.com"));
        env.block_on(app.stop());
        user
    };
    let send = Command::new(env!("CARGO_BIN_EXE_msgctl"))
        .args(["send", "sent while the server was down"])
        .env("MSGCTL_SERVER", &server)
        .env("MSGCTL_TOKEN", &user.token)
        .env("MSGCTL_CONFIG_DIR", env.config_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let app = env.block_on(TestApp::start(config));
    let out = send.wait_with_output().unwrap();
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("retrying") && stderr(&out).contains("✓ Sent"), "{}", stderr(&out));
    let listed = env.block_on(user.client.list_messages()).unwrap();
    assert_eq!(listed.len(), 1);
    env.block_on(app.stop());
}

#[test]
fn an_interrupted_file_send_resumes_without_duplicates() {
    let env = Env::start();
    env.register_and_login("file@example.com");
    let bob = env.block_on(env.app.user("bob@example.com"));
    let lines: Vec<String> = (1..=1500).map(|i| format!("line {i}")).collect();
    let path = env.config.path().join("messages.txt");
    std::fs::write(&path, format!("{}\n\n   \n", lines.join("\n"))).unwrap();

    let mut first = Command::new(env!("CARGO_BIN_EXE_msgctl"))
        .args(["send", "--to", "bob@example.com", "--file"])
        .arg(&path)
        .env("MSGCTL_SERVER", &env.app.base_url)
        .env("MSGCTL_CONFIG_DIR", env.config_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let count = |bob: &crate::common::TestUser| {
        let params = msgkit::api::ListParams { limit: Some(1000), ..Default::default() };
        env.block_on(bob.client.list_page(&params)).unwrap().messages.len()
    };
    while count(&bob) < 50 {
        assert!(Instant::now() < deadline, "the first run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let interrupted_at = count(&bob);
    assert!(interrupted_at < lines.len(), "the first run was interrupted ({interrupted_at} sent)");

    let out = run(env.msgctl().args(["--json", "send", "--to", "bob@example.com", "--file"]).arg(&path));
    assert_exit(&out, 0);
    let summary = json(&out);
    assert_eq!(summary["lines"], 1500, "blank lines are skipped");
    let (sent, already) = (summary["sent"].as_u64().unwrap(), summary["already_sent"].as_u64().unwrap());
    assert_eq!(sent + already, 1500);
    assert!(already as usize >= interrupted_at, "what the first run sent was recognised: {summary}");

    let mut received = Vec::new();
    let mut params = msgkit::api::ListParams { limit: Some(1000), ..msgkit::api::ListParams::from_start() };
    loop {
        let page = env.block_on(bob.client.list_page(&params)).unwrap();
        let Some(last) = page.messages.last() else { break };
        params.after = Some(last.id);
        received.extend(page.messages.into_iter().map(|m| m.content));
    }
    assert_eq!(received, lines, "every line once, in order");

    // A third run sends nothing new.
    let out = run(env.msgctl().args(["--json", "send", "--to", "bob@example.com", "--file"]).arg(&path));
    assert_eq!(json(&out)["already_sent"], 1500);
}

#[test]
fn a_file_with_a_bad_line_sends_the_others_and_says_which_failed() {
    let env = Env::start();
    env.register_and_login("lines@example.com");
    let path = env.config.path().join("lines.txt");
    std::fs::write(&path, format!("first\n{}\nthird\n", "x".repeat(20_000))).unwrap();
    let out = run(env.msgctl().arg("send").arg("--file").arg(&path));
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("line 2") && stderr(&out).contains("Sent 2 of 3"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["--json", "list"]));
    assert_eq!(json(&out).as_array().unwrap().len(), 2);
    let out = run(env.msgctl().arg("send").arg("--file").arg(env.config.path().join("missing.txt")));
    assert_exit(&out, 2);
}

/// The lines `reader` gives, as they come, from a thread of their own.
fn lines_of(reader: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    lines
}

/// A running `msgctl watch --json`, its stdout and stderr read line by line.
struct Watch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    status: std::sync::mpsc::Receiver<String>,
}

impl Watch {
    /// `msgctl --json watch`: JSON lines, no status lines.
    fn start(env: &Env, server: &str, token: &str) -> Self {
        let watch = Self::spawn(env, server, token, true);
        // Give it time to connect before anything is sent.
        std::thread::sleep(Duration::from_millis(500));
        watch
    }

    /// `msgctl watch` for a person: text lines, and status lines on stderr; returns once it is connected.
    fn start_text(env: &Env, server: &str, token: &str) -> Self {
        let watch = Self::spawn(env, server, token, false);
        watch.status_line("Watching");
        watch
    }

    fn spawn(env: &Env, server: &str, token: &str, json: bool) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_msgctl"))
            .args(if json { &["--json", "watch"][..] } else { &["watch"][..] })
            .env("MSGCTL_SERVER", server)
            .env("MSGCTL_TOKEN", token)
            .env("MSGCTL_CONFIG_DIR", env.config_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = lines_of(child.stdout.take().unwrap());
        let status = lines_of(child.stderr.take().unwrap());
        Self { child, lines, status }
    }

    /// Waits for the status line (stderr) that starts with `start`; panics after 20 s.
    fn status_line(&self, start: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.status.recv_timeout(left) {
                Ok(line) if line.starts_with(start) => return line,
                Ok(_) => {}
                Err(_) => panic!("watch printed no line starting with {start:?} within 20 s"),
            }
        }
    }

    fn next_content(&self) -> String {
        let line = self.lines.recv_timeout(Duration::from_secs(20)).expect("a message within 20 s");
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(message) => message["content"].as_str().unwrap().to_owned(),
            // Text: time, sender, content, two spaces apart.
            Err(_) => line.rsplit("  ").next().unwrap().to_owned(),
        }
    }

    fn interrupt(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "watch did not stop on Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_prints_messages_as_they_arrive_and_survives_a_server_restart() {
    let env = Env::start();
    let db = env.block_on(Database::fresh(Backend::Sqlite));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = db.config();
    config.port = port;
    let app = env.block_on(TestApp::start(config.clone()));
    let server = app.base_url.clone();
    let ada = env.block_on(app.user("ada@example.com"));
    let bob = env.block_on(app.user("bob@example.com"));

    let watch = Watch::start(&env, &server, &bob.token);
    env.block_on(ada.client.send_to("one", Some("bob@example.com"), None)).unwrap();
    assert_eq!(watch.next_content(), "one");

    // The server goes away; messages sent while it is down are delivered after it returns.
    env.block_on(app.stop());
    let app = env.block_on(TestApp::start(config));
    for text in ["two", "three"] {
        env.block_on(ada.client.send_to(text, Some("bob@example.com"), None)).unwrap();
    }
    assert_eq!(watch.next_content(), "two");
    assert_eq!(watch.next_content(), "three");
    assert!(watch.lines.recv_timeout(Duration::from_millis(500)).is_err(), "no duplicates after reconnecting");

    let status = watch.interrupt();
    assert_eq!(status.code(), Some(0), "Ctrl-C ends watch with exit 0");
    env.block_on(app.stop());
}

/// The stream's first frame tells watch where it starts, so a watch that has printed nothing yet still
/// misses nothing: the message is sent while no server answers on watch's address (through another
/// instance on the same database), and is shown once when the server is back.
#[test]
fn a_watch_that_printed_nothing_yet_misses_nothing_across_a_restart() {
    let env = Env::start();
    let db = env.block_on(Database::fresh(Backend::Sqlite));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = db.config();
    config.port = port;
    let app = env.block_on(TestApp::start(config.clone()));
    let ada = env.block_on(app.user("ada@example.com"));
    let bob = env.block_on(app.user("bob@example.com"));
    let watch = Watch::start_text(&env, &app.base_url, &bob.token);

    env.block_on(app.stop());
    let elsewhere = env.block_on(TestApp::start(db.config()));
    let ada_elsewhere = elsewhere.client.clone().with_token(&ada.token);
    env.block_on(ada_elsewhere.send_to("while away", Some("bob@example.com"), None)).unwrap();
    env.block_on(elsewhere.stop());
    let app = env.block_on(TestApp::start(config));
    watch.status_line("Connected again");
    assert_eq!(watch.next_content(), "while away");
    env.block_on(ada.client.send_to("after", Some("bob@example.com"), None)).unwrap();
    assert_eq!(watch.next_content(), "after", "once, and in order");
    assert!(watch.lines.recv_timeout(Duration::from_millis(500)).is_err(), "no duplicates");
    drop(watch);
    env.block_on(app.stop());
}

#[test]
fn watch_stops_with_exit_3_when_the_token_is_revoked() {
    let env = Env::start();
    let bob = env.block_on(env.app.user("bob@example.com"));
    let mut watch = Watch::start(&env, &env.app.base_url, &bob.token);
    env.block_on(env.api().change_password("bob@example.com", &bob.password, "changed elsewhere")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = watch.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "watch kept running on a revoked token");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(3));
}

/// What another device did shows in watch: a read mark and a deletion, as JSON lines with `event`, or as
/// notes for a person.
#[test]
fn watch_shows_what_other_devices_marked_read_or_deleted() {
    let env = Env::start();
    let server = env.app.base_url.clone();
    let ada = env.block_on(env.app.user("ada@example.com"));
    let bob = env.block_on(env.app.user("bob@example.com"));
    let watch = Watch::start(&env, &server, &bob.token);
    let text = Watch::start_text(&env, &server, &bob.token);
    let sent = env.block_on(ada.client.send_to("one", Some("bob@example.com"), None)).unwrap().message;
    assert_eq!(watch.next_content(), "one");
    let read = msgkit::api::MarkReadRequest { up_to: None, with: None, ids: Some(vec![sent.id]) };
    env.block_on(bob.client.mark_read(&read)).unwrap();
    let line: serde_json::Value =
        serde_json::from_str(&watch.lines.recv_timeout(Duration::from_secs(20)).unwrap()).unwrap();
    assert_eq!(
        (line["event"].as_str(), line["read"].as_bool(), line["unread"].as_u64()),
        (Some("read"), Some(true), Some(0))
    );
    assert!(text.status_line("(1 message marked read").contains("0 unread"));
    env.block_on(ada.client.delete_message(sent.id, true)).unwrap();
    let line: serde_json::Value =
        serde_json::from_str(&watch.lines.recv_timeout(Duration::from_secs(20)).unwrap()).unwrap();
    assert_eq!((line["event"].as_str(), line["id"].as_str()), (Some("deleted"), Some(sent.id.to_string().as_str())));
    assert!(text.status_line("(message ").contains("deleted"));
}
