//! `msgd admin …`: accounts administered directly on the configured store, while msgd serves, with the
//! same rules as the admin API (the last active administrator is kept) and exit codes a script can use.

use crate::backend_tests;
use crate::common::{Backend, msgd_admin, spawn_app};

backend_tests!(
    msgd_admin_creates_promotes_resets_and_deactivates_accounts,
    msgd_admin_keeps_the_last_administrator_and_says_why_it_refuses,
    msgd_admin_takes_its_options_and_settings_after_the_subcommand_too,
    msgd_admin_never_answers_from_a_store_it_made_by_mistake,
);

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "msgd admin failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

async fn msgd_admin_creates_promotes_resets_and_deactivates_accounts(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let created = json_of(&msgd_admin(&app.config, &["--json", "create-user", "ops@example.com", "--admin"]));
    assert_eq!((created["email"].as_str(), created["role"].as_str()), (Some("ops@example.com"), Some("admin")));
    let password = created["generated_password"].as_str().unwrap().to_owned();
    let client = msgkit::client::Client::new(&app.base_url).unwrap();
    let token = client.login("ops@example.com", &password).await.unwrap();
    let me = client.clone().with_token(token).me().await.unwrap();
    assert_eq!(me.role, msgkit::api::RoleName::Admin);

    app.register("ada@example.com").await;
    let promoted = json_of(&msgd_admin(&app.config, &["--json", "set-role", "ada@example.com", "admin"]));
    assert_eq!(promoted["role"], "admin");
    let reset = json_of(&msgd_admin(&app.config, &["--json", "reset-password", "ada@example.com"]));
    let new_password = reset["generated_password"].as_str().unwrap();
    client.login("ada@example.com", new_password).await.unwrap();

    json_of(&msgd_admin(&app.config, &["--json", "deactivate", "ada@example.com"]));
    let refused = client.login("ada@example.com", new_password).await.unwrap_err();
    assert_eq!(refused.code(), Some("account_deactivated"));
    json_of(&msgd_admin(&app.config, &["--json", "activate", "ada@example.com"]));
    client.login("ada@example.com", new_password).await.unwrap();
}

async fn msgd_admin_keeps_the_last_administrator_and_says_why_it_refuses(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    json_of(&msgd_admin(&app.config, &["--json", "create-user", "ops@example.com", "--admin"]));
    for (args, exit, code) in [
        (&["--json", "set-role", "ops@example.com", "user"][..], 5, "last_admin"),
        (&["--json", "deactivate", "ops@example.com"][..], 5, "last_admin"),
        (&["--json", "reset-password", "nobody@example.com"][..], 4, "user_not_found"),
        (&["--json", "activate", "not an email"][..], 2, "email_invalid"),
        (&["--json", "create-user", "ops@example.com"][..], 5, "email_taken"),
    ] {
        let out = msgd_admin(&app.config, args);
        assert_eq!(out.status.code(), Some(exit), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("a JSON error on stderr");
        assert_eq!(error["code"], code, "{args:?}");
        assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    // Still an administrator, still active.
    let promoted = json_of(&msgd_admin(&app.config, &["--json", "set-role", "ops@example.com", "admin"]));
    assert_eq!((promoted["role"].as_str(), promoted["status"].as_str()), (Some("admin"), Some("active")));
}

/// Options and settings after the subcommand, as gh and docker take them: `--json` and where the store is.
async fn msgd_admin_takes_its_options_and_settings_after_the_subcommand_too(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_msgd"));
    command.env_remove("MONGODB_URL").env_remove("MSGD_DATA_DIR").env("BCRYPT_COST", "4");
    command.args(["admin", "create-user", "late@example.com", "--admin", "--json"]);
    match &app.config.store_url {
        Some(url) => command.args(["--database-url", url]),
        None => command.arg("--data-dir").arg(&app.config.data_dir),
    };
    let created = json_of(&command.output().unwrap());
    assert_eq!((created["email"].as_str(), created["role"].as_str()), (Some("late@example.com"), Some("admin")));
    app.client.login("late@example.com", created["generated_password"].as_str().unwrap()).await.unwrap();
}

/// Run where the store is not, `msgd admin` says so and names where it looked, rather than making an empty
/// store and answering "no such account" from it.
async fn msgd_admin_never_answers_from_a_store_it_made_by_mistake(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    app.register("ada@example.com").await;
    let elsewhere = tempfile::tempdir().unwrap();
    let wrong = elsewhere.path().join("msgd-data");
    let mut config = app.config.clone();
    config.data_dir = wrong.clone();
    config.store_url = config.store_url.map(|url| {
        // The same server, another database.
        let (base, query) = url.split_once('?').map_or((url.as_str(), ""), |(b, q)| (b, q));
        let base = base.rsplit_once('/').map_or(base, |(host, _)| host);
        format!("{base}/not_msgkit_{}?{query}", uuid::Uuid::new_v4().simple())
    });
    let out = msgd_admin(&config, &["--json", "set-role", "ada@example.com", "admin"]);
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("a JSON error on stderr");
    let message = error["error"].as_str().unwrap();
    match &config.store_url {
        None => {
            assert_eq!(out.status.code(), Some(4));
            assert_eq!(error["code"], "store_not_found");
            assert!(message.contains(&wrong.display().to_string()), "names where it looked: {message}");
            assert!(!wrong.exists(), "and creates nothing there");
            for command in [&["export"][..], &["backup", "copy.sqlite3"][..]] {
                let out = crate::common::msgd_command(&config).args(command).current_dir(elsewhere.path()).output();
                assert_eq!(out.unwrap().status.code(), Some(4), "{command:?}");
            }
            assert!(!wrong.exists());
        }
        Some(_) => {
            assert_eq!(out.status.code(), Some(4));
            assert_eq!(error["code"], "user_not_found");
            assert!(message.contains("not_msgkit"), "names the store it asked: {message}");
        }
    }
    // The first administrator, before msgd ever ran, may make the store; it says so.
    let out = msgd_admin(&config, &["create-user", "first@example.com", "--admin"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    if config.store_url.is_none() {
        assert!(String::from_utf8_lossy(&out.stderr).contains("created a new, empty store"));
    }
}
