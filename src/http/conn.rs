//! Every connection bounded: in time (a request head within `HEADER_TIMEOUT`, no request for
//! `IDLE_TIMEOUT`, a write the client does not read for `WRITE_TIMEOUT`) and in number (`MAX_CONNECTIONS`,
//! below the open-files limit, which msgd raises to its hard limit at start).
//!
//! hyper has no idle timeout of its own, and its header-read timeout neither covers a connection that
//! sends nothing at all (the HTTP/1-or-2 detection reads without one) nor tells an idle keep-alive
//! connection from a slow request head. So each connection carries an [`Activity`]: its reads and
//! writes and its requests update a few atomics, and a watchdog future in the connection's own task
//! sleeps until the one deadline that applies, woken when a deadline starts (a response ends, a head
//! starts arriving, a write blocks) — an idle stream costs no timer wake-up at all. Closing for a head
//! or write timeout drops the connection (freeing what its response held); closing an idle one is
//! graceful (HTTP/2: GOAWAY).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::telemetry::names;

/// The bounds on every connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// The configured bounds; without `MAX_CONNECTIONS`, the open-files limit less a reserve.
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            write_timeout: config.write_timeout,
            max_connections: config.max_connections.unwrap_or_else(default_max_connections),
        }
    }
}

/// The open-files limit (soft, hard), if it can be read.
pub fn open_files_limit() -> Option<(u64, u64)> {
    rlimit::getrlimit(rlimit::Resource::NOFILE).ok()
}

/// Raises the open-files soft limit to the hard limit (a login's default soft limit, 1,024, would hold
/// about a thousand connections). Returns the limits before and after: (soft, hard), (soft, hard).
pub fn raise_open_files_limit() -> io::Result<((u64, u64), (u64, u64))> {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    rlimit::increase_nofile_limit(before.1)?;
    Ok((before, rlimit::getrlimit(rlimit::Resource::NOFILE)?))
}

/// Connections held at most without `MAX_CONNECTIONS`: the open-files soft limit less 5 % (at least 32, at
/// most 1,024) for the database, the log and the answer that refuses a connection over the limit.
pub fn default_max_connections() -> usize {
    let soft = open_files_limit().map_or(1024, |(soft, _)| soft).min(10_000_000) as usize;
    let reserve = (soft / 20).clamp(32, 1024);
    soft.saturating_sub(reserve).max(1)
}

/// Milliseconds on the process's clock, never 0 (0 means "not set" below).
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// Why the watchdog closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A request head was not complete within `HEADER_TIMEOUT`.
    HeaderTimeout,
    /// No request for `IDLE_TIMEOUT`.
    IdleTimeout,
    /// The client read nothing of a response for `WRITE_TIMEOUT`.
    WriteTimeout,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::HeaderTimeout => "head_timeout",
            Reason::IdleTimeout => "idle_timeout",
            Reason::WriteTimeout => "write_timeout",
        }
    }
}

/// What one connection is doing, as its watchdog needs to know: kept by its IO and its requests.
#[derive(Debug)]
pub struct Activity {
    /// Requests whose response is not finished (an open stream is one).
    active: AtomicU32,
    /// Since when no request has been in progress.
    idle_since: AtomicU64,
    /// Since when a request head has been arriving (from the connection's start, or the first byte of a
    /// later request); 0: none.
    head_since: AtomicU64,
    /// Since when a write has been waiting for the client to read; 0: none.
    blocked_since: AtomicU64,
    /// HTTP/2: its frames between requests (pings, settings) start no request head.
    http2: AtomicBool,
    /// Whether anything has been read yet (the first read tells HTTP/2 by its preface).
    read_any: AtomicBool,
    watchdog: AtomicWaker,
}

