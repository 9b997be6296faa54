//! msgctl for administrators and scripts: access tokens, the admin commands, profiles — on both backends.

use crate::common::{Backend, msgd_admin};
use crate::{Env, assert_exit, json, run, stderr, stdout};

/// Each story once per backend, named `admin::<backend>::<story>` like the API's backend stories.
macro_rules! cli_backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(crate::common::Backend::Sqlite) } )*
        }
        mod mongo {
            $( #[test] fn $name() { super::$name(crate::common::Backend::Mongo) } )*
        }
    };
}

cli_backend_tests!(
    an_access_token_lets_a_script_do_what_its_scopes_allow,
    an_administrator_manages_accounts_from_the_command_line,
    profiles_keep_two_accounts_on_one_server_and_old_caches_work,
);

/// A first administrator made with `msgd admin`, logged in under the `admin` profile; returns its email
/// and password.
fn admin_profile(env: &Env) -> (String, String) {
    let email = "root@example.com";
    let out = msgd_admin(&env.app.config, &["--json", "create-user", email, "--admin"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let password = created["generated_password"].as_str().unwrap();
    let mut login = env.msgctl();
    login
        .args(["--profile", "admin", "login", "--email", email, "--password-stdin"])
        .write_stdin(format!("{password}\n"));
    assert_exit(&run(&mut login), 0);
    (email.to_owned(), password.to_owned())
}

fn an_access_token_lets_a_script_do_what_its_scopes_allow(backend: Backend) {
    let env = Env::start_on(backend, |_| {});
    let password = env.register_and_login("script@example.com");
    let create = |args: &[&str]| {
        let mut command = env.msgctl();
        command.args(["tokens", "create"]).args(args).arg("--password-stdin").write_stdin(format!("{password}\n"));
        run(&mut command)
    };
    let out = create(&["ci", "--scope", "read", "--expires", "30d", "--quiet"]);
    assert_exit(&out, 0);
    let token = stdout(&out).trim().to_owned();
    assert!(token.starts_with("msgk_") && !token.contains('\n'), "only the token: {token}");
    assert_exit(&run(env.msgctl().args(["send", "a note"])), 0);

    // The token does what its scope allows, and says clearly what it cannot.
    let with_token = || {
        let mut command = env.msgctl();
        command.env("MSGCTL_TOKEN", &token);
        command
    };
    let out = run(with_token().args(["--json", "list"]));
    assert_exit(&out, 0);
    assert_eq!(json(&out)[0]["content"], "a note");
    let out = run(with_token().args(["send", "from the script"]));
    assert_exit(&out, 8);
    assert!(stderr(&out).contains("MSGCTL_TOKEN") && stderr(&out).contains("send scope"), "{}", stderr(&out));
    let out = run(with_token().arg("whoami"));
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("Access token"), "{}", stdout(&out));
    let out = run(with_token().args(["tokens", "list"]));
    assert_exit(&out, 8);
    assert!(stderr(&out).contains("login session"), "{}", stderr(&out));

    // Listing: no secrets; tab-separated when stdout is not a terminal; JSON with --json.
    assert_exit(&create(&["sender", "--scope", "send,read"]), 0);
    let out = run(env.msgctl().args(["tokens", "list"]));
    assert_exit(&out, 0);
    let listing = stdout(&out);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 2, "no header off a terminal: {lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("ci\tread\t")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("sender\tread,send\t")), "{lines:?}");
    assert!(!stdout(&out).contains("msgk_"), "never the secret");
    let out = run(env.msgctl().args(["--json", "tokens", "list"]));
    let listed = json(&out);
    let ci = listed.as_array().unwrap().iter().find(|t| t["name"] == "ci").unwrap().clone();
    assert!(ci["last_used_at"].is_string(), "used above: {ci}");
    assert!(ci["expires_at"].is_string());

    // Bad input is refused before the round trip; names and ids both revoke; the token stops at once.
    let mut wrong = env.msgctl();
    wrong.args(["tokens", "create", "x", "--scope", "read", "--password-stdin"]).write_stdin("not the password\n");
    let out = run(&mut wrong);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("password is wrong"), "{}", stderr(&out));
    assert_exit(&run(env.msgctl().arg("whoami")), 0);
    assert_exit(&create(&["x", "--scope", "read", "--expires", "forever"]), 2);
    assert_exit(&create(&["x", "--scope", "everything"]), 2);
    let out = create(&["ci", "--scope", "read"]);
    assert_exit(&out, 5);
    assert_exit(&run(env.msgctl().args(["tokens", "revoke", "ci"])), 0);
    assert_exit(&run(with_token().arg("list")), 3);
    let sender_id = listed.as_array().unwrap().iter().find(|t| t["name"] == "sender").unwrap()["id"].clone();
    assert_exit(&run(env.msgctl().args(["tokens", "revoke", sender_id.as_str().unwrap()])), 0);
    let out = run(env.msgctl().args(["tokens", "revoke", "ci"]));
    assert_exit(&out, 4);
    let out = run(env.msgctl().args(["--json", "tokens", "list"]));
    assert_eq!(json(&out), serde_json::json!([]));
}

