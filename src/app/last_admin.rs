//! The last active administrator: changes that could leave none (a demotion, a deactivation, a
//! deletion), shared by the admin API and `msgd admin`.
//!
//! **The last administrator.** Without transactions (MongoDB standalone servers have none) a check before
//! a change cannot see a concurrent one, so a demotion or a deactivation is checked again once made and
//! undone if no active administrator is left: two administrators demoting each other at once end with
//! one of them still an administrator, never with none. A deletion cannot be undone, so it is only
//! checked before; should two administrators delete each other at the same moment,
//! `msgd admin create-user --admin` makes a new one.

use crate::domain::{AccountStatus, Role, User};
use crate::store::{Store, StoreError};

/// Why an administrative change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("this is the last active administrator: make another administrator first")]
    LastAdmin,
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The store's `NotFound` as this module's: the account is gone.
pub(crate) fn not_found(e: StoreError) -> AdminError {
    match e {
        StoreError::NotFound => AdminError::NotFound,
        other => AdminError::Store(other),
    }
}

fn is_active_admin(user: &User) -> bool {
    user.role == Role::Admin && user.status == AccountStatus::Active
}

/// Refuses a change that would leave no active administrator, before it is made.
async fn keep_an_admin(store: &dyn Store, user: &User) -> Result<(), AdminError> {
    if is_active_admin(user) && store.count_active_admins().await? <= 1 {
        return Err(AdminError::LastAdmin);
    }
    Ok(())
}

/// After a change: if no active administrator is left (a concurrent change got there too), undo it.
async fn still_an_admin<F, Fut>(store: &dyn Store, undo: F) -> Result<(), AdminError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<User, StoreError>>,
{
    if store.count_active_admins().await? == 0 {
        undo().await?;
        return Err(AdminError::LastAdmin);
    }
    Ok(())
}

/// Gives `user` `role`, keeping an active administrator.
pub async fn set_role(store: &dyn Store, user: &User, role: Role) -> Result<User, AdminError> {
    if role == Role::User {
        keep_an_admin(store, user).await?;
    }
    let updated = store.set_role(user.id, role).await.map_err(not_found)?;
    if role == Role::User && user.role == Role::Admin {
        still_an_admin(store, || store.set_role(user.id, Role::Admin)).await?;
    }
    Ok(updated)
}

/// Deactivates (every session and access token revoked) or activates `user`, keeping an active
/// administrator.
pub async fn set_status(store: &dyn Store, user: &User, status: AccountStatus) -> Result<User, AdminError> {
    if status == AccountStatus::Active {
        return store.set_status(user.id, status).await.map_err(not_found);
    }
    keep_an_admin(store, user).await?;
    let updated = store.set_status(user.id, status).await.map_err(not_found)?;
    still_an_admin(store, || store.set_status(user.id, AccountStatus::Active)).await?;
    Ok(updated)
}

/// Erases `user` and everything of it, unless it is the last active administrator.
pub async fn delete(store: &dyn Store, user: &User) -> Result<(), AdminError> {
    keep_an_admin(store, user).await?;
    store.delete_user(user.id).await.map_err(not_found)
}
