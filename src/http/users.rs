//! Accounts: registration, login and password change.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{ApiJson, ClientAddr, MaybeCaller};
use super::messages::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};
use super::state::AppState;
use crate::api::{
    ChangePasswordRequest, CreateUserRequest, CreatedUser, DeleteAccountRequest, ErrorBody, LoginRequest, Me,
    PASSWORD_UPDATED, STORE_PASSWORD_NOTICE, StatusMessage, TokenResponse,
};
use crate::app::identity::Caller;
use crate::app::{accounts, messages};
use crate::domain::{Role, Scope};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user))
        .routes(routes!(login))
        .routes(routes!(change_password))
        .routes(routes!(me, delete_me))
        .routes(routes!(logout_everywhere))
        .routes(routes!(end_session))
}

/// Create an account with a server-generated password.
///
/// Anyone may, while registration is open. An administrator may too (also while it is closed), and may
/// set `role`, by sending its `Authorization: Bearer` token: the operation declares no security
/// requirement because the common case is anonymous, and generated clients then call it with a plain
/// client.
///
/// With an `Idempotency-Key`, a retry within 10 minutes — the first answer was lost — answers `201` for
/// the same account with a newly generated password (the one lost stops working), as long as the account
/// has not logged in yet.
#[utoipa::path(
    post, path = "/users", tag = "users",
    security(),
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
            registered (`email_taken`); `role: admin` without `current_password` (`current_password_required`); a \
            field the request does not take (`unknown_field`); a malformed body", body = ErrorBody),
        (status = 401, description = "A Bearer that is not valid came with `role`, or while registration is \
            closed (otherwise a Bearer changes nothing unless it is an administrator's); a wrong \
            `current_password` (`invalid_credentials`)", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "For a bad Bearer"))),
        (status = 403, description = "Registration is closed and no administrator asked (`registration_closed`), \
            or someone other than an administrator set `role` (`forbidden`, `insufficient_scope`); an access \
            token set `role: admin` (`session_required`)", body = ErrorBody),
        (status = 409, description = "A retry with the same Idempotency-Key is being handled (`idempotency_conflict`)", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address (`rate_limited`); see Retry-After",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "Server error", body = ErrorBody),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    MaybeCaller(credential): MaybeCaller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let admin = accounts::registrar(state.app.policy.registration_open, credential, body.role.is_some())?;
    // Validate first: a mistake teaches an enumerator nothing, so it does not count against the address.
    let key = messages::idempotency_key(headers.get(&IDEMPOTENCY_KEY).map(HeaderValue::as_bytes))?;
    let registration = accounts::Registration {
        email: &body.email,
        role: body.role.map(Role::from),
        key: key.as_deref(),
        admin: admin.as_ref(),
        current_password: body.current_password,
        address,
    };
    let registered = accounts::register(&state.app, registration).await?;
    let created = CreatedUser {
        user_id: registered.user.id,
        email: registered.user.email.to_string(),
        generated_password: registered.password.expose().to_owned(),
        message: STORE_PASSWORD_NOTICE.to_owned(),
    };
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    if registered.replayed {
        response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
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
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let token = accounts::login(&state.app, &body.email, &body.password, address).await?;
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
    )
)]
async fn change_password(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<Json<StatusMessage>, ApiError> {
    accounts::change_password(&state.app, &body.email, &body.current_password, body.new_password, address).await?;
    Ok(Json(StatusMessage { message: PASSWORD_UPDATED.to_owned() }))
}

/// Log out everywhere: revoke every token of the caller, this one included.
#[utoipa::path(
    post, path = "/users/logout", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every token issued so far is revoked"),
        (status = 403, description = "An access token cannot log out (`session_required`): only a login session", body = ErrorBody),
    )
)]
async fn logout_everywhere(caller: Caller, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    accounts::logout_everywhere(&state.app, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log out this session: the token presented is revoked, on every instance; the account's other
/// sessions (other devices, scripts) are untouched.
#[utoipa::path(
    delete, path = "/users/me/session", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "This session is ended: its token is refused from now on"),
        (status = 403, description = "An access token is not a session (`session_required`): revoke it with \
            `DELETE /tokens/{id}`", body = ErrorBody),
    )
)]
async fn end_session(caller: Caller, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    accounts::end_session(&state.app, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account the token belongs to.
#[utoipa::path(
    get, path = "/users/me", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = Me),
        (status = 403, description = "An access token without the `read` scope (`insufficient_scope`)", body = ErrorBody),
    )
)]
async fn me(caller: Caller) -> Result<Json<Me>, ApiError> {
    caller.require(Scope::Read)?;
    let user = caller.user;
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
    )
)]
async fn delete_me(
    caller: Caller,
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<DeleteAccountRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::delete_own(&state.app, &caller, body.password, address).await?;
    Ok(StatusCode::NO_CONTENT)
}
