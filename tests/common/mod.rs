//! Shared test harness: a real msgd on 127.0.0.1:0 with a fresh database, and a typed client for it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use msgkit::api::CreatedUser;
use msgkit::client::Client;
use msgkit::config::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A JWT secret for tests that need to forge tokens.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mongo,
}

/// Runs each listed `async fn(Backend)` once per backend, as `<module>::sqlite::<name>` and
/// `<module>::mongo::<name>`. `scripts/test` checks that both halves ran the same number of tests.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Mongo).await
                }
            )*
        }
    };
}

/// The MongoDB server the Mongo half of the suite uses, e.g. `mongodb://127.0.0.1:27017/?directConnection=true`.
pub const MONGO_URL_VAR: &str = "MSGKIT_TEST_MONGODB_URL";

/// The `secantusd-py` executable, for tests that start and stop a MongoDB wire server of their own.
pub const SECANTUSD_VAR: &str = "MSGKIT_TEST_SECANTUSD";

fn required_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "\n\nThe MongoDB half of the suite needs a MongoDB server and {var} is not set.\n\
             Run ./scripts/test: it installs SecantusDB (a MongoDB wire server) into .venv, starts it on a free\n\
             loopback port and runs the whole suite against it. To use your own server instead:\n\
             \x20   {MONGO_URL_VAR}=mongodb://127.0.0.1:27017/?directConnection=true cargo test\n\
             To run only the SQLite half: cargo test sqlite\n"
        )
    })
}

/// `base` with its database path replaced by `/name`.
pub fn mongo_url_with_database(base: &str, name: &str) -> String {
    let (scheme, rest) = base.split_once("://").expect("a MongoDB URL has a scheme");
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap();
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// Where a test server keeps its data; kept across restarts, removed when the test ends (the SQLite
/// directory is deleted, the MongoDB database dropped).
pub struct Database {
    backend: Backend,
    dir: tempfile::TempDir,
    /// The MongoDB URL naming this test's own database.
    mongo_url: Option<String>,
}

impl Database {
    /// A fresh, empty database for `backend`.
    pub async fn fresh(backend: Backend) -> Self {
        let dir = tempfile::Builder::new().prefix("msgkit-test-").tempdir().expect("temp dir");
        let mongo_url = (backend == Backend::Mongo).then(|| {
            let name = format!("msgkit_test_{}", uuid::Uuid::new_v4().simple());
            mongo_url_with_database(&required_env(MONGO_URL_VAR), &name)
        });
        Self { backend, dir, mongo_url }
    }

    /// A fresh MongoDB database on the server at `base_url` (e.g. one a test started itself).
    pub fn mongo_on(base_url: &str) -> Self {
        let dir = tempfile::Builder::new().prefix("msgkit-test-").tempdir().expect("temp dir");
        let name = format!("msgkit_test_{}", uuid::Uuid::new_v4().simple());
        Self { backend: Backend::Mongo, dir, mongo_url: Some(mongo_url_with_database(base_url, &name)) }
    }

    /// The MongoDB URL of this database, if it is one.
    pub fn mongo_url(&self) -> Option<&str> {
        self.mongo_url.as_deref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// This database as a URL for `--to`: its MongoDB URL, or `sqlite://` and the SQLite file.
    pub fn url(&self) -> String {
        match &self.mongo_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir().join(msgkit::store::SQLITE_FILE).display()),
        }
    }

    /// Settings for a server on this database: loopback, any free port, bcrypt cost 4, and no rate limits
    /// (every test client shares 127.0.0.1; the throttling tests switch them on).
    pub fn config(&self) -> Config {
        Config {
            port: 0,
            bcrypt_cost: 4,
            data_dir: self.data_dir(),
            store_url: self.mongo_url.clone(),
            pool_size: 4,
            no_rate_limit: true,
            // /metrics is off by default; the tests read it.
            metrics: true,
            ..Config::default()
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some(url) = self.mongo_url.take() else { return };
        // Drop is synchronous and may run inside the test's runtime: use a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let Ok(options) = mongodb::options::ClientOptions::parse(&url).await else { return };
                let name = options.default_database.clone().unwrap_or_default();
                let mut options = options;
                options.server_selection_timeout = Some(Duration::from_secs(2));
                if let Ok(client) = mongodb::Client::with_options(options) {
                    let _ = tokio::time::timeout(Duration::from_secs(5), client.database(&name).drop()).await;
                }
            });
        })
        .join();
    }
}

/// A running msgd.
pub struct TestApp {
    pub address: SocketAddr,
    pub base_url: String,
    /// A client without a token.
    pub client: Client,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// A registered, logged-in user.
pub struct TestUser {
    pub email: String,
    pub password: String,
    pub token: String,
    /// A client carrying the user's token.
    pub client: Client,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    });
}

