//! The store: opening the file, its writer and watcher threads, and the reader pool.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::feed::{Watermark, run_watcher};
use super::schema::{READ_BUSY_TIMEOUT, classify, closed, connect, migrate, prepare_file};
use super::writer::{Command, Pending, run_writer};
use crate::store::feed::{Feed, FeedMode};
use crate::store::{MessageIds, OpenOptions, StoreError};

/// The SQLite store.
pub struct SqliteStore {
    pub(super) path: PathBuf,
    pub(super) writer: mpsc::Sender<Command>,
    /// Reader connections not in use; at most `pool_size` exist.
    pub(super) idle_readers: Mutex<Vec<Connection>>,
    pub(super) pool_size: usize,
    pub(super) feed: Arc<Feed>,
    /// Tells the watcher thread to stop; its handle, to wait for it at close.
    pub(super) watching: Arc<AtomicBool>,
    pub(super) watcher: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Messages older than this are expired.
    pub(super) retention: Option<std::time::Duration>,
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
            retention: options.retention,
        })
    }

    /// Runs `f` inside the next write transaction; answers after it commits.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &mut MessageIds) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending { work: f, reply });
        self.writer.send(Command::Write(job)).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Runs `f` with a reader connection, on the calling thread (see the module documentation).
    pub(super) async fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
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
