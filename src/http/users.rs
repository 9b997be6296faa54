//! Accounts: registration, login and password change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tracing::{info, warn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, AuthUser, ClientAddr, MaybeAuthUser};
use crate::api::{
    ChangePasswordRequest, CreateUserRequest, CreatedUser, DeleteAccountRequest, ErrorBody, LoginRequest, Me,
    PASSWORD_UPDATED, STORE_PASSWORD_NOTICE, StatusMessage, TokenResponse,
};
use crate::auth;
use crate::domain::{Email, NewPassword, Password};
use crate::store::{AccountStatus, NewUser, Role, Scope, StoreError, User, now_millis};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user))
        .routes(routes!(login))
        .routes(routes!(change_password))
        .routes(routes!(me, delete_me))
        .routes(routes!(logout_everywhere))
        .routes(routes!(end_session))
}

/// How long a retried registration (same `Idempotency-Key`) gets the account, with a new password.
pub const REGISTRATION_RETRY_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

/// Create an account with a server-generated password.
///
/// With an `Idempotency-Key`, a retry within 10 minutes — the first answer was lost — answers `201` for
/// the same account with a newly generated password (the one lost stops working), as long as the account
/// has not logged in yet.
#[utoipa::path(
    post, path = "/users", tag = "users",
    security((), ("bearer" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a registration safe to retry: \
            the same key for the same email within 10 minutes answers 201 for the same account, with a new \
            generated password, until the account first logs in. 1 to 255 visible ASCII characters.",
            max_length = 255, min_length = 1, pattern = "^[!-~]+$", nullable = false),
    ),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created (or, for a retried Idempotency-Key, the same account with a new \
            password); the password is shown only this once", body = CreatedUser,
            headers(("Idempotent-Replayed" = String, description = "`true` when this answers a retry"))),
        (status = 400, description = "Email missing (`email_required`), malformed (`email_invalid`) or already \
            registered (`email_taken`); a field the request does not take (`unknown_field`); a malformed body", body = ErrorBody),
        (status = 401, description = "A Bearer that is not valid came with `role`, or while registration is \
            closed (otherwise a Bearer changes nothing unless it is an administrator's)", body = ErrorBody),
        (status = 403, description = "Registration is closed and no administrator asked (`registration_closed`), \
            or someone other than an administrator set `role` (`forbidden`, `insufficient_scope`)", body = ErrorBody),
        (status = 409, description = "A retry with the same Idempotency-Key is being handled (`idempotency_conflict`)", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address (`rate_limited`); see Retry-After",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "Server error", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    MaybeAuthUser(credential): MaybeAuthUser,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<axum::response::Response, ApiError> {
    // An administrator (a Bearer with the admin scope) may register whoever, with a role, whether or not
    // registration is open; anyone else only themselves, while it is open.
    // Anyone else's Bearer, even an expired one, changes nothing while registration is open and no role is
    // asked for: the spec's registration takes none, and clients that send theirs on every request keep
    // working.
    let open = state.options.registration_open;
    let asks_role = body.role.is_some();
    let admin = match credential {
        Some(Ok(user)) => match user.require(Scope::Admin) {
            Ok(()) => Some(user),
            Err(_) if open && !asks_role => None,
            Err(e) if asks_role => return Err(e),
            Err(_) => return Err(ApiError::RegistrationClosed),
        },
        Some(Err(_)) if open && !asks_role => None,
        Some(Err(e)) => return Err(e),
        None if !open => return Err(ApiError::RegistrationClosed),
        None if asks_role => return Err(ApiError::Forbidden),
        None => None,
    };
    // Validate first: a mistake teaches an enumerator nothing, so it does not count against the address.
    let key = super::messages::idempotency_key(&headers)?.map(|key| digest(&key));
    let email = Email::parse(&body.email).map_err(ApiError::Email)?;
    if admin.is_none() {
        state.throttle.check_registration(address).map_err(|wait| {
            warn!(client.address = %address, retry_after_secs = wait.as_secs(), "registration refused: rate-limited");
            ApiError::RateLimited(wait)
        })?;
    }
    let password = auth::generate_password();
    let password_hash = state.hasher.hash(&password).await?;
    let new = NewUser {
        id: Uuid::new_v4(),
        email: email.clone(),
        password_hash: password_hash.clone(),
        created_at: now_millis(),
        registration_key: key.clone(),
        role: body.role.map_or(Role::User, Role::from),
    };
    let (user, replayed) = match state.store.create_user(new).await {
        Ok(user) => (user, false),
        Err(StoreError::EmailTaken) => match &key {
            Some(key) => (retried_registration(&state, &email, key, password_hash).await?, true),
            None => {
                if admin.is_none() {
                    state.throttle.registration_answered(address);
                }
                info!("registration refused: email already registered");
                return Err(ApiError::EmailTaken);
            }
        },
        Err(e) => return Err(e.into()),
    };
    if !replayed && admin.is_none() {
        state.throttle.registration_answered(address);
    }
    super::middleware::record_user(user.id);
    info!(replayed, "user created");
    let created = CreatedUser {
        user_id: user.id,
        email: user.email.to_string(),
        generated_password: password.expose().to_owned(),
        message: STORE_PASSWORD_NOTICE.to_owned(),
    };
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert(super::messages::IDEMPOTENT_REPLAYED, axum::http::HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// A registration retried with the same key: the same account, with `new_hash` as its password, if it
/// was registered with this key less than [`REGISTRATION_RETRY_WINDOW`] ago and never logged in.
async fn retried_registration(state: &AppState, email: &Email, key: &str, new_hash: String) -> Result<User, ApiError> {
    let existing = state.store.user_by_email(email).await?;
    let cutoff = now_millis() - REGISTRATION_RETRY_WINDOW;
    let Some(existing) = existing
        .filter(|u| u.registration_key.as_deref() == Some(key) && u.created_at > cutoff && u.last_login_at.is_none())
    else {
        info!("registration refused: email already registered");
        return Err(ApiError::EmailTaken);
    };
    match state.store.reissue_password(existing.id, key, &existing.password_hash, cutoff, new_hash).await {
        Ok(user) => Ok(user),
        // Another retry replaced the password first (or the account logged in meanwhile).
        Err(StoreError::NotFound) => Err(ApiError::IdempotencyConflict),
        Err(e) => Err(e.into()),
    }
}

/// SHA-256 of an idempotency key, hex: what is stored to recognize it.
fn digest(key: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// Exchange email and password for a bearer token.
#[utoipa::path(
    post, path = "/users/login", tag = "users",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Malformed body, a missing field, or a field the request does not take", body = ErrorBody),
        (status = 401, description = "Invalid email or password (`invalid_credentials`); an unknown email and \
            a wrong password get the same answer in the same time", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 403, description = "The right password for a deactivated account (`account_deactivated`)", body = ErrorBody),
        (status = 429, description = "Too many failed attempts for this account from this address, from this \
            address, or — from an address its owner has not used — for this account (`rate_limited`); see \
            Retry-After", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (email, password) = credentials(&body.email, &body.password, "password")?;
    let user = authenticate(&state, &body.email, email, &password, address).await?;
    // Only the owner — who knows the password — learns the account is deactivated.
    if user.status == AccountStatus::Deactivated {
        warn!(client.address = %address, "login refused: the account is deactivated");
        return Err(ApiError::AccountDeactivated);
    }
    let token = state.tokens()?.issue(user.id, user.token_version);
    // Durable before the 200: a retried registration must not hand out this account again.
    state.store.record_login(user.id, now_millis()).await?;
    info!("login succeeded");
    Ok(Json(TokenResponse { token }))
}

/// Change the password; every token issued before is revoked.
#[utoipa::path(
    put, path = "/users/change-password", tag = "users",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password updated; log in again with the new password", body = StatusMessage),
        (status = 400, description = "Malformed body, a missing field or a field the request does not take; or, \
            with the right credentials, a new password that is too short (`password_too_short`), longer than 72 bytes (`password_too_long`), has \
            control characters (`password_invalid`) or equals the current one (`password_unchanged`)", body = ErrorBody),
        (status = 401, description = "Invalid email or current password (`invalid_credentials`)", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 429, description = "Too many failed attempts for this account or from this address \
            (`rate_limited`); see Retry-After", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<Json<StatusMessage>, ApiError> {
    let (email, current) = credentials(&body.email, &body.current_password, "current_password")?;
    if body.new_password.is_empty() {
        return Err(ApiError::Required("new_password"));
    }
    // Credentials first: only the account's owner learns why a new password is refused.
    let user = authenticate(&state, &body.email, email, &current, address).await?;
    let new = NewPassword::parse(body.new_password)?;
    if new.as_password() == &current {
        return Err(ApiError::PasswordUnchanged);
    }
    let new_hash = state.hasher.hash(&new).await?;
    match state.store.update_password(user.id, &user.password_hash, new_hash).await {
        Ok(_) => {}
        // The password changed (or the account vanished) between our check and our write.
        Err(StoreError::NotFound) => {
            warn!("password change refused: the password changed concurrently");
            return Err(ApiError::InvalidCredentials);
        }
        Err(e) => return Err(e.into()),
    }
    info!("password changed; older tokens revoked");
    Ok(Json(StatusMessage { message: PASSWORD_UPDATED.to_owned() }))
}

/// Log out everywhere: revoke every token of the caller, this one included.
#[utoipa::path(
    post, path = "/users/logout", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every token issued so far is revoked"),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn logout_everywhere(authed: AuthUser, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    authed.session()?;
    let user = authed.user;
    match state.store.revoke_tokens(user.id).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    info!("logged out everywhere: every token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Log out this session: the token presented is revoked, on every instance; the account's other
/// sessions (other devices, scripts) are untouched.
#[utoipa::path(
    delete, path = "/users/me/session", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "This session is ended: its token is refused from now on"),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn end_session(authed: AuthUser, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    let (user, claims) = (&authed.user, authed.session()?);
    match claims.sid {
        Some(session) => match state.store.revoke_session(user.id, session, claims.expires_at()).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        },
        // A token from before sessions existed can only be ended with the rest of the account's.
        None => match state.store.revoke_tokens(user.id).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        },
    }
    info!("logged out: this session ended");
    Ok(StatusCode::NO_CONTENT)
}

/// The account the token belongs to.
#[utoipa::path(
    get, path = "/users/me", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = Me),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn me(authed: AuthUser) -> Result<Json<Me>, ApiError> {
    authed.require(Scope::Read)?;
    let user = authed.user;
    Ok(Json(Me {
        user_id: user.id,
        email: user.email.to_string(),
        created_at: user.created_at,
        role: user.role.into(),
    }))
}

/// Delete the caller's own account: the account, its access tokens and every message it sent or
/// received are erased, on every instance; the email can be registered again.
#[utoipa::path(
    delete, path = "/users/me", tag = "users",
    security(("bearer" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Erased"),
        (status = 400, description = "The password is missing (`password_required`), or a malformed body", body = ErrorBody),
        (status = 401, description = "A wrong password (`invalid_credentials`), or a missing, expired, revoked or badly signed token", body = ErrorBody),
        (status = 403, description = "An access token cannot delete its account (`session_required`)", body = ErrorBody),
        (status = 409, description = "The last active administrator (`last_admin`)", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords (`rate_limited`)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn delete_me(
    authed: AuthUser,
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<DeleteAccountRequest>,
) -> Result<StatusCode, ApiError> {
    authed.session()?;
    if body.password.is_empty() {
        return Err(ApiError::Required("password"));
    }
    let email = authed.user.email.clone();
    authenticate(&state, email.as_str(), Some(email.clone()), &Password::new(body.password), address).await?;
    super::admin::delete_account(&state, &authed.user).await?;
    info!("account deleted by its owner");
    Ok(StatusCode::NO_CONTENT)
}

/// Reads the credentials of a login-like body. A missing field is a malformed body (400); an email that
/// cannot be an account's is simply not found, which `authenticate` answers like any wrong credentials.
fn credentials(
    raw_email: &str,
    raw_password: &str,
    password_field: &'static str,
) -> Result<(Option<Email>, Password), ApiError> {
    let email = match Email::parse(raw_email) {
        Ok(email) => Some(email),
        Err(crate::domain::EmailError::Empty) => return Err(ApiError::Email(crate::domain::EmailError::Empty)),
        Err(_) => None,
    };
    if raw_password.is_empty() {
        return Err(ApiError::Required(password_field));
    }
    Ok((email, Password::new(raw_password)))
}

/// Checks credentials, throttled per account and per address before any hashing. An unknown email is
/// verified against a dummy hash, so it costs what a wrong password costs and gets the same answer.
pub(super) async fn authenticate(
    state: &AppState,
    raw_email: &str,
    email: Option<Email>,
    password: &Password,
    address: std::net::IpAddr,
) -> Result<User, ApiError> {
    let account = email.as_ref().map_or(raw_email, Email::as_str);
    state.throttle.check_credentials(account, address).map_err(|wait| {
        warn!(client.address = %address, retry_after_secs = wait.as_secs(), "authentication refused: rate-limited");
        ApiError::RateLimited(wait)
    })?;
    let user = match &email {
        Some(email) => state.store.user_by_email(email).await?,
        None => None,
    };
    let matches = state.hasher.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    match user {
        Some(user) if matches => {
            super::middleware::record_user(user.id);
            state.throttle.credentials_succeeded(account, address);
            Ok(user)
        }
        Some(user) => {
            super::middleware::record_user(user.id);
            warn!(client.address = %address, "authentication failed: wrong password");
            state.throttle.credentials_failed(account, address);
            Err(ApiError::InvalidCredentials)
        }
        None => {
            warn!(client.address = %address, "authentication failed: unknown email");
            state.throttle.credentials_failed(account, address);
            Err(ApiError::InvalidCredentials)
        }
    }
}
