//! msgctl's token cache: one `sessions.json` in the config directory (0700), keyed by profile, then by
//! server URL, written atomically (temp file 0600, fsync, rename, fsync of the directory). Files of format
//! 1 (one session per server, before profiles) are read as the `default` profile and rewritten as
//! format 2 on the next login.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::exit::CliError;

/// Overrides where msgctl keeps its files (tests use it).
pub const CONFIG_DIR_VAR: &str = "MSGCTL_CONFIG_DIR";

/// Picks the profile (`--profile` is the same).
pub const PROFILE_VAR: &str = "MSGCTL_PROFILE";

/// Overrides the cached token (CI and scripts).
pub const TOKEN_VAR: &str = "MSGCTL_TOKEN";
/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

const FILE_NAME: &str = "sessions.json";
const FORMAT_VERSION: u32 = 2;

/// A logged-in session on one server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub email: String,
    pub token: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("email", &self.email).field("token", &"<redacted>").finish()
    }
}

impl Session {
    /// When the token expires, read from its (unverified) claims; `None` if it has no readable `exp`.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        token_expiry(&self.token)
    }
}

/// The `exp` claim of a JWT, read without verifying it (only the server can, and it will).
pub fn token_expiry(token: &str) -> Option<OffsetDateTime> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    OffsetDateTime::from_unix_timestamp(claims.get("exp")?.as_i64()?).ok()
}

/// Sessions by server URL.
type Servers = BTreeMap<String, Session>;

#[derive(Default, Serialize, Deserialize)]
struct SessionsFile {
    version: u32,
    /// Format 2: sessions by profile name, then by server.
    #[serde(default)]
    profiles: BTreeMap<String, Servers>,
    /// The email last logged in, per profile and server, kept after a logout so `msgctl login` offers it
    /// again (as gh does).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    last_emails: BTreeMap<String, BTreeMap<String, String>>,
    /// Format 1: one session per server (the `default` profile now).
    #[serde(default, skip_serializing)]
    sessions: Servers,
}

/// One cached session, as `msgctl profiles` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEntry {
    pub profile: String,
    pub server: String,
    pub session: Session,
}

/// The cache file, the profile in use, and what to say about them.
pub struct SessionStore {
    dir: PathBuf,
    profile: String,
}

/// Checks a profile name: 1 to 32 letters, digits, `-` or `_` (it is typed on command lines).
pub fn profile_name(raw: &str) -> Result<String, String> {
    let ok = (1..=32).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(raw.to_owned()) } else { Err("a profile name is 1 to 32 letters, digits, - or _".to_owned()) }
}

