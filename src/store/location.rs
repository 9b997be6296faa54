//! Where the data lives, decided once at start-up from the database URL, and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use super::metered::MeteredStore;
use super::mongo::MongoStore;
use super::sqlite::SqliteStore;
use super::{OpenOptions, Store, StoreError};

/// Where the data lives, decided once at start-up from the database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `mongodb://` or `mongodb+srv://` connection string.
    Mongo(String),
}

/// File name of the SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "msgd.sqlite3";

impl Location {
    /// Reads the backend off `url`'s scheme; no URL means SQLite in `data_dir`.
    pub fn from_url(url: Option<&str>, data_dir: &std::path::Path) -> Result<Self, String> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self::Sqlite(data_dir.join(SQLITE_FILE)));
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// URL needs a file path, e.g. sqlite:///var/lib/msgd/msgd.sqlite3".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
            return Ok(Self::Mongo(url.to_owned()));
        }
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        Err(format!(
            "unsupported database URL scheme {scheme:?}: use mongodb://, mongodb+srv://, sqlite://PATH, or leave \
             it unset for the embedded store"
        ))
    }
}

/// Opens the store at `location`, creating its schema or indexes; every operation is timed for `/metrics`.
pub async fn open(location: &Location, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match location {
        Location::Sqlite(path) => Arc::new(SqliteStore::open(path, options).await?),
        Location::Mongo(url) => Arc::new(MongoStore::open(url, options).await?),
    };
    Ok(Arc::new(MeteredStore::new(store)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_url_picks_the_backend() {
        let dir = std::path::Path::new("/data");
        assert_eq!(Location::from_url(None, dir), Ok(Location::Sqlite(dir.join(SQLITE_FILE))));
        assert_eq!(Location::from_url(Some(""), dir), Ok(Location::Sqlite(dir.join(SQLITE_FILE))));
        assert_eq!(Location::from_url(Some("sqlite:///tmp/x.db"), dir), Ok(Location::Sqlite("/tmp/x.db".into())));
        assert_eq!(
            Location::from_url(Some("mongodb://db:27017/app"), dir),
            Ok(Location::Mongo("mongodb://db:27017/app".into()))
        );
        assert_eq!(
            Location::from_url(Some("mongodb+srv://cluster.example.net/"), dir),
            Ok(Location::Mongo("mongodb+srv://cluster.example.net/".into()))
        );
        assert!(Location::from_url(Some("postgres://x"), dir).is_err());
    }
}
