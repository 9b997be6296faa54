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
use tracing::Span;

use super::error::ApiError;
use crate::config::CorsOrigins;
use crate::telemetry::{GaugeGuard, names};

/// `X-Request-Id`.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The one route the request timeout does not apply to: a stream is meant to stay open.
pub const STREAM_PATH: &str = "/messages/stream";

fn request_id_of(request: &Request) -> &str {
    request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// One span per request, holding everything its log lines should carry — the client's address among
/// them (the last `X-Forwarded-For` entry with `trust_forwarded_for`). Handlers are not `#[instrument]`ed:
/// extractors such as `AuthUser` run before a handler's own span exists, and record `user.id` here
/// instead.
pub fn request_span(request: &Request, route: &str, address: Option<&str>) -> Span {
    tracing::info_span!(
        "request",
        request_id = %request_id_of(request),
        method = %request.method(),
        route = %route,
        client.address = address.map(tracing::field::display),
        user.id = tracing::field::Empty,
    )
}

/// The access log line, one per request, inside the request's span: written straight into the log
/// buffer when msgd's own logger is set up, else through tracing.
fn log_response(response: &Response<Body>, latency: Duration, request: &AccessFields) {
    let status = response.status().as_u16();
    // Two decimals: a hundredth of a millisecond is the finest anyone reads.
    let latency_ms = (latency.as_secs_f64() * 100_000.0).round() / 100.0;
    let level = if status >= 500 { tracing::Level::WARN } else { tracing::Level::INFO };
    let wanted = match level {
        tracing::Level::WARN => tracing::enabled!(target: "msgkit::http::middleware", tracing::Level::WARN),
        _ => tracing::enabled!(target: "msgkit::http::middleware", tracing::Level::INFO),
    };
    if !wanted {
        return;
    }
    let line = crate::telemetry::Access {
        request_id: &request.id,
        method: request.method.as_str(),
        route: &request.route,
        client: request.address.as_deref(),
        user: crate::telemetry::current_user(),
        status,
        latency_ms,
    };
    if crate::telemetry::write_access(&line) {
        return;
    }
    if status >= 500 {
        tracing::warn!(status, latency_ms, "request completed");
    } else {
        tracing::info!(status, latency_ms, "request completed");
    }
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

/// The span fields the access line repeats.
struct AccessFields {
    id: String,
    method: Method,
    route: String,
    address: Option<String>,
}

/// What [`per_request`] needs from the settings.
#[derive(Clone, Copy)]
pub struct PerRequest {
    pub request_timeout: Duration,
    pub trust_forwarded_for: bool,
}

/// Everything every request passes through, in one pass and one boxed future, outermost first: its id
/// (an acceptable `X-Request-Id` kept, otherwise a fresh uuid; echoed on the answer), its log span and
/// access log line, the request id for error bodies and the metrics, the header size limit, the timeout
/// (streams excepted) and the panic catcher; then `Cache-Control: no-store` (unless set) and `nosniff` on
/// the answer. (As nine tower layers this was most of what `/healthz` costs beyond a bare hello.)
pub async fn per_request(State(settings): State<PerRequest>, mut request: Request, next: Next) -> Response<Body> {
    use futures::FutureExt;
    use tracing::Instrument;

    static IN_FLIGHT: OnceLock<metrics::Gauge> = OnceLock::new();
    let started = Instant::now();
    let id = match request.headers().get(&REQUEST_ID) {
        Some(value) if acceptable_request_id(value) => value.clone(),
        _ => {
            let mut buffer = uuid::Uuid::encode_buffer();
            let fresh = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
            let fresh = HeaderValue::from_str(fresh).expect("a uuid is ASCII");
            request.headers_mut().insert(REQUEST_ID, fresh.clone());
            fresh
        }
    };
    let address = super::extract::client_address(request.headers(), request.extensions(), settings.trust_forwarded_for)
        .map(crate::telemetry::ip_text);
    // Route templates, not raw paths: bounded label sets in metrics, no ids in access logs.
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let span = request_span(&request, &route, address.as_deref());
    let method = method_label(request.method());
    let text = id.to_str().unwrap_or("").to_owned();
    let fields = AccessFields { id: text.clone(), method: request.method().clone(), route: route.clone(), address };
    let too_large = header_bytes(&request) > crate::config::MAX_HEADER_BYTES
        || request.headers().len() > crate::config::MAX_HEADERS;
    let stream = request.uri().path() == STREAM_PATH;
    let docs = request.uri().path().starts_with("/docs");
    let handled = async move {
        let _in_flight = GaugeGuard::new(IN_FLIGHT.get_or_init(|| metrics::gauge!(names::HTTP_IN_FLIGHT)).clone());
        let measured = Instant::now();
        let response = if too_large {
            ApiError::HeadersTooLarge.into_response()
        } else {
            let run = std::panic::AssertUnwindSafe(next.run(request)).catch_unwind();
            let outcome = if stream {
                run.await
            } else {
                match tokio::time::timeout(settings.request_timeout, run).await {
                    Ok(outcome) => outcome,
                    Err(_) => Ok(ApiError::Timeout(settings.request_timeout).into_response()),
                }
            };
            outcome.unwrap_or_else(panic_response)
        };
        let (requests, duration) = route_metrics(method, &route, response.status());
        requests.increment(1);
        duration.record(measured.elapsed().as_secs_f64());
        log_response(&response, started.elapsed(), &fields);
        response
    };
    let mut response = crate::telemetry::in_request(text, handled.instrument(span)).await;
    let headers = response.headers_mut();
    headers.entry(REQUEST_ID).or_insert(id);
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // The API answers data, never a page: nothing in it may load or run. /docs (Swagger UI) runs its own
    // scripts and styles and reads /openapi.json, from here only.
    let policy = if docs { DOCS_CSP } else { super::refusal::API_CSP };
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    response
}

/// The Content-Security-Policy of `/docs`: Swagger UI's own scripts, styles (it sets inline styles) and
/// icons (some as `data:` URLs), requests to this server only; never framed, no base or form targets.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; \
                        base-uri 'none'; form-action 'none'";

fn acceptable_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=128).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic())
}

