//! msgd's settings: one `clap` struct whose `--help` is the configuration reference. The commands that
//! use them are [`crate::msgd`]'s.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

/// Defaults, shared by the command line and by [`Config::default`] (which tests use without reading the
/// environment).
pub mod defaults {
    pub const HOST: &str = "127.0.0.1";
    pub const PORT: u16 = 4000;
    pub const POOL_SIZE: u32 = 10;
    pub const DATA_DIR: &str = "./msgd-data";
    pub const BCRYPT_COST: u32 = 12;
    pub const TOKEN_TTL: &str = "12h";
    pub const DB_TIMEOUT: &str = "5s";
    pub const REQUEST_TIMEOUT: &str = "30s";
    pub const DRAIN_TIMEOUT: &str = "10s";
    pub const SHUTDOWN_DELAY: &str = "0s";
    pub const STREAM_RECHECK: &str = "30s";
    pub const MAX_STREAMS_PER_ACCOUNT: usize = 30;
    pub const STREAM_KEEPALIVE: &str = "25s";
    pub const HEADER_TIMEOUT: &str = "10s";
    pub const IDLE_TIMEOUT: &str = "75s";
    pub const WRITE_TIMEOUT: &str = "30s";
    pub const LOGIN_FAILURES: u32 = 10;
    pub const ACCOUNT_FAILURES: u32 = 100;
    pub const ADDRESS_FAILURES: u32 = 100;
    pub const REGISTRATIONS: u32 = 20;
    pub const LOOKUPS: u32 = 50;
    pub const RATE_LIMIT_WINDOW: &str = "15m";
    pub const MAX_MESSAGE_BYTES: usize = crate::domain::MessageContent::DEFAULT_MAX_BYTES;
    pub const DELETE_WINDOW: &str = "24h";
    pub const MAX_EXPIRES_IN: &str = "365d";
    pub const PURGE_INTERVAL: &str = "1m";
}

/// Who may create accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registration {
    /// Anyone, with `POST /users` (the original API).
    Open,
    /// Only administrators (`POST /users` with their Bearer, or `msgd admin create-user`).
    Closed,
}

pub use crate::telemetry::LogFormat;

/// msgd's settings. Each is accepted before or after the subcommand (`msgd admin --data-dir X …` and
/// `msgd admin create-user … --data-dir X` alike), as gh and docker take their global options.
#[derive(Clone, clap::Args)]
#[command(next_help_heading = "Settings (also as environment variables)")]
pub struct Config {
    /// Address to listen on. Use 0.0.0.0 to accept connections from other hosts (e.g. in a container).
    #[arg(global = true, long, env = "HOST", default_value = defaults::HOST)]
    pub host: IpAddr,

    /// TCP port to listen on (0 picks a free port).
    #[arg(global = true, long, env = "PORT", default_value_t = defaults::PORT)]
    pub port: u16,

    /// Database connections: SQLite read connections, or the MongoDB driver's maximum pool size.
    #[arg(global = true, long, env = "POOL_SIZE", default_value_t = defaults::POOL_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub pool_size: u32,

    /// Directory of the embedded SQLite store (created if missing). Unused with MongoDB.
    #[arg(global = true, long, env = "MSGD_DATA_DIR", default_value = defaults::DATA_DIR)]
    pub data_dir: PathBuf,

