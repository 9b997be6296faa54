//! Accounts as an administrator sees them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::accounts::RoleName;
use crate::domain::rfc3339_millis;

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusName {
    Active,
    Deactivated,
}

impl From<crate::domain::AccountStatus> for StatusName {
    fn from(status: crate::domain::AccountStatus) -> Self {
        match status {
            crate::domain::AccountStatus::Active => StatusName::Active,
            crate::domain::AccountStatus::Deactivated => StatusName::Deactivated,
        }
    }
}

/// An account as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminUser {
    pub user_id: Uuid,
    #[schema(format = Email)]
    pub email: String,
    pub role: RoleName,
    pub status: StatusName,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The last successful login; null if it never logged in.
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
}

impl From<&crate::domain::User> for AdminUser {
    fn from(user: &crate::domain::User) -> Self {
        Self {
            user_id: user.id,
            email: user.email.to_string(),
            role: user.role.into(),
            status: user.status.into(),
            created_at: user.created_at,
            last_login_at: user.last_login_at,
        }
    }
}

/// `PATCH /admin/users/{id}`
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
    /// Your own current password (the administrator's who asks): required to make an administrator, so a
    /// stolen session or token alone cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Password, min_length = 1)]
    pub current_password: Option<String>,
}

/// `POST /admin/users/{id}/reset-password`
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "…"}))]
pub struct ResetPasswordRequest {
    /// Your own current password (the administrator's who asks), not the account's: a reset password reads
    /// the account's messages, so a stolen session or token alone cannot make one.
    #[serde(default)]
    #[schema(required = true, format = Password, min_length = 1)]
    pub current_password: String,
}

/// `200` answer to `POST /admin/users/{id}/reset-password`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct GeneratedPassword {
    pub user_id: Uuid,
    /// The account's new password, shown only this once; every session of the account is revoked.
    pub generated_password: String,
}
