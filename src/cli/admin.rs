//! `msgctl admin`: accounts, for administrators, through the admin API.

use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::account::normalized;
use super::exit::{CliError, Exit};
use super::terminal::{read_stdin_text, visible};
use super::{AdminCommand, AdminUsersCommand, Ctx, TokenSource};
use crate::api::{AdminUser, RoleName, StatusName};
use crate::client::{Client, UserFilter};

fn role_word(role: RoleName) -> &'static str {
    match role {
        RoleName::User => "user",
        RoleName::Admin => "admin",
    }
}

fn status_word(status: StatusName) -> &'static str {
    match status {
        StatusName::Active => "active",
        StatusName::Deactivated => "deactivated",
    }
}

/// The most accounts one page holds.
const MAX_PAGE: u32 = 1000;

impl Ctx {
    pub(super) async fn admin(&self, command: AdminCommand) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let (AdminCommand::Users(command) | AdminCommand::Short(command)) = command;
        let result = match command {
            AdminUsersCommand::List { deactivated, all, email, limit } => {
                self.list_users(&client, deactivated, all, email, limit).await
            }
            AdminUsersCommand::Create { emails, file, admin, password_stdin } => {
                if password_stdin && file.as_deref().is_some_and(|f| f.as_os_str() == "-") {
                    return Err(CliError::usage(
                        "stdin_taken",
                        "--file - and --password-stdin both read stdin: put the emails in a file",
                    ));
                }
                let emails = match file {
                    Some(file) => read_emails(&file)?,
                    None => emails,
                };
                // Making administrators needs your password; asked once for the whole list.
                let password = if admin { Some(self.own_password(password_stdin)?) } else { None };
                self.create_users(&client, &source, emails, admin, password.as_deref()).await
            }
            AdminUsersCommand::Deactivate { email } => {
                let user = self.account(&client, &email).await?;
                let user = client.admin().deactivate(user.user_id).await?;
                self.changed(&user, "Deactivated", "its sessions and tokens are refused from now on")
            }
            AdminUsersCommand::Activate { email } => {
                let user = self.account(&client, &email).await?;
                let user = client.admin().activate(user.user_id).await?;
                self.changed(&user, "Activated", "its owner can log in again")
            }
            AdminUsersCommand::Delete { email, yes } => self.delete_user(&client, &email, yes).await,
            AdminUsersCommand::ResetPassword { email, password_stdin } => {
                let user = self.account(&client, &email).await?;
                let reset = self
                    .with_own_password(password_stdin, &source, |password| {
                        let client = &client;
                        async move { client.admin().reset_password(user.user_id, &password).await }
                    })
                    .await?;
                if self.terminal.json {
                    self.terminal.out_json(&json!({
                        "user_id": user.user_id, "email": user.email, "generated_password": reset.generated_password,
                    }));
                } else if self.terminal.quiet {
                    self.terminal.out(&reset.generated_password);
                } else {
                    self.terminal.status(format!("✓ New password for {}; its sessions are revoked", user.email));
                    self.terminal.out(format!("Password: {}", reset.generated_password));
                    self.terminal.status("! Pass it on now: it is shown only this once.");
                }
                Ok(())
            }
            AdminUsersCommand::Unlock { email } => {
                let user = self.account(&client, &email).await?;
                client.admin().unlock(user.user_id).await?;
                if self.terminal.json {
                    self.terminal.out_json(&json!({"user_id": user.user_id, "email": user.email, "unlocked": true}));
                } else {
                    self.terminal.status(format!("✓ Unlocked {}: failed logins are forgotten", user.email));
                }
                Ok(())
            }
            AdminUsersCommand::SetRole { email, role, password_stdin } => {
                let user = self.account(&client, &email).await?;
                let user = match role {
                    RoleName::Admin => {
                        self.with_own_password(password_stdin, &source, |password| {
                            let client = &client;
                            async move { client.admin().set_role(user.user_id, role, Some(&password)).await }
                        })
                        .await?
                    }
                    RoleName::User => client.admin().set_role(user.user_id, role, None).await?,
                };
                self.changed(&user, "Changed", &format!("role {}", role_word(user.role)))
            }
        };
        result.map_err(|e| self.auth_error(&source, e))
    }

    /// The account with this email, or exit 4.
    async fn account(&self, client: &Client, email: &str) -> Result<AdminUser, CliError> {
        let wanted = normalized(email);
        client.admin().find(&wanted).await?.ok_or_else(|| {
            CliError::new(Exit::NotFound, "user_not_found", format!("no account has the email {wanted}"))
        })
    }

    fn changed(&self, user: &AdminUser, done: &str, detail: &str) -> Result<(), CliError> {
        if self.terminal.json {
            self.terminal.out_json(user);
        } else {
            self.terminal.status(format!("✓ {done} {}: {detail}", user.email));
        }
        Ok(())
    }

    async fn list_users(
        &self,
        client: &Client,
        deactivated: bool,
        all: bool,
        email: Option<String>,
        limit: Option<u32>,
    ) -> Result<(), CliError> {
        let page_size = match (all, limit) {
            (true, Some(limit)) => limit.min(MAX_PAGE),
            (true, None) => MAX_PAGE,
            (false, limit) => limit.unwrap_or(100).min(MAX_PAGE),
        };
        let wanted = if all { limit.map(|l| l as usize) } else { Some(page_size as usize) };
        let filter = UserFilter {
            limit: Some(page_size),
            after: None,
            status: deactivated.then(|| "deactivated".to_owned()),
            email,
        };
        let mut page = client.admin().users(&filter).await?;
        let mut users: Vec<AdminUser> = Vec::new();
        let mut json = self.terminal.json.then(|| self.terminal.json_array());
        loop {
            for user in page.users.drain(..) {
                if wanted.is_some_and(|w| users.len() >= w) {
                    break;
                }
                if let Some(array) = json.as_mut() {
                    array.item(&user);
                }
                users.push(user);
            }
            let more = wanted.is_none_or(|w| users.len() < w);
            match page.next.take() {
                Some(next) if all && more => page = client.admin().follow(&next).await?,
                _ => break,
            }
        }
        if json.is_some() {
            return Ok(());
        }
        if users.is_empty() {
            self.terminal.status("No accounts match");
            return Ok(());
        }
        let when = |at: Option<time::OffsetDateTime>| at.map_or_else(|| "never".to_owned(), |at| self.local_time(at));
        let rows: Vec<Vec<String>> = users
            .iter()
            .map(|u| {
                vec![
                    visible(&u.email).into_owned(),
                    role_word(u.role).to_owned(),
                    status_word(u.status).to_owned(),
                    self.local_time(u.created_at),
                    when(u.last_login_at),
                    u.user_id.to_string(),
                ]
            })
            .collect();
        self.terminal.table(&["EMAIL", "ROLE", "STATUS", "CREATED", "LAST LOGIN", "ID"], &rows);
        if !all && page.next.is_some() {
            self.terminal.status("More accounts follow: --all lists every one");
        }
        Ok(())
    }

    /// Creates each account that does not exist yet; reports every email as created, exists or invalid.
    async fn create_users(
        &self,
        client: &Client,
        source: &TokenSource,
        emails: Vec<String>,
        admin: bool,
        own_password: Option<&str>,
    ) -> Result<(), CliError> {
        let role = admin.then_some(RoleName::Admin);
        let progress = if emails.len() > 1 && self.terminal.stderr_is_terminal() && !self.terminal.quiet {
            let style =
                ProgressStyle::with_template("{spinner} {wide_bar} {pos}/{len} {msg}").expect("a valid template");
            ProgressBar::with_draw_target(Some(emails.len() as u64), ProgressDrawTarget::stderr()).with_style(style)
        } else {
            ProgressBar::hidden()
        };
        // One key per account for this run: a retry after a lost answer gets the account (with a new
        // password) rather than "exists" without one.
        let run = uuid::Uuid::new_v4();
        let admin_api = client.admin();
        let (mut created, mut existed, mut invalid) = (0usize, 0usize, Vec::new());
        for raw in &emails {
            let email = normalized(raw);
            let key = format!("msgctl-admin-create-{run}-{email}");
            let note = |line: String| progress.set_message(line);
            let outcome = super::messaging::retrying(note, || {
                admin_api.create_user_with_key(&email, role, own_password, Some(&key))
            })
            .await;
            let line = match outcome {
                Ok(user) => {
                    created += 1;
                    json!({"email": user.email, "status": "created", "generated_password": user.generated_password})
                }
                Err(e) if e.code() == Some("email_taken") => {
                    existed += 1;
                    json!({"email": email, "status": "exists"})
                }
                Err(e) if e.code() == Some("invalid_credentials") => {
                    progress.finish_and_clear();
                    return Err(CliError::new(Exit::Auth, "invalid_credentials", "your password is wrong"));
                }
                Err(e) => {
                    let error = self.auth_failed(source, e);
                    if error.exit != Exit::Usage {
                        progress.finish_and_clear();
                        return Err(CliError::new(
                            error.exit,
                            error.code,
                            format!(
                                "stopped at {email} ({created} created): {}; run the same command again to go on",
                                error.message
                            ),
                        ));
                    }
                    invalid.push((email.clone(), error.message.clone()));
                    json!({"email": email, "status": "invalid", "error": error.message})
                }
            };
            progress.suspend(|| self.report_created(&line));
            progress.inc(1);
        }
        progress.finish_and_clear();
        self.terminal.status(format!(
            "✓ {created} created, {existed} already existed{}",
            if invalid.is_empty() { String::new() } else { format!(", {} invalid", invalid.len()) }
        ));
        if created > 0 {
            self.terminal.status("! Pass the passwords on now: they are shown only this once.");
        }
        match invalid.first() {
            Some((email, message)) => Err(CliError::usage(
                "email_invalid",
                format!("{} of {} emails were refused; the first, {email}: {message}", invalid.len(), emails.len()),
            )),
            None => Ok(()),
        }
    }

    /// One account's outcome: a JSON line, or `email  password` (stdout) and a status line (stderr).
    fn report_created(&self, line: &serde_json::Value) {
        if self.terminal.json {
            self.terminal.out_json_line(line);
            return;
        }
        let email = line["email"].as_str().unwrap_or_default();
        match line["status"].as_str() {
            Some("created") => {
                let password = line["generated_password"].as_str().unwrap_or_default();
                self.terminal.out(if self.terminal.quiet {
                    format!("{email}\t{password}")
                } else {
                    format!("{email}  {password}")
                });
            }
            Some("exists") => self.terminal.status(format!("  {email} exists")),
            _ => self.terminal.status(format!("✗ {email}: {}", line["error"].as_str().unwrap_or_default())),
        }
    }

    async fn delete_user(&self, client: &Client, email: &str, yes: bool) -> Result<(), CliError> {
        let user = self.account(client, email).await?;
        if !yes {
            if !self.terminal.interactive {
                return Err(CliError::usage(
                    "confirmation_required",
                    format!("deleting {} erases it and every message it sent or received: add --yes", user.email),
                ));
            }
            let question =
                format!("Delete {} and every message it sent or received? This cannot be undone", user.email);
            if !self.terminal.confirm(&question)? {
                return Err(CliError::new(Exit::Other, "cancelled", "nothing was deleted"));
            }
        }
        client.admin().delete(user.user_id).await?;
        if self.terminal.json {
            self.terminal.out_json(&json!({"user_id": user.user_id, "email": user.email, "deleted": true}));
        } else {
            self.terminal.status(format!("✓ Deleted {} and its messages", user.email));
        }
        Ok(())
    }
}

/// The emails of a file (`-`: stdin), one a line; blank lines and `#` comments skipped.
fn read_emails(path: &Path) -> Result<Vec<String>, CliError> {
    let text = if path.as_os_str() == "-" {
        read_stdin_text()?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::usage("file_unreadable", format!("cannot read {}: {e}", path.display())))?
    };
    let emails: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    if emails.is_empty() {
        return Err(CliError::usage("file_empty", format!("{} holds no emails", path.display())));
    }
    Ok(emails)
}
