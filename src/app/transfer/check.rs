//! Reading an export file as strictly as the API checks what it stores: each line, the order and
//! references across lines, and the footer against the records.

use std::collections::HashSet;
use std::io::BufRead;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::format::{Counts, FORMAT_TYPE, FORMAT_VERSION, FORMAT_VERSIONS_READ, Line, Tally, record_line};
use super::support::TransferError;
use crate::domain::{
    AccessToken, AccountStatus, Email, Message, MessageContent, Party, Role, Scope, User, rfc3339_millis,
};
use crate::store::{self, Idempotency, MessageRecord, Record, UserRecord};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use time::OffsetDateTime;

/// What an import accepts beyond the format: what the server it is for accepts over HTTP.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// Message content, in bytes (`MAX_MESSAGE_BYTES`).
    pub max_content_bytes: usize,
    /// Password hash cost ([`crate::auth::MAX_STORED_COST`], or `BCRYPT_COST` if higher).
    pub max_hash_cost: u32,
}

/// Why a line of an import file is refused.
pub(super) fn bad_line(number: u64, problem: impl std::fmt::Display) -> TransferError {
    TransferError::usage("import_invalid", format!("line {number}: {problem}; nothing was imported"))
}

/// A record from a line: checked field by field, as strictly as the API checks what it stores.
fn record_from_line(line: Line, limits: &ImportLimits) -> Result<Record, String> {
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
            crate::auth::check_stored_hash(&password_hash, limits.max_hash_cost)
                .map_err(|problem| format!("password_hash: {problem}"))?;
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
            unread,
            expires_at,
            deleted_by_sender,
            deleted_by_recipient,
        } => {
            if deleted_by_sender && deleted_by_recipient {
                return Err("a message both parties deleted is not exported".into());
            }
            if unread && deleted_by_recipient {
                return Err("a message the recipient deleted cannot be unread".into());
            }
            if id.get_version_num() != 7 {
                return Err(format!("message id {id} is not a UUIDv7"));
            }
            if created_at != store::message_time(id) {
                return Err(format!(
                    "created_at is not the time in the message id ({})",
                    rfc3339_millis::format(store::message_time(id))
                ));
            }
            let content = MessageContent::parse(content, limits.max_content_bytes).map_err(|e| {
                format!("the content {e} (MAX_MESSAGE_BYTES here is {}; raise it to import)", limits.max_content_bytes)
            })?;
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
                    read: !unread,
                    expires_at,
                },
                idempotency,
                deleted_by_sender,
                deleted_by_recipient,
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

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The kinds in the order a file (and a snapshot) holds them.
pub(super) fn rank(record: &Record) -> u8 {
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
pub(super) struct Checked {
    pub counts: Counts,
}

/// The consistency rules across records: order, uniqueness, references.
#[derive(Default)]
pub(super) struct Rules {
    last: Option<(u8, (String, String))>,
    users: std::collections::HashMap<Uuid, Email>,
    emails: HashSet<String>,
    token_names: HashSet<(Uuid, String)>,
    token_digests: HashSet<String>,
    keys: HashSet<[u8; 16]>,
}

impl Rules {
    pub(super) fn check(&mut self, record: &Record) -> Result<(), String> {
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
pub(super) struct Reader<R> {
    lines: std::io::Lines<R>,
    limits: ImportLimits,
    number: u64,
    tally: Tally,
    pub(super) ended: Option<(Counts, String)>,
}

impl<R: BufRead> Reader<R> {
    pub(super) fn open(input: R, limits: ImportLimits) -> Result<Self, TransferError> {
        let mut reader = Self { lines: input.lines(), limits, number: 0, tally: Tally::default(), ended: None };
        match reader.next_line()? {
            Some((Line::Header { version, .. }, _)) if FORMAT_VERSIONS_READ.contains(&version) => Ok(reader),
            Some((Line::Header { version, .. }, _)) => Err(bad_line(
                1,
                format!("export format version {version}: this msgd reads versions 1 and {FORMAT_VERSION}"),
            )),
            Some(_) => Err(bad_line(1, format!("the first line is not the {FORMAT_TYPE:?} header"))),
            None => Err(bad_line(1, "the file is empty")),
        }
    }

    fn next_line(&mut self) -> Result<Option<(Line, String)>, TransferError> {
        let Some(text) = self.lines.next() else { return Ok(None) };
        self.number += 1;
        let text = text.map_err(|e| bad_line(self.number, format!("cannot be read ({e})")))?;
        let line: Line = serde_json::from_str(&text).map_err(|e| bad_line(self.number, json_problem(&e)))?;
        Ok(Some((line, text)))
    }

    /// The next record, or `None` after a footer that matches what came before it.
    pub(super) fn next_record(&mut self) -> Result<Option<(u64, Record)>, TransferError> {
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
        let record = record_from_line(line, &self.limits).map_err(|problem| bad_line(self.number, problem))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Message, MessageContent, Party, Role, User, now_millis};
    use crate::store::{MessageRecord, NewUser, UserRecord};

    const LIMITS: ImportLimits = ImportLimits { max_content_bytes: 100, max_hash_cost: 16 };

    #[test]
    fn what_the_server_would_refuse_is_refused_on_import_too() {
        let (ada, bob) = (user("ada@example.com"), user("bob@example.com"));
        let long = message(account(&ada), account(&bob), &"x".repeat(100));
        let text = file(&[ada.clone(), bob.clone(), long]);
        let tighter = text.replace(&"x".repeat(100), &"x".repeat(101));
        // The footer's digest would not match the edit: check the line itself.
        let line: Line = serde_json::from_str(tighter.lines().nth(3).unwrap()).unwrap();
        let refused = record_from_line(line, &LIMITS).unwrap_err();
        assert!(refused.contains("MAX_MESSAGE_BYTES here is 100"), "{refused}");
        let hash_line = |hash: &str| {
            let line = record_line(&ada).replace("$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", hash);
            serde_json::from_str::<Line>(line.trim_end()).unwrap()
        };
        for (hash, problem) in [
            ("$2b$99$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", "cost 99 is outside"),
            ("$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", "cost 31 is outside 4 to 16"),
            ("$2b$12$!!cdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", "not a bcrypt hash"),
            ("$2b$03$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", "cost 3 is outside"),
        ] {
            let refused = record_from_line(hash_line(hash), &LIMITS).unwrap_err();
            assert!(refused.contains(problem), "{hash}: {refused}");
        }
        assert!(
            record_from_line(hash_line("$2b$16$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234"), &LIMITS)
                .is_ok()
        );
    }

    fn user(email: &str) -> Record {
        let user = NewUser {
            id: Uuid::now_v7(),
            email: Email::parse(email).unwrap(),
            password_hash: "$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234".into(),
            created_at: now_millis(),
            registration_key: None,
            role: Role::User,
        };
        Record::User(UserRecord { user: user.into_user(), sessions: Vec::new() })
    }

    fn message(from: &User, to: &User, text: &str) -> Record {
        Record::Message(MessageRecord {
            message: Message {
                id: Uuid::now_v7(),
                from: Party::from(from),
                to: Party::from(to),
                content: MessageContent::parse(text, 100).unwrap(),
                created_at: now_millis(),
                read: true,
                expires_at: None,
            },
            idempotency: None,
            deleted_by_sender: false,
            deleted_by_recipient: false,
        })
    }

    fn account(record: &Record) -> &User {
        match record {
            Record::User(u) => &u.user,
            _ => unreachable!(),
        }
    }

    /// An export file of `records`, as msgd writes one.
    fn file(records: &[Record]) -> String {
        let header = Line::Header {
            version: FORMAT_VERSION,
            created_at: now_millis(),
            source: "sqlite".into(),
            msgd: "test".into(),
        };
        let mut text = serde_json::to_string(&header).unwrap() + "\n";
        let mut tally = Tally::default();
        for record in records {
            let line = record_line(record);
            tally.add(record, &line);
            text.push_str(&line);
        }
        let (counts, sha256) = tally.finish();
        text + &serde_json::to_string(&Line::End { counts, sha256 }).unwrap() + "\n"
    }

    fn read_all(text: &str) -> Result<Vec<Record>, String> {
        let mut reader = Reader::open(std::io::Cursor::new(text.to_owned()), LIMITS).map_err(|e| e.message)?;
        let mut rules = Rules::default();
        let mut records = Vec::new();
        while let Some((number, record)) = reader.next_record().map_err(|e| e.message)? {
            rules.check(&record).map_err(|problem| bad_line(number, problem).message)?;
            records.push(record);
        }
        Ok(records)
    }

    #[test]
    fn records_come_back_from_their_lines_exactly() {
        let (ada, bob) = (user("ada@example.com"), user("bob@example.com"));
        let hello = message(account(&ada), account(&bob), "hello\nbob");
        let records = vec![ada, bob, hello];
        assert_eq!(read_all(&file(&records)).unwrap(), records);
    }

    #[test]
    fn a_changed_file_is_refused_naming_the_line() {
        let (ada, bob) = (user("ada@example.com"), user("bob@example.com"));
        let good = file(&[ada.clone(), bob.clone()]);
        // A record edited after the export: the footer's digest no longer matches.
        let edited = good.replace("bob@example.com", "eve@example.com");
        assert!(read_all(&edited).unwrap_err().contains("the file was changed"), "{:?}", read_all(&edited));
        // Another spelling of the same record is refused, so the digest cannot depend on it.
        let lines: Vec<&str> = good.lines().collect();
        let respelled = good.replacen(lines[1], &lines[1].replacen(",", ", ", 1), 1);
        assert!(
            read_all(&respelled).unwrap_err().starts_with("line 2: the record is not written the way msgd writes it")
        );
        // Cut short: no footer.
        let cut: String = good.lines().take(2).map(|l| format!("{l}\n")).collect();
        assert!(read_all(&cut).unwrap_err().contains("ends without its footer"));
        // Not an export at all.
        assert!(read_all("{}\n").unwrap_err().starts_with("line 1:"));
    }

    #[test]
    fn records_must_be_in_order_and_refer_to_accounts_in_the_file() {
        let (ada, bob) = (user("ada@example.com"), user("bob@example.com"));
        let hello = message(account(&ada), account(&bob), "hello");
        // A message before its accounts.
        let out_of_order = read_all(&file(&[hello.clone(), ada.clone(), bob.clone()])).unwrap_err();
        assert!(out_of_order.starts_with("line 2:") || out_of_order.starts_with("line 3:"), "{out_of_order}");
        // A message to an account that is not in the file.
        let orphan = read_all(&file(&[ada.clone(), hello])).unwrap_err();
        assert!(orphan.contains("the recipient") && orphan.contains("is not in the file"), "{orphan}");
        // Two accounts with one email.
        let twin = user("ada@example.com");
        let twins = read_all(&file(&[ada, twin])).unwrap_err();
        assert!(twins.contains("a second account has the email ada@example.com"), "{twins}");
    }

    #[test]
    fn an_email_must_be_in_its_stored_form() {
        let line = record_line(&user("ada@example.com")).replace("ada@example.com", "Ada@Example.com");
        let line: Line = serde_json::from_str(line.trim_end()).unwrap();
        assert!(record_from_line(line, &LIMITS).unwrap_err().contains("is not in its stored form (ada@example.com)"));
    }
}
