//! Personal access tokens: minted with a session and the password, shown once, stored as a digest, good
//! for exactly their scopes, revoked one by one.

use msgkit::api::ScopeName;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::common::{Backend, api_code as code, spawn_app};

backend_tests!(
    an_access_token_does_what_its_scopes_allow_and_no_more,
    minting_a_token_takes_a_session_and_the_password,
    a_revoked_token_is_refused_at_once_and_sessions_ending_leave_tokens_alone,
    an_admin_scope_works_only_while_its_owner_is_an_administrator,
);

async fn an_access_token_does_what_its_scopes_allow_and_no_more(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let ada = app.user("ada@example.com").await;
    let created = ada.client.create_token("reader", &[ScopeName::Read], Some("30d"), &ada.password).await.unwrap();
    assert!(created.token.starts_with("msgk_") && created.token.len() == 45, "{}", created.token.len());
    assert_eq!(created.view.scopes, [ScopeName::Read]);
    let expires = created.view.expires_at.expect("30 days");
    let days = (expires - created.view.created_at).whole_days();
    assert_eq!(days, 30);

    let reader = app.client.clone().with_token(&created.token);
    reader.list_messages().await.unwrap();
    reader.me().await.unwrap();
    reader.stream(None).await.unwrap();
    let response =
        app.raw().post(app.url("/messages")).bearer_auth(&created.token).json(&serde_json::json!({"content": "x"}));
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#) && challenge.contains(r#"scope="send""#),
        "{challenge}"
    );
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["code"], "insufficient_scope");
    assert_eq!(code(reader.admin().users(&Default::default()).await).1, "insufficient_scope");

    let sender = ada.client.create_token("sender", &[ScopeName::Send], None, &ada.password).await.unwrap();
    assert!(sender.view.expires_at.is_none());
    app.client.clone().with_token(&sender.token).send_message("by script").await.unwrap();
    assert_eq!(code(app.client.clone().with_token(&sender.token).list_messages().await).1, "insufficient_scope");

    // Listed without secrets, with when they were last used.
    let listed = ada.client.tokens().await.unwrap();
    assert_eq!(listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["reader", "sender"]);
    let text = serde_json::to_string(&listed).unwrap();
    assert!(!text.contains(&created.token) && !text.contains("msgk_"), "{text}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while ada.client.tokens().await.unwrap()[0].last_used_at.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "last_used_at is recorded");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn minting_a_token_takes_a_session_and_the_password(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let bob = app.user("bob@example.com").await;
    assert_eq!(
        code(bob.client.create_token("x", &[ScopeName::Read], None, "wrong password").await).1,
        "invalid_credentials"
    );
    let token = bob.client.create_token("x", &[ScopeName::Read, ScopeName::Send], None, &bob.password).await.unwrap();
    let script = app.client.clone().with_token(&token.token);
    // An access token cannot mint tokens, manage them, end sessions or delete the account.
    assert_eq!(
        code(script.create_token("y", &[ScopeName::Read], None, &bob.password).await),
        (StatusCode::FORBIDDEN, "session_required".into())
    );
    assert_eq!(code(script.tokens().await).1, "session_required");
    assert_eq!(code(script.logout_everywhere().await).1, "session_required");
    assert_eq!(code(script.end_session().await).1, "session_required");
    // Names are unique per account; scopes and lifetimes are checked.
    assert_eq!(
        code(bob.client.create_token("x", &[ScopeName::Read], None, &bob.password).await),
        (StatusCode::CONFLICT, "name_taken".into())
    );
    assert_eq!(code(bob.client.create_token("none", &[], None, &bob.password).await).1, "invalid_body");
    assert_eq!(
        code(bob.client.create_token("soon", &[ScopeName::Read], Some("0m"), &bob.password).await).1,
        "invalid_body"
    );
    for bad in ["forever", "30 d", "1.5h", "100y", "30D", "12345d", "-1d", "030d", ""] {
        let said = code(bob.client.create_token("never", &[ScopeName::Read], Some(bad), &bob.password).await);
        assert_eq!(said, (StatusCode::BAD_REQUEST, "invalid_body".into()), "{bad}");
    }
    let seconds = app.raw().post(app.url("/tokens")).bearer_auth(&bob.token);
    let seconds = seconds.json(&json!({"name": "w", "scopes": ["read"], "expires_in": 3600, "password": bob.password}));
    let said: serde_json::Value = seconds.send().await.unwrap().json().await.unwrap();
    assert_eq!(said["error"], "The field expires_in must be a string, not a number.");
    let longest = bob.client.create_token("long", &[ScopeName::Read], Some("99y"), &bob.password).await.unwrap();
    let days = (longest.view.expires_at.unwrap() - longest.view.created_at).whole_days();
    assert_eq!(days, 99 * 365);
    assert_eq!(
        code(bob.client.create_token("boss", &[ScopeName::Admin], None, &bob.password).await),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
}

async fn a_revoked_token_is_refused_at_once_and_sessions_ending_leave_tokens_alone(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let cy = app.user("cy@example.com").await;
    let keep = cy.client.create_token("keep", &[ScopeName::Read], None, &cy.password).await.unwrap();
    let drop = cy.client.create_token("drop", &[ScopeName::Read], None, &cy.password).await.unwrap();
    cy.client.revoke_token(drop.view.id).await.unwrap();
    assert_eq!(
        code(app.client.clone().with_token(&drop.token).me().await),
        (StatusCode::UNAUTHORIZED, "token_invalid".into())
    );
    assert_eq!(code(cy.client.revoke_token(drop.view.id).await), (StatusCode::NOT_FOUND, "token_not_found".into()));

    // A password change and a logout everywhere revoke sessions, not access tokens.
    app.client.change_password(&cy.email, &cy.password, "cy's new password").await.unwrap();
    let session = app.client.clone().with_token(app.client.login(&cy.email, "cy's new password").await.unwrap());
    session.logout_everywhere().await.unwrap();
    app.client.clone().with_token(&keep.token).me().await.expect("the access token goes on");
}

async fn an_admin_scope_works_only_while_its_owner_is_an_administrator(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let root = app.admin().await;
    let ops = app.admin().await;
    let token = ops.client.create_token("ops", &[ScopeName::Admin], None, &ops.password).await.unwrap();
    let script = app.client.clone().with_token(&token.token);
    script.admin().users(&Default::default()).await.expect("an admin token");
    let ops_id = ops.client.me().await.unwrap().user_id;
    // An admin token never leads to a password: not its owner's, not anyone's.
    for target in [ops_id, root.client.me().await.unwrap().user_id] {
        assert_eq!(
            code(script.admin().reset_password(target, &ops.password).await),
            (StatusCode::FORBIDDEN, "session_required".into())
        );
    }
    ops.client.login(&ops.email, &ops.password).await.expect("the password did not change");
    root.client.admin().set_role(ops_id, msgkit::api::RoleName::User, None).await.unwrap();
    assert_eq!(code(script.admin().users(&Default::default()).await), (StatusCode::FORBIDDEN, "forbidden".into()));
}
