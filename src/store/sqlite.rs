//! The embedded store: one SQLite file, a group-commit writer thread and a pool of reader connections.
//!
//! Writes go to a single thread that takes every write waiting, runs them in one `BEGIN IMMEDIATE`
//! transaction (each in its own savepoint, so one failing write does not undo the others) and answers each
//! caller only after `COMMIT` returns with `synchronous=FULL`: every acknowledged write is on disk, and
//! under load one fsync covers many writes. The same thread assigns message ids, so id order is commit
//! order.
//!
//! Other processes may share the file. Ids stay in commit order across them because the writer holds the
//! file's write lock (`BEGIN IMMEDIATE`) while it reads the largest stored id and assigns the next ones,
//! whatever each process's clock says. A watcher thread notices their commits (`PRAGMA data_version`,
//! every [`WATCH_INTERVAL`]) and feeds them to the change feed, with this process's own commits.
//!
//! Reads run right where they are asked for, on the async worker, with a connection from a pool of at
//! most `POOL_SIZE`. They are all short and bounded by an index (a key lookup, or a page of at most 1,001
//! rows): handing each to another thread cost more than the read itself (measured with `bench/run`: two
//! thread switches per request halved read throughput). WAL lets them proceed during writes, and reader
//! connections give up on a lock after [`READ_BUSY_TIMEOUT`] rather than hold the worker.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Row, params};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::feed::{Change, Feed, FeedMode};
use super::{
    AccessToken, AccountStatus, ApplyMode, Backend, IDEMPOTENCY_WINDOW, Idempotency, Inserted, Inventory,
    MOVED_SETTINGS, Mailbox, Message, MessageIds, MessageQuery, MessageRecord, NewMessage, NewUser, OpenOptions, Party,
    Record, RecordStream, Role, Scope, Store, StoreError, User, UserQuery, UserRecord, from_millis, message_time,
    now_millis, to_millis,
};
use crate::domain::{Email, MessageContent};

/// The schema version this code writes; `PRAGMA user_version` records the version of a file.
const SCHEMA_VERSION: i64 = 5;

/// Migrations, in order: `MIGRATIONS[n]` takes a file from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
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
];

/// How often the watcher looks for other processes' commits.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// How long a revocation stays in the log: far longer than any process takes to see it.
const REVOCATION_LOG_KEEP: Duration = Duration::from_secs(3600);

/// How long a read waits for a lock (rare under WAL: recovery, a checkpoint that resets the log) before
/// answering "unavailable": reads run on the async workers and must not hold one for long.
const READ_BUSY_TIMEOUT: Duration = Duration::from_millis(200);

/// Most writes one transaction takes; bounds the latency a batch adds to its first write.
const MAX_BATCH: usize = 512;

/// Answers a write's caller once its transaction has committed (`Ok`) or failed (`Err(reason)`).
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

/// One caller's write, queued for the writer thread.
trait WriteJob: Send {
    /// Runs inside the batch transaction; says whether it succeeded (else its savepoint is rolled back).
    fn run(self: Box<Self>, conn: &Connection, ids: &mut MessageIds) -> (bool, Completion);
    /// The transaction could not start: the write never ran.
    fn abandon(self: Box<Self>, reason: String);
}

struct Pending<F, T> {
    work: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> WriteJob for Pending<F, T>
where
    F: FnOnce(&Connection, &mut MessageIds) -> Result<T, StoreError> + Send,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection, ids: &mut MessageIds) -> (bool, Completion) {
        let result = (self.work)(conn, ids);
        let ok = result.is_ok();
        let reply = self.reply;
        let complete: Completion = Box::new(move |committed| {
            let _ = reply.send(committed.map_err(StoreError::Unavailable).and(result));
        });
        (ok, complete)
    }

    fn abandon(self: Box<Self>, reason: String) {
        let _ = self.reply.send(Err(StoreError::Unavailable(reason)));
    }
}

enum Command {
    Write(Box<dyn WriteJob>),
    Close(oneshot::Sender<()>),
}

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    writer: mpsc::Sender<Command>,
    /// Reader connections not in use; at most `pool_size` exist.
    idle_readers: Mutex<Vec<Connection>>,
    pool_size: usize,
    feed: Arc<Feed>,
    /// Tells the watcher thread to stop; its handle, to wait for it at close.
    watching: Arc<AtomicBool>,
    watcher: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrates it and starts the writer thread.
    pub async fn open(path: &Path, options: &OpenOptions) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let busy_timeout = options.timeout;
        let (writer_conn, path) = tokio::task::spawn_blocking(move || {
            prepare_file(&path)?;
            let mut conn = connect(&path, busy_timeout)?;
            if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
                tracing::warn!(
                    path = %path.display(),
                    "the database file is read-only: reads work, every write will answer 503 until it is writable"
                );
            }
            migrate(&mut conn)?;
            Ok::<_, StoreError>((conn, path))
        })
        .await
        .map_err(|e| StoreError::Other(e.into()))??;

        let (writer, commands) = mpsc::channel();
        let ids = MessageIds::with_clock_offset(options.clock_offset_ms);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(writer_conn, commands, ids))
            .context("starting the SQLite writer thread")?;

        let feed = Arc::new(Feed::default());
        let watching = Arc::new(AtomicBool::new(true));
        let watch_conn = connect(&path, READ_BUSY_TIMEOUT)?;
        let start = Watermark::read(&watch_conn).map_err(classify)?;
        let watcher = {
            let (feed, watching) = (feed.clone(), watching.clone());
            std::thread::Builder::new()
                .name("sqlite-watcher".into())
                .spawn(move || run_watcher(watch_conn, start, &feed, &watching))
                .context("starting the SQLite watcher thread")?
        };
        feed.set_mode(FeedMode::FileWatch);

        Ok(Self {
            path,
            writer,
            idle_readers: Mutex::new(Vec::new()),
            pool_size: options.pool_size as usize,
            feed,
            watching,
            watcher: Mutex::new(Some(watcher)),
        })
    }

    /// Runs `f` inside the next write transaction; answers after it commits.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &mut MessageIds) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending { work: f, reply });
        self.writer.send(Command::Write(job)).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Runs `f` with a reader connection, on the calling thread (see the module documentation).
    async fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let idle = self.idle_readers.lock().expect("reader pool lock").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => connect(&self.path, READ_BUSY_TIMEOUT)?,
        };
        let result = f(&conn);
        let mut idle = self.idle_readers.lock().expect("reader pool lock");
        // A connection left inside a transaction would keep reading an old snapshot: not reused.
        if idle.len() < self.pool_size && conn.is_autocommit() {
            idle.push(conn);
        }
        result
    }
}