/// Starts msgd on a fresh database.
pub async fn spawn_app(backend: Backend) -> (TestApp, Database) {
    let db = Database::fresh(backend).await;
    let app = TestApp::start(db.config()).await;
    (app, db)
}

/// Starts msgd on a fresh database with settings changed by `tweak`.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> (TestApp, Database) {
    let db = Database::fresh(backend).await;
    let mut config = db.config();
    tweak(&mut config);
    let app = TestApp::start(config).await;
    (app, db)
}

impl TestApp {
    /// Starts msgd in this process with `config`. The listener is bound before the server task starts, so
    /// the server is ready when this returns.
    pub async fn start(config: Config) -> Self {
        init_logs();
        let state = msgkit::msgd::server::build_state(&config).await.expect("building the server state");
        let listener = TcpListener::bind((config.host, config.port)).await.expect("binding 127.0.0.1:0");
        let address = listener.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(msgkit::http::serve(listener, state, async {
            let _ = stop.await;
        }));
        let base_url = format!("http://{address}");
        let client = Client::new(&base_url).unwrap();
        Self { address, base_url, client, config, shutdown: Some(shutdown), server: Some(server) }
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn stop(mut self) {
        self.stop_in_place().await;
    }

    async fn stop_in_place(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(15), server)
                .await
                .expect("server stops within 15 s")
                .expect("server task")
                .expect("server result");
        }
    }

    /// Stops this server and starts a new one with the same settings and database.
    pub async fn restart(mut self) -> Self {
        self.stop_in_place().await;
        Self::start(self.config.clone()).await
    }

    /// A URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Registers `email`.
    pub async fn register(&self, email: &str) -> CreatedUser {
        self.client.create_user(email).await.expect("registration")
    }

    /// Registers a fresh user and logs in.
    pub async fn new_user(&self) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        self.user(&email).await
    }

    /// Registers `email` and logs in.
    pub async fn user(&self, email: &str) -> TestUser {
        let created = self.register(email).await;
        let token = self.client.login(email, &created.generated_password).await.expect("login");
        TestUser {
            email: created.email,
            password: created.generated_password,
            client: self.client.clone().with_token(&token),
            token,
        }
    }

    /// An administrator, created with `msgd admin create-user --admin` on this server's database (as an
    /// operator makes the first one), and logged in.
    pub async fn admin(&self) -> TestUser {
        let email = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
        let out = msgd_admin(&self.config, &["--json", "create-user", &email, "--admin"]);
        assert!(out.status.success(), "msgd admin create-user: {}", String::from_utf8_lossy(&out.stderr));
        let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let password = created["generated_password"].as_str().unwrap().to_owned();
        let token = self.client.login(&email, &password).await.expect("the admin logs in");
        TestUser { email, password, client: self.client.clone().with_token(&token), token }
    }

    /// A plain HTTP client for requests the typed client would never send.
    pub fn raw(&self) -> reqwest::Client {
        self.client.http().clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Runs `msgd admin ARGS` on `config`'s database; returns what it printed and its exit status.
pub fn msgd_admin(config: &Config, args: &[&str]) -> std::process::Output {
    msgd_command(config).arg("admin").args(args).output().expect("running msgd admin")
}

/// `msgd` (the real binary) configured for `config`'s database, to run a subcommand with.
pub fn msgd_command(config: &Config) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_msgd"));
    command
        .env_remove("MONGODB_URL")
        .env("MSGD_DATA_DIR", &config.data_dir)
        .env("BCRYPT_COST", config.bcrypt_cost.to_string());
    if let Some(url) = &config.store_url {
        command.env("MONGODB_URL", url);
    }
    command
}

/// Signs `claims` with `secret` (HS256), for tokens the server would never issue.
pub fn forge_token(claims: &serde_json::Value, secret: &[u8]) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The real `msgd` binary, started as a child process with JSON logs. Killed (by pid) when dropped.
pub struct MsgdProcess {
    pub child: std::process::Child,
    pub address: SocketAddr,
    pub base_url: String,
    /// Every log line so far, shared with the thread reading stderr.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl MsgdProcess {
    /// Starts `msgd` with `config`'s data location, bcrypt cost and the given extra environment, on a free
    /// loopback port; returns once it logs the address it listens on.
    pub fn spawn(config: &Config, extra_env: &[(&str, &str)]) -> Self {
        Self::spawn_with(config, extra_env, |command| command)
    }

