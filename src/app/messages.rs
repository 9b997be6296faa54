//! Messages: sending (to oneself or to another account, idempotently, with the lookup throttle) and
//! listing (inbox, sent box, one conversation) in cursor pages.

use sha2::{Digest, Sha256};
use tracing::{debug, info};
use uuid::Uuid;

use super::context::App;
use super::error::AppError;
use super::identity::{self, Caller, Credential};
use crate::domain::{Email, Message, MessageContent, Party, Scope, User};
use crate::store::{
    DeleteFor, Idempotency, Inserted, Mailbox, MarkOutcome, Marking, MessageQuery, NewMessage, Read, UnreadFrom,
    read_two,
};

/// Messages on a page unless the caller asks for another number.
pub const DEFAULT_PAGE: u32 = 100;
/// The most messages on a page.
pub const MAX_PAGE: u32 = 1000;

/// The recipient a send names, `to` or its alias `recipient_email` (not both): the field and the email;
/// `None`: a note to oneself.
pub fn recipient(to: Option<&str>, alias: Option<&str>) -> Result<Option<(&'static str, Email)>, AppError> {
    let (field, raw) = match (to, alias) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "recipient_email",
                "Send the recipient as to or as recipient_email, not both",
            ));
        }
        (Some(to), None) => ("to", to),
        (None, Some(alias)) => ("recipient_email", alias),
        (None, None) => return Ok(None),
    };
    let email = Email::parse(raw).map_err(|error| AppError::Recipient { field, error })?;
    Ok(Some((field, email)))
}

