//! Start-up and shutdown: from a [`Config`] to a serving process.

use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::app::live::Hub;
use crate::app::{App, Policy};
use crate::auth::{self, PasswordHasher, SigningKeys, TokenKeys};
use crate::config::{Config, Registration};
use crate::http::{self, AppState, HttpOptions, Shared};
use crate::store::{self, OpenOptions, Store, StoreError};
use crate::throttle::Throttle;

/// Opens the store and prepares everything the handlers need.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    if let Some(secret) = &config.jwt_secret {
        if secret.len() < auth::MIN_SECRET_BYTES {
            bail!(
                "JWT_SECRET is {} bytes; it must be at least {} (e.g. `openssl rand -base64 32`), or leave it \
                 unset to have msgd generate one and keep it in the database",
                secret.len(),
                auth::MIN_SECRET_BYTES
            );
        }
    }
    if config.no_rate_limit {
        warn!("rate limits are off (NO_RATE_LIMIT): only for load tests");
    }
    if config.bcrypt_cost < 10 {
        warn!(cost = config.bcrypt_cost, "BCRYPT_COST is below 10: fine for tests, too weak for production");
    }
    // First, so that what the store records from the start (its change feed's mode) is kept.
    crate::telemetry::metrics();
    let location = config.location().map_err(anyhow::Error::msg)?;
    let options = OpenOptions {
        clock_offset_ms: config.clock_offset_ms,
        retention: config.retention,
        ..OpenOptions::new(config.pool_size, config.db_timeout)
    };
    let store = store::open(&location, &options).await.context("opening the store")?;
    // A database that is not there yet (an orchestrator starting both at once) is waited for in the
    // background: msgd serves 503 until it answers, rather than exiting into a crash loop.
    if let Err(e) = store.ready(config.db_timeout).await {
        warn!(error = %e, "the database is not reachable yet: answering 503 (/readyz too) until it is");
    }
    let keys = Arc::new(SigningKeys::default());
    match &config.jwt_secret {
        Some(secret) => keys.set(TokenKeys::new(secret.as_bytes(), config.token_ttl)),
        None => match store.token_secret_or_insert(auth::generate_secret()).await {
            Ok(secret) => keys.set(TokenKeys::new(&secret, config.token_ttl)),
            Err(StoreError::Unavailable(_)) => {
                tokio::spawn(load_token_secret(store.clone(), keys.clone(), config.token_ttl));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("reading the token secret from the store")),
        },
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let hasher = PasswordHasher::new(config.bcrypt_cost, cores).await?;
    let app = App {
        store,
        hasher,
        keys,
        throttle: Throttle::new(config.rate_limits()),
        policy: Policy {
            registration_open: config.registration == Registration::Open,
            max_message_bytes: config.max_message_bytes,
            delete_window: (!config.delete_window.is_zero()).then_some(config.delete_window),
            max_expires_in: config.max_expires_in,
            purge_interval: config.purge_interval,
        },
    };
    Ok(AppState::new(Shared {
        app: Arc::new(app),
        lifecycle: Default::default(),
        hub: Hub::new(config.max_streams_per_account),
        options: HttpOptions {
            request_timeout: config.request_timeout,
            drain_timeout: config.drain_timeout,
            shutdown_delay: config.shutdown_delay,
            cors_origins: config.cors_origins.clone(),
            metrics_on_main: config.metrics && config.metrics_addr.is_none(),
            metrics_token: config.metrics_token.clone(),
            trust_forwarded_for: config.trust_forwarded_for,
            stream_recheck: config.stream_recheck,
            stream_keepalive: config.stream_keepalive,
            connections: http::conn::Limits::of(config),
        },
    }))
}

/// Reads (or stores) the generated token secret once the database answers.
async fn load_token_secret(store: Arc<dyn Store>, keys: Arc<SigningKeys>, ttl: std::time::Duration) {
    loop {
        let _ = store.ready(std::time::Duration::from_secs(5)).await;
        match store.token_secret_or_insert(auth::generate_secret()).await {
            Ok(secret) => {
                keys.set(TokenKeys::new(&secret, ttl));
                info!("the database answers: ready");
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "the token secret cannot be read yet");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}

/// Runs msgd until SIGINT or SIGTERM, then drains and exits.
pub async fn run(config: Config) -> anyhow::Result<()> {
    info!(version = env!("CARGO_PKG_VERSION"), "starting msgd: {}", config.summary());
    // Before the state: the connection limit is derived from the raised limit.
    match http::conn::raise_open_files_limit() {
        Ok(((soft, hard), (raised, _))) => {
            info!(soft, hard, raised, "open-files limit: the soft limit raised to the hard limit")
        }
        Err(e) => warn!(error = %e, "the open-files limit could not be raised; connections are limited by it"),
    }
    let state = build_state(&config).await?;
    let backend = state.app.store.backend().name();
    let address = (config.host, config.port);
    let listener =
        TcpListener::bind(address).await.with_context(|| format!("listening on {}:{}", config.host, config.port))?;
    if let Some(address) = config.metrics_addr {
        let metrics =
            TcpListener::bind(address).await.with_context(|| format!("listening for metrics on {address}"))?;
        info!(address = %metrics.local_addr()?, "metrics listening");
        let mut closing = state.lifecycle.closing();
        let token = config.metrics_token.clone();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = closing.wait_for(|closing| *closing).await;
            };
            if let Err(e) = axum::serve(metrics, http::metrics_router(token)).with_graceful_shutdown(stopped).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    // The last line of start-up: everything is bound and ready when it appears.
    let max_connections = state.options.connections.max_connections;
    info!(address = %listener.local_addr()?, backend, max_connections, "listening");
    http::serve(listener, state, shutdown_signal()).await.context("serving")?;
    info!("stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => info!("SIGINT received: shutting down"),
        () = terminate => info!("SIGTERM received: shutting down"),
    }
}
