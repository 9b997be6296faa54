//! Logs and metrics: `tracing` to stderr as text or JSON lines, and the Prometheus recorder behind
//! `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

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
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match format {
        LogFormat::Text => builder.with_ansi(ansi).init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).init(),
    }
    if format == LogFormat::Json || !ansi {
        let _ = ACCESS_SINK.set((format, buffer.clone()));
    }
    LogFlushGuard(buffer)
}

/// The request being handled, for its error bodies and its access log line.
struct Current {
    id: String,
    /// The caller, once authenticated.
    user: std::cell::Cell<Option<uuid::Uuid>>,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Runs `work` as the request `id`: [`record_user`] and [`current_request_id`] inside it refer to it.
pub async fn in_request<F: std::future::Future>(id: String, work: F) -> F::Output {
    CURRENT.scope(Current { id, user: std::cell::Cell::new(None) }, work).await
}

/// The id of the request being handled, for error bodies.
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(|current| current.id.clone()).ok()
}

/// The caller of the request being handled, once known.
pub fn current_user() -> Option<uuid::Uuid> {
    CURRENT.try_with(|current| current.user.get()).ok().flatten()
}

/// Names the caller of the request being handled: in its span (every log line of the request) and its
/// access line.
pub fn record_user(id: uuid::Uuid) {
    tracing::Span::current().record("user.id", tracing::field::display(id));
    let _ = CURRENT.try_with(|current| current.user.set(Some(id)));
}

/// Where [`write_access`] writes: msgd's own log buffer, in its format (colourless text, or JSON).
static ACCESS_SINK: OnceLock<(LogFormat, LogBuffer)> = OnceLock::new();

/// What an access log line says: the request's span fields, and how it ended.
pub struct Access<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub route: &'a str,
    /// The client's address, written out (see [`ip_text`]).
    pub client: Option<&'a str>,
    pub user: Option<uuid::Uuid>,
    pub status: u16,
    /// Rounded to hundredths.
    pub latency_ms: f64,
}

/// Writes the access log line straight into msgd's log buffer, byte for byte what tracing-subscriber
/// would write for `request completed` in the request's span, without its generic formatter (measured:
/// 38 % of a `/healthz`). Returns false when it cannot — another subscriber (msgkit used as a library,
/// the tests), colours for a terminal — and the caller logs through tracing as usual.
pub fn write_access(line: &Access<'_>) -> bool {
    let Some((format, buffer)) = ACCESS_SINK.get() else { return false };
    let warn = line.status >= 500;
    buffer.append(|out| match format {
        LogFormat::Json => access_json(out, line, warn),
        LogFormat::Text => access_text(out, line, warn),
    });
    true
}

const ACCESS_TARGET: &str = "msgkit::http::middleware";

fn access_text(out: &mut Vec<u8>, line: &Access<'_>, warn: bool) {
    use std::io::Write;
    timestamp(out);
    out.extend_from_slice(if warn { b"  WARN request{request_id=" } else { b"  INFO request{request_id=" });
    out.extend_from_slice(line.request_id.as_bytes());
    out.extend_from_slice(b" method=");
    out.extend_from_slice(line.method.as_bytes());
    out.extend_from_slice(b" route=");
    out.extend_from_slice(line.route.as_bytes());
    if let Some(client) = line.client {
        out.extend_from_slice(b" client.address=");
        out.extend_from_slice(client.as_bytes());
    }
    if let Some(user) = line.user {
        out.extend_from_slice(b" user.id=");
        out.extend_from_slice(user.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).as_bytes());
    }
    out.extend_from_slice(b"}: msgkit::http::middleware: request completed status=");
    digits(out, u32::from(line.status), 3);
    let _ = writeln!(out, " latency_ms={:?}", line.latency_ms);
}

fn access_json(out: &mut Vec<u8>, line: &Access<'_>, warn: bool) {
    use std::io::Write;
    out.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(out);
    out.extend_from_slice(if warn { b"\",\"level\":\"WARN\"" } else { b"\",\"level\":\"INFO\"" });
    out.extend_from_slice(b",\"message\":\"request completed\",\"status\":");
    digits(out, u32::from(line.status), 3);
    let _ = write!(out, ",\"latency_ms\":{:?},\"target\":\"{ACCESS_TARGET}\",\"span\":{{", line.latency_ms);
    // The span's fields in the order serde_json's map keeps them (sorted), then its name.
    if let Some(client) = line.client {
        out.extend_from_slice(b"\"client.address\":\"");
        out.extend_from_slice(client.as_bytes());
        out.extend_from_slice(b"\",");
    }
    out.extend_from_slice(b"\"method\":");
    json_string(out, line.method);
    out.extend_from_slice(b",\"request_id\":");
    json_string(out, line.request_id);
    out.extend_from_slice(b",\"route\":");
    json_string(out, line.route);
    if let Some(user) = line.user {
        out.extend_from_slice(b",\"user.id\":\"");
        out.extend_from_slice(user.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b",\"name\":\"request\"}}\n");
}

/// A JSON string of visible ASCII or any text: quotes, backslashes and control characters escaped.
fn json_string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| (b.is_ascii_graphic() && b != b'"' && b != b'\\') || b == b' ') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Now, as tracing-subscriber writes it: RFC 3339 in UTC with microseconds.
fn timestamp(out: &mut Vec<u8>) {
    let now = time::OffsetDateTime::now_utc();
    digits(out, now.year().max(0) as u32, 4);
    let parts: [(u8, u32, usize); 6] = [
        (b'-', now.month() as u32, 2),
        (b'-', u32::from(now.day()), 2),
        (b'T', u32::from(now.hour()), 2),
        (b':', u32::from(now.minute()), 2),
        (b':', u32::from(now.second()), 2),
        (b'.', now.microsecond(), 6),
    ];
    for (separator, value, width) in parts {
        out.push(separator);
        digits(out, value, width);
    }
    out.push(b'Z');
}

