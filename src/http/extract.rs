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
use crate::store::{AccessToken, AccountStatus, Role, Scope, User};

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
                Err(e) => super::error::json_error(".", &e, &[]),
            });
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| super::error::body_error(e, &field_names::<T>()))?;
        deserializer.end().map_err(|e| super::error::json_error(".", &e, &[]))?;
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
                format!("There is no query parameter {key:?} here; it takes {}", super::error::list_in_words(&allowed)),
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
/// lookup). Either way the account must be active.
pub struct AuthUser {
    pub user: User,
    pub credential: Credential,
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A login session; its claims (expiry and version matter to long-lived streams).
    Session(Claims),
    /// A personal access token.
    Access(AccessToken),
}

pub use crate::auth::ACCESS_TOKEN_PREFIX;

impl AuthUser {
    /// Fails unless the caller may do what `scope` covers: a session may do anything its account may, an
    /// access token only what its scopes say. The admin scope also needs an administrator.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if let Credential::Access(token) = &self.credential {
            if !token.scopes.contains(&scope) {
                return Err(ApiError::InsufficientScope(scope.as_str()));
            }
        }
        if scope == Scope::Admin && self.user.role != Role::Admin {
            return Err(ApiError::Forbidden);
        }
        Ok(())
    }

    /// The session's claims; an access token may not do what only its owner, logged in, may.
    pub fn session(&self) -> Result<&Claims, ApiError> {
        match &self.credential {
            Credential::Session(claims) => Ok(claims),
            Credential::Access(_) => Err(ApiError::SessionRequired),
        }
    }

    /// When the credential stops working by itself, seconds since the epoch.
    pub fn expires(&self) -> Option<u64> {
        match &self.credential {
            Credential::Session(claims) => Some(claims.exp),
            Credential::Access(token) => token.expires_at.map(|at| at.unix_timestamp().max(0) as u64),
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Presented(credential) = Presented::from_request_parts(parts, state).await?;
        Ok(accepted(state, current_user(state, &credential).await?))
    }
}

/// The `Authorization: Bearer` credential as far as it can be checked without the store: a session's
/// signature, claims and expiry; an access token's digest. For operations that read the account together
/// with what they serve ([`session_user`] then checks it), the way [`AuthUser`] does on its own.
pub struct Presented(pub Credential);

impl FromRequestParts<AppState> for Presented {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::TokenMissing)?;
        let token = bearer_token(header.as_bytes()).ok_or(ApiError::TokenInvalid)?;
        Ok(Presented(if token.starts_with(ACCESS_TOKEN_PREFIX) {
            Credential::Access(AccessToken { digest: token_digest(token), ..placeholder_token() })
        } else {
            Credential::Session(state.tokens()?.verify(token)?)
        }))
    }
}

/// A caller who passed the check: named in the request's log span; an access token's use recorded.
pub fn accepted(state: &AppState, authed: AuthUser) -> AuthUser {
    super::middleware::record_user(authed.user.id);
    if let Credential::Access(token) = &authed.credential {
        note_use(state, token);
    }
    authed
}

/// Whether a session still counts for its account as read from the store: the same token version, not
/// ended, the account active.
pub fn session_user(user: Option<User>, claims: &Claims) -> Result<AuthUser, ApiError> {
    let user = user.ok_or(ApiError::TokenInvalid)?;
    if user.token_version != claims.ver || claims.sid.is_some_and(|sid| user.revoked_sessions.contains(&sid)) {
        return Err(ApiError::TokenRevoked);
    }
    active(AuthUser { user, credential: Credential::Session(claims.clone()) })
}

fn active(authed: AuthUser) -> Result<AuthUser, ApiError> {
    if authed.user.status == AccountStatus::Deactivated {
        return Err(ApiError::TokenRevoked);
    }
    Ok(authed)
}

/// An empty access token carrying only a digest, to look the real one up by.
fn placeholder_token() -> AccessToken {
    AccessToken {
        id: uuid::Uuid::nil(),
        user_id: uuid::Uuid::nil(),
        name: String::new(),
        digest: String::new(),
        scopes: Vec::new(),
        created_at: time::OffsetDateTime::UNIX_EPOCH,
        expires_at: None,
        last_used_at: None,
    }
}

/// SHA-256 of an access token, hex: all that is stored of it.
pub fn token_digest(token: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Whether a credential still counts, and whose it is — one lookup either way: a session's account (its
/// token version and ended sessions with it), or an access token with its account. The account must be
/// active. Streams re-check with it too.
pub(super) async fn current_user(state: &AppState, credential: &Credential) -> Result<AuthUser, ApiError> {
    match credential {
        Credential::Session(claims) => session_user(state.store.user_by_id(claims.sub).await?, claims),
        Credential::Access(token) => {
            // Revoked and never-issued tokens look the same: no such digest.
            let (user, token) = state.store.user_by_access_token(&token.digest).await?.ok_or(ApiError::TokenInvalid)?;
            access_user(user, token)
        }
    }
}

/// Whether an access token still counts for its account as read from the store: not expired, the account
/// active.
pub fn access_user(user: User, token: AccessToken) -> Result<AuthUser, ApiError> {
    if token.expires_at.is_some_and(|at| at <= time::OffsetDateTime::now_utc()) {
        return Err(ApiError::TokenExpired);
    }
    active(AuthUser { user, credential: Credential::Access(token) })
}

/// How stale an access token's `last_used_at` may be: it is written at most once per this, in the
/// background, so using a token costs no write per request.
const LAST_USED_RESOLUTION: std::time::Duration = std::time::Duration::from_secs(60);

fn note_use(state: &AppState, token: &AccessToken) {
    let now = time::OffsetDateTime::now_utc();
    if token.last_used_at.is_some_and(|at| now - at < LAST_USED_RESOLUTION) {
        return;
    }
    let (store, user, id) = (state.store.clone(), token.user_id, token.id);
    tokio::spawn(async move {
        if let Err(e) = store.touch_access_token(user, id, now).await {
            tracing::debug!(error = %e, "recording an access token's use failed");
        }
    });
}

/// An `Authorization` header, if the request has one: for operations open to anyone that an
/// administrator may do more with (`POST /users`).
/// An invalid one is handed over as its error, for the operation to decide whether it matters.
pub struct MaybeAuthUser(pub Option<Result<AuthUser, ApiError>>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.get(AUTHORIZATION).is_none() {
            return Ok(MaybeAuthUser(None));
        }
        Ok(MaybeAuthUser(Some(AuthUser::from_request_parts(parts, state).await)))
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

/// The client's address, from the connection or (trusting one proxy) the last `X-Forwarded-For` entry.
pub fn client_address(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    trust_forwarded_for: bool,
) -> Option<std::net::IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|peer| peer.0.ip())
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
