//! Request extractors whose rejections are `ApiError`s: JSON bodies, query strings and the authenticated
//! user.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::AppState;
use crate::app::AppError;
use crate::app::identity::{self, Caller, Credential};

/// A JSON object body, answering bad bodies with the JSON error contract.
///
/// Unlike `axum::Json` alone, it refuses a top-level array: serde would otherwise fill a struct from an
/// array positionally, so `["ada@example.com", "pw"]` would pass as a login. Request types refuse fields
/// they do not have; the answer names the field and the ones the request takes (from its schema).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + utoipa::PartialSchema, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(request.into_body()).await?;
        // serde_json skips ignored fields without checking them: both checks below cover what it skips.
        if let Err(e) = std::str::from_utf8(&bytes) {
            return Err(ApiError::InvalidJson(format!("it is not UTF-8 text (byte {} is not)", e.valid_up_to())));
        }
        if let Some(depth) = nesting_beyond(&bytes, MAX_JSON_DEPTH) {
            return Err(ApiError::InvalidJson(format!(
                "it is nested deeper than {MAX_JSON_DEPTH} levels (at least {depth})"
            )));
        }
        // Anything but an object is refused before serde sees it: serde would fill a struct from an array
        // positionally. Whether it is valid JSON decides between invalid_body and invalid_json.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                Ok(_) => ApiError::InvalidBody { field: None, problem: "The body must be a JSON object".into() },
                Err(e) => super::wording::json_error(".", &e, &[]),
            });
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| super::wording::body_error(e, &field_names::<T>()))?;
        deserializer.end().map_err(|e| super::wording::json_error(".", &e, &[]))?;
        Ok(ApiJson(value))
    }
}

/// The properties of `T`'s schema: the fields its body takes.
fn field_names<T: utoipa::PartialSchema>() -> Vec<String> {
    use utoipa::openapi::{RefOr, schema::Schema};
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.properties.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A query string's parameters, refusing any not in `allowed` and any given twice.
pub fn query_pairs(
    query: Option<&str>,
    allowed: &[&str],
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let mut pairs = std::collections::HashMap::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if !allowed.contains(&key.as_ref()) {
            let allowed: Vec<String> = allowed.iter().map(|a| (*a).to_owned()).collect();
            return Err(ApiError::query(
                key.to_string(),
                format!(
                    "There is no query parameter {key:?} here; it takes {}",
                    super::wording::list_in_words(&allowed)
                ),
            ));
        }
        if pairs.insert(key.to_string(), value.into_owned()).is_some() {
            return Err(ApiError::query(key.to_string(), format!("The query parameter {key} is given more than once")));
        }
    }
    Ok(pairs)
}

/// A message id in a query parameter or header: a UUID. `empty` is what an empty value means, if one is
/// allowed.
pub fn message_id(name: &str, raw: &str, empty: Option<uuid::Uuid>) -> Result<uuid::Uuid, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        if let Some(id) = empty {
            return Ok(id);
        }
    }
    // The hyphenated form only, as the description says (`Uuid::try_parse` would take others too).
    let hyphenated = raw.len() == 36;
    uuid::Uuid::try_parse(raw).ok().filter(|_| hyphenated).ok_or_else(|| {
        let what = if name.contains('-') { "header" } else { "query parameter" };
        ApiError::query(
            name,
            format!("The {what} {name} must be a message id, a UUID like 01a20aa4-16d9-7646-8cff-9c7171f30feb"),
        )
    })
}

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
        let chunk = chunk.map_err(|_| ApiError::InvalidJson("the body could not be read to its end".into()))?;
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

/// The caller, authenticated by `Authorization: Bearer <token>`: a login session (a JWT: signature,
/// algorithm, issuer, audience and expiry checked, the account's token version and ended sessions read in
/// one lookup) or a personal access token (`msgk_…`: found by its digest, with its account, in one
/// lookup). Either way the account must be active. See [`crate::app::identity`].
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::TokenMissing)?;
        let token = bearer_token(header.as_bytes()).ok_or(ApiError::TokenInvalid)?;
        Ok(identity::caller_of(&state.app, token).await?)
    }
}

/// The `Authorization: Bearer` credential as far as it can be checked without the store, for operations
/// that read the account together with what they serve (the way [`Caller`] does on its own).
pub struct Presented(pub Credential);

impl FromRequestParts<AppState> for Presented {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::TokenMissing)?;
        let token = bearer_token(header.as_bytes()).ok_or(ApiError::TokenInvalid)?;
        Ok(Presented(identity::presented(&state.app, token)?))
    }
}

/// An `Authorization` header, if the request has one: for operations open to anyone that an
/// administrator may do more with (`POST /users`).
/// An invalid one is handed over as its error, for the operation to decide whether it matters.
pub struct MaybeCaller(pub Option<Result<Caller, AppError>>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Ok(MaybeCaller(None));
        };
        let Some(token) = bearer_token(header.as_bytes()) else {
            return Ok(MaybeCaller(Some(Err(AppError::TokenInvalid))));
        };
        Ok(MaybeCaller(Some(identity::caller_of(&state.app, token).await)))
    }
}

/// The client's address: the connection's peer, or with `TRUST_FORWARDED_FOR` the last `X-Forwarded-For`
/// entry (the one the trusted proxy appended).
pub struct ClientAddr(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        client_address(&parts.headers, &parts.extensions, state.options.trust_forwarded_for)
            .map(ClientAddr)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no connection info")))
    }
}

/// The client's address, from the connection or (trusting one proxy) the last `X-Forwarded-For` entry —
/// the connection's when that entry is not an address.
pub fn client_address(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    trust_forwarded_for: bool,
) -> Option<std::net::IpAddr> {
    let peer = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|peer| peer.0.ip());
    if !trust_forwarded_for {
        return peer;
    }
    // The last entry is the one the trusted proxy appended; anything before it is the client's to say.
    let Some(last) = headers.get_all("x-forwarded-for").iter().next_back() else { return peer };
    let entry = last.to_str().ok().and_then(|v| v.rsplit(',').next()).map(str::trim).unwrap_or("");
    match entry.parse() {
        Ok(address) => Some(address),
        Err(_) => {
            // Never an earlier, client-supplied entry: the proxy's own peer address stands in.
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!(
                    entry = %entry.chars().take(64).collect::<String>(),
                    "the last X-Forwarded-For entry is not an address: using the connection's peer address \
                     (is the proxy in front of msgd setting it? this is said once)"
                )
            });
            peer
        }
    }
}

/// The token of an `Authorization` header value: scheme `Bearer` (any case), one space, the token.
fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An `{id}` path segment: `None` when it is not a UUID. Handlers answer that with their not-found error
/// once they have checked who is asking, since nothing can have such an id; axum's own `Path<Uuid>` would
/// answer a plain-text 400 instead of the JSON error contract.
pub struct PathId(pub Option<uuid::Uuid>);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let id = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|axum::extract::Path(id)| uuid::Uuid::try_parse(&id).ok());
        Ok(PathId(id))
    }
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
