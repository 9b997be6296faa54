//! Account commands: register, login, logout, whoami, passwd, token.

use serde_json::json;

use super::exit::CliError;
use super::session::{Session, token_expiry};
use super::terminal::read_stdin_lines;
use super::{Ctx, TOKEN_VAR, TokenSource};
use crate::api::RoleName;
use crate::auth::ACCESS_TOKEN_PREFIX;
use crate::domain::Email;
use crate::domain::rfc3339_millis;

impl Ctx {
    pub(super) async fn register(&self, email: Option<String>, login: bool) -> Result<(), CliError> {
        let email = match email {
            Some(email) => email,
            None => self.terminal.ask("Email", "an email is required: msgctl register EMAIL")?,
        };
        // One key for the registration and its retries: a lost answer gets the account back, with a new
        // password, rather than "email already registered".
        let key = format!("msgctl-register-{}", uuid::Uuid::new_v4());
        let note = |line: String| self.terminal.status(line);
        let created = super::messaging::retrying(note, || self.client.create_user_with_key(&email, Some(&key))).await?;
        let mut login = login;
        if login {
            if let Some(current) = self.sessions.get(&self.server).ok().flatten().filter(|s| s.email != created.email) {
                let question = format!(
                    "You are logged in to {} as {}. Log in as {} instead?",
                    self.server, current.email, created.email
                );
                if self.terminal.interactive {
                    login = self.terminal.confirm(&question)?;
                } else {
                    self.terminal.status(format!(
                        "! Replacing the session of {} on {} with {}",
                        current.email, self.server, created.email
                    ));
                }
            }
        }
        let mut logged_in = false;
        if login {
            let token = self.client.login(&created.email, &created.generated_password).await?;
            self.sessions.put(&self.server, Session { email: created.email.clone(), token })?;
            logged_in = true;
        }
        if self.terminal.json {
            self.terminal.out_json(&json!({
                "user_id": created.user_id,
                "email": created.email,
                "generated_password": created.generated_password,
                "logged_in": logged_in,
            }));
        } else if self.terminal.quiet {
            self.terminal.out(&created.generated_password);
        } else {
            self.terminal.status(format!("✓ Created account {} on {}", created.email, self.server));
            self.terminal.out(format!("Password: {}", created.generated_password));
            self.terminal
                .status("! Store this password now: it is shown only once. Lost, only an administrator can reset it.");
            if logged_in {
                self.terminal.status(format!("✓ Logged in as {}", created.email));
            }
        }
        Ok(())
    }

