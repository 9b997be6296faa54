//! `/tokens`: personal access tokens for scripts. Minting one takes a login session **and** the
//! account's password, so neither an access token nor a stolen session alone can; the token is shown
//! once, starts with `msgk_` (so secret scanners find it) and only its SHA-256 is stored. Tokens are
//! listed (without secrets) and revoked one by one; a password change or a logout everywhere leaves them
//! alone, deactivation and deletion remove them.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rand::distr::{Alphanumeric, SampleString};
use tracing::info;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ACCESS_TOKEN_PREFIX, ApiJson, AuthUser, ClientAddr, PathId, token_digest};
use crate::api::{CreateTokenRequest, CreatedToken, ErrorBody, TokenView};
use crate::domain::Password;
use crate::store::{AccessToken, Role, Scope, StoreError, now_millis};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token, list_tokens)).routes(routes!(revoke_token))
}

/// Random characters after the prefix: 40 alphanumerics, about 238 bits.
const SECRET_LEN: usize = 40;

/// Create an access token.
#[utoipa::path(
    post, path = "/tokens", tag = "tokens",
    security(("bearer" = [])),
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "Created; `token` is shown only this once", body = CreatedToken),
        (status = 400, description = "A bad name, no scope, a bad `expires_in`, no password, a field the request \
            does not take, or a malformed body", body = ErrorBody),
        (status = 401, description = "A wrong password (`invalid_credentials`), or a missing, expired, revoked or \
            badly signed token", body = ErrorBody),
        (status = 403, description = "An access token cannot create tokens (`session_required`); the admin scope \
            is for administrators (`forbidden`)", body = ErrorBody),
        (status = 409, description = "The account has a token of this name (`name_taken`)", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords (`rate_limited`)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn create_token(
    authed: AuthUser,
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    authed.session()?;
    let name = body.name;
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::body("name", "The name must be 1 to 64 characters, without control characters"));
    }
    let mut scopes: Vec<Scope> = body.scopes.iter().copied().map(Scope::from).collect();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ApiError::body("scopes", "The token needs at least one scope: read, send or admin"));
    }
    if scopes.contains(&Scope::Admin) && authed.user.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let lifetime = body.expires_in.as_deref().map(parse_lifetime).transpose()?;
    if body.password.is_empty() {
        return Err(ApiError::Required("password"));
    }
    let email = authed.user.email.clone();
    super::users::authenticate(&state, email.as_str(), Some(email.clone()), &Password::new(body.password), address)
        .await?;
    let secret = format!("{ACCESS_TOKEN_PREFIX}{}", Alphanumeric.sample_string(&mut rand::rng(), SECRET_LEN));
    let created_at = now_millis();
    let token = AccessToken {
        id: Uuid::new_v4(),
        user_id: authed.user.id,
        name,
        digest: token_digest(&secret),
        scopes,
        created_at,
        expires_at: lifetime.map(|l| created_at + l),
        last_used_at: None,
    };
    state.store.create_access_token(token.clone()).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::TokenInvalid,
        other => other.into(),
    })?;
    info!(token.id = %token.id, "access token created");
    Ok((StatusCode::CREATED, Json(CreatedToken { view: TokenView::from(&token), token: secret })))
}

fn parse_lifetime(raw: &str) -> Result<Duration, ApiError> {
    crate::domain::token_lifetime(raw).ok_or_else(|| {
        ApiError::body(
            "expires_in",
            "The field expires_in must be a number and a unit: m (minutes), h, d, w or y, such as 30d; or null",
        )
    })
}

/// The account's access tokens, without their secrets.
#[utoipa::path(
    get, path = "/tokens", tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Oldest first", body = Vec<TokenView>),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 403, description = "Tokens are managed from a login session (`session_required`)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn list_tokens(authed: AuthUser, State(state): State<AppState>) -> Result<Json<Vec<TokenView>>, ApiError> {
    authed.session()?;
    let tokens = state.store.access_tokens(authed.user.id).await?;
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

/// Revoke an access token: refused from now on, on every instance.
#[utoipa::path(
    delete, path = "/tokens/{id}", tag = "tokens",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Missing, malformed, expired, revoked or badly signed token", body = ErrorBody),
        (status = 403, description = "Tokens are managed from a login session (`session_required`)", body = ErrorBody),
        (status = 404, description = "The account has no token with this id (`token_not_found`)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
async fn revoke_token(
    authed: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    authed.session()?;
    let id = id.ok_or(ApiError::TokenNotFound)?;
    state.store.revoke_access_token(authed.user.id, id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::TokenNotFound,
        other => other.into(),
    })?;
    info!(token.id = %id, "access token revoked");
    Ok(StatusCode::NO_CONTENT)
}
