//! Writing a store to an export file, and backing up the SQLite file.

use std::io::Write;
use std::path::Path;

use futures::StreamExt;
use indicatif::ProgressBar;

use super::format::{Counts, FORMAT_VERSION, Line, Tally, record_line};
use super::support::{Kind, TransferError, store_error};
use crate::store::{self, Store};

/// A file for secrets: created new, 0600.
pub fn private_file(path: &Path) -> Result<std::fs::File, TransferError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => TransferError::new(
            Kind::Conflict,
            "file_exists",
            format!("{} exists: remove it or choose another name", path.display()),
        ),
        _ => TransferError::other("file_unwritable", format!("cannot create {}: {e}", path.display())),
    })
}

/// What an export wrote.
pub struct Exported {
    pub counts: Counts,
    pub sha256: String,
}

/// Writes `store`'s snapshot to `out` in the export format.
pub async fn export_to(store: &dyn Store, out: &mut dyn Write, bar: &ProgressBar) -> Result<Exported, TransferError> {
    let failed = |e: std::io::Error| TransferError::other("export_unwritable", format!("cannot write the export: {e}"));
    let header = Line::Header {
        version: FORMAT_VERSION,
        created_at: store::now_millis(),
        source: store.backend().name().to_owned(),
        msgd: env!("CARGO_PKG_VERSION").to_owned(),
    };
    writeln!(out, "{}", serde_json::to_string(&header).expect("serializes")).map_err(failed)?;
    let mut records = store.snapshot().await.map_err(store_error)?;
    let mut tally = Tally::default();
    while let Some(record) = records.next().await {
        let record = record.map_err(store_error)?;
        let line = record_line(&record);
        out.write_all(line.as_bytes()).map_err(failed)?;
        tally.add(&record, &line);
        bar.inc(1);
    }
    let (counts, sha256) = tally.finish();
    let end = Line::End { counts, sha256: sha256.clone() };
    writeln!(out, "{}", serde_json::to_string(&end).expect("serializes")).map_err(failed)?;
    out.flush().map_err(failed)?;
    Ok(Exported { counts, sha256 })
}

/// Exports into a temp file beside `path`, renamed over it once complete and on disk.
pub async fn export_file(store: &dyn Store, path: &Path, bar: &ProgressBar) -> Result<Exported, TransferError> {
    if path.exists() {
        return Err(TransferError::new(
            Kind::Conflict,
            "file_exists",
            format!("{} exists: remove it or choose another name", path.display()),
        ));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "export".into());
    let temp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let file = private_file(&temp)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    let outcome = async {
        let exported = export_to(store, &mut out, bar).await?;
        let file = out.into_inner().map_err(|e| TransferError::other("export_unwritable", e.to_string()))?;
        file.sync_all().map_err(|e| TransferError::other("export_unwritable", e.to_string()))?;
        std::fs::rename(&temp, path).map_err(|e| {
            TransferError::other("export_unwritable", format!("cannot rename into {}: {e}", path.display()))
        })?;
        Ok(exported)
    }
    .await;
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    outcome
}

/// A consistent copy of the SQLite file `database` at `path` (created 0600, must not exist), taken while
/// msgd serves; the bytes copied.
pub async fn backup_sqlite(database: &Path, path: &Path) -> Result<u64, TransferError> {
    if !database.exists() {
        return Err(TransferError::new(
            Kind::NotFound,
            "no_database",
            format!("there is no database at {} to back up", database.display()),
        ));
    }
    let file = private_file(path)?;
    drop(file);
    let (from, to) = (database.to_owned(), path.to_owned());
    let copied = tokio::task::spawn_blocking(move || store::sqlite::backup(&from, &to))
        .await
        .map_err(|e| TransferError::other("backup_failed", e.to_string()))?;
    match copied {
        Ok(bytes) => Ok(bytes),
        Err(e) => {
            let _ = std::fs::remove_file(path);
            Err(TransferError::other("backup_failed", format!("the backup failed: {e}")))
        }
    }
}
