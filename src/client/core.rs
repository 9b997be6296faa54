//! The client and the API's calls.

use std::fmt;
use std::time::Duration;

use reqwest::header::{self};
use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;

use uuid::Uuid;

use super::error::{ClientError, error_from, reason_in_words};
use super::pages::{Page, Sent, parse_links};
use crate::api::{
    ChangePasswordRequest, CreateTokenRequest, CreateUserRequest, CreatedToken, CreatedUser, DeleteAccountRequest,
    ListParams, LoginRequest, MarkReadRequest, MarkUnreadRequest, MarkedResponse, Me, MessageView, ScopeName,
    SendMessageRequest, StatusMessage, TokenResponse, TokenView, UnreadResponse,
};

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
        if !given.contains("://") && !looks_like_host_and_port(given) {
            return Err(invalid(
                "use HOST[:PORT], http://HOST[:PORT] or https://HOST (an unknown scheme, or a malformed URL)",
            ));
        }
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
        let body = CreateUserRequest { email: email.to_owned(), ..Default::default() };
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
        let body = SendMessageRequest {
            content: content.to_owned(),
            to: to.map(str::to_owned),
            recipient_email: None,
            expires_in: None,
        };
        self.send_request(&body, idempotency_key).await
    }

    /// `POST /messages` with every field of the request as given.
    pub async fn send_request(
        &self,
        body: &SendMessageRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Sent, ClientError> {
        let mut request = self.authed(Method::POST, "messages")?.json(body);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
        let message = self.read(response).await?;
        Ok(Sent { message, replayed })
    }

    /// `POST /messages/read`.
    pub async fn mark_read(&self, body: &MarkReadRequest) -> Result<MarkedResponse, ClientError> {
        self.send(self.authed(Method::POST, "messages/read")?.json(body)).await
    }

    /// `POST /messages/unread`.
    pub async fn mark_unread(&self, ids: &[Uuid]) -> Result<MarkedResponse, ClientError> {
        let body = MarkUnreadRequest { ids: ids.to_vec() };
        self.send(self.authed(Method::POST, "messages/unread")?.json(&body)).await
    }

    /// `GET /messages/unread`.
    pub async fn unread(&self) -> Result<UnreadResponse, ClientError> {
        self.send(self.authed(Method::GET, "messages/unread")?).await
    }

    /// `DELETE /messages/{id}`, for everyone (by its sender) or only the caller's copy.
    pub async fn delete_message(&self, id: Uuid, for_everyone: bool) -> Result<(), ClientError> {
        let mut url = self.url(&format!("messages/{id}"))?;
        if for_everyone {
            url.set_query(Some("for=everyone"));
        }
        self.no_content(self.authed_url(Method::DELETE, url)).await
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

    pub(super) async fn page(&self, request: RequestBuilder) -> Result<Page, ClientError> {
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

    pub(super) async fn no_content(&self, request: RequestBuilder) -> Result<(), ClientError> {
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

    pub(super) fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base.join(path).map_err(|e| ClientError::InvalidUrl { url: self.base.to_string(), reason: e.to_string() })
    }

    pub(super) fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        Ok(self.http.request(method, self.url(path)?))
    }

    pub(super) fn authed(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        Ok(self.authed_url(method, self.url(path)?))
    }

    pub(super) fn authed_url(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub(super) async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ClientError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        self.read(response).await
    }

    pub(super) async fn read<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, ClientError> {
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

    pub(super) fn transport_error(&self, e: reqwest::Error) -> ClientError {
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

/// rustls needs one process-wide crypto provider; msgkit uses ring (as the MongoDB driver does), which
/// builds without a C toolchain beyond `cc`.
pub(super) fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is installed already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Whether `given` (without a scheme) is `host`, `host:port` or `[v6]:port`, with an optional path: what
/// `http://` may be assumed for. `htp:/x` (a mistyped scheme) is not.
fn looks_like_host_and_port(given: &str) -> bool {
    let authority = given.split('/').next().unwrap_or("");
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let Some((address, rest)) = v6.split_once(']') else { return false };
            match (rest, rest.strip_prefix(':')) {
                ("", _) => (address, None),
                (_, Some(port)) => (address, Some(port)),
                (_, None) => return false,
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    !host.is_empty() && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_without_a_scheme_is_a_host_and_a_port_or_a_usage_error() {
        for good in ["127.0.0.1:4000", "localhost", "msg.example.com/api", "[::1]:4000", "[::1]", "http://htp/foo"] {
            assert!(Client::new(good).is_ok(), "{good}");
        }
        assert_eq!(Client::new("localhost:4000").unwrap().base_url().as_str(), "http://localhost:4000/");
        for bad in ["htp:/foo", "localhost:abc", "https:example.com", ":4000", "[::1", "[::1]x", "ftp://x", "http://"] {
            assert!(matches!(Client::new(bad), Err(ClientError::InvalidUrl { .. })), "{bad}");
        }
    }
}
