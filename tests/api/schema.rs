//! What is on disk is what docs/src/storage.md documents: readable with `mongosh` or `sqlite3`.

use mongodb::bson::{Bson, Document, doc};

use crate::backend_tests;
use crate::common::{Backend, spawn_app};

backend_tests!(the_stored_records_are_as_documented);

async fn the_stored_records_are_as_documented(backend: Backend) {
    let (app, db) = spawn_app(backend).await;
    let user = app.new_user().await;
    let message = user.client.send_message("on disk").await.unwrap();
    app.stop().await;

    match backend {
        Backend::Mongo => check_mongo(db.mongo_url().unwrap(), &user.email, &message.id.to_string()).await,
        Backend::Sqlite => check_sqlite(&db.data_dir().join("msgd.sqlite3"), &user.email),
    }
}

async fn check_mongo(url: &str, email: &str, message_id: &str) {
    let client = mongodb::Client::with_uri_str(url).await.unwrap();
    let db = client.default_database().unwrap();

    let user: Document = db.collection("users").find_one(doc! {"email": email}).await.unwrap().unwrap();
    let keys: Vec<&str> = user.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["_id", "email", "password_hash", "token_version", "created_at", "role", "status", "last_login_at"]
    );
    assert_eq!((user.get_str("role").unwrap(), user.get_str("status").unwrap()), ("user", "active"));
    uuid::Uuid::parse_str(user.get_str("_id").unwrap()).unwrap();
    assert!(user.get_str("password_hash").unwrap().starts_with("$2"), "a bcrypt hash");
    assert!(matches!(user.get("token_version"), Some(Bson::Int64(0))));
    assert!(matches!(user.get("created_at"), Some(Bson::DateTime(_))));
    assert!(matches!(user.get("last_login_at"), Some(Bson::DateTime(_))), "the user logged in");

    let message: Document = db.collection("messages").find_one(doc! {"_id": message_id}).await.unwrap().unwrap();
    let keys: Vec<&str> = message.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["_id", "prev", "sender_id", "sender_email", "recipient_id", "recipient_email", "content", "created_at"]
    );
    assert_eq!(message.get_str("prev").unwrap(), "00000000-0000-0000-0000-000000000000", "the first of the chain");
    assert_eq!(message.get_str("sender_id").unwrap(), user.get_str("_id").unwrap());
    assert_eq!(message.get_str("content").unwrap(), "on disk");
    assert!(matches!(message.get("created_at"), Some(Bson::DateTime(_))));

    let secret: Document = db.collection("settings").find_one(doc! {"_id": "token_secret"}).await.unwrap().unwrap();
    assert!(matches!(secret.get("value"), Some(Bson::Binary(b)) if b.bytes.len() == 32));

    let index_keys = |collection: &str| {
        let collection = db.collection::<Document>(collection);
        async move {
            let mut indexes = Vec::new();
            let mut cursor = collection.list_indexes().await.unwrap();
            while cursor.advance().await.unwrap() {
                let model = cursor.deserialize_current().unwrap();
                let name = model.options.as_ref().and_then(|o| o.name.clone()).unwrap();
                let unique = model.options.as_ref().and_then(|o| o.unique).unwrap_or(false);
                indexes.push((name, model.keys.keys().cloned().collect::<Vec<_>>().join(","), unique));
            }
            indexes.sort();
            indexes
        }
    };
    let users = index_keys("users").await;
    assert!(users.contains(&("email_unique".into(), "email".into(), true)), "{users:?}");
    let messages = index_keys("messages").await;
    for expected in [
        ("idempotency".to_owned(), "sender_id,idempotency_key".to_owned(), true),
        ("inbox".to_owned(), "recipient_id,_id".to_owned(), false),
        ("sent".into(), "sender_id,_id".into(), false),
        ("pair".into(), "recipient_id,sender_id,_id".into(), false),
        ("chain".into(), "prev".into(), true),
        ("unread".into(), "recipient_id,unread,_id".into(), false),
        ("expiry".into(), "expires_at".into(), false),
    ] {
        assert!(messages.contains(&expected), "{expected:?} in {messages:?}");
    }
    let revocations = index_keys("revocations").await;
    assert!(revocations.contains(&("expiry".into(), "at".into(), false)), "{revocations:?}");
    let tickets = index_keys("stream_tickets").await;
    assert!(tickets.contains(&("expiry".into(), "expires_at".into(), false)), "{tickets:?}");
}

