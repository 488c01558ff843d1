//! What the API answers: one typed resource per shape (`Serialize +
//! ToSchema`), so the handlers and the OpenAPI document describe the same
//! JSON. Built from the store's records here, with their HAL links; free
//! JSON (properties, events, results) stays a `Value`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::hal::time;
use super::AppState;
use crate::npm::Dependency;
use crate::store::{
    Application, Channel, ChatMessage, ChatUser, FunctionRecord, InvocationRecord, PageRequest, RuntimeRecord,
    TimeoutPolicy, Toggle, VersionRecord,
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    pub href: String,
}

impl AppState {
    pub fn link(&self, path: &str) -> Link {
        Link { href: self.href(path) }
    }
}

/// The `_links` of a resource that has only itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SelfLinks {
    #[serde(rename = "self")]
    pub this: Link,
}

/// A JSON text the store keeps, as JSON again (`null` if missing or unreadable).
fn json_of(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null)
}

/// A `properties` text as an object (`{}` if unreadable).
pub fn properties_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Default::default()))
}

// -- application --------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationResource {
    pub id: i64,
    pub name: String,
    /// The application's client id.
    pub key: String,
    pub created_time: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    #[serde(rename = "_links")]
    pub links: ApplicationLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub settings: Link,
}

impl ApplicationResource {
    pub fn new(state: &AppState, app: &Application) -> Self {
        ApplicationResource {
            id: app.id,
            name: app.name.clone(),
            key: app.client_id.clone(),
            created_time: time(app.created_at),
            properties: Value::Object(Default::default()),
            links: ApplicationLinks {
                this: state.link("/v1/application"),
                settings: state.link("/v1/application/settings"),
            },
        }
    }
}

/// What deleting a user answers, as ChatKitty does: a link to the application.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationLink {
    #[serde(rename = "_links")]
    pub links: SelfLinks,
}

