//! The embedded store: one SQLite file, a group-commit writer thread and a pool of reader connections.
//!
//! Writes go to a single thread ([`writer`]) that takes every write waiting, runs them in one `BEGIN IMMEDIATE`
//! transaction (each in its own savepoint, so one failing write does not undo the others) and answers each
//! caller only after `COMMIT` returns with `synchronous=FULL`: every acknowledged write is on disk, and
//! under load one fsync covers many writes. The same thread assigns message ids, so id order is commit
//! order.
//!
//! Other processes may share the file. Ids stay in commit order across them because the writer holds the
//! file's write lock (`BEGIN IMMEDIATE`) while it reads the largest stored id and assigns the next ones,
//! whatever each process's clock says. A watcher thread ([`feed`]) notices their commits (`PRAGMA
//! data_version`, every [`WATCH_INTERVAL`]) and feeds them to the change feed, with this process's own
//! commits.
//!
//! Reads ([`read`]) run right where they are asked for, on the async worker, with a connection from a pool
//! of at most `POOL_SIZE`. They are all short and bounded by an index (a key lookup, or a page of at most
//! 1,001 rows): handing each to another thread cost more than the read itself (measured with `bench/run`:
//! two thread switches per request halved read throughput). WAL lets them proceed during writes, and reader
//! connections give up on a lock after a short busy timeout rather than hold the worker.
//!
//! Files: [`schema`] (migrations, connections, backup), [`open`] (the store and its threads), [`store`]
//! (the `Store` operations), [`rows`] (columns to values), [`transfer`] (snapshot and apply), [`feed`].

mod feed;
mod open;
mod read;
mod rows;
mod schema;
mod store;
mod transfer;
mod writer;

pub use feed::WATCH_INTERVAL;
pub use open::SqliteStore;
pub use schema::backup;
