//! Accounts: registration, login and password change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tracing::{Span, field, info, warn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, AuthUser, ClientAddr};
use crate::api::{
    ChangePasswordRequest, CreateUserRequest, CreatedUser, ErrorBody, LoginRequest, Me, PASSWORD_UPDATED,
    STORE_PASSWORD_NOTICE, StatusMessage, TokenResponse,
};
use crate::auth;
use crate::domain::{Email, NewPassword, Password};
use crate::store::{NewUser, StoreError, User, now_millis};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user))
        .routes(routes!(login))
        .routes(routes!(change_password))
        .routes(routes!(me))
        .routes(routes!(logout_everywhere))
}

/// Create an account with a server-generated password.
#[utoipa::path(
    post, path = "/users", tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created; the password is shown only this once", body = CreatedUser),
        (status = 400, description = "Email missing (`email_required`), malformed (`email_invalid`) or already \
            registered (`email_taken`); or a malformed body", body = ErrorBody),
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
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    state.throttle.check_registration(address).map_err(ApiError::RateLimited)?;
    let email = Email::parse(&body.email)?;
    let password = auth::generate_password();
    let password_hash = state.hasher.hash(&password).await?;
    let user = state
        .store
        .create_user(NewUser { id: Uuid::new_v4(), email, password_hash, created_at: now_millis() })
        .await
        .inspect_err(|e| {
            if matches!(e, StoreError::EmailTaken) {
                info!("registration refused: email already registered");
            }
        })?;
    Span::current().record("user.id", field::display(user.id));
    info!("user created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user_id: user.id,
            email: user.email.to_string(),
            generated_password: password.expose().to_owned(),
            message: STORE_PASSWORD_NOTICE.to_owned(),
        }),
    ))
}

/// Exchange email and password for a bearer token.
#[utoipa::path(
    post, path = "/users/login", tag = "users",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Malformed body or a missing field", body = ErrorBody),
        (status = 401, description = "Invalid email or password (`invalid_credentials`); an unknown email and \
            a wrong password get the same answer in the same time", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 429, description = "Too many failed attempts for this account or from this address \
            (`rate_limited`); see Retry-After", body = ErrorBody,
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
    info!("login succeeded");
    Ok(Json(TokenResponse { token: state.tokens()?.issue(user.id, user.token_version) }))
}

/// Change the password; every token issued before is revoked.
#[utoipa::path(
    put, path = "/users/change-password", tag = "users",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password updated; log in again with the new password", body = StatusMessage),
        (status = 400, description = "Malformed body or a missing field; or, with the right credentials, a new \
            password that is too short (`password_too_short`), longer than 72 bytes (`password_too_long`), has \
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
async fn logout_everywhere(
    AuthUser { user, .. }: AuthUser,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    match state.store.revoke_tokens(user.id).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    info!("logged out everywhere: every token revoked");
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
async fn me(AuthUser { user, .. }: AuthUser) -> Json<Me> {
    Json(Me { user_id: user.id, email: user.email.to_string(), created_at: user.created_at })
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
async fn authenticate(
    state: &AppState,
    raw_email: &str,
    email: Option<Email>,
    password: &Password,
    address: std::net::IpAddr,
) -> Result<User, ApiError> {
    let account = email.as_ref().map_or(raw_email, Email::as_str);
    state.throttle.check_credentials(account, address).map_err(|wait| {
        warn!(retry_after_secs = wait.as_secs(), "authentication refused: rate-limited");
        ApiError::RateLimited(wait)
    })?;
    let user = match &email {
        Some(email) => state.store.user_by_email(email).await?,
        None => None,
    };
    let matches = state.hasher.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    match user {
        Some(user) if matches => {
            Span::current().record("user.id", field::display(user.id));
            state.throttle.credentials_succeeded(account);
            Ok(user)
        }
        Some(user) => {
            Span::current().record("user.id", field::display(user.id));
            warn!("authentication failed: wrong password");
            state.throttle.credentials_failed(account, address);
            Err(ApiError::InvalidCredentials)
        }
        None => {
            warn!("authentication failed: unknown email");
            state.throttle.credentials_failed(account, address);
            Err(ApiError::InvalidCredentials)
        }
    }
}
