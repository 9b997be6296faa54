//! Message commands: send (one message, or a file of them), list, watch.

use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::exit::{CliError, Exit};
use super::terminal::{self, read_stdin_text};
use super::{Ctx, Listing};
use crate::api::{DeletedEvent, ListParams, MailboxName, MessageView, ReadEvent, SendMessageRequest};
use crate::client::{Client, ClientError, Sent, StreamEvent};
use crate::domain::Email;

/// Tries per message: the first and up to four retries.
const SEND_ATTEMPTS: u32 = 5;
/// First wait before a retry or a reconnection; it doubles up to the maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Page size when following every page.
const ALL_PAGE: u32 = 1000;

impl Ctx {
    pub(super) async fn send(
        &self,
        text: Option<String>,
        to: Option<String>,
        expires: Option<String>,
    ) -> Result<(), CliError> {
        let text = match text.as_deref() {
            Some("-") => from_stdin()?,
            Some(_) => text.expect("matched Some"),
            None if !self.terminal.stdin_is_terminal() => from_stdin()?,
            None => {
                return Err(CliError::usage(
                    "input_required",
                    "nothing to send: msgctl send TEXT, pipe the text in, or use --file",
                ));
            }
        };
        let (client, source) = self.authed()?;
        // One key for this send and all its retries: the server stores it at most once.
        let key = format!("msgctl-{}", Uuid::new_v4());
        let body = SendMessageRequest { content: text, to, recipient_email: None, expires_in: expires };
        let sent = retrying(|note| self.terminal.status(note), || client.send_request(&body, Some(&key)))
            .await
            .map_err(|e| self.auth_failed(&source, e))?;
        // The id on stdout, so ID=$(msgctl send …) works; decoration on stderr.
        if self.terminal.json {
            self.terminal.out_json(&sent.message);
        } else {
            self.terminal.out(sent.message.id.to_string());
            self.terminal.status(format!("✓ Sent to {}", sent.message.to));
        }
        Ok(())
    }

    /// Sends each non-blank line of `path` (`-`: stdin) as a message. Each line's idempotency key is derived
    /// from the file's content, the recipient and the line number, so running the same file again sends
    /// only what did not get through the first time.
    pub(super) async fn send_file(&self, path: &Path, to: Option<String>) -> Result<(), CliError> {
        let bytes = if path.as_os_str() == "-" {
            read_stdin_text()?.into_bytes()
        } else {
            std::fs::read(path)
                .map_err(|e| CliError::usage("file_unreadable", format!("cannot read {}: {e}", path.display())))?
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| CliError::usage("file_unreadable", format!("{} is not UTF-8 text", path.display())))?;
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
            .filter(|(_, line)| !line.trim().is_empty())
            .collect();
        let (client, source) = self.authed()?;
        let recipient = to.as_deref().map(|t| Email::parse(t).map_or_else(|_| t.to_owned(), |e| e.to_string()));
        let file_digest = hex(&Sha256::digest(text.as_bytes()));

        let progress = if self.terminal.stderr_is_terminal() && !self.terminal.quiet && !self.terminal.json {
            let style =
                ProgressStyle::with_template("{spinner} {wide_bar} {pos}/{len} {msg}").expect("a valid template");
            ProgressBar::with_draw_target(Some(lines.len() as u64), ProgressDrawTarget::stderr()).with_style(style)
        } else {
            ProgressBar::hidden()
        };
        let (mut sent, mut already, mut failed) = (0usize, 0usize, Vec::new());
        let mut stopped = None;
        for &(number, line) in &lines {
            let key = file_line_key(&file_digest, recipient.as_deref(), number);
            match send_with_retries(&client, line, recipient.as_deref(), &key, |note| progress.set_message(note)).await
            {
                Ok(outcome) if outcome.replayed => already += 1,
                Ok(_) => sent += 1,
                Err(e) => {
                    let error = self.auth_failed(&source, e);
                    // A line the server refuses (too long, control characters) does not stop the others.
                    if error.exit == Exit::Usage {
                        failed.push((number, error));
                    } else {
                        stopped = Some((number, error));
                        break;
                    }
                }
            }
            progress.inc(1);
        }
        progress.finish_and_clear();

        let name = path.display().to_string();
        if self.terminal.json {
            let failures: Vec<_> =
                failed.iter().map(|(line, e)| json!({"line": line, "code": e.code, "error": e.message})).collect();
            self.terminal.out_json(&json!({
                "file": name, "lines": lines.len(), "sent": sent, "already_sent": already, "failed": failures,
                "stopped_at_line": stopped.as_ref().map(|(line, _)| line),
            }));
        } else {
            let before =
                if already > 0 { format!(" ({already} more were already sent before)") } else { String::new() };
            self.terminal.status(format!("✓ Sent {sent} of {} lines of {name}{before}", lines.len()));
            for (line, error) in &failed {
                self.terminal.status(format!("✗ line {line}: {}", error.message));
            }
        }
        if let Some((line, error)) = stopped {
            return Err(CliError::new(
                error.exit,
                error.code,
                format!("stopped at line {line}: {}; run the same command again to send the rest", error.message),
            ));
        }
        if let Some((_, first)) = failed.first() {
            return Err(CliError::new(
                first.exit,
                first.code.clone(),
                format!("{} of {} lines were refused", failed.len(), lines.len()),
            ));
        }
        Ok(())
    }

