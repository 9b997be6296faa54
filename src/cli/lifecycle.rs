//! A message's life after it is sent: read state (`read`, `unread`, `status`) and deletion.

use serde_json::json;
use uuid::Uuid;

use super::Ctx;
use super::exit::{CliError, Exit};
use super::terminal;
use crate::api::{MarkReadRequest, UnreadResponse};

impl Ctx {
    /// `msgctl read`: the ids named, every message to you (`--all`), or every one from one account.
    pub(super) async fn read(&self, ids: Vec<Uuid>, all: bool, with: Option<String>) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let fail = |e| self.auth_failed(&source, e);
        let body = if ids.is_empty() {
            // Up to the newest unread message there is now: what arrives meanwhile stays unread.
            let unread = client.unread().await.map_err(fail)?;
            let newest = match &with {
                Some(email) => {
                    let wanted = email.trim().to_lowercase();
                    unread.by_sender.iter().filter(|s| s.email == wanted).map(|s| s.newest_id).max()
                }
                None => unread.by_sender.iter().map(|s| s.newest_id).max(),
            };
            let Some(up_to) = newest else {
                return self.marked(0, unread.total, "read");
            };
            debug_assert!(all || with.is_some());
            MarkReadRequest { up_to: Some(up_to), with, ids: None }
        } else {
            MarkReadRequest { up_to: None, with: None, ids: Some(ids) }
        };
        let outcome = client.mark_read(&body).await.map_err(fail)?;
        self.marked(outcome.marked, outcome.unread, "read")
    }

    /// `msgctl unread ID…`.
    pub(super) async fn unread(&self, ids: Vec<Uuid>) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let outcome = client.mark_unread(&ids).await.map_err(|e| self.auth_failed(&source, e))?;
        self.marked(outcome.marked, outcome.unread, "unread")
    }

    fn marked(&self, marked: u64, unread: u64, state: &str) -> Result<(), CliError> {
        if self.terminal.json {
            self.terminal.out_json(&json!({"marked": marked, "unread": unread}));
        } else {
            let plural = if marked == 1 { "" } else { "s" };
            self.terminal.status(format!("✓ Marked {marked} message{plural} {state}; {unread} unread"));
        }
        Ok(())
    }

    /// `msgctl delete ID…`: asks first at a terminal, unless `--yes`.
    pub(super) async fn delete(&self, ids: Vec<Uuid>, for_everyone: bool, yes: bool) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let whose = if for_everyone { "for everyone" } else { "for you (the other party keeps theirs)" };
        let count = if ids.len() == 1 { "1 message".to_owned() } else { format!("{} messages", ids.len()) };
        if !yes {
            if !self.terminal.interactive {
                return Err(CliError::usage(
                    "confirmation_required",
                    format!("deleting {count} {whose} cannot be undone: add --yes"),
                ));
            }
            if !self.terminal.confirm(&format!("Delete {count} {whose}? This cannot be undone"))? {
                return Err(CliError::new(Exit::Other, "cancelled", "nothing was deleted"));
            }
        }
        let mut deleted = Vec::new();
        for id in &ids {
            if let Err(e) = client.delete_message(*id, for_everyone).await {
                let error = self.auth_failed(&source, e);
                let done =
                    if deleted.is_empty() { String::new() } else { format!(" ({} deleted before it)", deleted.len()) };
                return Err(CliError::new(error.exit, error.code, format!("{id}: {}{done}", error.message)));
            }
            deleted.push(*id);
        }
        if self.terminal.json {
            self.terminal.out_json(&json!({"deleted": deleted, "for": if for_everyone { "everyone" } else { "me" }}));
        } else {
            self.terminal.status(format!("✓ Deleted {count} {whose}"));
        }
        Ok(())
    }

    /// `msgctl status`: the account, server and profile, and the unread messages by sender.
    pub(super) async fn status(&self) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let fail = |e| self.auth_failed(&source, e);
        let me = client.me().await.map_err(fail)?;
        let unread: UnreadResponse = client.unread().await.map_err(fail)?;
        if self.terminal.json {
            self.terminal.out_json(&json!({
                "server": self.server,
                "profile": self.sessions.profile(),
                "email": me.email,
                "user_id": me.user_id,
                "unread": unread,
            }));
            return Ok(());
        }
        self.terminal.out(format!(
            "Logged in to {} as {} (profile {})",
            self.server,
            me.email,
            self.sessions.profile()
        ));
        if unread.total == 0 {
            self.terminal.out("No unread messages");
            return Ok(());
        }
        let plural = if unread.total == 1 { "" } else { "s" };
        self.terminal.out(format!("{} unread message{plural}:", unread.total));
        use unicode_width::UnicodeWidthStr;
        let emails: Vec<String> = unread.by_sender.iter().map(|s| terminal::visible(&s.email).into_owned()).collect();
        let width = emails.iter().map(|e| e.width()).max().unwrap_or(0);
        for (sender, email) in unread.by_sender.iter().zip(&emails) {
            let padding = " ".repeat(width - email.width());
            self.terminal.out(format!("  {email}{padding}  {}", sender.count));
        }
        Ok(())
    }
}
