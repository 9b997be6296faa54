//! Logs and metrics: `tracing` to stderr as text or JSON lines, and the Prometheus recorder behind
//! `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global log subscriber. `RUST_LOG` overrides the default filter (`info`).
///
/// JSON lines carry the request's span fields (`request_id`, `method`, `route`, `user.id`) under `span`.
/// Lines go to stderr through [`LogBuffer`]. Keep the returned guard until exit: dropping it writes out
/// what is buffered.
#[must_use = "dropping the guard writes out the buffered log lines"]
pub fn init(format: LogFormat) -> LogFlushGuard {
    init_with(format, "info")
}

/// [`init`] for a command whose output is its own: only warnings and errors, unless `RUST_LOG` says
/// otherwise.
#[must_use = "dropping the guard writes out the buffered log lines"]
pub fn init_quiet(format: LogFormat) -> LogFlushGuard {
    init_with(format, "warn")
}

fn init_with(format: LogFormat, default_filter: &str) -> LogFlushGuard {
    let buffer = LogBuffer::start();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(buffer.clone());
    match format {
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).init(),
    }
    LogFlushGuard(buffer)
}

/// Log lines are appended to a shared buffer, which one thread writes to stderr every
/// [`LogBuffer::INTERVAL`] (or at once when it holds [`LogBuffer::LIMIT`] bytes): a request never waits on
/// the terminal or the pipe, and never wakes a thread (as a channel to a writer thread would, once per
/// line: measured to cost as much as the write). A line is at most 100 ms late; none is dropped, except
/// the last 100 ms if the process is killed with SIGKILL.
#[derive(Clone)]
pub struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    pub const INTERVAL: Duration = Duration::from_millis(100);
    pub const LIMIT: usize = 64 * 1024;

    fn start() -> Self {
        let buffer = Self(Default::default());
        let flusher = buffer.clone();
        let _ = std::thread::Builder::new().name("log-writer".into()).spawn(move || {
            loop {
                std::thread::sleep(Self::INTERVAL);
                flusher.write_out();
            }
        });
        buffer
    }

    /// Writes out what is buffered. Takes stderr first, so that two threads writing out at once cannot
    /// put their batches in the wrong order.
    pub fn write_out(&self) {
        let mut stderr = std::io::stderr().lock();
        let lines = std::mem::take(&mut *self.0.lock().expect("log buffer"));
        if !lines.is_empty() {
            let _ = std::io::Write::write_all(&mut stderr, &lines);
        }
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut buffer = self.0.lock().expect("log buffer");
            buffer.extend_from_slice(bytes);
            buffer.len() >= Self::LIMIT
        };
        if full {
            self.write_out();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Writes out the buffered log lines when dropped (at exit).
pub struct LogFlushGuard(LogBuffer);

impl Drop for LogFlushGuard {
    fn drop(&mut self) {
        self.0.write_out();
    }
}

/// Metric names, in one place.
pub mod names {
    pub const HTTP_REQUESTS: &str = "msgd_http_requests_total";
    pub const HTTP_DURATION: &str = "msgd_http_request_duration_seconds";
    pub const HTTP_IN_FLIGHT: &str = "msgd_http_requests_in_flight";
    pub const BCRYPT_RUNNING: &str = "msgd_bcrypt_jobs_running";
    pub const BCRYPT_QUEUED: &str = "msgd_bcrypt_jobs_queued";
    pub const BCRYPT_DURATION: &str = "msgd_bcrypt_duration_seconds";
    pub const STORE_DURATION: &str = "msgd_store_operation_duration_seconds";
    pub const STREAMS_OPEN: &str = "msgd_streams_open";
    pub const STREAM_WAKEUPS: &str = "msgd_stream_wakeups_total";
    pub const STREAM_RECHECKS: &str = "msgd_stream_rechecks_total";
    pub const CONNECTIONS_OPEN: &str = "msgd_connections_open";
    pub const CONNECTIONS_LIMIT: &str = "msgd_connections_limit";
    pub const CONNECTIONS_CLOSED: &str = "msgd_connections_closed_total";
    pub const FEED_MODE: &str = "msgd_change_feed_mode";
    pub const FEED_CHANGES: &str = "msgd_change_feed_changes_total";
    pub const FEED_RESTARTS: &str = "msgd_change_feed_restarts_total";
    pub const MONGODB_COMMANDS: &str = "msgd_mongodb_commands_total";
    pub const BUILD_INFO: &str = "msgd_build_info";
}

/// Latency buckets in seconds, from 0.5 ms (a cached read) to 10 s (a stuck database).
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's Prometheus recorder, installed on first use.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS).expect("buckets are not empty");
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            Err(e) => {
                // Someone else's recorder is installed (msgkit used as a library): keep a private one so that
                // /metrics still answers, empty.
                tracing::warn!(error = %e, "a metrics recorder is already installed; /metrics will be empty");
                PrometheusBuilder::new().build_recorder().handle()
            }
        };
        describe();
        metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        // Histograms accumulate until upkeep drains them; do it even when nobody scrapes.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// Counts one in a gauge for as long as it lives, so a cancelled request cannot leave the gauge high.
pub struct GaugeGuard(metrics::Gauge);

impl GaugeGuard {
    /// Increments `gauge` now and decrements it when dropped.
    pub fn new(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(names::HTTP_REQUESTS, "HTTP requests answered, by method, route template and status");
    describe_histogram!(names::HTTP_DURATION, Unit::Seconds, "HTTP request latency, by method, route and status");
    describe_gauge!(names::HTTP_IN_FLIGHT, "HTTP requests being handled now");
    describe_gauge!(names::BCRYPT_RUNNING, "bcrypt jobs running now (at most one per core)");
    describe_gauge!(names::BCRYPT_QUEUED, "bcrypt jobs waiting for a core");
    describe_histogram!(names::BCRYPT_DURATION, Unit::Seconds, "bcrypt job duration, by operation (hash, verify)");
    describe_histogram!(
        names::STORE_DURATION,
        Unit::Seconds,
        "store operation latency, by operation, backend and outcome (ok, error)"
    );
    describe_gauge!(names::STREAMS_OPEN, "open /messages/stream connections");
    describe_counter!(
        names::STREAM_WAKEUPS,
        "times an open stream was woken by a change to its own account (a message, a revocation, a re-check)"
    );
    describe_counter!(
        names::STREAM_RECHECKS,
        "re-checks of an account with open streams here (its credentials and newest message), one per account for all its streams"
    );
    describe_gauge!(names::CONNECTIONS_OPEN, "open client connections");
    describe_gauge!(names::CONNECTIONS_LIMIT, "the most client connections msgd holds at once (MAX_CONNECTIONS)");
    describe_counter!(
        names::CONNECTIONS_CLOSED,
        "connections msgd closed itself, by reason (head_timeout, idle_timeout, write_timeout, over_limit)"
    );
    describe_gauge!(
        names::FEED_MODE,
        "1 for where other instances' changes come from (file_watch, change_stream, polling, starting), 0 for the rest"
    );
    describe_counter!(names::FEED_CHANGES, "changes published to open streams, by origin (local, database)");
    describe_counter!(names::FEED_RESTARTS, "times the MongoDB change stream was reopened after an interruption");
    describe_counter!(
        names::MONGODB_COMMANDS,
        "commands sent to MongoDB (each a database round trip), by command name"
    );
    describe_gauge!(names::BUILD_INFO, "always 1; the version label says which msgd this is");
}
