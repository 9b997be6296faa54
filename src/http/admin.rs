//! `/admin/…`: accounts as an administrator sees them — list, deactivate and activate, reset a password,
//! unlock, change the role, delete. Every route needs the admin scope and an administrator (401 without a
//! token, 403 `forbidden` for anyone else). The changes that must keep an active administrator are
//! [`crate::app::admin`]'s.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{ApiJson, ClientAddr, PathId, query_pairs};
use super::state::AppState;
use crate::api::{AdminUser, ErrorBody, GeneratedPassword, ResetPasswordRequest, StatusName, UpdateUserRequest};
use crate::app::admin::{self, DEFAULT_PAGE, MAX_PAGE};
use crate::app::identity::Caller;
use crate::domain::{AccountStatus, Role, Scope};
use crate::store::UserQuery;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(deactivate))
        .routes(routes!(activate))
        .routes(routes!(reset_password))
        .routes(routes!(unlock))
}

/// List accounts, in email order, a page at a time.
#[utoipa::path(
    get, path = "/admin/users", tag = "admin",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size (default 100)"),
        ("after" = Option<String>, Query, format = Uuid, description = "Only accounts after this one (by id), in email order: the next page starts after the last of this one"),
        ("status" = Option<StatusName>, Query, description = "Only `active` or only `deactivated` accounts"),
        ("email" = Option<String>, Query, description = "Only emails that start with this"),
    ),
    responses(
        (status = 200, description = "A page of accounts in email order; `Link: rel=\"next\"` when more follow", body = Vec<AdminUser>,
            headers(("Link" = String, description = "The next page"))),
        (status = 400, description = "Invalid query parameters (`invalid_query`)", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`), or a token without the admin scope (`insufficient_scope`)", body = ErrorBody),
        (status = 404, description = "No account has the id `after` names (deleted since the last page?): start the list again (`user_not_found`)", body = ErrorBody),
    )
)]
async fn list_users(caller: Caller, State(state): State<AppState>, uri: axum::http::Uri) -> Result<Response, ApiError> {
    // Who asks first: a stranger learns nothing from the query's mistakes.
    caller.require(Scope::Admin)?;
    let mut pairs = query_pairs(uri.query(), &["limit", "after", "status", "email"])?;
    let limit = match pairs.remove("limit") {
        None => DEFAULT_PAGE,
        Some(raw) => raw.trim().parse::<usize>().ok().filter(|l| (1..=MAX_PAGE).contains(l)).ok_or_else(|| {
            ApiError::query("limit", format!("The query parameter limit must be a whole number from 1 to {MAX_PAGE}"))
        })?,
    };
    let after = pairs
        .remove("after")
        .map(|raw| super::extract::message_id("after", &raw, None))
        .transpose()
        .map_err(|_| ApiError::query("after", "The query parameter after must be an account id (a UUID)"))?;
    let status = match pairs.remove("status").as_deref() {
        None => None,
        Some(raw) => Some(
            AccountStatus::parse(raw)
                .ok_or_else(|| ApiError::query("status", "The query parameter status must be active or deactivated"))?,
        ),
    };
    let email_prefix = pairs.remove("email").map(|e| e.trim().to_lowercase());
    let query = UserQuery { after, limit, status, email_prefix: email_prefix.clone() };
    // An `after` naming no account (deleted since?) is a 404 `user_not_found`: start the list again.
    let (users, more) = admin::list_users(&state.app, &caller, query).await?;
    let mut response = Json(users.iter().map(AdminUser::from).collect::<Vec<_>>()).into_response();
    if let (true, Some(last)) = (more, users.last()) {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        next.append_pair("limit", &limit.to_string()).append_pair("after", &last.id.to_string());
        if let Some(status) = status {
            next.append_pair("status", status.as_str());
        }
        if let Some(email) = &email_prefix {
            next.append_pair("email", email);
        }
        let link = format!("</admin/users?{}>; rel=\"next\"", next.finish());
        response.headers_mut().insert(header::LINK, HeaderValue::from_str(&link).expect("a link is ASCII"));
    }
    Ok(response)
}

/// Deactivate an account: every session and access token of it is refused at once, on every instance,
/// and its streams close; logging in with the right password answers `403 account_deactivated`.
#[utoipa::path(
    post, path = "/admin/users/{id}/deactivate", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Deactivated", body = AdminUser),
        (status = 403, description = "Not an administrator (`forbidden`, `insufficient_scope`)", body = ErrorBody),
        (status = 404, description = "No such account (`user_not_found`)", body = ErrorBody),
        (status = 409, description = "The last active administrator (`last_admin`)", body = ErrorBody),
    )
)]
async fn deactivate(
    caller: Caller,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<AdminUser>, ApiError> {
    let updated = admin::set_status(&state.app, &caller, id, AccountStatus::Deactivated).await?;
    Ok(Json(AdminUser::from(&updated)))
}

/// Activate a deactivated account again (its owner logs in anew: sessions and tokens were revoked).
#[utoipa::path(
    post, path = "/admin/users/{id}/activate", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Active", body = AdminUser),
        (status = 403, description = "Not an administrator (`forbidden`, `insufficient_scope`)", body = ErrorBody),
        (status = 404, description = "No such account (`user_not_found`)", body = ErrorBody),
    )
)]
async fn activate(
    caller: Caller,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<AdminUser>, ApiError> {
    let updated = admin::set_status(&state.app, &caller, id, AccountStatus::Active).await?;
    Ok(Json(AdminUser::from(&updated)))
}

/// Give an account a new generated password; every session of it is revoked. Needs a login session and
/// your own current password (re-authentication, like GitHub's sudo mode): a stolen session or access
/// token alone cannot turn into a password.
#[utoipa::path(
    post, path = "/admin/users/{id}/reset-password", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "The new password, shown only this once", body = GeneratedPassword),
        (status = 400, description = "No `current_password` (`current_password_required`), a field the request \
            does not take, or a malformed body", body = ErrorBody),
        (status = 401, description = "Your current password is wrong (`invalid_credentials`; it counts as a failed \
            login), or a missing, expired, revoked or badly signed token", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`, `insufficient_scope`), or an access token: only a \
            login session may reset a password (`session_required`)", body = ErrorBody),
        (status = 404, description = "No such account (`user_not_found`)", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn reset_password(
    caller: Caller,
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    PathId(id): PathId,
    ApiJson(body): ApiJson<ResetPasswordRequest>,
) -> Result<Json<GeneratedPassword>, ApiError> {
    let (user_id, password) =
        admin::reset_password(&state.app, &caller, id, Some(body.current_password), address).await?;
    Ok(Json(GeneratedPassword { user_id, generated_password: password.expose().to_owned() }))
}

/// Clear the account's failed-login counters, on every instance: an owner locked out by someone else's
/// guessing gets back in at once.
#[utoipa::path(
    post, path = "/admin/users/{id}/unlock", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Unlocked"),
        (status = 403, description = "Not an administrator (`forbidden`, `insufficient_scope`)", body = ErrorBody),
        (status = 404, description = "No such account (`user_not_found`)", body = ErrorBody),
    )
)]
async fn unlock(caller: Caller, State(state): State<AppState>, PathId(id): PathId) -> Result<StatusCode, ApiError> {
    admin::unlock(&state.app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change an account's role. Making an administrator needs a login session and your own current password
/// (`current_password`), as resetting a password does.
#[utoipa::path(
    patch, path = "/admin/users/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Changed", body = AdminUser),
        (status = 400, description = "`role: admin` without `current_password` (`current_password_required`), a \
            malformed body, or a field the request does not take", body = ErrorBody),
        (status = 401, description = "Your current password is wrong (`invalid_credentials`; it counts as a failed \
            login), or a missing, expired, revoked or badly signed token", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`, `insufficient_scope`); making an \
            administrator with an access token (`session_required`)", body = ErrorBody),
        (status = 404, description = "No such account (`user_not_found`)", body = ErrorBody),
        (status = 409, description = "Demoting the last active administrator (`last_admin`)", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn update_user(
    caller: Caller,
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    PathId(id): PathId,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> Result<Json<AdminUser>, ApiError> {
    let change =
        admin::RoleChange { role: body.role.map(Role::from), current_password: body.current_password, address };
    let updated = admin::set_role(&state.app, &caller, id, change).await?;
    Ok(Json(AdminUser::from(&updated)))
}

/// Delete an account: it, its access tokens and every message it sent or received are erased; the email
/// can be registered again.
#[utoipa::path(
    delete, path = "/admin/users/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Erased"),
        (status = 403, description = "Not an administrator (`forbidden`, `insufficient_scope`)", body = ErrorBody),
        (status = 404, description = "No such account (`user_not_found`)", body = ErrorBody),
        (status = 409, description = "The last active administrator (`last_admin`)", body = ErrorBody),
    )
)]
async fn delete_user(
    caller: Caller,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    admin::delete(&state.app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
