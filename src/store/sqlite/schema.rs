//! The file: its schema and migrations, connections to it, and backups.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::store::StoreError;

/// The schema version this code writes; `PRAGMA user_version` records the version of a file.
pub(super) const SCHEMA_VERSION: i64 = 7;

/// Migrations, in order: `MIGRATIONS[n]` takes a file from version `n` to `n + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        email         TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        token_version INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL -- milliseconds since the epoch
    );
    -- Emails are stored normalized; NOCASE makes the index itself case-insensitive as well.
    CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE);

    CREATE TABLE messages (
        id              TEXT PRIMARY KEY, -- UUIDv7, assigned in commit order
        sender_id       TEXT NOT NULL,
        sender_email    TEXT NOT NULL,
        recipient_id    TEXT NOT NULL,
        recipient_email TEXT NOT NULL,
        content         TEXT NOT NULL,
        created_at      INTEGER NOT NULL -- milliseconds since the epoch, from the id
    );
    CREATE INDEX messages_inbox ON messages (recipient_id, id);
    CREATE INDEX messages_sent ON messages (sender_id, id);
    CREATE INDEX messages_pair ON messages (recipient_id, sender_id, id);

    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
"#,
    r#"
    -- Idempotency keys live on the message they protect: one insert stores both, atomically.
    ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
    ALTER TABLE messages ADD COLUMN request_hash TEXT;
    CREATE UNIQUE INDEX messages_idempotency ON messages (sender_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
"#,
    r#"
    -- Revocations, in commit order, so that every process on the file can close the account's streams.
    -- Kept for REVOCATION_LOG_KEEP; the revocation itself is the token version in users.
    CREATE TABLE revocations (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        at      INTEGER NOT NULL -- milliseconds since the epoch
    );
"#,
    r#"
    ALTER TABLE users ADD COLUMN last_login_at INTEGER; -- milliseconds since the epoch; null: never
    -- SHA-256 of the registration's Idempotency-Key, to recognize a retried registration.
    ALTER TABLE users ADD COLUMN registration_key TEXT;
    -- Sessions ended one by one; kept until their tokens would have expired anyway.
    CREATE TABLE revoked_sessions (
        user_id    TEXT NOT NULL,
        session_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL, -- milliseconds since the epoch
        PRIMARY KEY (user_id, session_id)
    ) WITHOUT ROWID;
"#,
    r#"
    ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';       -- user | admin
    ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active';   -- active | deactivated
    -- What the log tells other processes: 'revoked' (re-check tokens) or 'unlocked' (clear throttles).
    ALTER TABLE revocations ADD COLUMN kind TEXT NOT NULL DEFAULT 'revoked';
    -- Personal access tokens: only a SHA-256 of each.
    CREATE TABLE access_tokens (
        id           TEXT PRIMARY KEY,
        user_id      TEXT NOT NULL,
        name         TEXT NOT NULL,
        digest       TEXT NOT NULL UNIQUE,
        scopes       TEXT NOT NULL, -- comma-separated: read, send, admin
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        last_used_at INTEGER,
        UNIQUE (user_id, name)
    );
"#,
    r#"
    -- Stream tickets for browsers: only a SHA-256 of each; deleted when used or soon after they expire.
    CREATE TABLE stream_tickets (
        digest     TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        credential TEXT NOT NULL,
        expires_at INTEGER NOT NULL -- milliseconds since the epoch
    ) WITHOUT ROWID;
"#,
    r#"
    -- Read state: 1 while the recipient has not read the message. Messages stored before read state
    -- existed count as read (their reader had listed them).
    ALTER TABLE messages ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
    -- Deleted copies: 1 once the sender (the recipient) deleted theirs. Deleting the recipient's copy
    -- also clears `unread`.
    ALTER TABLE messages ADD COLUMN deleted_by_sender INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN deleted_by_recipient INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN expires_at INTEGER; -- milliseconds since the epoch; null: never
    -- Only unread messages: counting and listing them costs what is unread, not what is stored.
    CREATE INDEX messages_unread ON messages (recipient_id, id, sender_id, expires_at) WHERE unread = 1;
    CREATE INDEX messages_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL;
    -- Messages both parties deleted, kept (without content) while a retried send could bring them back.
    CREATE INDEX messages_tombstones ON messages (id) WHERE deleted_by_sender = 1 AND deleted_by_recipient = 1;
    -- Events for every device of an account ('event': read state, deletions), with their data as JSON.
    ALTER TABLE revocations ADD COLUMN payload TEXT;
"#,
];

