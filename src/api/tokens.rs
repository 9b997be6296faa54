//! Personal access tokens.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::rfc3339_millis;

/// What an access token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeName {
    /// `GET /messages`, the stream, `GET /users/me`.
    Read,
    /// `POST /messages`.
    Send,
    /// The admin API, while the owner is an administrator.
    Admin,
}

impl From<ScopeName> for crate::domain::Scope {
    fn from(scope: ScopeName) -> Self {
        match scope {
            ScopeName::Read => crate::domain::Scope::Read,
            ScopeName::Send => crate::domain::Scope::Send,
            ScopeName::Admin => crate::domain::Scope::Admin,
        }
    }
}

impl From<crate::domain::Scope> for ScopeName {
    fn from(scope: crate::domain::Scope) -> Self {
        match scope {
            crate::domain::Scope::Read => ScopeName::Read,
            crate::domain::Scope::Send => ScopeName::Send,
            crate::domain::Scope::Admin => ScopeName::Admin,
        }
    }
}

/// `POST /tokens`
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "backup script", "scopes": ["read"], "expires_in": "30d", "password": "…"}))]
pub struct CreateTokenRequest {
    /// A name, unique among the account's tokens: 1 to 64 characters, no control characters. Stored
    /// exactly as given.
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 64, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub name: String,
    /// What the token may do; at least one.
    #[serde(default)]
    #[schema(required = true, min_items = 1)]
    pub scopes: Vec<ScopeName>,
    /// How long it lasts: a number and a unit, `m` (minutes), `h`, `d`, `w` or `y` (365 days), e.g. `30d`;
    /// null or absent: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^([1-9][0-9]{0,3}[mhdw]|[1-9][0-9]?y)$")]
    pub expires_in: Option<String>,
    /// The account's password: a session alone (a stolen one) cannot mint tokens.
    #[serde(default)]
    #[schema(required = true, format = Password, min_length = 1)]
    pub password: String,
}

/// An access token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<ScopeName>,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Null: until revoked.
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was last used (to the minute); null: never.
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<&crate::domain::AccessToken> for TokenView {
    fn from(token: &crate::domain::AccessToken) -> Self {
        Self {
            id: token.id,
            name: token.name.clone(),
            scopes: token.scopes.iter().copied().map(ScopeName::from).collect(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
        }
    }
}

/// `201` answer to `POST /tokens`: the token itself, shown only this once.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub view: TokenView,
    /// `msgk_…`: use it as `Authorization: Bearer <token>`. Only its SHA-256 is stored.
    pub token: String,
}
