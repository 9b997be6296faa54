//! The whole msgctl flow, its JSON output, its files, and every exit code class.

use std::time::Duration;

use crate::{Env, assert_exit, json, run, stderr, stdout};

#[test]
fn the_whole_flow_works_from_registration_to_logout() {
    let env = Env::start();
    let out = run(env.msgctl().args(["register", "ada@example.com", "--login"]));
    assert_exit(&out, 0);
    let password = stdout(&out).trim().strip_prefix("Password: ").expect("the password on stdout").to_owned();
    assert!(password.len() >= 20);
    assert!(stderr(&out).contains("shown only once"), "{}", stderr(&out));

    assert_exit(&run(env.msgctl().args(["send", "first message"])), 0);
    assert_exit(&run(env.msgctl().arg("send").write_stdin("piped\nmessage\n")), 0);
    assert_exit(&run(env.msgctl().args(["send", "-"]).write_stdin("dash means stdin")), 0);

    let out = run(env.msgctl().arg("list"));
    assert_exit(&out, 0);
    let listing = stdout(&out);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 4, "{listing}");
    assert!(lines[0].ends_with(" UTC  ada@example.com  first message"), "{listing}");
    assert!(lines[1].ends_with(" UTC  ada@example.com  piped"), "{listing}");
    assert!(lines[2].trim_start() == "message" && lines[2].starts_with("      "), "continuation indented: {listing}");
    assert!(lines[3].ends_with("dash means stdin"), "{listing}");

    let out =
        run(env.msgctl().args(["passwd", "--password-stdin"]).write_stdin(format!("{password}\nnew password 1\n")));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Password changed"), "{}", stderr(&out));
    assert_exit(&run(env.msgctl().arg("ls")), 0);
    env.block_on(env.api().login("ada@example.com", "new password 1")).expect("the new password works");

    assert_exit(&run(env.msgctl().arg("logout")), 0);
    let out = run(env.msgctl().arg("list"));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("not logged in"), "{}", stderr(&out));
}

