//! A typed HTTP client for the msgd API, used by `msgctl` and by the tests.

use std::fmt;
use std::time::Duration;

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::api::{
    ChangePasswordRequest, CreateUserRequest, CreatedUser, ErrorBody, LoginRequest, MessageView, SendMessageRequest,
    StatusMessage, TokenResponse,
};

/// What a call can end with, other than success.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The server answered with an error body.
    #[error("{message}")]
    Api {
        status: StatusCode,
        /// The stable code of the error body, e.g. `email_taken`.
        code: String,
        message: String,
        /// From `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// No connection could be made, or it broke before an answer.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server did not answer in time.
    #[error("the server at {url} did not answer in time")]
    Timeout { url: String },
    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// The server URL is not usable.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

impl ClientError {
    /// The HTTP status, for errors the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error body's code, for errors the server answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A client for one msgd server, optionally carrying a bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Default time limit for one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    /// A client for the server at `base_url` (http or https).
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Self::with_timeout(base_url, DEFAULT_TIMEOUT)
    }

    /// A client whose requests give up after `timeout`.
    pub fn with_timeout(base_url: &str, timeout: Duration) -> Result<Self, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidUrl { url: base_url.to_owned(), reason: reason.to_owned() };
        let mut base = Url::parse(base_url.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base.host_str().is_none() {
            return Err(invalid("it has no host"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid("credentials do not belong in the server URL"));
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("msgkit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Protocol(format!("building the HTTP client: {e}")))?;
        Ok(Self { http, base, token: None })
    }

    /// The same client, authenticating with `token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The underlying HTTP client, for requests this API has no method for.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The server's base URL, always ending in `/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `POST /users`: registers `email`; the answer holds the generated password.
    pub async fn create_user(&self, email: &str) -> Result<CreatedUser, ClientError> {
        let body = CreateUserRequest { email: email.to_owned() };
        self.send(self.request(Method::POST, "users")?.json(&body)).await
    }

    /// `POST /users/login`: returns a bearer token.
    pub async fn login(&self, email: &str, password: &str) -> Result<String, ClientError> {
        let body = LoginRequest { email: email.to_owned(), password: password.to_owned() };
        let answer: TokenResponse = self.send(self.request(Method::POST, "users/login")?.json(&body)).await?;
        Ok(answer.token)
    }

    /// `PUT /users/change-password`.
    pub async fn change_password(&self, email: &str, current: &str, new: &str) -> Result<StatusMessage, ClientError> {
        let body = ChangePasswordRequest {
            email: email.to_owned(),
            current_password: current.to_owned(),
            new_password: new.to_owned(),
        };
        self.send(self.request(Method::PUT, "users/change-password")?.json(&body)).await
    }

    /// `POST /messages`.
    pub async fn send_message(&self, content: &str) -> Result<MessageView, ClientError> {
        let body = SendMessageRequest { content: content.to_owned() };
        self.send(self.authed(Method::POST, "messages")?.json(&body)).await
    }

    /// `GET /messages`.
    pub async fn list_messages(&self) -> Result<Vec<MessageView>, ClientError> {
        self.send(self.authed(Method::GET, "messages")?).await
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base.join(path).map_err(|e| ClientError::InvalidUrl { url: self.base.to_string(), reason: e.to_string() })
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        Ok(self.http.request(method, self.url(path)?))
    }

    fn authed(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        let request = self.request(method, path)?;
        Ok(match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        })
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ClientError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_success() {
            let bytes = response.bytes().await.map_err(|e| self.transport_error(e))?;
            return serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::Protocol(format!("HTTP {status} with an unreadable body: {e}")));
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        Err(error_from(status, &headers, &body))
    }

    fn transport_error(&self, e: reqwest::Error) -> ClientError {
        let url = self.base.to_string();
        if e.is_timeout() {
            return ClientError::Timeout { url };
        }
        // The innermost cause says what happened ("Connection refused"); reqwest's own text does not.
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        ClientError::Unreachable { url, reason }
    }
}

/// rustls needs one process-wide crypto provider; msgkit uses ring (as the MongoDB driver does), which
/// builds without a C toolchain beyond `cc`.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is installed already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn error_from(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ClientError {
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => ClientError::Api { status, code: body.code, message: body.error, retry_after },
        _ => ClientError::Api {
            status,
            code: format!("http_{}", status.as_u16()),
            message: format!("the server answered HTTP {status} without an error body"),
            retry_after,
        },
    }
}
