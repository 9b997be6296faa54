//! Per-request plumbing around the handlers: request ids, the request's log span and access log line,
//! metrics, the request timeout, CORS and panics.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, Response, StatusCode, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Span;

use super::error::ApiError;
use crate::config::CorsOrigins;
use crate::telemetry::{GaugeGuard, names};

/// `X-Request-Id`.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Largest request line plus headers accepted, in bytes; more is answered 431. (The connection reads up to
/// [`MAX_HEADER_BUFFER`] so that such requests reach this check and get a JSON answer.)
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// What hyper may buffer while reading a request head. Beyond it hyper itself answers an empty 431.
pub const MAX_HEADER_BUFFER: usize = 2 * 1024 * 1024;

/// The one route the request timeout does not apply to: a stream is meant to stay open.
pub const STREAM_PATH: &str = "/messages/stream";

tokio::task_local! {
    static CURRENT_REQUEST_ID: String;
}

/// The id of the request being handled, for error bodies.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// Refuses requests whose request line and headers exceed [`MAX_HEADER_BYTES`] with a JSON 431.
pub async fn limit_headers(request: Request, next: Next) -> axum::response::Response {
    let uri = request.uri();
    let head = uri.path().len()
        + uri.query().map_or(0, str::len)
        + request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum::<usize>();
    if head > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge.into_response();
    }
    next.run(request).await
}

/// Headers on every answer: nothing is cached (answers carry tokens, passwords and private messages), and
/// browsers must not guess content types.
pub fn security_headers() -> (SetResponseHeaderLayer<HeaderValue>, SetResponseHeaderLayer<HeaderValue>) {
    (
        SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    )
}

/// Drops an incoming `X-Request-Id` that is not 1–128 visible ASCII characters (it would end up in logs),
/// so that `SetRequestId` replaces it with a fresh uuid.
pub async fn sanitize_request_id(mut request: Request, next: Next) -> axum::response::Response {
    let acceptable = request.headers().get(&REQUEST_ID).is_some_and(|value| {
        let bytes = value.as_bytes();
        (1..=128).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic())
    });
    if !acceptable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

/// Sets a uuid `X-Request-Id` on requests without one.
pub fn set_request_id() -> SetRequestIdLayer<MakeRequestUuid> {
    SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid)
}

/// Copies the request's `X-Request-Id` onto the response.
pub fn propagate_request_id() -> PropagateRequestIdLayer {
    PropagateRequestIdLayer::new(REQUEST_ID)
}

fn request_id_of(request: &Request) -> &str {
    request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn route_of(request: &Request) -> String {
    // Route templates, not raw paths: bounded label sets in metrics, no ids in access logs.
    request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned())
}

/// One span per request, holding everything its log lines should carry — the client's address among
/// them (the last `X-Forwarded-For` entry with `trust_forwarded_for`). Handlers are not `#[instrument]`ed:
/// extractors such as `AuthUser` run before a handler's own span exists, and record `user.id` here
/// instead.
pub fn request_span(trust_forwarded_for: bool) -> impl Fn(&Request) -> Span + Clone {
    move |request: &Request| {
        let address = super::extract::client_address(request.headers(), request.extensions(), trust_forwarded_for);
        tracing::info_span!(
            "request",
            request_id = %request_id_of(request),
            method = %request.method(),
            route = %route_of(request),
            client.address = address.map(tracing::field::display),
            user.id = tracing::field::Empty,
        )
    }
}

/// The access log line, one per request, inside the request's span.
pub fn log_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    // Two decimals: a hundredth of a millisecond is the finest anyone reads.
    let latency_ms = (latency.as_secs_f64() * 100_000.0).round() / 100.0;
    if status >= 500 {
        tracing::warn!(status, latency_ms, "request completed");
    } else {
        tracing::info!(status, latency_ms, "request completed");
    }
}

/// Makes the request id available to error bodies, and records the request's metrics.
pub async fn request_context(request: Request, next: Next) -> axum::response::Response {
    static IN_FLIGHT: OnceLock<metrics::Gauge> = OnceLock::new();
    let id = request_id_of(&request).to_owned();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let _in_flight = GaugeGuard::new(IN_FLIGHT.get_or_init(|| metrics::gauge!(names::HTTP_IN_FLIGHT)).clone());
    let started = Instant::now();
    let response = CURRENT_REQUEST_ID.scope(id, next.run(request)).await;
    let (requests, duration) = route_metrics(method, &route, response.status());
    requests.increment(1);
    duration.record(started.elapsed().as_secs_f64());
    response
}

/// Method names as label values, without allocating (other methods share one label: they only ever
/// reach the 405 fallback).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

type RouteHandles = (metrics::Counter, metrics::Histogram);

/// The counter and histogram of one (method, route, status), registered once: building a metric key costs
/// allocations on every request otherwise. The set of routes and statuses is small and fixed.
fn route_metrics(method: &'static str, route: &str, status: StatusCode) -> RouteHandles {
    type Table = HashMap<String, HashMap<(&'static str, u16), RouteHandles>>;
    static TABLE: OnceLock<RwLock<Table>> = OnceLock::new();
    let table = TABLE.get_or_init(Default::default);
    let key = (method, status.as_u16());
    if let Some(handles) = table.read().expect("metrics table").get(route).and_then(|r| r.get(&key)) {
        return handles.clone();
    }
    let labels = [("method", method.to_owned()), ("route", route.to_owned()), ("status", status.as_u16().to_string())];
    let handles =
        (metrics::counter!(names::HTTP_REQUESTS, &labels), metrics::histogram!(names::HTTP_DURATION, &labels));
    let mut table = table.write().expect("metrics table");
    table.entry(route.to_owned()).or_default().entry(key).or_insert(handles).clone()
}

/// Answers 503 `timeout` when a request takes longer than `limit` (streams excepted).
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> axum::response::Response {
    if request.uri().path() == STREAM_PATH {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limit).into_response(),
    }
}

/// CORS for the configured origins; `None` when CORS is off.
pub fn cors(origins: Option<&CorsOrigins>) -> Option<CorsLayer> {
    let allow_origin = match origins? {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().map(|o| HeaderValue::from_str(o).expect("validated when parsed")))
        }
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("last-event-id"),
                REQUEST_ID,
            ])
            .expose_headers([REQUEST_ID, header::LINK, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
            .max_age(Duration::from_secs(3600)),
    )
}

/// A panic in a handler is a 500 with the JSON error contract; the panic message is logged, not sent.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}