#[test]
fn every_command_prints_stable_json() {
    let env = Env::start();
    let out = run(env.msgctl().args(["--json", "register", "Json@Example.com"]));
    assert_exit(&out, 0);
    let registered = json(&out);
    assert_eq!(registered["email"], "json@example.com");
    assert_eq!(registered["logged_in"], false);
    uuid::Uuid::parse_str(registered["user_id"].as_str().unwrap()).unwrap();
    let password = registered["generated_password"].as_str().unwrap().to_owned();

    let out = run(env
        .msgctl()
        .args(["--json", "login", "--email", "json@example.com", "--password-stdin"])
        .write_stdin(password.clone()));
    assert_exit(&out, 0);
    let login = json(&out);
    assert_eq!(login["email"], "json@example.com");
    assert!(login["server"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert!(login["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(!stdout(&out).contains("eyJ"), "login never prints the token");

    let out = run(env.msgctl().args(["--json", "whoami"]));
    assert_exit(&out, 0);
    let whoami = json(&out);
    assert_eq!((whoami["email"].as_str(), whoami["token_source"].as_str()), (Some("json@example.com"), Some("cache")));
    assert_eq!(whoami["expires_at"], login["expires_at"]);

    let out = run(env.msgctl().args(["--json", "send", "structured"]));
    assert_exit(&out, 0);
    let sent = json(&out);
    assert_eq!(sent["content"], "structured");
    assert!(sent["id"].is_string() && sent["created_at"].is_string());

    let out = run(env.msgctl().args(["--json", "list"]));
    assert_exit(&out, 0);
    assert_eq!(json(&out), serde_json::json!([sent]));

    let out = run(env.msgctl().args(["--json", "token"]));
    assert_exit(&out, 0);
    let token = json(&out)["token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3);

    let out = run(env
        .msgctl()
        .args(["--json", "passwd", "--password-stdin"])
        .write_stdin(format!("{password}\nanother password\n")));
    assert_exit(&out, 0);
    assert_eq!(json(&out)["email"], "json@example.com");

    let out = run(env.msgctl().args(["--json", "logout"]));
    assert_exit(&out, 0);
    assert_eq!(json(&out)["logged_out"], true);

    // Errors are JSON on stderr with --json.
    let out = run(env.msgctl().args(["--json", "list"]));
    assert_exit(&out, 3);
    let error: serde_json::Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(error["code"], "not_logged_in");
    assert!(stdout(&out).is_empty());
}

#[test]
fn quiet_prints_only_what_a_script_needs() {
    let env = Env::start();
    let out = run(env.msgctl().args(["--quiet", "register", "quiet@example.com", "--login"]));
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim().len(), 24, "only the password: {}", stdout(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let out = run(env.msgctl().args(["-q", "send", "hush"]));
    assert_exit(&out, 0);
    uuid::Uuid::parse_str(stdout(&out).trim()).expect("only the message id");
    assert!(stderr(&out).is_empty());
}

#[cfg(unix)]
#[test]
fn the_token_cache_is_private_and_a_readable_one_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::start();
    env.register_and_login("files@example.com");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.config_dir()), 0o700);
    assert_eq!(mode(&env.sessions_file()), 0o600);
    let cached = std::fs::read_to_string(env.sessions_file()).unwrap();
    assert!(cached.contains("files@example.com"));

    std::fs::set_permissions(env.sessions_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(env.msgctl().arg("whoami"));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("readable by other users"), "{}", stderr(&out));
}

#[test]
fn a_corrupt_cache_is_a_clear_error_and_a_login_repairs_it() {
    let env = Env::start();
    let password = env.register_and_login("corrupt@example.com");
    std::fs::write(env.sessions_file(), "{ this is not json").unwrap();
    let out = run(env.msgctl().arg("list"));
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("unreadable") && stderr(&out).contains("msgctl login"), "{}", stderr(&out));
    let out =
        run(env.msgctl().args(["login", "--email", "corrupt@example.com", "--password-stdin"]).write_stdin(password));
    assert_exit(&out, 0);
    assert_exit(&run(env.msgctl().arg("list")), 0);
}

#[test]
fn a_revoked_cached_token_is_forgotten_with_a_clear_message() {
    let env = Env::start();
    let password = env.register_and_login("revoked@example.com");
    env.block_on(env.api().change_password("revoked@example.com", &password, "changed elsewhere")).unwrap();
    let out = run(env.msgctl().arg("list"));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("session expired or revoked — run msgctl login"), "{}", stderr(&out));
    let cached: serde_json::Value = serde_json::from_slice(&std::fs::read(env.sessions_file()).unwrap()).unwrap();
    assert!(cached["profiles"].as_object().is_none_or(|p| p.is_empty()), "the dead token is deleted: {cached}");
    let out = run(env.msgctl().arg("whoami"));
    assert_exit(&out, 3);
}

#[test]
fn the_token_in_the_environment_wins_over_the_cache() {
    let env = Env::start();
    env.register_and_login("cached@example.com");
    assert_exit(&run(env.msgctl().args(["send", "from the cached account"])), 0);
    let other = env.block_on(env.app.user("env@example.com"));
    env.block_on(other.client.send_message("from the env account")).unwrap();

    let out = run(env.msgctl().env("MSGCTL_TOKEN", &other.token).args(["--json", "list"]));
    assert_exit(&out, 0);
    assert_eq!(json(&out)[0]["content"], "from the env account");
    let out = run(env.msgctl().env("MSGCTL_TOKEN", &other.token).args(["--json", "whoami"]));
    assert_eq!(json(&out)["token_source"], "env");
    assert_eq!(json(&out)["email"], "env@example.com", "the server says whose token it is");
    let out = run(env.msgctl().env("MSGCTL_TOKEN", &other.token).arg("token"));
    assert_eq!(stdout(&out).trim(), other.token);

    // A refused environment token says so, and leaves the cache alone.
    let out = run(env.msgctl().env("MSGCTL_TOKEN", "not-a-token").arg("list"));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("MSGCTL_TOKEN"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["--json", "list"]));
    assert_exit(&out, 0);
    assert_eq!(json(&out)[0]["content"], "from the cached account");
}

