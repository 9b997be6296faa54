//! Administrators: roles, the admin API, closed registration, deactivation, deletion — and the spec's
//! flows unchanged with registration open.

use std::time::Duration;

use msgkit::api::RoleName;
use msgkit::client::{ClientError, StreamEvent, UserFilter};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::common::{Backend, api_code as code, msgd_admin, once_unlocked, spawn_app, spawn_app_with};

backend_tests!(
    roles_the_admin_api_and_the_last_administrator,
    deactivation_refuses_every_credential_at_once_and_activation_reverses_it,
    an_administrator_resets_passwords_and_unlocks_accounts,
    deleting_an_account_erases_it_and_every_message_it_sent_or_received,
    closed_registration_leaves_account_creation_to_administrators,
    two_administrators_deleting_each_other_at_once_leave_an_administrator,
    what_makes_a_password_or_an_administrator_needs_the_callers_own_password,
);

async fn roles_the_admin_api_and_the_last_administrator(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let admin = app.admin().await;
    let ada = app.user("ada@example.com").await;
    app.user("adam@example.com").await;
    app.user("bob@example.com").await;
    assert_eq!(admin.client.me().await.unwrap().role, RoleName::Admin);
    assert_eq!(ada.client.me().await.unwrap().role, RoleName::User);

    // 401 without a token, 403 for anyone but an administrator.
    assert_eq!(code(app.client.admin().users(&UserFilter::default()).await).0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        code(ada.client.admin().users(&UserFilter::default()).await),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );

    // Listing, filtered and paged.
    let page =
        admin.client.admin().users(&UserFilter { email: Some("ADA".into()), ..Default::default() }).await.unwrap();
    let emails: Vec<&str> = page.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["ada@example.com", "adam@example.com"], "in email order");
    let mut seen = Vec::new();
    let mut page = admin.client.admin().users(&UserFilter { limit: Some(2), ..Default::default() }).await.unwrap();
    loop {
        seen.extend(page.users.iter().map(|u| u.email.clone()));
        match page.next.take() {
            Some(next) => page = admin.client.admin().follow(&next).await.unwrap(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "every account once, over pages of two");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "in email order, not by id");
    // A page that starts after an account deleted since: said, not an empty page.
    let gone = uuid::Uuid::new_v4();
    let raw = app.raw().get(app.url(&format!("/admin/users?after={gone}"))).bearer_auth(&admin.token);
    let response = raw.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "user_not_found");

    // The last active administrator can be neither demoted nor deactivated nor deleted.
    let me = admin.client.admin().find(&admin.email).await.unwrap().unwrap();
    assert_eq!(
        code(admin.client.admin().set_role(me.user_id, RoleName::User, None).await),
        (StatusCode::CONFLICT, "last_admin".into())
    );
    assert_eq!(code(admin.client.admin().deactivate(me.user_id).await).1, "last_admin");
    assert_eq!(code(admin.client.admin().delete(me.user_id).await).1, "last_admin");
    assert_eq!(code(admin.client.delete_account(&admin.password).await).1, "last_admin");

    // With a second administrator, the first may step down; the second then has the admin API.
    let ada_id = ada.client.me().await.unwrap().user_id;
    let promoted = admin.client.admin().set_role(ada_id, RoleName::Admin, Some(&admin.password)).await.unwrap();
    assert_eq!(promoted.role, RoleName::Admin);
    ada.client.admin().users(&UserFilter::default()).await.expect("ada is an administrator now");
    admin.client.admin().set_role(me.user_id, RoleName::User, None).await.unwrap();
    assert_eq!(code(admin.client.admin().users(&UserFilter::default()).await).1, "forbidden", "at once");
    let raw = app.raw().patch(app.url(&format!("/admin/users/{ada_id}"))).bearer_auth(&ada.token);
    let typo = raw.json(&json!({"rol": "user"})).send().await.unwrap();
    assert_eq!(typo.status(), StatusCode::BAD_REQUEST);
    let unknown = ada.client.admin().deactivate(uuid::Uuid::new_v4()).await;
    assert_eq!(code(unknown), (StatusCode::NOT_FOUND, "user_not_found".into()));
    // Not a UUID at all: the same JSON 404 (axum's own answer would be a plain-text 400).
    for path in ["/admin/users/null,null/deactivate", "/admin/users/42", "/tokens/x"] {
        let request = app.raw().delete(app.url(path)).bearer_auth(&ada.token);
        let request =
            if path.ends_with("deactivate") { app.raw().post(app.url(path)).bearer_auth(&ada.token) } else { request };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json", "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["code"].as_str().unwrap().ends_with("_not_found"), "{path}: {body}");
    }
}