/// How long a read waits for a lock (rare under WAL: recovery, a checkpoint that resets the log) before
/// answering "unavailable": reads run on the async workers and must not hold one for long.
pub(super) const READ_BUSY_TIMEOUT: Duration = Duration::from_millis(200);

pub(super) fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

/// Creates the data directory (owner-only) and the database file (owner-only) if missing: the file holds
/// password hashes and the token secret.
pub(super) fn prepare_file(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
        }
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(anyhow!(e).context(format!("creating the database file {}", path.display())).into());
            }
        }
    }
    Ok(())
}

pub(super) fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(classify)?;
    conn.busy_timeout(busy_timeout).map_err(classify)?;
    // WAL: readers never block the writer; FULL: a commit is on disk before it returns. Switching a fresh
    // file to WAL while another process does the same can be refused at once, without the busy handler:
    // try again until the busy timeout.
    let deadline = std::time::Instant::now() + busy_timeout;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => break,
            Err(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(classify(e)),
        }
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(classify)?;
    conn.set_prepared_statement_cache_capacity(32);
    // One plan per statement, kept: otherwise this build of SQLite (STAT4) re-plans a cached statement
    // whenever its bound values change, which is every call (bench/run: that cost 40% of a list request).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(classify)?;
    Ok(conn)
}

/// Writes a consistent copy of the database at `from` to `to` (an empty file, or none) while other
/// processes use it: `VACUUM INTO` reads one snapshot, like any reader, and writes a compact database msgd
/// opens as it is. Returns the copy's size in bytes, once it is on disk.
pub fn backup(from: &Path, to: &Path) -> Result<u64, StoreError> {
    // As a plain file name, whatever it looks like: `VACUUM INTO` reads a name starting with `file:` as a
    // URI (where query parameters may name another file). An absolute path is never one.
    let absolute = std::path::absolute(to).with_context(|| format!("resolving {}", to.display()))?;
    let target = absolute.to_str().ok_or_else(|| anyhow!("the backup path {} is not UTF-8", to.display()))?;
    let conn = connect(from, READ_BUSY_TIMEOUT)?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(classify)?;
    drop(conn);
    let file = std::fs::File::open(&absolute).with_context(|| format!("opening {}", to.display()))?;
    file.sync_all().with_context(|| format!("syncing {}", to.display()))?;
    if let Some(dir) = absolute.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    }
    // The copy is what msgd would start on: a database that passes SQLite's own check, with the schema.
    let copy =
        Connection::open_with_flags(&absolute, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(classify)?;
    let verdict: String = copy.query_row("PRAGMA quick_check", [], |row| row.get(0)).map_err(classify)?;
    let version: i64 = copy.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(classify)?;
    if verdict != "ok" || version != SCHEMA_VERSION {
        return Err(StoreError::Other(anyhow!(
            "the copy at {} does not check out (quick_check: {verdict}; schema version {version})",
            to.display()
        )));
    }
    Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
}

/// Brings the file to [`SCHEMA_VERSION`], one migration per transaction. The version is read inside each
/// write transaction, so several processes opening a fresh file at once migrate it exactly once.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(classify)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(classify)?;
        if version > SCHEMA_VERSION {
            return Err(anyhow!(
                "the database has schema version {version}, newer than this msgd understands ({SCHEMA_VERSION}); \
                 run a newer msgd"
            )
            .into());
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version as usize]).map_err(classify)?;
        tx.pragma_update(None, "user_version", version + 1).map_err(classify)?;
        tx.commit().map_err(classify)?;
        tracing::info!(from = version, to = version + 1, "migrated the SQLite schema");
    }
}

