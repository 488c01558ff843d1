//! The HTTP API: ChatKitty's Platform API paths for chat functions, the
//! chat runtime, the application and the embedded platform's chat data
//! (users, channels, messages), plus the token endpoint.

mod application;
pub mod auth;
mod channels;
mod console;
pub mod error;
mod extract;
mod functions;
mod hal;
mod openapi;
mod runtime;
mod triggers;
mod users;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use parking_lot::RwLock;

use crate::dispatch::queue::Queue;
use crate::dispatch::Dispatcher;
use crate::store::Store;

/// Largest request body accepted (a handler script is at most 1 MiB of it).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base of the absolute links in responses, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    pub token_ttl_secs: i64,
    /// How long `PUT /v1/runtimes/nodejs/dependencies` may spend installing.
    pub install_timeout: std::time::Duration,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ApiConfig>,
    /// token hash → (application id, expiry ms): saves a store read per request.
    pub tokens: Arc<RwLock<HashMap<String, (i64, i64)>>>,
    pub dispatcher: Dispatcher,
    pub queue: Queue,
    pub npm: Arc<crate::npm::Npm>,
    /// Dependency installs in flight, by application (one at a time each).
    pub installs: Arc<parking_lot::Mutex<HashMap<i64, Arc<crate::npm::InstallProgress>>>>,
}

impl AppState {
    pub fn new(
        store: Store,
        config: ApiConfig,
        dispatcher: Dispatcher,
        queue: Queue,
        npm: Arc<crate::npm::Npm>,
    ) -> AppState {
        AppState {
            store,
            config: Arc::new(config),
            tokens: Arc::default(),
            dispatcher,
            queue,
            npm,
            installs: Arc::default(),
        }
    }

    /// An application's functions, runtime or settings changed.
    pub fn changed(&self, application_id: i64) {
        self.dispatcher.invalidate(application_id);
    }

    pub fn href(&self, path: &str) -> String {
        format!("{}{}", self.config.base_url, path)
    }
}

pub fn router(state: AppState) -> Router {
    let control = Router::new()
        .route("/console", get(console::console))
        .route("/oauth/token", post(auth::issue_token))
        .route("/openapi.json", get(openapi::openapi_json))
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
        .route("/v1/function-versions/{id}", get(functions::get_version))
        .route("/v1/function-invocations/{id}", get(functions::get_invocation))
        .route("/v1/triggers/{type}", post(triggers::trigger))
        .route("/v1/function-invocations/{id}/retry", post(triggers::retry_invocation));
    finish(control.merge(chat_routes()), state)
}

/// What a chat function's context APIs reach in the embedded platform:
/// ChatKitty's users, channels, members and messages, and the application.
/// The full router serves the same routes over HTTP.
pub fn platform_router(state: AppState) -> Router {
    finish(chat_routes(), state)
}

fn chat_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/application", get(application::get_application))
        .route("/v1/users", get(users::list_users).post(users::create_user).head(users::check_user_exists))
        .route("/v1/users/{id}", get(users::get_user).patch(users::update_user).delete(users::delete_user))
        .route("/v1/users/{id}/sessions", axum::routing::head(users::check_active_session))
        .route("/v1/channels", get(channels::list_channels).post(channels::create_channel))
        .route(
            "/v1/channels/{id}",
            get(channels::get_channel).patch(channels::update_channel).delete(channels::delete_channel),
        )
        .route("/v1/channels/{id}/members", get(channels::list_members).post(channels::add_member))
        .route("/v1/channels/{id}/members/{user_id}", delete(channels::remove_member))
        .route("/v1/channels/{id}/messages", get(channels::list_channel_messages).post(channels::send_message))
        .route("/v1/messages", get(channels::list_messages))
        .route("/v1/messages/{id}", get(channels::get_message).delete(channels::delete_message))
}

fn finish(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(|| async { error::ApiError::not_found("path", "") })
        .method_not_allowed_fallback(|| async {
            error::ApiError {
                status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
                error: "MethodNotAllowedError",
                message: "this method is not allowed on this resource".into(),
                details: None,
            }
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
