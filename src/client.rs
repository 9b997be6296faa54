//! A typed HTTP client for the msgd API, used by `msgctl` and by the tests.

use std::fmt;
use std::time::Duration;

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use thiserror::Error;

use uuid::Uuid;

use crate::api::{
    AdminUser, ChangePasswordRequest, CreateTokenRequest, CreateUserRequest, CreatedToken, CreatedUser,
    DeleteAccountRequest, ErrorBody, GeneratedPassword, ListParams, LoginRequest, Me, MessageView, RoleName, ScopeName,
    SendMessageRequest, StatusMessage, StreamClose, TokenResponse, TokenView, UpdateUserRequest,
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
        /// The field, query parameter or header the error is about, when the server named one.
        field: Option<String>,
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
        // `127.0.0.1:4000` and `localhost:4000` mean http://: a scheme is only needed for https.
        let given = base_url.trim();
        let with_scheme = if given.contains("://") { given.to_owned() } else { format!("http://{given}") };
        let mut base = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
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
        self.create_user_with_key(email, None).await
    }

    /// `POST /users` with an `Idempotency-Key`: a retry with the same key within 10 minutes gets the same
    /// account, with a new password, as long as it has not logged in.
    pub async fn create_user_with_key(&self, email: &str, key: Option<&str>) -> Result<CreatedUser, ClientError> {
        let body = CreateUserRequest { email: email.to_owned(), role: None };
        let mut request = self.request(Method::POST, "users")?.json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.send(request).await
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

    /// `POST /messages` with only content, as the original API: a note to self.
    pub async fn send_message(&self, content: &str) -> Result<MessageView, ClientError> {
        Ok(self.send_to(content, None, None).await?.message)
    }

    /// `POST /messages` to `to` (an email; `None`: oneself), with an optional `Idempotency-Key`.
    pub async fn send_to(
        &self,
        content: &str,
        to: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Sent, ClientError> {
        let body = SendMessageRequest { content: content.to_owned(), to: to.map(str::to_owned), recipient_email: None };
        let mut request = self.authed(Method::POST, "messages")?.json(&body);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
        let message = self.read(response).await?;
        Ok(Sent { message, replayed })
    }

    /// `GET /messages` with the server's default parameters: the first page of the inbox.
    pub async fn list_messages(&self) -> Result<Vec<MessageView>, ClientError> {
        Ok(self.list_page(&ListParams::default()).await?.messages)
    }

    /// `GET /messages` with `params`.
    pub async fn list_page(&self, params: &ListParams) -> Result<Page, ClientError> {
        let url = self.url("messages")?;
        self.page(self.authed_url(Method::GET, url).query(params)).await
    }

    /// The page a `Link` of an earlier page points to.
    pub async fn follow(&self, link: &Url) -> Result<Page, ClientError> {
        self.page(self.authed_url(Method::GET, link.clone())).await
    }

    async fn page(&self, request: RequestBuilder) -> Result<Page, ClientError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let links = response
            .headers()
            .get_all(header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| parse_links(v, response.url()))
            .collect::<Vec<_>>();
        let rel = |name: &str| links.iter().find(|(rel, _)| rel == name).map(|(_, url)| url.clone());
        let (next, prev) = (rel("next"), rel("prev"));
        let messages = self.read(response).await?;
        Ok(Page { messages, next, prev })
    }

    /// `POST /users/logout`: revokes every token of the account, this one included.
    pub async fn logout_everywhere(&self) -> Result<(), ClientError> {
        self.no_content(self.authed(Method::POST, "users/logout")?).await
    }

    /// `DELETE /users/me/session`: ends this session only; its token is refused from now on.
    pub async fn end_session(&self) -> Result<(), ClientError> {
        self.no_content(self.authed(Method::DELETE, "users/me/session")?).await
    }

    async fn no_content(&self, request: RequestBuilder) -> Result<(), ClientError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        Err(error_from(status, &headers, &body))
    }

    /// `GET /users/me`.
    pub async fn me(&self) -> Result<Me, ClientError> {
        self.send(self.authed(Method::GET, "users/me")?).await
    }

    /// `DELETE /users/me`: erases this account (its password confirms it).
    pub async fn delete_account(&self, password: &str) -> Result<(), ClientError> {
        let body = DeleteAccountRequest { password: password.to_owned() };
        self.no_content(self.authed(Method::DELETE, "users/me")?.json(&body)).await
    }

    /// `POST /tokens`: a personal access token, shown once.
    pub async fn create_token(
        &self,
        name: &str,
        scopes: &[ScopeName],
        expires_in: Option<&str>,
        password: &str,
    ) -> Result<CreatedToken, ClientError> {
        let body = CreateTokenRequest {
            name: name.to_owned(),
            scopes: scopes.to_vec(),
            expires_in: expires_in.map(str::to_owned),
            password: password.to_owned(),
        };
        self.send(self.authed(Method::POST, "tokens")?.json(&body)).await
    }

    /// `GET /tokens`.
    pub async fn tokens(&self) -> Result<Vec<TokenView>, ClientError> {
        self.send(self.authed(Method::GET, "tokens")?).await
    }

    /// `DELETE /tokens/{id}`.
    pub async fn revoke_token(&self, id: Uuid) -> Result<(), ClientError> {
        self.no_content(self.authed(Method::DELETE, &format!("tokens/{id}"))?).await
    }

    /// The admin API, as this client's account (an administrator).
    pub fn admin(&self) -> Admin<'_> {
        Admin { client: self }
    }

    /// `GET /messages/stream`, resuming after `after` when given.
    pub async fn stream(&self, after: Option<Uuid>) -> Result<MessageStream, ClientError> {
        let mut request = self
            .authed_url(Method::GET, self.url("messages/stream")?)
            .header(header::ACCEPT, "text/event-stream")
            // A stream has no end to wait for; only connecting is bounded.
            .timeout(Duration::from_secs(365 * 24 * 3600));
        if let Some(after) = after {
            request = request.header("last-event-id", after.to_string());
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        if !response.status().is_success() {
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            return Err(error_from(status, &headers, &body));
        }
        Ok(MessageStream { body: Box::pin(response.bytes_stream()), buffer: Vec::new(), url: self.base.to_string() })
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base.join(path).map_err(|e| ClientError::InvalidUrl { url: self.base.to_string(), reason: e.to_string() })
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        Ok(self.http.request(method, self.url(path)?))
    }

    fn authed(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        Ok(self.authed_url(method, self.url(path)?))
    }

    fn authed_url(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ClientError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        self.read(response).await
    }

    async fn read<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, ClientError> {
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
        ClientError::Unreachable { url, reason: reason_in_words(&reason) }
    }
}