/// Whether an idempotency key is usable: 1 to 255 visible ASCII characters.
pub fn idempotency_key(raw: Option<&[u8]>) -> Result<Option<String>, AppError> {
    let Some(bytes) = raw else { return Ok(None) };
    if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(AppError::InvalidIdempotencyKey);
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// The sender of a message, checked. A session sending to another account, the common case, has its
/// account and the recipient (`to`) read together; the recipient found is returned for [`send`].
pub async fn sender(
    app: &App,
    credential: &Credential,
    to: Option<&Email>,
) -> Result<(Caller, Option<Option<User>>), AppError> {
    let (caller, found) = match (credential, to) {
        (Credential::Session(claims), Some(email)) => {
            let [user, found] =
                read_two(app.store.as_ref(), [Read::UserById(claims.sub), Read::UserByEmail(email)]).await?;
            (identity::session_caller(user.into_user(), claims)?, Some(found.into_user()))
        }
        _ => (identity::current(app, credential).await?, None),
    };
    Ok((identity::accepted(app, caller), found))
}

/// A message to send.
pub struct Outgoing {
    pub content: String,
    /// What [`recipient`] made of the request.
    pub recipient: Result<Option<(&'static str, Email)>, AppError>,
    /// The raw idempotency key, if the request had one.
    pub key: Option<Vec<u8>>,
    /// `expires_in` as sent.
    pub expires_in: Option<String>,
}

/// How long after it is stored a message sent with `expires_in` expires, checked against the policy's
/// maximum.
pub fn expiry(app: &App, expires_in: Option<&str>) -> Result<Option<std::time::Duration>, AppError> {
    let Some(raw) = expires_in else { return Ok(None) };
    let most = app.policy.max_expires_in;
    let lifetime = crate::domain::message_lifetime(raw).ok_or_else(|| {
        AppError::invalid(
            "expires_in",
            "The field expires_in must be a number and a unit: s, m (minutes), h, d, w or y, such as 7d; or null",
        )
    })?;
    if lifetime > most {
        return Err(AppError::invalid(
            "expires_in",
            format!("The field expires_in may be at most {} here (MAX_EXPIRES_IN)", humantime::format_duration(most)),
        ));
    }
    Ok(Some(lifetime))
}

/// Stores a message from `sender` (as [`sender`] found it, with the recipient it may have read); a retry
/// with the same idempotency key gets the first message back (`true`: replayed).
pub async fn send(
    app: &App,
    sender: Caller,
    found: Option<Option<User>>,
    outgoing: Outgoing,
) -> Result<(Message, bool), AppError> {
    sender.require(Scope::Send)?;
    let user = sender.user;
    let content = MessageContent::parse(outgoing.content, app.policy.max_message_bytes)?;
    let key = idempotency_key(outgoing.key.as_deref())?;
    let expires_in = expiry(app, outgoing.expires_in.as_deref())?;
    let me = Party::from(&user);
    let to = match outgoing.recipient? {
        None => me.clone(),
        Some((field, email)) => {
            looked_up(app, user.id, &email)?;
            let found = match found {
                Some(found) => found,
                None => app.store.user_by_email(&email).await?,
            };
            Party::from(&found.ok_or(AppError::RecipientNotFound(field))?)
        }
    };
    let idempotency = key.map(|key| Idempotency { key, fingerprint: fingerprint(&to, &content) });
    let new = NewMessage { from: me, to, content: content.clone(), idempotency, expires_in };
    let inserted = app.store.insert_message(new).await?;
    let replayed = matches!(inserted, Inserted::Replayed(_));
    let mut message = inserted.into_message();
    // A retry answers what was sent (the fingerprint matched it), even if both parties have deleted the
    // message since and only its id and key are kept: the retry does not bring it back.
    message.content = content;
    if replayed {
        info!(message.id = %message.id, "message send retried; the earlier one answers");
    } else {
        info!(message.id = %message.id, recipient.id = %message.to.id, "message sent");
    }
    Ok((message, replayed))
}

/// Counts an account looked up by email against the caller's lookup budget.
fn looked_up(app: &App, caller: Uuid, email: &Email) -> Result<(), AppError> {
    app.throttle.check_lookup(&caller.to_string(), email.as_str()).map_err(|wait| {
        tracing::warn!(retry_after_secs = wait.as_secs(), "rate-limited: too many accounts looked up by email");
        AppError::RateLimited(wait)
    })
}

/// What an idempotent retry must match: the recipient and the content.
fn fingerprint(to: &Party, content: &MessageContent) -> String {
    let mut hash = Sha256::new();
    hash.update(to.id.as_bytes());
    hash.update(content.as_str().as_bytes());
    format!("{:x}", hash.finalize())
}

/// Which box a page is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxName {
    Inbox,
    Sent,
}

/// A page to list.
#[derive(Debug, Clone)]
pub struct Page {
    /// `None`: the inbox, or with `with` both directions.
    pub mailbox: Option<BoxName>,
    /// Only the conversation with this account.
    pub with: Option<Email>,
    pub after: Option<Uuid>,
    pub before: Option<Uuid>,
    /// 1 to [`MAX_PAGE`]; `None`: [`DEFAULT_PAGE`].
    pub limit: Option<u32>,
    /// Only unread messages to the reader.
    pub unread: bool,
}

impl Page {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_PAGE)
    }

    /// A page walked backwards from its newest message: without `after` (the newest ones, or the newest
    /// ones before `before`).
    pub fn backwards(&self) -> bool {
        self.after.is_none()
    }

    /// The store query for `owner`'s page: one more message than the page holds, to tell whether more
    /// follow.
    fn query(&self, owner: Uuid, mailbox: Mailbox) -> MessageQuery {
        let before = match (self.after, self.before) {
            (None, None) => Some(Uuid::max()),
            (_, before) => before,
        };
        MessageQuery {
            owner,
            mailbox,
            after: self.after,
            before,
            limit: self.limit() as usize + 1,
            unread: self.unread,
        }
    }
}

/// A page listed.
#[derive(Debug)]
pub struct Listed {
    pub messages: Vec<Message>,
    /// More messages follow (after the last one, or before the first one of a backwards page).
    pub more: bool,
}

