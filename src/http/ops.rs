//! Operations: liveness, readiness and Prometheus metrics.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use crate::api::{ErrorBody, HealthStatus, ServiceInfo};

/// How long the store gets to answer a readiness ping.
const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Health and readiness, and `/metrics` when it is served on the main listener.
pub(super) fn routes(metrics_on_main: bool) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new().routes(routes!(root)).routes(routes!(healthz)).routes(routes!(readyz));
    if metrics_on_main { routes.routes(routes!(metrics)) } else { routes }
}

/// `/metrics` alone, for its own listener (`--metrics-addr`), requiring `token` when one is set.
pub fn metrics_router(token: Option<String>) -> Router {
    Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let token = token.clone();
            async move { render_metrics(&headers, token.as_deref()) }
        }),
    )
}

/// What this server is, and where its API description lives.
#[utoipa::path(
    get, path = "/", tag = "operations",
    responses((status = 200, description = "The service, its version, and links to its description", body = ServiceInfo))
)]
async fn root() -> Json<ServiceInfo> {
    Json(ServiceInfo {
        name: "msgd".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        docs: "/docs/".to_owned(),
        openapi: "/openapi.json".to_owned(),
    })
}

/// Liveness: the process is up. Never touches the database.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = HealthStatus))
)]
async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus::ok())
}

/// Readiness: the database answers within 1 s and the process is not shutting down.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic", body = HealthStatus),
        (status = 503, description = "Not ready: the database does not answer (`unavailable`) or msgd is \
            shutting down (`shutting_down`)", body = ErrorBody),
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<HealthStatus>, ApiError> {
    if state.lifecycle.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }
    state.app.tokens()?;
    match tokio::time::timeout(READINESS_TIMEOUT, state.app.store.ping()).await {
        Ok(Ok(())) => Ok(Json(HealthStatus::ok())),
        Ok(Err(e)) => Err(ApiError::Unavailable(format!("readiness ping failed: {e}"))),
        Err(_) => Err(ApiError::Unavailable(format!("readiness ping got no answer within {READINESS_TIMEOUT:?}"))),
    }
}

/// Prometheus metrics, text format: requests by route and status, latencies, requests in flight, bcrypt
/// jobs, store operations, open streams, the change feed, build info. On the main listener only with
/// `METRICS=1`; with `METRICS_TOKEN`, only for `Authorization: Bearer <that token>`.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not carry it (`token_missing`, `token_invalid`)", body = ErrorBody),
    )
)]
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> axum::response::Response {
    render_metrics(&headers, state.options.metrics_token.as_deref())
}

fn render_metrics(headers: &axum::http::HeaderMap, token: Option<&str>) -> axum::response::Response {
    if let Some(expected) = token {
        let Some(given) = headers.get(header::AUTHORIZATION) else { return ApiError::TokenMissing.into_response() };
        let given = given.to_str().unwrap_or_default().strip_prefix("Bearer ").unwrap_or_default();
        // Digests compared, so the comparison's time says nothing about the token.
        use sha2::{Digest, Sha256};
        if Sha256::digest(given.trim().as_bytes()) != Sha256::digest(expected.as_bytes()) {
            return ApiError::TokenInvalid.into_response();
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::telemetry::metrics().render())
        .into_response()
}