fn an_administrator_manages_accounts_from_the_command_line(backend: Backend) {
    let env = Env::start_on(backend, |c| c.registration = msgkit::config::Registration::Closed);
    let (root, root_password) = admin_profile(&env);
    let admin = || {
        let mut command = env.msgctl();
        command.args(["--profile", "admin"]);
        command
    };

    // Accounts from arguments, then from a file: a re-run creates none twice.
    let out = run(admin().args(["--json", "admin", "users", "create", "ada@example.com", "Bob@Example.com"]));
    assert_exit(&out, 0);
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "one JSON object a line");
    assert_eq!(lines[1]["email"], "bob@example.com");
    assert_eq!(lines[1]["status"], "created");
    let ada_password = lines[0]["generated_password"].as_str().unwrap().to_owned();
    let file = env.config.path().join("staff.txt");
    std::fs::write(&file, "# staff\nada@example.com\n\ncy@example.com\nnot-an-email\n").unwrap();
    let out = run(admin().args(["--json", "admin", "users", "create", "--file"]).arg(&file));
    assert_exit(&out, 2);
    let statuses: Vec<(String, String)> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["email"].as_str().unwrap().to_owned(), v["status"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [("ada@example.com", "exists"), ("cy@example.com", "created"), ("not-an-email", "invalid")];
    assert_eq!(statuses, expected.map(|(e, s)| (e.to_owned(), s.to_owned())));
    assert!(!stdout(&out).contains(&ada_password), "an existing account's password is never shown again");
    let out = run(admin().args(["admin", "users", "create", "dee@example.com"]));
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("dee@example.com  "), "email and password: {}", stdout(&out));

    // Listing, with filters.
    let out = run(admin().args(["--json", "admin", "users", "list", "--all"]));
    assert_exit(&out, 0);
    let emails: Vec<String> =
        json(&out).as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect();
    assert_eq!(emails.len(), 5, "{emails:?}");
    assert!(emails.contains(&root));

    // Deactivation: the owner is refused with exit 8; activation reverses it.
    let ada_login = || {
        let mut command = env.msgctl();
        command
            .args(["login", "--email", "ada@example.com", "--password-stdin"])
            .write_stdin(format!("{ada_password}\n"));
        run(&mut command)
    };
    assert_exit(&ada_login(), 0);
    assert_exit(&run(env.msgctl().args(["admin", "users", "list"])), 8);
    assert_exit(&run(admin().args(["admin", "users", "deactivate", "ada@example.com"])), 0);
    let out = run(env.msgctl().arg("list"));
    assert_exit(&out, 3);
    let out = ada_login();
    assert_exit(&out, 8);
    assert!(stderr(&out).contains("deactivated"), "{}", stderr(&out));
    let out = run(admin().args(["--json", "admin", "users", "list", "--deactivated"]));
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    assert_exit(&run(admin().args(["admin", "users", "activate", "ada@example.com"])), 0);
    assert_exit(&ada_login(), 0);

    // A new password, printed once, after your own (a stolen session alone cannot); unlocking; roles.
    let out = run(admin().args(["admin", "users", "reset-password", "ada@example.com", "--quiet"]));
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--password-stdin"), "without a terminal: {}", stderr(&out));
    let out = run(admin()
        .args(["admin", "users", "reset-password", "ada@example.com", "--password-stdin"])
        .write_stdin("guess\n"));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("your password is wrong"), "{}", stderr(&out));
    assert_exit(&run(env.msgctl().arg("list")), 0);
    let out = run(admin()
        .args(["admin", "users", "reset-password", "ada@example.com", "--quiet", "--password-stdin"])
        .write_stdin(format!("{root_password}\n")));
    assert_exit(&out, 0);
    let new_password = stdout(&out).trim().to_owned();
    assert_eq!(new_password.len(), 24);
    assert_exit(&run(env.msgctl().arg("list")), 3);
    let mut login = env.msgctl();
    login.args(["login", "--email", "ada@example.com", "--password-stdin"]).write_stdin(format!("{new_password}\n"));
    assert_exit(&run(&mut login), 0);
    assert_exit(&run(admin().args(["admin", "users", "unlock", "ada@example.com"])), 0);
    assert_exit(&run(admin().args(["admin", "users", "set-role", "ada@example.com", "admin"])), 2);
    let out = run(admin()
        .args(["--json", "admin", "users", "set-role", "ada@example.com", "admin", "--password-stdin"])
        .write_stdin(format!("{root_password}\n")));
    assert_exit(&out, 0);
    assert_eq!(json(&out)["role"], "admin");
    let out = run(admin()
        .args(["--json", "admin", "users", "create", "--admin", "--password-stdin", "ops@example.com"])
        .write_stdin(format!("{root_password}\n")));
    assert_exit(&out, 0);
    assert_eq!(json(&out)["status"], "created");
    let out = run(admin().args(["admin", "users", "create", "--admin", "--password-stdin", "--file", "-"]));
    assert_exit(&out, 2);
    assert_exit(&run(env.msgctl().args(["admin", "users", "list"])), 0);
    assert_exit(&run(admin().args(["admin", "users", "set-role", "ada@example.com", "boss"])), 2);

    // Deleting asks first (and without a terminal needs --yes); unknown emails exit 4.
    let out = run(admin().args(["admin", "users", "delete", "dee@example.com"]));
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_exit(&run(admin().args(["admin", "users", "delete", "dee@example.com", "--yes"])), 0);
    // The short forms of before stay as aliases.
    assert_exit(&run(admin().args(["admin", "deactivate", "dee@example.com"])), 4);
    assert_exit(&run(admin().args(["admin", "users", "delete", "ada@example.com", "--yes"])), 0);
    assert_exit(&run(admin().args(["admin", "users", "delete", "ops@example.com", "--yes"])), 0);

    // The last administrator cannot step down: exit 5.
    let out = run(admin().args(["admin", "users", "set-role", &root, "user"]));
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("last active administrator"), "{}", stderr(&out));
    // Registration is closed: self-service registration exits 8.
    assert_exit(&run(env.msgctl().args(["register", "walk-in@example.com"])), 8);
}

