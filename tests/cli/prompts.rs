//! The interactive prompts, driven for real in a pseudo-terminal.

use std::time::{Duration, Instant};

use expectrl::process::Termios;
use expectrl::session::OsSession as PtySession;
use expectrl::{Eof, Expect, Session};

use crate::Env;

fn spawn_in_pty(env: &Env, args: &[&str]) -> expectrl::session::OsSession {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_msgctl"));
    command
        .args(args)
        .env("MSGCTL_SERVER", &env.app.base_url)
        .env("MSGCTL_CONFIG_DIR", env.config_dir())
        .env_remove("MSGCTL_TOKEN")
        .env("TERM", "xterm")
        .env("TZ", "UTC");
    let mut session = Session::spawn(command).expect("spawning msgctl in a pty");
    // ptyprocess starts the child with echo off; a terminal has it on. Without this, msgctl's hidden prompt
    // has nothing to turn off, `send_secret` cannot tell when the read began, and a secret typed before
    // it is discarded by the prompt's own TCSAFLUSH (this failed about one run in three).
    session.set_echo(true).expect("turning the pty's echo on");
    session.set_expect_timeout(Some(Duration::from_secs(20)));
    session
}

/// Types a password at a hidden prompt once msgctl reads it. Turning echo off discards what was typed
/// before (console's `TCSAFLUSH`), so typing as soon as the prompt's text shows races with it: under load
/// the password was lost and the test waited out its timeout. Echo off is the sign that the read began.
fn send_secret(session: &mut PtySession, secret: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while session.is_echo().expect("reading the terminal's echo flag") {
        assert!(Instant::now() < deadline, "msgctl never turned echo off for its hidden prompt");
        std::thread::sleep(Duration::from_millis(5));
    }
    session.send_line(secret).unwrap();
}

#[test]
fn login_prompts_for_the_email_and_a_hidden_password() {
    let env = Env::start();
    let created = env.block_on(env.api().create_user("prompt@example.com")).unwrap();

    let mut session = spawn_in_pty(&env, &["login"]);
    session.expect("Email").unwrap();
    session.send_line("prompt@example.com").unwrap();
    session.expect("Password").unwrap();
    send_secret(&mut session, &created.generated_password);
    let rest = session.expect(Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.get(0).unwrap_or_default()).to_string();
    assert!(rest.contains("Logged in to"), "{rest}");
    assert!(!rest.contains(&created.generated_password), "the password is the password is not echoed: {rest}");

    let whoami = crate::run(env.msgctl().arg("whoami"));
    crate::assert_exit(&whoami, 0);
    assert!(crate::stdout(&whoami).contains("prompt@example.com"));
}

#[test]
fn passwd_asks_twice_for_the_new_password_and_catches_a_mismatch() {
    let env = Env::start();
    let password = env.register_and_login("twice@example.com");

    let mut session = spawn_in_pty(&env, &["passwd"]);
    session.expect("Current password").unwrap();
    send_secret(&mut session, &password);
    session.expect("New password").unwrap();
    send_secret(&mut session, "first attempt 1");
    session.expect("Repeat").unwrap();
    send_secret(&mut session, "first attempt 2");
    session.expect("do not match").unwrap();
    session.expect("New password").unwrap();
    send_secret(&mut session, "Zq7-unique-secret");
    session.expect("Repeat").unwrap();
    send_secret(&mut session, "Zq7-unique-secret");
    let rest = session.expect(Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.get(0).unwrap_or_default()).to_string();
    assert!(rest.contains("Password changed"), "{rest}");
    assert!(!rest.contains("Zq7-unique-secret"), "the password is not echoed: {rest}");

    env.block_on(env.api().login("twice@example.com", "Zq7-unique-secret")).unwrap();
    crate::assert_exit(&crate::run(env.msgctl().arg("list")), 0);
}

#[test]
fn passwd_checks_the_new_passwords_rules_before_asking_for_the_repeat() {
    let env = Env::start();
    let password = env.register_and_login("rules@example.com");
    let mut session = spawn_in_pty(&env, &["passwd"]);
    session.expect("Current password").unwrap();
    send_secret(&mut session, &password);
    session.expect("New password").unwrap();
    send_secret(&mut session, "short");
    session.expect("at least 8 characters").unwrap();
    session.expect("New password").unwrap();
    send_secret(&mut session, "long enough now");
    session.expect("Repeat").unwrap();
    send_secret(&mut session, "long enough now");
    let rest = session.expect(Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.get(0).unwrap_or_default()).to_string();
    assert!(rest.contains("Password changed"), "{rest}");
}

#[test]
fn login_at_a_terminal_gives_another_try_after_a_wrong_password() {
    let env = Env::start();
    let created = env.block_on(env.api().create_user("typo@example.com")).unwrap();
    let mut session = spawn_in_pty(&env, &["login", "--email", "typo@example.com"]);
    session.expect("Password").unwrap();
    send_secret(&mut session, "not the password");
    session.expect("try again").unwrap();
    session.expect("Password").unwrap();
    send_secret(&mut session, &created.generated_password);
    let rest = session.expect(Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.get(0).unwrap_or_default()).to_string();
    assert!(rest.contains("Logged in to"), "{rest}");
}
