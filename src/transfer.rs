//! Moving data between stores: `msgd export`, `import`, `migrate` and `backup`.
//!
//! One copier over the [`Store`] trait serves every direction: a store's [`Store::snapshot`] streams its
//! records, another's [`Store::apply`] writes them in batches, idempotently. The export file is the same
//! records as JSON lines between a header and a footer that counts them and carries a SHA-256 of them;
//! `migrate` computes the same digest on both sides to verify the copy.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::rfc3339_millis;
use crate::cli::exit::{CliError, Exit};
use crate::config::Config;
use crate::domain::{Email, MessageContent};
use crate::store::{
    self, AccessToken, AccountStatus, ApplyMode, Backend, Idempotency, Location, Message, MessageRecord, OpenOptions,
    Party, Record, Role, Scope, Store, StoreError, User, UserRecord,
};

/// The export format's version; an importer refuses others.
pub const FORMAT_VERSION: u32 = 1;
/// The header's `type`.
pub const FORMAT_TYPE: &str = "msgkit-export";
/// Records looked up in the store at once while checking a file for `--merge`.
const BATCH: usize = 1000;

/// Records written to `store` in one [`Store::apply`] unless `--batch-size` says otherwise. SQLite: 10,000
/// (at 1,000 a migration of 2·10⁵ messages took 3× as long, every transaction rewriting the index pages its
/// messages touch); MongoDB: 1,000, so that one write stays well inside the database timeout.
fn batch_size(store: &dyn Store, asked: Option<u64>) -> usize {
    match (asked, store.backend()) {
        (Some(n), _) => n as usize,
        (None, Backend::Sqlite) => 10_000,
        (None, Backend::Mongo) => 1000,
    }
}
/// The source store's identity (a UUID, made on its first migration).
const STORE_ID: &str = "store_id";
/// On a migration target: the identity of the store it is a copy of.
const MIGRATED_FROM: &str = "migrated_from";

/// One line of an export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// The first line.
    #[serde(rename = "msgkit-export")]
    Header {
        version: u32,
        #[serde(with = "rfc3339_millis")]
        created_at: OffsetDateTime,
        /// `sqlite` or `mongodb`.
        source: String,
        /// The msgd version that wrote it.
        msgd: String,
    },
    Setting {
        key: String,
        /// Base64.
        value: String,
    },
    User {
        id: Uuid,
        email: String,
        password_hash: String,
        token_version: u32,
        #[serde(with = "rfc3339_millis")]
        created_at: OffsetDateTime,
        #[serde(with = "rfc3339_millis::option")]
        last_login_at: Option<OffsetDateTime>,
        registration_key: Option<String>,
        role: String,
        status: String,
        ended_sessions: Vec<EndedSession>,
    },
    AccessToken {
        id: Uuid,
        user_id: Uuid,
        name: String,
        digest: String,
        scopes: Vec<String>,
        #[serde(with = "rfc3339_millis")]
        created_at: OffsetDateTime,
        #[serde(with = "rfc3339_millis::option")]
        expires_at: Option<OffsetDateTime>,
        #[serde(with = "rfc3339_millis::option")]
        last_used_at: Option<OffsetDateTime>,
    },
    Message {
        id: Uuid,
        sender_id: Uuid,
        sender_email: String,
        recipient_id: Uuid,
        recipient_email: String,
        content: String,
        #[serde(with = "rfc3339_millis")]
        created_at: OffsetDateTime,
        idempotency_key: Option<String>,
        request_hash: Option<String>,
    },
    /// The last line.
    End { counts: Counts, sha256: String },
}

/// A session ended on its own, and when its token expires anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndedSession {
    pub id: Uuid,
    #[serde(with = "rfc3339_millis")]
    pub expires_at: OffsetDateTime,
}

/// Records by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub settings: u64,
    pub users: u64,
    pub access_tokens: u64,
    pub messages: u64,
}

impl Counts {
    fn add(&mut self, record: &Record) {
        match record {
            Record::Setting { .. } => self.settings += 1,
            Record::User(_) => self.users += 1,
            Record::AccessToken(_) => self.access_tokens += 1,
            Record::Message(_) => self.messages += 1,
        }
    }

    fn total(&self) -> u64 {
        self.settings + self.users + self.access_tokens + self.messages
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} accounts, {} access tokens, {} messages", self.users, self.access_tokens, self.messages)
    }
}