    /// Like [`MsgdProcess::spawn`], with the command adjusted by `wrap` (e.g. to run as another user).
    pub fn spawn_with(
        config: &Config,
        extra_env: &[(&str, &str)],
        wrap: impl FnOnce(std::process::Command) -> std::process::Command,
    ) -> Self {
        use std::io::BufRead;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_msgd"));
        for var in [
            "HOST",
            "PORT",
            "POOL_SIZE",
            "MSGD_DATA_DIR",
            "MONGODB_URL",
            "JWT_SECRET",
            "BCRYPT_COST",
            "TOKEN_TTL",
            "METRICS_ADDR",
            "METRICS_TOKEN",
            "MSGD_CLOCK_OFFSET",
            "STREAM_RECHECK",
            "DELETE_WINDOW",
            "RETENTION",
            "MAX_EXPIRES_IN",
            "PURGE_INTERVAL",
        ] {
            command.env_remove(var);
        }
        command
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("BCRYPT_COST", config.bcrypt_cost.to_string())
            .env("NO_RATE_LIMIT", config.no_rate_limit.to_string())
            .env("METRICS", config.metrics.to_string())
            .env("MSGD_DATA_DIR", &config.data_dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if let Some(url) = &config.store_url {
            command.env("MONGODB_URL", url);
        }
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let mut command = wrap(command);
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("starting msgd");
        let stderr = child.stderr.take().unwrap();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) {
                    if event["message"] == "listening" {
                        let _ = address_tx.send(event["address"].as_str().unwrap_or_default().to_owned());
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => address.parse().expect("msgd logs a socket address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("msgd did not start; its log:\n{}", logs.lock().unwrap().join("\n"));
            }
        };
        Self { child, address, base_url: format!("http://{address}"), logs }
    }

    /// A client for this server.
    pub fn client(&self) -> Client {
        Client::new(&self.base_url).unwrap()
    }

    /// Sends `signal` (e.g. "TERM", "KILL", "STOP") to the process.
    pub fn signal(&self, signal: &str) {
        kill(&self.child.id().to_string(), signal);
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The log so far, one line per entry. msgd writes its log up to 100 ms after the event: to see
    /// everything, stop the process first, or wait for a line with [`Self::log_text_once`].
    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// The log, once it contains `needle` (or after 5 s, so the caller's assertion shows what it has).
    pub fn log_text_once(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log_text();
            if log.contains(needle) || std::time::Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MsgdProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A SecantusDB (MongoDB wire protocol) server of a test's own, to pause, kill and restart. Its data lives in
/// a directory of its own, so a restart on the same port finds it again. Killed (by pid) when dropped.
pub struct SecantusProcess {
    child: Option<std::process::Child>,
    pub port: u16,
    storage: tempfile::TempDir,
    flags: Vec<String>,
}

impl SecantusProcess {
    /// Starts a server on a free loopback port and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra command-line flags (e.g. `--standalone`, `--enable-test-commands`).
    pub fn start_with(flags: &[&str]) -> Self {
        let port = free_port();
        let mut server = Self::on_port(port, flags);
        server.launch();
        server
    }

    /// A server that will listen on `port` once [`Self::launch`] runs: for tests of a database that is not
    /// there yet.
    pub fn on_port(port: u16, flags: &[&str]) -> Self {
        let storage = tempfile::Builder::new().prefix("msgkit-secantus-").tempdir().unwrap();
        Self { child: None, port, storage, flags: flags.iter().map(|f| (*f).to_owned()).collect() }
    }

    /// A base URL for this server (no database).
    pub fn url(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Starts the server process and waits until it accepts connections.
    pub fn launch(&mut self) {
        let log = std::fs::File::create(self.storage.path().with_extension("log")).unwrap();
        let child = std::process::Command::new(required_env(SECANTUSD_VAR))
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string(), "--storage-path"])
            .arg(self.storage.path().join("data"))
            .args(&self.flags)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting secantusd-py");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "SecantusDB did not start within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn pid(&self) -> String {
        self.child.as_ref().expect("server running").id().to_string()
    }

    /// SIGSTOP: the server stops answering but keeps its connections open.
    pub fn pause(&self) {
        kill(&self.pid(), "STOP");
    }

    /// SIGCONT.
    pub fn resume(&self) {
        kill(&self.pid(), "CONT");
    }

    /// SIGKILL, and wait for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Runs an admin command (e.g. `replSetStepDown`, `configureFailPoint`) on this server.
    pub async fn admin_command(&self, command: mongodb::bson::Document) -> mongodb::bson::Document {
        let client = mongodb::Client::with_uri_str(self.url()).await.unwrap();
        let answer = client.database("admin").run_command(command).await.unwrap();
        client.shutdown().await;
        answer
    }
}

/// A free loopback port (free when asked; a test binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Several real msgd processes on one database, as an operator scales out.
pub struct Cluster {
    pub nodes: Vec<MsgdProcess>,
    pub db: Database,
}

/// Starts one msgd process per entry of `clock_offsets` (`MSGD_CLOCK_OFFSET`, e.g. `"-3s"`: that
/// instance's clock is three seconds behind) on one fresh database, each with `extra_env`.
pub async fn spawn_cluster(backend: Backend, clock_offsets: &[&str], extra_env: &[(&str, &str)]) -> Cluster {
    let db = Database::fresh(backend).await;
    Cluster::start(db, clock_offsets, extra_env)
}

impl Cluster {
    /// Starts the instances on `db`.
    pub fn start(db: Database, clock_offsets: &[&str], extra_env: &[(&str, &str)]) -> Self {
        let config = db.config();
        let nodes = clock_offsets
            .iter()
            .map(|offset| {
                let mut env = extra_env.to_vec();
                env.push(("MSGD_CLOCK_OFFSET", offset));
                MsgdProcess::spawn(&config, &env)
            })
            .collect();
        Self { nodes, db }
    }

    /// A client of instance `i`.
    pub fn client(&self, i: usize) -> Client {
        self.nodes[i].client()
    }

    /// Registers `email` on the first instance and logs in; returns the password and the token (valid on
    /// every instance).
    pub async fn user(&self, email: &str) -> (String, String) {
        let created = self.client(0).create_user(email).await.expect("registration");
        let token = self.client(0).login(email, &created.generated_password).await.expect("login");
        (created.generated_password, token)
    }
}

fn kill(pid: &str, signal: &str) {
    let status = std::process::Command::new("kill").arg(format!("-{signal}")).arg(pid).status().unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

impl Drop for SecantusProcess {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A paused process cannot die of SIGKILL until it is continued on some systems; resume it first.
            let _ = std::process::Command::new("kill").arg("-CONT").arg(child.id().to_string()).status();
        }
        self.kill();
    }
}

/// An HTTP/1.1 request sent in two halves over a raw socket, so a test can hold it in flight: the headers
/// and the first half of the body now, the rest when the test says.
pub struct SlowRequest {
    stream: tokio::net::TcpStream,
    rest: Vec<u8>,
}

impl SlowRequest {
    /// Starts `method path` on `address` with a JSON `body`, sending all but its second half.
    pub async fn start(address: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> Self {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connecting");
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let (first, rest) = body.as_bytes().split_at(body.len() / 2);
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(first).await.unwrap();
        stream.flush().await.unwrap();
        Self { stream, rest: rest.to_vec() }
    }

    /// Sends the rest of the body and reads the answer: status and body.
    pub async fn finish(mut self) -> (u16, String) {
        use tokio::io::AsyncWriteExt;
        let _ = self.stream.write_all(&self.rest).await;
        self.read_answer().await
    }

    /// Reads the answer without sending the rest (e.g. after the server gave up waiting).
    pub async fn read_answer(mut self) -> (u16, String) {
        use tokio::io::AsyncReadExt;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), self.stream.read_to_end(&mut answer))
            .await
            .expect("an answer within 30 s")
            .expect("reading the answer");
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }
}

/// Runs the shell examples of the book page `docs/src/<page>` — every ```` ```sh ```` block, in order, as
/// one `bash -euo pipefail` script — against the msgd at `base_url` (the page's `http://127.0.0.1:4000`
/// is replaced by it), in a fresh directory, with `msgctl` on the PATH and `env` set. Blocks marked
/// ```` ```console ```` are shown, not run. Returns what the script printed; panics with it when the script
/// fails or runs over two minutes.
///
/// The examples pick fields out with `jq`. Where it is not installed, a stand-in of the one form they use
/// (`jq -er .field [FILE]`, in Python) is put on the PATH, so the suite needs nothing beyond Python.
pub fn run_doc_examples(page: &str, base_url: &str, env: &[(&str, &str)]) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src").join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let (mut script, mut inside, mut blocks) = (String::new(), false, 0);
    for line in text.lines() {
        match line.trim_end() {
            "```sh" => (inside, blocks) = (true, blocks + 1),
            fence if fence.starts_with("```") => inside = false,
            code if inside => {
                script.push_str(&code.replace("http://127.0.0.1:4000", base_url));
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(blocks > 0, "{page} has no ```sh example");
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let has_jq = std::process::Command::new("jq").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_jq {
        let stand_in = "#!/usr/bin/env python3\nimport json, sys\nargs = [a for a in sys.argv[1:] if not a.startswith('-')]\n\
                        value = json.load(open(args[1]) if len(args) > 1 else sys.stdin)\n\
                        for key in args[0].strip('.').split('.'):\n    value = value.get(key) if isinstance(value, dict) else None\n\
                        print(value if isinstance(value, str) else json.dumps(value))\nsys.exit(1 if value in (None, False) else 0)\n";
        let jq = bin.join("jq");
        std::fs::write(&jq, stand_in).unwrap();
        std::fs::set_permissions(&jq, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let msgctl_dir = std::path::Path::new(env!("CARGO_BIN_EXE_msgctl")).parent().unwrap().to_owned();
    let search_path =
        format!("{}:{}:{}", bin.display(), msgctl_dir.display(), std::env::var("PATH").unwrap_or_default());
    let script_path = dir.path().join("examples.sh");
    std::fs::write(&script_path, &script).unwrap();
    let mut child = std::process::Command::new("bash")
        .args(["-euo", "pipefail"])
        .arg(&script_path)
        .current_dir(dir.path())
        .env("PATH", search_path)
        .env("TZ", "UTC")
        .env_remove("MSGCTL_TOKEN")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting bash");
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let printed = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    match status {
        Some(status) if status.success() => printed,
        Some(status) => {
            panic!("the examples of {page} failed ({status}); they printed:\n{printed}\nthe script:\n{script}")
        }
        None => panic!("the examples of {page} ran over two minutes; they printed:\n{printed}"),
    }
}

/// The next message on `stream`, within 15 s.
/// A message as its recipient sees it before reading it: the sender's view plus `"read": false`.
pub fn unread(mut message: msgkit::api::MessageView) -> msgkit::api::MessageView {
    message.read = Some(false);
    message
}

pub async fn next_message(stream: &mut msgkit::client::MessageStream) -> msgkit::api::MessageView {
    next_message_within(stream, Duration::from_secs(15)).await
}

/// The next message on `stream`, within `within`.
pub async fn next_message_within(
    stream: &mut msgkit::client::MessageStream,
    within: Duration,
) -> msgkit::api::MessageView {
    match tokio::time::timeout(within, stream.next()).await {
        Ok(Ok(Some(msgkit::client::StreamEvent::Message(message)))) => message,
        other => panic!("expected a message within {within:?}, got {other:?}"),
    }
}

/// The code of the event that closes `stream`, within 20 s.
pub async fn next_close(stream: &mut msgkit::client::MessageStream) -> String {
    match tokio::time::timeout(Duration::from_secs(20), stream.next()).await {
        Ok(Ok(Some(msgkit::client::StreamEvent::Closed { code, .. }))) => code,
        other => panic!("expected the stream to close within 20 s, got {other:?}"),
    }
}

/// Fails unless `result` is the server's `503 unavailable` (the database does not answer).
/// The status and code of an error answer; panics on anything else.
pub fn api_code<T: std::fmt::Debug>(result: Result<T, msgkit::client::ClientError>) -> (reqwest::StatusCode, String) {
    match result {
        Err(msgkit::client::ClientError::Api { status, code, .. }) => (status, code),
        other => panic!("expected an error answer, got {other:?}"),
    }
}

pub fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, msgkit::client::ClientError>) {
    match result {
        Err(msgkit::client::ClientError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (reqwest::StatusCode::SERVICE_UNAVAILABLE, "unavailable"))
        }
        other => panic!("expected 503 unavailable, got {other:?}"),
    }
}

/// Every message of a mailbox, from the first, following the `next` pages.
pub async fn every_message(
    client: &Client,
    mailbox: Option<msgkit::api::MailboxName>,
) -> Vec<msgkit::api::MessageView> {
    let first =
        msgkit::api::ListParams { after: Some(uuid::Uuid::nil()), limit: Some(1000), mailbox, ..Default::default() };
    let mut page = client.list_page(&first).await.unwrap();
    let mut all = Vec::new();
    loop {
        all.append(&mut page.messages);
        match page.next.take() {
            Some(next) => page = client.follow(&next).await.unwrap(),
            None => return all,
        }
    }
}

/// Runs `attempt` until it stops answering `rate_limited` (an unlock travels to every instance through the
/// change feed, so it may take a moment), at most for `within`; panics with `what` on any other failure or
/// when the time is up.
pub async fn once_unlocked<T, F, Fut>(what: &str, within: Duration, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, msgkit::client::ClientError>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match attempt().await {
            Ok(done) => return done,
            Err(e) if e.code() == Some("rate_limited") && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{what}: {e:?}"),
        }
    }
}