#[test]
fn every_exit_code_class_is_produced_for_real() {
    let env = Env::start();
    // 0: success; 5: conflict.
    env.register_and_login("codes@example.com");
    let out = run(env.msgctl().args(["register", "CODES@example.com"]));
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("already registered"), "{}", stderr(&out));
    // 2: usage and invalid input.
    assert_exit(&run(env.msgctl().arg("no-such-command")), 2);
    assert_exit(&run(env.msgctl().args(["list", "--limit", "0"])), 2);
    assert_exit(&run(env.msgctl().args(["register", "not-an-email"])), 2);
    assert_exit(&run(env.msgctl().args(["send", "   "])), 2);
    assert_exit(&run(env.msgctl_for("ftp://example.com").arg("logout")), 2);
    // 3: wrong credentials.
    let out =
        run(env.msgctl().args(["login", "--email", "codes@example.com", "--password-stdin"]).write_stdin("wrong\n"));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("email or the password is wrong"), "{}", stderr(&out));
    // 4: not found (a server URL with a path the server does not have).
    let out = run(env.msgctl_for(&format!("{}/no/such/prefix", env.app.base_url)).args(["register", "x@example.com"]));
    assert_exit(&out, 4);
    // 1: other (a corrupt cache).
    std::fs::write(env.sessions_file(), "[]").unwrap();
    assert_exit(&run(env.msgctl().arg("token")), 1);
    // 7: nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = run(env.msgctl_for(&format!("http://127.0.0.1:{port}")).args(["register", "x@example.com"]));
    assert_exit(&out, 7);
    assert!(stderr(&out).contains("cannot reach the server"), "{}", stderr(&out));
}

#[test]
fn without_a_terminal_missing_input_is_an_error_that_names_the_flag() {
    let env = Env::start();
    let started = std::time::Instant::now();
    let out = run(env.msgctl().arg("login").write_stdin(""));
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--email"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["login", "--email", "a@b.co"]).write_stdin(""));
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--password-stdin"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["login", "--email", "a@b.co", "--password-stdin"]).write_stdin(""));
    assert_exit(&out, 2);
    let out = run(env.msgctl().arg("register").write_stdin(""));
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("msgctl register EMAIL"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["passwd", "--email", "a@b.co"]).write_stdin(""));
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--password-stdin"), "{}", stderr(&out));
    let out = run(env.msgctl().args(["--no-input", "login"]));
    assert_exit(&out, 2);
    assert!(started.elapsed() < Duration::from_secs(20), "nothing waited for input");
}

#[test]
fn list_limit_shows_the_most_recent_messages() {
    let env = Env::start();
    env.register_and_login("limit@example.com");
    for i in 1..=5 {
        assert_exit(&run(env.msgctl().args(["send", &format!("message {i}")])), 0);
    }
    let out = run(env.msgctl().args(["--json", "list", "--limit", "2"]));
    assert_exit(&out, 0);
    let contents: Vec<String> =
        json(&out).as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect();
    assert_eq!(contents, ["message 4", "message 5"]);
}

#[test]
fn no_output_carries_a_password_hash_or_a_token_except_where_stated() {
    let env = Env::start();
    let password = env.register_and_login("secrets@example.com");
    let token = stdout(&run(env.msgctl().arg("token"))).trim().to_owned();
    for args in [
        vec!["whoami"],
        vec!["--json", "whoami"],
        vec!["send", "x"],
        vec!["--json", "send", "x"],
        vec!["list"],
        vec!["--json", "list"],
        vec!["logout"],
    ] {
        let out = run(env.msgctl().args(&args));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(&token) && !all.contains(&password) && !all.contains("$2b$"), "{args:?}: {all}");
    }
}

#[test]
fn a_rate_limited_login_exits_6_and_says_when_to_retry() {
    let env = Env::start_with(|c| {
        c.no_rate_limit = false;
        c.rate_limit_login_failures = 2;
    });
    env.register_and_login("limited@example.com");
    for _ in 0..2 {
        let out = run(env
            .msgctl()
            .args(["login", "--email", "limited@example.com", "--password-stdin"])
            .write_stdin("guess\n"));
        assert_exit(&out, 3);
    }
    let out =
        run(env.msgctl().args(["login", "--email", "limited@example.com", "--password-stdin"]).write_stdin("guess\n"));
    assert_exit(&out, 6);
    let message = stderr(&out);
    assert!(message.contains("rate-limited, retry in ") && message.trim_end().ends_with(" s"), "{message}");
    let out = run(env
        .msgctl()
        .args(["--json", "login", "--email", "limited@example.com", "--password-stdin"])
        .write_stdin("guess\n"));
    let error: serde_json::Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(error["code"], "rate_limited");
}