impl From<&Record> for Line {
    fn from(record: &Record) -> Self {
        match record {
            Record::Setting { key, value } => Line::Setting { key: key.clone(), value: BASE64.encode(value) },
            Record::User(UserRecord { user, sessions }) => Line::User {
                id: user.id,
                email: user.email.to_string(),
                password_hash: user.password_hash.clone(),
                token_version: user.token_version,
                created_at: user.created_at,
                last_login_at: user.last_login_at,
                registration_key: user.registration_key.clone(),
                role: user.role.as_str().to_owned(),
                status: user.status.as_str().to_owned(),
                ended_sessions: sessions.iter().map(|(id, at)| EndedSession { id: *id, expires_at: *at }).collect(),
            },
            Record::AccessToken(t) => Line::AccessToken {
                id: t.id,
                user_id: t.user_id,
                name: t.name.clone(),
                digest: t.digest.clone(),
                scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
            },
            Record::Message(MessageRecord { message: m, idempotency }) => Line::Message {
                id: m.id,
                sender_id: m.from.id,
                sender_email: m.from.email.to_string(),
                recipient_id: m.to.id,
                recipient_email: m.to.email.to_string(),
                content: m.content.as_str().to_owned(),
                created_at: store::message_time(m.id),
                idempotency_key: idempotency.as_ref().map(|i| i.key.clone()),
                request_hash: idempotency.as_ref().map(|i| i.fingerprint.clone()),
            },
        }
    }
}

/// A record line's text (with its newline), as the export writes it and the digest covers it.
fn record_line(record: &Record) -> String {
    let mut line = serde_json::to_string(&Line::from(record)).expect("records serialize");
    line.push('\n');
    line
}

/// Counts and the SHA-256 of a sequence of records, as the footer states them.
#[derive(Default)]
struct Tally {
    counts: Counts,
    digest: Sha256,
}

impl Tally {
    fn add(&mut self, record: &Record, line: &str) {
        self.counts.add(record);
        self.digest.update(line.as_bytes());
    }

