//! Request extractors whose rejections are `ApiError`s: JSON bodies, query strings and the authenticated
//! user.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
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

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(request.into_body()).await?;
        // serde_json skips ignored fields without checking them: both checks below cover what it skips.
        if let Err(e) = std::str::from_utf8(&bytes) {
            return Err(ApiError::InvalidJson(format!("not UTF-8 text ({e})")));
        }
        if let Some(depth) = nesting_beyond(&bytes, MAX_JSON_DEPTH) {
            return Err(ApiError::InvalidJson(format!(
                "nested deeper than {MAX_JSON_DEPTH} levels (at least {depth})"
            )));
        }
        // Anything but an object is refused before serde sees it: serde would fill a struct from an array
        // positionally. Whether it is valid JSON decides between invalid_body and invalid_json.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                Ok(_) => ApiError::InvalidBody("expected a JSON object".into()),
                Err(e) => ApiError::InvalidJson(e.to_string()),
            });
        }
        Ok(ApiJson(axum::Json::<T>::from_bytes(&bytes)?.0))
    }
}

/// `axum::extract::Query`, answering bad query strings with the JSON error contract.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// How much of an oversized body is read (and thrown away) before answering 413. A client that is still
/// sending when the server closes the connection gets a reset instead of the answer; reading the rest
/// first, up to this bound, lets it read the 413 (as nginx's lingering close does).
pub const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// The body, if it is at most [`MAX_REQUEST_BODY_BYTES`](crate::config::MAX_REQUEST_BODY_BYTES).
async fn read_body(body: axum::body::Body) -> Result<Bytes, ApiError> {
    use futures::StreamExt;
    let limit = crate::config::MAX_REQUEST_BODY_BYTES;
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::InvalidJson(format!("the body could not be read: {e}")))?;
        total += chunk.len();
        if total <= limit {
            kept.extend_from_slice(&chunk);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    if total > limit {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    Ok(Bytes::from(kept))
}

/// Deepest nesting of arrays and objects a body may have. msgkit's bodies are flat; serde_json limits
/// the depth of what it deserializes, but skips unknown fields iteratively and without a limit, so a deep
/// value in an ignored field would otherwise pass.
pub const MAX_JSON_DEPTH: usize = 32;

/// The nesting depth reached, if it goes beyond `limit`: one pass, strings and escapes respected.
fn nesting_beyond(json: &[u8], limit: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Some(depth);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

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
        let claims = state.tokens()?.verify(token)?;
        let user = current_user(state, &claims).await?;
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        Ok(AuthUser { user, claims })
    }
}

/// The account of verified `claims`, if the token still counts: the account exists and its token version
/// is the token's (a password change or a logout everywhere bumps it). Streams re-check with it too.
pub(super) async fn current_user(state: &AppState, claims: &Claims) -> Result<User, ApiError> {
    let user = state.store.user_by_id(claims.sub).await?.ok_or(ApiError::TokenInvalid)?;
    if user.token_version != claims.ver {
        return Err(ApiError::TokenRevoked);
    }
    Ok(user)
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
                .next_back();
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
    fn nesting_is_measured_outside_strings_only() {
        use super::nesting_beyond;
        assert_eq!(nesting_beyond(br#"{"a": [1, {"b": 2}]}"#, 3), None);
        assert_eq!(nesting_beyond(br#"{"a": [1, {"b": [2]}]}"#, 3), Some(4));
        assert_eq!(nesting_beyond(br#"{"a": "[[[[[[{{{{ \" [[[["}"#, 1), None);
        assert_eq!(nesting_beyond("[".repeat(10_000).as_bytes(), 32), Some(33));
    }

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