    pub(super) async fn login(&self, email: Option<String>, password_stdin: bool) -> Result<(), CliError> {
        let cached = self.sessions.last_email(&self.server);
        let email = match (email, cached) {
            (Some(email), _) => email,
            // The account last logged in here, as gh does; --email picks another.
            (None, Some(cached)) => cached,
            (None, None) => self.terminal.ask("Email", "an email is required: msgctl login --email EMAIL")?,
        };
        let email = normalized(&email);
        if password_stdin {
            let password = read_stdin_lines(1, "the password")?.remove(0);
            let token = self.client.login(&email, &password).await?;
            return self.logged_in(email, token);
        }
        // At a terminal, a mistyped password gets another try (three in all).
        let missing = "a password is required: pipe it in with --password-stdin";
        let mut tries = 1;
        loop {
            let password = self.terminal.ask_password(&format!("Password for {email}"), missing)?;
            match self.client.login(&email, &password).await {
                Ok(token) => return self.logged_in(email, token),
                Err(e) if e.code() == Some("invalid_credentials") && tries < 3 => {
                    tries += 1;
                    self.terminal.status("The email or the password is wrong; try again.");
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Caches a fresh token and reports it.
    fn logged_in(&self, email: String, token: String) -> Result<(), CliError> {
        let expires_at = token_expiry(&token);
        self.sessions.put(&self.server, Session { email: email.clone(), token })?;
        if self.terminal.json {
            self.terminal.out_json(&json!({
                "server": self.server,
                "email": email,
                "expires_at": expires_at.map(rfc3339_millis::format),
            }));
        } else {
            self.terminal.status(format!("✓ Logged in to {} as {email}{}", self.server, self.profile_note()));
        }
        Ok(())
    }

    pub(super) async fn logout(&self, everywhere: bool, tokens: bool, local: bool) -> Result<(), CliError> {
        // The session ends on the server first: a token forgotten here but still valid there would be
        // a logout in name only.
        let mut tokens_revoked = None;
        if !local && (everywhere || self.token_in_use().is_ok()) {
            let (client, source) = self.authed()?;
            // Access tokens first: revoking them takes the session that logging out everywhere ends.
            if tokens {
                let revoked =
                    super::tokens::revoke_every_token(&client).await.map_err(|e| self.auth_failed(&source, e))?;
                tokens_revoked = Some(revoked.len());
            }
            let ended = if everywhere { client.logout_everywhere().await } else { client.end_session().await };
            match ended.map_err(CliError::from) {
                Ok(()) if everywhere => match tokens_revoked {
                    Some(n) => self.terminal.status(format!(
                        "✓ Every login session of this account is ended, on every device, and its {n} access tokens \
                         are revoked"
                    )),
                    None => self.terminal.status(
                        "✓ Every login session of this account is ended, on every device; access tokens still work \
                         (msgctl tokens revoke --all, or logout --everywhere --tokens)",
                    ),
                },
                Ok(()) => self.terminal.status("✓ This session is ended on the server"),
                // Already revoked or expired: there is nothing left to revoke with this token.
                Err(e) if e.exit == super::exit::Exit::Auth => {
                    if matches!(source, TokenSource::Env) {
                        return Err(CliError::new(
                            super::exit::Exit::Auth,
                            "token_invalid",
                            format!("the token in {TOKEN_VAR} was refused; nothing was revoked"),
                        ));
                    }
                    self.terminal.status("The cached token was already revoked or expired");
                }
                Err(e) => {
                    return Err(CliError::new(
                        e.exit,
                        e.code,
                        format!(
                            "{}; still logged in: the session could not be ended on the server (run msgctl \
                             logout again, or msgctl logout --local to forget the token here anyway)",
                            e.message
                        ),
                    ));
                }
            }
        }
        let removed = self.sessions.remove(&self.server)?;
        if self.terminal.json {
            self.terminal.out_json(&json!({
                "server": self.server, "logged_out": removed, "everywhere": everywhere, "tokens_revoked": tokens_revoked,
            }));
        } else if removed {
            self.terminal.status(format!("✓ Logged out of {}{}", self.server, self.profile_note()));
        } else {
            self.terminal.status(format!("Not logged in to {}{}", self.server, self.profile_note()));
        }
        Ok(())
    }

    /// Asks the server who the token belongs to, so a revoked or expired token says so.
    pub(super) async fn whoami(&self) -> Result<(), CliError> {
        let (token, source) = self.token_in_use()?;
        let me = self.client.clone().with_token(&token).me().await.map_err(|e| self.auth_failed(&source, e))?;
        let expires_at = token_expiry(&token);
        let access_token = token.starts_with(ACCESS_TOKEN_PREFIX);
        let role = match me.role {
            RoleName::Admin => "admin",
            RoleName::User => "user",
        };
        if self.terminal.json {
            self.terminal.out_json(&json!({
                "server": self.server,
                "profile": self.sessions.profile(),
                "email": me.email,
                "user_id": me.user_id,
                "role": role,
                "expires_at": expires_at.map(rfc3339_millis::format),
                "token_kind": if access_token { "access" } else { "session" },
                "token_source": match source { TokenSource::Env => "env", TokenSource::Cache => "cache" },
            }));
        } else if !self.terminal.quiet {
            let via = match source {
                TokenSource::Env => format!(" (token from {TOKEN_VAR})"),
                TokenSource::Cache => String::new(),
            };
            let admin = if me.role == RoleName::Admin { ", an administrator" } else { "" };
            self.terminal.out(format!("Logged in to {} as {}{admin}{via}", self.server, me.email));
            match source {
                TokenSource::Env => {
                    self.terminal.out(format!("Profile: {} (not used: {TOKEN_VAR} is set)", self.sessions.profile()))
                }
                TokenSource::Cache => self.terminal.out(format!("Profile: {}", self.sessions.profile())),
            }
            if access_token {
                self.terminal.out(
                    "Access token: its scopes and expiry show in msgctl tokens list, run from a login of this account \
                     (an access token cannot list tokens)",
                );
            } else {
                self.terminal.out(format!("Token expires {}", self.expiry_text(expires_at)));
            }
        }
        Ok(())
    }

    /// ` (profile NAME)`, unless it is the default one.
    pub(super) fn profile_note(&self) -> String {
        match self.sessions.profile() {
            super::session::DEFAULT_PROFILE => String::new(),
            profile => format!(" (profile {profile})"),
        }
    }

    fn expiry_text(&self, expires_at: Option<time::OffsetDateTime>) -> String {
        let Some(at) = expires_at else { return "unknown".to_owned() };
        let left = (at - time::OffsetDateTime::now_utc()).whole_minutes().max(0) as u64;
        let left = humantime::format_duration(std::time::Duration::from_secs(left * 60));
        format!("{} (in {left})", self.local_time(at))
    }

    pub(super) async fn passwd(&self, email: Option<String>, password_stdin: bool) -> Result<(), CliError> {
        let email = match email {
            Some(email) => normalized(&email),
            None => match self.sessions.get(&self.server)? {
                Some(session) => session.email,
                None => self.terminal.ask("Email", "an email is required: msgctl passwd --email EMAIL")?,
            },
        };
        let (current, new) = if password_stdin {
            let mut lines = read_stdin_lines(2, "two lines: the current password, then the new one")?;
            let new = lines.pop().expect("two lines");
            (lines.pop().expect("two lines"), new)
        } else {
            let missing = "passwords are required: pipe two lines (current, new) in with --password-stdin";
            let current = self.terminal.ask_password("Current password", missing)?;
            (current, self.terminal.ask_new_password(missing)?)
        };
        // The rules, before the round trip (the server checks them again).
        if let Err(e) = crate::domain::NewPassword::parse(new.clone()) {
            return Err(CliError::usage("password_invalid", format!("the new password {e}")));
        }
        self.client.change_password(&email, &current, &new).await?;
        self.terminal.status("✓ Password changed; every earlier login token is now revoked");
        // Stay logged in: the old token no longer works.
        match self.client.login(&email, &new).await {
            Ok(token) => self.logged_in(email, token),
            Err(e) => {
                let _ = self.sessions.remove(&self.server);
                let e = CliError::from(e);
                Err(CliError::new(
                    e.exit,
                    e.code,
                    format!("the password was changed, but logging in again failed ({}); run msgctl login", e.message),
                ))
            }
        }
    }

    pub(super) fn token(&self) -> Result<(), CliError> {
        let (token, _) = self.token_in_use()?;
        if self.terminal.json {
            self.terminal.out_json(&json!({"token": token}));
        } else {
            self.terminal.out(token);
        }
        Ok(())
    }
}

/// The email as the server will store it, when it is a valid one.
pub(super) fn normalized(email: &str) -> String {
    Email::parse(email).map_or_else(|_| email.trim().to_owned(), |e| e.to_string())
}
