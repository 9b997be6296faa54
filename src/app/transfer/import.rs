//! Loading an export file into a store: every line checked before anything is written.

use std::path::Path;

use uuid::Uuid;

use super::check::{Checked, ImportLimits, Reader, Rules, bad_line, rank};
use super::format::Counts;
use super::support::{BATCH, Kind, Progress, TransferError, store_error};
use crate::store::{ApplyMode, Record, Store};

fn open_file(path: &Path) -> Result<std::io::BufReader<std::fs::File>, TransferError> {
    std::fs::File::open(path)
        .map(|f| std::io::BufReader::with_capacity(1 << 16, f))
        .map_err(|e| TransferError::usage("file_unreadable", format!("cannot read {}: {e}", path.display())))
}

/// Pass one: every line, and (with `merge`) every record against the store. Nothing is written.
async fn check_file(
    path: &Path,
    store: &dyn Store,
    merge: bool,
    newest: Option<Uuid>,
    limits: ImportLimits,
    progress: Progress<'_>,
) -> Result<Checked, TransferError> {
    let mut reader = Reader::open(open_file(path)?, limits)?;
    let mut rules = Rules::default();
    let mut older: Vec<(u64, Uuid)> = Vec::new();
    let bar = progress(None, "lines checked");
    while let Some((number, record)) = reader.next_record()? {
        rules.check(&record).map_err(|problem| bad_line(number, problem))?;
        if merge {
            merge_check(store, number, &record, newest, &mut older).await?;
            if older.len() >= BATCH {
                older_messages_stored(store, std::mem::take(&mut older)).await?;
            }
        }
        bar.inc(1);
    }
    older_messages_stored(store, older).await?;
    bar.finish_and_clear();
    let (counts, _) = reader.ended.expect("a footer ended the file");
    Ok(Checked { counts })
}

/// With `--merge`: a record must either be in the store already or fit in beside what is there.
async fn merge_check(
    store: &dyn Store,
    number: u64,
    record: &Record,
    newest: Option<Uuid>,
    older: &mut Vec<(u64, Uuid)>,
) -> Result<(), TransferError> {
    match record {
        Record::User(u) => {
            if let Some(stored) = store.user_by_id(u.user.id).await.map_err(store_error)? {
                if stored.email != u.user.email {
                    return Err(bad_line(number, format!("account {} is in the store with another email", u.user.id)));
                }
            } else if store.user_by_email(&u.user.email).await.map_err(store_error)?.is_some() {
                return Err(bad_line(number, format!("{} is another account in the store", u.user.email)));
            }
        }
        Record::Message(m) if newest.is_some_and(|n| m.message.id <= n) => older.push((number, m.message.id)),
        _ => {}
    }
    Ok(())
}

/// Messages older than the store's newest must be in it already: a new one there would break the order.
async fn older_messages_stored(store: &dyn Store, older: Vec<(u64, Uuid)>) -> Result<(), TransferError> {
    if older.is_empty() {
        return Ok(());
    }
    let stored = store.stored_messages(older.iter().map(|(_, id)| *id).collect()).await.map_err(store_error)?;
    match older.iter().find(|(_, id)| !stored.contains(id)) {
        Some((number, id)) => Err(bad_line(
            *number,
            format!(
                "message {id} is older than the newest message in the store and not in it: merging it would break the order"
            ),
        )),
        None => Ok(()),
    }
}

/// Writes records from `records` into `target` in batches; returns how many changed it.
pub(super) async fn write_batches(
    target: &dyn Store,
    batch: &mut Vec<Record>,
    record: Option<Record>,
    mode: ApplyMode,
    size: usize,
) -> Result<u64, TransferError> {
    let flush = match &record {
        Some(r) => batch.last().is_some_and(|last| rank(last) != rank(r)) || batch.len() >= size,
        None => true,
    };
    let mut changed = 0;
    if flush && !batch.is_empty() {
        changed = target.apply(std::mem::take(batch), mode).await.map_err(store_error)?;
    }
    if let Some(record) = record {
        batch.push(record);
    }
    Ok(changed)
}

/// What an import did.
pub struct Imported {
    pub counts: Counts,
    pub written: u64,
}

/// Checks all of `path`, then writes it into `store`.
pub async fn import_into(
    store: &dyn Store,
    path: &Path,
    merge: bool,
    size: usize,
    limits: ImportLimits,
    progress: Progress<'_>,
) -> Result<Imported, TransferError> {
    let inventory = store.inventory().await.map_err(store_error)?;
    if !inventory.is_empty() && !merge {
        return Err(TransferError::new(
            Kind::Conflict,
            "store_not_empty",
            format!(
                "the store is not empty ({} accounts, {} messages): import into an empty store, or add --merge to \
                 add only what it lacks",
                inventory.users, inventory.messages
            ),
        ));
    }
    let checked = check_file(path, store, merge, inventory.newest_message, limits, progress).await?;
    let mut reader = Reader::open(open_file(path)?, limits)?;
    let bar = progress(Some(checked.counts.total()), "records imported");
    let mut batch = Vec::new();
    let mut written = 0;
    while let Some((_, record)) = reader.next_record()? {
        written += write_batches(store, &mut batch, Some(record), ApplyMode::Skip, size).await?;
        bar.inc(1);
    }
    written += write_batches(store, &mut batch, None, ApplyMode::Skip, size).await?;
    bar.finish_and_clear();
    Ok(Imported { counts: checked.counts, written })
}
