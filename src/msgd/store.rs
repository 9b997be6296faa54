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
    let options = OpenOptions::new(config.pool_size.min(4), config.db_timeout);
    let store = store::open(location, &options).await.map_err(store_error)?;
    store.ready(config.db_timeout).await.map_err(store_error)?;
    Ok(store)
}

/// Opens the configured store.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, CliError> {
    open_at(&configured(config)?, config).await
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