    pub(super) async fn list(&self, listing: Listing) -> Result<(), CliError> {
        let Listing { limit, sent, with, after, all, unread } = listing;
        let unread = unread.then_some(true);
        if !all && limit.is_some_and(|l| l > ALL_PAGE) {
            return Err(CliError::usage("invalid_limit", format!("--limit is at most {ALL_PAGE} without --all")));
        }
        let (client, source) = self.authed()?;
        let mailbox = sent.then_some(MailboxName::Sent);
        let fail = |e| self.auth_failed(&source, e);
        if all {
            // From the first message (after the nil id) unless told where to start.
            let after = after.or(Some(Uuid::nil()));
            let params = ListParams { limit: Some(ALL_PAGE), after, mailbox, with, before: None, unread };
            return self.list_all(&client, params, limit.map(|l| l as usize), fail).await;
        }
        // Without a cursor, the server answers the most recent page.
        let params = ListParams { limit, after, before: None, mailbox, with, unread };
        let page = client.list_page(&params).await.map_err(fail)?;
        if self.terminal.json {
            let mut array = self.terminal.json_array();
            for message in &page.messages {
                array.item(message);
            }
            return Ok(());
        }
        if page.messages.is_empty() {
            self.terminal.status(if unread.is_some() { "No unread messages." } else { "No messages." });
        }
        let width = Self::who_width(&page.messages, sent);
        let marks = Self::any_unread(&page.messages) && unread.is_none();
        for message in &page.messages {
            self.terminal.out(self.human_message(message, sent, width, marks));
        }
        if page.prev.is_some() {
            self.terminal.status("(older messages not shown: msgctl list --all, or --limit N)");
        } else if let (Some(_), Some(last)) = (&page.next, page.messages.last()) {
            self.terminal.status(format!("(more follow: msgctl list --after {})", last.id));
        }
        Ok(())
    }

