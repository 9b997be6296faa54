//! Accounts: who may register, a retried registration, credential checks (throttled), login, password
//! change, logging out, and deleting one's own account.

use std::net::IpAddr;
use std::time::Duration;

use tracing::{info, warn};
use uuid::Uuid;

use super::context::App;
use super::error::AppError;
use super::identity::{Caller, token_digest};
use super::last_admin;
use crate::auth;
use crate::domain::{AccountStatus, Email, EmailError, NewPassword, Password, Role, Scope, User, now_millis};
use crate::store::{NewUser, StoreError};

/// How long a retried registration (same idempotency key) gets the account, with a new password.
pub const REGISTRATION_RETRY_WINDOW: Duration = Duration::from_secs(600);

/// Who asks for an account: an administrator (any role, whether or not registration is `open`), or
/// anyone else while it is open. `credential` is the request's credential if it had one, checked
/// (`Err`: it did not count); `asks_role`: the request sets a role.
///
/// Anyone else's credential, even an expired one, changes nothing while registration is open and no role
/// is asked for: the original API's registration takes none, and clients that send theirs on every
/// request keep working.
pub fn registrar(
    open: bool,
    credential: Option<Result<Caller, AppError>>,
    asks_role: bool,
) -> Result<Option<Caller>, AppError> {
    match credential {
        Some(Ok(caller)) => match caller.require(Scope::Admin) {
            Ok(()) => Ok(Some(caller)),
            Err(_) if open && !asks_role => Ok(None),
            Err(e) if asks_role => Err(e),
            Err(_) => Err(AppError::RegistrationClosed),
        },
        Some(Err(_)) if open && !asks_role => Ok(None),
        Some(Err(e)) => Err(e),
        None if !open => Err(AppError::RegistrationClosed),
        None if asks_role => Err(AppError::Forbidden),
        None => Ok(None),
    }
}

/// A registration to make.
pub struct Registration<'a> {
    pub email: &'a str,
    pub role: Option<Role>,
    /// The request's idempotency key, if any: a retry with it within [`REGISTRATION_RETRY_WINDOW`] gets
    /// the same account with a new password.
    pub key: Option<&'a str>,
    /// The administrator who registers (not throttled), if one does.
    pub admin: Option<&'a Caller>,
    /// The administrator's current password: creating another administrator needs it (see
    /// [`reauthenticate`]).
    pub current_password: Option<String>,
    pub address: IpAddr,
}

/// A registered account with its generated password, shown once.
pub struct Registered {
    pub user: User,
    pub password: NewPassword,
    /// A retry of an earlier registration answered.
    pub replayed: bool,
}

/// Creates an account with a generated password. A mistake in the request teaches an enumerator
/// nothing, so it does not count against the address.
pub async fn register(app: &App, request: Registration<'_>) -> Result<Registered, AppError> {
    // The key is the client's secret, and bound to where it came from: a retry from another client (another
    // IPv4 address, another IPv6 /64) is another registration, which finds the email taken.
    let key = request.key.map(|key| token_digest(&format!("{key}\n{}", crate::throttle::client_key(request.address))));
    let email = Email::parse(request.email).map_err(AppError::Email)?;
    match (request.admin, request.role) {
        (Some(admin), Some(Role::Admin)) => {
            reauthenticate(app, admin, request.current_password, request.address).await?;
        }
        (_, _) if request.current_password.is_some() => {
            return Err(AppError::invalid(
                "current_password",
                "The field current_password is only for an administrator creating another administrator",
            ));
        }
        _ => {}
    }
    let throttled = request.admin.is_none();
    if throttled {
        app.throttle.begin_registration(request.address).map_err(|wait| {
            warn!(client.address = %request.address, retry_after_secs = wait.as_secs(), "registration refused: rate-limited");
            AppError::RateLimited(wait)
        })?;
    }
    let password = auth::generate_password();
    let password_hash = app.hasher.hash(&password).await?;
    let new = NewUser {
        id: Uuid::new_v4(),
        email: email.clone(),
        password_hash: password_hash.clone(),
        created_at: now_millis(),
        registration_key: key.clone(),
        role: request.role.unwrap_or(Role::User),
    };
    let (user, replayed) = match app.store.create_user(new).await {
        Ok(user) => (user, false),
        Err(StoreError::EmailTaken) => match &key {
            Some(key) => {
                app.throttle.begin_replay(key).map_err(|wait| {
                    warn!(client.address = %request.address, "registration retry refused: retried too often");
                    AppError::RateLimited(wait)
                })?;
                (retried_registration(app, &email, key, password_hash).await?, true)
            }
            None => {
                info!("registration refused: email already registered");
                return Err(AppError::EmailTaken);
            }
        },
        Err(e) => return Err(e.into()),
    };
    crate::telemetry::record_user(user.id);
    info!(replayed, "user created");
    Ok(Registered { user, password, replayed })
}