fn user_on(conn: &Connection, id: Uuid) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_WITH_SESSIONS} FROM users WHERE id = ?1");
    let mut query = conn.prepare_cached(&sql).map_err(classify)?;
    query.query_row([id.to_string()], user_from_row).optional().map_err(classify)
}

/// A read transaction: what is read inside comes from one snapshot. Ended (rolled back: nothing was
/// written) when dropped, whatever happens in between. Its statements are prepared once per connection
/// (`unchecked_transaction` prepares `BEGIN` on every call).
struct ReadTransaction<'c>(&'c Connection);

impl<'c> ReadTransaction<'c> {
    fn begin(conn: &'c Connection) -> Result<Self, StoreError> {
        conn.prepare_cached("BEGIN").and_then(|mut begin| begin.execute([])).map_err(classify)?;
        Ok(Self(conn))
    }
}

impl Drop for ReadTransaction<'_> {
    fn drop(&mut self) {
        // Should it fail, the connection is left in the transaction and `read` does not reuse it.
        let _ = self.0.prepare_cached("ROLLBACK").and_then(|mut rollback| rollback.execute([]));
    }
}

/// The account with an email. `COLLATE NOCASE`, as the unique index is: without it the comparison is the
/// column's (binary) and SQLite cannot use the index — every login, send to another account and `with=`
/// read scanned every account (measured: a send to another account at 9,100 req/s beside 38,000 to
/// oneself with 2,000 accounts stored; the same rate once the index is used).
fn user_by_email_sql() -> String {
    format!("SELECT {USER_WITH_SESSIONS} FROM users WHERE email = ?1 COLLATE NOCASE")
}

fn user_by_email_on(conn: &Connection, email: &Email) -> Result<Option<User>, StoreError> {
    let mut query = conn.prepare_cached(&user_by_email_sql()).map_err(classify)?;
    query.query_row([email.as_str()], user_from_row).optional().map_err(classify)
}

fn messages_on(conn: &Connection, query: &MessageQuery) -> Result<Vec<Message>, StoreError> {
    let (sql, params) = list_sql(query);
    let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
    let rows = statement.query_map(rusqlite::params_from_iter(params.iter()), message_from_row).map_err(classify)?;
    let mut messages = rows.collect::<Result<Vec<_>, _>>().map_err(classify)?;
    if query.before.is_some() && query.after.is_none() {
        messages.reverse();
    }
    Ok(messages)
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

/// Creates the data directory (owner-only) and the database file (owner-only) if missing: the file holds
/// password hashes and the token secret.
fn prepare_file(path: &Path) -> Result<(), StoreError> {
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

fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
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
    let conn = connect(from, READ_BUSY_TIMEOUT)?;
    let target = to.to_str().ok_or_else(|| anyhow!("the backup path {} is not UTF-8", to.display()))?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(classify)?;
    drop(conn);
    let file = std::fs::File::open(to).with_context(|| format!("opening {}", to.display()))?;
    file.sync_all().with_context(|| format!("syncing {}", to.display()))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
}

/// Brings the file to [`SCHEMA_VERSION`], one migration per transaction. The version is read inside each
/// write transaction, so several processes opening a fresh file at once migrate it exactly once.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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
fn classify(e: rusqlite::Error) -> StoreError {
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

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

fn run_writer(mut conn: Connection, commands: mpsc::Receiver<Command>, mut ids: MessageIds) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = commands.recv() {
        let mut close = None;
        match first {
            Command::Write(job) => batch.push(job),
            Command::Close(done) => close = Some(done),
        }
        while close.is_none() && batch.len() < MAX_BATCH {
            match commands.try_recv() {
                Ok(Command::Write(job)) => batch.push(job),
                Ok(Command::Close(done)) => close = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, &mut ids, batch.drain(..));
        }
        if let Some(done) = close {
            // Fold the WAL back into the main file so the directory is one self-contained file at rest.
            if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
                tracing::warn!(error = %e, "SQLite checkpoint at shutdown failed");
            }
            let _ = done.send(());
            return;
        }
    }
}

fn commit_batch(conn: &mut Connection, ids: &mut MessageIds, jobs: impl Iterator<Item = Box<dyn WriteJob>>) {
    let jobs: Vec<_> = jobs.collect();
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let reason = classify(e).to_string();
        tracing::error!(error = %reason, writes = jobs.len(), "SQLite write transaction could not start");
        for job in jobs {
            job.abandon(reason.clone());
        }
        return;
    }
    // Another process may have written since our last batch; stay ahead of its ids.
    match conn.query_row("SELECT id FROM messages ORDER BY id DESC LIMIT 1", [], |r| r.get::<_, String>(0)) {
        Ok(last) => {
            if let Ok(last) = Uuid::parse_str(&last) {
                ids.observe(last);
            }
        }
        Err(rusqlite::Error::QueryReturnedNoRows) => {}
        Err(e) => tracing::warn!(error = %e, "reading the newest message id failed"),
    }
    let mut completions = Vec::with_capacity(jobs.len());
    for job in jobs {
        let savepoint = conn.execute_batch("SAVEPOINT job");
        let (ok, complete) = job.run(conn, ids);
        if savepoint.is_ok() {
            let end = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            if let Err(e) = conn.execute_batch(end) {
                tracing::error!(error = %e, "SQLite savepoint failed");
            }
        }
        completions.push(complete);
    }
    let outcome = conn.execute_batch("COMMIT").map_err(|e| {
        let reason = classify(e).to_string();
        tracing::error!(error = %reason, writes = completions.len(), "SQLite commit failed; nothing was stored");
        let _ = conn.execute_batch("ROLLBACK");
        reason
    });
    for complete in completions {
        complete(outcome.clone());
    }
}

