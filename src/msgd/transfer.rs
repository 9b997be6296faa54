//! `msgd export | import | migrate | backup`: the command line of [`crate::app::transfer`]; summaries go
//! to stderr, or (with `--json`) as JSON to stdout.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::command::MsgdCommand;
use super::store::{Existing, configured, open_at, open_configured};
use crate::app::transfer::{self, Imported, Kind, Migrated, TransferError};
use crate::config::Config;
use crate::exit::{CliError, Exit};
use crate::store::Location;

impl From<TransferError> for CliError {
    fn from(e: TransferError) -> Self {
        let exit = match e.kind {
            Kind::Usage => Exit::Usage,
            Kind::NotFound => Exit::NotFound,
            Kind::Conflict => Exit::Conflict,
            Kind::Unavailable => Exit::Unavailable,
            Kind::Other => Exit::Other,
        };
        CliError::new(exit, e.code, e.message)
    }
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
pub fn progress(total: Option<u64>, what: &'static str) -> ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{wide_bar}} {{human_pos}}/{{human_len}} {what}, {{eta}} left"
            ))
            .expect("a valid template"),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(&format!("{{spinner}} {{human_pos}} {what}")).expect("a valid template"),
        ),
    };
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// `msgd export [--output FILE]`.
pub async fn export(config: &Config, output: Option<PathBuf>) -> Result<(), CliError> {
    let (store, _) = open_configured(config, Existing::Required).await?;
    let total = store.inventory().await.map_err(transfer::store_error)?;
    let bar = progress(Some(total.users + total.access_tokens + total.messages + 1), "records");
    let result = match &output {
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            transfer::export_to(store.as_ref(), &mut out, &bar).await
        }
        Some(path) => transfer::export_file(store.as_ref(), path, &bar).await,
    };
    bar.finish_and_clear();
    store.close().await;
    let exported = result?;
    let place = output.map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    eprintln!(
        "msgd: exported {} to {place} (sha256 {}); it holds password hashes and the signing secret: keep it like a password",
        exported.counts, exported.sha256
    );
    Ok(())
}

/// `msgd import FILE [--merge]`.
pub async fn import(config: &Config, path: &Path, merge: bool, batch: Option<u64>) -> Result<Imported, CliError> {
    let (store, _) = open_configured(config, Existing::MayCreate).await?;
    let size = transfer::batch_size(store.as_ref(), batch);
    let limits = transfer::ImportLimits {
        max_content_bytes: config.max_message_bytes,
        max_hash_cost: crate::auth::MAX_STORED_COST.max(config.bcrypt_cost),
    };
    let outcome = transfer::import_into(store.as_ref(), path, merge, size, limits, &progress).await;
    store.close().await;
    Ok(outcome?)
}

/// `msgd migrate --to URL`.
pub async fn migrate(config: &Config, to: &str, batch: Option<u64>) -> Result<Migrated, CliError> {
    let from = configured(config)?;
    let to = Location::from_url(Some(to), &config.data_dir).map_err(|e| CliError::usage("invalid_target_url", e))?;
    if transfer::same_place(&from, &to) {
        return Err(CliError::usage("same_store", "--to names the store msgd is configured with: nothing to copy"));
    }
    let (source, _) = open_configured(config, Existing::Required).await?;
    let target = match open_at(&to, config).await {
        Ok(target) => target,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let size = transfer::batch_size(target.as_ref(), batch);
    let outcome = transfer::migrate_between(source.as_ref(), target.as_ref(), size, &progress).await;
    target.close().await;
    source.close().await;
    Ok(outcome?)
}

/// `msgd backup PATH`: a consistent copy of the SQLite store, taken while msgd serves.
pub async fn backup(config: &Config, path: &Path) -> Result<u64, CliError> {
    match configured(config)? {
        Location::Sqlite(database) if !database.exists() => Err(CliError::new(
            Exit::NotFound,
            "store_not_found",
            format!(
                "there is no msgd store at {}: point --data-dir (MSGD_DATA_DIR) at msgd's data directory",
                database.display()
            ),
        )),
        Location::Sqlite(database) => Ok(transfer::backup_sqlite(&database, path).await?),
        Location::Mongo(_) => Err(CliError::usage(
            "backup_unsupported",
            "msgd backup copies the embedded SQLite store; for MongoDB use mongodump (mongodump --uri \"$MONGODB_URL\" \
             --oplog --archive=msgkit.archive for a consistent dump of a replica set) or your provider's snapshots; \
             msgd export works on both",
        )),
    }
}

/// Runs `msgd export | import | migrate | backup`; the summary goes to stderr, or (with `--json`) as JSON
/// to stdout. Returns whether errors should be JSON.
pub async fn run(config: &Config, command: MsgdCommand) -> (bool, Result<(), CliError>) {
    match command {
        MsgdCommand::Export { output } => (false, export(config, output).await),
        MsgdCommand::Import { file, merge, batch_size, json } => {
            let outcome = import(config, &file, merge, batch_size).await.map(|done| {
                let skipped = done.counts.total().saturating_sub(done.written);
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"file": file, "counts": done.counts, "written": done.written, "skipped": skipped})
                    );
                } else {
                    eprintln!(
                        "msgd: imported {} from {} ({} records written, {skipped} already there)",
                        done.counts,
                        file.display(),
                        done.written
                    );
                }
            });
            (json, outcome)
        }
        MsgdCommand::Migrate { to, batch_size, json } => {
            let outcome = migrate(config, &to, batch_size).await.map(|done| {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"counts": done.counts, "sha256": done.sha256, "changed": done.changed, "verified": true})
                    );
                } else if done.changed == 0 {
                    eprintln!("msgd: nothing left to copy; verified {} (sha256 {})", done.counts, done.sha256);
                } else {
                    eprintln!(
                        "msgd: copied {} records; verified {} on both sides (sha256 {})",
                        done.changed, done.counts, done.sha256
                    );
                }
            });
            (json, outcome)
        }
        MsgdCommand::Backup { path, json } => {
            let outcome = backup(config, &path).await.map(|bytes| {
                if json {
                    println!("{}", serde_json::json!({"path": path, "bytes": bytes}));
                } else {
                    eprintln!("msgd: backed up to {} ({bytes} bytes); msgd starts on it as it is", path.display());
                }
            });
            (json, outcome)
        }
        MsgdCommand::Serve | MsgdCommand::Admin { .. } => unreachable!("not a transfer command"),
    }
}