    /// Database URL; its scheme picks the backend: mongodb:// or mongodb+srv:// for MongoDB,
    /// sqlite://PATH for a SQLite file elsewhere than the data directory. Unset: SQLite in --data-dir.
    // The variable keeps the original service's name, MONGODB_URL, for either backend; the field says
    // what it is: where the store is.
    #[arg(
        global = true,
        long = "database-url",
        value_name = "DATABASE_URL",
        env = "MONGODB_URL",
        hide_env_values = true
    )]
    pub store_url: Option<String>,

    /// Secret for signing tokens (at least 32 bytes). Unset: a random secret is generated once and kept in
    /// the database, so restarts and instances sharing the database agree.
    #[arg(global = true, long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// bcrypt cost for password hashes (4–31; below 10 is only for tests).
    #[arg(global = true, long, env = "BCRYPT_COST", default_value_t = defaults::BCRYPT_COST,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    /// How long a login token stays valid, e.g. 12h, 30m, 7d.
    #[arg(global = true, long, env = "TOKEN_TTL", default_value = defaults::TOKEN_TTL, value_parser = parse_ttl)]
    pub token_ttl: Duration,

    /// Largest message content accepted, in bytes of UTF-8 as sent (surrounding whitespace included).
    #[arg(global = true, long, env = "MAX_MESSAGE_BYTES", default_value_t = defaults::MAX_MESSAGE_BYTES,
          value_parser = parse_max_message_bytes)]
    pub max_message_bytes: usize,

    /// How long to wait for the database before answering 503: SQLite's busy timeout, MongoDB's connect
    /// and server-selection timeouts.
    #[arg(global = true, long, env = "DB_TIMEOUT", default_value = defaults::DB_TIMEOUT, value_parser = parse_db_timeout)]
    pub db_timeout: Duration,

    /// Log line format.
    #[arg(global = true, long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Serve /metrics (Prometheus) on the main listener. Off by default: an internet-facing server should
    /// not publish its metrics unasked (METRICS_ADDR puts them on a listener of their own instead).
    #[arg(global = true, long, env = "METRICS", value_parser = clap::builder::BoolishValueParser::new())]
    pub metrics: bool,

    /// Serve /metrics (Prometheus) on this address, and not on the main listener, e.g. 127.0.0.1:9464.
    #[arg(global = true, long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// Require `Authorization: Bearer <this token>` for /metrics (Prometheus: `authorization` in the scrape
    /// config). Unset: anyone who can reach /metrics may read it.
    #[arg(global = true, long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Allow browsers from these origins (comma-separated, or * for any). Unset: CORS off.
    #[arg(global = true, long, env = "CORS_ORIGINS", value_parser = parse_cors_origins)]
    pub cors_origins: Option<CorsOrigins>,

    /// Longest a request may take before it is answered 503 (the message stream is exempt).
    #[arg(global = true, long, env = "REQUEST_TIMEOUT", default_value = defaults::REQUEST_TIMEOUT, value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// At shutdown, how long requests in flight may take to finish before they are cut off.
    #[arg(global = true, long, env = "DRAIN_TIMEOUT", default_value = defaults::DRAIN_TIMEOUT, value_parser = parse_duration)]
    pub drain_timeout: Duration,

    /// Switch off the limits on failed logins and registrations (for load tests only).
    #[arg(global = true, long, env = "NO_RATE_LIMIT", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_rate_limit: bool,

    /// Failed logins and password changes allowed per account from one client address, per window; then
    /// 429 for that address (the owner, from its own address, is not affected).
    #[arg(global = true, long, env = "RATE_LIMIT_LOGIN_FAILURES", default_value_t = defaults::LOGIN_FAILURES,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_login_failures: u32,

    /// Failed logins and password changes allowed per account from every address, per window; then only
    /// addresses the owner logged in from recently get through, for a block that doubles each time.
    #[arg(global = true, long, env = "RATE_LIMIT_ACCOUNT_FAILURES", default_value_t = defaults::ACCOUNT_FAILURES,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_account_failures: u32,

    /// Failed logins and password changes allowed per client address per window; then 429.
    #[arg(global = true, long, env = "RATE_LIMIT_ADDRESS_FAILURES", default_value_t = defaults::ADDRESS_FAILURES,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_address_failures: u32,

    /// Registrations (POST /users) per client address per window that created an account or found the
    /// email taken (malformed requests do not count); then 429.
    #[arg(global = true, long, env = "RATE_LIMIT_REGISTRATIONS", default_value_t = defaults::REGISTRATIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_registrations: u32,

    /// Distinct emails one account may look up per window (the `to` of a send, `with=` of a listing),
    /// since each answer says whether an account exists; then 429.
    #[arg(global = true, long, env = "RATE_LIMIT_LOOKUPS", default_value_t = defaults::LOOKUPS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_lookups: u32,

    /// The window the rate limits count in.
    #[arg(global = true, long, env = "RATE_LIMIT_WINDOW", default_value = defaults::RATE_LIMIT_WINDOW, value_parser = parse_duration)]
    pub rate_limit_window: Duration,

    /// Take the client address from the last X-Forwarded-For entry: set it when msgd is behind exactly one
    /// reverse proxy that appends it. Otherwise the connection's address is used.
    #[arg(global = true, long, env = "TRUST_FORWARDED_FOR", value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_forwarded_for: bool,

    /// At shutdown, how long to keep serving with /readyz answering 503 before closing the listener, so
    /// a load balancer stops sending new requests first (e.g. 5s behind Kubernetes).
    #[arg(global = true, long, env = "SHUTDOWN_DELAY", default_value = defaults::SHUTDOWN_DELAY, value_parser = humantime::parse_duration)]
    pub shutdown_delay: Duration,

    /// Who may create accounts: open (anyone, as the original API) or closed (administrators only).
    #[arg(global = true, long, env = "REGISTRATION", value_enum, default_value_t = Registration::Open)]
    pub registration: Registration,

    /// How long after sending a sender may delete a message for everyone (`DELETE /messages/{id}?for=everyone`);
    /// 0: not at all (each party can always delete their own copy).
    #[arg(global = true, long, env = "DELETE_WINDOW", default_value = defaults::DELETE_WINDOW, value_parser = parse_window)]
    pub delete_window: Duration,

    /// Expire every message older than this (e.g. 90d): it is no longer served, and is removed in the
    /// background. Unset: messages are kept until deleted or their own `expires_in` passes.
    #[arg(global = true, long, env = "RETENTION", value_parser = parse_retention)]
    pub retention: Option<Duration>,

    /// The longest `expires_in` a send may ask for.
    #[arg(global = true, long, env = "MAX_EXPIRES_IN", default_value = defaults::MAX_EXPIRES_IN, value_parser = parse_ttl)]
    pub max_expires_in: Duration,

    /// How often expired messages (and messages both parties deleted, once a retried send can no longer
    /// bring them back) are removed: by one instance of those sharing the database each time.
    #[arg(global = true, long, env = "PURGE_INTERVAL", default_value = defaults::PURGE_INTERVAL, value_parser = parse_duration)]
    pub purge_interval: Duration,

    /// How often each account with open streams is read again without being told to (its credentials and
    /// its newest message), its streams woken only if that changed: a safety net, since every instance on
    /// the database announces new messages and revocations at once.
    #[arg(global = true, long, env = "STREAM_RECHECK", default_value = defaults::STREAM_RECHECK, value_parser = parse_duration)]
    pub stream_recheck: Duration,

    /// How often an idle message stream sends a keep-alive comment: below the idle timeout of every proxy
    /// on the way (nginx and AWS load balancers: 60 s), and no more often than that needs, since each is a
    /// write for every open stream (Centrifugo pings every 25 s).
    #[arg(global = true, long, env = "STREAM_KEEPALIVE", default_value = defaults::STREAM_KEEPALIVE, value_parser = parse_duration)]
    pub stream_keepalive: Duration,

    /// Open message streams one account may hold on this instance; the next is refused with 429
    /// `too_many_streams` (ntfy allows 30 per visitor). Per instance: behind N instances, N times this.
    #[arg(global = true, long, env = "MAX_STREAMS_PER_ACCOUNT", default_value_t = defaults::MAX_STREAMS_PER_ACCOUNT,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub max_streams_per_account: usize,

    /// How long a client has to send a complete request head: from connecting, or from the first byte of
    /// a later request on a kept-alive connection. Then the connection is closed.
    #[arg(global = true, long, env = "HEADER_TIMEOUT", default_value = defaults::HEADER_TIMEOUT, value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// How long a connection with no request in progress is kept open (HTTP/1 keep-alive and HTTP/2
    /// alike). Streams are requests in progress: they keep their connection with keep-alive comments.
    #[arg(global = true, long, env = "IDLE_TIMEOUT", default_value = defaults::IDLE_TIMEOUT, value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// How long a response may wait for a client that does not read it (its socket buffer full) before
    /// the connection is closed and the response's memory freed. Streams too.
    #[arg(global = true, long, env = "WRITE_TIMEOUT", default_value = defaults::WRITE_TIMEOUT, value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// The most client connections held at once; beyond it a new connection gets a 503 JSON answer and is
    /// closed. Unset: the open-files limit (which msgd raises to its hard limit at start) less a reserve
    /// for the database and files.
    #[arg(global = true, long, env = "MAX_CONNECTIONS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub max_connections: Option<usize>,

    /// For tests: shift the clock used for message ids by this much (e.g. -3s), as if this host's clock
    /// were wrong.
    #[arg(global = true, long, env = "MSGD_CLOCK_OFFSET", hide = true, default_value = "0s", value_parser = parse_clock_offset)]
    pub clock_offset_ms: i64,
}

