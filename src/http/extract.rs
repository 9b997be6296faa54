//! Request extractors whose rejections are `ApiError`s: JSON bodies, query strings and the authenticated
//! user.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::auth::Claims;
use crate::store::User;

/// A JSON object body, answering bad bodies with the JSON error contract.
///
/// Unlike `axum::Json` alone, it refuses a top-level array: serde would otherwise fill a struct from an
/// array positionally, so `["ada@example.com", "pw"]` would pass as a login.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(crate::config::MAX_REQUEST_BODY_BYTES)
            } else {
                ApiError::InvalidJson(rejection.body_text())
            }
        })?;
        let value = axum::Json::<T>::from_bytes(&bytes)?.0;
        // It parsed, so the first non-blank byte opens the top-level value.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::InvalidBody("expected a JSON object".into()));
        }
        Ok(ApiJson(value))
    }
}

/// `axum::extract::Query`, answering bad query strings with the JSON error contract.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `application/json` or `application/<anything>+json`, with any parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The caller, authenticated by `Authorization: Bearer <token>`: signature, algorithm, issuer, audience
/// and expiry checked, the account still present and the token's version still current (a password change
/// revokes older tokens).
pub struct AuthUser {
    pub user: User,
    /// The token's claims (its expiry and version matter to long-lived streams).
    pub claims: Claims,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::TokenMissing)?;
        let token = bearer_token(header.as_bytes()).ok_or(ApiError::TokenInvalid)?;
        let claims = state.tokens.verify(token)?;
        let user = state.store.user_by_id(claims.sub).await?.ok_or(ApiError::TokenInvalid)?;
        if user.token_version != claims.ver {
            return Err(ApiError::TokenRevoked);
        }
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        Ok(AuthUser { user, claims })
    }
}

/// The client's address: the connection's peer, or with `TRUST_FORWARDED_FOR` the last `X-Forwarded-For`
/// entry (the one the trusted proxy appended).
pub struct ClientAddr(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.options.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|entry| entry.trim().parse().ok())
                .last();
            if let Some(address) = forwarded {
                return Ok(ClientAddr(address));
            }
        }
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        let peer = peer.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no connection info")))?;
        Ok(ClientAddr(peer.0.ip()))
    }
}

/// The token of an `Authorization` header value: scheme `Bearer` (any case), one space, the token.
fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        assert_eq!(bearer_token(b"Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"\xff\xfe"), None);
    }
}