fn header_bytes(request: &Request) -> usize {
    let uri = request.uri();
    uri.path().len()
        + uri.query().map_or(0, str::len)
        + request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum::<usize>()
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
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("last-event-id"),
                REQUEST_ID,
            ])
            .expose_headers([
                REQUEST_ID,
                header::LINK,
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
                HeaderName::from_static("idempotent-replayed"),
            ])
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

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    fn app(timeout: Duration) -> Router {
        let settings = PerRequest { request_timeout: timeout, trust_forwarded_for: false };
        Router::new()
            .route("/panics", get(panics))
            .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }))
            .route("/ok", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(settings, per_request))
    }

    async fn call(app: Router, path: &str, id: Option<&str>) -> (StatusCode, HeaderMap, serde_json::Value) {
        let mut request = Request::builder().uri(path);
        if let Some(id) = id {
            request = request.header(REQUEST_ID, id);
        }
        let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    async fn panics() -> &'static str {
        panic!("on purpose")
    }

    #[tokio::test]
    async fn a_panic_is_a_json_500_carrying_the_request_id() {
        let (status, headers, body) = call(app(Duration::from_secs(5)), "/panics", Some("req-7")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!((body["code"].as_str(), body["request_id"].as_str()), (Some("internal"), Some("req-7")));
        assert_eq!(headers[&REQUEST_ID], "req-7");
        assert_eq!(
            (
                headers[header::CACHE_CONTROL.as_str()].to_str().unwrap(),
                headers["x-content-type-options"].to_str().unwrap()
            ),
            ("no-store", "nosniff")
        );
    }

    #[tokio::test]
    async fn a_slow_request_is_a_json_503_and_an_unusable_request_id_is_replaced() {
        let (status, headers, body) = call(app(Duration::from_millis(50)), "/slow", Some("has space")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("timeout")));
        let id = headers[&REQUEST_ID].to_str().unwrap();
        uuid::Uuid::parse_str(id).expect("a fresh uuid replaced the unusable id");
        assert_eq!(body["request_id"].as_str(), Some(id));
        let (status, headers, _) = call(app(Duration::from_secs(5)), "/ok", None).await;
        assert_eq!(status, StatusCode::OK);
        uuid::Uuid::parse_str(headers[&REQUEST_ID].to_str().unwrap()).unwrap();
    }
}
