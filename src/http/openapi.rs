//! The OpenAPI 3.1 description: what utoipa derives from the handlers, made exact for client generators.
//!
//! Every operation declares its security (public ones with an explicit `security: []`), answers a
//! `default` error response besides the statuses it lists, and names the headers it sends; `code` is an
//! enum of every code the server uses; the event stream is described as the text it is; the message
//! content limit is the configured one.

use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Server};
use utoipa::{Modify, OpenApi as _};

use super::error::ApiError;

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(
        crate::api::StreamClose,
        crate::api::StreamCloseCode,
        crate::api::MessageView,
        crate::api::ReadEvent,
        crate::api::DeletedEvent
    )),
    info(
        title = "msgkit API",
        description = "The msgd messaging API. Every non-2xx answer is JSON — \
                       `{\"error\": \"<a sentence>\", \"code\": \"<stable_snake_case>\", \"field\": \"<when it is about one>\"}` — \
                       and every answer carries `X-Request-Id`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "users", description = "Accounts and login"),
        (name = "messages", description = "Sending and reading messages"),
        (name = "tokens", description = "Personal access tokens for scripts"),
        (name = "admin", description = "Accounts as an administrator sees them"),
        (name = "operations", description = "Health, readiness and metrics, for load balancers and monitoring"),
    )
)]
pub(super) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The token from POST /users/login, or a personal access token (msgk_…) from POST /tokens",
                    ))
                    .build(),
            ),
        );
        let ticket = ApiKeyValue::with_description(
            "ticket",
            "A one-time stream ticket (msgt_…) from POST /messages/stream/tickets: for a browser's EventSource, \
             which cannot send a Bearer. Only GET /messages/stream takes it.",
        );
        components.add_security_scheme("ticket", SecurityScheme::ApiKey(ApiKey::Query(ticket)));
    }
}

/// The base description, before [`exact`].
pub(super) fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// Response headers, defined once in `components/headers`.
const HEADERS: &[(&str, &str, bool)] = &[
    (
        "X-Request-Id",
        "The request's id (the client's, when it sent a usable one): in every log line of the request",
        false,
    ),
    ("Retry-After", "Seconds to wait before trying again", true),
    (
        "WWW-Authenticate",
        "How to authenticate (RFC 6750): `Bearer realm=\"msgkit\"`, with `error=\"invalid_token\"` for a bad token, \
         or `error=\"insufficient_scope\", scope=\"…\"` on a 403 for an access token without the scope. Not sent \
         with a wrong password (`invalid_credentials`)",
        false,
    ),
    ("Allow", "The methods the path has (on a 405)", false),
    ("Link", "RFC 8288 links to the neighbouring pages: `rel=\"next\"`, `rel=\"prev\"`", false),
    ("Idempotent-Replayed", "`true` when this answers a retry: nothing new was stored", false),
];

fn header(description: &str, integer: bool) -> Header {
    let schema = ObjectBuilder::new().schema_type(if integer { Type::Integer } else { Type::String });
    HeaderBuilder::new().schema(Some(schema)).description(Some(description)).build()
}

fn header_ref(name: &str) -> RefOr<Header> {
    RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
}

/// The message-id pattern of cursors: a hyphenated UUID, or (for `after`) nothing — from the first.
const CURSOR_PATTERN: &str = "^(|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$";

