//! Who is calling: a presented credential (a login session's token or a personal access token) checked
//! against the store, and what the caller may do with it.

use std::time::Duration;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::context::App;
use super::error::AppError;
use crate::auth::{ACCESS_TOKEN_PREFIX, Claims};
use crate::domain::{AccessToken, AccountStatus, Role, Scope, User};

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A login session; its claims (expiry and version matter to long-lived streams).
    Session(Claims),
    /// A personal access token.
    Access(AccessToken),
}

/// A caller whose credential counts: the account and how it authenticated.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub credential: Credential,
}

impl Caller {
    /// Fails unless the caller may do what `scope` covers: a session may do anything its account may, an
    /// access token only what its scopes say. The admin scope also needs an administrator.
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        if let Credential::Access(token) = &self.credential {
            if !token.scopes.contains(&scope) {
                return Err(AppError::InsufficientScope(scope.as_str()));
            }
        }
        if scope == Scope::Admin && self.user.role != Role::Admin {
            return Err(AppError::Forbidden);
        }
        Ok(())
    }

    /// The session's claims; an access token may not do what only its owner, logged in, may.
    pub fn session(&self) -> Result<&Claims, AppError> {
        match &self.credential {
            Credential::Session(claims) => Ok(claims),
            Credential::Access(_) => Err(AppError::SessionRequired),
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

/// A bearer token as far as it can be checked without the store: a session's signature, claims and
/// expiry; an access token's digest (looked up by [`current`]).
pub fn presented(app: &App, token: &str) -> Result<Credential, AppError> {
    Ok(if token.starts_with(ACCESS_TOKEN_PREFIX) {
        Credential::Access(AccessToken { digest: token_digest(token), ..placeholder_token() })
    } else {
        Credential::Session(app.tokens()?.verify(token)?)
    })
}

/// A bearer token checked all the way ([`presented`], then [`current`]) and its caller [`accepted`].
pub async fn caller_of(app: &App, token: &str) -> Result<Caller, AppError> {
    let credential = presented(app, token)?;
    Ok(accepted(app, current(app, &credential).await?))
}

/// Whether a credential still counts, and whose it is — one lookup either way: a session's account (its
/// token version and ended sessions with it), or an access token with its account. The account must be
/// active. Streams re-check with it too.
pub async fn current(app: &App, credential: &Credential) -> Result<Caller, AppError> {
    match credential {
        Credential::Session(claims) => session_caller(app.store.user_by_id(claims.sub).await?, claims),
        Credential::Access(token) => {
            // Revoked and never-issued tokens look the same: no such digest.
            let (user, token) = app.store.user_by_access_token(&token.digest).await?.ok_or(AppError::TokenInvalid)?;
            access_caller(user, token)
        }
    }
}

/// Whether a session still counts for its account as read from the store: the same token version, not
/// ended, the account active.
pub fn session_caller(user: Option<User>, claims: &Claims) -> Result<Caller, AppError> {
    let user = user.ok_or(AppError::TokenInvalid)?;
    if user.token_version != claims.ver || claims.sid.is_some_and(|sid| user.revoked_sessions.contains(&sid)) {
        return Err(AppError::TokenRevoked);
    }
    active(Caller { user, credential: Credential::Session(claims.clone()) })
}

/// Whether an access token still counts for its account as read from the store: not expired, the account
/// active.
pub fn access_caller(user: User, token: AccessToken) -> Result<Caller, AppError> {
    if token.expires_at.is_some_and(|at| at <= OffsetDateTime::now_utc()) {
        return Err(AppError::TokenExpired);
    }
    active(Caller { user, credential: Credential::Access(token) })
}

/// Whether `credential` still counts for its account as read again (with the account's access tokens,
/// for an access token): what an open stream checks from time to time.
pub fn still_counts(
    credential: &Credential,
    user: Option<User>,
    tokens: Option<&[AccessToken]>,
) -> Result<(), AppError> {
    match credential {
        Credential::Session(claims) => session_caller(user, claims).map(drop),
        Credential::Access(token) => {
            let user = user.ok_or(AppError::TokenInvalid)?;
            let token = tokens
                .and_then(|tokens| tokens.iter().find(|t| t.digest == token.digest))
                .cloned()
                .ok_or(AppError::TokenInvalid)?;
            access_caller(user, token).map(drop)
        }
    }
}

fn active(caller: Caller) -> Result<Caller, AppError> {
    if caller.user.status == AccountStatus::Deactivated {
        return Err(AppError::TokenRevoked);
    }
    Ok(caller)
}

/// A caller who passed the check: named in the log lines of the work being done; an access token's use
/// recorded.
pub fn accepted(app: &App, caller: Caller) -> Caller {
    crate::telemetry::record_user(caller.user.id);
    if let Credential::Access(token) = &caller.credential {
        note_use(app, token);
    }
    caller
}

/// How stale an access token's `last_used_at` may be: it is written at most once per this, in the
/// background, so using a token costs no write per request.
const LAST_USED_RESOLUTION: Duration = Duration::from_secs(60);

fn note_use(app: &App, token: &AccessToken) {
    let now = OffsetDateTime::now_utc();
    if token.last_used_at.is_some_and(|at| now - at < LAST_USED_RESOLUTION) {
        return;
    }
    let (store, user, id) = (app.store.clone(), token.user_id, token.id);
    tokio::spawn(async move {
        if let Err(e) = store.touch_access_token(user, id, now).await {
            tracing::debug!(error = %e, "recording an access token's use failed");
        }
    });
}

/// An access token known only by its digest, to look the real one up by (as [`current`] does).
pub fn with_digest(digest: &str) -> AccessToken {
    AccessToken { digest: digest.to_owned(), ..placeholder_token() }
}

/// An empty access token carrying only a digest, to look the real one up by.
fn placeholder_token() -> AccessToken {
    AccessToken {
        id: Uuid::nil(),
        user_id: Uuid::nil(),
        name: String::new(),
        digest: String::new(),
        scopes: Vec::new(),
        created_at: OffsetDateTime::UNIX_EPOCH,
        expires_at: None,
        last_used_at: None,
    }
}

/// SHA-256 of a secret (an access token, an idempotency key), hex: all that is stored of it.
pub fn token_digest(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}