    /// Follows the pages from `params`, printing at most `cap` messages; with `--json`, one array written
    /// as the pages come.
    async fn list_all(
        &self,
        client: &Client,
        params: ListParams,
        cap: Option<usize>,
        fail: impl Fn(ClientError) -> CliError,
    ) -> Result<(), CliError> {
        let sent_box = params.mailbox == Some(MailboxName::Sent);
        let spinner = if self.terminal.stderr_is_terminal() && !self.terminal.quiet && !self.terminal.json {
            let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            spinner.set_style(ProgressStyle::default_spinner());
            spinner.enable_steady_tick(Duration::from_millis(100));
            spinner
        } else {
            ProgressBar::hidden()
        };
        let mut page = client.list_page(&params).await.map_err(&fail)?;
        let mut array = self.terminal.json.then(|| self.terminal.json_array());
        let mut count = 0usize;
        let cap = cap.unwrap_or(usize::MAX);
        loop {
            let take = page.messages.len().min(cap - count);
            let width = Self::who_width(&page.messages[..take], sent_box);
            let marks = Self::any_unread(&page.messages[..take]) && params.unread.is_none();
            spinner.suspend(|| {
                for message in &page.messages[..take] {
                    match &mut array {
                        Some(array) => array.item(message),
                        None => self.terminal.out(self.human_message(message, sent_box, width, marks)),
                    }
                }
            });
            count += take;
            spinner.set_message(format!("{count} messages"));
            match page.next.take() {
                Some(next) if count < cap => page = client.follow(&next).await.map_err(&fail)?,
                _ => break,
            }
        }
        drop(array);
        spinner.finish_and_clear();
        if count == 0 {
            self.terminal.status("No messages.");
        }
        Ok(())
    }

    /// Follows the stream until Ctrl-C, reconnecting with backoff from the last message seen.
    pub(super) async fn watch(&self, after: Option<Uuid>) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        // Where to resume: the stream's own starting point (its first frame) until a message moves it, so
        // a reconnect misses nothing even when nothing was printed yet.
        let mut last = after;
        let mut backoff = FIRST_BACKOFF;
        let mut reconnecting = false;
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        loop {
            let connected = tokio::select! {
                connected = client.stream(last) => connected,
                _ = &mut interrupted => return Ok(()),
            };
            match connected {
                Ok(mut stream) => {
                    backoff = FIRST_BACKOFF;
                    if reconnecting {
                        self.terminal.status("Connected again; what arrived meanwhile follows");
                    } else {
                        self.terminal.status(format!("Watching {} for messages to you (Ctrl-C to stop)", self.server));
                    }
                    loop {
                        let event = tokio::select! {
                            event = stream.next() => event,
                            _ = &mut interrupted => return Ok(()),
                        };
                        last = stream.last_event_id().or(last);
                        match event {
                            Ok(Some(StreamEvent::Message(message))) => self.print_live(&message),
                            Ok(Some(StreamEvent::Read(event))) => self.print_read(&event),
                            Ok(Some(StreamEvent::Deleted(event))) => self.print_deleted(&event),
                            Ok(Some(StreamEvent::Closed { code, error })) if code.starts_with("token_") => {
                                return Err(self.auth_error(&source, CliError::new(Exit::Auth, code, error)));
                            }
                            Ok(Some(StreamEvent::Closed { .. })) => {
                                self.terminal.status("The server is shutting down; reconnecting");
                                break;
                            }
                            Ok(None) => {
                                self.terminal.status("The connection ended; reconnecting");
                                break;
                            }
                            Err(e) => {
                                self.terminal.status(format!("Connection lost ({e}); reconnecting"));
                                break;
                            }
                        }
                    }
                    reconnecting = true;
                }
                Err(e) => {
                    let error = self.auth_failed(&source, e);
                    if matches!(error.exit, Exit::Auth | Exit::Usage | Exit::Denied) {
                        return Err(error);
                    }
                    self.terminal.status(format!("{}; retrying in {} s", error.message, backoff.as_secs_f64()));
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = &mut interrupted => return Ok(()),
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn print_live(&self, message: &MessageView) {
        if self.terminal.json {
            self.terminal.out_json_line(message);
        } else {
            self.terminal.out(self.human_message(message, false, 0, false));
        }
    }

    /// A read-state change from this or another device: a JSON line with `"event": "read"`, or a note on
    /// stderr.
    fn print_read(&self, event: &ReadEvent) {
        if self.terminal.json {
            let mut line = serde_json::to_value(event).expect("an event serializes");
            line["event"] = json!("read");
            self.terminal.out_json_line(&line);
            return;
        }
        let what = match (&event.ids, event.up_to, &event.with) {
            (Some(ids), _, _) => format!("{} message{}", ids.len(), if ids.len() == 1 { "" } else { "s" }),
            (None, Some(_), Some(with)) => format!("messages from {}", terminal::visible(with)),
            _ => "messages".to_owned(),
        };
        let state = if event.read { "read" } else { "unread" };
        self.terminal.status(format!("({what} marked {state} on a device; {} unread)", event.unread));
    }

    /// A deletion from this or another device.
    fn print_deleted(&self, event: &DeletedEvent) {
        if self.terminal.json {
            let mut line = serde_json::to_value(event).expect("an event serializes");
            line["event"] = json!("deleted");
            self.terminal.out_json_line(&line);
            return;
        }
        self.terminal.status(format!("(message {} deleted)", event.id));
    }
}

/// Sends with `key`, retrying connection failures and 502/503/504 answers with growing waits (or the
/// server's `Retry-After`); the idempotency key makes every retry safe.
async fn send_with_retries(
    client: &Client,
    content: &str,
    to: Option<&str>,
    key: &str,
    note: impl Fn(String),
) -> Result<Sent, ClientError> {
    retrying(note, || client.send_to(content, to, Some(key))).await
}

/// Runs `attempt` until it succeeds, fails for good, or [`SEND_ATTEMPTS`] are used up: connection
/// failures and 502/503/504 answers are retried with growing waits (or the server's `Retry-After`).
/// Only for requests an idempotency key makes safe to repeat.
pub(super) async fn retrying<T, F, Fut>(note: impl Fn(String), attempt: F) -> Result<T, ClientError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let mut delay = FIRST_BACKOFF;
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if tries < SEND_ATTEMPTS && is_transient(&e) => {
                let wait = match &e {
                    ClientError::Api { retry_after: Some(after), .. } => *after,
                    _ => delay,
                }
                .min(MAX_BACKOFF);
                note(format!("{e}; retrying in {:.1} s", wait.as_secs_f64()));
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(MAX_BACKOFF);
                tries += 1;
            }
            outcome => return outcome,
        }
    }
}

