//! What every handler can reach: the use cases' [`App`], the process's lifecycle, the HTTP settings and
//! the open streams.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::conn;
use crate::app::App;
use crate::app::live::Hub;
use crate::config::CorsOrigins;

/// What every handler can reach. One `Arc`: axum clones the state for every request (and with it every
/// layer holding it), so a clone must be a single atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    /// The use cases' services: store, hasher, token keys, throttle, policy.
    pub app: Arc<App>,
    pub lifecycle: Lifecycle,
    pub options: HttpOptions,
    /// Open streams, by account.
    pub hub: Arc<Hub>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
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
    /// Bounds on every connection.
    pub connections: conn::Limits,
}

impl Default for HttpOptions {
    fn default() -> Self {
        let config = crate::config::Config::default();
        Self {
            request_timeout: config.request_timeout,
            drain_timeout: config.drain_timeout,
            shutdown_delay: config.shutdown_delay,
            cors_origins: None,
            metrics_on_main: false,
            metrics_token: None,
            trust_forwarded_for: false,
            stream_recheck: config.stream_recheck,
            stream_keepalive: config.stream_keepalive,
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
