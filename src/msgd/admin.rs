//! `msgd admin …`: account administration directly on the configured store, usable while msgd serves (as
//! `ntfy user` is). The rules are [`crate::app::admin`]'s; this is the command line and its printing.

use clap::Subcommand;
use serde_json::json;

use super::store::{Existing, in_store, open_configured, store_error};
use crate::api::RoleName;
use crate::app::last_admin::{self as admin, AdminError};
use crate::auth::{self, PasswordHasher};
use crate::config::Config;
use crate::domain::{AccountStatus, Email, Role, User, now_millis};
use crate::exit::{CliError, Exit};
use crate::store::{NewUser, Store, StoreError};

/// `msgd admin …`: acts directly on the configured store.
#[derive(Debug, Clone, Subcommand)]
pub enum MsgdAdminCommand {
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
        role: RoleName,
    },
    /// Give an account a new generated password (printed once); every session of it is revoked.
    ResetPassword { email: String },
    /// Deactivate an account: every session and access token of it stops working, on every instance.
    Deactivate { email: String },
    /// Activate a deactivated account again.
    Activate { email: String },
    /// Clear an account's failed-login counters on every running instance: for the last administrator,
    /// locked out by someone else's guessing.
    #[command(after_help = "Example:\n  msgd admin unlock ops@example.com")]
    Unlock { email: String },
}

fn admin_error(e: AdminError) -> CliError {
    match e {
        AdminError::LastAdmin => CliError::new(Exit::Conflict, "last_admin", e.to_string()),
        AdminError::NotFound => CliError::new(Exit::NotFound, "user_not_found", "no account has this email"),
        AdminError::Store(e) => store_error(e),
    }
}

/// Runs one `msgd admin` command; prints what it did (JSON with `json`).
/// Only `create-user` may create a store (the first administrator, before msgd ever ran); the others act on
/// accounts that must be there, so a store that is not is an error naming where it looked.
pub async fn run(config: &Config, command: MsgdAdminCommand, json: bool) -> Result<(), CliError> {
    let existing = match command {
        MsgdAdminCommand::CreateUser { .. } => Existing::MayCreate,
        _ => Existing::Required,
    };
    let (store, name) = open_configured(config, existing).await?;
    let outcome = run_on(store.as_ref(), config, command, json).await;
    store.close().await;
    outcome.map_err(|e| in_store(e, &name))
}

async fn run_on(store: &dyn Store, config: &Config, command: MsgdAdminCommand, json: bool) -> Result<(), CliError> {
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
        MsgdAdminCommand::CreateUser { email, admin } => {
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
        MsgdAdminCommand::SetRole { email, role } => {
            let user = find(&email).await?;
            print(&admin::set_role(store, &user, role.into()).await.map_err(admin_error)?, None);
        }
        MsgdAdminCommand::ResetPassword { email } => {
            let user = find(&email).await?;
            let password = auth::generate_password();
            let hash = hasher().await.map_err(|e| CliError::other("bcrypt", e.to_string()))?.hash(&password).await;
            let hash = hash.map_err(|e| CliError::other("bcrypt", e.to_string()))?;
            let user = store.reset_password(user.id, hash).await.map_err(store_error)?;
            print(&user, Some(password.expose()));
        }
        MsgdAdminCommand::Deactivate { email } => {
            let user = find(&email).await?;
            print(&admin::set_status(store, &user, AccountStatus::Deactivated).await.map_err(admin_error)?, None);
        }
        MsgdAdminCommand::Activate { email } => {
            let user = find(&email).await?;
            print(&admin::set_status(store, &user, AccountStatus::Active).await.map_err(admin_error)?, None);
        }
        MsgdAdminCommand::Unlock { email } => {
            let user = find(&email).await?;
            store.unlock(user.id).await.map_err(store_error)?;
            print(&user, None);
        }
    }
    Ok(())
}