/// A system error as a person would say it: "connection refused — is msgd running there?", not
/// "Connection refused (os error 111)".
fn reason_in_words(reason: &str) -> String {
    let plain = match reason.find(" (os error") {
        Some(at) => &reason[..at],
        None => reason,
    };
    let lower = plain.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused — is msgd running there?".to_owned()
    } else if lower.contains("failed to lookup address") || lower.contains("name or service not known") {
        "no such host".to_owned()
    } else if lower.contains("connection reset") {
        "the connection was reset".to_owned()
    } else if lower.contains("timed out") {
        "the connection timed out".to_owned()
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("the TLS connection failed ({plain})")
    } else {
        plain.to_owned()
    }
}

/// `/admin/…`, through [`Client::admin`].
pub struct Admin<'a> {
    client: &'a Client,
}

/// A page of accounts and the link to the next.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<AdminUser>,
    pub next: Option<Url>,
}

/// Which accounts `GET /admin/users` lists.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct UserFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Uuid>,
    /// `active` or `deactivated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// An email prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Admin<'_> {
    /// `POST /users` as an administrator: works when registration is closed, and may set the role.
    pub async fn create_user(&self, email: &str, role: Option<RoleName>) -> Result<CreatedUser, ClientError> {
        self.create_user_with_key(email, role, None).await
    }

    /// [`Admin::create_user`] with an `Idempotency-Key`: a retry gets the same account (with a new
    /// password) rather than `email_taken`.
    pub async fn create_user_with_key(
        &self,
        email: &str,
        role: Option<RoleName>,
        key: Option<&str>,
    ) -> Result<CreatedUser, ClientError> {
        let body = CreateUserRequest { email: email.to_owned(), role };
        let mut request = self.client.authed(Method::POST, "users")?.json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.client.send(request).await
    }

    /// `GET /admin/users`.
    pub async fn users(&self, filter: &UserFilter) -> Result<UserPage, ClientError> {
        let url = self.client.url("admin/users")?;
        self.user_page(self.client.authed_url(Method::GET, url).query(filter)).await
    }

    /// The page a `Link` of an earlier page points to.
    pub async fn follow(&self, link: &Url) -> Result<UserPage, ClientError> {
        self.user_page(self.client.authed_url(Method::GET, link.clone())).await
    }

    async fn user_page(&self, request: RequestBuilder) -> Result<UserPage, ClientError> {
        let response = request.send().await.map_err(|e| self.client.transport_error(e))?;
        let next = response
            .headers()
            .get_all(header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| parse_links(v, response.url()))
            .find(|(rel, _)| rel == "next")
            .map(|(_, url)| url);
        let users = self.client.read(response).await?;
        Ok(UserPage { users, next })
    }

    /// The account with exactly this email, if any.
    pub async fn find(&self, email: &str) -> Result<Option<AdminUser>, ClientError> {
        let wanted = email.trim().to_lowercase();
        let page =
            self.users(&UserFilter { email: Some(wanted.clone()), limit: Some(1000), ..Default::default() }).await?;
        Ok(page.users.into_iter().find(|u| u.email == wanted))
    }

    async fn post(&self, id: Uuid, action: &str) -> Result<AdminUser, ClientError> {
        self.client.send(self.client.authed(Method::POST, &format!("admin/users/{id}/{action}"))?).await
    }

    pub async fn deactivate(&self, id: Uuid) -> Result<AdminUser, ClientError> {
        self.post(id, "deactivate").await
    }

    pub async fn activate(&self, id: Uuid) -> Result<AdminUser, ClientError> {
        self.post(id, "activate").await
    }

    pub async fn reset_password(&self, id: Uuid) -> Result<GeneratedPassword, ClientError> {
        self.client.send(self.client.authed(Method::POST, &format!("admin/users/{id}/reset-password"))?).await
    }

    pub async fn unlock(&self, id: Uuid) -> Result<(), ClientError> {
        self.client.no_content(self.client.authed(Method::POST, &format!("admin/users/{id}/unlock"))?).await
    }

    pub async fn set_role(&self, id: Uuid, role: RoleName) -> Result<AdminUser, ClientError> {
        let body = UpdateUserRequest { role: Some(role) };
        self.client.send(self.client.authed(Method::PATCH, &format!("admin/users/{id}"))?.json(&body)).await
    }

    pub async fn delete(&self, id: Uuid) -> Result<(), ClientError> {
        self.client.no_content(self.client.authed(Method::DELETE, &format!("admin/users/{id}"))?).await
    }
}

