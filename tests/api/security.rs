//! Sessions and anti-automation, attacked: revocation across instances, logout everywhere, hostile tokens,
//! throttling, and no account enumeration by status, body or timing.

use std::time::{Duration, Instant};

use msgkit::client::{Client, ClientError};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::common::{
    Backend, Database, MsgdProcess, TEST_SECRET, TestApp, api_code as code, forge_token, spawn_app, spawn_app_with,
    unix_now,
};

backend_tests!(
    a_password_change_revokes_tokens_on_every_instance_sharing_the_database,
    logout_everywhere_revokes_every_token_of_the_caller,
    tokens_with_other_algorithms_claims_or_types_are_refused,
    failed_logins_are_throttled_per_account_without_running_bcrypt,
    failed_attempts_are_throttled_per_address_and_registrations_too,
    a_success_resets_the_accounts_failures,
    a_flood_from_other_addresses_does_not_lock_the_owner_out,
    mistakes_do_not_use_up_the_registration_budget,
    looking_accounts_up_by_email_is_throttled_per_caller,
    ending_one_session_revokes_its_token_only,
    an_unknown_email_and_a_wrong_password_look_and_take_the_same,
    security_headers_are_on_every_answer,
    a_burst_of_concurrent_attempts_stays_within_the_limits,
    instances_sharing_a_database_each_count_their_own_attempts,
    a_login_makes_a_hash_of_another_cost_again_at_the_configured_one,
    an_unusable_last_forwarded_entry_means_the_peer_never_an_earlier_entry,
);

async fn a_password_change_revokes_tokens_on_every_instance_sharing_the_database(backend: Backend) {
    let db = Database::fresh(backend).await;
    let first = TestApp::start(db.config()).await;
    let second = TestApp::start(db.config()).await;
    let user = first.new_user().await;
    let on_second = second.client.clone().with_token(&user.token);
    on_second.list_messages().await.expect("the token works on both instances");
    second.client.change_password(&user.email, &user.password, "changed on the second").await.unwrap();
    assert_eq!(code(user.client.list_messages().await).1, "token_revoked", "the first instance refuses it at once");
    assert_eq!(code(on_second.list_messages().await).1, "token_revoked");
}

async fn logout_everywhere_revokes_every_token_of_the_caller(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let laptop = user.client.clone();
    let phone = app.client.clone().with_token(app.client.login(&user.email, &user.password).await.unwrap());
    let other = app.new_user().await;

    let response = app.raw().post(app.url("/users/logout")).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for client in [&laptop, &phone] {
        assert_eq!(code(client.list_messages().await), (StatusCode::UNAUTHORIZED, "token_revoked".into()));
    }
    assert_eq!(code(laptop.logout_everywhere().await).1, "token_revoked", "a revoked token revokes nothing");
    other.client.list_messages().await.expect("other accounts are untouched");
    app.client.login(&user.email, &user.password).await.expect("logging in again works");
}