#[test]
fn logout_everywhere_ends_every_session_and_says_access_tokens_go_on_unless_told() {
    use msgkit::api::ScopeName;
    let env = Env::start();
    let password = env.register_and_login("devices@example.com");
    let phone = env.block_on(env.api().login("devices@example.com", &password)).unwrap();
    let phone = env.api().clone().with_token(phone);
    let script = env.block_on(phone.create_token("script", &[ScopeName::Read], None, &password)).unwrap();
    let script = env.api().clone().with_token(&script.token);
    let out = run(env.msgctl().args(["logout", "--everywhere"]));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("access tokens still work"), "says exactly what ended: {}", stderr(&out));
    assert_eq!(env.block_on(phone.list_messages()).unwrap_err().code(), Some("token_revoked"));
    env.block_on(script.list_messages()).expect("as said, the access token goes on");
    assert_exit(&run(env.msgctl().arg("list")), 3);
    // Again, with nothing left to revoke: not logged in.
    assert_exit(&run(env.msgctl().args(["logout", "--everywhere"])), 3);

    // After a leak: sessions and access tokens, in one command.
    let mut login = env.msgctl();
    login.args(["login", "--email", "devices@example.com", "--password-stdin"]).write_stdin(format!("{password}\n"));
    assert_exit(&run(&mut login), 0);
    let out = run(env.msgctl().args(["--json", "logout", "--everywhere", "--tokens"]));
    assert_exit(&out, 0);
    assert_eq!(json(&out)["tokens_revoked"], 1);
    assert_eq!(env.block_on(script.list_messages()).unwrap_err().code(), Some("token_invalid"));
    assert_exit(&run(env.msgctl().args(["logout", "--tokens"])), 2);
}

#[test]
fn tokens_revoke_all_revokes_every_access_token() {
    use msgkit::api::ScopeName;
    let env = Env::start();
    let password = env.register_and_login("leaky@example.com");
    let session = env.block_on(env.api().login("leaky@example.com", &password)).unwrap();
    let session = env.api().clone().with_token(session);
    let mut tokens = Vec::new();
    for name in ["ci", "backup"] {
        let created = env.block_on(session.create_token(name, &[ScopeName::Read], None, &password)).unwrap();
        tokens.push(env.api().clone().with_token(&created.token));
    }
    let out = run(env.msgctl().args(["tokens", "revoke", "--all"]));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Revoked 2 access tokens"), "{}", stderr(&out));
    for token in &tokens {
        assert_eq!(env.block_on(token.list_messages()).unwrap_err().code(), Some("token_invalid"));
    }
    env.block_on(session.me()).expect("sessions are left alone");
    let out = run(env.msgctl().args(["--json", "tokens", "revoke", "--all"]));
    assert_eq!(json(&out)["revoked"], serde_json::json!([]));
    assert_exit(&run(env.msgctl().args(["tokens", "revoke"])), 2);
    assert_exit(&run(env.msgctl().args(["tokens", "revoke", "ci", "--all"])), 2);
}

#[test]
fn usage_errors_are_json_with_json_and_a_server_needs_no_scheme() {
    let env = Env::start();
    let out = run(env.msgctl().args(["--json", "list", "--bogus"]));
    assert_exit(&out, 2);
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("a JSON error on stderr");
    assert_eq!(error["code"], "usage");
    assert!(error["error"].as_str().unwrap().contains("--bogus"), "{error}");
    let bare = env.app.base_url.trim_start_matches("http://").to_owned();
    let out = run(env.msgctl_for(&bare).args(["register", "bare@example.com", "--quiet"]));
    assert_exit(&out, 0);
    let out = run(env.msgctl_for("127.0.0.1:1").arg("whoami").env("MSGCTL_TOKEN", "x"));
    assert_exit(&out, 7);
    assert!(!stderr(&out).contains("os error"), "in words: {}", stderr(&out));
    assert!(stderr(&out).contains("connection refused"), "{}", stderr(&out));
    // A mistyped scheme is a usage error, not a host called "htp".
    for bad in ["htp:/foo", "localhost:abc", "ftp://example.com"] {
        let out = run(env.msgctl_for(bad).arg("whoami").env("MSGCTL_TOKEN", "x"));
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(bad), "{bad}: {}", stderr(&out));
    }
}

/// Not logged in to the server asked: msgctl says where it is logged in (a mistyped port, a forgotten
/// profile).
#[test]
fn not_logged_in_says_where_msgctl_is_logged_in() {
    let env = Env::start();
    env.register_and_login("where@example.com");
    let out = run(env.msgctl_for("127.0.0.1:1").arg("list"));
    assert_exit(&out, 3);
    let server = env.app.base_url.trim_end_matches('/');
    assert!(stderr(&out).contains(&format!("did you mean --server {server}/")), "{}", stderr(&out));
    let out = run(env.msgctl().args(["--profile", "work", "list"]));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("with --profile default"), "{}", stderr(&out));
}

