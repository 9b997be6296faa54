//! `msgd admin …`: accounts administered directly on the configured store, while msgd serves, with the
//! same rules as the admin API (the last active administrator is kept) and exit codes a script can use.

use crate::backend_tests;
use crate::common::{Backend, msgd_admin, spawn_app};

backend_tests!(
    msgd_admin_creates_promotes_resets_and_deactivates_accounts,
    msgd_admin_keeps_the_last_administrator_and_says_why_it_refuses,
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