const USER_COLUMNS: &str =
    "id, email, password_hash, token_version, created_at, last_login_at, registration_key, role, status";

/// The account's columns and, in the same statement, its ended sessions: one lookup per request.
const USER_WITH_SESSIONS: &str = "id, email, password_hash, token_version, created_at, last_login_at, \
    registration_key, role, status, \
    (SELECT group_concat(session_id) FROM revoked_sessions WHERE user_id = users.id)";

/// [`USER_WITH_SESSIONS`] for a join that names the users table `u`.
const U_WITH_SESSIONS: &str = "u.id, u.email, u.password_hash, u.token_version, u.created_at, u.last_login_at, \
    u.registration_key, u.role, u.status, \
    (SELECT group_concat(session_id) FROM revoked_sessions WHERE user_id = u.id)";

const TOKEN_COLUMNS: &str = "t.id, t.user_id, t.name, t.digest, t.scopes, t.created_at, t.expires_at, t.last_used_at";

fn token_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<AccessToken> {
    let scopes: String = row.get(at + 4)?;
    Ok(AccessToken {
        id: parse_uuid(row, at)?,
        user_id: parse_uuid(row, at + 1)?,
        name: row.get(at + 2)?,
        digest: row.get(at + 3)?,
        scopes: scopes.split(',').filter_map(Scope::parse).collect(),
        created_at: from_millis(row.get(at + 5)?),
        expires_at: row.get::<_, Option<i64>>(at + 6)?.map(from_millis),
        last_used_at: row.get::<_, Option<i64>>(at + 7)?.map(from_millis),
    })
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let sessions: Option<String> = if row.as_ref().column_count() > 9 { row.get(9)? } else { None };
    Ok(User {
        id: parse_uuid(row, 0)?,
        email: Email::from_stored(row.get(1)?),
        password_hash: row.get(2)?,
        token_version: row.get(3)?,
        created_at: from_millis(row.get(4)?),
        last_login_at: row.get::<_, Option<i64>>(5)?.map(from_millis),
        registration_key: row.get(6)?,
        role: Role::parse(&row.get::<_, String>(7)?).unwrap_or_default(),
        status: AccountStatus::parse(&row.get::<_, String>(8)?).unwrap_or_default(),
        revoked_sessions: sessions
            .as_deref()
            .map(|list| list.split(',').filter_map(|id| Uuid::parse_str(id).ok()).collect())
            .unwrap_or_default(),
    })
}

const MESSAGE_COLUMNS: &str = "id, sender_id, sender_email, recipient_id, recipient_email, content";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let id = parse_uuid(row, 0)?;
    Ok(Message {
        id,
        from: Party { id: parse_uuid(row, 1)?, email: Email::from_stored(row.get(2)?) },
        to: Party { id: parse_uuid(row, 3)?, email: Email::from_stored(row.get(4)?) },
        content: MessageContent::from_stored(row.get(5)?),
        created_at: message_time(id),
    })
}