async fn deactivation_refuses_every_credential_at_once_and_activation_reverses_it(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let admin = app.admin().await;
    let bob = app.user("bob@example.com").await;
    let script = bob.client.create_token("script", &[msgkit::api::ScopeName::Read], None, &bob.password).await.unwrap();
    let with_token = app.client.clone().with_token(&script.token);
    with_token.list_messages().await.unwrap();
    let mut stream = bob.client.stream(None).await.unwrap();
    let id = bob.client.me().await.unwrap().user_id;

    let deactivated = admin.client.admin().deactivate(id).await.unwrap();
    assert_eq!(deactivated.status, msgkit::api::StatusName::Deactivated);
    assert_eq!(code(bob.client.me().await), (StatusCode::UNAUTHORIZED, "token_revoked".into()));
    assert_eq!(code(with_token.list_messages().await).0, StatusCode::UNAUTHORIZED);
    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Ok(Some(StreamEvent::Closed { code, .. }))) => assert_eq!(code, "token_revoked"),
        other => panic!("the stream closes: {other:?}"),
    }
    // Only the owner, with the right password, learns the account is deactivated.
    assert_eq!(
        code(app.client.login(&bob.email, &bob.password).await),
        (StatusCode::FORBIDDEN, "account_deactivated".into())
    );
    assert_eq!(code(app.client.login(&bob.email, "wrong password").await).1, "invalid_credentials");

    admin.client.admin().activate(id).await.unwrap();
    let token = app.client.login(&bob.email, &bob.password).await.expect("logs in again");
    app.client.clone().with_token(token).me().await.unwrap();
    assert_eq!(code(bob.client.me().await).1, "token_revoked", "the old session stays revoked");
    assert_eq!(code(with_token.me().await).1, "token_invalid", "deactivation deleted the access tokens");
}

async fn an_administrator_resets_passwords_and_unlocks_accounts(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| {
        c.no_rate_limit = false;
        c.rate_limit_login_failures = 2;
    })
    .await;
    let admin = app.admin().await;
    let carol = app.user("carol@example.com").await;
    let id = carol.client.me().await.unwrap().user_id;

    let reset = admin.client.admin().reset_password(id, &admin.password).await.unwrap();
    assert_eq!(code(carol.client.me().await).1, "token_revoked", "sessions are revoked");
    assert_eq!(code(app.client.login(&carol.email, &carol.password).await).1, "invalid_credentials");
    app.client.login(&carol.email, &reset.generated_password).await.unwrap();

    // Locked out (here by wrong passwords from the owner's own address, the strictest case).
    for _ in 0..2 {
        assert_eq!(code(app.client.login(&carol.email, "guess").await).1, "invalid_credentials");
    }
    assert_eq!(code(app.client.login(&carol.email, &reset.generated_password).await).1, "rate_limited");
    admin.client.admin().unlock(id).await.unwrap();
    once_unlocked("unlocked at once", Duration::from_secs(5), || {
        app.client.login(&carol.email, &reset.generated_password)
    })
    .await;
}

async fn deleting_an_account_erases_it_and_every_message_it_sent_or_received(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let admin = app.admin().await;
    let dan = app.user("dan@example.com").await;
    let eve = app.user("eve@example.com").await;
    dan.client.send_to("to eve", Some(&eve.email), None).await.unwrap();
    eve.client.send_to("to dan", Some(&dan.email), None).await.unwrap();
    eve.client.send_message("eve's own").await.unwrap();
    let dan_token = dan.client.create_token("t", &[msgkit::api::ScopeName::Read], None, &dan.password).await.unwrap();

    let dan_id = dan.client.me().await.unwrap().user_id;
    admin.client.admin().delete(dan_id).await.unwrap();
    let contents =
        |messages: Vec<msgkit::api::MessageView>| messages.into_iter().map(|m| m.content).collect::<Vec<_>>();
    assert_eq!(contents(eve.client.list_messages().await.unwrap()), ["eve's own"]);
    let sent = msgkit::api::ListParams { mailbox: Some(msgkit::api::MailboxName::Sent), ..Default::default() };
    assert_eq!(contents(eve.client.list_page(&sent).await.unwrap().messages), ["eve's own"]);
    assert_eq!(code(dan.client.me().await).1, "token_invalid");
    assert_eq!(code(app.client.clone().with_token(&dan_token.token).me().await).1, "token_invalid");
    let again = app.user("dan@example.com").await;
    assert!(again.client.list_messages().await.unwrap().is_empty(), "the email is free, and starts afresh");
    // Messages go on after the erased ones (on MongoDB they stay links of the chain, emptied).
    let after = again.client.send_to("after the deletion", Some(&eve.email), None).await.unwrap();
    assert_eq!(contents(eve.client.list_messages().await.unwrap()), ["eve's own", "after the deletion"]);
    assert!(after.message.id > eve.client.list_messages().await.unwrap()[0].id);

    // Deleting one's own account takes the session and the password; an access token cannot.
    let script = eve.client.create_token("s", &[msgkit::api::ScopeName::Read], None, &eve.password).await.unwrap();
    let by_token = app.client.clone().with_token(&script.token).delete_account(&eve.password).await;
    assert_eq!(code(by_token), (StatusCode::FORBIDDEN, "session_required".into()));
    assert_eq!(code(eve.client.delete_account("wrong password").await).1, "invalid_credentials");
    eve.client.delete_account(&eve.password).await.unwrap();
    assert_eq!(code(app.client.login(&eve.email, &eve.password).await).1, "invalid_credentials");
    assert!(admin.client.admin().find("eve@example.com").await.unwrap().is_none());
}