/// An IP address as `Display` writes it; IPv4 (the common case) without the formatting machinery, which
/// measured 2,200 instructions an address.
pub fn ip_text(address: std::net::IpAddr) -> String {
    match address {
        std::net::IpAddr::V4(v4) => {
            let mut out = Vec::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                let width = if octet >= 100 {
                    3
                } else if octet >= 10 {
                    2
                } else {
                    1
                };
                digits(&mut out, u32::from(octet), width);
            }
            String::from_utf8(out).expect("digits and dots")
        }
        std::net::IpAddr::V6(_) => address.to_string(),
    }
}

/// `value` in `width` decimal digits, zero-padded.
fn digits(out: &mut Vec<u8>, mut value: u32, width: usize) {
    let mut buffer = [b'0'; 10];
    for slot in buffer[..width].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&buffer[..width]);
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

    /// Appends what `write` writes, as one piece (written out at once if the buffer is full).
    pub fn append(&self, write: impl FnOnce(&mut Vec<u8>)) {
        let full = {
            let mut buffer = self.0.lock().expect("log buffer");
            write(&mut buffer);
            buffer.len() >= Self::LIMIT
        };
        if full {
            self.write_out();
        }
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
    pub const MESSAGES_DELETED: &str = "msgd_messages_deleted_total";
    pub const MESSAGES_EXPIRED: &str = "msgd_messages_expired_total";
    pub const MESSAGES_PURGED: &str = "msgd_messages_purged_total";
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
        "reads of an account with open streams here (its credentials and newest message), by the safety net or after a revocation; one per account for all its streams"
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
    describe_counter!(names::MESSAGES_DELETED, "messages deleted through this instance, by for (me, everyone)");
    describe_counter!(
        names::MESSAGES_EXPIRED,
        "expired messages (past expires_at, or older than RETENTION) removed by this instance's purge"
    );
    describe_counter!(
        names::MESSAGES_PURGED,
        "messages both parties had deleted, removed by this instance's purge once a retried send could not bring them back"
    );
    describe_counter!(
        names::MONGODB_COMMANDS,
        "commands sent to MongoDB (each a database round trip), by command name"
    );
    describe_gauge!(names::BUILD_INFO, "always 1; the version label says which msgd this is");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What tracing-subscriber writes for the access line in the request's span, and what
    /// `write_access` writes, with the timestamps taken out.
    fn both(
        format: LogFormat,
        status: u16,
        user: Option<uuid::Uuid>,
        client: Option<std::net::IpAddr>,
    ) -> (String, String) {
        let client_text = client.map(ip_text);
        let buffer = LogBuffer(Default::default());
        let builder = tracing_subscriber::fmt().with_writer(buffer.clone()).with_ansi(false);
        let dispatch = match format {
            LogFormat::Text => tracing::Dispatch::new(builder.finish()),
            LogFormat::Json => tracing::Dispatch::new(
                builder.json().flatten_event(true).with_current_span(true).with_span_list(false).finish(),
            ),
        };
        let request_id = r#"req-"7"\x"#;
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!(
                "request",
                request_id = %request_id,
                method = %"POST",
                route = %"/users",
                client.address = client.map(tracing::field::display),
                user.id = tracing::field::Empty,
            );
            let _entered = span.enter();
            if let Some(user) = user {
                span.record("user.id", tracing::field::display(user));
            }
            let latency_ms = 12.5_f64;
            if status >= 500 {
                tracing::warn!(target: ACCESS_TARGET, status, latency_ms, "request completed");
            } else {
                tracing::info!(target: ACCESS_TARGET, status, latency_ms, "request completed");
            }
        });
        let theirs = String::from_utf8(std::mem::take(&mut *buffer.0.lock().unwrap())).unwrap();
        let line = Access {
            request_id,
            method: "POST",
            route: "/users",
            client: client_text.as_deref(),
            user,
            status,
            latency_ms: 12.5,
        };
        let mut ours = Vec::new();
        match format {
            LogFormat::Json => access_json(&mut ours, &line, status >= 500),
            LogFormat::Text => access_text(&mut ours, &line, status >= 500),
        }
        let ours = String::from_utf8(ours).unwrap();
        let untimed = |s: &str| match format {
            LogFormat::Text => s[27..].to_owned(),
            LogFormat::Json => {
                let mut value: serde_json::Value = serde_json::from_str(s).unwrap();
                value["timestamp"] = serde_json::Value::Null;
                value.to_string()
            }
        };
        assert_eq!(ours.len() - ours.trim_end().len(), 1, "one line: {ours:?}");
        (untimed(&theirs), untimed(&ours))
    }

    #[test]
    fn the_hand_written_access_line_is_what_tracing_subscriber_writes() {
        let user = Some(uuid::Uuid::new_v4());
        let client = Some("203.0.113.7".parse().unwrap());
        let v6 = Some("2001:db8::1".parse().unwrap());
        for format in [LogFormat::Text, LogFormat::Json] {
            for (status, user, client) in [(201, user, client), (503, None, v6), (404, None, None)] {
                let (theirs, ours) = both(format, status, user, client);
                assert_eq!(theirs, ours, "{format:?} {status}");
            }
        }
    }

    #[test]
    fn ip_addresses_are_written_as_display_writes_them() {
        for address in ["0.0.0.0", "9.10.99.100", "127.0.0.1", "255.255.255.255", "::1", "2001:db8::7"] {
            let ip: std::net::IpAddr = address.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn timestamps_are_rfc_3339_with_microseconds() {
        let mut out = Vec::new();
        timestamp(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.len(), 27, "{text}");
        time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).unwrap();
    }
}