/// Maps SQLite failures onto what callers act on: lock contention, read-only files and I/O errors are
/// "unavailable" (retry later); anything else is a bug or corruption.
pub(super) fn classify(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, _) = &e {
        let reason = match failure.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => "the database is locked by another writer",
            ErrorCode::ReadOnly => "the database is read-only",
            ErrorCode::DiskFull => "the disk is full",
            ErrorCode::CannotOpen => "the database file cannot be opened",
            ErrorCode::SystemIoFailure => "an I/O error occurred",
            ErrorCode::PermissionDenied => "permission denied",
            _ => return StoreError::Other(e.into()),
        };
        return StoreError::Unavailable(format!("{reason} ({e})"));
    }
    StoreError::Other(e.into())
}

pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}
#[cfg(test)]
mod tests {
    use super::super::open::SqliteStore;
    use super::super::read::user_by_email_sql;
    use super::*;
    use crate::domain::{Email, MessageContent, Party};
    use crate::store::{Idempotency, Inserted, Mailbox, MessageQuery, NewMessage, OpenOptions, Store};
    use uuid::Uuid;

    #[test]
    fn an_account_is_found_by_email_through_its_index() {
        let conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS {
            conn.execute_batch(migration).unwrap();
        }
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", user_by_email_sql()))
            .unwrap()
            .query_map(["ada@example.com"], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|step| step.contains("USING INDEX users_email")), "{plan:?}");
        assert!(!plan.iter().any(|step| step.starts_with("SCAN users")), "{plan:?}");
    }

    #[tokio::test]
    async fn a_version_1_database_is_migrated_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO messages VALUES ('01a20aa4-16d9-7646-8cff-9c7171f30feb', ?1, 'a@b.co', ?1, 'a@b.co', 'kept', 0)",
                [Uuid::nil().to_string()],
            )
            .unwrap();
        }
        let options = OpenOptions::new(1, Duration::from_secs(1));
        let store = SqliteStore::open(&path, &options).await.unwrap();
        let query = MessageQuery {
            owner: Uuid::nil(),
            mailbox: Mailbox::Inbox,
            after: None,
            before: None,
            limit: 10,
            unread: false,
        };
        let listed = store.list_messages(&query).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].content, MessageContent::parse("kept", 10).unwrap());
        let me = Party { id: Uuid::nil(), email: Email::parse("a@b.co").unwrap() };
        let idempotency = Some(Idempotency { key: "k".into(), fingerprint: "f".into() });
        let new =
            NewMessage { from: me.clone(), to: me, content: listed[0].content.clone(), idempotency, expires_in: None };
        assert!(matches!(store.insert_message(new.clone()).await.unwrap(), Inserted::Created(_)));
        assert!(matches!(store.insert_message(new).await.unwrap(), Inserted::Replayed(_)));
        store.close().await;
        let version: i64 =
            Connection::open(&path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[tokio::test]
    async fn a_store_of_the_release_before_read_state_opens_with_every_message_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v6.sqlite3");
        let (ada, bob) = (Uuid::new_v4(), Uuid::new_v4());
        {
            let conn = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..6] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 6).unwrap();
            conn.execute(
                "INSERT INTO messages (id, sender_id, sender_email, recipient_id, recipient_email, content, created_at) \
                 VALUES ('01a20aa4-16d9-7646-8cff-9c7171f30feb', ?1, 'ada@b.co', ?2, 'bob@b.co', 'before', 0)",
                [ada.to_string(), bob.to_string()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path, &OpenOptions::new(1, Duration::from_secs(1))).await.unwrap();
        let query =
            MessageQuery { owner: bob, mailbox: Mailbox::Inbox, after: None, before: None, limit: 10, unread: false };
        let listed = store.list_messages(&query).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].read && listed[0].expires_at.is_none(), "{:?}", listed[0]);
        assert!(store.unread(bob).await.unwrap().is_empty());
        // A new message is unread, and counted.
        let me = |id, email: &str| Party { id, email: Email::parse(email).unwrap() };
        let content = MessageContent::parse("after", 10).unwrap();
        let new = NewMessage {
            from: me(ada, "ada@b.co"),
            to: me(bob, "bob@b.co"),
            content,
            idempotency: None,
            expires_in: None,
        };
        store.insert_message(new).await.unwrap();
        let unread = store.unread(bob).await.unwrap();
        assert_eq!((unread.len(), unread[0].count, unread[0].sender.id), (1, 1, ada));
        store.close().await;
    }

    #[tokio::test]
    async fn the_purge_takes_turns_and_never_removes_the_newest_message() {
        use crate::store::DeleteFor;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("purge.sqlite3");
        let store = SqliteStore::open(&path, &OpenOptions::new(1, Duration::from_secs(1))).await.unwrap();
        let me = Party { id: Uuid::new_v4(), email: Email::parse("a@b.co").unwrap() };
        let send = |expires_in| {
            let content = MessageContent::parse("m", 10).unwrap();
            let new = NewMessage { from: me.clone(), to: me.clone(), content, idempotency: None, expires_in };
            let store = &store;
            async move { store.insert_message(new).await.unwrap().into_message().id }
        };
        let rows = || {
            let conn = Connection::open(&path).unwrap();
            conn.query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0)).unwrap()
        };
        let brief = send(Some(Duration::from_millis(1))).await;
        let gone = send(None).await;
        let newest = send(Some(Duration::from_millis(1))).await;
        store.delete_message(me.id, gone, DeleteFor::Me).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let later = time::OffsetDateTime::now_utc();
        let purged = store.purge(later, Duration::from_secs(60)).await.unwrap().expect("the first round is ours");
        assert_eq!((purged.expired, purged.tombstones), (1, 1), "the expired one and the deleted one, not {newest}");
        assert_eq!(rows(), 1);
        assert!(store.purge(later, Duration::from_secs(60)).await.unwrap().is_none(), "a round within `every` is not");
        let next = send(None).await;
        let purged = store.purge(later + Duration::from_secs(61), Duration::from_secs(60)).await.unwrap().unwrap();
        assert_eq!(purged.expired, 1, "no longer the newest");
        let query =
            MessageQuery { owner: me.id, mailbox: Mailbox::Inbox, after: None, before: None, limit: 10, unread: false };
        let left: Vec<Uuid> = store.list_messages(&query).await.unwrap().iter().map(|m| m.id).collect();
        assert_eq!(left, [next]);
        assert!(![brief, gone, newest].contains(&next));
        store.close().await;
    }

    #[test]
    fn unread_messages_are_counted_and_listed_through_their_own_index() {
        let conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS {
            conn.execute_batch(migration).unwrap();
        }
        let live = super::super::read::Live::now(None);
        let owner = Uuid::new_v4();
        let query = MessageQuery { owner, mailbox: Mailbox::Inbox, after: None, before: None, limit: 10, unread: true };
        let (sql, params) = super::super::read::list_sql(&query, live);
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(rusqlite::params_from_iter(params.iter()), |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|step| step.contains("messages_unread")), "{plan:?}");
        assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "walked in id order: {plan:?}");
    }

    #[test]
    fn processes_opening_a_fresh_file_at_once_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh.sqlite3");
        prepare_file(&path).unwrap();
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut conn = connect(&path, Duration::from_secs(5))?;
                    migrate(&mut conn)
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().expect("every opener succeeds");
        }
        let version: i64 =
            Connection::open(&path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[tokio::test]
    async fn a_database_from_a_newer_msgd_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite3");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let options = OpenOptions::new(1, Duration::from_secs(1));
        let error = SqliteStore::open(&path, &options).await.err().expect("refused");
        assert!(error.to_string().contains("newer"), "{error}");
    }
}