/// Parses a stored id in place, without copying the text out of SQLite.
fn parse_uuid(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let invalid = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e)
    };
    let text = row.get_ref(index)?.as_bytes().map_err(|e| invalid(Box::new(e)))?;
    Uuid::try_parse_ascii(text).map_err(|e| invalid(Box::new(e)))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(classify)).await
    }

    async fn token_secret_or_insert(&self, candidate: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        // Read first: a start-up that finds the secret writes nothing (and works on a read-only file).
        let stored = self
            .read(|conn| {
                conn.query_row("SELECT value FROM settings WHERE key = 'token_secret'", [], |r| r.get(0))
                    .optional()
                    .map_err(classify)
            })
            .await?;
        if let Some(secret) = stored {
            return Ok(secret);
        }
        self.write(move |conn, _| {
            conn.execute("INSERT OR IGNORE INTO settings (key, value) VALUES ('token_secret', ?1)", [&candidate])
                .map_err(classify)?;
            conn.query_row("SELECT value FROM settings WHERE key = 'token_secret'", [], |r| r.get(0)).map_err(classify)
        })
        .await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.write(move |conn, _| {
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO users (id, email, password_hash, token_version, created_at, registration_key, role) \
                     VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
                )
                .map_err(classify)?;
            match insert.execute(params![
                user.id.to_string(),
                user.email.as_str(),
                user.password_hash,
                to_millis(user.created_at),
                user.registration_key,
                user.role.as_str(),
            ]) {
                Ok(_) => Ok(user.into_user()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::EmailTaken),
                Err(e) => Err(classify(e)),
            }
        })
        .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.read(|conn| user_by_email_on(conn, email)).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        self.read(move |conn| user_on(conn, id)).await
    }

    async fn update_password(&self, id: Uuid, current_hash: &str, new_hash: String) -> Result<User, StoreError> {
        let current_hash = current_hash.to_owned();
        self.write(move |conn, _| {
            let sql = format!(
                "UPDATE users SET password_hash = ?3, token_version = token_version + 1 \
                 WHERE id = ?1 AND password_hash = ?2 RETURNING {USER_COLUMNS}"
            );
            let mut update = conn.prepare_cached(&sql).map_err(classify)?;
            let user = update
                .query_row(params![id.to_string(), current_hash, new_hash], user_from_row)
                .optional()
                .map_err(classify)?
                .ok_or(StoreError::NotFound)?;
            log_revocation(conn, id)?;
            Ok(user)
        })
        .await
        .inspect(|_| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn revoke_tokens(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let mut update = conn
                .prepare_cached("UPDATE users SET token_version = token_version + 1 WHERE id = ?1")
                .map_err(classify)?;
            match update.execute([id.to_string()]).map_err(classify)? {
                0 => Err(StoreError::NotFound),
                _ => log_revocation(conn, id),
            }
        })
        .await
        .inspect(|()| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn revoke_session(&self, id: Uuid, session: Uuid, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let exists: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")
                .and_then(|mut q| q.query_row([id.to_string()], |r| r.get(0)))
                .map_err(classify)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            let now = to_millis(now_millis());
            conn.prepare_cached("DELETE FROM revoked_sessions WHERE expires_at < ?1")
                .and_then(|mut q| q.execute([now]))
                .map_err(classify)?;
            conn.prepare_cached(
                "INSERT OR IGNORE INTO revoked_sessions (user_id, session_id, expires_at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut q| q.execute(params![id.to_string(), session.to_string(), to_millis(expires_at)]))
            .map_err(classify)?;
            log_revocation(conn, id)
        })
        .await
        .inspect(|()| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn record_login(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            conn.prepare_cached("UPDATE users SET last_login_at = ?2 WHERE id = ?1")
                .and_then(|mut q| q.execute(params![id.to_string(), to_millis(at)]))
                .map_err(classify)
                .map(drop)
        })
        .await
    }

    async fn reissue_password(
        &self,
        id: Uuid,
        registration_key: &str,
        current_hash: &str,
        created_after: OffsetDateTime,
        new_hash: String,
    ) -> Result<User, StoreError> {
        let (key, current) = (registration_key.to_owned(), current_hash.to_owned());
        self.write(move |conn, _| {
            let sql = format!(
                "UPDATE users SET password_hash = ?3, token_version = token_version + 1 \
                 WHERE id = ?1 AND registration_key = ?2 AND created_at > ?4 AND last_login_at IS NULL \
                 AND password_hash = ?5 RETURNING {USER_COLUMNS}"
            );
            let mut update = conn.prepare_cached(&sql).map_err(classify)?;
            update
                .query_row(params![id.to_string(), key, new_hash, to_millis(created_after), current], user_from_row)
                .optional()
                .map_err(classify)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let query = query.clone();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE (?1 IS NULL OR id > ?1) AND (?2 IS NULL OR status = ?2) \
                 AND (?3 IS NULL OR substr(email, 1, length(?3)) = ?3) ORDER BY id LIMIT ?4"
            );
            let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
            let rows = statement
                .query_map(
                    params![
                        query.after.map(|a| a.to_string()),
                        query.status.map(AccountStatus::as_str),
                        query.email_prefix,
                        query.limit as i64
                    ],
                    user_from_row,
                )
                .map_err(classify)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(classify)
        })
        .await
    }

    async fn count_active_admins(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active'")
                .and_then(|mut q| q.query_row([], |r| r.get::<_, i64>(0)))
                .map(|n| n as u64)
                .map_err(classify)
        })
        .await
    }

    async fn set_role(&self, id: Uuid, role: Role) -> Result<User, StoreError> {
        self.write(move |conn, _| {
            let sql = format!("UPDATE users SET role = ?2 WHERE id = ?1 RETURNING {USER_COLUMNS}");
            conn.prepare_cached(&sql)
                .and_then(|mut q| q.query_row(params![id.to_string(), role.as_str()], user_from_row).optional())
                .map_err(classify)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn set_status(&self, id: Uuid, status: AccountStatus) -> Result<User, StoreError> {
        let deactivate = status == AccountStatus::Deactivated;
        let user = self
            .write(move |conn, _| {
                // Deactivation ends every session and deletes every access token: nothing of the account
                // works, on any instance, until it is activated again (and logged into anew).
                let bump = if deactivate { ", token_version = token_version + 1" } else { "" };
                let sql = format!("UPDATE users SET status = ?2{bump} WHERE id = ?1 RETURNING {USER_COLUMNS}");
                let user = conn
                    .prepare_cached(&sql)
                    .and_then(|mut q| q.query_row(params![id.to_string(), status.as_str()], user_from_row).optional())
                    .map_err(classify)?
                    .ok_or(StoreError::NotFound)?;
                if deactivate {
                    conn.prepare_cached("DELETE FROM access_tokens WHERE user_id = ?1")
                        .and_then(|mut q| q.execute([id.to_string()]))
                        .map_err(classify)?;
                    log_revocation(conn, id)?;
                }
                Ok(user)
            })
            .await?;
        if deactivate {
            self.feed.publish(Change::Revoked(id), "local");
        }
        Ok(user)
    }

    async fn reset_password(&self, id: Uuid, new_hash: String) -> Result<User, StoreError> {
        self.write(move |conn, _| {
            let sql = format!(
                "UPDATE users SET password_hash = ?2, token_version = token_version + 1 WHERE id = ?1 \
                 RETURNING {USER_COLUMNS}"
            );
            let user = conn
                .prepare_cached(&sql)
                .and_then(|mut q| q.query_row(params![id.to_string(), new_hash], user_from_row).optional())
                .map_err(classify)?
                .ok_or(StoreError::NotFound)?;
            log_revocation(conn, id)?;
            Ok(user)
        })
        .await
        .inspect(|_| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn delete_user(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let id_text = id.to_string();
            let deleted = conn
                .prepare_cached("DELETE FROM users WHERE id = ?1")
                .and_then(|mut q| q.execute([&id_text]))
                .map_err(classify)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            for sql in [
                "DELETE FROM messages WHERE sender_id = ?1",
                "DELETE FROM messages WHERE recipient_id = ?1",
                "DELETE FROM access_tokens WHERE user_id = ?1",
                "DELETE FROM revoked_sessions WHERE user_id = ?1",
            ] {
                conn.prepare_cached(sql).and_then(|mut q| q.execute([&id_text])).map_err(classify)?;
            }
            log_revocation(conn, id)
        })
        .await
        .inspect(|()| self.feed.publish(Change::Revoked(id), "local"))
    }

    async fn unlock(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn, _| log_event(conn, id, "unlocked"))
            .await
            .inspect(|()| self.feed.publish(Change::Unlocked(id), "local"))
    }

    async fn create_access_token(&self, token: AccessToken) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let exists: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")
                .and_then(|mut q| q.query_row([token.user_id.to_string()], |r| r.get(0)))
                .map_err(classify)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO access_tokens (id, user_id, name, digest, scopes, created_at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut q| {
                    q.execute(params![
                        token.id.to_string(),
                        token.user_id.to_string(),
                        token.name,
                        token.digest,
                        scopes.join(","),
                        to_millis(token.created_at),
                        token.expires_at.map(to_millis),
                    ])
                });
            match inserted {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::NameTaken),
                Err(e) => Err(classify(e)),
            }
        })
        .await
    }

    async fn access_tokens(&self, user: Uuid) -> Result<Vec<AccessToken>, StoreError> {
        self.read(move |conn| {
            let sql =
                format!("SELECT {TOKEN_COLUMNS} FROM access_tokens t WHERE t.user_id = ?1 ORDER BY t.created_at, t.id");
            let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
            let rows = statement.query_map([user.to_string()], |r| token_from_row(r, 0)).map_err(classify)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(classify)
        })
        .await
    }

    async fn user_by_access_token(&self, digest: &str) -> Result<Option<(User, AccessToken)>, StoreError> {
        let digest = digest.to_owned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {U_WITH_SESSIONS}, {TOKEN_COLUMNS} FROM access_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.digest = ?1"
            );
            let mut statement = conn.prepare_cached(&sql).map_err(classify)?;
            statement
                .query_row([digest], |row| Ok((user_from_row(row)?, token_from_row(row, 10)?)))
                .optional()
                .map_err(classify)
        })
        .await
    }

    async fn revoke_access_token(&self, user: Uuid, token: Uuid) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let deleted = conn
                .prepare_cached("DELETE FROM access_tokens WHERE user_id = ?1 AND id = ?2")
                .and_then(|mut q| q.execute([user.to_string(), token.to_string()]))
                .map_err(classify)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            log_revocation(conn, user)
        })
        .await
        .inspect(|()| self.feed.publish(Change::Revoked(user), "local"))
    }

    async fn touch_access_token(&self, user: Uuid, token: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            conn.prepare_cached("UPDATE access_tokens SET last_used_at = ?3 WHERE user_id = ?1 AND id = ?2")
                .and_then(|mut q| q.execute(params![user.to_string(), token.to_string(), to_millis(at)]))
                .map_err(classify)
                .map(drop)
        })
        .await
    }

    async fn insert_message(&self, message: NewMessage) -> Result<Inserted, StoreError> {
        let inserted = self
            .write(move |conn, ids| {
                if let Some(idempotency) = &message.idempotency {
                    if let Some(earlier) = earlier_with_key(conn, message.from.id, idempotency)? {
                        return earlier;
                    }
                }
                let id = ids.next_id();
                let created_at = message_time(id);
                let mut insert = conn
                    .prepare_cached(&format!(
                        "INSERT INTO messages ({MESSAGE_COLUMNS}, created_at, idempotency_key, request_hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                    ))
                    .map_err(classify)?;
                insert
                    .execute(params![
                        id.to_string(),
                        message.from.id.to_string(),
                        message.from.email.as_str(),
                        message.to.id.to_string(),
                        message.to.email.as_str(),
                        message.content.as_str(),
                        to_millis(created_at),
                        message.idempotency.as_ref().map(|i| i.key.as_str()),
                        message.idempotency.as_ref().map(|i| i.fingerprint.as_str()),
                    ])
                    .map_err(classify)?;
                Ok(Inserted::Created(Message {
                    id,
                    from: message.from,
                    to: message.to,
                    content: message.content,
                    created_at,
                }))
            })
            .await?;
        if let Inserted::Created(message) = &inserted {
            self.feed.publish(Change::Mailbox(message.to.id), "local");
        }
        Ok(inserted)
    }

    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<Message>, StoreError> {
        self.read(|conn| messages_on(conn, query)).await
    }

    async fn user_and_messages(
        &self,
        user: Uuid,
        query: &MessageQuery,
    ) -> Result<(Option<User>, Vec<Message>), StoreError> {
        self.read(|conn| {
            let _read = ReadTransaction::begin(conn)?;
            let Some(found) = user_on(conn, user)? else {
                return Ok((None, Vec::new()));
            };
            Ok((Some(found), messages_on(conn, query)?))
        })
        .await
    }

    async fn user_and_recipient(&self, user: Uuid, email: &Email) -> Result<(Option<User>, Option<User>), StoreError> {
        self.read(|conn| {
            let _read = ReadTransaction::begin(conn)?;
            Ok((user_on(conn, user)?, user_by_email_on(conn, email)?))
        })
        .await
    }

    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.feed.subscribe()
    }

    fn feed_mode(&self) -> FeedMode {
        self.feed.mode()
    }

    async fn snapshot(&self) -> Result<RecordStream, StoreError> {
        use futures::StreamExt;
        let conn = connect(&self.path, READ_BUSY_TIMEOUT)?;
        let (sender, records) = tokio::sync::mpsc::channel(SNAPSHOT_BUFFER);
        std::thread::Builder::new()
            .name("sqlite-snapshot".into())
            .spawn(move || {
                // A reader gone (the stream dropped) ends the walk at the next record.
                if let Err(e) = read_snapshot(&conn, &sender) {
                    let _ = sender.blocking_send(Err(e));
                }
            })
            .context("starting the SQLite snapshot thread")?;
        Ok(tokio_stream::wrappers::ReceiverStream::new(records).boxed())
    }

    async fn apply(&self, records: Vec<Record>, mode: ApplyMode) -> Result<u64, StoreError> {
        self.write(move |conn, ids| {
            let mut changed = 0;
            for record in &records {
                changed += apply_record(conn, ids, record, mode)?;
            }
            Ok(changed)
        })
        .await
    }

    async fn inventory(&self) -> Result<Inventory, StoreError> {
        self.read(|conn| {
            let count = |table: &str| -> Result<u64, StoreError> {
                conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
                    .map(|n| n as u64)
                    .map_err(classify)
            };
            let newest: Option<String> =
                conn.query_row("SELECT max(id) FROM messages", [], |r| r.get(0)).map_err(classify)?;
            Ok(Inventory {
                users: count("users")?,
                access_tokens: count("access_tokens")?,
                messages: count("messages")?,
                newest_message: newest.as_deref().map(Uuid::parse_str).transpose().map_err(|e| anyhow!(e))?,
            })
        })
        .await
    }

    async fn stored_messages(&self, ids: Vec<Uuid>) -> Result<std::collections::HashSet<Uuid>, StoreError> {
        self.read(move |conn| {
            let mut found = std::collections::HashSet::new();
            for chunk in ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(",");
                let mut query =
                    conn.prepare(&format!("SELECT id FROM messages WHERE id IN ({marks})")).map_err(classify)?;
                let texts: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
                let rows = query
                    .query_map(rusqlite::params_from_iter(texts.iter()), |r| parse_uuid(r, 0))
                    .map_err(classify)?;
                for id in rows {
                    found.insert(id.map_err(classify)?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.query_row("SELECT value FROM settings WHERE key = ?1", [&key], |r| r.get(0))
                .optional()
                .map_err(classify)
        })
        .await
    }

    async fn put_setting(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(classify)
        })
        .await
    }

    async fn close(&self) {
        // The watcher's connection goes first, so the final checkpoint has no reader in its way.
        self.watching.store(false, Ordering::Relaxed);
        let watcher = self.watcher.lock().expect("watcher handle").take();
        if let Some(watcher) = watcher {
            let _ = tokio::task::spawn_blocking(move || watcher.join()).await;
        }
        let (done, closed) = oneshot::channel();
        if self.writer.send(Command::Close(done)).is_ok() {
            let _ = closed.await;
        }
        self.idle_readers.lock().expect("reader pool lock").clear();
    }
}