/// The reader of a page, checked. A session reading its own inbox or sent box (`page` parsed, without
/// `with`), the common case, has its account and the page read together, from one snapshot.
pub async fn reader(
    app: &App,
    credential: &Credential,
    page: Option<&Page>,
) -> Result<(Caller, Option<Listed>), AppError> {
    match (credential, page) {
        (Credential::Session(claims), Some(page)) if page.with.is_none() => {
            let mailbox = if page.mailbox == Some(BoxName::Sent) { Mailbox::Sent } else { Mailbox::Inbox };
            let query = page.query(claims.sub, mailbox);
            let [user, messages] =
                read_two(app.store.as_ref(), [Read::UserById(claims.sub), Read::Messages(&query)]).await?;
            let caller = identity::accepted(app, identity::session_caller(user.into_user(), claims)?);
            Ok((caller, Some(trimmed(page, messages.into_messages()))))
        }
        _ => {
            let caller = identity::accepted(app, identity::current(app, credential).await?);
            caller.require(Scope::Read)?;
            Ok((caller, None))
        }
    }
}

/// A page of the reader's messages, oldest first.
pub async fn list(app: &App, reader: &Caller, page: &Page) -> Result<Listed, AppError> {
    let user = &reader.user;
    let mailbox = match &page.with {
        Some(email) => {
            looked_up(app, user.id, email)?;
            let other = app.store.user_by_email(email).await?.ok_or(AppError::UserNotFound)?.id;
            match page.mailbox {
                None => Mailbox::With(other),
                Some(BoxName::Inbox) => Mailbox::From(other),
                Some(BoxName::Sent) => Mailbox::To(other),
            }
        }
        None if page.mailbox == Some(BoxName::Sent) => Mailbox::Sent,
        None => Mailbox::Inbox,
    };
    let messages = app.store.list_messages(&page.query(user.id, mailbox)).await?;
    Ok(trimmed(page, messages))
}

/// The page without the one extra message read to tell whether more follow.
fn trimmed(page: &Page, mut messages: Vec<Message>) -> Listed {
    let backwards = page.backwards();
    let more = messages.len() > page.limit() as usize;
    if more {
        if backwards {
            messages.remove(0);
        } else {
            messages.pop();
        }
    }
    debug!(count = messages.len(), "messages listed");
    Listed { messages, more }
}

/// The most ids one mark request may name.
pub const MAX_IDS: usize = 1000;

/// What a `POST /messages/read` or `/messages/unread` asks for.
#[derive(Debug, Clone)]
pub enum MarkRequest {
    /// Mark read every inbox message up to this id, from `with` only if given.
    UpTo { id: Uuid, with: Option<Email> },
    /// Mark these read (`true`) or unread.
    Ids { ids: Vec<Uuid>, read: bool },
}

impl MarkRequest {
    /// What a mark-read request asks for: every message up to `up_to` (from `with` only, if given), or
    /// the messages `ids` — one or the other.
    pub fn to_read(up_to: Option<Uuid>, ids: Option<Vec<Uuid>>, with: Option<&str>) -> Result<Self, AppError> {
        match (up_to, ids, with) {
            (Some(id), None, with) => {
                let with = with
                    .map(|raw| Email::parse(raw).map_err(|e| AppError::invalid("with", format!("The field with {e}"))))
                    .transpose()?;
                Ok(MarkRequest::UpTo { id, with })
            }
            (None, Some(ids), None) => Ok(MarkRequest::Ids { ids, read: true }),
            (None, Some(_), Some(_)) => Err(AppError::invalid("with", "The field with goes with up_to, not with ids")),
            (Some(_), Some(_), _) => Err(AppError::invalid("ids", "Send up_to or ids, not both")),
            (None, None, _) => Err(AppError::invalid("up_to", "Send up_to (a message id) or ids (a list of them)")),
        }
    }
}