fn check_sqlite(path: &std::path::Path, email: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, 7);
    let tickets: i64 = conn.query_row("SELECT count(*) FROM stream_tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(tickets, 0, "the stream tickets table exists, empty");
    let journal: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(journal, "wal");
    let (hash, version, login): (String, i64, Option<i64>) = conn
        .query_row("SELECT password_hash, token_version, last_login_at FROM users WHERE email = ?1", [email], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert!(hash.starts_with("$2"));
    assert_eq!(version, 0);
    assert!(login.is_some(), "the user logged in");
    let ended: i64 = conn.query_row("SELECT count(*) FROM revoked_sessions", [], |r| r.get(0)).unwrap();
    assert_eq!(ended, 0, "no session was ended");
    let (role, status): (String, String) = conn
        .query_row("SELECT role, status FROM users WHERE email = ?1", [email], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((role.as_str(), status.as_str()), ("user", "active"));
    let tokens: i64 = conn.query_row("SELECT count(*) FROM access_tokens", [], |r| r.get(0)).unwrap();
    assert_eq!(tokens, 0);
    let revocations: i64 = conn.query_row("SELECT count(*) FROM revocations", [], |r| r.get(0)).unwrap();
    assert_eq!(revocations, 0, "the revocation log exists, and nothing was revoked");
    let mut indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    indexes.sort();
    assert_eq!(
        indexes,
        [
            "messages_expiry",
            "messages_idempotency",
            "messages_inbox",
            "messages_pair",
            "messages_sent",
            "messages_tombstones",
            "messages_unread",
            "users_email"
        ]
    );
    let secret: Vec<u8> =
        conn.query_row("SELECT value FROM settings WHERE key = 'token_secret'", [], |r| r.get(0)).unwrap();
    assert_eq!(secret.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the database file is the owner's only");
        let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700, "the data directory is the owner's only");
    }
}

/// A message as the release before read state stored it — without `unread` — counts as read: MongoDB
/// stores need no migration. (SQLite's schema migration is tested with the store.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongodb_message_from_before_read_state_counts_as_read() {
    let (app, db) = spawn_app(Backend::Mongo).await;
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let old = bob.client.send_to("from the old release", Some("ada@example.com"), None).await.unwrap().message;
    let new = bob.client.send_to("from this one", Some("ada@example.com"), None).await.unwrap().message;
    let config = app.config.clone();
    app.stop().await;
    let client = mongodb::Client::with_uri_str(db.mongo_url().unwrap()).await.unwrap();
    let messages = client.default_database().unwrap().collection::<Document>("messages");
    let stored = messages.find_one(doc! {"_id": old.id.to_string()}).await.unwrap().unwrap();
    assert_eq!(stored.get_bool("unread"), Ok(true), "an unread message is marked so");
    messages.update_one(doc! {"_id": old.id.to_string()}, doc! {"$unset": {"unread": ""}}).await.unwrap();

    let app = crate::common::TestApp::start(config).await;
    let token = app.client.login("ada@example.com", &ada.password).await.unwrap();
    let ada = app.client.clone().with_token(&token);
    let inbox = ada.list_messages().await.unwrap();
    let state: Vec<(uuid::Uuid, Option<bool>)> = inbox.iter().map(|m| (m.id, m.read)).collect();
    assert_eq!(state, [(old.id, Some(true)), (new.id, Some(false))]);
    assert_eq!(ada.unread().await.unwrap().total, 1);
}