/// Records buffered between the snapshot thread and its reader.
const SNAPSHOT_BUFFER: usize = 1024;

/// Walks the whole database in one read transaction (one snapshot), sending each record.
fn read_snapshot(
    conn: &Connection,
    sender: &tokio::sync::mpsc::Sender<Result<Record, StoreError>>,
) -> Result<(), StoreError> {
    // Every statement below reads the snapshot this transaction starts with.
    conn.execute_batch("BEGIN").map_err(classify)?;
    let send = |record: Record| sender.blocking_send(Ok(record)).is_ok();
    let mut settings = conn.prepare("SELECT key, value FROM settings ORDER BY key").map_err(classify)?;
    let mut rows = settings.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        let key: String = row.get(0).map_err(classify)?;
        if MOVED_SETTINGS.contains(&key.as_str())
            && !send(Record::Setting { key, value: row.get(1).map_err(classify)? })
        {
            return Ok(());
        }
    }
    let mut sessions = conn
        .prepare("SELECT session_id, expires_at FROM revoked_sessions WHERE user_id = ?1 ORDER BY session_id")
        .map_err(classify)?;
    let mut users = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id")).map_err(classify)?;
    let mut rows = users.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        let user = user_from_row(row).map_err(classify)?;
        let ended = sessions
            .query_map([user.id.to_string()], |r| Ok((parse_uuid(r, 0)?, from_millis(r.get(1)?))))
            .map_err(classify)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(classify)?;
        if !send(Record::User(UserRecord { user, sessions: ended })) {
            return Ok(());
        }
    }
    let mut tokens = conn
        .prepare(&format!("SELECT {TOKEN_COLUMNS} FROM access_tokens t ORDER BY t.user_id, t.id"))
        .map_err(classify)?;
    let mut rows = tokens.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        if !send(Record::AccessToken(token_from_row(row, 0).map_err(classify)?)) {
            return Ok(());
        }
    }
    let mut messages = conn
        .prepare(&format!("SELECT {MESSAGE_COLUMNS}, idempotency_key, request_hash FROM messages ORDER BY id"))
        .map_err(classify)?;
    let mut rows = messages.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        let message = message_from_row(row).map_err(classify)?;
        let key: Option<String> = row.get(6).map_err(classify)?;
        let fingerprint: Option<String> = row.get(7).map_err(classify)?;
        let idempotency = key.map(|key| Idempotency { key, fingerprint: fingerprint.unwrap_or_default() });
        if !send(Record::Message(MessageRecord { message, idempotency })) {
            return Ok(());
        }
    }
    drop(rows);
    conn.execute_batch("COMMIT").map_err(classify)
}