impl Activity {
    /// A connection accepted now: its first request head is due within the header timeout.
    pub fn new() -> Arc<Self> {
        let now = now_ms();
        Arc::new(Self {
            active: AtomicU32::new(0),
            idle_since: AtomicU64::new(now),
            head_since: AtomicU64::new(now),
            blocked_since: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            read_any: AtomicBool::new(false),
            watchdog: AtomicWaker::new(),
        })
    }

    fn read(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if !self.read_any.swap(true, Ordering::Relaxed) && bytes.starts_with(b"PRI * HTTP/2.0") {
            self.http2.store(true, Ordering::Relaxed);
        }
        if self.active.load(Ordering::Relaxed) == 0
            && self.head_since.load(Ordering::Relaxed) == 0
            && !self.http2.load(Ordering::Relaxed)
        {
            self.head_since.store(now_ms(), Ordering::Relaxed);
            self.watchdog.wake();
        }
    }

    fn write_blocked(&self) {
        if self.blocked_since.load(Ordering::Relaxed) == 0 {
            self.blocked_since.store(now_ms(), Ordering::Relaxed);
            self.watchdog.wake();
        }
    }

    fn wrote(&self) {
        if self.blocked_since.load(Ordering::Relaxed) != 0 {
            self.blocked_since.store(0, Ordering::Relaxed);
        }
    }

    /// A request head is complete: its response is in progress until the returned guard is dropped.
    pub fn request(self: &Arc<Self>) -> InProgress {
        self.active.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
        InProgress(self.clone())
    }

    /// The reason to close now, or the next moment to look again (`None`: only when woken).
    fn verdict(&self, limits: &Limits, now: u64) -> Result<Option<u64>, Reason> {
        let ms = |d: Duration| d.as_millis() as u64;
        let mut next: Option<u64> = None;
        let mut due = |since: u64, after: Duration, reason: Reason| -> Result<(), Reason> {
            if since == 0 {
                return Ok(());
            }
            let deadline = since + ms(after);
            if now >= deadline {
                return Err(reason);
            }
            next = Some(next.map_or(deadline, |n| n.min(deadline)));
            Ok(())
        };
        due(self.blocked_since.load(Ordering::Relaxed), limits.write_timeout, Reason::WriteTimeout)?;
        let head = self.head_since.load(Ordering::Relaxed);
        due(head, limits.header_timeout, Reason::HeaderTimeout)?;
        if head == 0 && self.active.load(Ordering::Relaxed) == 0 {
            due(self.idle_since.load(Ordering::Relaxed), limits.idle_timeout, Reason::IdleTimeout)?;
        }
        Ok(next)
    }

    /// Completes when the connection must be closed, and why. Runs inside the connection's task: it
    /// sleeps until the nearest deadline, or until the activity wakes it because a deadline started.
    pub async fn watchdog(self: Arc<Self>, limits: Limits) -> Reason {
        loop {
            // Registered before looking, so that a wake in between is not lost.
            std::future::poll_fn(|cx| {
                self.watchdog.register(cx.waker());
                Poll::Ready(())
            })
            .await;
            let next = match self.verdict(&limits, now_ms()) {
                Err(reason) => return reason,
                Ok(next) => next,
            };
            match next {
                Some(at) => {
                    let sleep = tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms())));
                    tokio::select! {
                        () = sleep => {}
                        () = PendingOnce(false) => {}
                    }
                }
                None => PendingOnce(false).await,
            }
        }
    }
}

/// Pending when first polled, ready when polled again: the task was woken (by the activity, or by
/// anything else in the connection's task; looking again costs a few loads).
struct PendingOnce(bool);

impl std::future::Future for PendingOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) { Poll::Ready(()) } else { Poll::Pending }
    }
}

/// A response in progress; dropped when it is finished (or abandoned).
#[derive(Debug)]
pub struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.0.idle_since.store(now_ms(), Ordering::Relaxed);
            self.0.watchdog.wake();
        }
    }
}

/// A response body that marks its response finished when hyper drops it (written out, or the client went
/// away).
pub struct Tracked<B> {
    body: B,
    _in_progress: InProgress,
}

