//! Registration, login and password change.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::common::{Backend, api_code as api_error, spawn_app, spawn_app_with};

backend_tests!(
    a_new_user_gets_a_long_generated_password_and_can_log_in_with_it,
    an_email_is_stored_trimmed_and_lower_cased,
    an_email_already_registered_in_any_case_is_refused,
    a_missing_or_malformed_email_is_refused_with_its_reason,
    fifty_concurrent_registrations_of_one_email_create_exactly_one_account,
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    a_login_without_a_field_is_a_malformed_body,
    a_password_change_takes_effect_and_revokes_older_tokens,
    a_password_change_with_wrong_credentials_is_refused,
    a_new_password_that_breaks_the_policy_is_refused_and_nothing_changes,
    a_registration_retried_with_its_key_gets_the_account_with_a_new_password_until_it_logs_in,
    a_registration_key_answers_only_its_own_client_and_only_a_few_times,
);

async fn a_registration_retried_with_its_key_gets_the_account_with_a_new_password_until_it_logs_in(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let first = app.client.create_user_with_key("lost@example.com", Some("register-lost-1")).await.unwrap();
    // The answer was lost; the client retries with the same key.
    let raw = app
        .raw()
        .post(app.url("/users"))
        .header("idempotency-key", "register-lost-1")
        .json(&json!({"email": "lost@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::CREATED);
    assert_eq!(raw.headers()["idempotent-replayed"], "true");
    let retry: msgkit::api::CreatedUser = raw.json().await.unwrap();
    assert_eq!(retry.user_id, first.user_id, "the same account");
    assert_ne!(retry.generated_password, first.generated_password, "with a new password");
    let refused = app.client.login("lost@example.com", &first.generated_password).await.unwrap_err();
    assert_eq!(refused.code(), Some("invalid_credentials"), "the lost password stops working");

    // Another key, or no key, is an ordinary duplicate.
    for key in [Some("another-key"), None] {
        let taken = app.client.create_user_with_key("lost@example.com", key).await.unwrap_err();
        assert_eq!(taken.code(), Some("email_taken"), "{key:?}");
    }
    // Once the account has logged in, the key no longer hands it out.
    app.client.login("lost@example.com", &retry.generated_password).await.unwrap();
    let late = app.client.create_user_with_key("lost@example.com", Some("register-lost-1")).await.unwrap_err();
    assert_eq!(late.code(), Some("email_taken"));
    app.client.login("lost@example.com", &retry.generated_password).await.expect("the password stays");
}

async fn a_new_user_gets_a_long_generated_password_and_can_log_in_with_it(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let response = app.raw().post(app.url("/users")).json(&json!({"email": "ada@example.com"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{body}");
    for key in ["user_id", "email", "generated_password", "message"] {
        assert!(keys.contains(&key), "{key} missing from {body}");
    }
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["message"], "Please store your password securely");
    let password = body["generated_password"].as_str().unwrap();
    assert!(password.len() >= 20, "generated password too short: {} chars", password.len());
    uuid::Uuid::parse_str(body["user_id"].as_str().unwrap()).unwrap();

    let token = app.client.login("ada@example.com", password).await.unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT has three parts");
}

async fn an_email_is_stored_trimmed_and_lower_cased(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let created = app.register("  Grace.Hopper@Navy.MIL ").await;
    assert_eq!(created.email, "grace.hopper@navy.mil");
    app.client.login("GRACE.HOPPER@navy.mil", &created.generated_password).await.unwrap();
}

async fn an_email_already_registered_in_any_case_is_refused(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let first = app.register("ada@example.com").await;
    let (status, code) = api_error(app.client.create_user("ADA@Example.com").await);
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "email_taken"));
    // The original account is untouched.
    app.client.login("ada@example.com", &first.generated_password).await.unwrap();
}

async fn a_missing_or_malformed_email_is_refused_with_its_reason(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    for (body, code) in [
        (json!({}), "email_required"),
        (json!({"email": ""}), "email_required"),
        (json!({"email": "   "}), "email_required"),
        (json!({"email": "not-an-email"}), "email_invalid"),
        (json!({"email": "ada@localhost"}), "email_invalid"),
        (json!({"email": "a\u{0}da@example.com"}), "email_invalid"),
        (json!({"email": format!("{}@example.com", "a".repeat(250))}), "email_invalid"),
    ] {
        let response = app.raw().post(app.url("/users")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["code"], code, "{body} → {error}");
        assert!(!error["error"].as_str().unwrap().is_empty());
    }
}

async fn fifty_concurrent_registrations_of_one_email_create_exactly_one_account(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let attempts = (0..50).map(|i| {
        let client = app.client.clone();
        // Mixed case: uniqueness must hold on the normalized email.
        let email = if i % 2 == 0 { "Race@Example.com".to_owned() } else { "race@EXAMPLE.com".to_owned() };
        async move { client.create_user(&email).await }
    });
    let results = join_all(attempts).await;
    let created: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(created.len(), 1, "exactly one registration succeeds");
    for result in &results {
        if let Err(e) = result {
            assert_eq!((e.status(), e.code()), (Some(StatusCode::BAD_REQUEST), Some("email_taken")), "{e}");
        }
    }
    app.client.login("race@example.com", &created[0].generated_password).await.unwrap();
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    app.register("ada@example.com").await;
    let mut answers = Vec::new();
    for (email, password) in [
        ("ada@example.com", "wrong-password"),
        ("nobody@example.com", "wrong-password"),
        ("not-an-email", "wrong-password"),
        ("ada@example.com", &"x".repeat(73)),
    ] {
        let response = app
            .raw()
            .post(app.url("/users/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        answers.push((status, response.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert!(answers[0].1.contains("invalid_credentials"), "{}", answers[0].1);
    for answer in &answers[1..] {
        assert_eq!(answer, &answers[0], "every failed login looks the same");
    }
}

async fn a_login_without_a_field_is_a_malformed_body(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    for (body, code) in [
        (json!({"password": "whatever1"}), "email_required"),
        (json!({"email": "ada@example.com"}), "password_required"),
        (json!({"email": "ada@example.com", "password": ""}), "password_required"),
        (json!({"email": "ada@example.com", "password": 12345678}), "invalid_body"),
        (json!(["ada@example.com", "pw"]), "invalid_body"),
    ] {
        let response = app.raw().post(app.url("/users/login")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["code"], code, "{body}");
    }
}

async fn a_password_change_takes_effect_and_revokes_older_tokens(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    user.client.send_message("before").await.unwrap();

    let response = app
        .raw()
        .put(app.url("/users/change-password"))
        .json(&json!({"email": user.email, "current_password": user.password, "new_password": "a new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Password updated successfully");

    let (status, code) = api_error(app.client.login(&user.email, &user.password).await);
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    let (status, code) = api_error(user.client.list_messages().await);
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "token_revoked"));

    let token = app.client.login(&user.email, "a new password").await.unwrap();
    let messages = app.client.clone().with_token(token).list_messages().await.unwrap();
    assert_eq!(messages.len(), 1, "messages survive a password change");
}

async fn a_password_change_with_wrong_credentials_is_refused(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    for (email, current) in [(user.email.as_str(), "not the password"), ("nobody@example.com", user.password.as_str())]
    {
        let (status, code) = api_error(app.client.change_password(email, current, "a new password").await);
        assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    }
    user.client.list_messages().await.expect("the old token still works");
    app.client.login(&user.email, &user.password).await.expect("the old password still works");
}

async fn a_new_password_that_breaks_the_policy_is_refused_and_nothing_changes(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let cases = [
        ("short".to_owned(), "password_too_short"),
        ("x".repeat(73), "password_too_long"),
        ("é".repeat(37), "password_too_long"),
        ("tab\tinside password".to_owned(), "password_invalid"),
        (user.password.clone(), "password_unchanged"),
        (String::new(), "new_password_required"),
    ];
    for (new, code) in cases {
        let (status, got) = api_error(app.client.change_password(&user.email, &user.password, &new).await);
        assert_eq!((status, got.as_str()), (StatusCode::BAD_REQUEST, code), "new password of {} bytes", new.len());
    }
    app.client.login(&user.email, &user.password).await.expect("the password is unchanged");
    user.client.list_messages().await.expect("the token is still valid");
    // 72 bytes is the limit, inclusive.
    app.client.change_password(&user.email, &user.password, &"y".repeat(72)).await.unwrap();
    app.client.login(&user.email, &"y".repeat(72)).await.unwrap();
}

async fn a_registration_key_answers_only_its_own_client_and_only_a_few_times(backend: Backend) {
    let (app, _db) = spawn_app_with(backend, |c| {
        c.no_rate_limit = false;
        c.rate_limit_registrations = 50;
        c.trust_forwarded_for = true;
    })
    .await;
    let register = |from: &'static str| {
        app.raw()
            .post(app.url("/users"))
            .header("x-forwarded-for", from)
            .header("idempotency-key", "register-secret-1")
            .json(&json!({"email": "bound@example.com"}))
            .send()
    };
    assert_eq!(register("2001:db8:7:1::10").await.unwrap().status(), StatusCode::CREATED);
    // Someone else who learnt the key gets nothing: to them the email is simply taken.
    let stranger = register("203.0.113.9").await.unwrap();
    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stranger.json::<serde_json::Value>().await.unwrap()["code"], "email_taken");
    // The client itself (another address of its IPv6 /64) retries: answered three times, then 429.
    for _ in 0..3 {
        let retry = register("2001:db8:7:1::11").await.unwrap();
        assert_eq!(
            (retry.status(), retry.headers()["idempotent-replayed"].to_str().unwrap()),
            (StatusCode::CREATED, "true")
        );
    }
    let fourth = register("2001:db8:7:1::10").await.unwrap();
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fourth.json::<serde_json::Value>().await.unwrap()["code"], "rate_limited");
}
