//! Account administration, shared by the admin API (`/admin/…`) and `msgd admin …`: the operations that
//! must keep an active administrator, and the command line that runs them directly on the configured
//! store (usable while msgd serves, as `ntfy user` is).
//!
//! **The last administrator.** Without transactions (MongoDB standalone servers have none) a check before
//! a change cannot see a concurrent one, so a demotion or a deactivation is checked again once made and
//! undone if no active administrator is left: two administrators demoting each other at once end with
//! one of them still an administrator, never with none. A deletion cannot be undone, so it is only
//! checked before; should two administrators delete each other at the same moment,
//! `msgd admin create-user --admin` makes a new one.

use std::sync::Arc;

use clap::{Subcommand, ValueEnum};
use serde_json::json;

use crate::auth::{self, PasswordHasher};
use crate::cli::exit::{CliError, Exit};
use crate::config::Config;
use crate::domain::Email;
use crate::store::{self, AccountStatus, Location, NewUser, OpenOptions, Role, Store, StoreError, User, now_millis};

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

/// `msgd admin …`: acts directly on the configured store.
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Create an account; prints its generated password once.
    #[command(after_help = "Example:\n  msgd admin create-user ops@example.com --admin")]
    CreateUser {
        email: String,
        /// Make it an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Give an account the admin or the user role.
    SetRole {
        email: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Give an account a new generated password (printed once); every session of it is revoked.
    ResetPassword { email: String },
    /// Deactivate an account: every session and access token of it stops working, on every instance.
    Deactivate { email: String },
    /// Activate a deactivated account again.
    Activate { email: String },
}

/// A role, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    User,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::User => Role::User,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Opens the configured store, waiting (up to the database timeout) for it to answer.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, CliError> {
    let location = Location::from_url(config.database_url.as_deref(), &config.data_dir)
        .map_err(|e| CliError::usage("invalid_database_url", e))?;
    let options = OpenOptions::new(config.pool_size.min(4), config.db_timeout);
    let store = store::open(&location, &options).await.map_err(store_error)?;
    store.ready(config.db_timeout).await.map_err(store_error)?;
    Ok(store)
}

fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::Unavailable(reason) => {
            CliError::new(Exit::Unavailable, "unavailable", format!("the database is unavailable: {reason}"))
        }
        StoreError::EmailTaken => CliError::new(Exit::Conflict, "email_taken", "this email is already registered"),
        StoreError::NotFound => CliError::new(Exit::NotFound, "user_not_found", "no account has this email"),
        other => CliError::other("store", other.to_string()),
    }
}

fn admin_error(e: AdminError) -> CliError {
    match e {
        AdminError::LastAdmin => CliError::new(Exit::Conflict, "last_admin", e.to_string()),
        AdminError::NotFound => CliError::new(Exit::NotFound, "user_not_found", "no account has this email"),
        AdminError::Store(e) => store_error(e),
    }
}

/// Runs one `msgd admin` command; prints what it did (JSON with `json`).
pub async fn run(config: &Config, command: AdminCommand, json: bool) -> Result<(), CliError> {
    let store = open_store(config).await?;
    let outcome = run_on(store.as_ref(), config, command, json).await;
    store.close().await;
    outcome
}

async fn run_on(store: &dyn Store, config: &Config, command: AdminCommand, json: bool) -> Result<(), CliError> {
    let find = |email: &str| {
        let email = Email::parse(email).map_err(|e| CliError::usage("email_invalid", format!("the email {e}")));
        async move {
            store.user_by_email(&email?).await.map_err(store_error)?.ok_or_else(|| store_error(StoreError::NotFound))
        }
    };
    let hasher = || PasswordHasher::new(config.bcrypt_cost, 1);
    let print = |user: &User, extra: Option<&str>| {
        if json {
            let mut out = json!({
                "user_id": user.id, "email": user.email.as_str(), "role": user.role.as_str(),
                "status": user.status.as_str(),
            });
            if let Some(password) = extra {
                out["generated_password"] = json!(password);
            }
            println!("{out}");
        } else {
            eprintln!("{} ({}): {}, {}", user.email, user.id, user.role.as_str(), user.status.as_str());
            if let Some(password) = extra {
                println!("Password: {password}");
                eprintln!("! Store this password now: it is shown only once.");
            }
        }
    };
    match command {
        AdminCommand::CreateUser { email, admin } => {
            let email = Email::parse(&email).map_err(|e| CliError::usage("email_invalid", format!("the email {e}")))?;
            let password = auth::generate_password();
            let hash = hasher().await.map_err(|e| CliError::other("bcrypt", e.to_string()))?.hash(&password).await;
            let hash = hash.map_err(|e| CliError::other("bcrypt", e.to_string()))?;
            let role = if admin { Role::Admin } else { Role::User };
            let new = NewUser {
                id: uuid::Uuid::new_v4(),
                email,
                password_hash: hash,
                created_at: now_millis(),
                registration_key: None,
                role,
            };
            let user = store.create_user(new).await.map_err(store_error)?;
            if json {
                println!(
                    "{}",
                    json!({"user_id": user.id, "email": user.email.as_str(), "role": role.as_str(),
                           "generated_password": password.expose()})
                );
            } else {
                print(&user, Some(password.expose()));
            }
        }
        AdminCommand::SetRole { email, role } => {
            let user = find(&email).await?;
            print(&set_role(store, &user, role.into()).await.map_err(admin_error)?, None);
        }
        AdminCommand::ResetPassword { email } => {
            let user = find(&email).await?;
            let password = auth::generate_password();
            let hash = hasher().await.map_err(|e| CliError::other("bcrypt", e.to_string()))?.hash(&password).await;
            let hash = hash.map_err(|e| CliError::other("bcrypt", e.to_string()))?;
            let user = store.reset_password(user.id, hash).await.map_err(store_error)?;
            print(&user, Some(password.expose()));
        }
        AdminCommand::Deactivate { email } => {
            let user = find(&email).await?;
            print(&set_status(store, &user, AccountStatus::Deactivated).await.map_err(admin_error)?, None);
        }
        AdminCommand::Activate { email } => {
            let user = find(&email).await?;
            print(&set_status(store, &user, AccountStatus::Active).await.map_err(admin_error)?, None);
        }
    }
    Ok(())
}
