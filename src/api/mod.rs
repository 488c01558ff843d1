//! The HTTP API: ChatKitty's Platform API paths for chat functions, the
//! chat runtime, the application and the embedded platform's chat data
//! (users, channels, messages), plus the token endpoint.

mod application;
pub mod auth;
mod channel_roles;
mod channels;
mod chat_events;
mod dashboard;
mod embedded;
pub mod error;
mod extract;
mod functions;
mod hal;
mod metrics;
mod openapi;
pub mod rate;
pub mod resources;
mod runtime;
mod sessions;
mod state;
mod tail;
mod triggers;
mod users;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;

pub use embedded::EmbeddedPlatform;
pub use state::{ApiConfig, AppState};

/// Largest request body accepted (a handler script is at most 1 MiB of it).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let control = Router::new()
        .route("/console", get(dashboard::console))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/app.js", get(dashboard::script))
        .route("/dashboard/app.css", get(dashboard::style))
        .route("/oauth/token", post(auth::issue_token))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/metrics", get(metrics::metrics))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
        .route("/v1/application/settings", get(application::get_settings).put(application::update_settings))
        .route(
            "/v1/application/egress-policy",
            get(application::get_egress_policy).put(application::update_egress_policy),
        )
        .route("/v1/runtimes/nodejs", get(runtime::get_runtime))
        .route("/v1/runtimes/nodejs/dependencies", put(runtime::update_dependencies))
        .route("/v1/runtimes/nodejs/dependencies/install", get(runtime::get_install_progress))
        .route("/v1/runtimes/nodejs/environment-variables", put(runtime::update_environment_variables))
        .route("/v1/runtimes/nodejs/initialization-script", put(runtime::update_initialization_script))
        .route("/v1/runtimes/nodejs/functions", get(functions::list_functions).post(functions::create_function))
        .route(
            "/v1/functions/{id}",
            get(functions::get_function).patch(functions::update_function).delete(functions::delete_function),
        )
        .route(
            "/v1/functions/{id}/current-version",
            get(functions::get_current_version).put(functions::set_current_version),
        )
        .route("/v1/functions/{id}/versions", get(functions::list_versions).post(functions::create_version))
        .route("/v1/functions/{id}/invocations", get(functions::list_invocations))
        .route("/v1/functions/{id}/invocations/stream", get(tail::stream_invocations))
        .route("/v1/functions/{id}/test", post(functions::test_function))
        .route("/v1/function-versions/{id}", get(functions::get_version))
        .route("/v1/function-invocations/{id}", get(functions::get_invocation))
        .route("/v1/triggers/{type}", post(triggers::trigger))
        .route("/v1/function-invocations/{id}/retry", post(triggers::retry_invocation));
    let routes = control.merge(chat_routes());
    let counted = routes.route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track));
    finish(counted, state)
}

/// Lets the embedded platform answer functions' context API calls with
/// ChatKitty's users, channels, members and messages and the application:
/// the routes the full router serves over HTTP. The platform holds the
/// returned router weakly: keep it while functions may run.
pub fn serve_embedded(state: &AppState, platform: &EmbeddedPlatform) -> Arc<Router> {
    let router = Arc::new(finish(chat_routes(), state.clone()));
    platform.attach(&router);
    router
}

fn chat_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/application", get(application::get_application))
        .route("/v1/users", get(users::list_users).post(users::create_user).head(users::check_user_exists))
        .route("/v1/users/{id}", get(users::get_user).patch(users::update_user).delete(users::delete_user))
        .route("/v1/users/{id}/sessions", axum::routing::head(sessions::check_active_session))
        .route("/v1/users/{id}/notifications", get(sessions::list_notifications))
        .route("/v1/users/{id}/channels", get(channels::list_user_channels))
        .route("/v1/users/{id}/messages", get(channels::list_user_messages))
        .route("/v1/channels/{id}/participants", get(channels::list_participants))
        .route("/v1/channels/{id}/memberships", get(channel_roles::list_memberships))
        .route("/v1/channels/{id}/moderators", get(channel_roles::list_moderators).post(channel_roles::add_moderator))
        .route("/v1/channels/{id}/moderators/{user_id}", delete(channel_roles::remove_moderator))
        .route("/v1/channels/{id}/invites", get(channel_roles::list_invites).post(channel_roles::send_invite))
        .route(
            "/v1/messages/{id}/read-receipts",
            get(channel_roles::list_read_receipts).post(channel_roles::read_message),
        )
        .route("/v1/threads/{id}", get(channel_roles::get_thread))
        .route("/v1/threads/{id}/messages", get(channel_roles::list_thread_messages).post(channel_roles::reply))
        .route("/v1/users/{id}/notifications/{notification_id}/read", post(sessions::read_notification))
        .route("/v1/user-sessions", get(sessions::list_user_sessions))
        .route("/v1/user-sessions/{id}", delete(sessions::end_user_session))
        .route("/v1/channels", get(channels::list_channels).post(channels::create_channel))
        .route(
            "/v1/channels/{id}",
            get(channels::get_channel).patch(channels::update_channel).delete(channels::delete_channel),
        )
        .route("/v1/channels/{id}/members", get(channels::list_members).post(channels::add_member))
        .route("/v1/channels/{id}/members/{user_id}", delete(channels::remove_member))
        .route("/v1/channels/{id}/messages", get(channels::list_channel_messages).post(channels::send_message))
        .route("/v1/messages", get(channels::list_messages).delete(channels::delete_messages))
        .route(
            "/v1/messages/{id}",
            get(channels::get_message).patch(channels::update_message).delete(channels::delete_message),
        )
}

fn finish(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(|uri: axum::http::Uri| async move { error::ApiError::not_found("path", uri.path()) })
        .method_not_allowed_fallback(|| async { error::ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
