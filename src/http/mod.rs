//! The HTTP API: state, router, OpenAPI description and `serve`.

mod error;
mod extract;
mod messages;
mod users;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;

use crate::auth::{PasswordHasher, TokenKeys};
use crate::config::MAX_REQUEST_BODY_BYTES;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hasher: PasswordHasher,
    pub tokens: Arc<TokenKeys>,
    /// Largest message content, in bytes.
    pub max_message_bytes: usize,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "msgkit API",
        description = "The msgd messaging API. Every non-2xx answer is JSON: \
                       `{\"error\": \"<sentence>\", \"code\": \"<stable_snake_case>\"}`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "users", description = "Accounts and login"),
        (name = "messages", description = "Sending and reading messages"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The token from POST /users/login"))
                    .build(),
            ),
        );
    }
}

/// The API's routes and their OpenAPI description.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(users::routes()).merge(messages::routes()).split_for_parts()
}

/// The OpenAPI description served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

/// The whole application: API routes, `/openapi.json`, `/docs`, and the JSON answers for unknown routes,
/// wrong methods and oversized bodies.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api();
    api.merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// One span per request, holding everything its log lines should carry. Handlers are not `#[instrument]`ed:
/// extractors such as `AuthUser` run before a handler's own span exists, and record `user.id` here instead.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        user.id = tracing::field::Empty,
    )
}

/// Serves `state` on `listener` until `shutdown` completes, then lets in-flight requests finish and closes
/// the store.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let app = router(state);
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    store.close().await;
    served
}
