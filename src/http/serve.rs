//! `serve`: connections accepted, bounded ([`super::conn`]) and drained at shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use super::conn;
use super::router::{normalize_path, router};
use super::state::AppState;

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

    let store = state.app.store.clone();
    let (delay, drain) = (state.options.shutdown_delay, state.options.drain_timeout);
    let limits = state.options.connections;
    let unlocks = tokio::spawn(crate::app::accounts::apply_unlocks(state.app.clone()));
    let purges = tokio::spawn(crate::app::messages::purge_periodically(state.app.clone()));
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
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(crate::config::MAX_HEADER_BUFFER)
        .max_headers(crate::config::MAX_HEADER_COUNT_READ);
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
    purges.abort();
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
