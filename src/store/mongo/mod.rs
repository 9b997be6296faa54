//! The MongoDB store: plain documents readable with `mongosh`, a unique index on the normalized email,
//! majority-acknowledged journaled writes, and one task per process that writes messages in batches.
//!
//! **Starting without the database.** `open` returns at once; a task connects (retrying every
//! [`CONNECT_RETRY`]), creates the indexes and only then lets operations through. Until then every
//! operation answers [`StoreError::Unavailable`], so msgd serves `503` rather than crash-looping while
//! an orchestrator starts the database beside it.
//!
//! **Ids in commit order, across instances.** Every message records `prev`, the id of the message stored
//! just before it, under a unique index (`chain`); its own id is greater than `prev`. Two writers that
//! both saw the same newest message cannot both store a successor to it: the second gets a duplicate key,
//! reads the new newest message and tries again. So the messages form one chain in which each id is
//! greater than every id committed before it, whatever the writers' clocks say, and a reader that has
//! seen id X will never see a smaller id commit later: walking by id never skips. This works on
//! standalone servers too (no transactions). The cost: one round trip more only when another instance
//! wrote in between (this process remembers its own newest id), and message inserts are serialized
//! across the deployment, one batch at a time.
//!
//! **The change feed.** On a replica set or a sharded cluster, a change stream on the database delivers
//! every message insert and revocation in commit order, resuming after interruptions from its resume
//! token. A standalone server has no change streams: then the feed polls (every [`POLL_INTERVAL`]) for
//! messages with ids above the last seen — exact, since ids grow in commit order — and for recent
//! revocations, stamped with the server's clock.
//!
//! Every operation is bounded by the configured timeout (the driver has no socket timeout, so a paused
//!
//! Files: [`open`] (connecting, indexes), [`parts`] (what the tasks share, bounded operations), [`docs`]
//! (documents to values), [`chain`] (the insert task and the `prev` chain), [`feed`] (change streams or
//! polling), [`store`] (the `Store` operations), [`transfer`] (snapshot and apply).

mod chain;
mod docs;
mod feed;
mod open;
mod parts;
mod store;
mod transfer;

pub use feed::POLL_INTERVAL;
pub use open::{DEFAULT_DATABASE, MongoStore};
pub use parts::CONNECT_RETRY;
