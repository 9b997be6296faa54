//! Opening the configured store for a command: the one place msgd's commands turn a [`Config`] into a
//! store.

use std::sync::Arc;

use crate::config::Config;
use crate::exit::{CliError, Exit};
use crate::store::{self, Location, OpenOptions, Store, StoreError};

/// Where the configured store is (`MONGODB_URL`, or SQLite under `--data-dir`).
pub fn configured(config: &Config) -> Result<Location, CliError> {
    config.location().map_err(|e| CliError::usage("invalid_database_url", e))
}

/// Opens the store at `location`, waiting (up to the database timeout) for it to answer.
pub async fn open_at(location: &Location, config: &Config) -> Result<Arc<dyn Store>, CliError> {
    let options =
        OpenOptions { retention: config.retention, ..OpenOptions::new(config.pool_size.min(4), config.db_timeout) };
    let store = store::open(location, &options).await.map_err(store_error)?;
    store.ready(config.db_timeout).await.map_err(store_error)?;
    Ok(store)
}

/// How a store is named to a person: its SQLite file, or its MongoDB URL without the password.
pub fn describe(location: &Location) -> String {
    match location {
        Location::Sqlite(path) => path.display().to_string(),
        Location::Mongo(url) => crate::config::redact_url(url),
    }
}

/// Whether a store will be opened that is there, or one may be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Only a store that exists: a command that reads or changes what is there (a SQLite file that does
    /// not exist is refused, exit 4 `store_not_found`, rather than created empty).
    Required,
    /// A new one may be created (said on stderr): the commands that fill a store.
    MayCreate,
}

/// Opens the configured store for a command, [`Existing`] deciding whether it must be there; returns it
/// with its name for messages.
pub async fn open_configured(config: &Config, existing: Existing) -> Result<(Arc<dyn Store>, String), CliError> {
    let location = configured(config)?;
    let name = describe(&location);
    let missing = matches!(&location, Location::Sqlite(path) if !path.exists());
    if missing && existing == Existing::Required {
        return Err(CliError::new(
            Exit::NotFound,
            "store_not_found",
            format!(
                "there is no msgd store at {name}, and this command creates none: point --data-dir (MSGD_DATA_DIR) \
                 at msgd's data directory, or set MONGODB_URL"
            ),
        ));
    }
    let store = open_at(&location, config).await.map_err(|e| in_store(e, &name))?;
    if missing {
        eprintln!("msgd: created a new, empty store at {name}");
    }
    Ok((store, name))
}

/// `error`, saying which store it is about.
pub fn in_store(mut error: CliError, name: &str) -> CliError {
    error.message = format!("{} (store: {name})", error.message);
    error
}

/// A store failure, for a person, with its exit code.
pub fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::Unavailable(reason) => {
            CliError::new(Exit::Unavailable, "unavailable", format!("the database is unavailable: {reason}"))
        }
        StoreError::EmailTaken => CliError::new(Exit::Conflict, "email_taken", "this email is already registered"),
        StoreError::NotFound => CliError::new(Exit::NotFound, "user_not_found", "no account has this email"),
        other => CliError::other("store", other.to_string()),
    }
}
