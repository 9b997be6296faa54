//! Stream tickets: how a browser follows its stream. `EventSource` cannot send an `Authorization` header,
//! and a bearer token in a URL leaks into logs, proxies and `Referer` (Matrix deprecated that, gotify had
//! to mask it). So a client with a Bearer asks for a ticket — random, valid for [`TICKET_LIFETIME`], good
//! for one stream — and opens `GET /messages/stream?ticket=…` with it. Only the ticket's SHA-256 is stored,
//! with the credential it was made with; taking it deletes it, so it opens one stream once, on whichever
//! instance. The stream then lives as long as that credential does (a revoked session closes it).

use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};
use tracing::info;

use super::context::App;
use super::error::AppError;
use super::identity::{Caller, Credential, current, token_digest};
use crate::auth::{Claims, TOKEN_ISSUER};
use crate::domain::{Scope, now_millis};
use crate::store::StreamTicket;

/// How long a ticket may wait to be used.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(30);

/// Tickets start with this, so a secret scanner (or a person) tells them from tokens.
const TICKET_PREFIX: &str = "msgt_";

/// A new ticket for the caller's stream (the `read` scope); returns the ticket, shown once.
pub async fn issue(app: &App, caller: &Caller) -> Result<String, AppError> {
    caller.require(Scope::Read)?;
    let ticket = format!("{TICKET_PREFIX}{}", Alphanumeric.sample_string(&mut rand::rng(), 40));
    let credential = match &caller.credential {
        Credential::Session(claims) => {
            let sid = claims.sid.map(|sid| sid.to_string()).unwrap_or_default();
            format!("session {} {} {sid}", claims.exp, claims.ver)
        }
        Credential::Access(token) => format!("access {}", token.digest),
    };
    let stored = StreamTicket {
        digest: token_digest(&ticket),
        user_id: caller.user.id,
        credential,
        expires_at: now_millis() + TICKET_LIFETIME,
    };
    app.store.create_ticket(stored).await?;
    info!("stream ticket issued");
    Ok(ticket)
}

/// The caller a ticket stands for, if it is one that was issued, not used yet and not expired, and the
/// credential it was made with still counts. Used up either way.
pub async fn redeem(app: &App, ticket: &str) -> Result<Caller, AppError> {
    let stored = app.store.take_ticket(&token_digest(ticket.trim())).await?.ok_or(AppError::TicketInvalid)?;
    let mut parts = stored.credential.split(' ');
    let credential = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("session"), Some(exp), Some(ver), sid) => Credential::Session(Claims {
            sub: stored.user_id,
            iat: 0,
            exp: exp.parse().map_err(|_| AppError::TicketInvalid)?,
            iss: TOKEN_ISSUER.to_owned(),
            aud: TOKEN_ISSUER.to_owned(),
            ver: ver.parse().map_err(|_| AppError::TicketInvalid)?,
            sid: sid.filter(|s| !s.is_empty()).and_then(|s| s.parse().ok()),
        }),
        (Some("access"), Some(digest), None, None) => Credential::Access(super::identity::with_digest(digest)),
        _ => return Err(AppError::TicketInvalid),
    };
    if let Credential::Session(claims) = &credential {
        if claims.exp <= now_millis().unix_timestamp().max(0) as u64 {
            return Err(AppError::TokenExpired);
        }
    }
    let caller = current(app, &credential).await?;
    caller.require(Scope::Read)?;
    Ok(super::identity::accepted(app, caller))
}