/// The answer to a send.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: MessageView,
    /// The server had stored this message before, under the same idempotency key: nothing new was stored.
    pub replayed: bool,
}

/// A page of messages and the links to its neighbours.
#[derive(Debug, Clone)]
pub struct Page {
    pub messages: Vec<MessageView>,
    /// The page after this one, when there is one.
    pub next: Option<Url>,
    /// The page before this one (for pages read backwards with `before`).
    pub prev: Option<Url>,
}

/// `(rel, url)` pairs of an RFC 8288 `Link` header, resolved against the request's URL.
fn parse_links(value: &str, base: &Url) -> Vec<(String, Url)> {
    value
        .split(',')
        .filter_map(|part| {
            let (target, params) = part.trim().split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let rel = params.split(';').find_map(|p| {
                let (key, value) = p.trim().split_once('=')?;
                (key.trim() == "rel").then(|| value.trim().trim_matches('"').to_owned())
            })?;
            Some((rel, base.join(target).ok()?))
        })
        .collect()
}

/// One event of a message stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Message(MessageView),
    /// The server ended the stream: `token_expired`, `token_revoked`, `token_invalid` or `shutting_down`.
    Closed {
        code: String,
        error: String,
    },
}

/// The Server-Sent Events of `GET /messages/stream`, read as they come.
pub struct MessageStream {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: Vec<u8>,
    url: String,
}

impl MessageStream {
    /// The next message or close notice; `None` when the connection ended without one.
    pub async fn next(&mut self) -> Result<Option<StreamEvent>, ClientError> {
        use futures::StreamExt;
        loop {
            while let Some(block) = self.take_block() {
                if let Some(event) = parse_event(&block)? {
                    return Ok(Some(event));
                }
            }
            match self.body.next().await {
                Some(Ok(bytes)) => self.buffer.extend_from_slice(&bytes),
                Some(Err(e)) => {
                    return Err(ClientError::Unreachable { url: self.url.clone(), reason: e.to_string() });
                }
                None => return Ok(None),
            }
        }
    }