impl SessionStore {
    /// The cache in `MSGCTL_CONFIG_DIR`, or in the platform's config directory (`~/.config/msgctl`), for
    /// `profile`.
    pub fn locate(profile: &str) -> Result<Self, CliError> {
        let dir = match std::env::var_os(CONFIG_DIR_VAR).filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::config_dir()
                .ok_or_else(|| {
                    CliError::other(
                        "no_config_dir",
                        format!("cannot find a config directory (no HOME?); set {CONFIG_DIR_VAR}"),
                    )
                })?
                .join("msgctl"),
        };
        Ok(Self { dir, profile: profile.to_owned() })
    }

    /// A cache in `dir`, for the default profile.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), profile: DEFAULT_PROFILE.to_owned() }
    }

    /// The same cache, for `profile`.
    pub fn with_profile(self, profile: &str) -> Self {
        Self { profile: profile.to_owned(), ..self }
    }

    /// The profile in use.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// Every cached session, by profile then server.
    pub fn entries(&self) -> Result<Vec<ProfileEntry>, CliError> {
        let file = self.read()?;
        Ok(file
            .profiles
            .into_iter()
            .flat_map(|(profile, servers)| {
                servers.into_iter().map(move |(server, session)| ProfileEntry {
                    profile: profile.clone(),
                    server,
                    session,
                })
            })
            .collect())
    }

    /// The cache file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The session for `server`, if one is cached.
    pub fn get(&self, server: &str) -> Result<Option<Session>, CliError> {
        Ok(self.read()?.profiles.get_mut(&self.profile).and_then(|servers| servers.remove(server)))
    }

    /// The email of the session for `server`, or of the last one before a logout.
    pub fn last_email(&self, server: &str) -> Option<String> {
        let mut file = self.read().ok()?;
        if let Some(session) = file.profiles.get_mut(&self.profile).and_then(|servers| servers.remove(server)) {
            return Some(session.email);
        }
        file.last_emails.get_mut(&self.profile).and_then(|servers| servers.remove(server))
    }

    /// Caches `session` for `server`, replacing any other.
    pub fn put(&self, server: &str, session: Session) -> Result<(), CliError> {
        // An unreadable file is replaced: a fresh login is exactly how to repair it.
        let mut file = self.read().unwrap_or_default();
        file.profiles.entry(self.profile.clone()).or_default().insert(server.to_owned(), session);
        self.write(&file)
    }

    /// Forgets the session for `server`; says whether there was one.
    pub fn remove(&self, server: &str) -> Result<bool, CliError> {
        let mut file = match self.read() {
            Ok(file) => file,
            // Logging out of a corrupt cache: remove it, as nothing in it can be used anyway.
            Err(_) => {
                let _ = std::fs::remove_file(self.path());
                return Ok(true);
            }
        };
        let servers = file.profiles.entry(self.profile.clone()).or_default();
        let removed = servers.remove(server);
        if servers.is_empty() {
            file.profiles.remove(&self.profile);
        }
        if let Some(session) = &removed {
            file.last_emails.entry(self.profile.clone()).or_default().insert(server.to_owned(), session.email.clone());
        }
        let removed = removed.is_some();
        if removed {
            self.write(&file)?;
        }
        Ok(removed)
    }

    fn read(&self) -> Result<SessionsFile, CliError> {
        let path = self.path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SessionsFile::default()),
            Err(e) => return Err(CliError::other("cache_unreadable", format!("cannot read {}: {e}", path.display()))),
        };
        warn_if_exposed(&path);
        let corrupt = |reason: String| {
            CliError::other(
                "cache_corrupt",
                format!(
                    "the session cache {} is unreadable ({reason}); run msgctl login to replace it, or delete it",
                    path.display()
                ),
            )
        };
        let mut file: SessionsFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        match file.version {
            1 => {
                let sessions = std::mem::take(&mut file.sessions);
                if !sessions.is_empty() {
                    file.profiles.insert(DEFAULT_PROFILE.to_owned(), sessions);
                }
            }
            FORMAT_VERSION => {}
            other => {
                return Err(corrupt(format!(
                    "format version {other} is newer than this msgctl reads ({FORMAT_VERSION}); upgrade msgctl"
                )));
            }
        }
        Ok(file)
    }

    fn write(&self, file: &SessionsFile) -> Result<(), CliError> {
        let failed = |what: &str, e: std::io::Error| {
            CliError::other(
                "cache_unwritable",
                format!(
                    "cannot {what} {}: {e} — set {CONFIG_DIR_VAR} to a writable directory, or use msgctl without a \
                     cache by putting a token in {} (an access token from msgctl tokens create)",
                    self.dir.display(),
                    TOKEN_VAR
                ),
            )
        };
        create_private_dir(&self.dir).map_err(|e| failed("create", e))?;
        let file = SessionsFile {
            version: FORMAT_VERSION,
            profiles: file.profiles.clone(),
            last_emails: file.last_emails.clone(),
            sessions: Servers::new(),
        };
        let json = serde_json::to_vec_pretty(&file).expect("sessions serialize");
        let temp = self.dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let result = (|| {
            let mut out = private_file(&temp)?;
            out.write_all(&json)?;
            out.sync_all()?;
            std::fs::rename(&temp, self.path())?;
            // Make the rename itself durable.
            std::fs::File::open(&self.dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map_err(|e| failed("write the session cache in", e))
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Warns on stderr when the cache is readable by anyone but its owner: it holds login tokens.
fn warn_if_exposed(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                eprintln!(
                    "warning: {} is readable by other users (mode {mode:o}) and holds login tokens; \
                     run: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(email: &str) -> Session {
        Session { email: email.into(), token: "header.payload.signature".into() }
    }

    #[test]
    fn sessions_are_kept_per_server_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::at(dir.path().join("msgctl"));
        assert_eq!(store.get("http://a/").unwrap(), None);
        store.put("http://a/", session("a@x.io")).unwrap();
        store.put("http://b/", session("b@x.io")).unwrap();
        assert_eq!(store.get("http://a/").unwrap(), Some(session("a@x.io")));
        assert!(store.remove("http://a/").unwrap());
        assert!(!store.remove("http://a/").unwrap());
        assert_eq!(store.get("http://b/").unwrap(), Some(session("b@x.io")));
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::at(dir.path().join("msgctl"));
        store.put("http://a/", session("a@x.io")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&dir.path().join("msgctl")), 0o700);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("msgctl")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    #[test]
    fn a_corrupt_cache_is_a_clear_error_and_login_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::at(dir.path());
        std::fs::write(store.path(), b"{not json").unwrap();
        let e = store.get("http://a/").unwrap_err();
        assert_eq!(e.code, "cache_corrupt");
        assert!(e.message.contains("msgctl login"), "{}", e.message);
        store.put("http://a/", session("a@x.io")).unwrap();
        assert_eq!(store.get("http://a/").unwrap(), Some(session("a@x.io")));
    }

    #[test]
    fn profiles_keep_apart_and_a_format_1_file_is_the_default_profile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            br#"{"version":1,"sessions":{"http://a/":{"email":"old@x.io","token":"t.o.k"}}}"#,
        )
        .unwrap();
        let default = SessionStore::at(dir.path());
        assert_eq!(default.get("http://a/").unwrap().unwrap().email, "old@x.io", "format 1 still works");
        let admin = SessionStore::at(dir.path()).with_profile("admin");
        assert_eq!(admin.get("http://a/").unwrap(), None);
        admin.put("http://a/", session("root@x.io")).unwrap();
        assert_eq!(default.get("http://a/").unwrap().unwrap().email, "old@x.io", "kept on rewrite");
        assert_eq!(admin.get("http://a/").unwrap().unwrap().email, "root@x.io");
        let listed: Vec<(String, String)> =
            default.entries().unwrap().into_iter().map(|e| (e.profile, e.session.email)).collect();
        assert_eq!(listed, [("admin".into(), "root@x.io".into()), ("default".into(), "old@x.io".into())]);
        let written: serde_json::Value = serde_json::from_slice(&std::fs::read(default.path()).unwrap()).unwrap();
        assert_eq!(written["version"], 2);
        assert!(written.get("sessions").is_none());
        assert!(admin.remove("http://a/").unwrap());
        assert_eq!(default.entries().unwrap().len(), 1);
        assert!(profile_name("work-2").is_ok());
        for bad in ["", "a b", "../x", &"x".repeat(33)] {
            assert!(profile_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cache_from_a_newer_msgctl_says_to_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::at(dir.path());
        std::fs::write(store.path(), br#"{"version":3,"profiles":{}}"#).unwrap();
        assert!(store.get("http://a/").unwrap_err().message.contains("upgrade msgctl"));
    }

    #[test]
    fn the_expiry_is_read_from_the_token() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x","exp":1800000000}"#);
        let token = format!("e30.{payload}.sig");
        assert_eq!(token_expiry(&token).unwrap().unix_timestamp(), 1_800_000_000);
        assert_eq!(token_expiry("garbage"), None);
    }
}