async fn closed_registration_leaves_account_creation_to_administrators(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| {
        c.registration = msgkit::config::Registration::Closed;
        c.no_rate_limit = false;
        c.rate_limit_registrations = 1;
    })
    .await;
    assert_eq!(
        code(app.client.create_user("walk-in@example.com").await),
        (StatusCode::FORBIDDEN, "registration_closed".into())
    );
    let admin = app.admin().await;
    // Not counted by the per-address registration limit (one here).
    for n in 0..3 {
        admin.client.admin().create_user(&format!("staff{n}@example.com"), None, None).await.unwrap();
    }
    let boss = admin
        .client
        .admin()
        .create_user("boss@example.com", Some(RoleName::Admin), Some(&admin.password))
        .await
        .unwrap();
    let token = app.client.login("boss@example.com", &boss.generated_password).await.unwrap();
    assert_eq!(app.client.clone().with_token(token).me().await.unwrap().role, RoleName::Admin);

    // Open registration (the spec): anyone registers, but only an administrator sets a role.
    let (open, _db) = spawn_app(backend).await;
    open.register("anyone@example.com").await;
    let forbidden = open
        .raw()
        .post(open.url("/users"))
        .json(&json!({"email": "climber@example.com", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let user = open.new_user().await;
    assert_eq!(code(user.client.admin().create_user("x@example.com", Some(RoleName::User), None).await).1, "forbidden");
    // A client that sends its Bearer on every request (even an expired one) registers as before.
    for bearer in [user.token.as_str(), "expired.or.garbage"] {
        let email = format!("{}@example.com", bearer.len());
        let request = open.raw().post(open.url("/users")).bearer_auth(bearer).json(&json!({"email": email}));
        assert_eq!(request.send().await.unwrap().status(), StatusCode::CREATED, "{bearer}");
    }
    let out = msgd_admin(&open.config, &["set-role", "anyone@example.com", "admin"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn two_administrators_deleting_each_other_at_once_leave_an_administrator(backend: Backend) {
    for _ in 0..3 {
        let (app, _db) = spawn_app(backend).await;
        let (a, b) = (app.admin().await, app.admin().await);
        let a_id = a.client.admin().find(&a.email).await.unwrap().unwrap().user_id;
        let b_id = b.client.admin().find(&b.email).await.unwrap().unwrap().user_id;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let delete = |who: &crate::common::TestUser, target| {
            let (client, barrier) = (who.client.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                client.admin().delete(target).await
            })
        };
        let (by_a, by_b) = (delete(&a, b_id), delete(&b, a_id));
        let (by_a, by_b) = (by_a.await.unwrap(), by_b.await.unwrap());
        assert!(!(by_a.is_ok() && by_b.is_ok()), "both deletions went through: no administrator left");
        for refused in [&by_a, &by_b].into_iter().filter(|r| r.is_err()) {
            let (status, code) = match refused {
                Err(ClientError::Api { status, code, .. }) => (*status, code.as_str()),
                other => panic!("{other:?}"),
            };
            // Refused as the last administrator, or (the other went first) as a deleted account's token.
            assert!(
                matches!((status.as_u16(), code), (409, "last_admin") | (401, "token_revoked" | "token_invalid")),
                "{status} {code}"
            );
        }
        // The one not deleted is an active administrator: it logs in (a deactivated account could not) as
        // an admin. (In the race it may have been deactivated for a moment, which ended its sessions.)
        let survivor = if by_a.is_ok() { &a } else { &b };
        let token = app.client.login(&survivor.email, &survivor.password).await.expect("the survivor logs in");
        assert_eq!(app.client.clone().with_token(token).me().await.unwrap().role, RoleName::Admin);
    }
}

/// Re-authentication (sudo mode): resetting any password (one's own included), making an administrator
/// (by promotion or creation) and minting a token need a login session and the caller's current password.
/// A stolen session or admin-scope token alone gets nowhere; a wrong password counts as a failed login.
async fn what_makes_a_password_or_an_administrator_needs_the_callers_own_password(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| {
        c.no_rate_limit = false;
        c.rate_limit_login_failures = 3;
    })
    .await;
    let root = app.admin().await;
    let ada = app.user("ada@example.com").await;
    let ada_id = ada.client.me().await.unwrap().user_id;
    let root_id = root.client.me().await.unwrap().user_id;
    let admin = root.client.admin();

    // Without the password: refused before anything changes, for another account and one's own.
    for target in [ada_id, root_id] {
        let raw = app.raw().post(app.url(&format!("/admin/users/{target}/reset-password"))).bearer_auth(&root.token);
        let response = raw.json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "current_password_required", "{body}");
    }
    let promote = app.raw().patch(app.url(&format!("/admin/users/{ada_id}"))).bearer_auth(&root.token);
    let response = promote.json(&json!({"role": "admin"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        code(admin.create_user("boss@example.com", Some(RoleName::Admin), None).await).1,
        "current_password_required"
    );
    // The target's password is not the one asked for.
    assert_eq!(
        code(admin.reset_password(ada_id, &ada.password).await),
        (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
    );
    assert_eq!(code(admin.set_role(ada_id, RoleName::Admin, Some("guess")).await).1, "invalid_credentials");
    ada.client.me().await.expect("nothing changed: ada's session stands");
    assert_eq!(ada.client.me().await.unwrap().role, RoleName::User);
    // Wrong passwords count like failed logins: the third locks the caller's account.
    assert_eq!(
        code(admin.create_user("boss@example.com", Some(RoleName::Admin), Some("guess")).await).1,
        "invalid_credentials"
    );
    assert_eq!(code(admin.reset_password(ada_id, &root.password).await).1, "rate_limited");
    assert!(admin.find("boss@example.com").await.unwrap().is_none(), "no administrator was made");
    // The last administrator, locked out: the operator unlocks it on the host.
    let unlocked = msgd_admin(&app.config, &["unlock", &root.email]);
    assert!(unlocked.status.success(), "{}", String::from_utf8_lossy(&unlocked.stderr));

    // With it: each works.
    let reset =
        once_unlocked("unlocked", Duration::from_secs(10), || admin.reset_password(ada_id, &root.password)).await;
    app.client.login(&ada.email, &reset.generated_password).await.expect("the new password logs in");
    assert_eq!(admin.set_role(ada_id, RoleName::Admin, Some(&root.password)).await.unwrap().role, RoleName::Admin);
    assert_eq!(admin.set_role(ada_id, RoleName::User, None).await.unwrap().role, RoleName::User, "demoting needs none");
    let boss = admin.create_user("boss@example.com", Some(RoleName::Admin), Some(&root.password)).await.unwrap();
    app.client.login(&boss.email, &boss.generated_password).await.unwrap();
    // A current_password where nothing asks for one is a mistake, said so.
    let walk_in = app.raw().post(app.url("/users")).json(&json!({"email": "w@example.com", "current_password": "x"}));
    let response = walk_in.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // An admin-scope access token, even with the password, never makes a password or an administrator.
    let token = root.client.create_token("ops", &[msgkit::api::ScopeName::Admin], None, &root.password).await.unwrap();
    let script = app.client.clone().with_token(&token.token);
    let refused = [
        code(script.admin().reset_password(ada_id, &root.password).await),
        code(script.admin().set_role(ada_id, RoleName::Admin, Some(&root.password)).await),
        code(script.admin().create_user("boss2@example.com", Some(RoleName::Admin), Some(&root.password)).await),
    ];
    for refusal in refused {
        assert_eq!(refusal, (StatusCode::FORBIDDEN, "session_required".into()));
    }
    let minted = script.create_token("more", &[msgkit::api::ScopeName::Admin], None, &root.password).await;
    assert_eq!(code(minted), (StatusCode::FORBIDDEN, "session_required".into()));
    script.admin().set_role(ada_id, RoleName::User, None).await.expect("what needs no password, a token may do");
}