/// Writes one record inside a write transaction; returns 1 if it changed the store.
fn apply_record(conn: &Connection, ids: &mut MessageIds, record: &Record, mode: ApplyMode) -> Result<u64, StoreError> {
    let replace = mode == ApplyMode::Replace;
    let changed = match record {
        Record::Setting { key, value } => {
            let sql = if replace {
                "INSERT INTO settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value"
            } else {
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING"
            };
            conn.prepare_cached(sql).and_then(|mut q| q.execute(params![key, value])).map_err(classify)?
        }
        Record::User(UserRecord { user, sessions }) => {
            let on_conflict = if replace {
                "DO UPDATE SET email = excluded.email, password_hash = excluded.password_hash, \
                 token_version = excluded.token_version, created_at = excluded.created_at, \
                 last_login_at = excluded.last_login_at, registration_key = excluded.registration_key, \
                 role = excluded.role, status = excluded.status \
                 WHERE (email, password_hash, token_version, created_at, last_login_at, registration_key, role, status) \
                 IS NOT (excluded.email, excluded.password_hash, excluded.token_version, excluded.created_at, \
                 excluded.last_login_at, excluded.registration_key, excluded.role, excluded.status)"
            } else {
                "DO NOTHING"
            };
            let id = user.id.to_string();
            let row = conn
                .prepare_cached(&format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                     ON CONFLICT (id) {on_conflict}"
                ))
                .and_then(|mut q| {
                    q.execute(params![
                        id,
                        user.email.as_str(),
                        user.password_hash,
                        user.token_version,
                        to_millis(user.created_at),
                        user.last_login_at.map(to_millis),
                        user.registration_key,
                        user.role.as_str(),
                        user.status.as_str(),
                    ])
                })
                .map_err(|e| if is_unique_violation(&e) { StoreError::EmailTaken } else { classify(e) })?;
            // The ended sessions follow the account: all of them when it was written now, or replaced
            // when they differ.
            let stored: Vec<(Uuid, OffsetDateTime)> = conn
                .prepare_cached(
                    "SELECT session_id, expires_at FROM revoked_sessions WHERE user_id = ?1 ORDER BY session_id",
                )
                .and_then(|mut q| q.query_map([&id], |r| Ok((parse_uuid(r, 0)?, from_millis(r.get(1)?))))?.collect())
                .map_err(classify)?;
            let mut wanted = sessions.clone();
            wanted.sort();
            let sessions_changed = stored != wanted && (row == 1 || replace);
            if sessions_changed {
                conn.prepare_cached("DELETE FROM revoked_sessions WHERE user_id = ?1")
                    .and_then(|mut q| q.execute([&id]))
                    .map_err(classify)?;
                for (session, expires_at) in &wanted {
                    conn.prepare_cached(
                        "INSERT INTO revoked_sessions (user_id, session_id, expires_at) VALUES (?1, ?2, ?3)",
                    )
                    .and_then(|mut q| q.execute(params![id, session.to_string(), to_millis(*expires_at)]))
                    .map_err(classify)?;
                }
            }
            usize::from(row == 1 || sessions_changed)
        }
        Record::AccessToken(token) => {
            let on_conflict = if replace {
                "DO UPDATE SET user_id = excluded.user_id, name = excluded.name, digest = excluded.digest, \
                 scopes = excluded.scopes, created_at = excluded.created_at, expires_at = excluded.expires_at, \
                 last_used_at = excluded.last_used_at \
                 WHERE (user_id, name, digest, scopes, created_at, expires_at, last_used_at) \
                 IS NOT (excluded.user_id, excluded.name, excluded.digest, excluded.scopes, excluded.created_at, \
                 excluded.expires_at, excluded.last_used_at)"
            } else {
                "DO NOTHING"
            };
            let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
            conn.prepare_cached(&format!(
                "INSERT INTO access_tokens (id, user_id, name, digest, scopes, created_at, expires_at, last_used_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) {on_conflict}"
            ))
            .and_then(|mut q| {
                q.execute(params![
                    token.id.to_string(),
                    token.user_id.to_string(),
                    token.name,
                    token.digest,
                    scopes.join(","),
                    to_millis(token.created_at),
                    token.expires_at.map(to_millis),
                    token.last_used_at.map(to_millis),
                ])
            })
            .map_err(|e| if is_unique_violation(&e) { StoreError::NameTaken } else { classify(e) })?
        }
        Record::Message(MessageRecord { message, idempotency }) => {
            ids.observe(message.id);
            conn.prepare_cached(&format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}, created_at, idempotency_key, request_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING"
            ))
            .and_then(|mut q| {
                q.execute(params![
                    message.id.to_string(),
                    message.from.id.to_string(),
                    message.from.email.as_str(),
                    message.to.id.to_string(),
                    message.to.email.as_str(),
                    message.content.as_str(),
                    to_millis(message_time(message.id)),
                    idempotency.as_ref().map(|i| i.key.as_str()),
                    idempotency.as_ref().map(|i| i.fingerprint.as_str()),
                ])
            })
            .map_err(|e| if is_unique_violation(&e) { StoreError::IdempotencyKeyReused } else { classify(e) })?
        }
    };
    Ok(changed as u64)
}

