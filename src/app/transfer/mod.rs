//! Moving data between stores: `msgd export`, `import`, `migrate` and `backup`.
//!
//! One copier over the [`Store`] trait serves every direction: a store's [`Store::snapshot`] streams its
//! records, another's [`Store::apply`] writes them in batches, idempotently. The export file is the same
//! records as JSON lines between a header and a footer that counts them and carries a SHA-256 of them;
//! `migrate` computes the same digest on both sides to verify the copy.
//!
//! This is the use case; `msgd export | import | migrate | backup` ([`crate::msgd`]) are its command line.

mod check;
mod export;
mod format;
mod import;
mod migrate;
mod support;

pub use check::ImportLimits;
pub use export::{Exported, backup_sqlite, export_file, export_to, private_file};
pub use format::{Counts, EndedSession, FORMAT_TYPE, FORMAT_VERSION, Line};
pub use import::{Imported, import_into};
pub use migrate::{Migrated, migrate_between, same_place};
pub use support::{Kind, Progress, TransferError, batch_size, store_error};
