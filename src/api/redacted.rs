//! `Debug` for the wire types that carry secrets: the secret fields shown as `<redacted>`.

use std::fmt;

use super::accounts::{ChangePasswordRequest, CreatedUser, DeleteAccountRequest, LoginRequest, TokenResponse};
use super::admin::{GeneratedPassword, ResetPasswordRequest, UpdateUserRequest};
use super::messages::StreamTicketResponse;
use super::tokens::{CreateTokenRequest, CreatedToken};

/// `Debug` for a wire type, with its secret fields shown as `<redacted>`.
macro_rules! redacted_debug {
    ($ty:ident { $($field:ident),* } secret { $($secret:ident),* }) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    $(.field(stringify!($secret), &"<redacted>"))*
                    .finish()
            }
        }
    };
}

redacted_debug!(CreatedUser { user_id, email, message } secret { generated_password });

redacted_debug!(GeneratedPassword { user_id } secret { generated_password });

redacted_debug!(DeleteAccountRequest {} secret { password });

redacted_debug!(CreateTokenRequest { name, scopes, expires_in } secret { password });

redacted_debug!(CreatedToken { view } secret { token });

redacted_debug!(LoginRequest { email } secret { password });

redacted_debug!(TokenResponse {} secret { token });

redacted_debug!(ChangePasswordRequest { email } secret { current_password, new_password });

redacted_debug!(UpdateUserRequest { role } secret { current_password });

redacted_debug!(ResetPasswordRequest {} secret { current_password });

redacted_debug!(StreamTicketResponse { expires_in } secret { ticket });