/// Inside a write transaction: records that `user`'s tokens were revoked, for the other processes' streams,
/// and forgets revocations older than [`REVOCATION_LOG_KEEP`].
fn log_revocation(conn: &Connection, user: Uuid) -> Result<(), StoreError> {
    log_event(conn, user, "revoked")
}

/// Inside a write transaction: records a `kind` event (`revoked`, `unlocked`) about `user` for the other
/// processes, and forgets events older than [`REVOCATION_LOG_KEEP`].
fn log_event(conn: &Connection, user: Uuid, kind: &str) -> Result<(), StoreError> {
    let now = to_millis(now_millis());
    let mut insert =
        conn.prepare_cached("INSERT INTO revocations (user_id, at, kind) VALUES (?1, ?2, ?3)").map_err(classify)?;
    insert.execute(params![user.to_string(), now, kind]).map_err(classify)?;
    let mut prune = conn.prepare_cached("DELETE FROM revocations WHERE at < ?1").map_err(classify)?;
    prune.execute([now - REVOCATION_LOG_KEEP.as_millis() as i64]).map_err(classify)?;
    Ok(())
}

/// How far the watcher has read: the largest message id and revocation number seen.
struct Watermark {
    message: Option<String>,
    revocation: i64,
}

impl Watermark {
    fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let message = conn.query_row("SELECT max(id) FROM messages", [], |r| r.get(0))?;
        let revocation = conn.query_row("SELECT coalesce(max(seq), 0) FROM revocations", [], |r| r.get(0))?;
        Ok(Self { message, revocation })
    }
}