impl Config {
    /// Where the store is: `MONGODB_URL` (any store URL), or SQLite under `--data-dir`.
    pub fn location(&self) -> Result<crate::store::Location, String> {
        crate::store::Location::from_url(self.store_url.as_deref(), &self.data_dir)
    }

    /// The rate limits, or `None` when switched off.
    pub fn rate_limits(&self) -> Option<crate::throttle::Limits> {
        (!self.no_rate_limit).then_some(crate::throttle::Limits {
            login_failures: self.rate_limit_login_failures,
            account_failures: self.rate_limit_account_failures,
            address_failures: self.rate_limit_address_failures,
            registrations: self.rate_limit_registrations,
            lookups: self.rate_limit_lookups,
            window: self.rate_limit_window,
        })
    }
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `*`: any origin (no credentials are involved: tokens travel in the Authorization header).
    Any,
    /// Exact origins, e.g. `https://app.example.com`.
    List(Vec<String>),
}

fn parse_cors_origins(raw: &str) -> Result<CorsOrigins, String> {
    if raw.trim() == "*" {
        return Ok(CorsOrigins::Any);
    }
    let origins: Vec<String> =
        raw.split(',').map(str::trim).filter(|o| !o.is_empty()).map(|o| o.trim_end_matches('/').to_owned()).collect();
    if origins.is_empty() {
        return Err("give a comma-separated list of origins, or *".into());
    }
    for origin in &origins {
        let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
            && !origin.split_once("://").is_some_and(|(_, rest)| rest.is_empty() || rest.contains('/'));
        if !valid || axum::http::HeaderValue::from_str(origin).is_err() {
            return Err(format!("{origin:?} is not an origin like https://app.example.com"));
        }
    }
    Ok(CorsOrigins::List(origins))
}

