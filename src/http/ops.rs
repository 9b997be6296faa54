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
use crate::api::{ErrorBody, HealthStatus};

/// How long the store gets to answer a readiness ping.
const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Health and readiness, and `/metrics` when it is served on the main listener.
pub(super) fn routes(metrics_on_main: bool) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz));
    if metrics_on_main { routes.routes(routes!(metrics)) } else { routes }
}

/// `/metrics` alone, for its own listener (`--metrics-addr`).
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", axum::routing::get(metrics))
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
    state.tokens()?;
    match tokio::time::timeout(READINESS_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(HealthStatus::ok())),
        Ok(Err(e)) => Err(ApiError::Unavailable(format!("readiness ping failed: {e}"))),
        Err(_) => Err(ApiError::Unavailable(format!("readiness ping got no answer within {READINESS_TIMEOUT:?}"))),
    }
}

/// Prometheus metrics, text format: requests by route and status, latencies, requests in flight, bcrypt
/// jobs, store operations, open streams, build info. Served on the main listener unless `--metrics-addr`
/// gives it a listener of its own.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String))
)]
async fn metrics() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::telemetry::metrics().render())
}