impl<B> Tracked<B> {
    pub fn new(body: B, in_progress: InProgress) -> Self {
        Self { body, _in_progress: in_progress }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A socket whose reads and writes are reported to its connection's [`Activity`], and whose hyper-made
/// refusals go out in msgd's words ([`super::refusal`]).
pub struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
    /// msgd's answer written in place of hyper's refusal, and how much of it is written (boxed: every
    /// connection carries the field, almost none ever fills it).
    replacement: Option<Box<(Vec<u8>, usize)>>,
}

impl<T> Watched<T> {
    pub fn new(io: T, activity: Arc<Activity>) -> Self {
        Self { io, activity, replacement: None }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.activity.read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> Watched<T> {
    fn track(&self, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match &polled {
            Poll::Pending => self.activity.write_blocked(),
            Poll::Ready(_) => self.activity.wrote(),
        }
        polled
    }

    /// Writes what is left of a replacement answer; ready when none is left.
    fn write_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(replacement) = &mut self.replacement {
            let (answer, written) = &mut **replacement;
            if *written == answer.len() {
                self.replacement = None;
                break;
            }
            let polled = Pin::new(&mut self.io).poll_write(cx, &answer[*written..]);
            match self.track(polled) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    if let Some(replacement) = &mut self.replacement {
                        replacement.1 += n;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `buf` as written if it is one of hyper's refusals, and starts writing msgd's answer instead.
    fn replaced(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let answer = super::refusal::rewrite(buf)?;
        self.replacement = Some(Box::new((answer, 0)));
        Some(match self.write_replacement(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // The rest goes out with the flush hyper makes next.
            _ => Poll::Ready(Ok(buf.len())),
        })
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        std::task::ready!(self.write_replacement(cx))?;
        if let Some(polled) = self.replaced(cx, buf) {
            return polled;
        }
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.track(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.write_replacement(cx))?;
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next()) {
            if let Some(polled) = self.replaced(cx, only) {
                return polled;
            }
        }
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.track(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.write_replacement(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.write_replacement(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The answer to a connection over `MAX_CONNECTIONS`, written without reading its request, then closed.
pub fn over_limit_answer() -> &'static [u8] {
    static ANSWER: OnceLock<Vec<u8>> = OnceLock::new();
    ANSWER.get_or_init(|| super::refusal::answer(&super::ApiError::TooManyConnections, Some(1), None))
}

/// Refuses a connection over `MAX_CONNECTIONS`: the JSON 503 (it fits the socket's empty send buffer),
/// then, for at most a second, the client's request is read and thrown away before closing — closing a
/// socket with unread data resets it, and the client could lose the answer (nginx's lingering close). At
/// most [`MAX_LINGERING`] refusals linger at once; past that they close at once.
pub fn refuse(stream: tokio::net::TcpStream) {
    use std::sync::atomic::AtomicUsize;
    static LINGERING: AtomicUsize = AtomicUsize::new(0);
    let _ = stream.try_write(over_limit_answer());
    if LINGERING.fetch_add(1, Ordering::AcqRel) >= MAX_LINGERING {
        LINGERING.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = stream;
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let drained = async {
            let mut total = 0;
            while let Ok(n @ 1..) = stream.read(&mut sink).await {
                total += n;
                if total > 64 * 1024 {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), drained).await;
        LINGERING.fetch_sub(1, Ordering::AcqRel);
    });
}

/// Refusals that may read their client's request at once (each holds its descriptor for up to a second).
const MAX_LINGERING: usize = 64;

/// Counts open connections against the limit, in `msgd_connections_open`.
#[derive(Debug)]
pub struct Counter {
    open: std::sync::atomic::AtomicUsize,
    limit: usize,
}

/// One counted connection; dropping it counts it out.
pub struct Counted(Arc<Counter>);

impl Counter {
    pub fn new(limit: usize) -> Arc<Self> {
        metrics::gauge!(names::CONNECTIONS_LIMIT).set(limit as f64);
        Arc::new(Self { open: Default::default(), limit })
    }

    /// Counts one more connection, unless the limit is reached.
    pub fn admit(self: &Arc<Self>) -> Option<Counted> {
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| (open < self.limit).then_some(open + 1))
            .is_ok();
        if !admitted {
            return None;
        }
        metrics::gauge!(names::CONNECTIONS_OPEN).increment(1.0);
        Some(Counted(self.clone()))
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!(names::CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// Logs a failed `accept` at most once per 10 s, with how many failed since, and says how long to wait:
/// 10 ms doubling to 1 s while failures go on (out of file descriptors, say), so msgd neither spins on a
/// listener that stays readable nor floods its log.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    failures: u64,
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl AcceptBackoff {
    pub fn failed(&mut self, error: &io::Error) -> Duration {
        self.failures += 1;
        if self.last_logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
            tracing::warn!(error = %error, failed_since_last_report = self.suppressed,
                "accepting a connection failed; waiting before the next accept");
            self.last_logged = Some(Instant::now());
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
        Duration::from_millis(10 << self.failures.min(7)).min(Duration::from_secs(1))
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            write_timeout: Duration::from_secs(30),
            max_connections: 10,
        }
    }

    #[test]
    fn a_new_connection_owes_a_request_head_within_the_header_timeout() {
        let activity = Activity::new();
        let start = activity.head_since.load(Ordering::Relaxed);
        assert_eq!(activity.verdict(&limits(), start), Ok(Some(start + 10_000)));
        assert_eq!(activity.verdict(&limits(), start + 10_000), Err(Reason::HeaderTimeout));
    }

    #[test]
    fn a_request_in_progress_is_never_idle_and_a_finished_one_starts_the_idle_clock() {
        let activity = Activity::new();
        let request = activity.request();
        let now = now_ms();
        assert_eq!(activity.verdict(&limits(), now + 1_000_000), Ok(None), "a long stream is not idle");
        drop(request);
        let idle = activity.idle_since.load(Ordering::Relaxed);
        assert_eq!(activity.verdict(&limits(), idle + 75_000), Err(Reason::IdleTimeout));
        // The first byte of the next request starts its header clock.
        activity.read(b"GET / HTTP/1.1\r\n");
        let head = activity.head_since.load(Ordering::Relaxed);
        assert_eq!(activity.verdict(&limits(), head + 10_000), Err(Reason::HeaderTimeout));
    }

    #[test]
    fn a_blocked_write_times_out_even_during_a_request_and_progress_clears_it() {
        let activity = Activity::new();
        let _request = activity.request();
        activity.write_blocked();
        let blocked = activity.blocked_since.load(Ordering::Relaxed);
        assert_eq!(activity.verdict(&limits(), blocked + 29_999), Ok(Some(blocked + 30_000)));
        assert_eq!(activity.verdict(&limits(), blocked + 30_000), Err(Reason::WriteTimeout));
        activity.wrote();
        assert_eq!(activity.verdict(&limits(), blocked + 30_000), Ok(None));
    }

    #[test]
    fn http2_frames_between_requests_start_no_request_head() {
        let activity = Activity::new();
        activity.read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        drop(activity.request());
        activity.read(b"\x00\x00\x08\x06\x00\x00\x00\x00\x00ping0000");
        assert_eq!(activity.head_since.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_counter_admits_up_to_its_limit() {
        let counter = Counter::new(2);
        let (a, b) = (counter.admit().unwrap(), counter.admit().unwrap());
        assert!(counter.admit().is_none());
        drop(a);
        assert_eq!(counter.open(), 1);
        assert!(counter.admit().is_some());
        drop(b);
    }

    #[test]
    fn the_refusal_is_a_complete_http_answer_with_a_json_body() {
        let answer = String::from_utf8(over_limit_answer().to_vec()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], "too_many_connections");
    }
}