/// Marks messages of the caller's inbox read or unread; every device of the account is told.
pub async fn mark(app: &App, caller: &Caller, request: MarkRequest) -> Result<MarkOutcome, AppError> {
    caller.require(Scope::Read)?;
    let owner = caller.user.id;
    let marking = match request {
        MarkRequest::UpTo { id, with } => {
            let from = match with {
                Some(email) => {
                    looked_up(app, owner, &email)?;
                    let other = app.store.user_by_email(&email).await?.ok_or(AppError::UserNotFound)?;
                    Some(Party::from(&other))
                }
                None => None,
            };
            Marking::ReadUpTo { id, from }
        }
        MarkRequest::Ids { ids, read } => {
            if ids.is_empty() || ids.len() > MAX_IDS {
                return Err(AppError::invalid("ids", format!("The field ids must list 1 to {MAX_IDS} message ids")));
            }
            let mut ids = ids;
            ids.sort();
            ids.dedup();
            Marking::Ids { ids, read }
        }
    };
    let read = marking.read();
    let outcome = app.store.mark(owner, marking).await?;
    debug!(changed = outcome.changed, unread = outcome.unread, read, "messages marked");
    Ok(outcome)
}

/// The caller's unread messages: the total and by sender, the most recent first.
pub async fn unread(app: &App, caller: &Caller) -> Result<(u64, Vec<UnreadFrom>), AppError> {
    caller.require(Scope::Read)?;
    let by_sender = app.store.unread(caller.user.id).await?;
    Ok((by_sender.iter().map(|s| s.count).sum(), by_sender))
}

/// Deletes the caller's copy of a message or, by its sender within the delete window, both copies.
/// Every device of the accounts concerned is told.
pub async fn delete(app: &App, caller: &Caller, id: Uuid, scope: DeleteFor) -> Result<(), AppError> {
    caller.require(Scope::Send)?;
    let owner = caller.user.id;
    if scope == DeleteFor::Everyone {
        let message = app.store.message_for(owner, id).await?.ok_or(AppError::MessageNotFound)?;
        if message.from.id != owner {
            return Err(AppError::NotSender);
        }
        let window = app.policy.delete_window;
        let age = time::OffsetDateTime::now_utc() - message.created_at;
        if window.is_none_or(|window| age > window) {
            return Err(AppError::DeleteWindowPassed(window));
        }
    }
    match app.store.delete_message(owner, id, scope).await {
        Ok(_) => {}
        Err(crate::store::StoreError::NotFound) => return Err(AppError::MessageNotFound),
        Err(e) => return Err(e.into()),
    }
    let label = if scope == DeleteFor::Everyone { "everyone" } else { "me" };
    metrics::counter!(crate::telemetry::names::MESSAGES_DELETED, "for" => label).increment(1);
    info!(message.id = %id, scope = label, "message deleted");
    Ok(())
}