fn profiles_keep_two_accounts_on_one_server_and_old_caches_work(backend: Backend) {
    let env = Env::start_on(backend, |_| {});
    env.register_and_login("me@example.com");
    // A cache written by an msgctl from before profiles (format 1) keeps working, as the default profile.
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(env.sessions_file()).unwrap()).unwrap();
    let sessions = file["profiles"]["default"].clone();
    let v1 = serde_json::json!({"version": 1, "sessions": sessions});
    std::fs::write(env.sessions_file(), serde_json::to_vec(&v1).unwrap()).unwrap();
    let out = run(env.msgctl().args(["--json", "whoami"]));
    assert_exit(&out, 0);
    assert_eq!(json(&out)["email"], "me@example.com");
    assert_eq!(json(&out)["profile"], "default");

    let (root, _) = admin_profile(&env);
    let out = run(env.msgctl().args(["--profile", "admin", "whoami"]));
    assert_exit(&out, 0);
    assert!(stdout(&out).contains(&format!("as {root}, an administrator")), "{}", stdout(&out));
    assert!(stdout(&out).contains("Profile: admin"), "{}", stdout(&out));
    let out = run(env.msgctl().env("MSGCTL_PROFILE", "admin").args(["--json", "whoami"]));
    assert_eq!(json(&out)["email"], root.as_str());
    let out = run(env.msgctl().arg("whoami"));
    assert!(stdout(&out).contains("as me@example.com") && stdout(&out).contains("Profile: default"));

    // Listed from the cache alone; the one in use is marked; the file stays private and versioned.
    let out = run(env.msgctl().args(["--profile", "admin", "--json", "profiles"]));
    assert_exit(&out, 0);
    let listed = json(&out);
    let rows: Vec<(String, String, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["profile"].as_str().unwrap().into(), p["email"].as_str().unwrap().into(), p["current"] == true))
        .collect();
    assert_eq!(rows, [("admin".into(), root.clone(), true), ("default".into(), "me@example.com".into(), false)]);
    let out = run(env.msgctl().arg("profiles"));
    assert!(stdout(&out).lines().any(|l| l.starts_with("*\tdefault\t")), "{}", stdout(&out));
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(env.sessions_file()).unwrap()).unwrap();
    assert_eq!(file["version"], 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(env.sessions_file()).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Logging out of one profile leaves the other; bad names are usage errors.
    assert_exit(&run(env.msgctl().args(["--profile", "admin", "logout"])), 0);
    assert_exit(&run(env.msgctl().args(["--profile", "admin", "whoami"])), 3);
    assert_exit(&run(env.msgctl().arg("whoami")), 0);
    assert_exit(&run(env.msgctl().args(["--profile", "../etc", "whoami"])), 2);
}
