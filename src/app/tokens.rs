//! Personal access tokens for scripts. Minting one takes a login session **and** the account's password,
//! so neither an access token nor a stolen session alone can; the token is shown once, starts with
//! `msgk_` (so secret scanners find it) and only its SHA-256 is stored. Tokens are listed (without
//! secrets) and revoked one by one; a password change or a logout everywhere leaves them alone,
//! deactivation and deletion remove them.

use std::net::IpAddr;

use rand::distr::{Alphanumeric, SampleString};
use tracing::info;
use uuid::Uuid;

use super::accounts::confirm_password;
use super::context::App;
use super::error::AppError;
use super::identity::{Caller, token_digest};
use crate::auth::ACCESS_TOKEN_PREFIX;
use crate::domain::{AccessToken, Role, Scope, now_millis, token_lifetime};
use crate::store::StoreError;

/// Random characters after the prefix: 40 alphanumerics, about 238 bits.
const SECRET_LEN: usize = 40;

/// An access token to create.
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// How long it lasts (`30d`); `None`: until revoked.
    pub expires_in: Option<String>,
    /// The account's password, asked again.
    pub password: String,
}

/// Creates an access token for the caller's account; returns it with its secret, shown once.
pub async fn create(
    app: &App,
    caller: &Caller,
    new: NewToken,
    address: IpAddr,
) -> Result<(AccessToken, String), AppError> {
    caller.session()?;
    let name = new.name;
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "The name must be 1 to 64 characters, without control characters"));
    }
    let mut scopes = new.scopes;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(AppError::invalid("scopes", "The token needs at least one scope: read, send or admin"));
    }
    if scopes.contains(&Scope::Admin) && caller.user.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let lifetime = new
        .expires_in
        .as_deref()
        .map(|raw| {
            token_lifetime(raw).ok_or_else(|| {
                AppError::invalid(
                    "expires_in",
                    "The field expires_in must be a number and a unit: m (minutes), h, d, w or y, such as 30d; or null",
                )
            })
        })
        .transpose()?;
    confirm_password(app, caller, new.password, address).await?;
    let secret = format!("{ACCESS_TOKEN_PREFIX}{}", Alphanumeric.sample_string(&mut rand::rng(), SECRET_LEN));
    let created_at = now_millis();
    let token = AccessToken {
        id: Uuid::new_v4(),
        user_id: caller.user.id,
        name,
        digest: token_digest(&secret),
        scopes,
        created_at,
        expires_at: lifetime.map(|l| created_at + l),
        last_used_at: None,
    };
    app.store.create_access_token(token.clone()).await.map_err(|e| match e {
        StoreError::NotFound => AppError::TokenInvalid,
        other => other.into(),
    })?;
    info!(token.id = %token.id, "access token created");
    Ok((token, secret))
}

/// The caller's access tokens, oldest first.
pub async fn list(app: &App, caller: &Caller) -> Result<Vec<AccessToken>, AppError> {
    caller.session()?;
    Ok(app.store.access_tokens(caller.user.id).await?)
}

/// Revokes one of the caller's access tokens (`None`: an id that cannot be one).
pub async fn revoke(app: &App, caller: &Caller, id: Option<Uuid>) -> Result<(), AppError> {
    caller.session()?;
    let id = id.ok_or(AppError::TokenNotFound)?;
    app.store.revoke_access_token(caller.user.id, id).await.map_err(|e| match e {
        StoreError::NotFound => AppError::TokenNotFound,
        other => other.into(),
    })?;
    info!(token.id = %id, "access token revoked");
    Ok(())
}