/// Removes expired messages (and messages both parties deleted, once their send can no longer be
/// retried) every `purge_interval`, until aborted. Every instance runs this; the store's lease lets one
/// of them do each round. (Expired messages are never served from the moment they expire: this only
/// frees their space.)
pub async fn purge_periodically(app: std::sync::Arc<App>) {
    let every = app.policy.purge_interval;
    // Instances started together do not all try at the same moment.
    let first = every.mul_f64(rand::random_range(0.1..1.0));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // A little under the interval: this instance's next tick finds its own lease over.
        match app.store.purge(time::OffsetDateTime::now_utc(), every.mul_f64(0.9)).await {
            Ok(Some(purged)) => {
                metrics::counter!(crate::telemetry::names::MESSAGES_EXPIRED).increment(purged.expired);
                metrics::counter!(crate::telemetry::names::MESSAGES_PURGED).increment(purged.tombstones);
                if purged.expired + purged.tombstones > 0 {
                    info!(
                        expired = purged.expired,
                        deleted = purged.tombstones,
                        "expired and deleted messages removed"
                    );
                }
            }
            Ok(None) => debug!("another instance removes expired messages this round"),
            Err(e) => tracing::warn!(error = %e, "removing expired messages failed; trying again next round"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailError, now_millis};

    #[test]
    fn a_send_names_its_recipient_once() {
        assert!(recipient(None, None).unwrap().is_none());
        let (field, email) = recipient(Some("Bob@Example.com"), None).unwrap().unwrap();
        assert_eq!((field, email.as_str()), ("to", "bob@example.com"));
        assert_eq!(recipient(None, Some("bob@example.com")).unwrap().unwrap().0, "recipient_email");
        assert!(matches!(
            recipient(Some("a@b.co"), Some("a@b.co")),
            Err(AppError::Invalid { field: "recipient_email", .. })
        ));
        assert!(matches!(
            recipient(Some("nope"), None),
            Err(AppError::Recipient { field: "to", error: EmailError::Malformed })
        ));
    }

    #[test]
    fn a_mark_read_names_messages_up_to_one_or_by_id_never_both() {
        let id = Uuid::now_v7();
        assert!(matches!(MarkRequest::to_read(Some(id), None, None), Ok(MarkRequest::UpTo { with: None, .. })));
        let with = MarkRequest::to_read(Some(id), None, Some("Bob@Example.com")).unwrap();
        assert!(matches!(with, MarkRequest::UpTo { with: Some(e), .. } if e.as_str() == "bob@example.com"));
        assert!(matches!(MarkRequest::to_read(None, Some(vec![id]), None), Ok(MarkRequest::Ids { read: true, .. })));
        for (up_to, ids, with, field) in [
            (None, None, None, "up_to"),
            (Some(id), Some(vec![id]), None, "ids"),
            (None, Some(vec![id]), Some("bob@example.com"), "with"),
            (Some(id), None, Some("not an email"), "with"),
        ] {
            match MarkRequest::to_read(up_to, ids, with) {
                Err(AppError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn idempotency_keys_are_1_to_255_visible_ascii_characters() {
        assert_eq!(idempotency_key(None).unwrap(), None);
        assert_eq!(idempotency_key(Some(b"k-1")).unwrap().as_deref(), Some("k-1"));
        assert!(idempotency_key(Some(&[b'k'; 255])).is_ok());
        for bad in [&b""[..], &[b'k'; 256][..], b"with space", "é".as_bytes()] {
            assert!(matches!(idempotency_key(Some(bad)), Err(AppError::InvalidIdempotencyKey)), "{bad:?}");
        }
    }

    fn message(n: u128) -> Message {
        let party = Party { id: Uuid::nil(), email: Email::parse("a@b.co").unwrap() };
        Message {
            id: Uuid::from_u128(n),
            from: party.clone(),
            to: party,
            content: MessageContent::parse("m", 10).unwrap(),
            created_at: now_millis(),
            read: false,
            expires_at: None,
        }
    }

    fn page(after: Option<u128>, before: Option<u128>, limit: u32) -> Page {
        Page {
            mailbox: None,
            with: None,
            after: after.map(Uuid::from_u128),
            before: before.map(Uuid::from_u128),
            limit: Some(limit),
            unread: false,
        }
    }

    #[test]
    fn a_page_reads_one_more_than_it_shows_and_keeps_the_right_end() {
        let owner = Uuid::new_v4();
        // No cursor: the newest messages, read backwards from the top.
        let newest = page(None, None, 2);
        let query = newest.query(owner, Mailbox::Inbox);
        assert_eq!((query.after, query.before, query.limit), (None, Some(Uuid::max()), 3));
        let listed = trimmed(&newest, (1..=3).map(message).collect());
        assert!(listed.more);
        assert_eq!(listed.messages.iter().map(|m| m.id.as_u128()).collect::<Vec<_>>(), [2, 3], "the oldest dropped");
        // Walking forward: the extra message is the one after the page.
        let forward = page(Some(0), None, 2);
        let listed = trimmed(&forward, (1..=3).map(message).collect());
        assert_eq!(listed.messages.iter().map(|m| m.id.as_u128()).collect::<Vec<_>>(), [1, 2]);
        let short = trimmed(&forward, (1..=2).map(message).collect());
        assert!(!short.more);
    }
}
