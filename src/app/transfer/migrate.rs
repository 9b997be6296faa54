//! Copying one store into another, resumably, and verifying the copy.

use std::collections::HashSet;
use std::path::Path;

use futures::StreamExt;
use uuid::Uuid;

use super::format::{Counts, Tally, record_line};
use super::import::write_batches;
use super::support::{Kind, MIGRATED_FROM, Progress, STORE_ID, TransferError, store_error};
use crate::store::Location;
use crate::store::{ApplyMode, Record, Store};

/// What a migration did.
pub struct Migrated {
    pub counts: Counts,
    pub sha256: String,
    /// Records written (or deleted) in the target this run; 0: nothing was left to copy.
    pub changed: u64,
}

pub fn same_place(a: &Location, b: &Location) -> bool {
    match (a, b) {
        (Location::Sqlite(a), Location::Sqlite(b)) => {
            let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
            canonical(a) == canonical(b)
        }
        (Location::Mongo(a), Location::Mongo(b)) => a == b,
        _ => false,
    }
}

/// Makes `target` a copy of `source`: resumable (a re-run goes on where an interrupted one stopped),
/// idempotent (a re-run after a complete one changes nothing), verified (counts and digests).
pub async fn migrate_between(
    source: &dyn Store,
    target: &dyn Store,
    size: usize,
    progress: Progress<'_>,
) -> Result<Migrated, TransferError> {
    let source_id = match source.setting(STORE_ID).await.map_err(store_error)? {
        Some(id) => id,
        None => {
            let id = Uuid::new_v4().to_string().into_bytes();
            source.put_setting(STORE_ID, id.clone()).await.map_err(store_error)?;
            id
        }
    };
    let inventory = target.inventory().await.map_err(store_error)?;
    let marker = target.setting(MIGRATED_FROM).await.map_err(store_error)?;
    if !inventory.is_empty() && marker.as_deref() != Some(source_id.as_slice()) {
        return Err(TransferError::new(
            Kind::Conflict,
            "target_not_empty",
            format!(
                "the target holds other data ({} accounts, {} messages) and is not a copy of this store: migrate \
                 into an empty database",
                inventory.users, inventory.messages
            ),
        ));
    }
    // Marked first: an interrupted run leaves a target the next run recognizes as its own.
    target.put_setting(MIGRATED_FROM, source_id).await.map_err(store_error)?;

    let bar = progress(Some(source.inventory().await.map_err(store_error)?.messages), "messages");
    let mut records = source.snapshot().await.map_err(store_error)?;
    let mut tally = Tally::default();
    let mut users = HashSet::new();
    let mut tokens = HashSet::new();
    let mut batch = Vec::new();
    let mut changed = 0;
    while let Some(record) = records.next().await {
        let record = record.map_err(store_error)?;
        tally.add(&record, &record_line(&record));
        match &record {
            Record::User(u) => {
                users.insert(u.user.id);
            }
            Record::AccessToken(t) => {
                tokens.insert((t.user_id, t.id));
            }
            Record::Message(m) => {
                bar.inc(1);
                // The target holds every message up to its newest: copied in id order by an earlier run.
                if inventory.newest_message.is_some_and(|newest| m.message.id <= newest) {
                    continue;
                }
            }
            Record::Setting { .. } => {}
        }
        changed += write_batches(target, &mut batch, Some(record), ApplyMode::Replace, size).await?;
    }
    changed += write_batches(target, &mut batch, None, ApplyMode::Replace, size).await?;
    bar.finish_and_clear();
    let (counts, sha256) = tally.finish();

    // Accounts and tokens gone from the source since an earlier run go from the target too.
    changed += remove_extra(target, &users, &tokens).await?;
    let (target_counts, target_sha) = digest_of(target).await?;
    if (target_counts, &target_sha) != (counts, &sha256) {
        return Err(TransferError::other(
            "verification_failed",
            format!(
                "the copy differs from the source: the source has {counts} (sha256 {sha256}), the target {target_counts} \
                 (sha256 {target_sha}); was msgd serving on the target? If not, drop the target database and migrate again"
            ),
        ));
    }
    Ok(Migrated { counts, sha256, changed })
}

/// Deletes the target's accounts and tokens that `users` and `tokens` (the source's) lack.
async fn remove_extra(
    target: &dyn Store,
    users: &HashSet<Uuid>,
    tokens: &HashSet<(Uuid, Uuid)>,
) -> Result<u64, TransferError> {
    let mut extra_users = Vec::new();
    let mut extra_tokens = Vec::new();
    let mut records = target.snapshot().await.map_err(store_error)?;
    while let Some(record) = records.next().await {
        match record.map_err(store_error)? {
            Record::User(u) if !users.contains(&u.user.id) => extra_users.push(u.user.id),
            Record::AccessToken(t) if !tokens.contains(&(t.user_id, t.id)) && users.contains(&t.user_id) => {
                extra_tokens.push((t.user_id, t.id));
            }
            // Messages come last; only accounts and tokens are of interest.
            Record::Message(_) => break,
            _ => {}
        }
    }
    drop(records);
    let removed = (extra_users.len() + extra_tokens.len()) as u64;
    for (user, token) in extra_tokens {
        target.revoke_access_token(user, token).await.map_err(store_error)?;
    }
    for user in extra_users {
        target.delete_user(user).await.map_err(store_error)?;
    }
    Ok(removed)
}

/// The counts and digest of everything `store` holds, as an export of it would state them.
async fn digest_of(store: &dyn Store) -> Result<(Counts, String), TransferError> {
    let mut records = store.snapshot().await.map_err(store_error)?;
    let mut tally = Tally::default();
    while let Some(record) = records.next().await {
        let record = record.map_err(store_error)?;
        tally.add(&record, &record_line(&record));
    }
    Ok(tally.finish())
}
