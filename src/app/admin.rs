//! Accounts as an administrator sees them: list, deactivate and activate, reset a password, unlock,
//! change the role, delete. Every use case needs the admin scope and an administrator; the changes that
//! must keep an active administrator go through [`super::last_admin`].

use std::net::IpAddr;

use tracing::info;
use uuid::Uuid;

use super::accounts::reauthenticate;
use super::context::App;
use super::error::AppError;
use super::identity::Caller;
use super::last_admin;
use crate::auth;
use crate::domain::{AccountStatus, NewPassword, Role, Scope, User};
use crate::store::UserQuery;

/// Accounts on a page unless the administrator asks for another number.
pub const DEFAULT_PAGE: usize = 100;
/// The most accounts on a page.
pub const MAX_PAGE: usize = 1000;

/// The account `id` names, for an administrator (`None`: an id that cannot be one).
async fn target(app: &App, caller: &Caller, id: Option<Uuid>) -> Result<User, AppError> {
    caller.require(Scope::Admin)?;
    let id = id.ok_or(AppError::AccountNotFound)?;
    app.store.user_by_id(id).await?.ok_or(AppError::AccountNotFound)
}

/// A page of accounts (`query.limit` of them at most), in email order, after the account `query.after`
/// names; `true`: more follow. `AccountNotFound`: that account is gone (the list must start again).
pub async fn list_users(app: &App, caller: &Caller, mut query: UserQuery) -> Result<(Vec<User>, bool), AppError> {
    caller.require(Scope::Admin)?;
    let limit = query.limit;
    query.limit += 1;
    let mut users = app.store.list_users(&query).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => AppError::AccountNotFound,
        other => other.into(),
    })?;
    let more = users.len() > limit;
    users.truncate(limit);
    Ok((users, more))
}

/// Deactivates an account (every session and access token of it revoked) or activates it again.
pub async fn set_status(app: &App, caller: &Caller, id: Option<Uuid>, status: AccountStatus) -> Result<User, AppError> {
    let user = target(app, caller, id).await?;
    let updated = last_admin::set_status(app.store.as_ref(), &user, status).await?;
    match status {
        AccountStatus::Deactivated => info!(target_user.id = %user.id, "account deactivated by an administrator"),
        AccountStatus::Active => info!(target_user.id = %user.id, "account activated by an administrator"),
    }
    Ok(updated)
}

/// A change of role: the role, and the caller's current password (needed to make an administrator).
pub struct RoleChange {
    pub role: Option<Role>,
    pub current_password: Option<String>,
    pub address: IpAddr,
}

/// Gives an account `role` (`None`: changes nothing), keeping an active administrator. Making an
/// administrator needs a session and the caller's password ([`reauthenticate`]).
pub async fn set_role(app: &App, caller: &Caller, id: Option<Uuid>, change: RoleChange) -> Result<User, AppError> {
    caller.require(Scope::Admin)?;
    // Needed to make an administrator; checked whenever given.
    if change.role == Some(Role::Admin) || change.current_password.is_some() {
        reauthenticate(app, caller, change.current_password, change.address).await?;
    }
    let user = target(app, caller, id).await?;
    let Some(role) = change.role else { return Ok(user) };
    let updated = last_admin::set_role(app.store.as_ref(), &user, role).await?;
    info!(target_user.id = %user.id, role = role.as_str(), "role changed by an administrator");
    Ok(updated)
}

/// Gives an account a new generated password; every session of it is revoked.
/// Needs a login session and the caller's current password ([`reauthenticate`]), whoever the account is:
/// a password made here logs in, reads the account's messages (which the admin API never shows) and, for an
/// administrator's account, mints tokens — none of which a stolen credential alone must lead to.
pub async fn reset_password(
    app: &App,
    caller: &Caller,
    id: Option<Uuid>,
    current_password: Option<String>,
    address: IpAddr,
) -> Result<(Uuid, NewPassword), AppError> {
    caller.require(Scope::Admin)?;
    reauthenticate(app, caller, current_password, address).await?;
    let id = id.ok_or(AppError::AccountNotFound)?;
    let password = auth::generate_password();
    let hash = app.hasher.hash(&password).await?;
    app.store.reset_password(id, hash).await.map_err(|e| AppError::from(last_admin::not_found(e)))?;
    info!(target_user.id = %id, "password reset by an administrator; sessions revoked");
    Ok((id, password))
}

/// Clears an account's failed-login counters, on every instance (each clears its own when the change
/// feed brings the unlock, see [`super::accounts::apply_unlocks`]).
pub async fn unlock(app: &App, caller: &Caller, id: Option<Uuid>) -> Result<(), AppError> {
    let user = target(app, caller, id).await?;
    app.store.unlock(user.id).await?;
    info!(target_user.id = %user.id, "account unlocked by an administrator");
    Ok(())
}

/// Erases an account and everything of it, unless it is the last active administrator.
pub async fn delete(app: &App, caller: &Caller, id: Option<Uuid>) -> Result<(), AppError> {
    let user = target(app, caller, id).await?;
    last_admin::delete(app.store.as_ref(), &user).await?;
    info!(target_user.id = %user.id, "account deleted by an administrator");
    Ok(())
}
