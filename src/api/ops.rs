//! Errors, health and the service's description.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": "This email is already registered.", "code": "email_taken", "field": "email"}))]
pub struct ErrorBody {
    /// A sentence for people, naming what is wrong and the rule; it may change between versions.
    pub error: String,
    /// A stable snake_case identifier for programs: one of the listed values.
    pub code: String,
    /// The body field, query parameter or header the error is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// On `429`: seconds to wait before trying again (as the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// On 5xx answers: the request's `X-Request-Id`, to find its log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `200` answer of `/healthz` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: String,
}

impl HealthStatus {
    pub fn ok() -> Self {
        Self { status: "ok".to_owned() }
    }
}

/// `GET /`: what this server is and where its description lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceInfo {
    #[schema(example = "msgd")]
    pub name: String,
    #[schema(example = "0.1.0")]
    pub version: String,
    /// The browsable API description (Swagger UI).
    #[schema(example = "/docs/")]
    pub docs: String,
    /// The OpenAPI 3.1 description.
    #[schema(example = "/openapi.json")]
    pub openapi: String,
}