/// A duration of at least 10 ms, e.g. `30s`, `2m`, `75s`.
fn parse_duration(raw: &str) -> Result<Duration, String> {
    let timeout = humantime::parse_duration(raw).map_err(|e| format!("{e} (examples: 30s, 2m)"))?;
    if timeout < Duration::from_millis(10) {
        return Err("must be at least 10ms".into());
    }
    Ok(timeout)
}

/// Largest request line plus headers accepted, in bytes; more is answered 431. (The connection reads up to
/// [`MAX_HEADER_BUFFER`] so that such requests reach this check and get a JSON answer.)
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Most request headers accepted; more is answered 431. (hyper is let read up to [`MAX_HEADER_COUNT_READ`],
/// so that such requests reach this check and get a JSON answer.)
pub const MAX_HEADERS: usize = 100;

/// How many headers hyper may parse in one request head. Beyond it hyper itself answers an empty 431.
pub const MAX_HEADER_COUNT_READ: usize = 1000;

/// What hyper may buffer while reading a request head. Beyond it hyper itself answers an empty 431.
pub const MAX_HEADER_BUFFER: usize = 2 * 1024 * 1024;

/// Request bodies larger than this are refused with 413 before they are read whole.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(raw).map_err(|e| format!("{e} (examples: 12h, 30m, 7d)"))?;
    if ttl < Duration::from_secs(60) {
        return Err("must be at least 1m".into());
    }
    if ttl > Duration::from_secs(366 * 24 * 3600) {
        return Err("must be at most 366d".into());
    }
    Ok(ttl)
}

/// `DELETE_WINDOW`: a duration; 0: deleting for everyone is off.
fn parse_window(raw: &str) -> Result<Duration, String> {
    if raw.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(raw).map_err(|e| format!("{e} (examples: 24h, 15m, or 0 for off)"))
}

/// `RETENTION`: at least a second (e.g. 90d, 1y).
fn parse_retention(raw: &str) -> Result<Duration, String> {
    let keep = humantime::parse_duration(raw).map_err(|e| format!("{e} (examples: 90d, 1y)"))?;
    if keep < Duration::from_secs(1) {
        return Err("must be at least 1s".into());
    }
    Ok(keep)
}

/// A duration with an optional sign, in milliseconds: `-3s` is -3000.
fn parse_clock_offset(raw: &str) -> Result<i64, String> {
    let (sign, magnitude) = match raw.trim().strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, raw.trim().trim_start_matches('+')),
    };
    let offset = humantime::parse_duration(magnitude).map_err(|e| format!("{e} (examples: -3s, 500ms)"))?;
    i64::try_from(offset.as_millis()).map(|ms| sign * ms).map_err(|_| "too large".to_owned())
}