/// A registration retried with the same key: the same account, with `new_hash` as its password, if it
/// was registered with this key less than [`REGISTRATION_RETRY_WINDOW`] ago and never logged in.
async fn retried_registration(app: &App, email: &Email, key: &str, new_hash: String) -> Result<User, AppError> {
    let existing = app.store.user_by_email(email).await?;
    let cutoff = now_millis() - REGISTRATION_RETRY_WINDOW;
    let Some(existing) = existing
        .filter(|u| u.registration_key.as_deref() == Some(key) && u.created_at > cutoff && u.last_login_at.is_none())
    else {
        info!("registration refused: email already registered");
        return Err(AppError::EmailTaken);
    };
    match app.store.reissue_password(existing.id, key, &existing.password_hash, cutoff, new_hash).await {
        Ok(user) => Ok(user),
        // Another retry replaced the password first (or the account logged in meanwhile).
        Err(StoreError::NotFound) => Err(AppError::IdempotencyConflict),
        Err(e) => Err(e.into()),
    }
}

/// The credentials of a login-like request. A missing field is refused; an email that cannot be an
/// account's is simply not found, which [`authenticate`] answers like any wrong credentials.
pub fn credentials(
    raw_email: &str,
    raw_password: &str,
    password_field: &'static str,
) -> Result<(Option<Email>, Password), AppError> {
    let email = match Email::parse(raw_email) {
        Ok(email) => Some(email),
        Err(EmailError::Empty) => return Err(AppError::Email(EmailError::Empty)),
        Err(_) => None,
    };
    if raw_password.is_empty() {
        return Err(AppError::Required(password_field));
    }
    Ok((email, Password::new(raw_password)))
}

