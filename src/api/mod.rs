//! The HTTP API: ChatKitty's Platform API paths for chat functions, the
//! chat runtime and the application, plus the token endpoint.

mod application;
pub mod auth;
pub mod error;
mod extract;
mod functions;
mod hal;
mod openapi;
mod runtime;
mod triggers;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
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
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ApiConfig>,
    /// token hash → (application id, expiry ms): saves a store read per request.
    pub tokens: Arc<RwLock<HashMap<String, (i64, i64)>>>,
    pub dispatcher: Dispatcher,
    pub queue: Queue,
}

impl AppState {
    pub fn new(store: Store, config: ApiConfig, dispatcher: Dispatcher, queue: Queue) -> AppState {
        AppState { store, config: Arc::new(config), tokens: Arc::default(), dispatcher, queue }
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
    Router::new()
        .route("/oauth/token", post(auth::issue_token))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/v1/application", get(application::get_application))
        .route("/v1/application/settings", get(application::get_settings).put(application::update_settings))
        .route("/v1/runtimes/nodejs", get(runtime::get_runtime))
        .route("/v1/runtimes/nodejs/dependencies", put(runtime::update_dependencies))
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
        .route("/v1/function-invocations/{id}/retry", post(triggers::retry_invocation))
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