/// The description as served: [`exact`], then what utoipa's types cannot say, said in JSON.
pub(super) fn served(openapi: OpenApi, max_message_bytes: usize) -> serde_json::Value {
    let mut spec = serde_json::to_value(exact(openapi, max_message_bytes)).expect("the description serializes");
    // `to` and `recipient_email` name the same thing: one or the other. A null is "not given" (as the
    // server reads it), so only two strings are refused.
    if let Some(request) = spec.pointer_mut("/components/schemas/SendMessageRequest") {
        request["not"] = serde_json::json!({
            "properties": {"to": {"type": "string"}, "recipient_email": {"type": "string"}},
            "required": ["to", "recipient_email"],
        });
    }
    // Marking read takes `up_to` or `ids` (as strings and arrays: null is "not given"), not both; `with`
    // only with `up_to`.
    if let Some(request) = spec.pointer_mut("/components/schemas/MarkReadRequest") {
        let up_to = serde_json::json!({"properties": {"up_to": {"type": "string"}}, "required": ["up_to"]});
        let ids = serde_json::json!({"properties": {"ids": {"type": "array"}}, "required": ["ids"]});
        request["oneOf"] = serde_json::json!([up_to, ids]);
        request["if"] = serde_json::json!({"properties": {"with": {"type": "string"}}, "required": ["with"]});
        request["then"] = up_to;
    }
    // An event's data is exactly one of the stream's kinds: a deletion's has no more fields than it names
    // (else a message, which has an `id` too, would read as one).
    if let Some(deleted) = spec.pointer_mut("/components/schemas/DeletedEvent") {
        deleted["additionalProperties"] = serde_json::json!(false);
    }
    // Making an administrator takes the caller's current password (re-authentication): a string exactly
    // when `role` is `admin` (elsewhere null is "not given", as the server reads it).
    for name in ["UpdateUserRequest", "CreateUserRequest"] {
        if let Some(request) = spec.pointer_mut(&format!("/components/schemas/{name}")) {
            request["if"] = serde_json::json!({"properties": {"role": {"const": "admin"}}, "required": ["role"]});
            request["then"] = serde_json::json!({
                "properties": {"current_password": {"type": "string", "minLength": 1}},
                "required": ["current_password"],
            });
        }
    }
    // `after` may be empty (from the first message), so it is a pattern rather than a uuid format.
    for path in ["/messages", "/messages/stream"] {
        let Some(parameters) = spec.pointer_mut(&format!("/paths/{}/get/parameters", path.replace('/', "~1"))) else {
            continue;
        };
        for parameter in parameters.as_array_mut().into_iter().flatten() {
            if parameter["name"] == "after" {
                parameter["schema"] = serde_json::json!({"type": "string", "pattern": CURSOR_PATTERN});
            }
        }
    }
    spec
}

/// Makes the derived description exact; `max_message_bytes` is the configured content limit.
pub(super) fn exact(mut openapi: OpenApi, max_message_bytes: usize) -> OpenApi {
    openapi.servers = Some(vec![Server::new("/")]);
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, description, integer) in HEADERS {
        components.headers.insert((*name).to_owned(), RefOr::T(header(description, *integer)));
    }
    error_codes(components);
    content_limit(components, max_message_bytes);
    for (path, item) in openapi.paths.paths.iter_mut() {
        for (_, operation) in operations(item) {
            // Public operations say so, rather than leave it to a global default.
            operation.security.get_or_insert_with(Vec::new);
            let bearer = serde_json::to_string(&operation.security).is_ok_and(|s| s.contains("\"bearer\""));
            common_responses(operation);
            let responses = &mut operation.responses.responses;
            if !responses.keys().any(|status| status.starts_with('4')) {
                let mut client = default_error();
                client.description =
                    "A client error (e.g. 431: request headers over 64 KiB or 100 headers): the JSON error body".into();
                responses.insert("4XX".to_owned(), RefOr::T(client));
            }
            responses.entry("default".to_owned()).or_insert_with(|| RefOr::T(default_error()));
            for (status, response) in responses.iter_mut() {
                let RefOr::T(response) = response else { continue };
                response.headers.insert("X-Request-Id".to_owned(), header_ref("X-Request-Id"));
                match status.as_str() {
                    // Only a Bearer is challenged: a wrong password (login, change-password) is not.
                    "401" | "403" if bearer => {
                        response.headers.insert("WWW-Authenticate".to_owned(), header_ref("WWW-Authenticate"));
                    }
                    "default" => {
                        response.headers.insert("Allow".to_owned(), header_ref("Allow"));
                    }
                    "429" | "503" => {
                        response.headers.insert("Retry-After".to_owned(), header_ref("Retry-After"));
                    }
                    _ => {}
                }
                for name in ["Link", "Idempotent-Replayed", "Retry-After", "WWW-Authenticate"] {
                    if response.headers.contains_key(name) {
                        response.headers.insert(name.to_owned(), header_ref(name));
                    }
                }
            }
            if path == "/messages/stream" {
                describe_stream(operation);
            }
        }
    }
    openapi
}

/// What the API's operations answer alike, written here once rather than on every handler: a `401` for
/// a bad bearer on an operation that needs one, and a `503` when the database does not answer (every
/// operation but those of the `operations` tag). A handler that says more lists its own.
fn common_responses(operation: &mut Operation) {
    let bearer_only = serde_json::to_value(&operation.security).is_ok_and(|security| {
        security == serde_json::json!([{"bearer": []}])
            || security == serde_json::json!([{"bearer": []}, {"ticket": []}])
    });
    let uses_database = !operation.tags.iter().flatten().any(|tag| tag == "operations");
    let error_body = || Content::new(Some(Ref::from_schema_name("ErrorBody")));
    let responses = &mut operation.responses.responses;
    if bearer_only {
        responses.entry("401".to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description("Missing, malformed, expired, revoked or badly signed token")
                    .content("application/json", error_body())
                    .build(),
            )
        });
    }
    if uses_database {
        responses.entry("503".to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description("Database unavailable")
                    .content("application/json", error_body())
                    .build(),
            )
        });
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<(&'static str, &mut Operation)> {
    let mut all = Vec::new();
    for (name, operation) in [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ] {
        if let Some(operation) = operation.as_mut() {
            all.push((name, operation));
        }
    }
    all
}

