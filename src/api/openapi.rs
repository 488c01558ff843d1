//! `GET /openapi.json`: the OpenAPI 3 document, generated from the handlers'
//! annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{application, channel_roles, channels, functions, runtime, sessions, tail, triggers, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "chatfn", description = "ChatKitty-compatible chat functions API"),
    paths(
        application::get_application,
        application::get_settings,
        application::update_settings,
        application::get_egress_policy,
        application::update_egress_policy,
        runtime::get_runtime,
        runtime::update_dependencies,
        runtime::get_install_progress,
        runtime::update_environment_variables,
        runtime::update_initialization_script,
        functions::list_functions,
        functions::create_function,
        functions::get_function,
        functions::update_function,
        functions::delete_function,
        functions::get_current_version,
        functions::set_current_version,
        functions::list_versions,
        functions::create_version,
        functions::list_invocations,
        tail::stream_invocations,
        functions::test_function,
        functions::get_version,
        functions::get_invocation,
        triggers::trigger,
        triggers::retry_invocation,
        users::list_users,
        users::check_user_exists,
        users::create_user,
        users::get_user,
        users::update_user,
        users::delete_user,
        sessions::check_active_session,
        sessions::list_notifications,
        sessions::read_notification,
        sessions::list_user_sessions,
        sessions::end_user_session,
        channels::list_channels,
        channels::create_channel,
        channels::get_channel,
        channels::update_channel,
        channels::delete_channel,
        channels::list_members,
        channels::add_member,
        channels::remove_member,
        channels::list_channel_messages,
        channels::send_message,
        channels::list_messages,
        channels::get_message,
        channels::delete_message,
        channels::list_user_channels,
        channels::list_user_messages,
        channels::delete_messages,
        channels::update_message,
        channels::list_participants,
        channel_roles::list_memberships,
        channel_roles::list_moderators,
        channel_roles::add_moderator,
        channel_roles::remove_moderator,
        channel_roles::list_invites,
        channel_roles::send_invite,
        channel_roles::list_read_receipts,
        channel_roles::read_message,
        channel_roles::get_thread,
        channel_roles::list_thread_messages,
        channel_roles::reply,
    ),
    modifiers(&BearerAuth, &CommonResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The error body every refusal has (`ApiError`).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable name, e.g. `BadRequestError`.
    error: String,
    message: String,
    timestamp: String,
}

/// The statuses any operation may answer, added where an operation does
/// not document them itself: 401 (a bearer operation without a valid
/// token), 429 (over the application's rate), 400 (bad parameters or body),
/// 404 (an id not of this application), 405, 413 and 415 (bodies).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert("ErrorBody".into(), <ErrorBody as utoipa::PartialSchema>::schema());
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody"))).build(),
                    )
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            for (method, operation) in [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("put", item.put.as_mut()),
                ("patch", item.patch.as_mut()),
                ("delete", item.delete.as_mut()),
                ("head", item.head.as_mut()),
            ] {
                let Some(operation) = operation else { continue };
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses.entry(status.to_string()).or_insert_with(|| error(description));
                };
                if operation.security.is_some() {
                    add("401", "No valid bearer token");
                    add("429", "Over the application's request rate (Retry-After says when to retry)");
                }
                add("400", "A bad parameter or body, named in the message");
                if has_id {
                    add("404", "No such resource in this application");
                }
                if matches!(method, "post" | "put" | "patch") {
                    add("413", "The body is larger than the limit");
                    add("415", "The body is not JSON");
                }
            }
        }
    }
}

/// (creating operation's path, its success status, the created resource's
/// root path, where the id is in the answer).
const CREATED: &[(&str, &str, &str, &str)] = &[
    ("/v1/runtimes/nodejs/functions", "201", "/v1/functions/{id}", "$response.body#/id"),
    ("/v1/functions/{id}/versions", "201", "/v1/function-versions/{id}", "$response.body#/id"),
    ("/v1/users", "201", "/v1/users/{id}", "$response.body#/id"),
    ("/v1/channels", "201", "/v1/channels/{id}", "$response.body#/id"),
    ("/v1/channels", "200", "/v1/channels/{id}", "$response.body#/id"),
    ("/v1/channels/{id}/messages", "201", "/v1/messages/{id}", "$response.body#/id"),
    ("/v1/channels/{id}/messages", "201", "/v1/threads/{id}", "$response.body#/id"),
    ("/v1/threads/{id}/messages", "201", "/v1/messages/{id}", "$response.body#/id"),
    ("/v1/triggers/{type}", "200", "/v1/function-invocations/{id}", "$response.body#/invocationId"),
    ("/v1/triggers/{type}", "202", "/v1/function-invocations/{id}", "$response.body#/invocationIds/0"),
];

/// Operations under a resource whose 404 is an answer about it, not its
/// absence (a user with no active session): no link promises them a 200.
const NOT_BY_ID: &[&str] = &["check_active_session"];

/// Links from the operations that create a resource to the operations that
/// take its id, so that a client (or a fuzzer's stateful phase) can follow a
/// created function, user, channel, message, version or invocation.
/// Written into the JSON: utoipa 5.5's `Link` serialises its fields in
/// snake case (`operation_id`), which no OpenAPI reader knows.
fn add_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    // Every operation under a root: (path, operation id).
    let operations: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|methods| methods.values())
                .filter_map(|operation| Some((path.clone(), operation["operationId"].as_str()?.to_string())))
        })
        .collect();
    for &(creator, status, root, pointer) in CREATED {
        let Some(response) = paths.get_mut(creator).and_then(|item| item["post"]["responses"].get_mut(status)) else {
            continue;
        };
        let prefix = format!("{root}/");
        let links: serde_json::Map<String, serde_json::Value> = operations
            .iter()
            .filter(|(path, _)| path == root || path.starts_with(&prefix))
            .filter(|(_, id)| !NOT_BY_ID.contains(&id.as_str()))
            .map(|(_, id)| (id.clone(), serde_json::json!({ "operationId": id, "parameters": { "id": pointer } })))
            .collect();
        let existing = response.as_object_mut().expect("a response object").entry("links");
        if let serde_json::Value::Object(map) = existing.or_insert_with(|| serde_json::json!({})) {
            map.extend(links);
        }
    }
}

/// The document, generated once.
fn document() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
        add_links(&mut doc);
        doc
    })
}

pub async fn openapi_json() -> Json<&'static serde_json::Value> {
    Json(document())
}

/// A string parameter or field that takes one of `values` (for
/// `schema_with`, where the handler reads plain text to name a bad value).
pub fn string_enum<V: Into<serde_json::Value>>(values: impl IntoIterator<Item = V>) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values))
        .build()
}
