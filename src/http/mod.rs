//! The HTTP API: handlers that translate between HTTP and the use cases of [`crate::app`] — parse the
//! request, call one use case, map its error to an [`ApiError`], write the response.
//!
//! - [`state`]: what every handler can reach. [`router`]: routes, OpenAPI, `/docs`, fallbacks.
//!   [`serve`](serve::serve): connections, bounded by [`conn`], drained at shutdown.
//! - [`middleware`]: the per-request layer (id, span, access line, metrics, timeout); [`extract`]:
//!   request extractors; [`error`]: `ApiError`, every non-2xx answer as JSON.
//! - Handlers by resource: `users`, `tokens`, `messages`, `stream`, `admin`, `ops`.

mod admin;
pub mod conn;
pub mod error;
mod extract;
mod messages;
pub mod middleware;
mod openapi;
mod ops;
mod refusal;
pub mod router;
pub mod serve;
pub mod state;
mod stream;
mod tokens;
mod users;
mod wording;

pub use error::ApiError;
pub use ops::metrics_router;
pub use router::{openapi, router};
pub use serve::serve;
pub use state::{AppState, HttpOptions, Lifecycle, Shared};