fn default_error() -> Response {
    let mut response = ResponseBuilder::new()
        .description(
            "Any other error, among them 405 (with `Allow`), 413, 415, 431, 500 and 503 (with `Retry-After`): \
             the JSON error body, whose `code` says which",
        )
        .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
        .build();
    response.headers.insert("X-Request-Id".to_owned(), header_ref("X-Request-Id"));
    response
}

/// `ErrorBody.code` as the enum of every code.
fn error_codes(components: &mut utoipa::openapi::Components) {
    let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("ErrorBody") else { return };
    let codes = ApiError::codes();
    body.properties.insert(
        "code".to_owned(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A stable snake_case identifier for programs"))
            .enum_values(Some(codes))
            .into(),
    );
}

/// The content limit is in bytes, which JSON Schema cannot say: the description says it, and
/// `maxLength` (characters) is the same number, a bound every accepted message meets.
fn content_limit(components: &mut utoipa::openapi::Components, max_bytes: usize) {
    let Some(RefOr::T(Schema::Object(request))) = components.schemas.get_mut("SendMessageRequest") else { return };
    let Some(RefOr::T(Schema::Object(content))) = request.properties.get_mut("content") else { return };
    content.max_length = Some(max_bytes);
    content.description = Some(format!(
        "The text: not blank; at most {max_bytes} **bytes** of UTF-8 as sent, surrounding whitespace included \
         (`MAX_MESSAGE_BYTES`; a character takes 1 to 4 bytes, so `maxLength`, which counts characters, is \
         only an upper bound); no NUL or control characters other than tab and newlines. Stored exactly as \
         sent."
    ));
}

/// The stream as what it sends: `text/event-stream`, whose schema (OpenAPI 3.1's convention for an event
/// stream) is that of one event.
fn describe_stream(operation: &mut Operation) {
    use utoipa::openapi::schema::{KnownFormat, OneOfBuilder, SchemaFormat};
    let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") else { return };
    let data = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "JSON: the message (a MessageView); for `event: read` what was marked (a ReadEvent); for \
             `event: deleted` the message deleted (a DeletedEvent); for `event: close` why the stream ended (a \
             StreamClose)",
        ))
        .content_media_type("application/json")
        .content_schema(Some(RefOr::T(Schema::OneOf(
            OneOfBuilder::new()
                .item(Ref::from_schema_name("MessageView"))
                .item(Ref::from_schema_name("ReadEvent"))
                .item(Ref::from_schema_name("DeletedEvent"))
                .item(Ref::from_schema_name("StreamClose"))
                .build(),
        ))));
    let event = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["message", "read", "deleted", "close"]))
        .description(Some(
            "Absent (`message`) for a message; `read` and `deleted` for what a device of the account did (no \
             `id`); `close` for the last event",
        ));
    let id = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .description(Some("The message id: send it back as Last-Event-ID to resume"));
    let retry = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some("Milliseconds a client should wait before reconnecting: the first frame, 2000"));
    let one_event = ObjectBuilder::new()
        .description(Some(
            "One event. The stream starts with a frame of `retry: 2000`, `id:` (where the stream starts: resume \
             from it) and a `: connected` comment, without data; then one event per message, `id:` and `data:` only, \
             and `event: read` or `event: deleted` (with `data:`, without `id:`) when a device of the account marks \
             messages read or unread or deletes one; an idle stream gets a `: keep-alive` comment every \
             25 s; the last event is `event: close` whose data's `code` is `token_expired`, `token_revoked`, \
             `token_invalid` or `shutting_down`.",
        ))
        .property("event", event)
        .property("data", data)
        .property("id", id)
        .property("retry", retry)
        .build();
    let example = serde_json::json!({
        "id": "01a20ac3-3e74-7605-8fd1-3d27db2c9e1d",
        "data": "{\"id\":\"01a20ac3-3e74-7605-8fd1-3d27db2c9e1d\",\"from\":\"bob@example.com\",\"to\":\"ada@example.com\",\
                 \"content\":\"hi\",\"created_at\":\"2026-11-23T23:00:55.641Z\"}",
    });
    let mut content = Content::new(Some(RefOr::T(Schema::Object(one_event))));
    content.example = Some(example);
    ok.content.clear();
    ok.content.insert("text/event-stream".to_owned(), RefOr::T(content));
}
