//! The router: the API's routes with their OpenAPI description, `/docs`, and the JSON answers for unknown
//! routes, wrong methods and oversized bodies, inside the per-request layers.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower::ServiceBuilder;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use super::error::ApiError;
use super::state::{AppState, HttpOptions};
use super::{admin, messages, middleware, ops, tokens, users};
use crate::app::Policy;
use crate::config::MAX_REQUEST_BODY_BYTES;

/// The API's routes and their OpenAPI description, as served.
fn api(options: &HttpOptions, max_message_bytes: usize) -> (Router<AppState>, serde_json::Value) {
    let (router, description) = OpenApiRouter::with_openapi(super::openapi::base())
        .merge(users::routes())
        .merge(messages::routes())
        .merge(tokens::routes())
        .merge(admin::routes())
        .merge(ops::routes(options.metrics_on_main))
        .split_for_parts();
    (router, super::openapi::served(description, max_message_bytes))
}

/// The OpenAPI description served at `/openapi.json`, for the default settings with `/metrics` on the
/// main listener.
pub fn openapi() -> serde_json::Value {
    api(&HttpOptions { metrics_on_main: true, ..HttpOptions::default() }, Policy::default().max_message_bytes).1
}

/// The whole application: API routes, `/openapi.json`, `/docs`, the operations routes, and the JSON answers
/// for unknown routes, wrong methods and oversized bodies, inside the per-request layers.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api(&state.options, state.app.policy.max_message_bytes);
    let app = api.merge(SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", openapi));
    let cors = middleware::cors(state.options.cors_origins.as_ref());
    // The request's id, span, context, limits, timeout and panic catcher in one layer; CORS inside it, so
    // that its answers carry the id and are logged.
    let settings = middleware::PerRequest {
        request_timeout: state.options.request_timeout,
        trust_forwarded_for: state.options.trust_forwarded_for,
    };
    let layers = ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(settings, middleware::per_request))
        .option_layer(cors);
    app.fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
        ApiError::RouteNotFound { method: method.to_string(), path: shown_path(&uri) }
    })
    .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
        ApiError::MethodNotAllowed { method: method.to_string(), path: shown_path(&uri) }
    })
    .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
    .layer(layers)
    .with_state(state)
}

/// A request path as quoted in an error sentence: at most 100 characters.
fn shown_path(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    match path.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_owned(),
    }
}

/// Near-miss paths reach their route: repeated slashes are one (`//messages`), and a trailing slash is
/// dropped (`/messages/`) — except under `/docs/`, the Swagger UI's own tree.
pub fn normalize_path<B>(mut request: hyper::Request<B>) -> hyper::Request<B> {
    let path = request.uri().path();
    let needs = path.contains("//") || (path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs"));
    if !needs {
        return request;
    }
    let mut normal = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        normal.push('/');
        normal.push_str(segment);
    }
    if normal.is_empty() || (path.ends_with('/') && normal.starts_with("/docs")) {
        normal.push('/');
    }
    if let Some(query) = request.uri().query() {
        normal.push('?');
        normal.push_str(query);
    }
    let mut parts = request.uri().clone().into_parts();
    if let Ok(normal) = normal.parse() {
        parts.path_and_query = Some(normal);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}