fn parse_db_timeout(raw: &str) -> Result<Duration, String> {
    let timeout = humantime::parse_duration(raw).map_err(|e| format!("{e} (examples: 5s, 500ms)"))?;
    if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(120) {
        return Err("must be between 100ms and 120s".into());
    }
    Ok(timeout)
}

fn parse_max_message_bytes(raw: &str) -> Result<usize, String> {
    let value: usize = raw.parse().map_err(|e| format!("{e}"))?;
    // The content travels inside a JSON request body, which has its own limit.
    let ceiling = MAX_REQUEST_BODY_BYTES / 2;
    if !(1..=ceiling).contains(&value) {
        return Err(format!("must be between 1 and {ceiling}"));
    }
    Ok(value)
}

impl Default for Config {
    /// The built-in defaults, without reading the command line or the environment.
    fn default() -> Self {
        Self {
            host: defaults::HOST.parse().expect("default host is an IP address"),
            port: defaults::PORT,
            pool_size: defaults::POOL_SIZE,
            data_dir: PathBuf::from(defaults::DATA_DIR),
            store_url: None,
            jwt_secret: None,
            bcrypt_cost: defaults::BCRYPT_COST,
            token_ttl: parse_ttl(defaults::TOKEN_TTL).expect("default TTL parses"),
            delete_window: parse_window(defaults::DELETE_WINDOW).expect("default parses"),
            retention: None,
            max_expires_in: parse_ttl(defaults::MAX_EXPIRES_IN).expect("default parses"),
            purge_interval: parse_duration(defaults::PURGE_INTERVAL).expect("default parses"),
            max_message_bytes: defaults::MAX_MESSAGE_BYTES,
            db_timeout: parse_db_timeout(defaults::DB_TIMEOUT).expect("default timeout parses"),
            log_format: LogFormat::Text,
            metrics_addr: None,
            cors_origins: None,
            request_timeout: parse_duration(defaults::REQUEST_TIMEOUT).expect("default parses"),
            drain_timeout: parse_duration(defaults::DRAIN_TIMEOUT).expect("default parses"),
            shutdown_delay: Duration::ZERO,
            no_rate_limit: false,
            rate_limit_login_failures: defaults::LOGIN_FAILURES,
            rate_limit_lookups: defaults::LOOKUPS,
            metrics: false,
            metrics_token: None,
            rate_limit_account_failures: defaults::ACCOUNT_FAILURES,
            rate_limit_address_failures: defaults::ADDRESS_FAILURES,
            rate_limit_registrations: defaults::REGISTRATIONS,
            rate_limit_window: parse_duration(defaults::RATE_LIMIT_WINDOW).expect("default parses"),
            trust_forwarded_for: false,
            stream_recheck: parse_duration(defaults::STREAM_RECHECK).expect("default parses"),
            max_streams_per_account: defaults::MAX_STREAMS_PER_ACCOUNT,
            stream_keepalive: parse_duration(defaults::STREAM_KEEPALIVE).expect("default parses"),
            header_timeout: parse_duration(defaults::HEADER_TIMEOUT).expect("default parses"),
            idle_timeout: parse_duration(defaults::IDLE_TIMEOUT).expect("default parses"),
            write_timeout: parse_duration(defaults::WRITE_TIMEOUT).expect("default parses"),
            max_connections: None,
            registration: Registration::Open,
            clock_offset_ms: 0,
        }
    }
}