/// Checks credentials, throttled per account and per address before any hashing. An unknown email is
/// verified against a dummy hash, so it costs what a wrong password costs and gets the same answer.
pub async fn authenticate(
    app: &App,
    raw_email: &str,
    email: Option<Email>,
    password: &Password,
    address: IpAddr,
) -> Result<User, AppError> {
    let account = email.as_ref().map_or(raw_email, Email::as_str);
    // Counted as a failure from here; a success gives the attempt back.
    app.throttle.begin_credentials(account, address).map_err(|wait| {
        warn!(client.address = %address, retry_after_secs = wait.as_secs(), "authentication refused: rate-limited");
        AppError::RateLimited(wait)
    })?;
    let user = match &email {
        Some(email) => app.store.user_by_email(email).await?,
        None => None,
    };
    let matches = app.hasher.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    match user {
        Some(user) if matches => {
            crate::telemetry::record_user(user.id);
            app.throttle.credentials_succeeded(account, address);
            Ok(user)
        }
        Some(user) => {
            crate::telemetry::record_user(user.id);
            warn!(client.address = %address, "authentication failed: wrong password");
            Err(AppError::InvalidCredentials)
        }
        None => {
            warn!(client.address = %address, "authentication failed: unknown email");
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Checks the caller's own password again (before a sensitive change of their account).
pub async fn confirm_password(app: &App, caller: &Caller, password: String, address: IpAddr) -> Result<(), AppError> {
    own_password(app, caller, Some(password), "password", address).await
}

/// Re-authentication (sudo mode, as GitHub's): what turns a credential into a stronger one — a password
/// for an account that can read its messages, another administrator, an admin-scope token — needs a login
/// session **and** the caller's current password, so a stolen session or access token alone cannot. A
/// wrong password counts against the caller's account like a failed login.
pub async fn reauthenticate(
    app: &App,
    caller: &Caller,
    current_password: Option<String>,
    address: IpAddr,
) -> Result<(), AppError> {
    caller.session()?;
    own_password(app, caller, current_password, "current_password", address).await
}

/// Checks the caller's own password, given in `field` (`Required(field)` when missing or empty), as a
/// login would: counted and throttled like one.
async fn own_password(
    app: &App,
    caller: &Caller,
    password: Option<String>,
    field: &'static str,
    address: IpAddr,
) -> Result<(), AppError> {
    let password = password.filter(|p| !p.is_empty()).ok_or(AppError::Required(field))?;
    let email = caller.user.email.clone();
    authenticate(app, email.as_str(), Some(email.clone()), &Password::new(password), address).await?;
    Ok(())
}

/// Exchanges email and password for a session token.
pub async fn login(app: &App, raw_email: &str, raw_password: &str, address: IpAddr) -> Result<String, AppError> {
    let (email, password) = credentials(raw_email, raw_password, "password")?;
    let user = authenticate(app, raw_email, email, &password, address).await?;
    rehash_if_needed(app, &user, &password).await;
    // Only the owner — who knows the password — learns the account is deactivated.
    if user.status == AccountStatus::Deactivated {
        warn!(client.address = %address, "login refused: the account is deactivated");
        return Err(AppError::AccountDeactivated);
    }
    let token = app.tokens()?.issue(user.id, user.token_version);
    // Durable before the answer: a retried registration must not hand out this account again.
    app.store.record_login(user.id, now_millis()).await?;
    info!("login succeeded");
    Ok(token)
}

/// After a successful login: a hash made at another cost than `BCRYPT_COST` (either way) is made again at
/// this one, so a cost change reaches every account that logs in — and, until it does, a wrong password
/// for an account hashed at the old cost answers in that cost's time, not in the unknown email's. Best
/// effort: the login goes on if it fails (the next login tries again).
async fn rehash_if_needed(app: &App, user: &User, password: &Password) {
    if auth::hash_cost(&user.password_hash) == Some(app.hasher.cost()) {
        return;
    }
    let rehashed = match app.hasher.rehash(password).await {
        Ok(hash) => app.store.rehash_password(user.id, &user.password_hash, hash).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match rehashed {
        Ok(()) => info!(cost = app.hasher.cost(), "password hash made again at the configured cost"),
        Err(e) => warn!(error = %e, "the password hash could not be made again at the configured cost"),
    }
}

/// Changes the password; every session token issued before is revoked.
pub async fn change_password(
    app: &App,
    raw_email: &str,
    current: &str,
    new: String,
    address: IpAddr,
) -> Result<(), AppError> {
    let (email, current) = credentials(raw_email, current, "current_password")?;
    if new.is_empty() {
        return Err(AppError::Required("new_password"));
    }
    // Credentials first: only the account's owner learns why a new password is refused.
    let user = authenticate(app, raw_email, email, &current, address).await?;
    let new = NewPassword::parse(new)?;
    if new.as_password() == &current {
        return Err(AppError::PasswordUnchanged);
    }
    let new_hash = app.hasher.hash(&new).await?;
    match app.store.update_password(user.id, &user.password_hash, new_hash).await {
        Ok(_) => {}
        // The password changed (or the account vanished) between our check and our write.
        Err(StoreError::NotFound) => {
            warn!("password change refused: the password changed concurrently");
            return Err(AppError::InvalidCredentials);
        }
        Err(e) => return Err(e.into()),
    }
    info!("password changed; older tokens revoked");
    Ok(())
}

/// Revokes every session token of the caller's account, this one included.
pub async fn logout_everywhere(app: &App, caller: &Caller) -> Result<(), AppError> {
    caller.session()?;
    match app.store.revoke_tokens(caller.user.id).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    info!("logged out everywhere: every token revoked");
    Ok(())
}

/// Ends the caller's session, on every instance; the account's other sessions are untouched.
pub async fn end_session(app: &App, caller: &Caller) -> Result<(), AppError> {
    let claims = caller.session()?;
    let ended = match claims.sid {
        Some(session) => app.store.revoke_session(caller.user.id, session, claims.expires_at()).await,
        // A token from before sessions existed can only be ended with the rest of the account's.
        None => app.store.revoke_tokens(caller.user.id).await,
    };
    match ended {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    info!("logged out: this session ended");
    Ok(())
}

/// Erases the caller's own account (from a session, with its password), unless it is the last active
/// administrator.
pub async fn delete_own(app: &App, caller: &Caller, password: String, address: IpAddr) -> Result<(), AppError> {
    caller.session()?;
    confirm_password(app, caller, password, address).await?;
    last_admin::delete(app.store.as_ref(), &caller.user).await?;
    info!("account deleted by its owner");
    Ok(())
}

/// Clears this instance's failed-login counters for every account an administrator unlocks, on any
/// instance (the change feed brings the unlock; the counters are kept per process). Runs until the
/// store's feed closes.
pub async fn apply_unlocks(app: std::sync::Arc<App>) {
    let mut changes = app.store.changes();
    loop {
        match changes.recv().await {
            Ok(crate::store::Change::Unlocked(id)) => match app.store.user_by_id(id).await {
                Ok(Some(user)) => app.throttle.unlock(user.email.as_str()),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "an unlock could not be applied here"),
            },
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::identity::Credential;
    use crate::domain::{AccessToken, Role};

    fn caller(role: Role, scopes: Option<Vec<Scope>>) -> Caller {
        let user = crate::store::NewUser {
            id: Uuid::new_v4(),
            email: Email::parse("x@example.com").unwrap(),
            password_hash: String::new(),
            created_at: now_millis(),
            registration_key: None,
            role,
        }
        .into_user();
        let credential = match scopes {
            None => Credential::Session(crate::auth::Claims {
                sub: user.id,
                iat: 0,
                exp: u64::MAX,
                iss: String::new(),
                aud: String::new(),
                ver: 0,
                sid: None,
            }),
            Some(scopes) => Credential::Access(AccessToken {
                id: Uuid::new_v4(),
                user_id: user.id,
                name: "t".into(),
                digest: String::new(),
                scopes,
                created_at: now_millis(),
                expires_at: None,
                last_used_at: None,
            }),
        };
        Caller { user, credential }
    }

    #[test]
    fn who_may_register_whom() {
        let admin = || Some(Ok(caller(Role::Admin, None)));
        let user = || Some(Ok(caller(Role::User, None)));
        let admin_token_without_scope = || Some(Ok(caller(Role::Admin, Some(vec![Scope::Read]))));
        let bad = || Some(Err(AppError::TokenExpired));
        let verdict = |open, credential, asks_role| match registrar(open, credential, asks_role) {
            Ok(Some(_)) => "admin",
            Ok(None) => "anyone",
            Err(e) => match e {
                AppError::RegistrationClosed => "registration_closed",
                AppError::Forbidden => "forbidden",
                AppError::InsufficientScope(_) => "insufficient_scope",
                AppError::TokenExpired => "token_expired",
                _ => "other",
            },
        };
        // Open registration: anyone registers themselves; any Bearer but an administrator's changes nothing.
        assert_eq!(verdict(true, None, false), "anyone");
        assert_eq!(verdict(true, user(), false), "anyone");
        assert_eq!(verdict(true, bad(), false), "anyone");
        assert_eq!(verdict(true, admin(), false), "admin");
        // A role takes an administrator, whose token carries the admin scope.
        assert_eq!(verdict(true, None, true), "forbidden");
        assert_eq!(verdict(true, user(), true), "forbidden");
        assert_eq!(verdict(true, admin_token_without_scope(), true), "insufficient_scope");
        assert_eq!(verdict(true, bad(), true), "token_expired");
        assert_eq!(verdict(true, admin(), true), "admin");
        // Closed registration: only administrators.
        assert_eq!(verdict(false, None, false), "registration_closed");
        assert_eq!(verdict(false, user(), false), "registration_closed");
        assert_eq!(verdict(false, bad(), false), "token_expired");
        assert_eq!(verdict(false, admin(), false), "admin");
    }

    #[test]
    fn credentials_need_both_fields_and_an_email_that_cannot_exist_is_simply_unknown() {
        assert!(matches!(credentials("", "pw", "password"), Err(AppError::Email(EmailError::Empty))));
        assert!(matches!(credentials("ada@example.com", "", "password"), Err(AppError::Required("password"))));
        let (email, _) = credentials("not an email", "pw", "password").unwrap();
        assert!(email.is_none());
        let (email, password) = credentials(" Ada@Example.com ", "pw", "password").unwrap();
        assert_eq!((email.unwrap().as_str(), password.expose()), ("ada@example.com", "pw"));
    }
}