#[test]
fn logout_ends_the_session_on_the_server_and_only_that_one() {
    let env = Env::start();
    let password = env.register_and_login("leaving@example.com");
    let token = stdout(&run(env.msgctl().arg("token"))).trim().to_owned();
    let other = env.block_on(env.api().login("leaving@example.com", &password)).unwrap();
    let out = run(env.msgctl().arg("logout"));
    assert_exit(&out, 0);
    let refused = env.block_on(env.api().clone().with_token(&token).me()).unwrap_err();
    assert_eq!(refused.code(), Some("token_revoked"), "the logged-out token no longer works");
    env.block_on(env.api().clone().with_token(&other).me()).expect("another session goes on");
    assert_exit(&run(env.msgctl().arg("whoami")), 3);

    // Without a server, a plain logout ends nothing, keeps the session and says so; --local only forgets.
    let out = run(env.msgctl_for("http://127.0.0.1:1").arg("logout").env("MSGCTL_TOKEN", &other));
    assert_exit(&out, 7);
    assert!(stderr(&out).contains("still logged in"), "{}", stderr(&out));
    env.register_and_login("offline@example.com");
    let cached = stdout(&run(env.msgctl().arg("token"))).trim().to_owned();
    assert_exit(&run(env.msgctl().args(["logout", "--local"])), 0);
    env.block_on(env.api().clone().with_token(&cached).me()).expect("--local leaves the session on the server");
    assert_exit(&run(env.msgctl().arg("whoami")), 3);
}

#[test]
fn login_from_stdin_uses_the_email_last_logged_in_and_register_says_when_it_replaces_a_session() {
    let env = Env::start();
    let password = env.register_and_login("again@example.com");
    assert_exit(&run(env.msgctl().arg("logout").arg("--local")), 0);
    // Never logged in with this cache: the email must be given.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut fresh = env.msgctl();
    fresh.env("MSGCTL_CONFIG_DIR", elsewhere.path()).args(["login", "--password-stdin"]);
    let out = run(fresh.write_stdin(format!("{password}\n")));
    assert_exit(&out, 2);
    let out = run(env
        .msgctl()
        .args(["login", "--email", "again@example.com", "--password-stdin"])
        .write_stdin(format!("{password}\n")));
    assert_exit(&out, 0);
    let out = run(env.msgctl().args(["login", "--password-stdin"]).write_stdin(format!("{password}\n")));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("again@example.com"), "the cached email: {}", stderr(&out));

    let out = run(env.msgctl().args(["register", "newer@example.com", "--login"]));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Replacing the session of again@example.com"), "{}", stderr(&out));
}

/// After a logout, `login` offers the account last logged in there, as gh does.
#[test]
fn login_after_logout_offers_the_last_email() {
    let env = Env::start();
    let password = env.register_and_login("again@example.com");
    assert_exit(&run(env.msgctl().arg("logout")), 0);
    let mut login = env.msgctl();
    login.args(["--json", "login", "--password-stdin"]).write_stdin(format!("{password}\n"));
    let out = run(&mut login);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["email"], "again@example.com");
}

/// What register says of the password is true: it is shown once, and an administrator can reset it.
#[test]
fn register_says_an_administrator_can_reset_a_lost_password() {
    let env = Env::start();
    let out = run(env.msgctl().args(["register", "lost@example.com"]));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("only an administrator can reset it"), "{}", stderr(&out));
}

/// A config directory msgctl cannot write says what to do instead (even for root: a file stands where the
/// directory should be).
#[test]
fn an_unwritable_config_directory_points_to_the_way_around() {
    let env = Env::start();
    let password = env.block_on(env.api().create_user("ro@example.com")).unwrap().generated_password;
    let blocker = env.config.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let mut login = env.msgctl();
    login
        .env("MSGCTL_CONFIG_DIR", blocker.join("msgctl"))
        .args(["login", "--email", "ro@example.com", "--password-stdin"])
        .write_stdin(format!("{password}\n"));
    let out = run(&mut login);
    assert_ne!(out.status.code(), Some(0));
    for pointer in ["MSGCTL_CONFIG_DIR", "MSGCTL_TOKEN"] {
        assert!(stderr(&out).contains(pointer), "{pointer}: {}", stderr(&out));
    }
}