impl ApplicationLink {
    pub fn new(state: &AppState) -> Self {
        ApplicationLink { links: SelfLinks { this: state.link("/v1/application") } }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsResource {
    pub guest_users: Toggle,
    pub user_created_channels: Toggle,
    pub blocking_timeout_policy: TimeoutPolicy,
    pub features: Features,
    #[serde(rename = "_links")]
    pub links: SelfLinks,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    pub guest_users: Toggle,
    pub user_created_channels: Toggle,
}

impl SettingsResource {
    pub fn new(state: &AppState, app: &Application) -> Self {
        SettingsResource {
            guest_users: app.guest_users,
            user_created_channels: app.user_created_channels,
            blocking_timeout_policy: app.blocking_timeout_policy,
            features: Features { guest_users: app.guest_users, user_created_channels: app.user_created_channels },
            links: SelfLinks { this: state.link("/v1/application/settings") },
        }
    }
}

/// The egress policy as answered: its fields, and a link. (Not the request
/// body's schema flattened: that one refuses unknown fields, `_links` too.)
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EgressPolicyResource {
    pub allowed_hosts: Vec<String>,
    pub max_requests_per_invocation: u32,
    pub timeout_ms: u64,
    pub max_response_bytes: usize,
    #[serde(rename = "_links")]
    pub links: SelfLinks,
}

impl EgressPolicyResource {
    pub fn new(state: &AppState, app: &Application) -> Self {
        let policy = &app.egress_policy;
        EgressPolicyResource {
            allowed_hosts: policy.allowed_hosts.clone(),
            max_requests_per_invocation: policy.max_requests_per_invocation,
            timeout_ms: policy.timeout_ms,
            max_response_bytes: policy.max_response_bytes,
            links: SelfLinks { this: state.link("/v1/application/egress-policy") },
        }
    }
}

// -- runtime and functions ------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeResource {
    pub id: i64,
    /// NODEJS.
    #[serde(rename = "type")]
    pub runtime_type: &'static str,
    pub version: String,
    pub dependencies: Vec<Dependency>,
    /// Beyond ChatKitty: what the ranges resolved to (name → version).
    pub installed_dependencies: Option<BTreeMap<String, String>>,
    /// Beyond ChatKitty: every package of the installed tree, `name@version`.
    pub installed_packages: Option<Vec<String>>,
    pub environment_variables: BTreeMap<String, String>,
    pub initialization_script: InitializationScript,
    #[serde(rename = "_links")]
    pub links: RuntimeLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InitializationScript {
    pub script: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuntimeLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub functions: Link,
}

impl RuntimeResource {
    pub fn new(state: &AppState, runtime: &RuntimeRecord) -> Self {
        RuntimeResource {
            id: runtime.application_id,
            runtime_type: "NODEJS",
            version: runtime.version.clone(),
            dependencies: runtime.dependencies.clone(),
            installed_dependencies: runtime.lockfile.as_ref().map(|l| l.dependencies.clone()),
            installed_packages: runtime.lockfile.as_ref().map(|l| l.packages.keys().cloned().collect()),
            environment_variables: runtime.environment_variables.clone(),
            initialization_script: InitializationScript { script: runtime.initialization_script.clone() },
            links: RuntimeLinks {
                this: state.link("/v1/runtimes/nodejs"),
                functions: state.link("/v1/runtimes/nodejs/functions"),
            },
        }
    }
}

/// How far a dependency install has come.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallProgressResource {
    /// RESOLVING, then FETCHING.
    pub state: &'static str,
    pub packages_resolved: usize,
    /// The tree's size once resolved (0 before).
    pub packages_total: usize,
    pub packages_fetched: usize,
    pub bytes_unpacked: u64,
}

impl InstallProgressResource {
    pub fn new(progress: &crate::npm::InstallProgress) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        let total = progress.total.load(Relaxed);
        InstallProgressResource {
            state: if total == 0 { "RESOLVING" } else { "FETCHING" },
            packages_resolved: progress.resolved.load(Relaxed),
            packages_total: total,
            packages_fetched: progress.fetched.load(Relaxed),
            bytes_unpacked: progress.bytes.load(Relaxed),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResource {
    pub id: i64,
    /// The trigger type, e.g. `user.attempted.start_session`.
    #[serde(rename = "type")]
    pub trigger_type: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub initialize_asynchronously: bool,
    pub timeout_ms: Option<i64>,
    pub current_version_number: Option<i64>,
    pub created_time: String,
    pub runtime: FunctionRuntime,
    #[serde(rename = "_links")]
    pub links: FunctionLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionRuntime {
    pub id: i64,
    #[serde(rename = "type")]
    pub runtime_type: &'static str,
    pub version: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub versions: Link,
    pub current_version: Link,
    pub invocations: Link,
    pub runtime: Link,
}

impl FunctionResource {
    pub fn new(state: &AppState, f: &FunctionRecord, runtime_version: &str) -> Self {
        let base = format!("/v1/functions/{}", f.id);
        FunctionResource {
            id: f.id,
            trigger_type: f.trigger_type.clone(),
            name: f.name.clone(),
            description: f.description.clone(),
            enabled: f.enabled,
            initialize_asynchronously: f.initialize_asynchronously,
            timeout_ms: f.timeout_ms,
            current_version_number: f.current_version_number,
            created_time: time(f.created_at),
            runtime: FunctionRuntime {
                id: f.application_id,
                runtime_type: "NODEJS",
                version: runtime_version.to_string(),
            },
            links: FunctionLinks {
                this: state.link(&base),
                versions: state.link(&format!("{base}/versions")),
                current_version: state.link(&format!("{base}/current-version")),
                invocations: state.link(&format!("{base}/invocations")),
                runtime: state.link("/v1/runtimes/nodejs"),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionResource {
    pub id: i64,
    pub version_number: i64,
    pub handler_script: String,
    pub created_time: String,
    #[serde(rename = "_links")]
    pub links: VersionLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub function: Link,
}

impl VersionResource {
    pub fn new(state: &AppState, v: &VersionRecord) -> Self {
        VersionResource {
            id: v.id,
            version_number: v.version_number,
            handler_script: v.handler_script.clone(),
            created_time: time(v.created_at),
            links: VersionLinks {
                this: state.link(&format!("/v1/function-versions/{}", v.id)),
                function: state.link(&format!("/v1/functions/{}", v.function_id)),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvocationResource {
    pub id: i64,
    /// A test run (a draft's or a chosen version's), hidden from the log unless asked for.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    pub version_number: i64,
    pub trigger_type: String,
    /// The event the function ran with.
    #[schema(value_type = Object)]
    pub args: Value,
    /// `{payload}` when it succeeded.
    #[schema(value_type = Option<Object>)]
    pub result: Value,
    /// `{name, message, stack}` when it failed.
    #[schema(value_type = Option<Object>)]
    pub error: Value,
    /// Console lines: `{level, message, time}`.
    #[schema(value_type = Vec<Object>)]
    pub logs: Value,
    /// QUEUED, RUNNING, SUCCEEDED or FAILED.
    pub status: &'static str,
    pub attempt: i64,
    pub duration_ms: Option<f64>,
    pub created_time: String,
    pub finished_time: Option<String>,
    #[serde(rename = "_links")]
    pub links: VersionLinks,
}

impl InvocationResource {
    pub fn new(state: &AppState, i: &InvocationRecord) -> Self {
        InvocationResource {
            id: i.id,
            test: i.test,
            version_number: i.version_number,
            trigger_type: i.trigger_type.clone(),
            args: json_of(Some(&i.args)),
            result: json_of(i.result.as_deref()),
            error: json_of(i.error.as_deref()),
            logs: i.logs.as_deref().map(|l| json_of(Some(l))).unwrap_or_else(|| Value::Array(Vec::new())),
            status: i.status.as_str(),
            attempt: i.attempt,
            duration_ms: i.duration_ms,
            created_time: time(i.created_at),
            finished_time: i.finished_at.map(time),
            links: VersionLinks {
                this: state.link(&format!("/v1/function-invocations/{}", i.id)),
                function: state.link(&format!("/v1/functions/{}", i.function_id)),
            },
        }
    }
}

// -- chat data ------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResource {
    pub id: i64,
    /// PERSON.
    #[serde(rename = "type")]
    pub user_type: &'static str,
    pub name: String,
    pub display_name: String,
    pub display_picture_url: Option<String>,
    pub is_guest: bool,
    pub presence: Presence,
    #[schema(value_type = Object)]
    pub properties: Value,
    pub created_time: String,
    #[serde(rename = "_links")]
    pub links: SelfLinks,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Presence {
    /// AVAILABLE, AWAY or UNAVAILABLE.
    pub status: &'static str,
    pub online: bool,
}

impl UserResource {
    pub fn new(state: &AppState, u: &ChatUser) -> Self {
        UserResource {
            id: u.id,
            user_type: "PERSON",
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            display_picture_url: None,
            is_guest: u.is_guest,
            presence: Presence { status: "UNAVAILABLE", online: false },
            properties: properties_value(&u.properties),
            created_time: time(u.created_at),
            links: SelfLinks { this: state.link(&format!("/v1/users/{}", u.id)) },
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelResource {
    pub id: i64,
    /// DIRECT, PUBLIC or PRIVATE.
    #[serde(rename = "type")]
    pub channel_type: &'static str,
    /// A direct channel has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[schema(value_type = Object)]
    pub properties: Value,
    pub created_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<UserResource>,
    /// A direct channel's members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<UserResource>>,
    #[serde(rename = "_links")]
    pub links: ChannelLinks,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub members: Link,
    pub messages: Link,
}

impl ChannelResource {
    /// `creator` and `members` as read for it (members only for a direct channel).
    pub fn new(state: &AppState, c: &Channel, creator: Option<&ChatUser>, members: Option<&[ChatUser]>) -> Self {
        let base = format!("/v1/channels/{}", c.id);
        ChannelResource {
            id: c.id,
            channel_type: c.channel_type.as_str(),
            name: c.name.clone(),
            display_name: c.name.as_ref().map(|name| c.display_name.clone().unwrap_or_else(|| name.clone())),
            properties: properties_value(&c.properties),
            created_time: time(c.created_at),
            creator: creator.map(|u| UserResource::new(state, u)),
            members: members.map(|all| all.iter().map(|u| UserResource::new(state, u)).collect()),
            links: ChannelLinks {
                this: state.link(&base),
                members: state.link(&format!("{base}/members")),
                messages: state.link(&format!("{base}/messages")),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageResource {
    pub id: i64,
    /// TEXT or SYSTEM_TEXT.
    #[serde(rename = "type")]
    pub message_type: String,
    pub body: String,
    pub channel_id: i64,
    pub nested_level: i64,
    #[schema(value_type = Object)]
    pub properties: Value,
    pub created_time: String,
    /// The sender; a system message has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserResource>,
    #[serde(rename = "_links")]
    pub links: MessageLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub channel: Link,
}

impl MessageResource {
    pub fn new(state: &AppState, m: &ChatMessage, sender: Option<&ChatUser>) -> Self {
        MessageResource {
            id: m.id,
            message_type: m.message_type.clone(),
            body: m.body.clone(),
            channel_id: m.channel_id,
            nested_level: if m.parent_id.is_some() { 1 } else { 0 },
            properties: properties_value(&m.properties),
            created_time: time(m.created_at),
            user: sender.map(|u| UserResource::new(state, u)),
            links: MessageLinks {
                this: state.link(&format!("/v1/messages/{}", m.id)),
                channel: state.link(&format!("/v1/channels/{}", m.channel_id)),
            },
        }
    }
}

// -- pages ------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct PageLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub first: Link,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    pub last: Link,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub size: i64,
    pub total_elements: i64,
    pub total_pages: i64,
    pub number: i64,
}

/// A page's links and numbers: `base_href` is the listing's absolute URL.
pub fn paging(total: i64, request: PageRequest, base_href: &str) -> (PageLinks, PageInfo) {
    let total_pages = if total == 0 { 0 } else { (total + request.size - 1) / request.size };
    let sep = if base_href.contains('?') { '&' } else { '?' };
    let link = |n: i64| Link { href: format!("{base_href}{sep}page={n}&size={}", request.size) };
    let links = PageLinks {
        this: link(request.page),
        first: link(0),
        prev: (request.page > 0).then(|| link(request.page - 1)),
        next: (request.page.saturating_add(1) < total_pages).then(|| link(request.page + 1)),
        last: link((total_pages - 1).max(0)),
    };
    (links, PageInfo { size: request.size, total_elements: total, total_pages, number: request.page })
}

/// A HAL page of one kind of resource: `{_embedded: {<collection>: [...]}, _links, page}`.
macro_rules! hal_page {
    ($page:ident, $embedded:ident, $collection:ident, $item:ty) => {
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $embedded {
            pub $collection: Vec<$item>,
        }

        #[derive(Debug, Serialize, ToSchema)]
        pub struct $page {
            #[serde(rename = "_embedded")]
            pub embedded: $embedded,
            #[serde(rename = "_links")]
            pub links: PageLinks,
            pub page: PageInfo,
        }

        impl $page {
            pub fn new(items: Vec<$item>, total: i64, request: PageRequest, base_href: &str) -> Self {
                let (links, page) = paging(total, request, base_href);
                $page { embedded: $embedded { $collection: items }, links, page }
            }
        }
    };
}

hal_page!(UserPage, EmbeddedUsers, users, UserResource);
hal_page!(ChannelPage, EmbeddedChannels, channels, ChannelResource);
hal_page!(MessagePage, EmbeddedMessages, messages, MessageResource);
hal_page!(FunctionPage, EmbeddedFunctions, functions, FunctionResource);
hal_page!(VersionPage, EmbeddedVersions, versions, VersionResource);
hal_page!(InvocationPage, EmbeddedInvocations, invocations, InvocationResource);

// -- triggers and tokens ------------------------------------------------------------

/// A blocking trigger's answer when the session may go ahead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockingAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<i64>,
    /// SUCCEEDED (the function returned), TIMED_OUT_ALLOWED (it timed out
    /// under FAIL_OPEN) or ALLOWED (no function: a guest).
    pub status: &'static str,
    /// What the function returned: `{payload}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<crate::engine::InvocationResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest: Option<bool>,
    /// The guest user, on the embedded platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserResource>,
    /// The user session the embedded platform started (start_session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
}

/// A non-blocking trigger's answer: the invocations that will run.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedAnswer {
    pub invocation_ids: Vec<i64>,
}

/// A failed job queued again.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetriedAnswer {
    pub job_id: i64,
    /// QUEUED.
    pub status: &'static str,
}

/// A blocking trigger refused: the function threw (or time-out under
/// FAIL_CLOSED), or guests are disabled.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessDenied {
    /// AccessDeniedError.
    pub error: &'static str,
    pub message: String,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<i64>,
}

/// OAuth 2 client-credentials grant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    pub access_token: String,
    /// bearer.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    pub scope: String,
}

// -- notifications and sessions -------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationResource {
    pub id: i64,
    pub title: String,
    pub body: String,
    /// The channel it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelResource>,
    /// `{type: "USER:SENT:MESSAGE" | "SYSTEM:SENT:MESSAGE", message, channelId}`.
    #[schema(value_type = Object)]
    pub data: Value,
    pub muted: bool,
    pub created_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_time: Option<String>,
    #[serde(rename = "_links")]
    pub links: NotificationLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub user: Link,
}

impl NotificationResource {
    pub fn new(state: &AppState, n: &crate::store::Notification, channel: Option<ChannelResource>) -> Self {
        NotificationResource {
            id: n.id,
            title: n.title.clone(),
            body: n.body.clone(),
            channel,
            data: json_of(Some(&n.data)),
            muted: n.muted,
            created_time: time(n.created_at),
            read_time: n.read_at.map(time),
            links: NotificationLinks {
                this: state.link(&format!("/v1/users/{}/notifications/{}", n.user_id, n.id)),
                user: state.link(&format!("/v1/users/{}", n.user_id)),
            },
        }
    }
}

/// A cursor page of notifications, newest first: follow `_links.next`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    #[serde(rename = "_embedded")]
    pub embedded: EmbeddedNotifications,
    #[serde(rename = "_links")]
    pub links: CursorLinks,
    pub page: CursorInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmbeddedNotifications {
    pub notifications: Vec<NotificationResource>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CursorLinks {
    #[serde(rename = "self")]
    pub this: Link,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CursorInfo {
    pub size: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSessionResource {
    pub id: i64,
    /// ACTIVE or ENDED (ended, or expired).
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserResource>,
    pub created_time: String,
    /// When it ended, or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// When an active session expires unless ended first.
    pub expires_time: String,
    #[serde(rename = "_links")]
    pub links: SelfLinks,
}

impl UserSessionResource {
    pub fn new(state: &AppState, s: &crate::store::UserSession, user: Option<&ChatUser>) -> Self {
        let now = crate::store::now_millis();
        let active = s.is_active(now);
        UserSessionResource {
            id: s.id,
            state: if active { "ACTIVE" } else { "ENDED" },
            user: user.map(|u| UserResource::new(state, u)),
            created_time: time(s.created_at),
            end_time: (!active).then(|| time(s.ended_at.unwrap_or(s.expires_at))),
            expires_time: time(s.expires_at),
            links: SelfLinks { this: state.link(&format!("/v1/user-sessions/{}", s.id)) },
        }
    }
}

hal_page!(UserSessionPage, EmbeddedUserSessions, sessions, UserSessionResource);

// -- channel roles, receipts, threads ---------------------------------------------------

/// A membership, an invite or a read receipt: a user, and since when.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSinceResource {
    /// An invite's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub user: UserResource,
    pub created_time: String,
    #[serde(rename = "_links")]
    pub links: UserSinceLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSinceLinks {
    /// The channel, or the message read.
    pub of: Link,
}

impl UserSinceResource {
    pub fn new(state: &AppState, entry: &crate::store::UserSince, of: &str) -> Self {
        UserSinceResource {
            id: entry.id,
            user: UserResource::new(state, &entry.user),
            created_time: time(entry.created_at),
            links: UserSinceLinks { of: state.link(of) },
        }
    }
}

hal_page!(MembershipPage, EmbeddedMemberships, memberships, UserSinceResource);
hal_page!(InvitePage, EmbeddedInvites, invites, UserSinceResource);
hal_page!(ReadReceiptPage, EmbeddedReceipts, receipts, UserSinceResource);

/// A message's reply thread (its id is the message's).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadResource {
    pub id: i64,
    /// STANDALONE: the replies to one message.
    #[serde(rename = "type")]
    pub thread_type: &'static str,
    pub created_time: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    #[serde(rename = "_links")]
    pub links: ThreadLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub messages: Link,
    /// The message it answers.
    pub message: Link,
}

impl ThreadResource {
    pub fn new(state: &AppState, parent: &ChatMessage) -> Self {
        ThreadResource {
            id: parent.id,
            thread_type: "STANDALONE",
            created_time: time(parent.created_at),
            properties: Value::Object(Default::default()),
            links: ThreadLinks {
                this: state.link(&format!("/v1/threads/{}", parent.id)),
                messages: state.link(&format!("/v1/threads/{}/messages", parent.id)),
                message: state.link(&format!("/v1/messages/{}", parent.id)),
            },
        }
    }
}
