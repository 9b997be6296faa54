//! `msgctl tokens`: access tokens for scripts, and `msgctl profiles`.

use serde_json::json;

use super::exit::{CliError, Exit};
use super::terminal::visible;
use super::{Ctx, ScopeArg, TokenSource, TokensCommand};
use crate::api::{ScopeName, TokenView};
use crate::domain::rfc3339_millis;

impl From<ScopeArg> for ScopeName {
    fn from(scope: ScopeArg) -> Self {
        match scope {
            ScopeArg::Read => ScopeName::Read,
            ScopeArg::Send => ScopeName::Send,
            ScopeArg::Admin => ScopeName::Admin,
        }
    }
}

fn scope_word(scope: ScopeName) -> &'static str {
    match scope {
        ScopeName::Read => "read",
        ScopeName::Send => "send",
        ScopeName::Admin => "admin",
    }
}

fn scopes_text(scopes: &[ScopeName]) -> String {
    scopes.iter().map(|s| scope_word(*s)).collect::<Vec<_>>().join(",")
}

impl Ctx {
    pub(super) async fn tokens(&self, command: TokensCommand) -> Result<(), CliError> {
        match command {
            TokensCommand::Create { name, scope, expires, password_stdin } => {
                self.create_token(&name, scope, expires, password_stdin).await
            }
            TokensCommand::List => self.list_tokens().await,
            TokensCommand::Revoke { all: true, .. } => self.revoke_all_tokens().await,
            TokensCommand::Revoke { token, .. } => self.revoke_token(token.as_deref().unwrap_or_default()).await,
        }
    }

    async fn create_token(
        &self,
        name: &str,
        scopes: Vec<ScopeArg>,
        expires: Option<String>,
        password_stdin: bool,
    ) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let scopes: Vec<ScopeName> = scopes.into_iter().map(ScopeName::from).collect();
        let created = self
            .with_own_password(password_stdin, &source, |password| {
                let (client, scopes, expires) = (&client, &scopes, expires.as_deref());
                async move { client.create_token(name, scopes, expires, &password).await }
            })
            .await?;
        if self.terminal.json {
            self.terminal.out_json(&created);
        } else if self.terminal.quiet {
            self.terminal.out(&created.token);
        } else {
            let until = match created.view.expires_at {
                Some(at) => format!("expires {}", self.local_time(at)),
                None => "until revoked".to_owned(),
            };
            self.terminal.status(format!(
                "✓ Created access token {} ({}), {until}",
                visible(&created.view.name),
                scopes_text(&created.view.scopes)
            ));
            self.terminal.out(&created.token);
            self.terminal
                .status("! Copy it now: it is shown only this once. Use it as MSGCTL_TOKEN or a Bearer token.");
        }
        Ok(())
    }

    async fn list_tokens(&self) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let tokens = client.tokens().await.map_err(|e| self.auth_failed(&source, e))?;
        if self.terminal.json {
            let mut array = self.terminal.json_array();
            for token in &tokens {
                array.item(token);
            }
            return Ok(());
        }
        if tokens.is_empty() {
            self.terminal.status("No access tokens: create one with msgctl tokens create NAME --scope read");
            return Ok(());
        }
        let when =
            |at: Option<time::OffsetDateTime>, none: &str| at.map_or_else(|| none.to_owned(), |at| self.local_time(at));
        let rows: Vec<Vec<String>> = tokens
            .iter()
            .map(|t| {
                vec![
                    visible(&t.name).into_owned(),
                    scopes_text(&t.scopes),
                    self.local_time(t.created_at),
                    when(t.expires_at, "never"),
                    when(t.last_used_at, "never"),
                    t.id.to_string(),
                ]
            })
            .collect();
        self.terminal.table(&["NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "ID"], &rows);
        Ok(())
    }

    async fn revoke_token(&self, which: &str) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let tokens = client.tokens().await.map_err(|e| self.auth_failed(&source, e))?;
        let by_id = uuid::Uuid::try_parse(which).ok();
        let found: Option<&TokenView> =
            tokens.iter().find(|t| Some(t.id) == by_id).or_else(|| tokens.iter().find(|t| t.name == which));
        let Some(token) = found else {
            return Err(CliError::new(
                Exit::NotFound,
                "token_not_found",
                format!("you have no access token with the id or name {which:?} (see msgctl tokens list)"),
            ));
        };
        client.revoke_token(token.id).await.map_err(|e| self.auth_failed(&source, e))?;
        if self.terminal.json {
            self.terminal.out_json(&json!({"id": token.id, "name": token.name, "revoked": true}));
        } else {
            self.terminal.status(format!("✓ Revoked access token {} ({})", visible(&token.name), token.id));
        }
        Ok(())
    }

    async fn revoke_all_tokens(&self) -> Result<(), CliError> {
        let (client, source) = self.authed()?;
        let revoked = revoke_every_token(&client).await.map_err(|e| self.auth_failed(&source, e))?;
        if self.terminal.json {
            let revoked: Vec<_> = revoked.iter().map(|t| json!({"id": t.id, "name": t.name})).collect();
            self.terminal.out_json(&json!({"revoked": revoked}));
        } else if revoked.is_empty() {
            self.terminal.status("You have no access tokens; nothing to revoke");
        } else {
            let names: Vec<String> = revoked.iter().map(|t| visible(&t.name).into_owned()).collect();
            self.terminal.status(format!("✓ Revoked {} access tokens: {}", revoked.len(), names.join(", ")));
        }
        Ok(())
    }

    /// `msgctl profiles`: what the cache holds, from the file alone (no server is asked).
    pub(super) fn profiles(&self) -> Result<(), CliError> {
        let entries = self.sessions.entries()?;
        let current = |profile: &str, server: &str| profile == self.sessions.profile() && server == self.server;
        if self.terminal.json {
            let mut array = self.terminal.json_array();
            for e in &entries {
                array.item(&json!({
                    "profile": e.profile,
                    "server": e.server,
                    "email": e.session.email,
                    "expires_at": e.session.expires_at().map(rfc3339_millis::format),
                    "current": current(&e.profile, &e.server),
                }));
            }
            return Ok(());
        }
        if entries.is_empty() {
            self.terminal.status("No cached logins: run msgctl login (or msgctl --profile NAME login)");
            return Ok(());
        }
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let mark = if current(&e.profile, &e.server) { "*" } else { "" };
                let expiry = match e.session.expires_at() {
                    Some(at) if at <= time::OffsetDateTime::now_utc() => "expired".to_owned(),
                    Some(at) => self.local_time(at),
                    None => "unknown".to_owned(),
                };
                vec![mark.to_owned(), e.profile.clone(), e.server.clone(), e.session.email.clone(), expiry]
            })
            .collect();
        self.terminal.table(&["", "PROFILE", "SERVER", "EMAIL", "EXPIRES"], &rows);
        if matches!(self.token_in_use().map(|(_, source)| source), Ok(TokenSource::Env)) {
            self.terminal.status(format!("! {} is set: commands use it, not these", super::TOKEN_VAR));
        }
        Ok(())
    }
}

/// Revokes every access token of the client's account; returns those revoked (one revoked meanwhile by
/// someone else is not an error).
pub(super) async fn revoke_every_token(
    client: &crate::client::Client,
) -> Result<Vec<TokenView>, crate::client::ClientError> {
    let mut revoked = Vec::new();
    for token in client.tokens().await? {
        match client.revoke_token(token.id).await {
            Ok(()) => revoked.push(token),
            Err(e) if e.code() == Some("token_not_found") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(revoked)
}
