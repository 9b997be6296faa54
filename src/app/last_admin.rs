//! The last active administrator: changes that could leave none (a demotion, a deactivation, a
//! deletion), shared by the admin API and `msgd admin`.
//!
//! **The last administrator.** Without transactions (MongoDB standalone servers have none) a check before
//! a change cannot see a concurrent one, so a demotion or a deactivation is checked again once made and
//! undone if no active administrator is left: two administrators demoting each other at once end with
//! one of them still an administrator, never with none. A deletion cannot be undone, so an active
//! administrator is deactivated that way first, and deleted once the deactivation stood.

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
    if is_active_admin(user) {
        // A deletion cannot be undone, so an active administrator is first deactivated — a change that
        // is checked again once made and undone if it left no active administrator — and deleted only
        // once that stood: two administrators deleting each other at once never leave none.
        set_status(store, user, AccountStatus::Deactivated).await?;
    }
    store.delete_user(user.id).await.map_err(not_found)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::domain::{Email, now_millis};
    use crate::store::{Location, NewUser, OpenOptions};

    async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Sqlite(dir.path().join("admins.sqlite3"));
        let store = crate::store::open(&location, &OpenOptions::new(2, Duration::from_secs(5))).await.unwrap();
        (dir, store)
    }

    async fn account(store: &dyn Store, email: &str, role: Role) -> User {
        let new = NewUser {
            id: uuid::Uuid::new_v4(),
            email: Email::parse(email).unwrap(),
            password_hash: "$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234".into(),
            created_at: now_millis(),
            registration_key: None,
            role,
        };
        store.create_user(new).await.unwrap()
    }

    #[tokio::test]
    async fn the_last_active_administrator_is_never_demoted_deactivated_or_deleted() {
        let (_dir, store) = store().await;
        let ops = account(store.as_ref(), "ops@example.com", Role::Admin).await;
        assert!(matches!(set_role(store.as_ref(), &ops, Role::User).await, Err(AdminError::LastAdmin)));
        assert!(matches!(
            set_status(store.as_ref(), &ops, AccountStatus::Deactivated).await,
            Err(AdminError::LastAdmin)
        ));
        assert!(matches!(delete(store.as_ref(), &ops).await, Err(AdminError::LastAdmin)));
        assert_eq!(store.count_active_admins().await.unwrap(), 1);
        // With a second administrator, the first may go.
        let second = account(store.as_ref(), "second@example.com", Role::Admin).await;
        let demoted = set_role(store.as_ref(), &ops, Role::User).await.unwrap();
        assert_eq!(demoted.role, Role::User);
        assert!(matches!(delete(store.as_ref(), &second).await, Err(AdminError::LastAdmin)));
        // A user can always be deactivated, activated and deleted; a gone account is NotFound.
        let ada = account(store.as_ref(), "ada@example.com", Role::User).await;
        set_status(store.as_ref(), &ada, AccountStatus::Deactivated).await.unwrap();
        set_status(store.as_ref(), &ada, AccountStatus::Active).await.unwrap();
        delete(store.as_ref(), &ada).await.unwrap();
        assert!(matches!(set_role(store.as_ref(), &ada, Role::Admin).await, Err(AdminError::NotFound)));
    }

    #[tokio::test]
    async fn two_administrators_deleting_each_other_at_once_never_leave_none() {
        for _ in 0..5 {
            let (_dir, store) = store().await;
            let a = account(store.as_ref(), "a@example.com", Role::Admin).await;
            let b = account(store.as_ref(), "b@example.com", Role::Admin).await;
            let (first, second) = tokio::join!(delete(store.as_ref(), &a), delete(store.as_ref(), &b));
            assert!(!(first.is_ok() && second.is_ok()), "both deletions went through");
            assert!(store.count_active_admins().await.unwrap() >= 1, "no administrator left: {first:?} {second:?}");
        }
    }

    #[tokio::test]
    async fn two_administrators_demoting_each_other_at_once_never_leave_none() {
        for _ in 0..5 {
            let (_dir, store) = store().await;
            let a = account(store.as_ref(), "a@example.com", Role::Admin).await;
            let b = account(store.as_ref(), "b@example.com", Role::Admin).await;
            let (first, second) =
                tokio::join!(set_role(store.as_ref(), &a, Role::User), set_role(store.as_ref(), &b, Role::User));
            // Each change is checked again once made and undone if no administrator is left: both may be
            // refused, never both made.
            assert!(!(first.is_ok() && second.is_ok()), "both demotions went through");
            let admins = store.count_active_admins().await.unwrap();
            assert!(admins >= 1, "no administrator left: {first:?} {second:?}");
            assert_eq!(admins, 2 - u64::from(first.is_ok()) - u64::from(second.is_ok()), "{first:?} {second:?}");
        }
    }
}
