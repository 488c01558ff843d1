//! What every handler shares.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::dispatch::queue::Queue;
use crate::dispatch::Dispatcher;
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base of the absolute links in responses, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    pub token_ttl_secs: i64,
    /// How long `PUT /v1/runtimes/nodejs/dependencies` may spend installing.
    pub install_timeout: std::time::Duration,
    /// How long a user session the embedded platform starts stays active
    /// unless ended first.
    pub session_ttl: std::time::Duration,
    /// Requests per second each application may make.
    pub rate_limits: super::rate::RateLimits,
    /// When set, `GET /metrics` wants it as a bearer token.
    pub metrics_token: Option<crate::secret::Secret>,
}

/// One reference-counted block: every extractor and handler clones the
/// state, and one count (not one per field) crossing between serving
/// threads per clone keeps that cheap.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// SHA-256 of a bearer token → (application id, expiry in ms).
pub type TokenCache = HashMap<[u8; 32], (i64, i64)>;

pub struct Shared {
    pub store: Store,
    pub config: Arc<ApiConfig>,
    /// token digest → (application id, expiry ms): saves a store read per request.
    pub tokens: Arc<RwLock<TokenCache>>,
    pub dispatcher: Dispatcher,
    pub queue: Queue,
    pub npm: Arc<crate::npm::Npm>,
    /// Dependency installs in flight, by application (one at a time each).
    pub installs: Arc<parking_lot::Mutex<HashMap<i64, Arc<crate::npm::InstallProgress>>>>,
    pub limiter: Arc<super::rate::Limiter>,
    /// Open live tails of invocation logs, by application (bounded).
    pub tails: Arc<parking_lot::Mutex<HashMap<i64, usize>>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(
        store: Store,
        config: ApiConfig,
        dispatcher: Dispatcher,
        queue: Queue,
        npm: Arc<crate::npm::Npm>,
    ) -> AppState {
        AppState(Arc::new(Shared {
            store,
            limiter: Arc::new(super::rate::Limiter::new(config.rate_limits)),
            config: Arc::new(config),
            tokens: Arc::default(),
            dispatcher,
            queue,
            npm,
            installs: Arc::default(),
            tails: Arc::default(),
        }))
    }

    /// An application's functions, runtime or settings changed.
    pub fn changed(&self, application_id: i64) {
        self.dispatcher.invalidate(application_id);
    }

    /// A function's version went live (deployed, rolled back or enabled):
    /// forgets what was resolved and, when the function asks for it
    /// (`initializeAsynchronously`), warms it in the background.
    pub fn deployed(&self, function: &crate::store::FunctionRecord) {
        self.changed(function.application_id);
        // (The dispatcher warms only what is enabled and has a version.)
        if function.initialize_asynchronously {
            let (dispatcher, trigger_type) = (self.dispatcher.clone(), function.trigger_type.clone());
            let application_id = function.application_id;
            tokio::spawn(async move { dispatcher.warm(application_id, &trigger_type).await });
        }
    }

    /// The application's chat runtime changed (dependencies, environment,
    /// initialization script): a new runtime is built on next use, so the
    /// functions that ask for it (`initializeAsynchronously`) are warmed in
    /// it now.
    pub fn runtime_changed(&self, application_id: i64) {
        self.changed(application_id);
        let (store, dispatcher) = (self.store.clone(), self.dispatcher.clone());
        tokio::spawn(async move {
            // One function per trigger type: a handful.
            let all = crate::store::PageRequest { page: 0, size: 100, descending: false };
            let functions = match store.list_functions(application_id, all).await {
                Ok((functions, _)) => functions,
                Err(e) => {
                    return tracing::warn!(application_id, error = %e, "warming: the functions could not be listed")
                }
            };
            for function in functions {
                if function.initialize_asynchronously {
                    dispatcher.warm(application_id, &function.trigger_type).await;
                }
            }
        });
    }

    pub fn href(&self, path: &str) -> String {
        format!("{}{}", self.config.base_url, path)
    }
}