async fn tokens_with_other_algorithms_claims_or_types_are_refused(backend: Backend) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    let (app, _db) = spawn_app_with(backend, |c| c.jwt_secret = Some(TEST_SECRET.into())).await;
    let user = app.new_user().await;
    let sub = user.client.me().await.unwrap().user_id.to_string();
    let claims = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut c =
            json!({"sub": sub, "iat": unix_now(), "exp": unix_now() + 600, "iss": "msgkit", "aud": "msgkit", "ver": 0});
        f(&mut c);
        c
    };
    let sign = |header: serde_json::Value, claims: serde_json::Value| {
        use hmac::{Hmac, Mac};
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
        let mut mac = Hmac::<sha2::Sha512>::new_from_slice(TEST_SECRET.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
    };
    let refused = |token: String| {
        let client = app.client.clone().with_token(token);
        async move { code(client.list_messages().await) }
    };
    let hs512 = sign(json!({"alg": "HS512", "typ": "JWT"}), claims(&|_| {}));
    assert_eq!(refused(hs512).await, (StatusCode::UNAUTHORIZED, "token_invalid".into()));
    let rs256 = format!("{}.{}.c2ln", B64.encode(r#"{"alg":"RS256"}"#), B64.encode(claims(&|_| {}).to_string()));
    assert_eq!(refused(rs256).await.1, "token_invalid");
    let none = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(claims(&|_| {}).to_string()));
    assert_eq!(refused(none).await.1, "token_invalid");
    for broken in [
        claims(&|c| c["exp"] = json!((unix_now() + 600).to_string())),
        claims(&|c| c["exp"] = json!(null)),
        claims(&|c| {
            c.as_object_mut().unwrap().remove("exp");
        }),
        claims(&|c| c["iss"] = json!("someone-else")),
        claims(&|c| c["aud"] = json!(["another", "audience"])),
        claims(&|c| c["sub"] = json!("not-a-uuid")),
        claims(&|c| c["ver"] = json!("0")),
    ] {
        assert_eq!(refused(forge_token(&broken, TEST_SECRET.as_bytes())).await.1, "token_invalid", "{broken}");
    }
    // Expired beyond the 5 s leeway.
    let expired = forge_token(&claims(&|c| c["exp"] = json!(unix_now() - 6)), TEST_SECRET.as_bytes());
    assert_eq!(refused(expired).await.1, "token_expired");
    assert!(user.client.list_messages().await.unwrap().is_empty());
}

/// A server with small limits, for the throttling stories.
async fn throttled(backend: Backend, tweak: impl FnOnce(&mut msgkit::config::Config)) -> (TestApp, Database) {
    spawn_app_with(backend, |c| {
        c.no_rate_limit = false;
        c.rate_limit_login_failures = 3;
        c.rate_limit_address_failures = 8;
        c.rate_limit_registrations = 50;
        tweak(c);
    })
    .await
}

fn assert_rate_limited<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Duration {
    match result {
        Err(ClientError::Api { status, code, retry_after, .. }) => {
            assert_eq!((status, code.as_str()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
            let wait = retry_after.expect("Retry-After is sent");
            assert!(wait > Duration::ZERO && wait <= Duration::from_secs(15 * 60), "{wait:?}");
            wait
        }
        other => panic!("expected 429, got {other:?}"),
    }
}

async fn failed_logins_are_throttled_per_account_without_running_bcrypt(backend: Backend) {
    // A process of its own, so its bcrypt counter counts only this test's work.
    let db = Database::fresh(backend).await;
    let mut config = db.config();
    config.no_rate_limit = false;
    let msgd = MsgdProcess::spawn(&config, &[("RATE_LIMIT_LOGIN_FAILURES", "3")]);
    let client = msgd.client();
    let created = client.create_user("target@example.com").await.unwrap();
    for _ in 0..3 {
        assert_eq!(code(client.login("target@example.com", "guess").await).1, "invalid_credentials");
        assert_eq!(code(client.login("ghost@example.com", "guess").await).1, "invalid_credentials");
    }
    let verifies = || async {
        let metrics =
            client.http().get(format!("{}/metrics", msgd.base_url)).send().await.unwrap().text().await.unwrap();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(r#"msgd_bcrypt_duration_seconds_count{operation="verify"} "#))
            .map_or(0, |v| v.trim().parse::<u64>().unwrap())
    };
    let before = verifies().await;
    // Blocked even with the right password, and an unknown email exactly like a known one.
    assert_rate_limited(client.login("target@example.com", &created.generated_password).await);
    assert_rate_limited(client.login("TARGET@example.com", "guess").await);
    assert_rate_limited(client.login("ghost@example.com", "guess").await);
    assert_rate_limited(client.change_password("target@example.com", "guess", "new password 1").await);
    assert_eq!(verifies().await, before, "throttled attempts never reach bcrypt");
    // Other accounts are not affected.
    let other = client.create_user("other@example.com").await.unwrap();
    client.login("other@example.com", &other.generated_password).await.unwrap();
}

async fn failed_attempts_are_throttled_per_address_and_registrations_too(backend: Backend) {
    let (app, _db) = throttled(backend, |c| c.rate_limit_registrations = 4).await;
    for i in 0..3 {
        app.register(&format!("reg{i}@example.com")).await;
    }
    assert_eq!(code(app.client.create_user("reg0@example.com").await).1, "email_taken", "probing counts too");
    assert_rate_limited(app.client.create_user("reg9@example.com").await);

    let (app, _db) = throttled(backend, |_| {}).await;
    for i in 0..8 {
        // Spread over accounts, so only the address limit can trip.
        let email = format!("spray{}@example.com", i % 4);
        if i % 2 == 0 {
            assert_eq!(code(app.client.login(&email, "guess").await).1, "invalid_credentials");
        } else {
            assert_eq!(
                code(app.client.change_password(&email, "guess", "new password 1").await).1,
                "invalid_credentials"
            );
        }
    }
    assert_rate_limited(app.client.login("fresh@example.com", "guess").await);
}

async fn a_success_resets_the_accounts_failures(backend: Backend) {
    let (app, _db) = throttled(backend, |c| c.rate_limit_address_failures = 100).await;
    let user = app.new_user().await;
    for _ in 0..2 {
        code(app.client.login(&user.email, "guess").await);
    }
    app.client.login(&user.email, &user.password).await.unwrap();
    for _ in 0..2 {
        assert_eq!(code(app.client.login(&user.email, "guess").await).1, "invalid_credentials");
    }
    app.client.login(&user.email, &user.password).await.expect("two failures since the success: not blocked");
}

/// A login from `address` (the server trusts one X-Forwarded-For hop): status and body.
async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> (StatusCode, serde_json::Value) {
    let response = app
        .raw()
        .post(app.url("/users/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let body: serde_json::Value = response.json().await.unwrap();
    if status == StatusCode::TOO_MANY_REQUESTS {
        assert_eq!(body["retry_after"].as_u64(), retry_after, "the body says what the header says: {body}");
    }
    (status, body)
}

async fn a_flood_from_other_addresses_does_not_lock_the_owner_out(backend: Backend) {
    let (app, _db) = throttled(backend, |c| {
        c.trust_forwarded_for = true;
        c.rate_limit_account_failures = 10;
        c.rate_limit_address_failures = 100;
    })
    .await;
    let owner = app.new_user().await;
    let home = "198.51.100.1";
    assert_eq!(login_from(&app, home, &owner.email, &owner.password).await.0, StatusCode::OK);

    // One address guessing: stopped after 3, and only that address.
    for _ in 0..3 {
        assert_eq!(login_from(&app, "203.0.113.1", &owner.email, "guess").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_from(&app, "203.0.113.1", &owner.email, &owner.password).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!(login_from(&app, "198.51.100.99", &owner.email, &owner.password).await.0, StatusCode::OK);

    // Many addresses guessing: past the account's ceiling, new addresses are refused, the owner's is not.
    for n in 2..12 {
        login_from(&app, &format!("203.0.113.{n}"), &owner.email, "guess").await;
    }
    assert_eq!(login_from(&app, "203.0.113.200", &owner.email, &owner.password).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login_from(&app, home, &owner.email, &owner.password).await.0, StatusCode::OK, "the owner gets in");
}

async fn mistakes_do_not_use_up_the_registration_budget(backend: Backend) {
    let (app, _db) = throttled(backend, |c| c.rate_limit_registrations = 3).await;
    for n in 0..20 {
        let (status, code) = code(app.client.create_user(&format!("not-an-email-{n}")).await);
        assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "email_invalid"), "validated, not throttled");
    }
    let typo = app.raw().post(app.url("/users")).json(&json!({"emial": "x@example.com"})).send().await.unwrap();
    assert_eq!(typo.status(), StatusCode::BAD_REQUEST);
    app.register("first@example.com").await;
    assert_eq!(code(app.client.create_user("first@example.com").await).1, "email_taken", "a taken email counts");
    app.register("second@example.com").await;
    let wait = assert_rate_limited(app.client.create_user("third@example.com").await);
    assert!(wait > Duration::ZERO);
}

async fn looking_accounts_up_by_email_is_throttled_per_caller(backend: Backend) {
    let (app, _db) = throttled(backend, |c| c.rate_limit_lookups = 5).await;
    let prober = app.new_user().await;
    let other = app.new_user().await;
    for n in 0..4 {
        let with = msgkit::api::ListParams { with: Some(format!("probe{n}@example.com")), ..Default::default() };
        assert_eq!(code(prober.client.list_page(&with).await).1, "user_not_found");
    }
    prober.client.send_to("hi", Some(&other.email), None).await.expect("a fifth distinct email");
    prober.client.send_to("again", Some(&other.email), None).await.expect("the same email again is free");
    let with = msgkit::api::ListParams { with: Some("probe9@example.com".into()), ..Default::default() };
    assert_rate_limited(prober.client.list_page(&with).await);
    assert_rate_limited(prober.client.send_to("hi", Some("probe10@example.com"), None).await);
    other.client.send_to("unaffected", Some(&prober.email), None).await.expect("other callers are not affected");
}

async fn ending_one_session_revokes_its_token_only(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let phone = app.client.clone().with_token(app.client.login(&user.email, &user.password).await.unwrap());
    let mut stream = user.client.stream(None).await.unwrap();
    let response = app.raw().delete(app.url("/users/me/session")).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(code(user.client.me().await), (StatusCode::UNAUTHORIZED, "token_revoked".into()));
    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Ok(Some(msgkit::client::StreamEvent::Closed { code, .. }))) => assert_eq!(code, "token_revoked"),
        other => panic!("the session's stream closes: {other:?}"),
    }
    phone.me().await.expect("the other session goes on");
    assert_eq!(code(user.client.end_session().await).1, "token_revoked", "an ended session ends nothing");
}

/// Median of `samples` timings of `attempt`.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn an_unknown_email_and_a_wrong_password_look_and_take_the_same(backend: Backend) {
    // Cost 8: bcrypt (about 35 ms here) dominates, as it does in production at cost 12.
    let (app, _db) = spawn_app_with(backend, |c| c.bcrypt_cost = 8).await;
    let user = app.new_user().await;
    let raw = app.raw();
    let attempt = |path: &'static str, method: reqwest::Method, body: serde_json::Value| {
        let request = raw.request(method, app.url(path)).json(&body);
        async move {
            let started = Instant::now();
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            (started.elapsed(), status, text)
        }
    };
    let cases = [
        ("/users/login", reqwest::Method::POST, "password"),
        ("/users/change-password", reqwest::Method::PUT, "current_password"),
    ];
    for (path, method, field) in cases {
        let body = |email: &str| {
            let mut body = json!({"email": email});
            body[field] = json!("wrong password");
            if field == "current_password" {
                body["new_password"] = json!("a fine new password");
            }
            body
        };
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        // Interleaved, so drift in the machine's load affects both alike.
        for _ in 0..20 {
            let (time, status, text) = attempt(path, method.clone(), body(&user.email)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            known.push((time, text));
            let (time, status, text) = attempt(path, method.clone(), body("nobody-here@example.com")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            unknown.push((time, text));
        }
        assert!(known.iter().chain(&unknown).all(|(_, text)| text == &known[0].1), "{path}: the same body every time");
        let known = median(known.into_iter().map(|(t, _)| t).collect());
        let unknown = median(unknown.into_iter().map(|(t, _)| t).collect());
        let ratio = unknown.as_secs_f64() / known.as_secs_f64();
        assert!((0.8..=1.2).contains(&ratio), "{path}: median {unknown:?} (unknown) vs {known:?} (wrong password)");
    }
}

async fn security_headers_are_on_every_answer(backend: Backend) {
    let (app, _db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let requests = [
        app.raw().post(app.url("/users/login")).json(&json!({"email": user.email, "password": user.password})),
        app.raw().post(app.url("/users")).json(&json!({"email": "headers@example.com"})),
        app.raw().get(app.url("/messages")).bearer_auth(&user.token),
        app.raw().get(app.url("/nope")),
        app.raw().get(app.url("/healthz")),
        app.raw().get(app.url("/docs/")),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(header("cache-control"), "no-store", "{}", response.url());
        assert_eq!(header("x-content-type-options"), "nosniff", "{}", response.url());
        assert_eq!(header("x-frame-options"), "DENY", "{}", response.url());
        assert_eq!(header("referrer-policy"), "no-referrer", "{}", response.url());
        let policy = header("content-security-policy");
        assert!(policy.contains("frame-ancestors 'none'"), "{}: {policy}", response.url());
        if response.url().path().starts_with("/docs") {
            assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-eval"), "{policy}");
        } else {
            assert!(policy.starts_with("default-src 'none'"), "{policy}");
        }
    }
}

async fn a_burst_of_concurrent_attempts_stays_within_the_limits(backend: Backend) {
    let (app, _db) = throttled(backend, |c| {
        c.rate_limit_login_failures = 10;
        c.rate_limit_address_failures = 1000;
        c.rate_limit_registrations = 20;
    })
    .await;
    let user = app.new_user().await;
    let (checked, refused, answers) = wrong_logins_at_once(std::slice::from_ref(&app.client), &user.email).await;
    assert_eq!((checked, refused), (10, 50), "60 at once, 10 checked: {answers:?}");

    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let registrations: Vec<_> = (0..40)
        .map(|n| {
            let (client, barrier) = (app.client.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                client.create_user(&format!("burst{n}@example.com")).await.is_ok()
            })
        })
        .collect();
    let mut created = 0;
    for registration in registrations {
        created += usize::from(registration.await.unwrap());
    }
    // new_user above registered one account from this address already.
    assert_eq!(created, 19, "40 at once, within the 20 an address may make");
}

/// 60 wrong logins for `email` released at once by a barrier, spread over `clients` in turn: how many
/// were checked (`invalid_credentials`), how many refused (`rate_limited`), and every answer. The tasks
/// are all spawned before any is awaited (a barrier behind lazily spawned tasks would never open).
async fn wrong_logins_at_once(clients: &[Client], email: &str) -> (usize, usize, Vec<(StatusCode, String)>) {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(60));
    let logins: Vec<_> = (0..60)
        .map(|n| {
            let (client, email, barrier) = (clients[n % clients.len()].clone(), email.to_owned(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                code(client.login(&email, "a wrong guess").await)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for login in logins {
        answers.push(login.await.unwrap());
    }
    let checked = answers.iter().filter(|(_, code)| code == "invalid_credentials").count();
    let refused = answers.iter().filter(|(_, code)| code == "rate_limited").count();
    (checked, refused, answers)
}

/// The documented factor: throttles count in each msgd process, so a burst spread over two instances on
/// one database gets each instance's limit — twice the limit, never more.
async fn instances_sharing_a_database_each_count_their_own_attempts(backend: Backend) {
    let (first, _db) = throttled(backend, |c| {
        c.rate_limit_login_failures = 10;
        c.rate_limit_address_failures = 1000;
    })
    .await;
    let second = TestApp::start(first.config.clone()).await;
    let user = first.new_user().await;
    let clients = [first.client.clone(), second.client.clone()];
    let (checked, refused, answers) = wrong_logins_at_once(&clients, &user.email).await;
    assert_eq!((checked, refused), (20, 40), "2 instances × a limit of 10: {answers:?}");
    // An administrator's unlock reaches both.
    let admin = first.admin().await;
    let id = admin.client.admin().find(&user.email).await.unwrap().unwrap().user_id;
    admin.client.admin().unlock(id).await.unwrap();
    for app in [&first, &second] {
        let what = format!("unlocked on {}", app.address);
        crate::common::once_unlocked(&what, Duration::from_secs(10), || app.client.login(&user.email, &user.password))
            .await;
    }
}

async fn a_login_makes_a_hash_of_another_cost_again_at_the_configured_one(backend: Backend) {
    let db = Database::fresh(backend).await;
    let app = TestApp::start(db.config()).await;
    let user = app.new_user().await;
    app.stop().await;
    let read_cost = |email: String| {
        let config = db.config();
        async move {
            let store = msgkit::store::open(
                &config.location().unwrap(),
                &msgkit::store::OpenOptions::new(1, Duration::from_secs(5)),
            )
            .await
            .unwrap();
            store.ready(Duration::from_secs(10)).await.unwrap();
            let hash = store
                .user_by_email(&msgkit::domain::Email::parse(&email).unwrap())
                .await
                .unwrap()
                .unwrap()
                .password_hash;
            store.close().await;
            msgkit::auth::hash_cost(&hash)
        }
    };
    assert_eq!(read_cost(user.email.clone()).await, Some(4));
    // The operator raises the cost: the next login makes the hash again, and the session stays valid.
    let mut config = db.config();
    config.bcrypt_cost = 5;
    let app = TestApp::start(config).await;
    let token = app.client.login(&user.email, &user.password).await.unwrap();
    assert_eq!(read_cost(user.email.clone()).await, Some(5));
    app.client.clone().with_token(token).me().await.expect("the rehash revokes nothing");
    app.client.login(&user.email, &user.password).await.expect("the password still logs in");
}

async fn an_unusable_last_forwarded_entry_means_the_peer_never_an_earlier_entry(backend: Backend) {
    let (app, _db) = throttled(backend, |c| c.trust_forwarded_for = true).await;
    let user = app.new_user().await;
    // The client wrote 203.0.113.5; the proxy appended something that is not an address.
    for last in ["unknown", "5.5.5.5:80", "[2001:db8::1]"] {
        let header = format!("203.0.113.5, {last}");
        assert_eq!(login_from(&app, &header, &user.email, "guess").await.0, StatusCode::UNAUTHORIZED);
    }
    // Counted against the connection's peer (127.0.0.1, the same as no header at all) ...
    let response = app
        .raw()
        .post(app.url("/users/login"))
        .json(&json!({"email": user.email, "password": "guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... not against the address the client wrote.
    assert_eq!(login_from(&app, "203.0.113.5", &user.email, "guess").await.0, StatusCode::UNAUTHORIZED);
}