    /// Removes and returns the next complete event block (up to a blank line). Splitting happens on bytes,
    /// and only whole blocks are decoded, so a character cut in two by the network stays whole.
    fn take_block(&mut self) -> Option<String> {
        let (end, separator) = blank_line(&self.buffer)?;
        let block: Vec<u8> = self.buffer.drain(..end + separator).take(end).collect();
        Some(String::from_utf8_lossy(&block).replace("\r\n", "\n"))
    }
}

/// Where the first blank line (`\n\n` or `\r\n\r\n`) starts, and its length.
fn blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    (0..buffer.len()).find_map(|i| {
        let rest = &buffer[i..];
        if rest.starts_with(b"\n\n") {
            Some((i, 2))
        } else if rest.starts_with(b"\r\n\r\n") {
            Some((i, 4))
        } else {
            None
        }
    })
}

fn parse_event(block: &str) -> Result<Option<StreamEvent>, ClientError> {
    let (mut kind, mut data) = ("message", Vec::new());
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "event" => kind = if value == "close" { "close" } else { "message" },
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return Ok(None);
    }
    let data = data.join("\n");
    let bad = |e: serde_json::Error| ClientError::Protocol(format!("unreadable stream event: {e}"));
    Ok(Some(if kind == "close" {
        let close: StreamClose = serde_json::from_str(&data).map_err(bad)?;
        StreamEvent::Closed { code: close.code, error: close.error }
    } else {
        StreamEvent::Message(serde_json::from_str(&data).map_err(bad)?)
    }))
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
        Ok(body) => ClientError::Api { status, code: body.code, message: body.error, field: body.field, retry_after },
        _ => ClientError::Api {
            status,
            code: format!("http_{}", status.as_u16()),
            message: format!("The server answered HTTP {status} without an error body."),
            field: None,
            retry_after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(chunks: Vec<&'static [u8]>) -> MessageStream {
        let chunks: Vec<reqwest::Result<bytes::Bytes>> =
            chunks.into_iter().map(|c| Ok(bytes::Bytes::from(c))).collect();
        MessageStream { body: Box::pin(futures::stream::iter(chunks)), buffer: Vec::new(), url: "http://x/".into() }
    }

    #[tokio::test]
    async fn events_are_read_whole_even_when_a_character_is_split_across_chunks() {
        let event = "id: 01a20ac3-3e74-7605-8fd1-3d27db2c9e1d\ndata: {\"id\":\"01a20ac3-3e74-7605-8fd1-3d27db2c9e1d\",\
                     \"from\":\"a@b.co\",\"to\":\"a@b.co\",\"content\":\"wave 👋\",\"created_at\":\"2026-11-23T23:00:55.641Z\"}\n\n";
        let wave = event.find('👋').unwrap();
        // A comment and the event's start in one chunk, cut inside the emoji's four bytes: the complete
        // comment is taken while half a character waits in the buffer.
        let mut first = b": keep-alive\n\n".to_vec();
        first.extend_from_slice(&event.as_bytes()[..wave + 2]);
        let first: &'static [u8] = Box::leak(first.into_boxed_slice());
        let rest: &'static [u8] = Box::leak(event.as_bytes()[wave + 2..].to_vec().into_boxed_slice());
        let mut stream =
            stream_of(vec![first, rest, b"event: close\ndata: {\"code\":\"shutting_down\",\"error\":\"bye\"}\n\n"]);
        match stream.next().await.unwrap() {
            Some(StreamEvent::Message(m)) => assert_eq!(m.content, "wave 👋"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            stream.next().await.unwrap(),
            Some(StreamEvent::Closed { code: "shutting_down".into(), error: "bye".into() })
        );
        assert_eq!(stream.next().await.unwrap(), None);
    }

    #[test]
    fn link_headers_are_parsed_and_resolved() {
        let base = Url::parse("http://h:1/api/messages?limit=2").unwrap();
        let links = parse_links(r#"</messages?after=x&limit=2>; rel="next", <https://o/p>; rel=prev"#, &base);
        assert_eq!(links[0], ("next".to_owned(), Url::parse("http://h:1/messages?after=x&limit=2").unwrap()));
        assert_eq!(links[1], ("prev".to_owned(), Url::parse("https://o/p").unwrap()));
        assert!(parse_links("garbage", &base).is_empty());
    }
}