/// Feeds every commit to the file — this process's and other processes' — to the change feed, in commit
/// order: message ids and revocation numbers only grow with commits, so "greater than the last seen" finds
/// exactly what is new. Duplicates of this process's own changes are harmless (a change is a hint).
fn run_watcher(conn: Connection, mut seen: Watermark, feed: &Feed, watching: &AtomicBool) {
    let mut version: Option<i64> = None;
    let mut failing = false;
    while watching.load(Ordering::Relaxed) {
        std::thread::sleep(WATCH_INTERVAL);
        let outcome = (|| -> rusqlite::Result<()> {
            let now: i64 = conn.pragma_query_value(None, "data_version", |r| r.get(0))?;
            if version == Some(now) {
                return Ok(());
            }
            let mut messages = conn.prepare_cached(
                "SELECT id, recipient_id FROM messages WHERE id > coalesce(?1, '') ORDER BY id LIMIT 1000",
            )?;
            loop {
                let rows: Vec<(String, String)> = messages
                    .query_map([seen.message.as_deref()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                for (_, recipient) in &rows {
                    if let Ok(recipient) = Uuid::parse_str(recipient) {
                        feed.publish(Change::Mailbox(recipient), "database");
                    }
                }
                match rows.last() {
                    Some((id, _)) => seen.message = Some(id.clone()),
                    None => break,
                }
                if rows.len() < 1000 {
                    break;
                }
            }
            let mut revocations =
                conn.prepare_cached("SELECT seq, user_id, kind FROM revocations WHERE seq > ?1 ORDER BY seq")?;
            let rows: Vec<(i64, String, String)> = revocations
                .query_map([seen.revocation], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            for (seq, user, kind) in rows {
                if let Ok(user) = Uuid::parse_str(&user) {
                    let change = if kind == "unlocked" { Change::Unlocked(user) } else { Change::Revoked(user) };
                    feed.publish(change, "database");
                }
                seen.revocation = seq;
            }
            version = Some(now);
            Ok(())
        })();
        match outcome {
            Ok(()) if failing => {
                // Whatever happened while failing is covered by telling everyone to look again.
                failing = false;
                feed.publish(Change::Resync, "database");
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "watching the SQLite file for other processes' changes failed; retrying");
                }
                failing = true;
            }
        }
    }
}

/// Inside the write transaction: the answer for a key the sender already used — the earlier message for
/// the same request, a conflict for another — or `None` when the key is free (an expired key is released).
fn earlier_with_key(
    conn: &Connection,
    sender: Uuid,
    idempotency: &Idempotency,
) -> Result<Option<Result<Inserted, StoreError>>, StoreError> {
    let sql =
        format!("SELECT {MESSAGE_COLUMNS}, request_hash FROM messages WHERE sender_id = ?1 AND idempotency_key = ?2");
    let mut find = conn.prepare_cached(&sql).map_err(classify)?;
    let earlier = find
        .query_row(params![sender.to_string(), idempotency.key], |row| {
            Ok((message_from_row(row)?, row.get::<_, Option<String>>(6)?))
        })
        .optional()
        .map_err(classify)?;
    let Some((message, fingerprint)) = earlier else { return Ok(None) };
    if OffsetDateTime::now_utc() - message.created_at > IDEMPOTENCY_WINDOW {
        conn.execute(
            "UPDATE messages SET idempotency_key = NULL, request_hash = NULL WHERE id = ?1",
            [message.id.to_string()],
        )
        .map_err(classify)?;
        return Ok(None);
    }
    Ok(Some(if fingerprint.as_deref() == Some(idempotency.fingerprint.as_str()) {
        Ok(Inserted::Replayed(message))
    } else {
        Err(StoreError::IdempotencyKeyReused)
    }))
}

/// Builds the listing query: each branch walks an index in id order, so a page costs its size, not the
/// size of the mailbox.
fn list_sql(query: &MessageQuery) -> (String, Vec<String>) {
    let owner = query.owner.to_string();
    let mut params = vec![owner];
    let mut cursor = String::new();
    if let Some(after) = query.after {
        params.push(after.to_string());
        cursor.push_str(&format!(" AND id > ?{}", params.len()));
    }
    if let Some(before) = query.before {
        params.push(before.to_string());
        cursor.push_str(&format!(" AND id < ?{}", params.len()));
    }
    // Without `after`, a `before` page is the newest messages before the cursor: walk backwards.
    let order = if query.before.is_some() && query.after.is_none() { "DESC" } else { "ASC" };
    let sql = match query.mailbox {
        Mailbox::Inbox => format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = ?1{cursor} ORDER BY id {order} LIMIT {}",
            query.limit
        ),
        Mailbox::Sent => format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = ?1{cursor} ORDER BY id {order} LIMIT {}",
            query.limit
        ),
        Mailbox::From(other) | Mailbox::To(other) => {
            params.push(other.to_string());
            let other = params.len();
            let (recipient, sender) = match query.mailbox {
                Mailbox::From(_) => (1, other),
                _ => (other, 1),
            };
            format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = ?{recipient} AND sender_id = ?{sender}{cursor} \
                 ORDER BY id {order} LIMIT {}",
                query.limit
            )
        }
        Mailbox::With(other) => {
            params.push(other.to_string());
            let other = params.len();
            format!(
                "SELECT * FROM (\
                   SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = ?1 AND sender_id = ?{other}{cursor} \
                   UNION ALL \
                   SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE recipient_id = ?{other} AND sender_id = ?1 AND ?1 <> ?{other}{cursor}\
                 ) ORDER BY id {order} LIMIT {}",
                query.limit
            )
        }
    };
    (sql, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MessageContent;

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
        let query = MessageQuery { owner: Uuid::nil(), mailbox: Mailbox::Inbox, after: None, before: None, limit: 10 };
        let listed = store.list_messages(&query).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].content, MessageContent::parse("kept", 10).unwrap());
        let me = Party { id: Uuid::nil(), email: Email::parse("a@b.co").unwrap() };
        let idempotency = Some(Idempotency { key: "k".into(), fingerprint: "f".into() });
        let new = NewMessage { from: me.clone(), to: me, content: listed[0].content.clone(), idempotency };
        assert!(matches!(store.insert_message(new.clone()).await.unwrap(), Inserted::Created(_)));
        assert!(matches!(store.insert_message(new).await.unwrap(), Inserted::Replayed(_)));
        store.close().await;
        let version: i64 =
            Connection::open(&path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
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
