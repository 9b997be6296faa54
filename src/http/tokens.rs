//! `/tokens`: personal access tokens for scripts (the rules: [`crate::app::tokens`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{ApiJson, ClientAddr, PathId};
use super::state::AppState;
use crate::api::{CreateTokenRequest, CreatedToken, ErrorBody, TokenView};
use crate::app::identity::Caller;
use crate::app::tokens;
use crate::domain::Scope;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token, list_tokens)).routes(routes!(revoke_token))
}

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
    )
)]
async fn create_token(
    caller: Caller,
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let new = tokens::NewToken {
        name: body.name,
        scopes: body.scopes.iter().copied().map(Scope::from).collect(),
        expires_in: body.expires_in,
        password: body.password,
    };
    let (token, secret) = tokens::create(&state.app, &caller, new, address).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { view: TokenView::from(&token), token: secret })))
}

/// The account's access tokens, without their secrets.
#[utoipa::path(
    get, path = "/tokens", tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Oldest first", body = Vec<TokenView>),
        (status = 403, description = "Tokens are managed from a login session (`session_required`)", body = ErrorBody),
    )
)]
async fn list_tokens(caller: Caller, State(state): State<AppState>) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = tokens::list(&state.app, &caller).await?;
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

/// Revoke an access token: refused from now on, on every instance.
#[utoipa::path(
    delete, path = "/tokens/{id}", tag = "tokens",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Tokens are managed from a login session (`session_required`)", body = ErrorBody),
        (status = 404, description = "The account has no token with this id (`token_not_found`)", body = ErrorBody),
    )
)]
async fn revoke_token(
    caller: Caller,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    tokens::revoke(&state.app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
