//! The admin API.

use reqwest::header::{self};
use reqwest::{Method, RequestBuilder, Url};

use uuid::Uuid;

use super::core::Client;
use super::error::ClientError;
use super::pages::parse_links;
use crate::api::{
    AdminUser, CreateUserRequest, CreatedUser, GeneratedPassword, ResetPasswordRequest, RoleName, UpdateUserRequest,
};

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
    /// `POST /users` as an administrator: works when registration is closed, and may set the role (an
    /// administrator needs `current_password`, yours).
    pub async fn create_user(
        &self,
        email: &str,
        role: Option<RoleName>,
        current_password: Option<&str>,
    ) -> Result<CreatedUser, ClientError> {
        self.create_user_with_key(email, role, current_password, None).await
    }

    /// [`Admin::create_user`] with an `Idempotency-Key`: a retry gets the same account (with a new
    /// password) rather than `email_taken`.
    pub async fn create_user_with_key(
        &self,
        email: &str,
        role: Option<RoleName>,
        current_password: Option<&str>,
        key: Option<&str>,
    ) -> Result<CreatedUser, ClientError> {
        let body =
            CreateUserRequest { email: email.to_owned(), role, current_password: current_password.map(str::to_owned) };
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

    /// A new generated password for the account; `current_password` is yours (re-authentication).
    pub async fn reset_password(&self, id: Uuid, current_password: &str) -> Result<GeneratedPassword, ClientError> {
        let body = ResetPasswordRequest { current_password: current_password.to_owned() };
        self.client
            .send(self.client.authed(Method::POST, &format!("admin/users/{id}/reset-password"))?.json(&body))
            .await
    }

    pub async fn unlock(&self, id: Uuid) -> Result<(), ClientError> {
        self.client.no_content(self.client.authed(Method::POST, &format!("admin/users/{id}/unlock"))?).await
    }

    /// Changes the account's role; making an administrator needs `current_password`, yours.
    pub async fn set_role(
        &self,
        id: Uuid,
        role: RoleName,
        current_password: Option<&str>,
    ) -> Result<AdminUser, ClientError> {
        let body = UpdateUserRequest { role: Some(role), current_password: current_password.map(str::to_owned) };
        self.client.send(self.client.authed(Method::PATCH, &format!("admin/users/{id}"))?.json(&body)).await
    }

    pub async fn delete(&self, id: Uuid) -> Result<(), ClientError> {
        self.client.no_content(self.client.authed(Method::DELETE, &format!("admin/users/{id}"))?).await
    }
}

impl Client {
    /// The admin API, as this client's account (an administrator).
    pub fn admin(&self) -> Admin<'_> {
        Admin { client: self }
    }
}
