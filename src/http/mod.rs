//! The HTTP API: state, router, OpenAPI description and `serve`.

mod admin;
pub mod conn;
mod error;
mod extract;

mod messages;
pub mod middleware;
mod openapi;
mod ops;
mod stream;
mod tokens;
mod users;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::{ServiceBuilder, ServiceExt};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;

use crate::auth::{PasswordHasher, SigningKeys, TokenKeys};
use crate::config::{CorsOrigins, MAX_REQUEST_BODY_BYTES};
use crate::store::Store;
use crate::throttle::Throttle;

/// What every handler can reach. One `Arc`: axum clones the state for every request (and with it every
/// layer holding it), so a clone must be a single atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub hasher: PasswordHasher,
    /// Token signing keys; empty until the secret has been read from a database that was not reachable.
    pub keys: Arc<SigningKeys>,
    pub lifecycle: Lifecycle,
    pub options: HttpOptions,
    /// Failed-login and registration counters.
    pub throttle: Throttle,
    /// Open streams, by account.
    pub hub: Arc<crate::app::live::Hub>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// The token keys; `503 unavailable` while the signing secret is still to be read from the database.
    pub fn tokens(&self) -> Result<&TokenKeys, ApiError> {
        self.keys
            .get()
            .ok_or_else(|| ApiError::Unavailable("the token secret has not been read from the database yet".into()))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest message content, in bytes.
    pub max_message_bytes: usize,
    /// Longest a request may take (streams excepted).
    pub request_timeout: Duration,
    /// How long requests in flight may take to finish at shutdown.
    pub drain_timeout: Duration,
    /// How long to answer /readyz with 503 before closing the listener at shutdown.
    pub shutdown_delay: Duration,
    /// Browser origins allowed by CORS; `None`: CORS off.
    pub cors_origins: Option<CorsOrigins>,
    /// Serve /metrics on the main listener (`METRICS`, and no listener of its own).
    pub metrics_on_main: bool,
    /// The bearer token /metrics requires, if any.
    pub metrics_token: Option<String>,
    /// Take the client address from the last X-Forwarded-For entry.
    pub trust_forwarded_for: bool,
    /// How often an open stream looks again without being told to.
    pub stream_recheck: Duration,
    /// How often an idle stream sends a keep-alive comment.
    pub stream_keepalive: Duration,
    /// Anyone may register (`REGISTRATION=open`), or only administrators create accounts.
    pub registration_open: bool,
    /// Bounds on every connection.
    pub connections: conn::Limits,
}

impl Default for HttpOptions {
    fn default() -> Self {
        let config = crate::config::Config::default();
        Self {
            max_message_bytes: config.max_message_bytes,
            request_timeout: config.request_timeout,
            drain_timeout: config.drain_timeout,
            shutdown_delay: config.shutdown_delay,
            cors_origins: None,
            metrics_on_main: false,
            metrics_token: None,
            trust_forwarded_for: false,
            stream_recheck: config.stream_recheck,
            stream_keepalive: config.stream_keepalive,
            registration_open: true,
            connections: conn::Limits::of(&config),
        }
    }
}

/// Where the process is in its life: serving, or shutting down.
#[derive(Debug)]
pub struct Lifecycle {
    shutting_down: AtomicBool,
    closing: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self { shutting_down: AtomicBool::new(false), closing: watch::Sender::new(false) }
    }
}

impl Lifecycle {
    /// Readiness turns 503 and open streams are told to close.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.closing.send_replace(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Changes to `true` when shutdown begins.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

/// The API's routes and their OpenAPI description, as served.
fn api(options: &HttpOptions) -> (Router<AppState>, serde_json::Value) {
    let (router, description) = OpenApiRouter::with_openapi(openapi::base())
        .merge(users::routes())
        .merge(messages::routes())
        .merge(tokens::routes())
        .merge(admin::routes())
        .merge(ops::routes(options.metrics_on_main))
        .split_for_parts();
    (router, openapi::served(description, options.max_message_bytes))
}

/// The OpenAPI description served at `/openapi.json`, for the default settings with `/metrics` on the
/// main listener.
pub fn openapi() -> serde_json::Value {
    api(&HttpOptions { metrics_on_main: true, ..HttpOptions::default() }).1
}

pub use ops::metrics_router;

/// The whole application: API routes, `/openapi.json`, `/docs`, the operations routes, and the JSON answers
/// for unknown routes, wrong methods and oversized bodies, inside the per-request layers.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api(&state.options);
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

/// Serves `state` on `listener` until `shutdown` completes. Then: `/readyz` answers 503, open streams are
/// told to close, and after the configured shutdown delay the listener closes; requests in flight get the
/// drain timeout to finish; finally the store is closed.
///
/// Connections are served by hyper directly (rather than `axum::serve`) to set what axum does not expose:
/// a header buffer large enough that oversized headers get msgd's JSON 431 rather than hyper's empty one,
/// and the bounds of [`conn`] on every connection: its request head, its idle time, its unread writes, and
/// how many are open at once.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;