    fn finish(self) -> (Counts, String) {
        (self.counts, hex(&self.digest.finalize()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a line of an import file is refused.
fn bad_line(number: u64, problem: impl std::fmt::Display) -> CliError {
    CliError::usage("import_invalid", format!("line {number}: {problem}; nothing was imported"))
}

/// A record from a line: checked field by field, as strictly as the API checks what it stores.
fn record_from_line(line: Line) -> Result<Record, String> {
    let email = |raw: &str, what: &str| -> Result<Email, String> {
        let email = Email::parse(raw).map_err(|e| format!("{what} {raw:?} {e}"))?;
        if email.as_str() != raw {
            return Err(format!("{what} {raw:?} is not in its stored form ({})", email.as_str()));
        }
        Ok(email)
    };
    Ok(match line {
        Line::Setting { key, value } => {
            if !store::MOVED_SETTINGS.contains(&key.as_str()) {
                return Err(format!("unknown setting {key:?}"));
            }
            let value = BASE64.decode(&value).map_err(|e| format!("the setting's value is not base64 ({e})"))?;
            if key == "token_secret" && value.len() < crate::auth::MIN_SECRET_BYTES {
                return Err(format!("the token secret is shorter than {} bytes", crate::auth::MIN_SECRET_BYTES));
            }
            Record::Setting { key, value }
        }
        Line::User {
            id,
            email: address,
            password_hash,
            token_version,
            created_at,
            last_login_at,
            registration_key,
            role,
            status,
            ended_sessions,
        } => {
            let email = email(&address, "the email")?;
            if !is_bcrypt(&password_hash) {
                return Err("password_hash is not a bcrypt hash".into());
            }
            if registration_key.as_deref().is_some_and(|k| !is_sha256_hex(k)) {
                return Err("registration_key is not a SHA-256 in hex".into());
            }
            let role = Role::parse(&role).ok_or_else(|| format!("role {role:?} is not user or admin"))?;
            let status = AccountStatus::parse(&status)
                .ok_or_else(|| format!("status {status:?} is not active or deactivated"))?;
            let mut sessions: Vec<(Uuid, OffsetDateTime)> =
                ended_sessions.into_iter().map(|s| (s.id, s.expires_at)).collect();
            sessions.sort();
            let user = User {
                id,
                email,
                password_hash,
                token_version,
                created_at,
                last_login_at,
                registration_key,
                revoked_sessions: sessions.iter().map(|(id, _)| *id).collect(),
                role,
                status,
            };
            Record::User(UserRecord { user, sessions })
        }
        Line::AccessToken { id, user_id, name, digest, scopes, created_at, expires_at, last_used_at } => {
            if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
                return Err("the token name must be 1 to 64 characters without control characters".into());
            }
            if !is_sha256_hex(&digest) {
                return Err("the token digest is not a SHA-256 in hex".into());
            }
            let mut parsed = Vec::new();
            for scope in &scopes {
                parsed.push(Scope::parse(scope).ok_or_else(|| format!("scope {scope:?} is not read, send or admin"))?);
            }
            if parsed.is_empty() {
                return Err("the token has no scope".into());
            }
            Record::AccessToken(AccessToken {
                id,
                user_id,
                name,
                digest,
                scopes: parsed,
                created_at,
                expires_at,
                last_used_at,
            })
        }
        Line::Message {
            id,
            sender_id,
            sender_email,
            recipient_id,
            recipient_email,
            content,
            created_at,
            idempotency_key,
            request_hash,
        } => {
            if id.get_version_num() != 7 {
                return Err(format!("message id {id} is not a UUIDv7"));
            }
            if created_at != store::message_time(id) {
                return Err(format!(
                    "created_at is not the time in the message id ({})",
                    rfc3339_millis::format(store::message_time(id))
                ));
            }
            let content = MessageContent::parse(content, usize::MAX).map_err(|e| format!("the content {e}"))?;
            let idempotency = match (idempotency_key, request_hash) {
                (None, None) => None,
                (Some(key), Some(fingerprint)) if !key.is_empty() && !fingerprint.is_empty() => {
                    Some(Idempotency { key, fingerprint })
                }
                _ => return Err("idempotency_key and request_hash go together".into()),
            };
            Record::Message(MessageRecord {
                message: Message {
                    id,
                    from: Party { id: sender_id, email: email(&sender_email, "sender_email")? },
                    to: Party { id: recipient_id, email: email(&recipient_email, "recipient_email")? },
                    content,
                    created_at,
                },
                idempotency,
            })
        }
        Line::Header { .. } => return Err("a second header".into()),
        Line::End { .. } => return Err("a footer before the last line".into()),
    })
}

/// A JSON error in words, without the parser's "at line 1 column N" (each record is one line).
fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = e.to_string();
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
    match e.classify() {
        Category::Eof => format!("is cut short (column {}): is the file complete?", e.column()),
        Category::Syntax | Category::Io => format!("is not valid JSON ({message}, column {})", e.column()),
        Category::Data => format!("is not a record of this format: {}", message.replace('`', "")),
    }
}

fn is_bcrypt(hash: &str) -> bool {
    hash.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The kinds in the order a file (and a snapshot) holds them.
fn rank(record: &Record) -> u8 {
    match record {
        Record::Setting { .. } => 0,
        Record::User(_) => 1,
        Record::AccessToken(_) => 2,
        Record::Message(_) => 3,
    }
}

/// The sort key of a record within its kind.
fn order_key(record: &Record) -> (String, String) {
    match record {
        Record::Setting { key, .. } => (key.clone(), String::new()),
        Record::User(u) => (u.user.id.to_string(), String::new()),
        Record::AccessToken(t) => (t.user_id.to_string(), t.id.to_string()),
        Record::Message(m) => (m.message.id.to_string(), String::new()),
    }
}

/// What pass one of an import learned, for pass two and the summary.
struct Checked {
    counts: Counts,
}

/// The consistency rules across records: order, uniqueness, references.
#[derive(Default)]
struct Rules {
    last: Option<(u8, (String, String))>,
    users: std::collections::HashMap<Uuid, Email>,
    emails: HashSet<String>,
    token_names: HashSet<(Uuid, String)>,
    token_digests: HashSet<String>,
    keys: HashSet<[u8; 16]>,
}

impl Rules {
    fn check(&mut self, record: &Record) -> Result<(), String> {
        let position = (rank(record), order_key(record));
        if let Some(last) = &self.last {
            if position <= *last {
                return Err(
                    "out of order: settings, accounts, access tokens, then messages, each in id order, once".into()
                );
            }
        }
        self.last = Some(position);
        match record {
            Record::Setting { .. } => {}
            Record::User(u) => {
                if !self.emails.insert(u.user.email.to_string()) {
                    return Err(format!("a second account has the email {}", u.user.email));
                }
                self.users.insert(u.user.id, u.user.email.clone());
            }
            Record::AccessToken(t) => {
                if !self.users.contains_key(&t.user_id) {
                    return Err(format!("the token's account {} is not in the file", t.user_id));
                }
                if !self.token_names.insert((t.user_id, t.name.clone())) {
                    return Err(format!("the account has a second token named {:?}", t.name));
                }
                if !self.token_digests.insert(t.digest.clone()) {
                    return Err("a second token has this digest".into());
                }
            }
            Record::Message(m) => {
                for (party, what) in [(&m.message.from, "sender"), (&m.message.to, "recipient")] {
                    match self.users.get(&party.id) {
                        None => return Err(format!("the {what} {} is not in the file", party.id)),
                        Some(email) if *email != party.email => {
                            return Err(format!("the {what}'s email is not the email of account {}", party.id));
                        }
                        Some(_) => {}
                    }
                }
                if let Some(i) = &m.idempotency {
                    let mut digest = Sha256::new();
                    digest.update(m.message.from.id.as_bytes());
                    digest.update(i.key.as_bytes());
                    let key: [u8; 16] = digest.finalize()[..16].try_into().expect("16 bytes");
                    if !self.keys.insert(key) {
                        return Err("the sender used this idempotency key for an earlier message".into());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Reads an export file: the header, each record (checked), the footer (checked against the records).
struct Reader<R> {
    lines: std::io::Lines<R>,
    number: u64,
    tally: Tally,
    ended: Option<(Counts, String)>,
}

impl<R: BufRead> Reader<R> {
    fn open(input: R) -> Result<Self, CliError> {
        let mut reader = Self { lines: input.lines(), number: 0, tally: Tally::default(), ended: None };
        match reader.next_line()? {
            Some((Line::Header { version, .. }, _)) if version == FORMAT_VERSION => Ok(reader),
            Some((Line::Header { version, .. }, _)) => {
                Err(bad_line(1, format!("export format version {version}: this msgd reads version {FORMAT_VERSION}")))
            }
            Some(_) => Err(bad_line(1, format!("the first line is not the {FORMAT_TYPE:?} header"))),
            None => Err(bad_line(1, "the file is empty")),
        }
    }

    fn next_line(&mut self) -> Result<Option<(Line, String)>, CliError> {
        let Some(text) = self.lines.next() else { return Ok(None) };
        self.number += 1;
        let text = text.map_err(|e| bad_line(self.number, format!("cannot be read ({e})")))?;
        let line: Line = serde_json::from_str(&text).map_err(|e| bad_line(self.number, json_problem(&e)))?;
        Ok(Some((line, text)))
    }

    /// The next record, or `None` after a footer that matches what came before it.
    fn next_record(&mut self) -> Result<Option<(u64, Record)>, CliError> {
        let Some((line, text)) = self.next_line()? else {
            return Err(bad_line(self.number + 1, "the file ends without its footer (is it cut short?)"));
        };
        if let Line::End { counts, sha256 } = line {
            let (seen, digest) = std::mem::take(&mut self.tally).finish();
            if counts != seen {
                return Err(bad_line(self.number, format!("the footer counts {counts}, the file holds {seen}")));
            }
            if sha256 != digest {
                return Err(bad_line(
                    self.number,
                    "the footer's sha256 does not match the records: the file was changed",
                ));
            }
            if self.next_line()?.is_some() {
                return Err(bad_line(self.number, "something follows the footer"));
            }
            self.ended = Some((counts, digest));
            return Ok(None);
        }
        let record = record_from_line(line).map_err(|problem| bad_line(self.number, problem))?;
        let canonical = record_line(&record);
        if canonical.trim_end() != text {
            // Accepting another spelling would make the digest depend on it: refuse it, naming nothing
            // more than the line (its fields may be secrets).
            return Err(bad_line(self.number, "the record is not written the way msgd writes it"));
        }
        self.tally.add(&record, &canonical);
        Ok(Some((self.number, record)))
    }
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
fn progress(total: Option<u64>, what: &'static str) -> ProgressBar {
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

fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::Unavailable(reason) => {
            CliError::new(Exit::Unavailable, "unavailable", format!("the database is unavailable: {reason}"))
        }
        StoreError::EmailTaken => CliError::new(Exit::Conflict, "email_taken", "an email is already registered"),
        StoreError::NameTaken => CliError::new(Exit::Conflict, "name_taken", "an access token name is already used"),
        StoreError::IdempotencyKeyReused => {
            CliError::new(Exit::Conflict, "idempotency_key_reused", "an idempotency key is already used")
        }
        other => CliError::other("store", other.to_string()),
    }
}

/// Opens the store at `location` for a command, waiting for it to answer.
async fn open_at(location: &Location, config: &Config) -> Result<Arc<dyn Store>, CliError> {
    let options = OpenOptions::new(config.pool_size.min(4), config.db_timeout);
    let store = store::open(location, &options).await.map_err(store_error)?;
    store.ready(config.db_timeout).await.map_err(store_error)?;
    Ok(store)
}

fn configured(config: &Config) -> Result<Location, CliError> {
    Location::from_url(config.database_url.as_deref(), &config.data_dir)
        .map_err(|e| CliError::usage("invalid_database_url", e))
}

/// A file for secrets: created new, 0600.
fn private_file(path: &Path) -> Result<std::fs::File, CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => CliError::new(
            Exit::Conflict,
            "file_exists",
            format!("{} exists: remove it or choose another name", path.display()),
        ),
        _ => CliError::other("file_unwritable", format!("cannot create {}: {e}", path.display())),
    })
}

// ---- export ----------------------------------------------------------------------------------------

/// What an export wrote.
pub struct Exported {
    pub counts: Counts,
    pub sha256: String,
}

/// Writes `store`'s snapshot to `out` in the export format.
pub async fn export_to(store: &dyn Store, out: &mut dyn Write, bar: &ProgressBar) -> Result<Exported, CliError> {
    let failed = |e: std::io::Error| CliError::other("export_unwritable", format!("cannot write the export: {e}"));
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

/// `msgd export [--output FILE]`.
pub async fn export(config: &Config, output: Option<PathBuf>) -> Result<(), CliError> {
    let store = open_at(&configured(config)?, config).await?;
    let total = store.inventory().await.map_err(store_error)?;
    let bar = progress(Some(total.users + total.access_tokens + total.messages + 1), "records");
    let result = match &output {
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            export_to(store.as_ref(), &mut out, &bar).await
        }
        Some(path) => export_file(store.as_ref(), path, &bar).await,
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

/// Exports into a temp file beside `path`, renamed over it once complete and on disk.
async fn export_file(store: &dyn Store, path: &Path, bar: &ProgressBar) -> Result<Exported, CliError> {
    if path.exists() {
        return Err(CliError::new(
            Exit::Conflict,
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
        let file = out.into_inner().map_err(|e| CliError::other("export_unwritable", e.to_string()))?;
        file.sync_all().map_err(|e| CliError::other("export_unwritable", e.to_string()))?;
        std::fs::rename(&temp, path)
            .map_err(|e| CliError::other("export_unwritable", format!("cannot rename into {}: {e}", path.display())))?;
        Ok(exported)
    }
    .await;
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    outcome
}

// ---- import ----------------------------------------------------------------------------------------

fn open_file(path: &Path) -> Result<std::io::BufReader<std::fs::File>, CliError> {
    std::fs::File::open(path)
        .map(|f| std::io::BufReader::with_capacity(1 << 16, f))
        .map_err(|e| CliError::usage("file_unreadable", format!("cannot read {}: {e}", path.display())))
}

/// Pass one: every line, and (with `merge`) every record against the store. Nothing is written.
async fn check_file(path: &Path, store: &dyn Store, merge: bool, newest: Option<Uuid>) -> Result<Checked, CliError> {
    let mut reader = Reader::open(open_file(path)?)?;
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
) -> Result<(), CliError> {
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
async fn older_messages_stored(store: &dyn Store, older: Vec<(u64, Uuid)>) -> Result<(), CliError> {
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
async fn write_batches(
    target: &dyn Store,
    batch: &mut Vec<Record>,
    record: Option<Record>,
    mode: ApplyMode,
    size: usize,
) -> Result<u64, CliError> {
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

/// `msgd import FILE [--merge]`.
pub async fn import(config: &Config, path: &Path, merge: bool, batch: Option<u64>) -> Result<Imported, CliError> {
    let store = open_at(&configured(config)?, config).await?;
    let outcome = import_into(store.as_ref(), path, merge, batch_size(store.as_ref(), batch)).await;
    store.close().await;
    outcome
}

/// Checks all of `path`, then writes it into `store`.
pub async fn import_into(store: &dyn Store, path: &Path, merge: bool, size: usize) -> Result<Imported, CliError> {
    let inventory = store.inventory().await.map_err(store_error)?;
    if !inventory.is_empty() && !merge {
        return Err(CliError::new(
            Exit::Conflict,
            "store_not_empty",
            format!(
                "the store is not empty ({} accounts, {} messages): import into an empty store, or add --merge to \
                 add only what it lacks",
                inventory.users, inventory.messages
            ),
        ));
    }
    let checked = check_file(path, store, merge, inventory.newest_message).await?;
    let mut reader = Reader::open(open_file(path)?)?;
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

// ---- migrate ---------------------------------------------------------------------------------------

/// What a migration did.
pub struct Migrated {
    pub counts: Counts,
    pub sha256: String,
    /// Records written (or deleted) in the target this run; 0: nothing was left to copy.
    pub changed: u64,
}

/// `msgd migrate --to URL`.
pub async fn migrate(config: &Config, to: &str, batch: Option<u64>) -> Result<Migrated, CliError> {
    let from = configured(config)?;
    let to = Location::from_url(Some(to), &config.data_dir).map_err(|e| CliError::usage("invalid_target_url", e))?;
    if same_place(&from, &to) {
        return Err(CliError::usage("same_store", "--to names the store msgd is configured with: nothing to copy"));
    }
    let source = open_at(&from, config).await?;
    let target = match open_at(&to, config).await {
        Ok(target) => target,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let outcome = migrate_between(source.as_ref(), target.as_ref(), batch_size(target.as_ref(), batch)).await;
    target.close().await;
    source.close().await;
    outcome
}

fn same_place(a: &Location, b: &Location) -> bool {
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
pub async fn migrate_between(source: &dyn Store, target: &dyn Store, size: usize) -> Result<Migrated, CliError> {
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
        return Err(CliError::new(
            Exit::Conflict,
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
        return Err(CliError::other(
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
) -> Result<u64, CliError> {
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
async fn digest_of(store: &dyn Store) -> Result<(Counts, String), CliError> {
    let mut records = store.snapshot().await.map_err(store_error)?;
    let mut tally = Tally::default();
    while let Some(record) = records.next().await {
        let record = record.map_err(store_error)?;
        tally.add(&record, &record_line(&record));
    }
    Ok(tally.finish())
}

// ---- backup ----------------------------------------------------------------------------------------

/// `msgd backup PATH`: a consistent copy of the SQLite store, taken while msgd serves.
pub async fn backup(config: &Config, path: &Path) -> Result<u64, CliError> {
    match configured(config)? {
        Location::Sqlite(database) => {
            if !database.exists() {
                return Err(CliError::new(
                    Exit::NotFound,
                    "no_database",
                    format!("there is no database at {} to back up", database.display()),
                ));
            }
            let file = private_file(path)?;
            drop(file);
            let (from, to) = (database.clone(), path.to_owned());
            let copied = tokio::task::spawn_blocking(move || store::sqlite::backup(&from, &to))
                .await
                .map_err(|e| CliError::other("backup_failed", e.to_string()))?;
            match copied {
                Ok(bytes) => Ok(bytes),
                Err(e) => {
                    let _ = std::fs::remove_file(path);
                    Err(CliError::other("backup_failed", format!("the backup failed: {e}")))
                }
            }
        }
        Location::Mongo(_) => Err(CliError::usage(
            "backup_unsupported",
            "msgd backup copies the embedded SQLite store; for MongoDB use mongodump (mongodump --uri \"$MONGODB_URL\" \
             --oplog --archive=msgkit.archive for a consistent dump of a replica set) or your provider's snapshots; \
             msgd export works on both",
        )),
    }
}

// ---- the commands ----------------------------------------------------------------------------------

/// Runs `msgd export | import | migrate | backup`; the summary goes to stderr, or (with `--json`) as JSON
/// to stdout. Returns whether errors should be JSON.
pub async fn run(config: &Config, command: crate::config::MsgdCommand) -> (bool, Result<(), CliError>) {
    use crate::config::MsgdCommand;
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