fn is_transient(error: &ClientError) -> bool {
    match error {
        ClientError::Unreachable { .. } | ClientError::Timeout { .. } => true,
        ClientError::Api { status, .. } => matches!(status.as_u16(), 502..=504),
        _ => false,
    }
}

/// The idempotency key of one line of a file: `msgctl-file-` and 40 hex digits of
/// SHA-256(file digest, recipient, line number).
fn file_line_key(file_digest: &str, recipient: Option<&str>, line: usize) -> String {
    let mut hash = Sha256::new();
    hash.update(file_digest.as_bytes());
    hash.update(b"\0");
    hash.update(recipient.unwrap_or("").as_bytes());
    hash.update(b"\0");
    hash.update(line.to_string().as_bytes());
    format!("msgctl-file-{}", &hex(&hash.finalize())[..40])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text of a message piped in on stdin, without the one trailing newline `echo` adds.
fn from_stdin() -> Result<String, CliError> {
    let text = read_stdin_text()?;
    let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_depend_on_content_recipient_and_line() {
        let a = file_line_key("d1", None, 1);
        assert_eq!(a, file_line_key("d1", None, 1), "stable across runs");
        assert!(a.starts_with("msgctl-file-") && a.len() == "msgctl-file-".len() + 40);
        assert_ne!(a, file_line_key("d2", None, 1));
        assert_ne!(a, file_line_key("d1", Some("bob@example.com"), 1));
        assert_ne!(a, file_line_key("d1", None, 2));
    }
}