impl Config {
    /// The effective configuration as `VARIABLE=value` pairs — the names an operator sets — with secrets
    /// and database passwords redacted and durations as one would write them (`12h`), for the start-up log.
    pub fn summary(&self) -> String {
        let duration = |d: Duration| humantime::format_duration(d).to_string();
        let set =
            |secret: &Option<String>, unset: &str| secret.as_ref().map_or(unset.to_owned(), |_| "<redacted>".into());
        let limits = self.rate_limits();
        let mut pairs: Vec<(&str, String)> = vec![
            ("HOST", self.host.to_string()),
            ("PORT", self.port.to_string()),
            ("POOL_SIZE", self.pool_size.to_string()),
            ("MSGD_DATA_DIR", self.data_dir.display().to_string()),
            ("MONGODB_URL", self.store_url.as_deref().map_or("(unset: SQLite)".to_owned(), redact_url)),
            ("JWT_SECRET", set(&self.jwt_secret, "(generated, kept in the database)")),
            ("BCRYPT_COST", self.bcrypt_cost.to_string()),
            ("TOKEN_TTL", duration(self.token_ttl)),
            ("MAX_MESSAGE_BYTES", self.max_message_bytes.to_string()),
            ("DB_TIMEOUT", duration(self.db_timeout)),
            ("LOG_FORMAT", format!("{:?}", self.log_format).to_lowercase()),
            ("METRICS", self.metrics.to_string()),
            ("METRICS_ADDR", self.metrics_addr.map_or("(unset)".to_owned(), |a| a.to_string())),
            ("METRICS_TOKEN", set(&self.metrics_token, "(unset)")),
            (
                "CORS_ORIGINS",
                match &self.cors_origins {
                    None => "(unset: off)".to_owned(),
                    Some(CorsOrigins::Any) => "*".to_owned(),
                    Some(CorsOrigins::List(origins)) => origins.join(","),
                },
            ),
            ("REQUEST_TIMEOUT", duration(self.request_timeout)),
            ("DRAIN_TIMEOUT", duration(self.drain_timeout)),
            ("SHUTDOWN_DELAY", duration(self.shutdown_delay)),
            ("STREAM_RECHECK", duration(self.stream_recheck)),
            ("STREAM_KEEPALIVE", duration(self.stream_keepalive)),
            ("MAX_STREAMS_PER_ACCOUNT", self.max_streams_per_account.to_string()),
            ("HEADER_TIMEOUT", duration(self.header_timeout)),
            ("IDLE_TIMEOUT", duration(self.idle_timeout)),
            ("WRITE_TIMEOUT", duration(self.write_timeout)),
            (
                "MAX_CONNECTIONS",
                self.max_connections
                    .map_or("(unset: the open-files limit less a reserve)".to_owned(), |n| n.to_string()),
            ),
            ("REGISTRATION", format!("{:?}", self.registration).to_lowercase()),
            ("TRUST_FORWARDED_FOR", self.trust_forwarded_for.to_string()),
            ("NO_RATE_LIMIT", self.no_rate_limit.to_string()),
        ];
        if let Some(limits) = limits {
            pairs.extend([
                ("RATE_LIMIT_LOGIN_FAILURES", limits.login_failures.to_string()),
                ("RATE_LIMIT_ACCOUNT_FAILURES", limits.account_failures.to_string()),
                ("RATE_LIMIT_ADDRESS_FAILURES", limits.address_failures.to_string()),
                ("RATE_LIMIT_REGISTRATIONS", limits.registrations.to_string()),
                ("RATE_LIMIT_LOOKUPS", limits.lookups.to_string()),
                ("RATE_LIMIT_WINDOW", duration(limits.window)),
            ]);
        }
        if self.clock_offset_ms != 0 {
            pairs.push(("MSGD_CLOCK_OFFSET", format!("{}ms", self.clock_offset_ms)));
        }
        pairs
            .into_iter()
            .map(|(key, value)| if value.contains(' ') { format!("{key}={value:?}") } else { format!("{key}={value}") })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The same as [`Config::summary`]: never the secrets.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Replaces the password in `scheme://user:password@host/...` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgd::MsgdCli;
    use clap::{CommandFactory, Parser};

    #[test]
    fn the_command_line_definition_is_consistent() {
        MsgdCli::command().debug_assert();
    }

    #[test]
    fn defaults_agree_with_the_command_line() {
        let command = MsgdCli::command();
        let declared = |id: &str| {
            let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
            arg.get_default_values()[0].to_str().unwrap().to_owned()
        };
        let config = Config::default();
        assert_eq!(declared("host"), config.host.to_string());
        assert_eq!(declared("port"), config.port.to_string());
        assert_eq!(declared("pool_size"), config.pool_size.to_string());
        assert_eq!(declared("data_dir"), config.data_dir.display().to_string());
        assert_eq!(declared("bcrypt_cost"), config.bcrypt_cost.to_string());
        assert_eq!(parse_ttl(&declared("token_ttl")).unwrap(), config.token_ttl);
        assert_eq!(declared("max_message_bytes"), config.max_message_bytes.to_string());
        assert_eq!(parse_db_timeout(&declared("db_timeout")).unwrap(), config.db_timeout);
        assert_eq!(declared("log_format"), "text");
        assert_eq!(parse_duration(&declared("request_timeout")).unwrap(), config.request_timeout);
        assert_eq!(parse_duration(&declared("drain_timeout")).unwrap(), config.drain_timeout);
        assert_eq!(humantime::parse_duration(&declared("shutdown_delay")).unwrap(), config.shutdown_delay);
        assert_eq!(declared("rate_limit_login_failures"), config.rate_limit_login_failures.to_string());
        assert_eq!(declared("rate_limit_lookups"), config.rate_limit_lookups.to_string());
        assert_eq!(declared("rate_limit_account_failures"), config.rate_limit_account_failures.to_string());
        assert_eq!(declared("rate_limit_address_failures"), config.rate_limit_address_failures.to_string());
        assert_eq!(declared("rate_limit_registrations"), config.rate_limit_registrations.to_string());
        assert_eq!(parse_duration(&declared("rate_limit_window")).unwrap(), config.rate_limit_window);
        assert_eq!(parse_duration(&declared("stream_recheck")).unwrap(), config.stream_recheck);
        assert_eq!(declared("max_streams_per_account"), config.max_streams_per_account.to_string());
        assert_eq!(parse_duration(&declared("stream_keepalive")).unwrap(), config.stream_keepalive);
        assert_eq!(parse_duration(&declared("header_timeout")).unwrap(), config.header_timeout);
        assert_eq!(parse_duration(&declared("idle_timeout")).unwrap(), config.idle_timeout);
        assert_eq!(parse_duration(&declared("write_timeout")).unwrap(), config.write_timeout);
        assert_eq!(parse_clock_offset(&declared("clock_offset_ms")).unwrap(), config.clock_offset_ms);
        assert!(config.rate_limits().is_some(), "rate limits are on by default");
    }

    #[test]
    fn switches_accept_the_usual_spellings() {
        // The environment's spellings (1, yes, on, true…) are checked against the real binary in
        // tests/msgd/process.rs; here, the flags.
        let parse = |args: &[&str]| MsgdCli::try_parse_from(args).unwrap().config;
        assert!(parse(&["msgd", "--no-rate-limit"]).no_rate_limit);
        assert!(parse(&["msgd", "--trust-forwarded-for"]).trust_forwarded_for);
        let defaults = parse(&["msgd"]);
        assert!(!defaults.trust_forwarded_for);
    }

    #[test]
    fn token_lifetimes_are_parsed_and_bounded() {
        assert_eq!(parse_ttl("12h").unwrap(), Duration::from_secs(12 * 3600));
        assert_eq!(parse_ttl("30m").unwrap(), Duration::from_secs(1800));
        assert!(parse_ttl("10s").is_err());
        assert!(parse_ttl("400d").is_err());
        assert!(parse_ttl("soon").is_err());
    }

    #[test]
    fn clock_offsets_take_a_sign() {
        assert_eq!(parse_clock_offset("-3s"), Ok(-3000));
        assert_eq!(parse_clock_offset("+250ms"), Ok(250));
        assert_eq!(parse_clock_offset("2m"), Ok(120_000));
        assert!(parse_clock_offset("-soon").is_err());
    }

    #[test]
    fn cors_origins_are_a_star_or_a_list_of_origins() {
        assert_eq!(parse_cors_origins("*"), Ok(CorsOrigins::Any));
        assert_eq!(
            parse_cors_origins("https://a.example.com, http://localhost:3000/"),
            Ok(CorsOrigins::List(vec!["https://a.example.com".into(), "http://localhost:3000".into()]))
        );
        assert!(parse_cors_origins("a.example.com").is_err());
        assert!(parse_cors_origins("https://a.example.com/path").is_err());
        assert!(parse_cors_origins(" , ").is_err());
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("mongodb://app:s3cret@db.internal:27017/msgkit?authSource=admin"),
            "mongodb://app:***@db.internal:27017/msgkit?authSource=admin"
        );
        assert_eq!(redact_url("mongodb://localhost:27017"), "mongodb://localhost:27017");
        let debug = format!(
            "{:?}",
            Config {
                jwt_secret: Some("x".repeat(40)),
                store_url: Some("mongodb://u:pw@h/".into()),
                ..Config::default()
            }
        );
        assert!(!debug.contains("xxxx") && !debug.contains(":pw@"), "{debug}");
        assert!(debug.contains("JWT_SECRET=<redacted>") && debug.contains("TOKEN_TTL=12h"), "{debug}");
    }
}
