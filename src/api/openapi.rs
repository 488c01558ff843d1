//! `GET /openapi.json`: the OpenAPI 3 document, generated from the handlers'
//! annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{application, channel_roles, channels, functions, runtime, sessions, triggers, users};

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
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