    let store = state.store.clone();
    let (delay, drain) = (state.options.shutdown_delay, state.options.drain_timeout);
    let limits = state.options.connections;
    let unlocks = tokio::spawn(apply_unlocks(state.clone()));
    let dispatcher = tokio::spawn(crate::app::live::dispatch(
        state.hub.clone(),
        store.clone(),
        store.changes(),
        state.options.stream_recheck,
    ));
    let lifecycle_state = state.clone();
    let app = router(state);
    let mut builder = Builder::new(TokioExecutor::new());
    // The head and idle bounds are the watchdog's (conn.rs): hyper's header-read timeout would also close
    // idle keep-alive connections after it.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(None).max_buf_size(middleware::MAX_HEADER_BUFFER);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let counter = conn::Counter::new(limits.max_connections);
    let (draining, drained) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut backoff = conn::AcceptBackoff::default();

    let stop_accepting = async move {
        shutdown.await;
        lifecycle_state.lifecycle.begin_shutdown();
        tokio::time::sleep(delay).await;
    };
    tokio::pin!(stop_accepting);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff.succeeded();
                    accepted
                }
                Err(e) => {
                    // Out of file descriptors and the like: the listener stays readable, so wait rather
                    // than spin.
                    tokio::time::sleep(backoff.failed(&e)).await;
                    continue;
                }
            },
            () = &mut stop_accepting => break,
        };
        while connections.try_join_next().is_some() {}
        let Some(counted) = counter.admit() else {
            metrics::counter!(crate::telemetry::names::CONNECTIONS_CLOSED, "reason" => "over_limit").increment(1);
            conn::refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = conn::Activity::new();
        let app = app.clone();
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            let in_progress = requests.request();
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            let handled = app.clone().oneshot(normalize_path(request).map(axum::body::Body::new));
            async move { Ok::<_, std::convert::Infallible>(handled.await?.map(|b| conn::Tracked::new(b, in_progress))) }
        });
        let (builder, drained) = (builder.clone(), drained.clone());
        let io = TokioIo::new(conn::Watched::new(stream, activity.clone()));
        connections.spawn(async move {
            let _counted = counted;
            let connection = builder.serve_connection(io, service);
            serve_connection(connection, activity.watchdog(limits), drained, limits).await;
        });
    }
    drop(listener);
    let _ = draining.send(true);
    let finished = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(drain, finished).await.is_err() {
        tracing::warn!(drain_timeout = ?drain, "requests were still in flight after the drain timeout; cut off");
    }
    connections.shutdown().await;
    unlocks.abort();
    dispatcher.abort();
    store.close().await;
    Ok(())
}

/// Drives one connection until it ends, its watchdog closes it, or msgd drains.
async fn serve_connection<C>(
    connection: C,
    watchdog: impl Future<Output = conn::Reason>,
    mut drained: watch::Receiver<bool>,
    limits: conn::Limits,
) where
    C: Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + GracefulConnection,
{
    tokio::pin!(connection, watchdog);
    let mut draining = false;
    loop {
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            reason = &mut watchdog => {
                metrics::counter!(crate::telemetry::names::CONNECTIONS_CLOSED, "reason" => reason.name()).increment(1);
                tracing::debug!(reason = reason.name(), "closing a connection");
                if reason != conn::Reason::IdleTimeout {
                    // Dropped: the socket closes now, and what the response held is freed.
                    return;
                }
                // Idle: nothing is in progress; HTTP/2 is told with GOAWAY.
                connection.as_mut().shut_down();
                let _ = tokio::time::timeout(limits.header_timeout, connection.as_mut()).await;
                return;
            }
            _ = drained.changed(), if !draining => {
                draining = true;
                connection.as_mut().shut_down();
            }
        }
    }
}

/// A connection that can be asked to finish what it has in progress and close.
trait GracefulConnection {
    fn shut_down(self: std::pin::Pin<&mut Self>);
}

impl<I, S, E> GracefulConnection for hyper_util::server::conn::auto::Connection<'_, I, S, E>
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<conn::Tracked<axum::body::Body>>,
        >,
    S::Future: 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, conn::Tracked<axum::body::Body>>,
{
    fn shut_down(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Clears this instance's failed-login counters for every account an administrator unlocks, on any
/// instance (the change feed brings the unlock; the counters are kept per process).
async fn apply_unlocks(state: AppState) {
    let mut changes = state.store.changes();
    loop {
        match changes.recv().await {
            Ok(crate::store::Change::Unlocked(id)) => match state.store.user_by_id(id).await {
                Ok(Some(user)) => state.throttle.unlock(user.email.as_str()),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "an unlock could not be applied here"),
            },
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}
